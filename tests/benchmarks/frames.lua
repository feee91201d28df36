-- wrk script: cycle through pre-built requests read from a frames file, count every status.
-- The frames file holds, per request, a line "METHOD PATH LENGTH" and then LENGTH body bytes.
-- Headers come from the environment: BENCH_AUTHORIZATION, BENCH_CONTENT_TYPE.
local frames = {}
statuses = {} -- global: done() reads it from each thread
local cursor = 0
local threads = {}

function setup(thread)
   threads[#threads + 1] = thread
end

function init(args)
   local path = args[1] or os.getenv("BENCH_FRAMES")
   local file = assert(io.open(path, "rb"))
   local data = file:read("*a")
   file:close()
   local headers = {}
   local auth = os.getenv("BENCH_AUTHORIZATION")
   if auth and auth ~= "" then headers["Authorization"] = auth end
   local ctype = os.getenv("BENCH_CONTENT_TYPE")
   local pos = 1
   while pos <= #data do
      local eol = data:find("\n", pos, true)
      local method, target, length = data:sub(pos, eol - 1):match("^(%S+) (%S+) (%d+)$")
      length = tonumber(length)
      local body = nil
      local these = {}
      for k, v in pairs(headers) do these[k] = v end
      if length > 0 then
         body = data:sub(eol + 1, eol + length)
         if ctype and ctype ~= "" then these["Content-Type"] = ctype end
      end
      frames[#frames + 1] = wrk.format(method, target, these, body)
      pos = eol + length + 1
   end
end

function request()
   cursor = cursor % #frames + 1
   return frames[cursor]
end

function response(status, _headers, _body)
   statuses[status] = (statuses[status] or 0) + 1
end

function done(summary, latency, _requests)
   local merged = {}
   for _, thread in ipairs(threads) do
      for status, count in pairs(thread:get("statuses")) do
         merged[status] = (merged[status] or 0) + count
      end
   end
   local parts = {}
   for status, count in pairs(merged) do parts[#parts + 1] = string.format('"%d":%d', status, count) end
   local e = summary.errors
   io.write(string.format(
      'BENCH {"requests":%d,"duration_us":%d,"p50_us":%d,"p99_us":%d,"errors":%d,"statuses":{%s}}\n',
      summary.requests, summary.duration, latency:percentile(50), latency:percentile(99),
      e.connect + e.read + e.write + e.timeout, table.concat(parts, ",")))
end
