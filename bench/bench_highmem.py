"""
High-memory temporary mappings on a booted 2 GiB i386 machine (2 CPUs):

* ``kmap_local_pairs_per_s``: ``kmap_local_page`` + ``kunmap_local`` pairs of a highmem page
  (push a per-CPU fixmap slot, install its PTE, pop it);
* ``kmap_local_nested_pairs_per_s``: the same, four mappings deep (the stack discipline);
* ``kmap_pairs_per_s``: ``kmap`` + ``kunmap`` of 2048 highmem pages in turn, so the pkmap
  area wraps and ``flush_all_zero_pkmaps()`` runs every 1024 maps.

Each figure is the median of five runs (three with ``--quick``).
"""

from __future__ import annotations

import statistics
import time
from typing import Any

from memsim.include.gfp import GFP_HIGHUSER
from memsim.machine import Machine

TARGET = {"kmap_local_pairs_per_s": 500_000}


def _machine() -> tuple[Machine, list[int]]:
    m = Machine.boot(arch="i386", mem="2G", cpus=2)
    pages = []
    for _ in range(2048):
        p = m.alloc_pages(GFP_HIGHUSER)
        assert p is not None and p >= m.max_low_pfn
        pages.append(p)
    return m, pages


def _local_pairs(n: int) -> float:
    m, pages = _machine()
    kmap_local_page, kunmap_local = m.kmap_local_page, m.kunmap_local
    p = pages[0]
    t = time.perf_counter()
    for _ in range(n):
        kunmap_local(kmap_local_page(p))  # type: ignore[arg-type]
    return n / (time.perf_counter() - t)


def _local_nested(n: int) -> float:
    m, pages = _machine()
    kmap_local_page, kunmap_local = m.kmap_local_page, m.kunmap_local
    a, b, c, d = pages[:4]
    t = time.perf_counter()
    for _ in range(n // 4):
        va = kmap_local_page(a)
        vb = kmap_local_page(b)
        vc = kmap_local_page(c)
        vd = kmap_local_page(d)
        kunmap_local(vd)  # type: ignore[arg-type]
        kunmap_local(vc)  # type: ignore[arg-type]
        kunmap_local(vb)  # type: ignore[arg-type]
        kunmap_local(va)  # type: ignore[arg-type]
    return (n // 4) * 4 / (time.perf_counter() - t)


def _kmap_pairs(n: int) -> float:
    m, pages = _machine()
    kmap, kunmap = m.kmap, m.kunmap
    t = time.perf_counter()
    for i in range(n):
        p = pages[i & 2047]
        kmap(p)
        kunmap(p)
    dt = time.perf_counter() - t
    assert m.highmem is not None and m.highmem.nr_pkmap_flushes >= n // 1024 - 1
    return n / dt


def run(quick: bool = False) -> dict[str, Any]:
    reps = 3 if quick else 5
    n = 100_000 if quick else 500_000
    local = statistics.median(_local_pairs(n) for _ in range(reps))
    nested = statistics.median(_local_nested(n) for _ in range(reps))
    kmaps = statistics.median(_kmap_pairs(n // 5) for _ in range(reps))
    return {
        "kmap_local_pairs_per_s": round(local),
        "kmap_local_nested_pairs_per_s": round(nested),
        "kmap_pairs_per_s": round(kmaps),
        "targets": {"kmap_local_pairs_per_s": {
            "value": round(local), "target": f">= {TARGET['kmap_local_pairs_per_s']:,}",
            "met": local >= TARGET["kmap_local_pairs_per_s"]}},
    }


def report(r: dict[str, Any]) -> str:
    t = r["targets"]["kmap_local_pairs_per_s"]
    return "\n".join([
        "highmem (2 GiB i386, 2 CPUs; medians)",
        f"  kmap_local_page+kunmap_local pairs: {t['value']:,}/s ({t['target']}) "
        f"{'met' if t['met'] else 'NOT met'}",
        f"  the same, 4 deep:                   {r['kmap_local_nested_pairs_per_s']:,}/s",
        f"  kmap+kunmap (pkmap wraps, flushes): {r['kmap_pairs_per_s']:,}/s",
    ])
