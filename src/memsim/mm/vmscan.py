"""
Page reclaim with the classic two-list LRU (mm/vmscan.c, 6.12; virtual.md §8):
scan_control, isolate_lru_folios, folio_referenced (young-bit harvesting through rmap),
folio_check_references, shrink_folio_list (writeback of dirty pages, add_to_swap,
try_to_unmap, pageout, __remove_mapping with a workingset shadow), shrink_inactive_list,
shrink_active_list, get_scan_count (swappiness, anon/file cost), inactive_is_low,
shrink_lruvec, shrink_node (+ shrink_slab, mm/shrinker.py), direct reclaim
(try_to_free_pages for the allocator slow path, allocstall_*), should_reclaim_retry, and
kswapd (a kernel thread on the machine's event queue, kernel/kthread.py): wakeup_kswapd,
pgdat_balanced, balance_pgdat with watermark boosting, kswapd_failures.

LRU lists: mm/mm_inline.py (primitives), mm/swap.py (batches). Swap: mm/swap_state.py
(optional: without it anonymous pages cannot be reclaimed). Workingset: mm/workingset.py.

# SIM: no memory cgroups (one lruvec per node), no compaction (should_continue_reclaim is
# false, compaction_ready never), no reclaim throttling
# (reclaim_throttle / too_many_isolated never wait), no buffer heads, I/O is synchronous.
# SIM: the model's fault paths do not re-check their PTE after an allocation, so reclaim
# does not unmap a folio that somebody holds an extra reference to (as it does not for a
# DMA-pinned one).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from memsim.include.gfp import __GFP_DIRECT_RECLAIM, __GFP_FS, __GFP_IO, GFP_KERNEL
from memsim.include.mm import VM_EXEC, VM_LOCKED
from memsim.include.mmzone import (
    LRU_ACTIVE_ANON,
    LRU_ACTIVE_FILE,
    LRU_INACTIVE_ANON,
    LRU_INACTIVE_FILE,
    Lruvec,
    PgData,
    Zone,
)
from memsim.include.page_flags import PageFlags
from memsim.include.pgtable_types import _PAGE_ACCESSED, _PAGE_PRESENT, PTE_PFN_MASK
from memsim.include.vmstat_items import NodeStatItem, VmEventItem, ZoneStatItem
from memsim.mm.memory import folio_put
from memsim.mm.mm_inline import (
    folio_is_file_lru,
    folio_lruvec,
    folio_nr_pages,
    is_active_lru,
    is_file_lru,
    lru_list_pfns,
    lruvec_add_folio,
    lruvec_del_folio,
)
from memsim.mm.rmap import page_mapcount, page_referenced_vmas, try_to_unmap
from memsim.mm.swap import (
    SWAP_CLUSTER_MAX,
    folio_evictable,
    folio_test_swapcache,
    lru_add_drain,
    lru_note_cost,
)

if TYPE_CHECKING:
    from memsim.machine import Machine

DEF_PRIORITY = 12
MAX_RECLAIM_RETRIES = 16
MAX_SWAPPINESS = 200
PAGE_ALLOC_COSTLY_ORDER = 3

DEACTIVATE_ANON = 1
DEACTIVATE_FILE = 2

SCAN_EQUAL, SCAN_FRACT, SCAN_ANON, SCAN_FILE = range(4)
SCAN_BALANCE_NAMES = ("SCAN_EQUAL", "SCAN_FRACT", "SCAN_ANON", "SCAN_FILE")

FOLIOREF_RECLAIM, FOLIOREF_RECLAIM_CLEAN, FOLIOREF_KEEP, FOLIOREF_ACTIVATE = range(4)
PAGE_KEEP, PAGE_ACTIVATE, PAGE_SUCCESS, PAGE_CLEAN = range(4)

# pgdat->flags
PGDAT_DIRTY = 1 << 0
PGDAT_WRITEBACK = 1 << 1

_PG_LRU = 1 << PageFlags.PG_lru
_PG_ACTIVE = 1 << PageFlags.PG_active
_PG_REFERENCED = 1 << PageFlags.PG_referenced
_PG_WORKINGSET = 1 << PageFlags.PG_workingset
_PG_UNEVICTABLE = 1 << PageFlags.PG_unevictable
_PG_MLOCKED = 1 << PageFlags.PG_mlocked
_PG_SWAPBACKED = 1 << PageFlags.PG_swapbacked
_PG_DIRTY = 1 << PageFlags.PG_dirty
_PG_WRITEBACK = 1 << PageFlags.PG_writeback
_PG_RECLAIM = 1 << PageFlags.PG_reclaim
_PG_YOUNG = 1 << PageFlags.PG_young
_PG_IDLE = 1 << PageFlags.PG_idle
_PG_HEAD = 1 << PageFlags.PG_head
_PG_LOCKED = 1 << PageFlags.PG_locked
_PG_UPTODATE = 1 << PageFlags.PG_uptodate
_NR_FREE_PAGES = int(ZoneStatItem.NR_FREE_PAGES)
_GFP_DIRECT_RECLAIM = __GFP_DIRECT_RECLAIM
_NR_ZONE_LRU_BASE = int(ZoneStatItem.NR_ZONE_LRU_BASE)


@dataclass(slots=True)
class ReclaimStat:
    """struct reclaim_stat"""

    nr_dirty: int = 0
    nr_unqueued_dirty: int = 0
    nr_congested: int = 0
    nr_writeback: int = 0
    nr_immediate: int = 0
    nr_pageout: int = 0
    nr_activate: list[int] = field(default_factory=lambda: [0, 0])
    nr_ref_keep: int = 0
    nr_unmap_fail: int = 0
    nr_lazyfree_fail: int = 0


@dataclass(slots=True)
class ScanNr:
    """scan_control.nr (per shrink_node pass)."""

    dirty: int = 0
    unqueued_dirty: int = 0
    congested: int = 0
    writeback: int = 0
    immediate: int = 0
    file_taken: int = 0
    taken: int = 0


@dataclass(slots=True)
class ScanControl:
    """struct scan_control"""

    nr_to_reclaim: int = SWAP_CLUSTER_MAX
    gfp_mask: int = GFP_KERNEL
    order: int = 0
    priority: int = DEF_PRIORITY
    reclaim_idx: int = 0
    may_writepage: bool = True
    may_unmap: bool = True
    may_swap: bool = True
    may_deactivate: int = 0
    force_deactivate: bool = False
    skipped_deactivate: bool = False
    cache_trim_mode: bool = False
    cache_trim_mode_failed: bool = False
    no_cache_trim_mode: bool = False
    file_is_tiny: bool = False
    compaction_ready: bool = False
    anon_cost: int = 0
    file_cost: int = 0
    nr_scanned: int = 0
    nr_reclaimed: int = 0
    kswapd: bool = False
    nr: ScanNr = field(default_factory=ScanNr)


# ---- small helpers ------------------------------------------------------------------------------

def get_nr_swap_pages(m: Machine) -> int:
    """get_nr_swap_pages(): free swap slots (mm/swapfile.py keeps ``m.nr_swap_pages``)."""
    return int(getattr(m, "nr_swap_pages", 0) or 0)


def _swap_state() -> Any:
    """mm/swap_state.py when the swap layer exists, else None (no swap)."""
    try:
        from memsim.mm import swap_state  # type: ignore[attr-defined,unused-ignore]
    except ImportError:
        return None
    return swap_state


def can_reclaim_anon_pages(m: Machine) -> bool:
    """can_reclaim_anon_pages(): swap space is left (SIM: no demotion targets)."""
    return get_nr_swap_pages(m) > 0


def lruvec_lru_size(m: Machine, pgdat: PgData, lru: int, zone_idx: int) -> int:
    """lruvec_lru_size(): the list's pages in zones up to *zone_idx*."""
    n = 0
    for z in pgdat.node_zones:
        if z.idx <= zone_idx and z.managed_pages:
            n += z.vm_stat[_NR_ZONE_LRU_BASE + lru]
    return n


def inactive_is_low(m: Machine, lruvec: Lruvec, inactive_lru: int) -> bool:
    """inactive_is_low(): inactive * int_sqrt(10 * GB of the type) < active."""
    inactive = lruvec.nr[inactive_lru]
    active = lruvec.nr[inactive_lru + 1]
    gb = (inactive + active) >> (30 - 12)
    inactive_ratio = _isqrt(10 * gb) if gb else 1
    return inactive * inactive_ratio < active


def _isqrt(x: int) -> int:
    from math import isqrt
    return isqrt(x)


def _node_of(m: Machine, lruvec: Lruvec) -> PgData:
    for pg in m.nodes:
        if pg.lruvec is lruvec:
            return pg
    raise AssertionError("lruvec without a node")


def zone_reclaimable_pages(m: Machine, zone: Zone) -> int:
    """zone_reclaimable_pages(): file LRU pages, plus anon ones when swap is left."""
    vs = zone.vm_stat
    nr = vs[_NR_ZONE_LRU_BASE + LRU_INACTIVE_FILE] + vs[_NR_ZONE_LRU_BASE + LRU_ACTIVE_FILE]
    if can_reclaim_anon_pages(m):
        nr += vs[_NR_ZONE_LRU_BASE + LRU_INACTIVE_ANON] + vs[_NR_ZONE_LRU_BASE + LRU_ACTIVE_ANON]
    return nr


def pgdat_reclaimable_pages(m: Machine, pgdat: PgData) -> int:
    return sum(zone_reclaimable_pages(m, z) for z in pgdat.node_zones if z.managed_pages)


# ---- isolation ----------------------------------------------------------------------------------

def folio_isolate_lru_noref(m: Machine, pfn: int) -> bool:
    """folio_isolate_lru() without taking the isolation reference (the caller manages
    references itself, as madvise's pageout does): off the list, PG_lru clear."""
    mem = m.mem_map
    if not mem.flags[pfn] & _PG_LRU:
        return False
    mem.flags[pfn] &= ~_PG_LRU
    lruvec_del_folio(m, folio_lruvec(m, pfn), pfn)
    return True


def folio_putback_lru_noref(m: Machine, pfn: int) -> None:
    """Put an isolated folio back on the list its flags choose (unevictable if mlocked)."""
    mem = m.mem_map
    if mem.flags[pfn] & _PG_LRU:
        return
    if not folio_evictable(m, pfn):
        mem.flags[pfn] = (mem.flags[pfn] & ~_PG_ACTIVE) | _PG_UNEVICTABLE
    elif mem.flags[pfn] & _PG_UNEVICTABLE:
        mem.flags[pfn] &= ~_PG_UNEVICTABLE
    lruvec_add_folio(m, folio_lruvec(m, pfn), pfn)
    mem.flags[pfn] |= _PG_LRU


def folio_isolate_lru(m: Machine, pfn: int) -> bool:
    """folio_isolate_lru(): off its list with a reference for the caller."""
    if folio_isolate_lru_noref(m, pfn):
        m.mem_map.refcount[pfn] += 1
        return True
    return False


def folio_putback_lru(m: Machine, pfn: int) -> None:
    """folio_putback_lru(): back on its list; the isolation reference is dropped."""
    folio_putback_lru_noref(m, pfn)
    folio_put(m, pfn)


def isolate_lru_folios(m: Machine, nr_to_scan: int, lruvec: Lruvec, lru: int,
                       sc: ScanControl) -> tuple[list[int], int, int]:
    """
    isolate_lru_folios(): take folios from the tail of *lru* while fewer than
    *nr_to_scan* eligible pages were looked at. Folios of zones above sc.reclaim_idx are
    skipped (pgskip_*; put back at the head); folios that cannot be taken (mapped without
    may_unmap) rotate to the head. Returns (isolated PFNs in scan order, nr_taken,
    nr_scanned including skipped pages).
    """
    mem = m.mem_map
    taken: list[int] = []
    skipped: list[int] = []
    rotated: list[int] = []
    nr_taken = scan = total_scan = 0
    nr_skipped: dict[int, int] = {}
    while scan < nr_to_scan and lruvec.tail[lru]:
        pfn = lruvec.tail[lru] - 1
        nr = folio_nr_pages(m, pfn)
        total_scan += nr
        zone = m.page_zone(pfn)
        lruvec_del_folio(m, lruvec, pfn)
        if zone.idx > sc.reclaim_idx:
            nr_skipped[zone.zone_type] = nr_skipped.get(zone.zone_type, 0) + nr
            skipped.append(pfn)
            continue
        scan += nr
        if not sc.may_unmap and mem.mapcount1[pfn]:
            rotated.append(pfn)
            continue
        mem.refcount[pfn] += 1                  # folio_try_get()
        mem.flags[pfn] &= ~_PG_LRU
        nr_taken += nr
        taken.append(pfn)
    # list_move(folio, src) for the rotated ones, list_splice(skipped, src): both go to
    # the head; the skipped ones end up in front (newest)
    for pfn in rotated:
        lruvec_add_folio(m, lruvec, pfn)
    for pfn in reversed(skipped):
        lruvec_add_folio(m, lruvec, pfn)
    for ztype, n in nr_skipped.items():
        m.vm_event[VmEventItem.PGSKIP_DMA + ztype] += n
    return taken, nr_taken, total_scan


def move_folios_to_lru(m: Machine, lruvec: Lruvec, folios: list[int]) -> int:
    """
    move_folios_to_lru(): survivors back on their lists (unevictable ones culled), the
    isolation reference dropped (a folio whose last reference that was is freed);
    folios put on an active list age the non-resident clock. Returns pages moved.
    """
    from memsim.mm.workingset import workingset_age_nonresident
    mem = m.mem_map
    nr_moved = 0
    for pfn in folios:
        folio_putback_lru_noref(m, pfn)
        nr = folio_nr_pages(m, pfn)
        last = mem.refcount[pfn] == 1
        folio_put(m, pfn)
        if last:
            continue
        nr_moved += nr
        if mem.flags[pfn] & _PG_ACTIVE:
            workingset_age_nonresident(m, lruvec, nr)
    return nr_moved


# ---- references ---------------------------------------------------------------------------------

def folio_referenced(m: Machine, pfn: int) -> tuple[int, int]:
    """
    folio_referenced(): walk every PTE (or PMD) mapping the folio, count and clear the
    accessed bits (ptep_clear_flush_young), collect the VMAs' flags; a VM_LOCKED mapping
    ends the walk with VM_LOCKED reported (the folio gets mlocked). PG_young (idle page
    tracking) counts as one reference. Returns (referenced, vm_flags).
    """
    mem = m.mem_map
    referenced = 0
    vm_flags = 0
    if not mem.mapcount1[pfn] and not mem.flags[pfn] & _PG_HEAD:
        return 0, 0
    for vma, addr in page_referenced_vmas(m, pfn):
        if vma.vm_flags & VM_LOCKED:
            from memsim.mm.mlock import mlock_folio
            mlock_folio(m, pfn)
            return 1, vm_flags | VM_LOCKED
        pgd = vma.vm_mm.pgd
        t = pgd.leaf.get(addr >> pgd.pmd_shift)                # pte_table()
        if t is not None:
            i = (addr >> 12) & (pgd.ptrs_per_pte - 1)
            pte = int(t.pte[i])
            if pte & _PAGE_ACCESSED:
                if m.lru_gen_on:
                    from memsim.mm.lru_gen import lru_gen_look_around
                    lru_gen_look_around(m, vma, addr, pfn)
                else:
                    t.pte[i] = pte & ~_PAGE_ACCESSED
                referenced += 1
                vm_flags |= vma.vm_flags
    if mem.flags[pfn] & _PG_HEAD:
        referenced += _pmd_referenced(m, pfn)
    if referenced:
        mem.flags[pfn] &= ~_PG_IDLE
    if mem.flags[pfn] & _PG_YOUNG:
        mem.flags[pfn] &= ~_PG_YOUNG
        referenced += 1
    return referenced, vm_flags


def _pmd_referenced(m: Machine, pfn: int) -> int:
    """PMD-mapped THPs: pmdp_clear_flush_young over the anon_vma's VMAs."""
    from memsim.mm.mapping import mapping_from_handle
    mem = m.mem_map
    h = int(mem.mapping[pfn])
    if not h & 1:
        return 0
    av: Any = mapping_from_handle(m, h & ~2)
    if av is None:
        return 0
    n = 0
    index = int(mem.index[pfn])
    for avc in getattr(av, "chains", ()):
        vma = avc.vma
        addr = vma.vm_start + ((index - vma.vm_pgoff) << 12)
        if not vma.vm_start <= addr < vma.vm_end:
            continue
        pgd = vma.vm_mm.pgd
        key = addr >> pgd.pmd_shift
        pmd = pgd.huge.get(key)
        if pmd and pmd & _PAGE_PRESENT and (pmd & PTE_PFN_MASK) >> 12 == pfn and \
                pmd & _PAGE_ACCESSED:
            pgd.huge[key] = pmd & ~_PAGE_ACCESSED
            n += 1
    return n


def folio_check_references(m: Machine, pfn: int, sc: ScanControl) -> int:
    """folio_check_references(): what shrink_folio_list does with an inactive folio."""
    mem = m.mem_map
    referenced_ptes, vm_flags = folio_referenced(m, pfn)
    referenced_folio = bool(mem.flags[pfn] & _PG_REFERENCED)
    mem.flags[pfn] &= ~_PG_REFERENCED
    if vm_flags & VM_LOCKED:
        return FOLIOREF_ACTIVATE
    if referenced_ptes:
        mem.flags[pfn] |= _PG_REFERENCED
        if referenced_folio or referenced_ptes > 1:
            return FOLIOREF_ACTIVATE
        if vm_flags & VM_EXEC and folio_is_file_lru(m, pfn):
            return FOLIOREF_ACTIVATE
        return FOLIOREF_KEEP
    if referenced_folio and folio_is_file_lru(m, pfn):
        return FOLIOREF_RECLAIM_CLEAN
    return FOLIOREF_RECLAIM


# ---- shrink_folio_list --------------------------------------------------------------------------

def _may_enter_fs(m: Machine, pfn: int, gfp: int) -> bool:
    """may_enter_fs(): __GFP_FS, or __GFP_IO for swap cache folios."""
    if gfp & __GFP_FS:
        return True
    f = m.mem_map.flags[pfn]
    if not folio_test_swapcache(f) or not gfp & __GFP_IO:
        return False
    return True


def _is_page_cache_freeable(m: Machine, pfn: int) -> bool:
    """is_page_cache_freeable(): only the cache and the isolation hold references."""
    return int(m.mem_map.refcount[pfn]) == 1 + folio_nr_pages(m, pfn)


def pageout(m: Machine, pfn: int, sc: ScanControl) -> int:
    """pageout(): write a dirty folio through its mapping's ->writepage."""
    from memsim.mm.filemap import folio_clear_dirty_for_io, mapping_of_pfn, writepage
    mem = m.mem_map
    if not _is_page_cache_freeable(m, pfn):
        return PAGE_KEEP
    if folio_test_swapcache(mem.flags[pfn]):
        ss = _swap_state()
        if ss is None:
            return PAGE_ACTIVATE
        mem.flags[pfn] = (mem.flags[pfn] & ~_PG_DIRTY) | _PG_RECLAIM
        if ss.swap_writepage(m, pfn):           # AOP_WRITEPAGE_ACTIVATE
            mem.flags[pfn] &= ~_PG_RECLAIM
            return PAGE_ACTIVATE
        if not mem.flags[pfn] & _PG_WRITEBACK:
            mem.flags[pfn] &= ~_PG_RECLAIM
        m.mod_node_page_state_pfn(pfn, NodeStatItem.NR_VMSCAN_WRITE, folio_nr_pages(m, pfn))
        return PAGE_SUCCESS
    mapping = mapping_of_pfn(m, pfn)
    if mapping is None:
        return PAGE_KEEP
    if mapping.is_shmem:
        # shmem_writeout(): to swap, through the swap cache (mm/shmem.py)
        from memsim.mm.shmem import AOP_WRITEPAGE_ACTIVATE, shmem_writeout
        if not mem.flags[pfn] & _PG_DIRTY:
            return PAGE_CLEAN
        mem.flags[pfn] = (mem.flags[pfn] & ~_PG_DIRTY) | _PG_RECLAIM
        if shmem_writeout(m, pfn) == AOP_WRITEPAGE_ACTIVATE:
            mem.flags[pfn] &= ~_PG_RECLAIM
            return PAGE_ACTIVATE
        if not mem.flags[pfn] & _PG_WRITEBACK:
            mem.flags[pfn] &= ~_PG_RECLAIM
        m.mod_node_page_state_pfn(pfn, NodeStatItem.NR_VMSCAN_WRITE, folio_nr_pages(m, pfn))
        return PAGE_SUCCESS
    if not mapping.can_writeback:
        return PAGE_ACTIVATE
    if folio_clear_dirty_for_io(m, mapping, pfn):
        mem.flags[pfn] |= _PG_RECLAIM
        writepage(m, mapping, pfn)
        if not mem.flags[pfn] & _PG_WRITEBACK:
            mem.flags[pfn] &= ~_PG_RECLAIM
        m.mod_node_page_state_pfn(pfn, NodeStatItem.NR_VMSCAN_WRITE, folio_nr_pages(m, pfn))
        return PAGE_SUCCESS
    return PAGE_CLEAN


def __remove_mapping(m: Machine, pfn: int, reclaimed: bool) -> bool:
    """
    __remove_mapping(): with only the cache's and the isolation reference left and the
    folio clean, delete it from the page cache or swap cache, leaving a workingset shadow
    entry in its slot.
    """
    from memsim.mm.filemap import mapping_of_pfn
    from memsim.mm.workingset import workingset_eviction
    mem = m.mem_map
    nr = folio_nr_pages(m, pfn)
    if int(mem.refcount[pfn]) != 1 + nr:
        return False
    f = mem.flags[pfn]
    if f & _PG_DIRTY:
        return False
    if folio_test_swapcache(f):
        ss = _swap_state()
        if ss is None:
            return False
        shadow = workingset_eviction(m, pfn) if reclaimed else None
        ss.delete_from_swap_cache(m, pfn, shadow)
        return True
    mapping = mapping_of_pfn(m, pfn)
    if mapping is None:
        return False
    shadow = None
    if reclaimed and folio_is_file_lru(m, pfn):
        shadow = workingset_eviction(m, pfn)
    index = int(mem.index[pfn])
    from memsim.mm.filemap import filemap_remove_folio
    filemap_remove_folio(m, mapping, pfn)
    if shadow is not None:
        from memsim.mm.workingset import store_shadow
        store_shadow(m, mapping, index, shadow)
    return True


def shrink_folio_list(m: Machine, folios: list[int], pgdat: PgData, sc: ScanControl,
                      stat: ReclaimStat, ignore_references: bool = False) -> tuple[int, list[int]]:
    """shrink_folio_list(): reclaim what can go; (pages reclaimed, folios kept)."""
    mem = m.mem_map
    ret: list[int] = []
    nr_reclaimed = 0
    pgactivate = 0
    for pfn in folios:
        f = mem.flags[pfn]
        if f & _PG_LOCKED or (not f & _PG_UPTODATE and mem.mapping[pfn] and
                              not mem.mapping[pfn] & 1):
            # folio_trylock() fails (SIM: a page-cache folio that is not uptodate is one
            # readahead is still filling: the kernel holds it locked)
            ret.append(pfn)
            continue
        nr = folio_nr_pages(m, pfn)
        sc.nr_scanned += nr
        action = "keep"
        references = FOLIOREF_RECLAIM
        while True:        # one pass; "break" = go to the label in *action*
            if not folio_evictable(m, pfn):
                action = "activate"
                break
            mapped = bool(mem.mapcount1[pfn]) or bool(f & _PG_HEAD and _thp_mapped(m, pfn))
            if not sc.may_unmap and mapped:
                break
            # MGLRU: folio_update_gen() tried to promote this page while it was isolated
            if m.lru_gen_on and not ignore_references and mapped and f & _PG_REFERENCED:
                break
            dirty = bool(f & _PG_DIRTY)
            writeback = bool(f & _PG_WRITEBACK)
            # folio_check_dirty_writeback(): only page-cache folios count — anonymous
            # ones (lazy-free included) are not the flushers' business
            if not f & _PG_SWAPBACKED and not mem.mapping[pfn] & 1:
                if dirty or writeback:
                    stat.nr_dirty += nr
                if dirty and not writeback:
                    stat.nr_unqueued_dirty += nr
                if writeback and f & _PG_RECLAIM:
                    stat.nr_congested += nr
            if writeback:
                if sc.kswapd and f & _PG_RECLAIM and pgdat.flags & PGDAT_WRITEBACK:
                    stat.nr_immediate += nr
                else:
                    mem.flags[pfn] |= _PG_RECLAIM
                    stat.nr_writeback += nr
                action = "activate"
                break
            if not ignore_references:
                references = folio_check_references(m, pfn, sc)
            if references == FOLIOREF_ACTIVATE:
                action = "activate"
                break
            if references == FOLIOREF_KEEP:
                stat.nr_ref_keep += nr
                break
            f = mem.flags[pfn]
            anon = bool(mem.mapping[pfn] & 1)
            if anon and f & _PG_SWAPBACKED and not folio_test_swapcache(f):
                if not sc.gfp_mask & __GFP_IO:
                    break
                ss = _swap_state() if sc.may_swap else None
                if ss is None or not ss.add_to_swap(m, pfn):
                    action = "activate"
                    break
                f = mem.flags[pfn]
            if mapped:
                # SIM: an extra reference (a fault path holding the page) blocks the unmap
                cache = 1 if (mem.mapping[pfn] and not mem.mapping[pfn] & 1) or \
                    folio_test_swapcache(f) else 0
                if int(mem.refcount[pfn]) > _total_mapcount(m, pfn) + 1 + cache:
                    break
                was_swapbacked = bool(f & _PG_SWAPBACKED)
                try_to_unmap(m, pfn)
                if _total_mapcount(m, pfn):
                    stat.nr_unmap_fail += nr
                    if not was_swapbacked and mem.flags[pfn] & _PG_SWAPBACKED:
                        stat.nr_lazyfree_fail += nr
                    action = "activate"
                    break
            f = mem.flags[pfn]
            if f & _PG_DIRTY:
                if folio_is_file_lru(m, pfn) and (not sc.kswapd or not f & _PG_RECLAIM or
                                                  not pgdat.flags & PGDAT_DIRTY):
                    m.mod_node_page_state_pfn(pfn, NodeStatItem.NR_VMSCAN_IMMEDIATE, nr)
                    mem.flags[pfn] |= _PG_RECLAIM
                    action = "activate"
                    break
                if references == FOLIOREF_RECLAIM_CLEAN:
                    break
                if not _may_enter_fs(m, pfn, sc.gfp_mask) or not sc.may_writepage:
                    break
                res = pageout(m, pfn, sc)
                if res == PAGE_KEEP:
                    break
                if res == PAGE_ACTIVATE:
                    action = "activate"
                    break
                if res == PAGE_SUCCESS:
                    stat.nr_pageout += nr
                    if mem.flags[pfn] & (_PG_WRITEBACK | _PG_DIRTY):
                        break
            f = mem.flags[pfn]
            if mem.mapping[pfn] & 1 and not f & _PG_SWAPBACKED:
                # lazy-free: only the isolation reference may be left
                if int(mem.refcount[pfn]) != 1 or f & _PG_DIRTY:
                    break
                m.vm_event[VmEventItem.PGLAZYFREED] += nr
            elif not __remove_mapping(m, pfn, True):
                break
            action = "free"
            break
        if action == "free":
            nr_reclaimed += nr
            folio_put(m, pfn)               # the isolation reference: the last one
            continue
        if action == "activate":
            f = mem.flags[pfn]
            if folio_test_swapcache(f) and f & _PG_MLOCKED:
                ss = _swap_state()
                if ss is not None and hasattr(ss, "folio_free_swap"):
                    ss.folio_free_swap(m, pfn)
            if not mem.flags[pfn] & _PG_MLOCKED:
                mem.flags[pfn] |= _PG_ACTIVE
                stat.nr_activate[1 if folio_is_file_lru(m, pfn) else 0] += nr
                pgactivate += nr
        ret.append(pfn)
    m.vm_event[VmEventItem.PGACTIVATE] += pgactivate
    return nr_reclaimed, ret


def _total_mapcount(m: Machine, pfn: int) -> int:
    if m.mem_map.flags[pfn] & _PG_HEAD:
        return 1 if _thp_mapped(m, pfn) else 0
    return page_mapcount(m, pfn)


def _thp_mapped(m: Machine, pfn: int) -> bool:
    mem = m.mem_map
    n = 1 << mem.compound_order[pfn]
    return any(mem.mapcount1[pfn + i] for i in range(n)) or \
        int(mem.refcount[pfn]) > 2


# ---- the list shrinkers -------------------------------------------------------------------------

def reclaim_pages(m: Machine, folios: list[int]) -> int:
    """
    reclaim_pages() (MADV_PAGEOUT): reclaim isolated folios — each holding the isolation
    reference folio_isolate_lru() took — with references ignored, node by node; the ones
    kept go back to their LRU lists. Returns the pages reclaimed.
    """
    by_node: dict[int, list[int]] = {}
    flags = m.mem_map.flags
    for pfn in folios:
        flags[pfn] &= ~_PG_ACTIVE           # folio_clear_active(): shrink_folio_list BUGs on it
        by_node.setdefault(m.page_zone(pfn).node, []).append(pfn)
    reclaimed = 0
    for nid, lst in by_node.items():
        sc = ScanControl(may_writepage=True, may_unmap=True, may_swap=True)
        nr, kept = shrink_folio_list(m, lst, m.nodes[nid], sc, ReclaimStat(),
                                     ignore_references=True)
        reclaimed += nr
        for pfn in kept:
            folio_putback_lru(m, pfn)
    return reclaimed


def shrink_inactive_list(m: Machine, nr_to_scan: int, lruvec: Lruvec, sc: ScanControl,
                         lru: int) -> int:
    """shrink_inactive_list(): isolate from the inactive tail, reclaim, put back."""
    pgdat = _node_of(m, lruvec)
    file = is_file_lru(lru)
    lru_add_drain(m)
    folios, nr_taken, nr_scanned = isolate_lru_folios(m, nr_to_scan, lruvec, lru, sc)
    iso = NodeStatItem.NR_ISOLATED_FILE if file else NodeStatItem.NR_ISOLATED_ANON
    pgdat.vm_stat[iso] += nr_taken
    ev = m.vm_event
    ev[VmEventItem.PGSCAN_KSWAPD if sc.kswapd else VmEventItem.PGSCAN_DIRECT] += nr_scanned
    ev[VmEventItem.PGSCAN_FILE if file else VmEventItem.PGSCAN_ANON] += nr_scanned
    if nr_taken == 0:
        return 0
    stat = ReclaimStat()
    nr_reclaimed, kept = shrink_folio_list(m, folios, pgdat, sc, stat)
    move_folios_to_lru(m, lruvec, kept)
    pgdat.vm_stat[iso] -= nr_taken
    ev[VmEventItem.PGSTEAL_KSWAPD if sc.kswapd else VmEventItem.PGSTEAL_DIRECT] += nr_reclaimed
    ev[VmEventItem.PGSTEAL_FILE if file else VmEventItem.PGSTEAL_ANON] += nr_reclaimed
    lru_note_cost(m, lruvec, file, stat.nr_pageout, nr_scanned - nr_reclaimed)
    if stat.nr_unqueued_dirty == nr_taken:
        # dirty page-cache folios nobody queued for I/O: the flushers are behind
        from memsim.fs.fs_writeback import WB_REASON_VMSCAN, wakeup_flusher_threads
        wakeup_flusher_threads(m, WB_REASON_VMSCAN)
    sc.nr.dirty += stat.nr_dirty
    sc.nr.congested += stat.nr_congested
    sc.nr.unqueued_dirty += stat.nr_unqueued_dirty
    sc.nr.writeback += stat.nr_writeback
    sc.nr.immediate += stat.nr_immediate
    sc.nr.taken += nr_taken
    if file:
        sc.nr.file_taken += nr_taken
    tp = getattr(m.tp, "mm_vmscan_lru_shrink_inactive", None)
    if tp is not None and tp.enabled:
        tp.emit(m.trace_ctx(), nid=pgdat.node_id, nr_scanned=nr_scanned,
                nr_reclaimed=nr_reclaimed, priority=sc.priority, file=int(file))
    return nr_reclaimed


def shrink_active_list(m: Machine, nr_to_scan: int, lruvec: Lruvec, sc: ScanControl,
                       lru: int) -> None:
    """
    shrink_active_list(): isolate from the active tail; referenced executable file
    folios rotate back to the active list, every other folio is deactivated (PG_workingset
    set). Young bits are harvested (and cleared) on the way.
    """
    pgdat = _node_of(m, lruvec)
    file = is_file_lru(lru)
    mem = m.mem_map
    lru_add_drain(m)
    folios, nr_taken, nr_scanned = isolate_lru_folios(m, nr_to_scan, lruvec, lru, sc)
    iso = NodeStatItem.NR_ISOLATED_FILE if file else NodeStatItem.NR_ISOLATED_ANON
    pgdat.vm_stat[iso] += nr_taken
    m.vm_event[VmEventItem.PGREFILL] += nr_scanned
    l_active: list[int] = []
    l_inactive: list[int] = []
    nr_rotated = 0
    for pfn in folios:
        if not folio_evictable(m, pfn):
            folio_putback_lru_noref(m, pfn)
            folio_put(m, pfn)
            continue
        referenced, vm_flags = folio_referenced(m, pfn)
        if referenced and vm_flags & VM_EXEC and folio_is_file_lru(m, pfn):
            nr_rotated += folio_nr_pages(m, pfn)
            l_active.append(pfn)
            continue
        mem.flags[pfn] = (mem.flags[pfn] & ~_PG_ACTIVE) | _PG_WORKINGSET
        l_inactive.append(pfn)
    move_folios_to_lru(m, lruvec, l_active)
    nr_deactivate = move_folios_to_lru(m, lruvec, l_inactive)
    m.vm_event[VmEventItem.PGDEACTIVATE] += nr_deactivate
    pgdat.vm_stat[iso] -= nr_taken
    lru_note_cost(m, lruvec, file, 0, nr_rotated)


def shrink_list(m: Machine, lru: int, nr_to_scan: int, lruvec: Lruvec,
                sc: ScanControl) -> int:
    if is_active_lru(lru):
        if sc.may_deactivate & (DEACTIVATE_FILE if is_file_lru(lru) else DEACTIVATE_ANON):
            shrink_active_list(m, nr_to_scan, lruvec, sc, lru)
        else:
            sc.skipped_deactivate = True
        return 0
    return shrink_inactive_list(m, nr_to_scan, lruvec, sc, lru)


def prepare_scan_control(m: Machine, pgdat: PgData, sc: ScanControl) -> None:
    """prepare_scan_control(): costs, may_deactivate, cache_trim_mode, file_is_tiny."""
    lruvec = pgdat.lruvec
    sc.anon_cost = lruvec.anon_cost
    sc.file_cost = lruvec.file_cost
    vs = pgdat.vm_stat
    if not sc.force_deactivate:
        refaults = vs[NodeStatItem.WORKINGSET_ACTIVATE_ANON]
        if refaults != lruvec.refaults[0] or inactive_is_low(m, lruvec, LRU_INACTIVE_ANON):
            sc.may_deactivate |= DEACTIVATE_ANON
        else:
            sc.may_deactivate &= ~DEACTIVATE_ANON
        refaults = vs[NodeStatItem.WORKINGSET_ACTIVATE_FILE]
        if refaults != lruvec.refaults[1] or inactive_is_low(m, lruvec, LRU_INACTIVE_FILE):
            sc.may_deactivate |= DEACTIVATE_FILE
        else:
            sc.may_deactivate &= ~DEACTIVATE_FILE
    else:
        sc.may_deactivate = DEACTIVATE_ANON | DEACTIVATE_FILE
    file = vs[NodeStatItem.NR_INACTIVE_FILE]
    sc.cache_trim_mode = bool(file >> sc.priority and
                              not sc.may_deactivate & DEACTIVATE_FILE and
                              not sc.no_cache_trim_mode)
    free = sum(z.vm_stat[_NR_FREE_PAGES] for z in pgdat.node_zones)
    file = vs[NodeStatItem.NR_ACTIVE_FILE] + vs[NodeStatItem.NR_INACTIVE_FILE]
    total_high_wmark = sum(z.high_wmark_pages() for z in pgdat.node_zones if z.managed_pages)
    anon = vs[NodeStatItem.NR_INACTIVE_ANON]
    sc.file_is_tiny = bool(file + free <= total_high_wmark and
                           not sc.may_deactivate & DEACTIVATE_ANON and anon >> sc.priority)


def scan_balance_decision(m: Machine, sc: ScanControl, swappiness: int,
                          can_swap: bool) -> tuple[int, tuple[int, int]]:
    """The first half of get_scan_count(): (scan_balance, (anon fraction, file fraction))."""
    if not sc.may_swap or not can_swap:
        return SCAN_FILE, (0, 0)
    if not sc.priority and swappiness:
        return SCAN_EQUAL, (0, 0)
    if sc.file_is_tiny:
        return SCAN_ANON, (0, 0)
    if sc.cache_trim_mode:
        return SCAN_FILE, (0, 0)
    total_cost = sc.anon_cost + sc.file_cost
    anon_cost = total_cost + sc.anon_cost
    file_cost = total_cost + sc.file_cost
    total_cost = anon_cost + file_cost
    ap = swappiness * (total_cost + 1) // (anon_cost + 1)
    fp = (MAX_SWAPPINESS - swappiness) * (total_cost + 1) // (file_cost + 1)
    return SCAN_FRACT, (ap, fp)


def get_scan_count(m: Machine, lruvec: Lruvec, sc: ScanControl) -> list[int]:
    """get_scan_count(): how many pages of each evictable list to scan at sc.priority."""
    pgdat = _node_of(m, lruvec)
    swappiness = m.sysctl.swappiness
    balance, fraction = scan_balance_decision(m, sc, swappiness, can_reclaim_anon_pages(m))
    denominator = fraction[0] + fraction[1]
    nr = [0] * 4
    for lru in (LRU_INACTIVE_ANON, LRU_ACTIVE_ANON, LRU_INACTIVE_FILE, LRU_ACTIVE_FILE):
        file = is_file_lru(lru)
        scan = lruvec_lru_size(m, pgdat, lru, sc.reclaim_idx) >> sc.priority
        if balance == SCAN_FRACT:
            scan = scan * fraction[int(file)] // denominator if denominator else 0
        elif balance in (SCAN_FILE, SCAN_ANON):
            if (balance == SCAN_FILE) != file:
                scan = 0
        nr[lru] = scan
    return nr


def shrink_lruvec(m: Machine, lruvec: Lruvec, sc: ScanControl) -> None:
    """shrink_lruvec(): scan the lists in SWAP_CLUSTER_MAX steps, proportionally."""
    nr = get_scan_count(m, lruvec, sc)
    targets = list(nr)
    nr_reclaimed = 0
    nr_to_reclaim = sc.nr_to_reclaim
    proportional = not sc.kswapd and sc.priority == DEF_PRIORITY
    while nr[LRU_INACTIVE_ANON] or nr[LRU_ACTIVE_FILE] or nr[LRU_INACTIVE_FILE]:
        for lru in (LRU_INACTIVE_ANON, LRU_ACTIVE_ANON, LRU_INACTIVE_FILE, LRU_ACTIVE_FILE):
            if nr[lru]:
                n = min(nr[lru], SWAP_CLUSTER_MAX)
                nr[lru] -= n
                nr_reclaimed += shrink_list(m, lru, n, lruvec, sc)
        if nr_reclaimed < nr_to_reclaim or proportional:
            continue
        nr_file = nr[LRU_INACTIVE_FILE] + nr[LRU_ACTIVE_FILE]
        nr_anon = nr[LRU_INACTIVE_ANON] + nr[LRU_ACTIVE_ANON]
        if not nr_file or not nr_anon:
            break
        if nr_file > nr_anon:
            scan_target = targets[LRU_INACTIVE_ANON] + targets[LRU_ACTIVE_ANON] + 1
            lru = LRU_INACTIVE_ANON
            percentage = nr_anon * 100 // scan_target
        else:
            scan_target = targets[LRU_INACTIVE_FILE] + targets[LRU_ACTIVE_FILE] + 1
            lru = LRU_INACTIVE_FILE
            percentage = nr_file * 100 // scan_target
        nr[lru] = 0
        nr[lru + 1] = 0
        lru = LRU_INACTIVE_ANON if lru == LRU_INACTIVE_FILE else LRU_INACTIVE_FILE
        for x in (lru, lru + 1):
            nr_scanned = targets[x] - nr[x]
            nr[x] = targets[x] * (100 - percentage) // 100
            nr[x] -= min(nr[x], nr_scanned)
    sc.nr_reclaimed += nr_reclaimed
    if can_reclaim_anon_pages(m) and inactive_is_low(m, lruvec, LRU_INACTIVE_ANON):
        shrink_active_list(m, SWAP_CLUSTER_MAX, lruvec, sc, LRU_ACTIVE_ANON)


def shrink_node(m: Machine, pgdat: PgData, sc: ScanControl) -> None:
    """shrink_node(): the lruvec, then the slab shrinkers; kswapd's node flags."""
    if m.lru_gen_on:
        from memsim.mm.lru_gen import lru_gen_shrink_node
        sc.nr = ScanNr()
        lru_gen_shrink_node(m, pgdat, sc)
        return
    from memsim.mm.shrinker import shrink_slab
    lruvec = pgdat.lruvec
    sc.nr = ScanNr()
    nr_reclaimed = sc.nr_reclaimed
    prepare_scan_control(m, pgdat, sc)
    shrink_lruvec(m, lruvec, sc)
    slab_before = _slab_pages(m)
    shrink_slab(m, sc.gfp_mask, pgdat.node_id, sc.priority)
    # flush_reclaim_state(): slab pages freed by the shrinkers count as reclaimed
    sc.nr_reclaimed += max(0, slab_before - _slab_pages(m))
    nr_node_reclaimed = sc.nr_reclaimed - nr_reclaimed
    if sc.kswapd:
        if sc.nr.writeback and sc.nr.writeback == sc.nr.taken:
            pgdat.flags |= PGDAT_WRITEBACK
        if sc.nr.unqueued_dirty == sc.nr.file_taken:
            pgdat.flags |= PGDAT_DIRTY
    if nr_node_reclaimed:
        pgdat.kswapd_failures = 0
    elif sc.cache_trim_mode:
        sc.cache_trim_mode_failed = True


def _slab_pages(m: Machine) -> int:
    return sum(pg.vm_stat[NodeStatItem.NR_SLAB_RECLAIMABLE_B] +
               pg.vm_stat[NodeStatItem.NR_SLAB_UNRECLAIMABLE_B] for pg in m.nodes) >> 12


def snapshot_refaults(m: Machine, pgdat: PgData) -> None:
    """snapshot_refaults(): remember the activation counts reclaim last saw."""
    pgdat.lruvec.refaults[0] = pgdat.vm_stat[NodeStatItem.WORKINGSET_ACTIVATE_ANON]
    pgdat.lruvec.refaults[1] = pgdat.vm_stat[NodeStatItem.WORKINGSET_ACTIVATE_FILE]


# ---- direct reclaim -----------------------------------------------------------------------------

def try_to_free_pages(m: Machine, zones: list[Zone], order: int, gfp: int) -> int:
    """try_to_free_pages() / do_try_to_free_pages(): direct reclaim; pages reclaimed."""
    sc = ScanControl(nr_to_reclaim=SWAP_CLUSTER_MAX, gfp_mask=m.current_gfp_context(gfp),
                     reclaim_idx=m.gfp_zone(gfp), order=order, priority=DEF_PRIORITY,
                     may_writepage=True, may_unmap=True, may_swap=True)
    tp = getattr(m.tp, "mm_vmscan_direct_reclaim_begin", None)
    if tp is not None and tp.enabled:
        tp.emit(m.trace_ctx(), order=order, gfp_flags=gfp)
    ztype = next((z.zone_type for z in m.nodes[0].node_zones if z.idx == sc.reclaim_idx),
                 None)
    if ztype is not None:
        m.vm_event[VmEventItem.ALLOCSTALL_DMA + ztype] += 1
    saved = m.current_pf_memalloc
    m.current_pf_memalloc = True                # memalloc_noreclaim_save()
    try:
        while True:
            while True:
                sc.nr_scanned = 0
                seen: set[int] = set()
                for zone in zones:
                    if zone.idx > sc.reclaim_idx or zone.node in seen or \
                            not zone.managed_pages:
                        continue
                    seen.add(zone.node)
                    shrink_node(m, m.nodes[zone.node], sc)
                if sc.nr_reclaimed >= sc.nr_to_reclaim or sc.compaction_ready:
                    break
                if sc.priority < DEF_PRIORITY - 2:
                    sc.may_writepage = True
                sc.priority -= 1
                if sc.priority < 0:
                    break
            for nid in {z.node for z in zones}:
                snapshot_refaults(m, m.nodes[nid])
            if sc.nr_reclaimed:
                break
            if sc.skipped_deactivate and not sc.force_deactivate:
                sc.priority = DEF_PRIORITY
                sc.force_deactivate = True
                sc.skipped_deactivate = False
                continue
            break
    finally:
        m.current_pf_memalloc = saved
    tp = getattr(m.tp, "mm_vmscan_direct_reclaim_end", None)
    if tp is not None and tp.enabled:
        tp.emit(m.trace_ctx(), nr_reclaimed=sc.nr_reclaimed)
    return sc.nr_reclaimed


def should_reclaim_retry(m: Machine, gfp: int, order: int, ac: Any, alloc_flags: int,
                         did_some_progress: bool, no_progress_loops: int) -> tuple[bool, int]:
    """
    should_reclaim_retry(): retry while some zone could reach its min watermark with all
    of its reclaimable pages freed, for at most MAX_RECLAIM_RETRIES fruitless rounds.
    Returns (retry, no_progress_loops).
    """
    from memsim.mm.page_alloc import __zone_watermark_ok, unreserve_highatomic_pageblock
    if did_some_progress and order <= PAGE_ALLOC_COSTLY_ORDER:
        no_progress_loops = 0
    else:
        no_progress_loops += 1
    ret = False
    if no_progress_loops <= MAX_RECLAIM_RETRIES:
        for zone in ac.zones:
            available = zone_reclaimable_pages(m, zone) + zone.vm_stat[_NR_FREE_PAGES]
            if __zone_watermark_ok(zone, order, zone.min_wmark_pages(), ac.highest_zoneidx,
                                   alloc_flags, available):
                ret = True
                break
    if not ret:
        return bool(unreserve_highatomic_pageblock(m, ac, True)), no_progress_loops
    return True, no_progress_loops


class VmscanReclaimHooks:
    """Machine.reclaim_hooks with direct reclaim (compaction: SIM not modelled); the OOM
    side is delegated to the hooks object installed before (H-OOM's may_oom)."""

    def __init__(self, prev: Any) -> None:
        self.prev = prev

    def direct_compact_and_reclaim(self, m: Machine, gfp: int, order: int, alloc_flags: int,
                                   ac: Any) -> int | None:
        """__alloc_pages_direct_reclaim(): reclaim, then one allocation attempt."""
        from memsim.mm.page_alloc import get_page_from_freelist
        if not gfp & _GFP_DIRECT_RECLAIM:
            m.reclaim_progress = 0
            return None
        progress = try_to_free_pages(m, list(ac.zones), order, gfp)
        m.reclaim_progress = progress
        if not progress:
            return None
        page: int | None = get_page_from_freelist(m, gfp, order, alloc_flags, ac)
        return page

    def may_oom(self, m: Machine, gfp: int, order: int, alloc_flags: int,
                ac: Any) -> int | None:
        result: int | None = self.prev.may_oom(m, gfp, order, alloc_flags, ac)
        return result

    def __getattr__(self, name: str) -> Any:
        return getattr(self.prev, name)


# ---- kswapd -------------------------------------------------------------------------------------

def pgdat_balanced(m: Machine, pgdat: PgData, order: int, highest_zoneidx: int) -> bool:
    """pgdat_balanced(): one eligible managed zone at its high watermark is enough."""
    from memsim.mm.page_alloc import zone_watermark_ok_safe
    seen = False
    for zone in pgdat.node_zones:
        if zone.idx > highest_zoneidx or not zone.managed_pages:
            continue
        seen = True
        if zone_watermark_ok_safe(zone, order, zone.high_wmark_pages(), highest_zoneidx):
            return True
    return not seen


def pgdat_watermark_boosted(pgdat: PgData, highest_zoneidx: int) -> bool:
    return any(z.watermark_boost for z in pgdat.node_zones if z.idx <= highest_zoneidx)


def kswapd_thread(m: Machine, pgdat: PgData) -> Any:
    from memsim.kernel.kthread import kthread_queue
    return kthread_queue(m).threads.get(f"kswapd{pgdat.node_id}")


def wakeup_kswapd(m: Machine, zone: Zone, gfp: int, order: int, highest_zoneidx: int) -> None:
    """wakeup_kswapd(): record order/zone; wake the thread unless the node is hopeless or
    already balanced (at the high watermark) without a boost."""
    if not zone.managed_pages:
        return
    pgdat = m.nodes[zone.node]
    if pgdat.kswapd_highest_zoneidx < 0 or pgdat.kswapd_highest_zoneidx < highest_zoneidx:
        pgdat.kswapd_highest_zoneidx = highest_zoneidx
    if pgdat.kswapd_order < order:
        pgdat.kswapd_order = order
    t = kswapd_thread(m, pgdat)
    if t is None or t.state == "R":
        return
    if pgdat.kswapd_failures >= MAX_RECLAIM_RETRIES or (
            pgdat_balanced(m, pgdat, order, highest_zoneidx) and
            not pgdat_watermark_boosted(pgdat, highest_zoneidx)):
        return
    tp = getattr(m.tp, "mm_vmscan_wakeup_kswapd", None)
    if tp is not None and tp.enabled:
        tp.emit(m.trace_ctx(), nid=pgdat.node_id, zid=highest_zoneidx, order=order,
                gfp_flags=gfp)
    from memsim.kernel.kthread import wake_up_process
    wake_up_process(m, t)


def kswapd_age_node(m: Machine, pgdat: PgData, sc: ScanControl) -> None:
    if m.lru_gen_on:
        from memsim.mm.lru_gen import lru_gen_age_node
        lru_gen_age_node(m, pgdat, sc)
        return
    if not can_reclaim_anon_pages(m):
        return
    if not inactive_is_low(m, pgdat.lruvec, LRU_INACTIVE_ANON):
        return
    shrink_active_list(m, SWAP_CLUSTER_MAX, pgdat.lruvec, sc, LRU_ACTIVE_ANON)


def kswapd_shrink_node(m: Machine, pgdat: PgData, sc: ScanControl) -> bool:
    sc.nr_to_reclaim = 0
    for zone in pgdat.node_zones:
        if zone.idx > sc.reclaim_idx or not zone.managed_pages:
            continue
        sc.nr_to_reclaim += max(zone.high_wmark_pages(), SWAP_CLUSTER_MAX)
    shrink_node(m, pgdat, sc)
    if sc.order and sc.nr_reclaimed >= 2 << sc.order:
        sc.order = 0
    return sc.nr_scanned >= sc.nr_to_reclaim


def balance_pgdat(m: Machine, pgdat: PgData, order: int, highest_zoneidx: int) -> int:
    """balance_pgdat(): reclaim until an eligible zone meets its high watermark (or the
    boosted amount is reclaimed), raising the priority from DEF_PRIORITY."""
    m.vm_event[VmEventItem.PAGEOUTRUN] += 1
    zone_boosts: dict[int, int] = {}
    nr_boost_reclaim = 0
    for zone in pgdat.node_zones:
        if zone.idx <= highest_zoneidx and zone.managed_pages:
            nr_boost_reclaim += zone.watermark_boost
            zone_boosts[zone.idx] = zone.watermark_boost
    boosted = bool(nr_boost_reclaim)
    sc = ScanControl(gfp_mask=GFP_KERNEL, order=order, may_unmap=True, kswapd=True)
    saved = m.current_pf_memalloc
    m.current_pf_memalloc = True
    try:
        while True:                             # restart:
            sc.priority = DEF_PRIORITY
            balanced_out = restart = False
            while True:
                nr_reclaimed = sc.nr_reclaimed
                raise_priority = True
                sc.reclaim_idx = highest_zoneidx
                balanced = pgdat_balanced(m, pgdat, sc.order, highest_zoneidx)
                if not balanced and nr_boost_reclaim:
                    nr_boost_reclaim = 0
                    restart = True
                    break
                if not nr_boost_reclaim and balanced:
                    balanced_out = True
                    break
                if nr_boost_reclaim and sc.priority == DEF_PRIORITY - 2:
                    raise_priority = False
                sc.may_writepage = not nr_boost_reclaim
                sc.may_swap = not nr_boost_reclaim
                kswapd_age_node(m, pgdat, sc)
                if sc.priority < DEF_PRIORITY - 2:
                    sc.may_writepage = True
                sc.nr_scanned = 0
                if kswapd_shrink_node(m, pgdat, sc):
                    raise_priority = False
                nr_reclaimed = sc.nr_reclaimed - nr_reclaimed
                nr_boost_reclaim -= min(nr_boost_reclaim, nr_reclaimed)
                if nr_boost_reclaim and not nr_reclaimed:
                    break
                if raise_priority or not nr_reclaimed:
                    sc.priority -= 1
                if sc.priority < 1:
                    break
            if restart:
                continue
            if balanced_out:
                break
            if not sc.nr_reclaimed and sc.priority < 1 and not sc.no_cache_trim_mode \
                    and sc.cache_trim_mode_failed:
                sc.no_cache_trim_mode = True
                continue
            if not sc.nr_reclaimed:
                pgdat.kswapd_failures += 1
            break
    finally:
        m.current_pf_memalloc = saved
    if balanced_out:
        pgdat.flags &= ~(PGDAT_DIRTY | PGDAT_WRITEBACK)   # clear_pgdat_congested()
    if boosted:
        for zone in pgdat.node_zones:
            b = zone_boosts.get(zone.idx, 0)
            if b:
                zone.watermark_boost -= min(zone.watermark_boost, b)
    snapshot_refaults(m, pgdat)
    return sc.order


#: kswapd's short nap before a full sleep: HZ/10
KSWAPD_NAP_NS = 100_000_000


def prepare_kswapd_sleep(m: Machine, pgdat: PgData, order: int, highest_zoneidx: int) -> bool:
    """prepare_kswapd_sleep(): a hopeless node or a balanced one may sleep."""
    if pgdat.kswapd_failures >= MAX_RECLAIM_RETRIES:
        return True
    if pgdat_balanced(m, pgdat, order, highest_zoneidx):
        pgdat.flags &= ~(PGDAT_DIRTY | PGDAT_WRITEBACK)    # clear_pgdat_congested()
        return True
    return False


def kswapd_step(m: Machine, t: Any) -> int | None:
    """
    One run of kswapd<nid>'s loop. After balance_pgdat() kswapd_try_to_sleep() naps for
    HZ/10 when the node is balanced; a wake-up during the nap counts
    kswapd_low_wmark_hit_quickly, a nap that ends with the node unbalanced again
    kswapd_high_wmark_hit_quickly, and a nap that ends balanced becomes a full sleep
    (until wakeup_kswapd). The nap needs machine time to pass (kernel/kthread.py
    advance_clock); until then kswapd simply stays asleep.
    """
    pgdat: PgData = t.data["pgdat"]
    if t.data.get("napping"):
        t.data["napping"] = False
        order, highest = int(t.data.get("order", 0)), int(t.data.get("zidx", 0))
        if t.woken_early:
            t.woken_early = False
            m.vm_event[VmEventItem.KSWAPD_LOW_WMARK_HIT_QUICKLY] += 1
        elif prepare_kswapd_sleep(m, pgdat, order, highest):
            return None                                 # full sleep until woken
        else:
            m.vm_event[VmEventItem.KSWAPD_HIGH_WMARK_HIT_QUICKLY] += 1
    order = pgdat.kswapd_order
    highest = pgdat.kswapd_highest_zoneidx
    if highest < 0:
        highest = max(z.idx for z in pgdat.node_zones)
    pgdat.kswapd_order = 0
    pgdat.kswapd_highest_zoneidx = -1
    tp = getattr(m.tp, "mm_vmscan_kswapd_wake", None)
    if tp is not None and tp.enabled:
        tp.emit(m.trace_ctx(), nid=pgdat.node_id, zid=highest, order=order)
    reclaim_order = balance_pgdat(m, pgdat, order, highest)
    # kswapd_try_to_sleep()
    t.data["order"], t.data["zidx"] = reclaim_order, highest
    if prepare_kswapd_sleep(m, pgdat, reclaim_order, highest):
        t.data["napping"] = True
        return KSWAPD_NAP_NS
    m.vm_event[VmEventItem.KSWAPD_HIGH_WMARK_HIT_QUICKLY] += 1
    from memsim.kernel.kthread import wake_up_process
    wake_up_process(m, t)                               # straight back to balancing
    return None


def kswapd_run(m: Machine, pgdat: PgData) -> None:
    """kswapd_run(): start kswapd<nid> (asleep until woken)."""
    from memsim.kernel.kthread import kthread_run
    t = kthread_run(m, f"kswapd{pgdat.node_id}", kswapd_step)
    t.data["pgdat"] = pgdat


def vmscan_init(m: Machine) -> None:
    """Boot: LRU hooks, the reclaim hooks of the allocator, one kswapd per node."""
    from memsim.mm.swap import lru_install_hooks
    from memsim.mm.workingset import workingset_init
    lru_install_hooks(m)
    workingset_init(m)
    from memsim.mm.lru_gen import lru_gen_init
    lru_gen_init(m)
    if not isinstance(m.reclaim_hooks, VmscanReclaimHooks):
        m.reclaim_hooks = VmscanReclaimHooks(m.reclaim_hooks)  # type: ignore[assignment]
    for pgdat in m.nodes:
        pgdat.kswapd_highest_zoneidx = -1
        kswapd_run(m, pgdat)


def lru_lists(m: Machine, nid: int = 0) -> dict[str, list[int]]:
    """The node's LRU lists by name, head (newest) first — for tests and explain."""
    from memsim.include.mmzone import LRU_NAMES
    lruvec = m.nodes[nid].lruvec
    return {name: lru_list_pfns(m, lruvec, i) for i, name in enumerate(LRU_NAMES)}


__all__ = ["ScanControl", "try_to_free_pages", "shrink_node", "shrink_lruvec",
           "shrink_active_list", "shrink_inactive_list", "shrink_folio_list",
           "get_scan_count", "scan_balance_decision", "inactive_is_low", "balance_pgdat",
           "wakeup_kswapd", "pgdat_balanced", "folio_referenced", "folio_check_references",
           "should_reclaim_retry", "vmscan_init", "lru_lists", "DEF_PRIORITY",
           "MAX_RECLAIM_RETRIES", "LRU_ACTIVE_ANON", "LRU_ACTIVE_FILE"]
