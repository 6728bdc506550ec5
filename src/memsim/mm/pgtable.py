"""
A process's page tables (mm/pgtable-generic.c, mm/memory.c __pte_alloc/__pmd_alloc/
__pud_alloc and free_pgd_range, include/linux/pgtable.h, include/linux/mm.h,
include/asm-generic/pgalloc.h, arch/*/mm/pgd.c, arch/x86/mm/pgtable.c): the Linux view of
the tree, with table pages from the buddy allocator.

Geometry per architecture (Linux view; virtual.md §4; arch_pgtable.py has the details):

=======  ======================================  ===============================
arch     levels (shift, entries)                 notes
=======  ======================================  ===============================
x86_64   PGD 39/512, PUD 30/512, PMD 21/512,     P4D folded (4-level paging);
         PTE 12/512                              PGD order 1 (PTI build)
arm64    same as x86_64 (48-bit VA, 4 KiB)       hardware calls them L0..L3
i386     PGD 22/1024, PTE 12/1024                2-level, PMD folded, 4-byte
                                                 entries
arm      PGD 21/2048, PTE 12/512                 each Linux PGD entry is two
                                                 1 MiB hardware entries; a PTE
                                                 page holds 2 Linux + 2 hw
                                                 tables; PGD 16 KiB (order 2)
=======  ======================================  ===============================

Accounting, as 6.12 does it:

* ``NR_PAGETABLE`` (meminfo ``PageTables``): one page for each PTE, PMD and PUD table
  (pagetable_pte_ctor / pagetable_pmd_ctor / pagetable_pud_ctor do
  ``lruvec_stat_add_folio(folio, NR_PAGETABLE)``). The PGD comes from
  ``__get_free_pages`` without a ctor on all four arches and is **not** counted.
* ``mm->pgtables_bytes`` (``VmPTE``): ``PTRS_PER_PTE * sizeof(pte_t)`` per PTE table
  (mm_inc_nr_ptes: 4096 on x86_64/arm64/i386, **2048** on arm, whose PTE page holds two
  Linux tables of 256 four-byte entries plus the hardware copies), ``PTRS_PER_PMD *
  sizeof(pmd_t)`` per PMD table and ``PTRS_PER_PUD * sizeof(pud_t)`` per PUD table (both
  no-ops when the level is folded); nothing for the PGD.

Entries use the software layout of include/pgtable_types.py (# SIM: the x86-64 layout on
every arch; ``walk()`` shows the hardware value through arch_pgtable.py). Leaf tables
(``PteTable``) keep their entries in a numpy ``uint64`` array (``ptes``) with a memoryview
(``pte``) for fast scalar access; the bulk fault path (mm/memory.py) fills whole slices at
once. Leaf tables are also indexed by ``addr >> PMD_SHIFT`` in ``PgTable.leaf`` so a fault
finds its table in one dict lookup; the upper levels exist as real tables for accounting
and walks. A huge PMD (THP) is kept in ``PgTable.huge`` under the same key instead of a
leaf table.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from memsim import arch_pgtable as ap
from memsim.include.mm_types import PGTY_TABLE
from memsim.include.pgtable_types import _PAGE_PRESENT, _PAGE_PROTNONE, PTE_PFN_MASK
from memsim.include.vmstat_items import NodeStatItem

if TYPE_CHECKING:
    from memsim.include.mm_types import MmStruct
    from memsim.machine import Machine

GFP_PGTABLE_USER = ap.GFP_PGTABLE_USER
PAGE_SHIFT = 12
PMD_SHIFT_BY_ARCH = {a: g.pmd_shift for a, g in ap.GEOMETRY.items()}

#: (name, shift, entries) of the levels above the PTE level that are real tables, top
#: first, per arch
UPPER_LEVELS: dict[str, tuple[tuple[str, int, int], ...]] = {
    a: tuple((lv.name, lv.shift, lv.ptrs) for lv in g.upper) for a, g in ap.GEOMETRY.items()
}
PTRS_PER_PTE = {a: g.ptrs_per_pte for a, g in ap.GEOMETRY.items()}
#: buddy order of the PGD allocation (x86_64: 8 KiB with PTI; arm: 16 KiB for 4096
#: hardware entries)
PGD_ORDER = {a: g.pgd_order for a, g in ap.GEOMETRY.items()}


class PteTable:
    """One last-level page table: a page of PTEs covering ``[base, base + span)``."""

    __slots__ = ("pfn", "base", "ptes", "pte", "nr_used")

    def __init__(self, pfn: int, base: int, nr: int) -> None:
        self.pfn = pfn
        self.base = base
        self.ptes = np.zeros(nr, dtype=np.uint64)
        self.pte: Any = memoryview(self.ptes)  # type: ignore[arg-type]
        #: entries that are not pte_none (kept by the code that sets and clears entries)
        self.nr_used = 0


class UpperTable:
    """A PGD/PUD/PMD page: child tables by index."""

    __slots__ = ("pfn", "level", "children")

    def __init__(self, pfn: int, level: int) -> None:
        self.pfn = pfn
        self.level = level
        self.children: dict[int, Any] = {}


@dataclass(slots=True)
class WalkLevel:
    """One step of a page-table walk (what a debugger reading the tables would see)."""

    #: the kernel's name of the level on this arch: pgd, p4d, pud, pmd, pte
    level: str
    #: the architecture manual's name: PML4/PDPT/PD/PT (x86), L0..L3 (arm64), L1/L2 (arm)
    hw_name: str
    #: PFN of the table page holding the entry (arm pgd: first page of the 16 KiB table)
    table_pfn: int
    index: int
    #: byte offset of the (Linux) entry from the start of the table allocation
    offset: int
    entry_bytes: int
    #: the entry in the model's software (x86-64) layout
    sw: int
    #: the entry as the arch's Linux code sees it (arm: the L_PTE_* entry; else = hw)
    linux: int
    #: the entry the MMU reads
    hw: int
    #: decoded names of ``hw`` (``linux_flags`` decodes ``linux``)
    flags: list[str]
    linux_flags: list[str]
    #: "table", "leaf", "huge", "none", "swap", "protnone" or "folded"
    state: str
    next_pfn: int | None = None
    #: the translated physical address (leaf and huge entries)
    phys: int | None = None
    #: arm: the hardware table and entry the MMU uses (first-level index 0..4095, or the
    #: second-level index 0..255 in h/w pt 0/1) and its byte offset in the page
    hw_table: str | None = None
    hw_index: int | None = None
    hw_offset: int | None = None
    #: arm pgd: both first-level entries of the Linux pgd entry
    hw_pair: tuple[int, int] | None = None
    notes: list[str] = field(default_factory=list)


class PgTable:
    """The page-table tree of one mm."""

    def __init__(self, m: Machine, mm: MmStruct) -> None:
        self.m = m
        self.mm = mm
        arch = m.arch.name
        self.arch = arch
        self.geo = ap.GEOMETRY[arch]
        self.upper = UPPER_LEVELS[arch]
        self.pmd_shift = self.geo.pmd_shift
        self.ptrs_per_pte = self.geo.ptrs_per_pte
        self.leaf: dict[int, PteTable] = {}
        self.huge: dict[int, int] = {}
        #: PTE tables deposited for huge PMDs (pgtable_trans_huge_deposit), by PMD key
        self.deposited: dict[int, int] = {}
        self.pgd = UpperTable(self._pgd_alloc(), 0)

    # -- allocation -------------------------------------------------------------------
    def _pgd_alloc(self) -> int:
        """pgd_alloc(): a plain __get_free_pages() block, no ctor, not accounted."""
        geo = self.geo
        # __get_free_pages() never returns highmem (6.12 clears __GFP_HIGHMEM)
        pfn = self.m.alloc_pages(geo.pgd_gfp, geo.pgd_order)
        if pfn is None:
            raise MemoryError("pgd_alloc failed")
        return pfn

    def _alloc_table_page(self, level: str) -> int:
        """
        pte_alloc_one / pmd_alloc_one / pud_alloc_one plus the ctor (PG_table,
        NR_PAGETABLE) and mm_inc_nr_ptes/pmds/puds (pgtables_bytes).
        """
        m = self.m
        gfp = self.geo.pte_gfp if level == "pte" else GFP_PGTABLE_USER
        pfn = m.alloc_pages(gfp, 0)
        if pfn is None:
            raise MemoryError("page-table allocation failed")
        m.mem_map.page_type[pfn] = PGTY_TABLE
        m.mod_node_page_state_pfn(pfn, NodeStatItem.NR_PAGETABLE, 1)
        self.mm.pgtables_bytes += self.geo.pgtables_bytes(level)
        return pfn

    def _free_table_page(self, pfn: int, level: str) -> None:
        """The dtor, mm_dec_nr_*, then the page goes back to the buddy allocator."""
        m = self.m
        m.mem_map.page_type[pfn] = 0
        m.mod_node_page_state_pfn(pfn, NodeStatItem.NR_PAGETABLE, -1)
        self.mm.pgtables_bytes -= self.geo.pgtables_bytes(level)
        m.free_pages_pfn(pfn, 0)

    # -- lookups ----------------------------------------------------------------------
    def pte_table(self, addr: int) -> PteTable | None:
        """The leaf table covering *addr*, or None (pte_offset_map)."""
        return self.leaf.get(addr >> self.pmd_shift)

    def pmd_alloc(self, addr: int) -> UpperTable:
        """
        Allocate the missing levels above the PTE level for *addr* (__pud_alloc,
        __pmd_alloc); returns the table holding the PMD entry (the PGD where the PMD is
        folded). A huge PMD needs this but no PTE table.
        """
        node = self.pgd
        for level in range(1, len(self.upper)):
            _, shift, nr = self.upper[level - 1]
            idx = (addr >> shift) & (nr - 1)
            child = node.children.get(idx)
            if child is None:
                child = UpperTable(self._alloc_table_page(self.upper[level][0]), level)
                node.children[idx] = child
            node = child
        return node

    def pte_alloc(self, addr: int) -> PteTable:
        """The leaf table covering *addr*, allocating missing levels (__pte_alloc)."""
        key = addr >> self.pmd_shift
        t = self.leaf.get(key)
        if t is not None:
            return t
        node = self.pmd_alloc(addr)
        _, shift, nr = self.upper[-1]
        idx = (addr >> shift) & (nr - 1)
        t = PteTable(self._alloc_table_page("pte"), key << self.pmd_shift, self.ptrs_per_pte)
        node.children[idx] = t
        self.leaf[key] = t
        return t

    def pte_get(self, addr: int) -> int:
        """The PTE for *addr* (0 when no table or pte_none)."""
        t = self.leaf.get(addr >> self.pmd_shift)
        if t is None:
            return 0
        return int(t.pte[(addr >> PAGE_SHIFT) & (self.ptrs_per_pte - 1)])

    def iter_tables(self, start: int, end: int) -> Iterator[tuple[PteTable, int, int]]:
        """Existing leaf tables over ``[start, end)`` as (table, first index, end index)."""
        shift = self.pmd_shift
        mask = self.ptrs_per_pte - 1
        leaf = self.leaf
        if end <= start:
            return
        for key in range(start >> shift, ((end - 1) >> shift) + 1):
            t = leaf.get(key)
            if t is None:
                continue
            lo = max(start, key << shift)
            hi = min(end, (key + 1) << shift)
            yield t, (lo >> PAGE_SHIFT) & mask, (((hi - 1) >> PAGE_SHIFT) & mask) + 1

    # -- THP deposit ------------------------------------------------------------------
    def deposit_pte_table(self, addr: int) -> None:
        """
        pte_alloc_one + pgtable_trans_huge_deposit + mm_inc_nr_ptes: the PTE table a huge
        PMD keeps in reserve for its split (do_huge_pmd_anonymous_page); counted as a PTE
        table.
        """
        key = addr >> self.pmd_shift
        if key not in self.deposited:
            self.deposited[key] = self._alloc_table_page("pte")

    def withdraw_pte_table(self, addr: int) -> PteTable | None:
        """pgtable_trans_huge_withdraw + pmd_populate: the deposited table becomes the
        leaf table for *addr* (__split_huge_pmd); None if nothing was deposited."""
        key = addr >> self.pmd_shift
        pfn = self.deposited.pop(key, None)
        if pfn is None:
            return None
        node = self.pmd_alloc(addr)
        _, shift, nr = self.upper[-1]
        t = PteTable(pfn, key << self.pmd_shift, self.ptrs_per_pte)
        node.children[(addr >> shift) & (nr - 1)] = t
        self.leaf[key] = t
        return t

    def zap_deposited_table(self, addr: int) -> None:
        """zap_deposited_table(): free the deposited table of a zapped huge PMD."""
        pfn = self.deposited.pop(addr >> self.pmd_shift, None)
        if pfn is not None:
            self._free_table_page(pfn, "pte")

    # -- freeing ----------------------------------------------------------------------
    def free_pgtables(self, start: int, end: int, floor: int, ceiling: int) -> None:
        """
        free_pgd_range(): free the (already emptied) tables that cover only addresses in
        ``[floor, ceiling)`` and overlap ``[start, end)``; upper tables that become empty
        and lie within the same bounds go too.
        """
        if end <= start:
            return
        self._free_range(self.pgd, 0, 0, start, end, floor, ceiling)

    def _has_huge(self, lo: int, hi: int) -> bool:
        huge = self.huge
        if not huge:
            return False
        s = self.pmd_shift
        return any(k in huge for k in range(lo >> s, hi >> s))

    def _free_range(self, node: UpperTable, level: int, base: int, start: int, end: int,
                    floor: int, ceiling: int) -> None:
        _, shift, nr = self.upper[level]
        span = 1 << shift
        first = max(0, (start - base) >> shift) if start > base else 0
        last = min(nr - 1, (end - 1 - base) >> shift)
        for idx in range(first, last + 1):
            child = node.children.get(idx)
            if child is None:
                continue
            lo = base + idx * span
            hi = lo + span
            if isinstance(child, UpperTable):
                self._free_range(child, level + 1, lo, start, end, floor, ceiling)
                if not child.children and lo >= floor and hi <= ceiling \
                        and not self._has_huge(lo, hi):
                    del node.children[idx]
                    self._free_table_page(child.pfn, self.upper[level + 1][0])
            elif isinstance(child, PteTable):
                if lo >= floor and hi <= ceiling and child.nr_used == 0:
                    del node.children[idx]
                    del self.leaf[lo >> self.pmd_shift]
                    self._free_table_page(child.pfn, "pte")

    def destroy(self) -> None:
        """Free every table including the PGD (exit_mmap's free_pgtables + pgd_free)."""
        self.huge.clear()
        for key in list(self.deposited):
            self.zap_deposited_table(key << self.pmd_shift)
        self.free_pgtables(0, 1 << 64, 0, 1 << 64)
        self.m.free_pages_pfn(self.pgd.pfn, self.geo.pgd_order)

    # -- walk -------------------------------------------------------------------------
    def walk(self, addr: int) -> list[WalkLevel]:
        """
        The walk the MMU (and pgd_offset/p4d_offset/pud_offset/pmd_offset/pte_offset)
        does for *addr*: one ``WalkLevel`` per level, stopping at a missing entry or a
        huge PMD leaf.
        """
        geo = self.geo
        arch = self.arch
        out: list[WalkLevel] = []
        node: UpperTable = self.pgd
        last_upper = geo.upper[-1].name
        # sizeof(pgd_t/pud_t/pmd_t): 4 on i386, 8 on arm (a pair of hardware entries)
        eb_upper = 4 if arch == "i386" else 8
        for lv in geo.levels[:-1]:
            if lv.folded:
                prev = out[-1]
                out.append(WalkLevel(
                    lv.name, lv.hw_name, prev.table_pfn, prev.index, prev.offset,
                    prev.entry_bytes, prev.sw, prev.linux, prev.hw, list(prev.flags),
                    list(prev.linux_flags), "folded", prev.next_pfn,
                    notes=[f"folded: {lv.name}_offset() returns the {prev.level} entry"]))
                continue
            idx = (addr >> lv.shift) & (lv.ptrs - 1)
            offset = idx * eb_upper
            child = node.children.get(idx)
            key = addr >> self.pmd_shift
            if lv.name == last_upper and key in self.huge:
                out.append(self._huge_level(lv, node, idx, offset, addr, self.huge[key]))
                return out
            if child is None:
                wl = WalkLevel(lv.name, lv.hw_name, node.pfn, idx, offset, eb_upper, 0, 0, 0,
                               [], [], "none", notes=[f"{lv.name}_none"])
                if arch == "arm":
                    self._arm_l1(wl, addr, (0, 0))
                out.append(wl)
                return out
            cpfn = child.pfn
            sw = ap.sw_table_entry(cpfn)
            if arch == "x86_64":
                hw = ap.x86_64_table_hw(cpfn)
                flags = ap.x86_flags(hw, leaf4k=False)
            elif arch == "i386":
                hw = ap.i386_table_hw(cpfn)
                flags = ap.x86_flags(hw, leaf4k=False, bits=32)
            elif arch == "arm64":
                hw = ap.arm64_table_hw(cpfn)
                flags = ap.arm64_flags(hw, kind="table")
            else:
                pair = ap.arm_pmd_pair(cpfn)
                hw = pair[(addr >> 20) & 1]
                flags = ap.arm_pmd_flags(hw)
            wl = WalkLevel(lv.name, lv.hw_name, node.pfn, idx, offset, eb_upper, sw, hw, hw,
                           flags, list(flags), "table", cpfn)
            if arch == "arm":
                self._arm_l1(wl, addr, ap.arm_pmd_pair(cpfn))
            if geo.folded_note and lv.name == "pgd":
                wl.notes.append(geo.folded_note)
            out.append(wl)
            if isinstance(child, PteTable):
                out.append(self._pte_level(geo.levels[-1], child, addr))
                break
            node = child
        return out

    def _arm_l1(self, wl: WalkLevel, addr: int, pair: tuple[int, int]) -> None:
        """The hardware first-level entry behind a Linux pgd entry on arm."""
        l1 = addr >> 20
        wl.hw_pair = pair
        wl.hw_table = "L1 (4096 x 4 bytes)"
        wl.hw_index = l1
        wl.hw_offset = l1 * 4
        wl.table_pfn = self.pgd.pfn
        wl.notes.append(f"Linux pgd[{wl.index}] = h/w L1[{2 * wl.index}] + "
                        f"L1[{2 * wl.index + 1}]; this address uses L1[{l1}]")

    def _huge_level(self, lv: ap.PgLevel, node: UpperTable, idx: int, offset: int,
                    addr: int, sw: int) -> WalkLevel:
        arch = self.arch
        eb = 4 if arch == "i386" else 8
        if arch == "arm64":
            hw = ap.arm64_pte_hw(sw, block=True)
            flags = ap.arm64_flags(hw, kind="block")
        elif arch == "i386":
            hw = ap.i386_pte_hw(sw)
            flags = ap.x86_flags(hw, leaf4k=False, bits=32)
        else:
            # SIM: arm without LPAE has no THP; shown as the software entry
            hw = sw
            flags = ap.x86_flags(hw, leaf4k=False)
        phys = None
        if sw & _PAGE_PRESENT:
            phys = (sw & PTE_PFN_MASK) + (addr & ((1 << self.pmd_shift) - 1))
        return WalkLevel(lv.name, lv.hw_name, node.pfn, idx, offset, eb, sw, hw, hw, flags,
                         list(flags), "huge", phys=phys,
                         notes=[f"huge {lv.name} leaf ({1 << (self.pmd_shift - 20)} MiB)"])

    def _pte_level(self, lv: ap.PgLevel, t: PteTable, addr: int) -> WalkLevel:
        arch = self.arch
        idx = (addr >> PAGE_SHIFT) & (self.ptrs_per_pte - 1)
        sw = int(t.pte[idx])
        eb = self.geo.entry_bytes
        if sw == 0:
            state = "none"
        elif sw & _PAGE_PRESENT:
            state = "leaf"
        elif sw & _PAGE_PROTNONE:
            state = "protnone"
        else:
            state = "swap"
        phys = (sw & PTE_PFN_MASK) | (addr & 0xFFF) if state == "leaf" else None
        wl = WalkLevel(lv.name, lv.hw_name, t.pfn, idx, idx * eb, eb, sw, 0, 0, [], [], state,
                       phys=phys)
        if arch == "x86_64":
            wl.hw = wl.linux = ap.x86_64_pte_hw(sw)
            wl.flags = ap.x86_flags(sw, leaf4k=True) if state != "swap" else \
                ap.swap_flags(arch, sw)
        elif arch == "i386":
            wl.hw = wl.linux = ap.i386_pte_hw(sw)
            wl.flags = ap.x86_flags(wl.hw, leaf4k=True, bits=32) if state != "swap" else \
                ap.swap_flags(arch, sw)
        elif arch == "arm64":
            wl.hw = wl.linux = ap.arm64_pte_hw(sw)
            wl.flags = ap.arm64_flags(wl.hw, kind="page") if state != "swap" else \
                ap.swap_flags(arch, sw)
        else:
            linux = ap.arm_linux_pte(sw)
            wl.linux = linux
            wl.hw = ap.arm_hw_pte(linux, ap.arm_set_pte_ext_ext(linux)) if state != "swap" \
                else 0
            wl.linux_flags = ap.arm_linux_flags(linux) if state != "swap" else \
                ap.swap_flags(arch, sw)
            wl.flags = ap.arm_hw_pte_flags(wl.hw)
            wl.hw_table = f"h/w pt {idx >> 8}"
            wl.hw_index = idx & 255
            wl.hw_offset = ap.ARM_PTE_HWTABLE_OFF + idx * 4
            wl.notes.append(f"Linux pt {idx >> 8} at +{1024 * (idx >> 8)}: entry at "
                            f"+{idx * 4}; h/w pt {idx >> 8} at "
                            f"+{ap.ARM_PTE_HWTABLE_OFF + 1024 * (idx >> 8)}: entry at "
                            f"+{wl.hw_offset}")
            if state == "leaf" and wl.hw == 0:
                wl.notes.append("hardware entry 0: not young or PROT_NONE (young emulation)")
        if arch != "arm":
            wl.linux_flags = list(wl.flags)
        if state == "none":
            wl.notes.append("pte_none")
        return wl
