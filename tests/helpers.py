"""Helpers and constants shared by the test modules (fixtures live in conftest.py).

Test modules import these from here; conftest.py holds only fixtures, and no test module imports another.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import re
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from decimal import Decimal
from pathlib import Path

import pyoxigraph as ox
import pytest

from kg.serving.saved_queries import load_queries
from kg.store.embedded import EmbeddedStore

ROOT = Path(__file__).resolve().parent.parent
SHARED_SEEDS = ROOT.parent / "shared" / "seeds"


# --- servers on loopback ---------------------------------------------------------------------------------


def free_port() -> int:
    """A loopback TCP port free at the moment of asking."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def wait_until_answering(url: str, attempts: int = 100) -> bool:
    """Whether ``url`` answers within ``attempts`` tries a tenth of a second apart (a bounded wait)."""
    for _ in range(attempts):
        try:
            urllib.request.urlopen(url, timeout=1)
            return True
        except OSError:
            time.sleep(0.1)
    return False


def run_bench(*arguments: str) -> None:
    """``python -m bench.<name> ARGUMENTS`` from the project folder, as its README runs it; the test fails with
    the end of its error output when it exits with an error."""
    done = subprocess.run([sys.executable, "-m", *arguments], cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-4000:]


@contextlib.contextmanager
def kg_server(store_dir: Path, log_path: Path, **environment):
    """``kg serve`` (gunicorn, two workers) on a loopback port the system picks; yields its base URL.

    The port is the one kg serve prints once it listens: a port found free beforehand could be taken by
    another test's server before this one binds it. On the way out the server is stopped and its log is
    checked: no crash, one access-log line per request.
    """
    env = {**os.environ, "KG_STORE_DIR": str(store_dir), **{k: str(v) for k, v in environment.items()}}
    with log_path.open("w+b") as log:
        server = subprocess.Popen(
            [sys.executable, "-c", "from kg.cli import run; run()", "serve", "--port", "0", "--workers", "2"],
            cwd=ROOT,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        base = _announced_address(log_path, server)
        if base is None or not wait_until_answering(base + "/health"):
            server.kill()
            server.wait(timeout=30)
            log.seek(0)
            pytest.fail("the server did not start: " + log.read().decode())
        try:
            yield base
        finally:
            server.terminate()
            server.wait(timeout=30)
        log.seek(0)
        output = log.read().decode()
    assert "SIGSEGV" not in output and "Traceback" not in output, output[-2000:]
    assert f"kg serve: open {base}/ " in output  # where to go, said once it listens
    assert '"GET /health HTTP/1.1" 200' in output  # one access-log line per request, with status


def _announced_address(log_path: Path, server: subprocess.Popen, seconds: float = 60) -> str | None:
    """The address kg serve says it listens on, read from its log (None if it exits or stays silent)."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline and server.poll() is None:
        found = re.search(r"kg serve: open (http://127\.0\.0\.1:\d+)/ ", log_path.read_text(errors="replace"))
        if found:
            return found.group(1)
        time.sleep(0.05)
    return None


class Canary:
    """A loopback TCP listener that accepts and records every connection, then closes it: it stands in
    for any outside address a query or an upload could make the server fetch."""

    def __init__(self) -> None:
        self._socket = socket.socket()
        self._socket.bind(("127.0.0.1", 0))
        self._socket.listen(128)
        self.port = self._socket.getsockname()[1]
        self.url = f"http://127.0.0.1:{self.port}"
        self._seen: list[int] = []  # the peer port of each connection, in the order accepted
        self._changed = threading.Condition()
        self._thread = threading.Thread(target=self._accept, name="canary", daemon=True)
        self._thread.start()

    def _accept(self) -> None:
        while True:
            try:
                connection, peer = self._socket.accept()
            except OSError:  # closed
                return
            connection.close()
            with self._changed:
                self._seen.append(peer[1])
                self._changed.notify_all()

    def connections(self) -> int:
        """How many connections arrived since the last ``clear``.

        The listener accepts in arrival order, so once a connection of our own (made now) has been
        accepted, every earlier one has been too: no connection that already reached the socket is missed,
        and the wait is bounded.
        """
        with socket.create_connection(("127.0.0.1", self.port), timeout=2) as probe:
            own = probe.getsockname()[1]
            with self._changed:
                assert self._changed.wait_for(lambda: own in self._seen, timeout=2), "the canary stopped accepting"
                return self._seen.index(own)

    def clear(self) -> None:
        with self._changed:
            self._seen.clear()

    def close(self) -> None:
        self._socket.close()

    def reached_after(self, action) -> bool:
        """Whether ``action()`` made anything connect."""
        self.clear()
        action()
        return self.connections() > 0


# --- plain HTTP against the endpoint ---------------------------------------------------------------------

COUNT_PARKS = "SELECT (COUNT(DISTINCT ?p) AS ?n) WHERE { ?p a <https://w3id.org/yrd-kg/ontology#Zone> }"


def http(url, *, data=None, headers=None, method=None):
    """(status, headers, body) of a request to ``url``; an HTTP error status is an answer, not an exception."""
    request = urllib.request.Request(url, data=data, headers=headers or {}, method=method)
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, response.headers, response.read()
    except urllib.error.HTTPError as error:
        return error.code, error.headers, error.read()


# --- partner data (imports, Graph Store writes) ---------------------------------------------------------

TOKEN = "partner-secret-1"
YRD = "https://w3id.org/yrd-kg/ontology#"
GOOD = f"""
@prefix yrd: <{YRD}> .
@prefix rdfs: <http://www.w3.org/2000/01/rdf-schema#> .
<https://partner.example/park/p1> a yrd:IndustrialPark ; rdfs:label "Partner park one"@en ;
    yrd:locatedIn <https://w3id.org/yrd-kg/id/region/nantong> .
""".encode()
PARTNER_GRAPH = "https://partner.example/graph/parks"
MORE = f"""
@prefix yrd: <{YRD}> .
@prefix rdfs: <http://www.w3.org/2000/01/rdf-schema#> .
<https://partner.example/park/p2> a yrd:IndustrialPark ; rdfs:label "Partner park two"@en ;
    yrd:locatedIn <https://w3id.org/yrd-kg/id/region/wuxi> .
""".encode()
# a park located in a string, and without an English name: two violations
BAD_PARK = f"""
@prefix yrd: <{YRD}> .
<https://partner.example/park/p3> a yrd:IndustrialPark ; yrd:locatedIn "Nantong" .
""".encode()


def snapshot(settings) -> tuple[str, str]:
    """The current build id at ``settings``' store_dir and a digest of every file of that published version:
    equal means unchanged. Versions are written once (a write publishes a new one), so a byte of one changed
    in place shows here too, without reading the store (on RocksDB a large part of a second)."""
    versions = settings.path("store_dir") / "versions"
    build_id = (settings.path("store_dir") / "current").resolve().name
    digest = hashlib.sha256()
    for path in sorted(versions.glob(f"{build_id}*")):
        for file in sorted([path] if path.is_file() else path.rglob("*")):
            if file.is_file():
                digest.update(f"{file.relative_to(versions)}\0".encode() + file.read_bytes())
    return build_id, digest.hexdigest()


def store_content(settings) -> bytes:
    """The canonical N-Quads of the current version at ``settings``' store_dir: what it holds, whichever
    version that is."""
    return EmbeddedStore(settings.path("store_dir")).canonical_nquads()


# --- queries run by pyoxigraph itself --------------------------------------------------------------------


def scratch_store() -> ox.Store:
    """A small in-memory store, so that patterns match and SERVICE clauses get evaluated."""
    store = ox.Store()
    ex = "http://x/"
    store.add(ox.Quad(ox.NamedNode(ex + "s"), ox.NamedNode(ex + "p"), ox.NamedNode(ex + "o")))
    store.add(ox.Quad(ox.NamedNode(ex + "a"), ox.NamedNode(ex + "b"), ox.Literal("c"), ox.NamedNode(ex + "g")))
    return store


def run_in_pyoxigraph(store: ox.Store, text: str, timeout: float = 2.0) -> str:
    """Run ``text`` on ``store`` to the end, on a thread with a deep stack (pyoxigraph recurses deeply);
    what happened, for the notes. A query still running after ``timeout`` is left to finish."""
    outcome = ["still running"]

    def evaluate() -> None:
        try:
            result = store.query(text, use_default_graph_as_union=True)
            if isinstance(result, ox.QueryBoolean):
                outcome[0] = f"boolean {bool(result)}"
            else:
                outcome[0] = f"{sum(1 for _ in result)} results"
        except BaseException as exc:  # noqa: BLE001 - any failure is an outcome here
            outcome[0] = f"{type(exc).__name__}: {str(exc)[:200]}"

    previous = threading.stack_size(256 * 1024 * 1024)
    try:
        thread = threading.Thread(target=evaluate, name="fuzz-query", daemon=True)
        thread.start()
    finally:
        threading.stack_size(previous)
    thread.join(timeout)
    return outcome[0]


# --- the saved queries and their expected answers --------------------------------------------------------

ID = "https://w3id.org/yrd-kg/id/"
QUERIES = load_queries(ROOT / "queries")


def short(rows, key) -> set[str]:
    """The values of ``key`` in ``rows``, without the ``ID`` prefix."""
    return {row[key].removeprefix(ID) for row in rows if key in row}


EXPECTED = {
    # query: [(parameters, check)] - the first with the defaults, the second with another value
    "agreements_of_region": [
        (
            {},
            lambda r: (
                short(r, "agreement")
                == {
                    "agreement/shanghai-shibei-high-tech-nantong-science-and-technology-city-joint-construction-contract",
                    "agreement/nantong-shanghai-sci-tech-innovation-strategic-cooperation-agreements",
                }
            ),
        ),
        (
            {"region": ID + "region/wuxi"},
            lambda r: (
                {(x["agreement"].removeprefix(ID), x.get("signed")) for x in r}
                == {("agreement/jiangyin-jingjiang-industrial-park-construction-and-development-agreement", "--09-12")}
            ),
        ),
    ],
    "agreements_signed": [
        ({}, lambda r: len(short(r, "agreement")) == 3),
        (
            {"since": "2010-01-01"},
            lambda r: (
                short(r, "agreement")
                == {
                    "agreement/shanghai-shibei-high-tech-nantong-science-and-technology-city-joint-construction-contract"
                }
            ),
        ),
    ],
    "changed_since": [
        (
            {},
            lambda r: (
                "event/chongqi-bridge-4th-main-tower-crossbeam-concrete-pour" in short(r, "thing")
                and "infra/sutong-bridge" not in short(r, "thing")
                and min(x["earliest"] for x in r) >= "2024-05-01"
            ),
        ),
        # 000 p24: the 2029 GDP figure is a target, which has not happened
        (
            {"since": "2025-01-01"},
            lambda r: (
                "plan/15th-five-year-plan" in short(r, "thing")
                and "event/7th-china-international-import-expo" not in short(r, "thing")
                and not {"obs/nantong-gdp-target-2029-cny", "obs/nantong-gdp-target-2029-usd"} & short(r, "thing")
            ),
        ),
    ],
    "cooperation_between": [
        # 003 p4: the pilot zone the two cities are to create is no jointly built park yet
        (
            {},
            lambda r: (
                {x["kind"] for x in r} == {"agreement", "cooperation", "jointly built park", "park to be built jointly"}
                and {
                    (x["thing"].removeprefix(ID), x.get("status")) for x in r if x["kind"] == "park to be built jointly"
                }
                == {("park/jiangsu-integrated-development-pilot-zone", "proposed")}
            ),
        ),
        (
            {"first": ID + "region/nantong", "second": ID + "region/shanghai"},
            lambda r: (
                "agreement/nantong-shanghai-sci-tech-innovation-strategic-cooperation-agreements" in short(r, "thing")
                and "park/yangtze-river-estuary-industrial-innovation-collaborative-zone" in short(r, "thing")
            ),
        ),
    ],
    "cooperation_models": [
        (
            {},
            lambda r: (
                len(short(r, "model")) == 5
                and "region/nantong" in short(r, "adopter")
                and {x["stage"] for x in r if x.get("adopter", "").endswith("collaborative-zone")} == {"planned"}
            ),
        ),
        (
            {"adopter": ID + "region/lianyungang"},
            lambda r: short(r, "model") == {"model/regional-complementarity-and-north-south-linkage"},
        ),
    ],
    "cross_river_links": [
        (
            {},
            lambda r: (
                {"infra/sutong-bridge", "infra/chongqi-highway-railway-yangtze-river-bridge"} <= short(r, "link")
                and len(short(r, "link")) == 6
            ),
        ),
        (
            {"place": ID + "region/qidong"},
            lambda r: (
                short(r, "link")
                == {
                    "infra/chongqi-highway-railway-yangtze-river-bridge",
                    "infra/nantong-cross-river-channel-from-qidong",
                }
            ),
        ),
    ],
    "entity_facts": [
        ({}, lambda r: {(x["property"].rsplit("#", 1)[-1], x["value"]) for x in r} >= {("established", "2003")}),
        (
            {"entity": ID + "infra/sutong-bridge"},
            lambda r: ("opened", "2008-06-30") in {(x["property"].rsplit("#", 1)[-1], x["value"]) for x in r},
        ),
    ],
    "events_between": [
        ({}, lambda r: len(r) == 4),
        (
            {"from": "2019-01-01", "to": "2019-12-31"},
            lambda r: short(r, "event") == {"event/2019-yangtze-river-delta-regional-leaders-symposium"},
        ),
    ],
    "indicator_values": [
        (
            {},
            lambda r: (
                sorted(Decimal(x["value"]) for x in r) == [700000000, 700000000, 800000000]
                and {x["kind"] for x in r} == {"planned"}
            ),
        ),
        # achieved figures first: the 2029 target comes after every actual GDP figure
        (
            {"indicator": ID + "indicator/gdp"},
            lambda r: (
                (ID + "park/jiangyin-jingjiang-industrial-park", Decimal("11735000000"))
                in {(x["subject"], Decimal(x["value"])) for x in r}
                and [x["kind"] for x in r] == sorted((x["kind"] for x in r), key=lambda k: k != "actual")
            ),
        ),
    ],
    "industry_tree": [
        ({}, lambda r: len(short(r, "industry")) == 24),
        (
            {"root": ID + "industry/manufacturing"},
            lambda r: (
                short(r, "industry")
                == {
                    "industry/shipbuilding",
                    "industry/high-end-textiles",
                    "industry/high-precision-steel-structures",
                    "industry/intelligent-manufacturing-of-traditional-chinese-medicine",
                    "industry/high-precision-manufacturing",
                    "industry/shipbuilding-and-marine-engineering",
                }
            ),
        ),
    ],
    "organisations_in_region": [
        ({}, lambda r: "org/lianyungang-municipal-development-and-reform-commission" in short(r, "organisation")),
        (
            {"region": ID + "region/nantong"},
            lambda r: (
                {
                    "org/nantong-municipal-party-committee",
                    "org/first-branch-center-of-the-yangtze-river-delta-national-science-and-technology-innovation-center",
                }
                <= short(r, "organisation")
            ),
        ),
    ],
    "parks_in_province": [
        (
            {},
            lambda r: (
                {"park/jiangyin-jingjiang-industrial-park", "park/shanghai-shibei-high-tech-city"} <= short(r, "park")
                and len(short(r, "park")) == 5
            ),
        ),
        (
            {"province": ID + "region/shanghai"},
            lambda r: short(r, "park") == {"park/yangtze-river-estuary-industrial-innovation-collaborative-zone"},
        ),
    ],
    "parks_with_builders": [
        (
            {},
            lambda r: (
                {x["builder"].removeprefix(ID) for x in r if x["park"].endswith("shanghai-shibei-high-tech-city")}
                == {"region/jingan", "region/nantong", "region/chongchuan"}
                and {x.get("status") for x in r if x["park"].endswith("pilot-zone")} == {"proposed"}
            ),
        ),
        (
            {"park": ID + "park/jiangyin-jingjiang-industrial-park"},
            lambda r: short(r, "builder") == {"region/wuxi", "region/taizhou-jiangsu"},
        ),
    ],
    "posts_of_person": [
        (
            {},
            lambda r: (
                ("Secretary", ID + "org/kunshan-municipal-party-committee", "2020")
                in {(x["role"], x.get("where"), x.get("on")) for x in r}
            ),
        ),
        (
            {"person": ID + "person/du-xiaogang"},
            lambda r: {(x["role"], x["where_label"]) for x in r} == {("Secretary", "Wuxi Municipal Party Committee")},
        ),
    ],
    "projects_with_investment": [
        ({}, lambda r: len(r) == 3 and {x["kind"] for x in r} == {"planned"}),
        ({"minimum": "750000000"}, lambda r: short(r, "project") == {"project/junhe-i-valley-project"}),
    ],
    "region_hierarchy": [
        ({}, lambda r: short(r, "ancestor") == {"region/suzhou-jiangsu", "region/jiangsu"}),
        (
            {"region": ID + "region/huangyan"},
            lambda r: short(r, "ancestor") == {"region/taizhou-zhejiang", "region/zhejiang"},
        ),
    ],
    "region_industries": [
        ({}, lambda r: len(short(r, "industry")) == 6 and {x["role"].rsplit("#", 1)[-1] for x in r} == {"keyIndustry"}),
        (
            {"subject": ID + "park/jiangyin-jingjiang-industrial-park"},
            lambda r: short(r, "industry") == {"industry/shipbuilding", "industry/high-precision-steel-structures"},
        ),
    ],
    "region_statistics": [
        (
            {},
            lambda r: (
                ("Cargo throughput", Decimal("259000000"), Decimal("8.13"))
                in {(x["indicator_label"], Decimal(x["value"]), Decimal(x.get("change_rate", "0"))) for x in r}
            ),
        ),
        (
            {"subject": ID + "park/shanghai-shibei-high-tech-city"},
            lambda r: (
                ("Companies", Decimal(300), "nearly")
                in {(x["indicator_label"], Decimal(x["value"]), x.get("qualifier")) for x in r}
                and {x["kind"] for x in r} == {"actual"}
            ),
        ),
    ],
    "search_by_name": [
        (
            {},
            lambda r: (
                {"region/taizhou-jiangsu", "region/taizhou-zhejiang"} <= short(r, "entity")
                and {"Taizhou (Jiangsu)", "Taizhou (Zhejiang)"} <= {x["label"] for x in r}
            ),
        ),
        ({"name": "susu"}, lambda r: short(r, "entity") == {"park/suzhou-suqian-industrial-park"}),
    ],
    "sources": [
        (
            {},
            lambda r: (
                len(r) == 10 and {"000_e6f6fc23eec8e3c6.txt", "004_772401527dc400ad.txt"} <= {x.get("file") for x in r}
            ),
        ),
        (
            {"year": "2024"},
            lambda r: {x["file"] for x in r} == {"000_e6f6fc23eec8e3c6.txt", "001_f5096a39126c624c.txt"},
        ),
    ],
    "subregions": [
        (
            {},
            lambda r: (
                short(r, "part")
                == {
                    "region/qidong",
                    "region/rugao",
                    "region/haimen",
                    "region/tongzhou-nantong",
                    "region/chongchuan",
                    "region/tangjiazha",
                }
            ),
        ),
        (
            {"region": ID + "region/kunshan"},
            lambda r: short(r, "part") == {"region/jinxi", "region/dianshan-lake", "region/zhouzhuang"},
        ),
    ],
    "titles_of": [
        ({}, lambda r: "title/nantong-charming-china-candidate-city" in short(r, "title")),
        (
            {"holder": ID + "park/jiangyin-jingjiang-industrial-park"},
            lambda r: (
                short(r, "title")
                == {"title/jiangyin-jingjiang-industrial-park-first-cross-river-cross-administrative-park"}
            ),
        ),
    ],
    "which_source_states": [
        (
            {},
            lambda r: (
                {(x["file"], x["paragraph"]) for x in r if x["predicate"].endswith("#established")}
                == {("003_300582be3568e295.txt", "3")}
            ),
        ),
        (
            {"entity": ID + "infra/sutong-bridge"},
            lambda r: (
                {(x["file"], x["paragraph"]) for x in r if x["predicate"].endswith("#opened")}
                == {("001_f5096a39126c624c.txt", "10")}
            ),
        ),
    ],
}
