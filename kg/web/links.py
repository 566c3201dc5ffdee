"""Links made from data or for shared content, made safe.

- ``href``: where a page may link an IRI from the store or a query result. Only minted IRIs (to this
  server's entity pages) and http(s) IRIs become links; ``javascript:``, ``data:`` and every other scheme
  would run or open something in the reader's browser, and are shown as text.
- ``public``: an address in content shared by every client (the cached dump description, the service
  description, OpenAPI, Location and Link headers). It comes from the ``public_url`` setting, or stays a
  path (relative to the request); never from the request's Host header, which any client chooses.
- ``entity_iri``: the IRI a ``/id`` or ``/doc`` path names, or 400 when the path makes no IRI.
"""

from __future__ import annotations

import pyoxigraph as ox
from flask import request, url_for
from markupsafe import Markup, escape
from rdflib import URIRef

from kg.errors import BadRequest
from kg.web.state import web_state

WEB_SCHEMES = ("http://", "https://")


def href(iri) -> str | None:
    """The link target for ``iri``: its entity page when minted here, the IRI itself when http(s), else None."""
    base = web_state().settings.base_iri
    text = str(iri)
    if text.startswith(base + "id/"):
        return url_for("pages.document", rest=text[len(base) + 3 :])
    return text if text.lower().startswith(WEB_SCHEMES) else None


def anchor(iri, label) -> Markup:
    """``label`` linked to ``iri`` where ``href`` allows it, else as text (the IRI in its title)."""
    target = href(iri)
    if target is None:
        return Markup(f'<span class="iri" title="{escape(str(iri))}">{escape(label)}</span>')
    return Markup(f'<a href="{escape(target)}">{escape(label)}</a>')


def public(path: str) -> str:
    """``path`` (as ``url_for`` gives it, with the script root) as the settings' public URL, or as it is."""
    return public_address(web_state().settings.public_url, request.script_root, path)


def public_address(public_url: str, script_root: str, path: str) -> str:
    """``public`` outside Flask's request context: ``path`` under ``public_url`` (without ``script_root``)."""
    root = public_url.rstrip("/")
    if not root:
        return path
    return root + path[len(script_root) :] if path.startswith(script_root) else root + path


def public_url_for(endpoint: str, **values) -> str:
    return public(url_for(endpoint, **values))


def entity_iri(rest: str) -> URIRef:
    """The minted IRI ``BASE/id/{rest}``; BadRequest when it is not a well-formed IRI (a space, '<', '{'...)."""
    text = web_state().settings.base_iri + "id/" + rest
    try:
        ox.NamedNode(text)
    except ValueError as exc:
        raise BadRequest(f"the path names no well-formed IRI ({exc}): {text!r}") from None
    return URIRef(text)


def absolute_iri(text: str, what: str) -> str:
    """``text`` when it is an absolute IRI, else BadRequest naming ``what`` (a parameter)."""
    try:
        ox.NamedNode(text)
    except ValueError as exc:
        raise BadRequest(f"{what} must be an absolute IRI; {text!r} is not ({exc})") from None
    return text
