"""YRD knowledge graph: ontology, curated facts, mappings, reasoning and a SPARQL store."""

__version__ = "0.1.0"
