"""Classic reclaim (mm/vmscan.py): kswapd, direct reclaim, scan balance, shrinkers."""

from __future__ import annotations

import os

import pytest

from memsim.include.gfp import GFP_HIGHUSER_MOVABLE, GFP_KERNEL
from memsim.include.mman import MAP_ANONYMOUS, MAP_PRIVATE, PROT_READ, PROT_WRITE
from memsim.include.page_flags import PageFlags
from memsim.include.vmstat_items import NodeStatItem as N
from memsim.include.vmstat_items import VmEventItem as E
from memsim.machine import Machine
from memsim.mm.filemap import filemap_read, folio_mark_dirty
from memsim.mm.page_alloc import zone_watermark_ok
from memsim.mm.shrinker import demo_cache_shrinker, do_shrink_slab, unregister_shrinker
from memsim.mm.swap import lru_add_drain
from memsim.mm.vmscan import (
    DEF_PRIORITY,
    SCAN_ANON,
    SCAN_EQUAL,
    SCAN_FILE,
    SCAN_FRACT,
    ReclaimStat,
    ScanControl,
    folio_isolate_lru,
    inactive_is_low,
    pgdat_balanced,
    scan_balance_decision,
    shrink_folio_list,
    try_to_free_pages,
)

PAGE = 4096
RW = PROT_READ | PROT_WRITE
ANON = MAP_PRIVATE | MAP_ANONYMOUS


def read_whole(m: Machine, path: str, size: int) -> None:
    f = m.vfs.open(path, os.O_RDONLY)
    pos = 0
    while pos < size:
        r = filemap_read(m, f, pos, 1 << 20)
        assert not isinstance(r, int)
        pos = r[1]


@pytest.fixture()
def cached() -> Machine:
    """128 MiB, one CPU, no watermark boosting, 64 MiB of clean page cache."""
    m = Machine.boot(arch="x86_64", mem="128M", cpus=1)
    m.sysctl_write("watermark_boost_factor", 0)
    m.vfs.create("/big", b"d" * (64 << 20), sync=True)
    read_whole(m, "/big", 64 << 20)
    return m


def test_kswapd_wakes_below_low_and_stops_at_high(cached: Machine) -> None:
    m = cached
    ev = m.vm_event
    zones = [z for z in m.zones if z.managed_pages]
    p = m.spawn("a")
    a = p.mmap(0, 64 << 20, RW, ANON)
    n = 0
    while ev[E.PAGEOUTRUN] == 0:
        # before the allocation that wakes kswapd: every zone still met its low mark
        # until now; the wake-up comes from the slow path (no zone passes low)
        ok = [zone_watermark_ok(z, 0, z.low_wmark_pages(), 3, 0) for z in zones]
        p.touch(a + n * PAGE, PAGE, write=True, val=1)
        n += 1
    assert ok == [False, False]
    assert n == 4324
    # balance_pgdat ran once at DEF_PRIORITY and left a zone above its high watermark
    assert pgdat_balanced(m, m.nodes[0], 0, 3)
    assert [z.vm_stat[0] for z in zones] == [289, 2215]
    assert (ev[E.PGSCAN_KSWAPD], ev[E.PGSTEAL_KSWAPD], ev[E.PGSCAN_FILE],
            ev[E.PGSTEAL_FILE]) == (1958, 1958, 1958, 1958)
    assert (ev[E.PGSCAN_DIRECT], ev[E.PGREFILL], ev[E.ALLOCSTALL_MOVABLE]) == (0, 0, 0)
    assert m.nodes[0].kswapd_failures == 0
    assert m.nodes[0].vm_stat[N.NR_INACTIVE_FILE] == 14431
    m.validate()


def test_direct_reclaim_frees_clean_file_pages(cached: Machine) -> None:
    m = cached
    ev = m.vm_event
    free0 = m.nr_free_pages() + m.nr_pcp_pages()
    got = try_to_free_pages(m, list(m.nodes[0].node_zonelists[0]), 0, GFP_HIGHUSER_MOVABLE)
    assert got >= 32
    assert ev[E.ALLOCSTALL_MOVABLE] == 1
    assert ev[E.PGSTEAL_DIRECT] == got and ev[E.PGSCAN_DIRECT] >= got
    assert m.nr_free_pages() + m.nr_pcp_pages() == free0 + got
    # the oldest page cache pages went, leaving shadow entries behind
    mapping = m.vfs.lookup("/big").i_mapping
    assert 0 not in mapping.i_pages and 0 in mapping.shadows
    m.validate()


def test_direct_reclaim_does_not_write_dirty_file_pages(cached: Machine) -> None:
    m = cached
    mapping = m.vfs.lookup("/big").i_mapping
    pfn = mapping.i_pages[5]
    folio_mark_dirty(m, pfn)
    lru_add_drain(m)
    assert folio_isolate_lru(m, pfn)
    sc = ScanControl(gfp_mask=GFP_KERNEL)
    stat = ReclaimStat()
    nr, kept = shrink_folio_list(m, [pfn], m.nodes[0], sc, stat, ignore_references=True)
    assert nr == 0 and kept == [pfn]
    flags = m.mem_map.flags[pfn]
    assert flags & (1 << PageFlags.PG_reclaim) and flags & (1 << PageFlags.PG_active)
    assert m.nodes[0].vm_stat[N.NR_VMSCAN_IMMEDIATE] == 1
    assert stat.nr_dirty == 1 and stat.nr_unqueued_dirty == 1


def test_swappiness_extremes_and_scan_balance() -> None:
    m = Machine.boot(arch="x86_64", mem="128M", cpus=1)
    sc = ScanControl(priority=DEF_PRIORITY, anon_cost=10, file_cost=10)
    # no swap: file only
    assert scan_balance_decision(m, sc, 60, False)[0] == SCAN_FILE
    # swappiness 0: anon gets no share; 200: file gets none; 100: equal weight
    bal, (ap, fp) = scan_balance_decision(m, sc, 0, True)
    assert bal == SCAN_FRACT and ap == 0 and fp > 0
    bal, (ap, fp) = scan_balance_decision(m, sc, 200, True)
    assert bal == SCAN_FRACT and fp == 0 and ap > 0
    ap, fp = scan_balance_decision(m, sc, 100, True)[1]
    assert ap == fp == 100 * 61 // 31
    # cost balancing: costly anon refaults shift pressure to file
    sc2 = ScanControl(priority=DEF_PRIORITY, anon_cost=300, file_cost=100)
    ap, fp = scan_balance_decision(m, sc2, 100, True)[1]
    assert fp > ap
    sc.priority = 0
    assert scan_balance_decision(m, sc, 60, True)[0] == SCAN_EQUAL
    sc.priority = DEF_PRIORITY
    sc.file_is_tiny = True
    assert scan_balance_decision(m, sc, 60, True)[0] == SCAN_ANON
    sc.file_is_tiny = False
    sc.cache_trim_mode = True
    assert scan_balance_decision(m, sc, 200, True)[0] == SCAN_FILE
    sc.may_swap = False           # GFP_NOIO-like reclaim, or kswapd reclaiming a boost
    sc.cache_trim_mode = False
    assert scan_balance_decision(m, sc, 200, True)[0] == SCAN_FILE


def test_inactive_is_low_ratio() -> None:
    m = Machine.boot(arch="x86_64", mem="128M", cpus=1)
    lv = m.nodes[0].lruvec
    lv.nr[:] = [100, 150, 0, 0, 0]
    assert inactive_is_low(m, lv, 0)              # < 1 GB: ratio 1
    lv.nr[:] = [100_000, 250_000, 0, 0, 0]        # 1.33 GB: ratio int_sqrt(10) = 3
    assert not inactive_is_low(m, lv, 0)
    lv.nr[:] = [80_000, 250_000, 0, 0, 0]
    assert inactive_is_low(m, lv, 0)
    lv.nr[:] = [0, 0, 0, 0, 0]


def test_shrinker_delta_and_deferred_work() -> None:
    m = Machine.boot(arch="x86_64", mem="128M", cpus=1)
    demo = demo_cache_shrinker(m, "demo_dentry", 192)
    assert demo.add(1000) == 1000
    s = demo.shrinker
    slabs0 = m.vm_event[E.SLABS_SCANNED]
    assert do_shrink_slab(m, s, 0, DEF_PRIORITY) == 0      # (1000 >> 12) * 4 / 2 = 0
    freed = do_shrink_slab(m, s, 0, 2)                      # delta 500: 3 batches of 128
    assert freed == 384 and len(demo.lru) == 616
    assert s.nr_deferred[0] == 116
    assert m.vm_event[E.SLABS_SCANNED] == slabs0 + 384
    # the deferred 116 join the next call: (116 >> 2) + (616 >> 2) * 2 = 29 + 308
    freed = do_shrink_slab(m, s, 0, 2)
    assert freed == 256 and s.last[2] == 337
    unregister_shrinker(m, s)
    m.validate()


def test_kswapd_node_unreclaimable_after_max_retries() -> None:
    from memsim.mm.vmscan import MAX_RECLAIM_RETRIES, balance_pgdat
    m = Machine.boot(arch="x86_64", mem="128M", cpus=1)
    pg = m.nodes[0]
    # nothing reclaimable and the watermarks raised out of reach: every run fails
    for z in pg.node_zones:
        if z.managed_pages:
            z._watermark[2] += z.managed_pages
    for _ in range(MAX_RECLAIM_RETRIES):
        balance_pgdat(m, pg, 0, 1)
    assert pg.kswapd_failures == MAX_RECLAIM_RETRIES
    for z in pg.node_zones:
        if z.managed_pages:
            z._watermark[2] -= z.managed_pages


def _anon_and_active_file(swappiness: int) -> Machine:
    m = Machine.boot(arch="x86_64", mem="128M", cpus=1)
    m.swapon(64 << 20)
    m.sysctl_write("swappiness", swappiness)
    m.vfs.create("/f", b"f" * (8 << 20), sync=True)
    read_whole(m, "/f", 8 << 20)
    read_whole(m, "/f", 8 << 20)          # second access: the file pages go active
    p = m.spawn("a")
    a = p.mmap(0, 16 << 20, RW, ANON)
    p.touch(a, 16 << 20, write=True, val=7)
    lru_add_drain(m)
    return m


@pytest.mark.parametrize("swappiness", [0, 200])
def test_swappiness_extremes_with_swap(swappiness: int) -> None:
    from memsim.mm.vmscan import get_scan_count, prepare_scan_control
    m = _anon_and_active_file(swappiness)
    pg = m.nodes[0]
    sc = ScanControl(gfp_mask=GFP_HIGHUSER_MOVABLE, priority=4,
                     reclaim_idx=m.gfp_zone(GFP_HIGHUSER_MOVABLE))
    prepare_scan_control(m, pg, sc)
    ia, aa, if_, af = get_scan_count(m, pg.lruvec, sc)
    if swappiness == 0:       # file only while file pages are reclaimable
        assert ia == aa == 0 and if_ + af > 0
    else:                     # anon preferred: the file lists get no share
        assert ia > 0 and if_ == af == 0
    ev = m.vm_event
    scan_anon0, scan_file0 = ev[E.PGSCAN_ANON], ev[E.PGSCAN_FILE]
    try_to_free_pages(m, list(pg.node_zonelists[0]), 0, GFP_HIGHUSER_MOVABLE)
    if swappiness == 0:
        assert ev[E.PGSCAN_ANON] == scan_anon0 and ev[E.PGSCAN_FILE] > scan_file0
    else:
        assert ev[E.PGSCAN_ANON] > scan_anon0
    m.validate()


def test_gfp_noio_keeps_anon_and_gfp_nofs_keeps_dirty_pages() -> None:
    from memsim.include.gfp import GFP_NOFS, GFP_NOIO
    m = Machine.boot(arch="x86_64", mem="128M", cpus=1)
    m.swapon(16 << 20)
    p = m.spawn("a")
    a = p.mmap(0, 2 * PAGE, RW, ANON)
    p.touch(a, 2 * PAGE, write=True, val=9)
    lru_add_drain(m)
    pfn = int(p.mm.pgd.pte_get(a) >> 12) & ((1 << 40) - 1)
    assert folio_isolate_lru(m, pfn)
    # GFP_NOIO: no swap I/O, so the anonymous page is kept (not even added to swap)
    nr, kept = shrink_folio_list(m, [pfn], m.nodes[0], ScanControl(gfp_mask=GFP_NOIO),
                                 ReclaimStat(), ignore_references=True)
    assert nr == 0 and kept == [pfn]
    assert not m.mem_map.flags[pfn] & (1 << PageFlags.PG_owner_priv_1)     # no swapcache
    # GFP_NOFS may still do swap I/O (__GFP_IO): the page goes to swap
    nr, kept = shrink_folio_list(m, [pfn], m.nodes[0], ScanControl(gfp_mask=GFP_NOFS),
                                 ReclaimStat(), ignore_references=True)
    assert nr == 1 and not kept
    assert m.vm_event[E.PSWPOUT] == 1
    assert p.read(a, 1) == b"\x09"                 # swapped back in
    m.validate()


def test_kswapd_naps_then_sleeps_and_counts_quick_wakeups(cached: Machine) -> None:
    from memsim.kernel.kthread import advance_clock, kthread_queue
    m = cached
    ev = m.vm_event
    p = m.spawn("a")
    a = p.mmap(0, 64 << 20, RW, ANON)
    n = 0
    while ev[E.PAGEOUTRUN] == 0:
        p.touch(a + n * PAGE, PAGE, write=True, val=1)
        n += 1
    t = kthread_queue(m).threads["kswapd0"]
    assert t.data["napping"] and t.timeout_at is not None and not m.kthread_pending
    # woken again during the nap: kswapd_low_wmark_hit_quickly
    while ev[E.PAGEOUTRUN] == 1:
        p.touch(a + n * PAGE, PAGE, write=True, val=1)
        n += 1
    assert ev[E.KSWAPD_LOW_WMARK_HIT_QUICKLY] == 1
    # the nap ends with the node balanced: a full sleep, no counter
    advance_clock(m, 100_000_000)
    assert not t.data["napping"] and t.timeout_at is None and t.state == "S"
    assert ev[E.KSWAPD_HIGH_WMARK_HIT_QUICKLY] == 0
    m.validate()
