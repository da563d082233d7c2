"""The bounded snapshot history behind the timeline: covers the whole run, stays within its budget."""

from __future__ import annotations

import numpy as np
import pytest

from nnviz.engine.history import SnapshotHistory, snapshot_bytes
from nnviz.engine.messages import Snapshot

PROBE = np.zeros((8, 2), np.float32)
PROBE_Y = np.zeros(8, np.int32)  # one probe batch per run, as the session sends it


def snap(step: int, units: int = 16) -> Snapshot:
    w = np.full((2, units), step, np.float32)
    return Snapshot(
        step=step,
        epoch=1 + step // 100,
        probe_x=PROBE,
        probe_y=PROBE_Y,
        activations={"d": np.zeros((8, units), np.float32)},
        params={"d": {"kernel": w}},
        grad_norms={"d": 1.0},
        probabilities=np.zeros((8, 2), np.float32),
        loss=1.0,
        learning_rate=0.1,
    )


def test_bytes_count_every_array_once():
    s = snap(1)
    assert snapshot_bytes(s) == PROBE.nbytes + 8 * 4 + 8 * 16 * 4 + 2 * 16 * 4 + 8 * 2 * 4


def test_keeps_everything_until_full_then_thins_evenly_keeping_first_newest_and_recent():
    h = SnapshotHistory(max_items=50, keep_recent=10)
    for step in range(1, 41):
        h.append(snap(step))
    assert h.steps == list(range(1, 41)) and h.dropped == 0
    for step in range(41, 5001):
        h.append(snap(step))
        assert len(h) <= 50
    steps = h.steps
    assert steps[0] == 1 and steps[-1] == 5000 and steps == sorted(steps)
    assert steps[-10:] == list(range(4991, 5001))  # the recent ones are step by step
    gaps = np.diff(steps[:-10])
    assert gaps.max() <= 2 * np.median(gaps)  # the older part is covered evenly, no big hole
    assert len(h) >= 25  # thinning halves, it does not empty
    assert h.newest.step == 5000 and h[0].step == 1


def test_byte_budget_bounds_memory_however_long_the_run():
    one = snapshot_bytes(snap(0, units=1000), {id(PROBE), id(PROBE_Y)})
    h = SnapshotHistory(max_items=10_000, max_bytes=40 * one)
    sizes = []
    for step in range(3000):
        h.append(snap(step, units=1000))
        sizes.append(h.nbytes)
    assert max(sizes) <= 40 * one + PROBE.nbytes + PROBE_Y.nbytes
    assert h.nbytes == PROBE.nbytes + PROBE_Y.nbytes + len(h) * one  # the books add up
    assert len(h) >= 20 and h.steps[-1] == 2999


def test_same_step_replaces_and_lookup_by_step():
    h = SnapshotHistory()
    for step in (0, 5, 10, 10, 20):
        h.append(snap(step))
    assert h.steps == [0, 5, 10, 20]
    assert h.index_at_step(12) == 2 and h.index_at_step(20) == 3 and h.index_at_step(-1) == 0
    h.clear()
    assert len(h) == 0 and h.nbytes == 0 and h.newest is None
    with pytest.raises(IndexError):
        h.index_at_step(0)
    with pytest.raises(ValueError):
        SnapshotHistory(max_items=3)


def test_snapshots_so_large_that_the_recent_ones_fill_the_budget_still_cover_the_whole_run():
    """A CNN's snapshots (~3.5 MB): 32 recent ones overflowed 96 MiB, so the history held
    the first and the newest few seconds only, and its stride doubled on every arrival."""
    units = 3_500_000 // (10 * 4)
    size = snapshot_bytes(snap(0, units), {id(PROBE), id(PROBE_Y)})
    h = SnapshotHistory(max_bytes=96 * 2**20, keep_recent=32)
    for step in range(1, 301):
        h.append(snap(step, units))
    assert h.nbytes <= 96 * 2**20
    steps = h.steps
    assert steps[0] == 1 and steps[-1] == 300
    recent = int(96 * 2**20 // 2 // size)
    assert steps[-recent:] == list(range(301 - recent, 301))  # the newest, one by one
    older = steps[1:-recent]
    assert len(older) >= 5 and older[0] < 100  # the run's early part is still there
    gaps = np.diff([1, *older])
    assert gaps.max() <= 2 * gaps.min() + 1  # evenly thinned
    assert h.stride < 300
