"""The evaluator hands work to its pooled threads and back, within a time limit."""

from __future__ import annotations

import threading
import time

import pytest

from kg.limits.evaluator import Evaluator, QueryTimeout


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


def _nice() -> int:
    import os

    return os.getpriority(os.PRIO_PROCESS, threading.get_native_id())


@pytest.mark.parametrize("max_memory", [None, 1 << 30], ids=["time limit only", "memory bound too"])
def test_work_still_running_after_demote_after_yields_the_processor(max_memory):
    evaluator = Evaluator(10, max_memory=max_memory, demote_after=0.2)
    assert evaluator.call(_nice) == 0  # short work keeps its priority
    seen = evaluator.call(lambda: (time.sleep(0.5), _nice())[1])
    assert seen == 19  # demoted while it ran
    threads = {evaluator.call(threading.get_native_id) for _ in range(20)}
    assert [evaluator.call(_nice) for _ in range(20)] == [0] * 20  # a demoted thread serves no one again
    assert len(threads) >= 1 and all(evaluator.call(_nice) == 0 for _ in threads)


def test_without_demote_after_long_work_keeps_its_priority():
    assert Evaluator(10, max_memory=1 << 30).call(lambda: (time.sleep(0.3), _nice())[1]) == 0
    assert Evaluator(None).call(lambda: (time.sleep(0.3), _nice())[1]) == 0


def test_the_demoted_thread_is_the_one_that_ran_the_long_work():
    evaluator = Evaluator(10, demote_after=0.1)
    long_thread = []

    def long():
        long_thread.append(threading.get_native_id())
        time.sleep(0.4)
        return _nice()

    assert evaluator.call(long) == 19
    time.sleep(0.05)  # the thread has left the pool
    assert not any(t.native_id == long_thread[0] for t in threading.enumerate())
