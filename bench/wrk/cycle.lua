-- Shared by adhoc.lua and mix.lua: cycle through a fixed list of requests, count the answers by status and
-- print one JSON line ("BENCH_JSON {...}") that bench/http.py reads.
--
-- wrk ... -s bench/wrk/adhoc.lua URL -- LIST TAG THREADS
--   LIST     the request list bench/http.py wrote, one request a line, tab-separated:
--            kind (a: ad hoc, s: saved/repeatable), method, path with query string, form body (may be empty)
--   TAG      names this run; an ad hoc request carries "# TAG-thread-pass" as a last comment line, so no
--            server can answer it from a cache of an earlier run, pass or thread (the query is unchanged)
--   THREADS  wrk's -t: thread n sends lines n, n+THREADS, ... so threads never send the same line
-- Every request asks for SPARQL JSON results.

local threads = {}
local next_id = 0

function setup(thread)
   thread:set("id", next_id)
   next_id = next_id + 1
   table.insert(threads, thread)
end

local ACCEPT = "application/sparql-results+json"
local FORM = "application/x-www-form-urlencoded"

function init(args)
   local list, run_tag, thread_count = args[1], args[2], tonumber(args[3] or "1")
   if list == nil or run_tag == nil then
      error("usage: wrk ... -s SCRIPT URL -- LIST TAG THREADS")
   end
   tag = run_tag
   items = {}
   local line_number = 0
   for line in io.lines(list) do
      if line_number % thread_count == id then
         local kind, method, path, body = line:match("^(%a)\t(%u+)\t([^\t]+)\t?(.*)$")
         if kind == nil then
            error(list .. ": cannot read line " .. (line_number + 1))
         end
         local item = {kind = kind, method = method, path = path, body = body}
         if kind ~= "a" then  -- repeatable: formatted once
            if body ~= "" then
               item.fixed = wrk.format(method, path, {["Accept"] = ACCEPT, ["Content-Type"] = FORM}, body)
            else
               item.fixed = wrk.format(method, path, {["Accept"] = ACCEPT}, nil)
            end
         end
         table.insert(items, item)
      end
      line_number = line_number + 1
   end
   if #items == 0 then
      error(list .. ": no request for thread " .. id)
   end
   position = 1
   pass = 0
   non2xx = 0
   statuses = {}
end

function request()
   local item = items[position]
   local this_pass = pass
   position = position + 1
   if position > #items then
      position = 1
      pass = pass + 1
   end
   if item.fixed then
      return item.fixed
   end
   -- "\n# TAG-thread-pass" appended to the form value of query (always the last field)
   local body = item.body .. "%0A%23%20" .. tag .. "-" .. id .. "-" .. this_pass
   return wrk.format(item.method, item.path, {["Accept"] = ACCEPT, ["Content-Type"] = FORM}, body)
end

function response(status, headers, body)
   if status < 200 or status > 299 then
      non2xx = non2xx + 1
   end
   statuses[status] = (statuses[status] or 0) + 1
end

function done(summary, latency, requests)
   local non2xx_total = 0
   local by_status = {}
   for _, thread in ipairs(threads) do
      non2xx_total = non2xx_total + (thread:get("non2xx") or 0)
      local counted = thread:get("statuses") or {}
      for status, count in pairs(counted) do
         by_status[status] = (by_status[status] or 0) + count
      end
   end
   local status_parts = {}
   for status, count in pairs(by_status) do
      table.insert(status_parts, string.format('"%d": %d', status, count))
   end
   local e = summary.errors
   io.write(string.format(
      'BENCH_JSON {"duration_us": %d, "requests": %d, "bytes": %d, "non2xx": %d, "statuses": {%s}, '
      .. '"errors": {"connect": %d, "read": %d, "write": %d, "status": %d, "timeout": %d}, '
      .. '"latency_us": {"min": %d, "max": %d, "mean": %.1f, "stdev": %.1f, "p50": %d, "p90": %d, "p99": %d}}\n',
      summary.duration, summary.requests, summary.bytes, non2xx_total, table.concat(status_parts, ", "),
      e.connect, e.read, e.write, e.status, e.timeout,
      latency.min, latency.max, latency.mean, latency.stdev,
      latency:percentile(50), latency:percentile(90), latency:percentile(99)))
end
