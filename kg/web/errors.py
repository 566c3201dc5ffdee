"""Errors become one JSON body: {"ok": false, "error": "...", "status": N}. The only place this happens."""

from __future__ import annotations

from flask import Flask, current_app, jsonify
from werkzeug.exceptions import HTTPException, RequestEntityTooLarge

from kg.errors import KGError


def _body(status: int, message: str, details: list[str] | None = None):
    response = jsonify({"ok": False, "error": message, "errors": details or [], "status": status})
    response.status_code = status
    return response


def register_error_handlers(app: Flask) -> None:
    @app.errorhandler(KGError)
    def known(error: KGError):
        response = _body(error.http_status, error.message, error.details)
        if error.http_status == 401:
            response.headers["WWW-Authenticate"] = 'Bearer realm="kg"'
        if getattr(error, "retry_after", None):
            response.headers["Retry-After"] = str(error.retry_after)
        return response

    @app.errorhandler(RequestEntityTooLarge)
    def too_large(error: RequestEntityTooLarge):
        limit = current_app.config.get("MAX_CONTENT_LENGTH")
        return _body(413, f"the request body is larger than the limit of {limit} bytes (setting max_body_bytes)")

    @app.errorhandler(HTTPException)
    def http(error: HTTPException):
        return _body(error.code or 500, error.description or error.name)

    @app.errorhandler(Exception)
    def unexpected(error: Exception):
        current_app.logger.exception("unexpected error")
        return _body(500, "internal error; the server log has the details")
