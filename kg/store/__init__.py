"""The store: every use of pyoxigraph, one module per responsibility.

- ``terms``: RDF terms, and their conversion between rdflib (the build's) and pyoxigraph (the store's);
- ``rdf_io``: RDF documents read (entity declarations in RDF/XML refused) and written (N-Triples text,
  sorted and canonical serialisations);
- ``in_memory``: queries outside the published store: parameters bound as VALUES, the mappings' SELECT
  over rows, the in-memory stores validation fills;
- ``versions``: store versions and publishing them: staging, the atomic switch, the write lock, pruning,
  and the digest that names a version;
- ``results``: query results written within the row cap and the byte bound (``Answer``);
- ``embedded``: ``EmbeddedStore``, the published store opened read-only, and its copy in memory;
- ``remote``: ``RemoteStore``, a SPARQL 1.1 store elsewhere answering as the embedded one does, and ``kg push``.
- ``graph_store``: writes through the Graph Store Protocol (``kg push``), with the authentication a store asks for.

Each name is imported from the module that defines it: this package re-exports nothing, so the import
graph (tests/test_boundaries.py) shows which part of the store a module uses.
"""
