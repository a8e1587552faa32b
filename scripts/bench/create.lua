-- wrk script of the bench (scripts/bench/run.mjs): single creates,
-- POST /api/v1/links with a distinct target per request.
--   wrk ... -s create.lua <url> -- <api-key>
-- done() prints one JSON line after the marker `@@bench-json` for the bench.
local counter = 0
local headers = {}
local prefix = "https://www.example.com/bench/" .. tostring(os.time()) .. "/"

function init(args)
  headers["Authorization"] = "Bearer " .. args[1]
  headers["Content-Type"] = "application/json"
end

function request()
  counter = counter + 1
  return wrk.format("POST", "/api/v1/links", headers, '{"url":"' .. prefix .. counter .. '"}')
end

function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    '@@bench-json {"requests":%d,"duration_us":%d,"bytes":%d,"errors":{"connect":%d,"read":%d,"write":%d,"status":%d,"timeout":%d},"latency_us":{"p50":%d,"p90":%d,"p99":%d,"p999":%d,"max":%d,"mean":%.1f}}\n',
    summary.requests, summary.duration, summary.bytes, e.connect, e.read, e.write, e.status, e.timeout,
    latency:percentile(50), latency:percentile(90), latency:percentile(99), latency:percentile(99.9), latency.max, latency.mean))
end
