"""The kg command: exit codes, summaries and readable errors, run as a real process."""

from __future__ import annotations

import os
import subprocess
import sys

from conftest import ROOT


def kg(*args, env=None, cwd=ROOT):
    return subprocess.run([sys.executable, "-c", "from kg.cli import run; run()", *args], capture_output=True,
                          text=True, env={**os.environ, **(env or {})}, cwd=cwd, timeout=300)


def test_build_prints_a_summary_and_publishes(tmp_path):
    result = kg("--store-dir", str(tmp_path / "store"), "build")
    assert result.returncode == 0, result.stderr
    assert "triples per graph:" in result.stdout and "instances per class" in result.stdout
    assert "mapped parks.csv" in result.stderr  # progress goes to stderr
    info = kg("--store-dir", str(tmp_path / "store"), "info")
    assert info.returncode == 0 and "/graph/asserted" in info.stdout


def test_missing_store_and_unknown_graph_are_usage_errors(tmp_path):
    result = kg("--store-dir", str(tmp_path / "nothing"), "export")
    assert result.returncode == 2 and "run 'kg build' first" in result.stderr
    kg("--store-dir", str(tmp_path / "store"), "build")
    result = kg("--store-dir", str(tmp_path / "store"), "export", "--graph", "nonsense")
    assert result.returncode == 2 and "no graph 'nonsense'" in result.stderr
    result = kg("--store-dir", str(tmp_path / "store"), "export", "--format", "rdfxml")
    assert result.returncode == 2


def test_broken_seed_gives_exit_2_naming_file_line_and_column(tmp_path):
    import shutil

    for folder in ("seeds", "mappings", "ontology"):
        shutil.copytree(ROOT / folder, tmp_path / folder)
    shutil.copy(ROOT / "pyproject.toml", tmp_path)
    with (tmp_path / "seeds" / "people.csv").open("a", encoding="utf-8") as handle:
        handle.write("person/x,X,000_e6f6fc23eec8e3c6.txt,not-a-number,\n")
    result = kg("build", cwd=tmp_path)
    assert result.returncode == 2
    assert "people.csv, line" in result.stderr and "column paragraph" in result.stderr
    assert "Traceback" not in result.stderr
