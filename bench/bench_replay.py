"""
Replay throughput on the real kmem capture in ../shared/data/traces (issue #3), measured in
one run against the floor plain Python sets on the same file:

* ``baseline_s``: read the file, decompress it, and ``line.split()`` every line;
* ``replay_s``: ``memsim.trace.replay.replay_file`` into a booted 4 GiB x86_64 machine with
  2 CPUs (the capture's #P:2): read, decompress, parse, and drive the model (boot excluded);
* ``parse_s``: the same replay into a null machine whose allocator calls return at once, i.e.
  reading, parsing and the replay's own bookkeeping; ``model_s = replay_s - parse_s`` is what
  the model's kmem_cache_alloc/kmalloc/alloc_pages and their frees cost.

``events_per_s`` is event lines per second of ``replay_s``; ``ratio_to_baseline`` is
``replay_s / baseline_s``. Each time is the median of five runs (three with ``quick``).
"""

from __future__ import annotations

import gzip
import statistics
import time
from pathlib import Path
from typing import Any

from memsim.machine import Machine
from memsim.trace.replay import replay_file

TRACE = Path(__file__).resolve().parents[2] / "shared" / "data" / "traces" / \
    "kmem-compileall-git-tar.txt.gz"
TARGET_EVENTS_PER_S = 1_000_000
TARGET_RATIO = 5.0


class _NullCache:
    def __init__(self, name: str, size: int) -> None:
        self.name = name
        self.object_size = size
        self.size = size


class _NullMachine:
    """Just enough of Machine for replay_file(): every allocator call returns at once."""

    nr_cpus = 2

    def __init__(self) -> None:
        self.current_cpu = 0

    def kmem_cache_create(self, name: str, size: int, align: int = 0, flags: int = 0,
                          ctor: Any = None) -> _NullCache:
        return _NullCache(name, size)

    def kmem_cache_lookup(self, name: str) -> None:
        return None

    def kmem_cache_destroy(self, s: Any) -> None:
        pass

    def kmem_cache_alloc(self, s: Any, gfp: int) -> int:
        return 1

    def kmem_cache_free(self, s: Any, addr: int) -> None:
        pass

    def kmalloc(self, size: int, gfp: int) -> int:
        return 1

    def kfree(self, addr: int | None) -> None:
        pass

    def alloc_pages(self, gfp: int, order: int = 0) -> int:
        return 1

    def free_pages_pfn(self, page: int, order: int = 0) -> None:
        pass


def _baseline() -> float:
    t = time.perf_counter()
    text = gzip.decompress(TRACE.read_bytes()).decode()
    for line in text.split("\n"):
        line.split()
    return time.perf_counter() - t


def _replay(null: bool) -> tuple[float, int]:
    m: Any = _NullMachine() if null else Machine.boot(mem="4G", cpus=2)
    t = time.perf_counter()
    r = replay_file(m, str(TRACE))
    return time.perf_counter() - t, r.events_total


def run(quick: bool = False) -> dict[str, Any]:
    reps = 3 if quick else 5
    base, replay, parse = [], [], []
    events = 0
    for _ in range(reps):   # interleaved, so drifts of the machine hit all three alike
        base.append(_baseline())
        dt, events = _replay(null=False)
        replay.append(dt)
        parse.append(_replay(null=True)[0])
    b, r, p = (statistics.median(x) for x in (base, replay, parse))
    eps = events / r
    return {
        "trace": TRACE.name,
        "events": events,
        "baseline_s": round(b, 4),
        "replay_s": round(r, 4),
        "parse_s": round(p, 4),
        "model_s": round(r - p, 4),
        "events_per_s": round(eps),
        "ratio_to_baseline": round(r / b, 2),
        "parse_ratio_to_baseline": round(p / b, 2),
        "targets": {
            "events_per_s": {"value": round(eps), "target": f">= {TARGET_EVENTS_PER_S:,}",
                             "met": eps >= TARGET_EVENTS_PER_S},
            "ratio_to_baseline": {"value": round(r / b, 2), "target": f"<= {TARGET_RATIO}",
                                  "met": r / b <= TARGET_RATIO},
        },
    }


def report(r: dict[str, Any]) -> str:
    per_event = 1e6 / r["events"]
    lines = [
        f"replay ({r['trace']}, {r['events']:,} events; 4 GiB x86_64, 2 CPUs; medians)",
        f"  baseline (read + gunzip + split every line): {r['baseline_s']:.3f} s",
        f"  replay: {r['replay_s']:.3f} s = parse + bookkeeping {r['parse_s']:.3f} s "
        f"({r['parse_s'] * per_event:.2f} us/event) + model {r['model_s']:.3f} s "
        f"({r['model_s'] * per_event:.2f} us/event)",
    ]
    for k, t in r["targets"].items():
        lines.append(f"  {k}: {t['value']:,} ({t['target']}) {'met' if t['met'] else 'NOT met'}")
    return "\n".join(lines)
