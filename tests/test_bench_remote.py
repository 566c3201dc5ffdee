"""The remote-store benchmark at a tiny size, so it cannot rot: kg serve on the embedded store, on Virtuoso and
on the Oxigraph server (both filled by kg push) answer every request, the rows are compared, and the tables
are written. No timing is asserted."""

from __future__ import annotations

import json

import pytest
from helpers import run_bench
from virtuoso_server import MISSING, VIRTUOSO

pytestmark = pytest.mark.slow  # three kg serve, Virtuoso and the Oxigraph server


def test_a_tiny_remote_benchmark_checks_every_store_and_writes_its_tables(tmp_path):
    if VIRTUOSO is None:
        pytest.fail(MISSING)
    work, out = tmp_path / "work", tmp_path / "out"
    run_bench(
        "bench.remote", "--triples", "2000", "--repeat", "1", "--values", "1",
        "--queries", "subregions,search_by_name,changed_since", "--workers", "1", "--virtuoso-buffers", "2000",
        "--work", str(work), "--out", str(out),
    )  # fmt: skip
    results = json.loads((out / "remote-2000.json").read_text())
    assert results["check"]["failed"] == {"embedded": 0, "virtuoso": 0, "oxigraph": 0}
    # both remote stores answer as the embedded store (the saved queries are written so: docs/OPERATIONS.md)
    assert results["check"]["rows_differ"]["oxigraph"] == {}
    assert results["check"]["rows_differ"]["virtuoso"] == {}
    assert set(results["per_query"]) == {"subregions", "search_by_name", "changed_since"}
    for entry in results["per_query"].values():
        assert all(entry["median_ms"].values()) and all(entry["ratio_to_embedded"].values())
    assert results["loaded"]["virtuoso"]["push_s"] > 0 and results["loaded"]["oxigraph"]["push_s"] > 0
    assert results["footprint"][0]["worker_rss_mib"] and results["limits"]["workers"] == 1
    assert (out / "remote-2000.md").read_text().startswith("# Saved queries through kg serve")
