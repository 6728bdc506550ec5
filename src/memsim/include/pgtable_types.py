"""
Page-table entry bits and the protection templates (arch/x86/include/asm/pgtable_types.h,
arch/x86/mm/pgprot.c, include/linux/pgtable.h, include/linux/swapops.h).

Every page table in the model stores entries in the x86-64 layout below, whatever the
machine's architecture. # SIM: one software layout for all arches; mm/pgtable.py converts
an entry to the arch's hardware layout (arm64 AP/DBM/AF bits, the arm pairing of Linux and
hardware tables, i386 32-bit entries) when a walk shows it. Swap entries use the x86-64
encoding (type in bits 63..59, inverted offset from bit 9).
"""

from __future__ import annotations

from memsim.include.mm import VM_EXEC, VM_READ, VM_SHARED, VM_WRITE

_PAGE_BIT_PRESENT = 0
_PAGE_BIT_RW = 1
_PAGE_BIT_USER = 2
_PAGE_BIT_PWT = 3
_PAGE_BIT_PCD = 4
_PAGE_BIT_ACCESSED = 5
_PAGE_BIT_DIRTY = 6
_PAGE_BIT_PSE = 7
_PAGE_BIT_GLOBAL = 8
_PAGE_BIT_SOFTW1 = 9
_PAGE_BIT_SOFTW2 = 10
_PAGE_BIT_SOFTW3 = 11
_PAGE_BIT_NX = 63

_PAGE_PRESENT = 1 << _PAGE_BIT_PRESENT
_PAGE_RW = 1 << _PAGE_BIT_RW
_PAGE_USER = 1 << _PAGE_BIT_USER
_PAGE_PWT = 1 << _PAGE_BIT_PWT
_PAGE_PCD = 1 << _PAGE_BIT_PCD
_PAGE_ACCESSED = 1 << _PAGE_BIT_ACCESSED
_PAGE_DIRTY = 1 << _PAGE_BIT_DIRTY
_PAGE_PSE = 1 << _PAGE_BIT_PSE
_PAGE_GLOBAL = 1 << _PAGE_BIT_GLOBAL
_PAGE_PROTNONE = _PAGE_GLOBAL
_PAGE_SPECIAL = 1 << _PAGE_BIT_SOFTW1
_PAGE_UFFD_WP = 1 << _PAGE_BIT_SOFTW2
_PAGE_SOFT_DIRTY = 1 << _PAGE_BIT_SOFTW3
_PAGE_NX = 1 << _PAGE_BIT_NX

PTE_PFN_SHIFT = 12
#: physical address bits of an entry (__PHYSICAL_MASK_SHIFT 52)
PTE_PFN_MASK = ((1 << 52) - 1) & ~((1 << 12) - 1)
PTE_FLAGS_MASK = ~PTE_PFN_MASK & ((1 << 64) - 1)

PAGE_NONE = _PAGE_PROTNONE | _PAGE_ACCESSED
PAGE_SHARED = _PAGE_PRESENT | _PAGE_RW | _PAGE_USER | _PAGE_ACCESSED | _PAGE_NX
PAGE_SHARED_EXEC = _PAGE_PRESENT | _PAGE_RW | _PAGE_USER | _PAGE_ACCESSED
PAGE_COPY = _PAGE_PRESENT | _PAGE_USER | _PAGE_ACCESSED | _PAGE_NX
PAGE_COPY_EXEC = _PAGE_PRESENT | _PAGE_USER | _PAGE_ACCESSED
PAGE_READONLY = _PAGE_PRESENT | _PAGE_USER | _PAGE_ACCESSED | _PAGE_NX
PAGE_READONLY_EXEC = _PAGE_PRESENT | _PAGE_USER | _PAGE_ACCESSED

#: protection_map[vm_flags & (READ|WRITE|EXEC|SHARED)] (arch/x86/mm/pgprot.c)
protection_map: tuple[int, ...] = (
    PAGE_NONE, PAGE_READONLY, PAGE_COPY, PAGE_COPY,
    PAGE_READONLY_EXEC, PAGE_READONLY_EXEC, PAGE_COPY_EXEC, PAGE_COPY_EXEC,
    PAGE_NONE, PAGE_READONLY, PAGE_SHARED, PAGE_SHARED,
    PAGE_READONLY_EXEC, PAGE_READONLY_EXEC, PAGE_SHARED_EXEC, PAGE_SHARED_EXEC,
)


def vm_get_page_prot(vm_flags: int) -> int:
    """The PTE template for a VMA's flags (vm_get_page_prot)."""
    return protection_map[vm_flags & (VM_READ | VM_WRITE | VM_EXEC | VM_SHARED)]


def pfn_pte(pfn: int, prot: int) -> int:
    return (pfn << PTE_PFN_SHIFT) | prot


def pte_pfn(pte: int) -> int:
    return (pte & PTE_PFN_MASK) >> PTE_PFN_SHIFT


def pte_none(pte: int) -> bool:
    # x86 ignores the A/D bits hardware may set on a cleared entry (erratum): here 0 only
    return pte == 0


def pte_present(pte: int) -> bool:
    return bool(pte & (_PAGE_PRESENT | _PAGE_PROTNONE))


def pte_write(pte: int) -> bool:
    return bool(pte & _PAGE_RW)


def pte_dirty(pte: int) -> bool:
    return bool(pte & _PAGE_DIRTY)


def pte_young(pte: int) -> bool:
    return bool(pte & _PAGE_ACCESSED)


def pte_special(pte: int) -> bool:
    return bool(pte & _PAGE_SPECIAL)


def pte_protnone(pte: int) -> bool:
    return pte & (_PAGE_PROTNONE | _PAGE_PRESENT) == _PAGE_PROTNONE


def pte_modify(pte: int, newprot: int) -> int:
    """Keep pfn, dirty, accessed and special; take the rest from *newprot* (pte_modify)."""
    keep = PTE_PFN_MASK | _PAGE_DIRTY | _PAGE_ACCESSED | _PAGE_SPECIAL | _PAGE_SOFT_DIRTY \
        | _PAGE_UFFD_WP
    return (pte & keep) | (newprot & ~keep & ((1 << 64) - 1))


# ---- swap entries (non-present, non-none PTEs) --------------------------------------
SWP_TYPE_BITS = 5
_PAGE_BIT_PROTNONE = _PAGE_BIT_GLOBAL
SWP_OFFSET_FIRST_BIT = _PAGE_BIT_GLOBAL + 1
SWP_OFFSET_SHIFT = SWP_OFFSET_FIRST_BIT + SWP_TYPE_BITS
_PAGE_SWP_EXCLUSIVE = _PAGE_PWT
MAX_SWAPFILES_SHIFT = 5
#: the swap "types" above the real devices (include/linux/swap.h, x86-64 config with
#: DEVICE_PRIVATE, MIGRATION, MEMORY_FAILURE and PTE_MARKER)
SWP_PTE_MARKER = (1 << MAX_SWAPFILES_SHIFT) - 1
SWP_MIGRATION_WRITE = SWP_PTE_MARKER - 5
SWP_MIGRATION_READ_EXCLUSIVE = SWP_MIGRATION_WRITE - 1
SWP_MIGRATION_READ = SWP_MIGRATION_WRITE - 2
SWP_HWPOISON = SWP_MIGRATION_READ - 1
MAX_SWAPFILES = SWP_HWPOISON
#: PTE marker bits (include/linux/swapops.h, 6.12: PTE_MARKER_UFFD_WP, SWAPIN_ERROR,
#: GUARD)
PTE_MARKER_UFFD_WP = 1 << 0
PTE_MARKER_POISONED = 1 << 1
PTE_MARKER_GUARD = 1 << 2

_U64 = (1 << 64) - 1


def swp_entry_pte(swp_type: int, offset: int) -> int:
    """__swp_entry_to_pte(__swp_entry(type, offset)) in the x86-64 layout."""
    return ((((~offset) << SWP_OFFSET_SHIFT) & _U64) >> SWP_TYPE_BITS) \
        | (swp_type << (64 - SWP_TYPE_BITS))


def pte_swp_type(pte: int) -> int:
    return pte >> (64 - SWP_TYPE_BITS)


def pte_swp_offset(pte: int) -> int:
    return ((~pte & _U64) << SWP_TYPE_BITS & _U64) >> SWP_OFFSET_SHIFT


def is_swap_pte(pte: int) -> bool:
    return pte != 0 and not pte_present(pte)


def make_pte_marker(marker: int) -> int:
    return swp_entry_pte(SWP_PTE_MARKER, marker)


def is_pte_marker(pte: int) -> bool:
    return is_swap_pte(pte) and pte_swp_type(pte) == SWP_PTE_MARKER


def is_guard_pte(pte: int) -> bool:
    return is_pte_marker(pte) and bool(pte_swp_offset(pte) & PTE_MARKER_GUARD)
