"""
Page accesses per second through the full model (process, page tables, faults, LRU,
reclaim), next to libCacheSim's LRU on the same trace in the same run:

* ``resident``: uniform accesses (1/4 stores) over 2,048 pages that all stay resident on a
  64 MiB machine — every access is the MMU hit path (``p.access_many``);
  target >= 1,000,000 accesses/s;
* ``faulting``: uniform accesses (1/4 stores) over 3,072 pages with ``lru=plain`` and a
  cache of 2,048 pages, so that a third of the accesses miss: each miss evicts the least
  recently accessed page and faults the page in; without swap the evicted anonymous page
  is discarded (zap + zero-fill fault), ``faulting_swap`` (a quarter of the accesses) does
  the same with a swap device: add_to_swap, unmap, swap_writepage, and do_swap_page with
  swap-in readahead on the next access; target >= 200,000 accesses/s;
* ``classic``: the same trace with the kernel's classic reclaim on a machine whose memory
  is too small for it, with swap (only when reclaim and swap are built);
* ``lcs_lru``: libCacheSim's LRU (C, ``process_trace`` over a txt trace) on the faulting
  trace with the same cache size: its requests/s and misses (must equal the model's).

Each figure is the median of three runs (one with ``--quick``; ``quick`` also uses 200,000
instead of 1,000,000 accesses).
"""

from __future__ import annotations

import statistics
import time
from typing import Any

from memsim.config import MachineConfig
from memsim.include.mman import MAP_ANONYMOUS, MAP_PRIVATE, PROT_READ, PROT_WRITE
from memsim.machine import Machine
from memsim.workload.generators import generate


def _resident(n: int) -> float:
    tr = generate("uniform", 2048, n, seed=1, write_ratio=0.25)
    m = Machine.boot(MachineConfig.build({"mem": "64M"}))
    p = m.spawn("bench")
    a = p.mmap(0, 2048 << 12, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS)
    p.touch(a, 2048 << 12, write=True)
    addrs = [a + (x << 12) for x in tr.pages]
    t = time.perf_counter()
    missing = p.access_many(addrs, tr.writes)
    dt = time.perf_counter() - t
    assert missing == 0
    return n / dt


def _faulting(n: int, with_swap: bool) -> tuple[float, int, int]:
    from memsim.mm.lru_plain import plain_lru_register
    from memsim.workload.runner import STAMP
    tr = generate("uniform", 3072, n, seed=2, write_ratio=0.25)
    m = Machine.boot(MachineConfig.build({"mem": "64M", "lru": "plain"}))
    swap = 0
    if with_swap and hasattr(m, "swapon"):
        swap = 32 << 20
        m.swapon(swap)
    p = m.spawn("bench")
    a = p.mmap(0, 3072 << 12, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS)
    plain_lru_register(m, p, a, a + (3072 << 12), 2048)
    addrs = [a + (x << 12) for x in tr.pages]
    t = time.perf_counter()
    missing = p.access_many(addrs, tr.writes, STAMP)
    dt = time.perf_counter() - t
    return n / dt, missing, swap


def _classic(n: int) -> dict[str, Any] | None:
    try:
        from memsim.mm import vmscan
    except ImportError:
        return None
    if not hasattr(vmscan, "shrink_node"):
        return None
    m = Machine.boot(MachineConfig.build({"mem": "64M"}))
    if not hasattr(m, "swapon"):
        return None
    from memsim.workload.runner import STAMP, default_cache_pages, read_vmstat
    m.swapon(64 << 20)
    p = m.spawn("bench")
    pages = default_cache_pages(m, 1 << 30) * 3 // 2
    tr = generate("uniform", pages, n, seed=3, write_ratio=0.25)
    a = p.mmap(0, pages << 12, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS)
    addrs = [a + (x << 12) for x in tr.pages]
    vm0 = read_vmstat(m)
    t = time.perf_counter()
    missing = p.access_many(addrs, tr.writes, STAMP)
    dt = time.perf_counter() - t
    vm = read_vmstat(m)
    return {"pages": pages, "rate": round(n / dt), "misses": missing,
            "pswpout": vm.get("pswpout", 0) - vm0.get("pswpout", 0),
            "pgsteal": sum(vm.get(k, 0) - vm0.get(k, 0)
                           for k in ("pgsteal_kswapd", "pgsteal_direct"))}


def _lcs(n: int) -> tuple[float, int] | None:
    try:
        from memsim.workload.compare import lcs_misses
        tr = generate("uniform", 3072, n, seed=2, write_ratio=0.25)
        dense = tr.pages                  # already 0..3071: ids only need to be distinct
        misses, dt = lcs_misses("LRU", dense, 2048)
        return n / dt, misses
    except Exception:                      # libCacheSim not installed
        return None


def run(quick: bool = False) -> dict[str, Any]:
    reps = 1 if quick else 3
    n = 200_000 if quick else 1_000_000
    res = statistics.median(_resident(n) for _ in range(reps))
    f = [_faulting(n, False) for _ in range(reps)]
    fault_rate = statistics.median(x[0] for x in f)
    out: dict[str, Any] = {"accesses": n, "resident_per_s": round(res),
                           "faulting_per_s": round(fault_rate), "faulting_misses": f[0][1],
                           "faulting_miss_ratio": round(f[0][1] / n, 4)}
    fs = [_faulting(n // 4, True) for _ in range(reps)]
    if fs[0][2]:
        out["faulting_swap_per_s"] = round(statistics.median(x[0] for x in fs))
        out["faulting_swap_misses"] = fs[0][1]
    c = _classic(n // 4)
    out["classic"] = c
    lcs = _lcs(n)
    if lcs is not None:
        out["lcs_lru_per_s"] = round(lcs[0])
        out["lcs_lru_misses"] = lcs[1]
    return out


def report(r: dict[str, Any]) -> str:
    lines = [
        f"reclaim (page accesses through the full model; {r['accesses']:,} accesses, medians)",
        f"  resident (MMU hit path): {r['resident_per_s']:,} accesses/s (target >= 1,000,000)",
        f"  1/3 faulting (lru=plain, cache 2048 of 3072 pages, no swap: evicted pages "
        f"discarded): {r['faulting_per_s']:,} accesses/s (target >= 200,000), "
        f"miss ratio {r['faulting_miss_ratio']:.4f}",
    ]
    if "faulting_swap_per_s" in r:
        lines.append(f"  1/3 faulting, evicted to swap and swapped back in "
                     f"({r['accesses'] // 4:,} accesses): {r['faulting_swap_per_s']:,} "
                     f"accesses/s (target >= 200,000)")
    c = r.get("classic")
    if c:
        lines.append(f"  classic reclaim + swap ({c['pages']} pages, 1.5x what fits): "
                     f"{c['rate']:,} accesses/s, misses {c['misses']:,}, "
                     f"pgsteal {c['pgsteal']:,}, pswpout {c['pswpout']:,}")
    else:
        lines.append("  classic reclaim + swap: not available in this build")
    if "lcs_lru_per_s" in r:
        same = "equal" if r["lcs_lru_misses"] == r["faulting_misses"] else "DIFFERENT"
        lines.append(f"  libCacheSim LRU, same trace and cache: {r['lcs_lru_per_s']:,} "
                     f"requests/s, misses {r['lcs_lru_misses']:,} ({same} to the model's)")
    else:
        lines.append("  libCacheSim: not installed")
    return "\n".join(lines)
