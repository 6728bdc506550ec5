"""/proc/meminfo (fs/proc/meminfo.py) against the real 6.18 x86-64 sample (reference §13.4)
and the model's counters."""

from __future__ import annotations

import re

from conftest import shared_path
from memsim.fs.proc import meminfo
from memsim.fs.proc.meminfo import (
    PG_LEVEL_1G,
    PG_LEVEL_2M,
    PG_LEVEL_4K,
    X86DirectMap,
    show_val_kb,
    si_mem_available,
    vmalloc_range,
)
from memsim.include.vmstat_items import NodeStatItem, VmEventItem, ZoneStatItem
from memsim.machine import Machine

SAMPLE = shared_path("data", "proc-6.18-x86_64", "meminfo")


def _kb(text: str) -> dict[str, int]:
    return {line.split(":")[0]: int(line.split()[1]) for line in text.splitlines()}


def _shape(line: str) -> str:
    # the label, then the width of padding + number (right-aligned at a fixed column)
    return re.sub(r" *\d+", lambda mo: f"%{len(mo.group())}d", line)


def test_lines_labels_and_columns_equal_the_6_18_sample(m24: Machine) -> None:
    """Same labels in the same order, values right-aligned in the same columns, same units."""
    ours = [_shape(line) for line in m24.proc("meminfo").splitlines()]
    theirs = [_shape(line) for line in SAMPLE.read_text().splitlines()]
    assert ours == theirs
    assert len(ours) == 54


def test_show_val_kb_rerenders_sample_lines() -> None:
    """show_val_kb() with the sample's values (in pages) gives its lines byte for byte."""
    lines = SAMPLE.read_text().splitlines(keepends=True)
    assert show_val_kb("MemTotal:       ", 24683656 // 4) == lines[0]
    assert show_val_kb("Buffers:        ", 6664 // 4) == lines[3]
    assert show_val_kb("SwapTotal:      ", 0) == lines[14]


def test_x86_64_constants_and_direct_map_equal_the_sample(m24: Machine) -> None:
    """VmallocTotal (32 TiB - 1 byte of 4-level vmalloc space) and the DirectMap lines of the
    sample machine's memory map are the sample's values."""
    ours = _kb(m24.proc("meminfo"))
    theirs = _kb(SAMPLE.read_text())
    for key in ("VmallocTotal", "DirectMap4k", "DirectMap2M", "DirectMap1G", "Hugepagesize",
                "NFS_Unstable", "VmallocChunk", "Bounce", "WritebackTmp"):
        assert ours[key] == theirs[key], key


def test_init_mem_mapping_counts_of_the_sample_memory_map() -> None:
    """init_mem_mapping() on e820 RAM [4K, 0x9fc00), [1M, 3G), [4G, 25G): the ISA MiB and
    [1M, 2M) in 4k pages, [2M, 1G) in 2M pages, the rest in 1G pages; the top-down walk
    counts the last GiB twice more ([25G-2M, 25G) and [24.5G, 25G-2M) re-walk it)."""
    g = 1 << 30
    dm = X86DirectMap(64, [(0x1000, 0x9FC00), (1 << 20, 3 * g), (4 * g, 25 * g)], True)
    dm.init_memory_mapping(0, 1 << 20, 25 * g >> 12)
    assert dm.count[PG_LEVEL_4K] == 256
    dm.memory_map_top_down(1 << 20, 25 * g, 25 * g, 25 * g >> 12)
    assert dm.count[PG_LEVEL_4K] == 512
    assert dm.count[PG_LEVEL_2M] == 511
    assert dm.count[PG_LEVEL_1G] == 2 + 21 + 2
    dm.split_page_count(PG_LEVEL_1G)
    assert dm.count[PG_LEVEL_1G:PG_LEVEL_1G + 1] == [24]
    assert dm.count[PG_LEVEL_2M] == 511 + 512


def test_split_mem_range_uses_the_biggest_aligned_pages() -> None:
    """4k up to the first 2M edge, 2M up to the first 1G edge, 1G, then 2M and 4k tails;
    where the surrounding 2M/1G is RAM too, adjust_range_page_size_mask() promotes the
    small pieces and equal neighbours merge."""
    g, m2 = 1 << 30, 1 << 21
    start, end = 0x123000, 3 * g + 5 * m2 + 0x3000
    exact = X86DirectMap(64, [(start, end)], True)
    assert exact.split_mem_range(start, end, end >> 12) == [
        [0x123000, m2, 0],
        [m2, g, 1 << PG_LEVEL_2M],
        [g, 3 * g, (1 << PG_LEVEL_2M) | (1 << PG_LEVEL_1G)],
        [3 * g, 3 * g + 5 * m2, 1 << PG_LEVEL_2M],
        [3 * g + 5 * m2, end, 0],
    ]
    inside = X86DirectMap(64, [(0, 8 * g)], True)
    assert inside.split_mem_range(start, end, end >> 12) == [
        [start, end, (1 << PG_LEVEL_2M) | (1 << PG_LEVEL_1G)]]


def test_runtime_direct_map_splits_move_pages_down_a_level() -> None:
    """A counted 2M split (direct_map_level2_splits) turns one 2M page into 512 4k pages."""
    m = Machine.boot(arch="x86_64", mem="24G", cpus=2)
    before = _kb(m.proc("meminfo"))
    m.vm_event[VmEventItem.DIRECT_MAP_LEVEL2_SPLITS] = 2
    m.vm_event[VmEventItem.DIRECT_MAP_LEVEL3_SPLITS] = 1
    after = _kb(m.proc("meminfo"))
    assert after["DirectMap1G"] == before["DirectMap1G"] - (1 << 20)
    assert after["DirectMap2M"] == before["DirectMap2M"] + (512 - 2) * 2048
    assert after["DirectMap4k"] == before["DirectMap4k"] + 2 * 512 * 4


def test_values_come_from_the_model(m24: Machine) -> None:
    """MemTotal is totalram_pages, MemFree NR_FREE_PAGES, Percpu the first chunk, CommitLimit
    half of RAM (overcommit_ratio 50, no swap, no hugetlb)."""
    v = _kb(m24.proc("meminfo"))
    assert v["MemTotal"] == m24.totalram_pages * 4
    assert v["MemFree"] == m24.nr_free_pages() * 4
    assert v["Percpu"] == m24.percpu_first_chunk_bytes >> 10 == 1024
    assert v["CommitLimit"] == m24.totalram_pages * 50 // 100 * 4
    assert v["MemAvailable"] == si_mem_available(m24) * 4
    assert "HighTotal" not in v and "DirectMap4M" not in v


def test_mem_available_formula() -> None:
    """si_mem_available() = free - totalreserve + pagecache - min(pagecache/2, Σlow)
    + reclaimable - min(reclaimable/2, Σlow), the low watermarks of every zone (empty
    Movable's included)."""
    m = Machine.boot(arch="x86_64", mem="4G", cpus=2)
    pg = m.nodes[0]
    pg.vm_stat[NodeStatItem.NR_ACTIVE_FILE] = 100_000
    pg.vm_stat[NodeStatItem.NR_INACTIVE_FILE] = 50_000
    pg.vm_stat[NodeStatItem.NR_SLAB_RECLAIMABLE_B] = 3_000
    pg.vm_stat[NodeStatItem.NR_KERNEL_MISC_RECLAIMABLE] = 1_000
    low = sum(z.low_wmark_pages() for z in m.zones)
    assert low > 2_000 and 32 in [z.low_wmark_pages() for z in m.zones if not z.populated()]
    expected = (m.nr_free_pages() - m.totalreserve_pages
                + 150_000 - min(75_000, low) + 4_000 - min(2_000, low))
    assert si_mem_available(m) == expected
    v = _kb(m.proc("meminfo"))
    assert v["MemAvailable"] == expected * 4
    assert v["Active(file)"] == 400_000 and v["Inactive"] == 200_000
    assert v["SReclaimable"] == 12_000 and v["KReclaimable"] == 16_000
    # kmem_cache (4 pages) + kmem_cache_node (1) + kmalloc-96 (1: the IRQ stacks' vm_structs)
    assert v["SUnreclaim"] == 24 and v["Slab"] == 12_000 + 24


def test_counters_feed_their_lines() -> None:
    """Each counter-backed line reads its node/zone counter (pages to kB; KernelStack kB)."""
    m = Machine.boot(arch="x86_64", mem="2G", cpus=1)
    pg = m.nodes[0]
    pg.vm_stat[NodeStatItem.NR_FILE_PAGES] = 1000
    pg.vm_stat[NodeStatItem.NR_SWAPCACHE] = 10
    pg.vm_stat[NodeStatItem.NR_KERNEL_STACK_KB] = 1496
    pg.vm_stat[NodeStatItem.NR_ANON_THPS] = 1024
    pg.vm_stat[NodeStatItem.NR_FILE_DIRTY] = 7
    pg.vm_stat[NodeStatItem.NR_BALLOON_PAGES] = 3
    pg.vm_stat[NodeStatItem.NR_HUGETLB] = 2048
    m.zones[1].vm_stat[ZoneStatItem.NR_MLOCK] = 5
    v = _kb(m.proc("meminfo"))
    assert v["Cached"] == 990 * 4 and v["SwapCached"] == 40
    assert v["KernelStack"] == 1496
    assert v["AnonHugePages"] == 4096
    assert v["Dirty"] == 28 and v["Mlocked"] == 20 and v["Balloon"] == 12
    assert v["HugePages_Total"] == 4 and v["Hugetlb"] == 8192
    assert v["CommitLimit"] == (m.totalram_pages - 2048) * 50 // 100 * 4


def test_i386_has_highmem_lines_and_4m_direct_map(m386: Machine) -> None:
    """i386: HighTotal/HighFree/LowTotal/LowFree between Mlocked and SwapTotal; the direct
    map covers lowmem only, in 4k and 4M pages; huge pages are 4 MiB."""
    text = m386.proc("meminfo")
    labels = [line.split(":")[0] for line in text.splitlines()]
    i = labels.index("Mlocked")
    assert labels[i + 1:i + 6] == ["HighTotal", "HighFree", "LowTotal", "LowFree", "SwapTotal"]
    assert labels[-2:] == ["DirectMap4k", "DirectMap4M"]
    v = _kb(text)
    assert v["HighTotal"] == m386.totalhigh_pages * 4
    high_free = sum(z.vm_stat[ZoneStatItem.NR_FREE_PAGES] for z in m386.zones
                    if z.name == "HighMem")
    assert v["HighFree"] == high_free * 4
    assert v["LowTotal"] == (m386.totalram_pages - m386.totalhigh_pages) * 4
    assert v["LowFree"] == (m386.nr_free_pages() - high_free) * 4
    assert v["Hugepagesize"] == 4096
    # [0, 4M) and the lowmem tail above the last 4M edge in 4k pages, the rest in 4M pages
    lowmem_kb = m386.max_low_pfn * 4
    assert v["DirectMap4k"] + v["DirectMap4M"] == lowmem_kb
    assert v["DirectMap4k"] == 4096 + (lowmem_kb % 4096)
    # VMALLOC_END - (high_memory + 8 MiB): 128 MiB reserve less the 8 MiB gap
    assert v["VmallocTotal"] == 120 * 1024


def test_arm_and_arm64_have_no_direct_map_lines() -> None:
    """arm64 VmallocTotal is [MODULES_END, VMEMMAP_START - 8M) of the 48-bit layout; 32-bit
    ARM without LPAE prints no THP or hugetlb lines."""
    a64 = Machine.boot(arch="arm64", mem="2G", cpus=1)
    v = _kb(a64.proc("meminfo"))
    assert v["VmallocTotal"] == 135288315904
    assert not [k for k in v if k.startswith("DirectMap")]
    arm = Machine.boot(arch="arm", mem="1G", cpus=1)
    text = arm.proc("meminfo")
    assert "HighTotal:" in text and "AnonHugePages" not in text and "HugePages_" not in text
    assert text.splitlines()[-1].startswith("Balloon:")
    start, end = vmalloc_range(arm)
    assert end == 0xFF800000 and start % (8 << 20) == 0
    assert meminfo.meminfo_proc_show(arm) == text
