"""
Kernel bug reports and model validators (mm/debug.c, lib/bug.c, mm/page_alloc.c bad_page).

Reports go to the machine's dmesg in the kernel's words; in strict mode they also raise
``KernelBug``. State is never changed beyond what the kernel itself does on the same path.
Validators (``validate_*``) recompute what the allocator maintains and raise
``MMCorruptionError`` subclasses on any difference.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from memsim.errors import CounterMismatchError, FreeListError, KernelBug, MMCorruptionError
from memsim.include.mm_types import PGTY_BUDDY
from memsim.include.mmzone import MIGRATETYPE_NAMES, MT_HIGHATOMIC, MT_ISOLATE
from memsim.include.page_flags import PAGE_TYPE_NAMES, format_page_flags
from memsim.include.vmstat_items import NodeStatItem, ZoneStatItem

if TYPE_CHECKING:
    from memsim.machine import Machine

TAINT_BAD_PAGE = "B"
TAINT_WARN = "W"
TAINT_DIE = "D"


class Debug:
    """Bug reporting for one machine (``m.debug``)."""

    def __init__(self, m: Machine) -> None:
        self.m = m
        self.taints: set[str] = set()
        self.warned_once: set[str] = set()
        self.bad_page_shown = 0
        self.bad_page_unshown = 0
        self.bad_page_resume_ns = 0
        self.reports: list[str] = []

    # -- text helpers ------------------------------------------------------------------

    def tainted(self) -> str:
        """print_tainted(): "Not tainted" or "Tainted: B W" style flags."""
        if not self.taints:
            return "Not tainted"
        order = "PFSRMBUDAWCIOELKXTN"
        return "Tainted: " + "".join(c if c in self.taints else " " for c in order).rstrip()

    def _cpu_line(self) -> str:
        m = self.m
        return (f"CPU: {m.current_cpu} UID: 0 PID: {m.current_pid} Comm: {m.current_comm} "
                f"{self.tainted()} 6.12.0-memsim #1")

    def dump_stack(self) -> None:
        """dump_stack(): the CPU and Hardware lines and the Call Trace frame."""
        m = self.m
        m.printk(self._cpu_line(), level=4)
        m.printk("Hardware name: memsim simulated machine", level=4)
        # SIM: the model has no kernel stack to unwind; the Call Trace block is empty.
        m.printk("Call Trace:", level=4)
        m.printk(" <TASK>", level=4)
        m.printk(" </TASK>", level=4)

    def page_flags_word(self, pfn: int) -> int:
        """page->flags with the node/zone fields in the top bits, as the kernel keeps them."""
        m = self.m
        zone = m.page_zone_or_none(pfn)
        flags = int(m.mem_map.flags[pfn])
        if m.arch.bits == 64:
            nid = zone.node if zone else 0
            zid = zone.idx if zone else 0
            flags |= (nid << 54) | (zid << 51) | (0x1FFFFF << 30)
        else:
            zid = zone.idx if zone else 0
            flags |= zid << 30
        return flags

    def format_flags(self, pfn: int) -> str:
        """%pGp: "0x…(names|node=N|zone=Z|lastcpupid=0x1fffff)"."""
        m = self.m
        word = self.page_flags_word(pfn)
        zone = m.page_zone_or_none(pfn)
        names = format_page_flags(int(m.mem_map.flags[pfn]))
        parts = [names] if names else []
        if m.arch.bits == 64:
            parts.append(f"node={zone.node if zone else 0}")
            parts.append(f"zone={zone.idx if zone else 0}")
            parts.append("lastcpupid=0x1fffff")
        else:
            parts.append(f"zone={zone.idx if zone else 0}")
        return f"{word:#x}({'|'.join(parts)})"

    def dump_page(self, pfn: int, reason: str | None) -> None:
        """dump_page() / __dump_folio(): the page's fields, flags and raw words."""
        m = self.m
        mm = m.mem_map
        ptype = int(mm.page_type[pfn])
        mapcount = 0 if ptype else int(mm.mapcount1[pfn])
        head1 = int(mm.compound_head1[pfn])
        m.printk(f"page: refcount:{int(mm.refcount[pfn])} mapcount:{mapcount} "
                 f"mapping:{0:016x} index:{int(mm.index[pfn]):#x} pfn:{pfn:#x}", level=4)
        if head1:
            m.printk(f"head: order:{int(mm.compound_order[head1 - 1])} mapcount:0 "
                     f"entire_mapcount:0 nr_pages_mapped:0 pincount:0", level=4)
        m.printk(f"flags: {self.format_flags(pfn)}", level=4)
        if ptype:
            m.printk(f"page_type: {ptype:x}({PAGE_TYPE_NAMES.get(ptype, 'unknown')})",
                     level=4)
        words = self.raw_words(pfn)
        m.printk("raw: " + " ".join(f"{w:016x}" for w in words[:4]), level=4)
        m.printk("raw: " + " ".join(f"{w:016x}" for w in words[4:]), level=4)
        if reason:
            m.printk(f"page dumped because: {reason}", level=4)

    def raw_words(self, pfn: int) -> list[int]:
        """The 8 words of the 64-byte struct page, as print_hex_dump shows them."""
        m = self.m
        mm = m.mem_map
        vmemmap = m.arch.vmemmap_base
        head1 = int(mm.compound_head1[pfn])
        self_lru = vmemmap + pfn * 64 + 8
        if head1:
            w1 = vmemmap + (head1 - 1) * 64 + 1
            w2 = 0
        elif mm.page_type[pfn] == PGTY_BUDDY:
            w1 = w2 = self_lru                      # a lone entry points at itself
        else:
            w1, w2 = 0xDEAD000000000100, 0xDEAD000000000122   # LIST_POISON1/2
        ptype = int(mm.page_type[pfn])
        word6_lo = (ptype << 24) if ptype else ((int(mm.mapcount1[pfn]) - 1) & 0xFFFFFFFF)
        word6 = ((int(mm.refcount[pfn]) & 0xFFFFFFFF) << 32) | word6_lo
        return [self.page_flags_word(pfn), w1, w2, int(mm.mapping[pfn]), int(mm.index[pfn]),
                int(mm.private[pfn]) & (1 << 64) - 1, word6, 0]

    # -- reports -----------------------------------------------------------------------

    def _report(self, text_start: int) -> None:
        m = self.m
        report = m.log.since(text_start)
        self.reports.append(report)
        if m.strict:
            raise KernelBug(report)

    def bad_page(self, pfn: int, reason: str) -> None:
        """bad_page(): "BUG: Bad page state", rate limited to 60 reports a minute."""
        m = self.m
        start = m.log.mark()
        if self.bad_page_shown == 60:
            if m.clock_ns < self.bad_page_resume_ns:
                self.bad_page_unshown += 1
                self.taints.add(TAINT_BAD_PAGE)
                return
            if self.bad_page_unshown:
                m.printk(f"BUG: Bad page state: {self.bad_page_unshown} messages suppressed",
                         level=1)
                self.bad_page_unshown = 0
            self.bad_page_shown = 0
        if self.bad_page_shown == 0:
            self.bad_page_resume_ns = m.clock_ns + 60_000_000_000
        self.bad_page_shown += 1
        m.printk(f"BUG: Bad page state in process {m.current_comm}  pfn:{pfn:05x}", level=1)
        self.dump_page(pfn, reason)
        m.printk("Modules linked in:", level=4)
        self.taints.add(TAINT_BAD_PAGE)
        self.dump_stack()
        # SIM: the kernel clears PageBuddy on the reported page ("PageBuddy could make
        # trouble"); here a reported buddy page is still on its free list, so it keeps the
        # mark and the free lists stay consistent.
        self._report(start)

    def _cut_here(self) -> None:
        self.m.printk("------------[ cut here ]------------", level=4)

    def vm_bug_on(self, file: str, line: int) -> None:
        """VM_BUG_ON() on a CONFIG_DEBUG_VM kernel: BUG() at *file*:*line*."""
        m = self.m
        start = m.log.mark()
        self._bug(file, line)
        self._report(start)

    def vm_bug_on_page(self, pfn: int, cond: str, file: str, line: int) -> None:
        """VM_BUG_ON_PAGE() on a CONFIG_DEBUG_VM kernel: dump_page, then BUG()."""
        m = self.m
        start = m.log.mark()
        self.dump_page(pfn, cond)
        self._bug(file, line)
        self._report(start)

    def bug_block(self, file: str, line: int) -> None:
        """The lines of a BUG() (``kernel BUG at file:line!`` and the oops) for a report
        the caller finishes with report_block."""
        self._bug(file, line)

    def _bug(self, file: str, line: int) -> None:
        m = self.m
        self._cut_here()
        m.printk(f"kernel BUG at {file}:{line}!", level=4)
        m.printk("Oops: invalid opcode: 0000 [#1] PREEMPT SMP NOPTI", level=4)
        self.taints.add(TAINT_DIE)
        self.dump_stack()
        # SIM: the task that hit BUG() would be killed; the model returns to the caller
        # with the operation refused, so state stays as the kernel left it before BUG().

    def bad_pfn_oops(self, pfn: int, fn: str) -> None:
        """A struct page pointer outside the memmap: the page fault oops it causes."""
        m = self.m
        start = m.log.mark()
        addr = m.arch.vmemmap_base + pfn * m.arch.struct_page_size
        if m.arch.bits == 32:
            addr &= 0xFFFFFFFF
        m.printk(f"BUG: unable to handle page fault for address: {addr:016x}", level=1)
        m.printk("#PF: supervisor read access in kernel mode", level=1)
        m.printk("#PF: error_code(0x0000) - not-present page", level=1)
        m.printk("Oops: Oops: 0000 [#1] PREEMPT SMP NOPTI", level=4)
        self.taints.add(TAINT_DIE)
        self.dump_stack()
        m.printk(f"RIP: 0010:{fn}+0x0/0x0", level=4)
        self._report(start)

    def warn_on_once(self, fn: str, cond: str, file: str = "mm/page_alloc.c",
                     line: int = 0) -> None:
        """WARN_ON_ONCE(): the first time per call site, the WARNING block."""
        key = f"{fn}:{cond}"
        if key in self.warned_once:
            return
        self.warned_once.add(key)
        self.warn(fn, file, line)

    def warn(self, fn: str, file: str = "mm/page_alloc.c", line: int = 0) -> None:
        """WARN(): "WARNING: CPU: …" with the location, taints W."""
        self.warn_text(None, fn, file, line)

    def warn_block(self, fn: str, file: str, line: int, text: str | None = None) -> None:
        """The lines of a WARN()/WARN_ON() splat: cut here, the message (if any), the
        WARNING block. No report of its own: the caller finishes with report_block."""
        m = self.m
        self._cut_here()
        if text:
            for ln in text.splitlines():
                m.printk(ln, level=4)
        m.printk(f"WARNING: CPU: {m.current_cpu} PID: {m.current_pid} at {file}:{line} "
                 f"{fn}+0x0/0x0", level=4)
        m.printk("Modules linked in:", level=4)
        self.taints.add(TAINT_WARN)
        self.dump_stack()
        m.printk("---[ end trace 0000000000000000 ]---", level=4)

    def warn_text(self, text: str | None, fn: str, file: str, line: int) -> None:
        """WARN(cond, fmt, …): cut here, the message, then the WARNING block."""
        start = self.m.log.mark()
        self.warn_block(fn, file, line, text)
        self._report(start)

    def report_block(self, start: int) -> None:
        """Finish a report whose lines the caller printed since log mark *start*."""
        self._report(start)

    def show_mem(self, nodemask: frozenset[int] | None = None,
                 max_zone_idx: int | None = None) -> None:
        """
        __show_mem(SHOW_MEM_FILTER_NODES, nodemask, max_zone_idx) with show_free_areas()
        (mm/show_mem.c): the Mem-Info block of an allocation failure or an OOM report.
        Zones above *max_zone_idx* (gfp_zone() of the request) and nodes outside
        *nodemask* are left out, as the kernel filters them.
        """
        m = self.m
        from memsim.fs.proc.meminfo import MEMINFO_ARCH, total_swap_pages
        from memsim.mm.vmstat import (
            global_node_page_state,
            global_node_page_state_pages,
            global_zone_page_state,
            node_page_state,
            zone_page_state,
        )

        top = len(m.arch.zones) if max_zone_idx is None else max_zone_idx

        def skip_node(nid: int) -> bool:     # show_mem_node_skip()
            return nodemask is not None and nid not in nodemask

        zones = [z for z in m.zones if z.populated() and z.idx <= top
                 and not skip_node(z.node)]
        m.printk("Mem-Info:", level=4)

        def g(item: NodeStatItem) -> int:
            return global_node_page_state(m, item)

        N = NodeStatItem
        Z = ZoneStatItem
        free_pcp = sum(m.nr_pcp_pages(z) for z in zones)
        m.printk(f"active_anon:{g(N.NR_ACTIVE_ANON)} inactive_anon:{g(N.NR_INACTIVE_ANON)} "
                 f"isolated_anon:{g(N.NR_ISOLATED_ANON)}\n"
                 f" active_file:{g(N.NR_ACTIVE_FILE)} inactive_file:{g(N.NR_INACTIVE_FILE)} "
                 f"isolated_file:{g(N.NR_ISOLATED_FILE)}\n"
                 f" unevictable:{g(N.NR_UNEVICTABLE)} dirty:{g(N.NR_DIRTY)} "
                 f"writeback:{g(N.NR_WRITEBACK)}\n"
                 f" slab_reclaimable:"
                 f"{global_node_page_state_pages(m, N.NR_SLAB_RECLAIMABLE)} "
                 f"slab_unreclaimable:"
                 f"{global_node_page_state_pages(m, N.NR_SLAB_UNRECLAIMABLE)}\n"
                 f" mapped:{g(N.NR_MAPPED)} shmem:{g(N.NR_SHMEM)} "
                 f"pagetables:{g(N.NR_PAGE_TABLE_PAGES)}\n"
                 f" sec_pagetables:{g(N.NR_SEC_PAGE_TABLE_PAGES)} bounce:0\n"
                 f" kernel_misc_reclaimable:{g(N.NR_KERNEL_MISC_RECLAIMABLE)}\n"
                 f" free:{m.nr_free_pages()} free_pcp:{free_pcp} "
                 f"free_cma:{global_zone_page_state(m, Z.NR_FREE_CMA)}", level=4)
        for pg in m.nodes:
            if skip_node(pg.node_id) or not any(
                    z.managed_pages for z in pg.node_zones if z.idx <= top):
                continue

            def k(item: NodeStatItem, pg: object = pg) -> str:
                return f"{node_page_state(pg, item) << 2}kB"   # type: ignore[arg-type]

            # SIM: NR_WRITEBACK_TEMP (FUSE) does not exist in the model: 0kB.
            m.printk(f"Node {pg.node_id} active_anon:{k(N.NR_ACTIVE_ANON)} "
                     f"inactive_anon:{k(N.NR_INACTIVE_ANON)} "
                     f"active_file:{k(N.NR_ACTIVE_FILE)} "
                     f"inactive_file:{k(N.NR_INACTIVE_FILE)} "
                     f"unevictable:{k(N.NR_UNEVICTABLE)} "
                     f"isolated(anon):{k(N.NR_ISOLATED_ANON)} "
                     f"isolated(file):{k(N.NR_ISOLATED_FILE)} "
                     f"mapped:{k(N.NR_MAPPED)} dirty:{k(N.NR_DIRTY)} "
                     f"writeback:{k(N.NR_WRITEBACK)} shmem:{k(N.NR_SHMEM)} "
                     f"shmem_thp:{k(N.NR_SHMEM_HUGEPAGES)} "
                     f"shmem_pmdmapped:{k(N.NR_SHMEM_PMDMAPPED)} "
                     f"anon_thp:{k(N.NR_ANON_TRANSPARENT_HUGEPAGES)} writeback_tmp:0kB "
                     f"kernel_stack:{node_page_state(pg, N.NR_KERNEL_STACK_KB)}kB "
                     f"pagetables:{k(N.NR_PAGE_TABLE_PAGES)} "
                     f"sec_pagetables:{k(N.NR_SEC_PAGE_TABLE_PAGES)} "
                     f"all_unreclaimable? {'yes' if pg.kswapd_failures >= 16 else 'no'}",
                     level=4)
        for z in zones:
            def kz(item: ZoneStatItem, z: object = z) -> str:
                return f"{zone_page_state(z, item) << 2}kB"    # type: ignore[arg-type]

            # 6.18 text: free_highatomic follows reserved_highatomic (both "KB")
            m.printk(f"Node {z.node} {z.name} free:{kz(Z.NR_FREE_PAGES)} "
                     f"boost:{z.watermark_boost << 2}kB min:{z.min_wmark_pages() << 2}kB "
                     f"low:{z.low_wmark_pages() << 2}kB high:{z.high_wmark_pages() << 2}kB "
                     f"reserved_highatomic:{z.nr_reserved_highatomic << 2}KB "
                     f"free_highatomic:{z.nr_free_highatomic << 2}KB "
                     f"active_anon:{kz(Z.NR_ZONE_ACTIVE_ANON)} "
                     f"inactive_anon:{kz(Z.NR_ZONE_INACTIVE_ANON)} "
                     f"active_file:{kz(Z.NR_ZONE_ACTIVE_FILE)} "
                     f"inactive_file:{kz(Z.NR_ZONE_INACTIVE_FILE)} "
                     f"unevictable:{kz(Z.NR_ZONE_UNEVICTABLE)} "
                     f"writepending:{kz(Z.NR_ZONE_WRITE_PENDING)} "
                     f"present:{z.present_pages << 2}kB managed:{z.managed_pages << 2}kB "
                     f"mlocked:{kz(Z.NR_MLOCK)} bounce:0kB "
                     f"free_pcp:{m.nr_pcp_pages(z) << 2}kB "
                     f"local_pcp:{z.per_cpu_pageset[m.current_cpu].count << 2}kB "
                     f"free_cma:{kz(Z.NR_FREE_CMA)}", level=4)
            m.printk("lowmem_reserve[]: " + " ".join(str(x) for x in z.lowmem_reserve),
                     level=4)
        for z in zones:
            parts = []
            total = 0
            for order, fa in enumerate(z.free_area):
                types = "".join(t for t, mt in (("U", 0), ("M", 1), ("E", 2), ("H", 3))
                                if fa.free_list[mt])
                parts.append(f"{fa.nr_free}*{4 << order}kB" +
                             (f" ({types})" if types and fa.nr_free else ""))
                total += fa.nr_free << order
            m.printk(f"Node {z.node} {z.name}: " + " ".join(parts) + f" = {total << 2}kB",
                     level=4)
        spec = MEMINFO_ARCH[m.arch.name]
        if spec.hugetlb:
            # hugetlb_show_meminfo_node(): one line per hstate; x86-64 registers the 1 GiB
            # hstate (gigantic_pages_init) before the default one.
            # SIM: the hstate pools are not modelled: all counts 0; arm64's extra
            # contiguous-bit hstates are not listed.
            sizes = ([1 << 20] if m.arch.name == "x86_64" else []) + \
                [(1 << spec.hpage_shift) >> 10]
            for pg in m.nodes:
                if skip_node(pg.node_id):
                    continue
                for kb in sizes:
                    m.printk(f"Node {pg.node_id} hugepages_total=0 hugepages_free=0 "
                             f"hugepages_surp=0 hugepages_size={kb}kB", level=4)
        m.printk(f"{g(N.NR_FILE_PAGES)} total pagecache pages", level=4)
        # show_swap_cache_info()
        m.printk(f"{g(N.NR_SWAPCACHE)} pages in swap cache", level=4)
        m.printk(f"Free swap  = {int(getattr(m, 'nr_swap_pages', 0)) << 2}kB", level=4)
        m.printk(f"Total swap = {total_swap_pages(m) << 2}kB", level=4)
        present = sum(z.present_pages for z in m.zones if z.populated())
        managed = sum(z.managed_pages for z in m.zones if z.populated())
        from memsim.include.mmzone_types import ZoneType
        # is_highmem(): ZONE_HIGHMEM (the model's ZONE_MOVABLE never sits above HighMem)
        high = sum(z.present_pages for z in m.zones
                   if z.populated() and z.zone_type == ZoneType.ZONE_HIGHMEM)
        # SIM: CONFIG_CMA and CONFIG_MEMORY_FAILURE are off (as on the oracle machine,
        # whose meminfo has no CmaTotal/HardwareCorrupted): no further lines.
        m.printk(f"{present} pages RAM", level=4)
        m.printk(f"{high} pages HighMem/MovableOnly", level=4)
        m.printk(f"{present - managed} pages reserved", level=4)


# -- validators ----------------------------------------------------------------------------


def validate_free_lists(m: Machine) -> None:
    """
    Walk every free list: each entry must be a PageBuddy head of the list's order, aligned,
    inside its zone, on the list of its pageblock's type, not overlapping another free
    block; nr_free must equal the list lengths; NR_FREE_PAGES, NR_FREE_PAGES_BLOCKS and
    nr_free_highatomic must equal the pages on the lists.
    """
    mm = m.mem_map
    seen_heads: dict[int, int] = {}
    for z in m.zones:
        free_pages = 0
        free_blocks_pages = 0
        highatomic = 0
        for order, fa in enumerate(z.free_area):
            n = 0
            for mt, fl in enumerate(fa.free_list):
                for pfn in fl:
                    n += 1
                    if pfn & ((1 << order) - 1):
                        raise FreeListError(f"{z!r}: block {pfn:#x} misaligned for order {order}")
                    if not (z.zone_start_pfn <= pfn and pfn + (1 << order) <= z.zone_end_pfn):
                        raise FreeListError(f"{z!r}: block {pfn:#x} order {order} outside zone")
                    if mm.page_type[pfn] != PGTY_BUDDY or mm.private[pfn] != order:
                        raise FreeListError(f"{z!r}: {pfn:#x} on order-{order} list but "
                                            f"page_type={int(mm.page_type[pfn]):#x} "
                                            f"private={int(mm.private[pfn])}")
                    if mm.refcount[pfn] != 0:
                        raise FreeListError(f"{z!r}: free block {pfn:#x} has refcount "
                                            f"{int(mm.refcount[pfn])}")
                    pbmt = m.pageblock_mt[pfn >> m.pageblock_order]
                    if pbmt != mt:
                        raise FreeListError(f"{z!r}: block {pfn:#x} on {MIGRATETYPE_NAMES[mt]} "
                                            f"list, pageblock is {MIGRATETYPE_NAMES[pbmt]}")
                    seen_heads[pfn] = order
                    if mt != MT_ISOLATE:
                        free_pages += 1 << order
                        if order >= m.pageblock_order:
                            free_blocks_pages += 1 << order
                    if mt == MT_HIGHATOMIC:
                        highatomic += 1 << order
            if n != fa.nr_free:
                raise FreeListError(f"{z!r}: order {order} nr_free={fa.nr_free}, lists hold {n}")
        if z.vm_stat[ZoneStatItem.NR_FREE_PAGES] != free_pages:
            raise CounterMismatchError(
                f"{z!r}: NR_FREE_PAGES={z.vm_stat[ZoneStatItem.NR_FREE_PAGES]}, "
                f"free lists hold {free_pages}")
        if z.vm_stat[ZoneStatItem.NR_FREE_PAGES_BLOCKS] != free_blocks_pages:
            raise CounterMismatchError(
                f"{z!r}: NR_FREE_PAGES_BLOCKS={z.vm_stat[ZoneStatItem.NR_FREE_PAGES_BLOCKS]}, "
                f"free lists hold {free_blocks_pages}")
        if z.nr_free_highatomic != highatomic:
            raise CounterMismatchError(f"{z!r}: nr_free_highatomic={z.nr_free_highatomic}, "
                                       f"lists hold {highatomic}")
    # overlap: sorted heads must not run into each other
    prev_end = -1
    prev = -1
    for pfn in sorted(seen_heads):
        if pfn < prev_end:
            raise FreeListError(f"free block {pfn:#x} overlaps block {prev:#x}")
        prev, prev_end = pfn, pfn + (1 << seen_heads[pfn])
    # every PageBuddy mark belongs to a listed block
    marked = int((mm.page_type_a == PGTY_BUDDY).sum())
    if marked != len(seen_heads):
        raise FreeListError(f"{marked} pages are marked buddy, {len(seen_heads)} are listed")


def validate_pcp(m: Machine) -> None:
    """pcp counts equal list contents; listed pages are free (refcount 0), not buddy."""
    from memsim.mm.page_alloc import pindex_to_order
    mm = m.mem_map
    seen: set[int] = set()
    for z in m.zones:
        for cpu, pcp in enumerate(z.per_cpu_pageset):
            total = 0
            for pindex, lst in enumerate(pcp.lists):
                order = pindex_to_order(m, pindex)
                for pfn in lst:
                    total += 1 << order
                    if pfn in seen:
                        raise FreeListError(f"{z!r} cpu {cpu}: {pfn:#x} on two pcp lists")
                    seen.add(pfn)
                    if mm.refcount[pfn] != 0 or mm.page_type[pfn] == PGTY_BUDDY:
                        raise FreeListError(f"{z!r} cpu {cpu}: pcp page {pfn:#x} is not free")
                    if m.page_zone(pfn) is not z:
                        raise FreeListError(f"{z!r} cpu {cpu}: pcp page {pfn:#x} from another zone")
            if total != pcp.count:
                raise CounterMismatchError(f"{z!r} cpu {cpu}: pcp count {pcp.count}, "
                                           f"lists hold {total}")


def validate_page_accounting(m: Machine) -> None:
    """The zones' managed pages add up to totalram_pages."""
    total_managed = sum(z.managed_pages for z in m.zones)
    if total_managed != m.totalram_pages:
        raise CounterMismatchError(f"totalram_pages={m.totalram_pages}, zones manage "
                                   f"{total_managed}")


def validate_all(m: Machine) -> None:
    """Every validator of the physical allocator."""
    validate_free_lists(m)
    validate_pcp(m)
    validate_page_accounting(m)
    m.slab.validate()
    validate_address_spaces(m)
    validate_lru(m)


def validate_lru(m: Machine) -> None:
    """
    The classic LRU lists (mm/mm_inline.py): links consistent both ways, each folio on
    the list its flags choose, list sizes equal the node/zone NR_*_ANON/FILE/UNEVICTABLE
    counters, and PG_lru set exactly on the folios that are on a list.
    """
    from memsim.include.mmzone import NR_LRU_LISTS
    from memsim.include.page_flags import PageFlags
    from memsim.include.vmstat_items import NodeStatItem, ZoneStatItem
    from memsim.mm.mm_inline import folio_lru_list, folio_nr_pages
    if getattr(m, "lru_gen_on", False):
        return          # MGLRU lists are checked by mm/lru_gen.py
    mem = m.mem_map
    on_list: set[int] = set()
    for pg in m.nodes:
        lruvec = pg.lruvec
        zone_sizes: dict[int, list[int]] = {}
        for lru in range(NR_LRU_LISTS):
            prev = 0
            cur = lruvec.head[lru]
            size = 0
            while cur:
                pfn = cur - 1
                if pfn in on_list:
                    raise MMCorruptionError(f"LRU: pfn {pfn:#x} on two lists or a cycle")
                on_list.add(pfn)
                if mem.lru_prev[pfn] != prev:
                    raise MMCorruptionError(f"LRU: pfn {pfn:#x} prev link broken")
                if folio_lru_list(m, pfn) != lru:
                    raise MMCorruptionError(f"LRU: pfn {pfn:#x} on list {lru}, flags say "
                                            f"{folio_lru_list(m, pfn)}")
                nr = folio_nr_pages(m, pfn)
                size += nr
                z = m.page_zone(pfn)
                zone_sizes.setdefault(z.idx, [0] * NR_LRU_LISTS)[lru] += nr
                prev = cur
                cur = mem.lru_next[pfn]
            if lruvec.tail[lru] != prev:
                raise MMCorruptionError(f"LRU: list {lru} tail {lruvec.tail[lru]} != {prev}")
            if size != lruvec.nr[lru] or \
                    size != pg.vm_stat[NodeStatItem.NR_LRU_BASE + lru]:
                raise MMCorruptionError(
                    f"LRU: node {pg.node_id} list {lru}: {size} pages, lruvec "
                    f"{lruvec.nr[lru]}, counter {pg.vm_stat[NodeStatItem.NR_LRU_BASE + lru]}")
        for z in pg.node_zones:
            want = zone_sizes.get(z.idx, [0] * NR_LRU_LISTS)
            for lru in range(NR_LRU_LISTS):
                got = z.vm_stat[ZoneStatItem.NR_ZONE_LRU_BASE + lru]
                if got != want[lru]:
                    raise MMCorruptionError(f"LRU: zone {z.name} list {lru}: counter {got}, "
                                            f"pages {want[lru]}")
    import numpy as np
    flagged = set(np.flatnonzero(mem.flags_a & (1 << PageFlags.PG_lru)).tolist())
    if flagged != on_list:
        extra = sorted(flagged - on_list)[:4]
        missing = sorted(on_list - flagged)[:4]
        raise MMCorruptionError(f"LRU: PG_lru without a list {extra}, on a list without "
                                f"PG_lru {missing}")
    swap = getattr(m, "validate_swap_hook", None)
    if swap is not None:
        swap()                      # mm/swapfile.py validate_swap
    if getattr(m, "lru_gen", None) is not None:
        from memsim.mm.lru_gen import validate_lru_gen
        validate_lru_gen(m)         # the MGLRU generations (mm/lru_gen.py)


def validate_address_spaces(m: Machine) -> None:
    """
    Every process's VMAs are sorted, disjoint and page aligned with map_count matching;
    its RSS counters equal what its page tables map; every mapped page's _mapcount equals
    the number of PTEs mapping it over all processes and _refcount covers them; page-table
    entry counts match; NR_ANON_MAPPED/NR_FILE_MAPPED equal the pages mapped at least once.
    (CONFIG_DEBUG_VM's checks, done all at once.)
    """
    from collections import Counter

    from memsim.include.mm_types import MM_ANONPAGES, MM_FILEPAGES, MM_SHMEMPAGES
    from memsim.include.pgtable_types import (
        _PAGE_PRESENT,
        _PAGE_PROTNONE,
        _PAGE_SPECIAL,
        PTE_PFN_MASK,
    )
    from memsim.include.vmstat_items import NodeStatItem
    from memsim.mm.huge_memory import HPAGE_PMD_NR, is_huge_zero_pmd
    from memsim.mm.memory import mm_counter_file

    tasks = getattr(m, "tasks", {})
    maps: Counter[int] = Counter()
    pmd_maps: Counter[int] = Counter()
    mem = m.mem_map
    for task in tasks.values():
        if task.exit_state is not None:
            continue
        mm = task.mm
        prev_end = 0
        for v in mm.vmas:
            if v.vm_start >= v.vm_end or v.vm_start & 0xFFF or v.vm_end & 0xFFF \
                    or v.vm_start < prev_end:
                raise MMCorruptionError(f"pid {task.pid}: bad VMA order/bounds at {v!r}")
            if v.vm_mm is not mm:
                raise MMCorruptionError(f"pid {task.pid}: {v!r} belongs to another mm")
            prev_end = v.vm_end
        if mm.map_count != len(mm.vmas):
            raise CounterMismatchError(f"pid {task.pid}: map_count {mm.map_count}, "
                                       f"{len(mm.vmas)} VMAs")
        rss = [0, 0, 0, 0]
        pgd = mm.pgd
        for t in pgd.leaf.values():
            used = 0
            for i in range(len(t.ptes)):
                pte = int(t.pte[i])
                if not pte:
                    continue
                used += 1
                if not pte & (_PAGE_PRESENT | _PAGE_PROTNONE) or pte & _PAGE_SPECIAL:
                    continue
                pfn = (pte & PTE_PFN_MASK) >> 12
                if pfn == m.zero_pfn:
                    continue
                maps[pfn] += 1
                if mem.mapping[pfn] & 1:
                    rss[MM_ANONPAGES] += 1
                else:
                    rss[mm_counter_file(m, pfn)] += 1
            if used != t.nr_used:
                raise CounterMismatchError(f"pid {task.pid}: PTE table {t.pfn:#x} holds "
                                           f"{used} entries, nr_used says {t.nr_used}")
        for pmd in pgd.huge.values():
            # a PMD-mapped THP: 512 pages of RSS, one entire mapping of its folio
            if not pmd & (_PAGE_PRESENT | _PAGE_PROTNONE) or is_huge_zero_pmd(m, pmd):
                continue
            head = (pmd & PTE_PFN_MASK) >> 12
            pmd_maps[head] += 1
            if mem.mapping[head] & 1:
                rss[MM_ANONPAGES] += HPAGE_PMD_NR
            else:
                rss[mm_counter_file(m, head)] += HPAGE_PMD_NR
        for idx, name in ((MM_ANONPAGES, "MM_ANONPAGES"), (MM_FILEPAGES, "MM_FILEPAGES"),
                          (MM_SHMEMPAGES, "MM_SHMEMPAGES")):
            if rss[idx] != mm.rss_stat[idx]:
                raise CounterMismatchError(f"pid {task.pid}: {name} is {mm.rss_stat[idx]}, "
                                           f"page tables map {rss[idx]}")
    st = getattr(m, "thp", None)
    entire: dict[int, int] = st.entire_mapcount if st is not None else {}
    for head in set(entire) | set(pmd_maps):
        if entire.get(head, 0) != pmd_maps[head]:
            raise CounterMismatchError(f"folio {head:#x}: _entire_mapcount+1 = "
                                       f"{entire.get(head, 0)}, {pmd_maps[head]} PMDs map it")
    # references are the folio's (its head's); a page counts in NR_ANON_MAPPED or
    # NR_FILE_MAPPED when a PTE maps it or a PMD maps its whole folio
    refs: Counter[int] = Counter(pmd_maps)
    mapped = set(maps)
    for head in pmd_maps:
        mapped.update(range(head, head + HPAGE_PMD_NR))
    for pfn, n in maps.items():
        if mem.mapcount1[pfn] != n:
            raise CounterMismatchError(f"page {pfn:#x}: _mapcount+1 = "
                                       f"{mem.mapcount1[pfn]}, {n} PTEs map it")
        h1 = mem.compound_head1[pfn]
        refs[h1 - 1 if h1 else pfn] += n
    for pfn, n in refs.items():
        if mem.refcount[pfn] < n:
            raise CounterMismatchError(f"page {pfn:#x}: _refcount {mem.refcount[pfn]} "
                                       f"< {n} mappings")
    anon = sum(1 for pfn in mapped if mem.mapping[pfn] & 1)
    file = len(mapped) - anon
    have_anon = sum(pg.vm_stat[NodeStatItem.NR_ANON_MAPPED] for pg in m.nodes)
    have_file = sum(pg.vm_stat[NodeStatItem.NR_FILE_MAPPED] for pg in m.nodes)
    if have_anon != anon or have_file != file:
        raise CounterMismatchError(f"NR_ANON_MAPPED {have_anon} / NR_FILE_MAPPED "
                                   f"{have_file}, page tables map {anon} / {file}")
