"""
Buddy page allocator (mm/page_alloc.c).

Per-zone free lists by order and migratetype, the per-CPU page lists in front of them,
watermarks and lowmem_reserve, migratetype fallback, the high-order atomic reserve, the
allocation fast and slow paths, and the page-level API (alloc_pages … free_pages).
Boot-time construction is in mm_init.py; counters and the /proc views in vmstat.py. Mirrors
Linux 6.12 (6.12.117, with its back-ported claim/steal fallback); deviations are ``# SIM:``.

Theory of operation
-------------------
A free block of order *o* is ``1 << o`` naturally aligned pages represented by its first
page: page type buddy, ``private = o``, linked on ``zone.free_area[o].free_list[mt]`` where
*mt* is its pageblock's migratetype::

    order 3   [h-------]                 split (expand): take the low half, give the
    order 2   [h---][b---]               high half back to the order below, repeat
    order 1               ...
    free:     buddy_pfn = pfn ^ (1 << o); merge while the buddy is free with order o

Allocation (``__alloc_pages``) walks the zonelist from the highest zone the GFP mask
allows, checks each zone's watermark, and takes pages from this CPU's pcp list (orders
0-3 and the THP order) or the buddy lists under the zone lock. When no zone passes, the slow
path lowers the watermark to MIN, wakes kswapd, and (with ``__GFP_DIRECT_RECLAIM``) runs
compaction, direct reclaim and finally the OOM killer. Those last three belong to later
parts of the model; until they exist the slow path says so in dmesg and fails honestly.

Handles: a page is its PFN (``int``); a kernel virtual address is an ``int`` in the direct
map. Functions take the ``Machine`` as ``m`` where the kernel reads globals.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from memsim.arch import MAX_PAGE_ORDER, NR_PAGE_ORDERS, PAGE_SHIFT
from memsim.include.gfp import (
    __GFP_COMP,
    __GFP_DIRECT_RECLAIM,
    __GFP_HIGH,
    __GFP_KSWAPD_RECLAIM,
    __GFP_MEMALLOC,
    __GFP_NOFAIL,
    __GFP_NOMEMALLOC,
    __GFP_NORETRY,
    __GFP_NOWARN,
    __GFP_RETRY_MAYFAIL,
    __GFP_THISNODE,
    __GFP_ZERO,
    format_gfp,
)
from memsim.include.mm_types import PGTY_BUDDY
from memsim.include.mmzone import (
    MIGRATE_PCPTYPES,
    MT_HIGHATOMIC,
    MT_ISOLATE,
    MT_MOVABLE,
    MT_RECLAIMABLE,
    MT_UNMOVABLE,
    NR_LOWORDER_PCP_LISTS,
    NR_PCP_LISTS,
    PCPF_FREE_HIGH_BATCH,
    PCPF_PREV_FREE_HIGH_ORDER,
    WMARK_HIGH,
    WMARK_MIN,
    ZONE_BELOW_HIGH,
    ZONE_BOOSTED_WATERMARK,
    ZONE_RECLAIM_ACTIVE,
    PerCpuPages,
    Zone,
)
from memsim.include.page_flags import PAGE_FLAGS_CHECK_AT_FREE, PAGE_FLAGS_CHECK_AT_PREP, PageFlags
from memsim.include.vmstat_items import NumaStatItem, VmEventItem, ZoneStatItem
from memsim.mm.internal import (
    ALLOC_CPUSET,
    ALLOC_HIGHATOMIC,
    ALLOC_KSWAPD,
    ALLOC_MIN_RESERVE,
    ALLOC_NO_WATERMARKS,
    ALLOC_NOFRAGMENT,
    ALLOC_NON_BLOCK,
    ALLOC_OOM,
    ALLOC_RESERVES,
    ALLOC_WMARK_LOW,
    ALLOC_WMARK_MASK,
    ALLOC_WMARK_MIN,
    FPI_NONE,
    FPI_TO_TAIL,
    PAGE_ALLOC_COSTLY_ORDER,
    AllocContext,
)

if TYPE_CHECKING:
    from memsim.machine import Machine

NR_FREE_PAGES = int(ZoneStatItem.NR_FREE_PAGES)
NR_FREE_PAGES_BLOCKS = int(ZoneStatItem.NR_FREE_PAGES_BLOCKS)
PGALLOC_DMA = int(VmEventItem.PGALLOC_DMA)
PGFREE = int(VmEventItem.PGFREE)
NUMA_HIT = int(NumaStatItem.NUMA_HIT)
NUMA_MISS = int(NumaStatItem.NUMA_MISS)
NUMA_FOREIGN = int(NumaStatItem.NUMA_FOREIGN)
NUMA_LOCAL = int(NumaStatItem.NUMA_LOCAL)
NUMA_OTHER = int(NumaStatItem.NUMA_OTHER)

PCP_BATCH_SCALE_MAX = 5          # CONFIG_PCP_BATCH_SCALE_MAX default
MIN_PERCPU_PAGELIST_HIGH_FRACTION = 8
PG_HEAD = 1 << PageFlags.PG_head
PG_RESERVED = 1 << PageFlags.PG_reserved
_KEEP_AT_PREP = 0xFFFFFFFF & ~PAGE_FLAGS_CHECK_AT_PREP   # for the uint32 flags array

#: fallbacks[] (6.12): the two other pcp types, in the order they are tried
FALLBACKS: tuple[tuple[int, int], ...] = (
    (MT_RECLAIMABLE, MT_MOVABLE),     # UNMOVABLE
    (MT_RECLAIMABLE, MT_UNMOVABLE),   # MOVABLE
    (MT_UNMOVABLE, MT_MOVABLE),       # RECLAIMABLE
)

# enum rmqueue_mode (6.12.117)
RMQUEUE_NORMAL = 0
RMQUEUE_CMA = 1
RMQUEUE_CLAIM = 2
RMQUEUE_STEAL = 3


# --------------------------------------------------------------------------------------------
# pageblocks


def get_pageblock_migratetype(m: Machine, pfn: int) -> int:
    """get_pfnblock_migratetype(): the migratetype bits of *pfn*'s pageblock."""
    return m.pageblock_mt[pfn >> m.pageblock_order]


def set_pageblock_migratetype(m: Machine, pfn: int, mt: int) -> None:
    """set_pageblock_migratetype()"""
    m.pageblock_mt[pfn >> m.pageblock_order] = mt


def change_pageblock_range(m: Machine, pfn: int, start_order: int, mt: int) -> None:
    """change_pageblock_range(): retype every pageblock of a block of *start_order*."""
    first = pfn >> m.pageblock_order
    n = 1 << max(start_order - m.pageblock_order, 0)
    m.pageblock_mt[first:first + n] = bytes([mt]) * n


# --------------------------------------------------------------------------------------------
# free list primitives


def account_freepages(zone: Zone, nr_pages: int, mt: int) -> None:
    """account_freepages(): NR_FREE_PAGES and the highatomic count, isolate excluded."""
    if mt == MT_ISOLATE:
        return
    zone.vm_stat[NR_FREE_PAGES] += nr_pages
    if mt == MT_HIGHATOMIC:
        zone.nr_free_highatomic += nr_pages


def __add_to_free_list(m: Machine, zone: Zone, pfn: int, order: int, mt: int,
                       tail: bool) -> None:
    """__add_to_free_list() + set_buddy_order(): link a free block and mark its head."""
    fl = zone.free_area[order].free_list[mt]
    fl[pfn] = None
    if tail:
        fl.move_to_end(pfn, last=False)
    zone.free_area[order].nr_free += 1
    mm = m.mem_map
    mm.page_type[pfn] = PGTY_BUDDY
    mm.private[pfn] = order
    if order >= m.pageblock_order and mt != MT_ISOLATE:
        # 6.18's NR_FREE_PAGES_BLOCKS: free pages in blocks of at least a pageblock.
        zone.vm_stat[NR_FREE_PAGES_BLOCKS] += 1 << order


def __del_page_from_free_list(m: Machine, zone: Zone, pfn: int, order: int, mt: int) -> None:
    """__del_page_from_free_list(): unlink and clear PageBuddy / the order."""
    del zone.free_area[order].free_list[mt][pfn]
    zone.free_area[order].nr_free -= 1
    mm = m.mem_map
    mm.page_type[pfn] = 0
    mm.private[pfn] = 0
    if order >= m.pageblock_order and mt != MT_ISOLATE:
        zone.vm_stat[NR_FREE_PAGES_BLOCKS] -= 1 << order


def del_page_from_free_list(m: Machine, zone: Zone, pfn: int, order: int, mt: int) -> None:
    """del_page_from_free_list(): unlink and account."""
    __del_page_from_free_list(m, zone, pfn, order, mt)
    account_freepages(zone, -(1 << order), mt)


def move_to_free_list(m: Machine, zone: Zone, pfn: int, order: int, old_mt: int,
                      new_mt: int) -> None:
    """move_to_free_list(): move a free block to another type's list, at the tail."""
    fa = zone.free_area[order]
    del fa.free_list[old_mt][pfn]
    fl = fa.free_list[new_mt]
    fl[pfn] = None
    fl.move_to_end(pfn, last=False)
    if order >= m.pageblock_order:
        if old_mt == MT_ISOLATE and new_mt != MT_ISOLATE:
            zone.vm_stat[NR_FREE_PAGES_BLOCKS] += 1 << order
        elif new_mt == MT_ISOLATE and old_mt != MT_ISOLATE:
            zone.vm_stat[NR_FREE_PAGES_BLOCKS] -= 1 << order
    account_freepages(zone, -(1 << order), old_mt)
    account_freepages(zone, 1 << order, new_mt)


def get_page_from_free_area(zone: Zone, order: int, mt: int) -> int | None:
    """get_page_from_free_area(): the first (head) block of a list, or None."""
    fl = zone.free_area[order].free_list[mt]
    if not fl:
        return None
    return next(reversed(fl))


def PageBuddy(m: Machine, pfn: int) -> bool:
    """PageBuddy(): *pfn* is the head of a free buddy block."""
    return m.mem_map.page_type[pfn] == PGTY_BUDDY


def buddy_order(m: Machine, pfn: int) -> int:
    """buddy_order(): the order of the free block headed by *pfn*."""
    return int(m.mem_map.private[pfn])


def page_is_buddy(m: Machine, zone: Zone, buddy_pfn: int, order: int) -> bool:
    """page_is_buddy(): *buddy_pfn* heads a free block of *order* in the same zone."""
    mm = m.mem_map
    if buddy_pfn >= mm.nr_pfns or mm.page_type[buddy_pfn] != PGTY_BUDDY:
        return False
    if mm.private[buddy_pfn] != order:
        return False
    return zone.zone_start_pfn <= buddy_pfn < zone.zone_start_pfn + zone.spanned_pages


# --------------------------------------------------------------------------------------------
# splitting and merging


def expand(m: Machine, zone: Zone, pfn: int, low: int, high: int, mt: int) -> int:
    """
    expand(): split a block of order *high* down to *low*, returning the upper halves to the
    free lists (head insertion, largest first). Returns the number of pages added back.
    """
    nr_added = 0
    size = 1 << high
    while high > low:
        high -= 1
        size >>= 1
        __add_to_free_list(m, zone, pfn + size, high, mt, False)
        nr_added += size
    return nr_added


def page_del_and_expand(m: Machine, zone: Zone, pfn: int, low: int, high: int,
                        mt: int) -> None:
    """page_del_and_expand()"""
    __del_page_from_free_list(m, zone, pfn, high, mt)
    nr_pages = 1 << high
    nr_pages -= expand(m, zone, pfn, low, high, mt)
    account_freepages(zone, -nr_pages, mt)


def __rmqueue_smallest(m: Machine, zone: Zone, order: int, mt: int) -> int | None:
    """
    Take the smallest free block of at least *order* from *mt*'s lists.

    Kernel: ``__rmqueue_smallest()``, mm/page_alloc.c. Context: zone->lock.
    (``page_del_and_expand()`` and ``expand()`` are inlined here: this is the hottest path
    of the buddy allocator.)

    :return: head PFN of a ``1 << order`` block, or None (kernel: NULL)
    """
    free_area = zone.free_area
    for current_order in range(order, NR_PAGE_ORDERS):
        fa = free_area[current_order]
        fl = fa.free_list[mt]
        if not fl:
            continue
        pfn, _ = fl.popitem()          # the list head
        fa.nr_free -= 1
        mm = m.mem_map
        page_type = mm.page_type
        private = mm.private
        page_type[pfn] = 0
        private[pfn] = 0
        pb_order = m.pageblock_order
        blocks = 0
        if current_order >= pb_order:
            blocks -= 1 << current_order
        high = current_order
        size = 1 << high
        while high > order:             # expand(): upper halves back, largest first
            high -= 1
            size >>= 1
            b = pfn + size
            fa2 = free_area[high]
            fa2.free_list[mt][b] = None
            fa2.nr_free += 1
            page_type[b] = PGTY_BUDDY
            private[b] = high
            if high >= pb_order:
                blocks += size
        if mt != MT_ISOLATE:
            vm_stat = zone.vm_stat
            vm_stat[NR_FREE_PAGES] -= 1 << order
            if blocks:
                vm_stat[NR_FREE_PAGES_BLOCKS] += blocks
            if mt == MT_HIGHATOMIC:
                zone.nr_free_highatomic -= 1 << order
        tp = m.tp.mm_page_alloc_zone_locked
        if tp.enabled:
            tp.emit(m.trace_ctx(), pfn=pfn, order=order, migratetype=mt,
                    percpu_refill=int(pcp_allowed_order(m, order) and mt < MIGRATE_PCPTYPES))
        return pfn
    return None


def __free_one_page(m: Machine, pfn: int, zone: Zone, order: int, mt: int,
                    fpi_flags: int) -> None:
    """
    Return a block to the buddy lists, merging with free buddies as far as possible.

    Kernel: ``__free_one_page()``. Context: zone->lock. (The free-list primitives are
    inlined; they are the same operations as ``__add_to_free_list`` and
    ``__del_page_from_free_list``.)
    """
    nr = 1 << order
    if mt != MT_ISOLATE:                # account_freepages()
        zone.vm_stat[NR_FREE_PAGES] += nr
        if mt == MT_HIGHATOMIC:
            zone.nr_free_highatomic += nr
    pb_order = m.pageblock_order
    buddy_pfn = 0
    mm = m.mem_map
    zstart = zone.zone_start_pfn
    zend = zstart + zone.spanned_pages
    page_type = mm.page_type
    private = mm.private
    free_area = zone.free_area
    blocks = 0
    while order < MAX_PAGE_ORDER:
        buddy_pfn = pfn ^ (1 << order)
        if not (zstart <= buddy_pfn < zend and page_type[buddy_pfn] == PGTY_BUDDY
                and private[buddy_pfn] == order):
            break
        buddy_mt = mt
        if order >= pb_order:
            buddy_mt = m.pageblock_mt[buddy_pfn >> pb_order]
            if mt != buddy_mt and (mt >= MIGRATE_PCPTYPES or buddy_mt >= MIGRATE_PCPTYPES):
                break
        fa = free_area[order]           # __del_page_from_free_list(buddy)
        del fa.free_list[buddy_mt][buddy_pfn]
        fa.nr_free -= 1
        page_type[buddy_pfn] = 0
        private[buddy_pfn] = 0
        if order >= pb_order and buddy_mt != MT_ISOLATE:
            blocks -= 1 << order
        if buddy_mt != mt:
            # Our block is being merged into a block of another type (only across
            # pageblocks): retype the buddy's blocks, keeping the accounting right.
            account_freepages(zone, -(1 << order), buddy_mt)
            account_freepages(zone, 1 << order, mt)
            change_pageblock_range(m, buddy_pfn, order, mt)
        pfn &= buddy_pfn
        order += 1
    if fpi_flags & FPI_TO_TAIL:
        to_tail = True
    elif order >= MAX_PAGE_ORDER - 1:
        # SIM: CONFIG_SHUFFLE_PAGE_ALLOCATOR is off (its default), so no random tail picks.
        to_tail = False
    else:                               # buddy_merge_likely(), inlined
        higher = buddy_pfn & pfn
        hb = higher ^ (1 << (order + 1))
        to_tail = (zstart <= hb < zend and page_type[hb] == PGTY_BUDDY
                   and private[hb] == order + 1)
    fa = free_area[order]               # __add_to_free_list()
    fl = fa.free_list[mt]
    fl[pfn] = None
    if to_tail:
        fl.move_to_end(pfn, last=False)
    fa.nr_free += 1
    page_type[pfn] = PGTY_BUDDY
    private[pfn] = order
    if order >= pb_order and mt != MT_ISOLATE:
        blocks += 1 << order
    if blocks:
        zone.vm_stat[NR_FREE_PAGES_BLOCKS] += blocks


def split_large_buddy(m: Machine, zone: Zone, pfn: int, order: int, fpi: int) -> None:
    """split_large_buddy(): free a block larger than a pageblock one pageblock at a time."""
    end = pfn + (1 << order)
    if order > m.pageblock_order:
        order = m.pageblock_order
    while pfn != end:
        mt = m.pageblock_mt[pfn >> m.pageblock_order]
        __free_one_page(m, pfn, zone, order, mt, fpi)
        pfn += 1 << order


def free_one_page(m: Machine, zone: Zone, pfn: int, order: int, fpi_flags: int) -> None:
    """free_one_page(): take zone->lock, free, count PGFREE."""
    split_large_buddy(m, zone, pfn, order, fpi_flags)
    m.vm_event[PGFREE] += 1 << order


# --------------------------------------------------------------------------------------------
# migratetype fallback


def can_steal_fallback(m: Machine, order: int, start_mt: int) -> bool:
    """can_steal_fallback(): may an allocation of *start_mt* claim the whole block?"""
    if order >= m.pageblock_order:
        return True
    return (order >= m.pageblock_order // 2 or start_mt == MT_RECLAIMABLE
            or start_mt == MT_UNMOVABLE or m.page_group_by_mobility_disabled)


def find_suitable_fallback(m: Machine, zone: Zone, order: int, mt: int,
                           only_stealable: bool) -> tuple[int, bool]:
    """find_suitable_fallback(): (fallback migratetype or -1, can_steal)."""
    area = zone.free_area[order]
    if area.nr_free == 0:
        return -1, False
    can_steal = False
    for fmt in FALLBACKS[mt]:
        if not area.free_list[fmt]:
            continue
        if can_steal_fallback(m, order, mt):
            can_steal = True
        if not only_stealable or can_steal:
            return fmt, can_steal
    return -1, can_steal


def boost_watermark(m: Machine, zone: Zone) -> bool:
    """boost_watermark(): raise the zone's watermarks after a fragmenting fallback."""
    factor = m.sysctl.watermark_boost_factor
    if not factor:
        return False
    pb = m.pageblock_nr_pages
    if pb * 4 > zone.managed_pages:
        return False
    max_boost = zone._watermark[WMARK_HIGH] * factor // 10000
    if not max_boost:
        return False
    max_boost = max(pb, max_boost)
    zone.watermark_boost = min(zone.watermark_boost + pb, max_boost)
    return True


def prep_move_freepages_block(m: Machine, zone: Zone, pfn: int) -> tuple[int, int, int] | None:
    """
    prep_move_freepages_block(): (start_pfn, free pages, movable pages) of *pfn*'s
    pageblock, or None if the block straddles the zone's edge.
    """
    pb = m.pageblock_nr_pages
    start = pfn & ~(pb - 1)
    end = start + pb
    if not (zone.zone_start_pfn <= start and end - 1 < zone.zone_end_pfn):
        return None
    mm = m.mem_map
    free = movable = 0
    p = start
    lru_bit = 1 << PageFlags.PG_lru
    while p < end:
        if mm.page_type[p] == PGTY_BUDDY:
            nr = 1 << mm.private[p]
            free += nr
            p += nr
            continue
        # SIM: __PageMovable (non-LRU movable pages such as zsmalloc) is not modelled.
        if mm.flags[p] & lru_bit:
            movable += 1
        p += 1
    return start, free, movable


def __move_freepages_block(m: Machine, zone: Zone, start_pfn: int, old_mt: int,
                           new_mt: int) -> int:
    """__move_freepages_block(): move every free block of a pageblock; retype it."""
    mm = m.mem_map
    end = start_pfn + m.pageblock_nr_pages
    pfn = start_pfn
    moved = 0
    while pfn < end:
        if mm.page_type[pfn] != PGTY_BUDDY:
            pfn += 1
            continue
        order = int(mm.private[pfn])
        move_to_free_list(m, zone, pfn, order, old_mt, new_mt)
        pfn += 1 << order
        moved += 1 << order
    set_pageblock_migratetype(m, start_pfn, new_mt)
    return moved


def move_freepages_block(m: Machine, zone: Zone, pfn: int, old_mt: int, new_mt: int) -> int:
    """move_freepages_block(): -1 if the block straddles the zone, else pages moved."""
    prep = prep_move_freepages_block(m, zone, pfn)
    if prep is None:
        return -1
    return __move_freepages_block(m, zone, prep[0], old_mt, new_mt)


def try_to_steal_block(m: Machine, zone: Zone, pfn: int, current_order: int, order: int,
                       start_type: int, alloc_flags: int) -> int | None:
    """try_to_steal_block(): claim a whole pageblock of another type if enough is alike."""
    block_type = get_pageblock_migratetype(m, pfn)
    if block_type == MT_HIGHATOMIC:
        return None
    if current_order >= m.pageblock_order:
        del_page_from_free_list(m, zone, pfn, current_order, block_type)
        change_pageblock_range(m, pfn, current_order, start_type)
        nr_added = expand(m, zone, pfn, order, current_order, start_type)
        account_freepages(zone, nr_added, start_type)
        return pfn
    if boost_watermark(m, zone) and (alloc_flags & ALLOC_KSWAPD):
        zone.flags |= ZONE_BOOSTED_WATERMARK
    prep = prep_move_freepages_block(m, zone, pfn)
    if prep is None:
        return None
    start_pfn, free_pages, movable_pages = prep
    if start_type == MT_MOVABLE:
        alike = movable_pages
    elif block_type == MT_MOVABLE:
        alike = m.pageblock_nr_pages - (free_pages + movable_pages)
    else:
        alike = 0
    if free_pages + alike >= (1 << (m.pageblock_order - 1)) or \
            m.page_group_by_mobility_disabled:
        __move_freepages_block(m, zone, start_pfn, block_type, start_type)
        return __rmqueue_smallest(m, zone, order, start_type)
    return None


def _trace_extfrag(m: Machine, pfn: int, order: int, current_order: int, start_mt: int,
                   fallback_mt: int) -> None:
    tp = m.tp.mm_page_alloc_extfrag
    if tp.enabled:
        tp.emit(m.trace_ctx(), pfn=pfn, alloc_order=order, fallback_order=current_order,
                pageblock_order=m.pageblock_order, alloc_migratetype=start_mt,
                fallback_migratetype=fallback_mt,
                fragmenting=int(current_order < m.pageblock_order),
                change_ownership=int(get_pageblock_migratetype(m, pfn) == start_mt))


def __rmqueue_claim(m: Machine, zone: Zone, order: int, start_mt: int,
                    alloc_flags: int) -> int | None:
    """__rmqueue_claim(): try to claim a whole block of a fallback type, largest first."""
    min_order = order
    if order < m.pageblock_order and alloc_flags & ALLOC_NOFRAGMENT:
        min_order = m.pageblock_order
    for current_order in range(MAX_PAGE_ORDER, min_order - 1, -1):
        fmt, can_steal = find_suitable_fallback(m, zone, current_order, start_mt, False)
        if fmt == -1:
            continue
        if not can_steal:
            break
        pfn = get_page_from_free_area(zone, current_order, fmt)
        assert pfn is not None
        got = try_to_steal_block(m, zone, pfn, current_order, order, start_mt, alloc_flags)
        if got is not None:
            _trace_extfrag(m, got, order, current_order, start_mt, fmt)
            return got
    return None


def __rmqueue_steal(m: Machine, zone: Zone, order: int, start_mt: int) -> int | None:
    """__rmqueue_steal(): take the smallest fallback block, leaving its block's type."""
    for current_order in range(order, NR_PAGE_ORDERS):
        fmt, _ = find_suitable_fallback(m, zone, current_order, start_mt, False)
        if fmt == -1:
            continue
        pfn = get_page_from_free_area(zone, current_order, fmt)
        assert pfn is not None
        page_del_and_expand(m, zone, pfn, order, current_order, fmt)
        _trace_extfrag(m, pfn, order, current_order, start_mt, fmt)
        return pfn
    return None


def __rmqueue(m: Machine, zone: Zone, order: int, mt: int, alloc_flags: int,
              mode: list[int]) -> int | None:
    """
    __rmqueue(): normal list, then claim a fallback block, then steal from one. *mode* is a
    one-element list carrying the caller's ``enum rmqueue_mode`` across calls (rmqueue_bulk).
    """
    # SIM: no CMA (CONFIG_CMA off, as on the sample machine).
    if mode[0] == RMQUEUE_NORMAL:
        page = __rmqueue_smallest(m, zone, order, mt)
        if page is not None:
            return page
    if mode[0] <= RMQUEUE_CLAIM:
        page = __rmqueue_claim(m, zone, order, mt, alloc_flags)
        if page is not None:
            mode[0] = RMQUEUE_NORMAL
            return page
    if not (alloc_flags & ALLOC_NOFRAGMENT):
        page = __rmqueue_steal(m, zone, order, mt)
        if page is not None:
            mode[0] = RMQUEUE_STEAL
            return page
    return None


def reserve_highatomic_pageblock(m: Machine, pfn: int, order: int, zone: Zone) -> None:
    """reserve_highatomic_pageblock(): set aside a pageblock for high-order atomics."""
    pb = m.pageblock_nr_pages
    if zone.managed_pages // 100 < pb:
        return
    max_managed = -(-(zone.managed_pages // 100) // pb) * pb
    if zone.nr_reserved_highatomic >= max_managed:
        return
    mt = get_pageblock_migratetype(m, pfn)
    if mt >= MIGRATE_PCPTYPES:
        return
    if order < m.pageblock_order:
        if move_freepages_block(m, zone, pfn, mt, MT_HIGHATOMIC) == -1:
            return
        zone.nr_reserved_highatomic += pb
    else:
        change_pageblock_range(m, pfn, order, MT_HIGHATOMIC)
        zone.nr_reserved_highatomic += 1 << order


def unreserve_highatomic_pageblock(m: Machine, ac: AllocContext, force: bool) -> bool:
    """unreserve_highatomic_pageblock(): give a reserved block back under pressure."""
    pb = m.pageblock_nr_pages
    for zone in ac.zones:
        if not force and zone.nr_reserved_highatomic <= pb:
            continue
        for order in range(NR_PAGE_ORDERS):
            pfn = get_page_from_free_area(zone, order, MT_HIGHATOMIC)
            if pfn is None:
                continue
            mt = get_pageblock_migratetype(m, pfn)
            if mt == MT_HIGHATOMIC:
                size = min(max(pb, 1 << order), zone.nr_reserved_highatomic)
                zone.nr_reserved_highatomic -= size
            if order < m.pageblock_order:
                ret = move_freepages_block(m, zone, pfn, mt, ac.migratetype)
            else:
                move_to_free_list(m, zone, pfn, order, mt, ac.migratetype)
                change_pageblock_range(m, pfn, order, ac.migratetype)
                ret = 1
            if ret > 0:
                return True
    return False


# --------------------------------------------------------------------------------------------
# per-CPU page lists


def pcp_allowed_order(m: Machine, order: int) -> bool:
    """pcp_allowed_order(): orders 0..3 and (with THP) the PMD order."""
    return order <= PAGE_ALLOC_COSTLY_ORDER or (m.thp_pcp and order == m.pageblock_order)


def order_to_pindex(m: Machine, mt: int, order: int) -> int:
    """order_to_pindex()"""
    if order > PAGE_ALLOC_COSTLY_ORDER:
        return NR_LOWORDER_PCP_LISTS + (1 if mt == MT_MOVABLE else 0)
    return MIGRATE_PCPTYPES * order + mt


def pindex_to_order(m: Machine, pindex: int) -> int:
    """pindex_to_order()"""
    if pindex >= NR_LOWORDER_PCP_LISTS:
        return m.pageblock_order
    return pindex // MIGRATE_PCPTYPES


def zone_batchsize(zone: Zone) -> int:
    """zone_batchsize(): pcp refill/drain chunk, 2^n - 1, at most 63."""
    batch = min(zone.managed_pages >> 10, (1 << 20) >> PAGE_SHIFT)
    batch //= 4
    if batch < 1:
        batch = 1
    n = batch + batch // 2
    return (1 << (n.bit_length() - 1)) - 1


def zone_highsize(zone: Zone, batch: int, cpu_online: int, high_fraction: int,
                  cpus_on_node: int, num_online_cpus: int) -> int:
    """zone_highsize(): pcp high mark from the low watermark or managed/high_fraction."""
    if not high_fraction:
        total_pages = zone.low_wmark_pages()
    else:
        total_pages = zone.managed_pages // high_fraction
    nr_split_cpus = cpus_on_node + cpu_online
    if nr_split_cpus == 0:
        nr_split_cpus = num_online_cpus
    high = total_pages // nr_split_cpus
    return max(high, batch << 2)


def zone_set_pageset_high_and_batch(m: Machine, zone: Zone, cpu_online: int = 0) -> None:
    """zone_set_pageset_high_and_batch(): recompute high_min/high_max/batch for all CPUs."""
    node_cpus = len(m.nodes[zone.node].cpus)
    frac = m.sysctl.percpu_pagelist_high_fraction
    new_batch = max(1, zone_batchsize(zone))
    if frac:
        new_high_min = zone_highsize(zone, new_batch, cpu_online, frac, node_cpus, m.nr_cpus)
        new_high_max = new_high_min
    else:
        new_high_min = zone_highsize(zone, new_batch, cpu_online, 0, node_cpus, m.nr_cpus)
        new_high_max = zone_highsize(zone, new_batch, cpu_online,
                                     MIN_PERCPU_PAGELIST_HIGH_FRACTION, node_cpus, m.nr_cpus)
    for pcp in zone.per_cpu_pageset:
        pcp.high_min = new_high_min
        pcp.high_max = new_high_max
        pcp.batch = new_batch


def nr_pcp_alloc(pcp: PerCpuPages, zone: Zone, order: int) -> int:
    """nr_pcp_alloc(): how many blocks to pull from the buddy to refill a pcp list."""
    base_batch = pcp.batch
    high_min = pcp.high_min
    high_max = pcp.high_max
    high = pcp.high = min(max(pcp.high, high_min), high_max)
    if high < base_batch:
        return 1
    if order:
        batch = base_batch
    else:
        batch = base_batch << pcp.alloc_factor
    if high_min != high_max and not (zone.flags & ZONE_BELOW_HIGH):
        high = pcp.high = min(high + batch, high_max)
    if not order:
        max_nr_alloc = max(high - pcp.count - base_batch, base_batch)
        if batch <= max_nr_alloc and pcp.alloc_factor < PCP_BATCH_SCALE_MAX:
            pcp.alloc_factor += 1
        batch = min(batch, max_nr_alloc)
    if batch > 1:
        batch = max(batch >> order, 2)
    return batch


def _rmqueue_bulk_blocks(m: Machine, zone: Zone, count: int, lst: object, mt: int) -> int:
    """
    The order-0 refill loop of rmqueue_bulk() a block at a time. When the smallest free
    block of *mt* has order k (so every lower list of *mt* is empty) and at least 2**k
    pages are still wanted, 2**k calls of __rmqueue_smallest() would split that block and
    hand out its pages in ascending order, leaving the lists as they were without it:
    take the block whole; otherwise take one page as __rmqueue_smallest() would. Returns
    the pages taken; the caller finishes with the fallback path if that was not enough.
    """
    free_area = zone.free_area
    extendleft = lst.extendleft  # type: ignore[attr-defined]
    mm = m.mem_map
    pb_order = m.pageblock_order
    vm_stat = zone.vm_stat
    i = 0
    while i < count:
        for k in range(NR_PAGE_ORDERS):
            fl = free_area[k].free_list[mt]
            if fl:
                break
        else:
            return i
        n = 1 << k
        if k == 0 or count - i < n:
            # one page at a time: the smallest block is split as usual
            one = __rmqueue_smallest(m, zone, 0, mt)
            if one is None:
                return i
            lst.appendleft(one)  # type: ignore[attr-defined]
            i += 1
            continue
        pfn, _ = fl.popitem()
        free_area[k].nr_free -= 1
        mm.page_type[pfn] = 0
        mm.private[pfn] = 0
        if mt != MT_ISOLATE:
            vm_stat[NR_FREE_PAGES] -= n
            if k >= pb_order:
                vm_stat[NR_FREE_PAGES_BLOCKS] -= n
            if mt == MT_HIGHATOMIC:
                zone.nr_free_highatomic -= n
        extendleft(range(pfn, pfn + n))
        i += n
    return i


def rmqueue_bulk(m: Machine, zone: Zone, order: int, count: int, lst: object, mt: int,
                 alloc_flags: int) -> int:
    """rmqueue_bulk(): move *count* blocks from the buddy to the tail of a pcp list."""
    mode = [RMQUEUE_NORMAL]
    appendleft = lst.appendleft  # type: ignore[attr-defined]
    i = 0
    if order == 0 and not m.tp.mm_page_alloc_zone_locked.enabled:
        i = _rmqueue_bulk_blocks(m, zone, count, lst, mt)
    while i < count:
        # __rmqueue() in RMQUEUE_NORMAL mode starts with __rmqueue_smallest(): call it
        # directly while that mode lasts (the common case, and the hot loop of a refill).
        pfn = __rmqueue_smallest(m, zone, order, mt) if mode[0] == RMQUEUE_NORMAL else None
        if pfn is None:
            pfn = __rmqueue(m, zone, order, mt, alloc_flags, mode)
        if pfn is None:
            break
        appendleft(pfn)
        i += 1
    return i


def nr_pcp_free(pcp: PerCpuPages, batch: int, high: int, free_high: bool) -> int:
    """nr_pcp_free(): how many pages to return to the buddy when over high."""
    if free_high:
        return min(pcp.count, batch << PCP_BATCH_SCALE_MAX)
    if high < batch:
        return 1
    return min(max(pcp.free_count, batch), high - batch)


def nr_pcp_high(pcp: PerCpuPages, zone: Zone, batch: int, free_high: bool) -> int:
    """nr_pcp_high(): the (auto-tuned) high mark that triggers draining on free."""
    high_min = pcp.high_min
    high_max = pcp.high_max
    high = pcp.high = min(max(pcp.high, high_min), high_max)
    if not high:
        return 0
    if free_high:
        pcp.high = max(high - (batch << PCP_BATCH_SCALE_MAX), high_min)
        return 0
    if zone.flags & ZONE_RECLAIM_ACTIVE:
        pcp.high = max(high - max(pcp.free_count, batch), high_min)
        return min(batch << 2, pcp.high)
    if high_min == high_max:
        return high
    if zone.flags & ZONE_BELOW_HIGH:
        pcp.high = max(high - max(pcp.free_count, batch), high_min)
        return max(pcp.count, high_min)
    if pcp.count >= high:
        need_high = pcp.free_count + batch
        if pcp.high < need_high:
            pcp.high = min(max(need_high, high_min), high_max)
    return high


def free_pcppages_bulk(m: Machine, zone: Zone, count: int, pcp: PerCpuPages,
                       pindex: int) -> None:
    """free_pcppages_bulk(): drain *count* pages round-robin over the lists, coldest first."""
    count = min(pcp.count, count)
    pindex = pindex - 1
    tp = m.tp.mm_page_pcpu_drain
    pb_order = m.pageblock_order
    pbmt = m.pageblock_mt
    while count > 0:
        while True:
            pindex += 1
            if pindex > NR_PCP_LISTS - 1:
                pindex = 0
            lst = pcp.lists[pindex]
            if lst:
                break
        order = pindex_to_order(m, pindex)
        nr_pages = 1 << order
        while True:
            pfn = lst.popleft()
            count -= nr_pages
            pcp.count -= nr_pages
            mt = pbmt[pfn >> pb_order]
            __free_one_page(m, pfn, zone, order, mt, FPI_NONE)
            if tp.enabled:
                tp.emit(m.trace_ctx(), pfn=pfn, order=order, migratetype=mt)
            if not (count > 0 and lst):
                break


def drain_pages_zone(m: Machine, cpu: int, zone: Zone) -> None:
    """drain_pages_zone(): empty one CPU's pcp lists of a zone, in chunks."""
    pcp = zone.per_cpu_pageset[cpu]
    while pcp.count:
        to_drain = min(pcp.count, pcp.batch << PCP_BATCH_SCALE_MAX)
        free_pcppages_bulk(m, zone, to_drain, pcp, 0)


def drain_all_pages(m: Machine, zone: Zone | None = None) -> None:
    """drain_all_pages(): every CPU's pcp lists (of one zone, or all zones) to the buddy."""
    zones = [zone] if zone is not None else m.zones
    for z in zones:
        for cpu in range(m.nr_cpus):
            drain_pages_zone(m, cpu, z)


def decay_pcp_high(m: Machine, zone: Zone, pcp: PerCpuPages) -> bool:
    """decay_pcp_high(): the vmstat-interval decay of an auto-tuned high mark."""
    high_min = pcp.high_min
    batch = pcp.batch
    todo = False
    if pcp.high > high_min:
        pcp.high = max(pcp.count - (batch << PCP_BATCH_SCALE_MAX),
                       pcp.high - (pcp.high >> 3), high_min)
        if pcp.high > high_min:
            todo = True
    to_drain = pcp.count - pcp.high
    while to_drain > 0:
        chunk = min(to_drain, batch)
        free_pcppages_bulk(m, zone, chunk, pcp, 0)
        to_drain -= chunk
        todo = True
    return todo


# --------------------------------------------------------------------------------------------
# watermarks


def __zone_watermark_unusable_free(z: Zone, order: int, alloc_flags: int) -> int:
    """__zone_watermark_unusable_free()"""
    unusable = (1 << order) - 1
    if not (alloc_flags & ALLOC_RESERVES):
        unusable += z.nr_free_highatomic
    return unusable


def __zone_watermark_ok(z: Zone, order: int, mark: int, highest_zoneidx: int,
                        alloc_flags: int, free_pages: int) -> bool:
    """
    __zone_watermark_ok(): would *z* stay above *mark* (+ lowmem_reserve) after the
    allocation, with a free block of at least *order* available to this request?
    """
    min_ = mark
    free_pages -= __zone_watermark_unusable_free(z, order, alloc_flags)
    if alloc_flags & ALLOC_RESERVES:
        if alloc_flags & ALLOC_MIN_RESERVE:
            min_ -= min_ // 2
            if alloc_flags & ALLOC_NON_BLOCK:
                min_ -= min_ // 4
        if alloc_flags & ALLOC_OOM:
            min_ -= min_ // 2
    if free_pages <= min_ + z.lowmem_reserve[highest_zoneidx]:
        return False
    if not order:
        return True
    for o in range(order, NR_PAGE_ORDERS):
        area = z.free_area[o]
        if not area.nr_free:
            continue
        fl = area.free_list
        if fl[MT_UNMOVABLE] or fl[MT_MOVABLE] or fl[MT_RECLAIMABLE]:
            return True
        if (alloc_flags & (ALLOC_HIGHATOMIC | ALLOC_OOM)) and fl[MT_HIGHATOMIC]:
            return True
    return False


def zone_watermark_ok(z: Zone, order: int, mark: int, highest_zoneidx: int,
                      alloc_flags: int) -> bool:
    """zone_watermark_ok()"""
    return __zone_watermark_ok(z, order, mark, highest_zoneidx, alloc_flags,
                               z.vm_stat[NR_FREE_PAGES])


def zone_watermark_ok_safe(z: Zone, order: int, mark: int, highest_zoneidx: int) -> bool:
    """zone_watermark_ok_safe(): the same with an exact free count (always exact here)."""
    return __zone_watermark_ok(z, order, mark, highest_zoneidx, 0, z.vm_stat[NR_FREE_PAGES])


def zone_watermark_fast(z: Zone, order: int, mark: int, highest_zoneidx: int,
                        alloc_flags: int) -> bool:
    """zone_watermark_fast(): a cheap order-0 test before the full check."""
    free_pages = z.vm_stat[NR_FREE_PAGES]
    if not order:
        reserved = (0 if alloc_flags & ALLOC_RESERVES else z.nr_free_highatomic)
        usable_free = free_pages - min(free_pages, reserved)
        if usable_free > mark + z.lowmem_reserve[highest_zoneidx]:
            return True
    if __zone_watermark_ok(z, order, mark, highest_zoneidx, alloc_flags, free_pages):
        return True
    if not order and (alloc_flags & ALLOC_MIN_RESERVE) and z.watermark_boost and \
            (alloc_flags & ALLOC_WMARK_MASK) == WMARK_MIN:
        return __zone_watermark_ok(z, order, z._watermark[WMARK_MIN], highest_zoneidx,
                                   alloc_flags, free_pages)
    return False


# --------------------------------------------------------------------------------------------
# allocation


def prep_new_page(m: Machine, pfn: int, order: int, gfp: int, alloc_flags: int) -> None:
    """prep_new_page() / post_alloc_hook(): refcount 1, zeroing, compound setup."""
    mm = m.mem_map
    mm.refcount[pfn] = 1
    if gfp & __GFP_ZERO and m.page_data:
        for p in range(pfn, pfn + (1 << order)):
            m.page_data.pop(p, None)
    if order and gfp & __GFP_COMP:
        prep_compound_page(m, pfn, order)
    if alloc_flags & ALLOC_NO_WATERMARKS:
        # set_page_pfmemalloc(): page->lru.next = (void *)BIT(1); kept as a model flag
        m.pfmemalloc.add(pfn)


def prep_compound_page(m: Machine, pfn: int, order: int) -> None:
    """prep_compound_page(): PG_head on the head, compound_head on every tail."""
    mm = m.mem_map
    mm.flags[pfn] |= PG_HEAD
    mm.compound_order[pfn] = order
    n = 1 << order
    mm.compound_head1_a[pfn + 1:pfn + n] = pfn + 1


def check_new_page(m: Machine, pfn: int) -> bool:
    """check_new_page(): True if the page is bad (and reports it)."""
    mm = m.mem_map
    reason = _page_bad_reason(m, pfn, PAGE_FLAGS_CHECK_AT_PREP, at_prep=True)
    if reason is None:
        return False
    m.debug.bad_page(pfn, reason)
    mm.reset_page(pfn)
    return True


def _page_bad_reason(m: Machine, pfn: int, check_flags: int, at_prep: bool) -> str | None:
    mm = m.mem_map
    if mm.mapcount1[pfn] != 0 or mm.page_type[pfn] != 0:
        return "nonzero mapcount"
    if mm.mapping[pfn] != 0:
        return "non-NULL mapping"
    if mm.refcount[pfn] != 0:
        return "nonzero _refcount"
    if mm.flags[pfn] & check_flags:
        return ("PAGE_FLAGS_CHECK_AT_PREP flag(s) set" if at_prep
                else "PAGE_FLAGS_CHECK_AT_FREE flag(s) set")
    return None


def rmqueue_pcplist(m: Machine, preferred_zone: Zone, zone: Zone, order: int, mt: int,
                    alloc_flags: int) -> int | None:
    """rmqueue_pcplist() / __rmqueue_pcplist(): take a block from this CPU's pcp list."""
    cpu = m.current_cpu
    pcp = zone.per_cpu_pageset[cpu]
    pcp.free_count >>= 1
    lst = pcp.lists[order_to_pindex(m, mt, order)]
    while True:
        if not lst:
            batch = nr_pcp_alloc(pcp, zone, order)
            alloced = rmqueue_bulk(m, zone, order, batch, lst, mt, alloc_flags)
            pcp.count += alloced << order
            if not lst:
                return None
        pfn: int = lst.pop()
        pcp.count -= 1 << order
        if not (m.check_pages and check_new_page(m, pfn)):
            break
    m.vm_event[PGALLOC_DMA + zone.zone_type] += 1 << order
    zone_statistics(m, preferred_zone, zone, 1)
    return pfn


def rmqueue_buddy(m: Machine, preferred_zone: Zone, zone: Zone, order: int, alloc_flags: int,
                  mt: int) -> int | None:
    """rmqueue_buddy(): take a block straight from the buddy lists under zone->lock."""
    while True:
        page = None
        if alloc_flags & ALLOC_HIGHATOMIC:
            page = __rmqueue_smallest(m, zone, order, MT_HIGHATOMIC)
        if page is None:
            page = __rmqueue(m, zone, order, mt, alloc_flags, [RMQUEUE_NORMAL])
            if page is None and alloc_flags & (ALLOC_OOM | ALLOC_NON_BLOCK):
                page = __rmqueue_smallest(m, zone, order, MT_HIGHATOMIC)
            if page is None:
                return None
        if not (m.check_pages and check_new_page(m, page)):
            break
    m.vm_event[PGALLOC_DMA + zone.zone_type] += 1 << order
    zone_statistics(m, preferred_zone, zone, 1)
    return page


def zone_statistics(m: Machine, preferred_zone: Zone, z: Zone, nr: int) -> None:
    """zone_statistics(): numa_hit/miss/foreign and numa_local/other."""
    ev = z.vm_numa_event
    if z.node != preferred_zone.node:
        ev[NUMA_MISS] += nr
        preferred_zone.vm_numa_event[NUMA_FOREIGN] += nr
    else:
        ev[NUMA_HIT] += nr
    if z.node == m.cpu_to_node[m.current_cpu]:
        ev[NUMA_LOCAL] += nr
    else:
        ev[NUMA_OTHER] += nr


def rmqueue(m: Machine, preferred_zone: Zone, zone: Zone, order: int, gfp: int,
            alloc_flags: int, mt: int) -> int | None:
    """rmqueue(): pcp for cacheable orders, else (or on pcp failure) the buddy."""
    page = None
    if pcp_allowed_order(m, order):
        page = rmqueue_pcplist(m, preferred_zone, zone, order, mt, alloc_flags)
    if page is None:
        page = rmqueue_buddy(m, preferred_zone, zone, order, alloc_flags, mt)
    if alloc_flags & ALLOC_KSWAPD and zone.flags & ZONE_BOOSTED_WATERMARK:
        zone.flags &= ~ZONE_BOOSTED_WATERMARK
        m.wakeup_kswapd(zone, 0, 0, zone.idx)
    return page


def get_page_from_freelist(m: Machine, gfp: int, order: int, alloc_flags: int,
                           ac: AllocContext) -> int | None:
    """get_page_from_freelist(): one pass over the eligible zones."""
    while True:
        no_fallback = alloc_flags & ALLOC_NOFRAGMENT
        preferred = ac.zones[0] if ac.zones else None
        retry = False
        for zone in ac.zones:
            if ac.nodemask is not None and zone.node not in ac.nodemask:
                continue
            if no_fallback and m.nr_nodes > 1 and preferred is not None and \
                    zone.node != preferred.node:
                alloc_flags &= ~ALLOC_NOFRAGMENT
                retry = True
                break
            ok = False
            if not zone.flags & ZONE_BELOW_HIGH:
                if zone_watermark_fast(zone, order, zone.high_wmark_pages(), ac.highest_zoneidx,
                                       alloc_flags):
                    ok = True
                else:
                    zone.flags |= ZONE_BELOW_HIGH
            if not ok:
                mark = zone.wmark_pages(alloc_flags & ALLOC_WMARK_MASK)
                if not zone_watermark_fast(zone, order, mark, ac.highest_zoneidx, alloc_flags):
                    if not alloc_flags & ALLOC_NO_WATERMARKS:
                        # SIM: node_reclaim (vm.zone_reclaim_mode) is off, its default.
                        continue
            assert preferred is not None
            page = rmqueue(m, preferred, zone, order, gfp, alloc_flags, ac.migratetype)
            if page is not None:
                prep_new_page(m, page, order, gfp, alloc_flags)
                if alloc_flags & ALLOC_HIGHATOMIC and order:
                    reserve_highatomic_pageblock(m, page, order, zone)
                return page
        if retry:
            continue
        if no_fallback:
            alloc_flags &= ~ALLOC_NOFRAGMENT
            continue
        return None


def gfp_to_alloc_flags(m: Machine, gfp: int, order: int) -> int:
    """gfp_to_alloc_flags(): the slow path's flags (MIN watermark, reserves)."""
    alloc_flags = ALLOC_WMARK_MIN | ALLOC_CPUSET
    alloc_flags |= gfp & (__GFP_HIGH | __GFP_KSWAPD_RECLAIM)
    if not gfp & __GFP_DIRECT_RECLAIM:
        if not gfp & __GFP_NOMEMALLOC:
            alloc_flags |= ALLOC_NON_BLOCK
            if order > 0 and alloc_flags & ALLOC_MIN_RESERVE:
                alloc_flags |= ALLOC_HIGHATOMIC
        if alloc_flags & ALLOC_MIN_RESERVE:
            alloc_flags &= ~ALLOC_CPUSET
    # SIM: no realtime tasks, so the rt_or_dl_task() boost never applies.
    return alloc_flags


def __gfp_pfmemalloc_flags(m: Machine, gfp: int) -> int:
    """__gfp_pfmemalloc_flags(): reserve access for __GFP_MEMALLOC / PF_MEMALLOC / OOM victims."""
    if gfp & __GFP_NOMEMALLOC:
        return 0
    if gfp & __GFP_MEMALLOC:
        return ALLOC_NO_WATERMARKS
    pc = m.preempt_count[m._cpu]
    if pc & 0x100 and m.current_pf_memalloc:        # in_serving_softirq()
        return ALLOC_NO_WATERMARKS
    if not pc & 0x1FFF00 and m.current_pf_memalloc:  # !in_interrupt()
        return ALLOC_NO_WATERMARKS
    if not pc & 0x1FFF00:
        cur = m.tasks.get(m.current_pid)
        if cur is not None and cur.oom_victim and cur.comm == m.current_comm:
            # oom_reserves_allowed(current)
            return ALLOC_OOM
    return 0


def alloc_flags_nofragment(m: Machine, zone: Zone, gfp: int) -> int:
    """alloc_flags_nofragment(): ALLOC_KSWAPD, and ALLOC_NOFRAGMENT from ZONE_NORMAL."""
    alloc_flags = gfp & __GFP_KSWAPD_RECLAIM
    if not m.has_dma32_nofragment:
        return alloc_flags
    if zone.zone_type != m.zone_normal_type:
        return alloc_flags
    node = m.nodes[zone.node]
    dma32 = node.node_zones[zone.idx - 1] if zone.idx else None
    if m.nr_nodes == 1 or (dma32 is not None and dma32.populated()):
        alloc_flags |= ALLOC_NOFRAGMENT
    return alloc_flags


def warn_alloc(m: Machine, gfp: int, nodemask: frozenset[int] | None, msg: str) -> None:
    """warn_alloc(): the "page allocation failure" report and show_mem()."""
    if gfp & __GFP_NOWARN:
        return
    if not m.ratelimit("warn_alloc", 10_000_000_000, 1):
        return
    nm = "(null)" if nodemask is None else ",".join(str(n) for n in sorted(nodemask))
    m.printk(f"{m.current_comm}: {msg}, mode:{gfp:#x}({format_gfp(gfp)}), "
             f"nodemask={nm},cpuset=/,mems_allowed={m.mems_allowed_text()}", level=4)
    m.debug.dump_stack()
    m.debug.show_mem(nodemask, m.gfp_zone(gfp))     # warn_alloc_show_mem()


def __alloc_pages_slowpath(m: Machine, gfp: int, order: int, ac: AllocContext) -> int | None:
    """
    __alloc_pages_slowpath(): MIN watermark and reserves, kswapd, then compaction, direct
    reclaim and the OOM killer for those allowed to block.
    """
    can_direct_reclaim = bool(gfp & __GFP_DIRECT_RECLAIM)
    costly_order = order > PAGE_ALLOC_COSTLY_ORDER
    if gfp & __GFP_NOFAIL:
        if order > 1:
            m.debug.warn_on_once("__alloc_pages_slowpath", "nofail order > 1")
        if not can_direct_reclaim:
            m.debug.warn_on_once("__alloc_pages_slowpath", "nofail without direct reclaim")
    alloc_flags = gfp_to_alloc_flags(m, gfp, order)
    if alloc_flags & ALLOC_KSWAPD:
        wake_all_kswapds(m, order, gfp, ac)
        if can_direct_reclaim and m.kthread_pending:
            # SIM: a woken kswapd runs at once when the allocating context may sleep
            # (kernel/kthread.py); the kernel runs it concurrently on another CPU
            m.schedule()
    page = get_page_from_freelist(m, gfp, order, alloc_flags, ac)
    if page is not None:
        return page
    reserve_flags = __gfp_pfmemalloc_flags(m, gfp)
    if reserve_flags:
        alloc_flags = reserve_flags | (alloc_flags & ALLOC_KSWAPD)
        page = get_page_from_freelist(m, gfp, order, alloc_flags, ac)
        if page is not None:
            return page
    no_progress_loops = 0
    while can_direct_reclaim and not m.current_pf_memalloc:
        m.reclaim_progress = 0
        page = m.reclaim_hooks.direct_compact_and_reclaim(m, gfp, order, alloc_flags, ac)
        if page is not None:
            return page
        progress = int(getattr(m, "reclaim_progress", 0))
        # After a failed direct reclaim the kernel unreserves highatomic blocks and
        # drains the pcp lists once, then retries (__alloc_pages_direct_reclaim).
        unreserve_highatomic_pageblock(m, ac, False)
        drain_all_pages(m)
        page = get_page_from_freelist(m, gfp, order, alloc_flags, ac)
        if page is not None:
            return page
        if gfp & __GFP_NORETRY or (costly_order and not gfp & __GFP_RETRY_MAYFAIL):
            break
        # should_reclaim_retry() (mm/vmscan.py): up to MAX_RECLAIM_RETRIES fruitless
        # rounds while reclaimable + free pages could still meet a zone's min watermark;
        # its "no" has exhausted the highatomic reserve (unreserve_highatomic_pageblock)
        from memsim.mm.vmscan import should_reclaim_retry
        retry, no_progress_loops = should_reclaim_retry(m, gfp, order, ac, alloc_flags,
                                                        progress > 0, no_progress_loops)
        if retry:
            if alloc_flags & ALLOC_KSWAPD:
                wake_all_kswapds(m, order, gfp, ac)
            page = get_page_from_freelist(m, gfp, order, alloc_flags, ac)
            if page is not None:
                return page
            continue
        page = get_page_from_freelist(m, gfp, order, alloc_flags, ac)
        if page is not None:
            return page
        page = m.reclaim_hooks.may_oom(m, gfp, order, alloc_flags, ac)
        if page is not None:
            return page
        break
    if gfp & __GFP_NOFAIL and can_direct_reclaim:
        page = get_page_from_freelist(m, gfp, order, ALLOC_MIN_RESERVE | ALLOC_CPUSET, ac)
        if page is not None:
            return page
    warn_alloc(m, gfp, ac.nodemask, f"page allocation failure: order:{order}")
    return None


def wake_all_kswapds(m: Machine, order: int, gfp: int, ac: AllocContext) -> None:
    """wake_all_kswapds(): once per node of the zonelist."""
    seen: set[int] = set()
    for zone in ac.zones:
        if zone.node in seen:
            continue
        seen.add(zone.node)
        m.wakeup_kswapd(zone, gfp, order, ac.highest_zoneidx)


def prepare_alloc_pages(m: Machine, gfp: int, order: int, preferred_nid: int,
                        nodemask: frozenset[int] | None) -> AllocContext:
    """prepare_alloc_pages(): zonelist, highest zone and migratetype for *gfp*."""
    key = (gfp & (0xF | __GFP_THISNODE | 0x18), preferred_nid)
    cached = m.ac_cache.get(key)
    if cached is None:
        highest = m.gfp_zone(gfp)
        node = m.nodes[preferred_nid]
        zonelist = node.node_zonelists[1 if (gfp & __GFP_THISNODE and m.nr_nodes > 1) else 0]
        zones = [z for z in zonelist if z.idx <= highest]
        mt = m.gfp_migratetype(gfp)
        cached = (zonelist, highest, mt, zones)
        m.ac_cache[key] = cached
    zonelist, highest, mt, zones = cached
    return AllocContext(zonelist=zonelist, highest_zoneidx=highest, migratetype=mt,
                        preferred_nid=preferred_nid, nodemask=nodemask, zones=zones)


def __alloc_pages(m: Machine, gfp: int, order: int, preferred_nid: int,
                  nodemask: frozenset[int] | None = None) -> int | None:
    """
    The page allocator's entry point: fast path, then the slow path.

    Kernel: ``__alloc_pages_noprof()``, mm/page_alloc.c.

    :return: PFN of the first page of a ``1 << order`` block, or None (kernel: NULL)
    """
    if order > MAX_PAGE_ORDER:
        if not gfp & __GFP_NOWARN:
            m.debug.warn_on_once("__alloc_pages_noprof", "order > MAX_PAGE_ORDER",
                                 line=4832)
        return None
    gfp &= m.gfp_allowed_mask
    gfp = m.current_gfp_context(gfp)
    ac = prepare_alloc_pages(m, gfp, order, preferred_nid, nodemask)
    m.might_alloc(gfp)
    page = None
    if ac.zones:
        alloc_flags = ALLOC_WMARK_LOW | alloc_flags_nofragment(m, ac.zones[0], gfp)
        page = get_page_from_freelist(m, gfp, order, alloc_flags, ac)
        if page is None:
            page = __alloc_pages_slowpath(m, gfp, order, ac)
    tp = m.tp.mm_page_alloc
    if tp.enabled:
        tp.emit(m.trace_ctx(), pfn=page, order=order, migratetype=ac.migratetype,
                gfp_flags=gfp)
    if page is not None and m.page_owner is not None:
        m.page_owner[page] = (order, gfp, m.current_comm)
    return page


def alloc_pages_bulk(m: Machine, gfp: int, nr_pages: int) -> list[int]:
    """
    alloc_pages_bulk_noprof(): up to *nr_pages* order-0 pages in one pass. The first zone
    that passes ``low watermark + nr_pages`` feeds them from this CPU's pcp list; PGALLOC
    and the NUMA counters are updated once for the batch. When that fast path cannot even
    start (or yields nothing), one page comes from the normal allocator instead.
    """
    out: list[int] = []
    if nr_pages <= 0:
        return out
    if nr_pages == 1:
        page = __alloc_pages(m, gfp, 0, m.cpu_to_node[m.current_cpu])
        return [page] if page is not None else out
    gfp &= m.gfp_allowed_mask
    ac = prepare_alloc_pages(m, gfp, 0, m.cpu_to_node[m.current_cpu], None)
    alloc_flags = ALLOC_WMARK_LOW
    if ac.zones:
        alloc_flags |= alloc_flags_nofragment(m, ac.zones[0], gfp)
    target = None
    for zone in ac.zones:
        mark = zone.wmark_pages(ALLOC_WMARK_LOW) + nr_pages
        if zone_watermark_fast(zone, 0, mark, ac.highest_zoneidx, alloc_flags):
            target = zone
            break
    if target is None:
        page = __alloc_pages(m, gfp, 0, m.cpu_to_node[m.current_cpu])
        return [page] if page is not None else out
    pcp = target.per_cpu_pageset[m.current_cpu]
    lst = pcp.lists[order_to_pindex(m, ac.migratetype, 0)]
    tp = m.tp.mm_page_alloc
    while len(out) < nr_pages:
        pcp.free_count >>= 1
        if not lst:
            batch = nr_pcp_alloc(pcp, target, 0)
            pcp.count += rmqueue_bulk(m, target, 0, batch, lst, ac.migratetype, alloc_flags)
            if not lst:
                break
        pfn = lst.pop()
        pcp.count -= 1
        if m.check_pages and check_new_page(m, pfn):
            continue
        prep_new_page(m, pfn, 0, gfp, 0)
        if tp.enabled:
            tp.emit(m.trace_ctx(), pfn=pfn, order=0, migratetype=ac.migratetype,
                    gfp_flags=gfp)
        if m.page_owner is not None:
            m.page_owner[pfn] = (0, gfp, m.current_comm)
        out.append(pfn)
    if out:
        m.vm_event[PGALLOC_DMA + target.zone_type] += len(out)
        zone_statistics(m, ac.zones[0], target, len(out))
    else:
        page = __alloc_pages(m, gfp, 0, m.cpu_to_node[m.current_cpu])
        if page is not None:
            out.append(page)
    return out


# --------------------------------------------------------------------------------------------
# freeing


def free_pages_prepare(m: Machine, pfn: int, order: int) -> bool:
    """
    free_pages_prepare(): trace, check every page (debug kernel), clear flags. Returns
    False if a bad page was found; the block is then leaked, as in the kernel.
    """
    mm = m.mem_map
    tp = m.tp.mm_page_free
    if tp.enabled:
        tp.emit(m.trace_ctx(), pfn=pfn, order=order)
    compound = bool(mm.flags[pfn] & PG_HEAD)
    if compound and mm.compound_order[pfn] != order:
        m.debug.vm_bug_on_page(pfn, "VM_BUG_ON_PAGE(compound && compound_order(page) != order)",
                               "mm/page_alloc.c", 1132)
        return False
    bad = 0
    if order:
        if compound:
            mm.flags[pfn] &= ~PG_HEAD
            mm.compound_order[pfn] = 0
        n = 1 << order
        if not compound and mm.range_is_clean(pfn + 1, pfn + n):
            pass                         # every tail page as expected: nothing to clear
        elif order >= 3:
            bad += _check_tail_pages_vec(m, pfn, n, compound)
        else:
            for p in range(pfn + 1, pfn + n):
                if compound:
                    if mm.compound_head1[p] != pfn + 1:
                        m.debug.bad_page(p, "corrupted mapping in compound page")
                        bad += 1
                        continue
                    mm.compound_head1[p] = 0
                if m.check_pages:
                    reason = _page_bad_reason(m, p, PAGE_FLAGS_CHECK_AT_FREE, at_prep=False)
                    if reason is not None:
                        m.debug.bad_page(p, reason)
                        bad += 1
                        continue
                if mm.flags[p]:
                    mm.flags[p] &= ~PAGE_FLAGS_CHECK_AT_PREP
    if mm.mapping[pfn]:
        mm.mapping[pfn] = 0
    if m.check_pages:
        reason = _page_bad_reason(m, pfn, PAGE_FLAGS_CHECK_AT_FREE, at_prep=False)
        if reason is not None:
            m.debug.bad_page(pfn, reason)
            bad += 1
    if bad:
        return False
    mm.flags[pfn] &= ~PAGE_FLAGS_CHECK_AT_PREP
    if m.pfmemalloc:
        m.pfmemalloc.discard(pfn)
    if m.page_owner is not None:
        m.page_owner.pop(pfn, None)
    return True


def _check_tail_pages_vec(m: Machine, pfn: int, n: int, compound: bool) -> int:
    # The per-page loop of free_pages_prepare() over a large block, vectorised: the pages
    # that fail a check are reported one by one, exactly as the loop would.
    mm = m.mem_map
    sl = slice(pfn + 1, pfn + n)
    bad_mask = None
    if compound:
        bad_mask = mm.compound_head1_a[sl] != pfn + 1
        for i in bad_mask.nonzero()[0]:
            m.debug.bad_page(pfn + 1 + int(i), "corrupted mapping in compound page")
        mm.compound_head1_a[sl][~bad_mask] = 0
    bad = 0 if bad_mask is None else int(bad_mask.sum())
    if m.check_pages:
        chk = ((mm.mapcount1_a[sl] != 0) | (mm.page_type_a[sl] != 0) | (mm.mapping_a[sl] != 0)
               | (mm.refcount_a[sl] != 0) | ((mm.flags_a[sl] & PAGE_FLAGS_CHECK_AT_FREE) != 0))
        if bad_mask is not None:
            chk &= ~bad_mask
        if chk.any():
            for i in chk.nonzero()[0]:
                p = pfn + 1 + int(i)
                reason = _page_bad_reason(m, p, PAGE_FLAGS_CHECK_AT_FREE, at_prep=False)
                m.debug.bad_page(p, reason or "nonzero mapcount")
            bad += int(chk.sum())
            if bad_mask is not None:
                chk |= bad_mask
            ok = ~chk
            mm.flags_a[sl][ok] &= _KEEP_AT_PREP
            return bad
    flags = mm.flags_a[sl]
    if flags.any():
        flags &= _KEEP_AT_PREP
    return bad


def __free_pages_ok(m: Machine, pfn: int, order: int, fpi_flags: int) -> None:
    """__free_pages_ok(): free straight to the buddy (non-pcp orders, boot, isolation)."""
    if not free_pages_prepare(m, pfn, order):
        return
    free_one_page(m, m.page_zone(pfn), pfn, order, fpi_flags)


def free_unref_page_commit(m: Machine, zone: Zone, pcp: PerCpuPages, pfn: int, mt: int,
                           order: int) -> None:
    """free_unref_page_commit(): add to the pcp list; drain if over the high mark."""
    pcp.alloc_factor >>= 1
    m.vm_event[PGFREE] += 1 << order
    # order_to_pindex(), its low-order case inline
    pindex = MIGRATE_PCPTYPES * order + mt if order <= PAGE_ALLOC_COSTLY_ORDER \
        else order_to_pindex(m, mt, order)
    pcp.lists[pindex].append(pfn)
    pcp.count += 1 << order
    batch = pcp.batch
    free_high = False
    if order and order <= PAGE_ALLOC_COSTLY_ORDER:
        free_high = (pcp.free_count >= batch and bool(pcp.flags & PCPF_PREV_FREE_HIGH_ORDER)
                     and (not pcp.flags & PCPF_FREE_HIGH_BATCH or pcp.count >= batch))
        pcp.flags |= PCPF_PREV_FREE_HIGH_ORDER
    elif pcp.flags & PCPF_PREV_FREE_HIGH_ORDER:
        pcp.flags &= ~PCPF_PREV_FREE_HIGH_ORDER
    if pcp.free_count < (batch << PCP_BATCH_SCALE_MAX):
        pcp.free_count += 1 << order
    high = nr_pcp_high(pcp, zone, batch, free_high)
    if pcp.count >= high:
        free_pcppages_bulk(m, zone, nr_pcp_free(pcp, batch, high, free_high), pcp, pindex)
        if zone.flags & ZONE_BELOW_HIGH and zone_watermark_ok(
                zone, 0, zone.high_wmark_pages(), m.zone_movable_idx, 0):
            zone.flags &= ~ZONE_BELOW_HIGH


def free_unref_page(m: Machine, pfn: int, order: int) -> None:
    """free_unref_page(): free to this CPU's pcp list, or to the buddy."""
    if order > PAGE_ALLOC_COSTLY_ORDER and not pcp_allowed_order(m, order):
        __free_pages_ok(m, pfn, order, FPI_NONE)
        return
    if not free_pages_prepare(m, pfn, order):
        return
    mt = m.pageblock_mt[pfn >> m.pageblock_order]
    zone = m.page_zone(pfn)
    if mt >= MIGRATE_PCPTYPES:
        if mt == MT_ISOLATE:
            free_one_page(m, zone, pfn, order, FPI_NONE)
            return
        mt = MT_MOVABLE
    free_unref_page_commit(m, zone, zone.per_cpu_pageset[m.current_cpu], pfn, mt, order)


_PG_LRU = 1 << PageFlags.PG_lru

def put_page_testzero(m: Machine, pfn: int) -> bool:
    """put_page_testzero(): drop a reference; True when it was the last one."""
    rc = m.mem_map.refcount
    count = rc[pfn]
    if count <= 0:
        m.debug.vm_bug_on_page(pfn, "VM_BUG_ON_PAGE(page_ref_count(page) == 0)",
                               "include/linux/mm.h", 1140)
        return False
    rc[pfn] = count - 1
    if count == 1 and m.mem_map.flags[pfn] & _PG_LRU:
        # __folio_put() -> __page_cache_release(): off the LRU list (mm/swap.py)
        from memsim.mm.swap import page_cache_release
        page_cache_release(m, pfn)
    return count == 1


def __free_pages(m: Machine, pfn: int, order: int) -> None:
    """
    Drop a reference to a block of ``1 << order`` pages; free it when that was the last.

    Kernel: ``__free_pages()``. A non-compound block whose first page is still referenced
    has its tail parts freed now, as the kernel does.
    """
    if not m.pfn_valid(pfn):
        m.debug.bad_pfn_oops(pfn, "__free_pages")
        return
    if order < 0 or order > MAX_PAGE_ORDER:
        m.debug.warn_on_once("__free_pages", f"order {order} out of range")
        return
    head = bool(m.mem_map.flags[pfn] & PG_HEAD)
    if put_page_testzero(m, pfn):
        free_unref_page(m, pfn, order)
    elif not head:
        while order > 0:
            order -= 1
            free_unref_page(m, pfn + (1 << order), order)


# --------------------------------------------------------------------------------------------
# watermarks, lowmem_reserve and pcp sizing (set up at boot and on sysctl writes)


def int_sqrt(x: int) -> int:
    """int_sqrt(): floor of the square root."""
    from math import isqrt
    return isqrt(x)


def nr_free_zone_pages(m: Machine, offset: int) -> int:
    """nr_free_zone_pages(): Σ max(0, managed - high) over node 0's zonelist up to *offset*."""
    total = 0
    for z in m.nodes[0].node_zonelists[0]:
        if z.idx <= offset:
            size = z.managed_pages
            high = z.high_wmark_pages()
            if size > high:
                total += size - high
    return total


def nr_free_buffer_pages(m: Machine) -> int:
    """nr_free_buffer_pages(): free pages in zones GFP_USER can use (not HighMem/Movable)."""
    return nr_free_zone_pages(m, m.gfp_zone(0))


def min_free_kbytes_for(lowmem_kbytes: int) -> int:
    """The formula of calculate_min_free_kbytes(): int_sqrt(lowmem_kbytes * 16), clamped."""
    return min(max(int_sqrt(lowmem_kbytes * 16), 128), 262144)


def calculate_min_free_kbytes(m: Machine) -> None:
    """calculate_min_free_kbytes(): 4 * sqrt(lowmem_kbytes), clamped to [128, 262144]."""
    lowmem_kbytes = nr_free_buffer_pages(m) * (1 << (PAGE_SHIFT - 10))
    new_min = int_sqrt(lowmem_kbytes * 16)
    if new_min > m.user_min_free_kbytes:
        m.sysctl.min_free_kbytes = min_free_kbytes_for(lowmem_kbytes)
    else:
        m.printk(f"min_free_kbytes is not updated to {new_min} because user defined value "
                 f"{m.user_min_free_kbytes} is preferred", level=4)


def __setup_per_zone_wmarks(m: Machine) -> None:
    """__setup_per_zone_wmarks(): min/low/high/promo of every zone from min_free_kbytes."""
    pages_min = m.sysctl.min_free_kbytes >> (PAGE_SHIFT - 10)
    lowmem_pages = sum(z.managed_pages for z in m.zones if not _is_highmem_or_movable(z))
    wsf = m.sysctl.watermark_scale_factor
    for z in m.zones:
        tmp = pages_min * z.managed_pages // lowmem_pages if lowmem_pages else 0
        if _is_highmem_or_movable(z):
            min_pages = min(max(z.managed_pages // 1024, 32), 128)
            z._watermark[WMARK_MIN] = min_pages
        else:
            z._watermark[WMARK_MIN] = tmp
        gap = max(tmp >> 2, z.managed_pages * wsf // 10000)
        z.watermark_boost = 0
        z._watermark[1] = z._watermark[WMARK_MIN] + gap
        z._watermark[WMARK_HIGH] = z._watermark[WMARK_MIN] + gap * 2
        z._watermark[3] = z._watermark[WMARK_MIN] + gap * 3
    calculate_totalreserve_pages(m)


def _is_highmem_or_movable(z: Zone) -> bool:
    from memsim.include.mmzone_types import ZoneType
    return z.zone_type in (ZoneType.ZONE_HIGHMEM, ZoneType.ZONE_MOVABLE)


def setup_per_zone_wmarks(m: Machine) -> None:
    """setup_per_zone_wmarks(): watermarks, then pcp high/batch of every zone."""
    __setup_per_zone_wmarks(m)
    for z in m.zones:
        zone_pcp_update(m, z, 0)


def calculate_totalreserve_pages(m: Machine) -> None:
    """calculate_totalreserve_pages(): what MemAvailable and overcommit keep back."""
    total = 0
    for pg in m.nodes:
        node_total = 0
        for i, z in enumerate(pg.node_zones):
            max_ = max(z.lowmem_reserve[i:], default=0) + z.high_wmark_pages()
            max_ = min(max_, z.managed_pages)
            node_total += max_
        pg.totalreserve_pages = node_total
        total += node_total
    m.totalreserve_pages = total


def setup_per_zone_lowmem_reserve(m: Machine) -> None:
    """setup_per_zone_lowmem_reserve(): protection of lower zones from higher requests."""
    ratio = m.sysctl.lowmem_reserve_ratio
    for pg in m.nodes:
        zones = pg.node_zones
        n = len(zones)
        for i in range(n - 1):
            z = zones[i]
            r = ratio[i]
            clear = not (r and z.managed_pages)
            upper = 0
            for j in range(i + 1, n):
                upper += zones[j].managed_pages
                z.lowmem_reserve[j] = 0 if clear else upper // r
    calculate_totalreserve_pages(m)


def refresh_zone_stat_thresholds(m: Machine) -> None:
    """refresh_zone_stat_thresholds() / calculate_normal_threshold() (mm/vmstat.c)."""
    ncpu_bits = m.nr_cpus.bit_length()
    for z in m.zones:
        mem = z.managed_pages >> (27 - PAGE_SHIFT)
        threshold = min(125, 2 * ncpu_bits * (1 + mem.bit_length()))
        for st in z.per_cpu_zonestats:
            st.stat_threshold = threshold if z.managed_pages else 0


def init_per_zone_wmark_min(m: Machine) -> None:
    """init_per_zone_wmark_min(): min_free_kbytes, watermarks, stat thresholds, reserves."""
    calculate_min_free_kbytes(m)
    setup_per_zone_wmarks(m)
    refresh_zone_stat_thresholds(m)
    setup_per_zone_lowmem_reserve(m)


def zone_pcp_update(m: Machine, zone: Zone, cpu_online: int) -> None:
    """zone_pcp_update()"""
    zone_set_pageset_high_and_batch(m, zone, cpu_online)


def setup_per_cpu_pageset(m: Machine) -> None:
    """setup_per_cpu_pageset(): real pcp sizes for every populated zone."""
    for z in m.zones:
        zone_set_pageset_high_and_batch(m, z, 0)
