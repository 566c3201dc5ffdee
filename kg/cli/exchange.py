"""The ``kg`` commands that move data in and out of the store and check it: export, validate, push, import,
drop, diff. They register on ``kg.cli.main`` when ``kg.cli`` is imported."""

from __future__ import annotations

import contextlib
import sys
from pathlib import Path

import click

from kg.cli import _settings, main
from kg.errors import KGError


@main.command()
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["turtle", "ntriples", "trig", "nquads", "jsonld", "rdfxml"]),
    default="turtle",
    show_default=True,
)
@click.option(
    "--graph",
    "graphs",
    multiple=True,
    help="all, one of ontology, asserted, inferred, provenance, shapes, or a graph IRI; repeatable (default: all).",
)
@click.option(
    "--profile", help="Keep only what this export profile names (see profiles/; 'kg export --list-profiles')."
)
@click.option("--list-profiles", is_flag=True, help="List the export profiles and exit.")
@click.option(
    "--force", is_flag=True, help="Export even if the build did not pass validation (the description says so)."
)
@click.option(
    "-o", "--output", type=click.Path(dir_okay=False, path_type=Path), help="Write to this file instead of stdout."
)
@click.option(
    "--description",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Write the VoID/DCAT description here (default with -o: beside it, as NAME.void.ttl).",
)
@click.pass_context
def export(
    ctx: click.Context,
    fmt: str,
    graphs: tuple[str, ...],
    profile: str | None,
    list_profiles: bool,
    force: bool,
    output: Path | None,
    description: Path | None,
) -> None:
    """Write what the store holds, deterministically, with its dataset description.

    Only a build that passed validation is exported unless --force is given (exit code 1 otherwise).
    """
    from kg.exchange.export import dump

    settings = _settings(ctx)
    if list_profiles:
        from kg.exchange.export import load_profiles

        for item in load_profiles(settings.path("profiles_dir"), settings.base_iri).values():
            click.echo(f"{item.id:<30} {item.label}")
        return
    result = dump(settings, format=fmt, graphs=list(graphs), profile_id=profile, force=force)
    _write(result.payload, output)
    if description is None and output is not None:
        description = output.with_name(output.name.split(".")[0] + ".void.ttl")
    if description is not None:
        _write(result.description, description)
    if not result.status.passed:
        click.echo("warning: this build did not pass validation; exported because --force was given", err=True)


@main.command()
@click.argument("files", nargs=-1, type=click.Path(dir_okay=False, path_type=Path))
@click.option(
    "--input-format",
    type=click.Choice(["turtle", "ntriples", "jsonld", "rdfxml", "trig", "nquads"]),
    help="Format of FILES (default: from each file's extension).",
)
@click.option(
    "--report",
    "report_format",
    type=click.Choice(["text", "json", "turtle", "html"]),
    default="text",
    show_default=True,
    help="Report format.",
)
@click.option(
    "--context/--no-context",
    default=True,
    show_default=True,
    help="Check FILES beside the published graph, so they may refer to its entities.",
)
@click.option("-o", "--output", type=click.Path(dir_okay=False, path_type=Path), help="Write the report to this file.")
@click.pass_context
def validate(
    ctx: click.Context,
    files: tuple[Path, ...],
    input_format: str | None,
    report_format: str,
    context: bool,
    output: Path | None,
) -> None:
    """Check the published graph, or partner data FILES, against the SHACL shapes and the ontology.

    Exit code 0: conforms (warnings allowed); 1: violations; 2: the input could not be read.
    """
    from kg.build.pipeline import validate_published
    from kg.validation.partner_check import validate_files
    from kg.validation.report_formats import render

    settings = _settings(ctx)
    if files:
        report = validate_files(settings, list(files), format=input_format, context=context)
    else:
        report = validate_published(settings)
    _write(render(report, format=report_format, base_iri=settings.base_iri), output)
    if not report.conforms:
        sys.exit(1)


def _write(data: bytes, output: Path | None) -> None:
    """Write to stdout, or atomically to a file; a file that cannot be written is an error (exit 2), not a
    traceback with exit 1, which would say "violations"."""
    if output is None:
        sys.stdout.buffer.write(data)
        return
    temporary = output.with_name(f".{output.name}.tmp")
    try:
        temporary.write_bytes(data)
        temporary.replace(output)
    except OSError as exc:
        with contextlib.suppress(OSError):
            temporary.unlink()
        raise KGError(
            f"cannot write {output}: {exc.strerror or exc}"
            + ("; the folder does not exist" if not output.parent.is_dir() else "")
        ) from None


@main.command()
@click.option(
    "--endpoint",
    "query_url",
    metavar="URL",
    required=True,
    help="The remote store's SPARQL query endpoint (Oxigraph server: http://host:7878/query; Virtuoso: "
    "http://host:8890/sparql).",
)
@click.option(
    "--data-url",
    metavar="URL",
    required=True,
    help="Its Graph Store Protocol endpoint (Oxigraph server: http://host:7878/store; Virtuoso: "
    "http://host:8890/sparql-graph-crud-auth).",
)
@click.option("--batch-size", type=int, default=50_000, show_default=True, help="Triples per request.")
@click.option(
    "--token", envvar="KG_REMOTE_TOKEN", help="Bearer token the remote store wants, if any (or KG_REMOTE_TOKEN)."
)
@click.option(
    "--user",
    envvar="KG_REMOTE_USER",
    help="User for the Graph Store endpoint's HTTP digest authentication (Virtuoso), if any (or KG_REMOTE_USER).",
)
@click.option(
    "--password",
    envvar="KG_REMOTE_PASSWORD",
    help="That user's password (or KG_REMOTE_PASSWORD; asked for when --user is given without it).",
)
@click.pass_context
def push(
    ctx: click.Context,
    query_url: str,
    data_url: str,
    batch_size: int,
    token: str | None,
    user: str | None,
    password: str | None,
) -> None:
    """Load the published build (every named graph) into a remote SPARQL 1.1 store, in batches.

    Each graph is replaced, so a push that failed half-way is rerun to completion.
    """
    from kg.store.embedded import EmbeddedStore
    from kg.store.remote import push as run_push

    settings = _settings(ctx)
    if user and password is None:
        password = click.prompt(f"Password of {user}", hide_input=True)
    counts = run_push(
        EmbeddedStore(settings.path("store_dir")),
        data_url=data_url,
        query_url=query_url,
        base_iri=settings.base_iri,
        batch_size=batch_size,
        token=token,
        credentials=(user, password or "") if user else None,
        progress=lambda message: click.echo(message, err=True),
    )
    click.echo(f"pushed {sum(counts.values())} triples in {len(counts)} graphs to {query_url}")


@main.command("import")
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--graph", required=True, help="IRI of the partner graph the data goes into (replaced unless --append).")
@click.option("--append", is_flag=True, help="Add to the graph instead of replacing it.")
@click.option(
    "--input-format",
    type=click.Choice(["turtle", "ntriples", "jsonld", "rdfxml", "trig", "nquads"]),
    help="Format of FILE (default: from its extension).",
)
@click.option("--agent", help="Who imports, recorded with the graph (default: the user name).")
@click.option("--token", envvar="KG_TOKEN", help="The operator's write token (or KG_TOKEN).")
@click.pass_context
def import_command(
    ctx: click.Context,
    file: Path,
    graph: str,
    append: bool,
    input_format: str | None,
    agent: str | None,
    token: str | None,
) -> None:
    """Add partner data FILE to the store as its own named graph, with who, when and from which file.

    The data is validated beside the published graph; with violations nothing is written, the report is
    printed and the exit code is 1.
    """
    import getpass

    from kg.errors import InputError, ValidationFailed
    from kg.exchange.imports import import_data
    from kg.store.rdf_io import format_for
    from kg.validation.report_formats import to_text

    settings = _settings(ctx)
    try:
        data = file.read_bytes()
    except OSError as exc:
        raise InputError(f"{file}: cannot read ({exc.strerror})") from exc
    try:
        result = import_data(
            settings,
            data,
            format=format_for(file, input_format),
            graph=graph,
            agent=agent or getpass.getuser(),
            source_name=file.name,
            token=token,
            append=append,
        )
    except ValidationFailed as failure:
        sys.stdout.buffer.write(to_text(failure.report, base_iri=settings.base_iri))
        raise
    click.echo(f"imported {result.triples} triples into <{result.graph}>; published build {result.build_id}")


@main.command("drop")
@click.argument("graph")
@click.option("--token", envvar="KG_TOKEN", help="The operator's write token (or KG_TOKEN).")
@click.pass_context
def drop_command(ctx: click.Context, graph: str, token: str | None) -> None:
    """Remove the imported partner graph GRAPH (and its import record) from the store."""
    from kg.exchange.imports import drop_graph

    build_id = drop_graph(_settings(ctx), graph, token=token)
    click.echo(f"removed <{graph}>; published build {build_id}")


@main.command("diff")
@click.argument("old")
@click.argument("new")
@click.option(
    "--as",
    "output",
    type=click.Choice(["summary", "update", "nquads"]),
    default="summary",
    show_default=True,
    help="A summary by entity, a SPARQL Update turning OLD into NEW, or +/- N-Quads.",
)
@click.option(
    "--input-format",
    type=click.Choice(["turtle", "ntriples", "jsonld", "rdfxml", "trig", "nquads"]),
    help="Format of OLD and NEW when they are files (default: from each file's extension).",
)
@click.pass_context
def diff_command(ctx: click.Context, old: str, new: str, output: str, input_format: str | None) -> None:
    """Show the triples added and removed from OLD to NEW: RDF files, build ids, or 'current'.

    Exit code 0: no difference; 1: they differ; 2: an input could not be read.
    """
    from kg.exchange.diff import as_nquads, as_sparql_update, diff, labels_from, load_side, summary

    settings = _settings(ctx)
    sides = [
        load_side(spec, store_dir=settings.path("store_dir"), base_iri=settings.base_iri, input_format=input_format)
        for spec in (old, new)
    ]
    change = diff(*sides)
    if output == "summary":
        text = summary(change, labels_from(*sides), base_iri=settings.base_iri)
    else:
        text = as_sparql_update(change) if output == "update" else as_nquads(change)
    sys.stdout.buffer.write(text.encode("utf-8"))
    if not change.is_empty:
        sys.exit(1)
