"""The glibc allocator settings the benchmarks run under (see ../shared/PERF_NOTES.md).

glibc reads its tunables when a process starts, so a benchmark that wants them re-executes
itself once with them set: ``ensure_allocator_env(__file__)`` at the top of ``main``.
"""

from __future__ import annotations

import os
import sys

ALLOCATOR_ENV = {
    # Keep freed blocks instead of returning them to the OS, so XLA's per-call buffers
    # do not page-fault on every step. The same setting for every variant.
    "GLIBC_TUNABLES": "glibc.malloc.mmap_threshold=33554432:glibc.malloc.trim_threshold=4294967295",
}
REEXEC_MARK = "NNVIZ_BENCH_REEXECED"


def ensure_allocator_env(script: str, disabled: bool = False) -> None:
    """Re-execute ``script`` with ALLOCATOR_ENV unless it is set already (or ``disabled``)."""
    if disabled or os.environ.get(REEXEC_MARK):
        return
    if all(os.environ.get(k) == v for k, v in ALLOCATOR_ENV.items()):
        return
    env = dict(os.environ, **ALLOCATOR_ENV, **{REEXEC_MARK: "1"})
    sys.stdout.flush()
    os.execve(sys.executable, [sys.executable, os.path.abspath(script), *sys.argv[1:]], env)
