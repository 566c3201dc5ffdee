"""Validation over HTTP: the latest build's report, and validation of partner data sent in a POST."""

from __future__ import annotations

from flask import Blueprint, Response, request

from kg.errors import NotAcceptable
from kg.validation.report_formats import MEDIA_TYPES, render
from kg.web.negotiation import negotiate, upload_format
from kg.web.state import web_state

validation = Blueprint("validation", __name__)
#: Accept media type -> report format name; JSON first, the default
REPORT_TYPES = {"application/json": "json", "text/turtle": "turtle", "text/plain": "text", "text/html": "html"}


def _report_format() -> str:
    return negotiate(
        REPORT_TYPES,
        request.accept_mimetypes,
        request.args.get("report"),
        unknown="report {named!r} is not a report format; use one of {names}",
        unacceptable=f"a report is available as {', '.join(REPORT_TYPES)}",
    )


@validation.get("/validation")
def latest_report():
    """The report of the build the store holds."""
    fmt = _report_format()
    store = web_state().store.get()
    if fmt == "html":  # the page, with the focus nodes linked to their entity pages
        from kg.web.pages import validation_page

        return validation_page(store)
    body = store.attachment(f"report.{fmt}")
    if body is None:
        raise NotAcceptable(f"the published build has no {fmt} report; rebuild with this version of kg")
    return Response(body, headers={"Content-Type": MEDIA_TYPES[fmt]})


@validation.post("/validate")
def validate_upload():
    """Validate the RDF document in the body (its Content-Type names the format) beside the published graph."""
    from kg.validation.partner_check import validate_documents
    from kg.web.curation import FORM_TYPES, check_form

    if request.mimetype in FORM_TYPES:  # the validate page's form: a file or pasted text
        return check_form()
    settings = web_state().settings
    input_format = upload_format(request.mimetype)
    fmt = _report_format()
    context = request.args.get("context", "true").lower() != "false"
    documents = [(request.get_data(), input_format, "the request body")]
    # anyone may ask, and a megabyte of RDF can take a while: within the time limit of a query
    report = web_state().evaluator.call(
        lambda: validate_documents(settings, documents, context=context),
        what="checking the document",
        advice="send it in smaller parts",
    )
    return Response(
        render(report, format=fmt, base_iri=settings.base_iri),
        headers={"Content-Type": MEDIA_TYPES[fmt], "X-Conforms": str(report.conforms).lower()},
    )
