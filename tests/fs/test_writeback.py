"""
Dirty-page throttling and the flusher (mm/page_writeback.py, fs/fs_writeback.py): writers
start background writeback above the background threshold and are throttled above the
freerun ceiling, inodes dirty for 30 s are written by the periodic flush, reclaim that
finds only unqueued dirty page cache wakes the flusher, and anonymous pages never count
as the flushers' dirty pages.
"""

from __future__ import annotations

import os

from memsim.config import MachineConfig
from memsim.fs.fs_writeback import (
    DIRTY_EXPIRE_INTERVAL_NS,
    DIRTY_WRITEBACK_INTERVAL_NS,
    FLUSHER_COMM,
    wb_state,
)
from memsim.include.mman import MAP_SHARED, PROT_READ, PROT_WRITE
from memsim.include.vmstat_items import NodeStatItem
from memsim.kernel.kthread import advance_clock
from memsim.machine import Machine
from memsim.mm.page_writeback import (
    NR_DIRTIED_PAUSE_INIT,
    dirty_freerun_ceiling,
    dirty_poll_interval,
    dirty_state,
    global_dirty_pages,
)
from memsim.mm.vmstat import global_dirty_limits

PAGE = 4096


def boot(**kw: str) -> Machine:
    return Machine.boot(MachineConfig.build({"mem": "64M", **kw}))


def test_poll_interval_and_freerun_ceiling() -> None:
    # 1 << (ilog2(thresh - dirty) >> 1), at least 1
    assert dirty_poll_interval(0, 1078) == 1 << (10 >> 1)        # ilog2(1078) = 10
    assert dirty_poll_interval(1000, 1078) == 1 << (6 >> 1)      # ilog2(78) = 6
    assert dirty_poll_interval(1078, 1078) == 1
    assert dirty_poll_interval(2000, 1078) == 1
    assert dirty_freerun_ceiling(1078, 538) == 808
    assert NR_DIRTIED_PAUSE_INIT == 32                           # 128 KiB of 4 KiB pages


def test_writer_starts_background_writeback_and_is_throttled() -> None:
    m = boot()
    p = m.spawn("dd")
    fd = p.open("/out", os.O_RDWR | os.O_CREAT)
    written0 = m.nodes[0].vm_stat[NodeStatItem.NR_WRITTEN]     # spawn's executable
    bg, thresh = global_dirty_limits(m)
    ceiling = dirty_freerun_ceiling(thresh, bg)
    wb = wb_state(m)
    # page by page: each write returns to user space, where the flusher (started above
    # the background threshold) runs at once — the model's disk keeps up, nobody waits
    for i in range(thresh):
        p.pwrite(fd, b"x" * PAGE, i * PAGE)
        assert global_dirty_pages(m) <= bg + 1
    assert wb.throttled == 0 and wb.written["background"] > 0
    # one big write: within the syscall only balance_dirty_pages can stop the dirtying,
    # polling every nr_dirtied_pause pages — dirty overshoots the freerun ceiling by at
    # most one poll interval before the writer is throttled
    seen: list[int] = []
    import memsim.mm.page_writeback as pw
    orig = pw.balance_dirty_pages

    def spy(m_: Machine) -> None:
        seen.append(global_dirty_pages(m_))
        orig(m_)

    pw.balance_dirty_pages = spy  # type: ignore[assignment]
    try:
        p.pwrite(fd, b"y" * (3 * thresh * PAGE), thresh * PAGE)
    finally:
        pw.balance_dirty_pages = orig  # type: ignore[assignment]
    assert max(seen) <= ceiling + NR_DIRTIED_PAUSE_INIT
    assert wb.throttled > 0
    assert m.nodes[0].vm_stat[NodeStatItem.NR_WRITTEN] - written0 == wb.written["background"]
    assert global_dirty_pages(m) <= ceiling
    # the file reads back whole, from the page cache or from the disk
    assert p.pread(fd, PAGE, 5 * PAGE) == b"x" * PAGE
    assert p.pread(fd, PAGE, 2 * thresh * PAGE) == b"y" * PAGE
    assert FLUSHER_COMM in m.kthreads.threads  # type: ignore[attr-defined]
    m.validate()


def test_below_background_threshold_nothing_is_written_until_it_expires() -> None:
    m = boot()
    p = m.spawn("ed")
    fd = p.open("/notes", os.O_RDWR | os.O_CREAT)
    written0 = m.nodes[0].vm_stat[NodeStatItem.NR_WRITTEN]
    for i in range(40):
        p.pwrite(fd, b"n" * PAGE, i * PAGE)
    wb = wb_state(m)
    mapping = p._file(fd).f_mapping
    assert global_dirty_pages(m) == 40 and mapping.handle in wb.b_dirty
    # the periodic flush (every 5 s) writes only inodes dirtied 30 s ago or earlier
    advance_clock(m, DIRTY_WRITEBACK_INTERVAL_NS)
    assert global_dirty_pages(m) == 40 and wb.written["periodic"] == 0
    advance_clock(m, DIRTY_EXPIRE_INTERVAL_NS)
    assert global_dirty_pages(m) == 0
    assert wb.written["periodic"] == 40 and mapping.handle not in wb.b_dirty
    assert m.nodes[0].vm_stat[NodeStatItem.NR_WRITTEN] - written0 == 40
    m.validate()


def test_stores_through_a_shared_mapping_are_throttled_too() -> None:
    m = boot()
    p = m.spawn("db")
    npages = 4000
    fd = p.open("/db", os.O_RDWR | os.O_CREAT)
    p.ftruncate(fd, npages * PAGE)
    a = p.mmap(0, npages * PAGE, PROT_READ | PROT_WRITE, MAP_SHARED, fd)
    bg, thresh = global_dirty_limits(m)
    p.touch(a, npages * PAGE, write=True, val=7)         # one "instruction stream"
    assert wb_state(m).throttled > 0
    assert global_dirty_pages(m) <= dirty_freerun_ceiling(thresh, bg) + NR_DIRTIED_PAUSE_INIT
    assert p.read(a + 123 * PAGE, 1) == b"\x07"
    m.validate()


def test_dirty_state_is_per_task() -> None:
    m = boot()
    a, b = m.spawn("a"), m.spawn("b")
    fa = a.open("/a", os.O_RDWR | os.O_CREAT)
    fb = b.open("/b", os.O_RDWR | os.O_CREAT)
    for i in range(10):
        a.pwrite(fa, b"a" * PAGE, i * PAGE)
    b.pwrite(fb, b"b" * PAGE, 0)
    st = dirty_state(m)
    # current->nr_dirtied: each writer's own count (below its first poll at 32 pages)
    assert st.nr_dirtied[a.pid] == 10 and st.nr_dirtied[b.pid] == 1


def test_reclaim_of_unqueued_dirty_page_cache_wakes_the_flusher() -> None:
    # a file written through a shared mapping, larger than memory, with a dirty limit so
    # high that no writer is ever throttled: reclaim meets only dirty file pages
    m = boot()
    m.proc_write("sys/vm/dirty_ratio", "100")
    m.proc_write("sys/vm/dirty_background_ratio", "99")
    p = m.spawn("w")
    npages = 9000
    fd = p.open("/big", os.O_RDWR | os.O_CREAT)
    p.ftruncate(fd, npages * PAGE)
    a = p.mmap(0, npages * PAGE, PROT_READ | PROT_WRITE, MAP_SHARED, fd)
    p.touch(a, npages * PAGE, write=True, val=1)
    wb = wb_state(m)
    assert wb.written["vmscan"] > 0
    assert p.read(a, 1) == b"\x01" and p.read(a + (npages - 1) * PAGE, 1) == b"\x01"
    m.validate()


def test_dirty_anonymous_pages_are_not_the_flushers_business() -> None:
    from memsim.include.mman import MAP_ANONYMOUS, MAP_PRIVATE
    from memsim.include.page_flags import PageFlags
    from memsim.mm.vmscan import ReclaimStat, ScanControl, folio_isolate_lru, shrink_folio_list
    m = boot()
    m.swapon(32 << 20)
    p = m.spawn("anon")
    a = p.mmap(0, 8 * PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS)
    p.touch(a, 8 * PAGE, write=True, val=3)
    from memsim.mm.swap import lru_add_drain
    lru_add_drain(m)
    pfns = [p.page_info(a + i * PAGE)["pfn"] for i in range(8)]   # type: ignore[index]
    for pfn in pfns:
        m.mem_map.flags[pfn] |= 1 << PageFlags.PG_dirty
        assert folio_isolate_lru(m, pfn)
    stat = ReclaimStat()
    sc = ScanControl(may_writepage=True, may_unmap=True, may_swap=True)
    nr, kept = shrink_folio_list(m, pfns, m.nodes[0], sc, stat, ignore_references=True)
    assert stat.nr_dirty == stat.nr_unqueued_dirty == 0
    assert nr == 8 and not kept
    assert p.read(a + 5 * PAGE, 1) == b"\x03"                    # back from swap
    m.validate()


def test_dirty_sysctls_at_boot_and_at_run_time() -> None:
    import pytest

    from memsim.errors import ConfigError
    m = boot(**{"sysctl.vm.dirty_ratio": "40"})
    assert m.proc("sys/vm/dirty_ratio") == "40\n"
    bg, thresh = global_dirty_limits(m)
    avail_thresh = thresh
    m.proc_write("sys/vm/dirty_ratio", "20")
    assert global_dirty_limits(m)[1] * 2 in range(avail_thresh - 2, avail_thresh + 3)
    # the bytes form replaces the ratio (dirty_bytes_handler zeroes vm_dirty_ratio)
    m.proc_write("sys/vm/dirty_bytes", str(1 << 20))
    assert m.proc("sys/vm/dirty_ratio") == "0\n"
    assert global_dirty_limits(m)[1] == 256
    m.proc_write("sys/vm/dirty_background_ratio", "5")
    assert m.proc("sys/vm/dirty_background_bytes") == "0\n"
    with pytest.raises(ConfigError, match="8192"):
        m.proc_write("sys/vm/dirty_bytes", "4096")
    with pytest.raises(ConfigError, match="out of range"):
        m.proc_write("sys/vm/dirty_ratio", "101")
