"""The ``kg`` command. The only module that turns errors into exit codes (0 ok, 1 not conforming, 2 error)."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from kg import __version__
from kg.config import Settings, load_settings
from kg.errors import KGError


def _settings(ctx: click.Context, **overrides) -> Settings:
    return load_settings({**ctx.obj, **overrides})


@click.group()
@click.version_option(__version__, prog_name="kg")
@click.option(
    "--root",
    type=click.Path(file_okay=False, path_type=Path),
    help="Project root (default: found from the working folder).",
)
@click.option("--base-iri", help="Base IRI of minted identifiers.")
@click.option("--store-dir", type=click.Path(file_okay=False, path_type=Path), help="Where published stores live.")
@click.pass_context
def main(ctx: click.Context, root, base_iri, store_dir) -> None:
    """YRD knowledge graph: build, inspect and export the graph."""
    ctx.obj = {"root": root, "base_iri": base_iri, "store_dir": store_dir}


@main.command()
@click.pass_context
def build(ctx: click.Context) -> None:
    """Map the seed tables, reason, validate, and publish the result to the embedded store.

    A graph with SHACL violations is not published: the report is printed and the exit code is 1.
    """
    from kg.build.pipeline import build_and_publish
    from kg.errors import ValidationFailed
    from kg.namespaces import GRAPH_NAMES
    from kg.validation.report_formats import to_text

    settings = _settings(ctx)
    try:
        result, version = build_and_publish(settings)
    except ValidationFailed as failure:
        sys.stdout.buffer.write(to_text(failure.report, base_iri=settings.base_iri))
        raise
    click.echo(f"published build {version.build_id}" + (" (identical to a previous build)" if version.reused else ""))
    click.echo(f"store: {version.path}")
    click.echo("triples per graph:")
    for name in GRAPH_NAMES:
        click.echo(f"  {name:<11} {result.graphs.size(name):>7}")
    click.echo("instances per class (asserted and inferred):")
    for cls, count in sorted(result.instance_counts().items(), key=lambda kv: (-kv[1], str(kv[0]))):
        click.echo(f"  {count:>5}  {_short(cls, settings)}")


def _short(iri, settings: Settings) -> str:
    from kg.namespaces import all_prefixes

    for prefix, namespace in all_prefixes(settings.base_iri).items():
        if str(iri).startswith(namespace):
            return f"{prefix}:{str(iri)[len(namespace) :]}"
    return str(iri)


@main.command()
@click.option("--host", help="Address to listen on (default 127.0.0.1).")
@click.option("--port", type=int, help="TCP port (default 8000; 0: a free one, printed at start).")
@click.option("--workers", type=int, help="gunicorn worker processes (default 2).")
@click.option("--threads", type=int, help="Request threads per worker (default 32).")
@click.option("--store", "store_url", metavar="URL", help="Query this remote SPARQL store instead of the embedded one.")
@click.pass_context
def serve(
    ctx: click.Context,
    host: str | None,
    port: int | None,
    workers: int | None,
    threads: int | None,
    store_url: str | None,
) -> None:
    """Serve the published store (or a remote one) as a SPARQL 1.1 endpoint at /sparql (gunicorn)."""
    from kg.serving.server import serve as run_server

    run_server(_settings(ctx, host=host, port=port, workers=workers, threads=threads, store_url=store_url))


@main.command("queries")
@click.pass_context
def list_queries(ctx: click.Context) -> None:
    """List the saved queries and their parameters."""
    from kg.serving.saved_queries import load_queries

    for query in load_queries(_settings(ctx).path("queries_dir")).values():
        params = ", ".join(f"{p.name}:{p.kind}{'' if p.required else '?'}" for p in query.parameters)
        click.echo(f"{query.id:<28} {query.summary}" + (f"  [{params}]" if params else ""))


RESULT_CHOICES = ["table", "csv", "tsv", "json", "xml", "turtle", "ntriples", "jsonld", "rdfxml", "trig", "nquads"]


def _run_query(settings, text: str, bindings, fmt: str) -> None:
    import csv as csv_module
    import io

    from kg.limits.evaluator import Evaluator
    from kg.serving.query_policy import check_outbound, check_readable
    from kg.sparql_text import query_form
    from kg.store.remote import open_store

    check_readable(text, settings)
    check_outbound(text, settings)
    store = open_store(settings)
    graph_result = query_form(text) in ("construct", "describe")
    if fmt == "table":
        fmt_used = "turtle" if graph_result else "csv"
    else:
        fmt_used = fmt
    # on a query thread, whose stack holds any query within the limits above; no time limit here
    data = Evaluator(timeout=None).execute(store, query=text, result_format=fmt_used, bindings=bindings).body
    if fmt != "table" or graph_result:
        sys.stdout.buffer.write(data)
        return
    rows = list(csv_module.reader(io.StringIO(data.decode("utf-8"))))
    widths = [max(len(row[i]) if i < len(row) else 0 for row in rows) for i in range(len(rows[0]))] if rows else []
    for number, row in enumerate(rows):
        click.echo("  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=False)).rstrip())
        if number == 0:
            click.echo("  ".join("-" * width for width in widths))


@main.command()
@click.argument("name", required=False)
@click.option(
    "--file",
    "query_file",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="Run this .rq file instead of a saved query.",
)
@click.option(
    "--param", "params", multiple=True, metavar="KEY=VALUE", help="A parameter of the saved query; repeatable."
)
@click.option("--format", "fmt", type=click.Choice(RESULT_CHOICES), default="table", show_default=True)
@click.option("--store", "store_url", metavar="URL", help="Query this remote SPARQL store instead of the embedded one.")
@click.pass_context
def query(
    ctx: click.Context,
    name: str | None,
    query_file: Path | None,
    params: tuple[str, ...],
    fmt: str,
    store_url: str | None,
) -> None:
    """Run a saved query by NAME (or a query file) against the store."""
    from kg.errors import BadRequest
    from kg.serving.saved_queries import find, load_queries, load_query

    settings = _settings(ctx, store_url=store_url)
    if (name is None) == (query_file is None):
        raise BadRequest("give either a saved query NAME or --file")
    if query_file:
        saved = load_query(query_file)
    else:
        assert name is not None  # exactly one of NAME and --file is given (checked above)
        saved = find(load_queries(settings.path("queries_dir")), name)
    values = {}
    for param in params:
        key, sep, value = param.partition("=")
        if not sep:
            raise BadRequest(f"--param takes KEY=VALUE; got {param!r}")
        values[key] = value
    _run_query(settings, saved.text, saved.bindings(values), fmt)


@main.command()
@click.argument("text")
@click.option("--format", "fmt", type=click.Choice(RESULT_CHOICES), default="table", show_default=True)
@click.option("--store", "store_url", metavar="URL", help="Query this remote SPARQL store instead of the embedded one.")
@click.pass_context
def sparql(ctx: click.Context, text: str, fmt: str, store_url: str | None) -> None:
    """Run an ad-hoc SPARQL query against the store (the default graph is the union of the named graphs)."""
    _run_query(_settings(ctx, store_url=store_url), text, None, fmt)


@main.command()
@click.pass_context
def info(ctx: click.Context) -> None:
    """Describe the published store: build id and triples per graph."""
    from kg.store.embedded import EmbeddedStore

    settings = _settings(ctx)
    store = EmbeddedStore(settings.path("store_dir"))
    click.echo(f"build {store.build_id} at {store.path}")
    sizes = store.graph_sizes()
    for graph in store.graphs():
        click.echo(f"  {sizes.get(graph, 0):>7}  {graph}")


@main.command("settings")
@click.option("--markdown", is_flag=True, help="The defaults as the README's Markdown table.")
@click.pass_context
def settings_command(ctx: click.Context, markdown: bool) -> None:
    """Show every setting's value (from pyproject.toml, KG_* variables and flags) and what it does."""
    from kg.config import Settings, settings_table

    click.echo(settings_table(Settings() if markdown else _settings(ctx)), nl=False)


def run() -> None:
    """Entry point: KGError becomes 'error: ...' on stderr and its exit code."""
    try:
        main(standalone_mode=False)
    except click.exceptions.Exit as exc:
        sys.exit(exc.exit_code)
    except click.ClickException as exc:
        exc.show()
        sys.exit(2)
    except click.exceptions.Abort:
        sys.exit(2)
    except KGError as exc:
        click.echo(f"error: {exc}", err=True)
        sys.exit(exc.exit_code)


# the commands that move data in and out of the store register themselves on ``main``
from kg.cli import exchange as _exchange  # noqa: E402, F401
