"""Security headers on every response, as WSGI middleware around the whole app.

It wraps the Flask app and the SPARQL protocol handler beside it, so pages, JSON errors, static files and
the endpoint's answers, given without Flask, all carry the same headers. The policy allows this server's own
scripts and stylesheets (the query editor's, kg/static) and nothing inline and nothing from elsewhere: no
inline script, no ``eval``; the standalone validation report (``POST /validate?report=html``) keeps its one
inline style block, allowed by its hash.
"""

from __future__ import annotations

import base64
import hashlib
import re
from importlib import resources


def _report_style_hash() -> str:
    template = resources.files("kg").joinpath("templates/report.html").read_text(encoding="utf-8")
    found = re.search(r"<style>(.*?)</style>", template, re.S)
    if found is None:
        return ""
    digest = base64.b64encode(hashlib.sha256(found.group(1).encode("utf-8")).digest()).decode("ascii")
    return f" 'sha256-{digest}'"


CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self'; object-src 'none'; "
    f"style-src 'self'{_report_style_hash()}; img-src 'self' data:; base-uri 'none'; "
    "form-action 'self'; frame-ancestors 'none'"
)

#: Headers every response carries (unless a route set its own value).
SECURITY_HEADERS = (
    ("Content-Security-Policy", CONTENT_SECURITY_POLICY),
    ("X-Content-Type-Options", "nosniff"),
    ("X-Frame-Options", "DENY"),
    ("Referrer-Policy", "no-referrer"),
)
_NAMES = {name.lower() for name, _ in SECURITY_HEADERS}


class SecurityHeaders:
    """WSGI middleware: adds SECURITY_HEADERS to every response of ``app`` that lacks them (the Flask app
    sets them itself, so that it is whole without the middleware; the protocol handler's answers get them here)."""

    def __init__(self, app):
        self.app = app

    def __call__(self, environ, start_response):
        def with_headers(status, headers, exc_info=None):
            present = {name.lower() for name, _ in headers} & _NAMES
            extra = [(name, value) for name, value in SECURITY_HEADERS if name.lower() not in present]
            return (
                start_response(status, [*headers, *extra], exc_info)
                if exc_info
                else start_response(status, [*headers, *extra])
            )

        return self.app(environ, with_headers)
