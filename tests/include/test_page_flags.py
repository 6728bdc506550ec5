"""Page flag bits, check masks, page types and %pGp rendering (reference §6.2, §6.3)."""

from __future__ import annotations

from memsim.include import page_flags as pf
from memsim.include.page_flags import (
    NR_PAGEFLAGS,
    PAGE_FLAGS_CHECK_AT_FREE,
    PAGE_FLAGS_CHECK_AT_PREP,
    PAGE_TYPE_NAMES,
    PAGE_TYPE_NONE,
    PAGEFLAGS_MASK,
    POISON_POINTER_DELTA,
    TAIL_MAPPING,
    PageFlags,
    format_page_flags,
    page_type_byte,
)


def _bit(flag: PageFlags) -> int:
    return 1 << flag


def test_bit_numbers_are_6_12() -> None:
    """PG_* bits have the 6.12 x86-64 numbers, locked=0 through idle=22, no gaps."""
    expected = [
        "PG_locked",
        "PG_writeback",
        "PG_referenced",
        "PG_uptodate",
        "PG_dirty",
        "PG_lru",
        "PG_head",
        "PG_waiters",
        "PG_active",
        "PG_workingset",
        "PG_owner_priv_1",
        "PG_owner_2",
        "PG_arch_1",
        "PG_reserved",
        "PG_private",
        "PG_private_2",
        "PG_reclaim",
        "PG_swapbacked",
        "PG_unevictable",
        "PG_mlocked",
        "PG_hwpoison",
        "PG_young",
        "PG_idle",
    ]
    assert [flag.name for flag in PageFlags] == expected
    assert [int(flag) for flag in PageFlags] == list(range(23))
    assert NR_PAGEFLAGS == 23
    assert PAGEFLAGS_MASK == 0x7FFFFF
    assert "PG_slab" not in PageFlags.__members__
    assert "PG_error" not in PageFlags.__members__


def test_aliases() -> None:
    """Owner-specific aliases share a bit with the generic flag."""
    assert pf.PG_swapcache == pf.PG_checked == int(PageFlags.PG_owner_priv_1) == 10
    assert pf.PG_anon_exclusive == pf.PG_mappedtodisk == int(PageFlags.PG_owner_2) == 11
    assert pf.PG_readahead == int(PageFlags.PG_reclaim) == 16
    assert pf.PG_fscache == int(PageFlags.PG_private_2) == 15


def test_check_masks() -> None:
    """Flags checked at free and at prep have the 6.12 values (plus the MGLRU bits)."""
    assert PAGE_FLAGS_CHECK_AT_FREE & PAGEFLAGS_MASK == 0xCE123
    assert PAGE_FLAGS_CHECK_AT_FREE & ~PAGEFLAGS_MASK == pf.LRU_GEN_MASK
    for flag in (
        PageFlags.PG_lru,
        PageFlags.PG_locked,
        PageFlags.PG_private,
        PageFlags.PG_private_2,
        PageFlags.PG_writeback,
        PageFlags.PG_reserved,
        PageFlags.PG_active,
        PageFlags.PG_unevictable,
        PageFlags.PG_mlocked,
    ):
        assert PAGE_FLAGS_CHECK_AT_FREE & _bit(flag)
    assert not PAGE_FLAGS_CHECK_AT_FREE & _bit(PageFlags.PG_dirty)
    assert PAGE_FLAGS_CHECK_AT_PREP & PAGEFLAGS_MASK == 0x6FFFFF
    assert PAGE_FLAGS_CHECK_AT_PREP & ~PAGEFLAGS_MASK == pf.LRU_GEN_MASK | pf.LRU_REFS_MASK
    assert not PAGE_FLAGS_CHECK_AT_PREP & _bit(PageFlags.PG_hwpoison)


def test_page_types() -> None:
    """Page types are the top byte of page_type: buddy 0xf0 … unaccepted 0xf7, none 0xff."""
    assert (pf.PGTY_buddy, pf.PGTY_offline, pf.PGTY_table, pf.PGTY_guard) == (
        0xF0,
        0xF1,
        0xF2,
        0xF3,
    )
    assert (pf.PGTY_hugetlb, pf.PGTY_slab, pf.PGTY_zsmalloc, pf.PGTY_unaccepted) == (
        0xF4,
        0xF5,
        0xF6,
        0xF7,
    )
    assert PAGE_TYPE_NONE == 0xFF
    assert PAGE_TYPE_NAMES[pf.PGTY_slab] == "slab"
    assert len(PAGE_TYPE_NAMES) == 8
    assert page_type_byte(0xFFFFFFFF) == PAGE_TYPE_NONE
    assert page_type_byte(0xF0000000) == pf.PGTY_buddy
    assert page_type_byte(0xF5000123) == pf.PGTY_slab


def test_tail_mapping() -> None:
    """TAIL_MAPPING is 0x400; with the x86-64 poison delta it reads 0xdead000000000400."""
    assert TAIL_MAPPING == 0x400
    assert TAIL_MAPPING + POISON_POINTER_DELTA == 0xDEAD000000000400


def test_format_page_flags() -> None:
    """Names without PG_ in the kernel's table order, joined by '|'; no flags gives ''."""
    assert format_page_flags(0) == ""
    lru_page = _bit(PageFlags.PG_referenced) | _bit(PageFlags.PG_uptodate) | _bit(PageFlags.PG_lru)
    assert format_page_flags(lru_page) == "referenced|uptodate|lru"
    # Table order differs from bit order: waiters follows locked, writeback precedes head.
    mixed = (
        _bit(PageFlags.PG_head)
        | _bit(PageFlags.PG_writeback)
        | _bit(PageFlags.PG_waiters)
        | _bit(PageFlags.PG_locked)
    )
    assert format_page_flags(mixed) == "locked|waiters|writeback|head"
    assert format_page_flags(_bit(PageFlags.PG_young) | _bit(PageFlags.PG_idle)) == "idle|young"
    assert format_page_flags(_bit(PageFlags.PG_reserved)) == "reserved"
    assert format_page_flags(_bit(PageFlags.PG_owner_priv_1)) == "owner_priv_1"
    # Bits above the flag area (section/node/zone ids) are not flags.
    assert format_page_flags((2 << 60) | _bit(PageFlags.PG_dirty)) == "dirty"


def test_format_page_flags_names_every_flag_once() -> None:
    """All flags set prints all 23 names, each once."""
    names = format_page_flags(PAGEFLAGS_MASK).split("|")
    assert len(names) == 23
    assert sorted(names) == sorted(flag.name.removeprefix("PG_") for flag in PageFlags)
