"""YRD knowledge graph: ontology, curated facts, mappings, reasoning and a SPARQL store."""

import logging
import warnings

__version__ = "0.1.0"

# rdflib logs a warning with a traceback for each literal whose text is not a value of its datatype, every
# time it makes one ("x"^^xsd:decimal in partner data, on every page view of it), and warns of each odd
# boolean; kg names such literals itself (kg.reasoning.owl_rl.literal_problem), so on the CLI and in the
# server's log they are noise. An operator who configured the logger keeps their level.
if logging.getLogger("rdflib.term").level == logging.NOTSET:
    logging.getLogger("rdflib.term").setLevel(logging.ERROR)
warnings.filterwarnings("ignore", message="Parsing weird boolean", category=UserWarning, module="rdflib")
