"""A validation result, the data the engine finds and the report writes, and its messages as pyshacl
makes them (the shape's sh:message, else the component's generic one; SPARQL bindings filled in)."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from rdflib import Literal, URIRef
from rdflib.term import Node

if TYPE_CHECKING:
    from kg.validation.shacl.shapes import Shape

#: A constraint component's generic messages (pyshacl's make_generic_messages) for a focus node and a value
#: node (None where the result has no value, as for sh:minCount).
GenericMessages = Callable[[Node, Node | None], list]


@dataclass(eq=False)
class Result:
    """One validation result of ``shape``; ``path`` only where it is not the shape's own (sh:closed, SPARQL),
    ``details`` the results behind an sh:node result (sh:detail)."""

    shape: Shape
    component: URIRef
    focus: Node
    value: Node | None = None
    path: Node | None = None
    messages: list = field(default_factory=list)
    source_constraint: Node | None = None
    details: list = field(default_factory=list)


def result_messages(
    shape: Shape,
    generic: GenericMessages,
    focus: Node,
    value: Node | None,
    bound: dict | None = None,
    extra: set | None = None,
) -> list:
    """pyshacl's resultMessage values (ConstraintComponent.make_v_result)."""
    messages = list(shape.messages)
    out = []
    if extra:
        for m in extra:
            if m in messages:
                continue
            if isinstance(m, Literal) and bound is not None:
                m = Literal(_format(str(m.value), bound))
            out.append(m)
    elif not messages:
        messages = generic(focus, value) or messages
    for m in messages:
        if isinstance(m, Literal) and bound is not None:
            m = Literal(_format(str(m.value), bound))
        out.append(m)
    return out


def _format(message: str, bound: dict) -> str:
    """pyshacl's substitution of {$var} and {?var} in a SPARQL constraint's message."""
    for var, val in bound.items():
        pattern = f"{{[?$]{var}}}"
        try:
            message = re.sub(pattern, str(val), message)
        except re.error:
            message = re.sub(pattern, _verbatim(str(val)), message)
    return message


def _verbatim(text: str) -> Callable[[re.Match[str]], str]:
    """A replacement for ``re.sub`` that puts in ``text`` as it is (no backslash escapes, no groups)."""
    return lambda _: text
