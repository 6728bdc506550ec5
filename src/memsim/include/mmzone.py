"""
Nodes, zones, free areas and per-CPU page lists (include/linux/mmzone.h).

Data only; the algorithms that use them are in mm/page_alloc.py (buddy, pcp, watermarks),
mm/mm_init.py (building them at boot) and mm/vmstat.py (the /proc views).

Free lists
----------
A kernel free list is a ``list_head`` threaded through the first page of each free block.
Here each ``free_list[mt]`` is an ``OrderedDict`` keyed by the block's head PFN: it is the
same doubly linked list (O(1) insert at either end, O(1) unlink, ordered walk) without a
per-PFN link array that a 256 GiB machine could not afford. The dict's *last* entry is the
kernel list's *head* (``list_add`` = append, first entry = ``popitem()``/``next(reversed())``);
``list_add_tail`` = append then ``move_to_end(last=False)``.

Per-CPU lists
-------------
``PerCpuPages.lists[pindex]`` are deques whose *right* end is the kernel list's head: pages
are allocated from and freed to the right end; ``rmqueue_bulk`` refills at the left (the
tail) and ``free_pcppages_bulk`` drains from the left.
"""

from __future__ import annotations

from collections import OrderedDict, deque
from dataclasses import dataclass, field
from enum import IntEnum

from memsim.include.mmzone_types import ZoneType

MIGRATE_TYPES = 5  # Unmovable, Movable, Reclaimable, HighAtomic, Isolate (CMA off)
# SIM: CONFIG_CMA is off, as on the sample machine (no CmaTotal in its meminfo), so the
# migratetype numbering is 0..3 then MIGRATE_ISOLATE = 4 (the canonical MigrateType enum
# keeps CMA=4/ISOLATE=5 for naming; MT_ISOLATE below is the list index used here).
MT_UNMOVABLE = 0
MT_MOVABLE = 1
MT_RECLAIMABLE = 2
MT_HIGHATOMIC = 3
MT_ISOLATE = 4
MIGRATE_PCPTYPES = 3
MIGRATETYPE_NAMES = ("Unmovable", "Movable", "Reclaimable", "HighAtomic", "Isolate")

NR_LOWORDER_PCP_LISTS = MIGRATE_PCPTYPES * 4  # orders 0..PAGE_ALLOC_COSTLY_ORDER
NR_PCP_THP = 2
NR_PCP_LISTS = NR_LOWORDER_PCP_LISTS + NR_PCP_THP


class ZoneWatermarks(IntEnum):
    """enum zone_watermarks"""

    WMARK_MIN = 0
    WMARK_LOW = 1
    WMARK_HIGH = 2
    WMARK_PROMO = 3


WMARK_MIN = 0
WMARK_LOW = 1
WMARK_HIGH = 2
WMARK_PROMO = 3

# zone->flags bits (enum zone_flags)
ZONE_BOOSTED_WATERMARK = 1 << 0
ZONE_RECLAIM_ACTIVE = 1 << 1
ZONE_BELOW_HIGH = 1 << 2

# per_cpu_pages->flags
PCPF_PREV_FREE_HIGH_ORDER = 1 << 0
PCPF_FREE_HIGH_BATCH = 1 << 1


@dataclass(slots=True)
class FreeArea:
    """struct free_area: one order's free lists, one per migratetype, and the block count."""

    free_list: list[OrderedDict[int, None]] = field(
        default_factory=lambda: [OrderedDict() for _ in range(MIGRATE_TYPES)])
    nr_free: int = 0


@dataclass(slots=True)
class PerCpuPages:
    """struct per_cpu_pages: one CPU's cache of free pages for one zone."""

    count: int = 0
    high: int = 0          # BOOT_PAGESET_HIGH
    high_min: int = 0
    high_max: int = 0
    batch: int = 1         # BOOT_PAGESET_BATCH
    flags: int = 0
    alloc_factor: int = 0
    free_count: int = 0
    expire: int = 0
    lists: list[deque[int]] = field(
        default_factory=lambda: [deque() for _ in range(NR_PCP_LISTS)])


@dataclass(slots=True)
class PerCpuZoneStat:
    """struct per_cpu_zonestat: the vm stats threshold shown in zoneinfo."""

    stat_threshold: int = 0


@dataclass(slots=True, eq=False)
class Zone:
    """struct zone (include/linux/mmzone.h)."""

    name: str
    zone_type: ZoneType        # canonical type (DMA, DMA32, Normal, HighMem, Movable, Device)
    idx: int                   # zone_idx(): the index in the arch's zone list
    node: int                  # zone_to_nid()
    zone_start_pfn: int = 0
    spanned_pages: int = 0
    present_pages: int = 0
    managed_pages: int = 0
    cma_pages: int = 0
    _watermark: list[int] = field(default_factory=lambda: [0, 0, 0, 0])
    watermark_boost: int = 0
    lowmem_reserve: list[int] = field(default_factory=list)
    nr_reserved_highatomic: int = 0
    nr_free_highatomic: int = 0
    flags: int = 0
    free_area: list[FreeArea] = field(default_factory=list)
    per_cpu_pageset: list[PerCpuPages] = field(default_factory=list)
    per_cpu_zonestats: list[PerCpuZoneStat] = field(default_factory=list)
    vm_stat: list[int] = field(default_factory=list)
    vm_numa_event: list[int] = field(default_factory=list)
    #: the pcp list orders for each pindex (filled at init)
    contiguous: bool = False

    @property
    def zone_end_pfn(self) -> int:
        return self.zone_start_pfn + self.spanned_pages

    def populated(self) -> bool:
        """populated_zone(): the zone has present pages."""
        return self.present_pages > 0

    def managed_zone(self) -> bool:
        return self.managed_pages > 0

    def min_wmark_pages(self) -> int:
        return self._watermark[WMARK_MIN] + self.watermark_boost

    def low_wmark_pages(self) -> int:
        return self._watermark[WMARK_LOW] + self.watermark_boost

    def high_wmark_pages(self) -> int:
        return self._watermark[WMARK_HIGH] + self.watermark_boost

    def promo_wmark_pages(self) -> int:
        return self._watermark[WMARK_PROMO] + self.watermark_boost

    def wmark_pages(self, i: int) -> int:
        return self._watermark[i] + self.watermark_boost

    def __repr__(self) -> str:
        return f"<Zone node {self.node} {self.name}>"


# enum lru_list
LRU_INACTIVE_ANON = 0
LRU_ACTIVE_ANON = 1
LRU_INACTIVE_FILE = 2
LRU_ACTIVE_FILE = 3
LRU_UNEVICTABLE = 4
NR_LRU_LISTS = 5
LRU_NAMES = ("inactive_anon", "active_anon", "inactive_file", "active_file", "unevictable")


@dataclass(slots=True, eq=False)
class Lruvec:
    """
    struct lruvec: the node's LRU lists (the list bodies are threaded through the memmap's
    lru_next/lru_prev fields as PFN+1 links, 0 = end; mm/mm_inline.py), reclaim cost and
    workingset state. ``head[lru]`` is the list head (newest folio), ``tail[lru]`` the
    oldest, both PFN+1 or 0.
    """

    head: list[int] = field(default_factory=lambda: [0] * NR_LRU_LISTS)
    tail: list[int] = field(default_factory=lambda: [0] * NR_LRU_LISTS)
    nr: list[int] = field(default_factory=lambda: [0] * NR_LRU_LISTS)
    anon_cost: int = 0
    file_cost: int = 0
    #: non-resident age: evictions + activations (workingset_age_nonresident)
    nonresident_age: int = 0
    #: WORKINGSET_ACTIVATE_ANON/FILE seen at the last reclaim run (snapshot_refaults)
    refaults: list[int] = field(default_factory=lambda: [0, 0])
    flags: int = 0


@dataclass(slots=True, eq=False)
class PgData:
    """pg_data_t / struct pglist_data: one NUMA node."""

    node_id: int
    node_zones: list[Zone] = field(default_factory=list)
    #: ZONELIST_FALLBACK and (NUMA) ZONELIST_NOFALLBACK: zones in scan order
    node_zonelists: list[list[Zone]] = field(default_factory=lambda: [[], []])
    node_start_pfn: int = 0
    node_spanned_pages: int = 0
    node_present_pages: int = 0
    totalreserve_pages: int = 0
    vm_stat: list[int] = field(default_factory=list)
    kswapd_order: int = 0
    kswapd_highest_zoneidx: int = 0
    kswapd_failures: int = 0
    cpus: list[int] = field(default_factory=list)
    #: the node's LRU lists (issue #6; mm/mm_inline.py, mm/swap.py, mm/vmscan.py)
    lruvec: Lruvec = field(default_factory=Lruvec)
    #: pgdat->flags (PGDAT_DIRTY, PGDAT_WRITEBACK, PGDAT_RECLAIM_LOCKED)
    flags: int = 0

    @property
    def node_end_pfn(self) -> int:
        return self.node_start_pfn + self.node_spanned_pages

    def __repr__(self) -> str:
        return f"<PgData node {self.node_id}>"
