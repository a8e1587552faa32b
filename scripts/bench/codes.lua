-- wrk script of the bench (scripts/bench/run.mjs): GET /<code> over the codes
-- of a file, one per line, taken in file order and wrapping around (the bench
-- writes the file already in the order it wants: uniform picks of a hot set,
-- a shuffled sample for cold misses, Zipf picks).
--   [BENCH_RATE=r] wrk -t1 ... -s codes.lua <url> -- <codes-file>
-- With BENCH_RATE, requests leave on a fixed schedule of r per second (one wrk
-- thread): each request takes the next slot of one schedule shared by all
-- connections, so the offered rate does not fall when responses slow down,
-- as long as enough connections are idle (connections > r * latency). It is
-- read when the script loads because wrk decides then whether delay() exists,
-- and a delay() that exists costs a timer per request even at full speed.
-- done() prints one JSON line after the marker `@@bench-json` for the bench.
local codes = {}
local n = 0
local pos = 0
local rate = tonumber(os.getenv("BENCH_RATE") or "0") or 0

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

if rate > 0 then
  -- Wall clock in ms through LuaJIT's FFI (plain Lua has only seconds).
  local ffi = require("ffi")
  ffi.cdef[[
    typedef struct { long tv_sec; long tv_nsec; } bench_timespec;
    int clock_gettime(int clk_id, bench_timespec *tp);
  ]]
  local ts = ffi.new("bench_timespec")
  local CLOCK_MONOTONIC = 1
  local function now_ms()
    ffi.C.clock_gettime(CLOCK_MONOTONIC, ts)
    return tonumber(ts.tv_sec) * 1000 + tonumber(ts.tv_nsec) / 1e6
  end
  local interval = 1000 / rate
  local next_at = nil
  function delay()
    local now = now_ms()
    -- After a stall the schedule catches up by at most 50 ms, not in one burst.
    if next_at == nil or next_at < now - 50 then next_at = now end
    next_at = next_at + interval
    local wait = next_at - now
    if wait < 0 then return 0 end
    return math.floor(wait)
  end
end

function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    '@@bench-json {"requests":%d,"duration_us":%d,"bytes":%d,"errors":{"connect":%d,"read":%d,"write":%d,"status":%d,"timeout":%d},"latency_us":{"p50":%d,"p90":%d,"p99":%d,"p999":%d,"max":%d,"mean":%.1f}}\n',
    summary.requests, summary.duration, summary.bytes, e.connect, e.read, e.write, e.status, e.timeout,
    latency:percentile(50), latency:percentile(90), latency:percentile(99), latency:percentile(99.9), latency.max, latency.mean))
end
