"""Errors become one JSON body: {"ok": false, "error": "...", "errors": [...], "status": N}; a browser (one
that prefers text/html to JSON) gets the same as a small HTML page.

``error_body`` is the only place the JSON is made: the Flask app's handlers and the SPARQL protocol handler
(``kg.web.protocol``, which runs without Flask) answer through ``error_response``, the server's front
and the partner-write route (a 422 with its report) use it directly.
"""

from __future__ import annotations

import json
import logging
from html import escape
from http import HTTPStatus

from flask import Flask, current_app, request
from werkzeug.exceptions import HTTPException, RequestEntityTooLarge
from werkzeug.wrappers import Response

from kg.errors import KGError

LOG = logging.getLogger("kg.web")


def error_body(status: int, message: str, details: list[str] | None = None, **extra) -> bytes:
    """The JSON error body (``extra`` adds members, such as a validation report); the server's front
    (``kg.serving.front_connection``) sends it too, for what it refuses before the app sees a request."""
    body = {"ok": False, "error": message, "errors": details or [], "status": status, **extra}
    return json.dumps(body, sort_keys=True, separators=(",", ":")).encode("utf-8") + b"\n"


def prefers_html(accept) -> bool:
    """Whether a client's Accept (werkzeug's MIMEAccept) prefers an HTML page to JSON: a browser does;
    curl, SPARQLWrapper and clients that send no Accept do not."""
    return accept.best_match(["application/json", "text/html"]) == "text/html"


def error_page(status: int, message: str, details: list[str] | None = None, root: str = "") -> bytes:
    """The error as an HTML page for people, with the server's stylesheet and a way back."""
    try:
        reason = HTTPStatus(status).phrase
    except ValueError:
        reason = "Error"
    root = escape(root)
    listed = "".join(f"<li>{escape(detail)}</li>" for detail in details or [])
    page = [
        '<!doctype html>\n<html lang="en"><head><meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>{status} {reason} · YRD knowledge graph</title>",
        f'<link rel="stylesheet" href="{root}/static/site.css"></head>',
        f'<body><main id="main"><h1>{status}: {reason}</h1>',
        f'<p class="error" role="alert">{escape(message)}</p>',
        f"<ul>{listed}</ul>" if listed else "",
        f'<p><a href="{root}/">Home</a> · <a href="{root}/query">Query</a></p></main></body></html>\n',
    ]
    return "".join(page).encode("utf-8")


def _body(status: int, message: str, details: list[str] | None = None, html_root: str | None = None) -> Response:
    if html_root is not None:
        return Response(error_page(status, message, details, html_root), status=status, mimetype="text/html")
    return Response(error_body(status, message, details), status=status, mimetype="application/json")


def error_response(error: Exception, max_body_bytes: int | None, html_root: str | None = None) -> Response:
    """The answer for ``error``: JSON, or with ``html_root`` (the app's root path, for a browser) a page; an
    error this project did not raise on purpose is logged and is 500."""
    if isinstance(error, KGError):
        response = _body(error.http_status, error.message, error.details, html_root)
        if error.http_status == 401:
            response.headers["WWW-Authenticate"] = 'Bearer realm="kg"'
        retry_after = getattr(error, "retry_after", None)  # Unavailable and its kinds
        if retry_after:
            response.headers["Retry-After"] = str(retry_after)
        return response
    if isinstance(error, RequestEntityTooLarge):
        return _body(
            413,
            f"the request body is larger than the limit of {max_body_bytes} bytes (setting max_body_bytes)",
            html_root=html_root,
        )
    if isinstance(error, HTTPException):
        response = _body(error.code or 500, error.description or error.name, html_root=html_root)
        for name, value in error.get_headers():  # e.g. Allow on 405
            if name.lower() != "content-type":
                response.headers[name] = value
        return response
    LOG.error("unexpected error", exc_info=error)
    return _body(500, "internal error; the server log has the details", html_root=html_root)


def register_error_handlers(app: Flask) -> None:
    @app.errorhandler(Exception)
    def every_error(error: Exception):
        root = request.script_root if prefers_html(request.accept_mimetypes) else None
        return error_response(error, current_app.config.get("MAX_CONTENT_LENGTH"), root)
