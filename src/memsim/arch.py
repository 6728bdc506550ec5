"""
Per-architecture facts: physical memory map, zones, direct map, page-block order.

What the kernel spreads over arch/*/mm/init.c, arch/*/include/asm/{page,pgtable,dma}.h and the
firmware's memory map (e820 on x86, the device tree on ARM) is collected here as one
``ArchSpec`` per supported architecture. mm/memblock.py registers the regions this module
describes; mm/mm_init.py turns the zone limits into zones. Linux 6.12; deviations are
marked ``# SIM:``.

Firmware memory maps follow what QEMU presents to a guest with the given amount of RAM,
because that is the machine a reader can boot to compare:

* x86 (both widths): e820 RAM ``[0, 0x9fc00)`` (the kernel then trims page 0), the legacy
  hole up to 1 MiB, RAM from 1 MiB up to ``below_4g``, and the rest above 4 GiB. QEMU's
  i440fx board puts ``below_4g`` at 3 GiB when the guest has at least 3.5 GiB
  (``pc_init1``), otherwise all RAM sits below 4 GiB.
* arm64: one DRAM bank at 0x4000_0000 (QEMU ``virt``).
* arm (32-bit, no LPAE): one DRAM bank at 0x8000_0000.
"""

from __future__ import annotations

from dataclasses import dataclass

from memsim.include.mmzone_types import ZoneType

SZ_1M = 1 << 20
SZ_1G = 1 << 30
SZ_4G = 1 << 32
PAGE_SHIFT = 12
PAGE_SIZE = 1 << PAGE_SHIFT
MAX_PAGE_ORDER = 10
NR_PAGE_ORDERS = MAX_PAGE_ORDER + 1


@dataclass(frozen=True, slots=True)
class KernelImage:
    """Sizes of the kernel image sections in KiB, as ``mem_init_print_info()`` reports them."""

    code_kb: int
    rwdata_kb: int
    rodata_kb: int
    init_kb: int
    bss_kb: int

    @property
    def total_kb(self) -> int:
        return self.code_kb + self.rwdata_kb + self.rodata_kb + self.init_kb + self.bss_kb


@dataclass(frozen=True, slots=True)
class ArchSpec:
    """One architecture's constants (the ``asm/`` headers a kernel build sees)."""

    name: str
    bits: int
    #: zones configured, in kernel index order (``enum zone_type``)
    zones: tuple[ZoneType, ...]
    pageblock_order: int
    page_offset: int
    #: virtual base of the struct page array (vmemmap) or of mem_map (FLATMEM)
    vmemmap_base: int
    #: bytes per struct page
    struct_page_size: int
    #: physical address of the start of the kernel image
    kernel_phys: int
    image: KernelImage
    #: sparsemem section size (bits); 0 for FLATMEM
    section_size_bits: int
    #: physical start of DRAM
    dram_base: int
    #: x86: the first MiB is reserved entirely (``x86_reserve_low``)
    reserve_low_1m: bool
    #: the lowmem limit in bytes of physical memory above dram_base (None: all RAM is lowmem)
    lowmem_limit: int | None
    #: per-CPU first chunk unit in bytes (``pcpu_embed_first_chunk``)
    percpu_unit: int
    highmem: bool
    #: L1 cache line (cache_line_size(); 64 on every arch modelled: x86, ARMv7, ARMv8)
    l1_cache_bytes: int = 64

    @property
    def max_nr_zones(self) -> int:
        return len(self.zones)

    def zone_idx(self, ztype: ZoneType) -> int | None:
        """Kernel zone index of canonical zone *ztype*, or None if not configured."""
        try:
            return self.zones.index(ztype)
        except ValueError:
            return None


def _x86_32_lowmem_limit() -> int:
    # MAXMEM = VMALLOC_END - PAGE_OFFSET - __VMALLOC_RESERVE (arch/x86/include/asm/
    # pgtable_32_areas.h). VMALLOC_END sits below the pkmap area, the LDT PMD and the
    # cpu_entry_area, which sit below the fixmap; with 4 MiB PMDs (non-PAE) each of
    # those steps rounds down to a PMD boundary.
    # SIM: fixmap + cpu_entry_area sizes are taken for an NR_CPUS=8 build (about 3 MiB),
    # which puts PKMAP_BASE at 0xff400000 and leaves about 884 MiB of lowmem (the kernel's
    # "LOWMEM available" line varies between ~884 and 892 MiB with the build).
    pmd = 4 * SZ_1M
    fixaddr_tot_start = 0xFFFFF000 - 3 * SZ_1M
    cpu_entry_area_base = (fixaddr_tot_start - PAGE_SIZE) & ~(pmd - 1)
    ldt_base = (cpu_entry_area_base - PAGE_SIZE) & ~(pmd - 1)
    pkmap_base = (ldt_base - PAGE_SIZE) & ~(pmd - 1)
    vmalloc_end = pkmap_base - 2 * PAGE_SIZE
    return vmalloc_end - 0xC0000000 - 128 * SZ_1M


# ARM (no LPAE): the lowmem limit follows from vmalloc_min = VMALLOC_END - 240 MiB - 8 MiB
# (arch/arm/mm/mmu.c, the default vmalloc= size) = 0xef800000 → 760 MiB of direct map.
_ARM_LOWMEM = 0xEF800000 - 0xC0000000

ARCHES: dict[str, ArchSpec] = {
    "x86_64": ArchSpec(
        name="x86_64", bits=64,
        zones=(ZoneType.ZONE_DMA, ZoneType.ZONE_DMA32, ZoneType.ZONE_NORMAL,
               ZoneType.ZONE_MOVABLE, ZoneType.ZONE_DEVICE),
        pageblock_order=9, page_offset=0xFFFF888000000000, vmemmap_base=0xFFFFEA0000000000,
        struct_page_size=64, kernel_phys=0x1000000,
        # SIM: section sizes of a Debian 6.12 amd64 kernel, chosen so that the reserved
        # part of DMA32 equals the 6.18 sample's present - managed (9528 pages).
        image=KernelImage(code_kb=16384, rwdata_kb=4096, rodata_kb=8192, init_kb=4096,
                          bss_kb=9440),
        section_size_bits=27, dram_base=0, reserve_low_1m=True, lowmem_limit=None,
        percpu_unit=512 * 1024, highmem=False),
    "i386": ArchSpec(
        name="i386", bits=32,
        zones=(ZoneType.ZONE_DMA, ZoneType.ZONE_NORMAL, ZoneType.ZONE_HIGHMEM,
               ZoneType.ZONE_MOVABLE),
        # non-PAE: the PMD maps 4 MiB, so pageblock_order = HUGETLB_PAGE_ORDER = 10
        pageblock_order=10, page_offset=0xC0000000, vmemmap_base=0xC0000000,
        struct_page_size=32, kernel_phys=0x1000000,
        image=KernelImage(code_kb=8192, rwdata_kb=1536, rodata_kb=3072, init_kb=1024,
                          bss_kb=1536),
        section_size_bits=0, dram_base=0, reserve_low_1m=True,
        lowmem_limit=_x86_32_lowmem_limit(), percpu_unit=64 * 1024, highmem=True),
    "arm64": ArchSpec(
        name="arm64", bits=64,
        zones=(ZoneType.ZONE_DMA, ZoneType.ZONE_DMA32, ZoneType.ZONE_NORMAL,
               ZoneType.ZONE_MOVABLE, ZoneType.ZONE_DEVICE),
        pageblock_order=9, page_offset=0xFFFF000000000000, vmemmap_base=0xFFFFFDFFC0000000,
        struct_page_size=64, kernel_phys=0x40200000,
        image=KernelImage(code_kb=16384, rwdata_kb=4096, rodata_kb=8192, init_kb=4096,
                          bss_kb=1024),
        section_size_bits=27, dram_base=0x40000000, reserve_low_1m=False, lowmem_limit=None,
        percpu_unit=128 * 1024, highmem=False),
    "arm": ArchSpec(
        name="arm", bits=32,
        zones=(ZoneType.ZONE_NORMAL, ZoneType.ZONE_HIGHMEM, ZoneType.ZONE_MOVABLE),
        # no THP/hugetlb without LPAE: pageblock_order = MAX_PAGE_ORDER
        pageblock_order=10, page_offset=0xC0000000, vmemmap_base=0xC0000000,
        struct_page_size=32, kernel_phys=0x80008000,
        image=KernelImage(code_kb=8192, rwdata_kb=1024, rodata_kb=2048, init_kb=1024,
                          bss_kb=512),
        section_size_bits=0, dram_base=0x80000000, reserve_low_1m=False,
        lowmem_limit=_ARM_LOWMEM, percpu_unit=32 * 1024, highmem=True),
}


def firmware_memory_map(arch: ArchSpec, mem_bytes: int) -> list[tuple[int, int]]:
    """
    RAM ranges ``[start, end)`` (physical bytes) as firmware reports them for *mem_bytes*.

    x86 ranges already have page 0 trimmed, as ``e820__memblock_setup`` sees them after
    ``e820__range_update(0, PAGE_SIZE, RAM, RESERVED)``.
    """
    if arch.name in ("x86_64", "i386"):
        lowmem = 0xC0000000 if mem_bytes >= 0xE0000000 else 0xE0000000
        below_4g = min(mem_bytes, lowmem)
        above_4g = mem_bytes - below_4g
        if arch.name == "i386" and above_4g:
            # SIM: non-PAE i386 cannot address RAM above 4 GiB; the rest is ignored, as
            # the kernel's "Warning only 4GB will be used" says.
            above_4g = 0
        ranges = [(PAGE_SIZE, 0x9FC00)]
        if below_4g > SZ_1M:
            ranges.append((SZ_1M, below_4g))
        if above_4g:
            ranges.append((SZ_4G, SZ_4G + above_4g))
        return ranges
    return [(arch.dram_base, arch.dram_base + mem_bytes)]


def max_zone_pfns(arch: ArchSpec, max_pfn: int, max_low_pfn: int) -> dict[ZoneType, int]:
    """
    Upper (exclusive) PFN of each zone below Movable, as ``zone_sizes_init()`` passes them.
    """
    limits: dict[ZoneType, int] = {}
    if arch.name == "x86_64":
        limits[ZoneType.ZONE_DMA] = min(0x1000, max_low_pfn)          # MAX_DMA_PFN
        limits[ZoneType.ZONE_DMA32] = min(0x100000, max_low_pfn)      # MAX_DMA32_PFN
        limits[ZoneType.ZONE_NORMAL] = max_low_pfn
    elif arch.name == "i386":
        limits[ZoneType.ZONE_DMA] = min(0x1000, max_low_pfn)
        limits[ZoneType.ZONE_NORMAL] = max_low_pfn
        limits[ZoneType.ZONE_HIGHMEM] = max_pfn
    elif arch.name == "arm64":
        # No firmware DMA limit: ZONE_DMA = all RAM below 4 GiB and DMA32 is empty.
        dma = min(max_pfn, SZ_4G >> PAGE_SHIFT)
        limits[ZoneType.ZONE_DMA] = dma
        limits[ZoneType.ZONE_DMA32] = dma
        limits[ZoneType.ZONE_NORMAL] = max_pfn
    else:  # arm
        limits[ZoneType.ZONE_NORMAL] = max_low_pfn
        limits[ZoneType.ZONE_HIGHMEM] = max_pfn
    return limits
