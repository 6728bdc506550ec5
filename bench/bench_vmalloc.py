"""
vmalloc throughput on a booted 4 GiB x86_64 machine (2 CPUs):

* ``vmalloc_vfree_pairs_per_s``: ``vmalloc`` + ``vfree`` pairs of 1–64 pages (sizes drawn
  uniformly, a fixed seed), each pair allocating and freeing its pages, the vm_struct and
  the pages array, installing and clearing the PTEs, and putting the range on the lazy
  purge list (the purge runs whenever more than ``lazy_max_pages()`` pages are pending);
* ``pages_per_s``: the same run counted in pages mapped and unmapped.

Each figure is the median of five runs (three with ``--quick``).
"""

from __future__ import annotations

import random
import statistics
import time
from typing import Any

from memsim.arch import PAGE_SIZE
from memsim.machine import Machine


def _pairs(n: int, seed: int) -> tuple[float, float]:
    m = Machine.boot(mem="4G", cpus=2)
    rng = random.Random(seed)
    sizes = [rng.randint(1, 64) * PAGE_SIZE for _ in range(n)]
    vmalloc, vfree = m.vmalloc, m.vfree
    for s in sizes[:100]:
        vfree(vmalloc(s))
    t = time.perf_counter()
    for s in sizes:
        vfree(vmalloc(s))
    dt = time.perf_counter() - t
    m.validate()
    return n / dt, sum(sizes) // PAGE_SIZE / dt


def run(quick: bool = False) -> dict[str, Any]:
    reps = 3 if quick else 5
    n = 2_000 if quick else 10_000
    runs = [_pairs(n, s) for s in range(reps)]
    return {
        "vmalloc_vfree_pairs_per_s": round(statistics.median(r[0] for r in runs)),
        "pages_per_s": round(statistics.median(r[1] for r in runs)),
    }


def report(r: dict[str, Any]) -> str:
    return "\n".join([
        "vmalloc (4 GiB x86_64, 2 CPUs; medians)",
        f"  vmalloc+vfree pairs of 1-64 pages: {r['vmalloc_vfree_pairs_per_s']:,}/s",
        f"  pages mapped and unmapped:         {r['pages_per_s']:,}/s",
    ])
