"""Health and version endpoints."""

from __future__ import annotations

import os

from flask import Blueprint, jsonify

from kg import __version__
from kg.serving import outbound_guard
from kg.web.state import web_state

meta = Blueprint("meta", __name__)


@meta.get("/health")
def health():
    store = web_state().store.get()
    served_from = "remote" if getattr(store, "remote", False) else "memory" if store.in_memory else "disk"
    guard = outbound_guard.status
    outbound = (
        {"blocked": guard[0], "by" if guard[0] else "why_not": guard[1]}
        if guard is not None
        else {"blocked": False, "why_not": "not served by kg serve (no worker left the network)"}
    )
    return jsonify(
        {
            "ok": True,
            "build": store.build_id,
            "triples": len(store),
            "served_from": served_from,
            "worker": os.getpid(),
            "outbound": outbound,
        }
    )


@meta.get("/version")
def version():
    import pyoxigraph
    import rdflib

    store = web_state().store.get()
    return jsonify(
        {"kg": __version__, "build": store.build_id, "pyoxigraph": pyoxigraph.__version__, "rdflib": rdflib.__version__}
    )
