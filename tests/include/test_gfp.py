"""GFP flag values, printing/parsing, zone table and migrate type (reference §1.5, §1.6, §5)."""

from __future__ import annotations

import gzip
import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

from conftest import shared_path
from memsim.include import gfp
from memsim.include.gfp import (
    GFP_ATOMIC,
    GFP_BIT_NAMES,
    GFP_BOOT_MASK,
    GFP_CONSTRAINT_MASK,
    GFP_DMA,
    GFP_DMA32,
    GFP_HIGHUSER,
    GFP_HIGHUSER_MOVABLE,
    GFP_KERNEL,
    GFP_KERNEL_ACCOUNT,
    GFP_KNOWN_BITS,
    GFP_NOFS,
    GFP_NOIO,
    GFP_NOWAIT,
    GFP_RECLAIM_MASK,
    GFP_SLAB_BUG_MASK,
    GFP_TEMPORARY,
    GFP_TRANSHUGE,
    GFP_TRANSHUGE_LIGHT,
    GFP_USER,
    GFP_ZONE_BAD,
    GFP_ZONEMASK,
    GFPFLAG_NAMES,
    GFPFLAG_NAMES_6_12,
    LEGACY_GFP,
    format_gfp,
    gfp_migratetype,
    gfp_nested_mask,
    gfp_zone_bits,
    gfpflags_allow_blocking,
    parse_gfp,
)
from memsim.include.mmzone_types import (
    MIGRATE_PCPTYPES,
    ZONE_NAMES,
    MigrateType,
    ZoneType,
    migratetype_names,
)

TRACE = shared_path("data", "traces", "kmem-compileall-git-tar.txt.gz")


def test_single_bit_values_match_6_12_x86_64() -> None:
    """Every __GFP_* bit has its 6.12 x86-64 value; config-dependent bits are 0 or bit 24."""
    expected = {
        "__GFP_DMA": 0x1,
        "__GFP_HIGHMEM": 0x2,
        "__GFP_DMA32": 0x4,
        "__GFP_MOVABLE": 0x8,
        "__GFP_RECLAIMABLE": 0x10,
        "__GFP_HIGH": 0x20,
        "__GFP_IO": 0x40,
        "__GFP_FS": 0x80,
        "__GFP_ZERO": 0x100,
        "__GFP_DIRECT_RECLAIM": 0x400,
        "__GFP_KSWAPD_RECLAIM": 0x800,
        "__GFP_WRITE": 0x1000,
        "__GFP_NOWARN": 0x2000,
        "__GFP_RETRY_MAYFAIL": 0x4000,
        "__GFP_NOFAIL": 0x8000,
        "__GFP_NORETRY": 0x10000,
        "__GFP_MEMALLOC": 0x20000,
        "__GFP_COMP": 0x40000,
        "__GFP_NOMEMALLOC": 0x80000,
        "__GFP_HARDWALL": 0x100000,
        "__GFP_THISNODE": 0x200000,
        "__GFP_ACCOUNT": 0x400000,
        "__GFP_ZEROTAGS": 0x800000,
        "__GFP_NO_OBJ_EXT": 0x1000000,
        "__GFP_SKIP_ZERO": 0,
        "__GFP_SKIP_KASAN": 0,
        "__GFP_NOLOCKDEP": 0,
        "__GFP_BITS_SHIFT": 25,
        "__GFP_BITS_MASK": 0x1FFFFFF,
        "__GFP_RECLAIM": 0xC00,
    }
    for name, value in expected.items():
        assert getattr(gfp, name) == value, name
    assert GFP_ZONEMASK == 0xF
    assert dict((n, v) for v, n in GFP_BIT_NAMES) == {
        n: v
        for n, v in expected.items()
        if n.startswith("__GFP_") and v and "BITS" not in n and n != "__GFP_RECLAIM"
    }
    assert GFP_KNOWN_BITS == 0x1FFFDFF  # every bit below 25 except the unused 0x200


def test_composite_values_6_12_117() -> None:
    """Composite masks have the 6.12.117 x86-64 values of reference §5.2."""
    assert GFP_ATOMIC == 0x820
    assert GFP_KERNEL == 0xCC0
    assert GFP_KERNEL_ACCOUNT == 0x400CC0
    assert GFP_NOWAIT == 0x2800
    assert GFP_NOIO == 0xC00
    assert GFP_NOFS == 0xC40
    assert GFP_USER == 0x100CC0
    assert GFP_DMA == 0x1
    assert GFP_DMA32 == 0x4
    assert GFP_HIGHUSER == 0x100CC2
    assert GFP_HIGHUSER_MOVABLE == 0x100CCA
    assert GFP_TRANSHUGE_LIGHT == 0x1C20CA
    assert GFP_TRANSHUGE == 0x1C24CA


def test_internal_masks() -> None:
    """mm/internal.h masks: reclaim-steering bits, cpuset/node constraints, boot and slab-bug."""
    assert GFP_RECLAIM_MASK == 0xBECE0
    assert GFP_CONSTRAINT_MASK == 0x300000
    assert GFP_BOOT_MASK == 0x1FFF33F
    assert GFP_SLAB_BUG_MASK == 0xFE000006
    assert gfp_nested_mask(GFP_KERNEL | gfp.__GFP_ZERO | gfp.__GFP_COMP) == 0xCC0 | 0x92000
    assert gfp_nested_mask(GFP_ATOMIC) == 0x820 | 0x92000
    assert gfp_nested_mask(0) == 0x92000


@pytest.mark.parametrize(
    ("mask", "text"),
    [
        (0xCC0, "GFP_KERNEL"),
        (0x40CC0, "GFP_KERNEL|__GFP_COMP"),
        (0x820, "GFP_ATOMIC"),
        (0x2800, "GFP_NOWAIT"),
        (0x100CCA, "GFP_HIGHUSER_MOVABLE"),
        (0x140CCA, "GFP_HIGHUSER_MOVABLE|__GFP_COMP"),
        (0x400DC0, "GFP_KERNEL_ACCOUNT|__GFP_ZERO"),
        (0x800, "__GFP_KSWAPD_RECLAIM"),
        (0, "none"),
        (0x1C24CA, "GFP_TRANSHUGE"),
        (0x1C20CA, "GFP_TRANSHUGE_LIGHT"),
        (0x400, "__GFP_DIRECT_RECLAIM"),
        (0xC00, "GFP_NOIO"),
        (0x1, "GFP_DMA"),
        (0x4, "GFP_DMA32"),
        (0x200, "0x200"),
        (0x1000000, "__GFP_NO_OBJ_EXT"),
        (0xCC0 | 0x200 | 0x8000000, "GFP_KERNEL|0x8000200"),
    ],
)
def test_format_gfp_examples(mask: int, text: str) -> None:
    """%pGg renders composites first, single flags after, unknown bits as one hex number."""
    assert format_gfp(mask) == text
    assert parse_gfp(text) == mask


def test_format_gfp_6_18_order_is_bit_order_after_composites() -> None:
    """The default (6.18) table prints single flags in bit order; the 6.12 table does not."""
    mask = GFP_HIGHUSER_MOVABLE | gfp.__GFP_ZERO | gfp.__GFP_COMP
    assert format_gfp(mask) == "GFP_HIGHUSER_MOVABLE|__GFP_ZERO|__GFP_COMP"
    assert format_gfp(mask, GFPFLAG_NAMES_6_12) == "GFP_HIGHUSER_MOVABLE|__GFP_COMP|__GFP_ZERO"
    assert format_gfp(0x1000000, GFPFLAG_NAMES_6_12) == "0x1000000"
    # Direct reclaim alone with the IO bit is not a composite: bit order puts IO first in 6.18.
    assert format_gfp(0x440) == "__GFP_IO|__GFP_DIRECT_RECLAIM"
    assert format_gfp(0x440, GFPFLAG_NAMES_6_12) == "__GFP_IO|__GFP_DIRECT_RECLAIM"
    assert format_gfp(0x1010) == "__GFP_RECLAIMABLE|__GFP_WRITE"
    assert format_gfp(0x1010, GFPFLAG_NAMES_6_12) == "__GFP_RECLAIMABLE|__GFP_WRITE"
    assert format_gfp(0x50010, GFPFLAG_NAMES_6_12) == "__GFP_NORETRY|__GFP_COMP|__GFP_RECLAIMABLE"
    assert format_gfp(0x50010) == "__GFP_RECLAIMABLE|__GFP_NORETRY|__GFP_COMP"


def test_format_gfp_rejects_negative() -> None:
    """A negative mask is not a gfp_t."""
    with pytest.raises(ValueError):
        format_gfp(-1)


def test_parse_gfp_accepts_spaces_numbers_none_and_legacy_names() -> None:
    """parse_gfp ORs names, hex/decimal numbers, 'none' and legacy names (mapped to today)."""
    assert parse_gfp("GFP_KERNEL|__GFP_ZERO") == 0xDC0
    assert parse_gfp(" GFP_KERNEL | __GFP_ZERO ") == 0xDC0
    assert parse_gfp("0xcc0") == 0xCC0
    assert parse_gfp("0XCC0") == 0xCC0
    assert parse_gfp("3264") == 0xCC0
    assert parse_gfp("none") == 0
    assert parse_gfp("__GFP_DMA|__GFP_RECLAIM") == 0xC01
    assert parse_gfp("__GFP_WAIT|__GFP_IO|__GFP_FS") == GFP_KERNEL
    assert parse_gfp("GFP_TEMPORARY") == GFP_KERNEL | gfp.__GFP_RECLAIMABLE
    assert parse_gfp("__GFP_REPEAT") == gfp.__GFP_RETRY_MAYFAIL
    assert parse_gfp("GFP_KERNEL|__GFP_COLD|__GFP_NOTRACK|__GFP_ATOMIC") == GFP_KERNEL
    assert parse_gfp("__GFP_NO_GROW|__GFP_OTHER_NODE") == 0


@pytest.mark.parametrize(
    "text", ["GFP_KERNAL", "GFP_KERNEL|", "GFP_KERNEL||__GFP_ZERO", "0xzz", ""]
)
def test_parse_gfp_rejects_unknown_tokens(text: str) -> None:
    """An unknown or empty token raises ValueError that names it."""
    with pytest.raises(ValueError, match="GFP flag"):
        parse_gfp(text)


def test_parse_gfp_error_names_the_token() -> None:
    """The error message quotes the offending token."""
    with pytest.raises(ValueError, match="'__GFP_BOGUS'"):
        parse_gfp("GFP_KERNEL|__GFP_BOGUS")


known_masks = st.integers(min_value=0, max_value=GFP_KNOWN_BITS).map(lambda m: m & GFP_KNOWN_BITS)


@given(known_masks)
def test_parse_inverts_format_for_known_bits(mask: int) -> None:
    """parse_gfp(format_gfp(m)) == m for every mask of known bits, with either name table."""
    assert parse_gfp(format_gfp(mask)) == mask
    assert parse_gfp(format_gfp(mask, GFPFLAG_NAMES_6_12)) == mask
    text = format_gfp(mask)
    assert "0x" not in text
    assert format_gfp(parse_gfp(text)) == text


@given(st.integers(min_value=0, max_value=0xFFFFFFFF))
def test_parse_inverts_format_for_any_32_bit_mask(mask: int) -> None:
    """Unknown bits survive the round trip through their hex rendering."""
    assert parse_gfp(format_gfp(mask)) == mask


def _trace_gfp_strings() -> set[str]:
    pattern = re.compile(r"gfp_flags=([^ \n]*)")
    with gzip.open(TRACE, "rt", encoding="utf-8") as fh:
        return {m.group(1) for line in fh for m in pattern.finditer(line)}


def test_every_gfp_string_of_the_real_trace_round_trips() -> None:
    """Every gfp_flags= value of the real kmem trace parses and re-formats to itself."""
    texts = _trace_gfp_strings()
    assert len(texts) == 45
    assert "GFP_HIGHUSER_MOVABLE|__GFP_ZERO|__GFP_COMP" in texts
    assert (
        "__GFP_RECLAIMABLE|__GFP_IO|__GFP_NOWARN|__GFP_NORETRY|__GFP_COMP|__GFP_NOMEMALLOC" in texts
    )
    for text in sorted(texts):
        assert format_gfp(parse_gfp(text)) == text, text


@pytest.mark.parametrize(
    ("low_bits", "zone"),
    [
        (0x0, ZoneType.ZONE_NORMAL),
        (0x1, ZoneType.ZONE_DMA),
        (0x2, ZoneType.ZONE_HIGHMEM),
        (0x3, None),
        (0x4, ZoneType.ZONE_DMA32),
        (0x5, None),
        (0x6, None),
        (0x7, None),
        (0x8, ZoneType.ZONE_NORMAL),
        (0x9, ZoneType.ZONE_DMA),
        (0xA, ZoneType.ZONE_MOVABLE),
        (0xB, None),
        (0xC, ZoneType.ZONE_DMA32),
        (0xD, None),
        (0xE, None),
        (0xF, None),
    ],
)
def test_gfp_zone_bits_table(low_bits: int, zone: ZoneType | None) -> None:
    """The 16 rows of GFP_ZONE_TABLE; other bits of the mask do not matter."""
    assert gfp_zone_bits(low_bits) == zone
    assert gfp_zone_bits(low_bits | GFP_KERNEL | gfp.__GFP_COMP) == zone
    assert bool(GFP_ZONE_BAD >> low_bits & 1) == (zone is None)


def test_gfp_zone_bits_of_common_masks() -> None:
    """Only GFP_HIGHUSER_MOVABLE reaches ZONE_MOVABLE; GFP_KERNEL asks for Normal."""
    assert gfp_zone_bits(GFP_KERNEL) == ZoneType.ZONE_NORMAL
    assert gfp_zone_bits(GFP_HIGHUSER) == ZoneType.ZONE_HIGHMEM
    assert gfp_zone_bits(GFP_HIGHUSER_MOVABLE) == ZoneType.ZONE_MOVABLE
    assert gfp_zone_bits(GFP_TRANSHUGE) == ZoneType.ZONE_MOVABLE
    assert gfp_zone_bits(GFP_KERNEL | GFP_DMA32) == ZoneType.ZONE_DMA32
    assert gfp_zone_bits(GFP_ATOMIC | GFP_DMA) == ZoneType.ZONE_DMA
    assert GFP_ZONE_BAD == 0xE8E8


def test_gfp_migratetype() -> None:
    """Mobility bits select the migrate type; grouping disabled forces UNMOVABLE."""
    assert gfp_migratetype(GFP_KERNEL) == MigrateType.MIGRATE_UNMOVABLE
    assert gfp_migratetype(GFP_HIGHUSER_MOVABLE) == MigrateType.MIGRATE_MOVABLE
    assert gfp_migratetype(GFP_KERNEL | gfp.__GFP_RECLAIMABLE) == MigrateType.MIGRATE_RECLAIMABLE
    assert gfp_migratetype(GFP_TEMPORARY) == MigrateType.MIGRATE_RECLAIMABLE
    assert gfp_migratetype(0x18) == MigrateType.MIGRATE_HIGHATOMIC
    assert gfp_migratetype(GFP_HIGHUSER_MOVABLE, group_by_mobility_disabled=True) == 0
    assert int(gfp_migratetype(GFP_HIGHUSER_MOVABLE)) == 1


def test_gfpflags_allow_blocking() -> None:
    """Only __GFP_DIRECT_RECLAIM allows sleeping."""
    assert gfpflags_allow_blocking(GFP_KERNEL)
    assert gfpflags_allow_blocking(GFP_NOIO)
    assert gfpflags_allow_blocking(GFP_TRANSHUGE)
    assert not gfpflags_allow_blocking(GFP_ATOMIC)
    assert not gfpflags_allow_blocking(GFP_NOWAIT)
    assert not gfpflags_allow_blocking(GFP_TRANSHUGE_LIGHT)
    assert not gfpflags_allow_blocking(gfp.__GFP_KSWAPD_RECLAIM)


def test_legacy_table() -> None:
    """Textbook names keep their old value and map to today's meaning (reference §5.3)."""
    assert set(LEGACY_GFP) == {
        "__GFP_WAIT",
        "__GFP_COLD",
        "__GFP_REPEAT",
        "__GFP_NO_GROW",
        "__GFP_NOTRACK",
        "__GFP_OTHER_NODE",
        "__GFP_ATOMIC",
        "GFP_TEMPORARY",
    }
    assert LEGACY_GFP["__GFP_WAIT"].old_value == 0x10
    assert LEGACY_GFP["__GFP_WAIT"].maps_to == 0xC00
    assert LEGACY_GFP["__GFP_COLD"].old_value == 0x100
    assert LEGACY_GFP["__GFP_REPEAT"].old_value == 0x400
    assert LEGACY_GFP["__GFP_REPEAT"].maps_to == 0x4000
    assert LEGACY_GFP["__GFP_NO_GROW"].old_value == 0x2000
    assert LEGACY_GFP["__GFP_NOTRACK"].old_value == 0x200000
    assert LEGACY_GFP["GFP_TEMPORARY"].old_value == 0x800D0
    assert LEGACY_GFP["GFP_TEMPORARY"].maps_to == 0xCD0
    for name in (
        "__GFP_COLD",
        "__GFP_NO_GROW",
        "__GFP_NOTRACK",
        "__GFP_OTHER_NODE",
        "__GFP_ATOMIC",
    ):
        assert LEGACY_GFP[name].maps_to == 0
        assert getattr(gfp, name) == 0
    assert gfp.__GFP_WAIT == gfp.__GFP_RECLAIM
    assert gfp.__GFP_REPEAT == gfp.__GFP_RETRY_MAYFAIL
    for entry in LEGACY_GFP.values():
        assert entry.note.endswith(".")
        assert any(ch.isdigit() for ch in entry.note)


def test_name_tables_are_consistent() -> None:
    """Both printing tables contain no zero entries and only values made of known bits."""
    for table in (GFPFLAG_NAMES, GFPFLAG_NAMES_6_12):
        for value, name in table:
            assert value, name
            assert value & ~GFP_KNOWN_BITS == 0, name
            assert parse_gfp(name) == value


def test_zone_and_migrate_type_names() -> None:
    """Canonical zone types and 6.x migrate types carry the kernel's printed names."""
    assert [int(z) for z in ZoneType] == [0, 1, 2, 3, 4, 5]
    assert ZONE_NAMES[ZoneType.ZONE_HIGHMEM] == "HighMem"
    assert ZONE_NAMES == ("DMA", "DMA32", "Normal", "HighMem", "Movable", "Device")
    assert MIGRATE_PCPTYPES == 3 == int(MigrateType.MIGRATE_HIGHATOMIC)
    assert migratetype_names[MigrateType.MIGRATE_ISOLATE] == "Isolate"
    assert migratetype_names == (
        "Unmovable",
        "Movable",
        "Reclaimable",
        "HighAtomic",
        "Isolate",
    )
    assert int(MigrateType.MIGRATE_ISOLATE) == 4  # CONFIG_CMA off
