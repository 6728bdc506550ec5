"""
The flusher: writeback of dirty page-cache pages (fs/fs-writeback.c, 6.12).

``__mark_inode_dirty()`` puts an inode on its bdi_writeback's ``b_dirty`` list (in the
order inodes were first dirtied, ``dirtied_when`` kept) when its first page is dirtied and
arms the periodic flush (``wb_wakeup_delayed``: dirty_writeback_centisecs, 5 s). The
flusher thread then does what ``wb_do_writeback()`` finds to do:

* background writeback (``wb_check_background_flush``): while ``wb_over_bg_thresh()``
  (mm/page_writeback.py), write the oldest dirty inodes, a chunk at a time;
* periodic "kupdate" writeback (``wb_check_old_data_flush``): inodes dirtied more than
  dirty_expire_centisecs (30 s) ago;
* ``wakeup_flusher_threads(WB_REASON_VMSCAN)`` from reclaim: every dirty page.

Each inode is written by ``write_cache_pages()``: its dirty pages in index order from
``mapping.writeback_index`` (cyclic), through mm/filemap.py's ``folio_clear_dirty_for_io``
and ext4's ``->writepages`` (``writepage``). An inode that still has dirty pages goes back
to the tail of the list (``requeue_io``/``redirty_tail``), a clean one leaves it.

The thresholds and the throttling of writers (``balance_dirty_pages``) are
mm/page_writeback.py; the thread runs on the machine's event queue (kernel/kthread.py).

# SIM: one bdi (the model's disk) and one bdi_writeback; the per-bdi work list is reduced
# to the three kinds of work above; b_io/b_more_io are folded into requeueing at the tail
# of b_dirty; writeback_chunk_size() is the fixed MIN_WRITEBACK_PAGES (no bandwidth
# estimate); the I/O completes at once (mm/filemap.py writepage).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from memsim.kernel.kthread import KThread
    from memsim.machine import Machine
    from memsim.mm.filemap import AddressSpace

#: dirty_writeback_centisecs and dirty_expire_centisecs defaults (mm/page-writeback.c);
#: the live values are vm.dirty_writeback_centisecs / vm.dirty_expire_centisecs
DIRTY_WRITEBACK_INTERVAL_NS = 500 * 10_000_000
DIRTY_EXPIRE_INTERVAL_NS = 3000 * 10_000_000
#: MIN_WRITEBACK_PAGES: 4 MiB worth of pages, the smallest chunk an inode is written in
MIN_WRITEBACK_PAGES = 4096 >> (12 - 10)

WB_REASON_BACKGROUND = 0
WB_REASON_VMSCAN = 1
WB_REASON_PERIODIC = 4
WB_REASON_NAMES = {WB_REASON_BACKGROUND: "background", WB_REASON_VMSCAN: "vmscan",
                   WB_REASON_PERIODIC: "periodic"}

#: the flusher's name: the bdi of the model's disk is 8:0 (sda), as the old per-bdi
#: "flush-8:0" threads were called (today a kworker runs the bdi's work)
FLUSHER_COMM = "flush-8:0"


@dataclass(eq=False)
class BdiWriteback:
    """struct bdi_writeback of the model's disk."""

    #: b_dirty: mapping handle -> (dirtied_when in clock ns, mapping), oldest first
    b_dirty: dict[int, tuple[int, AddressSpace]] = field(default_factory=dict)
    thread: KThread | None = None
    #: wakeup_flusher_threads(WB_REASON_VMSCAN) asked for everything to be written
    flush_all: bool = False
    #: pages written by the flusher, by reason (for tests and explain)
    written: dict[str, int] = field(default_factory=lambda: {n: 0 for n in
                                                              WB_REASON_NAMES.values()})
    #: wb_start_background_writeback() calls and writers throttled by balance_dirty_pages
    background_starts: int = 0
    throttled: int = 0


def wb_state(m: Machine) -> BdiWriteback:
    wb: BdiWriteback | None = getattr(m, "bdi_wb", None)
    if wb is None:
        wb = BdiWriteback()
        m.bdi_wb = wb  # type: ignore[attr-defined]
    return wb


def _thread(m: Machine, wb: BdiWriteback) -> KThread:
    if wb.thread is None:
        from memsim.kernel.kthread import kthread_run
        wb.thread = kthread_run(m, FLUSHER_COMM, wb_workfn)
    return wb.thread


def __mark_inode_dirty(m: Machine, mapping: AddressSpace) -> None:
    """__mark_inode_dirty(I_DIRTY_PAGES): a clean inode joins b_dirty, stamped now; the
    first dirty inode arms the periodic flush."""
    wb = wb_state(m)
    if mapping.handle in wb.b_dirty:
        return
    first = not wb.b_dirty
    wb.b_dirty[mapping.handle] = (m.clock_ns, mapping)
    if first:
        t = _thread(m, wb)
        if t.timeout_at is None and t.state != "R":
            from memsim.kernel.kthread import _arm
            interval = _writeback_interval(m)
            if interval:
                _arm(m, t, interval)                           # wb_wakeup_delayed()


def _writeback_interval(m: Machine) -> int:
    """vm.dirty_writeback_centisecs in ns (0: no periodic flush)."""
    return int(getattr(m.sysctl, "dirty_writeback_centisecs", 500)) * 10_000_000


def writeback_in_progress(m: Machine) -> bool:
    """writeback_in_progress(): the flusher has work queued or running."""
    wb = wb_state(m)
    return wb.thread is not None and wb.thread.state == "R"


def wb_start_background_writeback(m: Machine) -> None:
    """wb_start_background_writeback(): wake the flusher for background work."""
    from memsim.kernel.kthread import wake_up_process
    wb = wb_state(m)
    wb.background_starts += 1
    wake_up_process(m, _thread(m, wb))


def wakeup_flusher_threads(m: Machine, reason: int) -> None:
    """wakeup_flusher_threads(): write back every dirty page (reclaim found its oldest
    file pages dirty and not queued for I/O)."""
    from memsim.kernel.kthread import wake_up_process
    wb = wb_state(m)
    if not wb.b_dirty:
        return
    wb.flush_all = True
    wake_up_process(m, _thread(m, wb))


def writeback_single_inode(m: Machine, mapping: AddressSpace, nr_to_write: int) -> int:
    """write_cache_pages() for one inode: up to *nr_to_write* dirty pages from
    writeback_index on (cyclic); returns the pages written."""
    from memsim.include.page_flags import PageFlags
    from memsim.mm.filemap import folio_clear_dirty_for_io, writepage
    dirty_bit = 1 << PageFlags.PG_dirty
    flags = m.mem_map.flags
    pages = mapping.i_pages
    start = mapping.writeback_index
    order = sorted(pages)
    k = next((i for i, idx in enumerate(order) if idx >= start), len(order))
    written = 0
    last = start
    for idx in order[k:] + order[:k]:
        if written >= nr_to_write:
            break
        pfn = pages.get(idx)
        if pfn is None or not flags[pfn] & dirty_bit:
            continue
        if folio_clear_dirty_for_io(m, mapping, pfn):
            writepage(m, mapping, pfn)
            written += 1
            last = idx + 1
    mapping.writeback_index = last if written >= nr_to_write else 0
    return written


def _inode_dirty(m: Machine, mapping: AddressSpace) -> bool:
    from memsim.include.page_flags import PageFlags
    dirty_bit = 1 << PageFlags.PG_dirty
    flags = m.mem_map.flags
    return any(flags[pfn] & dirty_bit for pfn in mapping.i_pages.values())


def writeback_inodes(m: Machine, reason: int, older_than: int | None = None) -> int:
    """
    wb_writeback(): write the inodes of b_dirty, oldest first, a chunk each, until the
    work is done — below the background threshold (background), no inode dirtied before
    *older_than* left (periodic), or nothing dirty (vmscan). Returns the pages written.
    """
    from memsim.mm.page_writeback import wb_over_bg_thresh
    wb = wb_state(m)
    total = 0
    while wb.b_dirty:
        progress = 0
        for key in list(wb.b_dirty):        # one pass over the list as it stands (b_io)
            if reason == WB_REASON_BACKGROUND and not wb_over_bg_thresh(m):
                break
            entry = wb.b_dirty.get(key)
            if entry is None:
                continue
            dirtied_when, mapping = entry
            if older_than is not None and dirtied_when > older_than:
                break
            n = writeback_single_inode(m, mapping, MIN_WRITEBACK_PAGES)
            progress += n
            del wb.b_dirty[key]
            if _inode_dirty(m, mapping):
                wb.b_dirty[key] = (dirtied_when, mapping)      # requeue_io: at the tail
        else:
            total += progress
            if progress:
                continue
            break
        total += progress
        break
    wb.written[WB_REASON_NAMES[reason]] += total
    return total


def wb_workfn(m: Machine, t: KThread) -> int | None:
    """
    The flusher's work (wb_workfn -> wb_do_writeback): a writeback-everything request,
    then background writeback, then the periodic flush of expired inodes. Sleeps with the
    periodic timeout while dirty inodes remain, else until woken.
    """
    from memsim.mm.page_writeback import wb_over_bg_thresh
    wb = wb_state(m)
    if wb.flush_all:
        wb.flush_all = False
        writeback_inodes(m, WB_REASON_VMSCAN)
    if wb_over_bg_thresh(m):
        writeback_inodes(m, WB_REASON_BACKGROUND)
    expire = int(getattr(m.sysctl, "dirty_expire_centisecs", 3000)) * 10_000_000
    interval = _writeback_interval(m)
    if interval:
        writeback_inodes(m, WB_REASON_PERIODIC, older_than=m.clock_ns - expire)
    return interval if wb.b_dirty and interval else None


def inode_forget(m: Machine, mapping: Any) -> None:
    """An inode is evicted or truncated to nothing dirty: off the dirty list."""
    wb: BdiWriteback | None = getattr(m, "bdi_wb", None)
    if wb is not None:
        wb.b_dirty.pop(mapping.handle, None)


__all__ = ["BdiWriteback", "wb_state", "__mark_inode_dirty", "wb_start_background_writeback",
           "wakeup_flusher_threads", "writeback_in_progress", "writeback_inodes", "wb_workfn",
           "WB_REASON_BACKGROUND", "WB_REASON_VMSCAN", "WB_REASON_PERIODIC", "FLUSHER_COMM"]
