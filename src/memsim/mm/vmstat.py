"""
VM counters and their /proc views (mm/vmstat.c).

The counters themselves are plain lists on the objects that own them (``zone.vm_stat``,
``zone.vm_numa_event``, ``pgdat.vm_stat``, ``m.vm_event``), indexed by the enums of
include/vmstat_items.py and updated inline where the kernel updates them (page_alloc.py for
the free-page and allocation counters). This module has the readers the kernel keeps here
(``global_zone_page_state`` …), the small writers (``mod_node_page_state`` with its
byte-to-page conversion), the dirty limits that /proc/vmstat prints (their home is
mm/page-writeback.c, but nothing else in the model needs them yet), the fragmentation indices
(used by compaction) and the renderers of /proc/buddyinfo, /proc/pagetypeinfo,
/proc/zoneinfo, /proc/vmstat and debugfs extfrag/{unusable_index,extfrag_index}.
/proc/meminfo is in fs/proc/meminfo.py; the path table is fs/proc/registry.py.

Every renderer is built from per-line formatters that take plain numbers
(``frag_show_line``, ``pagetypeinfo_free_line`` …), so a line can be checked byte for byte
against a real kernel's output fed with the same numbers.

Mirrors Linux 6.12; /proc formats of 6.18; deviations are marked ``# SIM:``.

Counter units
-------------
As in the kernel: zone and node counters in pages, except ``nr_kernel_stack`` (KiB); the
slab counters (``NR_SLAB_*_B``) are *stored* in pages (``mod_node_page_state`` takes bytes
and converts, as ``__mod_node_page_state`` does); the THP counters are stored in base pages
and printed in huge pages (``vmstat_item_print_in_thp``); ``m.vm_event[PGPGIN/PGPGOUT]``
count 512-byte sectors and are printed in KiB.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, NamedTuple

import numpy as np

from memsim.arch import MAX_PAGE_ORDER, NR_PAGE_ORDERS, PAGE_SHIFT, PAGE_SIZE
from memsim.include.mmzone import MIGRATE_TYPES, MIGRATETYPE_NAMES, PgData, Zone
from memsim.include.mmzone_types import ZoneType
from memsim.include.vmstat_items import (
    VM_GLOBAL_ITEMS,
    NodeStatItem,
    NumaStatItem,
    VmEventItem,
    ZoneStatItem,
    vmstat_event_lines,
)

if TYPE_CHECKING:
    from memsim.machine import Machine

#: MAX_RECLAIM_RETRIES (mm/internal.h): kswapd_failures at which a node is unreclaimable
MAX_RECLAIM_RETRIES = 16

#: HPAGE_PMD_ORDER per architecture (PMD_SHIFT - PAGE_SHIFT); None: no THP (32-bit ARM
#: without LPAE cannot enable CONFIG_TRANSPARENT_HUGEPAGE).
HPAGE_PMD_ORDER: dict[str, int | None] = {
    "x86_64": 9,     # 2 MiB PMD
    "i386": 10,      # non-PAE: the PMD is folded into the PGD and maps 4 MiB
    "arm64": 9,      # 4 KiB granule: 2 MiB block
    "arm": None,
}

#: the pagetypeinfo free-list walk stops here (mm/vmstat.c pagetypeinfo_showfree_print)
PAGETYPEINFO_FREECOUNT_CAP = 100000

#: vm_dirty_ratio and dirty_background_ratio defaults (mm/page-writeback.c)
VM_DIRTY_RATIO_DEFAULT = 20
DIRTY_BACKGROUND_RATIO_DEFAULT = 10

_THP_ITEMS = frozenset({
    NodeStatItem.NR_ANON_THPS,
    NodeStatItem.NR_FILE_THPS,
    NodeStatItem.NR_SHMEM_THPS,
    NodeStatItem.NR_SHMEM_PMDMAPPED,
    NodeStatItem.NR_FILE_PMDMAPPED,
})
_BYTE_ITEMS = frozenset({NodeStatItem.NR_SLAB_RECLAIMABLE_B,
                         NodeStatItem.NR_SLAB_UNRECLAIMABLE_B})


# --------------------------------------------------------------------------------------------
# counters: readers


def zone_page_state(zone: Zone, item: int) -> int:
    """zone_page_state(): one zone's counter, clamped at 0 as on SMP kernels."""
    return max(zone.vm_stat[item], 0)


def node_page_state_pages(pgdat: PgData, item: int) -> int:
    """node_page_state_pages(): one node's counter in its stored unit, clamped at 0."""
    return max(pgdat.vm_stat[item], 0)


def node_page_state(pgdat: PgData, item: int) -> int:
    """node_page_state(): as node_page_state_pages() (the kernel warns on byte items)."""
    return node_page_state_pages(pgdat, item)


def global_zone_page_state(m: Machine, item: int) -> int:
    """global_zone_page_state(): the sum over every zone, clamped at 0."""
    return max(sum(z.vm_stat[item] for z in m.zones), 0)


def global_node_page_state_pages(m: Machine, item: int) -> int:
    """global_node_page_state_pages(): the sum over every node, clamped at 0."""
    return max(sum(pg.vm_stat[item] for pg in m.nodes), 0)


def global_node_page_state(m: Machine, item: int) -> int:
    """global_node_page_state(): as global_node_page_state_pages() for page-unit items."""
    return global_node_page_state_pages(m, item)


def zone_numa_event_state(zone: Zone, item: int) -> int:
    """zone_numa_event_state(): one zone's NUMA event count."""
    return zone.vm_numa_event[item]


def global_numa_event_state(m: Machine, item: int) -> int:
    """global_numa_event_state(): a NUMA event summed over every zone."""
    return sum(z.vm_numa_event[item] for z in m.zones)


def sum_zone_node_page_state(m: Machine, node: int, item: int) -> int:
    """sum_zone_node_page_state(): a zone counter summed over the zones of *node*."""
    return sum(z.vm_stat[item] for z in m.nodes[node].node_zones)


def sum_zone_numa_event_state(m: Machine, node: int, item: int) -> int:
    """sum_zone_numa_event_state(): a NUMA event summed over the zones of *node*."""
    return sum(z.vm_numa_event[item] for z in m.nodes[node].node_zones)


def vmstat_item_in_bytes(item: int) -> bool:
    """vmstat_item_in_bytes(): the slab counters are updated in bytes."""
    return item in _BYTE_ITEMS


def vmstat_item_print_in_thp(m: Machine, item: int) -> bool:
    """vmstat_item_print_in_thp(): THP counters are printed in huge pages."""
    return HPAGE_PMD_ORDER[m.arch.name] is not None and item in _THP_ITEMS


def hpage_pmd_nr(m: Machine) -> int:
    """HPAGE_PMD_NR: base pages per PMD-mapped huge page (1 on an arch without THP)."""
    order = HPAGE_PMD_ORDER[m.arch.name]
    return 1 << order if order is not None else 1


def _node_stat_printed(m: Machine, pgdat: PgData | None, item: NodeStatItem) -> int:
    pages = (node_page_state_pages(pgdat, item) if pgdat is not None
             else global_node_page_state_pages(m, item))
    if vmstat_item_print_in_thp(m, item):
        pages //= hpage_pmd_nr(m)
    return pages


# --------------------------------------------------------------------------------------------
# counters: writers


def mod_zone_page_state(zone: Zone, item: int, delta: int) -> None:
    """mod_zone_page_state(): add *delta* pages to a zone counter."""
    zone.vm_stat[item] += delta


def mod_node_page_state(pgdat: PgData, item: int, delta: int) -> None:
    """
    mod_node_page_state(): add *delta* to a node counter; for the slab items *delta* is in
    bytes (a multiple of PAGE_SIZE) and is stored in pages, as the kernel does.
    """
    if vmstat_item_in_bytes(item):
        delta >>= PAGE_SHIFT
    pgdat.vm_stat[item] += delta


def count_vm_events(m: Machine, item: int, delta: int) -> None:
    """count_vm_events()"""
    m.vm_event[item] += delta


def count_vm_event(m: Machine, item: int) -> None:
    """count_vm_event()"""
    m.vm_event[item] += 1


# --------------------------------------------------------------------------------------------
# dirty limits (mm/page-writeback.c), printed by /proc/vmstat


def is_highmem(m: Machine, zone: Zone) -> bool:
    """
    is_highmem(): ZONE_HIGHMEM, or ZONE_MOVABLE when it was carved out of highmem
    (zone_movable_is_highmem(): the machine has highmem, so movable_zone is ZONE_HIGHMEM).
    """
    if zone.zone_type == ZoneType.ZONE_HIGHMEM:
        return True
    return zone.zone_type == ZoneType.ZONE_MOVABLE and m.arch.highmem and any(
        z.zone_type == ZoneType.ZONE_HIGHMEM and z.populated() for z in m.zones)


def highmem_dirtyable_memory(m: Machine, total: int) -> int:
    """highmem_dirtyable_memory(): free-above-high plus file LRU pages of highmem zones."""
    if not m.arch.highmem:
        return 0
    x = 0
    for z in m.zones:
        if z.idx <= (m.arch.zone_idx(ZoneType.ZONE_NORMAL) or 0):
            continue
        if not is_highmem(m, z) or not z.populated():
            continue
        nr_pages = zone_page_state(z, ZoneStatItem.NR_FREE_PAGES)
        nr_pages -= min(nr_pages, z.high_wmark_pages())
        nr_pages += zone_page_state(z, ZoneStatItem.NR_ZONE_INACTIVE_FILE)
        nr_pages += zone_page_state(z, ZoneStatItem.NR_ZONE_ACTIVE_FILE)
        x += nr_pages
    return min(x, total)


def global_dirtyable_memory(m: Machine) -> int:
    """global_dirtyable_memory(): free + file LRU - totalreserve (- highmem), at least 1."""
    x = global_zone_page_state(m, ZoneStatItem.NR_FREE_PAGES)
    x -= min(x, m.totalreserve_pages)
    x += global_node_page_state(m, NodeStatItem.NR_INACTIVE_FILE)
    x += global_node_page_state(m, NodeStatItem.NR_ACTIVE_FILE)
    if not int(getattr(m.sysctl, "highmem_is_dirtyable", 0)):
        x -= highmem_dirtyable_memory(m, x)
    return x + 1


def domain_dirty_limits(available: int, dirty_ratio: int = VM_DIRTY_RATIO_DEFAULT,
                        background_ratio: int = DIRTY_BACKGROUND_RATIO_DEFAULT,
                        dirty_bytes: int = 0, background_bytes: int = 0) -> tuple[int, int]:
    """
    domain_dirty_limits() for the global domain: ``(bg_thresh, thresh)`` in pages for
    *available* dirtyable pages.

    The ratios are converted to parts per PAGE_SIZE first (``20 * 4096 // 100 = 819``), as
    the kernel does for precision, so the limits are not exactly 20% and 10%.
    vm.dirty_bytes / dirty_background_bytes override the ratios when set. The boost for
    real-time tasks does not apply (the reader is not RT).
    """
    ratio = dirty_ratio * PAGE_SIZE // 100
    bg_ratio = background_ratio * PAGE_SIZE // 100
    if dirty_bytes:
        thresh = -(-dirty_bytes // PAGE_SIZE)
    else:
        thresh = ratio * available // PAGE_SIZE
    if background_bytes:
        bg_thresh = -(-background_bytes // PAGE_SIZE)
    else:
        bg_thresh = bg_ratio * available // PAGE_SIZE
    thresh = min(thresh, (1 << 32) - 1)
    if bg_thresh >= thresh:
        bg_thresh = thresh // 2
    return bg_thresh, thresh


def global_dirty_limits(m: Machine) -> tuple[int, int]:
    """global_dirty_limits(): ``(background_thresh, dirty_thresh)`` in pages, from
    vm.dirty_(background_)ratio / _bytes."""
    return domain_dirty_limits(
        global_dirtyable_memory(m),
        int(getattr(m.sysctl, "dirty_ratio", VM_DIRTY_RATIO_DEFAULT)),
        int(getattr(m.sysctl, "dirty_background_ratio", DIRTY_BACKGROUND_RATIO_DEFAULT)),
        int(getattr(m.sysctl, "dirty_bytes", 0)),
        int(getattr(m.sysctl, "dirty_background_bytes", 0)))


# --------------------------------------------------------------------------------------------
# fragmentation indices


class ContigPageInfo(NamedTuple):
    """struct contig_page_info"""

    free_pages: int
    free_blocks_total: int
    free_blocks_suitable: int


def contig_page_info_from_counts(nr_free: Sequence[int], suitable_order: int) -> ContigPageInfo:
    """fill_contig_page_info() over plain per-order block counts (``nr_free[order]``)."""
    free_pages = free_blocks_total = free_blocks_suitable = 0
    for order, blocks in enumerate(nr_free):
        free_blocks_total += blocks
        free_pages += blocks << order
        if order >= suitable_order:
            free_blocks_suitable += blocks << (order - suitable_order)
    return ContigPageInfo(free_pages, free_blocks_total, free_blocks_suitable)


def fill_contig_page_info(zone: Zone, suitable_order: int) -> ContigPageInfo:
    """
    fill_contig_page_info(): free pages, free blocks, and free blocks big enough for
    *suitable_order* (a bigger block counts once per suitable piece), from ``nr_free``.
    """
    return contig_page_info_from_counts([fa.nr_free for fa in zone.free_area], suitable_order)


def __fragmentation_index(order: int, info: ContigPageInfo) -> int:
    """
    __fragmentation_index(): 0..1000 when an allocation of *order* would fail (towards 0:
    lack of memory, towards 1000: fragmentation); -1000 when it would succeed; 0 when the
    zone has no free blocks (or *order* is out of range, where the kernel WARNs).
    """
    requested = 1 << order
    if order > MAX_PAGE_ORDER:
        return 0
    if not info.free_blocks_total:
        return 0
    if info.free_blocks_suitable:
        return -1000
    return 1000 - (1000 + info.free_pages * 1000 // requested) // info.free_blocks_total


def fragmentation_index(zone: Zone, order: int) -> int:
    """fragmentation_index(): __fragmentation_index() of *zone*'s current free lists."""
    return __fragmentation_index(order, fill_contig_page_info(zone, order))


def extfrag_for_order(zone: Zone, order: int) -> int:
    """extfrag_for_order(): percentage of free pages in blocks smaller than *order*."""
    info = fill_contig_page_info(zone, order)
    if info.free_pages == 0:
        return 0
    return (info.free_pages - (info.free_blocks_suitable << order)) * 100 // info.free_pages


def unusable_free_index(order: int, info: ContigPageInfo) -> int:
    """
    unusable_free_index(): thousandths of free memory unusable for an *order* allocation
    (1000 when nothing is free).
    """
    if info.free_pages == 0:
        return 1000
    return (info.free_pages - (info.free_blocks_suitable << order)) * 1000 // info.free_pages


def _c_div(a: int, b: int) -> int:
    # C integer division truncates towards zero.
    q = abs(a) // abs(b)
    return q if (a >= 0) == (b > 0) else -q


def _c_mod(a: int, b: int) -> int:
    return a - b * _c_div(a, b)


def format_index(index: int, width: int = 0) -> str:
    """``"%{width}d.%03d "`` of ``index / 1000`` and ``index % 1000`` with C semantics."""
    return f"{_c_div(index, 1000):{width}d}.{_c_mod(index, 1000):03d} "


# --------------------------------------------------------------------------------------------
# per-line formatters (plain numbers in, kernel bytes out)


def zone_line_prefix(nid: int, zone_name: str) -> str:
    """``"Node %d, zone %8s "``: the start of buddyinfo, blockcount and extfrag lines."""
    return f"Node {nid}, zone {zone_name:>8} "


def frag_show_line(nid: int, zone_name: str, nr_free: Sequence[int]) -> str:
    """One /proc/buddyinfo line: ``"%6lu "`` per order, trailing space, newline."""
    return zone_line_prefix(nid, zone_name) + "".join(f"{n:6d} " for n in nr_free) + "\n"


def pagetypeinfo_free_header(nr_orders: int = NR_PAGE_ORDERS) -> str:
    """The header of the free-count table: ``"%-43s "`` then ``"%6d "`` per order."""
    return (f"{'Free pages count per migrate type at order':<43} "
            + "".join(f"{o:6d} " for o in range(nr_orders)) + "\n")


def pagetypeinfo_free_line(nid: int, zone_name: str, mt_name: str,
                           counts: Sequence[int]) -> str:
    """
    One free-count row: ``"Node %4d, zone %8s, type %12s "`` then ``"%s%6lu "`` per order;
    a list of PAGETYPEINFO_FREECOUNT_CAP or more entries prints as ``>100000``.
    """
    cells = []
    for n in counts:
        if n >= PAGETYPEINFO_FREECOUNT_CAP:
            cells.append(f">{PAGETYPEINFO_FREECOUNT_CAP:6d} ")
        else:
            cells.append(f"{n:6d} ")
    return f"Node {nid:4d}, zone {zone_name:>8}, type {mt_name:>12} " + "".join(cells) + "\n"


def pagetypeinfo_blockcount_header(mt_names: Sequence[str] = MIGRATETYPE_NAMES) -> str:
    """``"\\n%-23s"`` with ``Number of blocks type `` then ``"%12s "`` per migratetype."""
    return (f"\n{'Number of blocks type ':<23}" + "".join(f"{n:>12} " for n in mt_names)
            + "\n")


def pagetypeinfo_blockcount_line(nid: int, zone_name: str, counts: Sequence[int]) -> str:
    """One pageblock-count row: ``"Node %d, zone %8s "`` then ``"%12lu "`` per type."""
    return zone_line_prefix(nid, zone_name) + "".join(f"{n:12d} " for n in counts) + "\n"


def zoneinfo_stat_line(name: str, value: int) -> str:
    """``"\\n      %-12s %lu"``: a counter line of zoneinfo (node, zone and NUMA items)."""
    return f"\n      {name:<12} {value}"


def zoneinfo_pageset_lines(cpu: int, count: int, high: int, batch: int, high_min: int,
                           high_max: int, stat_threshold: int) -> str:
    """One CPU's pageset block of zoneinfo (6.18 layout) and its vm stats threshold."""
    return (f"\n    cpu: {cpu}"
            f"\n              count:    {count}"
            f"\n              high:     {high}"
            f"\n              batch:    {batch}"
            f"\n              high_min: {high_min}"
            f"\n              high_max: {high_max}"
            f"\n  vm stats threshold: {stat_threshold}")


def zoneinfo_zone_lines(free: int, boost: int, wmarks: Sequence[int], spanned: int,
                        present: int, managed: int, cma: int,
                        protection: Sequence[int]) -> str:
    """The ``pages free`` … ``protection: (…)`` part of a zoneinfo block (no newline)."""
    wmin, wlow, whigh, wpromo = wmarks
    return (f"\n  pages free     {free}"
            f"\n        boost    {boost}"
            f"\n        min      {wmin}"
            f"\n        low      {wlow}"
            f"\n        high     {whigh}"
            f"\n        promo    {wpromo}"
            f"\n        spanned  {spanned}"
            f"\n        present  {present}"
            f"\n        managed  {managed}"
            f"\n        cma      {cma}"
            f"\n        protection: ({', '.join(str(x) for x in protection)})")


# --------------------------------------------------------------------------------------------
# node walks


def node_has_memory(pgdat: PgData) -> bool:
    """node_state(nid, N_MEMORY): the node has a populated zone."""
    return any(z.populated() for z in pgdat.node_zones)


def walk_zones_in_node(pgdat: PgData, assert_populated: bool) -> list[Zone]:
    """walk_zones_in_node(): the node's zones in index order (only populated ones if asked)."""
    return [z for z in pgdat.node_zones if z.populated() or not assert_populated]


# --------------------------------------------------------------------------------------------
# /proc/buddyinfo


def frag_show_print(m: Machine, pgdat: PgData, zone: Zone) -> str:
    """frag_show_print(): one zone's free block count per order."""
    return frag_show_line(pgdat.node_id, zone.name, [fa.nr_free for fa in zone.free_area])


def frag_show(m: Machine) -> str:
    """/proc/buddyinfo: every populated zone of every node."""
    return "".join(frag_show_print(m, pg, z) for pg in m.nodes
                   for z in walk_zones_in_node(pg, True))


# --------------------------------------------------------------------------------------------
# /proc/pagetypeinfo


def pagetypeinfo_showfree_print(m: Machine, pgdat: PgData, zone: Zone) -> str:
    """pagetypeinfo_showfree_print(): free list lengths per migratetype and order."""
    out = []
    for mt in range(MIGRATE_TYPES):
        counts = [len(zone.free_area[o].free_list[mt]) for o in range(NR_PAGE_ORDERS)]
        out.append(pagetypeinfo_free_line(pgdat.node_id, zone.name, MIGRATETYPE_NAMES[mt],
                                          counts))
    return "".join(out)


def _present_section_mask(m: Machine) -> np.ndarray | None:
    # SPARSEMEM: sections holding any memblock memory (present, hence online at boot).
    # None for FLATMEM, where every PFN of the span has a struct page.
    bits = m.arch.section_size_bits
    if not bits or m.memblock is None:
        return None
    shift = bits - PAGE_SHIFT
    nr_sections = (m.mem_map.nr_pfns >> shift) + 1
    present = np.zeros(nr_sections, dtype=bool)
    for r in m.memblock.memory.regions:
        spfn = (r.base + PAGE_SIZE - 1) >> PAGE_SHIFT
        epfn = r.end >> PAGE_SHIFT
        if epfn > spfn:
            present[spfn >> shift:((epfn - 1) >> shift) + 1] = True
    return present


def pageblock_counts(m: Machine, zone: Zone, present: np.ndarray | None = None) -> list[int]:
    """
    The pageblock count per migratetype of pagetypeinfo_showblockcount_print(): one
    pageblock per ``pageblock_nr_pages`` step from ``zone_start_pfn`` (not aligned: the
    kernel steps from the zone's first PFN), skipping PFNs without an online struct page
    (pfn_to_online_page(): absent SPARSEMEM sections).
    """
    if not zone.spanned_pages:
        return [0] * MIGRATE_TYPES
    n = -(-zone.spanned_pages // m.pageblock_nr_pages)
    pfns = zone.zone_start_pfn + np.arange(n, dtype=np.int64) * m.pageblock_nr_pages
    if present is None:
        present = _present_section_mask(m)
    if present is not None:
        shift = m.arch.section_size_bits - PAGE_SHIFT
        pfns = pfns[present[pfns >> shift]]
    mt = np.frombuffer(m.pageblock_mt, dtype=np.uint8)[pfns >> m.pageblock_order]
    counts = np.bincount(mt, minlength=256)
    return [int(c) for c in counts[:MIGRATE_TYPES]]


def pagetypeinfo_showblockcount_print(m: Machine, pgdat: PgData, zone: Zone,
                                      present: np.ndarray | None = None) -> str:
    """pagetypeinfo_showblockcount_print(): pageblocks per migratetype in the zone span."""
    return pagetypeinfo_blockcount_line(pgdat.node_id, zone.name,
                                        pageblock_counts(m, zone, present))


def pagetypeinfo_show(m: Machine) -> str:
    """
    /proc/pagetypeinfo: per node with memory, the pageblock size, the free-list lengths per
    migratetype and order, and the pageblock count per migratetype.
    (No "mixed blocks" table: page_owner is not enabled.)
    """
    present = _present_section_mask(m)
    out = []
    for pg in m.nodes:
        if not node_has_memory(pg):
            continue
        zones = walk_zones_in_node(pg, True)
        out.append(f"Page block order: {m.pageblock_order}\n")
        out.append(f"Pages per block:  {m.pageblock_nr_pages}\n")
        out.append("\n")
        out.append(pagetypeinfo_free_header())
        out.extend(pagetypeinfo_showfree_print(m, pg, z) for z in zones)
        out.append(pagetypeinfo_blockcount_header())
        out.extend(pagetypeinfo_showblockcount_print(m, pg, z, present) for z in zones)
    return "".join(out)


# --------------------------------------------------------------------------------------------
# /proc/zoneinfo


def is_zone_first_populated(pgdat: PgData, zone: Zone) -> bool:
    """is_zone_first_populated(): *zone* is the lowest populated zone of its node."""
    for z in pgdat.node_zones:
        if z.populated():
            return z is zone
    return False


def zoneinfo_show_print(m: Machine, pgdat: PgData, zone: Zone) -> str:
    """zoneinfo_show_print(): one zone's block of /proc/zoneinfo."""
    out = [f"Node {pgdat.node_id}, zone {zone.name:>8}"]
    if is_zone_first_populated(pgdat, zone):
        out.append("\n  per-node stats")
        for item in NodeStatItem:
            out.append(zoneinfo_stat_line(item.name.lower(), _node_stat_printed(m, pgdat, item)))
    out.append(zoneinfo_zone_lines(
        zone_page_state(zone, ZoneStatItem.NR_FREE_PAGES), zone.watermark_boost,
        (zone.min_wmark_pages(), zone.low_wmark_pages(), zone.high_wmark_pages(),
         zone.promo_wmark_pages()),
        zone.spanned_pages, zone.present_pages, zone.managed_pages, zone.cma_pages,
        zone.lowmem_reserve))
    if not zone.populated():
        out.append("\n")
        return "".join(out)
    for zitem in ZoneStatItem:
        out.append(zoneinfo_stat_line(zitem.name.lower(), zone_page_state(zone, zitem)))
    for nitem in NumaStatItem:
        out.append(zoneinfo_stat_line(nitem.name.lower(), zone_numa_event_state(zone, nitem)))
    out.append("\n  pagesets")
    for cpu in range(m.nr_cpus):
        pcp = zone.per_cpu_pageset[cpu]
        out.append(zoneinfo_pageset_lines(cpu, pcp.count, pcp.high, pcp.batch, pcp.high_min,
                                          pcp.high_max,
                                          zone.per_cpu_zonestats[cpu].stat_threshold))
    out.append(f"\n  node_unreclaimable:  {int(pgdat.kswapd_failures >= MAX_RECLAIM_RETRIES)}"
               f"\n  start_pfn:           {zone.zone_start_pfn}")
    out.append("\n")
    return "".join(out)


def zoneinfo_show(m: Machine) -> str:
    """/proc/zoneinfo: every zone of every node, populated or not."""
    return "".join(zoneinfo_show_print(m, pg, z) for pg in m.nodes
                   for z in walk_zones_in_node(pg, False))


# --------------------------------------------------------------------------------------------
# /proc/vmstat


def vmstat_values(m: Machine) -> list[tuple[str, int]]:
    """
    The (name, value) pairs of /proc/vmstat in order (vmstat_start()): zone counters, NUMA
    events, node counters (THP ones in huge pages), the four global values, the events
    (pgpgin/pgpgout converted from sectors to KiB) and the deprecated ``nr_unstable``.
    """
    rows: list[tuple[str, int]] = []
    rows.extend((i.name.lower(), global_zone_page_state(m, i)) for i in ZoneStatItem)
    rows.extend((i.name.lower(), global_numa_event_state(m, i)) for i in NumaStatItem)
    rows.extend((i.name.lower(), _node_stat_printed(m, None, i)) for i in NodeStatItem)
    background, dirty = global_dirty_limits(m)
    # nr_memmap_pages counts memmap allocated after boot (memory hotplug): none here.
    globals_ = {"nr_dirty_threshold": dirty, "nr_dirty_background_threshold": background,
                "nr_memmap_pages": 0, "nr_memmap_boot_pages": m.nr_memmap_boot_pages}
    rows.extend((name, globals_[name]) for name in VM_GLOBAL_ITEMS)
    events = list(m.vm_event)
    events[VmEventItem.PGPGIN] //= 2       # sectors -> kbytes
    events[VmEventItem.PGPGOUT] //= 2
    for line in vmstat_event_lines(events, m.arch.zones):
        name, value = line.split(" ")
        rows.append((name, int(value)))
    rows.append(("nr_unstable", 0))
    return rows


def vmstat_show(m: Machine) -> str:
    """/proc/vmstat: ``"<name> <value>"`` per line."""
    return "".join(f"{name} {value}\n" for name, value in vmstat_values(m))


# --------------------------------------------------------------------------------------------
# debugfs extfrag/unusable_index and extfrag/extfrag_index


def unusable_show_line(nid: int, zone_name: str, nr_free: Sequence[int]) -> str:
    """One unusable_index line from per-order free block counts: ``"%d.%03d "`` per order."""
    cells = [format_index(unusable_free_index(o, contig_page_info_from_counts(nr_free, o)))
             for o in range(NR_PAGE_ORDERS)]
    return zone_line_prefix(nid, zone_name) + "".join(cells) + "\n"


def extfrag_show_line(nid: int, zone_name: str, nr_free: Sequence[int]) -> str:
    """One extfrag_index line from per-order free block counts: ``"%2d.%03d "`` per order."""
    cells = [format_index(__fragmentation_index(o, contig_page_info_from_counts(nr_free, o)),
                          2)
             for o in range(NR_PAGE_ORDERS)]
    return zone_line_prefix(nid, zone_name) + "".join(cells) + "\n"


def unusable_show_print(m: Machine, pgdat: PgData, zone: Zone) -> str:
    """unusable_show_print()"""
    return unusable_show_line(pgdat.node_id, zone.name, [fa.nr_free for fa in zone.free_area])


def extfrag_show_print(m: Machine, pgdat: PgData, zone: Zone) -> str:
    """extfrag_show_print()"""
    return extfrag_show_line(pgdat.node_id, zone.name, [fa.nr_free for fa in zone.free_area])


def unusable_show(m: Machine) -> str:
    """extfrag/unusable_index: every populated zone of every node with memory."""
    return "".join(unusable_show_print(m, pg, z) for pg in m.nodes if node_has_memory(pg)
                   for z in walk_zones_in_node(pg, True))


def extfrag_show(m: Machine) -> str:
    """extfrag/extfrag_index: every populated zone of every node."""
    return "".join(extfrag_show_print(m, pg, z) for pg in m.nodes
                   for z in walk_zones_in_node(pg, True))
