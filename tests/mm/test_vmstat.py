"""/proc/{buddyinfo,pagetypeinfo,zoneinfo,vmstat} and debugfs extfrag (mm/vmstat.py) against
the real 6.18 x86-64 samples (reference §13.1-13.3, 13.5, 13.6) and the model's state."""

from __future__ import annotations

import re
from collections.abc import Callable

import pytest

from conftest import shared_path
from memsim.include.mmzone import MIGRATETYPE_NAMES, FreeArea
from memsim.include.vmstat_items import NodeStatItem, NumaStatItem, ZoneStatItem
from memsim.machine import Machine
from memsim.mm import vmstat
from memsim.mm.vmstat import (
    __fragmentation_index,
    contig_page_info_from_counts,
    domain_dirty_limits,
    extfrag_show_line,
    fill_contig_page_info,
    format_index,
    frag_show_line,
    fragmentation_index,
    pagetypeinfo_blockcount_header,
    pagetypeinfo_blockcount_line,
    pagetypeinfo_free_header,
    pagetypeinfo_free_line,
    unusable_free_index,
    unusable_show_line,
)

SAMPLES = shared_path("data", "proc-6.18-x86_64")


def _sample(name: str) -> str:
    return (SAMPLES / name).read_text()


@pytest.fixture(scope="module")
def m2node() -> Machine:
    return Machine.boot(arch="x86_64", mem="8G", cpus=4, nodes=2)


# --------------------------------------------------------------------------------------------
# line shapes


def right_aligned_shape(line: str) -> str:
    """Columns of right-aligned numbers: each run of padding + digits becomes its width."""
    return re.sub(r" *\d+", lambda mo: f"%{len(mo.group())}d", line)


def left_aligned_shape(line: str) -> str:
    """``label value`` lines: each number becomes N, every space kept."""
    return re.sub(r"\d+", "N", line)


def _shapes(text: str, shape: Callable[[str], str]) -> list[str]:
    assert text.endswith("\n")
    return [shape(line) for line in text.split("\n")]


@pytest.mark.parametrize("name, shape", [
    ("buddyinfo", right_aligned_shape),
    ("pagetypeinfo", right_aligned_shape),
    ("zoneinfo", left_aligned_shape),
    ("vmstat", left_aligned_shape),
])
def test_format_shapes_equal_the_6_18_sample(m24: Machine, name: str,
                                             shape: Callable[[str], str]) -> None:
    """A 24 GiB 2-CPU x86-64 machine prints the same lines, padding and trailing spaces as
    the real 6.18 machine, line for line (numbers aside)."""
    ours = _shapes(m24.proc(name), shape)
    theirs = _shapes(_sample(name), shape)
    assert len(ours) == len(theirs)
    for i, (a, b) in enumerate(zip(ours, theirs, strict=True)):
        assert a == b, f"{name} line {i + 1}"


def _zoneinfo_blocks(text: str) -> list[tuple[str, list[str]]]:
    blocks: list[tuple[str, list[str]]] = []
    for line in text.splitlines():
        if line.startswith("Node "):
            blocks.append((line, []))
        else:
            key = line.strip().split(":")[0]
            key = re.sub(r"\s+\d+$", "", key)
            blocks[-1][1].append(key)
    return blocks


def test_zoneinfo_blocks_have_the_sample_keys_in_order(m24: Machine) -> None:
    """Every zone block (all 5 x86-64 zones, empty Movable/Device included) has the sample's
    key sequence: per-node stats only in DMA, pagesets with high_min/high_max per CPU."""
    ours = _zoneinfo_blocks(m24.proc("zoneinfo"))
    theirs = _zoneinfo_blocks(_sample("zoneinfo"))
    assert [b[0] for b in ours] == [b[0] for b in theirs] == [
        "Node 0, zone      DMA", "Node 0, zone    DMA32", "Node 0, zone   Normal",
        "Node 0, zone  Movable", "Node 0, zone   Device"]
    assert ours == theirs
    assert theirs[3][1][-1] == "protection"


def test_vmstat_keys_equal_the_sample(m24: Machine) -> None:
    """/proc/vmstat has the sample's 192 keys in the sample's order."""
    ours = [line.split(" ")[0] for line in m24.proc("vmstat").splitlines()]
    theirs = [line.split(" ")[0] for line in _sample("vmstat").splitlines()]
    assert ours == theirs
    assert len(ours) == 192 and ours[-1] == "nr_unstable"


# --------------------------------------------------------------------------------------------
# byte-exact re-rendering of the sample's numbers


def test_buddyinfo_rerenders_the_sample_from_its_counts(m24: Machine) -> None:
    """frag_show_line() fed each sample line's counts reproduces the line byte for byte."""
    for line in _sample("buddyinfo").splitlines(keepends=True):
        mo = re.match(r"Node (\d+), zone +(\S+) (.*)\n", line)
        assert mo
        counts = [int(x) for x in mo.group(3).split()]
        assert frag_show_line(int(mo.group(1)), mo.group(2), counts) == line


def test_buddyinfo_of_a_state_with_the_sample_counts_is_the_sample() -> None:
    """A machine whose nr_free counts are the sample's prints the sample file exactly."""
    m = Machine.boot(arch="x86_64", mem="24G", cpus=2)
    for line in _sample("buddyinfo").splitlines():
        name = line.split()[3]
        zone = next(z for z in m.nodes[0].node_zones if z.name == name)
        for fa, n in zip(zone.free_area, line.split()[4:], strict=True):
            fa.nr_free = int(n)
    assert vmstat.frag_show(m) == _sample("buddyinfo")


def test_pagetypeinfo_lines_rerender_the_sample() -> None:
    """Headers, free-count rows and block-count rows of the sample, rebuilt from its numbers
    with the per-line formatters, are byte-identical."""
    text = _sample("pagetypeinfo")
    lines = text.splitlines(keepends=True)
    assert lines[3] == pagetypeinfo_free_header()
    rebuilt = lines[:4]
    i = 4
    while lines[i].startswith("Node"):
        mo = re.match(r"Node +(\d+), zone +(\S+), type +(\S+) (.*)\n", lines[i])
        assert mo
        counts = [int(x) for x in mo.group(4).split()]
        rebuilt.append(pagetypeinfo_free_line(int(mo.group(1)), mo.group(2), mo.group(3),
                                              counts))
        i += 1
    header = pagetypeinfo_blockcount_header()
    assert "".join(lines[i:i + 2]) == header
    rebuilt.append(header)
    for line in lines[i + 2:]:
        parts = line.split()
        rebuilt.append(pagetypeinfo_blockcount_line(int(parts[1].rstrip(",")), parts[3],
                                                    [int(x) for x in parts[4:]]))
    assert "".join(rebuilt) == text


def test_zoneinfo_dma_block_of_a_state_equal_to_the_sample_is_the_sample() -> None:
    """Give the DMA zone (and node 0) the sample's numbers; its zoneinfo block is then the
    sample's DMA block byte for byte, per-node stats included."""
    sample = _sample("zoneinfo")
    block = sample[:sample.index("Node 0, zone    DMA32")]
    values = {}
    for line in block.splitlines()[2:]:
        mo = re.match(r"\s+([a-z_]+(?: [a-z_]+)?)\s+(\d+)$", line)
        if mo and mo.group(1) not in values:
            values[mo.group(1)] = int(mo.group(2))
    m = Machine.boot(arch="x86_64", mem="24G", cpus=2)
    pg = m.nodes[0]
    dma = pg.node_zones[0]
    for item in NodeStatItem:
        pg.vm_stat[item] = values[item.name.lower()]
    for zitem in ZoneStatItem:
        dma.vm_stat[zitem] = values[zitem.name.lower()]
    for nitem in NumaStatItem:
        dma.vm_numa_event[nitem] = values[nitem.name.lower()]
    dma.watermark_boost = values["boost"]
    dma._watermark = [values["min"], values["low"], values["high"], values["promo"]]
    dma.spanned_pages, dma.present_pages = values["spanned"], values["present"]
    dma.managed_pages, dma.cma_pages = values["managed"], values["cma"]
    dma.lowmem_reserve = [0, 3018, 4042, 4042, 4042]
    for pcp in dma.per_cpu_pageset:
        pcp.count, pcp.high, pcp.batch, pcp.high_min, pcp.high_max = 0, 0, 1, 38, 240
    for st in dma.per_cpu_zonestats:
        st.stat_threshold = 4
    pg.kswapd_failures = 0
    assert vmstat.zoneinfo_show_print(m, pg, dma) == block


def test_vmstat_dirty_thresholds_use_per_page_ratios() -> None:
    """The sample's nr_dirty_threshold/nr_dirty_background_threshold (1200082/599308) come
    from 819/4096 and 409/4096 of the dirtyable memory, not from plain 20% and 10%."""
    candidates = [a for a in range(5_990_000, 6_010_000)
                  if domain_dirty_limits(a) == (599308, 1200082)]
    assert candidates == [6001876, 6001877, 6001878, 6001879, 6001880]
    assert not [a for a in range(5_990_000, 6_010_000)
                if (a * 10 // 100, a * 20 // 100) == (599308, 1200082)]


# --------------------------------------------------------------------------------------------
# the model's values


def test_buddyinfo_counts_are_nr_free_and_sum_to_nr_free_pages(m24: Machine) -> None:
    """Each buddyinfo column is free_area[order].nr_free; the blocks add up to
    nr_free_pages() (MemFree: pcp pages not included)."""
    total = 0
    lines = m24.proc("buddyinfo").splitlines()
    zones = [z for z in m24.zones if z.populated()]
    assert len(lines) == len(zones) == 3
    for line, z in zip(lines, zones, strict=True):
        counts = [int(x) for x in line.split()[4:]]
        assert counts == [fa.nr_free for fa in z.free_area]
        total += sum(n << o for o, n in enumerate(counts))
    assert total == m24.nr_free_pages()


def test_pagetypeinfo_counts_are_list_lengths_and_blocks_skip_absent_sections(
        m24: Machine) -> None:
    """Free counts are the free-list lengths; block counts step through each zone's span
    from zone_start_pfn and skip PFNs of absent sections (the 3-4 GiB PCI hole), exactly as
    the sample's 8 DMA and 1528 DMA32 pageblocks."""
    text = m24.proc("pagetypeinfo")
    for z in (z for z in m24.zones if z.populated()):
        for mt, mt_name in enumerate(MIGRATETYPE_NAMES):
            row = next(line for line in text.splitlines()
                       if re.match(rf"Node +0, zone +{z.name}, type +{mt_name} ", line))
            assert [int(x) for x in row.split()[6:]] == [
                len(fa.free_list[mt]) for fa in z.free_area]
    blocks = {line.split()[3]: [int(x) for x in line.split()[4:]]
              for line in text.split("Number of blocks type")[1].splitlines()[1:]}
    assert sum(blocks["DMA"]) == 8
    assert sum(blocks["DMA32"]) == 1528
    assert sum(blocks["Normal"]) == 5505024 // 512


def test_pagetypeinfo_block_counts_follow_pageblock_migratetypes() -> None:
    """Retyping pageblocks moves them between the block-count columns."""
    m = Machine.boot(arch="x86_64", mem="1G", cpus=1)
    dma32 = next(z for z in m.zones if z.name == "DMA32")
    before = vmstat.pageblock_counts(m, dma32)
    assert before[1] == sum(before) - before[0]      # boot's slab pages took Unmovable blocks
    first = next(b for b in range(dma32.zone_start_pfn >> m.pageblock_order, len(m.pageblock_mt))
                 if m.pageblock_mt[b] == 1 and m.pageblock_mt[b + 1] == 1)
    m.pageblock_mt[first] = 0          # Unmovable
    m.pageblock_mt[first + 1] = 2      # Reclaimable
    after = vmstat.pageblock_counts(m, dma32)
    assert after == [before[0] + 1, before[1] - 2, before[2] + 1, 0, 0]


def test_pagetypeinfo_free_count_is_capped_at_100000() -> None:
    """A list walk that reaches 100000 entries stops and prints ">100000"."""
    line = pagetypeinfo_free_line(0, "Normal", "Movable", [99999, 100000, 250000] + [0] * 8)
    assert line.startswith("Node    0, zone   Normal, type      Movable  99999 >100000 "
                           ">100000      0 ")


def _zoneinfo_values(text: str) -> dict[str, dict[str, list[str]]]:
    out: dict[str, dict[str, list[str]]] = {}
    cur: dict[str, list[str]] = {}
    for line in text.splitlines():
        if line.startswith("Node "):
            cur = out.setdefault(line, {})
            continue
        if line.strip().startswith("protection:"):
            cur["protection"] = [line.split(": ", 1)[1]]
            continue
        mo = re.match(r"\s+(.*?):?\s+(\d+)$", line)
        if mo:
            cur.setdefault(mo.group(1), []).append(mo.group(2))
    return out


def test_zoneinfo_prints_the_model_values(m24: Machine) -> None:
    """Watermarks (with boost), spans, protection, pagesets and stat thresholds printed are
    the zone's fields; empty zones stop at protection."""
    blocks = _zoneinfo_values(m24.proc("zoneinfo"))
    for z in m24.zones:
        b = blocks[f"Node {z.node}, zone {z.name:>8}"]
        assert b["pages free"] == [str(z.vm_stat[ZoneStatItem.NR_FREE_PAGES])]
        assert b["min"] == [str(z.min_wmark_pages())]
        assert b["low"] == [str(z.low_wmark_pages())]
        assert b["high"][0] == str(z.high_wmark_pages())
        assert b["promo"] == [str(z.promo_wmark_pages())]
        assert b["spanned"] == [str(z.spanned_pages)]
        assert b["present"] == [str(z.present_pages)]
        assert b["managed"] == [str(z.managed_pages)]
        assert b["protection"] == ["(" + ", ".join(map(str, z.lowmem_reserve)) + ")"]
        if not z.populated():
            assert "pagesets" not in b and "count" not in b
            continue
        assert b["cpu"] == ["0", "1"]
        assert b["count"] == [str(p.count) for p in z.per_cpu_pageset]
        assert b["high"][1:] == [str(p.high) for p in z.per_cpu_pageset]
        assert b["high_min"] == [str(p.high_min) for p in z.per_cpu_pageset]
        assert b["high_max"] == [str(p.high_max) for p in z.per_cpu_pageset]
        assert b["batch"] == [str(p.batch) for p in z.per_cpu_pageset]
        assert b["vm stats threshold"] == [str(s.stat_threshold)
                                           for s in z.per_cpu_zonestats]
        assert b["start_pfn"] == [str(z.zone_start_pfn)]
        assert b["node_unreclaimable"] == ["0"]


def test_zoneinfo_pageset_high_lines_are_the_pcp_high() -> None:
    """The pageset ``high:`` line is pcp->high (not the zone's high watermark)."""
    m = Machine.boot(arch="x86_64", mem="4G", cpus=2)
    z = next(z for z in m.zones if z.name == "DMA32")
    z.per_cpu_pageset[1].high = 777
    block = vmstat.zoneinfo_show_print(m, m.nodes[0], z)
    assert "\n    cpu: 1\n              count:    0\n              high:     777\n" in block


def test_zoneinfo_node_unreclaimable_after_16_kswapd_failures() -> None:
    """node_unreclaimable is 1 once kswapd_failures reaches MAX_RECLAIM_RETRIES (16)."""
    m = Machine.boot(arch="x86_64", mem="1G", cpus=1)
    m.nodes[0].kswapd_failures = 15
    assert "node_unreclaimable:  1" not in m.proc("zoneinfo")
    m.nodes[0].kswapd_failures = 16
    assert m.proc("zoneinfo").count("node_unreclaimable:  1") == 2     # DMA, DMA32


def test_vmstat_prints_thp_counters_in_huge_pages_and_pgpgin_in_kib() -> None:
    """Node THP counters are stored in base pages and printed divided by HPAGE_PMD_NR;
    pgpgin/pgpgout are stored in sectors and printed in KiB."""
    m = Machine.boot(arch="x86_64", mem="1G", cpus=1)
    m.nodes[0].vm_stat[NodeStatItem.NR_ANON_THPS] = 3 * 512
    m.vm_event[0] = 10   # PGPGIN, sectors
    values = dict(vmstat.vmstat_values(m))
    assert values["nr_anon_transparent_hugepages"] == 3
    assert values["pgpgin"] == 5
    assert "nr_anon_transparent_hugepages 3\n" in vmstat.zoneinfo_show(m)


def test_vmstat_dirty_thresholds_and_memmap(m24: Machine) -> None:
    """nr_dirty_threshold is 819/4096 and the background 409/4096 of free pages minus
    totalreserve_pages plus the file LRU, plus one; nr_memmap_boot_pages is the boot memmap."""
    values = dict(vmstat.vmstat_values(m24))
    free = m24.nr_free_pages()
    avail = free - min(free, m24.totalreserve_pages) + 1
    assert values["nr_dirty_threshold"] == 819 * avail // 4096
    assert values["nr_dirty_background_threshold"] == 409 * avail // 4096
    assert values["nr_memmap_pages"] == 0
    assert values["nr_memmap_boot_pages"] == m24.nr_memmap_boot_pages == 98304
    assert values["nr_free_pages"] == free


def test_slab_counters_are_added_in_bytes_and_stored_in_pages() -> None:
    """mod_node_page_state() converts the slab items' byte deltas to pages."""
    m = Machine.boot(arch="x86_64", mem="1G", cpus=1)
    vmstat.mod_node_page_state(m.nodes[0], NodeStatItem.NR_SLAB_RECLAIMABLE_B, 3 * 4096)
    vmstat.mod_node_page_state(m.nodes[0], NodeStatItem.NR_SHMEM, 5)
    assert vmstat.global_node_page_state_pages(m, NodeStatItem.NR_SLAB_RECLAIMABLE_B) == 3
    assert dict(vmstat.vmstat_values(m))["nr_slab_reclaimable"] == 3
    assert vmstat.global_node_page_state(m, NodeStatItem.NR_SHMEM) == 5


# --------------------------------------------------------------------------------------------
# fragmentation indices


def _zone_with_counts(counts: list[int]) -> Machine:
    m = Machine.boot(arch="x86_64", mem="1G", cpus=1)
    z = m.zones[1]
    z.free_area = [FreeArea(nr_free=n) for n in counts]
    return m


def test_fill_contig_page_info_counts_suitable_pieces() -> None:
    """Blocks bigger than the requested order count once per suitable piece."""
    counts = [3, 0, 2, 0, 1] + [0] * 6      # 3 x 1 + 2 x 4 + 1 x 16 = 27 pages in 6 blocks
    m = _zone_with_counts(counts)
    assert fill_contig_page_info(m.zones[1], 2) == (27, 6, 2 + 4)
    assert fill_contig_page_info(m.zones[1], 5) == (27, 6, 0)
    assert contig_page_info_from_counts(counts, 0) == (27, 6, 27)


def test_unusable_and_fragmentation_index_arithmetic() -> None:
    """unusable = unusable pages * 1000 // free; fragmentation = 1000 - (1000 + free * 1000
    // requested) // blocks when no suitable block exists, else -1000."""
    counts = [3, 0, 2, 0, 1] + [0] * 6
    info5 = contig_page_info_from_counts(counts, 5)
    assert unusable_free_index(5, info5) == 1000
    # 27 * 1000 // 32 = 843; (1000 + 843) // 6 = 307
    assert __fragmentation_index(5, info5) == 1000 - 307 == 693
    info3 = contig_page_info_from_counts(counts, 3)
    assert unusable_free_index(3, info3) == (27 - 16) * 1000 // 27 == 407
    assert __fragmentation_index(3, info3) == -1000
    assert unusable_free_index(0, contig_page_info_from_counts([0] * 11, 0)) == 1000
    assert __fragmentation_index(0, contig_page_info_from_counts([0] * 11, 0)) == 0
    m = _zone_with_counts(counts)
    assert fragmentation_index(m.zones[1], 5) == 693
    assert vmstat.extfrag_for_order(m.zones[1], 3) == (27 - 16) * 100 // 27


def test_index_lines_render_like_the_kernel() -> None:
    """unusable_index uses "%d.%03d ", extfrag_index "%2d.%03d "; -1000 prints -1.000."""
    counts = [3, 0, 2, 0, 1] + [0] * 6
    assert format_index(-1000, 2) == "-1.000 "
    assert format_index(692, 2) == " 0.692 "
    assert format_index(1000) == "1.000 "
    assert unusable_show_line(0, "Normal", counts) == (
        "Node 0, zone   Normal 0.000 0.111 0.111 0.407 0.407 1.000 1.000 1.000 1.000 1.000 "
        "1.000 \n")
    assert extfrag_show_line(0, "Normal", counts) == (
        "Node 0, zone   Normal -1.000 -1.000 -1.000 -1.000 -1.000  0.693  0.764  0.799  "
        "0.816  0.825  0.829 \n")


def test_debugfs_index_files_cover_populated_zones(m24: Machine) -> None:
    """One line per populated zone; a freshly booted machine has every order satisfiable."""
    extfrag = m24.proc("/sys/kernel/debug/extfrag/extfrag_index").splitlines()
    unusable = m24.proc("extfrag/unusable_index").splitlines()
    assert [line.split()[3] for line in extfrag] == ["DMA", "DMA32", "Normal"]
    assert extfrag[2] == "Node 0, zone   Normal " + "-1.000 " * 11
    assert unusable[1].split()[4] == "0.000"


# --------------------------------------------------------------------------------------------
# other machines


def test_i386_zoneinfo_and_vmstat_zones(m386: Machine) -> None:
    """i386: zones DMA, Normal, HighMem, Movable; per-zone events for dma, normal, high,
    movable only."""
    heads = [line for line in m386.proc("zoneinfo").splitlines() if line.startswith("Node")]
    assert heads == ["Node 0, zone      DMA", "Node 0, zone   Normal", "Node 0, zone  HighMem",
                     "Node 0, zone  Movable"]
    keys = [line.split(" ")[0] for line in m386.proc("vmstat").splitlines()]
    assert [k for k in keys if k.startswith("pgalloc_")] == [
        "pgalloc_dma", "pgalloc_normal", "pgalloc_high", "pgalloc_movable"]
    assert "pgalloc_dma32" not in keys and "pgalloc_device" not in keys
    assert "protection: (0, " in m386.proc("zoneinfo")
    assert m386.proc("pagetypeinfo").startswith("Page block order: 10\nPages per block:  1024\n")


def test_i386_dirty_limits_exclude_highmem(m386: Machine) -> None:
    """With vm_highmem_is_dirtyable 0, free highmem above its high watermark is not
    dirtyable."""
    free = m386.nr_free_pages()
    high = next(z for z in m386.zones if z.name == "HighMem")
    x = free - min(free, m386.totalreserve_pages)
    hfree = high.vm_stat[ZoneStatItem.NR_FREE_PAGES]
    x -= min(hfree - min(hfree, high.high_wmark_pages()), x)
    assert vmstat.global_dirtyable_memory(m386) == x + 1


def test_two_nodes_print_node_1_with_its_own_per_node_stats(m2node: Machine) -> None:
    """Node 1's first populated zone (Normal) carries node 1's per-node stats; its empty DMA
    and DMA32 still print up to protection."""
    m2node.nodes[1].vm_stat[NodeStatItem.NR_SHMEM] = 4242
    text = m2node.proc("zoneinfo")
    heads = [line for line in text.splitlines() if line.startswith("Node")]
    assert heads[5:] == ["Node 1, zone      DMA", "Node 1, zone    DMA32",
                         "Node 1, zone   Normal", "Node 1, zone  Movable",
                         "Node 1, zone   Device"]
    node1 = text[text.index("Node 1, zone   Normal"):text.index("Node 1, zone  Movable")]
    assert node1.startswith("Node 1, zone   Normal\n  per-node stats\n")
    assert "      nr_shmem     4242\n" in node1
    assert text.count("per-node stats") == 2
    dma1 = text[text.index("Node 1, zone      DMA"):text.index("Node 1, zone    DMA32")]
    assert dma1.rstrip("\n").endswith(")") and "pages free     0" in dma1
    buddy = m2node.proc("buddyinfo").splitlines()
    assert [line[:21] for line in buddy] == ["Node 0, zone      DMA", "Node 0, zone    DMA32",
                                             "Node 0, zone   Normal", "Node 1, zone   Normal"]
    assert m2node.proc("pagetypeinfo").count("Page block order: 9\n") == 2
    values = dict(vmstat.vmstat_values(m2node))
    assert values["nr_shmem"] == 4242
