"""
The slab allocator's throughput on a booted 4 GiB x86_64 machine (SLUB, 2 CPUs):

* ``cache_pairs_per_s``: ``kmem_cache_alloc`` + ``kmem_cache_free`` pairs of a 64-byte cache
  on the per-CPU fast path (the CPU slab's lockless freelist);
* ``kmalloc_mixed_ops_per_s``: kmalloc/kfree operations of mixed sizes (8 B … 8 KiB, the
  real trace's request-size mix is dominated by small sizes, so sizes are drawn
  log-uniformly) over a live set of up to 2000 objects: CPU-slab refills, CPU/node partial
  lists, new slabs and their pages;
* ``slab_cache_pairs_per_s``: the same pairs on the classic SLAB (``slab=slab``): the
  per-CPU array_cache hit.

Each figure is the median of five runs (three with ``--quick``).
"""

from __future__ import annotations

import random
import statistics
import time
from typing import Any

from memsim.include.gfp import GFP_KERNEL
from memsim.machine import Machine

TARGET = {"cache_pairs_per_s": 2_000_000}


def _pairs(n: int, allocator: str) -> float:
    m = Machine.boot(mem="4G", cpus=2, slab=allocator)
    s = m.kmem_cache_create("bench64", 64)
    alloc, free = m.kmem_cache_alloc, m.kmem_cache_free
    gfp = GFP_KERNEL
    for _ in range(1000):
        free(s, alloc(s, gfp))  # type: ignore[arg-type]
    t = time.perf_counter()
    for _ in range(n):
        free(s, alloc(s, gfp))  # type: ignore[arg-type]
    return n / (time.perf_counter() - t)


def _kmalloc_mixed(n: int, seed: int) -> float:
    m = Machine.boot(mem="4G", cpus=2)
    rng = random.Random(seed)
    plan = [(rng.random(), int(2 ** rng.uniform(3, 13)), rng.random()) for _ in range(n)]
    kmalloc, kfree = m.kmalloc, m.kfree
    live: list[int] = []
    t = time.perf_counter()
    for r, size, pick in plan:
        if live and (r < 0.5 or len(live) >= 2000):
            i = int(pick * len(live))
            live[i], live[-1] = live[-1], live[i]
            kfree(live.pop())
        else:
            p = kmalloc(size, GFP_KERNEL)
            if p is not None:
                live.append(p)
    dt = time.perf_counter() - t
    m.validate()
    return n / dt


def run(quick: bool = False) -> dict[str, Any]:
    reps = 3 if quick else 5
    n = 200_000 if quick else 1_000_000
    nm = 50_000 if quick else 300_000
    pairs = statistics.median(_pairs(n, "slub") for _ in range(reps))
    mixed = statistics.median(_kmalloc_mixed(nm, s) for s in range(reps))
    slab_pairs = statistics.median(_pairs(n, "slab") for _ in range(reps))
    return {
        "cache_pairs_per_s": round(pairs),
        "kmalloc_mixed_ops_per_s": round(mixed),
        "slab_cache_pairs_per_s": round(slab_pairs),
        "targets": {"cache_pairs_per_s": {
            "value": round(pairs), "target": f">= {TARGET['cache_pairs_per_s']:,}",
            "met": pairs >= TARGET["cache_pairs_per_s"]}},
    }


def report(r: dict[str, Any]) -> str:
    t = r["targets"]["cache_pairs_per_s"]
    return "\n".join([
        "slab (4 GiB x86_64, 2 CPUs; medians)",
        f"  SLUB kmem_cache_alloc+free pairs: {t['value']:,}/s ({t['target']}) "
        f"{'met' if t['met'] else 'NOT met'}",
        f"  SLUB kmalloc/kfree mixed sizes:   {r['kmalloc_mixed_ops_per_s']:,} ops/s",
        f"  SLAB kmem_cache_alloc+free pairs: {r['slab_cache_pairs_per_s']:,}/s",
    ])
