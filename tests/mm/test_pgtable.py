"""Page tables per arch (mm/pgtable.py, arch_pgtable.py): geometry, accounting, freeing,
hardware encodings, walks and the ``memsim pagewalk`` view."""

from __future__ import annotations

import pytest

from memsim import arch_pgtable as ap
from memsim.cli.main import main as cli_main
from memsim.cli.pagewalk import walk_text
from memsim.include.gfp import GFP_HIGHUSER_MOVABLE
from memsim.include.mm_types import PGTY_TABLE, MmStruct
from memsim.include.pgtable_types import (
    _PAGE_DIRTY,
    _PAGE_RW,
    PAGE_COPY,
    PAGE_NONE,
    PAGE_READONLY,
    PAGE_SHARED,
    pfn_pte,
    swp_entry_pte,
)
from memsim.include.vmstat_items import NodeStatItem
from memsim.machine import Machine
from memsim.mm.pgtable import PgTable

ARCHES = ("x86_64", "i386", "arm64", "arm")
ADDR = {"x86_64": 0x7F1234567123, "arm64": 0xFFFF12345123, "i386": 0x12345678,
        "arm": 0xB6F45678}
#: table pages one PTE in an empty mm allocates (pud+pmd+pte / pte), and pgtables_bytes
TABLES = {"x86_64": (3, 3 * 4096), "arm64": (3, 3 * 4096), "i386": (1, 4096),
          "arm": (1, 2048)}
PGD_PAGES = {"x86_64": 2, "arm64": 1, "i386": 1, "arm": 4}


def boot(arch: str) -> Machine:
    return Machine.boot(arch=arch, mem="1G", cpus=1)


def nr_pagetable(m: Machine) -> int:
    return sum(int(n.vm_stat[NodeStatItem.NR_PAGETABLE]) for n in m.nodes)


def free_total(m: Machine) -> int:
    return m.nr_free_pages() + m.nr_pcp_pages()


def map_demo(m: Machine, pt: PgTable, addr: int) -> int:
    t = pt.pte_alloc(addr)
    pfn = m.alloc_pages(GFP_HIGHUSER_MOVABLE)
    assert pfn is not None
    t.pte[(addr >> 12) & (pt.ptrs_per_pte - 1)] = pfn_pte(pfn, PAGE_COPY | _PAGE_RW
                                                          | _PAGE_DIRTY)
    t.nr_used += 1
    return pfn


def unmap_demo(m: Machine, pt: PgTable, addr: int, pfn: int) -> None:
    t = pt.pte_table(addr)
    assert t is not None
    t.pte[(addr >> 12) & (pt.ptrs_per_pte - 1)] = 0
    t.nr_used -= 1
    m.free_pages_pfn(pfn, 0)


# ---- geometry -------------------------------------------------------------------------
@pytest.mark.parametrize(("arch", "want"), [
    ("x86_64", [("pgd", 254), ("p4d", 254), ("pud", 72), ("pmd", 418), ("pte", 359)]),
    ("arm64", [("pgd", 511), ("p4d", 511), ("pud", 508), ("pmd", 145), ("pte", 325)]),
    ("i386", [("pgd", 72), ("pte", 837)]),
    ("arm", [("pgd", 1463), ("pte", 325)]),
])
def test_walk_indices(arch: str, want: list[tuple[str, int]]) -> None:
    m = boot(arch)
    pt = PgTable(m, MmStruct())
    pfn = map_demo(m, pt, ADDR[arch])
    levels = pt.walk(ADDR[arch])
    assert [(lv.level, lv.index) for lv in levels] == want
    assert levels[-1].state == "leaf"
    assert levels[-1].phys == (pfn << 12) | (ADDR[arch] & 0xFFF)
    for upper, lower in zip(levels, levels[1:], strict=False):
        if lower.state != "folded" and upper.state == "table":
            assert upper.next_pfn == lower.table_pfn
    if arch in ("x86_64", "arm64"):
        assert levels[1].state == "folded" and levels[1].table_pfn == levels[0].table_pfn
        hw = {"x86_64": ["PML4", "PML4", "PDPT", "PD", "PT"],
              "arm64": ["L0", "L0", "L1", "L2", "L3"]}[arch]
        assert [lv.hw_name for lv in levels] == hw


def test_walk_stops_at_missing_level() -> None:
    m = boot("x86_64")
    pt = PgTable(m, MmStruct())
    levels = pt.walk(0x400000)
    assert [(lv.level, lv.state) for lv in levels] == [("pgd", "none")]
    pt.pte_alloc(0x400000)
    levels = pt.walk(0x400000)
    assert levels[-1].level == "pte" and levels[-1].state == "none"
    assert levels[-1].phys is None


# ---- accounting -----------------------------------------------------------------------
@pytest.mark.parametrize("arch", ARCHES)
def test_table_allocation_and_free(arch: str) -> None:
    m = boot(arch)
    free0, tables0 = free_total(m), nr_pagetable(m)
    mm = MmStruct()
    pt = PgTable(m, mm)
    # the PGD is a plain __get_free_pages block: neither PageTables nor VmPTE
    assert free_total(m) == free0 - PGD_PAGES[arch]
    assert nr_pagetable(m) == tables0 and mm.pgtables_bytes == 0
    assert m.mem_map.page_type[pt.pgd.pfn] != PGTY_TABLE
    free1 = free_total(m)
    addr = ADDR[arch]
    t = pt.pte_alloc(addr)
    n, nbytes = TABLES[arch]
    assert nr_pagetable(m) == tables0 + n
    assert mm.pgtables_bytes == nbytes
    assert free_total(m) == free1 - n
    assert m.mem_map.page_type[t.pfn] == PGTY_TABLE
    assert pt.pte_alloc(addr + 4096) is t                  # same table, nothing new
    assert nr_pagetable(m) == tables0 + n
    # free_pgd_range over a range that leaves the table's span: nothing freed
    pt.free_pgtables(addr & ~0xFFF, (addr & ~0xFFF) + 4096, addr & ~0xFFF, 1 << 64)
    assert nr_pagetable(m) == tables0 + n
    pt.free_pgtables(0, 1 << 64, 0, 1 << 64)
    assert nr_pagetable(m) == tables0 and mm.pgtables_bytes == 0
    assert free_total(m) == free1
    assert not pt.leaf and not pt.pgd.children
    pt.destroy()
    assert free_total(m) == free0


@pytest.mark.parametrize("arch", ARCHES)
def test_destroy_returns_every_page(arch: str) -> None:
    m = boot(arch)
    free0, tables0 = free_total(m), nr_pagetable(m)
    mm = MmStruct()
    pt = PgTable(m, mm)
    addrs = [0x400000, 0x400000 + (4 << 20), 0x7F000000, 0x9F000000]
    pfns = [map_demo(m, pt, a) for a in addrs]
    assert nr_pagetable(m) > tables0
    for a, pfn in zip(addrs, pfns, strict=True):
        unmap_demo(m, pt, a, pfn)
    pt.destroy()
    assert nr_pagetable(m) == tables0 and mm.pgtables_bytes == 0
    assert free_total(m) == free0


def test_free_pgtables_respects_floor_and_ceiling() -> None:
    m = boot("x86_64")
    mm = MmStruct()
    pt = PgTable(m, mm)
    pt.pte_alloc(0x600000)                    # PMD span [0x600000, 0x800000)
    base = nr_pagetable(m)
    # a neighbour VMA ends at 0x700000 (floor) -> the PTE table is shared, stays
    pt.free_pgtables(0x700000, 0x800000, 0x700000, 1 << 64)
    assert nr_pagetable(m) == base
    # the whole span is free -> PTE, PMD and PUD tables go (the PGD stays)
    pt.free_pgtables(0x600000, 0x800000, 0, 1 << 64)
    assert nr_pagetable(m) == base - 3 and mm.pgtables_bytes == 0
    pt.destroy()


def test_thp_deposit_is_a_counted_pte_table() -> None:
    m = boot("x86_64")
    mm = MmStruct()
    pt = PgTable(m, mm)
    free0, tables0 = free_total(m), nr_pagetable(m)
    pt.pmd_alloc(0x200000)
    pt.deposit_pte_table(0x200000)
    assert nr_pagetable(m) == tables0 + 3 and mm.pgtables_bytes == 3 * 4096
    t = pt.withdraw_pte_table(0x200000)
    assert t is not None and pt.pte_table(0x200000) is t
    assert nr_pagetable(m) == tables0 + 3
    pt.free_pgtables(0, 1 << 47, 0, 1 << 64)
    assert free_total(m) == free0 and nr_pagetable(m) == tables0
    pt.deposit_pte_table(0x200000)
    pt.destroy()
    assert nr_pagetable(m) == tables0


# ---- hardware encodings ---------------------------------------------------------------
def test_x86_encodings() -> None:
    pte = pfn_pte(0x1234, PAGE_COPY)
    assert ap.x86_64_pte_hw(pte) == 0x8000000001234025
    assert ap.x86_flags(pte, leaf4k=True) == ["P", "US", "A", "NX"]
    assert ap.x86_64_table_hw(0x1234) == 0x1234067
    # i386 without PAE: 32 bits, no NX
    assert ap.i386_pte_hw(pte) == 0x01234025
    assert ap.i386_table_hw(0x1234) == 0x01234067
    assert ap.x86_flags(PAGE_NONE, leaf4k=True) == ["A", "PROTNONE"]
    # i386 swap PTE: type from bit 1, offset from bit 9, exclusive in bit 7
    assert ap.i386_pte_hw(swp_entry_pte(3, 0x1234)) == (3 << 1) | (0x1234 << 9)


def test_arm64_encodings() -> None:
    # the kernel's PAGE_READONLY / PAGE_SHARED (pgtable-prot.h) for MT_NORMAL, 48-bit VA
    assert ap.ARM64_PAGE_READONLY == 0x0060000000000FC3
    assert ap.ARM64_PAGE_SHARED == 0x0068000000000FC3
    assert ap.ARM64_PAGE_NONE == 0x0060000000000F82
    assert ap.arm64_pte_hw(pfn_pte(0x40000, PAGE_READONLY)) == \
        (0x40000 << 12) | ap.ARM64_PAGE_READONLY
    assert ap.arm64_pte_hw(pfn_pte(0x40000, PAGE_SHARED)) == \
        (0x40000 << 12) | ap.ARM64_PAGE_SHARED
    assert ap.arm64_pte_hw(PAGE_NONE) == ap.ARM64_PAGE_NONE
    # writable + dirty: DBM set and RDONLY clear (hardware dirty), software DIRTY set
    v = ap.arm64_pte_hw(pfn_pte(0x40000, PAGE_COPY | _PAGE_RW | _PAGE_DIRTY))
    assert v == (0x40000 << 12) | 0x00E8000000000F43
    assert v & ap.PTE_DBM and not v & ap.PTE_RDONLY
    assert "hw-dirty" in ap.arm64_flags(v, kind="page")
    # a huge PMD is a block descriptor: table bit clear
    assert ap.arm64_pte_hw(pfn_pte(0x40000, PAGE_READONLY), block=True) & 3 == 1
    assert ap.arm64_table_hw(0x40001) == 0x0800000040001003
    assert ap.arm64_pte_hw(swp_entry_pte(2, 0x55)) == (2 << 6) | (0x55 << 12)


def test_arm_encodings() -> None:
    sw = pfn_pte(0x80C07, PAGE_COPY | _PAGE_RW | _PAGE_DIRTY)
    linux = ap.arm_linux_pte(sw)
    assert linux == 0x80C0775F       # PRESENT YOUNG MT_WRITEALLOC DIRTY USER XN SHARED
    assert ap.arm_set_pte_ext_ext(linux) == ap.PTE_EXT_NG
    assert ap.arm_hw_pte(linux, ap.PTE_EXT_NG) == 0x80C07C7F
    # clean writable page: APX set (write faults to mark it dirty)
    clean = ap.arm_linux_pte(pfn_pte(0x80C07, PAGE_COPY | _PAGE_RW))
    assert ap.arm_hw_pte(clean, ap.PTE_EXT_NG) == 0x80C07C7F | ap.PTE_EXT_APX
    # read-only private page (PAGE_COPY): RDONLY in Linux, APX in hardware
    ro = ap.arm_linux_pte(pfn_pte(0x80C07, PAGE_COPY))
    assert ro == 0x80C0779F
    assert ap.arm_hw_pte(ro, ap.PTE_EXT_NG) == 0x80C07E7F
    # not young -> the hardware entry is 0 (young emulation); PROT_NONE likewise
    old = ap.arm_linux_pte(pfn_pte(0x80C07, PAGE_COPY & ~0x20))
    assert ap.arm_hw_pte(old, 0) == 0
    assert ap.arm_hw_pte(ap.arm_linux_pte(pfn_pte(0x80C07, PAGE_NONE)), 0) == 0
    # first-level pair: +2048 (h/w pt 0) and +3072 (h/w pt 1), _PAGE_USER_TABLE|PXNTABLE
    assert ap.arm_pmd_pair(0x80C08) == (0x80C08835, 0x80C08C35)
    assert ap.arm_linux_pte(swp_entry_pte(3, 0x10)) == (3 << 2) | (0x10 << 8)


def test_arm_pairing_layout_in_walk() -> None:
    m = boot("arm")
    pt = PgTable(m, MmStruct())
    addr = ADDR["arm"]
    map_demo(m, pt, addr)
    pgd, pte = pt.walk(addr)
    assert pgd.entry_bytes == 8 and pgd.offset == 1463 * 8
    assert pgd.hw_index == 2927 and pgd.hw_offset == 2927 * 4
    assert pgd.hw_pair == ap.arm_pmd_pair(pte.table_pfn)
    assert pgd.hw == pgd.hw_pair[1]                    # odd MiB -> second entry
    assert pte.index == 325 and pte.offset == 325 * 4  # Linux pt 1
    assert pte.hw_table == "h/w pt 1" and pte.hw_index == 69
    assert pte.hw_offset == 2048 + 325 * 4 == 3072 + 69 * 4
    assert pte.linux != pte.hw and pte.hw & 3 == 3     # small page (bit 1) + XN (bit 0)


# ---- the CLI view ---------------------------------------------------------------------
@pytest.mark.parametrize(("arch", "expect"), [
    ("x86_64", ["pgd/PML4", "p4d/PML4     (folded)", "pud/PDPT", "pmd/PD", "pte/PT",
                "P RW US A D NX  -> phys"]),
    ("i386", ["pgd/PD", "pte/PT", "p4d, pud, pmd folded into the pgd",
              "P RW US A D  -> phys"]),
    ("arm64", ["pgd/L0", "pud/L1", "pmd/L2", "pte/L3", "VALID TABLE PXNTable",
               "USER AF nG DBM(WRITE) PXN UXN DIRTY hw-dirty"]),
    ("arm", ["pgd/L1", "pte/L2", "h/w L1[", "the MMU uses L1[", "h/w pt 1[",
             "PRESENT YOUNG MT_WRITEALLOC DIRTY USER XN SHARED",
             "XN SMALL B C AP0 AP1 TEX0 S nG user-rw"]),
])
def test_cli_pagewalk(arch: str, expect: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    addr = {"x86_64": "0x7f1234567000", "arm64": "0xffff12345000", "i386": "0x12345000",
            "arm": "0xb6f45000"}[arch]
    assert cli_main(["pagewalk", "--arch", arch, "--mem", "1G", addr]) == 0
    out = capsys.readouterr().out
    for s in expect:
        assert s in out, s
    assert f"{arch} VA {addr} (" in out


def test_cli_pagewalk_rejects_kernel_address(capsys: pytest.CaptureFixture[str]) -> None:
    assert cli_main(["pagewalk", "--arch", "i386", "--mem", "1G", "0xc0000000"]) == 2
    assert "not a user address" in capsys.readouterr().err


def test_walk_text_header() -> None:
    m = boot("i386")
    pt = PgTable(m, MmStruct())
    pfn = map_demo(m, pt, 0x12345000)
    text = walk_text(pt, 0x12345678)
    assert text.splitlines()[0] == f"i386 VA 0x12345678 (pgd 72, pte 837) -> phys " \
                                   f"{(pfn << 12) | 0x678:#x}"
    assert walk_text(pt, 0x40000000).splitlines()[0].endswith("-> not mapped")
