"""Security headers on every response, as WSGI middleware around the whole app.

It wraps the Flask app and the SPARQL protocol handler beside it, so pages, JSON errors, static files and
the endpoint's answers, given without Flask, all carry the same headers. The policy allows this server's own
scripts and stylesheets (the query editor's, kg/static) and nothing inline and nothing from elsewhere: no
inline script, no ``eval``; the standalone validation report (``POST /validate?report=html``) keeps its one
inline style block, and the query editor its fixed style blocks and its one style attribute, each allowed
by its hash.
"""

from __future__ import annotations

import base64
import hashlib
import re
from importlib import resources


def _hash(text: str) -> str:
    return "'sha256-" + base64.b64encode(hashlib.sha256(text.encode("utf-8")).digest()).decode("ascii") + "'"


def _report_style_hash() -> str:
    template = resources.files("kg").joinpath("templates/report.html").read_text(encoding="utf-8")
    found = re.search(r"<style>(.*?)</style>", template, re.S)
    return "" if found is None else " " + _hash(found.group(1))


def _editor_style_hashes() -> str:
    """What the vendored query editor adds to its page, allowed by hash alone: the style blocks its column
    resizer injects (those whose text is fixed in the bundle) and the style attributes its HTML carries
    (one, on a tooltip's link; 'unsafe-hashes' admits no other inline style)."""
    bundle = resources.files("kg").joinpath("static/vendor/yasgui/yasgui.min.js")
    try:
        text = bundle.read_text(encoding="utf-8")
    except FileNotFoundError:
        return ""
    blocks = sorted({css for css in re.findall(r"createStyle\([^,()]+,`([^`]*)`", text) if "${" not in css})
    attributes = sorted(set(re.findall(r"style='([^'<>]*)'", text)))
    allowed = "".join(" " + _hash(css) for css in blocks)
    if attributes:
        allowed += " 'unsafe-hashes'" + "".join(" " + _hash(value) for value in attributes)
    return allowed


CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self'; object-src 'none'; "
    f"style-src 'self'{_report_style_hash()}{_editor_style_hashes()}; img-src 'self' data:; "
    "base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
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
