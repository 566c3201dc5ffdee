"""The benchmark suite: our build stages and queries against their peers, on synthetic data at several sizes.

    .venv/bin/python -m bench.run --sizes 10000,100000 --repeat 3 --out bench/results

Every measurement runs in a fresh process (``--one``), so its peak memory (ru_maxrss) is its own and no
cache carries over; the suite reports the median of ``--repeat`` runs. Peers run on the same data in the
same invocation, so the ratios hold on any machine:

- the whole build (``kg.build.pipeline.build_and_publish``: map, reason, validate, load into the on-disk store);
- mapping: our SPARQL-CONSTRUCT mapping engine (no peer on PyPI fits; see DESIGN.md);
- reasoning: ``kg.reasoning.entailments.infer_triples`` (the fast engine) against owlrl (the same function with
  ``engine="owlrl"``, so both give entailments filtered the same way: the results table says whether
  they are identical) and the Rust reasoner ``reasonable`` when it is installed (``.[bench]``);
- validation: ``kg.validation.shacl_check.validate_build`` against pyshacl alone, and pyrudof when it is installed;
- loading: pyoxigraph's bulk loader against rdflib's N-Triples parser;
- saved queries: the embedded store against rdflib's SPARQL engine, p50/p95 per query;
- Turtle export: ``kg.exchange.export.serialize`` against rdflib's serializer.

Results go to ``results.json`` and ``results.md`` with the versions and the machine.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import platform
import resource
import statistics
import subprocess
import sys
import time
from importlib import metadata
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
#: stage -> (what it measures, the peers it is compared with)
STAGES = {
    "build": ("whole build: map, reason, validate, load (kg build)", ()),
    "map": ("SPARQL CONSTRUCT mappings over the seed tables", ()),
    "reason": ("kg.reasoning.entailments.infer_triples (OWL RL, fast engine)", ("reason-owlrl", "reason-reasonable")),
    "reason-owlrl": ("owlrl (infer_triples with engine=owlrl)", ()),
    "reason-reasonable": ("reasonable (Rust OWL RL)", ()),
    "validate": (
        "kg.validation.shacl_check.validate_build (SHACL, both passes)",
        ("validate-pyshacl", "validate-pyrudof"),
    ),
    "validate-pyshacl": ("pyshacl alone, content shapes", ()),
    "validate-pyrudof": ("pyrudof alone, content shapes without SPARQL constraints", ()),
    "load": ("pyoxigraph bulk load of N-Triples", ("load-rdflib",)),
    "load-rdflib": ("rdflib N-Triples parser", ()),
    "export": ("kg.exchange.export.serialize Turtle", ("export-rdflib",)),
    "export-rdflib": ("rdflib Turtle serializer", ()),
    "queries": ("saved queries on the embedded store (per query)", ("queries-rdflib",)),
    "queries-rdflib": ("saved queries on rdflib (per query)", ()),
}
#: Peers that need an optional package (pip install -e '.[bench]'); without it the stage is left out.
OPTIONAL = {"reason-reasonable": "reasonable", "validate-pyrudof": "pyrudof"}
PEERS = {peer for _, peers in STAGES.values() for peer in peers}


# --- one measurement, in its own process ------------------------------------------------------------


def _settings(seeds: Path, work: Path):
    from kg.config import load_settings

    return load_settings({"root": ROOT, "seeds_dir": seeds, "store_dir": work / "store"}, env={})


def _graphs(seeds: Path, work: Path):
    """The asserted triples (as rdflib terms, read from the prepared N-Triples file) and the ontology."""
    from kg.store.rdf_io import text_triples
    from kg.validation.schema_graphs import load_ontology

    settings = _settings(seeds, work)
    return settings, text_triples((work / ASSERTED).read_bytes()), load_ontology(settings)


#: Files ``prepare`` writes for a size, as the build makes them: the asserted graph, the closure that
#: validation checks (without domain and range axioms), the provenance records, and the first two together
#: (the data pyrudof reads), all N-Triples. Stages that read only these leave the rdflib graphs unmade,
#: so their peak memory is their own.
ASSERTED, CHECKED, PROVENANCE, CONTENT = "asserted.nt", "checked.nt", "provenance.nt", "content.nt"
_FROM_FILES = ("load", "load-rdflib", "validate", "validate-pyrudof")


def _prepare(seeds: Path, work: Path) -> None:
    """Write the files of ``ASSERTED`` and the rest afresh (the code that makes them may have changed)."""
    from kg.build.mapping import cited_ntriples, rdflib_cited
    from kg.build.pipeline import map_seeds
    from kg.build.provenance import provenance_ntriples
    from kg.reasoning.entailments import infer_triples
    from kg.store.rdf_io import ntriples_text
    from kg.validation.schema_graphs import load_ontology

    settings = _settings(seeds, work)
    cited = map_seeds(settings, progress=lambda message: None)
    asserted_text = cited_ntriples(cited)
    (work / ASSERTED).write_bytes(asserted_text)
    (work / PROVENANCE).write_bytes(provenance_ntriples(cited, settings.base_iri, str))
    asserted = set(rdflib_cited(cited))
    del cited
    checked = ntriples_text(infer_triples(load_ontology(settings), asserted, domains_and_ranges=False))
    (work / CHECKED).write_bytes(checked)
    (work / CONTENT).write_bytes(asserted_text + checked)


def _digest(triples) -> str:
    """A hash of a set of triples, to tell whether two engines gave the same ones."""
    import hashlib

    return hashlib.sha256(
        "\n".join(sorted(" ".join(t.n3() for t in triple) for triple in triples)).encode()
    ).hexdigest()


def _rdflib_graph(*triple_sets):
    from rdflib import Graph

    graph = Graph()
    for triples in triple_sets:
        for triple in triples:
            graph.add(triple)
    return graph


def _line_count(path: Path) -> int:
    with path.open("rb") as lines:
        return sum(1 for _ in lines)


def measure(stage: str, seeds: Path, work: Path) -> dict:
    """Run ``stage`` once; seconds (wall) of the measured part only, with its output size.

    The loaders, our validation and pyrudof read the prepared N-Triples files and nothing else, so their
    peak memory is their own; the other stages start from the mapped graph (parsed from its file), which
    their peak includes.
    """
    ntriples = work / ASSERTED
    if stage == "prepare":
        _prepare(seeds, work)
        return {"triples": _line_count(ntriples)}
    result: dict = {"triples": _line_count(ntriples)}
    if stage in _FROM_FILES:
        settings = _settings(seeds, work)
    else:
        settings, asserted, ontology = _graphs(seeds, work)
    started = time.perf_counter()
    if stage == "build":
        import shutil

        from kg.build.pipeline import build_and_publish

        shutil.rmtree(work / "store", ignore_errors=True)
        started = time.perf_counter()
        build, _ = build_and_publish(settings, progress=lambda message: None)
        result["output"] = sum(build.graphs.size(name) for name in build.graphs)
    elif stage == "map":
        from kg.build.pipeline import map_seeds

        started = time.perf_counter()
        cited = map_seeds(settings, progress=lambda message: None)
        result["output"] = len(cited)
    elif stage in ("reason", "reason-owlrl"):
        from kg.reasoning.entailments import infer_triples

        started = time.perf_counter()
        inferred = infer_triples(ontology, asserted, engine="fast" if stage == "reason" else "owlrl")
        seconds = time.perf_counter() - started
        result["output"], result["digest"] = len(inferred), _digest(inferred)
        started = time.perf_counter() - seconds  # the digest is not part of the measurement
    elif stage == "reason-reasonable":
        import reasonable

        graph = _rdflib_graph(ontology, asserted)
        started = time.perf_counter()
        reasoner = reasonable.PyReasoner()
        reasoner.from_graph(graph)
        result["output"] = len(reasoner.reason())
    elif stage in ("validate", "validate-pyshacl", "validate-pyrudof"):
        from kg.validation.schema_graphs import load_shape_graphs

        shapes = load_shape_graphs(settings)
        if stage == "validate":
            from kg.validation.shacl_check import validate_build

            # the graphs as the build hands them over (N-Triples text), here from the files prepared
            started = time.perf_counter()
            report = validate_build(
                asserted=ntriples, inferred=work / CHECKED, provenance=work / PROVENANCE, shapes=shapes
            )
            result["output"] = len(report.results)
        elif stage == "validate-pyrudof":
            import pyrudof

            # pyrudof does not resolve sh:prefixes in SPARQL-based constraints ("Prefix not found"): it gets
            # the SHACL Core part of the content shapes
            from rdflib.namespace import SH

            shapes_file = work / "validate-pyrudof-shapes.ttl"
            _rdflib_graph(t for t in shapes.content if t[1] != SH.sparql).serialize(shapes_file, format="turtle")
            started = time.perf_counter()  # pyrudof parses its input itself: that is part of its time
            rudof = pyrudof.Rudof(pyrudof.RudofConfig())
            rudof.read_data(str(work / CONTENT), pyrudof.RDFFormat.NTriples)
            rudof.read_shacl(str(shapes_file), pyrudof.ShaclFormat.Turtle)
            result["output"] = len(rudof.validate_shacl())
        else:
            from pyshacl import validate

            from kg.store.rdf_io import text_triples

            data = _rdflib_graph(asserted, text_triples((work / CHECKED).read_bytes()))
            started = time.perf_counter()
            conforms, report, _ = validate(
                data, shacl_graph=shapes.content, inference="none", advanced=True, allow_warnings=True, allow_infos=True
            )
            result["output"] = int(conforms)
    elif stage == "load":
        import pyoxigraph

        started = time.perf_counter()
        store = pyoxigraph.Store()
        store.bulk_load(path=str(ntriples), format=pyoxigraph.RdfFormat.N_TRIPLES)
        result["output"] = len(store)
    elif stage == "load-rdflib":
        from rdflib import Graph

        started = time.perf_counter()
        result["output"] = len(Graph().parse(ntriples, format="nt"))
    elif stage == "export":
        from kg.exchange.export import serialize

        quads = [(s, p, o, None) for s, p, o in asserted]
        started = time.perf_counter()
        result["output"] = len(serialize(quads, format="turtle", base_iri=settings.base_iri))
    elif stage == "export-rdflib":
        graph = _rdflib_graph(asserted)
        started = time.perf_counter()
        result["output"] = len(graph.serialize(format="turtle", encoding="utf-8"))
    elif stage in ("queries", "queries-rdflib"):
        result["latencies"] = _query_latencies(stage, asserted, settings)
        result["output"] = len(result["latencies"])
    result["seconds"] = time.perf_counter() - started
    result["peak_mib"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return result


def _query_latencies(stage: str, asserted, settings) -> dict[str, float]:
    """Milliseconds per saved query with its defaults (the same final text on both engines)."""
    from kg.serving.saved_queries import load_queries
    from kg.sparql_text import where_brace
    from kg.store.embedded import EmbeddedStore
    from kg.store.in_memory import join_values
    from kg.store.versions import publish

    queries = load_queries(settings.path("queries_dir"))
    texts = {}
    for query in queries.values():
        bindings = query.bindings({})
        texts[query.id] = (
            join_values(query.text, where_brace(query.text), list(bindings), [bindings]) if bindings else query.text
        )
    latencies = {}
    if stage == "queries":
        store_dir = settings.path("store_dir")
        publish([(s, p, o, settings.base_iri + "graph/asserted") for s, p, o in asserted], store_dir, keep_versions=1)
        store = EmbeddedStore(store_dir)
        for query_id, text in texts.items():
            started = time.perf_counter()
            store.execute(text, result_format="json")
            latencies[query_id] = (time.perf_counter() - started) * 1000
    else:
        from rdflib import Dataset, URIRef

        dataset = Dataset(default_union=True)  # the same dataset: one named graph, the default its union
        graph = dataset.graph(URIRef(settings.base_iri + "graph/asserted"))
        for triple in asserted:
            graph.add(triple)
        for query_id, text in texts.items():
            started = time.perf_counter()
            list(dataset.query(text))
            latencies[query_id] = (time.perf_counter() - started) * 1000
    return latencies


# --- the suite -----------------------------------------------------------------------------------------


def _versions() -> dict:
    names = ["rdflib", "pyoxigraph", "pyshacl", "owlrl", "flask", "gunicorn", "reasonable", "pyrudof"]
    versions = {}
    for name in names:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = None
    return {"python": platform.python_version(), **versions}


def machine() -> dict:
    """The machine a benchmark ran on (also used by bench.http)."""
    memory = None
    if Path("/proc/meminfo").exists():
        line = Path("/proc/meminfo").read_text().splitlines()[0]
        memory = f"{int(line.split()[1]) / 1024 / 1024:.1f} GiB"
    return {
        "system": platform.platform(),
        "cpus": os.cpu_count(),
        "memory": memory,
        "processor": platform.processor() or platform.machine(),
    }


def run_suite(
    sizes: list[int], repeat: int, out: Path, stages: list[str], work: Path, max_size: dict[str, int] | None = None
) -> dict:
    """Every stage at every size (a stage in ``max_size`` only up to its size), written to ``out``."""
    from bench.generate import generate

    results = {"machine": machine(), "versions": _versions(), "repeat": repeat, "sizes": {}}
    for size in sizes:
        seeds, scratch = work / f"seeds-{size}", work / f"work-{size}"
        if not (seeds / "tables.csv-metadata.json").exists():
            generate(seeds, size)
        scratch.mkdir(parents=True, exist_ok=True)
        _one("prepare", seeds, scratch)
        by_stage = {}
        for stage in stages:
            if size > (max_size or {}).get(stage, size):
                print(f"{size:>10} {stage:<16} skipped: above its --max-size", file=sys.stderr, flush=True)
                continue
            if stage in OPTIONAL and importlib.util.find_spec(OPTIONAL[stage]) is None:
                print(
                    f"{size:>10} {stage:<16} skipped: {OPTIONAL[stage]} is not installed (pip install -e '.[bench]')",
                    file=sys.stderr,
                    flush=True,
                )
                continue
            runs = []
            for _ in range(repeat):
                runs.append(_one(stage, seeds, scratch))
            by_stage[stage] = _summary(runs)
            print(
                f"{size:>10} {stage:<16} {by_stage[stage]['median_s']:.3f} s  "
                f"peak {by_stage[stage]['peak_mib']:.0f} MiB",
                file=sys.stderr,
                flush=True,
            )
        results["sizes"][str(size)] = {"asserted_triples": runs[0]["triples"], "stages": by_stage}
        _write(results, out)  # after each size, so a long run stopped early keeps what it measured
    return results


def _write(results: dict, out: Path) -> None:
    out.mkdir(parents=True, exist_ok=True)
    (out / "results.json").write_text(json.dumps(results, indent=2) + "\n")
    (out / "results.md").write_text(to_markdown(results))


def _one(stage: str, seeds: Path, scratch: Path) -> dict:
    output = subprocess.run(
        [sys.executable, "-m", "bench.run", "--one", stage, "--seeds", str(seeds), "--work", str(scratch)],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=3600,
    )
    if output.returncode != 0:
        raise RuntimeError(f"{stage} on {seeds.name} failed:\n{output.stderr[-2000:]}")
    return json.loads(output.stdout.strip().splitlines()[-1])


def _summary(runs: list[dict]) -> dict:
    summary = {
        "median_s": statistics.median(r["seconds"] for r in runs),
        "peak_mib": max(r["peak_mib"] for r in runs),
        "output": runs[0]["output"],
    }
    if "digest" in runs[0]:
        summary["digest"] = runs[0]["digest"]
    if "latencies" in runs[0]:
        per_query = {q: statistics.median(r["latencies"][q] for r in runs) for q in runs[0]["latencies"]}
        values = sorted(per_query.values())
        summary["query_p50_ms"] = statistics.median(values)
        summary["query_p95_ms"] = values[min(len(values) - 1, int(round(0.95 * (len(values) - 1))))]
        summary["per_query_ms"] = per_query
    return summary


def to_markdown(results: dict) -> str:
    lines = [
        "# Benchmark results",
        "",
        f"Machine: {results['machine']['system']}, {results['machine']['cpus']} CPUs, "
        f"{results['machine']['memory']}. Versions: "
        + ", ".join(f"{k} {v}" for k, v in results["versions"].items() if v)
        + ".",
        f"Each figure is the median of {results['repeat']} runs, each in a fresh process; peak memory is "
        "the largest resident size of those processes.",
        "",
        "| size (asserted triples) | stage | median | peak memory | peer | peer median | peer peak memory "
        "| ratio (peer / ours) | same output |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for data in results["sizes"].values():
        stages = data["stages"]
        for stage, summary in stages.items():
            if stage in PEERS:
                continue  # shown on its own stage's lines
            ours = (
                f"| {data['asserted_triples']} | {STAGES[stage][0]} | {_figure(summary)} "
                f"| {summary['peak_mib']:.0f} MiB "
            )
            peers = [p for p in STAGES[stage][1] if p in stages]
            if not peers:
                lines.append(ours + "| | | | | |")
            for peer in peers:
                theirs = stages[peer]
                key = "query_p50_ms" if "query_p50_ms" in summary else "median_s"
                ratio = f"{theirs[key] / max(summary[key], 1e-9):.2f}"
                same = (
                    ("yes" if summary["digest"] == theirs["digest"] else "**no**")
                    if "digest" in summary and "digest" in theirs
                    else ""
                )
                lines.append(
                    ours + f"| {STAGES[peer][0]} | {_figure(theirs)} | {theirs['peak_mib']:.0f} MiB | {ratio} "
                    f"| {same} |"
                )
    return "\n".join(lines) + "\n"


def _figure(summary: dict) -> str:
    if "query_p50_ms" in summary:
        return f"p50 {summary['query_p50_ms']:.1f} ms, p95 {summary['query_p95_ms']:.1f} ms"
    return f"{summary['median_s']:.3f} s"


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", default="10000,100000", help="target triples, comma-separated")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--stages", default=",".join(STAGES))
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "results")
    parser.add_argument("--work", type=Path, default=ROOT / "var" / "bench")
    parser.add_argument(
        "--max-size",
        default="",
        metavar="STAGE=SIZE,...",
        help="run these stages only up to these sizes (slow peers at large sizes)",
    )
    parser.add_argument("--one", help=argparse.SUPPRESS)
    parser.add_argument("--seeds", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.one:
        print(json.dumps(measure(args.one, args.seeds, args.work)))
        return
    stages = [s for s in args.stages.split(",") if s]
    unknown = set(stages) - set(STAGES)
    if unknown:
        parser.error(f"unknown stages: {', '.join(sorted(unknown))}")
    try:
        max_size = {stage: int(size) for stage, size in (item.split("=") for item in args.max_size.split(",") if item)}
    except ValueError:
        parser.error("--max-size takes STAGE=SIZE pairs, comma-separated")
    if set(max_size) - set(STAGES):
        parser.error(f"unknown stages in --max-size: {', '.join(sorted(set(max_size) - set(STAGES)))}")
    run_suite([int(s) for s in args.sizes.split(",")], args.repeat, args.out, stages, args.work, max_size)


if __name__ == "__main__":
    main()
