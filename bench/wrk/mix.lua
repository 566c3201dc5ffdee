-- Workload "mix": saved queries with a small, repeating set of parameter values drawn from the data, and
-- one request in five ad hoc. On kg serve a saved query is GET /queries/<id>?param=value; on a peer it is
-- the equivalent SPARQL (the value substituted as an RDF term) POSTed to its endpoint.
-- bench/http.py writes the list and runs:
--   wrk -t THREADS -c CONNECTIONS -d SECONDS --timeout 30s -s bench/wrk/mix.lua URL -- LIST TAG THREADS
local here = debug.getinfo(1, "S").source:match("^@(.*/)") or "./"
dofile(here .. "cycle.lua")
