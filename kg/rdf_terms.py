"""The W3C vocabularies' terms (RDF, RDFS, OWL, XSD, SKOS, SHACL) as plain attributes, for the reasoner and the
SHACL engine, which name them in their inner loops.

rdflib's namespaces make a term on every attribute access (a DefinedNamespace also checks the name), which
those loops paid millions of times in a build; here each term is made once and read as an ordinary
attribute. ``SH["and"]`` reaches the terms that are Python keywords, ``str(OWL)`` is the namespace IRI, and a
term not listed in rdflib's definition is made on first use, as rdflib's plain Namespace makes it.
"""

from __future__ import annotations

from rdflib import URIRef
from rdflib.namespace import OWL as _OWL
from rdflib.namespace import RDF as _RDF
from rdflib.namespace import RDFS as _RDFS
from rdflib.namespace import SH as _SH
from rdflib.namespace import SKOS as _SKOS
from rdflib.namespace import XSD as _XSD


class Terms:
    """A namespace whose terms are attributes made once (see the module's docstring)."""

    def __init__(self, iri: str, names: list[str]) -> None:
        self.__dict__["_iri"] = iri
        self.__dict__.update({name: URIRef(iri + name) for name in names})

    def __getattr__(self, name: str) -> URIRef:
        """A term not made yet (called only when the attribute is missing)."""
        if name.startswith("__"):  # copy, pickle and the like probe for these
            raise AttributeError(name)
        term = self.__dict__[name] = URIRef(self.__dict__["_iri"] + name)
        return term

    def __getitem__(self, name: str) -> URIRef:
        return self.__dict__.get(name) or self.__getattr__(name)

    def __str__(self) -> str:
        return self.__dict__["_iri"]

    def __repr__(self) -> str:
        return f"Terms({self.__dict__['_iri']!r})"


def _terms(namespace) -> Terms:
    return Terms(str(namespace), [name for name in namespace.__annotations__ if not name.startswith("_")])


RDF, RDFS, OWL, XSD, SKOS, SH = (_terms(n) for n in (_RDF, _RDFS, _OWL, _XSD, _SKOS, _SH))
