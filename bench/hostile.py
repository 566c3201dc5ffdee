"""Hostile load: the realistic mix beside slow clients, runaway queries, memory bombs and SERVICE to a canary.

    .venv/bin/python -m bench.hostile --triples 100000 --seconds 75 --out bench/results

For each server in turn (``kg serve``; the Oxigraph server in memory, with its own time limit) on
bench.http's data: after a few idle seconds (the idle memory) and a warm-up, wrk drives the mix at
``--connections`` for ``--seconds`` alone (undisturbed), then again for ``--seconds`` beside the hostile
load, then alone again once it has stopped; the share under attack is taken of the mean of the two runs
alone, so that the server's drift over the run does not count as the attack's doing. The hostile load is
that of ``bench.hostile_load`` (200 slow-header connections, 8 clients re-sending a runaway query, the
memory bombs of issue 23, SERVICE queries to a loopback canary), all from 127.0.0.2. A prober GETs
``/health`` (the Oxigraph server: ``/``) every 150 ms from 127.0.0.1, and the proportional memory (PSS)
of the server's process tree is sampled every half second. ``hostile-<size>.md`` and ``.json`` get the
table and the targets of issue 23. Nothing here asserts a time.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime
import json
import statistics
import sys
import time
from pathlib import Path

from bench.hostile_load import Canary, HostileLoad, MemoryCap, Prober, bombs, service_queries
from bench.http import (
    ROOT,
    SPARQL_PATH,
    MemorySampler,
    make_plan,
    prepare_data,
    pss_kib,
    run_wrk,
    running,
    versions,
    write_lists,
)
from bench.run import machine

SERVERS = {"kg": "kg serve", "oxigraph-memory": "Oxigraph server (in memory)"}
HEALTH_PATH = {"kg": "/health", "oxigraph-memory": "/"}


def percentile(values: list[float], share: float) -> float | None:
    """Nearest-rank percentile (``share`` in 0..1) of ``values``, or None without any."""
    if not values:
        return None
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(share * len(ordered)) - 1))]


def _health(samples: list[tuple[str, float, str]], phase: str) -> dict:
    seconds = [s for p, s, _ in samples if p == phase]
    statuses: dict[str, int] = {}
    for p, _, status in samples:
        if p == phase:
            statuses[status] = statuses.get(status, 0) + 1
    p50, p99 = percentile(seconds, 0.5), percentile(seconds, 0.99)
    return {
        "probes": len(seconds),
        "p50_ms": round(p50 * 1000, 1) if p50 is not None else None,
        "p99_ms": round(p99 * 1000, 1) if p99 is not None else None,
        "statuses": statuses,
    }


def _mib(sampler: MemorySampler, start: float, end: float, how=max) -> float:
    values = [kib for at, kib in sampler.samples if start <= at <= end]
    return round(how(values) / 1024, 1) if values else 0.0


def _mix(base: str, mix: Path, tag: str, wrk: dict) -> dict:
    """A wrk run of the mix; one that could not connect at all counts as 0 req/s, with wrk's message."""
    try:
        return run_wrk(base, "mix", mix, tag, **wrk)
    except RuntimeError as exc:
        return {
            "rps": 0.0,
            "requests": 0,
            "latency_ms": {"p50": None, "p99": None},
            "non2xx": 0,
            "errors": {},
            "statuses": {},
            "failed": str(exc).strip()[:300],
        }


def _wrk_summary(run: dict) -> dict:
    return {
        "rps": run["rps"],
        "requests": run["requests"],
        "p50_ms": run["latency_ms"]["p50"],
        "p99_ms": run["latency_ms"]["p99"],
        "non2xx": run["non2xx"],
        "statuses": run["statuses"],
        "socket_errors": sum(v for k, v in run["errors"].items() if k != "status"),
        "failed": run.get("failed"),
    }


def measure(name: str, data: dict, mix: Path, logs: Path, args, progress=print) -> dict:
    """The undisturbed and the attacked mix on ``name``, with its /health, memory, canary and hostile answers."""
    settings = {"KG_QUERY_TIMEOUT": str(args.query_timeout), "KG_MAX_QUERY_MEMORY": str(args.max_query_memory)}
    wrk = dict(connections=args.connections, duration=args.seconds, threads=1, timeout_s=30, log=logs / "wrk.log")
    with contextlib.ExitStack() as stack:
        canary = Canary()
        canary.start()
        stack.callback(canary.stop)
        server = stack.enter_context(
            running(
                name,
                data,
                logs,
                workers=args.workers,
                threads=args.threads,
                settings=settings,
                oxigraph_timeout=args.query_timeout,
                start_timeout=120 + data["quads"] / 1500,
            )
        )
        progress(f"{name}: started in {server.started_s:.0f} s")
        pss = MemorySampler(server.process.pid, interval=0.5, measure=pss_kib)
        rss = MemorySampler(server.process.pid, interval=0.25)
        cap = MemoryCap(rss, server.process.pid, args.memory_cap)
        prober = Prober(server.base, HEALTH_PATH[name], timeout=args.health_timeout)
        for thread in (pss, rss, cap, prober):
            thread.start()
            stack.callback(thread.stop)
        idle_from = time.monotonic()
        time.sleep(args.idle)
        idle_to = time.monotonic()
        prober.phase = "warm-up"
        _mix(server.base, mix, f"hostile-warmup-{name}", {**wrk, "duration": args.warmup})
        prober.phase = "undisturbed"
        calm = _mix(server.base, mix, f"hostile-calm-{name}", wrk)
        progress(f"{name}: undisturbed mix {calm['rps']} req/s")
        prober.phase = "ramp"
        attack_from = time.monotonic()
        hostile = HostileLoad(
            server.base,
            SPARQL_PATH[name],
            HEALTH_PATH[name],
            slow=args.slow,
            slow_every=args.slow_every,
            runaway=args.runaway,
            bomb_queries=bombs(args.doubling),
            service=service_queries(canary.target),
            answer_timeout=args.query_timeout + 30,
        )
        hostile.start()
        stack.callback(hostile.stop)
        time.sleep(args.slow_every + 1)  # the slow connections are all open
        prober.phase = "under attack"
        attacked = _mix(server.base, mix, f"hostile-attack-{name}", wrk)
        attack_to = time.monotonic()
        progress(f"{name}: mix under attack {attacked['rps']} req/s")
        hostile.stop()
        prober.phase = "settling"
        time.sleep(args.slow_every + 2)  # the last bombs' workers retire, the slow connections close
        prober.phase = "undisturbed after"
        after = _mix(server.base, mix, f"hostile-after-{name}", wrk)
        progress(f"{name}: undisturbed mix after the attack {after['rps']} req/s")
        for thread in (prober, cap, pss, rss):
            thread.stop()
    calm_rps = statistics.mean([calm["rps"], after["rps"]])
    idle = _mib(pss, idle_from, idle_to, how=statistics.median)
    bound = 2 * idle + (args.workers * args.max_query_memory if name == "kg" else 0)
    result = {
        "server": name,
        "description": SERVERS[name],
        "command": server.command,
        "log": str(server.log),
        "mix": {
            "undisturbed": _wrk_summary(calm),
            "under_attack": _wrk_summary(attacked),
            "undisturbed_after": _wrk_summary(after),
            "ratio": round(attacked["rps"] / calm_rps, 2) if calm_rps else None,
        },
        "health": {phase: _health(prober.samples, phase) for phase in ("undisturbed", "under attack")},
        "memory": {
            "idle_pss_mib": idle,
            "peak_pss_mib": _mib(pss, attack_from, attack_to),
            "peak_rss_mib": _mib(rss, attack_from, attack_to),
            "peak_pss_undisturbed_mib": _mib(pss, idle_to, attack_from),
            "bound_mib": round(bound, 1),
        },
        "killed_at_memory_cap_mib": cap.killed_at_mib,
        "canary_connections": canary.connections,
        "slow_connections": hostile.slow_connections,
        "hostile": {kind: dict(counts.most_common()) for kind, counts in hostile.statuses.items()},
    }
    result["targets"] = {
        "mix at least 80 % of undisturbed": result["mix"]["ratio"] is not None and result["mix"]["ratio"] >= 0.8,
        "/health p99 under 1 s": (result["health"]["under attack"]["p99_ms"] or 1e9) < 1000,
        "memory within the bound": result["memory"]["peak_pss_mib"] <= bound,
        "no connection reached the canary": canary.connections == 0,
    }
    return result


def command_line(args, parser: argparse.ArgumentParser) -> str:
    """The command that reproduces this run: the size, the phases' length and every other option changed."""
    options = [
        f"--{key.replace('_', '-')} {value:g}" if isinstance(value, float) else f"--{key.replace('_', '-')} {value}"
        for key, value in vars(args).items()
        if key in ("triples", "seconds") or (key not in ("out", "work") and value != parser.get_default(key))
    ]
    return ".venv/bin/python -m bench.hostile " + " ".join(options)


def _failures(run: dict) -> str:
    return f"wrk failed: {run['failed']}" if run.get("failed") else f"{run['non2xx']} / {run['socket_errors']}"


def to_markdown(results: dict) -> str:
    s, m = results["settings"], results["machine"]
    runs = [r for r in results["servers"] if "error" not in r]
    lines = [
        f"# Hostile load, {results['data']['asserted_triples']} asserted triples",
        "",
        f"{results['started']}. Machine: {m['system']}, {m['cpus']} CPUs, {m['memory']}. "
        f"{results['data']['quads']} quads. The mix from wrk at {s['connections']} connections, "
        f"{s['seconds']:g} s alone, {s['seconds']:g} s beside the hostile load from 127.0.0.2, {s['seconds']:g} s "
        "alone again (the ratio: under attack ÷ the mean of the two runs alone). The hostile load: "
        f"{s['slow']} slow-header connections (a header line every {s['slow_every']:g} s), {s['runaway']} "
        "clients re-sending a cartesian COUNT, one client per memory bomb re-sending it, one sending SERVICE "
        "to a loopback canary (each client at most one request every 0.5 s). /health (Oxigraph server: `/`) "
        f"probed every 150 ms from 127.0.0.1 (a timeout counts {s['health_timeout']:g} s). Time limit "
        f"{s['query_timeout']} s on both servers; kg serve {s['workers']} workers of {s['threads']} threads, "
        f"max_query_memory {s['max_query_memory']} MiB. Memory: PSS of the server's process tree (sampled "
        "every 0.5 s); bound: twice the idle size plus max_query_memory per worker (kg serve).",
        "",
        "| server | mix req/s undisturbed (before, after) | under attack | ratio "
        "| mix non-2xx / socket errors under attack "
        "| /health p50 (ms) | /health p99 (ms) | idle PSS (MiB) | peak PSS under attack (MiB) | bound (MiB) "
        "| peak RSS (MiB) | canary connections |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in results["servers"]:
        if "error" in r:
            lines.append(f"| {r['server']} | failed: {r['error'][:300]} |" + " |" * 10)
            continue
        mix, health, memory = r["mix"], r["health"]["under attack"], r["memory"]
        after = mix.get("undisturbed_after", {}).get("rps")
        lines.append(
            f"| {r['description']} | {mix['undisturbed']['rps']}, {after} | {mix['under_attack']['rps']} | "
            f"{mix['ratio']} | {_failures(mix['under_attack'])} | "
            f"{health['p50_ms']} | {health['p99_ms']} | {memory['idle_pss_mib']} | "
            f"{memory['peak_pss_mib']} | {memory['bound_mib']} | {memory['peak_rss_mib']} | "
            f"{r['canary_connections']} |"
        )
        if r["killed_at_memory_cap_mib"]:
            lines.append(
                f"| ↳ {r['description']} was killed by the benchmark at {r['killed_at_memory_cap_mib']} MiB "
                "(--memory-cap) |" + " |" * 11
            )
    kinds = list(dict.fromkeys(k for r in runs for k in r["hostile"]))
    lines += [
        "",
        'Answers to the hostile clients, by status ("client timeout": none within the time limit '
        '+ 30 s; "open at the end": a slow connection the server still held when the run ended; "no answer '
        'when the run ended": a request still waiting then):',
        "",
        "| hostile kind | " + " | ".join(r["description"] for r in runs) + " |",
        "|---|" + "---|" * len(runs),
    ]
    for kind in kinds:
        cells = [", ".join(f"{k}: {v}" for k, v in r["hostile"].get(kind, {}).items()) for r in runs]
        lines.append(f"| {kind} | " + " | ".join(cells) + " |")
    lines.append("| slow-header connections opened | " + " | ".join(str(r["slow_connections"]) for r in runs) + " |")
    lines += [
        "",
        "Targets (issue 23): "
        + "; ".join(
            f"{r['description']}: " + ", ".join(f"{t} {'met' if ok else 'MISSED'}" for t, ok in r["targets"].items())
            for r in runs
        )
        + ".",
        "",
        "Undisturbed, for reference: "
        + "; ".join(
            f"{r['description']} /health p50 {r['health']['undisturbed']['p50_ms']} ms, p99 "
            f"{r['health']['undisturbed']['p99_ms']} ms, mix p99 {r['mix']['undisturbed']['p99_ms']} ms "
            f"(under attack {r['mix']['under_attack']['p99_ms']} ms)"
            for r in runs
        )
        + ".",
        "",
        f"Reproduce: `{results['command']}`",
        "",
    ]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    from kg.config import Settings

    defaults = Settings()
    parser = argparse.ArgumentParser(prog="python -m bench.hostile", description=__doc__.split("\n\n")[0])
    parser.add_argument("--triples", type=int, default=100_000)
    parser.add_argument("--seconds", type=float, default=75, help="seconds of each phase (undisturbed, attacked)")
    parser.add_argument("--servers", default=",".join(SERVERS), help=f"comma-separated, of: {', '.join(SERVERS)}")
    parser.add_argument("--connections", type=int, default=8, help="wrk connections of the mix")
    parser.add_argument("--slow", type=int, default=200, help="slow-header connections")
    parser.add_argument("--slow-every", type=float, default=3, help="seconds between a slow client's header lines")
    parser.add_argument("--runaway", type=int, default=8, help="clients re-sending the runaway query")
    parser.add_argument("--doubling", type=int, default=26, help="steps of the string-doubling bomb")
    parser.add_argument(
        "--query-timeout",
        type=int,
        default=defaults.query_timeout,
        help="time limit of both servers (kg serve's query_timeout, oxigraph --timeout-s)",
    )
    parser.add_argument("--max-query-memory", type=int, default=defaults.max_query_memory, help="kg serve's, MiB")
    parser.add_argument("--workers", type=int, default=defaults.workers)
    parser.add_argument("--threads", type=int, default=defaults.threads)
    parser.add_argument("--idle", type=float, default=3, help="seconds of idle memory sampling")
    parser.add_argument("--warmup", type=float, default=5, help="seconds of mix before the undisturbed run")
    parser.add_argument("--health-timeout", type=float, default=10)
    parser.add_argument(
        "--memory-cap",
        type=float,
        default=12288,
        help="MiB: past it (RSS of the server's tree) the server is killed, to spare the machine",
    )
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "results")
    parser.add_argument("--work", type=Path, default=ROOT / "var" / "bench")
    args = parser.parse_args(argv)
    servers = [name for name in args.servers.split(",") if name]
    if not servers or set(servers) - set(SERVERS):
        parser.error(f"--servers takes some of: {', '.join(SERVERS)}")
    if (
        min(args.seconds, args.slow_every, args.idle, args.warmup, args.health_timeout) <= 0
        or min(args.connections, args.query_timeout, args.max_query_memory, args.workers, args.threads) < 1
        or min(args.slow, args.runaway, args.doubling) < 0
    ):
        parser.error("durations must be positive; connections, limits, workers and threads at least 1")
    progress = lambda message: print(message, file=sys.stderr, flush=True)  # noqa: E731
    started = datetime.datetime.now(datetime.UTC)
    data = prepare_data(args.triples, args.work, progress=progress)
    plan = make_plan(data, seed=1, per_query=200, mix_values=4, max_rows=1000, budget_s=30, progress=progress)
    lists = write_lists(plan, data["folder"], servers)
    logs = data["folder"] / "logs-hostile"
    logs.mkdir(exist_ok=True)
    results = {
        "started": started.isoformat(timespec="seconds"),
        "machine": machine(),
        "versions": versions(),
        "settings": {k: v for k, v in vars(args).items() if k not in ("out", "work")},
        "data": {"quads": data["quads"], "asserted_triples": data["asserted_triples"]},
        "command": command_line(args, parser),
        "servers": [],
    }
    for name in servers:
        try:
            results["servers"].append(measure(name, data, lists[name, "mix"], logs, args, progress))
        except Exception as exc:  # noqa: BLE001 - one server failing must not lose the other's results
            progress(f"{name}: FAILED: {exc}")
            results["servers"].append({"server": name, "description": SERVERS[name], "error": str(exc)[:3000]})
    args.out.mkdir(parents=True, exist_ok=True)
    stem = args.out / f"hostile-{args.triples}"
    stem.with_suffix(".json").write_text(json.dumps(results, indent=1, default=str) + "\n")
    stem.with_suffix(".md").write_text(to_markdown(results))
    print(stem.with_suffix(".md").read_text())
    return 1 if any("error" in r for r in results["servers"]) else 0


if __name__ == "__main__":
    sys.exit(main())
