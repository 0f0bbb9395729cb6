"""The ``instance_pvm_*`` meters. Upstream reads them with psutil on Python threads; here
CPU, memory and thread counts are read natively from /proc by the reporter thread, and the
GC meters are kept by a `gc.callbacks` entry, so this package only installs that entry."""

from __future__ import annotations

import gc


def install() -> None:
    """Seed the GC counts and register the native GC callback (once per interpreter)."""
    from skywalking import _core

    if _core.gc_callback in gc.callbacks:
        return
    _core.seed_gc_counts([int(stats.get('collected', 0)) for stats in gc.get_stats()])
    gc.callbacks.append(_core.gc_callback)
