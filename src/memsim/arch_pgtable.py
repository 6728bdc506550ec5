"""
Per-architecture page-table geometry and hardware entry encodings (Linux 6.12).

The model stores every entry in the x86-64 software layout of include/pgtable_types.py
(# SIM: one layout on every arch). This module says how the tree is shaped on each arch,
how its table pages are accounted, and what the entry the MMU reads would be:

* x86_64 (arch/x86/include/asm/pgtable_types.h, pgalloc.h): the layout *is* the hardware
  layout; upper entries are ``_PAGE_TABLE`` = P|RW|US|A|D plus the next table's address
  (pmd_populate, pud_populate, p4d_populate). 4-level paging, P4D folded into the PGD.
* i386 without PAE (arch/x86/include/asm/pgtable-2level*.h): 32-bit entries, 1024 per
  table, PGD shift 22, P4D/PUD/PMD folded; no NX bit (``_PAGE_NX`` is 0 without PAE);
  swap entries as pgtable-2level.h encodes them (type bits 1..5, offset from bit 9,
  exclusive marker in bit 7).
* arm64, 4 KiB granule, 48-bit VA (arch/arm64/include/asm/pgtable-hwdef.h,
  pgtable-prot.h, pgtable.h, pgalloc.h): the Linux PTE is the hardware descriptor; the
  software bits 55..58 are ignored by the MMU. ``PTE_WRITE`` is the DBM bit 51 and the
  hardware-dirty state is DBM && !RDONLY. Table descriptors are ``*_TYPE_TABLE`` |
  ``*_TABLE_PXN`` for user tables.
* arm, classic MMU without LPAE (arch/arm/include/asm/pgtable-2level*.h,
  arch/arm/mm/proc-v7-2level.S cpu_v7_set_pte_ext, arch/arm/include/asm/pgalloc.h
  __pmd_populate, arch/arm/mm/mmu.c build_mem_type_table): a Linux PGD entry is a pair of
  hardware first-level entries; one PTE page holds Linux pt 0 (+0), Linux pt 1 (+1024),
  h/w pt 0 (+2048), h/w pt 1 (+3072).
"""

from __future__ import annotations

from dataclasses import dataclass

from memsim.include.gfp import __GFP_HIGHMEM, __GFP_ZERO, GFP_KERNEL, GFP_KERNEL_ACCOUNT
from memsim.include.pgtable_types import (
    _PAGE_ACCESSED,
    _PAGE_DIRTY,
    _PAGE_NX,
    _PAGE_PRESENT,
    _PAGE_PROTNONE,
    _PAGE_PSE,
    _PAGE_RW,
    _PAGE_SPECIAL,
    _PAGE_SWP_EXCLUSIVE,
    _PAGE_UFFD_WP,
    _PAGE_USER,
    PTE_PFN_MASK,
    pte_swp_offset,
    pte_swp_type,
)

PAGE_SHIFT = 12
_U64 = (1 << 64) - 1
_U32 = (1 << 32) - 1

#: include/asm-generic/pgalloc.h
GFP_PGTABLE_USER = GFP_KERNEL_ACCOUNT | __GFP_ZERO

# ---- x86 ----------------------------------------------------------------------------
#: _PAGE_TABLE (arch/x86/include/asm/pgtable_types.h): __PP|__RW|_USR|___A|___D
X86_PAGE_TABLE = 0x67
#: x86 swap PTE bits in the software layout (pgtable_64.h / pgtable_types.h)
_PAGE_SWP_SOFT_DIRTY = _PAGE_RW
_PAGE_SWP_UFFD_WP = _PAGE_USER

# ---- i386 non-PAE (arch/x86/include/asm/pgtable-2level.h) -----------------------------
I386_SWP_TYPE_SHIFT = 1          # _PAGE_BIT_PRESENT + 1
I386_SWP_OFFSET_SHIFT = 9        # _PAGE_BIT_PROTNONE + 1
I386_PAGE_SWP_EXCLUSIVE = _PAGE_PSE

# ---- arm64 (arch/arm64/include/asm/pgtable-hwdef.h, pgtable-prot.h) -------------------
PTE_VALID = 1 << 0
PTE_TABLE_BIT = 1 << 1
PTE_TYPE_PAGE = 3
PTE_USER = 1 << 6                # AP[1]
PTE_RDONLY = 1 << 7              # AP[2]
PTE_SHARED = 3 << 8              # SH[1:0] inner shareable
PTE_AF = 1 << 10
PTE_NG = 1 << 11
PTE_GP = 1 << 50
PTE_DBM = 1 << 51
PTE_WRITE = PTE_DBM
PTE_CONT = 1 << 52
PTE_PXN = 1 << 53
PTE_UXN = 1 << 54
PTE_DIRTY = 1 << 55
PTE_SPECIAL = 1 << 56
PTE_DEVMAP = 1 << 57
PTE_UFFD_WP = 1 << 58
PTE_PRESENT_INVALID = PTE_NG     # only when !PTE_VALID
PTE_SWP_EXCLUSIVE = 1 << 2
PTE_SWP_UFFD_WP = 1 << 3
MT_NORMAL = 0


def PTE_ATTRINDX(t: int) -> int:  # noqa: N802
    return t << 2


ARM64_PTE_ADDR_MASK = ((1 << (50 - PAGE_SHIFT)) - 1) << PAGE_SHIFT    # PTE_ADDR_LOW
#: *_TABLE_PXN (bit 59) / *_TABLE_UXN (bit 60) of table descriptors
ARM64_TABLE_PXN = 1 << 59
ARM64_TABLE_UXN = 1 << 60
ARM64_SWP_TYPE_SHIFT = 6
ARM64_SWP_OFFSET_SHIFT = 12
_PAGE_DEFAULT = PTE_TYPE_PAGE | PTE_AF | PTE_SHARED | PTE_ATTRINDX(MT_NORMAL)
#: the protection templates of pgtable-prot.h (48-bit VA, no LPA2, no BTI/MTE)
ARM64_PAGE_NONE = ((_PAGE_DEFAULT & ~PTE_VALID) | PTE_PRESENT_INVALID | PTE_RDONLY | PTE_NG
                   | PTE_PXN | PTE_UXN)
ARM64_PAGE_SHARED = (_PAGE_DEFAULT | PTE_USER | PTE_RDONLY | PTE_NG | PTE_PXN | PTE_UXN
                     | PTE_WRITE)
ARM64_PAGE_SHARED_EXEC = _PAGE_DEFAULT | PTE_USER | PTE_RDONLY | PTE_NG | PTE_PXN | PTE_WRITE
ARM64_PAGE_READONLY = _PAGE_DEFAULT | PTE_USER | PTE_RDONLY | PTE_NG | PTE_PXN | PTE_UXN
ARM64_PAGE_READONLY_EXEC = _PAGE_DEFAULT | PTE_USER | PTE_RDONLY | PTE_NG | PTE_PXN
ARM64_PAGE_EXECONLY = _PAGE_DEFAULT | PTE_RDONLY | PTE_NG | PTE_PXN

# ---- arm 2-level (arch/arm/include/asm/pgtable-2level.h, -hwdef.h) --------------------
L_PTE_VALID = 1 << 0
L_PTE_PRESENT = 1 << 0
L_PTE_YOUNG = 1 << 1
L_PTE_DIRTY = 1 << 6
L_PTE_RDONLY = 1 << 7
L_PTE_USER = 1 << 8
L_PTE_XN = 1 << 9
L_PTE_SHARED = 1 << 10
L_PTE_NONE = 1 << 11
L_PTE_SWP_EXCLUSIVE = L_PTE_RDONLY
L_PTE_MT_WRITEALLOC = 0x07 << 2
L_PTE_MT_MASK = 0x0F << 2
ARM_SWP_TYPE_SHIFT = 2
ARM_SWP_OFFSET_SHIFT = 8         # __SWP_TYPE_BITS + __SWP_TYPE_SHIFT + 1
#: pgprot_user after build_mem_type_table() on an SMP ARMv7: the SMP kernel forces the
#: write-allocate cache policy and shared mappings (cachepolicy = CPOLICY_WRITEALLOC,
#: initial_pmd_value |= PMD_SECT_S -> user_pgprot |= L_PTE_SHARED)
ARM_PGPROT_USER = L_PTE_PRESENT | L_PTE_YOUNG | L_PTE_MT_WRITEALLOC | L_PTE_SHARED
# hardware second-level (small page) bits
PTE_EXT_XN = 1 << 0
PTE_TYPE_SMALL = 2
PTE_BUFFERABLE = 1 << 2
PTE_CACHEABLE = 1 << 3
PTE_EXT_AP0 = 1 << 4
PTE_EXT_AP1 = 2 << 4
PTE_EXT_TEX1 = 1 << 6            # PTE_EXT_TEX(1)
PTE_EXT_APX = 1 << 9
PTE_EXT_SHARED = 1 << 10
PTE_EXT_NG = 1 << 11
# hardware first-level bits
PMD_TYPE_TABLE = 1
PMD_TYPE_SECT = 2
PMD_PXNTABLE = 1 << 2
PMD_BIT4 = 1 << 4
DOMAIN_USER = 1


def PMD_DOMAIN(x: int) -> int:  # noqa: N802
    return x << 5


#: _PAGE_USER_TABLE (arch/arm/include/asm/pgalloc.h)
ARM_PAGE_USER_TABLE = PMD_TYPE_TABLE | PMD_BIT4 | PMD_DOMAIN(DOMAIN_USER)
#: user_pmd_table: build_mem_type_table() adds PMD_PXNTABLE when ID_MMFR0.VMSA >= 4.
#: # SIM: the CPU is a Cortex-A15 (QEMU virt's default for 32-bit guests, VMSA = 5)
ARM_USER_PMD_TABLE = ARM_PAGE_USER_TABLE | PMD_PXNTABLE
#: PTE_HWTABLE_OFF: the hardware tables follow the 512 Linux entries
ARM_PTE_HWTABLE_OFF = 512 * 4


# ---- geometry -----------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class PgLevel:
    """One Linux page-table level: its kernel name, shift, entries, hardware name."""

    name: str
    shift: int
    ptrs: int
    hw_name: str
    #: folded levels have one entry that is the entry of the level above
    folded: bool = False


@dataclass(frozen=True, slots=True)
class PgtableGeometry:
    arch: str
    #: every Linux level from pgd down to pte (folded ones included where the kernel
    #: walk shows them)
    levels: tuple[PgLevel, ...]
    #: sizeof(pte_t)
    entry_bytes: int
    ptrs_per_pte: int
    pmd_shift: int
    #: pgd_alloc(): buddy order and GFP of the top-level table
    pgd_order: int
    pgd_gfp: int
    #: pte_alloc_one() GFP
    pte_gfp: int
    #: levels that pass through a folded P4D/PUD/PMD not shown as rows
    folded_note: str

    @property
    def upper(self) -> tuple[PgLevel, ...]:
        """The levels above the PTE level that are real tables (not folded)."""
        return tuple(lv for lv in self.levels[:-1] if not lv.folded)

    def pgtables_bytes(self, level: str) -> int:
        """What mm_inc_nr_ptes/pmds/puds add to mm->pgtables_bytes for a new table."""
        if level == "pte":
            return self.ptrs_per_pte * self.entry_bytes      # PTRS_PER_PTE * sizeof(pte_t)
        if level in ("pmd", "pud"):
            return 512 * 8                                   # PTRS_PER_PMD/PUD * 8
        return 0                                             # the PGD is not counted


_X86_64_LEVELS = (
    PgLevel("pgd", 39, 512, "PML4"), PgLevel("p4d", 39, 1, "PML4", folded=True),
    PgLevel("pud", 30, 512, "PDPT"), PgLevel("pmd", 21, 512, "PD"),
    PgLevel("pte", 12, 512, "PT"),
)
_ARM64_LEVELS = (
    PgLevel("pgd", 39, 512, "L0"), PgLevel("p4d", 39, 1, "L0", folded=True),
    PgLevel("pud", 30, 512, "L1"), PgLevel("pmd", 21, 512, "L2"),
    PgLevel("pte", 12, 512, "L3"),
)

GEOMETRY: dict[str, PgtableGeometry] = {
    # CONFIG_MITIGATION_PAGE_TABLE_ISOLATION=y: PGD_ALLOCATION_ORDER 1 (kernel and user
    # halves, arch/x86/include/asm/pgalloc.h). # SIM: X86_FEATURE_PTI is clear at run time
    # (a CPU that is not affected by Meltdown), so the user half is unused and PGD
    # entries carry no NX (pti_set_user_pgtbl)
    "x86_64": PgtableGeometry("x86_64", _X86_64_LEVELS, 8, 512, 21, 1, GFP_PGTABLE_USER,
                              GFP_PGTABLE_USER, ""),
    # pgdir_is_page_size(): PGD_SIZE == PAGE_SIZE with 48-bit VA
    "arm64": PgtableGeometry("arm64", _ARM64_LEVELS, 8, 512, 21, 0, GFP_PGTABLE_USER,
                             GFP_PGTABLE_USER, ""),
    # non-PAE: no PTI (it needs X86_64 || X86_PAE), PGD_ALLOCATION_ORDER 0; CONFIG_HIGHPTE
    # is off by default on x86, so PTE pages come from lowmem
    "i386": PgtableGeometry("i386", (PgLevel("pgd", 22, 1024, "PD"),
                                     PgLevel("pte", 12, 1024, "PT")),
                            4, 1024, 22, 0, GFP_PGTABLE_USER, GFP_PGTABLE_USER,
                            "p4d, pud, pmd folded into the pgd"),
    # arch/arm/mm/pgd.c: __get_free_pages(GFP_KERNEL, 2) for the 16 KiB first level;
    # CONFIG_HIGHPTE defaults to y on arm (depends on HIGHMEM): pte_alloc_one() asks for
    # GFP_PGTABLE_USER | __GFP_HIGHMEM
    "arm": PgtableGeometry("arm", (PgLevel("pgd", 21, 2048, "L1"),
                                   PgLevel("pte", 12, 512, "L2")),
                           4, 512, 21, 2, GFP_KERNEL, GFP_PGTABLE_USER | __GFP_HIGHMEM,
                           "p4d, pud, pmd folded into the pgd"),
}


# ---- software entry helpers ---------------------------------------------------------
def sw_table_entry(pfn: int) -> int:
    """The model's value for an upper entry pointing at table *pfn* (x86 _PAGE_TABLE)."""
    return (pfn << PAGE_SHIFT) | X86_PAGE_TABLE


def _swap_fields(sw: int) -> tuple[int, int, bool, bool, bool]:
    """(type, offset, exclusive, uffd_wp, soft_dirty) of a software swap PTE."""
    return (pte_swp_type(sw), pte_swp_offset(sw), bool(sw & _PAGE_SWP_EXCLUSIVE),
            bool(sw & _PAGE_SWP_UFFD_WP), bool(sw & _PAGE_SWP_SOFT_DIRTY))


def _is_swap(sw: int) -> bool:
    return sw != 0 and not sw & (_PAGE_PRESENT | _PAGE_PROTNONE)


# ---- x86 ----------------------------------------------------------------------------
def x86_64_table_hw(pfn: int) -> int:
    return sw_table_entry(pfn)


def x86_64_pte_hw(sw: int) -> int:
    return sw & _U64


def i386_table_hw(pfn: int) -> int:
    return sw_table_entry(pfn) & _U32


def i386_pte_hw(sw: int) -> int:
    """The 32-bit non-PAE entry: same low bits, no NX; swap entries re-encoded."""
    if _is_swap(sw):
        t, off, excl, _, _ = _swap_fields(sw)
        v = (t << I386_SWP_TYPE_SHIFT) | (off << I386_SWP_OFFSET_SHIFT)
        if excl:
            v |= I386_PAGE_SWP_EXCLUSIVE
        return v & _U32
    return sw & _U32 & ~_PAGE_NX


_X86_BITS = ("P", "RW", "US", "PWT", "PCD", "A", "D", "PSE", "G", "SPECIAL", "UFFD_WP",
             "SOFT_DIRTY")


def x86_flags(v: int, *, leaf4k: bool, bits: int = 64) -> list[str]:
    """Flag names of a present (or PROTNONE) x86 entry."""
    out: list[str] = []
    present = bool(v & _PAGE_PRESENT)
    for b, name in enumerate(_X86_BITS):
        if v >> b & 1:
            if b == 7 and leaf4k:
                name = "PAT"
            elif b == 8 and not present:
                name = "PROTNONE"
            out.append(name)
    if bits == 64 and v >> 63 & 1:
        out.append("NX")
    return out


def swap_flags(arch: str, sw: int) -> list[str]:
    t, off, excl, uffd, sd = _swap_fields(sw)
    out = ["swap", f"type={t}", f"offset={off:#x}"]
    if excl:
        out.append("EXCLUSIVE")
    if uffd and arch in ("x86_64", "arm64"):
        out.append("UFFD_WP")
    if sd and arch == "x86_64":
        out.append("SOFT_DIRTY")
    return out


# ---- arm64 --------------------------------------------------------------------------
def arm64_table_hw(pfn: int) -> int:
    """p4d/pud/pmd_populate for a user mm: *_TYPE_TABLE | *_TABLE_PXN."""
    return (pfn << PAGE_SHIFT) | PTE_TYPE_PAGE | ARM64_TABLE_PXN


def arm64_pte_hw(sw: int, *, block: bool = False) -> int:
    """
    The arm64 descriptor for a software PTE (or a huge PMD when *block*): a user page
    (PTE_USER, nG, PXN always; UXN from NX), AF from A, PTE_WRITE (DBM) from RW, the
    software DIRTY bit from D, RDONLY unless writable and dirty (pte_mkdirty /
    pte_mkwrite_novma), MT_NORMAL inner-shareable. A block descriptor clears the table bit
    (pmd_mkhuge).
    """
    if sw == 0:
        return 0
    if _is_swap(sw):
        t, off, excl, uffd, _ = _swap_fields(sw)
        v = (t << ARM64_SWP_TYPE_SHIFT) | (off << ARM64_SWP_OFFSET_SHIFT)
        if excl:
            v |= PTE_SWP_EXCLUSIVE
        if uffd:
            v |= PTE_SWP_UFFD_WP
        return v
    v = (sw & PTE_PFN_MASK & ARM64_PTE_ADDR_MASK) | PTE_TABLE_BIT | PTE_SHARED \
        | PTE_ATTRINDX(MT_NORMAL) | PTE_NG | PTE_PXN
    if sw & _PAGE_PRESENT:
        v |= PTE_VALID
        if sw & _PAGE_USER:
            v |= PTE_USER
        if sw & _PAGE_NX:
            v |= PTE_UXN
    else:                                   # PROTNONE: PAGE_NONE's layout
        v |= PTE_PRESENT_INVALID | PTE_UXN
    if sw & _PAGE_ACCESSED:
        v |= PTE_AF
    if sw & _PAGE_DIRTY:
        v |= PTE_DIRTY
    if sw & _PAGE_RW and sw & _PAGE_PRESENT:
        v |= PTE_WRITE
    if not (sw & _PAGE_RW and sw & _PAGE_DIRTY and sw & _PAGE_PRESENT):
        v |= PTE_RDONLY
    if sw & _PAGE_SPECIAL:
        v |= PTE_SPECIAL
    if sw & _PAGE_UFFD_WP:
        v |= PTE_UFFD_WP
    if block:
        v &= ~PTE_TABLE_BIT
    return v


_ARM64_BITS = ((6, "USER"), (7, "RDONLY"), (10, "AF"), (11, "nG"), (50, "GP"),
               (51, "DBM(WRITE)"), (52, "CONT"), (53, "PXN"), (54, "UXN"),
               (55, "DIRTY"), (56, "SPECIAL"), (57, "DEVMAP"), (58, "UFFD_WP"))


def arm64_flags(v: int, *, kind: str) -> list[str]:
    """Names of an arm64 descriptor; *kind* is "table", "page" or "block"."""
    out: list[str] = []
    if kind == "table":
        out += ["VALID", "TABLE"]
        for b, name in ((59, "PXNTable"), (60, "UXNTable"), (61, "APTable0"),
                        (62, "APTable1"), (63, "NSTable")):
            if v >> b & 1:
                out.append(name)
        return out
    if v & PTE_VALID:
        out.append("VALID")
    elif v & PTE_PRESENT_INVALID:
        out.append("PRESENT_INVALID")
    if kind == "block":
        out.append("BLOCK")
    elif v & PTE_TABLE_BIT:
        out.append("PAGE")
    out.append(f"AttrIndx={(v >> 2) & 7}")
    sh = (v >> 8) & 3
    if sh:
        out.append({1: "SH=?", 2: "SH=OS", 3: "SH=IS"}[sh])
    for b, name in _ARM64_BITS:
        if v >> b & 1:
            out.append(name)
    if v & PTE_WRITE and not v & PTE_RDONLY:
        out.append("hw-dirty")
    return out


# ---- arm (2-level) ------------------------------------------------------------------
def arm_linux_pte(sw: int) -> int:
    """The Linux ("L_PTE_*") entry for a software PTE: what set_pte_at stores at +0/+1024."""
    if sw == 0:
        return 0
    if _is_swap(sw):
        t, off, excl, _, _ = _swap_fields(sw)
        v = (t << ARM_SWP_TYPE_SHIFT) | (off << ARM_SWP_OFFSET_SHIFT)
        if excl:
            v |= L_PTE_SWP_EXCLUSIVE
        return v & _U32
    v = (sw & PTE_PFN_MASK) | L_PTE_MT_WRITEALLOC | L_PTE_SHARED | L_PTE_PRESENT
    if not sw & _PAGE_PRESENT:             # PROTNONE: PAGE_NONE = ... | L_PTE_NONE
        v |= L_PTE_NONE
    if sw & _PAGE_ACCESSED:
        v |= L_PTE_YOUNG
    if sw & _PAGE_DIRTY:
        v |= L_PTE_DIRTY
    if not sw & _PAGE_RW:
        v |= L_PTE_RDONLY
    if sw & _PAGE_USER and sw & _PAGE_PRESENT:
        v |= L_PTE_USER
    if sw & _PAGE_NX or not sw & _PAGE_PRESENT:
        v |= L_PTE_XN
    return v & _U32


def arm_set_pte_ext_ext(linux: int, user_addr: bool = True) -> int:
    """The *ext* argument set_ptes() passes: PTE_EXT_NG for a valid user PTE (nG)."""
    valid_user = linux & L_PTE_VALID and linux & L_PTE_USER and linux & L_PTE_YOUNG
    return PTE_EXT_NG if user_addr and valid_user else 0


def arm_hw_pte(linux: int, ext: int) -> int:
    """
    cpu_v7_set_pte_ext() (proc-v7-2level.S): the hardware small-page descriptor written
    2048 bytes above the Linux entry. Keeps the address, C/B (bits 2-3) and S (bit 10),
    adds *ext* and AP0 and the small-page type, TEX[0] from Linux bit 4, APX when
    read-only or clean (dirty emulation), AP1 for user, XN; and writes 0 unless the entry
    is young, valid and not PROT_NONE (young emulation).
    """
    r3 = linux & ~0x3F0 & ~0x3
    r3 |= ext | PTE_EXT_AP0 | PTE_TYPE_SMALL
    if linux & (1 << 4):
        r3 |= PTE_EXT_TEX1
    if linux & L_PTE_RDONLY or not linux & L_PTE_DIRTY:
        r3 |= PTE_EXT_APX
    if linux & L_PTE_USER:
        r3 |= PTE_EXT_AP1
    if linux & L_PTE_XN:
        r3 |= PTE_EXT_XN
    if not (linux & L_PTE_YOUNG and linux & L_PTE_VALID and not linux & L_PTE_NONE):
        r3 = 0
    return r3 & _U32


def arm_pmd_pair(pte_pfn: int) -> tuple[int, int]:
    """__pmd_populate(): the two first-level entries for a PTE page (h/w pt 0 and 1)."""
    v = ((pte_pfn << PAGE_SHIFT) + ARM_PTE_HWTABLE_OFF) | ARM_USER_PMD_TABLE
    return v & _U32, (v + 256 * 4) & _U32


_ARM_L_BITS = ((0, "PRESENT"), (1, "YOUNG"), (6, "DIRTY"), (7, "RDONLY"), (8, "USER"),
               (9, "XN"), (10, "SHARED"), (11, "NONE"))
_ARM_MT = {0x00: "UNCACHED", 0x01: "BUFFERABLE", 0x02: "WRITETHROUGH", 0x03: "WRITEBACK",
           0x06: "MINICACHE", 0x07: "WRITEALLOC", 0x04: "DEV_SHARED",
           0x0C: "DEV_NONSHARED", 0x09: "DEV_WC", 0x0B: "DEV_CACHED", 0x0F: "VECTORS"}


def arm_linux_flags(v: int) -> list[str]:
    out = [name for b, name in _ARM_L_BITS if v >> b & 1]
    out.insert(2 if len(out) >= 2 else len(out),
               "MT_" + _ARM_MT.get((v & L_PTE_MT_MASK) >> 2, "?"))
    return out


def arm_hw_pte_flags(v: int) -> list[str]:
    if v & 3 == 0:
        return ["FAULT"]
    out = []
    for b, name in ((0, "XN"), (1, "SMALL"), (2, "B"), (3, "C"), (4, "AP0"), (5, "AP1"),
                    (6, "TEX0"), (9, "APX"), (10, "S"), (11, "nG")):
        if v >> b & 1:
            out.append(name)
    ap = (v >> 4) & 3
    apx = (v >> 9) & 1
    out.append({(0, 1): "priv-rw", (0, 2): "user-ro", (0, 3): "user-rw", (1, 1): "priv-ro",
                (1, 2): "user-ro", (1, 3): "user-ro"}.get((apx, ap), "no-access"))
    return out


def arm_pmd_flags(v: int) -> list[str]:
    if v & 3 == PMD_TYPE_TABLE:
        out = ["TABLE"]
        if v & PMD_PXNTABLE:
            out.append("PXNTABLE")
        if v & PMD_BIT4:
            out.append("BIT4")
        out.append(f"DOMAIN={(v >> 5) & 0xF}")
        return out
    if v & 3 == PMD_TYPE_SECT:
        return ["SECTION"]
    return ["FAULT"]
