"""Checks every request passes before a route sees it: a body streamed without Content-Length stays
within max_body_bytes, and the URL and form body are UTF-8. The Flask app runs them before each route, and
the SPARQL protocol handler (``kg.web.protocol``) on its own requests."""

from __future__ import annotations

import re
from urllib.parse import unquote_to_bytes

from flask import Flask, current_app
from flask import request as current_request
from werkzeug.exceptions import RequestEntityTooLarge
from werkzeug.wrappers import Request

from kg.errors import BadRequest
from kg.limits.admission import CLIENT


class RememberClient:
    """WSGI middleware: the client's address, for the evaluator's fair shares (``kg.limits.admission.CLIENT``)."""

    def __init__(self, app):
        self.app = app

    def __call__(self, environ, start_response):
        CLIENT.set(environ.get("REMOTE_ADDR") or "")
        return self.app(environ, start_response)


def refuse_streamed_body_over_the_limit(request: Request, limit: int) -> None:
    """413 for a chunked body longer than the limit.

    Werkzeug answers 413 for a Content-Length over the limit, but reads a body streamed without one only
    up to the limit and stops there without a word (Werkzeug 3.1.9, ``LimitedStream.readall``): a
    partner's upload would have been cut short and imported in part. Whatever still follows the limit
    in the stream makes it too large.
    """
    if request.content_length is not None or request.method not in ("POST", "PUT", "PATCH"):
        return
    if len(request.get_data()) >= limit and request.environ["wsgi.input"].read(1):
        raise RequestEntityTooLarge()


_ESCAPED_HIGH_BYTE = re.compile(rb"%[89A-Fa-f][0-9A-Fa-f]")


def _percent_decoded(raw: bytes) -> bytes:
    """``raw`` percent-decoded, or ``raw`` itself where that is UTF-8 exactly when the decoded bytes are.

    An escape of a byte below 0x80 decodes to one ASCII byte, which ends a multi-byte sequence just as
    the escape's "%" does; only escapes of higher bytes can make or break one. The usual query has none,
    and unquote_to_bytes (a Python loop over every escape) had cost a noticeable share of a busy worker's
    time.
    """
    return unquote_to_bytes(raw) if _ESCAPED_HIGH_BYTE.search(raw) else raw


def refuse_invalid_utf8(request: Request) -> None:
    """400 for a URL or form body that is not UTF-8, as sent or once percent-decoded.

    Werkzeug would decode it with replacement characters, and the query would run on text its author
    never wrote.
    """
    # WSGI hands the path and the query string over as bytes read as Latin-1. The query string and a form
    # body must be UTF-8 both as sent (werkzeug decodes them so before it reads the escapes) and once
    # percent-decoded: "%C3" then a raw byte 0x80 is neither, though the two decode together to "À".
    query_string = request.environ.get("QUERY_STRING", "").encode("latin-1")
    parts = [
        ("path", "", request.environ.get("PATH_INFO", "").encode("latin-1")),
        ("query string", " as sent", query_string),
        ("query string", " once percent-decoded", _percent_decoded(query_string)),
    ]
    if request.mimetype == "application/x-www-form-urlencoded":
        body = request.get_data()
        parts += [("form body", " as sent", body), ("form body", " once percent-decoded", _percent_decoded(body))]
    for name, form, raw in parts:
        try:
            raw.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise BadRequest(
                f"the request's {name} is not valid UTF-8{form} "
                f"({exc.reason} at byte {exc.start}); encode the text as UTF-8"
            ) from exc


def register_request_guards(app: Flask) -> None:
    app.before_request(
        lambda: refuse_streamed_body_over_the_limit(current_request, current_app.config["MAX_CONTENT_LENGTH"])
    )
    app.before_request(lambda: refuse_invalid_utf8(current_request))
