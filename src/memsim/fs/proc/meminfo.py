"""
/proc/meminfo (fs/proc/meminfo.c), with the helpers it calls: si_meminfo() and
si_mem_available() (mm/show_mem.c), vm_commit_limit() (mm/util.c), hugetlb_report_meminfo()
(mm/hugetlb.c) and x86's arch_report_meminfo() (arch/x86/mm/pat/set_memory.c) with the boot
direct map it reports (init_mem_mapping(), arch/x86/mm/init.c, init_64.c, init_32.c).

Values come from the model's counters (mm/vmstat.py readers) and globals; a line whose
subsystem is not modelled yet (zswap, hugetlb pools, block-device cache …)
reads the kernel counter that would carry it where the model has one, and 0 otherwise.

Mirrors Linux 6.12; /proc formats of 6.18 (the line set of the real 6.18 x86-64 sample:
Zswap/Zswapped, Balloon, Hugetlb, no HardwareCorrupted); deviations are marked ``# SIM:``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from memsim.arch import PAGE_SHIFT, PAGE_SIZE, SZ_1G, SZ_1M
from memsim.include.vmstat_items import NodeStatItem, VmEventItem, ZoneStatItem
from memsim.mm.percpu import pcpu_nr_pages
from memsim.mm.vmalloc import vmalloc_nr_pages
from memsim.mm.vmstat import (
    HPAGE_PMD_ORDER,
    global_node_page_state,
    global_node_page_state_pages,
    global_zone_page_state,
    is_highmem,
)

if TYPE_CHECKING:
    from memsim.machine import Machine

SZ_2M = 2 * SZ_1M
SZ_4M = 4 * SZ_1M
SZ_8M = 8 * SZ_1M
ISA_END_ADDRESS = 0x100000

#: vm.overcommit_ratio default (mm/util.c sysctl_overcommit_ratio)
OVERCOMMIT_RATIO_DEFAULT = 50


@dataclass(frozen=True, slots=True)
class MeminfoArch:
    """What the arch's kernel configuration adds to /proc/meminfo."""

    #: CONFIG_TRANSPARENT_HUGEPAGE is possible (AnonHugePages … FilePmdMapped lines)
    thp: bool
    #: CONFIG_HUGETLB_PAGE is possible (HugePages_* … Hugetlb lines)
    hugetlb: bool
    #: HPAGE_SHIFT: the default huge page size
    hpage_shift: int
    #: arch_report_meminfo() prints DirectMap lines (x86 only)
    direct_map: bool


MEMINFO_ARCH: dict[str, MeminfoArch] = {
    "x86_64": MeminfoArch(thp=True, hugetlb=True, hpage_shift=21, direct_map=True),
    # non-PAE: PMD_SHIFT = 22, so a huge page is 4 MiB
    "i386": MeminfoArch(thp=True, hugetlb=True, hpage_shift=22, direct_map=True),
    "arm64": MeminfoArch(thp=True, hugetlb=True, hpage_shift=21, direct_map=False),
    # ARM without LPAE selects neither HAVE_ARCH_TRANSPARENT_HUGEPAGE nor
    # ARCH_SUPPORTS_HUGETLBFS, so neither block is printed.
    "arm": MeminfoArch(thp=False, hugetlb=False, hpage_shift=0, direct_map=False),
}
assert set(MEMINFO_ARCH) == set(HPAGE_PMD_ORDER)


# --------------------------------------------------------------------------------------------
# VMALLOC_TOTAL


def vmalloc_range(m: Machine) -> tuple[int, int]:
    """
    ``(VMALLOC_START, VMALLOC_END)`` of the machine's kernel; meminfo prints
    ``(VMALLOC_END - VMALLOC_START) >> 10`` (VMALLOC_TOTAL).

    * x86-64, 4-level paging (asm/pgtable_64_types.h): VMALLOC_START =
      __VMALLOC_BASE_L4 = 0xffffc90000000000 (vmalloc_base; KASLR moves the base, not the
      size), VMALLOC_END = VMALLOC_START + (VMALLOC_SIZE_TB_L4 = 32 TiB) - 1.
    * i386 (asm/pgtable_32_areas.h): VMALLOC_START = high_memory + VMALLOC_OFFSET (8 MiB),
      VMALLOC_END = PKMAP_BASE - 2 * PAGE_SIZE; the lowmem limit in arch.py is derived as
      VMALLOC_END - PAGE_OFFSET - __VMALLOC_RESERVE (128 MiB), which gives VMALLOC_END back.
    * arm (asm/pgtable.h): VMALLOC_START = (high_memory + 8 MiB) & ~(8 MiB - 1),
      VMALLOC_END = 0xff800000.
    * arm64, 48-bit VA, 4 KiB pages (asm/memory.h, asm/pgtable.h): VMALLOC_START =
      MODULES_END = _PAGE_END(48) + 2 GiB = 0xffff800080000000; VMALLOC_END =
      VMEMMAP_START - 8 MiB with VMEMMAP_START = -1 GiB - (2^47 >> 12) * 64 =
      0xfffffdffc0000000.
    """
    arch = m.arch
    high_memory = arch.page_offset + (m.max_low_pfn << PAGE_SHIFT) - arch.dram_base
    if arch.name == "x86_64":
        start = 0xFFFFC90000000000
        return start, start + (32 << 40) - 1
    if arch.name == "i386":
        assert arch.lowmem_limit is not None
        return high_memory + SZ_8M, arch.page_offset + arch.lowmem_limit + 128 * SZ_1M
    if arch.name == "arm":
        return (high_memory + SZ_8M) & ~(SZ_8M - 1), 0xFF800000
    if arch.name == "arm64":
        modules_end = ((1 << 64) - (1 << 47)) + 2 * SZ_1G
        vmemmap_start = ((1 << 64) - SZ_1G) - ((1 << 47) >> PAGE_SHIFT) * 64
        return modules_end, vmemmap_start - SZ_8M
    raise ValueError(f"{arch.name}: no vmalloc layout")


# --------------------------------------------------------------------------------------------
# x86 direct map: init_mem_mapping() and the page counts arch_report_meminfo() prints

PG_LEVEL_4K = 1
PG_LEVEL_2M = 2
PG_LEVEL_1G = 3

# SIM: boot-time changes of direct-map attributes (set_memory_*() before SYSTEM_RUNNING, so
# not counted in direct_map_level*_splits) are not modelled one by one. On x86-64 they are
# the KFENCE pool (2 MiB taken from the top of memory and remapped with 4 KiB pages: one
# 1 GiB and one 2 MiB split) and the kernel image's RO/NX sections and freed gaps (2 MiB
# splits). The counts are those of the real 6.18 sample, whose init_mem_mapping() alone
# yields 25 x 1G, 511 x 2M, 512 x 4k and which reports 24, 1014 and 5120.
X86_64_BOOT_SPLITS: tuple[tuple[int, int], ...] = ((PG_LEVEL_1G, 1), (PG_LEVEL_2M, 9))


class X86DirectMap:
    """
    The kernel page tables of x86's direct map as init_mem_mapping() builds them, reduced
    to what ``direct_pages_count[]`` needs: which PUD/PMD entries are leaves or tables.

    The counting follows the kernel exactly, including its quirk that re-walking an
    existing large mapping counts it again (phys_pud_init()/phys_pmd_init() do
    ``pages++`` for a present leaf during boot): the top-down walk maps the top of memory
    in small steps, so the last GiB is counted more than once, which is why a real
    machine's DirectMap lines add up to more than its RAM.
    """

    def __init__(self, bits: int, memory: list[tuple[int, int]], gbpages: bool) -> None:
        self.bits = bits
        #: memblock.memory as it is at init_mem_mapping() time: [start, end) in bytes,
        #: contiguous regions merged (the NUMA split comes later)
        self.memory = memory
        self.pmd_size = SZ_2M if bits == 64 else SZ_4M
        self.page_size_mask = 1 << PG_LEVEL_2M
        if gbpages and bits == 64:
            self.page_size_mask |= 1 << PG_LEVEL_1G
        self.count = [0, 0, 0, 0]          # direct_pages_count[], indexed by PG_LEVEL_*
        self._pud_leaf: set[int] = set()
        self._pud_table: set[int] = set()
        self._pmd_leaf: set[int] = set()
        self._pmd_table: set[int] = set()

    # memblock_is_region_memory(): [base, base + size) lies within one memory region
    def _is_region_memory(self, base: int, size: int) -> bool:
        for start, end in self.memory:
            if start <= base < end:
                return base + size <= end
        return False

    def split_mem_range(self, start: int, end: int, max_low_pfn: int) -> list[list[int]]:
        """split_mem_range(): [start, end) as ranges of 4k / 2M(4M) / 1G mappings."""
        mr: list[list[int]] = []

        def save_mr(s: int, e: int, mask: int) -> None:
            if s < e:
                mr.append([s << PAGE_SHIFT, e << PAGE_SHIFT, mask])

        pmd_pfns = self.pmd_size >> PAGE_SHIFT
        pud_pfns = SZ_1G >> PAGE_SHIFT
        limit_pfn = end >> PAGE_SHIFT
        pfn = start_pfn = start >> PAGE_SHIFT
        if self.bits == 32 and pfn == 0:
            end_pfn = pmd_pfns
        else:
            end_pfn = -(-pfn // pmd_pfns) * pmd_pfns
        end_pfn = min(end_pfn, limit_pfn)
        if start_pfn < end_pfn:
            save_mr(start_pfn, end_pfn, 0)
            pfn = end_pfn
        start_pfn = -(-pfn // pmd_pfns) * pmd_pfns
        if self.bits == 32:
            end_pfn = limit_pfn // pmd_pfns * pmd_pfns
        else:
            end_pfn = -(-pfn // pud_pfns) * pud_pfns
            end_pfn = min(end_pfn, limit_pfn // pmd_pfns * pmd_pfns)
        if start_pfn < end_pfn:
            save_mr(start_pfn, end_pfn, self.page_size_mask & (1 << PG_LEVEL_2M))
            pfn = end_pfn
        if self.bits == 64:
            start_pfn = -(-pfn // pud_pfns) * pud_pfns
            end_pfn = limit_pfn // pud_pfns * pud_pfns
            if start_pfn < end_pfn:
                save_mr(start_pfn, end_pfn,
                        self.page_size_mask & ((1 << PG_LEVEL_2M) | (1 << PG_LEVEL_1G)))
                pfn = end_pfn
            start_pfn = -(-pfn // pmd_pfns) * pmd_pfns
            end_pfn = limit_pfn // pmd_pfns * pmd_pfns
            if start_pfn < end_pfn:
                save_mr(start_pfn, end_pfn, self.page_size_mask & (1 << PG_LEVEL_2M))
                pfn = end_pfn
        save_mr(pfn, limit_pfn, 0)
        # adjust_range_page_size_mask(): use big pages where the rounded range is RAM
        for r in mr:
            if self.page_size_mask & (1 << PG_LEVEL_2M) and not r[2] & (1 << PG_LEVEL_2M):
                s = r[0] // self.pmd_size * self.pmd_size
                e = -(-r[1] // self.pmd_size) * self.pmd_size
                if not (self.bits == 32 and (e >> PAGE_SHIFT) > max_low_pfn) and \
                        self._is_region_memory(s, e - s):
                    r[2] |= 1 << PG_LEVEL_2M
            if self.page_size_mask & (1 << PG_LEVEL_1G) and not r[2] & (1 << PG_LEVEL_1G):
                s = r[0] // SZ_1G * SZ_1G
                e = -(-r[1] // SZ_1G) * SZ_1G
                if self._is_region_memory(s, e - s):
                    r[2] |= 1 << PG_LEVEL_1G
        # merge neighbours with the same page size
        merged: list[list[int]] = []
        for r in mr:
            if merged and merged[-1][1] == r[0] and merged[-1][2] == r[2]:
                merged[-1][1] = r[1]
            else:
                merged.append(r)
        return merged

    def _phys_pte_init(self, paddr: int, paddr_end: int) -> None:
        # every page in range counts, new or already present (boot re-walk)
        self.count[PG_LEVEL_4K] += (paddr_end - paddr) >> PAGE_SHIFT

    def _phys_pmd_init(self, paddr: int, paddr_end: int, mask: int) -> None:
        pages = 0
        while paddr < paddr_end:
            j = paddr // SZ_2M
            nxt = (j + 1) * SZ_2M
            if j in self._pmd_table:
                self._phys_pte_init(paddr, min(paddr_end, nxt))
                paddr = nxt
                continue
            if j in self._pmd_leaf:
                if mask & (1 << PG_LEVEL_2M):
                    pages += 1
                    paddr = nxt
                    continue
                self._pmd_leaf.discard(j)      # split: a new PTE table replaces it
            if mask & (1 << PG_LEVEL_2M):
                pages += 1
                self._pmd_leaf.add(j)
            else:
                self._pmd_table.add(j)
                self._phys_pte_init(paddr, min(paddr_end, nxt))
            paddr = nxt
        self.count[PG_LEVEL_2M] += pages

    def _phys_pud_init(self, paddr: int, paddr_end: int, mask: int) -> None:
        pages = 0
        while paddr < paddr_end:
            i = paddr // SZ_1G
            nxt = (i + 1) * SZ_1G
            if i in self._pud_table:
                self._phys_pmd_init(paddr, min(paddr_end, nxt), mask)
                paddr = nxt
                continue
            if i in self._pud_leaf:
                if mask & (1 << PG_LEVEL_1G):
                    pages += 1
                    paddr = nxt
                    continue
                self._pud_leaf.discard(i)
            if mask & (1 << PG_LEVEL_1G):
                pages += 1
                self._pud_leaf.add(i)
            else:
                self._pud_table.add(i)
                self._phys_pmd_init(paddr, min(paddr_end, nxt), mask)
            paddr = nxt
        self.count[PG_LEVEL_1G] += pages

    def kernel_physical_mapping_init(self, start: int, end: int, mask: int) -> None:
        """kernel_physical_mapping_init() (init_64.c or init_32.c), counting pages."""
        if self.bits == 64:
            self._phys_pud_init(start, end, mask)
            return
        # init_32.c: no reuse check; every call counts what it maps (first pass only)
        start_pfn, end_pfn = start >> PAGE_SHIFT, end >> PAGE_SHIFT
        if mask == 1 << PG_LEVEL_2M:
            pmd_pfns = self.pmd_size >> PAGE_SHIFT
            pfn = start_pfn & ~(pmd_pfns - 1)
            self.count[PG_LEVEL_2M] += -(-(end_pfn - pfn) // pmd_pfns)
        else:
            self.count[PG_LEVEL_4K] += end_pfn - start_pfn

    def init_memory_mapping(self, start: int, end: int, max_low_pfn: int) -> None:
        """init_memory_mapping()"""
        for s, e, mask in self.split_mem_range(start, end, max_low_pfn):
            self.kernel_physical_mapping_init(s, e, mask)

    def init_range_memory_mapping(self, r_start: int, r_end: int, max_low_pfn: int) -> int:
        """init_range_memory_mapping(): map the RAM parts of [r_start, r_end)."""
        mapped = 0
        for base, end in self.memory:
            s = min(max((base + PAGE_SIZE - 1) >> PAGE_SHIFT << PAGE_SHIFT, r_start), r_end)
            e = min(max(end >> PAGE_SHIFT << PAGE_SHIFT, r_start), r_end)
            if s >= e:
                continue
            self.init_memory_mapping(s, e, max_low_pfn)
            mapped += e - s
        return mapped

    def memory_map_top_down(self, map_start: int, map_end: int, real_end: int,
                            max_low_pfn: int) -> None:
        """memory_map_top_down(): map from *real_end* down in growing steps, then the rest."""
        step_size = self.pmd_size
        last_start = real_end
        mapped = 0
        while last_start > map_start:
            if last_start > step_size:
                start = max((last_start - 1) // step_size * step_size, map_start)
            else:
                start = map_start
            mapped += self.init_range_memory_mapping(start, last_start, max_low_pfn)
            last_start = start
            if mapped >= step_size:
                # get_new_step_size(): step << (PMD_SHIFT - PAGE_SHIFT - 1)
                step_size <<= (self.pmd_size.bit_length() - 1) - PAGE_SHIFT - 1
        if real_end < map_end:
            self.init_range_memory_mapping(real_end, map_end, max_low_pfn)

    def split_page_count(self, level: int) -> None:
        """split_page_count(): one large page of *level* becomes 512 (1024) smaller ones."""
        if self.count[level] == 0:
            return
        self.count[level] -= 1
        self.count[level - 1] += 1024 if self.bits == 32 else 512    # PTRS_PER_PTE


def _top_down_pmd_block(memory: list[tuple[int, int]], reserved: list[tuple[int, int]],
                        size: int, lo: int, hi: int) -> int | None:
    # memblock_phys_alloc_range(size, size, lo, hi) top-down: the highest size-aligned block
    # inside one memory region, overlapping no reserved range.
    for base, end in reversed(memory):
        top = min(end, hi)
        addr = (top - size) // size * size
        while addr >= max(base, lo):
            if not any(rs < addr + size and addr < re for rs, re in reserved):
                return addr
            addr -= size
    return None


def x86_direct_pages_count(m: Machine) -> list[int]:
    """
    direct_pages_count[] of an x86 machine, indexed by PG_LEVEL_*: the boot mapping of
    init_mem_mapping() (the ISA range, then RAM top-down up to max_pfn on x86-64 or
    max_low_pfn on i386), the boot-time splits (X86_64_BOOT_SPLITS), then the runtime
    splits and collapses that /proc/vmstat counts (direct_map_level{2,3}_{splits,collapses}).
    """
    arch = m.arch
    bits = arch.bits
    assert m.memblock is not None
    memory: list[tuple[int, int]] = []
    for r in m.memblock.memory.regions:
        if memory and memory[-1][1] == r.base:
            memory[-1] = (memory[-1][0], r.end)
        else:
            memory.append((r.base, r.end))
    # SIM: the sample machine's CPU has 1 GiB pages (its DirectMap1G line); a QEMU guest
    # needs -cpu host or pdpe1gb for that.
    dm = X86DirectMap(bits, memory, gbpages=True)
    max_low_pfn = m.max_low_pfn
    end = (m.max_pfn if bits == 64 else m.max_low_pfn) << PAGE_SHIFT
    dm.init_memory_mapping(0, ISA_END_ADDRESS, max_low_pfn)
    # Reserved when init_mem_mapping() runs: the low 1 MiB and the kernel image.
    reserved = [(0, SZ_1M)] if arch.reserve_low_1m else []
    reserved.append((arch.kernel_phys, arch.kernel_phys + arch.image.total_kb * 1024))
    addr = _top_down_pmd_block(memory, reserved, dm.pmd_size, ISA_END_ADDRESS, end)
    real_end = addr + dm.pmd_size if addr is not None else \
        max(ISA_END_ADDRESS, end // dm.pmd_size * dm.pmd_size)
    dm.memory_map_top_down(ISA_END_ADDRESS, end, real_end, max_low_pfn)
    if bits == 64:
        for level, n in X86_64_BOOT_SPLITS:
            for _ in range(n):
                dm.split_page_count(level)
    ev = m.vm_event
    for _ in range(ev[VmEventItem.DIRECT_MAP_LEVEL3_SPLITS]):
        dm.split_page_count(PG_LEVEL_1G)
    for _ in range(ev[VmEventItem.DIRECT_MAP_LEVEL2_SPLITS]):
        dm.split_page_count(PG_LEVEL_2M)
    per = 512 if bits == 64 else 1024
    # collapse_large_pages(): 512 smaller entries become one larger one
    dm.count[PG_LEVEL_4K] -= per * ev[VmEventItem.DIRECT_MAP_LEVEL2_COLLAPSES]
    dm.count[PG_LEVEL_2M] += ev[VmEventItem.DIRECT_MAP_LEVEL2_COLLAPSES]
    dm.count[PG_LEVEL_2M] -= per * ev[VmEventItem.DIRECT_MAP_LEVEL3_COLLAPSES]
    dm.count[PG_LEVEL_1G] += ev[VmEventItem.DIRECT_MAP_LEVEL3_COLLAPSES]
    return dm.count


def arch_report_meminfo(m: Machine) -> str:
    """arch_report_meminfo() (x86): the direct map by page size; nothing elsewhere."""
    if not MEMINFO_ARCH[m.arch.name].direct_map:
        return ""
    count = x86_direct_pages_count(m)
    out = f"DirectMap4k:    {count[PG_LEVEL_4K] << 2:8d} kB\n"
    if m.arch.bits == 64:
        out += f"DirectMap2M:    {count[PG_LEVEL_2M] << 11:8d} kB\n"
        # direct_gbpages (see x86_direct_pages_count)
        out += f"DirectMap1G:    {count[PG_LEVEL_1G] << 20:8d} kB\n"
    else:
        out += f"DirectMap4M:    {count[PG_LEVEL_2M] << 12:8d} kB\n"
    return out


# --------------------------------------------------------------------------------------------
# the meminfo values


def show_val_kb(label: str, pages: int) -> str:
    """show_val_kb(): the 16-character label, pages in KiB right-aligned in 8, `` kB``."""
    return f"{label}{pages << (PAGE_SHIFT - 10):8d} kB\n"


def nr_free_highpages(m: Machine) -> int:
    """nr_free_highpages(): free pages of the highmem zones (ZONE_MOVABLE included there)."""
    return sum(z.vm_stat[ZoneStatItem.NR_FREE_PAGES] for z in m.zones
               if z.populated() and is_highmem(m, z))


def si_mem_available(m: Machine) -> int:
    """
    si_mem_available(): free pages above the reserves, plus the page cache and reclaimable
    kernel memory that can go without thrashing (each less min(half, the low watermarks)).
    """
    wmark_low = sum(z.low_wmark_pages() for z in m.zones)
    available = global_zone_page_state(m, ZoneStatItem.NR_FREE_PAGES) - m.totalreserve_pages
    pagecache = (global_node_page_state(m, NodeStatItem.NR_ACTIVE_FILE)
                 + global_node_page_state(m, NodeStatItem.NR_INACTIVE_FILE))
    pagecache -= min(pagecache // 2, wmark_low)
    available += pagecache
    reclaimable = (global_node_page_state_pages(m, NodeStatItem.NR_SLAB_RECLAIMABLE_B)
                   + global_node_page_state(m, NodeStatItem.NR_KERNEL_MISC_RECLAIMABLE))
    reclaimable -= min(reclaimable // 2, wmark_low)
    available += reclaimable
    return max(available, 0)


def hugetlb_total_pages(m: Machine) -> int:
    """hugetlb_total_pages(): base pages in hugetlb pools (the NR_HUGETLB counter)."""
    # SIM: hstates are not modelled; NR_HUGETLB (6.18) is what hugetlb folios are counted in.
    return global_node_page_state(m, NodeStatItem.NR_HUGETLB)


def total_swap_pages(m: Machine) -> int:
    """total_swap_pages: the usable slots of every active swap device (mm/swapfile.py)."""
    return int(getattr(m, "total_swap_pages", 0))


def vm_commit_limit(m: Machine) -> int:
    """vm_commit_limit(): overcommit_kbytes, or (RAM - hugetlb) * overcommit_ratio%, + swap."""
    kbytes = int(getattr(m.sysctl, "overcommit_kbytes", 0))
    if kbytes:
        allowed = kbytes >> (PAGE_SHIFT - 10)
    else:
        ratio = int(getattr(m.sysctl, "overcommit_ratio", OVERCOMMIT_RATIO_DEFAULT))
        allowed = (m.totalram_pages - hugetlb_total_pages(m)) * ratio // 100
    return allowed + total_swap_pages(m)


def hugetlb_report_meminfo(m: Machine) -> str:
    """hugetlb_report_meminfo(): the default hstate's pool, then the total of all pools."""
    spec = MEMINFO_ARCH[m.arch.name]
    if not spec.hugetlb:
        return ""
    total_pages = hugetlb_total_pages(m)
    per = 1 << (spec.hpage_shift - PAGE_SHIFT)
    # SIM: free/reserved/surplus counts live in the hstate, which is not modelled: 0.
    return (f"HugePages_Total:   {total_pages // per:5d}\n"
            f"HugePages_Free:    {0:5d}\n"
            f"HugePages_Rsvd:    {0:5d}\n"
            f"HugePages_Surp:    {0:5d}\n"
            f"Hugepagesize:   {(1 << spec.hpage_shift) >> 10:8d} kB\n"
            f"Hugetlb:        {(total_pages << PAGE_SHIFT) >> 10:8d} kB\n")


def meminfo_proc_show(m: Machine) -> str:
    """/proc/meminfo."""
    spec = MEMINFO_ARCH[m.arch.name]
    gn = global_node_page_state
    # si_meminfo() / si_swapinfo()
    totalram = m.totalram_pages
    freeram = global_zone_page_state(m, ZoneStatItem.NR_FREE_PAGES)
    sharedram = gn(m, NodeStatItem.NR_SHMEM)
    # SIM: the block-device page cache (nr_blockdev_pages()) is not modelled: 0.
    bufferram = 0
    totalswap = total_swap_pages(m)
    freeswap = int(getattr(m, "nr_swap_pages", 0))
    swapcache = gn(m, NodeStatItem.NR_SWAPCACHE)       # total_swapcache_pages()
    cached = max(gn(m, NodeStatItem.NR_FILE_PAGES) - swapcache - bufferram, 0)
    inactive_anon = gn(m, NodeStatItem.NR_INACTIVE_ANON)
    active_anon = gn(m, NodeStatItem.NR_ACTIVE_ANON)
    inactive_file = gn(m, NodeStatItem.NR_INACTIVE_FILE)
    active_file = gn(m, NodeStatItem.NR_ACTIVE_FILE)
    unevictable = gn(m, NodeStatItem.NR_UNEVICTABLE)
    sreclaimable = global_node_page_state_pages(m, NodeStatItem.NR_SLAB_RECLAIMABLE_B)
    sunreclaim = global_node_page_state_pages(m, NodeStatItem.NR_SLAB_UNRECLAIMABLE_B)
    vmalloc_start, vmalloc_end = vmalloc_range(m)

    out = [
        show_val_kb("MemTotal:       ", totalram),
        show_val_kb("MemFree:        ", freeram),
        show_val_kb("MemAvailable:   ", si_mem_available(m)),
        show_val_kb("Buffers:        ", bufferram),
        show_val_kb("Cached:         ", cached),
        show_val_kb("SwapCached:     ", swapcache),
        show_val_kb("Active:         ", active_anon + active_file),
        show_val_kb("Inactive:       ", inactive_anon + inactive_file),
        show_val_kb("Active(anon):   ", active_anon),
        show_val_kb("Inactive(anon): ", inactive_anon),
        show_val_kb("Active(file):   ", active_file),
        show_val_kb("Inactive(file): ", inactive_file),
        show_val_kb("Unevictable:    ", unevictable),
        show_val_kb("Mlocked:        ", global_zone_page_state(m, ZoneStatItem.NR_MLOCK)),
    ]
    if m.arch.highmem:
        totalhigh = m.totalhigh_pages
        freehigh = nr_free_highpages(m)
        out += [
            show_val_kb("HighTotal:      ", totalhigh),
            show_val_kb("HighFree:       ", freehigh),
            show_val_kb("LowTotal:       ", totalram - totalhigh),
            show_val_kb("LowFree:        ", freeram - freehigh),
        ]
    # SIM: zswap is not modelled: its pool and stored pages are 0.
    out += [
        show_val_kb("SwapTotal:      ", totalswap),
        show_val_kb("SwapFree:       ", freeswap),
        show_val_kb("Zswap:          ", 0),
        f"Zswapped:       {0:8d} kB\n",
        show_val_kb("Dirty:          ", gn(m, NodeStatItem.NR_FILE_DIRTY)),
        show_val_kb("Writeback:      ", gn(m, NodeStatItem.NR_WRITEBACK)),
        show_val_kb("AnonPages:      ", gn(m, NodeStatItem.NR_ANON_MAPPED)),
        show_val_kb("Mapped:         ", gn(m, NodeStatItem.NR_FILE_MAPPED)),
        show_val_kb("Shmem:          ", sharedram),
        show_val_kb("KReclaimable:   ",
                    sreclaimable + gn(m, NodeStatItem.NR_KERNEL_MISC_RECLAIMABLE)),
        show_val_kb("Slab:           ", sreclaimable + sunreclaim),
        show_val_kb("SReclaimable:   ", sreclaimable),
        show_val_kb("SUnreclaim:     ", sunreclaim),
        f"KernelStack:    {gn(m, NodeStatItem.NR_KERNEL_STACK_KB):8d} kB\n",
        show_val_kb("PageTables:     ", gn(m, NodeStatItem.NR_PAGETABLE)),
        show_val_kb("SecPageTables:  ", gn(m, NodeStatItem.NR_SECONDARY_PAGETABLE)),
        show_val_kb("NFS_Unstable:   ", 0),
        # 6.18 has neither NR_BOUNCE nor NR_WRITEBACK_TEMP; both lines stay, as 0.
        show_val_kb("Bounce:         ", 0),
        show_val_kb("WritebackTmp:   ", 0),
        show_val_kb("CommitLimit:    ", vm_commit_limit(m)),
        # SIM: vm_committed_as is not maintained yet (no mmap accounting): 0.
        show_val_kb("Committed_AS:   ", int(getattr(m, "vm_committed_as", 0))),
        f"VmallocTotal:   {(vmalloc_end - vmalloc_start) >> 10:8d} kB\n",
        show_val_kb("VmallocUsed:    ", vmalloc_nr_pages(m)),
        show_val_kb("VmallocChunk:   ", 0),
        show_val_kb("Percpu:         ", pcpu_nr_pages(m)),
    ]
    if spec.thp:
        out += [
            show_val_kb("AnonHugePages:  ", gn(m, NodeStatItem.NR_ANON_THPS)),
            show_val_kb("ShmemHugePages: ", gn(m, NodeStatItem.NR_SHMEM_THPS)),
            show_val_kb("ShmemPmdMapped: ", gn(m, NodeStatItem.NR_SHMEM_PMDMAPPED)),
            show_val_kb("FileHugePages:  ", gn(m, NodeStatItem.NR_FILE_THPS)),
            show_val_kb("FilePmdMapped:  ", gn(m, NodeStatItem.NR_FILE_PMDMAPPED)),
        ]
    out.append(show_val_kb("Balloon:        ", gn(m, NodeStatItem.NR_BALLOON_PAGES)))
    out.append(hugetlb_report_meminfo(m))
    out.append(arch_report_meminfo(m))
    return "".join(out)
