"""
Per-CPU variables and the per-CPU allocator (6.12 mm/percpu.c, mm/percpu-vm.c,
include/linux/percpu-defs.h, lib/smp_processor_id.c).

Boot (``setup_per_cpu_areas()`` -> ``pcpu_embed_first_chunk()``): :func:`pcpu_build_alloc_info`
sizes the first chunk — ``< static | reserved | dynamic >`` per CPU, one *unit* per possible
CPU, units grouped by NUMA node, unit size a divisor of the allocation atom (2 MiB on x86-64,
PAGE_SIZE elsewhere) — and :func:`pcpu_embed_first_chunk` reserves each group in memblock
and returns the unused tail of every unit (and every unused unit) to it. The first chunk so
lives in the direct map; ``__per_cpu_offset[cpu]`` is the distance from the static section
to the CPU's unit.

Runtime (:class:`Percpu`, ``m.percpu``): ``DEFINE_PER_CPU`` names a slot of the static area;
``alloc_percpu``/``free_percpu`` allocate the same offset in every unit of a chunk from a
bitmap of PCPU_MIN_ALLOC_SIZE (4-byte) fragments with per-page metadata blocks and the
6.12 block-hint first-fit search (``pcpu_find_block_fit`` + ``pcpu_alloc_area``). When no
chunk fits, ``pcpu_create_chunk`` takes a vmalloc area (``pcpu_get_vm_areas``) whose pages
are populated on demand, one page per unit. ``/proc/meminfo`` ``Percpu:`` is
``pcpu_nr_populated * pcpu_nr_units`` pages.

A ``__percpu`` pointer is a cookie: ``__per_cpu_start`` + the offset from the first chunk's
base (``__addr_to_pcpu_ptr``); ``per_cpu_ptr(p, cpu) = p + __per_cpu_offset[cpu]``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from memsim.arch import PAGE_SHIFT, PAGE_SIZE
from memsim.errors import MemsimError
from memsim.include.gfp import (
    __GFP_DIRECT_RECLAIM,
    __GFP_HIGHMEM,
    __GFP_NORETRY,
    __GFP_NOWARN,
    GFP_KERNEL,
)

if TYPE_CHECKING:
    from memsim.machine import Machine
    from memsim.mm.memblock import Memblock

_GFP_DIRECT_RECLAIM = __GFP_DIRECT_RECLAIM
_GFP_NOWARN = __GFP_NOWARN
_GFP_HIGHMEM = __GFP_HIGHMEM
_GFP_NORETRY = __GFP_NORETRY

# -- include/linux/percpu.h ------------------------------------------------------------------

PCPU_MIN_ALLOC_SHIFT = 2
PCPU_MIN_ALLOC_SIZE = 1 << PCPU_MIN_ALLOC_SHIFT
PCPU_MIN_UNIT_SIZE = 32 << 10
PCPU_BITMAP_BLOCK_SIZE = PAGE_SIZE
PCPU_BITMAP_BLOCK_BITS = PCPU_BITMAP_BLOCK_SIZE >> PCPU_MIN_ALLOC_SHIFT
#: CONFIG_MODULES without CONFIG_MEM_ALLOC_PROFILING (64 KiB with it)
PERCPU_MODULE_RESERVE = 8 << 10
# SIM: CONFIG_RANDOM_KMALLOC_CACHES off (PERCPU_DYNAMIC_SIZE_SHIFT 10), as §10.2 gives.
PERCPU_DYNAMIC_SIZE_SHIFT = 10
PERCPU_DYNAMIC_EARLY_SIZE = 20 << PERCPU_DYNAMIC_SIZE_SHIFT


def PERCPU_DYNAMIC_RESERVE(bits: int) -> int:
    """28 KiB on 64-bit, 20 KiB on 32-bit."""
    return (28 if bits > 32 else 20) << PERCPU_DYNAMIC_SIZE_SHIFT


# -- mm/percpu.c -----------------------------------------------------------------------------

PCPU_SLOT_BASE_SHIFT = 5
PCPU_SLOT_FAIL_THRESHOLD = 3
PCPU_WARN_LIMIT = 10               # pcpu_alloc(): static int warn_limit = 10

ILLEGAL_WARN_LINE = 1780
FAIL_WARN_LINE = 1921
#: kernel/locking/mutex.c mutex_lock_killable() -> might_sleep()
MUTEX_LOCK_KILLABLE_FILE = "kernel/locking/mutex.c"
MUTEX_LOCK_KILLABLE_LINE = 1014

# SIM: __per_cpu_start is 0 on every arch (x86-64's zero-based .data..percpu); on 32-bit
# kernels it is the link address of the section, which only shifts the cookies.
PER_CPU_START = 0


def _align(x: int, a: int) -> int:
    return (x + a - 1) // a * a


def _ffs0(x: int) -> int:
    """__ffs(): index of the lowest set bit."""
    return (x & -x).bit_length() - 1


@dataclass(slots=True)
class PcpuGroupInfo:
    """struct pcpu_group_info"""
    nid: int
    nr_units: int
    #: CPU of each unit, None for an unused unit (NR_CPUS)
    cpu_map: list[int | None]
    base_offset: int = 0
    #: physical address of the group's area (memblock)
    phys: int = 0


@dataclass(slots=True)
class PcpuAllocInfo:
    """struct pcpu_alloc_info (the first chunk's layout)"""
    static_size: int
    reserved_size: int
    dyn_size: int
    unit_size: int
    atom_size: int
    alloc_size: int
    groups: list[PcpuGroupInfo]

    @property
    def size_sum(self) -> int:
        return self.static_size + self.reserved_size + self.dyn_size


def _first_chunk_args(m: Machine) -> tuple[int, int, int]:
    """(reserved_size, dyn_size, atom_size) the arch passes to pcpu_embed_first_chunk()."""
    arch = m.arch
    if arch.name == "x86_64":
        # arch/x86/kernel/setup_percpu.c: PERCPU_FIRST_CHUNK_RESERVE is the module reserve,
        # dyn_size = MODULE_RESERVE + DYNAMIC_RESERVE - FIRST_CHUNK_RESERVE, atom PMD_SIZE.
        return PERCPU_MODULE_RESERVE, PERCPU_DYNAMIC_RESERVE(64), 1 << 21
    if arch.name == "i386":
        return 0, PERCPU_MODULE_RESERVE + PERCPU_DYNAMIC_RESERVE(32), PAGE_SIZE
    # the generic setup_per_cpu_areas() (mm/percpu.c) and arm64's NUMA one
    return PERCPU_MODULE_RESERVE, PERCPU_DYNAMIC_RESERVE(arch.bits), PAGE_SIZE


def pcpu_build_alloc_info(m: Machine) -> PcpuAllocInfo:
    """
    pcpu_build_alloc_info(): size_sum, unit size and units per allocation (upa), CPUs
    grouped by node (pcpu_cpu_distance: LOCAL_DISTANCE only within a node).

    # SIM: the kernel image's static per-CPU size is not modelled; it is chosen so that the
    # embedded size (static + reserved + dynamic, "Embedded N pages/cpu") equals
    # ``m.arch.percpu_unit``.
    """
    reserved, dyn, atom = _first_chunk_args(m)
    size_sum = _align(m.arch.percpu_unit, PAGE_SIZE)
    static = size_sum - reserved - max(dyn, PERCPU_DYNAMIC_EARLY_SIZE)
    if static <= 0:
        raise MemsimError(f"arch {m.arch.name}: percpu_unit {m.arch.percpu_unit} too small")
    size_sum = _align(static + reserved + max(dyn, PERCPU_DYNAMIC_EARLY_SIZE), PAGE_SIZE)
    dyn = size_sum - static - reserved
    min_unit_size = max(size_sum, PCPU_MIN_UNIT_SIZE)
    alloc_size = _align(min_unit_size, atom)
    upa = alloc_size // min_unit_size
    while alloc_size % upa or (alloc_size // upa) & (PAGE_SIZE - 1):
        upa -= 1
    max_upa = upa
    # group CPUs by node, groups in order of their first CPU
    groups_cpus: dict[int, list[int]] = {}
    for cpu in range(m.nr_cpus):
        groups_cpus.setdefault(m.cpu_to_node[cpu], []).append(cpu)
    counts = [len(c) for c in groups_cpus.values()]
    best_upa = 0
    last_allocs = 1 << 62
    for upa in range(max_upa, 0, -1):
        if alloc_size % upa or (alloc_size // upa) & (PAGE_SIZE - 1):
            continue
        allocs = wasted = 0
        for cnt in counts:
            this_allocs = -(-cnt // upa)
            allocs += this_allocs
            wasted += this_allocs * upa - cnt
        # don't accept if wastage is over 1/3
        if wasted > m.nr_cpus // 3:
            continue
        if allocs > last_allocs:
            break
        last_allocs = allocs
        best_upa = upa
    upa = best_upa
    groups: list[PcpuGroupInfo] = []
    for nid, cpus in groups_cpus.items():
        nr_units = _align(len(cpus), upa)
        cpu_map: list[int | None] = [*cpus, *([None] * (nr_units - len(cpus)))]
        groups.append(PcpuGroupInfo(nid, nr_units, cpu_map))
    return PcpuAllocInfo(static, reserved, dyn, alloc_size // upa, atom, alloc_size, groups)


def pcpu_embed_first_chunk(m: Machine, mb: Memblock, end: int | None) -> PcpuAllocInfo:
    """
    pcpu_embed_first_chunk(): one memblock area per group (atom-aligned, on the group's
    node), the unused part of every unit given back (pcpu_fc_free), group offsets from the
    lowest area. Sets ``m.pcpu_alloc_info``.
    """
    ai = pcpu_build_alloc_info(m)
    size_sum = ai.size_sum
    for gi in ai.groups:
        size = gi.nr_units * ai.unit_size
        base = mb.memblock_phys_alloc_range(size, ai.atom_size, end=end, nid=gi.nid)
        if base is None:
            base = mb.memblock_phys_alloc_range(size, ai.atom_size, end=end)
        if base is None:
            from memsim.errors import ConfigError
            raise ConfigError("mem: too small to hold the per-CPU first chunk")
        gi.phys = base
    for gi in ai.groups:
        for i, cpu in enumerate(gi.cpu_map):
            ptr = gi.phys + i * ai.unit_size
            if cpu is None:
                mb.memblock_phys_free(ptr, ai.unit_size)
            elif ai.unit_size > size_sum:
                mb.memblock_phys_free(ptr + size_sum, ai.unit_size - size_sum)
    low = min(gi.phys for gi in ai.groups)
    for gi in ai.groups:
        gi.base_offset = gi.phys - low
    m.pcpu_alloc_info = ai
    m.printk(f"percpu: Embedded {size_sum >> PAGE_SHIFT} pages/cpu s{ai.static_size} "
             f"r{ai.reserved_size} d{ai.dyn_size} u{ai.unit_size}")
    return ai


# -- chunks ----------------------------------------------------------------------------------

@dataclass(slots=True)
class PcpuBlockMd:
    """struct pcpu_block_md (# SIM: no scan_hint; hints are recomputed from the bitmap as
    pcpu_block_refresh_hint() would, so the search sees exact contig hints)."""
    contig_hint: int = 0
    contig_hint_start: int = 0
    left_free: int = 0
    right_free: int = 0
    first_free: int = 0


@dataclass(slots=True, eq=False)
class PcpuChunk:
    """struct pcpu_chunk: the same ``nr_pages`` in every unit from ``base_addr``."""
    base_addr: int
    nr_pages: int
    #: one byte per PCPU_MIN_ALLOC_SIZE fragment, 1 = allocated
    alloc_map: bytearray
    #: allocation start (in bits) -> length in bits (# SIM: a dict, not the bound_map bitmap)
    bounds: dict[int, int] = field(default_factory=dict)
    md_blocks: list[PcpuBlockMd] = field(default_factory=list)
    chunk_md: PcpuBlockMd = field(default_factory=PcpuBlockMd)
    populated: bytearray = field(default_factory=bytearray)
    nr_populated: int = 0
    free_bytes: int = 0
    start_offset: int = 0
    end_offset: int = 0
    immutable: bool = False
    slot: int = -1
    #: the vmalloc area of a created chunk (None for the first chunk)
    vm: object = None
    #: (page index, unit) -> PFN for created chunks
    pages: dict[tuple[int, int], int] = field(default_factory=dict)

    @property
    def map_bits(self) -> int:
        return len(self.alloc_map)


def _block_refresh(chunk: PcpuChunk, index: int) -> None:
    """pcpu_block_refresh_hint() of block *index*."""
    amap = chunk.alloc_map
    lo = index * PCPU_BITMAP_BLOCK_BITS
    hi = lo + PCPU_BITMAP_BLOCK_BITS
    block = chunk.md_blocks[index]
    best = best_start = 0
    pos = amap.find(0, lo, hi)
    first = pos
    left = right = 0
    while pos >= 0:
        e = amap.find(1, pos, hi)
        if e < 0:
            e = hi
        n = e - pos
        s = pos - lo
        if pos == lo:
            left = n
        if e == hi:
            right = n
        # pcpu_block_update(): bigger wins; on a tie, the better aligned start
        if n > best or (n == best and best_start and (not s or _ffs0(s) > _ffs0(best_start))):
            best, best_start = n, s
        pos = amap.find(0, e, hi) if e < hi else -1
    block.contig_hint = best
    block.contig_hint_start = best_start
    block.left_free = left
    block.right_free = right
    block.first_free = first - lo if first >= 0 else PCPU_BITMAP_BLOCK_BITS


def _chunk_refresh(chunk: PcpuChunk) -> None:
    """pcpu_chunk_refresh_hint(): the chunk-wide contig hint and first free bit from the
    blocks."""
    md = chunk.chunk_md
    best = best_start = 0
    run = run_start = 0
    for i, b in enumerate(chunk.md_blocks):
        base = i * PCPU_BITMAP_BLOCK_BITS
        candidates: list[tuple[int, int]] = []
        if b.left_free == PCPU_BITMAP_BLOCK_BITS:
            if not run:
                run_start = base
            run += PCPU_BITMAP_BLOCK_BITS
            continue
        if run or b.left_free:
            candidates.append((run + b.left_free, run_start if run else base))
        candidates.append((b.contig_hint, base + b.contig_hint_start))
        for n, s in candidates:
            if n > best or (n == best and best_start and (not s or _ffs0(s) > _ffs0(best_start))):
                best, best_start = n, s
        run = b.right_free
        run_start = base + PCPU_BITMAP_BLOCK_BITS - run
    if run > best or (run and run == best and best_start
                      and _ffs0(run_start) > _ffs0(best_start)):
        best, best_start = run, run_start
    md.contig_hint = best
    md.contig_hint_start = best_start
    ff = chunk.alloc_map.find(0)
    md.first_free = ff if ff >= 0 else chunk.map_bits


def _set_bits(chunk: PcpuChunk, start: int, n: int, val: int) -> None:
    chunk.alloc_map[start:start + n] = bytes([val]) * n
    for i in range(start // PCPU_BITMAP_BLOCK_BITS, (start + n - 1) // PCPU_BITMAP_BLOCK_BITS + 1):
        _block_refresh(chunk, i)
    _chunk_refresh(chunk)


def _check_block_hint(md: PcpuBlockMd, bits: int, align: int) -> bool:
    """pcpu_check_block_hint()"""
    contig = md.contig_hint
    if md.contig_hint_start:
        contig -= _align(md.contig_hint_start, align) - md.contig_hint_start
    return bits <= contig


class Percpu:
    """The per-CPU allocator's globals (pcpu_* in mm/percpu.c); ``m.percpu``."""

    def __init__(self, m: Machine, ai: PcpuAllocInfo) -> None:
        self.m = m
        self.ai = ai
        self.pcpu_unit_size = ai.unit_size
        self.pcpu_unit_pages = ai.unit_size >> PAGE_SHIFT
        self.pcpu_atom_size = ai.atom_size
        self.pcpu_nr_units = sum(g.nr_units for g in ai.groups)
        self.pcpu_base_addr = m.arch.page_offset + min(g.phys for g in ai.groups) \
            - m.arch.dram_base
        #: pcpu_unit_offsets[cpu]
        self.pcpu_unit_offsets = [0] * m.nr_cpus
        #: unit index (0 .. pcpu_nr_units) of each CPU (pcpu_unit_map)
        self.pcpu_unit_map = [0] * m.nr_cpus
        unit = 0
        for g in ai.groups:
            for i, cpu in enumerate(g.cpu_map):
                if cpu is not None:
                    self.pcpu_unit_offsets[cpu] = g.base_offset + i * ai.unit_size
                    self.pcpu_unit_map[cpu] = unit + i
            unit += g.nr_units
        self.pcpu_low_unit_cpu = min(range(m.nr_cpus), key=lambda c: self.pcpu_unit_offsets[c])
        self._per_cpu_offset = [self.pcpu_base_addr - PER_CPU_START + off
                                 for off in self.pcpu_unit_offsets]
        self.pcpu_sidelined_slot = self._size_to_slot_raw(ai.unit_size) + 1
        self.pcpu_free_slot = self.pcpu_sidelined_slot + 1
        self.pcpu_to_depopulate_slot = self.pcpu_free_slot + 1
        self.pcpu_nr_slots = self.pcpu_to_depopulate_slot + 1
        self.pcpu_chunk_lists: list[list[PcpuChunk]] = [[] for _ in range(self.pcpu_nr_slots)]
        self.pcpu_nr_populated = 0
        self.warn_limit = PCPU_WARN_LIMIT
        self.chunks: list[PcpuChunk] = []
        #: DEFINE_PER_CPU variables by name; the static area is filled from offset 0
        self.static_vars: dict[str, PerCpuVar] = {}
        self.static_used = 0
        # pcpu_setup_first_chunk(): the reserved chunk and the dynamic first chunk
        static = _align(ai.static_size, PCPU_MIN_ALLOC_SIZE)
        dyn = ai.dyn_size - (static - ai.static_size)
        base = self.pcpu_base_addr
        self.pcpu_reserved_chunk = (self._alloc_first_chunk(base + static, ai.reserved_size)
                                    if ai.reserved_size else None)
        self.pcpu_first_chunk = self._alloc_first_chunk(base + static + ai.reserved_size, dyn)
        self._relocate(self.pcpu_first_chunk)
        self.pcpu_nr_populated += ai.size_sum >> PAGE_SHIFT

    @property
    def per_cpu_offset(self) -> list[int]:
        """__per_cpu_offset[]"""
        return self._per_cpu_offset

    # ---------------------------------------------------------------- slots

    @staticmethod
    def _size_to_slot_raw(size: int) -> int:
        """__pcpu_size_to_slot()"""
        return max(size.bit_length() - PCPU_SLOT_BASE_SHIFT + 2, 1)

    def pcpu_size_to_slot(self, size: int) -> int:
        if size == self.pcpu_unit_size:
            return self.pcpu_free_slot
        return self._size_to_slot_raw(size)

    def pcpu_chunk_slot(self, chunk: PcpuChunk) -> int:
        if chunk.free_bytes < PCPU_MIN_ALLOC_SIZE or chunk.chunk_md.contig_hint == 0:
            return 0
        return self.pcpu_size_to_slot(chunk.chunk_md.contig_hint * PCPU_MIN_ALLOC_SIZE)

    def _move(self, chunk: PcpuChunk, slot: int, front: bool) -> None:
        """__pcpu_chunk_move(): list_move() to the head, or list_move_tail()."""
        if chunk is self.pcpu_reserved_chunk:
            return
        if chunk.slot >= 0:
            self.pcpu_chunk_lists[chunk.slot].remove(chunk)
        lst = self.pcpu_chunk_lists[slot]
        if front:
            lst.insert(0, chunk)
        else:
            lst.append(chunk)
        chunk.slot = slot

    def _relocate(self, chunk: PcpuChunk, oslot: int = -1) -> None:
        """pcpu_chunk_relocate()"""
        nslot = self.pcpu_chunk_slot(chunk)
        if oslot != nslot:
            self._move(chunk, nslot, oslot < nslot)

    # ---------------------------------------------------------------- chunk creation

    def _new_chunk(self, base_addr: int, region_bits: int) -> PcpuChunk:
        nr_pages = region_bits * PCPU_MIN_ALLOC_SIZE >> PAGE_SHIFT
        chunk = PcpuChunk(base_addr, nr_pages, bytearray(region_bits))
        chunk.md_blocks = [PcpuBlockMd() for _ in range(region_bits // PCPU_BITMAP_BLOCK_BITS)]
        chunk.populated = bytearray(nr_pages)
        self.chunks.append(chunk)
        return chunk

    def _alloc_first_chunk(self, tmp_addr: int, map_size: int) -> PcpuChunk:
        """pcpu_alloc_first_chunk(): the region rounded out to pages; the parts before
        *tmp_addr* and after *map_size* are hidden (allocated, never freed)."""
        aligned = tmp_addr & ~(PAGE_SIZE - 1)
        start_offset = tmp_addr - aligned
        region_size = _align(start_offset + map_size, PAGE_SIZE)
        chunk = self._new_chunk(aligned, region_size >> PCPU_MIN_ALLOC_SHIFT)
        chunk.immutable = True
        chunk.start_offset = start_offset
        chunk.end_offset = region_size - start_offset - map_size
        chunk.populated[:] = b"\x01" * chunk.nr_pages
        chunk.nr_populated = chunk.nr_pages
        chunk.free_bytes = map_size
        amap = chunk.alloc_map
        if start_offset:
            amap[:start_offset >> PCPU_MIN_ALLOC_SHIFT] = b"\x01" * (start_offset >> 2)
        if chunk.end_offset:
            n = chunk.end_offset >> PCPU_MIN_ALLOC_SHIFT
            amap[len(amap) - n:] = b"\x01" * n
        for i in range(len(chunk.md_blocks)):
            _block_refresh(chunk, i)
        _chunk_refresh(chunk)
        return chunk

    def pcpu_create_chunk(self, gfp: int) -> PcpuChunk | None:
        """pcpu_create_chunk() (mm/percpu-vm.c): a chunk over a pcpu_get_vm_areas() area,
        nothing populated yet."""
        from memsim.mm.vmalloc import NUMA_NO_NODE, VM_ALLOC, VM_NO_GUARD
        m = self.m
        ai = self.ai
        span = max(g.base_offset + g.nr_units * ai.unit_size for g in ai.groups)
        vm = m.vmalloc_state
        # SIM: one area covering every group's offset (the kernel takes one area per group
        # at the same relative offsets, searching top-down from VMALLOC_END); it is placed
        # by the ordinary bottom-up vmap search.
        area = vm.get_vm_area_node(span, ai.atom_size, PAGE_SHIFT, VM_ALLOC | VM_NO_GUARD,
                                   vm.vmalloc_start, vm.vmalloc_end, NUMA_NO_NODE,
                                   gfp & GFP_KERNEL, "pcpu_get_vm_areas+0x0/0x0")
        if area is None:
            return None
        chunk = self._new_chunk(area.addr, self.pcpu_unit_size >> PCPU_MIN_ALLOC_SHIFT)
        chunk.vm = area
        chunk.free_bytes = self.pcpu_unit_size
        for i in range(len(chunk.md_blocks)):
            _block_refresh(chunk, i)
        _chunk_refresh(chunk)
        return chunk

    def _populate(self, chunk: PcpuChunk, page_start: int, page_end: int, gfp: int) -> bool:
        """pcpu_populate_chunk(): a page per unit for each page of [page_start, page_end),
        mapped into the chunk's vmalloc area (pcpu_alloc_pages + pcpu_map_pages)."""
        m = self.m
        vm = m.vmalloc_state
        got: list[tuple[int, int, int]] = []
        for pg in range(page_start, page_end):
            for cpu in range(m.nr_cpus):
                pfn = m.alloc_pages_node(m.cpu_to_node[cpu], gfp | _GFP_HIGHMEM, 0)
                if pfn is None:
                    for _pg, _cpu, p in got:                 # pcpu_free_pages()
                        m.free_pages_pfn(p, 0)
                    return False
                got.append((pg, cpu, pfn))
        for pg, cpu, pfn in got:
            chunk.pages[(pg, cpu)] = pfn
            addr = chunk.base_addr + self.pcpu_unit_offsets[cpu] + (pg << PAGE_SHIFT)
            vm._map(addr, [pfn])
        # pcpu_chunk_populated()
        for pg in range(page_start, page_end):
            chunk.populated[pg] = 1
        n = page_end - page_start
        chunk.nr_populated += n
        self.pcpu_nr_populated += n
        return True

    # ---------------------------------------------------------------- the search

    def _next_fit_region(self, chunk: PcpuChunk, alloc_bits: int, align: int,
                         bit_off: int) -> tuple[int, int]:
        """pcpu_next_fit_region(): (bit_off, bits) of the next candidate region."""
        i = bit_off // PCPU_BITMAP_BLOCK_BITS
        block_off = bit_off % PCPU_BITMAP_BLOCK_BITS
        bits = 0
        blocks = chunk.md_blocks
        while i < len(blocks):
            block = blocks[i]
            if bits:
                bits += block.left_free
                if bits >= alloc_bits:
                    return bit_off, bits
                if block.left_free == PCPU_BITMAP_BLOCK_BITS:
                    i += 1
                    continue
            bits = _align(block.contig_hint_start, align) - block.contig_hint_start
            if block.contig_hint and block.contig_hint_start >= block_off \
                    and block.contig_hint >= bits + alloc_bits:
                start = block.first_free        # pcpu_next_hint() without a scan hint
                bits += alloc_bits + block.contig_hint_start - start
                return i * PCPU_BITMAP_BLOCK_BITS + start, bits
            block_off = 0
            off = _align(PCPU_BITMAP_BLOCK_BITS - block.right_free, align)
            bits = PCPU_BITMAP_BLOCK_BITS - off
            bit_off = i * PCPU_BITMAP_BLOCK_BITS + off
            if bits >= alloc_bits:
                return bit_off, bits
            i += 1
        return chunk.map_bits, 0

    def _is_populated(self, chunk: PcpuChunk, bit_off: int, bits: int) -> tuple[bool, int]:
        """pcpu_is_populated(): (all pages populated, next bit offset to try)."""
        page_start = (bit_off * PCPU_MIN_ALLOC_SIZE) >> PAGE_SHIFT
        page_end = -(-((bit_off + bits) * PCPU_MIN_ALLOC_SIZE) // PAGE_SIZE)
        rs = chunk.populated.find(0, page_start, page_end)
        if rs < 0:
            return True, 0
        re = chunk.populated.find(1, rs, chunk.nr_pages)
        re = chunk.nr_pages if re < 0 else re
        return False, re * PAGE_SIZE // PCPU_MIN_ALLOC_SIZE

    def pcpu_find_block_fit(self, chunk: PcpuChunk, alloc_bits: int, align: int,
                            pop_only: bool) -> int:
        """pcpu_find_block_fit(): a start offset (bits) for pcpu_alloc_area, or -1."""
        if not _check_block_hint(chunk.chunk_md, alloc_bits, align):
            return -1
        bit_off = chunk.chunk_md.first_free
        while True:
            bit_off, bits = self._next_fit_region(chunk, alloc_bits, align, bit_off)
            if bit_off >= chunk.map_bits:
                return -1
            if not pop_only:
                return bit_off
            ok, nxt = self._is_populated(chunk, bit_off, bits)
            if ok:
                return bit_off
            bit_off = nxt

    def pcpu_alloc_area(self, chunk: PcpuChunk, alloc_bits: int, align: int,
                        start: int) -> int:
        """pcpu_alloc_area(): first fit from *start* (pcpu_find_zero_area); byte offset."""
        oslot = self.pcpu_chunk_slot(chunk)
        end = min(start + alloc_bits + PCPU_BITMAP_BLOCK_BITS, chunk.map_bits)
        amap = chunk.alloc_map
        pos = start
        while True:
            idx = amap.find(0, pos, end)
            if idx < 0:
                return -1
            idx = _align(idx, align)
            stop = idx + alloc_bits
            if stop > end:
                return -1
            busy = amap.find(1, idx, stop)
            if busy < 0:
                break
            pos = busy + 1
        _set_bits(chunk, idx, alloc_bits, 1)
        chunk.bounds[idx] = alloc_bits
        chunk.free_bytes -= alloc_bits * PCPU_MIN_ALLOC_SIZE
        self._relocate(chunk, oslot)
        return idx * PCPU_MIN_ALLOC_SIZE

    def pcpu_free_area(self, chunk: PcpuChunk, off: int) -> int:
        """pcpu_free_area(): bytes freed."""
        oslot = self.pcpu_chunk_slot(chunk)
        bit_off = off >> PCPU_MIN_ALLOC_SHIFT
        bits = chunk.bounds.pop(bit_off)
        _set_bits(chunk, bit_off, bits, 0)
        chunk.free_bytes += bits * PCPU_MIN_ALLOC_SIZE
        self._relocate(chunk, oslot)
        return bits * PCPU_MIN_ALLOC_SIZE

    # ---------------------------------------------------------------- the API

    def addr_to_ptr(self, addr: int) -> int:
        """__addr_to_pcpu_ptr()"""
        return (addr - self.pcpu_base_addr + PER_CPU_START) & self._mask

    def ptr_to_addr(self, ptr: int) -> int:
        """__pcpu_ptr_to_addr()"""
        return (ptr + self.pcpu_base_addr - PER_CPU_START) & self._mask

    @property
    def _mask(self) -> int:
        return (1 << self.m.arch.bits) - 1

    def pcpu_alloc(self, size: int, align: int, reserved: bool, gfp: int) -> int | None:
        """pcpu_alloc(): a __percpu cookie, or None (with the kernel's WARN/pr_warn)."""
        m = self.m
        gfp = m.current_gfp_context(gfp)
        pcpu_gfp = gfp & (GFP_KERNEL | _GFP_NORETRY | _GFP_NOWARN)
        is_atomic = not gfp & _GFP_DIRECT_RECLAIM
        do_warn = not gfp & _GFP_NOWARN
        if align < PCPU_MIN_ALLOC_SIZE:
            align = PCPU_MIN_ALLOC_SIZE
        size = _align(size, PCPU_MIN_ALLOC_SIZE)
        bits = size >> PCPU_MIN_ALLOC_SHIFT
        bit_align = align >> PCPU_MIN_ALLOC_SHIFT
        if not size or size > PCPU_MIN_UNIT_SIZE or align > PAGE_SIZE or align & (align - 1):
            if do_warn:
                m.debug.warn_text(f"illegal size ({size}) or align ({align}) for percpu "
                                  "allocation", "pcpu_alloc", "mm/percpu.c", ILLEGAL_WARN_LINE)
            return None
        if not is_atomic:
            m.might_sleep(MUTEX_LOCK_KILLABLE_FILE, MUTEX_LOCK_KILLABLE_LINE)
        err = ""
        if reserved:
            chunk = self.pcpu_reserved_chunk
            if chunk is None:
                err = "no reserved chunk"
                return self._fail(size, align, is_atomic, do_warn, err)
            off = self.pcpu_find_block_fit(chunk, bits, bit_align, is_atomic)
            if off < 0:
                return self._fail(size, align, is_atomic, do_warn,
                                  "alloc from reserved chunk failed")
            off = self.pcpu_alloc_area(chunk, bits, bit_align, off)
            if off < 0:
                return self._fail(size, align, is_atomic, do_warn,
                                  "alloc from reserved chunk failed")
            return self.addr_to_ptr(chunk.base_addr + off)
        while True:
            found = self._search(size, bits, bit_align, is_atomic)
            if found is not None:
                break
            if is_atomic:
                return self._fail(size, align, is_atomic, do_warn,
                                  "atomic alloc failed, no space left")
            if not self.pcpu_chunk_lists[self.pcpu_free_slot]:
                new = self.pcpu_create_chunk(pcpu_gfp)
                if new is None:
                    return self._fail(size, align, is_atomic, do_warn,
                                      "failed to allocate new chunk")
                self._relocate(new)
            else:                                    # SIM: no further chunk can help
                return self._fail(size, align, is_atomic, do_warn,
                                  "failed to allocate new chunk")
        chunk, off = found
        if not is_atomic:
            # populate, if not all pages are already there
            page_start = off >> PAGE_SHIFT
            page_end = -(-(off + size) // PAGE_SIZE)
            pg = chunk.populated.find(0, page_start, page_end)
            while pg >= 0:
                pe = chunk.populated.find(1, pg, page_end)
                pe = page_end if pe < 0 else pe
                if not self._populate(chunk, pg, pe, pcpu_gfp):
                    self.pcpu_free_area(chunk, off)
                    return self._fail(size, align, is_atomic, do_warn,
                                      "failed to populate")
                pg = chunk.populated.find(0, pe, page_end) if pe < page_end else -1
        ptr = self.addr_to_ptr(chunk.base_addr + off)
        # the memory comes back zeroed in every unit (memset on each possible CPU)
        for cpu in range(m.nr_cpus):
            m.kernel_memset(self.per_cpu_ptr(ptr, cpu), 0, size)
        return ptr

    def _search(self, size: int, bits: int, bit_align: int,
                is_atomic: bool) -> tuple[PcpuChunk, int] | None:
        for slot in range(self.pcpu_size_to_slot(size), self.pcpu_free_slot + 1):
            for chunk in list(self.pcpu_chunk_lists[slot]):
                off = self.pcpu_find_block_fit(chunk, bits, bit_align, is_atomic)
                if off < 0:
                    if slot < PCPU_SLOT_FAIL_THRESHOLD:
                        self._move(chunk, 0, True)   # pcpu_chunk_move(chunk, 0)
                    continue
                off = self.pcpu_alloc_area(chunk, bits, bit_align, off)
                if off >= 0:
                    return chunk, off
        return None

    def _fail(self, size: int, align: int, is_atomic: bool, do_warn: bool,
              err: str) -> int | None:
        m = self.m
        if do_warn and self.warn_limit:
            start = m.log.mark()
            m.printk(f"percpu: allocation failed, size={size} align={align} "
                     f"atomic={int(is_atomic)}, {err}", level=4)
            if not is_atomic:
                m.debug.dump_stack()
            self.warn_limit -= 1
            if not self.warn_limit:
                m.printk("percpu: limit reached, disable warning")
            m.debug.report_block(start)
        return None

    def chunk_of(self, addr: int) -> PcpuChunk | None:
        """pcpu_chunk_addr_search(): the chunk whose first unit covers *addr*."""
        for chunk in self.chunks:
            if chunk.base_addr <= addr < chunk.base_addr + (chunk.nr_pages << PAGE_SHIFT):
                return chunk
        return None

    def free_percpu(self, ptr: int | None) -> None:
        """free_percpu()"""
        if not ptr:
            return
        addr = self.ptr_to_addr(ptr)
        chunk = self.chunk_of(addr)
        off = addr - (chunk.base_addr if chunk else 0)
        if chunk is None or (off >> PCPU_MIN_ALLOC_SHIFT) not in chunk.bounds \
                or off & (PCPU_MIN_ALLOC_SIZE - 1):
            raise MemsimError(f"free_percpu({ptr:#x}): not an allocated per-CPU pointer")
        self.pcpu_free_area(chunk, off)
        # SIM: pcpu_balance_workfn() (depopulating free pages, destroying spare empty
        # chunks, keeping PCPU_EMPTY_POP_PAGES_LOW..HIGH populated) is not modelled.

    def per_cpu_ptr(self, ptr: int, cpu: int) -> int:
        """per_cpu_ptr(): ptr + __per_cpu_offset[cpu]"""
        if not 0 <= cpu < self.m.nr_cpus:
            raise MemsimError(f"per_cpu_ptr: no CPU {cpu}")
        return (ptr + self._per_cpu_offset[cpu]) & self._mask

    def pcpu_nr_pages(self) -> int:
        """pcpu_nr_pages(): pages backing all chunks in all units (meminfo Percpu)."""
        return self.pcpu_nr_populated * self.pcpu_nr_units

    def define_per_cpu(self, name: str, size: int, align: int = 0) -> PerCpuVar:
        """DEFINE_PER_CPU(): a variable in the static area (.data..percpu)."""
        if name in self.static_vars:
            raise MemsimError(f"DEFINE_PER_CPU({name}): already defined")
        if size <= 0:
            raise MemsimError(f"DEFINE_PER_CPU({name}): size {size}")
        align = align or min(8 if self.m.arch.bits == 64 else 4, 1 << (size - 1).bit_length())
        off = _align(self.static_used, align)
        if off + size > self.ai.static_size:
            raise MemsimError(f"DEFINE_PER_CPU({name}): the static per-CPU area "
                              f"({self.ai.static_size} bytes) is full")
        # SIM: the kernel image's own static per-CPU variables are not modelled; model
        # variables are laid out from the start of the static area.
        self.static_used = off + size
        var = PerCpuVar(name, PER_CPU_START + off, size)
        self.static_vars[name] = var
        return var


@dataclass(frozen=True, slots=True)
class PerCpuVar:
    """A DEFINE_PER_CPU variable: ``addr`` is ``&name`` (a __percpu pointer)."""
    name: str
    addr: int
    size: int


def percpu_init(m: Machine) -> Percpu:
    """pcpu_setup_first_chunk() for the layout pcpu_embed_first_chunk() reserved at boot."""
    state = Percpu(m, m.pcpu_alloc_info)
    m.percpu = state
    return state


def pcpu_nr_pages(m: Machine) -> int:
    """pcpu_nr_pages(): meminfo's Percpu, in pages."""
    return m.percpu.pcpu_nr_pages()


# -- lib/smp_processor_id.c and include/linux/percpu-defs.h ----------------------------------

def check_preemption_disabled(m: Machine, what1: str, what2: str) -> int:
    """check_preemption_disabled() (CONFIG_DEBUG_PREEMPT): the CPU, with a report when
    the caller could migrate."""
    cpu = m._cpu
    if m.preempt_count[cpu] or m.irqs_off[cpu]:
        return cpu
    # SIM: no per-CPU kthreads or migrate_disable(); the boot task (pid 0) stands for
    # system_state < SYSTEM_SCHEDULING.
    if m.current_pid == 0:
        return cpu
    if not m.ratelimit("printk_ratelimit", 5_000_000_000, 10):
        return cpu
    from memsim.mm.slab_common import python_caller
    start = m.log.mark()
    # preempt_disable_notrace() first, then "preempt_count() - 1"
    m.printk(f"BUG: using {what1}{what2}() in preemptible [{m.preempt_count[cpu]:08x}] "
             f"code: {m.current_comm}/{m.current_pid}", level=3)
    m.printk(f"caller is {python_caller()}")
    m.debug.dump_stack()
    m.debug.report_block(start)
    return cpu


def smp_processor_id(m: Machine) -> int:
    """debug_smp_processor_id()"""
    return check_preemption_disabled(m, "smp_processor_id", "")


def _ptr(var: PerCpuVar | int) -> int:
    return var.addr if isinstance(var, PerCpuVar) else var


def _size(var: PerCpuVar | int, size: int | None) -> int:
    if size is not None:
        return size
    return var.size if isinstance(var, PerCpuVar) else 8


def per_cpu_ptr(m: Machine, var: PerCpuVar | int, cpu: int) -> int:
    """per_cpu_ptr(ptr, cpu) / &per_cpu(var, cpu)"""
    st: Percpu = m.percpu
    return st.per_cpu_ptr(_ptr(var), cpu)


def raw_cpu_ptr(m: Machine, var: PerCpuVar | int) -> int:
    """raw_cpu_ptr(): no preemption check."""
    return per_cpu_ptr(m, var, m._cpu)


def this_cpu_ptr(m: Machine, var: PerCpuVar | int) -> int:
    """this_cpu_ptr(): with CONFIG_DEBUG_PREEMPT, my_cpu_offset uses smp_processor_id()."""
    return per_cpu_ptr(m, var, smp_processor_id(m))


def per_cpu_read(m: Machine, var: PerCpuVar | int, cpu: int, size: int | None = None) -> int:
    """per_cpu(var, cpu) as an rvalue (little-endian unsigned)."""
    n = _size(var, size)
    return int.from_bytes(m.kernel_read(per_cpu_ptr(m, var, cpu), n), "little")


def per_cpu_write(m: Machine, var: PerCpuVar | int, cpu: int, val: int,
                  size: int | None = None) -> None:
    """per_cpu(var, cpu) = val"""
    n = _size(var, size)
    m.kernel_write(per_cpu_ptr(m, var, cpu), (val & ((1 << 8 * n) - 1)).to_bytes(n, "little"))


def this_cpu_read(m: Machine, var: PerCpuVar | int, size: int | None = None) -> int:
    """this_cpu_read(): preempt- and irq-safe (one instruction on x86)."""
    return per_cpu_read(m, var, m._cpu, size)


def this_cpu_write(m: Machine, var: PerCpuVar | int, val: int, size: int | None = None) -> None:
    per_cpu_write(m, var, m._cpu, val, size)


def this_cpu_add(m: Machine, var: PerCpuVar | int, val: int, size: int | None = None) -> None:
    per_cpu_write(m, var, m._cpu, per_cpu_read(m, var, m._cpu, size) + val, size)


def __this_cpu_read(m: Machine, var: PerCpuVar | int, size: int | None = None) -> int:
    """__this_cpu_read(): the caller must have preemption disabled (checked)."""
    cpu = check_preemption_disabled(m, "__this_cpu_", "read")
    return per_cpu_read(m, var, cpu, size)


def __this_cpu_write(m: Machine, var: PerCpuVar | int, val: int,
                     size: int | None = None) -> None:
    cpu = check_preemption_disabled(m, "__this_cpu_", "write")
    per_cpu_write(m, var, cpu, val, size)


def __this_cpu_add(m: Machine, var: PerCpuVar | int, val: int,
                   size: int | None = None) -> None:
    cpu = check_preemption_disabled(m, "__this_cpu_", "add")
    per_cpu_write(m, var, cpu, per_cpu_read(m, var, cpu, size) + val, size)


# module-level aliases: the __names can't be spelled inside a class body (name mangling)
this_cpu_read_nocheck = __this_cpu_read
this_cpu_write_nocheck = __this_cpu_write
this_cpu_add_nocheck = __this_cpu_add


def get_cpu(m: Machine) -> int:
    """get_cpu(): preempt_disable(); smp_processor_id()."""
    m.preempt_disable()
    return smp_processor_id(m)


def put_cpu(m: Machine) -> None:
    """put_cpu(): preempt_enable()."""
    m.preempt_enable()


def get_cpu_var(m: Machine, var: PerCpuVar | int) -> int:
    """get_cpu_var(): preempt_disable(), then the address of this CPU's copy."""
    m.preempt_disable()
    return this_cpu_ptr(m, var)


def put_cpu_var(m: Machine, var: PerCpuVar | int) -> None:
    """put_cpu_var(): preempt_enable()."""
    m.preempt_enable()
