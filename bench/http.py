"""HTTP load benchmark: ``kg serve`` against peers serving the same data, under the load generator wrk.

    .venv/bin/python -m bench.http --triples 100000 --connections 4,8 --duration 20 --out bench/results

Servers (``--servers``, all by default):

- ``kg``: ``kg serve`` (Flask under gunicorn, ``--workers`` workers of ``--threads`` threads, each querying
  its in-memory copy of the published store; timed once every worker has loaded its copy);
- ``oxigraph-memory``: the Oxigraph server (``oxigraph serve``, no location: in memory), the data POSTed
  to its Graph Store endpoint after it starts;
- ``oxigraph-disk``: the Oxigraph server read-only on a RocksDB location filled by ``oxigraph load``;
- ``rdflib-endpoint``: rdflib-endpoint's FastAPI app over an rdflib ``Dataset`` under uvicorn
  (``--workers`` workers, each holding the data);
- ``pyoxigraph-plain``: the least a Python front over pyoxigraph does (``bench/plain_app.py``): a bare WSGI
  function under gunicorn with kg serve's workers and threads, each worker querying its in-memory copy;
  no checks, limits or cache. kg serve against it is what kg's own request handling costs;
- ``pyoxigraph-uwsgi``: the same function under uWSGI (its HTTP/1.1 socket, written in C), with the same
  workers and threads: what a Python front costs whose HTTP server is not Python.

The data: ``bench.generate`` seed tables, built into a store by ``kg build`` (the real pipeline), whose
N-Quads snapshot (``kg export --format nquads`` for a store without one) every peer loads, every named graph of it (kept
under ``var/bench/http-<size>/`` and reused). Every server queries the union of the named graphs by
default (Oxigraph with ``--union-default-graph``, rdflib with ``Dataset(default_union=True)``), as ours
does, and ``GRAPH <...>`` names the same graphs everywhere; before timing, each server's quad count is
checked against the file.

Workloads (a wrk Lua script each, ``bench/wrk/``, cycling through a fixed list written under the data
folder):

- ``adhoc``: every request a different SPARQL query: the saved queries' text with constants drawn from
  the data (a required parameter written in as an RDF term, an optional one bound in a VALUES block),
  POSTed as a form to the SPARQL endpoint of every server; each carries a last comment line naming the
  run, so no answer can come from a cache of an earlier run or pass (the query is unchanged);
- ``mix``: saved queries with a few repeating parameter values each, and one request in five ad hoc. On
  ``kg serve`` a saved query goes through its API (``GET /queries/<id>?param=value``); a peer, which has
  no saved queries, gets the equivalent SPARQL.

Only parameter values whose query answers between 1 and ``--max-rows`` rows on the built store are used
(queries over tables the synthetic data leaves empty are left out, and named in the results). Every
request asks for SPARQL JSON. Before timing, every distinct saved request of the mix and a few ad hoc
ones per query are sent once to each server, which must answer 200 with the number of rows the store
gives. Each server is then warmed up and measured per workload and connection count; its peak resident
memory (the whole process tree: gunicorn's master and workers; uvicorn's
supervisor and workers) is sampled during the runs. ``http.json`` and ``http.md`` get the results, the
ratios of ``kg serve`` against each peer, the machine and the versions. Nothing here asserts a time.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime
import hashlib
import http.client
import json
import os
import platform
import random
import re
import resource
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import asdict, dataclass, field, replace
from importlib import metadata
from pathlib import Path

from bench.run import machine

ROOT = Path(__file__).resolve().parent.parent
WRK_SCRIPTS = ROOT / "bench" / "wrk"
BASE_IRI = "https://w3id.org/yrd-kg/"
ACCEPT = "application/sparql-results+json"
FORM = "application/x-www-form-urlencoded"
PLAN_VERSION = 2

SERVERS = {
    "kg": "kg serve: Flask under gunicorn, pyoxigraph embedded store (RocksDB, read-only)",
    "oxigraph-memory": "Oxigraph server, in-memory store",
    "oxigraph-disk": "Oxigraph server, read-only on a RocksDB location",
    "rdflib-endpoint": "rdflib-endpoint (FastAPI) under uvicorn, rdflib Dataset in memory",
    "pyoxigraph-plain": "a bare WSGI function under gunicorn, pyoxigraph in memory (no checks, limits or cache)",
    "pyoxigraph-uwsgi": "the same bare WSGI function under uWSGI (HTTP server in C), pyoxigraph in memory",
}
#: the path of each server's SPARQL query endpoint
SPARQL_PATH = {
    "kg": "/sparql",
    "oxigraph-memory": "/query",
    "oxigraph-disk": "/query",
    "rdflib-endpoint": "/sparql",
    "pyoxigraph-plain": "/sparql",
    "pyoxigraph-uwsgi": "/sparql",
}
#: the servers that run --workers worker processes, each holding its own copy of the data
WITH_WORKERS = ("kg", "rdflib-endpoint", "pyoxigraph-plain", "pyoxigraph-uwsgi")
#: the bare fronts over pyoxigraph (bench/plain_app.py), each also compared with the Oxigraph server
BARE_FRONTS = ("pyoxigraph-plain", "pyoxigraph-uwsgi")
WORKLOADS = {
    "adhoc": "ad hoc SPARQL, every query different (POST form to the SPARQL endpoint)",
    "mix": "saved queries with repeating parameter values, one request in five ad hoc",
}

PREFIXES = """PREFIX rdf: <http://www.w3.org/1999/02/22-rdf-syntax-ns#>
PREFIX rdfs: <http://www.w3.org/2000/01/rdf-schema#>
PREFIX yrd: <https://w3id.org/yrd-kg/ontology#>
PREFIX org: <http://www.w3.org/ns/org#>
PREFIX foaf: <http://xmlns.com/foaf/0.1/>
"""
#: pools of parameter values, read from the built store (each query's ?v, in a fixed order)
POOLS = {
    "region": "SELECT DISTINCT ?v WHERE { ?v a yrd:Region } ORDER BY ?v",
    "park": "SELECT DISTINCT ?v WHERE { ?v a yrd:Zone } ORDER BY ?v",
    "subject": "SELECT DISTINCT ?v WHERE { { ?v a yrd:Region } UNION { ?v a yrd:Zone } } ORDER BY ?v",
    "industry": "SELECT DISTINCT ?v WHERE { ?v a yrd:Industry } ORDER BY ?v",
    "indicator": "SELECT DISTINCT ?v WHERE { ?observation yrd:indicator ?v } ORDER BY ?v",
    "person": "SELECT DISTINCT ?v WHERE { { ?v a foaf:Person } UNION { ?post org:member ?v } } ORDER BY ?v",
    "entity": "SELECT DISTINCT ?v WHERE { { ?v a yrd:Region } UNION { ?v a yrd:Zone } UNION { ?v a yrd:Agreement }"
    " UNION { ?v a yrd:Industry } } ORDER BY ?v",
    "date": "SELECT DISTINCT ?v WHERE { ?thing yrd:earliestDate ?v } ORDER BY ?v",
    "number": "SELECT DISTINCT ?v WHERE { ?observation yrd:value ?v"
    " FILTER(DATATYPE(?v) = <http://www.w3.org/2001/XMLSchema#integer>) } ORDER BY ?v",
    "label": "SELECT DISTINCT ?v WHERE { ?thing rdfs:label ?v FILTER(LANG(?v) = 'en') } ORDER BY ?v",
    "pair": "SELECT DISTINCT ?a ?b WHERE { { ?thing yrd:coBuiltBy ?a , ?b } UNION { ?thing yrd:party ?a , ?b }"
    " FILTER(STR(?a) < STR(?b)) } ORDER BY ?a ?b",
}
#: which pool a parameter draws from, by its name (the queries' names, see queries/*.rq)
PARAMETER_POOLS = {
    "region": "region",
    "province": "region",
    "place": "region",
    "holder": "subject",
    "adopter": "subject",
    "subject": "subject",
    "park": "park",
    "root": "industry",
    "indicator": "indicator",
    "entity": "entity",
    "person": "person",
    "since": "date",
    "year": "year",
    "minimum": "number",
    "name": "name",
}
#: parameters drawn together: (first, second) from related parties, (from, to) a 30-day window
JOINT = {("first", "second"): "pair", ("from", "to"): "window"}


# --- the data ----------------------------------------------------------------------------------------------


def _clean_env(**extra: str) -> dict[str, str]:
    """The environment without any KG_* setting of the caller, plus ``extra``."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("KG_")}
    env.update(extra)
    return env


def _kg(args: list[str], env: dict[str, str], timeout: float, log: Path) -> None:
    with log.open("ab") as output:
        done = subprocess.run(
            [sys.executable, "-c", "from kg.cli import run; run()", *args],
            cwd=ROOT,
            env=env,
            stdout=output,
            stderr=subprocess.STDOUT,
            timeout=timeout,
        )
    if done.returncode != 0:
        raise RuntimeError(f"kg {args[0]} failed (exit {done.returncode}); see {log}")


def prepare_data(size: int, work: Path, *, rebuild: bool = False, build_timeout: float = 7200, progress=print) -> dict:
    """Seeds, a store built by ``kg build`` and its N-Quads export for ``size``, reused when present."""
    from bench.generate import generate

    folder = work / f"http-{size}"
    if rebuild and folder.exists():
        shutil.rmtree(folder)
    folder.mkdir(parents=True, exist_ok=True)
    seeds, store, nquads, how = folder / "seeds", folder / "store", folder / "data.nq", folder / "store.how"
    if not (folder / "seeds.done").exists():
        shutil.rmtree(seeds, ignore_errors=True)
        progress(f"generating seed tables for {size} triples")
        generate(seeds, size)
        (folder / "seeds.done").write_text("")
    env = _clean_env(KG_SEEDS_DIR=str(seeds), KG_STORE_DIR=str(store))
    wanted = "kg build"
    if not (store / "current").exists() or not how.exists() or how.read_text() != wanted:
        progress(f"building the store ({wanted})")
        started = time.monotonic()
        how.unlink(missing_ok=True)
        _kg(["build"], env, build_timeout, folder / "build.log")
        how.write_text(wanted)
        progress(f"built in {time.monotonic() - started:.0f} s")
    build_id = Path(os.path.realpath(store / "current")).name
    stamp = folder / "data.nq.build"
    if not nquads.exists() or not stamp.exists() or stamp.read_text() != build_id:
        # every quad of the version, as the build wrote it: those without a blank node, then those with one
        snapshot = [store / "versions" / f"{build_id}.{suffix}" for suffix in ("nq", "blank.nq")]
        if all(part.exists() for part in snapshot):
            progress("taking the version's N-Quads snapshot")
            with nquads.open("wb") as whole:
                for part in snapshot:
                    with part.open("rb") as lines:
                        shutil.copyfileobj(lines, whole)
        else:
            progress("exporting N-Quads (kg export)")
            _kg(["export", "--format", "nquads", "-o", str(nquads)], env, build_timeout, folder / "export.log")
        stamp.write_text(build_id)
    graphs: dict[str, int] = {}
    with nquads.open("rb") as lines:
        for line in lines:
            line = line.rstrip()
            if line:
                graph = line[:-1].rstrip().rsplit(b" ", 1)[-1].decode()
                graphs[graph] = graphs.get(graph, 0) + 1
    return {
        "folder": folder,
        "store": store,
        "nquads": nquads,
        "build_id": build_id,
        "graphs": graphs,
        "quads": sum(graphs.values()),
        "nquads_bytes": nquads.stat().st_size,
        "asserted_triples": graphs.get(f"<{BASE_IRI}graph/asserted>", 0),
    }


# --- the requests ------------------------------------------------------------------------------------------


@dataclass
class Request:
    """One logical request: a saved query with parameter values, and its SPARQL equivalent."""

    kind: str  # "s": a saved query (its API on kg serve), "a": ad hoc SPARQL
    query: str  # the saved query's id
    values: dict[str, str]  # parameter name -> value, as a client sends it
    text: str  # the SPARQL every peer gets (and kg serve too, ad hoc)
    rows: int  # solutions on the built store

    def render(self, server: str) -> tuple[str, str, str]:
        """(method, path with query string, form body) for ``server``."""
        if self.kind == "s" and server == "kg":
            return "GET", f"/queries/{self.query}?" + urllib.parse.urlencode(self.values), ""
        return "POST", SPARQL_PATH[server], "query=" + urllib.parse.quote(self.text, safe="")


def sparql_text(query, values: dict[str, str]) -> str:
    """The saved query with its parameters given: a required one written in as an RDF term (N-Triples),
    an optional one bound in a VALUES block at the top of WHERE (``!BOUND(?x)`` needs the variable)."""
    from kg.sparql_text import code_only, where_brace
    from kg.store.in_memory import join_values
    from kg.store.terms import to_ox

    bindings = query.bindings(values)  # checks the values as the saved-query API does
    text = query.text
    optional = {v: t for v, t in bindings.items() if v.startswith("__")}
    required = {v: t for v, t in bindings.items() if not v.startswith("__")}
    if optional:
        text = join_values(text, where_brace(text), sorted(optional), [optional])
    if required:
        masked = code_only(text)
        pattern = re.compile(r"[?$](" + "|".join(map(re.escape, required)) + r")\b")
        for match in reversed(list(pattern.finditer(masked))):
            text = text[: match.start()] + str(to_ox(required[match.group(1)])) + text[match.end() :]
    return text


def _pools(store) -> dict[str, list]:
    pools = {}
    for name, query in POOLS.items():
        rows = store.query(PREFIXES + query, use_default_graph_as_union=True)
        names = [v.value for v in rows.variables]
        pools[name] = [tuple(row[n].value for n in names) for row in rows]
    dates = [d for (d,) in pools["date"]]
    pools["year"] = sorted({d[:4] for d in dates})
    pools["window"] = [(d, (datetime.date.fromisoformat(d) + datetime.timedelta(days=30)).isoformat()) for d in dates]
    # search text: the first four letters of English names, lower-cased (matches many, like a user's typing)
    pools["name"] = sorted({label[:4].lower() for (label,) in pools.pop("label") if len(label) >= 4})
    return pools


def candidates(query, pools: dict[str, list], rng: random.Random) -> list[dict[str, str]]:
    """Parameter values for ``query`` drawn from the data, in a fixed shuffled order (empty: none fit)."""
    names = [p.name for p in query.parameters]
    for joint, pool in JOINT.items():
        if set(joint) <= set(names):
            if set(names) != set(joint):
                return []
            choices = [dict(zip(joint, pair, strict=True)) for pair in pools[pool]]
            break
    else:
        if len(names) != 1 or names[0] not in PARAMETER_POOLS:
            return []
        pool = pools[PARAMETER_POOLS[names[0]]]
        choices = [{names[0]: value[0] if isinstance(value, tuple) else value} for value in pool]
    rng.shuffle(choices)
    return choices


def make_plan(
    data: dict, *, seed: int, per_query: int, mix_values: int, max_rows: int, budget_s: float, progress=print
) -> dict:
    """Choose the requests: per saved query, up to ``per_query`` parameter values from the data whose
    answer has 1 to ``max_rows`` rows on the built store (tried for at most ``budget_s`` seconds)."""
    import pyoxigraph as ox

    from kg.serving.saved_queries import load_queries

    queries = load_queries(ROOT / "queries")
    recipe = json.dumps([POOLS, PARAMETER_POOLS, sorted((q.id, q.text) for q in queries.values())])
    key = {
        "version": PLAN_VERSION,
        "build_id": data["build_id"],
        "seed": seed,
        "per_query": per_query,
        "mix_values": mix_values,
        "max_rows": max_rows,
        "recipe": hashlib.sha256(recipe.encode()).hexdigest(),
    }
    cached = data["folder"] / "requests" / "plan.json"
    if cached.exists():
        plan = json.loads(cached.read_text())
        if plan["key"] == key:
            return plan
    store = ox.Store.read_only(os.path.realpath(data["store"] / "current"))
    pools = _pools(store)
    rng = random.Random(seed)
    accepted: dict[str, list[dict]] = {}
    left_out: dict[str, str] = {}
    for query_id, query in sorted(queries.items()):
        chosen, tried, started = [], 0, time.monotonic()
        for values in candidates(query, pools, rng):
            if len(chosen) >= per_query or time.monotonic() - started > budget_s:
                break
            text = sparql_text(query, values)
            rows = sum(1 for _ in store.query(text, use_default_graph_as_union=True))
            tried += 1
            if 1 <= rows <= max_rows:
                chosen.append(asdict(Request("a", query_id, values, text, rows)))
        if chosen:
            accepted[query_id] = chosen
        else:
            left_out[query_id] = (
                f"none of {tried} parameter values drawn from the data gives 1 to {max_rows} rows"
                if tried
                else "no parameter values of its kind in the data"
            )
        progress(f"  {query_id}: {len(chosen)} requests ({tried} tried)")
    if not accepted:
        raise RuntimeError(
            f"no saved query has parameter values in this data that give 1 to {max_rows} rows: {left_out}"
        )
    # ad hoc: every accepted request once, in a shuffled order. wrk walks the list from its start for as
    # long as a run lasts, so the cost of a request must not depend on where it stands. In turns (each
    # query once, then again while its values last), the queries with few values, the heavy ones, came
    # first: at 1M the first 300 requests took 38 ms each, the rest 6 ms (one connection, Oxigraph
    # server), so the share of heavy requests in a run depended on how far each server got through it
    adhoc = [chosen[turn] for turn in range(per_query) for chosen in accepted.values() if turn < len(chosen)]
    rng.shuffle(adhoc)
    # mix: groups of five, four saved (a few values per query, repeating) and one ad hoc
    saved = [{**r, "kind": "s"} for chosen in accepted.values() for r in chosen[:mix_values]]
    mix = []
    for group in range(max(100, 2 * len(saved))):
        mix += [rng.choice(saved) for _ in range(4)]
        mix.append(adhoc[(len(adhoc) // 2 + group) % len(adhoc)])
    plan = {"key": key, "queries": sorted(accepted), "left_out": left_out, "adhoc": adhoc, "mix": mix}
    cached.parent.mkdir(parents=True, exist_ok=True)
    cached.write_text(json.dumps(plan, indent=1) + "\n")
    return plan


def write_lists(plan: dict, folder: Path, servers: list[str]) -> dict[tuple[str, str], Path]:
    """One request list per server and workload (the format bench/wrk/cycle.lua reads)."""
    lists = {}
    for server in servers:
        for workload in WORKLOADS:
            path = folder / "requests" / f"{server}-{workload}.txt"
            lines = []
            for item in plan[workload]:
                method, target, body = Request(**item).render(server)
                lines.append("\t".join((item["kind"], method, target, body)))
            path.write_text("\n".join(lines) + "\n")
            lists[server, workload] = path
    return lists


# --- the servers -------------------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _venv_binary(name: str) -> str:
    """The console script ``name`` beside this Python (the venv's), else the one on PATH."""
    found = Path(sys.executable).parent / name
    return str(found) if found.exists() else (shutil.which(name) or name)


def oxigraph_binary() -> str:
    return _venv_binary("oxigraph")


def uwsgi_binary() -> str:
    return _venv_binary("uwsgi")


def rdflib_endpoint_app():
    """uvicorn's app factory for the rdflib-endpoint peer (each worker loads the N-Quads itself)."""
    from rdflib import Dataset
    from rdflib_endpoint import SparqlEndpoint

    dataset = Dataset(default_union=True)  # the default graph is the union of the named graphs, as ours
    dataset.parse(os.environ["BENCH_HTTP_DATA"], format="nquads")
    app = SparqlEndpoint(graph=dataset, path="/sparql", title="rdflib-endpoint (benchmark peer)")
    ready = os.environ.get("BENCH_HTTP_READY")
    if ready:
        with open(ready, "a", encoding="utf-8") as marker:
            marker.write(f"{os.getpid()}\n")
    return app


def _http(
    base: str, method: str, path: str, body: bytes | None = None, headers: dict | None = None, timeout: float = 30
) -> tuple[int, bytes, str]:
    request = urllib.request.Request(base + path, data=body, method=method, headers=headers or {})
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return response.status, response.read(), response.headers.get("Content-Type", "")
    except urllib.error.HTTPError as error:
        return error.code, error.read(), error.headers.get("Content-Type", "")


def _sparql(base: str, server: str, query: str, timeout: float = 120) -> tuple[int, bytes, str]:
    return _http(
        base,
        "POST",
        SPARQL_PATH[server],
        urllib.parse.urlencode({"query": query}).encode(),
        {"Accept": ACCEPT, "Content-Type": FORM},
        timeout,
    )


def _oxigraph_location(data: dict, log: Path, timeout: float) -> Path:
    """A RocksDB location filled by ``oxigraph load`` from the export, made once per build."""
    location, stamp = data["folder"] / "oxigraph-db", data["folder"] / "oxigraph-db.build"
    if location.exists() and stamp.exists() and stamp.read_text() == data["build_id"]:
        return location
    shutil.rmtree(location, ignore_errors=True)
    stamp.unlink(missing_ok=True)
    with log.open("ab") as output:
        done = subprocess.run(
            [oxigraph_binary(), "load", "--location", str(location), "--file", str(data["nquads"])],
            stdout=output,
            stderr=subprocess.STDOUT,
            timeout=timeout,
        )
    if done.returncode != 0:
        raise RuntimeError(f"oxigraph load failed (exit {done.returncode}); see {log}")
    stamp.write_text(data["build_id"])
    return location


@dataclass
class Running:
    name: str
    base: str
    process: subprocess.Popen
    command: list[str]
    log: Path
    started_s: float = 0.0
    notes: list[str] = field(default_factory=list)


def _wait_answering(server: Running, check, deadline: float) -> None:
    """Poll ``check()`` until it is true; fail when the process ends or ``deadline`` passes."""
    while time.monotonic() < deadline:
        if server.process.poll() is not None:
            raise RuntimeError(
                f"{server.name} exited with {server.process.returncode} while starting; log: {_tail(server.log)}"
            )
        try:
            if check():
                return
        except OSError:
            pass
        time.sleep(0.2)
    raise RuntimeError(f"{server.name} did not answer in time; log: {_tail(server.log)}")


def _tail(path: Path, size: int = 2000) -> str:
    try:
        return path.read_bytes()[-size:].decode("utf-8", "replace")
    except OSError:
        return "(no log)"


def _time_limit(seconds: int | None) -> list[str]:
    """The Oxigraph server's option for a query time limit of ``seconds`` (none for None)."""
    return [] if seconds is None else ["--timeout-s", str(seconds)]


@contextlib.contextmanager
def running(
    name: str,
    data: dict,
    logs: Path,
    *,
    workers: int,
    start_timeout: float,
    threads: int = 4,
    settings: dict[str, str] | None = None,
    oxigraph_timeout: int | None = 30,
):
    """Start ``name`` on a free loopback port, wait (bounded) until it serves the data, yield it, stop it.

    ``settings`` are KG_* variables for ``kg serve``; ``oxigraph_timeout`` the Oxigraph server's query time
    limit (seconds), or None for none. With a limit, the Oxigraph server (0.5) keeps a thread per query until
    the limit has passed, so thousands of quick queries a second for a few seconds exhaust the threads it may
    start and it answers 500 ("Resource temporarily unavailable"): see bench/README.md."""
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    log = logs / f"{name}.log"
    log.write_bytes(b"")
    env = _clean_env(**(settings or {}))
    ready_file = logs / f"{name}.ready"
    ready_file.unlink(missing_ok=True)
    if name == "kg":
        env["KG_STORE_DIR"] = str(data["store"])
        command = [
            sys.executable,
            "-c",
            "from kg.cli import run; run()",
            "serve",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--workers",
            str(workers),
            "--threads",
            str(threads),
        ]
    elif name == "oxigraph-memory":
        command = [
            oxigraph_binary(),
            "serve",
            "--bind",
            f"127.0.0.1:{port}",
            "--union-default-graph",
            *_time_limit(oxigraph_timeout),
        ]
    elif name == "oxigraph-disk":
        location = _oxigraph_location(data, log, start_timeout)
        command = [
            oxigraph_binary(),
            "serve-read-only",
            "--location",
            str(location),
            "--bind",
            f"127.0.0.1:{port}",
            "--union-default-graph",
            *_time_limit(oxigraph_timeout),
        ]
    elif name == "rdflib-endpoint":
        env.update(BENCH_HTTP_DATA=str(data["nquads"]), BENCH_HTTP_READY=str(ready_file))
        command = [
            sys.executable,
            "-m",
            "uvicorn",
            "--factory",
            "bench.http:rdflib_endpoint_app",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--workers",
            str(workers),
        ]
    elif name == "pyoxigraph-plain":
        env.update(BENCH_HTTP_DATA=str(data["nquads"]), BENCH_HTTP_READY=str(ready_file))
        command = [
            sys.executable,
            "-m",
            "gunicorn",
            "--bind",
            f"127.0.0.1:{port}",
            "--workers",
            str(workers),
            "--threads",
            str(threads),
            "--worker-class",
            "gthread",
            "--timeout",
            "600",
            "--no-control-socket",
            "bench.plain_app:app",
        ]
    elif name == "pyoxigraph-uwsgi":
        env.update(BENCH_HTTP_DATA=str(data["nquads"]), BENCH_HTTP_READY=str(ready_file))
        # --lazy-apps: each worker loads the app (and its copy of the data) after the fork, as gunicorn does
        command = [
            uwsgi_binary(),
            "--http11-socket",
            f"127.0.0.1:{port}",
            "--processes",
            str(workers),
            "--threads",
            str(threads),
            "--lazy-apps",
            "--master",
            "--die-on-term",
            "--need-app",
            "--disable-logging",
            "--pythonpath",
            str(ROOT),
            "--module",
            "bench.plain_app:app",
        ]
    else:
        raise ValueError(f"unknown server {name!r}")
    started = time.monotonic()
    deadline = started + start_timeout
    with log.open("ab") as output:
        # its own process group, so stopping it reaches its workers and nothing else
        process = subprocess.Popen(
            command, cwd=ROOT, env=env, stdout=output, stderr=subprocess.STDOUT, start_new_session=True
        )
    server = Running(name, base, process, command, log)
    try:
        if name == "kg":
            ready = _kg_ready(base, workers)
            if env.get("KG_STORE_URL"):  # over a store kg push did not fill, /health counts every triple
                ready = _kg_ready(base, workers, "remote", timeout=300)
            _wait_answering(server, ready, deadline)
        elif name in ("rdflib-endpoint", *BARE_FRONTS):

            def ready():
                loaded = ready_file.exists() and len(ready_file.read_text().split()) >= workers
                return loaded and _sparql(base, name, "ASK {}", timeout=5)[0] == 200

            _wait_answering(server, ready, deadline)
        else:
            _wait_answering(server, lambda: _sparql(base, name, "ASK {}", timeout=2)[0] == 200, deadline)
        if name == "oxigraph-memory":
            _post_file(base, data["nquads"], timeout=max(1.0, deadline - time.monotonic()))
        server.started_s = time.monotonic() - started
        yield server
    finally:
        _stop(process)


def _kg_ready(base: str, workers: int, served_from: str = "memory", timeout: float = 2):
    """kg serve is ready when every worker answers from its memory copy of the store (or the remote store
    it fronts, ``served_from="remote"``): /health, which names the worker that answered, has said so from
    ``workers`` different workers."""
    in_memory: set[int] = set()

    def ready() -> bool:
        status, body = _http(base, "GET", "/health", timeout=timeout)[:2]
        if status == 200:
            health = json.loads(body)
            if health.get("served_from") == served_from:
                in_memory.add(health["worker"])
        return len(in_memory) >= workers

    return ready


def _post_file(base: str, path: Path, timeout: float) -> None:
    """POST the N-Quads to the Oxigraph server's Graph Store endpoint (every named graph of it)."""
    parts = urllib.parse.urlsplit(base)
    connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=timeout, blocksize=1 << 20)
    try:
        with path.open("rb") as body:
            connection.request(
                "POST",
                "/store",
                body=body,
                headers={"Content-Type": "application/n-quads", "Content-Length": str(path.stat().st_size)},
            )
            response = connection.getresponse()
            answer = response.read()
        if response.status not in (200, 201, 204):
            raise RuntimeError(f"loading into oxigraph-memory answered {response.status}: {answer[:500]!r}")
    finally:
        connection.close()


def _stop(process: subprocess.Popen, grace: float = 20) -> None:
    """SIGTERM to the server's own process group, SIGKILL after ``grace`` seconds."""
    if process.poll() is None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=grace)
        except subprocess.TimeoutExpired:
            pass
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGKILL)  # workers left behind, if any
    with contextlib.suppress(subprocess.TimeoutExpired):
        process.wait(timeout=grace)


# --- memory ------------------------------------------------------------------------------------------------


def _tree(root: int) -> list[int]:
    """``root`` and its descendants, from /proc."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            parent = int(stat.rsplit(")", 1)[1].split()[1])
            children.setdefault(parent, []).append(int(entry.name))
    found, todo = [], [root]
    while todo:
        pid = todo.pop()
        found.append(pid)
        todo += children.get(pid, [])
    return found


def _rss_kib(pid: int) -> int:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    except OSError:
        pass
    return 0


def pss_kib(pid: int) -> int:
    """Proportional set size: pages shared between forked workers count once in a tree's sum."""
    try:
        for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
            if line.startswith("Pss:"):
                return int(line.split()[1])
    except OSError:
        pass
    return 0


class MemorySampler(threading.Thread):
    """Samples the summed resident size (or ``measure``, e.g. ``pss_kib``) of a process tree every
    ``interval`` seconds."""

    def __init__(self, root: int, interval: float = 0.25, measure=_rss_kib):
        super().__init__(daemon=True)
        self.root, self.interval, self.measure = root, interval, measure
        self.samples: list[tuple[float, int]] = []
        self._stop_event = threading.Event()

    def run(self) -> None:
        while not self._stop_event.is_set():
            self.samples.append((time.monotonic(), sum(self.measure(pid) for pid in _tree(self.root))))
            self._stop_event.wait(self.interval)

    def stop(self) -> None:
        self._stop_event.set()
        self.join(timeout=5)

    def peak_mib(self, start: float | None = None, end: float | None = None) -> float:
        values = [kib for at, kib in self.samples if (start is None or at >= start) and (end is None or at <= end)]
        return round(max(values, default=0) / 1024, 1)


# --- checks and runs ---------------------------------------------------------------------------------------


def _rows(body: bytes) -> int:
    return len(json.loads(body)["results"]["bindings"])


def check_same_data(server: Running, data: dict) -> dict:
    """The server holds as many quads, in named graphs, as the export."""
    status, body, _ = _sparql(
        server.base, server.name, "SELECT (COUNT(*) AS ?n) WHERE { GRAPH ?g { ?s ?p ?o } }", timeout=900
    )
    if status != 200:
        raise RuntimeError(f"{server.name}: counting quads answered {status}: {body[:300]!r}")
    quads = int(json.loads(body)["results"]["bindings"][0]["n"]["value"])
    if quads != data["quads"]:
        raise RuntimeError(f"{server.name} holds {quads} quads; the export has {data['quads']}")
    return {"quads": quads}


def verify(server: Running, plan: dict, adhoc_per_query: int) -> dict:
    """Send every distinct saved request of the mix and a few ad hoc ones per query once: each must answer
    200 with SPARQL JSON holding as many rows as the built store gives."""
    checks, seen = [], set()
    for item in plan["mix"]:
        if item["kind"] == "s":
            key = (item["query"], tuple(sorted(item["values"].items())))
            if key not in seen:
                seen.add(key)
                checks.append(item)
    per_query: dict[str, int] = {}
    for item in plan["adhoc"]:
        if per_query.get(item["query"], 0) < adhoc_per_query:
            per_query[item["query"]] = per_query.get(item["query"], 0) + 1
            checks.append(item)
    problems, started = [], time.monotonic()
    for item in checks:
        method, target, body = Request(**item).render(server.name)
        headers = {"Accept": ACCEPT, **({"Content-Type": FORM} if body else {})}
        status, answer, media = _http(server.base, method, target, body.encode() or None, headers, timeout=300)
        rows = None
        if status == 200:
            try:
                rows = _rows(answer)
            except (ValueError, KeyError, TypeError):
                problems.append(
                    {
                        "query": item["query"],
                        "values": item["values"],
                        "kind": item["kind"],
                        "problem": f"not SPARQL JSON ({media})",
                    }
                )
                continue
        if status != 200 or rows != item["rows"]:
            problems.append(
                {
                    "query": item["query"],
                    "values": item["values"],
                    "kind": item["kind"],
                    "status": status,
                    "rows": rows,
                    "expected_rows": item["rows"],
                    "body": answer[:300].decode("utf-8", "replace") if status != 200 else None,
                }
            )
    return {
        "requests": len(checks),
        "saved": len(seen),
        "adhoc": len(checks) - len(seen),
        "failed": len(problems),
        "problems": problems[:20],
        "seconds": round(time.monotonic() - started, 1),
    }


def run_wrk(
    base: str,
    workload: str,
    requests: Path,
    tag: str,
    *,
    connections: int,
    duration: float,
    threads: int,
    timeout_s: int,
    log: Path,
) -> dict:
    threads = max(1, min(threads, connections))
    command = [
        "wrk",
        "-t",
        str(threads),
        "-c",
        str(connections),
        "-d",
        f"{duration:g}s",
        "--timeout",
        f"{timeout_s}s",
        "--latency",
        "-s",
        str(WRK_SCRIPTS / f"{workload}.lua"),
        base,
        "--",
        str(requests),
        tag,
        str(threads),
    ]
    done = subprocess.run(command, capture_output=True, text=True, timeout=duration + timeout_s + 60)
    with log.open("a", encoding="utf-8") as output:
        output.write(f"$ {' '.join(command)}\n{done.stdout}{done.stderr}\n")
    line = next((out for out in done.stdout.splitlines() if out.startswith("BENCH_JSON ")), None)
    if done.returncode != 0 or line is None:
        raise RuntimeError(f"wrk failed (exit {done.returncode}): {done.stderr[-1000:] or done.stdout[-1000:]}")
    raw = json.loads(line.split(" ", 1)[1])
    seconds = raw["duration_us"] / 1e6
    latency = {k: round(v / 1000, 2) for k, v in raw["latency_us"].items()}
    return {
        "threads": threads,
        "duration_s": round(seconds, 2),
        "requests": raw["requests"],
        "rps": round(raw["requests"] / seconds, 1) if seconds else 0.0,
        "latency_ms": latency,
        "non2xx": raw["non2xx"],
        "errors": raw["errors"],
        "statuses": raw["statuses"],
        "mib_received": round(raw["bytes"] / 2**20, 1),
    }


def _per_core(rps: float, cores: dict) -> float | None:
    """Requests per second of the server's own CPU time: less sensitive to other work on the machine."""
    return round(rps / cores["server"], 1) if cores.get("server") else None


def _loadavg() -> list[float]:
    try:
        return [float(x) for x in Path("/proc/loadavg").read_text().split()[:3]]
    except OSError:
        return []


class CpuShare:
    """Cores busy during a run: the server's process tree, wrk, and everything else on the machine (other
    work sharing it makes the figures noisy; this says how much there was)."""

    def __init__(self, root: int):
        self.root = root
        self.tick = os.sysconf("SC_CLK_TCK")

    def _read(self) -> tuple[float, float, float, float]:
        fields = [int(x) for x in Path("/proc/stat").read_text().splitlines()[0].split()[1:]]
        busy = (sum(fields[:8]) - fields[3] - fields[4]) / self.tick  # all but idle and iowait
        server = 0
        for pid in _tree(self.root):
            with contextlib.suppress(OSError, IndexError, ValueError):
                stat = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
                server += int(stat[11]) + int(stat[12])  # utime, stime
        children = resource.getrusage(resource.RUSAGE_CHILDREN)
        return time.monotonic(), busy, server / self.tick, children.ru_utime + children.ru_stime

    def __enter__(self):
        self.start = self._read()
        self.cores: dict[str, float] = {}
        return self

    def __exit__(self, *exc) -> None:
        end = self._read()
        seconds = max(end[0] - self.start[0], 1e-9)
        busy, server, wrk = ((end[i] - self.start[i]) / seconds for i in (1, 2, 3))
        self.server_seconds = end[2] - self.start[2]  # the server's CPU time during the run
        self.cores = {"server": round(server, 2), "wrk": round(wrk, 2), "other": round(max(busy - server - wrk, 0), 2)}


def benchmark_server(
    name: str,
    data: dict,
    plan: dict,
    lists: dict,
    logs: Path,
    *,
    connections: list[int],
    duration: float,
    warmup: float,
    workers: int,
    wrk_threads: int,
    timeout_s: int,
    start_timeout: float,
    verify_adhoc: int,
    threads: int = 4,
    progress=print,
) -> tuple[dict, list[dict]]:
    runs: list[dict] = []
    with running(name, data, logs, workers=workers, start_timeout=start_timeout, threads=threads) as server:
        sampler = MemorySampler(server.process.pid)
        sampler.start()
        try:
            progress(f"{name}: started in {server.started_s:.1f} s on {server.base}")
            same = check_same_data(server, data)
            checked = verify(server, plan, verify_adhoc)
            progress(
                f"{name}: {same['quads']} quads; verified {checked['requests']} requests, "
                f"{checked['failed']} failed ({checked['seconds']} s)"
            )
            if checked["failed"]:
                raise RuntimeError(
                    f"{name}: {checked['failed']} requests failed the check before timing: "
                    + json.dumps(checked["problems"][:3])
                )
            for workload in WORKLOADS:
                if warmup > 0:
                    warm = run_wrk(
                        server.base,
                        workload,
                        lists[name, workload],
                        f"warm-{workload}",
                        connections=max(connections),
                        duration=warmup,
                        threads=wrk_threads,
                        timeout_s=timeout_s,
                        log=logs / f"{name}-wrk.log",
                    )
                    progress(f"{name} {workload}: warm-up {warm['requests']} requests")
                for count in connections:
                    load = _loadavg()
                    began = time.monotonic()
                    with CpuShare(server.process.pid) as cpu:
                        result = run_wrk(
                            server.base,
                            workload,
                            lists[name, workload],
                            f"{workload}-c{count}",
                            connections=count,
                            duration=duration,
                            threads=wrk_threads,
                            timeout_s=timeout_s,
                            log=logs / f"{name}-wrk.log",
                        )
                    result = {
                        "server": name,
                        "workload": workload,
                        "connections": count,
                        **result,
                        "peak_rss_mib": sampler.peak_mib(began, time.monotonic()),
                        "cpu_cores": cpu.cores,
                        "rps_per_server_core": _per_core(result["rps"], cpu.cores),
                        "loadavg_before": load,
                    }
                    runs.append(result)
                    latency = result["latency_ms"]
                    progress(
                        f"{name} {workload} c={count}: {result['rps']} req/s, p50 {latency['p50']} ms, "
                        f"p99 {latency['p99']} ms, non-2xx {result['non2xx']}, "
                        f"peak {result['peak_rss_mib']} MiB"
                    )
        finally:
            sampler.stop()
        info = {
            "description": SERVERS[name],
            "command": [Path(server.command[0]).name, *server.command[1:]],
            "start_s": round(server.started_s, 1),
            "same_data": same,
            "verification": checked,
            "peak_rss_mib": sampler.peak_mib(),
            "workers": workers if name in WITH_WORKERS else None,
        }
    return info, runs


class _KeptAlive:
    """One kept-alive HTTP connection to a server, opened again whenever the server closes it (as kg serve
    does after keepalive_requests); each ``send`` returns (status, seconds from sending to the last byte)."""

    def __init__(self, base: str, timeout: float):
        self.host, self.timeout = urllib.parse.urlsplit(base).netloc, timeout
        self.connection: http.client.HTTPConnection | None = None

    def send(self, method: str, target: str, body: str) -> tuple[int, float]:
        try:
            return self._exchange(method, target, body)
        except (http.client.HTTPException, ConnectionError):  # closed by the server while idle: once more
            self.close()
            return self._exchange(method, target, body)

    def _exchange(self, method: str, target: str, body: str) -> tuple[int, float]:
        if self.connection is None:
            self.connection = http.client.HTTPConnection(self.host, timeout=self.timeout)
        headers = {"Accept": ACCEPT, **({"Content-Type": FORM} if body else {})}
        started = time.perf_counter()
        self.connection.request(method, target, body=body.encode() or None, headers=headers)
        response = self.connection.getresponse()
        response.read()
        seconds = time.perf_counter() - started
        if response.getheader("Connection", "").lower() == "close":
            self.close()
        return response.status, seconds

    def close(self) -> None:
        if self.connection is not None:
            self.connection.close()
            self.connection = None


#: Buckets of the paired comparison, by the peer's time for a request (ms).
PAIRED_BUCKETS = ((0, 5), (5, 20), (20, 100), (100, None))


def head_to_head(
    data: dict,
    plan: dict,
    logs: Path,
    peer: str,
    *,
    paired_count: int,
    rounds: int,
    round_requests: int,
    connections: int,
    workers: int,
    threads: int,
    start_timeout: float,
    timeout_s: int,
    progress=print,
    server: str = "kg",
) -> tuple[dict | None, dict | None]:
    """``server`` (kg serve unless named) and ``peer`` running at once, compared on the same ad hoc
    requests: ``paired_count`` of them one at a time (``paired``, kg serve only), then ``rounds``
    alternating rounds of the whole list, or of its first ``round_requests`` (``alternating``)."""
    if paired_count and server != "kg":
        raise ValueError("the paired comparison is of kg serve against a peer")
    with (
        running(server, data, logs, workers=workers, start_timeout=start_timeout, threads=threads) as ours,
        running(peer, data, logs, workers=workers, start_timeout=start_timeout, threads=threads) as theirs,
    ):
        one_by_one = (
            paired(ours, theirs, plan["adhoc"], count=paired_count, timeout_s=timeout_s, progress=progress)
            if paired_count
            else None
        )
        whole_list = (
            alternating(
                ours,
                theirs,
                plan["adhoc"][: round_requests or None],
                rounds=rounds,
                connections=connections,
                timeout_s=timeout_s,
                progress=progress,
            )
            if rounds
            else None
        )
    return one_by_one, whole_list


def paired(ours: Running, theirs: Running, items: list[dict], *, count: int, timeout_s: int, progress=print) -> dict:
    """One ad hoc request at a time to kg serve (``ours``) and to a peer, the same ``count`` requests,
    alternating which server gets a request first: what each request costs with no queue.

    Under wrk's load a server's rate mixes its cost per request with how it shares the cores; here the two
    are compared request by request, in one pass (each request marked so that nothing comes from a cache).
    """
    peer = theirs.name
    times: dict[str, list[float]] = {"kg": [], peer: []}
    clients = {server.name: _KeptAlive(server.base, timeout_s) for server in (ours, theirs)}
    try:
        for index in range(-min(10, count), count):  # the first ten of each, untimed: a warm-up
            item = Request(**items[index % len(items)])
            marked = replace(item, text=f"{item.text}\n# paired-{index}")
            for server in (ours, theirs) if index % 2 else (theirs, ours):
                status, seconds = clients[server.name].send(*marked.render(server.name))
                if status != 200:
                    raise RuntimeError(f"{server.name} answered {status} to {item.query} {item.values}")
                if index >= 0:
                    times[server.name].append(seconds)
    finally:
        for client in clients.values():
            client.close()
    kg_times, peer_times = times["kg"], times[peer]
    buckets = []
    for low, high in PAIRED_BUCKETS:
        chosen = [
            (k, p)
            for k, p in zip(kg_times, peer_times, strict=True)
            if low <= p * 1000 and (high is None or p * 1000 < high)
        ]
        if chosen:
            kg_total, peer_total = sum(k for k, _ in chosen), sum(p for _, p in chosen)
            buckets.append(
                {
                    "peer_ms": [low, high],
                    "requests": len(chosen),
                    "kg_s": round(kg_total, 3),
                    "peer_s": round(peer_total, 3),
                    "ratio": round(peer_total / kg_total, 3),
                }
            )
    result = {
        "peer": peer,
        "requests": count,
        "kg_s": round(sum(kg_times), 3),
        "peer_s": round(sum(peer_times), 3),
        "ratio": round(sum(peer_times) / sum(kg_times), 3),
        "kg_median_ms": round(statistics.median(kg_times) * 1000, 2),
        "peer_median_ms": round(statistics.median(peer_times) * 1000, 2),
        "median_difference_ms": round(
            statistics.median(k - p for k, p in zip(kg_times, peer_times, strict=True)) * 1000, 2
        ),
        "buckets": buckets,
    }
    progress(
        f"paired with {peer}: {count} requests, kg {result['kg_s']} s, {peer} {result['peer_s']} s "
        f"(ratio {result['ratio']})"
    )
    return result


def _whole_list(server: Running, items: list[dict], tag: str, *, connections: int, timeout_s: int) -> dict:
    """Every request of ``items`` once, marked with ``tag``, over ``connections`` kept-alive connections at
    once: the rate, the p99, and the server's CPU time per request."""
    pending = iter(range(len(items)))
    lock = threading.Lock()
    seconds = [0.0] * len(items)
    failures: list[str] = []

    def client() -> None:
        connection = _KeptAlive(server.base, timeout_s)
        try:
            while not failures:
                with lock:
                    index = next(pending, None)
                if index is None:
                    return
                item = Request(**items[index])
                status, seconds[index] = connection.send(
                    *replace(item, text=f"{item.text}\n# {tag}-{index}").render(server.name)
                )
                if status != 200:
                    failures.append(f"{server.name} answered {status} to {item.query} {item.values}")
        except Exception as exc:  # noqa: BLE001 - reported below, from the calling thread
            failures.append(f"{server.name}: {exc}")
        finally:
            connection.close()

    with CpuShare(server.process.pid) as cpu:
        began = time.perf_counter()
        threads = [threading.Thread(target=client, daemon=True) for _ in range(connections)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout_s * len(items))
        elapsed = time.perf_counter() - began
    if failures or any(thread.is_alive() for thread in threads):
        raise RuntimeError(failures[0] if failures else f"{server.name}: the round did not finish")
    ordered = sorted(seconds)
    return {
        "rps": round(len(items) / elapsed, 1),
        "p99_ms": round(ordered[int(0.99 * (len(ordered) - 1))] * 1000, 1),
        "server_cpu_ms_per_request": round(cpu.server_seconds / len(items) * 1000, 2),
    }


def alternating(
    ours: Running, theirs: Running, items: list[dict], *, rounds: int, connections: int, timeout_s: int, progress=print
) -> dict:
    """The whole ad hoc list, once per round, to a server (``ours``: kg serve, or the plain Python front)
    and to a peer, both running, over ``connections`` connections at once; which server goes first
    alternates from round to round.

    A fixed amount of work, the same for both, next to each other in time: wrk's timed runs each cover
    whatever part of the list a server reaches, and runs minutes apart meet a machine whose speed drifts.
    """
    mine, peer = ours.name, theirs.name
    result: dict = {"server": mine, "peer": peer, "connections": connections, "requests": len(items), "rounds": []}
    for number in range(rounds):
        measured = {}
        for server in (ours, theirs) if number % 2 == 0 else (theirs, ours):
            measured[server.name] = _whole_list(
                server, items, f"round-{number}-{server.name}", connections=connections, timeout_s=timeout_s
            )
        measured["ratio"] = round(measured[mine]["rps"] / measured[peer]["rps"], 3)
        result["rounds"].append(measured)
        progress(
            f"alternating {mine} with {peer}, round {number + 1}: {mine} {measured[mine]['rps']} req/s, "
            f"{peer} {measured[peer]['rps']} req/s (ratio {measured['ratio']})"
        )
    result["median_ratio"] = round(statistics.median(r["ratio"] for r in result["rounds"]), 3)
    result["p99_ratio"] = round(statistics.median(r[peer]["p99_ms"] / r[mine]["p99_ms"] for r in result["rounds"]), 3)
    return result


# --- the suite ---------------------------------------------------------------------------------------------


def _version(name: str) -> str | None:
    try:
        return metadata.version(name)
    except metadata.PackageNotFoundError:
        return None


def versions() -> dict:
    found = {"python": platform.python_version()}
    for name in [
        "yrd-kg",
        "pyoxigraph",
        "oxigraph",
        "flask",
        "gunicorn",
        "rdflib",
        "rdflib-endpoint",
        "fastapi",
        "uvicorn",
        "uvloop",
        "httptools",
        "pyuwsgi",
    ]:
        found[name] = _version(name)
    with contextlib.suppress(OSError, subprocess.TimeoutExpired):
        output = subprocess.run([oxigraph_binary(), "--version"], capture_output=True, text=True, timeout=10)
        found["oxigraph server"] = output.stdout.strip().removeprefix("oxigraph ")
    with contextlib.suppress(OSError, subprocess.TimeoutExpired):
        output = subprocess.run(["wrk", "-v"], capture_output=True, text=True, timeout=10)
        found["wrk"] = (output.stdout or output.stderr).splitlines()[0].split(" [")[0].removeprefix("wrk ").strip()
    return found


def ratios(runs: list[dict]) -> list[dict]:
    """kg serve against each peer, per workload and connections; above 1 means kg serve does better."""
    ours = {(r["workload"], r["connections"]): r for r in runs if r["server"] == "kg"}
    found = []
    for run in runs:
        mine = ours.get((run["workload"], run["connections"]))
        if run["server"] == "kg" or mine is None:
            continue

        def share(a, b):
            return round(a / b, 2) if b else None

        found.append(
            {
                "workload": run["workload"],
                "connections": run["connections"],
                "peer": run["server"],
                "rps": share(mine["rps"], run["rps"]),
                "rps_per_server_core": share(mine.get("rps_per_server_core") or 0, run.get("rps_per_server_core") or 0)
                or None,
                "p50": share(run["latency_ms"]["p50"], mine["latency_ms"]["p50"]),
                "p99": share(run["latency_ms"]["p99"], mine["latency_ms"]["p99"]),
            }
        )
    return found


def run_suite(
    *,
    triples: int,
    connections: list[int],
    duration: float,
    servers: list[str],
    out: Path,
    work: Path,
    warmup: float = 5,
    workers: int = 2,
    threads: int = 4,
    wrk_threads: int = 1,
    timeout_s: int = 30,
    seed: int = 1,
    per_query: int = 200,
    mix_values: int = 4,
    max_rows: int = 1000,
    plan_budget_s: float = 30,
    verify_adhoc: int = 2,
    start_timeout: float | None = None,
    rebuild: bool = False,
    paired_requests: int = 0,
    rounds: int = 0,
    round_requests: int = 0,
    peers: list[str] | None = None,
    progress=print,
) -> dict:
    if shutil.which("wrk") is None:
        raise RuntimeError("the load generator wrk is not installed (Debian: apt-get install wrk)")
    started = datetime.datetime.now(datetime.UTC)
    data = prepare_data(triples, work, rebuild=rebuild, progress=progress)
    progress(
        f"data: {data['quads']} quads ({data['asserted_triples']} asserted triples), build {data['build_id'][:12]}"
    )
    progress("choosing requests")
    plan = make_plan(
        data,
        seed=seed,
        per_query=per_query,
        mix_values=mix_values,
        max_rows=max_rows,
        budget_s=plan_budget_s,
        progress=progress,
    )
    lists = write_lists(plan, data["folder"], servers)
    logs = data["folder"] / "logs"
    logs.mkdir(exist_ok=True)
    for old in logs.glob("*-wrk.log"):
        old.unlink()
    start_timeout = start_timeout or 120 + data["quads"] / 1500
    results = {
        "started": started.isoformat(timespec="seconds"),
        "machine": machine(),
        "versions": versions(),
        "settings": {
            "triples": triples,
            "connections": connections,
            "duration_s": duration,
            "warmup_s": warmup,
            "workers": workers,
            "threads": threads,
            "wrk_threads": wrk_threads,
            "wrk_timeout_s": timeout_s,
            "seed": seed,
            "max_rows": max_rows,
            "mix_values_per_query": mix_values,
        },
        "data": {
            "quads": data["quads"],
            "asserted_triples": data["asserted_triples"],
            "graphs": data["graphs"],
            "nquads_bytes": data["nquads_bytes"],
            "build_id": data["build_id"],
        },
        "workloads": {
            "adhoc": {
                "description": WORKLOADS["adhoc"],
                "distinct_requests": len(plan["adhoc"]),
                "queries": plan["queries"],
            },
            "mix": {
                "description": WORKLOADS["mix"],
                "list_length": len(plan["mix"]),
                "distinct_saved_requests": len(
                    {(r["query"], json.dumps(r["values"], sort_keys=True)) for r in plan["mix"] if r["kind"] == "s"}
                ),
                "adhoc_share": round(sum(r["kind"] == "a" for r in plan["mix"]) / len(plan["mix"]), 2),
            },
            "left_out_queries": plan["left_out"],
        },
        "servers": {},
        "runs": [],
        "ratios": [],
    }
    for name in servers:
        try:
            info, runs = benchmark_server(
                name,
                data,
                plan,
                lists,
                logs,
                connections=connections,
                duration=duration,
                warmup=warmup,
                workers=workers,
                wrk_threads=wrk_threads,
                timeout_s=timeout_s,
                start_timeout=start_timeout,
                verify_adhoc=verify_adhoc,
                threads=threads,
                progress=progress,
            )
            results["servers"][name] = info
            results["runs"] += runs
        except Exception as exc:  # noqa: BLE001 - one server failing must not lose the others' results
            progress(f"{name}: FAILED: {exc}")
            results["servers"][name] = {"description": SERVERS[name], "error": str(exc)[:3000]}
    results["ratios"] = ratios(results["runs"])
    results["paired"], results["alternating"] = [], []
    compared = [name for name in servers if peers is None or name in peers]
    if (paired_requests or rounds) and "kg" in servers:
        for peer in [name for name in compared if name != "kg"]:
            try:
                one_by_one, whole_list = head_to_head(
                    data,
                    plan,
                    logs,
                    peer,
                    paired_count=paired_requests,
                    rounds=rounds,
                    round_requests=round_requests,
                    connections=min(connections),
                    workers=workers,
                    threads=threads,
                    start_timeout=start_timeout,
                    timeout_s=timeout_s,
                    progress=progress,
                )
            except Exception as exc:  # noqa: BLE001 - the wrk runs above are kept whatever happens here
                progress(f"kg serve with {peer}: FAILED: {exc}")
                one_by_one = whole_list = {"peer": peer, "error": str(exc)[:3000]}
            if paired_requests:
                results["paired"].append(one_by_one)
            if rounds:
                results["alternating"].append(whole_list)
    # what a Python front over pyoxigraph costs, against the Oxigraph server on the same engine
    bare_fronts = [name for name in BARE_FRONTS if name in compared] if rounds and "oxigraph-memory" in servers else []
    for bare in bare_fronts:
        try:
            whole_list = head_to_head(
                data,
                plan,
                logs,
                "oxigraph-memory",
                server=bare,
                paired_count=0,
                rounds=rounds,
                round_requests=round_requests,
                connections=min(connections),
                workers=workers,
                threads=threads,
                start_timeout=start_timeout,
                timeout_s=timeout_s,
                progress=progress,
            )[1]
        except Exception as exc:  # noqa: BLE001 - as above
            progress(f"{bare} with oxigraph-memory: FAILED: {exc}")
            whole_list = {"server": bare, "peer": "oxigraph-memory", "error": str(exc)[:3000]}
        results["alternating"].append(whole_list)
    out.mkdir(parents=True, exist_ok=True)
    (out / "http.json").write_text(json.dumps(results, indent=2, ensure_ascii=False) + "\n")
    (out / "http.md").write_text(to_markdown(results))
    return results


def _cores(run: dict) -> str:
    cores = run.get("cpu_cores") or {}
    return " / ".join(f"{cores[k]:.2f}" for k in ("server", "wrk", "other")) if cores else ""


def _peer_table(entries: list[dict], intro: str, columns: list[str], row) -> list[str]:
    """Markdown lines of a head-to-head table: one row per peer, made by ``row``, or the peer's failure."""
    lines = ["", intro, "", "| " + " | ".join(columns) + " |", "|" + "---|" * len(columns)]
    for entry in entries:
        if "error" in entry:
            lines.append(f"| {_pair(entry)} | failed: {entry['error'][:300]} |" + " |" * (len(columns) - 2))
        else:
            lines.append(row(entry))
    return lines


def _paired_row(r: dict) -> str:
    buckets = "; ".join(
        f"{b['peer_ms'][0]}-{b['peer_ms'][1] or ''} ms: {b['requests']}, {b['ratio']}" for b in r["buckets"]
    )
    return (
        f"| {r['peer']} | {r['requests']} | {r['kg_s']} | {r['peer_s']} | {r['ratio']} | "
        f"{r['kg_median_ms']} | {r['peer_median_ms']} | {r['median_difference_ms']} | {buckets} |"
    )


def _pair(entry: dict) -> str:
    """The first cell of a head-to-head row: the peer, or for a server other than kg serve, both."""
    server = entry.get("server", "kg")
    return entry["peer"] if server == "kg" else f"{entry['peer']} (against {server})"


def _alternating_row(r: dict) -> str:
    mine, peer, by_round = r.get("server", "kg"), r["peer"], r["rounds"]
    cpu = ", ".join(
        f"{x[mine]['server_cpu_ms_per_request']} / {x[peer]['server_cpu_ms_per_request']}" for x in by_round
    )
    return (
        f"| {_pair(r)} | {r['connections']} | {r['requests']} | {', '.join(str(x[mine]['rps']) for x in by_round)} | "
        f"{', '.join(str(x[peer]['rps']) for x in by_round)} | {cpu} | {r['median_ratio']} | {r['p99_ratio']} |"
    )


def to_markdown(results: dict) -> str:
    settings, data, m = results["settings"], results["data"], results["machine"]
    v = results["versions"]
    lines = [
        "# HTTP benchmark",
        "",
        f"{results['started']}. Machine: {m['system']}, {m['cpus']} CPUs, {m['memory']} (shared with other work: "
        "see the load average before each run in http.json). Versions: "
        + ", ".join(f"{k} {val}" for k, val in v.items() if val)
        + ".",
        "",
        f"Data: {data['quads']} quads ({data['asserted_triples']} asserted triples; every named graph of the build, "
        f"made by kg build; N-Quads {data['nquads_bytes'] / 2**20:.1f} MiB), the same on "
        f"every server. wrk, {settings['wrk_threads']} "
        f"thread(s), {settings['duration_s']:g} s per run after a {settings['warmup_s']:g} s warm-up per workload; "
        f"kg serve, rdflib-endpoint and the bare fronts with {settings['workers']} workers (kg serve and "
        "the bare fronts, pyoxigraph-plain and pyoxigraph-uwsgi: "
        f"{settings.get('threads', 1)} threads each). Latencies in ms; memory is the peak "
        "resident size of the server's whole process tree during the run; cores are CPU seconds per second during "
        "the run, of the server's processes, of wrk, and of everything else on the machine (other work sharing "
        "it: the more, the noisier the figures); req/s per server core divides req/s by the server's cores.",
        "",
        "| server | workload | connections | req/s | p50 | p99 | non-2xx | other errors | peak RSS (MiB) "
        "| cores: server / wrk / other work | req/s per server core |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for run in results["runs"]:
        errors = sum(v for k, v in run["errors"].items() if k != "status")
        lines.append(
            f"| {run['server']} | {run['workload']} | {run['connections']} | {run['rps']:.1f} | "
            f"{run['latency_ms']['p50']:.1f} | {run['latency_ms']['p99']:.1f} | {run['non2xx']} | {errors} | "
            f"{run['peak_rss_mib']:.0f} | {_cores(run)} | {run.get('rps_per_server_core') or ''} |"
        )
    if results["ratios"]:
        lines += [
            "",
            "kg serve against each peer (above 1: kg serve does better; req/s is kg ÷ peer, latency is peer ÷ kg):",
            "",
            "| workload | connections | peer | req/s | req/s per server core | p50 | p99 |",
            "|---|---|---|---|---|---|---|",
        ]
        for r in results["ratios"]:
            lines.append(
                f"| {r['workload']} | {r['connections']} | {r['peer']} | {r['rps']} "
                f"| {r.get('rps_per_server_core') or ''} | {r['p50']} | {r['p99']} |"
            )
    if results.get("paired"):
        lines += _peer_table(
            results["paired"],
            "One request at a time (paired): the first ad hoc requests of the list, each sent to kg serve and to "
            "the peer, both running, alternating which gets it first; the client's time from sending to the last "
            "byte (ratio: peer ÷ kg, above 1: kg serve does better):",
            [
                "peer",
                "requests",
                "kg total (s)",
                "peer total (s)",
                "ratio",
                "kg median (ms)",
                "peer median (ms)",
                "median of the differences (ms)",
                "by the peer's time: requests, ratio",
            ],
            _paired_row,
        )
    if results.get("alternating"):
        lines += _peer_table(
            results["alternating"],
            "The whole ad hoc list at once (alternating rounds): every ad hoc request of the list, once per round, "
            "to kg serve and to the peer, both running, over the fewest connections above; which server goes "
            "first alternates from round to round (ratio: kg ÷ peer req/s, above 1: kg serve does better; p99 "
            'ratio: peer ÷ kg). A row "peer (against server)" compares that server instead of kg serve with the '
            "peer: pyoxigraph-plain (gunicorn) or pyoxigraph-uwsgi (uWSGI) against the Oxigraph server is what a "
            "Python front over the same engine costs:",
            [
                "peer",
                "connections",
                "requests per round",
                "kg req/s by round",
                "peer req/s by round",
                "kg / peer CPU ms per request by round",
                "median ratio",
                "median p99 ratio",
            ],
            _alternating_row,
        )
    lines += [
        "",
        "| server | started in (s) | checked before timing | peak RSS over the whole run (MiB) |",
        "|---|---|---|---|",
    ]
    for name, info in results["servers"].items():
        if "error" in info:
            lines.append(f"| {name} | failed: {info['error'][:300]} | | |")
            continue
        check = info["verification"]
        lines.append(
            f"| {name} | {info['start_s']} | {check['requests']} requests, {check['failed']} failed; "
            f"{info['same_data']['quads']} quads | {info['peak_rss_mib']:.0f} |"
        )
    workloads = results["workloads"]
    lines += [
        "",
        f"Workloads: **adhoc** cycles through {workloads['adhoc']['distinct_requests']} different SPARQL "
        "queries (the saved queries with constants drawn from the data), POSTed as a form to each SPARQL "
        "endpoint, each marked with the run so nothing is answered from a cache of an earlier run; **mix** "
        f"cycles through {workloads['mix']['list_length']} requests, "
        f"{workloads['mix']['distinct_saved_requests']} distinct saved-query requests repeating (kg serve: "
        "`GET /queries/<id>?param=value`; peers: the same SPARQL) and one in five ad hoc. "
        f"Queries used: {', '.join(workloads['adhoc']['queries'])}.",
    ]
    if workloads["left_out_queries"]:
        lines.append(
            "Left out: "
            + "; ".join(f"{query} ({reason})" for query, reason in sorted(workloads["left_out_queries"].items()))
            + "."
        )
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.http", description=__doc__.split("\n\n")[0])
    parser.add_argument("--triples", type=int, default=100_000, help="target size of the asserted graph")
    parser.add_argument("--connections", default="4,8", help="wrk connections, comma-separated")
    parser.add_argument("--duration", type=float, default=20, help="seconds per timed run")
    parser.add_argument("--warmup", type=float, default=5, help="seconds of warm-up per server and workload")
    parser.add_argument("--servers", default=",".join(SERVERS), help=f"comma-separated, of: {', '.join(SERVERS)}")
    parser.add_argument("--workers", type=int, default=2, help="worker processes of kg serve and rdflib-endpoint")
    parser.add_argument("--threads", type=int, default=4, help="request threads per kg serve worker")
    parser.add_argument("--wrk-threads", type=int, default=1, help="wrk threads (at most the connections)")
    parser.add_argument("--max-rows", type=int, default=1000, help="largest answer a chosen request may have")
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "results")
    parser.add_argument("--work", type=Path, default=ROOT / "var" / "bench", help="where data is built and kept")
    parser.add_argument("--rebuild", action="store_true", help="rebuild the data for this size")
    parser.add_argument(
        "--paired",
        type=int,
        default=0,
        metavar="N",
        help="also send the first N ad hoc requests one at a time to kg serve and each peer, "
        "alternating (both servers running at once)",
    )
    parser.add_argument(
        "--rounds",
        type=int,
        default=0,
        metavar="R",
        help="also send the whole ad hoc list to kg serve and each peer, both running, over the "
        "fewest --connections at once, in R rounds that alternate which server goes first",
    )
    parser.add_argument(
        "--round-requests",
        type=int,
        default=0,
        metavar="N",
        help="send only the first N requests of the ad hoc list in each round (0: all of them)",
    )
    parser.add_argument(
        "--peers",
        default="",
        help="the servers of --servers that the paired and alternating comparisons take (default: all of them)",
    )
    args = parser.parse_args(argv)
    servers = [s for s in args.servers.split(",") if s]
    unknown = sorted(set(servers) - set(SERVERS))
    if unknown:
        parser.error(f"unknown servers: {', '.join(unknown)}")
    peers = [s for s in args.peers.split(",") if s] or None
    if peers is not None and not set(peers) <= set(servers):
        parser.error(f"--peers not among --servers: {', '.join(sorted(set(peers) - set(servers)))}")
    connections = [int(c) for c in args.connections.split(",") if c]
    if not connections or min(connections) < 1:
        parser.error("--connections needs positive numbers")
    if args.paired < 0:
        parser.error("--paired needs a number of requests, 0 or more")
    if args.rounds < 0:
        parser.error("--rounds needs a number of rounds, 0 or more")
    if args.round_requests < 0:
        parser.error("--round-requests needs a number of requests, 0 (all) or more")
    try:
        results = run_suite(
            triples=args.triples,
            connections=connections,
            duration=args.duration,
            servers=servers,
            out=args.out,
            work=args.work,
            warmup=args.warmup,
            workers=args.workers,
            threads=args.threads,
            wrk_threads=args.wrk_threads,
            max_rows=args.max_rows,
            rebuild=args.rebuild,
            paired_requests=args.paired,
            rounds=args.rounds,
            round_requests=args.round_requests,
            peers=peers,
            progress=lambda message: print(message, file=sys.stderr, flush=True),
        )
    except RuntimeError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    failed = [name for name, info in results["servers"].items() if "error" in info]
    print((args.out / "http.md").read_text())
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
