"""Real grlc (pinned in requirements-grlc.txt, its own environment .venv-grlc, made by ``make install``)
serving ``queries/`` against ``kg serve`` on loopback, as a partner would run it.

Every saved query is called through grlc with its required parameters (their defaults, as grlc's page fills
them in) and then with each optional parameter in turn; grlc's answer must be kg's own answer to the same
call, and a given parameter must really filter. grlc's API description must declare the parameters as kg
does, defaults written as kg reads them.
"""

from __future__ import annotations

import json
import subprocess
import urllib.parse
from collections import Counter

import pytest
from helpers import ID, QUERIES, ROOT, free_port, http, kg_server, wait_until_answering

pytestmark = pytest.mark.slow

GUNICORN = ROOT / ".venv-grlc" / "bin" / "gunicorn"
JSON = "application/sparql-results+json"

#: a value for each optional parameter that keeps some of the query's rows and drops others
OPTIONAL_VALUES = {
    ("agreements_signed", "since"): "2010-01-01",
    ("cooperation_models", "adopter"): f"{ID}region/nantong",
    ("cross_river_links", "place"): f"{ID}region/nantong",
    ("industry_tree", "root"): f"{ID}industry/manufacturing",
    ("parks_with_builders", "park"): f"{ID}park/jiangyin-jingjiang-industrial-park",
    ("projects_with_investment", "minimum"): "750000000",
    ("sources", "year"): "2024",
}

CALLS = [(query.id, None) for query in QUERIES.values()] + [
    (query.id, parameter.name) for query in QUERIES.values() for parameter in query.parameters if not parameter.required
]


@pytest.fixture(scope="module")
def kg_base(settings, store, tmp_path_factory):
    with kg_server(settings.path("store_dir"), tmp_path_factory.mktemp("kg") / "server.log") as base:
        yield base


@pytest.fixture(scope="module")
def grlc(kg_base, tmp_path_factory):
    """grlc on a loopback port, reading the saved queries from the project's folder (grlc reads its
    config.ini from the folder it starts in)."""
    assert GUNICORN.exists(), "grlc's environment is missing: make install creates .venv-grlc"
    folder = tmp_path_factory.mktemp("grlc")
    (folder / "config.ini").write_text(
        f"[local]\nlocal_sparql_dir = {ROOT / 'queries'}\n[defaults]\nsparql_endpoint = {kg_base}/sparql\n"
    )
    port = free_port()
    with (folder / "grlc.log").open("w+b") as log:
        server = subprocess.Popen(
            # no control socket: several servers on one machine would share its path
            [str(GUNICORN), "--bind", f"127.0.0.1:{port}", "--workers", "1", "--no-control-socket", "grlc.server:app"],
            cwd=folder,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        base = f"http://127.0.0.1:{port}"
        try:
            # grlc imports the GitHub and GitLab clients as it starts: on a busy machine that takes a while
            if not wait_until_answering(base + "/", attempts=600):
                log.seek(0)
                pytest.fail("grlc did not start: " + log.read().decode()[-2000:])
            yield base
        finally:
            server.terminate()
            server.wait(timeout=30)


def _rows(body: bytes) -> list[dict]:
    return json.loads(body)["results"]["bindings"]


def _as_multiset(rows: list[dict]) -> Counter:
    return Counter(json.dumps(row, sort_keys=True) for row in rows)


def _arguments(query_id: str, optional: str | None) -> dict[str, str]:
    query = QUERIES[query_id]
    arguments = {p.name: p.default for p in query.parameters if p.required and p.default is not None}
    if optional is not None:
        arguments[optional] = OPTIONAL_VALUES[(query_id, optional)]
    return arguments


@pytest.mark.parametrize(("query_id", "optional"), CALLS, ids=[f"{q}-{o or 'defaults'}" for q, o in CALLS])
def test_a_saved_query_gives_through_grlc_what_kg_gives(grlc, kg_base, query_id, optional):
    arguments = _arguments(query_id, optional)
    through_grlc = urllib.parse.urlencode({**arguments, "endpoint": f"{kg_base}/sparql"})
    status, headers, body = http(f"{grlc}/api-local/{query_id}?{through_grlc}", headers={"Accept": JSON})
    assert status == 200, body[:500]
    status, _, own = http(f"{kg_base}/queries/{query_id}?{urllib.parse.urlencode(arguments)}", headers={"Accept": JSON})
    assert status == 200, own[:500]
    rows = _rows(own)
    # the same rows: rows whose ORDER BY keys tie may come in either order (kg and grlc send the query apart)
    assert _as_multiset(_rows(body)) == _as_multiset(rows), f"grlc sent {query_id} with {arguments}: other rows"
    assert rows, f"{query_id} with {arguments} has no rows, so the comparison shows little"
    if optional is not None:
        unfiltered = _rows(
            http(
                f"{kg_base}/queries/{query_id}?{urllib.parse.urlencode(_arguments(query_id, None))}",
                headers={"Accept": JSON},
            )[2]
        )
        assert len(rows) < len(unfiltered), f"{optional}={arguments[optional]} did not filter {query_id}"


def test_every_optional_parameter_has_a_value_to_try():
    optional = {(query_id, name) for query_id, name in CALLS if name is not None}
    assert optional == set(OPTIONAL_VALUES)


def test_grlc_declares_the_parameters_as_kg_does(grlc):
    status, _, body = http(f"{grlc}/api-local/swagger")
    assert status == 200
    paths = json.loads(body)["paths"]
    assert {path.strip("/") for path in paths} == set(QUERIES)
    for query in QUERIES.values():
        declared = {p["name"]: p for p in paths[f"/{query.id}"]["get"]["parameters"] if p["name"] != "endpoint"}
        assert set(declared) == {p.name for p in query.parameters}, query.id
        for parameter in query.parameters:
            seen = declared[parameter.name]
            assert seen["required"] == parameter.required, (query.id, parameter.name)
            assert seen.get("default") == parameter.default, (query.id, parameter.name)  # "2024-05-01", not a date
            assert (seen.get("format") == "iri") == (parameter.kind == "iri"), (query.id, parameter.name)
