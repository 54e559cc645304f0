-- wrk script: each request is a join by a customer not used before.
-- Tokens come from the file named by TOKENS (one per line); thread i of n
-- takes every n-th token starting at i. CAMPAIGNS is a comma-separated
-- list of campaign ids, used round-robin.
local tokens, campaigns = {}, {}
local threads = {}

function setup(thread)
  thread:set("tid", #threads)
  table.insert(threads, thread)
end

function init(args)
  for line in io.lines(os.getenv("TOKENS")) do tokens[#tokens + 1] = line end
  for id in string.gmatch(os.getenv("CAMPAIGNS"), "%d+") do campaigns[#campaigns + 1] = id end
  nthreads = tonumber(os.getenv("THREADS") or "2")
  next_i = tid + 1
  c = 0
  statuses = {}
end

request = function()
  local t = tokens[next_i]
  next_i = next_i + nthreads
  if t == nil then t = "exhausted" end
  c = c + 1
  local cid = campaigns[(c % #campaigns) + 1]
  return wrk.format("POST", "/v1/campaigns/" .. cid .. "/participations",
    {["Content-Type"] = "application/json", ["Authorization"] = "Bearer " .. t},
    '{"quantity":1}')
end

response = function(status, headers, body)
  statuses[status] = (statuses[status] or 0) + 1
end

done = function(summary, latency, requests)
  io.write(string.format("RESULT requests=%d duration_s=%.3f p50_ms=%.3f p99_ms=%.3f errors_non2xx=%d\n",
    summary.requests, summary.duration / 1e6, latency:percentile(50) / 1000,
    latency:percentile(99) / 1000, summary.errors.status))
end
