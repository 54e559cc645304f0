-- wrk script: GET of the URL given to wrk (a campaign view, or the
-- hello-world). done() prints one RESULT line like join.lua's, with the
-- statuses counted per thread and summed.
local threads = {}

function setup(thread)
  table.insert(threads, thread)
end

function init(args)
  statuses = {}
end

response = function(status, headers, body)
  statuses[status] = (statuses[status] or 0) + 1
end

done = function(summary, latency, requests)
  local all = {}
  for _, t in ipairs(threads) do
    for s, n in pairs(t:get("statuses") or {}) do all[s] = (all[s] or 0) + n end
  end
  local keys = {}
  for s in pairs(all) do keys[#keys + 1] = s end
  table.sort(keys)
  local parts = {}
  for _, s in ipairs(keys) do parts[#parts + 1] = s .. ":" .. all[s] end
  local e = summary.errors
  io.write(string.format("RESULT requests=%d duration_s=%.3f p50_ms=%.3f p99_ms=%.3f errors_non2xx=%d"
    .. " socket_errors=%d statuses=%s\n",
    summary.requests, summary.duration / 1e6, latency:percentile(50) / 1000,
    latency:percentile(99) / 1000, e.status, e.connect + e.read + e.write + e.timeout,
    table.concat(parts, ",")))
end
