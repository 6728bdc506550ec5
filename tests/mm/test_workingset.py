"""Workingset detection (mm/workingset.py): shadows, refault distance, activation."""

from __future__ import annotations

import os

from memsim.include.gfp import GFP_KERNEL
from memsim.include.page_flags import PageFlags
from memsim.include.vmstat_items import NodeStatItem as N
from memsim.machine import Machine
from memsim.mm.filemap import filemap_read
from memsim.mm.swap import folio_mark_accessed, lru_add_drain
from memsim.mm.vmscan import ReclaimStat, ScanControl, folio_isolate_lru, shrink_folio_list
from memsim.mm.workingset import EVICTION_MASK, EVICTION_SHIFT, pack_shadow, unpack_shadow

PAGE = 4096
PG_ACTIVE = 1 << PageFlags.PG_active
PG_WORKINGSET = 1 << PageFlags.PG_workingset


def read(m: Machine, path: str, pos: int, n: int) -> None:
    f = m.vfs.open(path, os.O_RDONLY)
    r = filemap_read(m, f, pos, n)
    assert not isinstance(r, int)


def evict(m: Machine, pfn: int) -> None:
    """Reclaim one clean, unmapped page-cache page (isolate + shrink_folio_list)."""
    lru_add_drain(m)
    assert folio_isolate_lru(m, pfn)
    nr, kept = shrink_folio_list(m, [pfn], m.nodes[0], ScanControl(gfp_mask=GFP_KERNEL),
                                 ReclaimStat(), ignore_references=True)
    assert nr == 1 and not kept


def test_shadow_packing() -> None:
    assert EVICTION_SHIFT == 28 and EVICTION_MASK == (1 << 36) - 1
    sh = pack_shadow(0, 3, 12345, True)
    assert sh & 1                                  # an xarray value entry
    assert unpack_shadow(sh) == (0, 3, 12345, True)
    assert unpack_shadow(pack_shadow(0, 0, (1 << 36) + 7, False))[2] == 7


def test_refault_inside_the_workingset_distance_activates() -> None:
    m = Machine.boot(arch="x86_64", mem="128M", cpus=1)
    m.vfs.create("/hot", b"h" * 16 * PAGE)
    m.vfs.create("/a", b"a" * 4 * PAGE)
    read(m, "/hot", 0, 16 * PAGE)
    hot = m.vfs.lookup("/hot").i_mapping
    lru_add_drain(m)
    for pfn in hot.i_pages.values():
        folio_mark_accessed(m, pfn)               # second access: activate
    lru_add_drain(m)
    vs = m.nodes[0].vm_stat
    assert vs[N.NR_ACTIVE_FILE] >= 16
    read(m, "/a", 0, 4 * PAGE)
    mapping = m.vfs.lookup("/a").i_mapping
    pfn = mapping.i_pages[1]
    age0 = m.nodes[0].lruvec.nonresident_age
    evict(m, pfn)
    assert 1 in mapping.shadows and 1 not in mapping.i_pages
    assert m.nodes[0].lruvec.nonresident_age == age0 + 1
    assert vs[N.WORKINGSET_NODES] == 1
    refault0, act0 = vs[N.WORKINGSET_REFAULT_FILE], vs[N.WORKINGSET_ACTIVATE_FILE]
    read(m, "/a", PAGE, PAGE)                      # refault: distance 1 <= active file
    new = mapping.i_pages[1]
    assert vs[N.WORKINGSET_REFAULT_FILE] == refault0 + 1
    assert vs[N.WORKINGSET_ACTIVATE_FILE] == act0 + 1
    assert m.mem_map.flags[new] & PG_ACTIVE
    assert 1 not in mapping.shadows and vs[N.WORKINGSET_NODES] == 0
    lru_add_drain(m)
    m.validate()


def test_distant_refault_stays_inactive_and_restore_counts() -> None:
    m = Machine.boot(arch="x86_64", mem="128M", cpus=1)
    m.vfs.create("/a", b"a" * 4 * PAGE)
    read(m, "/a", 0, 4 * PAGE)
    mapping = m.vfs.lookup("/a").i_mapping
    vs = m.nodes[0].vm_stat
    evict(m, mapping.i_pages[2])
    m.nodes[0].lruvec.nonresident_age += vs[N.NR_ACTIVE_FILE] + 10   # much later
    act0 = vs[N.WORKINGSET_ACTIVATE_FILE]
    read(m, "/a", 2 * PAGE, PAGE)
    assert vs[N.WORKINGSET_ACTIVATE_FILE] == act0
    assert not m.mem_map.flags[mapping.i_pages[2]] & PG_ACTIVE
    # a page evicted with PG_workingset that refaults soon is "restored"
    lru_add_drain(m)
    folio_mark_accessed(m, mapping.i_pages[0])     # referenced by the read: now active
    lru_add_drain(m)
    assert vs[N.NR_ACTIVE_FILE] >= 1
    pfn = mapping.i_pages[3]
    m.mem_map.flags[pfn] |= PG_WORKINGSET
    evict(m, pfn)
    rest0 = vs[N.WORKINGSET_RESTORE_FILE]
    read(m, "/a", 3 * PAGE, PAGE)
    new = mapping.i_pages[3]
    assert m.mem_map.flags[new] & PG_ACTIVE
    assert vs[N.WORKINGSET_RESTORE_FILE] == rest0 + 1
    assert m.mem_map.flags[new] & PG_WORKINGSET
    lru_add_drain(m)
    m.validate()
