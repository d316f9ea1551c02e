"""A try's slot is free as soon as its answer is in.

The client calls ``done(status)`` once the body is read, then logs the request's duration
metric; the slot must not be held for that logging (a line on stderr under the logging
handler's lock, contended by every writer thread): with 4 slots against a server that
allows 4, each slot held past the answer is a request not in flight.
"""

from __future__ import annotations

import threading

from recras_api.concurrency import AdaptiveConcurrency


def test_a_slot_is_free_for_the_next_try_once_its_answer_is_in() -> None:
    gate = AdaptiveConcurrency(1)
    entered = threading.Event()

    def next_try() -> None:
        with gate.slot() as slot:
            entered.set()
            slot.done(200)

    with gate.slot() as slot:
        slot.done(201)
        waiter = threading.Thread(target=next_try)
        waiter.start()
        # Still inside the first try's block (its metric being logged): the next try runs.
        assert entered.wait(timeout=5)
    waiter.join(timeout=5)
    assert not waiter.is_alive()


def test_a_try_without_an_answer_frees_its_slot_when_it_ends() -> None:
    gate = AdaptiveConcurrency(1)
    with gate.slot():
        pass  # e.g. an exception before any answer: done() never called
    entered = threading.Event()

    def next_try() -> None:
        with gate.slot():
            entered.set()

    waiter = threading.Thread(target=next_try)
    waiter.start()
    assert entered.wait(timeout=5)
    waiter.join(timeout=5)


def test_done_then_exit_frees_one_slot_not_two() -> None:
    gate = AdaptiveConcurrency(2)
    first, second = gate.slot(), gate.slot()
    first.__enter__()
    second.__enter__()
    first.done(200)
    first.__exit__(None, None, None)
    third = gate.slot()
    third.__enter__()  # the slot first freed
    got_fourth = threading.Event()

    def fourth() -> None:
        with gate.slot():
            got_fourth.set()

    waiter = threading.Thread(target=fourth)
    waiter.start()
    assert not got_fourth.wait(timeout=0.3)  # two in flight: second and third
    second.__exit__(None, None, None)
    assert got_fourth.wait(timeout=5)
    third.__exit__(None, None, None)
    waiter.join(timeout=5)
