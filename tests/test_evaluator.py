"""The evaluator hands work to its pooled threads and back, within a time limit."""

from __future__ import annotations

import threading
import time

import pytest

from kg.evaluator import Evaluator, QueryTimeout


def test_answers_and_errors_come_back_to_the_caller():
    evaluator = Evaluator(5)
    assert evaluator.call(lambda: 42) == 42
    assert [evaluator.call(lambda i=i: i * i) for i in range(200)] == [i * i for i in range(200)]

    def fails():
        raise KeyError("no such term")

    with pytest.raises(KeyError, match="no such term"):
        evaluator.call(fails)
    assert evaluator.call(lambda: "still serving") == "still serving"


def test_work_past_the_limit_gets_a_timeout_at_once_and_reports_the_runaway():
    runaways = []
    evaluator = Evaluator(0.2, on_runaway=lambda kind: runaways.append(kind))
    release = threading.Event()
    started = time.monotonic()
    with pytest.raises(QueryTimeout, match="query_timeout"):
        evaluator.call(lambda: release.wait(30))
    assert time.monotonic() - started < 5 and runaways == ["time"]
    # the runaway keeps its thread; the next call gets another, and the late result reaches no one
    assert evaluator.call(lambda: "next") == "next"
    release.set()
    assert evaluator.call(lambda: "after") == "after" and runaways == ["time"]


def test_without_a_limit_the_caller_waits_for_the_work():
    evaluator = Evaluator(None)
    assert evaluator.call(lambda: time.sleep(0.3) or "slow but answered") == "slow but answered"
