-- wrk script of the token-endpoint benchmark: POSTs form bodies and counts every status.
--
--   wrk -t T -c C ... -s pool.lua URL -- key=value ...
--     threads=T           the -t given to wrk (wrk does not tell the script)
--     result=FILE         where done() writes the run's figures as one JSON object
--     pool=FILE record=B start=S count=N
--                         FILE holds N records of B bytes each (newline included), every one a
--                         body carrying a fresh assertion. Thread t (0-based) sends records S+t,
--                         S+t+T, S+t+2T, ... so no record is sent twice; the result's "next" is
--                         the first record no thread touched, where the next run starts. Running
--                         out of records is an error (the run is invalid), never a silent replay.
--     static=FILE         instead of a pool: the first line of FILE is the body of every request
--     rate=R conns=C      optional: pace the run at about R requests/s in all (each connection
--                         waits a random, exponentially distributed time before each request),
--                         for latency below saturation; without it wrk is a closed loop
--
-- wrk calls setup() and then init() one thread at a time: setup (in the main Lua state) hands each
-- thread its id through thread:set, which init reads as a global. The id must stay a global in the
-- thread's state, never a file-level local (that local would hide the value thread:set wrote).

local threads = {}
local next_id = 0

function setup(thread)
  thread:set("tid", next_id)
  next_id = next_id + 1
  table.insert(threads, thread)
end

function init(args)
  local opt = {}
  for _, a in ipairs(args) do
    local k, v = string.match(a, "^([%w_]+)=(.*)$")
    if not k then error("pool.lua: arguments are key=value, got '" .. a .. "'") end
    opt[k] = v
  end
  nthreads = assert(tonumber(opt.threads), "pool.lua: threads=T is required")
  result_path = opt.result
  if opt.pool then
    mode = "pool"
    pool_file = assert(io.open(opt.pool, "rb"))
    record_bytes = assert(tonumber(opt.record), "pool.lua: record=BYTES is required")
    start = assert(tonumber(opt.start), "pool.lua: start=INDEX is required")
    count = assert(tonumber(opt.count), "pool.lua: count=N is required")
  elseif opt.static then
    mode = "static"
    local f = assert(io.open(opt.static, "rb"))
    static_body = f:read("*l")
    f:close()
    start = 0
  else
    error("pool.lua: give pool=FILE or static=FILE")
  end
  headers = { ["Content-Type"] = "application/x-www-form-urlencoded" }
  sent = 0        -- requests this thread generated
  exhausted = 0   -- requests made after the pool ran out (each one invalidates the run)
  statuses = {}   -- status code (as a string) -> count
  non200 = 0
  first_error = ""
  last_index = start - 1
  if mode == "static" then
    static_request = wrk.format("POST", nil, headers, static_body)
  end
  if opt.rate then
    -- Mean think time per connection so that all connections together make `rate` requests/s.
    rate = tonumber(opt.rate)
    per_thread_conns = assert(tonumber(opt.conns), "pool.lua: rate=R needs conns=C (wrk's -c)") / nthreads
    mean_ms = per_thread_conns / (rate / nthreads) * 1000
    math.randomseed(os.time() + tid * 7919)
    -- wrk only calls delay() when the script defines it, so it is defined here, on demand.
    delay = function()
      local d = -math.log(1 - math.random()) * mean_ms
      return math.floor(d + 0.5)
    end
  end
end

function request()
  if mode == "static" then
    sent = sent + 1
    return static_request
  end
  local index = start + tid + sent * nthreads
  sent = sent + 1
  if index >= count then
    exhausted = exhausted + 1
    index = count - 1 - tid  -- sends a replay, refused and counted: the run is marked invalid
  end
  last_index = index
  pool_file:seek("set", index * record_bytes)
  local body = pool_file:read(record_bytes - 1)
  return wrk.format("POST", nil, headers, body)
end

function response(status, headers, body)
  local key = tostring(status)
  statuses[key] = (statuses[key] or 0) + 1
  if status ~= 200 then
    non200 = non200 + 1
    if first_error == "" and body then first_error = string.sub(body, 1, 300) end
  end
end

local function json_string(s)
  s = string.gsub(s, '[%c"\\]', function(c) return string.format("\\u%04x", string.byte(c)) end)
  return '"' .. s .. '"'
end

function done(summary, latency, requests)
  local total_non200, total_exhausted, next_index = 0, 0, 0
  local merged, first = {}, ""
  for _, t in ipairs(threads) do
    total_non200 = total_non200 + t:get("non200")
    total_exhausted = total_exhausted + t:get("exhausted")
    local li = t:get("last_index")
    if li + 1 > next_index then next_index = li + 1 end
    for k, v in pairs(t:get("statuses")) do merged[k] = (merged[k] or 0) + v end
    if first == "" then first = t:get("first_error") end
  end
  local start0 = threads[1] and threads[1]:get("start") or 0
  if next_index < start0 then next_index = start0 end
  local e = summary.errors
  local secs = summary.duration / 1e6
  local parts = {}
  for k, v in pairs(merged) do table.insert(parts, string.format('"%s": %d', k, v)) end
  local out = string.format(
    '{"requests": %d, "seconds": %.3f, "rate": %.1f, "non200": %d, "exhausted": %d, ' ..
    '"socket_errors": {"connect": %d, "read": %d, "write": %d, "timeout": %d, "status": %d}, ' ..
    '"statuses": {%s}, "latency_ms": {"mean": %.3f, "p50": %.3f, "p90": %.3f, "p99": %.3f, ' ..
    '"p999": %.3f, "max": %.3f}, "next": %d, "first_error": %s}',
    summary.requests, secs, summary.requests / secs, total_non200, total_exhausted,
    e.connect, e.read, e.write, e.timeout, e.status, table.concat(parts, ", "),
    latency.mean / 1000, latency:percentile(50) / 1000, latency:percentile(90) / 1000,
    latency:percentile(99) / 1000, latency:percentile(99.9) / 1000, latency.max / 1000,
    next_index, json_string(first))
  local path = threads[1] and threads[1]:get("result_path")
  if path then
    local f = assert(io.open(path, "w"))
    f:write(out, "\n")
    f:close()
  end
  io.write("result: ", out, "\n")
  if total_non200 > 0 or total_exhausted > 0 then
    io.write(string.format("INVALID RUN: %d non-200 responses, %d requests past the pool\n",
      total_non200, total_exhausted))
  end
end
