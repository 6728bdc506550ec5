"""vmstat item enums against the real 6.18 x86-64 /proc/vmstat sample (reference §13.5)."""

from __future__ import annotations

from conftest import shared_path
from memsim.include.mmzone_types import ZoneType
from memsim.include.vmstat_items import (
    NR_VM_EVENT_ITEMS,
    NR_VM_NODE_STAT_ITEMS,
    NR_VM_NUMA_EVENT_ITEMS,
    NR_VM_ZONE_STAT_ITEMS,
    PER_ZONE_EVENT_BASES,
    VM_DEPRECATED_ITEMS,
    VM_GLOBAL_ITEMS,
    NodeStatItem,
    NumaStatItem,
    VmEventItem,
    ZoneStatItem,
    event_zone_type,
    vmstat_event_lines,
    zone_event,
)

VMSTAT = shared_path("data", "proc-6.18-x86_64", "vmstat")
X86_64_ZONES = {
    ZoneType.ZONE_DMA,
    ZoneType.ZONE_DMA32,
    ZoneType.ZONE_NORMAL,
    ZoneType.ZONE_MOVABLE,
    ZoneType.ZONE_DEVICE,
}
I386_ZONES = {
    ZoneType.ZONE_DMA,
    ZoneType.ZONE_NORMAL,
    ZoneType.ZONE_HIGHMEM,
    ZoneType.ZONE_MOVABLE,
}


def _sample() -> list[tuple[str, int]]:
    rows = []
    for line in VMSTAT.read_text().splitlines():
        key, value = line.split(" ")
        rows.append((key, int(value)))
    return rows


def _names(enum: type[ZoneStatItem] | type[NumaStatItem] | type[NodeStatItem]) -> list[str]:
    return [item.name.lower() for item in enum]


def test_sample_key_sequence_is_the_concatenation_of_the_enums() -> None:
    """zone + numa + node + globals + x86-64 events + nr_unstable == the sample's keys."""
    keys = [key for key, _ in _sample()]
    events = [
        line.split(" ")[0] for line in vmstat_event_lines([0] * NR_VM_EVENT_ITEMS, X86_64_ZONES)
    ]
    expected = (
        _names(ZoneStatItem)
        + _names(NumaStatItem)
        + _names(NodeStatItem)
        + list(VM_GLOBAL_ITEMS)
        + events
        + ["nr_unstable"]
    )
    assert keys == expected
    assert list(VM_DEPRECATED_ITEMS) == ["nr_unstable"]


def test_section_boundaries_and_sizes() -> None:
    """Zone items run nr_free_pages..nr_free_cma, node items nr_inactive_anon..nr_kernel_file_pages."""
    assert NR_VM_ZONE_STAT_ITEMS == 11
    assert NR_VM_NUMA_EVENT_ITEMS == 6
    assert NR_VM_NODE_STAT_ITEMS == 51
    assert NR_VM_EVENT_ITEMS == 122
    assert list(ZoneStatItem)[0] == ZoneStatItem.NR_FREE_PAGES
    assert int(ZoneStatItem.NR_FREE_PAGES_BLOCKS) == 1
    assert list(ZoneStatItem)[-1] == ZoneStatItem.NR_FREE_CMA
    assert list(NumaStatItem) == [
        NumaStatItem.NUMA_HIT,
        NumaStatItem.NUMA_MISS,
        NumaStatItem.NUMA_FOREIGN,
        NumaStatItem.NUMA_INTERLEAVE,
        NumaStatItem.NUMA_LOCAL,
        NumaStatItem.NUMA_OTHER,
    ]
    assert list(NodeStatItem)[0] == NodeStatItem.NR_INACTIVE_ANON
    assert list(NodeStatItem)[-1] == NodeStatItem.NR_KERNEL_FILE_PAGES
    assert list(VmEventItem)[0] == VmEventItem.PGPGIN
    assert list(VmEventItem)[-1] == VmEventItem.DIRECT_MAP_LEVEL3_COLLAPSES
    assert VM_GLOBAL_ITEMS == (
        "nr_dirty_threshold",
        "nr_dirty_background_threshold",
        "nr_memmap_pages",
        "nr_memmap_boot_pages",
    )


def test_items_only_in_6_18_are_present_and_removed_ones_absent() -> None:
    """The 6.18 sample's extra items exist; nr_bounce and nr_writeback_temp do not."""
    for name in ("NR_FREE_PAGES_BLOCKS",):
        assert name in ZoneStatItem.__members__
    for name in (
        "PGPROMOTE_CANDIDATE_NRL",
        "PGDEMOTE_PROACTIVE",
        "NR_HUGETLB",
        "NR_BALLOON_PAGES",
        "NR_KERNEL_FILE_PAGES",
    ):
        assert name in NodeStatItem.__members__
    for name in ("PGSTEAL_PROACTIVE", "PGSCAN_PROACTIVE", "DIRECT_MAP_LEVEL2_COLLAPSES"):
        assert name in VmEventItem.__members__
    assert "NR_BOUNCE" not in ZoneStatItem.__members__
    assert "NR_WRITEBACK_TEMP" not in NodeStatItem.__members__


def test_kernel_spellings_are_aliases() -> None:
    """Kernel enum names resolve to the same member but are not iterated."""
    assert VmEventItem["COMPACTSTALL"] is VmEventItem.COMPACT_STALL
    assert VmEventItem["PGSCAN_ZONE_RECLAIM_FAILED"] is VmEventItem.ZONE_RECLAIM_FAILED
    assert VmEventItem["NUMA_PAGE_MIGRATE"] is VmEventItem.NUMA_PAGES_MIGRATED
    assert VmEventItem["DIRECT_MAP_LEVEL2_SPLIT"] is VmEventItem.DIRECT_MAP_LEVEL2_SPLITS
    assert NodeStatItem["NR_ANON_MAPPED"] is NodeStatItem.NR_ANON_PAGES
    assert NodeStatItem["NR_FILE_MAPPED"] is NodeStatItem.NR_MAPPED
    assert NodeStatItem["NR_SLAB_RECLAIMABLE_B"] is NodeStatItem.NR_SLAB_RECLAIMABLE
    assert NodeStatItem["NR_KERNEL_STACK_KB"] is NodeStatItem.NR_KERNEL_STACK
    assert NodeStatItem["NR_LRU_BASE"] is NodeStatItem.NR_INACTIVE_ANON
    assert NumaStatItem["NUMA_INTERLEAVE_HIT"] is NumaStatItem.NUMA_INTERLEAVE
    assert ZoneStatItem["NR_ZONE_LRU_BASE"] is ZoneStatItem.NR_ZONE_INACTIVE_ANON
    assert "compactstall" not in [item.name.lower() for item in VmEventItem]


def test_per_zone_families_follow_zone_type_order() -> None:
    """family_DMA + zone type gives that zone's member, for all three families."""
    assert VmEventItem.PGALLOC_DMA + ZoneType.ZONE_NORMAL == VmEventItem.PGALLOC_NORMAL
    assert zone_event(VmEventItem.PGALLOC_DMA, ZoneType.ZONE_HIGHMEM) == VmEventItem.PGALLOC_HIGH
    assert zone_event(VmEventItem.ALLOCSTALL_DMA, 4) == VmEventItem.ALLOCSTALL_MOVABLE
    assert zone_event(VmEventItem.PGSKIP_DMA, ZoneType.ZONE_DEVICE) == VmEventItem.PGSKIP_DEVICE
    for base in PER_ZONE_EVENT_BASES:
        for zone in ZoneType:
            assert event_zone_type(zone_event(base, zone)) == zone
    assert event_zone_type(VmEventItem.PGFREE) is None
    assert event_zone_type(VmEventItem.PSWPOUT) is None


def test_zone_event_rejects_non_family_base() -> None:
    """Only the DMA member of a family is a valid base."""
    try:
        zone_event(VmEventItem.PGALLOC_NORMAL, ZoneType.ZONE_DMA)
    except ValueError:
        pass
    else:
        raise AssertionError("expected ValueError")


def test_event_lines_reproduce_sample_values() -> None:
    """Feeding the sample's values back gives exactly the sample's event lines."""
    sample = dict(_sample())
    events = [0] * NR_VM_EVENT_ITEMS
    for item in VmEventItem:
        events[item] = sample.get(item.name.lower(), 0)
    lines = vmstat_event_lines(events, X86_64_ZONES)
    raw = VMSTAT.read_text().splitlines()
    start = raw.index("pgpgin 382977")
    assert lines == raw[start : start + len(lines)]
    assert raw[start + len(lines)] == "nr_unstable 0"
    assert "pgalloc_normal 1025672" in lines


def test_event_lines_for_i386_zone_set() -> None:
    """i386 prints dma/normal/high/movable per-zone lines, no dma32 or device."""
    events = list(range(NR_VM_EVENT_ITEMS))
    lines = vmstat_event_lines(events, I386_ZONES)
    names = [line.split(" ")[0] for line in lines]
    assert names[4:16] == [
        "pgalloc_dma",
        "pgalloc_normal",
        "pgalloc_high",
        "pgalloc_movable",
        "allocstall_dma",
        "allocstall_normal",
        "allocstall_high",
        "allocstall_movable",
        "pgskip_dma",
        "pgskip_normal",
        "pgskip_high",
        "pgskip_movable",
    ]
    assert "pgalloc_high 7" in lines
    assert names[16] == "pgfree"
    assert len(lines) == NR_VM_EVENT_ITEMS - 6
    assert not any(name.endswith(("_dma32", "_device")) for name in names)


def test_event_lines_require_all_values() -> None:
    """A too-short event array is rejected."""
    try:
        vmstat_event_lines([0] * 10, X86_64_ZONES)
    except ValueError:
        pass
    else:
        raise AssertionError("expected ValueError")
