"""Settings: one frozen object, resolved once.

Layers, later wins: built-in defaults, ``[tool.kg]`` in the project's pyproject.toml (paths relative to
the project root), ``KG_*`` environment variables, explicit overrides (CLI flags, tests).
"""

from __future__ import annotations

import dataclasses
import os
import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from kg.errors import ConfigError

PACKAGE_ROOT = Path(__file__).resolve().parent.parent

#: Every setting with its documentation; a test checks that each field is listed here.
SETTINGS_DOC: dict[str, str] = {
    "root": "Project root; the folders below are relative to it.",
    "base_iri": "Base IRI of every minted identifier; ends with '/'.",
    "seeds_dir": "Folder of the seed fact tables and their CSVW metadata.",
    "mappings_dir": "Folder of the SPARQL CONSTRUCT mappings, one per seed table.",
    "ontology_dir": "Folder of the OWL ontology (Turtle).",
    "queries_dir": "Folder of the saved queries (.rq).",
    "profiles_dir": "Folder of the export profiles (SHACL node shapes typed prof:Profile).",
    "dataset_license": "Licence IRI stated in the dataset description of every export.",
    "store_dir": "Folder holding the published store versions and the 'current' pointer.",
    "keep_versions": "How many published store versions to keep (the current one included).",
    "host": "Address the endpoint listens on (loopback by default).",
    "port": "TCP port of the endpoint; 0 lets the system choose a free one (kg serve prints which).",
    "workers": "Number of gunicorn worker processes serving the endpoint (each holds its own copy of the store "
    "in memory).",
    "threads": "Request threads per worker, which run the app once a request has arrived whole (one client keeps at "
    "most half of them busy); queries run beside them, max_running_queries at a time.",
    "request_timeout": "Seconds a client has to send a whole request (line, headers and body) once it has begun; "
    "past it the server answers 408 and closes the connection.",
    "keepalive_timeout": "Seconds an idle connection is kept open for the client's next request (and a new "
    "connection that sends nothing), then closed without an answer.",
    "max_running_queries": "Queries (and upload checks, and pages' queries) a worker evaluates at once; while several "
    "clients want them, each gets an equal share.",
    "queue_wait": "Seconds a query waits for one of the max_running_queries slots; past it the client gets 503 "
    "with Retry-After at once.",
    "runaway_penalty": "Seconds for which a client whose query ran past query_timeout or max_query_memory (which "
    "costs a whole worker) has its queries refused with 503 and Retry-After, doubled for each repeat soon after "
    "(to an hour); 0: never.",
    "keepalive_requests": "Requests a client may send on one kept-alive connection before the worker closes it; the "
    "client reconnects, and the worker holding the fewest connections takes the new one.",
    "memory_copy_limit_mib": "Largest store (its N-Quads snapshot, in MiB) a worker copies into memory to answer from; "
    "the copy takes about twice that. Larger stores, and 0, are served from disk.",
    "worker_timeout": "Seconds after which gunicorn restarts a worker that does not answer (a backstop: it is "
    "raised to query_timeout + 30 when lower).",
    "allow_service": "Comma-separated SPARQL endpoints that SERVICE clauses may call; empty: SERVICE is refused.",
    "max_body_bytes": "Largest request body accepted; larger ones get 413.",
    "max_query_length": "Longest query text, in characters, the endpoint runs; a longer one gets 400.",
    "max_query_depth": "Deepest nesting of braces, parentheses and brackets in a query the endpoint runs; a deeper "
    "one gets 400 (the query engine recurses once a level).",
    "demote_after": "Seconds after which a query still running yields the processor to shorter work (its thread "
    "gets the lowest scheduling priority until the query ends); 0: never.",
    "query_timeout": "Seconds a query may run on the endpoint before it is stopped and the client gets 503.",
    "import_timeout": "Seconds an import (PUT/POST /data, kg import) may take to parse, reason over and validate "
    "its data, in a process of its own; past it that process is stopped, nothing is written, and "
    "the writer gets 503 with Retry-After (kg import: exit 2).",
    "write_token": "Token that write requests must present (HTTP: Authorization: Bearer; CLI: --token or KG_TOKEN); "
    "empty: the store is read-only.",
    "store_url": "SPARQL query endpoint of a remote store to serve and query instead of the embedded one "
    "(e.g. Oxigraph server http://host:7878/query); empty: the embedded store.",
    "result_cache_bytes": "Memory each worker gives to answers of repeated queries (kept per store version); kg "
    "serve's workers also share as many bytes of them on disk, so a fresh worker starts warm. An "
    "answer over a quarter of it is not kept.",
    "dump_cache_bytes": "Memory each worker gives to whole documents it has made for the current store version "
    "(/dump in each format, its description, GET /data of the whole dataset or a graph), so that a client "
    "cycling through formats does not have the store serialised again each time; a document larger "
    "than it is served but not kept.",
    "public_url": "The endpoint's public address (scheme, host and any path prefix, e.g. https://kg.example.org), "
    "used for absolute links in shared content (the dump description, the service description, "
    "OpenAPI, the Link header of /dump, the Location of a /data write); empty: those links are "
    "relative. Never taken from a request's Host header.",
    "max_result_rows": "Most solutions (or triples) the endpoint returns for one query; past it the result is cut "
    "and the response carries the header X-SPARQL-MaxRows.",
    "max_result_bytes": "Largest answer to one query, in bytes; past it the result is cut to the rows (or triples) "
    "that fit, still a whole document, and the response carries the header X-SPARQL-MaxBytes "
    "(cutting takes a few times this in memory, within max_query_memory).",
    "max_query_memory": "Memory, in MiB, that a worker's queries (and upload checks) may take above what it held "
    "when they began; past it the query is stopped, the client gets 503 and the worker is "
    "replaced, so that the memory goes back to the system. Queries running at once share it.",
}


@dataclass(frozen=True)
class Settings:
    root: Path = PACKAGE_ROOT
    base_iri: str = "https://w3id.org/yrd-kg/"
    seeds_dir: Path = Path("seeds")
    mappings_dir: Path = Path("mappings")
    ontology_dir: Path = Path("ontology")
    queries_dir: Path = Path("queries")
    profiles_dir: Path = Path("profiles")
    dataset_license: str = "https://creativecommons.org/licenses/by/4.0/"
    store_dir: Path = Path("var/store")
    keep_versions: int = 2
    host: str = "127.0.0.1"
    port: int = 8000
    workers: int = 2
    threads: int = 32
    request_timeout: int = 10
    keepalive_timeout: int = 5
    max_running_queries: int = 4
    queue_wait: float = 1.0
    runaway_penalty: float = 30.0
    keepalive_requests: int = 16
    memory_copy_limit_mib: int = 4096
    worker_timeout: int = 60
    allow_service: str = ""
    max_body_bytes: int = 1_048_576
    max_query_length: int = 100_000
    max_query_depth: int = 64
    query_timeout: int = 30
    demote_after: float = 1.0
    import_timeout: float = 60.0
    max_result_rows: int = 10_000
    max_result_bytes: int = 64 * 1024 * 1024
    max_query_memory: int = 1024
    result_cache_bytes: int = 64 * 1024 * 1024
    dump_cache_bytes: int = 256 * 1024 * 1024
    store_url: str = ""
    public_url: str = ""
    write_token: str = dataclasses.field(default="", repr=False)  # never shown in logs or tracebacks

    @property
    def service_allow_list(self) -> tuple[str, ...]:
        return tuple(item.strip() for item in self.allow_service.split(",") if item.strip())

    def path(self, name: str) -> Path:
        """A folder setting resolved against the project root."""
        value = getattr(self, name)
        return value if value.is_absolute() else self.root / value


def _coerce(name: str, raw: Any) -> Any:
    kind = {f.name: f.type for f in dataclasses.fields(Settings)}[name]
    try:
        if kind in ("Path",):
            return Path(raw)
        if kind == "int":
            return int(raw)
        if kind == "float":
            return float(raw)
        if kind == "bool":
            if isinstance(raw, bool):
                return raw
            if str(raw).lower() in ("true", "1", "yes"):
                return True
            if str(raw).lower() in ("false", "0", "no"):
                return False
            raise ValueError("expected true or false")
        return str(raw)
    except (TypeError, ValueError) as exc:
        raise ConfigError(f"setting {name!r}: cannot read {raw!r} ({exc})") from exc


def _find_root(start: Path) -> Path:
    for folder in [start, *start.parents]:
        candidate = folder / "pyproject.toml"
        if candidate.is_file() and "[tool.kg]" in candidate.read_text(encoding="utf-8"):
            return folder
    return PACKAGE_ROOT


def load_settings(
    overrides: Mapping[str, Any] | None = None, *, env: Mapping[str, str] | None = None, cwd: Path | None = None
) -> Settings:
    """Resolve the settings from defaults, pyproject.toml, ``KG_*`` variables and ``overrides``."""
    env = os.environ if env is None else env
    overrides = {k: v for k, v in (overrides or {}).items() if v is not None}
    names = [f.name for f in dataclasses.fields(Settings)]
    root = Path(overrides.get("root") or env.get("KG_ROOT") or _find_root((cwd or Path.cwd()).resolve()))
    values: dict[str, Any] = {"root": root.resolve()}

    pyproject = root / "pyproject.toml"
    if pyproject.is_file():
        try:
            table = tomllib.loads(pyproject.read_text(encoding="utf-8")).get("tool", {}).get("kg", {})
        except tomllib.TOMLDecodeError as exc:
            raise ConfigError(f"{pyproject}: {exc}") from exc
        for key, raw in table.items():
            if key not in names or key == "root":
                raise ConfigError(f"{pyproject}: unknown setting [tool.kg] {key!r}")
            values[key] = _coerce(key, raw)
    for key in names:
        if key != "root" and f"KG_{key.upper()}" in env:
            values[key] = _coerce(key, env[f"KG_{key.upper()}"])
    for key, raw in overrides.items():
        if key not in names:
            raise ConfigError(f"unknown setting {key!r}")
        if key != "root":
            values[key] = _coerce(key, raw)

    settings = Settings(**values)
    if not settings.base_iri.endswith("/") or "://" not in settings.base_iri:
        raise ConfigError(f"base_iri must be an absolute IRI ending with '/': {settings.base_iri!r}")
    if settings.keep_versions < 1:
        raise ConfigError("keep_versions must be at least 1")
    if (
        not 0 <= settings.port < 65536
        or min(
            settings.workers,
            settings.threads,
            settings.keepalive_requests,
            settings.request_timeout,
            settings.keepalive_timeout,
            settings.max_running_queries,
            settings.max_body_bytes,
            settings.max_query_length,
            settings.max_query_depth,
            settings.query_timeout,
            settings.max_result_rows,
            settings.max_result_bytes,
            settings.max_query_memory,
        )
        < 1
    ):
        raise ConfigError(
            "port must be 0-65535; workers, threads, request_timeout, keepalive_timeout, "
            "keepalive_requests, max_running_queries, max_body_bytes, max_query_length, "
            "max_query_depth, query_timeout, max_result_rows, max_result_bytes and max_query_memory "
            "at least 1"
        )
    if settings.runaway_penalty < 0:
        raise ConfigError("runaway_penalty must be 0 (never) or more seconds")
    if settings.demote_after < 0:
        raise ConfigError("demote_after must be 0 (never) or more seconds")
    if not settings.queue_wait > 0:
        raise ConfigError("queue_wait must be more than 0 seconds")
    if not settings.import_timeout > 0:
        raise ConfigError("import_timeout must be more than 0 seconds")
    if settings.public_url and not re.fullmatch(r"https?://[^/?#\s]+(/[^?#\s]*)?", settings.public_url):
        raise ConfigError(f"public_url must be an http(s) URL without query or fragment: {settings.public_url!r}")
    if settings.memory_copy_limit_mib < 0:
        raise ConfigError("memory_copy_limit_mib must be 0 (serve from disk) or more")
    return settings


def _shown(name: str, value: Any) -> str:
    if name == "root":
        return "the project folder"
    if name == "write_token":
        return "(empty)" if not value else "(set)"
    return "(empty)" if value == "" else str(value)


def settings_table(settings: Settings | None = None) -> str:
    """The settings as a Markdown table (name, environment variable, value, meaning): the defaults, or the
    values of ``settings``. The README's table is this one (``kg settings --markdown``)."""
    settings = settings or Settings()
    lines = [
        "| setting | variable | default | what it does |"
        if settings == Settings()
        else "| setting | variable | value | what it does |",
        "|---|---|---|---|",
    ]
    for field in dataclasses.fields(Settings):
        name = field.name
        doc = SETTINGS_DOC[name].replace("|", "\\|")
        lines.append(f"| `{name}` | `KG_{name.upper()}` | {_shown(name, getattr(settings, name))} | {doc} |")
    return "\n".join(lines) + "\n"
