"""SPARQL-based constraints (sh:sparql SELECT constraints): pyshacl's checks of a query, the rewrite that
runs it once over all focus nodes (``$this`` joined to the focus pattern at the start of the WHERE
clause, where that equals pyshacl's pre-binding; ``Unsupported`` elsewhere), and its rows as pyshacl's
results and messages."""

from __future__ import annotations

import re

from rdflib import BNode, Literal
from rdflib.term import Node

from kg.sparql_text import code_only
from kg.store.terms import from_ox
from kg.validation.shacl import rewrite
from kg.validation.shacl.errors import ShaclError, Unsupported
from kg.validation.shacl.focus import Focus
from kg.validation.shacl.results import Result, result_messages
from kg.validation.shacl.shapes import SH, Shape, node_name
from kg.validation.shacl.syntax import collect_prefixes, merge_prefixes, sparql_path, sparql_term, split_prologue

#: A row of a SPARQL constraint as pyshacl keeps it: a failure (True, its bindings), or a violation (this,
#: path, value, the other bindings).
_Violation = tuple[bool, dict[str, Node]] | tuple[Node | None, Node | None, Node | None, dict[str, Node]]


class SparqlConstraint:
    """One sh:sparql constraint, its query rewritten to run over all focus nodes at once."""

    _MINUS = re.compile(r"^(?:[^#]*|M)(?!#)#?[^\?\$\#]M?INUS[\s\{]", re.M | re.I)
    _VALUES = re.compile(r"^(?!\s*#).*?(?<![\w\-\:])VALUES\b(?:\s*(?:\(|[\?\$]\w+|\{|\w|\s))", re.M | re.I)
    _SERVICE = re.compile(r"^(?:[^#]*|S)(?!#)#?[^\?\$\#]S?ERVICE[\s\<]", re.M | re.I)
    _NESTED = re.compile(r"SELECT[\s\(\)\$\?\a-z]*\{[^\}]*SELECT\s+((?:(?:[\?\$]\w+\s+)|(?:\*\s+))+)", re.M | re.I)
    _AS_VAR = re.compile(r"[^\w]+AS[\s]+[\$\?](\w+)", re.M | re.I)
    _THIS = re.compile(r"[?$]this\b")
    _PATH = re.compile(r"([\s{}()])[\$\?]PATH", re.M)
    _SG = re.compile(r"([\s{}()])[\$\?]shapesGraph", re.M)
    _CS = re.compile(r"([\s{}()])[\$\?]currentShape", re.M)
    _AGGREGATE = re.compile(r"\b(COUNT|SUM|MIN|MAX|AVG|SAMPLE|GROUP_CONCAT)\s*\(", re.I)

    def __init__(self, shape: Shape, node):
        sg = shape.model.sg
        self.node = node
        selects = list(sg.objects(node, SH.select))
        if len(selects) != 1 or not isinstance(selects[0], Literal):
            raise ShaclError(f"{node_name(shape.node)}: a SPARQL constraint needs exactly one sh:select string")
        messages = list(sg.objects(node, SH.message))
        self.messages = set(messages) or None
        deactivated = next(sg.objects(node, SH.deactivated), None)
        self.deactivated = bool(deactivated.value) if isinstance(deactivated, Literal) else False
        text = str(selects[0])
        self._check(text)
        if self._SG.search(text):
            raise Unsupported("$shapesGraph in a SPARQL constraint")
        if self._CS.search(text):
            if isinstance(shape.node, BNode):
                raise Unsupported("$currentShape in a SPARQL constraint of a blank-node shape")
            text = self._CS.sub(lambda m: m.group(1) + sparql_term(shape.node), text)
        if shape.is_property:
            text = self._PATH.sub(lambda m: m.group(1) + sparql_path(sg, shape.path), text)
        elif self._PATH.search(text):
            raise ShaclError("SPARQL constraint text has $PATH in it, but no path is known on this shape")
        self.prefixes = collect_prefixes(sg, node)
        own, body = split_prologue(text)
        self.prefixes.update(own)
        self.body = rewrite.minus_rewrite(body)
        self._plan()

    def _check(self, text: str) -> None:
        """pyshacl's own checks of a SPARQL constraint (it refuses these queries)."""
        if self._MINUS.search(text):
            raise ShaclError("A SPARQL Constraint must not contain a MINUS clause.")
        if self._VALUES.search(text):
            raise ShaclError("A SPARQL Constraint must not contain a VALUES clause.")
        if self._SERVICE.search(text):
            raise ShaclError("A SPARQL Constraint must not contain a federated query (SERVICE).")
        nested = self._NESTED.search(text)
        if nested:
            names = [v.lstrip("$?") for v in nested.group(1).split()]
            if names == ["*"] or "this" not in names:
                raise ShaclError("All potentially pre-bound variables must be selected from a nested SELECT query.")
        assigned = self._AS_VAR.search(text)
        if assigned and assigned.group(1) in {"this", "shapesGraph", "currentShape"}:
            raise ShaclError(f"Cannot use AS to re-bind potentially pre-bound variables such as {assigned.group(1)}")

    def _plan(self) -> None:
        """Where to join the focus nodes in, and whether that keeps pyshacl's pre-binding semantics."""
        code = code_only(self.body)
        select = re.match(r"\s*SELECT\b", code, re.I)
        if not select:
            raise Unsupported("a SPARQL constraint that is not a SELECT query")
        open_brace = code.find("{")
        if open_brace < 0:
            raise ShaclError("a SPARQL constraint without a WHERE clause")
        close_brace = rewrite.matching(code, open_brace)
        clause = code[select.end() : open_brace]
        clause = re.sub(r"\bWHERE\s*$", "", clause.rstrip(), flags=re.I)
        modifiers = code[close_brace + 1 :]
        if re.search(r"\b(LIMIT|OFFSET)\b", modifiers, re.I):
            raise Unsupported("LIMIT or OFFSET in a SPARQL constraint")
        star = re.match(r"\s*(DISTINCT|REDUCED)?\s*\*", clause, re.I) is not None
        # the projected variables: plain ?x, and (expression AS ?x)
        depth, names = 0, []
        for match in re.finditer(r"[()]|[?$]\w+|\bAS\s+[?$](\w+)", clause, re.I):
            token = match.group(0)
            if token == "(":
                depth += 1
            elif token == ")":
                depth -= 1
            elif match.group(1):
                names.append(match.group(1))
            elif depth == 0:
                names.append(token[1:])
        self.star = star
        self.projected = set(names)
        self.projects_this = star or "this" in self.projected
        aggregates = self._AGGREGATE.search(clause) or self._AGGREGATE.search(modifiers)
        group = re.search(r"\bGROUP\s+BY\b(.*?)(\bHAVING\b|\bORDER\b|$)", modifiers, re.I | re.S)
        if aggregates and not group:
            raise Unsupported("aggregates without GROUP BY $this in a SPARQL constraint")
        if group and not self._THIS.search(group.group(1)):
            raise Unsupported("GROUP BY without $this in a SPARQL constraint")
        self._check_scopes(code, open_brace, close_brace)
        self.open_brace = open_brace
        self.select_end = select.end()

    def _check_scopes(self, code: str, start: int, end: int) -> None:
        """Every $this must sit where joining the focus nodes first equals pre-binding it: directly in the
        WHERE group, anywhere inside (NOT) EXISTS, directly in a top-level OPTIONAL, or in a top-level
        group of triple patterns only (a UNION branch)."""
        stack: list[tuple[str, int]] = []
        i = start + 1
        while i < end:
            ch = code[i]
            if ch == "{":
                before = code[start:i].rstrip()
                after = code[i + 1 :].lstrip()
                if re.match(r"SELECT\b", after, re.I):
                    kind = "select"
                elif re.search(r"\bOPTIONAL$", before, re.I):
                    kind = "optional"
                elif re.search(r"\bEXISTS$", before, re.I):
                    kind = "exists"
                elif re.search(r"\bWHERE$", before, re.I):
                    kind = "where"
                elif re.search(r"\bGRAPH\s+\S+$", before, re.I):
                    kind = "graph"
                else:
                    kind = "group"
                stack.append((kind, i))
            elif ch == "}":
                stack.pop()
            elif code.startswith(("?this", "$this"), i) and not re.match(r"\w", code[i + 5 : i + 6]):
                kinds = [k for k, _ in stack]
                if not kinds or kinds[0] == "exists":
                    pass
                elif kinds == ["optional"]:
                    pass
                elif kinds == ["group"]:
                    group_start = stack[0][1]
                    group_text = code[group_start + 1 : rewrite.matching(code, group_start)]
                    if re.search(
                        r"[{}]|\b(FILTER|BIND|OPTIONAL|MINUS|VALUES|SELECT|EXISTS|SERVICE|GRAPH)\b", group_text, re.I
                    ):
                        raise Unsupported("$this inside a nested group with filters in a SPARQL constraint")
                else:
                    raise Unsupported(f"$this inside a nested {kinds[-1]} pattern in a SPARQL constraint")
            i += 1

    def query(self, focus: Focus) -> tuple[str, dict[str, str]]:
        body = self.body
        prefixes = dict(self.prefixes)
        merge_prefixes(prefixes, focus.prefixes)
        inner = body[: self.open_brace + 1] + " " + focus.pattern("?this") + " " + body[self.open_brace + 1 :]
        if not self.projects_this:
            modifier = re.match(r"\s*(DISTINCT|REDUCED)\b", code_only(inner[self.select_end :]), re.I)
            at = self.select_end + (modifier.end() if modifier else 0)
            inner = inner[:at] + " ?this " + inner[at:]
        return inner, prefixes


def sparql_constraints(engine, shape: Shape, focus: Focus, results: list[Result], dry: bool) -> int:
    """Run the sh:sparql constraints of ``shape`` (compile only when ``dry``); adds their results to
    ``results`` and returns how many. ``engine`` runs the queries and keeps the compiled constraints."""
    count = 0
    for node in shape.objects(SH.sparql):
        constraint = _constraint(engine, shape, node)
        if constraint.deactivated:
            continue
        query, prefixes = constraint.query(focus)
        if dry:
            continue
        count += _results(engine, shape, constraint, query, prefixes, results)
    return count


def _constraint(engine, shape: Shape, node) -> SparqlConstraint:
    key = (shape.node, node)
    if key not in engine.sparql_cache:
        engine.sparql_cache[key] = SparqlConstraint(shape, node)
    return engine.sparql_cache[key]


def _results(engine, shape, constraint: SparqlConstraint, query, prefixes, results) -> int:
    """pyshacl's SPARQLBasedConstraint results, from the rows of all focus nodes at once."""
    names, rows = engine.select(query, prefixes, variables=True)
    per_focus: dict[Node, list[dict[str, Node]]] = {}
    for row in rows:
        focus_node = from_ox(row["this"])
        bound: dict[str, Node] = {}
        for name in names:
            if name == "this" and not constraint.projects_this:
                continue  # joined in by the rewrite; pyshacl's row does not hold it
            term = row[name]
            if term is not None:
                bound[name] = from_ox(term)
        per_focus.setdefault(focus_node, []).append(bound)
    count = 0
    node_shape = not shape.is_property
    for focus_node, bindings in per_focus.items():
        violations: list[_Violation] = []
        failure_seen = False
        for bound in bindings:
            bound = dict(bound)
            if bound.pop("failure", None) is not None:
                if not failure_seen:
                    violations.append((True, bound))
                    failure_seen = True
                continue
            p, v, t = bound.pop("path", None), bound.pop("value", None), bound.pop("this", None)
            if p is None and v is None and t is None:
                continue  # pyshacl ignores a row that binds none of this, path and value
            entry = (t, p, v, bound)
            if entry not in violations:
                violations.append(entry)
        for violation in violations:
            if len(violation) == 2:  # a failure: (True, its bindings)
                fdict = violation[1]
                result = Result(
                    shape,
                    SH.SPARQLConstraintComponent,
                    focus_node,
                    focus_node if node_shape else None,
                    source_constraint=constraint.node,
                )
            else:
                t, p, v, bound = violation
                if v is None and node_shape:
                    v = focus_node
                fdict = dict(bound)
                for key, val in (("this", t), ("path", p), ("value", v)):
                    if val is not None:
                        fdict[key] = val
                result = Result(
                    shape, SH.SPARQLConstraintComponent, t or focus_node, v, path=p, source_constraint=constraint.node
                )
            result.messages = result_messages(
                shape, lambda a, b: [], result.focus, result.value, bound=fdict, extra=constraint.messages
            )
            results.append(result)
            count += 1
    return count
