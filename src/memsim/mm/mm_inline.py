"""
LRU list primitives (include/linux/mm_inline.h, 6.12): which list a folio belongs on
(folio_lru_list), adding at the head or tail, deleting, and the node/zone LRU size
counters (update_lru_size -> NR_INACTIVE_ANON.. on the node, NR_ZONE_INACTIVE_ANON.. on
the zone). The lists live in the node's Lruvec (include/mmzone.py); their links are the
memmap's ``lru_next``/``lru_prev`` fields holding PFN+1 (0 = none): ``lru_next`` points
from the head (newest) towards the tail (oldest), as the kernel's list_head ``next``.

Callers: mm/swap.py (folio batches, activation), mm/vmscan.py (isolation, putback).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from memsim.arch import MAX_PAGE_ORDER
from memsim.include.list import pfn_list_add, pfn_list_add_tail, pfn_list_del
from memsim.include.mmzone import (
    LRU_ACTIVE_ANON,
    LRU_INACTIVE_ANON,
    LRU_INACTIVE_FILE,
    LRU_UNEVICTABLE,
    Lruvec,
)
from memsim.include.page_flags import LRU_GEN_MASK, PageFlags
from memsim.include.vmstat_items import NodeStatItem, ZoneStatItem
from memsim.mm.lru_gen import lru_gen_add_folio, lru_gen_del_folio

if TYPE_CHECKING:
    from memsim.machine import Machine

PG_LRU = 1 << PageFlags.PG_lru
PG_ACTIVE = 1 << PageFlags.PG_active
PG_UNEVICTABLE = 1 << PageFlags.PG_unevictable
PG_SWAPBACKED = 1 << PageFlags.PG_swapbacked
PG_HEAD = 1 << PageFlags.PG_head
PG_REFERENCED = 1 << PageFlags.PG_referenced
PG_WORKINGSET = 1 << PageFlags.PG_workingset
PG_MLOCKED = 1 << PageFlags.PG_mlocked
_NR_LRU_BASE = int(NodeStatItem.NR_LRU_BASE)
_NR_ZONE_LRU_BASE = int(ZoneStatItem.NR_ZONE_LRU_BASE)


def folio_nr_pages(m: Machine, pfn: int) -> int:
    mem = m.mem_map
    return 1 << mem.compound_order[pfn] if mem.flags[pfn] & PG_HEAD else 1


def folio_is_file_lru(m: Machine, pfn: int) -> bool:
    """folio_is_file_lru(): not swap-backed (page cache, lazy-free anon)."""
    return not m.mem_map.flags[pfn] & PG_SWAPBACKED


def is_file_lru(lru: int) -> bool:
    return lru == LRU_INACTIVE_FILE or lru == LRU_INACTIVE_FILE + 1


def is_active_lru(lru: int) -> bool:
    return lru == LRU_ACTIVE_ANON or lru == LRU_INACTIVE_FILE + 1


def folio_lru_base_type(m: Machine, pfn: int) -> int:
    return LRU_INACTIVE_ANON if m.mem_map.flags[pfn] & PG_SWAPBACKED else LRU_INACTIVE_FILE


def folio_lru_list(m: Machine, pfn: int) -> int:
    """folio_lru_list(): unevictable, else (in)active anon/file from the flags."""
    f = m.mem_map.flags[pfn]
    if f & PG_UNEVICTABLE:
        return LRU_UNEVICTABLE
    lru = LRU_INACTIVE_ANON if f & PG_SWAPBACKED else LRU_INACTIVE_FILE
    if f & PG_ACTIVE:
        lru += 1
    return lru


def folio_lruvec(m: Machine, pfn: int) -> Lruvec:
    """folio_lruvec(): the node's lruvec (SIM: no memory cgroups)."""
    zi = m._zone_of_block[pfn >> MAX_PAGE_ORDER]      # page_zone(), its fast case
    zone = m.zones[zi] if zi != 255 else m.page_zone(pfn)
    return m.nodes[zone.node].lruvec


def update_lru_size(m: Machine, lruvec: Lruvec, pfn: int, lru: int, nr: int) -> None:
    """update_lru_size(): the lruvec's list size and the node/zone LRU counters."""
    zi = m._zone_of_block[pfn >> MAX_PAGE_ORDER]      # page_zone(), its fast case
    zone = m.zones[zi] if zi != 255 else m.page_zone(pfn)
    m.nodes[zone.node].vm_stat[_NR_LRU_BASE + lru] += nr
    zone.vm_stat[_NR_ZONE_LRU_BASE + lru] += nr
    lruvec.nr[lru] += nr


def lruvec_add_folio(m: Machine, lruvec: Lruvec, pfn: int) -> None:
    """lruvec_add_folio(): at the head of its list (the caller sets PG_lru)."""
    if m.lru_gen_on and lru_gen_add_folio(m, pfn, False):
        return                      # MGLRU (mm/lru_gen.py) took it
    lru = folio_lru_list(m, pfn)
    update_lru_size(m, lruvec, pfn, lru, folio_nr_pages(m, pfn))
    pfn_list_add(m.mem_map, lruvec.head, lruvec.tail, lru, pfn)


def lruvec_add_folio_tail(m: Machine, lruvec: Lruvec, pfn: int) -> None:
    """lruvec_add_folio_tail(): at the tail (reclaimed next)."""
    if m.lru_gen_on and lru_gen_add_folio(m, pfn, True):
        return
    lru = folio_lru_list(m, pfn)
    update_lru_size(m, lruvec, pfn, lru, folio_nr_pages(m, pfn))
    pfn_list_add_tail(m.mem_map, lruvec.head, lruvec.tail, lru, pfn)


def lruvec_del_folio(m: Machine, lruvec: Lruvec, pfn: int) -> None:
    """lruvec_del_folio(): off its list (the caller clears PG_lru)."""
    if m.mem_map.flags[pfn] & LRU_GEN_MASK and lru_gen_del_folio(m, pfn, False):
        return
    lru = folio_lru_list(m, pfn)
    pfn_list_del(m.mem_map, lruvec.head, lruvec.tail, lru, pfn)
    update_lru_size(m, lruvec, pfn, lru, -folio_nr_pages(m, pfn))


def lru_list_pfns(m: Machine, lruvec: Lruvec, lru: int) -> list[int]:
    """The PFNs of one list from head (newest) to tail (oldest)."""
    out: list[int] = []
    nxt = m.mem_map.lru_next
    cur = lruvec.head[lru]
    while cur:
        out.append(cur - 1)
        cur = nxt[cur - 1]
    return out


__all__ = ["folio_lru_list", "folio_lruvec", "lruvec_add_folio", "lruvec_add_folio_tail",
           "lruvec_del_folio", "update_lru_size", "folio_is_file_lru", "folio_nr_pages",
           "lru_list_pfns", "is_file_lru", "is_active_lru", "LRU_UNEVICTABLE"]
