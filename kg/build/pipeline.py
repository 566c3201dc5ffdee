"""The build, in order: seeds -> mappings -> asserted + provenance -> OWL RL -> SHACL -> publish to the store.

This is the only module that knows the order of the stages. Each stage returns new graphs and never
changes its input. The new store version loads while SHACL runs, and is published only after it passes.
"""

from __future__ import annotations

import itertools
import json
import sys
import time
from collections import Counter
from collections.abc import Callable, Iterator, Mapping
from collections.abc import Set as AbstractSet
from dataclasses import dataclass, field

from rdflib import Graph
from rdflib.namespace import RDF

from kg.build.display import display_labels
from kg.build.mapping import Citation, Cited, cited_ntriples, load_mapping, map_rows, merge_citations, rdflib_cited
from kg.build.provenance import provenance_ntriples
from kg.build.tables import load_schemas, read_table
from kg.config import Settings
from kg.errors import ConfigError, MappingError, SeedTableError, ValidationFailed
from kg.namespaces import GRAPH_NAMES, graph_iri
from kg.reasoning.entailments import infer_closures, infer_triples
from kg.store.embedded import EmbeddedStore
from kg.store.rdf_io import in_graph, ntriples_text, sorted_nquads, text_triples
from kg.store.terms import Quad, Triple
from kg.store.versions import PublishedVersion, StagedVersion, line_chunks, write_lock
from kg.validation.report_formats import render
from kg.validation.schema_graphs import load_ontology, load_shape_graphs
from kg.validation.shacl_check import Shapes, ValidationReport, validate_build
from kg.validation.vocabulary import ATTACHMENT as VOCABULARY
from kg.validation.vocabulary import describe_vocabulary

Progress = Callable[[str], None]
NEWLINE = b"\n"  # an N-Triples document of ours has one triple a line


def _stderr(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


class BuildGraphs(Mapping):
    """A build's named graphs by name: sets of rdflib triples, or N-Triples text for the graphs made as text.

    The provenance records (about 4 triples per asserted triple) are made, validated and published as text
    only; ``graphs["provenance"]`` parses them into rdflib terms on first use (small graphs: tests, tools).
    """

    def __init__(self, sets: dict[str, set[Triple]], texts: dict[str, bytes]):
        self._sets, self._texts = dict(sets), texts

    def __getitem__(self, name: str) -> set[Triple]:
        if name not in self._sets:
            self._sets[name] = text_triples(self._texts[name])
        return self._sets[name]

    def __iter__(self) -> Iterator[str]:
        return iter(GRAPH_NAMES)

    def __len__(self) -> int:
        return len(GRAPH_NAMES)

    def size(self, name: str) -> int:
        """The number of triples of a graph, without making terms of a text."""
        return len(self._sets[name]) if name in self._sets else self._texts[name].count(NEWLINE)

    def with_graph(self, name: str, triples: set[Triple]) -> BuildGraphs:
        return BuildGraphs({**self._sets, name: triples}, self._texts)

    def text(self, name: str) -> bytes | None:
        """The graph as N-Triples text, if it was made as text."""
        return self._texts.get(name)

    def dataset(
        self, settings: Settings, names: tuple[str, ...] = GRAPH_NAMES
    ) -> tuple[Iterator[Quad], Iterator[bytes]]:
        """What ``publish`` takes: the graphs held as terms as quads, those made as text as N-Quads text
        (in pieces, so that no second copy of a whole graph's text is held)."""
        quads = (
            (s, p, o, graph_iri(settings, name)) for name in names if name not in self._texts for s, p, o in self[name]
        )
        pieces = (
            in_graph(piece, graph_iri(settings, name))
            for name, text in self._texts.items()
            if name in names
            for piece in line_chunks(text)
        )
        return quads, pieces


@dataclass
class Build:
    graphs: BuildGraphs
    produced: dict[Triple, AbstractSet[Citation]] = field(repr=False)
    report: ValidationReport = field(repr=False)

    def graph(self, name: str) -> Graph:
        """One named graph as an rdflib Graph, to query it with rdflib's API (small graphs: tests, tools)."""
        graph = Graph()
        for triple in self.graphs[name]:
            graph.add(triple)
        return graph

    def quads(self, settings: Settings) -> Iterator[Quad]:
        for name in GRAPH_NAMES:
            graph = graph_iri(settings, name)
            for s, p, o in self.graphs[name]:
                yield s, p, o, graph

    def dataset(self, settings: Settings) -> tuple[Iterator[Quad], Iterator[bytes]]:
        return self.graphs.dataset(settings)

    def nquads(self, settings: Settings) -> bytes:
        return sorted_nquads(self.quads(settings))

    def instance_counts(self) -> Counter:
        typed = {(s, o) for name in ("asserted", "inferred") for s, p, o in self.graphs[name] if p == RDF.type}
        return Counter(o for _, o in typed)


def map_seeds(settings: Settings, progress: Progress = _stderr) -> Cited:
    """Run every mapping over its table: the asserted triples (pyoxigraph terms), each with its citations."""
    seeds, mappings = settings.path("seeds_dir"), settings.path("mappings_dir")
    schemas = load_schemas(seeds)
    orphans = sorted(p.stem for p in mappings.glob("*.rq") if p.stem not in schemas)
    if orphans:
        raise MappingError("mappings without a table in the seed metadata: " + ", ".join(orphans))
    cited: Cited = {}
    for name, schema in schemas.items():
        if not (seeds / schema.file).exists():
            raise SeedTableError(f"{schema.file}: declared in the metadata but missing from {seeds}")
        mapping = load_mapping(mappings / f"{name}.rq", schema, base_iri=settings.base_iri)
        rows = read_table(schema, seeds)
        started = time.perf_counter()
        cited = merge_citations(cited, map_rows(mapping, schema, rows, base_iri=settings.base_iri))
        progress(f"  mapped {schema.file}: {len(rows)} rows ({time.perf_counter() - started:.2f} s)")
    return cited


def _as_text(triples: set[Triple]) -> bytes:
    text = ntriples_text(triples)
    if text is None:  # an entailment with a blank node: kg.reasoning.entailments leaves those out as trivial
        raise ValueError("an entailment has a blank node")
    return text


class _Clock:
    """Progress lines with the seconds each step took."""

    def __init__(self, progress: Progress):
        self.progress = progress
        self.started = self.lap = time.perf_counter()

    def done(self, what: str) -> None:
        now = time.perf_counter()
        self.progress(f"  {what} ({now - self.lap:.1f} s)")
        self.lap = now


@dataclass
class _Stated:
    """What a build states before reasoning: the asserted graph, with its provenance, and the schema."""

    graphs: BuildGraphs  # all but the inferred graph
    produced: dict[Triple, AbstractSet[Citation]]
    shapes: Shapes
    ontology: Graph


def _state(settings: Settings, clock: _Clock) -> _Stated:
    progress = clock.progress
    progress("mapping seed tables")
    cited = map_seeds(settings, progress)
    produced = rdflib_cited(cited)
    asserted = set(produced)  # from the dict's keys without hashing them again
    clock.done(f"{len(asserted)} asserted triples")
    progress("recording provenance")
    # the mappings' pyoxigraph terms write their own N-Triples text (kg.build.mapping refuses blank nodes)
    asserted_text = cited_ntriples(cited)
    provenance = provenance_ntriples(cited, settings.base_iri, str)
    del cited
    clock.done(f"{provenance.count(NEWLINE)} provenance triples")
    ontology, shapes = load_ontology(settings), load_shape_graphs(settings)
    sets = {"ontology": set(ontology), "asserted": asserted, "shapes": set(shapes.all())}
    return _Stated(BuildGraphs(sets, {"asserted": asserted_text, "provenance": provenance}), produced, shapes, ontology)


def _reason(stated: _Stated, clock: _Clock, base_iri: str) -> tuple[BuildGraphs, bytes]:
    """The build's graphs with the inferred one (entailments and the derived display labels, kg.build.display),
    and the closure without domain and range axioms that SHACL checks (kg.reasoning.entailments says why), as
    N-Triples text."""
    ontology, asserted = stated.graphs["ontology"], stated.graphs["asserted"]
    clock.progress(f"reasoning (OWL RL) over {len(ontology) + len(asserted)} triples")
    # the entailments recombine terms of the (canonical) input, so they need no canonicalising
    inferred, checked = infer_closures(ontology, asserted, encode=_as_text)
    assert isinstance(checked, bytes)  # written by ``encode``
    shown = display_labels(asserted, inferred, ontology, base_iri)
    inferred.update(shown)
    clock.done(f"{len(inferred)} inferred triples, {len(shown)} of them display labels")
    return stated.graphs.with_graph("inferred", inferred), checked + _as_text(shown)


def _validate(
    graphs: BuildGraphs, checked: bytes, shapes: Shapes, clock: _Clock, between: Callable[[], object] = lambda: None
) -> ValidationReport:
    clock.progress("validating (SHACL)")
    asserted, provenance = graphs.text("asserted"), graphs.text("provenance")
    assert asserted is not None and provenance is not None  # made as text (``_state``)
    report = validate_build(
        asserted=asserted,
        inferred=checked,
        provenance=provenance,
        shapes=shapes,
        between=between,
    )
    counts = report.counts()
    clock.done(f"{counts['Violation']} violations, {counts['Warning']} warnings, {counts['Info']} infos")
    return report


#: The graphs a build has before reasoning, which the store starts loading while it reasons.
_STATED = tuple(name for name in GRAPH_NAMES if name != "inferred")


def build_and_publish(settings: Settings, progress: Progress = _stderr) -> tuple[Build, PublishedVersion]:
    """Build, and publish only a graph without SHACL violations (ValidationFailed carries the report).

    Once the asserted graph and its provenance are made, they go to the new store version's snapshot,
    and RocksDB loads them in a spawned process (kg.parallel) while this one reasons. The inferred graph
    then loads the same way while the first validation pass runs, and the second pass waits for the
    loading to end, so that its store and the loader's batches, both large, are not held at once. The
    version is made current only once the report shows no violation. The write lock is held throughout,
    so that the partner graphs kept from the published store are still the published ones when the
    switch happens.
    """
    store_dir = settings.path("store_dir")
    clock = _Clock(progress)
    with write_lock(store_dir):
        stated = _state(settings, clock)
        partner = _partner_quads(settings)
        progress("writing the snapshot")
        if partner:
            progress(f"  keeping {len(partner)} triples of imported partner graphs")
        quads, texts = stated.graphs.dataset(settings, _STATED)
        staged = StagedVersion.write(itertools.chain(quads, partner), store_dir, texts=texts)
        clock.done("snapshot written; the store loads beside")
        try:
            loading = staged.load_beside()
            try:
                graphs, checked = _reason(stated, clock, settings.base_iri)
                staged.add(graphs.dataset(settings, ("inferred",))[0])
                loading.result()
                # RocksDB takes one writer: the inferred graph loads once the rest is in, beside the first
                # pass, and the second pass waits for it (see above)
                loading = staged.load_added_beside()

                def loaded() -> None:
                    loading.result()
                    clock.done("content shapes checked; store loaded")

                report = _validate(graphs, checked, stated.shapes, clock, between=loaded)
                del checked
            except BaseException:
                loading.cancel()
                raise
            loading.result()
            build = Build(graphs, stated.produced, report)
            if not report.conforms:
                raise ValidationFailed(
                    f"the graph has {report.counts()['Violation']} SHACL violations; the published store is unchanged",
                    report=report,
                )
            reports = {
                f"report.{fmt}": render(report, format=fmt, base_iri=settings.base_iri)
                for fmt in ("turtle", "json", "text", "html")
            }
            vocabulary = describe_vocabulary(
                stated.ontology, [stated.shapes.content, stated.shapes.provenance], settings.base_iri
            )
            reports[VOCABULARY] = json.dumps(vocabulary, ensure_ascii=False, sort_keys=True).encode("utf-8")
        except BaseException:
            staged.discard()
            raise
        version = staged.commit(attachments=reports, keep_versions=settings.keep_versions)
    progress(f"published in {time.perf_counter() - clock.started:.1f} s")
    return build, version


def _partner_quads(settings: Settings) -> list[Quad]:
    """The imported graphs of the published store (everything a build does not make), kept across builds."""
    if not (settings.path("store_dir") / "current").exists():
        return []
    store = EmbeddedStore(settings.path("store_dir"))
    own = {graph_iri(settings, name) for name in GRAPH_NAMES}
    kept = [g for g in store.graphs() if g not in own]
    # a build under another base IRI names its graphs differently: they would be kept as partner data
    # beside the new build's, and every fact would count twice in the union
    foreign = sorted(str(g)[: -len("graph/asserted")] for g in kept if str(g).endswith("/graph/asserted"))
    if foreign:
        raise ConfigError(
            f"the published store in {settings.path('store_dir')} was built with base IRI "
            f"{foreign[0]}, and this build uses {settings.base_iri}: build into another store "
            "(setting store_dir), or keep the base IRI"
        )
    return list(store.quads(kept))


def _store_graphs(store: EmbeddedStore, settings: Settings, names: tuple[str, ...]) -> dict[str, Graph]:
    graphs = {name: Graph() for name in names}
    for name in names:
        for s, p, o, _ in store.quads([graph_iri(settings, name)]):
            graphs[name].add((s, p, o))
    return graphs


def validate_published(settings: Settings) -> ValidationReport:
    """Check the published store again with the project's shapes (both passes)."""
    store = EmbeddedStore(settings.path("store_dir"))
    graphs = _store_graphs(store, settings, ("ontology", "asserted", "provenance"))
    checked = infer_triples(graphs["ontology"], graphs["asserted"], domains_and_ranges=False)
    checked |= display_labels(graphs["asserted"], checked, graphs["ontology"], settings.base_iri)
    return validate_build(
        asserted=graphs["asserted"],
        inferred=checked,
        provenance=graphs["provenance"],
        shapes=load_shape_graphs(settings),
    )
