"""The search benchmark at a tiny size, so it cannot rot: both servers answer every search, kg's answers
hold the entity each search was drawn from, and the tables are written. No timing is asserted."""

from __future__ import annotations

import json
import shutil

import pytest
from helpers import run_bench

pytestmark = [
    pytest.mark.slow,  # kg serve and the Oxigraph server under wrk
    pytest.mark.skipif(
        shutil.which("wrk") is None,
        reason="the load generator wrk is not installed (Debian package wrk; .ci/run installs it)",
    ),
]


def test_a_tiny_search_benchmark_checks_both_servers_and_writes_its_tables(tmp_path):
    work, out = tmp_path / "work", tmp_path / "out"
    run_bench(
        "bench.search", "--triples", "2000", "--connections", "2", "--duration", "1",
        "--warmup", "0", "--searches", "20", "--build-runs", "0", "--index-runs", "1",
        "--engine-searches", "5", "--work", str(work), "--out", str(out),
    )  # fmt: skip
    results = json.loads((out / "search-2000.json").read_text())
    assert results["check"] == {"searches": 20, "kg_found_the_entity": 20, "kg_ranked_it_past_the_first_page": 0}
    assert set(results["runs"]) == {"kg", "oxigraph-first", "oxigraph-ranked", "oxigraph-regex"}
    for name, run in results["runs"].items():
        assert run["requests"] > 0 and run["non2xx"] == 0 and sum(run["errors"].values()) == 0, name
    assert results["engine"]["searches"] == 5 and set(results["engine"]["median_ms"]) == {
        "index",
        "scan-first",
        "scan-ranked",
        "scan-regex",
    }
    assert results["cost"]["index_s"] and (out / "search-2000.md").read_text().startswith("# Search at")
