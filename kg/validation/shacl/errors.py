"""The SHACL engine's errors: shapes it cannot use, or cannot check."""

from __future__ import annotations


class ShaclError(ValueError):
    """The shapes cannot be used (where pyshacl raises too), or a value cannot be compared as SHACL asks."""


class UnsupportedShapes(ShaclError):
    """The shapes graph uses features this engine does not implement; ``features`` names them."""

    def __init__(self, features: list[str]):
        super().__init__("SHACL features not supported by kg.validation.shacl: " + "; ".join(features))
        self.features = features


class Unsupported(Exception):
    """Raised while compiling a shape that uses something this engine does not implement; ``supported``
    turns it into one of the problems it lists (internal: callers see ``UnsupportedShapes``)."""
