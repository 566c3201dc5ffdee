"""A remote store: the real Oxigraph server (PyPI ``oxigraph``) on a loopback port, filled by ``kg push``,
queried through SPARQLWrapper; every saved query must answer there as on the embedded store."""

from __future__ import annotations

import contextlib
import json
import shutil
import subprocess
import sys
import urllib.request
from collections import Counter
from pathlib import Path

import pytest
from helpers import EXPECTED, QUERIES, ROOT, free_port, kg_server, wait_until_answering

from kg.errors import StoreError
from kg.store.remote import RemoteStore, push

pytestmark = pytest.mark.slow  # the Oxigraph server, and kg serve over it

OXIGRAPH = shutil.which("oxigraph", path=str(Path(sys.executable).parent)) or shutil.which("oxigraph")


@contextlib.contextmanager
def oxigraph_server(location: Path, port: int | None = None):
    """``oxigraph serve`` on disk at ``location``; yields (query URL, Graph Store URL, process)."""
    assert OXIGRAPH, "the oxigraph package (a test dependency) provides the server"
    port = port or free_port()
    log = (location.parent / f"oxigraph-{port}.log").open("wb")
    process = subprocess.Popen(
        [OXIGRAPH, "serve", "--location", str(location), "--bind", f"127.0.0.1:{port}"],
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    base = f"http://127.0.0.1:{port}"
    if not wait_until_answering(base + "/query?query=ASK%7B%7D"):
        process.kill()
        pytest.fail("the Oxigraph server did not start")
    try:
        yield f"{base}/query", f"{base}/store", process
    finally:
        process.kill()
        process.wait(timeout=30)
        log.close()


@pytest.fixture(scope="module")
def remote(store, settings, tmp_path_factory):
    location = tmp_path_factory.mktemp("oxigraph") / "db"
    with oxigraph_server(location) as (query_url, data_url, _):
        counts = push(store, data_url=data_url, query_url=query_url, base_iri=settings.base_iri, batch_size=4000)
        yield RemoteStore(query_url, base_iri=settings.base_iri), counts


def rows(target, query_id: str, params: dict) -> list[dict]:
    query = QUERIES[query_id]
    body = target.execute(query.text, result_format="json", bindings=query.bindings(params)).body
    return [
        {k: (v["type"], v["value"], v.get("datatype"), v.get("xml:lang")) for k, v in row.items()}
        for row in json.loads(body)["results"]["bindings"]
    ]


def as_multiset(result: list[dict]) -> Counter:
    return Counter(tuple(sorted(row.items())) for row in result)


def test_push_loads_every_graph(remote, store):
    remote_store, counts = remote
    assert set(counts) == set(store.graphs()) and sum(counts.values()) == len(store)
    assert remote_store.graphs() == store.graphs()
    assert remote_store.build_id == store.build_id
    assert json.loads(remote_store.attachment("report.json"))["conforms"] is True


@pytest.mark.parametrize(
    "case", [pytest.param((q, i), id=f"{q}-{i}") for q, cases in EXPECTED.items() for i in range(len(cases))]
)
def test_every_saved_query_answers_as_on_the_embedded_store(remote, store, case):
    query_id, index = case
    params, check = EXPECTED[query_id][index]
    there, here = rows(remote[0], query_id, params), rows(store, query_id, params)
    assert as_multiset(there) == as_multiset(here)
    assert check([{k: v[1] for k, v in row.items()} for row in there])


def test_result_formats_and_the_row_cap_apply_to_the_remote_store(remote, store):
    query = "SELECT ?s ?label WHERE { ?s <http://www.w3.org/2000/01/rdf-schema#label> ?label } ORDER BY ?s ?label"
    for fmt in ("json", "xml", "csv", "tsv"):
        assert (
            remote[0].execute(query, result_format=fmt, max_rows=5).body
            == store.execute(query, result_format=fmt, max_rows=5).body
        )
    construct = "CONSTRUCT WHERE { <https://w3id.org/yrd-kg/id/infra/sutong-bridge> ?p ?o }"
    capped = remote[0].execute(construct, result_format="turtle", max_rows=2)
    assert capped.truncated


def test_the_cli_and_the_endpoint_work_against_the_remote_store(remote, store, tmp_path):
    query_url = remote[0].query_url
    result = subprocess.run(
        [
            sys.executable,
            "-c",
            "from kg.cli import run; run()",
            "query",
            "subregions",
            "--store",
            query_url,
            "--format",
            "csv",
        ],
        capture_output=True,
        text=True,
        cwd=ROOT,
    )
    assert result.returncode == 0 and result.stdout.count("\n") == 7, result.stderr  # a header, Nantong's six parts
    # no embedded store at all beside the server: everything comes from the remote store
    with kg_server(tmp_path / "no-store", tmp_path / "server.log", KG_STORE_URL=query_url) as base:
        with urllib.request.urlopen(base + "/queries/subregions.json", timeout=30) as response:
            served = json.load(response)["results"]["bindings"]
        assert len(served) == 6
        with urllib.request.urlopen(base + "/health", timeout=30) as response:
            assert json.load(response)["build"] == store.build_id


def test_a_store_that_is_down_or_refuses_gives_a_clear_error(settings, tmp_path):
    down = RemoteStore(f"http://127.0.0.1:{free_port()}/query", base_iri=settings.base_iri, timeout=5)
    with pytest.raises(StoreError, match="cannot be reached"):
        down.execute("ASK {}", result_format="json")
    result = subprocess.run(
        [sys.executable, "-c", "from kg.cli import run; run()", "sparql", "ASK {}", "--store", down.query_url],
        capture_output=True,
        text=True,
        cwd=ROOT,
    )
    assert result.returncode == 2 and "cannot be reached" in result.stderr
    with oxigraph_server(tmp_path / "db") as (query_url, data_url, _):
        wrong_path = RemoteStore(query_url.replace("/query", "/nothing"), base_iri=settings.base_iri)
        with pytest.raises(StoreError, match="failed"):
            wrong_path.execute("ASK {}", result_format="json")


def test_a_push_that_fails_half_way_is_rerun_to_completion(store, settings, tmp_path):
    location, port = tmp_path / "db", free_port()
    with oxigraph_server(location, port) as (query_url, data_url, process):
        batches = []

        def stop_after_three(message: str) -> None:
            batches.append(message)
            if len(batches) == 3:
                process.kill()  # the store goes away in the middle of the push
                process.wait(timeout=30)

        with pytest.raises(StoreError, match="rerun the push"):
            push(
                store,
                data_url=data_url,
                query_url=query_url,
                base_iri=settings.base_iri,
                batch_size=3000,
                progress=stop_after_three,
                timeout=10,
            )
    with oxigraph_server(location, port) as (query_url, data_url, _):
        partial = RemoteStore(query_url, base_iri=settings.base_iri)
        assert partial.build_id == "unknown"  # the build record is written last
        counts = push(store, data_url=data_url, query_url=query_url, base_iri=settings.base_iri, batch_size=3000)
        assert sum(counts.values()) == len(store) and partial.build_id == store.build_id
        assert partial.graphs() == store.graphs()
