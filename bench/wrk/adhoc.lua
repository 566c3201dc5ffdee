-- Workload "adhoc": SPARQL queries that are each different - the saved queries' text with constants drawn
-- from the data, POSTed as a form to the server's SPARQL endpoint - cycled in a fixed order.
-- bench/http.py writes the list (one per server: only the endpoint's path differs) and runs:
--   wrk -t THREADS -c CONNECTIONS -d SECONDS --timeout 30s -s bench/wrk/adhoc.lua URL -- LIST TAG THREADS
local here = debug.getinfo(1, "S").source:match("^@(.*/)") or "./"
dofile(here .. "cycle.lua")
