"""The hostile-load script at a tiny size, so it cannot rot: both servers run the mix alone and beside the
hostile clients, and the table gets sane fields. No timing is asserted."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from bench.hostile import percentile
from bench.hostile_load import bombs, service_queries

ROOT = Path(__file__).resolve().parent.parent


def test_the_bombs_and_service_spellings_are_what_the_issue_names():
    queries = bombs()
    assert "BIND(CONCAT(?a25,?a25) AS ?a26)" in queries["string doubling (26 steps)"]
    assert "VALUES ?i { 1 2 3" in queries["100 rows of 1.3 MB"] and "?a16" in queries["100 rows of 1.3 MB"]
    assert queries["ORDER BY cartesian"] == "SELECT ?a WHERE { ?a ?b ?c . ?d ?e ?f } ORDER BY ?f ?c LIMIT 1"
    assert all("http://127.0.0.1:9" in q for q in service_queries("http://127.0.0.1:9"))


def test_percentile_is_nearest_rank():
    assert percentile([], 0.5) is None
    assert percentile([3.0, 1.0, 2.0], 0.5) == 2.0
    assert percentile([float(i) for i in range(1, 101)], 0.99) == 99.0


@pytest.mark.slow
@pytest.mark.skipif(
    shutil.which("wrk") is None or shutil.which("oxigraph", path=str(Path(sys.executable).parent)) is None,
    reason="needs wrk (Debian package wrk) and the Oxigraph server (PyPI oxigraph)",
)
def test_a_short_hostile_run_writes_the_table_for_both_servers(tmp_path):
    work, out = tmp_path / "work", tmp_path / "out"
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "bench.hostile",
            "--triples",
            "2000",
            "--seconds",
            "1",
            "--warmup",
            "0.5",
            "--idle",  # memory is sampled once a second
            "1",
            "--slow",
            "10",
            "--slow-every",
            "1",
            "--runaway",
            "2",
            "--doubling",
            "20",
            "--query-timeout",
            "1",
            "--max-query-memory",
            "256",
            "--connections",
            "2",
            "--work",
            str(work),
            "--out",
            str(out),
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert done.returncode == 0, done.stderr[-4000:]
    results = json.loads((out / "hostile-2000.json").read_text())
    assert [r["server"] for r in results["servers"]] == ["kg", "oxigraph-memory"]
    for run in results["servers"]:
        assert run["mix"]["undisturbed"]["rps"] > 0 and run["mix"]["ratio"] is not None
        assert run["health"]["undisturbed"]["probes"] > 0 and run["health"]["undisturbed"]["p99_ms"] > 0
        assert "probes" in run["health"]["under attack"]  # a probe that began in the ramp may outlast 1 s
        assert run["memory"]["idle_pss_mib"] > 0 and run["memory"]["peak_pss_mib"] > 0
        assert run["slow_connections"] >= 10 and "slow headers" in run["hostile"]
        assert sum(run["hostile"]["runaway COUNT"].values()) >= 1
        assert set(run["targets"]) == {
            "mix at least 80 % of undisturbed",
            "/health p99 under 1 s",
            "memory within the bound",
            "no connection reached the canary",
        }
    kg = results["servers"][0]
    assert kg["canary_connections"] == 0 and "SERVICE to the canary" in kg["hostile"]
    table = (out / "hostile-2000.md").read_text()
    assert "| kg serve |" in table and "| Oxigraph server (in memory) |" in table
    assert "bench.hostile --triples 2000 --seconds 1" in table


def test_bad_arguments_are_refused_before_anything_runs(tmp_path, capsys):
    from bench.hostile import main

    with pytest.raises(SystemExit) as refused:
        main(["--seconds", "0", "--work", str(tmp_path / "work"), "--out", str(tmp_path / "out")])
    assert refused.value.code == 2 and "must be positive" in capsys.readouterr().err
    assert not (tmp_path / "work").exists()
