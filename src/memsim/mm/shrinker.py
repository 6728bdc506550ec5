"""
Slab shrinkers (mm/shrinker.c, 6.12): register_shrinker with count_objects /
scan_objects / seeks / batch, and shrink_slab -> do_shrink_slab with the kernel's delta
formula and per-node deferred work (nr_deferred). shrink_node (mm/vmscan.py) calls
shrink_slab after the LRU lists.

A demo "dentry/inode-like" shrinker is provided by :func:`demo_cache_shrinker`: a
SLAB_RECLAIM_ACCOUNT cache whose objects are kept in an LRU and freed by scan_objects
(like the dcache's and icache's prune_*_sb), so slab pages come back under pressure.

# SIM: no memcg-aware shrinkers (one nr_deferred per node), no SHRINKER_NONSLAB.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from memsim.include.vmstat_items import VmEventItem

if TYPE_CHECKING:
    from memsim.machine import Machine

DEFAULT_SEEKS = 2
SHRINK_BATCH = 128
SHRINK_STOP = -1
SHRINK_EMPTY = -2        # (~0UL - 1) in the kernel

CountFn = Callable[[int], int]          # (nid) -> freeable objects
ScanFn = Callable[[int, int], int]      # (nid, nr_to_scan) -> freed objects or SHRINK_STOP


@dataclass(eq=False)
class Shrinker:
    """struct shrinker"""

    name: str
    count_objects: CountFn
    scan_objects: ScanFn
    seeks: int = DEFAULT_SEEKS
    batch: int = 0
    nr_deferred: dict[int, int] = field(default_factory=dict)
    #: statistics for tests: (freeable, delta, total_scan, freed) of the last call
    last: tuple[int, int, int, int] = (0, 0, 0, 0)


def _registry(m: Machine) -> list[Shrinker]:
    lst: list[Shrinker] | None = getattr(m, "shrinker_list", None)
    if lst is None:
        lst = []
        m.shrinker_list = lst  # type: ignore[attr-defined]
    return lst


def register_shrinker(m: Machine, count_objects: CountFn, scan_objects: ScanFn,
                      seeks: int = DEFAULT_SEEKS, batch: int = 0,
                      name: str = "shrinker") -> Shrinker:
    """shrinker_alloc() + shrinker_register()."""
    s = Shrinker(name, count_objects, scan_objects, seeks, batch)
    _registry(m).append(s)
    return s


def unregister_shrinker(m: Machine, s: Shrinker) -> None:
    """shrinker_free()."""
    lst = _registry(m)
    if s in lst:
        lst.remove(s)


def do_shrink_slab(m: Machine, s: Shrinker, nid: int, priority: int) -> int:
    """
    do_shrink_slab(): scan (freeable >> priority) * 4 / seeks objects (freeable / 2 for
    seeks == 0) plus the deferred share, at most twice the freeable count, in batches.
    """
    freeable = s.count_objects(nid)
    if freeable == 0 or freeable == SHRINK_EMPTY:
        return freeable
    nr = s.nr_deferred.pop(nid, 0)             # xchg_nr_deferred()
    if s.seeks:
        delta = (freeable >> priority) * 4 // s.seeks
    else:
        delta = freeable // 2
    total_scan = (nr >> priority) + delta
    total_scan = min(total_scan, 2 * freeable)
    batch_size = s.batch if s.batch else SHRINK_BATCH
    scanned = freed = 0
    start_scan = total_scan
    while total_scan >= batch_size or total_scan >= freeable:
        nr_to_scan = min(batch_size, total_scan)
        ret = s.scan_objects(nid, nr_to_scan)
        if ret == SHRINK_STOP:
            break
        freed += ret
        m.vm_event[VmEventItem.SLABS_SCANNED] += nr_to_scan
        total_scan -= nr_to_scan
        scanned += nr_to_scan
    # add_nr_deferred(): the work not done is carried to the next call
    next_deferred = max(nr + delta - scanned, 0)
    next_deferred = min(next_deferred, 2 * freeable)
    if next_deferred:
        s.nr_deferred[nid] = next_deferred
    s.last = (freeable, delta, start_scan, freed)
    return freed


def shrink_slab(m: Machine, gfp: int, nid: int, priority: int) -> int:
    """shrink_slab(): every registered shrinker; objects freed."""
    freed = 0
    for s in list(_registry(m)):
        ret = do_shrink_slab(m, s, nid, priority)
        if ret == SHRINK_EMPTY:
            ret = 0
        freed += ret
    return freed


class DemoCacheShrinker:
    """
    A dentry/inode-like reclaimable cache: objects allocated from a SLAB_RECLAIM_ACCOUNT
    kmem_cache, kept in LRU order (oldest first) and freed by the shrinker's scan
    (then kmem_cache_shrink gives empty slabs back, as the slab layer's own freeing
    would). ``add(n)`` allocates n objects; ``touch(obj)`` makes one recently used.
    """

    def __init__(self, m: Machine, name: str = "demo_dentry", size: int = 192,
                 seeks: int = DEFAULT_SEEKS) -> None:
        from memsim.include.slab import SLAB_RECLAIM_ACCOUNT
        self.m = m
        self.cache: Any = m.slab.kmem_cache_create(name, size, 0, SLAB_RECLAIM_ACCOUNT)
        self.lru: OrderedDict[int, None] = OrderedDict()
        self.shrinker = register_shrinker(m, self.count_objects, self.scan_objects,
                                          seeks=seeks, name=name)

    def add(self, n: int, gfp: int = 0xCC0) -> int:
        done = 0
        for _ in range(n):
            obj = self.m.slab.kmem_cache_alloc(self.cache, gfp)
            if obj is None:
                break
            self.lru[obj] = None
            done += 1
        return done

    def touch(self, obj: int) -> None:
        if obj in self.lru:
            self.lru.move_to_end(obj)

    def count_objects(self, nid: int) -> int:
        return len(self.lru) if self.lru else SHRINK_EMPTY

    def scan_objects(self, nid: int, nr_to_scan: int) -> int:
        freed = 0
        while self.lru and freed < nr_to_scan:
            obj, _ = self.lru.popitem(last=False)
            self.m.slab.kmem_cache_free(self.cache, obj)
            freed += 1
        if freed:
            self.m.slab.kmem_cache_shrink(self.cache)
        return freed


def demo_cache_shrinker(m: Machine, name: str = "demo_dentry", size: int = 192,
                        seeks: int = DEFAULT_SEEKS) -> DemoCacheShrinker:
    """Create (and register) a demo reclaimable slab cache with its shrinker."""
    return DemoCacheShrinker(m, name, size, seeks)


__all__ = ["register_shrinker", "unregister_shrinker", "shrink_slab", "do_shrink_slab",
           "Shrinker", "demo_cache_shrinker", "DEFAULT_SEEKS", "SHRINK_BATCH", "SHRINK_STOP",
           "SHRINK_EMPTY"]
