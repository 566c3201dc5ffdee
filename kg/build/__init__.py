"""The build's stages: seed tables read, mapped to RDF with provenance, display labels derived, in the order
kg.build.pipeline runs them."""
