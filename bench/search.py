"""Search benchmark: ``GET /search`` on ``kg serve`` against the same search as a SPARQL scan on the Oxigraph
server, on the same data, under wrk; and what making the index adds to a build.

    .venv/bin/python -m bench.search --triples 1000000 --connections 4 --duration 20 --out bench/results

The data is ``bench.http``'s (``bench.generate`` seed tables built by ``kg build``, reused under
``var/bench/http-<size>/``): its names in English and Chinese and its one-syllable short forms. The
searches are names drawn from the index itself, each asked as written, in lower case, with " City" added
(for regions) and, for a Chinese name, its first two characters; each answer is checked before timing (the
entity the name was drawn from is among the hits). The peer's query is the fairest scan SPARQL allows:
``CONTAINS(LCASE(STR(?name)), ...)`` over the same label properties with ``LIMIT`` as many hits and no
ordering, so it may stop at the first matches; the same ranked as the search ranks; and a case-insensitive
``REGEX``, the other way the issue names. None can ignore hyphens or a suffix. The index's cost: writing
it from the version's snapshot (median of ``--index-runs`` in this process) against a whole ``kg build``
(timed in a fresh process, ``--build-runs``). Results: ``search-<size>.json`` and ``.md``. Nothing here asserts a time.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import re
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.parse
from pathlib import Path

from bench.http import (
    BASE_IRI,
    SPARQL_PATH,
    _clean_env,
    _http,
    _sparql,
    prepare_data,
    run_wrk,
    running,
)
from bench.run import machine

ROOT = Path(__file__).resolve().parent.parent
LIMIT = 20
_SCAN = """PREFIX rdfs: <http://www.w3.org/2000/01/rdf-schema#>
PREFIX skos: <http://www.w3.org/2004/02/skos/core#>
SELECT DISTINCT ?entity ?name WHERE {{
  VALUES ?property {{ rdfs:label skos:prefLabel skos:altLabel <{base}ontology#displayLabel> }}
  ?entity ?property ?name
  FILTER({match})
}}{order} LIMIT {limit}"""
_CONTAINS = "CONTAINS(LCASE(STR(?name)), {needle})"
#: The peer's queries: the first matches found by CONTAINS (it may stop early); the best matches as the
#: search ranks them (exact, then prefix, then shorter), which must look at every label; and the first
#: matches found by a case-insensitive REGEX, the issue's other way of writing the scan.
SCANS = {
    "first": (_CONTAINS, ""),
    "ranked": (
        _CONTAINS,
        "\nORDER BY DESC(LCASE(STR(?name)) = {needle}) DESC(STRSTARTS(LCASE(STR(?name)), {needle})) STRLEN(?name)",
    ),
    "regex": ('REGEX(STR(?name), {pattern}, "i")', ""),
}


#: the characters an XPath regular expression (SPARQL's REGEX) escapes; Python's re.escape escapes more,
#: such as a space, which XPath refuses
_XPATH_META = re.compile(r"[\\.?*+(){}\[\]^$|-]")


def scan(text: str, kind: str) -> str:
    needle, pattern = _needle(text), json.dumps(_XPATH_META.sub(r"\\\g<0>", text), ensure_ascii=False)
    match, order = SCANS[kind]
    return _SCAN.format(
        base=BASE_IRI,
        match=match.format(needle=needle, pattern=pattern),
        limit=LIMIT,
        order=order.format(needle=needle),
    )


def index_path(data: dict) -> Path:
    from kg.store.search_index import INDEX

    return data["store"] / "versions" / f"{data['build_id']}.{INDEX}"


def searches(data: dict, count: int, seed: int) -> list[dict]:
    """``count`` searches, each with the entity it must find: names drawn from the index."""
    import sqlite3

    db = sqlite3.connect(f"file:{index_path(data)}?mode=ro", uri=True)
    rows = db.execute(
        "SELECT entity.iri, name.text, name.lang, entity.kind FROM name JOIN entity ON entity.id = name.entity"
    )
    names = rows.fetchall()
    db.close()
    rng = random.Random(seed)
    chosen = []
    for iri, text, lang, kind in rng.sample(names, min(count, len(names))):
        forms = [text, text.lower()]
        if lang.startswith("zh") and len(text) > 2:
            forms.append(text[:2])
        elif "Region" in kind:
            forms.append(text + " City")
        form = rng.choice(forms)
        chosen.append({"q": form, "iri": iri, "name": text})
    return chosen


def _needle(text: str) -> str:
    return json.dumps(text.lower(), ensure_ascii=False)


def check(kg_base: str, oxigraph_base: str, items: list[dict]) -> dict:
    """Every search answers 200 on both; the entity a name was drawn from is among kg's hits (a short
    prefix of a Chinese name may rank it past the first page: counted apart)."""
    found = missing = 0
    for item in items:
        status, body, _ = _http(kg_base, "GET", "/search?" + urllib.parse.urlencode({"q": item["q"], "limit": LIMIT}))
        if status != 200:
            raise RuntimeError(f"kg /search {item['q']!r}: {status} {body[:300]!r}")
        iris = {hit["iri"] for hit in json.loads(body)["hits"]}
        found, missing = (found + 1, missing) if item["iri"] in iris else (found, missing + 1)
        for kind in SCANS:
            status, body, _ = _sparql(oxigraph_base, "oxigraph-memory", scan(item["q"], kind))
            if status != 200:
                raise RuntimeError(f"Oxigraph scan {item['q']!r}: {status} {body[:300]!r}")
    return {"searches": len(items), "kg_found_the_entity": found, "kg_ranked_it_past_the_first_page": missing}


def write_lists(items: list[dict], folder: Path) -> dict[str, Path]:
    folder.mkdir(parents=True, exist_ok=True)
    lines: dict[str, list[str]] = {"kg": [], **{f"oxigraph-{kind}": [] for kind in SCANS}}
    for item in items:
        lines["kg"].append(f"s\tGET\t/search?{urllib.parse.urlencode({'q': item['q'], 'limit': LIMIT})}\t")
        for kind in SCANS:
            form = urllib.parse.urlencode({"query": scan(item["q"], kind)})
            lines[f"oxigraph-{kind}"].append(f"s\tPOST\t{SPARQL_PATH['oxigraph-memory']}\t{form}")
    paths = {}
    for name, listed in lines.items():
        paths[name] = folder / f"search-{name}.txt"
        paths[name].write_text("\n".join(listed) + "\n")
    return paths


def index_cost(data: dict, runs: int) -> dict:
    """Seconds to write the index from the snapshot, median of ``runs``."""
    from kg.store.search_index import write_index

    snapshot = data["store"] / "versions" / f"{data['build_id']}.nq"
    times = []
    if runs < 1:
        return {"index_s": [], "index_median_s": None, "index_mib": None}
    with tempfile.TemporaryDirectory() as folder:
        for _ in range(runs):
            started = time.perf_counter()
            write_index(snapshot, Path(folder) / "index.sqlite")
            times.append(time.perf_counter() - started)
        size = (Path(folder) / "index.sqlite").stat().st_size
    return {
        "index_s": [round(t, 2) for t in times],
        "index_median_s": round(statistics.median(times), 2),
        "index_mib": round(size / 2**20, 1),
    }


def build_cost(data: dict, runs: int, timeout: float) -> list[float]:
    """Seconds of a whole ``kg build`` of the same seeds (the version is reused; every stage runs)."""
    env = _clean_env(KG_SEEDS_DIR=str(data["folder"] / "seeds"), KG_STORE_DIR=str(data["store"]))
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        subprocess.run(
            [sys.executable, "-c", "from kg.cli import run; run()", "build"],
            cwd=ROOT,
            env=env,
            check=True,
            timeout=timeout,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        times.append(round(time.perf_counter() - started, 1))
    return times


def engine_comparison(data: dict, items: list[dict], count: int) -> dict:
    """The search without HTTP: ``SearchIndex.search`` against the scans run by pyoxigraph in this process
    on an in-memory copy of the version (the engine the Oxigraph server runs), on the first ``count``
    searches; medians in milliseconds."""
    import pyoxigraph as ox

    from kg.store.search import SearchIndex

    index = SearchIndex(index_path(data))
    store = ox.Store()
    store.load(path=str(data["nquads"]), format=ox.RdfFormat.N_QUADS, lenient=True)
    chosen = items[:count]
    timings: dict[str, list[float]] = {"index": [], **{f"scan-{kind}": [] for kind in SCANS}}
    for item in chosen:
        started = time.perf_counter()
        index.search(item["q"], LIMIT)
        timings["index"].append((time.perf_counter() - started) * 1000)
        for kind in SCANS:
            started = time.perf_counter()
            list(store.query(scan(item["q"], kind), use_default_graph_as_union=True))
            timings[f"scan-{kind}"].append((time.perf_counter() - started) * 1000)
    medians = {name: round(statistics.median(values), 3) for name, values in timings.items()}
    return {
        "searches": len(chosen),
        "median_ms": medians,
        "ratio_over_index": {name: round(v / medians["index"], 1) for name, v in medians.items() if name != "index"},
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--triples", type=int, default=100_000)
    parser.add_argument("--connections", type=int, default=4)
    parser.add_argument("--duration", type=float, default=20)
    parser.add_argument("--warmup", type=float, default=3)
    parser.add_argument("--searches", type=int, default=400)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--index-runs", type=int, default=3)
    parser.add_argument("--build-runs", type=int, default=1)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--rebuild", action="store_true", help="generate the seeds and build the store again")
    parser.add_argument("--engine-searches", type=int, default=100, help="searches timed without HTTP (0: none)")
    parser.add_argument("--work", type=Path, default=ROOT / "var" / "bench")
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "results")
    args = parser.parse_args(argv)
    data = prepare_data(args.triples, args.work, rebuild=args.rebuild)
    if not index_path(data).exists():  # a store published before versions had an index
        from kg.store.search_index import write_index

        write_index(data["store"] / "versions" / f"{data['build_id']}.nq", index_path(data))
    results: dict = {"triples": args.triples, "asserted_triples": data["asserted_triples"], "quads": data["quads"]}
    results["machine"] = machine()
    results["cost"] = {**index_cost(data, args.index_runs), "build_s": build_cost(data, args.build_runs, 7200)}
    if results["cost"]["build_s"] and results["cost"]["index_s"]:
        results["cost"]["index_share_of_build"] = round(
            results["cost"]["index_median_s"] / statistics.median(results["cost"]["build_s"]), 3
        )
    items = searches(data, args.searches, args.seed)
    lists = write_lists(items, data["folder"] / "requests")
    logs = data["folder"] / "logs"
    logs.mkdir(exist_ok=True)
    runs = {}
    with running("kg", data, logs, workers=args.workers, start_timeout=1200) as kg_server:
        # no query time limit: the scans are bounded, and with one the server keeps a thread per query for
        # as long as the limit, which thousands of quick scans a second exhaust (bench/README.md)
        with running(
            "oxigraph-memory", data, logs, workers=args.workers, start_timeout=1200, oxigraph_timeout=None
        ) as oxigraph:
            results["check"] = check(kg_server.base, oxigraph.base, items)
            peers = [("kg", kg_server)] + [(f"oxigraph-{kind}", oxigraph) for kind in SCANS]
            for name, server in peers:
                common = {"connections": args.connections, "threads": 2, "timeout_s": 60}
                common["log"] = logs / "wrk-search.log"
                if args.warmup > 0:
                    run_wrk(server.base, "adhoc", lists[name], "warmup", duration=args.warmup, **common)
                runs[name] = run_wrk(server.base, "adhoc", lists[name], "search", duration=args.duration, **common)
    results["runs"] = runs
    if args.engine_searches:
        results["engine"] = engine_comparison(data, items, args.engine_searches)
    ours = runs["kg"]
    results["ratios"] = {
        name: {
            "p50_theirs_over_ours": round(run["latency_ms"]["p50"] / ours["latency_ms"]["p50"], 1),
            "rps_ours_over_theirs": round(ours["rps"] / run["rps"], 1) if run["rps"] else None,
        }
        for name, run in runs.items()
        if name != "kg"
    }
    args.out.mkdir(parents=True, exist_ok=True)
    stem = args.out / f"search-{args.triples}"
    stem.with_suffix(".json").write_text(json.dumps(results, indent=2, ensure_ascii=False) + "\n")
    stem.with_suffix(".md").write_text(to_markdown(results))
    print(to_markdown(results))
    return 0


def to_markdown(results: dict) -> str:
    cost, runs = results["cost"], results["runs"]
    lines = [
        f"# Search at {results['asserted_triples']:,} asserted triples ({results['quads']:,} quads)",
        "",
        "| server | requests/s | p50 ms | p90 ms | p99 ms | non-2xx | errors |",
        "|---|---|---|---|---|---|---|",
    ]
    for name, run in runs.items():
        latency, errors = run["latency_ms"], sum(run["errors"].values())
        cells = [name, run["rps"], latency["p50"], latency["p90"], latency["p99"], run["non2xx"], errors]
        lines.append("| " + " | ".join(str(cell) for cell in cells) + " |")
    lines += [""]
    for name, ratio in results["ratios"].items():
        lines.append(
            f"{name}: its p50 over kg's {ratio['p50_theirs_over_ours']}; kg's requests/s over its "
            f"{ratio['rps_ours_over_theirs']}."
        )
    if "engine" in results:
        engine = results["engine"]
        lines += [
            "",
            f"Without HTTP, {engine['searches']} searches, median ms: {json.dumps(engine['median_ms'])}; "
            f"scan over index: {json.dumps(engine['ratio_over_index'])}.",
        ]
    lines += [
        "",
        f"Checked before timing: {json.dumps(results['check'])}.",
        f"Index: {cost['index_median_s']} s to write (runs {cost['index_s']}), {cost['index_mib']} MiB; "
        f"whole build {cost['build_s']} s; share {cost.get('index_share_of_build')}.",
        "",
        f"Machine: {json.dumps(results['machine'], ensure_ascii=False)}",
        "",
    ]
    return "\n".join(lines)


if __name__ == "__main__":
    os.environ.setdefault("PYTHONHASHSEED", "0")
    raise SystemExit(main())
