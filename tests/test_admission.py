"""Admission control (kg.limits.admission): a bounded number of queries at once, a short wait, fair shares."""

from __future__ import annotations

import threading
import time

import pytest

from kg.limits.admission import Admission, Busy


def hold(admission: Admission, client: str, release: threading.Event, entered: list) -> threading.Thread:
    def run():
        admission.enter(client)
        entered.append(client)
        release.wait(10)
        admission.leave(client)

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    return thread


def test_no_more_than_the_slots_run_and_a_late_query_is_refused_after_the_wait():
    admission, release, entered = Admission(slots=2, wait=0.3), threading.Event(), []
    threads = [hold(admission, f"client-{n}", release, entered) for n in range(2)]
    time.sleep(0.1)
    assert admission.running() == 2
    started = time.monotonic()
    with pytest.raises(Busy) as refused:
        admission.enter("client-3")
    assert 0.25 <= time.monotonic() - started < 2
    assert refused.value.http_status == 503 and refused.value.retry_after >= 1
    assert "max_running_queries" in refused.value.message
    release.set()
    for thread in threads:
        thread.join(5)
    admission.enter("client-3")  # a slot is free again
    admission.leave("client-3")
    assert admission.running() == 0


def test_a_waiting_query_starts_as_soon_as_a_slot_frees():
    admission, release, entered = Admission(slots=1, wait=5), threading.Event(), []
    first = hold(admission, "a", release, entered)
    time.sleep(0.1)
    threading.Timer(0.3, release.set).start()
    started = time.monotonic()
    admission.enter("b")
    assert 0.2 < time.monotonic() - started < 2
    admission.leave("b")
    first.join(5)


def test_one_client_cannot_hold_the_slots_while_another_waits():
    admission, release, entered = Admission(slots=4, wait=2), threading.Event(), []
    # a burst from one client takes every slot while it is alone ...
    burst = [hold(admission, "greedy", release, entered) for _ in range(4)]
    time.sleep(0.1)
    assert admission.running() == 4
    # ... more from it waits and is refused, saying why (its share), while another client is let in as
    # soon as a slot frees, and is not shut out by the greedy one's queue
    greedy_more = []
    waiting = threading.Thread(target=lambda: greedy_more.append(_try(admission, "greedy")), daemon=True)
    waiting.start()
    time.sleep(0.05)
    other = threading.Thread(target=lambda: greedy_more.append(("other", _try(admission, "other"))), daemon=True)
    other.start()
    time.sleep(0.1)
    release.set()  # the burst ends; both wait for slots, and the share is now 4 // 2 = 2 each
    for thread in burst + [waiting, other]:
        thread.join(5)
    assert ("other", "entered") in greedy_more
    # with two clients wanting, neither may hold more than two
    admission2, release2, entered2 = Admission(slots=4, wait=0.3), threading.Event(), []
    hold(admission2, "b", release2, entered2)
    time.sleep(0.05)
    for _ in range(2):
        hold(admission2, "a", release2, entered2)
    time.sleep(0.1)
    with pytest.raises(Busy, match="share"):
        admission2.enter("a")
    admission2.enter("b")  # b has one of its two
    admission2.leave("b")
    release2.set()


def _try(admission: Admission, client: str) -> str:
    try:
        admission.enter(client)
    except Busy:
        return "refused"
    admission.leave(client)
    return "entered"


def test_a_penalty_doubles_for_a_client_that_runs_away_again_and_is_forgotten_later():
    from kg.limits.admission import PenaltyBox

    box = PenaltyBox(places=4)
    assert box.punish("a", 0.2) == 0.2 and 0 < box.remaining("a") <= 0.2
    assert box.punish("a", 0.2) == 0.2  # a runaway begun before the penalty: no second doubling
    time.sleep(0.25)
    assert box.remaining("a") == 0
    assert box.punish("a", 0.2) == 0.4  # again soon after: twice as long
    assert box.punish("b", 0.2) == 0.2 and box.remaining("c") == 0
    time.sleep(0.4 + 4 * 0.4 + 0.1)  # past the penalty and the memory of it
    assert box.punish("a", 0.2) == 0.2


def test_a_client_whose_penalty_ended_runs_one_query_at_a_time_in_every_worker():
    """Probation: sent again the moment its penalty ends, a client's queries must not run away in every
    worker at once. Two Admission objects sharing one PenaltyBox stand for two workers."""
    from kg.limits.admission import PenaltyBox

    box = PenaltyBox(places=4)
    first, second = (Admission(slots=4, wait=0.1, penalties=box, penalty_seconds=0.2) for _ in range(2))
    first.punish("bomber")
    with pytest.raises(Busy) as punished:
        second.enter("bomber")
    assert "refused for" in punished.value.message
    time.sleep(0.25)  # the penalty is over; probation is not
    ticket = first.enter("bomber")
    assert ticket is True
    with pytest.raises(Busy) as probation:
        second.enter("bomber")  # the other worker: one query at a time in the whole server
    assert "one query at a time" in probation.value.message and probation.value.retry_after == 1
    assert second.enter("someone else") is False  # other clients are not held back
    second.leave("someone else")
    first.leave("bomber", ticket)
    again = second.enter("bomber")  # its query ended: the next may start
    second.leave("bomber", again)
    time.sleep(4 * 0.2 + 0.1)  # past the probation
    tickets = [first.enter("bomber"), second.enter("bomber")]
    assert tickets == [False, False]
    for admission, ticket in zip((first, second), tickets, strict=True):
        admission.leave("bomber", ticket)


def test_a_refused_probation_query_does_not_keep_its_place():
    """A query admitted on probation but refused a slot (the worker is full) is not counted as running."""
    from kg.limits.admission import PenaltyBox

    box = PenaltyBox(places=4)
    admission, release, entered = (
        Admission(slots=1, wait=0.1, penalties=box, penalty_seconds=0.1),
        threading.Event(),
        [],
    )
    holder = hold(admission, "other", release, entered)
    time.sleep(0.05)
    admission.punish("bomber")
    time.sleep(0.15)
    with pytest.raises(Busy) as full:
        admission.enter("bomber")
    assert "slots" in full.value.message
    release.set()
    holder.join(5)
    ticket = admission.enter("bomber")  # not held back by the refused one
    assert ticket is True
    admission.leave("bomber", ticket)
