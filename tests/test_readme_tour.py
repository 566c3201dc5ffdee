"""The README's five-minute tour works as written: every address it gives answers, and the examples that
ask something get answers with rows (an example that answers only a header teaches nothing)."""

from __future__ import annotations

import re

from helpers import ROOT

HOST = "http://127.0.0.1:8000"


def tour() -> str:
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    start = text.index("## A five-minute tour")
    return text[start : text.index("\n## ", start + 1)]


def test_every_address_in_the_tour_answers(client, store):
    paths = set(re.findall(re.escape(HOST) + r"(/[^\s'<>`]*)", tour()))
    assert {"/", "/queries", "/search?q=Suzhou", "/validation", "/changes"} <= paths
    for path in sorted(paths):
        answer = client.get(path.replace("BUILD", store.build_id), follow_redirects=True)
        assert answer.status_code == 200, (path, answer.status_code, answer.data[:300])
        assert answer.data.strip(), path


def test_the_tour_s_questions_have_answers(client):
    text = tour()
    saved = [path for path in re.findall(re.escape(HOST) + r"(/queries/[^\s'<>`]+)", text) if "?" in path]
    query = re.search(r"--data-urlencode 'query=(.*?)'", text, re.DOTALL)
    assert saved and query is not None
    for path in saved:
        rows = client.get(path).data.decode().splitlines()
        assert len(rows) > 1, (path, rows)  # a header and at least one row
    answer = client.post("/sparql", data={"query": query.group(1)}, headers={"Accept": "text/csv"})
    assert answer.status_code == 200 and len(answer.data.decode().splitlines()) > 1
