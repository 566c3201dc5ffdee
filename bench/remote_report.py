"""The tables of ``bench.remote``: per saved query, each server's median and its ratio to the embedded store's;
and, from the embedded store's footprint by size, where it stops fitting this machine."""

from __future__ import annotations

import json
import statistics

SERVERS = ("embedded", "virtuoso", "oxigraph")


def summary(times: dict[str, dict[str, list]]) -> dict:
    """Per query: each server's median in ms and its ratio to the embedded store's; and over all queries."""
    per_query = {}
    for query in times["embedded"]:
        medians = {}
        for name in SERVERS:
            ok = [t for t in times[name].get(query, []) if t is not None]
            medians[name] = round(statistics.median(ok) * 1000, 2) if ok else None
        base = medians["embedded"]
        ratios = {n: round(medians[n] / base, 2) if base and medians[n] else None for n in SERVERS[1:]}
        per_query[query] = {"median_ms": medians, "ratio_to_embedded": ratios}
    overall = {}
    for name in SERVERS[1:]:
        ratios = [q["ratio_to_embedded"][name] for q in per_query.values() if q["ratio_to_embedded"][name]]
        sums = [sum(q["median_ms"][n] or 0 for q in per_query.values()) for n in ("embedded", name)]
        overall[name] = {
            "median_ratio": round(statistics.median(ratios), 2) if ratios else None,
            "range": [min(ratios), max(ratios)] if ratios else None,
            "sum_of_medians_ratio": round(sums[1] / sums[0], 2) if sums[0] else None,
        }
    return {"per_query": per_query, "overall": overall}


def limits(sizes: list[dict], workers: int, memory_gib: float, reserve_gib: float) -> dict:
    """A line through the smallest and largest sizes measured (through zero with one size): each worker's
    memory and kg serve's start per million asserted triples, and the size at which ``workers`` copies fill
    the machine's memory less ``reserve_gib``."""
    ordered = sorted(sizes, key=lambda s: s["asserted_triples"])
    low, high = (ordered[0], ordered[-1]) if len(ordered) > 1 else ({"asserted_triples": 0, "start_s": 0}, ordered[-1])
    low_gib = max(low.get("worker_rss_mib", [0])) / 1024
    millions = (high["asserted_triples"] - low["asserted_triples"]) / 1e6
    slope = (max(high["worker_rss_mib"]) / 1024 - low_gib) / millions  # GiB per worker per million
    base = low_gib - slope * low["asserted_triples"] / 1e6  # what a worker holds besides the data
    return {
        "from_asserted_triples": [low["asserted_triples"], high["asserted_triples"]],
        "worker_gib_per_million": round(slope, 2),
        "worker_gib_base": round(base, 2),
        "start_s_per_million": round((high["start_s"] - low["start_s"]) / millions, 1),
        "workers": workers,
        "memory_gib": memory_gib,
        "reserve_gib": reserve_gib,
        "fits_up_to_million": round((memory_gib - reserve_gib - workers * base) / (workers * slope), 1),
        "one_worker_fits_up_to_million": round((memory_gib - reserve_gib - base) / slope, 1),
    }


def to_markdown(results: dict) -> str:
    overall, loaded, limit = results["overall"], results["loaded"], results["limits"]
    lines = [
        f"# Saved queries through kg serve at {results['asserted_triples']:,} asserted triples "
        f"({results['quads']:,} quads)",
        "",
        f"{results['requests']} requests, {results['repeat']} passes; median ms per saved query, and the ratio to "
        "the embedded store (above 1: slower).",
        "",
        "| saved query | embedded | Virtuoso | ÷ | Oxigraph server | ÷ |",
        "|---|---|---|---|---|---|",
    ]
    for query, entry in results["per_query"].items():
        ms, ratio = entry["median_ms"], entry["ratio_to_embedded"]
        cells = [query, ms["embedded"], ms["virtuoso"], ratio["virtuoso"], ms["oxigraph"], ratio["oxigraph"]]
        lines.append("| " + " | ".join("" if c is None else str(c) for c in cells) + " |")
    lines.append("")
    for name in ("virtuoso", "oxigraph"):
        entry = overall[name]
        lines.append(
            f"{name}: median ratio {entry['median_ratio']} (range {entry['range']}); sum of medians "
            f"{entry['sum_of_medians_ratio']} times the embedded store's."
        )
    lines += [
        "",
        f"Checked before timing: {json.dumps(results['check'])}. Left out (no fitting values): "
        f"{', '.join(results['left_out']) or 'none'}.",
        "",
        "| store | loaded | its peak memory | kg serve workers |",
        "|---|---|---|---|",
        f"| embedded | kg serve ready in {loaded['embedded']['start_s']} s | | "
        f"{loaded['embedded']['peak_rss_mib']} MiB (the whole tree) |",
    ]
    for name in ("virtuoso", "oxigraph"):
        entry = loaded[name]
        how = f"kg push {entry['push_s']} s" if entry["push_s"] else "oxigraph load"
        lines.append(
            f"| {name} | {how} | {entry['store_peak_rss_mib']} MiB | {entry['kg_serve_workers_rss_mib']} MiB |"
        )
    lines += [
        "",
        "| asserted triples | quads | snapshot MiB | kg serve start s | RSS per worker MiB |",
        "|---|---|---|---|---|",
    ]
    for size in results["footprint"]:
        cells = [
            f"{size['asserted_triples']:,}",
            f"{size['quads']:,}",
            size["snapshot_mib"],
            size["start_s"],
            size["worker_rss_mib"],
        ]
        lines.append("| " + " | ".join(str(c) for c in cells) + " |")
    lines += [
        "",
        f"Embedded store, on a line through {limit['from_asserted_triples']} asserted triples: per million, "
        f"{limit['worker_gib_per_million']} GiB per worker (besides {limit['worker_gib_base']} GiB) and "
        f"{limit['start_s_per_million']} s of start; "
        f"{limit['workers']} workers fill {limit['memory_gib']} GiB less {limit['reserve_gib']} GiB at about "
        f"{limit['fits_up_to_million']}M asserted triples (one worker: {limit['one_worker_fits_up_to_million']}M).",
        "",
        f"Machine: {json.dumps(results['machine'], ensure_ascii=False)}; load before: {results['loadavg_before']}",
        f"Versions: {json.dumps(results['versions'])}",
        "",
    ]
    return "\n".join(lines)
