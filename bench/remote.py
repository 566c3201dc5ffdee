"""Saved queries through ``kg serve`` on the embedded store against ``kg serve --store`` on Virtuoso and on the
Oxigraph server, on the same data; and what the embedded store costs by size (start and memory per worker),
which tells when a remote store becomes the better choice on this machine.

    .venv/bin/python -m bench.remote --triples 1000000 --repeat 5 --footprint-sizes 100000

The data is ``bench.http``'s (``bench.generate`` seed tables built by ``kg build``, kept under
``var/bench/http-<size>/``). Virtuoso (``tests/virtuoso_server.py``, a fresh database on loopback) is filled
by ``kg push`` (timed) through its Graph Store endpoint with digest authentication; the Oxigraph server on a
RocksDB location too, or with ``--oxigraph-load bulk`` by ``oxigraph load`` of the version's snapshot (kept
per build; kg then knows no build id for it). Three ``kg serve`` run at once, each with ``--workers``
workers and no answer cache (``result_cache_bytes`` 0), so that every request runs its query.

The requests: per saved query, up to ``--values`` parameter values drawn from the data whose answer has 1
to ``--max-rows`` rows on the built store (``bench.http.make_plan``). A first pass checks them: every server
answers 200, and each remote store's rows are compared with the embedded store's. Then ``--repeat`` passes,
each request sent to the three servers in turn (the first rotating), one at a time on kept-alive
connections. ``bench.remote_report`` makes the tables: ``remote-<size>.json`` and ``.md`` in ``--out``.
Nothing here asserts a time.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import shutil
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

from bench.http import (
    ACCEPT,
    MemorySampler,
    Request,
    Running,
    _clean_env,
    _http,
    _KeptAlive,
    _kg,
    _loadavg,
    _oxigraph_location,
    _rss_kib,
    _stop,
    _tree,
    _wait_answering,
    free_port,
    make_plan,
    oxigraph_binary,
    prepare_data,
    running,
    versions,
)
from bench.remote_report import SERVERS, limits, summary, to_markdown
from bench.run import machine
from tests.virtuoso_server import CREDENTIALS, virtuoso_server

ROOT = Path(__file__).resolve().parent.parent


@contextlib.contextmanager
def oxigraph_server(location: Path, log: Path, timeout: float, *, read_only: bool = False):
    """``oxigraph serve`` on a RocksDB location, on a free loopback port; yields it running."""
    base = f"http://127.0.0.1:{free_port()}"
    mode = "serve-read-only" if read_only else "serve"
    command = [oxigraph_binary(), mode, "--location", str(location), "--bind", base.removeprefix("http://")]
    with log.open("ab") as output:
        process = subprocess.Popen(command, stdout=output, stderr=subprocess.STDOUT, start_new_session=True)
    server = Running("oxigraph", base, process, command, log)
    try:
        ask = lambda: _http(base, "GET", "/query?query=ASK%7B%7D", timeout=2)[0] == 200  # noqa: E731
        _wait_answering(server, ask, time.monotonic() + timeout)
        yield server
    finally:
        _stop(process)


def push(data: dict, query_url: str, data_url: str, log: Path, timeout: float, credentials=None) -> float:
    """Seconds ``kg push`` takes to load the build into the store at ``data_url`` (the password by variable)."""
    env = _clean_env(KG_STORE_DIR=str(data["store"]), **({"KG_REMOTE_PASSWORD": credentials[1]} if credentials else {}))
    user = ["--user", credentials[0]] if credentials else []
    started = time.monotonic()
    _kg(["push", "--endpoint", query_url, "--data-url", data_url, *user], env, timeout, log)
    return round(time.monotonic() - started, 1)


def requests(plan: dict, values: int, only: list[str]) -> list[Request]:
    """Up to ``values`` requests per saved query (of ``only``, if given), as saved-query requests."""
    chosen: dict[str, list[Request]] = {}
    for item in plan["adhoc"]:
        if (not only or item["query"] in only) and len(chosen.setdefault(item["query"], [])) < values:
            chosen[item["query"]].append(Request(**{**item, "kind": "s"}))
    return [request for query in sorted(chosen) for request in chosen[query]]


def _rows(body: bytes) -> Counter:
    bindings = json.loads(body)["results"]["bindings"]
    return Counter(
        tuple(sorted((k, v["type"], v["value"], v.get("datatype", "")) for k, v in r.items())) for r in bindings
    )


def check(bases: dict[str, str], items: list[Request], timeout: float) -> dict:
    """Every request once to every server: its status, and whether each remote store's rows are the
    embedded store's (by saved query: the requests whose rows differ)."""
    differ: dict[str, dict[str, int]] = {name: {} for name in SERVERS[1:]}
    failed: dict[str, int] = {name: 0 for name in SERVERS}
    for item in items:
        method, target, _ = item.render("kg")
        answers = {
            name: _http(base, method, target, headers={"Accept": ACCEPT}, timeout=timeout)
            for name, base in bases.items()
        }
        for name, (status, _, _) in answers.items():
            failed[name] += status != 200
        if answers["embedded"][0] != 200:
            continue
        here = _rows(answers["embedded"][1])
        for name in SERVERS[1:]:
            if answers[name][0] == 200 and _rows(answers[name][1]) != here:
                differ[name][item.query] = differ[name].get(item.query, 0) + 1
    return {"requests": len(items), "failed": failed, "rows_differ": differ}


def timed(bases: dict[str, str], items: list[Request], repeat: int, timeout: float) -> dict[str, dict[str, list]]:
    """Seconds of every request on every server, by saved query; each request to the three in turn."""
    clients = {name: _KeptAlive(base, timeout) for name, base in bases.items()}
    times: dict[str, dict[str, list]] = {name: {} for name in SERVERS}
    try:
        for turn in range(repeat):
            for index, item in enumerate(items):
                method, target, _ = item.render("kg")
                first = (turn + index) % len(SERVERS)
                for name in SERVERS[first:] + SERVERS[:first]:
                    status, seconds = clients[name].send(method, target, "")
                    times[name].setdefault(item.query, []).append(seconds if status == 200 else None)
    finally:
        for client in clients.values():
            client.close()
    return times


def worker_rss_mib(server: Running) -> list[float]:
    """The resident size of each of a kg serve's workers (the master's children)."""
    workers = [pid for pid in _tree(server.process.pid) if pid != server.process.pid]
    return sorted(round(_rss_kib(pid) / 1024, 1) for pid in workers)


def serve(stack: contextlib.ExitStack, data: dict, logs: Path, args: argparse.Namespace, **settings: str) -> Running:
    """``kg serve`` over ``data`` (or the store KG_STORE_URL names), without answer cache, until ``stack`` closes."""
    env = {"KG_RESULT_CACHE_BYTES": "0", "KG_QUERY_TIMEOUT": str(args.query_timeout), **settings}
    return stack.enter_context(
        running("kg", data, logs, workers=args.workers, start_timeout=args.start_timeout, settings=env)
    )


def footprint(data: dict, server: Running) -> dict:
    """The size of ``data``, and what ``kg serve`` on its embedded store took: seconds until every worker
    answered from its copy, and each worker's memory."""
    return {
        "asserted_triples": data["asserted_triples"],
        "quads": data["quads"],
        "snapshot_mib": round(data["nquads_bytes"] / 2**20),
        "start_s": round(server.started_s, 1),
        "worker_rss_mib": worker_rss_mib(server),
    }


def footprint_at(size: int, args: argparse.Namespace) -> dict:
    """``footprint`` of kg serve alone on the data at ``size``."""
    data = prepare_data(size, args.work, progress=lambda message: print(message, file=sys.stderr))
    (data["folder"] / "logs-remote").mkdir(exist_ok=True)
    with contextlib.ExitStack() as stack:
        return footprint(data, serve(stack, data, data["folder"] / "logs-remote", args))


def run(args: argparse.Namespace) -> dict:
    say = lambda message: print(message, file=sys.stderr, flush=True)  # noqa: E731
    data = prepare_data(args.triples, args.work, progress=say)
    plan = make_plan(
        {**data, "folder": data["folder"] / "remote"},  # its own plan file beside bench.http's
        seed=args.seed,
        per_query=args.values,
        mix_values=1,
        max_rows=args.max_rows,
        budget_s=args.plan_budget,
        progress=say,
    )
    items = requests(plan, args.values, [q for q in args.queries.split(",") if q])
    say(f"{len(items)} requests over {len({i.query for i in items})} saved queries")
    sizes = [footprint_at(size, args) for size in args.footprint_sizes if size != args.triples]
    logs = data["folder"] / "logs-remote"
    for name in SERVERS:
        (logs / name).mkdir(parents=True, exist_ok=True)
    results: dict = {"triples": args.triples, "asserted_triples": data["asserted_triples"], "quads": data["quads"]}
    results.update(machine=machine(), versions=versions(), loadavg_before=_loadavg(), workers=args.workers)
    results["left_out"] = plan["left_out"]
    with contextlib.ExitStack() as stack:
        embedded = serve(stack, data, logs / "embedded", args)
        sizes.append(footprint(data, embedded))
        say(f"embedded: kg serve ready in {embedded.started_s:.1f} s, workers {sizes[-1]['worker_rss_mib']} MiB")
        for folder in ("virtuoso-db", "oxigraph-pushed"):  # each store starts empty, as a first push finds it
            shutil.rmtree(data["folder"] / folder, ignore_errors=True)
        virtuoso = stack.enter_context(virtuoso_server(data["folder"] / "virtuoso-db", buffers=args.virtuoso_buffers))
        bulk = args.oxigraph_load == "bulk"  # oxigraph load, kept per build: no build record (build unknown)
        log = logs / "oxigraph.log"
        location = _oxigraph_location(data, log, args.push_timeout) if bulk else data["folder"] / "oxigraph-pushed"
        oxigraph = stack.enter_context(oxigraph_server(location, log, 60, read_only=bulk))
        stores = {
            "virtuoso": (virtuoso.query_url, virtuoso.data_url, CREDENTIALS),
            "oxigraph": (f"{oxigraph.base}/query", f"{oxigraph.base}/store", None),
        }
        loaded, bases = {}, {"embedded": embedded.base}
        for name, (query_url, data_url, credentials) in stores.items():
            seconds = None
            if name == "virtuoso" or not bulk:
                seconds = push(data, query_url, data_url, logs / name / "push.log", args.push_timeout, credentials)
                say(f"{name}: kg push took {seconds} s")
            front = serve(stack, data, logs / name, args, KG_STORE_URL=query_url)
            bases[name] = front.base
            loaded[name] = {"push_s": seconds, "kg_serve_workers_rss_mib": worker_rss_mib(front)}
        processes = {
            "embedded": embedded.process.pid,
            "virtuoso": virtuoso.process.pid,
            "oxigraph": oxigraph.process.pid,
        }
        samplers = {name: MemorySampler(pid) for name, pid in processes.items()}
        for sampler in samplers.values():
            sampler.start()
        try:
            results["check"] = check(bases, items, args.query_timeout + 30)
            say(f"checked: {json.dumps(results['check'])}")
            times = timed(bases, items, args.repeat, args.query_timeout + 30)
        finally:
            for sampler in samplers.values():
                sampler.stop()
        for name in ("virtuoso", "oxigraph"):
            loaded[name]["store_peak_rss_mib"] = samplers[name].peak_mib()
        loaded["embedded"] = {"start_s": sizes[-1]["start_s"], "peak_rss_mib": samplers["embedded"].peak_mib()}
    results.update(loaded=loaded, requests=len(items), repeat=args.repeat, **summary(times))
    results["footprint"] = sorted(sizes, key=lambda s: s["asserted_triples"])
    memory_gib = float((results["machine"]["memory"] or "0 GiB").split()[0])
    results["limits"] = limits(sizes, args.workers, memory_gib, args.reserve_gib)
    return results


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.remote", description=__doc__.split("\n\n")[0])
    parser.add_argument("--triples", type=int, default=100_000, help="target size of the asserted graph")
    parser.add_argument("--repeat", type=int, default=5, help="timed passes over the requests")
    parser.add_argument("--values", type=int, default=3, help="parameter values per saved query")
    parser.add_argument("--queries", default="", help="comma-separated saved queries (default: every one)")
    parser.add_argument("--max-rows", type=int, default=1000, help="largest answer a chosen request may have")
    parser.add_argument("--workers", type=int, default=2, help="worker processes of each kg serve")
    parser.add_argument("--footprint-sizes", default="", help="other sizes at which to start kg serve alone")
    parser.add_argument("--reserve-gib", type=float, default=4.0, help="memory left to the system in the limits")
    parser.add_argument("--virtuoso-buffers", type=int, default=250_000, help="Virtuoso's 8 KiB cache pages")
    parser.add_argument("--query-timeout", type=int, default=60, help="kg serve's query_timeout, seconds")
    parser.add_argument("--push-timeout", type=float, default=3600)
    parser.add_argument(
        "--oxigraph-load",
        choices=("push", "bulk"),
        default="push",
        help="fill the Oxigraph server by kg push, "
        "or by oxigraph load of the version's snapshot (faster; then its build is unknown to kg)",
    )
    parser.add_argument("--start-timeout", type=float, default=1200)
    parser.add_argument("--plan-budget", type=float, default=30, help="seconds to find values per saved query")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--work", type=Path, default=ROOT / "var" / "bench")
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "results")
    args = parser.parse_args(argv)
    args.footprint_sizes = [int(size) for size in args.footprint_sizes.split(",") if size]
    try:
        results = run(args)
    except (RuntimeError, FileNotFoundError) as exc:  # FileNotFoundError: no virtuoso-t
        print(f"error: {exc}", file=sys.stderr)
        return 2
    args.out.mkdir(parents=True, exist_ok=True)
    stem = args.out / f"remote-{args.triples}"
    stem.with_suffix(".json").write_text(json.dumps(results, indent=2, ensure_ascii=False) + "\n")
    stem.with_suffix(".md").write_text(to_markdown(results))
    print(to_markdown(results))
    failed = sum(results["check"]["failed"].values())
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
