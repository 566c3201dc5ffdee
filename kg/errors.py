"""One exception hierarchy. Each error knows its HTTP status and CLI exit code.

Exit codes follow pySHACL: 0 ok, 1 the data does not conform, 2 usage, configuration or input error.
"""

from __future__ import annotations


class KGError(Exception):
    """Base of every error this project raises on purpose."""

    http_status = 500
    exit_code = 2

    def __init__(self, message: str, *, details: list[str] | None = None):
        super().__init__(message)
        self.message = message
        self.details = details or []

    def __str__(self) -> str:
        if not self.details:
            return self.message
        return self.message + "\n" + "\n".join(f"  - {d}" for d in self.details)


class ConfigError(KGError):
    """A setting is missing or malformed."""

    http_status = 500


class SeedTableError(KGError):
    """A seed table or its metadata is unreadable, or a cell breaks its column's declaration."""

    http_status = 400


class MappingError(KGError):
    """A mapping file is malformed or does not fit its table."""

    http_status = 500


class InconsistencyError(KGError):
    """OWL RL reasoning found the graph inconsistent."""

    http_status = 422
    exit_code = 1


class StoreError(KGError):
    """The store cannot be opened, read or written."""

    http_status = 503


class UnsupportedFormat(KGError):
    """An RDF or result format that is not supported."""

    http_status = 415


class InputError(KGError):
    """Input data that cannot be read: unknown format, empty, or a syntax error (with line and column)."""

    http_status = 400


class ValidationFailed(KGError):
    """The data has SHACL violations; ``report`` holds them."""

    http_status = 422
    exit_code = 1

    def __init__(self, message: str, *, report=None):
        super().__init__(message)
        self.report = report


class Unavailable(KGError):
    """The server cannot take this request now (a limit was reached); the client may retry after
    ``retry_after`` seconds (the Retry-After header)."""

    http_status = 503
    retry_after = 5

    def __init__(self, message: str, *, retry_after: int | None = None):
        super().__init__(message)
        if retry_after is not None:
            self.retry_after = retry_after


class QuerySyntaxError(KGError):
    """A query the SPARQL parser rejects; the message is the parser's."""

    http_status = 400


class BadRequest(KGError):
    """A request that breaks the protocol: missing, repeated or conflicting parameters."""

    http_status = 400


class Forbidden(KGError):
    """An operation the configuration does not allow (updates on a read-only endpoint, SERVICE calls)."""

    http_status = 403


class NotAcceptable(KGError):
    """No result format the client accepts."""

    http_status = 406


class NotValidated(KGError):
    """An export of a store version that did not pass validation (or carries no report), not forced."""

    http_status = 409
    exit_code = 1


class NotFound(KGError):
    """A named thing (graph, version, resource) that does not exist."""

    http_status = 404


class Gone(KGError):
    """What was asked about existed and is no longer kept (an old store version): 410."""

    http_status = 410


class Unauthorized(KGError):
    """A write without credentials, where the operator has enabled writes with a token."""

    http_status = 401
