"""
Boot-time memory regions (mm/memblock.c): the ``memory`` and ``reserved`` region arrays,
top-down allocation, and the walk over free ranges that ``memblock_free_all()`` hands to
the buddy allocator (the hand-over itself is in mm_init.py).
"""

from __future__ import annotations

from dataclasses import dataclass, field

INIT_MEMBLOCK_REGIONS = 128
MEMBLOCK_NONE = 0
MEMBLOCK_HOTPLUG = 0x1
MEMBLOCK_MIRROR = 0x2
MEMBLOCK_NOMAP = 0x4


@dataclass(slots=True)
class MemblockRegion:
    """struct memblock_region: ``[base, base + size)``"""

    base: int
    size: int
    flags: int = MEMBLOCK_NONE
    nid: int = 0

    @property
    def end(self) -> int:
        return self.base + self.size


@dataclass(slots=True)
class MemblockType:
    """struct memblock_type: sorted, non-overlapping regions."""

    name: str
    regions: list[MemblockRegion] = field(default_factory=list)
    max: int = INIT_MEMBLOCK_REGIONS

    @property
    def cnt(self) -> int:
        return len(self.regions)

    @property
    def total_size(self) -> int:
        return sum(r.size for r in self.regions)


@dataclass(slots=True)
class Memblock:
    """struct memblock: the boot allocator's state."""

    memory: MemblockType = field(default_factory=lambda: MemblockType("memory"))
    reserved: MemblockType = field(default_factory=lambda: MemblockType("reserved"))
    bottom_up: bool = False
    current_limit: int = (1 << 64) - 1

    def _add_range(self, t: MemblockType, base: int, size: int, nid: int,
                   flags: int) -> None:
        # memblock_add_range(): insert, then merge neighbours with equal flags and node.
        if size <= 0:
            return
        t.regions.append(MemblockRegion(base, size, flags, nid))
        t.regions.sort(key=lambda r: r.base)
        merged: list[MemblockRegion] = []
        for r in t.regions:
            last = merged[-1] if merged else None
            if last is not None and r.base <= last.end and r.flags == last.flags \
                    and r.nid == last.nid:
                last.size = max(last.end, r.end) - last.base
            else:
                merged.append(MemblockRegion(r.base, r.size, r.flags, r.nid))
        t.regions = merged
        while len(t.regions) > t.max:
            t.max *= 2  # memblock_double_array()

    def memblock_add(self, base: int, size: int, nid: int = 0) -> None:
        """memblock_add_node(): register RAM."""
        self._add_range(self.memory, base, size, nid, MEMBLOCK_NONE)

    def memblock_reserve(self, base: int, size: int, nid: int = 0) -> None:
        """memblock_reserve(): mark a range in use."""
        self._add_range(self.reserved, base, size, nid, MEMBLOCK_NONE)

    def memblock_remove(self, base: int, size: int) -> None:
        """memblock_remove(): cut a range out of ``memory``."""
        self._remove_range(self.memory, base, size)

    def memblock_phys_free(self, base: int, size: int) -> None:
        """memblock_phys_free(): give a reserved range back (cut it out of ``reserved``)."""
        self._remove_range(self.reserved, base, size)

    def _remove_range(self, t: MemblockType, base: int, size: int) -> None:
        # memblock_remove_range(): isolate [base, base + size) and drop it.
        end = base + size
        out: list[MemblockRegion] = []
        for r in t.regions:
            if r.end <= base or r.base >= end:
                out.append(r)
                continue
            if r.base < base:
                out.append(MemblockRegion(r.base, base - r.base, r.flags, r.nid))
            if r.end > end:
                out.append(MemblockRegion(end, r.end - end, r.flags, r.nid))
        t.regions = out

    def set_node(self, base: int, size: int, nid: int) -> None:
        """memblock_set_node(): assign a node to the memory in ``[base, base + size)``."""
        end = base + size
        out: list[MemblockRegion] = []
        for r in self.memory.regions:
            if r.end <= base or r.base >= end:
                out.append(r)
                continue
            if r.base < base:
                out.append(MemblockRegion(r.base, base - r.base, r.flags, r.nid))
            lo, hi = max(r.base, base), min(r.end, end)
            out.append(MemblockRegion(lo, hi - lo, r.flags, nid))
            if r.end > end:
                out.append(MemblockRegion(end, r.end - end, r.flags, r.nid))
        self.memory.regions = sorted(out, key=lambda r: r.base)

    def free_ranges(self, nid: int | None = None) -> list[tuple[int, int, int]]:
        """for_each_free_mem_range(): ``(start, end, nid)`` of memory not reserved."""
        res = self.reserved.regions
        out: list[tuple[int, int, int]] = []
        for r in self.memory.regions:
            if nid is not None and r.nid != nid:
                continue
            start = r.base
            for rv in res:
                if rv.end <= start or rv.base >= r.end:
                    continue
                if rv.base > start:
                    out.append((start, rv.base, r.nid))
                start = max(start, rv.end)
            if start < r.end:
                out.append((start, r.end, r.nid))
        return out

    def memblock_phys_alloc_range(self, size: int, align: int, start: int = 0,
                                  end: int | None = None, nid: int | None = None) -> int | None:
        """
        memblock_phys_alloc_range() / memblock_alloc_try_nid(): find a free range, top-down
        unless ``bottom_up``, below ``current_limit``, and reserve it. None if none fits.
        """
        limit = min(end if end is not None else self.current_limit, self.current_limit)
        ranges = self.free_ranges(nid)
        if not self.bottom_up:
            ranges = ranges[::-1]
        for lo, hi, rnid in ranges:
            lo = max(lo, start)
            hi = min(hi, limit)
            if hi - lo < size:
                continue
            if self.bottom_up:
                base = (lo + align - 1) // align * align
            else:
                base = (hi - size) // align * align
            if base < lo or base + size > hi:
                continue
            self.memblock_reserve(base, size, rnid)
            return base
        return None

    def is_reserved(self, addr: int) -> bool:
        return any(r.base <= addr < r.end for r in self.reserved.regions)
