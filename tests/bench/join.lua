-- wrk script: each request is a join by a customer not used before.
-- Tokens come from the file named by TOKENS (one per line); thread i of n
-- takes every n-th token starting at i. CAMPAIGNS is a comma-separated
-- list of campaign ids, used round-robin.
-- Without LIMIT, a thread that runs out of tokens sends the token
-- "exhausted" (401s, visible in the statuses). With LIMIT=N the threads
-- make exactly N join attempts between them (each thread its share, each
-- attempt with a token of its own): a thread that has sent its share polls
-- /healthz slowly until all its joins are answered, then stops and creates
-- the file DONE_DIR/<thread> (scripts/bench.sh then interrupts wrk).
-- wrk 4.1 now and then calls request() and never sends what it returned
-- (the server never sees it): a thread whose joins have all been quiet for
-- 2 s counts the missing ones as unsent and sends as many again with spare
-- tokens (so TOKENS needs some beyond N); RESULT reports them as unsent=.
-- done() prints one RESULT line, statuses counted per thread and summed.
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
  limit = tonumber(os.getenv("LIMIT") or "0")
  if limit <= 0 then limit = nil end
  done_dir = os.getenv("DONE_DIR")
  next_i = tid + 1
  share = 0
  if limit then
    share = math.floor(limit / nthreads)
    if tid < limit % nthreads then share = share + 1 end
  end
  quota = share
  c = 0
  answered = 0
  unsent = 0
  last_answer = os.time()
  statuses = {}
end

request = function()
  local t = tokens[next_i]
  if limit and (c >= quota or t == nil) then
    return wrk.format("GET", "/healthz")
  end
  next_i = next_i + nthreads
  if t == nil then t = "exhausted" end
  c = c + 1
  local cid = campaigns[(c % #campaigns) + 1]
  return wrk.format("POST", "/v1/campaigns/" .. cid .. "/participations",
    {["Content-Type"] = "application/json", ["Authorization"] = "Bearer " .. t},
    '{"quantity":1}')
end

if tonumber(os.getenv("LIMIT") or "0") > 0 then
  delay = function()
    if c >= quota or tokens[next_i] == nil then return 100 end
    return 0
  end
end

response = function(status, headers, body)
  if limit and body == '{"status":"ok"}' then
    if c >= quota and answered < share and os.time() - last_answer >= 2 then
      local lost = c - answered - unsent
      unsent = unsent + lost
      quota = quota + lost
      last_answer = os.time()
    end
    return
  end
  statuses[status] = (statuses[status] or 0) + 1
  answered = answered + 1
  last_answer = os.time()
  if limit and answered >= share then
    if done_dir then
      local f = io.open(done_dir .. "/" .. tid, "w")
      if f then f:close() end
    end
    wrk.thread:stop()
  end
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
  local unsent_all = 0
  for _, t in ipairs(threads) do unsent_all = unsent_all + (t:get("unsent") or 0) end
  local e = summary.errors
  io.write(string.format("RESULT requests=%d duration_s=%.3f p50_ms=%.3f p99_ms=%.3f errors_non2xx=%d"
    .. " socket_errors=%d statuses=%s unsent=%d\n",
    summary.requests, summary.duration / 1e6, latency:percentile(50) / 1000,
    latency:percentile(99) / 1000, e.status, e.connect + e.read + e.write + e.timeout,
    table.concat(parts, ","), unsent_all))
end
