"""Page flags and page types of ``struct page`` (6.12 ``include/linux/page-flags.h``).

Bit numbers are those of 6.12 on x86-64 with MMU, MEMORY_FAILURE and PAGE_IDLE_FLAG (64-bit)
configured and no ``PG_arch_2`` / ``PG_arch_3`` (reference §6.2).  6.12 has no ``PG_slab`` and
no ``PG_error``: slab pages are recognised by their page *type* (§6.3).
"""

from __future__ import annotations

from enum import IntEnum


class PageFlags(IntEnum):
    """6.12 ``enum pageflags``: the bit number of each ``PG_*`` flag in ``page->flags``."""

    PG_locked = 0
    PG_writeback = 1
    PG_referenced = 2
    PG_uptodate = 3
    PG_dirty = 4
    PG_lru = 5
    PG_head = 6
    PG_waiters = 7
    PG_active = 8
    PG_workingset = 9
    PG_owner_priv_1 = 10
    PG_owner_2 = 11
    PG_arch_1 = 12
    PG_reserved = 13
    PG_private = 14
    PG_private_2 = 15
    PG_reclaim = 16
    PG_swapbacked = 17
    PG_unevictable = 18
    PG_mlocked = 19
    PG_hwpoison = 20
    PG_young = 21
    PG_idle = 22


#: Number of page-flag bits in the modelled configuration (``NR_PAGEFLAGS``).
NR_PAGEFLAGS = len(PageFlags)
#: The low bits of ``page->flags`` that hold flags (the rest hold section/node/zone ids).
PAGEFLAGS_MASK = (1 << NR_PAGEFLAGS) - 1

# Aliases: one bit, several owner-specific meanings.
PG_swapcache = PageFlags.PG_owner_priv_1  # anon/shmem folio in the swap cache (with swapbacked)
PG_checked = PageFlags.PG_owner_priv_1  # filesystem-private "checked" state
PG_anon_exclusive = PageFlags.PG_owner_2  # anon page mapped by exactly one process
PG_mappedtodisk = PageFlags.PG_owner_2  # file page has on-disk blocks
PG_readahead = PageFlags.PG_reclaim  # file page: readahead marker
PG_fscache = PageFlags.PG_private_2  # page is being written to the local cache


def _bits(*flags: PageFlags) -> int:
    mask = 0
    for flag in flags:
        mask |= 1 << flag
    return mask


# MGLRU (include/linux/page-flags-layout.h, mmzone.h): the folio's generation (gen + 1, 0 =
# not on an MGLRU list) and its refs counter (accesses through file descriptors) live in the
# upper part of ``page->flags`` above the flag bits, as in the kernel (mm/lru_gen.py).
LRU_GEN_WIDTH = 3                 # order_base_2(MAX_NR_GENS + 1)
LRU_REFS_WIDTH = 2
LRU_GEN_PGOFF = NR_PAGEFLAGS
LRU_REFS_PGOFF = LRU_GEN_PGOFF + LRU_GEN_WIDTH
LRU_GEN_MASK = ((1 << LRU_GEN_WIDTH) - 1) << LRU_GEN_PGOFF
LRU_REFS_MASK = ((1 << LRU_REFS_WIDTH) - 1) << LRU_REFS_PGOFF

#: Flags that must be clear when a page is freed (``free_pages_prepare`` reports a bad page
#: otherwise), with the MGLRU generation bits as in the kernel.
PAGE_FLAGS_CHECK_AT_FREE = LRU_GEN_MASK | _bits(
    PageFlags.PG_lru,
    PageFlags.PG_locked,
    PageFlags.PG_private,
    PageFlags.PG_private_2,
    PageFlags.PG_writeback,
    PageFlags.PG_reserved,
    PageFlags.PG_active,
    PageFlags.PG_unevictable,
    PageFlags.PG_mlocked,
)

#: Flags that must be clear when a page leaves the buddy allocator: every flag bit except
#: ``PG_hwpoison``, and the MGLRU generation/refs bits (free_pages_prepare clears them).
PAGE_FLAGS_CHECK_AT_PREP = ((PAGEFLAGS_MASK & ~_bits(PageFlags.PG_hwpoison))
                            | LRU_GEN_MASK | LRU_REFS_MASK)

# ---------------------------------------------------------------------------------------------
# Page types (6.12): the top byte of ``page->page_type`` (shares the word with ``_mapcount``)
# ---------------------------------------------------------------------------------------------

PGTY_buddy = 0xF0  # free page in the buddy allocator (PageBuddy)
PGTY_offline = 0xF1  # logically offline (balloon / memory hot-unplug)
PGTY_table = 0xF2  # page-table page
PGTY_guard = 0xF3  # debug_pagealloc guard page
PGTY_hugetlb = 0xF4  # hugetlbfs folio
PGTY_slab = 0xF5  # slab page (folio_test_slab)
PGTY_zsmalloc = 0xF6  # zsmalloc page
PGTY_unaccepted = 0xF7  # memory not yet accepted (confidential guests)
#: Top byte of an untyped page: ``_mapcount`` = -1 makes the word 0xffffffff.
PAGE_TYPE_NONE = 0xFF
#: The kernel's name for the 0xff type byte (also what a mapcount underflow looks like).
PGTY_mapcount_underflow = PAGE_TYPE_NONE

#: Shift of the type byte inside the 32-bit ``page_type`` word.
PAGE_TYPE_SHIFT = 24

#: Name of each page type byte (as the kernel's ``PageXxx`` / ``folio_test_xxx`` helpers).
PAGE_TYPE_NAMES: dict[int, str] = {
    PGTY_buddy: "buddy",
    PGTY_offline: "offline",
    PGTY_table: "table",
    PGTY_guard: "guard",
    PGTY_hugetlb: "hugetlb",
    PGTY_slab: "slab",
    PGTY_zsmalloc: "zsmalloc",
    PGTY_unaccepted: "unaccepted",
}

#: ``page->mapping`` of a tail page of a compound page: 0x400 plus the x86-64 poison delta
#: ``POISON_POINTER_DELTA`` = 0xdead000000000000, i.e. 0xdead000000000400.  The model stores the
#: undecorated 0x400; add POISON_POINTER_DELTA when printing a 64-bit pointer value.
TAIL_MAPPING = 0x400
POISON_POINTER_DELTA = 0xDEAD000000000000

# Order of the kernel's ``__def_pageflag_names`` table (6.12), used by %pGp and dump_page.
_PAGEFLAG_NAME_ORDER: tuple[PageFlags, ...] = (
    PageFlags.PG_locked,
    PageFlags.PG_waiters,
    PageFlags.PG_referenced,
    PageFlags.PG_uptodate,
    PageFlags.PG_dirty,
    PageFlags.PG_lru,
    PageFlags.PG_active,
    PageFlags.PG_workingset,
    PageFlags.PG_owner_priv_1,
    PageFlags.PG_owner_2,
    PageFlags.PG_arch_1,
    PageFlags.PG_reserved,
    PageFlags.PG_private,
    PageFlags.PG_private_2,
    PageFlags.PG_writeback,
    PageFlags.PG_head,
    PageFlags.PG_reclaim,
    PageFlags.PG_swapbacked,
    PageFlags.PG_unevictable,
    PageFlags.PG_mlocked,
    PageFlags.PG_hwpoison,
    PageFlags.PG_idle,
    PageFlags.PG_young,
)

#: (mask, name) pairs in printing order; names drop the ``PG_`` prefix.
PAGEFLAG_NAMES: tuple[tuple[int, str], ...] = tuple(
    (1 << flag, flag.name.removeprefix("PG_")) for flag in _PAGEFLAG_NAME_ORDER
)


def format_page_flags(flags: int) -> str:
    """The flag-name list of the kernel's ``%pGp`` (as in dump_page's ``flags:`` line).

    Only the flag bits (``PAGEFLAGS_MASK``) are looked at.  Set flags are named without the
    ``PG_`` prefix in the kernel's table order and joined by ``|``, e.g.
    ``'referenced|uptodate|lru'``; bits without a name are appended as one hex number.  No flag
    set gives the empty string.
    """
    rest = flags & PAGEFLAGS_MASK
    parts: list[str] = []
    for mask, name in PAGEFLAG_NAMES:
        if rest & mask:
            parts.append(name)
            rest &= ~mask
    if rest:
        parts.append(hex(rest))
    return "|".join(parts)


def page_type_byte(page_type: int) -> int:
    """The type byte (top 8 bits) of a 32-bit ``page_type`` word."""
    return (page_type >> PAGE_TYPE_SHIFT) & 0xFF
