"""The vmstat counters (the kernel's ``include/linux/mmzone.h`` / ``vm_event_item.h`` enums).

Every enum member's lower-case name is its ``/proc/vmstat`` key, and members are in the order
in which the real 6.18 x86-64 sample (``shared/data/proc-6.18-x86_64/vmstat``) prints them:

1. zone counters (:class:`ZoneStatItem`),
2. NUMA events (:class:`NumaStatItem`),
3. node counters (:class:`NodeStatItem`),
4. four global values (:data:`VM_GLOBAL_ITEMS`),
5. cumulative events (:class:`VmEventItem`), the per-zone families expanded over zone types,
6. the deprecated line ``nr_unstable 0`` (:data:`VM_DEPRECATED_ITEMS`).

Where the kernel's enum spelling differs from the /proc key (e.g. ``COMPACTSTALL`` for
``compact_stall``, ``NR_ANON_MAPPED`` for ``nr_anon_pages``), the kernel name is an enum alias
of the member, so both spellings work; iteration yields only the /proc names.

The item set is that of the sample machine's kernel configuration: CONFIG_NUMA (numa_* and
NUMA-balancing counters, pgpromote_*), ZSMALLOC (nr_zspages), ZONE_DEVICE (the ``device``
per-zone events), COMPACTION, MIGRATION, TRANSPARENT_HUGEPAGE (thp_*, including PUD splits),
HUGETLB_PAGE (htlb_buddy_*), MEMORY_BALLOON with BALLOON_COMPACTION, SWAP, KSM, ZSWAP, and the
x86 direct-map split/collapse counters; without CMA (no cma_alloc_*), UNACCEPTED_MEMORY,
SHADOW_CALL_STACK, DEBUG_TLBFLUSH (no nr_tlb_*), PER_VMA_LOCK_STATS (no vma_lock_*) or
DEBUG_STACK_USAGE (no kstack_*).
"""

# SIM: the model uses this one configuration for every architecture; only the set of zone
# types (which per-zone event lines exist) depends on the machine.

from __future__ import annotations

from collections.abc import Collection, Sequence
from enum import IntEnum

from memsim.include.mmzone_types import ZoneType


class ZoneStatItem(IntEnum):
    """Per-zone counters (``enum zone_stat_item``), current values in pages."""

    NR_FREE_PAGES = 0
    NR_FREE_PAGES_BLOCKS = 1
    NR_ZONE_INACTIVE_ANON = 2
    NR_ZONE_ACTIVE_ANON = 3
    NR_ZONE_INACTIVE_FILE = 4
    NR_ZONE_ACTIVE_FILE = 5
    NR_ZONE_UNEVICTABLE = 6
    NR_ZONE_WRITE_PENDING = 7
    NR_MLOCK = 8
    NR_ZSPAGES = 9
    NR_FREE_CMA = 10
    # Kernel spelling.
    NR_ZONE_LRU_BASE = 2


NR_VM_ZONE_STAT_ITEMS = len(ZoneStatItem)


class NumaStatItem(IntEnum):
    """Per-zone NUMA allocation events (``enum numa_stat_item``), cumulative."""

    NUMA_HIT = 0
    NUMA_MISS = 1
    NUMA_FOREIGN = 2
    NUMA_INTERLEAVE = 3
    NUMA_LOCAL = 4
    NUMA_OTHER = 5
    # Kernel spelling.
    NUMA_INTERLEAVE_HIT = 3


NR_VM_NUMA_EVENT_ITEMS = len(NumaStatItem)


class NodeStatItem(IntEnum):
    """Per-node counters (``enum node_stat_item``).

    Printed in pages, except ``nr_kernel_stack`` (KiB); the kernel keeps the two slab counters
    in bytes (its ``_B`` names) and the THP counters in base pages, and converts them for
    printing (slab bytes to pages, THP counts to huge pages).
    """

    NR_INACTIVE_ANON = 0
    NR_ACTIVE_ANON = 1
    NR_INACTIVE_FILE = 2
    NR_ACTIVE_FILE = 3
    NR_UNEVICTABLE = 4
    NR_SLAB_RECLAIMABLE = 5
    NR_SLAB_UNRECLAIMABLE = 6
    NR_ISOLATED_ANON = 7
    NR_ISOLATED_FILE = 8
    WORKINGSET_NODES = 9
    WORKINGSET_REFAULT_ANON = 10
    WORKINGSET_REFAULT_FILE = 11
    WORKINGSET_ACTIVATE_ANON = 12
    WORKINGSET_ACTIVATE_FILE = 13
    WORKINGSET_RESTORE_ANON = 14
    WORKINGSET_RESTORE_FILE = 15
    WORKINGSET_NODERECLAIM = 16
    NR_ANON_PAGES = 17
    NR_MAPPED = 18
    NR_FILE_PAGES = 19
    NR_DIRTY = 20
    NR_WRITEBACK = 21
    NR_SHMEM = 22
    NR_SHMEM_HUGEPAGES = 23
    NR_SHMEM_PMDMAPPED = 24
    NR_FILE_HUGEPAGES = 25
    NR_FILE_PMDMAPPED = 26
    NR_ANON_TRANSPARENT_HUGEPAGES = 27
    NR_VMSCAN_WRITE = 28
    NR_VMSCAN_IMMEDIATE_RECLAIM = 29
    NR_DIRTIED = 30
    NR_WRITTEN = 31
    NR_THROTTLED_WRITTEN = 32
    NR_KERNEL_MISC_RECLAIMABLE = 33
    NR_FOLL_PIN_ACQUIRED = 34
    NR_FOLL_PIN_RELEASED = 35
    NR_KERNEL_STACK = 36
    NR_PAGE_TABLE_PAGES = 37
    NR_SEC_PAGE_TABLE_PAGES = 38
    NR_IOMMU_PAGES = 39
    NR_SWAPCACHED = 40
    PGPROMOTE_SUCCESS = 41
    PGPROMOTE_CANDIDATE = 42
    PGPROMOTE_CANDIDATE_NRL = 43
    PGDEMOTE_KSWAPD = 44
    PGDEMOTE_DIRECT = 45
    PGDEMOTE_KHUGEPAGED = 46
    PGDEMOTE_PROACTIVE = 47
    NR_HUGETLB = 48
    NR_BALLOON_PAGES = 49
    NR_KERNEL_FILE_PAGES = 50
    # Kernel spellings.
    NR_LRU_BASE = 0
    NR_SLAB_RECLAIMABLE_B = 5
    NR_SLAB_UNRECLAIMABLE_B = 6
    WORKINGSET_REFAULT_BASE = 10
    WORKINGSET_ACTIVATE_BASE = 12
    WORKINGSET_RESTORE_BASE = 14
    NR_ANON_MAPPED = 17
    NR_FILE_MAPPED = 18
    NR_FILE_DIRTY = 20
    NR_SHMEM_THPS = 23
    NR_FILE_THPS = 25
    NR_ANON_THPS = 27
    NR_VMSCAN_IMMEDIATE = 29
    NR_KERNEL_STACK_KB = 36
    NR_PAGETABLE = 37
    NR_SECONDARY_PAGETABLE = 38
    NR_SWAPCACHE = 40


NR_VM_NODE_STAT_ITEMS = len(NodeStatItem)

#: Global values printed between the node counters and the events (computed, not counters).
VM_GLOBAL_ITEMS: tuple[str, ...] = (
    "nr_dirty_threshold",
    "nr_dirty_background_threshold",
    "nr_memmap_pages",
    "nr_memmap_boot_pages",
)

#: Lines printed after the events with value 0, kept only for compatibility.
VM_DEPRECATED_ITEMS: tuple[str, ...] = ("nr_unstable",)


class VmEventItem(IntEnum):
    """Cumulative events (``enum vm_event_item``).

    The families ``pgalloc_``, ``allocstall_`` and ``pgskip_`` have one member per canonical
    zone type, in :class:`ZoneType` order with the kernel's suffixes ``dma, dma32, normal,
    high, movable, device``; ``family_DMA + zone_type`` is the member for that zone type.
    """

    PGPGIN = 0
    PGPGOUT = 1
    PSWPIN = 2
    PSWPOUT = 3
    PGALLOC_DMA = 4
    PGALLOC_DMA32 = 5
    PGALLOC_NORMAL = 6
    PGALLOC_HIGH = 7
    PGALLOC_MOVABLE = 8
    PGALLOC_DEVICE = 9
    ALLOCSTALL_DMA = 10
    ALLOCSTALL_DMA32 = 11
    ALLOCSTALL_NORMAL = 12
    ALLOCSTALL_HIGH = 13
    ALLOCSTALL_MOVABLE = 14
    ALLOCSTALL_DEVICE = 15
    PGSKIP_DMA = 16
    PGSKIP_DMA32 = 17
    PGSKIP_NORMAL = 18
    PGSKIP_HIGH = 19
    PGSKIP_MOVABLE = 20
    PGSKIP_DEVICE = 21
    PGFREE = 22
    PGACTIVATE = 23
    PGDEACTIVATE = 24
    PGLAZYFREE = 25
    PGFAULT = 26
    PGMAJFAULT = 27
    PGLAZYFREED = 28
    PGREFILL = 29
    PGREUSE = 30
    PGSTEAL_KSWAPD = 31
    PGSTEAL_DIRECT = 32
    PGSTEAL_KHUGEPAGED = 33
    PGSTEAL_PROACTIVE = 34
    PGSCAN_KSWAPD = 35
    PGSCAN_DIRECT = 36
    PGSCAN_KHUGEPAGED = 37
    PGSCAN_PROACTIVE = 38
    PGSCAN_DIRECT_THROTTLE = 39
    PGSCAN_ANON = 40
    PGSCAN_FILE = 41
    PGSTEAL_ANON = 42
    PGSTEAL_FILE = 43
    ZONE_RECLAIM_SUCCESS = 44
    ZONE_RECLAIM_FAILED = 45
    PGINODESTEAL = 46
    SLABS_SCANNED = 47
    KSWAPD_INODESTEAL = 48
    KSWAPD_LOW_WMARK_HIT_QUICKLY = 49
    KSWAPD_HIGH_WMARK_HIT_QUICKLY = 50
    PAGEOUTRUN = 51
    PGROTATED = 52
    DROP_PAGECACHE = 53
    DROP_SLAB = 54
    OOM_KILL = 55
    NUMA_PTE_UPDATES = 56
    NUMA_HUGE_PTE_UPDATES = 57
    NUMA_HINT_FAULTS = 58
    NUMA_HINT_FAULTS_LOCAL = 59
    NUMA_PAGES_MIGRATED = 60
    PGMIGRATE_SUCCESS = 61
    PGMIGRATE_FAIL = 62
    THP_MIGRATION_SUCCESS = 63
    THP_MIGRATION_FAIL = 64
    THP_MIGRATION_SPLIT = 65
    COMPACT_MIGRATE_SCANNED = 66
    COMPACT_FREE_SCANNED = 67
    COMPACT_ISOLATED = 68
    COMPACT_STALL = 69
    COMPACT_FAIL = 70
    COMPACT_SUCCESS = 71
    COMPACT_DAEMON_WAKE = 72
    COMPACT_DAEMON_MIGRATE_SCANNED = 73
    COMPACT_DAEMON_FREE_SCANNED = 74
    HTLB_BUDDY_ALLOC_SUCCESS = 75
    HTLB_BUDDY_ALLOC_FAIL = 76
    UNEVICTABLE_PGS_CULLED = 77
    UNEVICTABLE_PGS_SCANNED = 78
    UNEVICTABLE_PGS_RESCUED = 79
    UNEVICTABLE_PGS_MLOCKED = 80
    UNEVICTABLE_PGS_MUNLOCKED = 81
    UNEVICTABLE_PGS_CLEARED = 82
    UNEVICTABLE_PGS_STRANDED = 83
    THP_FAULT_ALLOC = 84
    THP_FAULT_FALLBACK = 85
    THP_FAULT_FALLBACK_CHARGE = 86
    THP_COLLAPSE_ALLOC = 87
    THP_COLLAPSE_ALLOC_FAILED = 88
    THP_FILE_ALLOC = 89
    THP_FILE_FALLBACK = 90
    THP_FILE_FALLBACK_CHARGE = 91
    THP_FILE_MAPPED = 92
    THP_SPLIT_PAGE = 93
    THP_SPLIT_PAGE_FAILED = 94
    THP_DEFERRED_SPLIT_PAGE = 95
    THP_UNDERUSED_SPLIT_PAGE = 96
    THP_SPLIT_PMD = 97
    THP_SCAN_EXCEED_NONE_PTE = 98
    THP_SCAN_EXCEED_SWAP_PTE = 99
    THP_SCAN_EXCEED_SHARE_PTE = 100
    THP_SPLIT_PUD = 101
    THP_ZERO_PAGE_ALLOC = 102
    THP_ZERO_PAGE_ALLOC_FAILED = 103
    THP_SWPOUT = 104
    THP_SWPOUT_FALLBACK = 105
    BALLOON_INFLATE = 106
    BALLOON_DEFLATE = 107
    BALLOON_MIGRATE = 108
    SWAP_RA = 109
    SWAP_RA_HIT = 110
    SWPIN_ZERO = 111
    SWPOUT_ZERO = 112
    KSM_SWPIN_COPY = 113
    COW_KSM = 114
    ZSWPIN = 115
    ZSWPOUT = 116
    ZSWPWB = 117
    DIRECT_MAP_LEVEL2_SPLITS = 118
    DIRECT_MAP_LEVEL3_SPLITS = 119
    DIRECT_MAP_LEVEL2_COLLAPSES = 120
    DIRECT_MAP_LEVEL3_COLLAPSES = 121
    # Kernel spellings.
    PGSCAN_ZONE_RECLAIM_SUCCESS = 44
    PGSCAN_ZONE_RECLAIM_FAILED = 45
    NUMA_PAGE_MIGRATE = 60
    COMPACTMIGRATE_SCANNED = 66
    COMPACTFREE_SCANNED = 67
    COMPACTISOLATED = 68
    COMPACTSTALL = 69
    COMPACTFAIL = 70
    COMPACTSUCCESS = 71
    KCOMPACTD_WAKE = 72
    KCOMPACTD_MIGRATE_SCANNED = 73
    KCOMPACTD_FREE_SCANNED = 74
    HTLB_BUDDY_PGALLOC = 75
    HTLB_BUDDY_PGALLOC_FAIL = 76
    UNEVICTABLE_PGCULLED = 77
    UNEVICTABLE_PGSCANNED = 78
    UNEVICTABLE_PGRESCUED = 79
    UNEVICTABLE_PGMLOCKED = 80
    UNEVICTABLE_PGMUNLOCKED = 81
    UNEVICTABLE_PGCLEARED = 82
    UNEVICTABLE_PGSTRANDED = 83
    DIRECT_MAP_LEVEL2_SPLIT = 118
    DIRECT_MAP_LEVEL3_SPLIT = 119
    DIRECT_MAP_LEVEL2_COLLAPSE = 120
    DIRECT_MAP_LEVEL3_COLLAPSE = 121


NR_VM_EVENT_ITEMS = len(VmEventItem)

#: First member (the DMA one) of each per-zone event family.
PER_ZONE_EVENT_BASES: tuple[VmEventItem, ...] = (
    VmEventItem.PGALLOC_DMA,
    VmEventItem.ALLOCSTALL_DMA,
    VmEventItem.PGSKIP_DMA,
)

assert VmEventItem.PGALLOC_DMA + ZoneType.ZONE_NORMAL == VmEventItem.PGALLOC_NORMAL
assert VmEventItem.ALLOCSTALL_DMA + ZoneType.ZONE_MOVABLE == VmEventItem.ALLOCSTALL_MOVABLE
assert VmEventItem.PGSKIP_DMA + ZoneType.ZONE_DEVICE == VmEventItem.PGSKIP_DEVICE
assert [int(item) for item in VmEventItem] == list(range(NR_VM_EVENT_ITEMS))
assert [int(item) for item in NodeStatItem] == list(range(NR_VM_NODE_STAT_ITEMS))
assert [int(item) for item in ZoneStatItem] == list(range(NR_VM_ZONE_STAT_ITEMS))


def zone_event(base: VmEventItem, zone_type: int) -> VmEventItem:
    """The member of a per-zone family (given by its DMA member) for a canonical zone type."""
    if base not in PER_ZONE_EVENT_BASES:
        raise ValueError(f"{base.name} is not the first member of a per-zone event family")
    return VmEventItem(base + ZoneType(zone_type))


def event_zone_type(item: VmEventItem) -> ZoneType | None:
    """The canonical zone type of a per-zone event, or None for an event that is not per-zone."""
    for base in PER_ZONE_EVENT_BASES:
        if base <= item < base + len(ZoneType):
            return ZoneType(item - base)
    return None


def vmstat_event_lines(events: Sequence[int], zone_types: Collection[int]) -> list[str]:
    """The event part of /proc/vmstat: ``"<name> <value>"`` for every event, in order.

    ``events`` is indexed by :class:`VmEventItem`.  Per-zone events are printed only for the
    zone types in ``zone_types`` (the machine's zones: DMA, DMA32, NORMAL, MOVABLE and DEVICE
    on x86-64; DMA, NORMAL, HIGHMEM and MOVABLE on i386).
    """
    if len(events) < NR_VM_EVENT_ITEMS:
        raise ValueError(f"need {NR_VM_EVENT_ITEMS} event values, got {len(events)}")
    lines: list[str] = []
    for item in VmEventItem:
        zone_type = event_zone_type(item)
        if zone_type is not None and zone_type not in zone_types:
            continue
        lines.append(f"{item.name.lower()} {events[item]}")
    return lines
