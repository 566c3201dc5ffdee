"""The HTTP benchmark at a tiny size, so it cannot rot: every server starts on the same data, passes the
check before timing, and answers wrk's requests without an error; the harness writes its tables.
No timing is asserted."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from bench.http import BARE_FRONTS, SERVERS, WORKLOADS, main, to_markdown

ROOT = Path(__file__).resolve().parent.parent
#: The servers the paired and alternating comparisons take: the Oxigraph server and one bare Python front.
PEERS = ("oxigraph-memory", "pyoxigraph-plain")

pytestmark = [
    pytest.mark.slow,  # the HTTP benchmark's harness: every server under wrk
    pytest.mark.skipif(
        shutil.which("wrk") is None,
        reason="the load generator wrk is not installed (Debian package wrk; .ci/run installs it)",
    ),
]


@pytest.fixture(scope="module")
def results(tmp_path_factory):
    # 1 s per wrk run, after each server's check has warmed it: rdflib-endpoint answers a few requests a
    # second here (once, with the machine running the suite twice at once, it answered none in 1 s)
    work, out = tmp_path_factory.mktemp("http-work"), tmp_path_factory.mktemp("http-results")
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "bench.http",
            "--triples",
            "2000",
            "--connections",
            "2",
            "--duration",
            "1",
            "--warmup",  # the warm-up's code path is the timed run's: none here
            "0",
            "--servers",
            ",".join(SERVERS),
            "--paired",
            "12",
            "--rounds",
            "2",
            "--round-requests",
            "30",
            "--peers",  # the comparisons' code is the same for every peer: one peer of each kind
            ",".join(PEERS),
            "--work",
            str(work),
            "--out",
            str(out),
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert done.returncode == 0, done.stderr[-4000:]
    return json.loads((out / "http.json").read_text()), (out / "http.md").read_text(), work


def test_every_server_answered_every_run_without_errors(results):
    data, _, _ = results
    assert set(data["servers"]) == set(SERVERS)
    for name, info in data["servers"].items():
        assert "error" not in info, f"{name}: {info.get('error')}"
        assert info["same_data"]["quads"] == data["data"]["quads"]  # the same graphs everywhere
        check = info["verification"]
        assert check["failed"] == 0 and check["saved"] > 0 and check["adhoc"] > 0, check["problems"]
        assert info["peak_rss_mib"] > 0
    runs = {(r["server"], r["workload"], r["connections"]): r for r in data["runs"]}
    assert set(runs) == {(s, w, 2) for s in SERVERS for w in WORKLOADS}
    for key, run in runs.items():
        assert run["requests"] > 0 and run["rps"] > 0, key
        assert run["non2xx"] == 0 and set(run["statuses"]) == {"200"}, (key, run["statuses"])
        assert not any(run["errors"].values()), (key, run["errors"])
        latency = run["latency_ms"]
        assert 0 < latency["p50"] <= latency["p99"] <= latency["max"], (key, latency)
        assert run["peak_rss_mib"] > 0


def test_the_workloads_are_what_they_claim(results):
    data, _, work = results
    workloads = data["workloads"]
    assert workloads["adhoc"]["distinct_requests"] > 50 and len(workloads["adhoc"]["queries"]) >= 8
    assert 0.15 < workloads["mix"]["adhoc_share"] < 0.25 and workloads["mix"]["distinct_saved_requests"] > 10
    requests = work / "http-2000" / "requests"
    kg_mix = (requests / "kg-mix.txt").read_text().splitlines()
    peer_mix = (requests / "oxigraph-disk-mix.txt").read_text().splitlines()
    assert len(kg_mix) == len(peer_mix) == workloads["mix"]["list_length"]
    # saved queries go through kg serve's API, and to a peer as SPARQL
    for line in kg_mix:
        kind, method, target, _ = line.split("\t")
        expected_method, expected_path = ("GET", "/queries/") if kind == "s" else ("POST", "/sparql")
        assert method == expected_method and target.startswith(expected_path), line[:200]
    assert all(line.split("\t")[1:3] == ["POST", "/query"] for line in peer_mix)
    adhoc = (requests / "kg-adhoc.txt").read_text().splitlines()
    assert len(set(adhoc)) == len(adhoc) and all(line.startswith("a\tPOST\t/sparql\tquery=") for line in adhoc)
    # shuffled, so that any stretch of the list wrk gets through holds the same kinds of queries: in turns
    # (each query once, then again while its values last) the heavy queries with few values came first
    plan = json.loads((requests / "plan.json").read_text())
    order = [(r["query"], json.dumps(r["values"], sort_keys=True)) for r in plan["adhoc"]]
    per_query: dict[str, list] = {}
    for query, values in order:
        per_query.setdefault(query, []).append(values)
    turns = [
        (query, values[turn])
        for turn in range(max(map(len, per_query.values())))
        for query, values in sorted(per_query.items())
        if turn < len(values)
    ]
    assert sorted(order) == sorted(turns) and order != turns


def test_the_tables_name_every_server_and_the_ratios(results):
    data, markdown, _ = results
    assert markdown == to_markdown(data)
    for name in SERVERS:
        assert f"| {name} | adhoc | 2 |" in markdown and f"| {name} | mix | 2 |" in markdown
    peers = {r["peer"] for r in data["ratios"]}
    assert peers == set(SERVERS) - {"kg"} and all(r["rps"] > 0 for r in data["ratios"])
    assert data["machine"]["cpus"] and data["versions"]["wrk"] and data["versions"]["rdflib-endpoint"]


def by_peer(entries: list[dict], server: str = "kg") -> dict[str, dict]:
    """A head-to-head comparison's entries of ``server`` by peer, each peer there once and without an error."""
    found = {r["peer"]: r for r in entries if r.get("server", "kg") == server}
    assert len(found) == len([r for r in entries if r.get("server", "kg") == server])
    assert set(found) == (set(PEERS) if server == "kg" else {"oxigraph-memory"})
    for peer, r in found.items():
        assert "error" not in r, f"{peer}: {r.get('error')}"
    return found


def test_the_paired_comparison_sends_the_same_requests_to_both(results):
    data, markdown, _ = results
    for peer, r in by_peer(data["paired"]).items():
        assert r["requests"] == 12 and r["kg_s"] > 0 and r["peer_s"] > 0
        assert sum(b["requests"] for b in r["buckets"]) == 12  # every request in one bucket by the peer's time
        assert abs(sum(b["peer_s"] for b in r["buckets"]) - r["peer_s"]) < 0.01
        assert f"| {peer} | 12 | {r['kg_s']} | {r['peer_s']} | {r['ratio']} |" in markdown


@pytest.mark.parametrize("ours", ["kg", *(front for front in BARE_FRONTS if front in PEERS)])
def test_the_alternating_rounds_send_the_whole_list_to_both_in_turn(results, ours):
    """kg serve against every peer, and each bare Python front against the Oxigraph server."""
    data, markdown, _ = results
    for peer, r in by_peer(data["alternating"], ours).items():
        assert r["requests"] == 30 and r["connections"] == 2
        assert len(r["rounds"]) == 2
        for measured in r["rounds"]:
            assert set(measured) == {ours, peer, "ratio"}
            for server in (ours, peer):
                assert measured[server]["rps"] > 0 and measured[server]["p99_ms"] > 0
                assert measured[server]["server_cpu_ms_per_request"] >= 0
            assert measured["ratio"] == round(measured[ours]["rps"] / measured[peer]["rps"], 3)
        label = peer if ours == "kg" else f"{peer} (against {ours})"
        assert f"| {label} | 2 | {r['requests']} | {', '.join(str(m[ours]['rps']) for m in r['rounds'])} | " in markdown
        assert f"| {r['median_ratio']} | {r['p99_ratio']} |" in markdown


@pytest.mark.parametrize(
    "argv, message",
    [
        (["--paired", "-1"], "--paired needs a number"),
        (["--rounds", "-2"], "--rounds needs a number"),
        (["--round-requests", "-1"], "--round-requests needs a number"),
        (["--connections", "0"], "--connections needs positive numbers"),
        (["--servers", "kg,nginx"], "unknown servers: nginx"),
        (["--servers", "kg,oxigraph-memory", "--peers", "rdflib-endpoint"], "--peers not among --servers"),
    ],
)
def test_bad_options_are_refused_before_anything_runs(argv, message, capsys):
    with pytest.raises(SystemExit) as exit_:
        main(argv)
    assert exit_.value.code == 2 and message in capsys.readouterr().err
