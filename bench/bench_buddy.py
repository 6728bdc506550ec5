"""
The page allocator's throughput on a booted 4 GiB x86_64 machine:

* ``order0_pairs_per_s``: ``alloc_pages(GFP_KERNEL, 0)`` + ``__free_pages(page, 0)`` pairs,
  which the per-CPU page lists serve (their refill and drain included);
* ``mixed_ops_per_s``: random alloc/free operations of orders 0-10 and three migratetypes
  over a live set of up to 2000 blocks (splits, merges, pcp refills/drains, fallbacks).

Each figure is the median of five runs.
"""

from __future__ import annotations

import random
import statistics
import time
from typing import Any

from memsim.include.gfp import __GFP_RECLAIMABLE, GFP_HIGHUSER_MOVABLE, GFP_KERNEL
from memsim.machine import Machine

TARGET = {"order0_pairs_per_s": 1_000_000, "mixed_ops_per_s": 300_000}


def _order0(n: int) -> float:
    m = Machine.boot(mem="4G", cpus=2)
    alloc, free = m.alloc_pages, m.free_pages_pfn
    gfp = GFP_KERNEL
    for _ in range(1000):
        free(alloc(gfp, 0), 0)  # type: ignore[arg-type]
    t = time.perf_counter()
    for _ in range(n):
        free(alloc(gfp, 0), 0)  # type: ignore[arg-type]
    return n / (time.perf_counter() - t)


def _mixed(n: int, seed: int) -> float:
    m = Machine.boot(mem="4G", cpus=2)
    rng = random.Random(seed)
    kinds = (GFP_KERNEL, GFP_HIGHUSER_MOVABLE, GFP_KERNEL | __GFP_RECLAIMABLE)
    # pre-generate the operation stream so the loop measures the allocator
    plan = [(rng.random(), rng.randrange(11), kinds[rng.randrange(3)], rng.random())
            for _ in range(n)]
    alloc, free = m.alloc_pages, m.free_pages_pfn
    live: list[tuple[int, int]] = []
    t = time.perf_counter()
    for r, order, gfp, pick in plan:
        if live and (r < 0.5 or len(live) >= 2000):
            i = int(pick * len(live))
            live[i], live[-1] = live[-1], live[i]
            pfn, o = live.pop()
            free(pfn, o)
        else:
            pfn2 = alloc(gfp, order)
            if pfn2 is not None:
                live.append((pfn2, order))
    dt = time.perf_counter() - t
    m.validate()
    return n / dt


def run(quick: bool = False) -> dict[str, Any]:
    reps = 3 if quick else 5
    n0 = 100_000 if quick else 300_000
    nm = 50_000 if quick else 200_000
    o0 = statistics.median(_order0(n0) for _ in range(reps))
    mx = statistics.median(_mixed(nm, s) for s in range(reps))
    return {
        "order0_pairs_per_s": round(o0),
        "mixed_ops_per_s": round(mx),
        "targets": {k: {"value": round(v), "target": f">= {TARGET[k]:,}", "met": v >= TARGET[k]}
                    for k, v in (("order0_pairs_per_s", o0), ("mixed_ops_per_s", mx))},
    }


def report(r: dict[str, Any]) -> str:
    lines = ["buddy (4 GiB x86_64, 2 CPUs; medians)"]
    for k, t in r["targets"].items():
        lines.append(f"  {k}: {t['value']:,} ({t['target']}) {'met' if t['met'] else 'NOT met'}")
    return "\n".join(lines)
