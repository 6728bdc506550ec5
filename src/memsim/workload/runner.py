"""
The workload runner: replay an :class:`AccessTrace` into a process of a booted machine and
record what memory management did, as a time series.

The trace's pages are renumbered densely (0, 1, 2… in order of first access: the policies
only see page identity) and laid out in one *working area* of the process: a private
anonymous mapping (default) or a shared mapping of a regular file of the same size
(``backing="file"``). Every access is one user load or store through the full model
(``p.access_many``: page tables, faults, LRU, reclaim, swap). Every *interval* accesses
the runner samples /proc/vmstat and /proc/meminfo.

Misses: an access that finds no present PTE for its page (it faults a page in: first touch,
swap-in, page-cache read); the same definition libCacheSim uses for a cache of pages.

With ``lru=plain`` the working area is put under the plain LRU of mm/lru_plain.py with a
cache of C pages: C = *cache_pages* when given, else the pages that fit above the high
watermarks at the start (MemFree − Σ high watermarks, less the page tables the area needs).
"""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, TextIO

from memsim.config import MachineConfig
from memsim.errors import InputError, MemsimError
from memsim.include.mman import MAP_ANONYMOUS, MAP_PRIVATE, MAP_SHARED, PROT_READ, PROT_WRITE
from memsim.machine import Machine
from memsim.workload.trace import AccessTrace

PAGE_SHIFT = 12
PAGE_SIZE = 1 << PAGE_SHIFT

#: what a store leaves in a page that had no contents (not zero-filled: swap-out writes it)
STAMP = bytes([0x5A]) * PAGE_SIZE

#: /proc/vmstat fields recorded in each sample (those the model does not have yet are
#: reported as 0 until the code that moves them exists)
VMSTAT_FIELDS = ("pgfault", "pgmajfault", "pswpin", "pswpout", "pgscan_kswapd",
                 "pgscan_direct", "pgsteal_kswapd", "pgsteal_direct", "pgactivate",
                 "pgdeactivate", "pgrefill", "allocstall_normal", "allocstall_movable",
                 "workingset_refault_anon", "workingset_refault_file",
                 "workingset_activate_anon", "workingset_activate_file",
                 "workingset_restore_anon", "workingset_restore_file",
                 "workingset_nodereclaim", "oom_kill")
#: /proc/meminfo fields recorded (kB)
MEMINFO_FIELDS = ("MemFree", "Active", "Inactive", "Active(anon)", "Inactive(anon)",
                  "Active(file)", "Inactive(file)", "Cached", "SwapCached", "SwapTotal",
                  "SwapFree")


def read_vmstat(m: Machine) -> dict[str, int]:
    out: dict[str, int] = {}
    for line in m.proc("vmstat").splitlines():
        k, _, v = line.partition(" ")
        if v:
            out[k] = int(v)
    return out


def read_meminfo(m: Machine) -> dict[str, int]:
    out: dict[str, int] = {}
    for line in m.proc("meminfo").splitlines():
        k, _, v = line.partition(":")
        parts = v.split()
        if parts:
            out[k.strip()] = int(parts[0])
    return out


@dataclass
class WorkloadResult:
    """What a run produced (``to_json()`` is the ``--json`` document)."""

    trace: str
    accesses: int
    pages: int
    lru: str
    backing: str
    mem: int
    swap: int
    cache_pages: int | None
    misses: int = 0
    maj_flt: int = 0
    min_flt: int = 0
    seconds: float = 0.0
    killed: str | None = None
    plain: dict[str, Any] | None = None
    series: list[dict[str, int]] = field(default_factory=list)

    @property
    def miss_ratio(self) -> float:
        return self.misses / self.accesses if self.accesses else 0.0

    def to_json(self) -> dict[str, Any]:
        return {"trace": self.trace, "accesses": self.accesses, "pages": self.pages,
                "lru": self.lru, "backing": self.backing, "mem_bytes": self.mem,
                "swap_bytes": self.swap, "cache_pages": self.cache_pages,
                "misses": self.misses, "miss_ratio": round(self.miss_ratio, 6),
                "maj_flt": self.maj_flt, "min_flt": self.min_flt,
                "seconds": round(self.seconds, 3), "killed": self.killed,
                "plain": self.plain, "series": self.series}

    def summary(self) -> str:
        last = self.series[-1] if self.series else {}
        lines = [
            f"workload: {self.trace}",
            f"  machine: mem={self.mem >> 20}M swap={self.swap >> 20}M lru={self.lru} "
            f"backing={self.backing}" + (f" cache={self.cache_pages} pages"
                                          if self.cache_pages is not None else ""),
            f"  accesses: {self.accesses:,} over {self.pages:,} pages in {self.seconds:.2f} s"
            f" ({self.accesses / self.seconds if self.seconds else 0:,.0f}/s)",
            f"  misses: {self.misses:,} (miss ratio {self.miss_ratio:.4f}); "
            f"faults: {self.maj_flt:,} major, {self.min_flt:,} minor",
        ]
        keys = ("pgscan_kswapd", "pgscan_direct", "pgsteal_kswapd", "pgsteal_direct",
                "pswpin", "pswpout", "workingset_refault_anon", "workingset_refault_file")
        if last:
            lines.append("  vmstat: " + " ".join(f"{k}={last.get(k, 0)}" for k in keys))
        if self.killed:
            lines.append(f"  the process was killed: {self.killed}")
        return "\n".join(lines)


class Progress:
    """A one-line progress bar on stderr (only when it is a terminal)."""

    def __init__(self, total: int, enabled: bool, stream: TextIO | None = None) -> None:
        self.stream = stream if stream is not None else sys.stderr
        self.total = max(1, total)
        self.enabled = enabled and self.stream.isatty()
        self.t0 = time.perf_counter()
        self.last = 0.0

    def update(self, done: int, force: bool = False) -> None:
        if not self.enabled:
            return
        now = time.perf_counter()
        if not force and now - self.last < 0.1:
            return
        self.last = now
        frac = done / self.total
        width = 30
        bar = "#" * int(frac * width) + "-" * (width - int(frac * width))
        rate = done / (now - self.t0) if now > self.t0 else 0.0
        self.stream.write(f"\r[{bar}] {frac * 100:5.1f}% {done:,}/{self.total:,} "
                          f"{rate:,.0f} acc/s ")
        self.stream.flush()

    def close(self) -> None:
        if self.enabled:
            self.stream.write("\n")
            self.stream.flush()


def default_cache_pages(m: Machine, area_pages: int) -> int:
    """C for lru=plain: the pages that fit above the zones' high watermarks now."""
    free = read_meminfo(m)["MemFree"] >> 2
    high = 0
    for pg in m.nodes:
        for z in pg.node_zones:
            high += z.high_wmark_pages()
    room = free - high
    room -= room // 512 + 8                # the area's page tables and a little slack
    return max(1, min(area_pages, room))


def setup_swap(m: Machine, swap: int) -> None:
    swapon: Callable[..., Any] | None = getattr(m, "swapon", None)
    if swapon is None:
        raise MemsimError("swap is not available in this build (m.swapon missing)")
    swapon(swap)


def run_trace(trace: AccessTrace, config: MachineConfig, *, swap: int = 0,
              backing: str = "anon", cache_pages: int | None = None,
              interval: int | None = None, progress: bool = False,
              m: Machine | None = None) -> WorkloadResult:
    """Boot a machine from *config* (or use *m*), replay *trace*, return the result."""
    if backing not in ("anon", "file"):
        raise InputError(f"backing must be anon or file, got {backing!r}")
    dense, npages = trace.dense()
    n = len(dense)
    if n == 0:
        raise InputError("the trace has no accesses")
    if m is None:
        m = Machine.boot(config)
    lru = str(m.config.values.get("lru", "classic"))
    if swap:
        setup_swap(m, swap)
    p = m.spawn("workload")
    length = npages << PAGE_SHIFT
    if backing == "anon":
        base = p.mmap(0, length, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS)
    else:
        fd = p.open("/workload.dat", os.O_RDWR | os.O_CREAT)
        p.ftruncate(fd, length)
        base = p.mmap(0, length, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0)
    plain = None
    if lru == "plain":
        from memsim.mm.lru_plain import plain_lru_register
        if cache_pages is None:
            cache_pages = default_cache_pages(m, npages)
        if backing == "file":
            # no readahead: pages the policy evicted must not come back behind its back
            # (fault-around then only maps pages that are on the list anyway)
            from memsim.include.mman import MADV_RANDOM
            p.madvise(base, length, MADV_RANDOM)
        plain = plain_lru_register(m, p, base, base + length, cache_pages)
    elif cache_pages is not None:
        raise InputError("a cache size in pages applies to lru=plain only (the other "
                         "policies get what memory the machine has: use --mem)")
    res = WorkloadResult(trace=trace.name, accesses=0, pages=npages, lru=lru,
                         backing=backing, mem=m.config.mem_bytes, swap=swap,
                         cache_pages=cache_pages)
    step = interval or max(1000, n // 100)
    bar = Progress(n, progress)
    writes = trace.writes
    flt0 = (p.maj_flt, p.min_flt)
    t0 = time.perf_counter()
    vm0 = read_vmstat(m)
    res.series.append(_sample(m, 0, 0, vm0))
    done = 0
    try:
        while done < n:
            end = min(n, done + step)
            addrs = [base + (d << PAGE_SHIFT) for d in dense[done:end]]
            try:
                res.misses += p.access_many(addrs, writes[done:end], STAMP)
            except Exception as e:           # the process died (OOM kill, SIGBUS...)
                from memsim.mm.memory import SignalDelivered
                if isinstance(e, SignalDelivered) or not p.alive:
                    res.killed = f"{type(e).__name__}: {e}"
                    done = end
                    break
                raise
            done = end
            res.series.append(_sample(m, done, res.misses, vm0))
            bar.update(done)
    finally:
        bar.update(done, force=True)
        bar.close()
    res.seconds = time.perf_counter() - t0
    res.accesses = done
    res.maj_flt = p.maj_flt - flt0[0]        # the run's faults (not the exec's)
    res.min_flt = p.min_flt - flt0[1]
    if plain is not None:
        res.plain = {"capacity": plain.capacity, "hits": plain.hits, "misses": plain.misses,
                     "evictions": plain.evictions, "evicted_by": dict(plain.evicted_by)}
    return res


def _sample(m: Machine, done: int, misses: int, vm0: dict[str, int]) -> dict[str, int]:
    vm = read_vmstat(m)
    mi = read_meminfo(m)
    s = {"accesses": done, "misses": misses}
    for k in VMSTAT_FIELDS:
        s[k] = vm.get(k, 0) - vm0.get(k, 0)
    for k in MEMINFO_FIELDS:
        s[k] = mi.get(k, 0)
    return s


__all__ = ["WorkloadResult", "run_trace", "read_vmstat", "read_meminfo", "Progress",
           "default_cache_pages", "VMSTAT_FIELDS", "MEMINFO_FIELDS"]
