"""The benchmark harness at a tiny size, so it cannot rot: every cheap stage measures, the suite writes its
tables. No timing is asserted; only that each stage ran on the right data and reported it."""

from __future__ import annotations

import json

import pytest

from bench.generate import generate
from bench.run import STAGES, main, measure, run_suite, to_markdown


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    seeds = tmp_path_factory.mktemp("bench-seeds")
    work = tmp_path_factory.mktemp("bench-work")
    generate(seeds, 2000)
    measure("prepare", seeds, work)
    return seeds, work


@pytest.mark.slow
@pytest.mark.parametrize(
    "stage", ["map", "load", "load-rdflib", "export", "export-rdflib", "queries", "queries-rdflib"]
)
def test_each_cheap_stage_measures_the_prepared_data(tiny, stage):
    seeds, work = tiny
    result = measure(stage, seeds, work)
    assert result["seconds"] >= 0 and result["peak_mib"] > 0 and result["triples"] > 1000
    if stage in ("map", "load", "load-rdflib"):
        assert result["output"] == result["triples"]  # every triple mapped or loaded
    if stage.startswith("queries"):
        assert len(result["latencies"]) >= 20  # every saved query ran


@pytest.mark.slow
def test_the_suite_writes_json_and_markdown_with_ratios(tiny, tmp_path):
    seeds, work = tiny
    results = run_suite([2000], repeat=1, out=tmp_path, stages=["load", "load-rdflib"], work=seeds.parent)
    written = json.loads((tmp_path / "results.json").read_text())
    assert written == results and written["versions"]["pyoxigraph"] and written["machine"]["cpus"]
    stages = written["sizes"]["2000"]["stages"]
    assert set(stages) == {"load", "load-rdflib"} and stages["load"]["output"] == stages["load-rdflib"]["output"]
    table = (tmp_path / "results.md").read_text()
    assert "rdflib N-Triples parser" in table and table == to_markdown(results)
    assert all(peer in STAGES for _, peers in STAGES.values() for peer in peers)


@pytest.mark.slow
def test_the_reasoning_stages_report_whether_the_engines_agree(tiny, tmp_path):
    seeds, _ = tiny
    results = run_suite([2000], repeat=1, out=tmp_path, stages=["reason", "reason-owlrl"], work=seeds.parent)
    stages = results["sizes"]["2000"]["stages"]
    assert stages["reason"]["output"] > 100 and stages["reason"]["digest"] == stages["reason-owlrl"]["digest"]
    assert "| yes |" in (tmp_path / "results.md").read_text()


@pytest.mark.slow
def test_validation_reads_the_prepared_files_as_the_build_hands_them_over(tiny):
    from bench.run import ASSERTED, CHECKED, CONTENT, PROVENANCE

    seeds, work = tiny
    lines = {name: (work / name).read_bytes().count(b"\n") for name in (ASSERTED, CHECKED, PROVENANCE, CONTENT)}
    assert lines[PROVENANCE] >= 4 * lines[ASSERTED] and lines[CONTENT] == lines[ASSERTED] + lines[CHECKED] > 0
    ours = measure("validate", seeds, work)
    assert ours["output"] > 0  # the synthetic data draws warnings (unnamed places, unmatched codes)
    assert measure("validate-pyshacl", seeds, work)["output"] == 1  # and pyshacl finds it conforms too


@pytest.mark.slow
def test_the_build_stage_builds_and_publishes(tiny):
    seeds, work = tiny
    result = measure("build", seeds, work)
    assert result["output"] > result["triples"]  # asserted plus inferred, provenance, ontology and shapes
    assert (work / "store" / "current").exists()


@pytest.mark.parametrize("limits", ["reason", "reason=many", "pellet=1000"])
def test_a_malformed_max_size_is_refused_before_anything_runs(limits, capsys):
    with pytest.raises(SystemExit) as refused:
        main(["--sizes", "2000", "--max-size", limits])
    assert refused.value.code == 2 and "--max-size" in capsys.readouterr().err
