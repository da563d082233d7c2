"""The chunk sizer's rule, on a fake clock: no training, no JAX, no waiting."""

from __future__ import annotations

import pytest

from nnviz.engine.chunking import ChunkSizer

MS = 2**-10  # about a millisecond, exact in binary: the sums below round nothing


class FakeClock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


def call(sizer: ChunkSizer, clock: FakeClock, seconds_per_step: float, n=None, waited=True, resize=True):
    """One call of ``n`` steps (the sizer's chunk unless given) that takes ``seconds_per_step`` a step."""
    n = sizer.chunk if n is None else n
    started = sizer.started()
    clock.advance(seconds_per_step * n)
    return sizer.finished(n, started, waited, resize)


def sizer_and_clock(chunk_seconds=0.2, max_chunk=256):
    clock = FakeClock()
    return ChunkSizer(chunk_seconds, max_chunk, clock), clock


def test_a_call_is_timed_on_the_clock_given():
    sizer, clock = sizer_and_clock()
    assert call(sizer, clock, 0.5) == pytest.approx(0.5)


def test_the_first_call_compiles_and_does_not_size_the_chunk():
    sizer, clock = sizer_and_clock()
    call(sizer, clock, 30.0)  # a compilation: would shrink it, were it counted
    assert sizer.chunk == 1
    call(sizer, clock, 0.001)
    assert sizer.chunk == 2


def test_the_chunk_grows_at_most_twofold_a_call_towards_chunk_seconds():
    sizer, clock = sizer_and_clock(chunk_seconds=200 * MS)
    call(sizer, clock, MS)  # compiles
    seen = []
    for _ in range(12):
        call(sizer, clock, MS)  # 200 steps make chunk_seconds
        seen.append(sizer.chunk)
    assert seen[:7] == [2, 4, 8, 16, 32, 64, 128]
    assert seen[7:] == [200] * 5  # settled where a call takes chunk_seconds


def test_a_long_call_shrinks_the_chunk_at_once():
    sizer, clock = sizer_and_clock(chunk_seconds=0.25)
    call(sizer, clock, MS / 8)
    for _ in range(9):
        call(sizer, clock, MS / 8)
    assert sizer.chunk == 256  # capped by max_chunk
    call(sizer, clock, 16 * MS)  # 128 times slower: 4 s for the chunk
    assert sizer.chunk == 16  # 0.25 s at 16/1024 s a step
    call(sizer, clock, 1.0)  # slower than chunk_seconds for a single step: never below one
    assert sizer.chunk == 1


def test_max_chunk_caps_the_chunk():
    sizer, clock = sizer_and_clock(chunk_seconds=10.0, max_chunk=7)
    for _ in range(6):
        call(sizer, clock, 0.001)
    assert sizer.chunk == 7
    assert ChunkSizer(0.2, 0).max_chunk == 1


def test_a_call_done_before_it_was_looked_for_may_grow_whatever_it_took():
    # Its time is the report's made meanwhile, not its own work: the device waited on Python.
    sizer, clock = sizer_and_clock(chunk_seconds=0.2)
    call(sizer, clock, 0.001)
    call(sizer, clock, 0.001)
    assert sizer.chunk == 2
    call(sizer, clock, 5.0, waited=False)
    assert sizer.chunk == 4


def test_calls_of_another_length_and_single_steps_while_paused_leave_the_chunk():
    sizer, clock = sizer_and_clock(chunk_seconds=0.2)
    call(sizer, clock, 0.001)
    call(sizer, clock, 0.001)
    call(sizer, clock, 0.001)
    assert sizer.chunk == 4
    call(sizer, clock, 1.0, n=3)  # an epoch's tail, or a slow-motion frame
    assert sizer.chunk == 4
    call(sizer, clock, 1.0, resize=False)  # paused: one step at a time, as slow as the window
    assert sizer.chunk == 4
    assert sizer.calls == 5


def test_a_call_started_behind_a_snapshot_is_timed_from_when_the_device_was_free():
    sizer, clock = sizer_and_clock()
    started = sizer.started()
    clock.advance(0.3)  # the snapshot's probes, queued before the call, come back
    sizer.device_freed()
    clock.advance(0.1)  # the call's own work
    assert sizer.finished(1, started, True) == pytest.approx(0.1)  # not 0.4
    # a call started after the device was freed is timed from its start
    started = sizer.started()
    clock.advance(0.05)
    assert sizer.finished(1, started, True) == pytest.approx(0.05)
