"""Curators in the browser: check a partner's file before it is imported, and import it with the write token.

``GET /validate`` is a form: a file to upload or RDF to paste (Turtle, N-Triples, JSON-LD, RDF/XML, TriG,
N-Quads; by the file's extension, or as chosen). Posted as a form to ``POST /validate``, it is checked
exactly as a program's POST is (``kg.validation.partner_check``, beside the published graph unless asked
not to), and the report comes back as a page grouped by entity, each result saying what to fix, with the
same report downloadable in every format (the page carries the data in a hidden form, so no upload is
kept on the server). ``POST /import`` takes the same form with the write token, a graph IRI and whether to
replace or add to it, and writes through ``kg.exchange.imports`` as the Graph Store Protocol does.
"""

from __future__ import annotations

import json
from collections import defaultdict

from flask import Blueprint, Response, render_template, request

from kg.errors import BadRequest, ValidationFailed
from kg.store.rdf_io import EXTENSIONS, RDF_FORMATS
from kg.validation.report_formats import MEDIA_TYPES, render
from kg.web.state import web_state

curation = Blueprint("curation", __name__)

FORM_TYPES = ("multipart/form-data", "application/x-www-form-urlencoded")
#: input format -> its name for people ("Turtle", "N-Triples", ...)
FORMATS = {name: rdf_format.name for name, rdf_format in RDF_FORMATS.items()}
REPORT_FORMATS = {"html": "HTML", "json": "JSON", "turtle": "SHACL Turtle", "text": "text"}
_DOWNLOAD_SUFFIX = {"html": "html", "json": "json", "turtle": "ttl", "text": "txt"}


def _posted() -> tuple[bytes, str, str]:
    """The data a form sent (an uploaded file, else the pasted text), its format and a name for it."""
    upload = request.files.get("file")
    data, name = b"", "the pasted text"
    if upload is not None and upload.filename:
        data, name = upload.read(), upload.filename
    if not data.strip():
        data = request.form.get("data", "").encode("utf-8")
        name = "the pasted text"
    if not data.strip():
        raise BadRequest("choose a file or paste the RDF to check")
    chosen = request.form.get("format", "auto")
    if chosen == "auto":
        ending = name.rsplit(".", 1)[-1].lower() if "." in name else ""
        chosen = EXTENSIONS.get(ending, "turtle")
    if chosen not in FORMATS:
        raise BadRequest(f"format {chosen!r} is not one of {', '.join(FORMATS)}")
    return data, chosen, name


def _by_entity(report_json: bytes) -> tuple[dict, list]:
    body = json.loads(report_json)
    entities: dict = defaultdict(list)
    for result in body["results"]:
        entities[(result["focus_label"] or "", result["focus"])].append(result)
    order = {"Violation": 0, "Warning": 1, "Info": 2}
    grouped = sorted(
        entities.items(), key=lambda item: (min(order.get(r["severity"], 3) for r in item[1]), item[0][0], item[0][1])
    )
    return body, grouped


@curation.get("/validate")
def validate_form():
    return render_template("pages/validate.html", title="Check partner data", formats=FORMATS, checked=None)


def check_form() -> Response:
    """``POST /validate`` from the form (``kg.web.validation`` sends form posts here)."""
    from kg.validation.partner_check import validate_documents

    settings = web_state().settings
    data, fmt, name = _posted()
    context = request.form.get("context", "on") == "on"
    report = web_state().evaluator.call(
        lambda: validate_documents(settings, [(data, fmt, name)], context=context),
        what="checking the document",
        advice="send it in smaller parts",
    )
    wanted = request.form.get("report", "html")
    if wanted not in REPORT_FORMATS:
        raise BadRequest(f"report {wanted!r} is not one of {', '.join(REPORT_FORMATS)}")
    if request.form.get("download"):
        body = render(report, format=wanted, base_iri=settings.base_iri)
        return Response(
            body,
            headers={
                "Content-Type": MEDIA_TYPES[wanted],
                "Content-Disposition": f'attachment; filename="report.{_DOWNLOAD_SUFFIX[wanted]}"',
                "X-Conforms": str(report.conforms).lower(),
            },
        )
    page = _page("Check partner data", report, settings.base_iri, name=name, fmt=fmt, data=data, context=context)
    return Response(page, headers={"X-Conforms": str(report.conforms).lower()})


def _page(title: str, report, base_iri: str, *, name: str, fmt: str, data: bytes, context: bool, **more) -> str:
    """The validate page with ``report`` (if any) grouped by entity and the checked data in its forms."""
    summary, grouped = _by_entity(render(report, format="json", base_iri=base_iri)) if report else (None, [])
    return render_template(
        "pages/validate.html",
        title=title,
        formats=FORMATS,
        report_formats=REPORT_FORMATS,
        checked={"name": name, "format": fmt, "data": data.decode("utf-8", "replace"), "context": context},
        summary=summary,
        entities=grouped,
        **more,
    )


@curation.post("/import")
def import_form():
    """Import the form's data into a partner graph, for holders of the write token."""
    from kg.exchange.imports import authorize, import_data
    from kg.web.data import write_slot

    settings = web_state().settings
    token = request.form.get("token") or None
    authorize(settings, token)  # before anything else: no work for an anonymous client
    data, fmt, name = _posted()
    graph = request.form.get("graph", "").strip()
    if not graph:
        raise BadRequest("name the partner graph to write (an absolute IRI)")
    append = request.form.get("mode", "replace") == "add"
    outcome: dict = {"graph": graph, "append": append}
    try:
        with write_slot(settings):
            result = import_data(
                settings,
                data,
                format=fmt,
                graph=graph,
                agent="curator (import form)",
                source_name=name,
                token=token,
                append=append,
            )
        outcome.update(ok=True, triples=result.triples, build=result.build_id, created=result.created)
        status, refused = (201 if result.created else 200), None
    except ValidationFailed as failure:
        outcome.update(ok=False, message=failure.message)
        status, refused = 422, failure.report
    page = _page(
        "Import partner data", refused, settings.base_iri, name=name, fmt=fmt, data=data, context=True,
        imported=outcome,
    )  # fmt: skip
    return Response(page, status=status)
