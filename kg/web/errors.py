"""Errors become one JSON body: {"ok": false, "error": "...", "errors": [...], "status": N}.

``error_body`` is the only place it is made: the Flask app's handlers and the SPARQL protocol handler
(``kg.web.protocol``, which runs without Flask) answer through ``error_response``, the server's front
and the partner-write route (a 422 with its report) use it directly.
"""

from __future__ import annotations

import json
import logging

from flask import Flask, current_app
from werkzeug.exceptions import HTTPException, RequestEntityTooLarge
from werkzeug.wrappers import Response

from kg.errors import KGError

LOG = logging.getLogger("kg.web")


def error_body(status: int, message: str, details: list[str] | None = None, **extra) -> bytes:
    """The JSON error body (``extra`` adds members, such as a validation report); the server's front
    (``kg.serving.front_connection``) sends it too, for what it refuses before the app sees a request."""
    body = {"ok": False, "error": message, "errors": details or [], "status": status, **extra}
    return json.dumps(body, sort_keys=True, separators=(",", ":")).encode("utf-8") + b"\n"


def _body(status: int, message: str, details: list[str] | None = None) -> Response:
    return Response(error_body(status, message, details), status=status, mimetype="application/json")


def error_response(error: Exception, max_body_bytes: int | None) -> Response:
    """The JSON answer for ``error``; an error this project did not raise on purpose is logged and is 500."""
    if isinstance(error, KGError):
        response = _body(error.http_status, error.message, error.details)
        if error.http_status == 401:
            response.headers["WWW-Authenticate"] = 'Bearer realm="kg"'
        retry_after = getattr(error, "retry_after", None)  # Unavailable and its kinds
        if retry_after:
            response.headers["Retry-After"] = str(retry_after)
        return response
    if isinstance(error, RequestEntityTooLarge):
        return _body(
            413, f"the request body is larger than the limit of {max_body_bytes} bytes (setting max_body_bytes)"
        )
    if isinstance(error, HTTPException):
        response = _body(error.code or 500, error.description or error.name)
        for name, value in error.get_headers():  # e.g. Allow on 405
            if name.lower() != "content-type":
                response.headers[name] = value
        return response
    LOG.error("unexpected error", exc_info=error)
    return _body(500, "internal error; the server log has the details")


def register_error_handlers(app: Flask) -> None:
    @app.errorhandler(Exception)
    def every_error(error: Exception):
        return error_response(error, current_app.config.get("MAX_CONTENT_LENGTH"))
