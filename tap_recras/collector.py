"""The garbage collector's settings while the tap syncs.

Start-up (singer-sdk, requests, the schemas) leaves a few hundred thousand objects that live
until the process ends, and a sync allocates several container objects per record, which
reference counting frees. CPython's collector still runs a young-generation pass every 700
net allocations, and each full pass walks everything start-up left. Measured on the
100,000-customer list (benchmarks/README.md, tap section), freezing start-up's objects
(:func:`gc.freeze`) and raising the first threshold to :data:`SYNC_THRESHOLD` for the sync
cut 0.15 to 0.2 s of CPU. Records hold no reference cycles, so collecting less often does not
grow memory; cycles made during the sync are still collected, only in larger passes.
"""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager

#: Net allocations between young-generation passes during a sync (CPython's default: 700).
SYNC_THRESHOLD = 100_000


@contextmanager
def lenient_collector() -> Iterator[None]:
    """Freeze the objects alive now and collect less often; restore both afterwards.

    Objects someone else froze before stay frozen: freezing is only undone if it was done
    here (:func:`gc.unfreeze` thaws every frozen object).
    """
    thresholds = gc.get_threshold()
    freezes = gc.get_freeze_count() == 0
    if freezes:
        gc.freeze()
    gc.set_threshold(SYNC_THRESHOLD, *thresholds[1:])
    try:
        yield
    finally:
        gc.set_threshold(*thresholds)
        if freezes:
            gc.unfreeze()
