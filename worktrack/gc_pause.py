"""Python's cyclic garbage collector around large data: paused while a large, acyclic structure is
built, and tuned for short command-line runs.

Building a province plan creates millions of small objects (YAML nodes, dicts, dataclasses). Each
one counts towards the collector's thresholds, so it runs full collections over an ever larger heap
while the structure grows, though nothing built there is garbage: about 40 % of the load time.
Reference counting still frees what is dropped; only the search for reference cycles waits until
the outermost pause ends. The pause nests and is shared between threads: the collector is enabled
again when the last pause ends, and only if it was enabled when the first one began.
"""

from __future__ import annotations

import gc
import threading
from collections.abc import Iterator
from contextlib import contextmanager

_lock = threading.Lock()
_depth = 0
_was_enabled = False


@contextmanager
def paused_gc() -> Iterator[None]:
    global _depth, _was_enabled
    with _lock:
        if _depth == 0:
            _was_enabled = gc.isenabled()
            gc.disable()
        _depth += 1
    try:
        yield
    finally:
        with _lock:
            _depth -= 1
            if _depth == 0 and _was_enabled:
                gc.enable()


# A command-line run builds a plan of up to millions of objects and data frames of hundreds of
# thousands of rows, then ends. With the default thresholds (700, 10, 10) the collector runs
# hundreds of times and walks the whole heap a few times: a quarter of `status --json`'s time at
# city scale. Cycles are still found, every 100,000 net allocations instead of every 700.
BATCH_THRESHOLDS = (100_000, 50, 100)


def for_batch_work() -> None:
    """Collector thresholds for a short process over large data (the command line), when they are
    still Python's defaults (a caller's own tuning is kept)."""
    if gc.get_threshold() == (700, 10, 10):
        gc.set_threshold(*BATCH_THRESHOLDS)


def before_exit() -> None:
    """Called as a process ends: what is still alive is left out of the final collection at interpreter
    shutdown (a walk over everything, ~0.3 s after a city-scale status); reference counting and the
    operating system free it as usual."""
    gc.freeze()


__all__ = ["BATCH_THRESHOLDS", "before_exit", "for_batch_work", "paused_gc"]
