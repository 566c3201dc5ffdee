"""Soak: ``kg serve`` under the realistic mix for minutes, with pathological queries among it.

    .venv/bin/python -m bench.soak --triples 100000 --minutes 5 --connections 8 --out bench/results

The data and the request lists are bench.http's (``var/bench/http-<size>/``). wrk drives the mix workload
in consecutive segments of ``--segment`` seconds for ``--minutes``; beside it, every ``--every`` seconds one
pathological query (a cartesian COUNT, an unbounded property path) goes to the SPARQL endpoint, which must
answer 503 within its time limit (``--query-timeout``) while the mix goes on, and with it each hostile
request of ``HOSTILE`` (SERVICE, deep nesting, a billion laughs, an oversized body...), which must get its
expected status. The server's resident memory
(the whole process tree) is sampled every second. ``soak.json`` and ``soak.md`` get requests per second,
p50/p99 latency, errors and memory per segment, the pathological queries' answers, and the growth of
memory from the second segment to the last (the first holds the warm-up: caches filling, copies loading).
Nothing here asserts a time.
"""

from __future__ import annotations

import argparse
import datetime
import http.client
import json
import statistics
import sys
import threading
import time
import urllib.parse
from pathlib import Path

from bench.http import ROOT, MemorySampler, make_plan, prepare_data, run_wrk, running, versions, write_lists
from bench.run import machine

PATHOLOGICAL = {
    "cartesian COUNT": "SELECT (COUNT(*) AS ?n) WHERE { ?a ?b ?c . ?d ?e ?f . ?g ?h ?i }",
    "unbounded property path": "SELECT (COUNT(*) AS ?n) WHERE { ?a (<urn:x:p>|!<urn:x:p>)* ?b }",
}
_LAUGHS = "".join(['<!ENTITY l0 "lol">'] + [f'<!ENTITY l{i} "{f"&l{i - 1};" * 10}">' for i in range(1, 10)])
_SPARQL_BODY = {"Content-Type": "application/sparql-query", "Accept": "application/sparql-results+json"}
#: Hostile requests sent beside each pathological query: (name, method, path, body, headers, expected status)
HOSTILE = [
    (
        "SERVICE to loopback",
        "GET",
        "/sparql?"
        + urllib.parse.urlencode({"query": "SELECT * WHERE { SERVICE <http://127.0.0.1:9/sparql> { ?s ?p ?o } }"}),
        None,
        {},
        403,
    ),
    ("deep nesting", "POST", "/sparql", ("SELECT * WHERE " + "{" * 500 + "}" * 500).encode(), _SPARQL_BODY, 400),
    ("10,000 negations", "POST", "/sparql", ("ASK { FILTER(" + "!" * 10_000 + "true) }").encode(), _SPARQL_BODY, 200),
    (
        "billion laughs",
        "POST",
        "/validate",
        (
            f'<?xml version="1.0"?><!DOCTYPE r [{_LAUGHS}]><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">'
            '<rdf:Description rdf:about="urn:x"><rdf:value>&l9;</rdf:value></rdf:Description></rdf:RDF>'
        ).encode(),
        {"Content-Type": "application/rdf+xml"},
        400,
    ),
    ("body over the limit", "POST", "/sparql", b"#" * (1_048_576 + 1), _SPARQL_BODY, 413),
    ("invalid UTF-8", "GET", "/sparql?query=ASK%20%7B%20%22%FF%22%20%7D", None, {}, 400),
]


#: The address the pathological and hostile requests come from (the mix comes from 127.0.0.1).
HOSTILE_SOURCE = "127.0.0.2"


class Pathological(threading.Thread):
    """Every ``every`` seconds until stopped, sends the next pathological query and each hostile request;
    records each answer beside the status it should have."""

    def __init__(self, base: str, every: float, timeout_s: float):
        super().__init__(daemon=True)
        self.base, self.every, self.timeout_s = base, every, timeout_s
        self.answers: list[dict] = []
        self._stop_event = threading.Event()

    def run(self) -> None:
        names = list(PATHOLOGICAL)
        sent = 0
        while not self._stop_event.wait(self.every):
            name = names[sent % len(names)]
            sent += 1
            path = "/sparql?" + urllib.parse.urlencode({"query": PATHOLOGICAL[name]})
            self._send("pathological", name, "GET", path, None, {"Accept": "application/sparql-results+json"}, 503)
            for hostile in HOSTILE:
                self._send("hostile", *hostile)

    def _send(
        self, kind: str, name: str, method: str, path: str, body: bytes | None, headers: dict, expected: int
    ) -> None:
        started = time.monotonic()
        # from another loopback address: another client, as it would be (kg serve refuses a client whose
        # query ran away for a while, and the mix's client is not that one)
        parts = urllib.parse.urlsplit(self.base)
        connection = http.client.HTTPConnection(
            parts.hostname, parts.port, timeout=self.timeout_s + 60, source_address=(HOSTILE_SOURCE, 0)
        )
        try:
            connection.request(method, path, body=body, headers=headers)
            response = connection.getresponse()
            response.read()
            status = response.status
        except OSError as exc:
            status = f"error: {exc}"
        finally:
            connection.close()
        self.answers.append(
            {
                "kind": kind,
                "query": name,
                "status": status,
                "expected": expected,
                "seconds": round(time.monotonic() - started, 2),
            }
        )

    def stop(self) -> None:
        self._stop_event.set()
        self.join(timeout=self.timeout_s + 70)


def slope_mib_per_minute(points: list[tuple[float, float]]) -> float | None:
    """Least-squares slope of (seconds, MiB) points, in MiB per minute."""
    if len(points) < 2:
        return None
    xs, ys = [x for x, _ in points], [y for _, y in points]
    mean_x, mean_y = statistics.fmean(xs), statistics.fmean(ys)
    spread = sum((x - mean_x) ** 2 for x in xs)
    if not spread:
        return None
    return round(60 * sum((x - mean_x) * (y - mean_y) for x, y in points) / spread, 2)


def soak(
    *,
    triples: int,
    minutes: float,
    connections: int,
    segment: float,
    every: float,
    query_timeout: int,
    workers: int,
    threads: int,
    out: Path,
    work: Path,
    progress=print,
) -> dict:
    started_at = datetime.datetime.now(datetime.UTC)
    data = prepare_data(triples, work, progress=progress)
    plan = make_plan(data, seed=1, per_query=200, mix_values=4, max_rows=1000, budget_s=30, progress=progress)
    lists = write_lists(plan, data["folder"], ["kg"])
    logs = data["folder"] / "logs"
    logs.mkdir(exist_ok=True)
    segments: list[dict] = []
    # runaway_penalty 0: every pathological query runs to its limit and retires a worker, which is what the
    # soak follows (bench/hostile.py measures the server as configured, penalty and all)
    settings = {"KG_QUERY_TIMEOUT": str(query_timeout), "KG_RUNAWAY_PENALTY": "0"}
    with running(
        "kg", data, logs, workers=workers, threads=threads, settings=settings, start_timeout=120 + data["quads"] / 1500
    ) as server:
        sampler = MemorySampler(server.process.pid, interval=1.0)
        sampler.start()
        pathological = Pathological(server.base, every, query_timeout)
        pathological.start()
        began = time.monotonic()
        deadline = began + minutes * 60
        number = 0
        while time.monotonic() < deadline:  # bounded: each segment takes its duration
            number += 1
            run = run_wrk(
                server.base,
                "mix",
                lists["kg", "mix"],
                f"soak{number}",
                connections=connections,
                duration=max(1, round(min(segment, deadline - time.monotonic()))),
                threads=1,
                timeout_s=30,
                log=logs / "soak-wrk.log",
            )
            at = time.monotonic() - began
            rss = sampler.samples[-1][1] / 1024 if sampler.samples else 0.0
            segments.append(
                {
                    "segment": number,
                    "ended_s": round(at, 1),
                    "rps": run["rps"],
                    "p50_ms": run["latency_ms"]["p50"],
                    "p99_ms": run["latency_ms"]["p99"],
                    "non2xx": run["non2xx"],
                    "errors": sum(run["errors"].values()),
                    "statuses": run["statuses"],
                    "rss_mib": round(rss, 1),
                }
            )
            progress(
                f"segment {number}: {run['rps']} req/s, p99 {run['latency_ms']['p99']} ms, "
                f"{run['non2xx']} non-2xx, {sum(run['errors'].values())} errors, {rss:.0f} MiB"
            )
        pathological.stop()
        sampler.stop()
    after_warmup = [(s["ended_s"], s["rss_mib"]) for s in segments[1:]]
    # every sample after the first segment, in two halves: worker replacements make a sawtooth that a
    # slope through a few points misreads, while a growing server shows in the medians
    warm = began + (segments[0]["ended_s"] if segments else 0)
    later = [kib / 1024 for at, kib in sampler.samples if at >= warm]
    halves = (later[: len(later) // 2], later[len(later) // 2 :])
    results = {
        "started": started_at.isoformat(timespec="seconds"),
        "machine": machine(),
        "versions": versions(),
        "settings": {
            "triples": triples,
            "minutes": minutes,
            "connections": connections,
            "segment_s": segment,
            "pathological_every_s": every,
            "query_timeout_s": query_timeout,
            "workers": workers,
            "threads": threads,
        },
        "data": {"quads": data["quads"], "asserted_triples": data["asserted_triples"]},
        "segments": segments,
        "pathological": pathological.answers,
        "memory": {
            "after_first_segment_mib": after_warmup[0][1] if after_warmup else None,
            "last_mib": segments[-1]["rss_mib"] if segments else None,
            "peak_mib": sampler.peak_mib(),
            "slope_after_first_segment_mib_per_min": slope_mib_per_minute(after_warmup),
            "median_first_half_mib": round(statistics.median(halves[0]), 1) if halves[0] else None,
            "median_second_half_mib": round(statistics.median(halves[1]), 1) if halves[1] else None,
        },
    }
    out.mkdir(parents=True, exist_ok=True)
    (out / "soak.json").write_text(json.dumps(results, indent=1) + "\n")
    (out / "soak.md").write_text(to_markdown(results))
    return results


def to_markdown(results: dict) -> str:
    settings, memory = results["settings"], results["memory"]
    pathological = [a for a in results["pathological"] if a.get("kind", "pathological") == "pathological"]
    hostile = [a for a in results["pathological"] if a.get("kind") == "hostile"]
    stopped = sum(1 for a in pathological if a["status"] == 503)
    as_expected = sum(1 for a in hostile if a["status"] == a["expected"])
    by_kind: dict[tuple[str, int], list] = {}
    for answer in hostile:
        by_kind.setdefault((answer["query"], answer["expected"]), []).append(answer["status"])
    lines = [
        "# Soak",
        "",
        f"{results['started']}. Machine: {results['machine']['system']}, {results['machine']['cpus']} CPUs, "
        f"{results['machine']['memory']}. `kg serve` ({settings['workers']} workers of "
        f"{settings['threads']} threads) over {results['data']['quads']} quads "
        f"({results['data']['asserted_triples']} asserted triples), the mix workload from wrk at "
        f"{settings['connections']} connections for {settings['minutes']:g} minutes in segments of "
        f"{settings['segment_s']:g} s; a pathological query every {settings['pathological_every_s']:g} s "
        f"(query_timeout {settings['query_timeout_s']} s).",
        "",
        "| segment | ended at (s) | req/s | p50 (ms) | p99 (ms) | non-2xx | socket errors | RSS (MiB) |",
        "|---|---|---|---|---|---|---|---|",
    ]
    lines += [
        f"| {s['segment']} | {s['ended_s']} | {s['rps']} | {s['p50_ms']} | {s['p99_ms']} | {s['non2xx']} | "
        f"{s['errors']} | {s['rss_mib']} |"
        for s in results["segments"]
    ]
    lines += [
        "",
        f"Memory: {memory['after_first_segment_mib']} MiB after the first segment, {memory['last_mib']} MiB "
        f"at the end, peak {memory['peak_mib']} MiB; slope after the first segment "
        f"{memory['slope_after_first_segment_mib_per_min']} MiB per minute; median of the samples after "
        f"the first segment: {memory['median_first_half_mib']} MiB in the first half, "
        f"{memory['median_second_half_mib']} MiB in the second.",
        "",
        f"Pathological queries: {len(pathological)} sent, {stopped} answered 503 (stopped at the time limit); "
        + "; ".join(f"{a['query']}: {a['status']} in {a['seconds']} s" for a in pathological[:6])
        + (" ..." if len(pathological) > 6 else "")
        + ".",
        "",
        f"Hostile requests: {len(hostile)} sent, {as_expected} answered as expected; by kind: "
        + "; ".join(
            f"{name} ({expected}): {', '.join(sorted(set(str(s) for s in statuses)))}"
            for (name, expected), statuses in by_kind.items()
        )
        + ".",
        "",
    ]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.soak", description=__doc__.split("\n\n")[0])
    parser.add_argument("--triples", type=int, default=100_000)
    parser.add_argument("--minutes", type=float, default=5)
    parser.add_argument("--connections", type=int, default=8)
    parser.add_argument("--segment", type=float, default=20, help="seconds per wrk run")
    parser.add_argument("--every", type=float, default=30, help="seconds between pathological queries")
    parser.add_argument("--query-timeout", type=int, default=5)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--threads", type=int, default=4)
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "results")
    parser.add_argument("--work", type=Path, default=ROOT / "var" / "bench")
    args = parser.parse_args(argv)
    if (
        args.minutes <= 0
        or args.segment <= 0
        or args.every <= 0
        or min(args.connections, args.workers, args.threads, args.query_timeout) < 1
    ):
        parser.error("durations must be positive; connections, workers, threads and query timeout at least 1")
    results = soak(
        triples=args.triples,
        minutes=args.minutes,
        connections=args.connections,
        segment=args.segment,
        every=args.every,
        query_timeout=args.query_timeout,
        workers=args.workers,
        threads=args.threads,
        out=args.out,
        work=args.work,
        progress=lambda m: print(m, file=sys.stderr, flush=True),
    )
    print((args.out / "soak.md").read_text())
    failed = [a for a in results["pathological"] if a["status"] != a["expected"]]
    for answer in failed:
        print(f"unexpected answer: {answer}", file=sys.stderr)
    return 1 if failed or any(s["non2xx"] for s in results["segments"]) else 0


if __name__ == "__main__":
    sys.exit(main())
