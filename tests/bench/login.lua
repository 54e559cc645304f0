-- wrk script: every request logs the same customer in.
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.body = '{"login":"bench-login@example.com","password":"bench-password"}'

local statuses = {}
response = function(status, headers, body)
  statuses[status] = (statuses[status] or 0) + 1
end

done = function(summary, latency, requests)
  io.write(string.format("login: requests %d, p50 %.2f ms, p99 %.2f ms\n",
    summary.requests, latency:percentile(50) / 1000, latency:percentile(99) / 1000))
end
