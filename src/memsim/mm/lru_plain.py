"""
The ``lru=plain`` reclaim policy: one list, least recently *accessed* page evicted, no second
chance — the textbook LRU that libCacheSim's ``LRU`` implements, so that the model's miss
count on a page-access trace can be compared with it exactly (issue #6 cross-check).

Not a kernel algorithm (the kernel's LRU is approximated by the two-list classic reclaim of
mm/vmscan.py or by MGLRU). How it maps onto the model:

* a *plain area* is a range of user addresses of one mm registered with
  :func:`plain_lru_register` (the workload runner registers its working area);
* every user access goes through ``m.lru_plain_hook`` (called from kernel/task.py's access
  paths only while a plain area exists): an access to a page of an area moves that page to
  the head of the list (a hit) or, when the page is not on the list, inserts it (a miss) —
  and when that makes the list longer than the cache size C, the tail page is evicted
  *before* the access faults the new page in;
* eviction takes the page out of the model the way reclaim would: an anonymous page goes to
  swap when swap is configured (add_to_swap, try_to_unmap with the swap entry, swap
  writeback, removal from the swap cache — mm/swapfile.py, mm/swap_state.py), a file page is
  unmapped, written back when dirty and dropped from the page cache; a PTE of the zero page
  is just zapped.

So at any time the resident pages of the areas are exactly the pages on the list (at most
C), and an access misses (finds no present PTE and faults a page in) exactly when
libCacheSim's LRU of size C misses on the same sequence of page numbers.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from memsim.errors import ConfigError, InputError
from memsim.include.mm_types import PAGE_MAPPING_ANON
from memsim.include.pgtable_types import _PAGE_PRESENT, pte_pfn
from memsim.mm import rmap
from memsim.mm.memory import folio_get, folio_put, zap_page_range_single
from memsim.mm.swapfile import folio_test_swapcache
from memsim.mm.vma import vma_lookup

if TYPE_CHECKING:
    from memsim.include.mm_types import MmStruct
    from memsim.machine import Machine

PAGE_SHIFT = 12
PAGE_SIZE = 1 << PAGE_SHIFT


class PlainLru:
    """The plain LRU of one machine: the list, its capacity and its counters."""

    def __init__(self, m: Machine, capacity: int) -> None:
        if capacity < 1:
            raise InputError(f"lru=plain: cache size must be at least 1 page, got {capacity}")
        self.m = m
        self.capacity = capacity
        #: (mm, start, end) ranges whose pages the policy manages
        self.areas: list[tuple[MmStruct, int, int]] = []
        #: key -> (mm, page address); the most recently accessed page is last
        self.lru: OrderedDict[int, tuple[MmStruct, int]] = OrderedDict()
        self.hits = 0
        self.misses = 0
        self.evictions = 0
        #: evictions by how the page left: swap, file, zero, discard
        self.evicted_by: dict[str, int] = {"swap": 0, "file": 0, "zero": 0, "discard": 0}
        #: areas[0], the one looked up first
        self._area0: tuple[MmStruct, int, int] | None = None

    # ---- the access hook -------------------------------------------------------------------
    def access(self, task: Any, addr: int, write: bool) -> None:
        """One user access (before the MMU sees it): update the list, evict on overflow."""
        mm = task.mm
        a0 = self._area0
        if a0 is not None and a0[0] is mm and a0[1] <= addr < a0[2]:
            key = addr >> PAGE_SHIFT
        else:
            for slot, (amm, start, end) in enumerate(self.areas):
                if amm is mm and start <= addr < end:
                    key = (slot << 40) | (addr >> PAGE_SHIFT)
                    break
            else:
                return
        lru = self.lru
        if key in lru:
            lru.move_to_end(key)
            self.hits += 1
            return
        self.misses += 1
        lru[key] = (mm, addr & ~(PAGE_SIZE - 1))
        if len(lru) > self.capacity:
            _, (vmm, vaddr) = lru.popitem(last=False)
            self.evictions += 1
            self.evicted_by[plain_evict_page(self.m, vmm, vaddr)] += 1

    def forget(self, mm: MmStruct) -> None:
        """Drop an mm's areas and pages (its process exited)."""
        self.areas = [a for a in self.areas if a[0] is not mm]
        self._area0 = self.areas[0] if self.areas else None
        for k in [k for k, (kmm, _) in self.lru.items() if kmm is mm]:
            del self.lru[k]
        if not self.areas:
            self.m.lru_plain_hook = None   # type: ignore[attr-defined]


def lru_mode(m: Machine) -> str:
    """The machine's ``lru`` setting: classic, mglru or plain."""
    return str(m.config.values.get("lru", "classic"))


def plain_lru_register(m: Machine, task: Any, start: int, end: int,
                       capacity: int) -> PlainLru:
    """
    Put ``[start, end)`` of *task*'s address space under the plain LRU of *capacity*
    pages (the machine must run with ``lru=plain``) and install the access hook.
    """
    if lru_mode(m) != "plain":
        raise ConfigError(f"the plain LRU policy needs --set lru=plain (this machine runs "
                          f"lru={lru_mode(m)})")
    pl: PlainLru | None = getattr(m, "lru_plain", None)
    if pl is None:
        pl = PlainLru(m, capacity)
        m.lru_plain = pl                   # type: ignore[attr-defined]
    elif pl.capacity != capacity:
        raise InputError(f"lru=plain: the cache already has {pl.capacity} pages")
    pl.areas.append((task.mm, start & ~(PAGE_SIZE - 1), end))
    pl._area0 = pl.areas[0]
    hook: Callable[[Any, int, bool], None] = pl.access
    m.lru_plain_hook = hook                # type: ignore[attr-defined]
    return pl


def _swap_out(m: Machine, pfn: int) -> bool:
    """
    Anonymous page -> swap the way MADV_PAGEOUT sends it: isolated from its LRU list
    (the per-CPU batches drained first when it sits in one) and handed to vmscan's
    reclaim_pages(), i.e. shrink_folio_list with references ignored — add_to_swap,
    try_to_unmap, swap_writepage, __remove_mapping. True when the page left memory.
    """
    if getattr(m, "swap_entry_for_unmap", None) is None:
        return False
    si_swapinfo, isolate, reclaim_pages, lru_add_drain = _swap_fns()
    if si_swapinfo(m)[0] <= 0 and not folio_test_swapcache(m, pfn):
        return False                       # no free slot and none held: the page cannot go
    if not isolate(m, pfn):
        lru_add_drain(m)                   # still in a per-CPU folio batch
        if not isolate(m, pfn):
            return False
    return bool(reclaim_pages(m, [pfn]) > 0)


_SWAP_FNS: list[Any] = []


def _swap_fns() -> tuple[Any, Any, Any, Any]:
    """si_swapinfo, folio_isolate_lru, reclaim_pages and lru_add_drain (imported on first
    use: mm/swapfile.py and mm/vmscan.py import this module's callers)."""
    if not _SWAP_FNS:
        from memsim.mm.swap import lru_add_drain
        from memsim.mm.swapfile import si_swapinfo
        from memsim.mm.vmscan import folio_isolate_lru, reclaim_pages
        _SWAP_FNS[:] = [si_swapinfo, folio_isolate_lru, reclaim_pages, lru_add_drain]
    return _SWAP_FNS[0], _SWAP_FNS[1], _SWAP_FNS[2], _SWAP_FNS[3]


def plain_evict_page(m: Machine, mm: MmStruct, addr: int) -> str:
    """
    Evict the page mapped at *addr* of *mm*: "swap", "file", "zero" (a zero-page PTE
    zapped) or "discard" (an anonymous page without swap: zapped, its data lost — SIM).
    """
    pte = mm.pgd.pte_get(addr)
    vma = vma_lookup(mm, addr)
    if not pte & _PAGE_PRESENT or vma is None:
        return "discard"                   # already gone (e.g. zapped by the program)
    pfn = pte_pfn(pte)
    if pfn == m.zero_pfn:
        zap_page_range_single(m, vma, addr, PAGE_SIZE)
        return "zero"
    if m.mem_map.mapping[pfn] & PAGE_MAPPING_ANON:
        if _swap_out(m, pfn):
            return "swap"
        # SIM: without swap an anonymous page cannot leave memory; the plain policy then
        # discards it like MADV_DONTNEED (the next access faults in a zero-filled page), so
        # that the miss count still follows the policy.
        if mm.pgd.pte_get(addr) & _PAGE_PRESENT:
            zap_page_range_single(m, vma, addr, PAGE_SIZE)
        return "discard"
    from memsim.mm.filemap import folio_clear_dirty_for_io, mapping_of_pfn, writepage
    from memsim.mm.truncate import mapping_evict_folio
    mapping = mapping_of_pfn(m, pfn)
    if mapping is not None and mapping.is_shmem:
        # SIM: shmem pages would go to swap through shmem_writeout; the plain policy only
        # unmaps them (they stay in the page cache, the next access is a minor fault).
        zap_page_range_single(m, vma, addr, PAGE_SIZE)
        return "discard"
    folio_get(m, pfn)
    try:
        rmap.try_to_unmap(m, pfn)
        if mapping is not None and (m.mem_map.flags[pfn] >> _pg_dirty_bit()) & 1:
            if folio_clear_dirty_for_io(m, mapping, pfn):
                writepage(m, mapping, pfn)
    finally:
        folio_put(m, pfn)
    if mapping is not None and rmap.page_mapcount(m, pfn) == 0:
        mapping_evict_folio(m, mapping, pfn)
    return "file"


def _pg_dirty_bit() -> int:
    from memsim.include.page_flags import PageFlags
    return int(PageFlags.PG_dirty)


__all__ = ["PlainLru", "lru_mode", "plain_lru_register", "plain_evict_page"]
