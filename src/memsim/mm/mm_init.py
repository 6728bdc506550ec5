"""
Boot: from the firmware memory map to a running buddy allocator (mm/mm_init.c).

``boot_memory(m)`` runs the kernel's sequence: memblock regions and reservations (arch
setup), NUMA node ranges, zone spans (``free_area_init``), zonelists
(``build_all_zonelists``), struct page state, ``memblock_free_all`` handing free memory to
the buddy allocator in naturally aligned chunks, the per-zone watermarks and pcp sizes
(``init_per_zone_wmark_min``, ``setup_per_cpu_pageset``), the THP raise of min_free_kbytes,
and finally freeing the kernel's init sections. The boot log goes to dmesg in the kernel's
words. Watermark formulas are in page_alloc.py (their home in the kernel).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from memsim.arch import MAX_PAGE_ORDER, PAGE_SHIFT, PAGE_SIZE, firmware_memory_map, max_zone_pfns
from memsim.include.mmzone import FreeArea, PerCpuPages, PerCpuZoneStat, PgData, Zone
from memsim.include.mmzone_types import ZONE_NAMES, ZoneType
from memsim.include.page_flags import PageFlags
from memsim.include.vmstat_items import (
    NR_VM_NODE_STAT_ITEMS,
    NR_VM_NUMA_EVENT_ITEMS,
    NR_VM_ZONE_STAT_ITEMS,
    NodeStatItem,
)
from memsim.mm import page_alloc
from memsim.mm.internal import FPI_TO_TAIL
from memsim.mm.memblock import Memblock

if TYPE_CHECKING:
    from memsim.machine import Machine

LOCAL_DISTANCE = 10
REMOTE_DISTANCE = 20
PENALTY_FOR_NODE_WITH_CPUS = 1
MAX_NUMNODES = 1024          # NODES_SHIFT = 10 on a distro x86-64 build
MAX_ORDER_NR_PAGES = 1 << MAX_PAGE_ORDER


def _fmt_range(start: int, end: int) -> str:
    return f"[mem {start:#018x}-{end - 1:#018x}]"


def setup_memblock(m: Machine) -> Memblock:
    """The arch's setup_arch(): register RAM, apply mem=, assign nodes, reserve."""
    arch = m.arch
    mb = Memblock()
    ranges = firmware_memory_map(arch, m.config.mem_bytes)
    if arch.name in ("x86_64", "i386"):
        for start, end in ranges:
            m.printk(f"BIOS-e820: {_fmt_range(start, end)} usable")
    for start, end in ranges:
        mb.memblock_add(start, end - start)
    limit = m.config["cmdline.mem"]
    if limit is not None:
        if arch.name in ("x86_64", "i386"):
            # x86: mem= is the highest usable physical address (e820 truncation).
            mb.memblock_remove(limit, (1 << 64) - limit)
            m.printk(f"e820: remove [mem {limit:#010x}-0xffffffffffffffff] usable")
        else:
            # memblock_mem_limit_remove_map(): keep the first *limit* bytes of RAM.
            left = limit
            for r in list(mb.memory.regions):
                if left >= r.size:
                    left -= r.size
                    continue
                mb.memblock_remove(r.base + left, r.size - left)
                left = 0
    if not mb.memory.regions:
        from memsim.errors import ConfigError
        raise ConfigError("cmdline.mem: leaves no memory")
    _assign_nodes(m, mb)
    # Reservations, in the order setup_arch() makes them.
    if arch.reserve_low_1m:
        mb.memblock_reserve(0, 1 << 20)
    img = arch.image
    kend = arch.kernel_phys + img.total_kb * 1024
    ram_end = max(r.base + r.size for r in mb.memory.regions)
    # the kernel image must sit in RAM, with room for the memmap and early allocations
    # after it (a real machine with less RAM does not get past decompression)
    need = kend + (4 << 20) - arch.dram_base
    if ram_end < kend + (4 << 20):
        from memsim.errors import ConfigError
        raise ConfigError(f"mem: {m.config.mem_bytes >> 20} MiB is too small for the {arch.name} "
                          f"kernel image at {arch.kernel_phys:#x} ({img.total_kb} KiB); "
                          f"give at least {((need + (4 << 20) - 1) >> 22) * 4} MiB")
    mb.memblock_reserve(arch.kernel_phys, img.total_kb * 1024)
    m.kernel_init_range = (arch.kernel_phys + (img.code_kb + img.rwdata_kb + img.rodata_kb)
                           * 1024, img.init_kb * 1024)
    if arch.name == "arm":
        # swapper_pg_dir: 16 KiB of first-level page table below the kernel text
        mb.memblock_reserve((arch.kernel_phys & ~0xFFFFF) + 0x4000, 0x4000)
    return mb


def _assign_nodes(m: Machine, mb: Memblock) -> None:
    # SIM: like numa=fake=N, RAM is split evenly in address order, at MAX_ORDER boundaries,
    # and each node gets an equal share of the CPUs.
    nodes = m.config.nodes
    total = mb.memory.total_size
    share = total // nodes
    boundaries: list[int] = []
    acc = 0
    target = share
    for r in mb.memory.regions:
        while len(boundaries) < nodes - 1 and acc + r.size > target:
            addr = r.base + (target - acc)
            addr &= ~(MAX_ORDER_NR_PAGES * PAGE_SIZE - 1)
            boundaries.append(addr)
            target += share
        acc += r.size
    bounds = [0, *boundaries, 1 << 64]
    for nid in range(nodes):
        mb.set_node(bounds[nid], bounds[nid + 1] - bounds[nid], nid)


def reserve_memmap_and_percpu(m: Machine, mb: Memblock) -> None:
    """sparse_init()/alloc_node_mem_map() and setup_per_cpu_areas(): top-down memblock."""
    arch = m.arch
    lowmem_end = (m.max_low_pfn << PAGE_SHIFT) if arch.highmem else None
    memmap_pages = 0
    for node in m.nodes:
        if arch.section_size_bits:
            # vmemmap: 64 bytes of struct page for every page of each present section.
            sec_pages = 1 << (arch.section_size_bits - PAGE_SHIFT)
            sections = {pfn >> (arch.section_size_bits - PAGE_SHIFT)
                        for r in mb.memory.regions if r.nid == node.node_id
                        for pfn in range(r.base >> PAGE_SHIFT, (r.end - 1 >> PAGE_SHIFT) + 1,
                                         sec_pages)}
            size = len(sections) * sec_pages * arch.struct_page_size
        else:
            # FLATMEM mem_map: one struct page per PFN of the node's span, in lowmem.
            size = node.node_spanned_pages * arch.struct_page_size
        size = -(-size // PAGE_SIZE) * PAGE_SIZE
        base = mb.memblock_phys_alloc_range(size, 1 << 21 if arch.bits == 64 else PAGE_SIZE,
                                            end=lowmem_end, nid=node.node_id)
        if base is None:
            base = mb.memblock_phys_alloc_range(size, PAGE_SIZE, end=lowmem_end)
        if base is None:
            from memsim.errors import ConfigError
            raise ConfigError("mem: too small to hold the memmap")
        memmap_pages += size >> PAGE_SHIFT
    m.nr_memmap_boot_pages = memmap_pages
    # setup_per_cpu_areas() -> pcpu_embed_first_chunk(): one area per node, one unit per CPU
    from memsim.mm.percpu import pcpu_embed_first_chunk
    ai = pcpu_embed_first_chunk(m, mb, lowmem_end)
    for gi in ai.groups:            # per_cpu_ptr_to_phys() of each CPU's unit
        for i, cpu in enumerate(gi.cpu_map):
            if cpu is not None:
                m.percpu_unit_phys[cpu] = gi.phys + i * ai.unit_size
    m.percpu_first_chunk_bytes = ai.size_sum * sum(g.nr_units for g in ai.groups)


def build_nodes_and_zones(m: Machine, mb: Memblock) -> None:
    """free_area_init(): node spans, zone spans, present pages; the zone objects."""
    arch = m.arch
    mem = mb.memory.regions
    m.max_pfn = max(r.end for r in mem) >> PAGE_SHIFT
    min_pfn = min(r.base for r in mem) >> PAGE_SHIFT
    if arch.lowmem_limit is not None:
        m.max_low_pfn = min(m.max_pfn, (arch.dram_base + arch.lowmem_limit) >> PAGE_SHIFT)
    else:
        m.max_low_pfn = m.max_pfn
    limits = max_zone_pfns(arch, m.max_pfn, m.max_low_pfn)
    # zone type -> [start, end) over the whole machine (before Movable carving)
    zone_ranges: dict[ZoneType, tuple[int, int]] = {}
    lo = min_pfn
    for ztype in arch.zones:
        if ztype in limits:
            hi = max(limits[ztype], lo)
            zone_ranges[ztype] = (lo, hi)
            lo = hi
    m.printk("Zone ranges:")
    for ztype in arch.zones:
        if ztype == ZoneType.ZONE_MOVABLE:
            continue
        name = ZONE_NAMES[ztype]
        zr = zone_ranges.get(ztype)
        if zr is None or zr[0] >= zr[1]:
            m.printk(f"  {name:<8} empty")
        else:
            m.printk(f"  {name:<8} {_fmt_range(zr[0] << PAGE_SHIFT, zr[1] << PAGE_SHIFT)}")
    movable_start = _zone_movable_pfns(m, mb, zone_ranges)
    m.printk("Movable zone start for each node")
    for nid, pfn in sorted(movable_start.items()):
        m.printk(f"  Node {nid}: {pfn << PAGE_SHIFT:#018x}")
    m.printk("Early memory node ranges")
    for r in mem:
        m.printk(f"  node {r.nid:3d}: {_fmt_range(r.base, r.end)}")

    nodes: list[PgData] = []
    for nid in range(m.config.nodes):
        # PFN_UP(start), PFN_DOWN(end): partial pages at the edges are not RAM
        node_regions = [((r.base + PAGE_SIZE - 1) >> PAGE_SHIFT, r.end >> PAGE_SHIFT)
                        for r in mem if r.nid == nid]
        node_regions = [(a, b) for a, b in node_regions if b > a]
        pg = PgData(node_id=nid)
        pg.cpus = [c for c in range(m.nr_cpus) if m.cpu_to_node[c] == nid]
        pg.vm_stat = [0] * NR_VM_NODE_STAT_ITEMS
        if node_regions:
            nstart = node_regions[0][0]
            nend = node_regions[-1][1]
        else:
            nstart = nend = 0
        pg.node_start_pfn = nstart
        pg.node_spanned_pages = nend - nstart
        mstart = movable_start.get(nid)
        for idx, ztype in enumerate(arch.zones):
            z = Zone(name=ZONE_NAMES[ztype], zone_type=ztype, idx=idx, node=nid)
            if ztype == ZoneType.ZONE_MOVABLE:
                zr = (mstart, nend) if mstart is not None else (0, 0)
            elif ztype == ZoneType.ZONE_DEVICE:
                zr = (0, 0)
            else:
                zr = zone_ranges.get(ztype, (0, 0))
                if mstart is not None:
                    zr = (zr[0], min(zr[1], mstart))
            zs, ze = max(zr[0], nstart), min(zr[1], nend)
            if ze > zs:
                z.zone_start_pfn = zs
                z.spanned_pages = ze - zs
                z.present_pages = sum(max(0, min(b, ze) - max(a, zs)) for a, b in node_regions)
            z.managed_pages = z.present_pages   # zone_init_internals(); reset by memblock_free_all
            z.lowmem_reserve = [0] * arch.max_nr_zones
            z.free_area = [FreeArea() for _ in range(MAX_PAGE_ORDER + 1)]
            z.per_cpu_pageset = [PerCpuPages() for _ in range(m.nr_cpus)]
            z.per_cpu_zonestats = [PerCpuZoneStat() for _ in range(m.nr_cpus)]
            z.vm_stat = [0] * NR_VM_ZONE_STAT_ITEMS
            z.vm_numa_event = [0] * NR_VM_NUMA_EVENT_ITEMS
            pg.node_zones.append(z)
        pg.node_present_pages = sum(z.present_pages for z in pg.node_zones)
        m.printk(f"Initmem setup node {nid} {_fmt_range(nstart << PAGE_SHIFT, nend << PAGE_SHIFT)}")
        nodes.append(pg)
    m.nodes = nodes
    m.zones = [z for pg in nodes for z in pg.node_zones]


def _zone_movable_pfns(m: Machine, mb: Memblock,
                       zone_ranges: dict[ZoneType, tuple[int, int]]) -> dict[int, int]:
    # find_zone_movable_pfns_for_nodes(): ZONE_MOVABLE takes the top of each node's
    # highest zone. SIM: the movable amount is spread evenly over nodes (the kernel spreads
    # kernelcore evenly and lets movable take what is left, which is the same for equal
    # nodes) and rounded up to MAX_ORDER_NR_PAGES as the kernel does.
    movablecore = m.config["cmdline.movablecore"]
    kernelcore = m.config["cmdline.kernelcore"]
    if movablecore is None and kernelcore is None:
        return {}
    total = sum(r.size for r in mb.memory.regions) >> PAGE_SHIFT

    def pages(v: int | str) -> int:
        if isinstance(v, str):
            return total * int(v[:-1]) // 100
        return v >> PAGE_SHIFT

    movable = pages(movablecore) if movablecore is not None else total - pages(kernelcore)
    if movable <= 0:
        return {}
    top_type = ZoneType.ZONE_HIGHMEM if m.arch.highmem else ZoneType.ZONE_NORMAL
    top_start = zone_ranges.get(top_type, (0, 0))[0]
    out: dict[int, int] = {}
    per_node = movable // m.config.nodes
    for nid in range(m.config.nodes):
        regions = [r for r in mb.memory.regions if r.nid == nid]
        if not regions:
            continue
        nend = regions[-1].end >> PAGE_SHIFT
        start = nend - per_node
        start = -(-start // MAX_ORDER_NR_PAGES) * MAX_ORDER_NR_PAGES
        start = max(start, top_start)
        if start < nend:
            out[nid] = start
    return out


def build_all_zonelists(m: Machine) -> None:
    """build_all_zonelists(): each node's fallback list in node-distance order."""
    node_load = [0] * len(m.nodes)
    for pg in m.nodes:
        local = pg.node_id
        used: set[int] = set()
        order: list[int] = []
        prev = local
        while True:
            best = _find_next_best_node(m, local, used, node_load)
            if best < 0:
                break
            if m.node_distance(local, best) != m.node_distance(local, prev):
                node_load[best] += 1
            order.append(best)
            prev = best
        fallback: list[Zone] = []
        for nid in order:
            fallback.extend(z for z in reversed(m.nodes[nid].node_zones) if z.populated())
        pg.node_zonelists = [fallback, [z for z in reversed(pg.node_zones) if z.populated()]]
        if m.nr_nodes > 1:
            m.printk(f"Fallback order for Node {local}: " + "".join(f"{n} " for n in order))
    # nr_free_zone_pages(gfp_zone(GFP_HIGHUSER_MOVABLE)) with managed = present, no wmarks
    total = sum(max(0, z.managed_pages - z.high_wmark_pages()) for z in m.zones)
    m.page_group_by_mobility_disabled = total < m.pageblock_nr_pages * 5
    m.printk(f"Built {m.nr_nodes} zonelists, mobility grouping "
             f"{'off' if m.page_group_by_mobility_disabled else 'on'}.  Total pages: {total}")


def _find_next_best_node(m: Machine, node: int, used: set[int], node_load: list[int]) -> int:
    if node not in used and m.nodes[node].node_present_pages:
        used.add(node)
        return node
    best, min_val = -1, 1 << 62
    for pg in m.nodes:
        n = pg.node_id
        if n in used or not pg.node_present_pages:
            continue
        val = m.node_distance(node, n) + (1 if n < node else 0)
        if pg.cpus:
            val += PENALTY_FOR_NODE_WITH_CPUS
        val = val * MAX_NUMNODES + node_load[n]
        if val < min_val:
            min_val, best = val, n
    if best >= 0:
        used.add(best)
    return best


def init_struct_pages(m: Machine, mb: Memblock) -> None:
    """
    memmap_init() + memmap_init_reserved_pages(): every page that will not be handed to
    the buddy allocator (holes and memblock.reserved) is PG_reserved with refcount 1.

    # SIM: the kernel first initialises every struct page (refcount 1, mapcount -1) and
    # __free_pages_core() then resets free ones to refcount 0; here free pages are born in
    # that final state (all fields zero), so a large machine touches no host memory for them.
    """
    mm = m.mem_map
    reserved = 1 << PageFlags.PG_reserved
    free = [((s + PAGE_SIZE - 1) >> PAGE_SHIFT, e >> PAGE_SHIFT) for s, e, _ in mb.free_ranges()]
    free = [(a, b) for a, b in free if b > a]
    prev = 0
    for a, b in [*free, (mm.nr_pfns, mm.nr_pfns)]:
        if a > prev:
            mm.flags_a[prev:a] = reserved
            mm.refcount_a[prev:a] = 1
        prev = max(prev, b)
    # Every pageblock starts MIGRATE_MOVABLE (memmap_init_range()).
    m.pageblock_mt[:] = bytes([1]) * len(m.pageblock_mt)


def memblock_free_all(m: Machine, mb: Memblock) -> None:
    """
    memblock_free_all(): hand every free range to the buddy allocator in the biggest
    naturally aligned chunks (``__free_pages_core`` with FPI_TO_TAIL), counting managed pages.
    """
    for z in m.zones:
        z.managed_pages = 0
    for start, end, _nid in mb.free_ranges():
        spfn = (start + PAGE_SIZE - 1) >> PAGE_SHIFT
        epfn = end >> PAGE_SHIFT
        _free_range(m, spfn, epfn)
    if m.arch.highmem:
        # add_highpages_with_active_regions(): highmem was freed above with lowmem.
        m.totalhigh_pages = sum(z.managed_pages for z in m.zones
                                if z.zone_type == ZoneType.ZONE_HIGHMEM)


def _free_range(m: Machine, pfn: int, end_pfn: int) -> None:
    # __free_pages_memory(): orders limited by alignment and by zone boundaries, since a
    # block never straddles zones (the kernel frees per memblock range; ranges here are
    # split at zone edges, which the kernel's deferred/zone-aware loops also guarantee).
    while pfn < end_pfn:
        order = MAX_PAGE_ORDER if pfn == 0 else min(MAX_PAGE_ORDER, (pfn & -pfn).bit_length() - 1)
        zone = m.page_zone(pfn)
        zend = min(end_pfn, zone.zone_end_pfn)
        while pfn + (1 << order) > zend:
            order -= 1
        memblock_free_pages(m, zone, pfn, order)
        pfn += 1 << order


def memblock_free_pages(m: Machine, zone: Zone, pfn: int, order: int) -> None:
    """memblock_free_pages() -> __free_pages_core(page, order, MEMINIT_EARLY)."""
    n = 1 << order
    zone.managed_pages += n
    m.totalram_pages += n
    page_alloc.split_large_buddy(m, zone, pfn, order, FPI_TO_TAIL)


def mem_init_print_info(m: Machine) -> None:
    """mem_init_print_info(): the "Memory: …K/…K available" line."""
    img = m.arch.image
    physpages = sum(z.present_pages for z in m.zones)
    free = m.nr_free_pages()
    reserved = physpages - m.totalram_pages
    line = (f"Memory: {free << 2}K/{physpages << 2}K available ({img.code_kb}K kernel code, "
            f"{img.rwdata_kb}K rwdata, {img.rodata_kb}K rodata, {img.init_kb}K init, "
            f"{img.bss_kb}K bss, {reserved << 2}K reserved, 0K cma-reserved")
    if m.arch.highmem:
        line += f", {m.totalhigh_pages << 2}K highmem"
    m.printk(line + ")")


def free_initmem(m: Machine) -> None:
    """free_initmem() -> free_reserved_area(): the init sections go to the buddy page by page."""
    start, size = m.kernel_init_range
    spfn = start >> PAGE_SHIFT
    epfn = (start + size) >> PAGE_SHIFT
    mm = m.mem_map
    reserved = 1 << PageFlags.PG_reserved
    for pfn in range(spfn, epfn):
        # free_reserved_page(): ClearPageReserved, init_page_count, __free_page,
        # adjust_managed_page_count(+1)
        mm.flags[pfn] &= ~reserved
        mm.refcount[pfn] = 1
        zone = m.page_zone(pfn)
        zone.managed_pages += 1
        m.totalram_pages += 1
        if zone.zone_type == ZoneType.ZONE_HIGHMEM:
            m.totalhigh_pages += 1
        page_alloc.__free_pages(m, pfn, 0)
    m.printk(f"Freeing unused kernel image (initmem) memory: {(epfn - spfn) << 2}K")


def boot_memory(m: Machine) -> None:
    """Bring up physical memory management, in the kernel's order."""
    mb = setup_memblock(m)
    m.memblock = mb
    build_nodes_and_zones(m, mb)
    reserve_memmap_and_percpu(m, mb)
    m.allocate_memmap()
    build_all_zonelists(m)
    init_struct_pages(m, mb)
    memblock_free_all(m, mb)
    for z in m.zones:
        # The pcp lists start as boot pagesets (high 0, batch 1) until setup_per_cpu_pageset.
        for pcp in z.per_cpu_pageset:
            pcp.high = pcp.high_min = pcp.high_max = 0
            pcp.batch = 1
    page_alloc.init_per_zone_wmark_min(m)
    page_alloc.setup_per_cpu_pageset(m)
    mem_init_print_info(m)
    m.node_stat_set(NodeStatItem.NR_KERNEL_STACK_KB, 0)
    if m.config["thp"] != "never":
        from memsim.mm import khugepaged
        khugepaged.set_recommended_min_free_kbytes(m)
    free_initmem(m)
