-- wrk script of the bench (scripts/bench/run.mjs): GET /<code> over the codes
-- of a file, one per line, taken in file order and wrapping around (the bench
-- writes the file already in the order it wants: uniform picks of a hot set,
-- a shuffled sample for cold misses, Zipf picks).
--   [BENCH_DELAY_MS=d] wrk ... -s codes.lua <url> -- <codes-file>
-- With BENCH_DELAY_MS, every connection waits d ms before each request: with C
-- connections the offered rate is about C * 1000 / (d + latency). It is read
-- when the script loads because wrk decides then whether delay() exists, and
-- a delay() that exists costs a timer per request even when it returns 0.
-- done() prints one JSON line after the marker `@@bench-json` for the bench.
local codes = {}
local n = 0
local pos = 0
local delay_ms = tonumber(os.getenv("BENCH_DELAY_MS") or "0") or 0

function init(args)
  local path = args[1]
  for line in io.lines(path) do
    if #line > 0 then
      n = n + 1
      codes[n] = "/" .. line
    end
  end
  if n == 0 then error("no codes in " .. path) end
end

function request()
  pos = pos + 1
  if pos > n then pos = 1 end
  return wrk.format("GET", codes[pos])
end

if delay_ms > 0 then
  function delay()
    return delay_ms
  end
end

function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    '@@bench-json {"requests":%d,"duration_us":%d,"bytes":%d,"errors":{"connect":%d,"read":%d,"write":%d,"status":%d,"timeout":%d},"latency_us":{"p50":%d,"p90":%d,"p99":%d,"p999":%d,"max":%d,"mean":%.1f}}\n',
    summary.requests, summary.duration, summary.bytes, e.connect, e.read, e.write, e.status, e.timeout,
    latency:percentile(50), latency:percentile(90), latency:percentile(99), latency:percentile(99.9), latency.max, latency.mean))
end
