"""The soak script at a tiny size, so it cannot rot: the mix runs in segments beside pathological queries,
which are stopped with 503, and hostile requests, which get their 4xx, while the others are answered; memory
is sampled and the tables written.
No timing is asserted."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from bench.soak import slope_mib_per_minute

ROOT = Path(__file__).resolve().parent.parent


def test_the_memory_slope_is_a_least_squares_fit():
    assert slope_mib_per_minute([(0, 100), (60, 110), (120, 120)]) == 10
    assert slope_mib_per_minute([(0, 100), (30, 100)]) == 0
    assert slope_mib_per_minute([(0, 100)]) is None


@pytest.mark.slow
@pytest.mark.skipif(
    shutil.which("wrk") is None,
    reason="the load generator wrk is not installed (Debian package wrk; .ci/run installs it)",
)
def test_a_short_soak_stops_the_pathological_queries_and_answers_the_rest(tmp_path):
    work, out = tmp_path / "work", tmp_path / "out"
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "bench.soak",
            "--triples",
            "2000",
            "--minutes",
            "0.1",
            "--segment",
            "2",
            "--every",
            "3",
            "--query-timeout",
            "2",
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
    results = json.loads((out / "soak.json").read_text())
    assert len(results["segments"]) >= 3
    assert all(s["rps"] > 0 and s["non2xx"] == 0 and s["rss_mib"] > 0 for s in results["segments"])
    answers = results["pathological"]
    assert any(a["kind"] == "pathological" for a in answers) and any(a["kind"] == "hostile" for a in answers)
    assert all(a["status"] == a["expected"] for a in answers), answers
    assert results["memory"]["peak_mib"] >= results["memory"]["last_mib"] > 0
    assert "| segment |" in (out / "soak.md").read_text()


@pytest.mark.parametrize("arguments", [["--minutes", "0"], ["--connections", "0"], ["--every", "-5"]])
def test_bad_soak_arguments_are_refused_before_anything_runs(arguments, tmp_path, capsys):
    from bench.soak import main

    with pytest.raises(SystemExit) as refused:
        main([*arguments, "--work", str(tmp_path / "work"), "--out", str(tmp_path / "out")])
    assert refused.value.code == 2 and "must be positive" in capsys.readouterr().err
    assert not (tmp_path / "work").exists()
