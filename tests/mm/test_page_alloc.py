"""Tests for mm/page_alloc.py: watermarks, buddy split/merge, fallback, pcp, misuse."""

from __future__ import annotations

import re

import pytest

from conftest import shared_path
from memsim.include.gfp import (
    __GFP_COMP,
    __GFP_HIGHMEM,
    __GFP_NOWARN,
    __GFP_RECLAIMABLE,
    GFP_ATOMIC,
    GFP_DMA,
    GFP_DMA32,
    GFP_HIGHUSER_MOVABLE,
    GFP_KERNEL,
)
from memsim.include.mmzone import MT_MOVABLE, MT_RECLAIMABLE, MT_UNMOVABLE
from memsim.machine import Machine
from memsim.mm import page_alloc
from memsim.mm.debug import validate_all

free_one = getattr(page_alloc, "__free_one_page")
rmqueue_smallest = getattr(page_alloc, "__rmqueue_smallest")


def _sample_zoneinfo() -> dict[str, dict[str, object]]:
    zones: dict[str, dict[str, object]] = {}
    cur: dict[str, object] | None = None
    for line in shared_path("data", "proc-6.18-x86_64", "zoneinfo").read_text().splitlines():
        m = re.match(r"Node 0, zone\s+(\S+)", line)
        if m:
            cur = zones.setdefault(m.group(1), {})
            continue
        m = re.match(r"\s+(?:pages free|min|low|high|promo|spanned|present|managed)\s+(\d+)", line)
        if m and cur is not None:
            key = line.split()[0] if not line.strip().startswith("pages") else "free"
            cur[key] = int(m.group(1))
        m = re.match(r"\s+protection: \((.*)\)", line)
        if m and cur is not None:
            cur["protection"] = tuple(int(x) for x in m.group(1).split(", "))
        m = re.match(r"\s+(high_min|high_max|batch):\s+(\d+)", line)
        if m and cur is not None and m.group(1) not in cur:
            cur[m.group(1)] = int(m.group(2))
    return zones


@pytest.fixture(scope="module")
def sample() -> dict[str, dict[str, object]]:
    return _sample_zoneinfo()


def _machine_with_sample_managed(sample: dict[str, dict[str, object]]) -> Machine:
    m = Machine.boot(mem="24G", cpus=2)
    for z in m.zones:
        if z.name in sample:
            z.managed_pages = int(sample[z.name]["managed"])  # type: ignore[arg-type]
    return m


def test_setup_per_zone_wmarks_matches_sample(sample: dict[str, dict[str, object]]) -> None:
    """min/low/high/promo follow from managed pages and min_free_kbytes (the sample's values)."""
    m = _machine_with_sample_managed(sample)
    m.sysctl.min_free_kbytes = 67584
    page_alloc.setup_per_zone_wmarks(m)
    for z in m.zones:
        s = sample[z.name]
        assert (z.min_wmark_pages(), z.low_wmark_pages(), z.high_wmark_pages(),
                z.promo_wmark_pages()) == (s["min"], s["low"], s["high"], s["promo"]), z.name


def test_setup_per_zone_lowmem_reserve_matches_sample(sample: dict[str, dict[str, object]]) -> None:
    """protection: (…) arrays follow from managed pages and the 256/256/32 ratios."""
    m = _machine_with_sample_managed(sample)
    page_alloc.setup_per_zone_lowmem_reserve(m)
    for z in m.zones:
        assert tuple(z.lowmem_reserve) == sample[z.name]["protection"], z.name


def test_pcp_high_and_batch_match_sample(sample: dict[str, dict[str, object]]) -> None:
    """pcp batch/high_min/high_max of each populated zone equal the sample's pagesets."""
    m = _machine_with_sample_managed(sample)
    m.sysctl.min_free_kbytes = 67584
    page_alloc.setup_per_zone_wmarks(m)
    for z in m.zones:
        if "batch" not in sample[z.name]:
            continue
        pcp = z.per_cpu_pageset[0]
        s = sample[z.name]
        assert (pcp.batch, pcp.high_min, pcp.high_max) == (s["batch"], s["high_min"],
                                                            s["high_max"]), z.name


def test_thp_raises_min_free_kbytes_to_sample_value() -> None:
    """Three populated lowmem zones, 512-page pageblocks: 16896 pages = 67584 kB."""
    m = Machine.boot(mem="24G", cpus=2)
    assert m.sysctl.min_free_kbytes == 67584
    assert m.proc("sys/vm/min_free_kbytes") == "67584\n"
    nothp = Machine.boot(mem="24G", cpus=2, thp="never")
    # Without THP: int_sqrt(lowmem_kbytes * 16), computed at init_per_zone_wmark_min()
    # time, when no watermarks exist yet and the 4 MiB of init sections are not yet freed.
    lowmem = sum(z.managed_pages for z in nothp.zones[:3]) - nothp.arch.image.init_kb // 4
    assert nothp.sysctl.min_free_kbytes == page_alloc.min_free_kbytes_for(lowmem * 4) == 19891


@pytest.mark.parametrize("mb,kb", [(16, 512), (32, 724), (64, 1024), (128, 1448), (256, 2048),
                                   (512, 2896), (1024, 4096), (2048, 5792), (4096, 8192),
                                   (8192, 11585), (16384, 16384)])
def test_min_free_kbytes_table(mb: int, kb: int) -> None:
    """
    The table in the kernel's comment above calculate_min_free_kbytes(). The comment rounds
    8 GB to 11584k; int_sqrt(8388608 * 16) is 11585, which is what the kernel computes.
    """
    assert page_alloc.min_free_kbytes_for(mb * 1024) == kb


def test_min_free_kbytes_clamps() -> None:
    """Lower clamp 128 kB, upper clamp 256 MiB (reached at 4 TiB of lowmem)."""
    assert page_alloc.min_free_kbytes_for(100) == 128
    assert page_alloc.min_free_kbytes_for(4 << 30) == 262144
    assert page_alloc.min_free_kbytes_for(64 << 30) == 262144


@pytest.mark.parametrize("managed,batch", [(3840, 1), (65536, 15), (262144, 63),
                                           (772808, 63), (16384, 3), (32768, 7)])
def test_zone_batchsize(managed: int, batch: int) -> None:
    """batch = rounddown_pow_of_two(b + b/2) - 1 with b = min(managed >> 10, 256) / 4."""
    from memsim.include.mmzone import Zone
    from memsim.include.mmzone_types import ZoneType
    z = Zone(name="Normal", zone_type=ZoneType.ZONE_NORMAL, idx=2, node=0, managed_pages=managed)
    assert max(1, page_alloc.zone_batchsize(z)) == batch


def test_x86_64_zone_layout_matches_sample() -> None:
    """A 24 GiB QEMU-like x86_64 guest has the sample's DMA/DMA32 spans and managed pages."""
    m = Machine.boot(mem="24G", cpus=2)
    dma, dma32, normal = m.zones[0], m.zones[1], m.zones[2]
    assert (dma.zone_start_pfn, dma.spanned_pages, dma.present_pages, dma.managed_pages) == \
        (1, 4095, 3998, 3840)
    assert (dma32.zone_start_pfn, dma32.spanned_pages, dma32.present_pages,
            dma32.managed_pages) == (4096, 1044480, 782336, 772808)
    assert (normal.zone_start_pfn, normal.spanned_pages, normal.present_pages) == \
        (1048576, 5505024, 5505024)
    assert m.nr_memmap_boot_pages == 98304
    assert [z.name for z in m.zones] == ["DMA", "DMA32", "Normal", "Movable", "Device"]
    assert m.proc("buddyinfo").splitlines()[0] == (
        "Node 0, zone      DMA      0      0      0      0      0      0      0      0      1"
        "      1      3 ")
    assert "Memory: " in m.dmesg() and "K available (16384K kernel code" in m.dmesg()


def test_i386_zones_and_highmem() -> None:
    """i386: DMA below 16 MiB, Normal up to the direct-map limit, HighMem above."""
    m = Machine.boot(arch="i386", mem="2G")
    names = [z.name for z in m.zones]
    assert names == ["DMA", "Normal", "HighMem", "Movable"]
    normal, high = m.zones[1], m.zones[2]
    assert normal.zone_start_pfn == 4096
    assert normal.zone_end_pfn == m.max_low_pfn == high.zone_start_pfn
    assert 880 << 8 <= m.max_low_pfn < 896 << 8
    assert high.zone_end_pfn == 2 << 18
    assert m.pageblock_order == 10
    pfn = m.alloc_pages(GFP_HIGHUSER_MOVABLE, 0)
    assert pfn is not None and m.page_zone(pfn) is high
    assert m.page_address(pfn) is None           # highmem has no logical address
    low = m.alloc_pages(GFP_KERNEL, 0)
    assert low is not None and m.page_address(low) == 0xC0000000 + (low << 12)
    assert m.totalhigh_pages == high.managed_pages
    assert ", " in m.dmesg() and "K highmem)" in m.dmesg()


def test_arm_and_arm64_zones() -> None:
    """arm: Normal (760 MiB lowmem) + HighMem; arm64: DMA covers RAM below 4 GiB, DMA32 empty."""
    a = Machine.boot(arch="arm", mem="2G")
    assert [z.name for z in a.zones] == ["Normal", "HighMem", "Movable"]
    assert a.zones[0].spanned_pages == 760 << 8
    assert a.zones[0].zone_start_pfn == 0x80000
    b = Machine.boot(arch="arm64", mem="8G")
    dma, dma32, normal = b.zones[0], b.zones[1], b.zones[2]
    assert (dma.zone_start_pfn, dma.zone_end_pfn) == (0x40000, 0x100000)
    assert dma32.spanned_pages == 0
    assert (normal.zone_start_pfn, normal.zone_end_pfn) == (0x100000, 0x240000)


def test_gfp_zone_fallback_order() -> None:
    """GFP_KERNEL tries Normal first; GFP_DMA32 DMA32; GFP_DMA only DMA."""
    m = Machine.boot(mem="8G")
    assert m.page_zone(m.alloc_pages(GFP_KERNEL, 0)).name == "Normal"  # type: ignore[arg-type]
    assert m.page_zone(m.alloc_pages(GFP_DMA32, 0)).name == "DMA32"  # type: ignore[arg-type]
    assert m.page_zone(m.alloc_pages(GFP_DMA, 0)).name == "DMA"  # type: ignore[arg-type]
    ac = page_alloc.prepare_alloc_pages(m, GFP_KERNEL, 0, 0, None)
    assert [z.name for z in ac.zones] == ["Normal", "DMA32", "DMA"]


def _empty_zone_machine() -> tuple[Machine, object]:
    # A 128 MiB machine whose DMA32 zone is emptied so tests can lay out free lists by hand.
    m = Machine.boot(mem="128M", cpus=1)
    page_alloc.drain_all_pages(m)
    z = m.zones[1]
    for order, fa in enumerate(z.free_area):
        for mt, fl in enumerate(fa.free_list):
            for pfn in list(fl):
                page_alloc.del_page_from_free_list(m, z, pfn, order, mt)
                m.mem_map.refcount[pfn] = 1
    return m, z


def test_textbook_split_128_pages() -> None:
    """
    LKD's example: a request for 128 pages (order 7) is served from free_area[7]; when only
    a 512-page block is free it is split: 256 pages to free_area[8], 128 to free_area[7].

        before: order 9 [0x4000 ............................. 0x41ff]
        after:  taken [0x4000-0x407f]  order7 [0x4080-0x40ff]  order8 [0x4100-0x41ff]
    """
    m, z = _empty_zone_machine()
    base = 0x4000
    free_one(m, base, z, 9, MT_MOVABLE, 0)
    assert [fa.nr_free for fa in z.free_area] == [0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0]
    got = rmqueue_smallest(m, z, 7, MT_MOVABLE)
    assert got == base
    assert [fa.nr_free for fa in z.free_area] == [0, 0, 0, 0, 0, 0, 0, 1, 1, 0, 0]
    assert list(z.free_area[7].free_list[MT_MOVABLE]) == [base + 128]
    assert list(z.free_area[8].free_list[MT_MOVABLE]) == [base + 256]
    # a second order-7 request now comes straight from free_area[7]
    assert rmqueue_smallest(m, z, 7, MT_MOVABLE) == base + 128
    assert z.free_area[7].nr_free == 0 and z.free_area[8].nr_free == 1


def test_free_one_page_merges_buddies() -> None:
    """Freeing both halves merges them: 0x4000(o3) + 0x4008(o3) -> 0x4000(o4)."""
    m, z = _empty_zone_machine()
    free_one(m, 0x4008, z, 3, MT_MOVABLE, 0)
    assert z.free_area[3].nr_free == 1
    free_one(m, 0x4000, z, 3, MT_MOVABLE, 0)
    assert z.free_area[3].nr_free == 0 and list(z.free_area[4].free_list[MT_MOVABLE]) == [0x4000]
    assert page_alloc.buddy_order(m, 0x4000) == 4 and page_alloc.PageBuddy(m, 0x4000)
    assert not page_alloc.PageBuddy(m, 0x4008)


def test_buddy_merge_likely_puts_block_at_tail() -> None:
    """A block whose parent's buddy is free goes to the list tail, else to the head."""
    m, z = _empty_zone_machine()
    free_one(m, 0x4010, z, 4, MT_MOVABLE, 0)   # parent (0x4000,o5)'s buddy is free
    free_one(m, 0x4100, z, 3, MT_MOVABLE, 0)   # 0x4100's buddy 0x4108 not free
    free_one(m, 0x4008, z, 3, MT_MOVABLE, 0)   # parent (0x4000,o4) buddy 0x4010 free -> tail
    fl = z.free_area[3].free_list[MT_MOVABLE]
    head_first = list(reversed(fl))
    assert head_first == [0x4100, 0x4008]


def test_fallback_unmovable_claims_movable_block() -> None:
    """An unmovable request with only movable free pages claims the pageblock (can_steal)."""
    m, z = _empty_zone_machine()
    base = 0x4000   # pageblock-aligned
    free_one(m, base, z, 9, MT_MOVABLE, 0)
    pfn = getattr(page_alloc, "__rmqueue")(m, z, 0, MT_UNMOVABLE, 0, [0])
    assert pfn == base
    assert m.pageblock_mt[base >> 9] == MT_UNMOVABLE
    assert all(not fa.free_list[MT_MOVABLE] for fa in z.free_area)
    assert sum(fa.nr_free for fa in z.free_area) == 9   # the split remainders


def test_fallback_movable_steals_without_claiming() -> None:
    """A small movable request cannot claim an unmovable block: it steals one piece (6.12)."""
    m, z = _empty_zone_machine()
    base = 0x4000
    page_alloc.set_pageblock_migratetype(m, base, MT_UNMOVABLE)
    free_one(m, base, z, 3, MT_UNMOVABLE, 0)
    pfn = getattr(page_alloc, "__rmqueue")(m, z, 0, MT_MOVABLE, 0, [0])
    assert pfn == base
    assert m.pageblock_mt[base >> 9] == MT_UNMOVABLE       # block keeps its type
    assert [fa.nr_free for fa in z.free_area][:3] == [1, 1, 1]
    assert all(fa.free_list[MT_UNMOVABLE] for fa in z.free_area[:3])


def test_fallback_order_table() -> None:
    """The 6.12 fallbacks[] table."""
    assert page_alloc.FALLBACKS[MT_UNMOVABLE] == (MT_RECLAIMABLE, MT_MOVABLE)
    assert page_alloc.FALLBACKS[MT_MOVABLE] == (MT_RECLAIMABLE, MT_UNMOVABLE)
    assert page_alloc.FALLBACKS[MT_RECLAIMABLE] == (MT_UNMOVABLE, MT_MOVABLE)


def test_reclaimable_allocation_converts_pageblock() -> None:
    """
    A GFP_KERNEL|__GFP_RECLAIMABLE allocation on a fresh machine claims the largest movable
    block (__rmqueue_claim scans from MAX_PAGE_ORDER down): an order-10 block, which covers
    two pageblocks, both retyped.
    """
    m = Machine.boot(mem="1G", cpus=1)
    before = m.pageblock_mt.count(MT_RECLAIMABLE)
    pfn = m.alloc_pages(GFP_KERNEL | __GFP_RECLAIMABLE, 0)
    assert pfn is not None
    assert m.pageblock_mt[pfn >> 9] == MT_RECLAIMABLE
    assert m.pageblock_mt.count(MT_RECLAIMABLE) == before + 2
    m.validate()


def test_pcp_refill_and_drain() -> None:
    """An order-0 allocation refills the pcp list with a batch; frees above high drain it."""
    m = Machine.boot(mem="4G", cpus=2)
    m.current_cpu = 1
    pfn = m.alloc_pages(GFP_KERNEL, 0)
    assert pfn is not None
    z = m.page_zone(pfn)
    pcp = z.per_cpu_pageset[1]
    assert pcp.count == pcp.batch - 1       # refilled with one batch, one page handed out
    assert pcp.alloc_factor == 1
    m.free_pages_pfn(pfn, 0)
    assert pcp.count == pcp.batch
    assert list(pcp.lists[MT_UNMOVABLE])[-1] == pfn     # freed to the list head
    m.validate()


def test_alloc_pages_counters() -> None:
    """pgalloc_<zone>, pgfree and numa_hit/numa_local move by the pages allocated/freed."""
    from memsim.include.vmstat_items import NumaStatItem, VmEventItem
    m = Machine.boot(mem="8G", cpus=2)
    normal = m.zones[2]
    a0 = m.vm_event[VmEventItem.PGALLOC_NORMAL]
    f0 = m.vm_event[VmEventItem.PGFREE]
    h0 = normal.vm_numa_event[NumaStatItem.NUMA_HIT]
    p = m.alloc_pages(GFP_KERNEL, 2)
    assert p is not None
    assert m.vm_event[VmEventItem.PGALLOC_NORMAL] == a0 + 4
    assert normal.vm_numa_event[NumaStatItem.NUMA_HIT] == h0 + 1
    m.free_pages_pfn(p, 2)
    assert m.vm_event[VmEventItem.PGFREE] == f0 + 4


def test_watermark_atomic_may_dip_below_min() -> None:
    """
    GFP_KERNEL (no reclaim yet) fails once the zone is at or below its MIN watermark,
    boost included; the failed slow path drains the pcp lists (as after a failed direct
    reclaim). GFP_ATOMIC then goes on down to min - min/2 - (min - min/2)/4
    (ALLOC_MIN_RESERVE and ALLOC_NON_BLOCK), and for such order-0 requests the boost is
    ignored (zone_watermark_fast). A pcp refill may overshoot by at most one batch.

    In this run the unmovable DMA requests steal from movable pageblocks, which boosts the
    watermarks by a pageblock in the middle of the GFP_KERNEL loop.
    """
    m = Machine.boot(mem="1G", cpus=1)
    dma = m.zones[0]
    while m.alloc_pages(GFP_DMA | GFP_KERNEL | __GFP_NOWARN, 0) is not None:
        pass
    assert dma.watermark_boost == m.pageblock_nr_pages
    assert dma.vm_stat[0] <= dma.min_wmark_pages()
    assert m.nr_pcp_pages(dma) == 0
    n_atomic = 0
    while m.alloc_pages(GFP_DMA | GFP_ATOMIC | __GFP_NOWARN, 0) is not None:
        n_atomic += 1
    assert n_atomic > 0
    mn = dma._watermark[0]            # unboosted MIN
    reduced = mn - mn // 2
    reduced -= reduced // 4
    max_refill = dma.per_cpu_pageset[0].batch << page_alloc.PCP_BATCH_SCALE_MAX
    assert reduced - max_refill < dma.vm_stat[0] <= reduced
    m.validate()


def test_allocation_failure_report() -> None:
    """A failed allocation prints the kernel's page allocation failure line and Mem-Info."""
    m = Machine.boot(mem="1G", cpus=1)
    while m.alloc_pages(GFP_DMA | GFP_ATOMIC | __GFP_NOWARN, 0) is not None:
        pass
    assert m.alloc_pages(GFP_DMA | GFP_ATOMIC, 3) is None
    log = m.dmesg()
    assert "memsim: page allocation failure: order:3, mode:0x821(GFP_ATOMIC|GFP_DMA), " \
           "nodemask=(null),cpuset=/,mems_allowed=0" in log
    assert "Mem-Info:" in log and "lowmem_reserve[]:" in log


@pytest.mark.kernel_report
def test_double_free_is_reported_and_state_kept() -> None:
    """Freeing a free page: VM_BUG_ON_PAGE(page_ref_count(page) == 0); lists stay intact."""
    m = Machine.boot(mem="1G", cpus=1)
    p = m.alloc_pages(GFP_KERNEL, 0)
    assert p is not None
    m.free_pages_pfn(p, 0)
    m.free_pages_pfn(p, 0)
    log = m.dmesg()
    assert "page dumped because: VM_BUG_ON_PAGE(page_ref_count(page) == 0)" in log
    assert "kernel BUG at include/linux/mm.h:1140!" in log
    validate_all(m)


@pytest.mark.kernel_report
def test_free_with_wrong_order_is_a_bad_page() -> None:
    """
    Freeing an order-2 block as order 3 covers its free buddy: the debug check of
    free_pages_prepare() finds the buddy page (page_type set) and reports it; the block is
    leaked rather than freed, so the free lists stay consistent.
    """
    m = Machine.boot(mem="1G", cpus=1)
    p = m.alloc_pages(GFP_KERNEL, 2)
    assert p is not None and p % 8 == 0
    page_alloc.drain_all_pages(m)       # the neighbour block goes back to the buddy lists
    q = p + 4
    assert page_alloc.PageBuddy(m, q)
    m.free_pages_pfn(p, 3)
    log = m.dmesg()
    assert f"BUG: Bad page state in process memsim  pfn:{q:05x}" in log
    assert "page dumped because: nonzero mapcount" in log
    assert "page_type: f0(buddy)" in log
    assert "B" in m.debug.tainted()
    validate_all(m)


@pytest.mark.kernel_report
def test_free_out_of_range_pfn_oopses() -> None:
    """A struct page pointer beyond the memmap faults: the oops text, no state change."""
    m = Machine.boot(mem="1G", cpus=1)
    m.free_pages_pfn(10 ** 9, 0)
    assert "BUG: unable to handle page fault for address:" in m.dmesg()
    validate_all(m)


@pytest.mark.kernel_report
def test_free_pages_bad_address() -> None:
    """free_pages(0) is a no-op; a non-direct-map address trips VM_BUG_ON(!virt_addr_valid)."""
    m = Machine.boot(mem="1G", cpus=1)
    m.free_pages(0, 0)
    assert "BUG" not in m.dmesg()
    m.free_pages(0x1234, 0)
    log = m.dmesg()
    assert "kernel BUG at mm/page_alloc.c:4955!" in log
    assert "page dumped because" not in log     # VM_BUG_ON, not VM_BUG_ON_PAGE
    validate_all(m)


def test_get_free_pages_clears_highmem_on_6_12() -> None:
    """6.12 silently strips __GFP_HIGHMEM in __get_free_pages: a lowmem address, no report."""
    m = Machine.boot(arch="i386", mem="2G")
    addr = m.get_free_pages(GFP_KERNEL | __GFP_HIGHMEM, 0)
    assert addr is not None and 0xC0000000 <= addr < 0xC0000000 + (m.max_low_pfn << 12)
    assert "BUG" not in m.dmesg()
    m.free_pages(addr, 0)
    validate_all(m)


def test_get_zeroed_page_and_dma_pages() -> None:
    """get_zeroed_page returns a direct-map address; __get_dma_pages comes from ZONE_DMA."""
    m = Machine.boot(mem="2G", cpus=1)
    a = m.get_zeroed_page(GFP_KERNEL)
    assert a is not None and m.virt_addr_valid(a)
    d = m.get_dma_pages(GFP_KERNEL, 1)
    assert d is not None and m.page_zone(m.virt_to_pfn(d)).name == "DMA"
    m.free_page(a)
    m.free_pages(d, 1)
    validate_all(m)


def test_compound_pages() -> None:
    """__GFP_COMP: PG_head on the head, compound_head on tails; freed with the right order."""
    m = Machine.boot(mem="1G", cpus=1)
    p = m.alloc_pages(GFP_KERNEL | __GFP_COMP, 3)
    assert p is not None
    mm = m.mem_map
    assert mm.compound_order[p] == 3
    assert all(mm.compound_head1[p + i] == p + 1 for i in range(1, 8))
    m.put_page(p + 5)    # put_page on a tail frees the whole compound page
    assert all(mm.compound_head1[p + i] == 0 for i in range(1, 8))
    validate_all(m)


def test_alloc_pages_bulk() -> None:
    """alloc_pages_bulk hands out distinct pages and counts them."""
    m = Machine.boot(mem="2G", cpus=1)
    pages = m.alloc_pages_bulk(GFP_KERNEL, 100)
    assert len(pages) == 100 == len(set(pages))
    for p in pages:
        m.free_pages_pfn(p, 0)
    validate_all(m)


@pytest.mark.kernel_report
def test_order_above_max_fails_with_warning() -> None:
    """order > MAX_PAGE_ORDER: WARN_ON_ONCE unless __GFP_NOWARN, and NULL."""
    m = Machine.boot(mem="1G", cpus=1)
    assert m.alloc_pages(GFP_KERNEL, 11) is None
    assert "WARNING: CPU: 0 PID: 1 at mm/page_alloc.c" in m.dmesg()


def test_numa_zonelists() -> None:
    """Two nodes: each node's fallback list has its own zones first, then the other node's."""
    m = Machine.boot(mem="8G", cpus=2, nodes=2)
    z0 = [(z.node, z.name) for z in m.nodes[0].node_zonelists[0]]
    z1 = [(z.node, z.name) for z in m.nodes[1].node_zonelists[0]]
    assert z0[0][0] == 0 and z0[-1][0] == 1
    assert z1[0][0] == 1 and z1[-1][0] == 0
    assert "Fallback order for Node 0: 0 1 " in m.dmesg()
    m.current_cpu = 1
    p = m.alloc_pages(GFP_KERNEL, 0)
    assert p is not None and m.page_zone(p).node == 1
    q = m.alloc_pages_node(0, GFP_KERNEL, 0)
    assert q is not None and m.page_zone(q).node == 0
    m.validate()


def test_movablecore_creates_zone_movable() -> None:
    """movablecore=1G carves ZONE_MOVABLE from the top; only GFP_HIGHUSER_MOVABLE reaches it."""
    m = Machine.boot(mem="4G", settings={"movablecore": "1G"})
    mov = next(z for z in m.zones if z.name == "Movable")
    assert mov.present_pages == 1 << 18
    p = m.alloc_pages(GFP_HIGHUSER_MOVABLE, 0)
    assert p is not None and m.page_zone(p) is mov
    k = m.alloc_pages(GFP_KERNEL, 0)
    assert k is not None and m.page_zone(k) is not mov
    m.validate()


def test_sysctl_min_free_kbytes_write_recomputes() -> None:
    """Writing vm.min_free_kbytes recomputes the watermarks."""
    m = Machine.boot(mem="4G", cpus=2)
    m.sysctl_write("vm.min_free_kbytes", 8192)
    lowmem = sum(z.managed_pages for z in m.zones if z.name in ("DMA", "DMA32", "Normal"))
    z = m.zones[1]
    assert z.min_wmark_pages() == 2048 * z.managed_pages // lowmem
    assert m.proc("sys/vm/min_free_kbytes") == "8192\n"


def test_pcp_refill_by_whole_blocks_equals_page_by_page() -> None:
    """rmqueue_bulk() taking whole buddy blocks leaves exactly the page-by-page state."""
    import random

    from memsim.include.gfp import GFP_HIGHUSER_MOVABLE

    def run(blocks: bool) -> tuple[object, ...]:
        m = Machine.boot(mem="1G", cpus=2, seed=1)
        seen: list[int] = []
        if not blocks:      # a probe on the per-page tracepoint turns the block path off
            m.tp.mm_page_alloc_zone_locked.attach(lambda *a, **k: seen.append(1))
        rng = random.Random(5)
        live: list[int] = []
        for _ in range(30_000):
            if live and rng.random() < 0.3:
                m.free_page_pfn(live.pop(rng.randrange(len(live))))
            else:
                pfn = m.alloc_pages(GFP_HIGHUSER_MOVABLE, 0)
                assert pfn is not None
                live.append(pfn)
        m.validate()
        state = []
        for z in m.zones:
            state.append([list(fl) for fa in z.free_area for fl in fa.free_list])
            state.append([[list(lst) for lst in pcp.lists] for pcp in z.per_cpu_pageset])
            state.append(list(z.vm_stat))
        return (live, state, list(m.vm_event))

    assert run(True) == run(False)


def test_fast_path_falls_back_to_the_next_zone_like_the_full_path() -> None:
    """Once ZONE_NORMAL is below its low watermark, the order-0 fast path serves from
    ZONE_DMA32 exactly as get_page_from_freelist() would (same pages, same counters)."""
    from memsim.include.gfp import GFP_HIGHUSER_MOVABLE

    def run(fast: bool) -> tuple[object, ...]:
        m = Machine.boot(mem="4G", cpus=2, seed=2)
        if not fast:        # a probe on mm_page_alloc turns the inlined fast path off
            m.tp.mm_page_alloc.attach(lambda *a, **k: None)
        normal = next(z for z in m.zones if z.name == "Normal")
        pages = [m.alloc_pages(GFP_HIGHUSER_MOVABLE, 0) for _ in range(
            normal.managed_pages + 20_000)]
        assert all(p is not None for p in pages)
        assert normal.flags & 4 and pages[-1] < normal.zone_start_pfn  # ZONE_BELOW_HIGH, DMA32
        state = [(list(z.vm_stat), list(z.vm_numa_event), z.flags) for z in m.zones]
        return (pages[-25_000:], state, list(m.vm_event))

    assert run(True) == run(False)
