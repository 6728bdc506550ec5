"""GFP ("get free pages") flags: bit values, composites, printing and parsing.

Values are those of Linux 6.12 on x86-64 with a typical distro configuration (reference §5.1):
no CONFIG_KASAN_HW_TAGS (so ``__GFP_SKIP_ZERO`` / ``__GFP_SKIP_KASAN`` are 0), no CONFIG_LOCKDEP
(``__GFP_NOLOCKDEP`` is 0) and CONFIG_SLAB_OBJ_EXT on (``__GFP_NO_OBJ_EXT`` is bit 24), which
gives ``__GFP_BITS_SHIFT`` = 25.  ``gfp_t`` is a 32-bit unsigned int in the kernel; masks that
are written with ``~`` in C are reduced to 32 bits here.

The textbook names of older kernels (``__GFP_WAIT``, ``GFP_TEMPORARY`` …) are kept in
:data:`LEGACY_GFP` together with what they correspond to today (reference §5.3).

Printing (:func:`format_gfp`) follows the kernel's ``%pGg`` / tracepoint ``show_gfp_flags``:
a greedy walk over an ordered name table.  Two tables exist because the order changed after
6.12 (see :data:`GFPFLAG_NAMES`).
"""

from __future__ import annotations

from typing import NamedTuple

from memsim.include.mmzone_types import MigrateType, ZoneType

# ---------------------------------------------------------------------------------------------
# Single bits (6.12 ``enum { ___GFP_*_BIT }`` order; x86-64 distro configuration)
# ---------------------------------------------------------------------------------------------

__GFP_DMA = 0x1
__GFP_HIGHMEM = 0x2
__GFP_DMA32 = 0x4
__GFP_MOVABLE = 0x8
__GFP_RECLAIMABLE = 0x10
__GFP_HIGH = 0x20
__GFP_IO = 0x40
__GFP_FS = 0x80
__GFP_ZERO = 0x100
# 0x200 is unused since 6.3 (it was __GFP_ATOMIC).
___GFP_UNUSED = 0x200
__GFP_DIRECT_RECLAIM = 0x400
__GFP_KSWAPD_RECLAIM = 0x800
__GFP_WRITE = 0x1000
__GFP_NOWARN = 0x2000
__GFP_RETRY_MAYFAIL = 0x4000
__GFP_NOFAIL = 0x8000
__GFP_NORETRY = 0x10000
__GFP_MEMALLOC = 0x20000
__GFP_COMP = 0x40000
__GFP_NOMEMALLOC = 0x80000
__GFP_HARDWALL = 0x100000
__GFP_THISNODE = 0x200000
__GFP_ACCOUNT = 0x400000
__GFP_ZEROTAGS = 0x800000
# Config-dependent bits: absent (value 0) in the modelled configuration.
__GFP_SKIP_ZERO = 0  # CONFIG_KASAN_HW_TAGS only
__GFP_SKIP_KASAN = 0  # CONFIG_KASAN_HW_TAGS only
__GFP_NOLOCKDEP = 0  # CONFIG_LOCKDEP only
__GFP_NO_OBJ_EXT = 0x1000000  # CONFIG_SLAB_OBJ_EXT (memcg / allocation profiling)

#: Number of existing GFP bits in the modelled configuration.
__GFP_BITS_SHIFT = 25
__GFP_BITS_MASK = (1 << __GFP_BITS_SHIFT) - 1

#: Width of ``gfp_t`` (``unsigned int``).
GFP_T_MASK = 0xFFFFFFFF

__GFP_RECLAIM = __GFP_DIRECT_RECLAIM | __GFP_KSWAPD_RECLAIM

#: The four zone-modifier bits that index the GFP zone table (reference §1.5).
GFP_ZONEMASK = __GFP_DMA | __GFP_HIGHMEM | __GFP_DMA32 | __GFP_MOVABLE

#: Mobility bits and their shift: ``(gfp & GFP_MOVABLE_MASK) >> GFP_MOVABLE_SHIFT`` is the
#: migrate type (reference §1.6).
GFP_MOVABLE_MASK = __GFP_RECLAIMABLE | __GFP_MOVABLE
GFP_MOVABLE_SHIFT = 3

# ---------------------------------------------------------------------------------------------
# Composite flags (reference §5.2, 6.12.117 values)
# ---------------------------------------------------------------------------------------------

GFP_ATOMIC = __GFP_HIGH | __GFP_KSWAPD_RECLAIM
GFP_KERNEL = __GFP_RECLAIM | __GFP_IO | __GFP_FS
GFP_KERNEL_ACCOUNT = GFP_KERNEL | __GFP_ACCOUNT
# 6.12.117 (back-ported from later mainline) includes __GFP_NOWARN; 6.1 has KSWAPD_RECLAIM only.
GFP_NOWAIT = __GFP_KSWAPD_RECLAIM | __GFP_NOWARN
GFP_NOIO = __GFP_RECLAIM
GFP_NOFS = __GFP_RECLAIM | __GFP_IO
GFP_USER = __GFP_RECLAIM | __GFP_IO | __GFP_FS | __GFP_HARDWALL
GFP_DMA = __GFP_DMA
GFP_DMA32 = __GFP_DMA32
GFP_HIGHUSER = GFP_USER | __GFP_HIGHMEM
GFP_HIGHUSER_MOVABLE = GFP_HIGHUSER | __GFP_MOVABLE | __GFP_SKIP_KASAN
GFP_TRANSHUGE_LIGHT = (
    GFP_HIGHUSER_MOVABLE | __GFP_COMP | __GFP_NOMEMALLOC | __GFP_NOWARN
) & ~__GFP_RECLAIM
GFP_TRANSHUGE = GFP_TRANSHUGE_LIGHT | __GFP_DIRECT_RECLAIM

# ---------------------------------------------------------------------------------------------
# Internal masks (6.12 mm/internal.h)
# ---------------------------------------------------------------------------------------------

#: Flags that steer reclaim; a nested allocation inherits them from its parent.
GFP_RECLAIM_MASK = (
    __GFP_RECLAIM
    | __GFP_HIGH
    | __GFP_IO
    | __GFP_FS
    | __GFP_NOWARN
    | __GFP_RETRY_MAYFAIL
    | __GFP_NOFAIL
    | __GFP_NORETRY
    | __GFP_MEMALLOC
    | __GFP_NOMEMALLOC
    | __GFP_NOLOCKDEP
)
#: Flags that restrict where (cpuset / node) memory may come from.
GFP_CONSTRAINT_MASK = __GFP_HARDWALL | __GFP_THISNODE
#: Flags allowed while the scheduler is not yet up: everything except reclaim, IO and FS.
GFP_BOOT_MASK = __GFP_BITS_MASK & ~(__GFP_RECLAIM | __GFP_IO | __GFP_FS)
#: Flags that are a bug in a slab allocation request (highmem, DMA32, any unknown bit).
GFP_SLAB_BUG_MASK = (__GFP_DMA32 | __GFP_HIGHMEM | ~__GFP_BITS_MASK) & GFP_T_MASK


def gfp_nested_mask(flags: int) -> int:
    """Flags for an allocation made on behalf of another one (e.g. debug metadata).

    Only the context restrictions of ``flags`` (its GFP_KERNEL / GFP_ATOMIC bits and
    ``__GFP_NOLOCKDEP``) are kept, and the nested allocation is made opportunistic: it may fail
    quietly and must not dip into the memalloc reserves.
    """
    kept = flags & (GFP_KERNEL | GFP_ATOMIC | __GFP_NOLOCKDEP)
    return kept | __GFP_NORETRY | __GFP_NOMEMALLOC | __GFP_NOWARN


def gfpflags_allow_blocking(gfp: int) -> bool:
    """True when the caller may sleep, i.e. may enter direct reclaim (``__GFP_DIRECT_RECLAIM``)."""
    return bool(gfp & __GFP_DIRECT_RECLAIM)


def gfp_migratetype(gfp: int, *, group_by_mobility_disabled: bool = False) -> MigrateType:
    """The migrate type an allocation asks for (reference §1.6, 6.x numbering).

    No mobility bit means UNMOVABLE, ``__GFP_MOVABLE`` means MOVABLE and ``__GFP_RECLAIMABLE``
    means RECLAIMABLE.  Both bits together encode 3 (HIGHATOMIC); the kernel only warns about
    that caller bug (``VM_WARN_ON``) and uses the value, and so does the model.  When grouping
    by mobility is disabled (``page_group_by_mobility_disabled``) everything is UNMOVABLE.
    """
    if group_by_mobility_disabled:
        return MigrateType.MIGRATE_UNMOVABLE
    return MigrateType((gfp & GFP_MOVABLE_MASK) >> GFP_MOVABLE_SHIFT)


# ---------------------------------------------------------------------------------------------
# Zone selection: the 16-entry GFP_ZONE_TABLE (reference §1.5)
# ---------------------------------------------------------------------------------------------

# Row = gfp & GFP_ZONEMASK.  None marks a BAD combination.  DMA, DMA32 and HIGHMEM stand for the
# kernel's OPT_ZONE_* ("that zone if configured, else ZONE_NORMAL"); the caller resolves them.
_GFP_ZONE_TABLE: tuple[ZoneType | None, ...] = (
    ZoneType.ZONE_NORMAL,  # 0x0: no modifier
    ZoneType.ZONE_DMA,  # 0x1: DMA
    ZoneType.ZONE_HIGHMEM,  # 0x2: HIGHMEM
    None,  # 0x3: DMA | HIGHMEM
    ZoneType.ZONE_DMA32,  # 0x4: DMA32
    None,  # 0x5: DMA | DMA32
    None,  # 0x6: HIGHMEM | DMA32
    None,  # 0x7: DMA | HIGHMEM | DMA32
    ZoneType.ZONE_NORMAL,  # 0x8: MOVABLE alone does not reach ZONE_MOVABLE
    ZoneType.ZONE_DMA,  # 0x9: MOVABLE | DMA
    ZoneType.ZONE_MOVABLE,  # 0xa: MOVABLE | HIGHMEM
    None,  # 0xb: MOVABLE | HIGHMEM | DMA
    ZoneType.ZONE_DMA32,  # 0xc: MOVABLE | DMA32
    None,  # 0xd
    None,  # 0xe
    None,  # 0xf
)

#: Bit ``1 << row`` is set for every BAD row of the zone table (the kernel's GFP_ZONE_BAD).
GFP_ZONE_BAD = sum(1 << row for row, zone in enumerate(_GFP_ZONE_TABLE) if zone is None)


def gfp_zone_bits(gfp: int) -> ZoneType | None:
    """Canonical highest zone type requested by the zone modifiers of ``gfp``.

    Returns None for the invalid modifier combinations (the kernel's ``VM_BUG_ON`` cases).
    ``ZONE_DMA``, ``ZONE_DMA32`` and ``ZONE_HIGHMEM`` results mean "that zone if the machine
    has it, else ZONE_NORMAL" (OPT_ZONE_*); the machine does this resolution.  Only
    ``__GFP_MOVABLE | __GFP_HIGHMEM`` reaches ZONE_MOVABLE; ZONE_DEVICE is never a target.
    """
    return _GFP_ZONE_TABLE[gfp & GFP_ZONEMASK]


# ---------------------------------------------------------------------------------------------
# Legacy (textbook) names
# ---------------------------------------------------------------------------------------------


class LegacyGfp(NamedTuple):
    """A GFP name that no longer exists in 6.12, and what it corresponds to today."""

    name: str
    #: Value in 2.6.32, or in the last kernel that had the flag if 2.6.32 did not (see note).
    old_value: int
    #: Today's mask with the same meaning; 0 when the flag has no effect any more.
    maps_to: int
    note: str


LEGACY_GFP: dict[str, LegacyGfp] = {
    entry.name: entry
    for entry in (
        LegacyGfp(
            "__GFP_WAIT",
            0x10,
            __GFP_RECLAIM,
            "Split in 4.4 into __GFP_DIRECT_RECLAIM and __GFP_KSWAPD_RECLAIM, so it maps to "
            "__GFP_RECLAIM (both); 'may sleep' now means having __GFP_DIRECT_RECLAIM.",
        ),
        LegacyGfp(
            "__GFP_COLD",
            0x100,
            0,
            "Asked for a cache-cold page (taken from the pcp list tail); removed in 4.15, "
            "so it has no effect.",
        ),
        LegacyGfp(
            "__GFP_REPEAT",
            0x400,
            __GFP_RETRY_MAYFAIL,
            "Replaced in 4.13 by __GFP_RETRY_MAYFAIL (try hard, but fail rather than OOM-kill).",
        ),
        LegacyGfp(
            "__GFP_NO_GROW",
            0x2000,
            0,
            "Slab-internal 'do not grow the cache' bit of 2.6.1x/2.6.2x (0x2000); already "
            "unused in 2.6.32, so it has no effect.",
        ),
        LegacyGfp(
            "__GFP_NOTRACK",
            0x200000,
            0,
            "kmemcheck 'do not track this allocation' bit (0 without CONFIG_KMEMCHECK); "
            "removed with kmemcheck in 4.15, so it has no effect.",
        ),
        LegacyGfp(
            "__GFP_OTHER_NODE",
            0x800000,
            0,
            "Not in 2.6.32: appeared in the 3.x era (0x800000 in 3.0) to account NUMA stats "
            "to another node, and was removed during 4.x, so it has no effect.",
        ),
        LegacyGfp(
            "__GFP_ATOMIC",
            0x200,
            0,
            "Not in 2.6.32: existed 4.4-6.2 (0x200 in 6.1) meaning 'cannot reclaim or sleep and "
            "is high priority'; removed in 6.3, so it has no effect (bit 9 is unused today).",
        ),
        LegacyGfp(
            "GFP_TEMPORARY",
            0x800D0,
            GFP_KERNEL | __GFP_RECLAIMABLE,
            "2.6.32 __GFP_WAIT|__GFP_IO|__GFP_FS|__GFP_RECLAIMABLE for short-lived "
            "allocations; removed in 4.14, equivalent to GFP_KERNEL|__GFP_RECLAIMABLE.",
        ),
    )
}

__GFP_WAIT = LEGACY_GFP["__GFP_WAIT"].maps_to
__GFP_COLD = LEGACY_GFP["__GFP_COLD"].maps_to
__GFP_REPEAT = LEGACY_GFP["__GFP_REPEAT"].maps_to
__GFP_NO_GROW = LEGACY_GFP["__GFP_NO_GROW"].maps_to
__GFP_NOTRACK = LEGACY_GFP["__GFP_NOTRACK"].maps_to
__GFP_OTHER_NODE = LEGACY_GFP["__GFP_OTHER_NODE"].maps_to
__GFP_ATOMIC = LEGACY_GFP["__GFP_ATOMIC"].maps_to
GFP_TEMPORARY = LEGACY_GFP["GFP_TEMPORARY"].maps_to

# ---------------------------------------------------------------------------------------------
# Printing and parsing
# ---------------------------------------------------------------------------------------------

#: Every single-bit flag of the modelled configuration, in bit order (zero-valued ones omitted).
GFP_BIT_NAMES: tuple[tuple[int, str], ...] = (
    (__GFP_DMA, "__GFP_DMA"),
    (__GFP_HIGHMEM, "__GFP_HIGHMEM"),
    (__GFP_DMA32, "__GFP_DMA32"),
    (__GFP_MOVABLE, "__GFP_MOVABLE"),
    (__GFP_RECLAIMABLE, "__GFP_RECLAIMABLE"),
    (__GFP_HIGH, "__GFP_HIGH"),
    (__GFP_IO, "__GFP_IO"),
    (__GFP_FS, "__GFP_FS"),
    (__GFP_ZERO, "__GFP_ZERO"),
    (__GFP_DIRECT_RECLAIM, "__GFP_DIRECT_RECLAIM"),
    (__GFP_KSWAPD_RECLAIM, "__GFP_KSWAPD_RECLAIM"),
    (__GFP_WRITE, "__GFP_WRITE"),
    (__GFP_NOWARN, "__GFP_NOWARN"),
    (__GFP_RETRY_MAYFAIL, "__GFP_RETRY_MAYFAIL"),
    (__GFP_NOFAIL, "__GFP_NOFAIL"),
    (__GFP_NORETRY, "__GFP_NORETRY"),
    (__GFP_MEMALLOC, "__GFP_MEMALLOC"),
    (__GFP_COMP, "__GFP_COMP"),
    (__GFP_NOMEMALLOC, "__GFP_NOMEMALLOC"),
    (__GFP_HARDWALL, "__GFP_HARDWALL"),
    (__GFP_THISNODE, "__GFP_THISNODE"),
    (__GFP_ACCOUNT, "__GFP_ACCOUNT"),
    (__GFP_ZEROTAGS, "__GFP_ZEROTAGS"),
    (__GFP_NO_OBJ_EXT, "__GFP_NO_OBJ_EXT"),
)

#: Every known bit of the modelled configuration.
GFP_KNOWN_BITS = sum(value for value, _ in GFP_BIT_NAMES)

_COMPOSITES_FIRST: tuple[tuple[int, str], ...] = (
    (GFP_TRANSHUGE, "GFP_TRANSHUGE"),
    (GFP_TRANSHUGE_LIGHT, "GFP_TRANSHUGE_LIGHT"),
    (GFP_HIGHUSER_MOVABLE, "GFP_HIGHUSER_MOVABLE"),
    (GFP_HIGHUSER, "GFP_HIGHUSER"),
    (GFP_USER, "GFP_USER"),
    (GFP_KERNEL_ACCOUNT, "GFP_KERNEL_ACCOUNT"),
    (GFP_KERNEL, "GFP_KERNEL"),
    (GFP_NOFS, "GFP_NOFS"),
    (GFP_ATOMIC, "GFP_ATOMIC"),
    (GFP_NOIO, "GFP_NOIO"),
    (GFP_NOWAIT, "GFP_NOWAIT"),
    (GFP_DMA, "GFP_DMA"),
)

#: The name table of 6.12 (``__def_gfpflag_names``, reference §5.5): composites, then the single
#: flags in a hand-written order.  ``__GFP_NO_OBJ_EXT`` is not in it (printed as hex).
GFPFLAG_NAMES_6_12: tuple[tuple[int, str], ...] = _COMPOSITES_FIRST + (
    (__GFP_HIGHMEM, "__GFP_HIGHMEM"),
    (GFP_DMA32, "GFP_DMA32"),
    (__GFP_HIGH, "__GFP_HIGH"),
    (__GFP_IO, "__GFP_IO"),
    (__GFP_FS, "__GFP_FS"),
    (__GFP_NOWARN, "__GFP_NOWARN"),
    (__GFP_RETRY_MAYFAIL, "__GFP_RETRY_MAYFAIL"),
    (__GFP_NOFAIL, "__GFP_NOFAIL"),
    (__GFP_NORETRY, "__GFP_NORETRY"),
    (__GFP_COMP, "__GFP_COMP"),
    (__GFP_ZERO, "__GFP_ZERO"),
    (__GFP_NOMEMALLOC, "__GFP_NOMEMALLOC"),
    (__GFP_MEMALLOC, "__GFP_MEMALLOC"),
    (__GFP_HARDWALL, "__GFP_HARDWALL"),
    (__GFP_THISNODE, "__GFP_THISNODE"),
    (__GFP_RECLAIMABLE, "__GFP_RECLAIMABLE"),
    (__GFP_MOVABLE, "__GFP_MOVABLE"),
    (__GFP_ACCOUNT, "__GFP_ACCOUNT"),
    (__GFP_WRITE, "__GFP_WRITE"),
    (__GFP_RECLAIM, "__GFP_RECLAIM"),
    (__GFP_DIRECT_RECLAIM, "__GFP_DIRECT_RECLAIM"),
    (__GFP_KSWAPD_RECLAIM, "__GFP_KSWAPD_RECLAIM"),
    (__GFP_ZEROTAGS, "__GFP_ZEROTAGS"),
)

# SIM: default printing uses the newer table, as the model's output formats are those of 6.18.
#: The name table of the 6.18 kernel (the default): the composites, ``GFP_DMA32`` and
#: ``__GFP_RECLAIM``, then every single flag in *bit order*.  This is the order seen in the real
#: ftrace sample in shared/data/traces: ``GFP_HIGHUSER_MOVABLE|__GFP_ZERO|__GFP_COMP``, where
#: the 6.12 table would print ``…|__GFP_COMP|__GFP_ZERO``.  The ``__GFP_DMA`` and
#: ``__GFP_DMA32`` entries are never printed because ``GFP_DMA`` / ``GFP_DMA32`` come first
#: with the same value.
GFPFLAG_NAMES: tuple[tuple[int, str], ...] = (
    _COMPOSITES_FIRST + ((GFP_DMA32, "GFP_DMA32"), (__GFP_RECLAIM, "__GFP_RECLAIM")) + GFP_BIT_NAMES
)


def format_gfp(mask: int, names: tuple[tuple[int, str], ...] = GFPFLAG_NAMES) -> str:
    """Render a GFP mask like the kernel's ``%pGg`` and the tracepoints' ``show_gfp_flags``.

    The name table is walked in order; each entry whose bits are all still present is printed
    and its bits are removed.  Names are joined by ``|``; bits left over at the end are printed
    as one lower-case hex number (``0x…``).  A zero mask prints ``none``.
    """
    if mask < 0:
        raise ValueError(f"negative GFP mask {mask}")
    if mask == 0:
        return "none"
    parts: list[str] = []
    rest = mask
    for value, name in names:
        if value and rest & value == value:
            parts.append(name)
            rest &= ~value
    if rest:
        parts.append(hex(rest))
    return "|".join(parts)


#: Every current name that :func:`parse_gfp` accepts, with its value.
GFP_NAMES: dict[str, int] = {
    **{name: value for value, name in GFPFLAG_NAMES_6_12},
    **{name: value for value, name in GFPFLAG_NAMES},
    "__GFP_SKIP_ZERO": __GFP_SKIP_ZERO,
    "__GFP_SKIP_KASAN": __GFP_SKIP_KASAN,
    "__GFP_NOLOCKDEP": __GFP_NOLOCKDEP,
}


def _parse_number(token: str) -> int | None:
    lowered = token.lower()
    if lowered.startswith("0x"):
        try:
            return int(lowered[2:], 16)
        except ValueError:
            return None
    if token.isdecimal():
        return int(token, 10)
    return None


def parse_gfp(text: str) -> int:
    """Inverse of :func:`format_gfp`: turn ``'GFP_KERNEL|__GFP_ZERO'`` back into a mask.

    Tokens are separated by ``|`` (spaces around them are ignored) and OR-ed together.  A token
    is a current flag name, a legacy name from :data:`LEGACY_GFP` (mapped to today's meaning),
    a hex (``0x…``) or decimal number, or ``none`` (0).  An unknown or empty token raises
    ValueError naming it.
    """
    mask = 0
    for raw in text.split("|"):
        token = raw.strip()
        if not token:
            raise ValueError(f"empty GFP flag token in {text!r}")
        if token in GFP_NAMES:
            mask |= GFP_NAMES[token]
        elif token in LEGACY_GFP:
            mask |= LEGACY_GFP[token].maps_to
        elif token == "none":
            pass
        else:
            number = _parse_number(token)
            if number is None:
                raise ValueError(f"unknown GFP flag {token!r} in {text!r}")
            mask |= number
    return mask


__all__ = [
    "GFPFLAG_NAMES",
    "GFPFLAG_NAMES_6_12",
    "GFP_ATOMIC",
    "GFP_BIT_NAMES",
    "GFP_BOOT_MASK",
    "GFP_CONSTRAINT_MASK",
    "GFP_DMA",
    "GFP_DMA32",
    "GFP_HIGHUSER",
    "GFP_HIGHUSER_MOVABLE",
    "GFP_KERNEL",
    "GFP_KERNEL_ACCOUNT",
    "GFP_KNOWN_BITS",
    "GFP_MOVABLE_MASK",
    "GFP_MOVABLE_SHIFT",
    "GFP_NAMES",
    "GFP_NOFS",
    "GFP_NOIO",
    "GFP_NOWAIT",
    "GFP_RECLAIM_MASK",
    "GFP_SLAB_BUG_MASK",
    "GFP_T_MASK",
    "GFP_TEMPORARY",
    "GFP_TRANSHUGE",
    "GFP_TRANSHUGE_LIGHT",
    "GFP_USER",
    "GFP_ZONEMASK",
    "GFP_ZONE_BAD",
    "LEGACY_GFP",
    "LegacyGfp",
    "___GFP_UNUSED",
    "__GFP_ACCOUNT",
    "__GFP_ATOMIC",
    "__GFP_BITS_MASK",
    "__GFP_BITS_SHIFT",
    "__GFP_COLD",
    "__GFP_COMP",
    "__GFP_DIRECT_RECLAIM",
    "__GFP_DMA",
    "__GFP_DMA32",
    "__GFP_FS",
    "__GFP_HARDWALL",
    "__GFP_HIGH",
    "__GFP_HIGHMEM",
    "__GFP_IO",
    "__GFP_KSWAPD_RECLAIM",
    "__GFP_MEMALLOC",
    "__GFP_MOVABLE",
    "__GFP_NOFAIL",
    "__GFP_NOLOCKDEP",
    "__GFP_NOMEMALLOC",
    "__GFP_NORETRY",
    "__GFP_NOTRACK",
    "__GFP_NOWARN",
    "__GFP_NO_GROW",
    "__GFP_NO_OBJ_EXT",
    "__GFP_OTHER_NODE",
    "__GFP_RECLAIM",
    "__GFP_RECLAIMABLE",
    "__GFP_REPEAT",
    "__GFP_RETRY_MAYFAIL",
    "__GFP_SKIP_KASAN",
    "__GFP_SKIP_ZERO",
    "__GFP_THISNODE",
    "__GFP_WAIT",
    "__GFP_WRITE",
    "__GFP_ZERO",
    "__GFP_ZEROTAGS",
    "format_gfp",
    "gfp_migratetype",
    "gfp_nested_mask",
    "gfp_zone_bits",
    "gfpflags_allow_blocking",
    "parse_gfp",
]
