"""The ``kg`` command. The only module that turns errors into exit codes (0 ok, 1 not conforming, 2 error)."""

from __future__ import annotations

import sys
from pathlib import Path

import click
from rdflib import URIRef

from kg import __version__
from kg.config import Settings, load_settings
from kg.errors import KGError


def _settings(ctx: click.Context, **overrides) -> Settings:
    return load_settings({**ctx.obj, **overrides})


@click.group()
@click.version_option(__version__, prog_name="kg")
@click.option("--root", type=click.Path(file_okay=False, path_type=Path), help="Project root (default: found from the working folder).")
@click.option("--base-iri", help="Base IRI of minted identifiers.")
@click.option("--store-dir", type=click.Path(file_okay=False, path_type=Path), help="Where published stores live.")
@click.pass_context
def main(ctx: click.Context, root, base_iri, store_dir) -> None:
    """YRD knowledge graph: build, inspect and export the graph."""
    ctx.obj = {"root": root, "base_iri": base_iri, "store_dir": store_dir}


@main.command()
@click.pass_context
def build(ctx: click.Context) -> None:
    """Map the seed tables, reason, and publish the result to the embedded store."""
    from kg.pipeline import GRAPH_NAMES, build_and_publish

    settings = _settings(ctx)
    result, version = build_and_publish(settings)
    click.echo(f"published build {version.build_id}" + (" (identical to a previous build)" if version.reused else ""))
    click.echo(f"store: {version.path}")
    click.echo("triples per graph:")
    for name in GRAPH_NAMES:
        click.echo(f"  {name:<11} {len(result.graphs[name]):>7}")
    click.echo("instances per class (asserted and inferred):")
    for cls, count in sorted(result.instance_counts().items(), key=lambda kv: (-kv[1], str(kv[0]))):
        click.echo(f"  {count:>5}  {_short(cls, settings)}")


def _short(iri, settings: Settings) -> str:
    from kg.namespaces import all_prefixes

    for prefix, namespace in all_prefixes(settings.base_iri).items():
        if str(iri).startswith(namespace):
            return f"{prefix}:{str(iri)[len(namespace):]}"
    return str(iri)


@main.command()
@click.option("--format", "fmt", type=click.Choice(["trig", "nquads", "turtle", "ntriples"]), default="trig", show_default=True)
@click.option("--graph", "graphs", multiple=True, help="Named graph IRI, or one of ontology, asserted, inferred, provenance; repeatable (default: all).")
@click.option("-o", "--output", type=click.Path(dir_okay=False, path_type=Path), help="Write to this file instead of stdout.")
@click.pass_context
def export(ctx: click.Context, fmt: str, graphs: tuple[str, ...], output: Path | None) -> None:
    """Write what the store holds, deterministically."""
    from kg.errors import UnsupportedFormat
    from kg.export import export as run_export
    from kg.pipeline import GRAPH_NAMES, graph_iri
    from kg.store import EmbeddedStore

    settings = _settings(ctx)
    store = EmbeddedStore(settings.path("store_dir"))
    selected = None
    if graphs:
        held = set(store.graphs())
        selected = []
        for graph in graphs:
            iri = graph_iri(settings, graph) if graph in GRAPH_NAMES else URIRef(graph)
            if iri not in held:
                raise UnsupportedFormat(f"the store holds no graph {graph!r}")
            selected.append(iri)
    data = run_export(store, format=fmt, graphs=selected, base_iri=settings.base_iri)
    if output is None:
        sys.stdout.buffer.write(data)
    else:
        temporary = output.with_name(f".{output.name}.tmp")
        temporary.write_bytes(data)
        temporary.replace(output)


@main.command()
@click.pass_context
def info(ctx: click.Context) -> None:
    """Describe the published store: build id and triples per graph."""
    from kg.store import EmbeddedStore

    settings = _settings(ctx)
    store = EmbeddedStore(settings.path("store_dir"))
    click.echo(f"build {store.build_id} at {store.path}")
    for graph in store.graphs():
        count = sum(1 for _ in store.quads([graph]))
        click.echo(f"  {count:>7}  {graph}")


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
