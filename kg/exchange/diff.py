"""What changed between two datasets: the quads added and removed, as a SPARQL Update and for people.

A side is an RDF file or a published build version (``current`` or a build id). Quads without blank
nodes are compared as sets. Blank nodes have no identity across documents, so the quads that share blank
nodes form a *structure* (an OWL restriction with its anchor triple, an RDF list) that is compared up to
isomorphism: each structure is relabelled on its own by RDFC-1.0 and the two sides are compared as
multisets of those canonical forms. A structure that differs in any triple is removed whole and added
whole; one that is merely relabelled is no change.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass
from pathlib import Path

from rdflib import BNode, Literal, URIRef
from rdflib.namespace import RDFS
from rdflib.term import Node

from kg.config import Settings
from kg.errors import InputError
from kg.namespaces import XSD, all_prefixes
from kg.store.embedded import EmbeddedStore
from kg.store.rdf_io import canonical_blank_nodes, format_for, parse_rdf
from kg.store.terms import Quad

XSD_STRING = URIRef(XSD + "string")
DEFAULT_BASE_IRI = Settings.base_iri  # the dataclass default


@dataclass(frozen=True)
class Change:
    """The quads that turn OLD into NEW, each list sorted by graph, subject, predicate, object.

    Blank nodes are labelled ``b{structure}_{n}``: one number per removed or added structure, so the
    labels of different structures never meet.
    """

    added: list[Quad]
    removed: list[Quad]

    @property
    def is_empty(self) -> bool:
        return not self.added and not self.removed


# --- loading a side ------------------------------------------------------------------------------------------


def published_versions(store_dir: Path) -> list[str]:
    """Build ids held under ``store_dir/versions``, newest first (staging folders left out)."""
    versions = store_dir / "versions"
    if not versions.is_dir():
        return []
    held = [p for p in versions.iterdir() if p.is_dir() and not p.name.startswith(".")]
    return [p.name for p in sorted(held, key=lambda p: (-p.stat().st_mtime, p.name))]


def load_side(spec: str, *, store_dir: Path, base_iri: str, input_format: str | None = None) -> list[Quad]:
    """The quads of ``spec``: an RDF file, ``current``, or the id of a published build version.

    An existing file wins over a version of the same name. InputError for anything else, listing the
    versions that exist.
    """
    path = Path(spec)
    if path.is_file():
        fmt = format_for(path, input_format)
        try:
            data = path.read_bytes()
        except OSError as exc:
            raise InputError(f"{spec}: cannot read ({exc.strerror})") from exc
        if not data.strip():
            return []  # an empty file is the empty dataset: "everything was added" is a fair diff
        return parse_rdf(data, format=fmt, base_iri=base_iri, source=spec)
    versions = published_versions(store_dir)
    if spec == "current":
        return list(EmbeddedStore(store_dir).quads())  # StoreError (exit 2) when nothing is published
    if spec in versions:  # only names listed there, so "../elsewhere" never opens an arbitrary folder
        return list(EmbeddedStore(store_dir, version=store_dir / "versions" / spec).quads())
    current = (store_dir / "current").resolve().name if (store_dir / "current").exists() else None
    listed = ", ".join(v + (" (current)" if v == current else "") for v in versions) or "none"
    raise InputError(
        f"{spec!r} is neither an RDF file nor a published build version; versions in {store_dir / 'versions'}: {listed}"
    )


def labels_from(*sides: list[Quad]) -> dict[URIRef, str]:
    """Each subject's rdfs:label, English preferred, then one without a language; a later side wins."""
    labels: dict[URIRef, str] = {}
    for quads in sides:
        best: dict[URIRef, tuple[int, str]] = {}
        for s, p, o, _ in quads:
            if p == RDFS.label and isinstance(s, URIRef) and isinstance(o, Literal):
                language = (o.language or "").lower()
                rank = 0 if language == "en" or language.startswith("en-") else 1 if not language else 2
                candidate = (rank, str(o))
                if s not in best or candidate < best[s]:
                    best[s] = candidate
        labels.update({s: text for s, (_, text) in best.items()})
    return labels


# --- comparing ------------------------------------------------------------------------------------------------


def term_text(term: Node) -> str:
    """A term in N-Triples syntax, also valid in SPARQL.

    rdflib's ``n3()`` writes a literal holding a newline as a triple-quoted string, which N-Quads does
    not allow, so literals are escaped here; IRIs and blank nodes come from ``n3()``.
    """
    if isinstance(term, Literal):
        lexical = str(term).replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n").replace("\r", "\\r")
        if term.language:
            return f'"{lexical}"@{term.language}'
        if term.datatype is not None and term.datatype != XSD_STRING:
            return f'"{lexical}"^^{term.datatype.n3()}'
        return f'"{lexical}"'
    return term.n3()


def quad_text(quad: Quad) -> str:
    """One N-Quads line, without the newline."""
    s, p, o, g = quad
    return " ".join([term_text(s), term_text(p), term_text(o)] + ([term_text(g)] if g is not None else []) + ["."])


def _sort_key(quad: Quad) -> tuple[str, str, str, str]:
    s, p, o, g = quad
    return ("" if g is None else term_text(g), term_text(s), term_text(p), term_text(o))


def _plain(term: Node) -> Node:
    # "x"^^xsd:string and "x" are one RDF term, but not equal in rdflib
    if isinstance(term, Literal) and term.datatype == XSD_STRING:
        return Literal(str(term))
    return term


def _checked(quads: list[Quad]) -> set[Quad]:
    checked = set()
    for s, p, o, g in quads:
        if isinstance(g, BNode):
            raise InputError("a graph named by a blank node cannot be compared or updated; name it with an IRI")
        checked.add((s, p, _plain(o), g))
    return checked


def blank_node_structures(quads: list[Quad] | set[Quad]) -> tuple[list[Quad], list[list[Quad]]]:
    """The ground quads, and the quads that share blank nodes grouped into connected structures.

    The structures are found with a union-find over blank nodes: a quad with a blank subject and a blank
    object joins the two. A blank node used in two graphs joins them too (it is one node of the dataset),
    so a structure may span graphs.
    """
    parent: dict[BNode, BNode] = {}

    def root(node: BNode) -> BNode:
        while parent[node] != node:
            parent[node] = parent[parent[node]]
            node = parent[node]
        return node

    ground, blank = [], []
    for quad in quads:
        nodes = [t for t in (quad[0], quad[2]) if isinstance(t, BNode)]
        if not nodes:
            ground.append(quad)
            continue
        blank.append((quad, nodes[0]))
        for node in nodes:
            parent.setdefault(node, node)
        if len(nodes) == 2:
            parent[root(nodes[0])] = root(nodes[1])
    structures: dict[BNode, list[Quad]] = defaultdict(list)
    for quad, node in blank:
        structures[root(node)].append(quad)
    return ground, list(structures.values())


def _relabelled(lines: tuple[str, ...], forms: dict[tuple[str, ...], list[Quad]], number: int) -> list[Quad]:
    """The structure with canonical form ``lines``, its blank nodes renamed ``b{number}_{n}``."""
    renamed: dict[BNode, BNode] = {}

    def rename(term: Node) -> Node:
        if isinstance(term, BNode):
            return renamed.setdefault(term, BNode(f"b{number}_{len(renamed)}"))
        return term

    return [(rename(s), p, rename(o), g) for s, p, o, g in forms[lines]]


def diff(old: list[Quad], new: list[Quad]) -> Change:
    """The quads to remove from ``old`` and add to it to get a dataset isomorphic to ``new``."""
    old_ground, old_structures = blank_node_structures(_checked(old))
    new_ground, new_structures = blank_node_structures(_checked(new))
    # one representative per canonical form, with the canonical labels in the order of the sorted lines
    forms: dict[tuple[str, ...], list[Quad]] = {}
    counts: list[Counter[tuple[str, ...]]] = []
    for structures in (old_structures, new_structures):
        counted: Counter[tuple[str, ...]] = Counter()
        for structure in structures:
            canonical = sorted(canonical_blank_nodes(structure), key=quad_text)
            lines = tuple(quad_text(q) for q in canonical)
            forms.setdefault(lines, canonical)
            counted[lines] += 1
        counts.append(counted)
    old_counts, new_counts = counts
    removed = sorted(set(old_ground) - set(new_ground), key=_sort_key)
    added = sorted(set(new_ground) - set(old_ground), key=_sort_key)
    number = 0
    for target, extra in ((removed, old_counts - new_counts), (added, new_counts - old_counts)):
        for lines in sorted(extra):
            for _ in range(extra[lines]):  # isomorphic copies count: a dataset can hold one twice
                number += 1
                target.extend(_relabelled(lines, forms, number))
        target.sort(key=_sort_key)
    return Change(added=added, removed=removed)


# --- the SPARQL Update ------------------------------------------------------------------------------------


def _block(quads: list[Quad], write=term_text, indent: str = "  ") -> str:
    """Quads as a QuadData / QuadPattern body: default-graph triples first, then one GRAPH block per graph."""
    by_graph: dict[Node | None, list[Quad]] = defaultdict(list)
    for quad in sorted(quads, key=_sort_key):
        by_graph[quad[3]].append(quad)
    lines = []
    for graph in sorted(by_graph, key=lambda g: "" if g is None else term_text(g)):
        inner = indent if graph is None else indent + "  "
        if graph is not None:
            lines.append(f"{indent}GRAPH {term_text(graph)} {{")
        lines += [f"{inner}{write(s)} {write(p)} {write(o)} ." for s, p, o, _ in by_graph[graph]]
        if graph is not None:
            lines.append(f"{indent}}}")
    return "\n".join(lines) + "\n"


def _variable(term: Node) -> str:
    return f"?{term}" if isinstance(term, BNode) else term_text(term)


def _no_other_triples(node: BNode, structure: list[Quad], indent: str) -> list[str]:
    """FILTERs that the store node matched by ``node`` has no triple outside the structure, in any graph.

    Without them the pattern could match part of a larger blank-node structure and delete only that part.
    """
    filters = []
    for outgoing in (True, False):
        own = [(g, p, o if outgoing else s) for s, p, o, g in structure if (s if outgoing else o) == node]
        triple = f"{_variable(node)} ?predicate ?other" if outgoing else f"?other ?predicate {_variable(node)}"
        for in_named_graph in (True, False):
            # g is given exactly in_named_graph (the condition below)
            allowed = [
                f"(sameTerm(?predicate, {term_text(p)}) && sameTerm(?other, {_variable(other)})"
                + (f" && sameTerm(?graph, {term_text(g)}))" if g is not None else ")")
                for g, p, other in own
                if (g is not None) == in_named_graph
            ]
            pattern = f"GRAPH ?graph {{ {triple} }}" if in_named_graph else triple
            condition = f" FILTER(!({' || '.join(allowed)}))" if allowed else ""
            filters.append(f"{indent}FILTER NOT EXISTS {{ {pattern}{condition} }}")
    return filters


def _delete_structure(structure: list[Quad]) -> str:
    """Remove one copy of a blank-node structure: its blank nodes become variables.

    DELETE DATA cannot name blank nodes. The variables must match distinct blank nodes that carry exactly
    these triples (so an IRI, or a larger structure holding a copy of this one, is never touched), and
    LIMIT 1 removes a single copy when the store holds several isomorphic ones.
    """
    nodes = sorted({t for s, _, o, _ in structure for t in (s, o) if isinstance(t, BNode)}, key=str)
    variables = " ".join(_variable(n) for n in nodes)
    indent = "    "
    checks = [f"isBlank({_variable(n)})" for n in nodes]
    checks += [f"!sameTerm({_variable(a)}, {_variable(b)})" for i, a in enumerate(nodes) for b in nodes[i + 1 :]]
    where = _block(structure, _variable, indent) + f"{indent}FILTER({' && '.join(checks)})\n"
    where += "".join(line + "\n" for n in nodes for line in _no_other_triples(n, structure, indent))
    return (
        f"DELETE {{\n{_block(structure, _variable)}}}\nWHERE {{\n  SELECT {variables} WHERE {{\n{where}  }} LIMIT 1\n}}"
    )


def as_sparql_update(change: Change) -> str:
    """A SPARQL 1.1 Update that turns OLD into NEW (up to blank-node labels).

    Deletions come first, so a structure's pattern never meets the copies being inserted. All additions
    are one INSERT DATA, since a blank-node label may not recur across operations of one request.
    """
    if change.is_empty:
        return "# OLD and NEW hold the same data: nothing to update\n"
    ground, structures = blank_node_structures(change.removed)
    operations = []
    if ground:
        operations.append(f"DELETE DATA {{\n{_block(ground)}}}")
    operations += [_delete_structure(structure) for structure in structures]
    if change.added:
        operations.append(f"INSERT DATA {{\n{_block(change.added)}}}")
    header = f"# turns OLD into NEW: {len(change.removed)} triples removed, {len(change.added)} added\n"
    return header + " ;\n".join(operations) + "\n"


# --- N-Quads lines and the human summary ------------------------------------------------------------------


def as_nquads(change: Change) -> str:
    """``- `` before each removed quad and ``+ `` before each added one, in N-Quads, sorted by quad."""
    lines = [(quad_text(q), 0, "- ") for q in change.removed] + [(quad_text(q), 1, "+ ") for q in change.added]
    return "".join(sign + text + "\n" for text, _, sign in sorted(lines))


class _Shortener:
    def __init__(self, base_iri: str):
        # longest namespace first, so a namespace nested in another wins
        self.prefixes = sorted(all_prefixes(base_iri).items(), key=lambda item: -len(item[1]))

    def __call__(self, term: Node) -> str:
        if isinstance(term, Literal):
            if term.datatype is not None and not term.language and term.datatype != XSD_STRING:
                return term_text(Literal(str(term))) + "^^" + self(term.datatype)
            return term_text(term)
        if isinstance(term, URIRef):
            for prefix, namespace in self.prefixes:
                if term.startswith(namespace) and term != namespace:
                    return f"{prefix}:{term[len(namespace) :]}"
        return term_text(term)


def summary(change: Change, labels: dict[URIRef, str] | None = None, *, base_iri: str = DEFAULT_BASE_IRI) -> str:
    """The change grouped by entity (subject), with labels, and the totals.

    A blank-node structure is listed under the named subject it hangs from (the subject of a triple whose
    object is one of its blank nodes), else under "(blank node structures)". ``labels`` default to the
    labels found in the change itself.
    """
    if change.is_empty:
        return "no difference\n"
    short = _Shortener(base_iri)
    if labels is None:
        labels = labels_from(change.removed, change.added)
    signed = [("-", q) for q in change.removed] + [("+", q) for q in change.added]
    # the structure's anchor is the first named subject pointing into it
    _, structures = blank_node_structures(change.removed + change.added)
    anchor: dict[Node, URIRef | None] = {}
    for structure in structures:
        named = sorted(s for s, _, o, _ in structure if isinstance(s, URIRef) and isinstance(o, BNode))
        for s, _, o, _ in structure:
            for node in (s, o):
                if isinstance(node, BNode):
                    anchor[node] = named[0] if named else None
    graphs = {q[3] for _, q in signed}
    groups: dict[Node | None, list[tuple[tuple, str]]] = defaultdict(list)
    for sign, (s, p, o, g) in signed:
        owner = anchor[s] if isinstance(s, BNode) else s
        hanging = isinstance(s, BNode)
        where = "" if len(graphs) == 1 else f"  [{'default graph' if g is None else short(g)}]"
        text = f"{sign} {short(s) + ' ' if hanging else ''}{short(p)} {short(o)}{where}"
        # own triples first, then hanging ones; a removed value just before the value that replaces it
        groups[owner].append(((hanging, term_text(s) if hanging else "", term_text(p), sign == "+", text), text))
    lines = []
    for owner in sorted(groups, key=lambda o: (o is None, "" if o is None else str(o))):
        entries = sorted(groups[owner])
        plus = sum(1 for _, text in entries if text.startswith("+"))
        if owner is None:
            title = "(blank node structures)"
        else:
            title = short(owner) + (f" ({labels[owner]})" if isinstance(owner, URIRef) and owner in labels else "")
        lines.append(f"{title}  +{plus} -{len(entries) - plus}")
        lines += [f"    {text}" for _, text in entries]
    entities = sum(1 for owner in groups if owner is not None)
    lines.append("")
    added = len(change.added)
    lines.append(
        f"{added} {'triple' if added == 1 else 'triples'} added, {len(change.removed)} removed, "
        f"{entities} {'entity' if entities == 1 else 'entities'} touched"
    )
    return "\n".join(lines) + "\n"
