"""
Dirty-page throttling (mm/page-writeback.c, 6.12): a task that dirties page-cache pages
calls ``balance_dirty_pages_ratelimited()`` after each page (generic_perform_write, and
fault_dirty_shared_page for stores through shared file mappings); every
``nr_dirtied_pause`` newly dirtied pages it looks at the global dirty state in
``balance_dirty_pages()``:

* dirty = NR_FILE_DIRTY + NR_WRITEBACK against ``global_dirty_limits()`` (mm/vmstat.py:
  vm.dirty_background_ratio 10 and vm.dirty_ratio 20 of the dirtyable memory, or the
  _bytes sysctls);
* above the background threshold the flusher is started
  (``wb_start_background_writeback``, fs/fs_writeback.py);
* at or below the freerun ceiling, (background + limit) / 2, the task goes on and polls
  again after ``dirty_poll_interval()`` pages;
* above it the task is throttled: it sleeps while the flusher writes.

# SIM: the kernel sizes the sleep from the bdi's measured write bandwidth and the
# dirty-ratelimit feedback loop (pos_ratio); the model has synchronous I/O and no
# bandwidth estimate, so a throttled task waits exactly until the flusher has brought the
# dirty pages back to the background threshold (the flusher runs then and there). One
# global domain: no memcg domains, no strictlimit, no per-bdi min/max ratios.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from memsim.include.vmstat_items import NodeStatItem

if TYPE_CHECKING:
    from memsim.machine import Machine
    from memsim.mm.filemap import AddressSpace

PAGE_SHIFT = 12
#: the first nr_dirtied_pause of a task: 128 KiB worth of pages (copy_process)
NR_DIRTIED_PAUSE_INIT = 128 >> (PAGE_SHIFT - 10)
#: the ratelimit while dirty_exceeded: 32 KiB worth of pages
DIRTY_EXCEEDED_RATELIMIT = 32 >> (PAGE_SHIFT - 10)


def global_dirty_pages(m: Machine) -> int:
    """The domain's dirty count: NR_FILE_DIRTY + NR_WRITEBACK of all nodes."""
    return sum(pg.vm_stat[NodeStatItem.NR_FILE_DIRTY] + pg.vm_stat[NodeStatItem.NR_WRITEBACK]
               for pg in m.nodes)


def dirty_freerun_ceiling(thresh: int, bg_thresh: int) -> int:
    """dirty_freerun_ceiling(): halfway between the background threshold and the limit."""
    return (thresh + bg_thresh) // 2


def dirty_poll_interval(dirty: int, thresh: int) -> int:
    """dirty_poll_interval(): 1 << (ilog2(thresh - dirty) >> 1) pages, at least 1."""
    if thresh > dirty:
        return 1 << (((thresh - dirty).bit_length() - 1) >> 1)
    return 1


def wb_over_bg_thresh(m: Machine) -> bool:
    """wb_over_bg_thresh(): the dirty pages exceed the background threshold.
    # SIM: the per-wb threshold check is the global one (one bdi)."""
    from memsim.mm.vmstat import global_dirty_limits
    bg_thresh, _ = global_dirty_limits(m)
    return global_dirty_pages(m) > bg_thresh


class DirtyState:
    """The current task's nr_dirtied / nr_dirtied_pause (task_struct fields in the kernel;
    keyed by pid here) and the domain's dirty_exceeded flag."""

    __slots__ = ("nr_dirtied", "nr_dirtied_pause", "dirty_exceeded")

    def __init__(self) -> None:
        self.nr_dirtied: dict[int, int] = {}
        self.nr_dirtied_pause: dict[int, int] = {}
        self.dirty_exceeded = False


def dirty_state(m: Machine) -> DirtyState:
    st: DirtyState | None = getattr(m, "dirty_state", None)
    if st is None:
        st = DirtyState()
        m.dirty_state = st  # type: ignore[attr-defined]
    return st


def account_dirtied(m: Machine) -> None:
    """folio_account_dirtied()'s ``current->nr_dirtied++``."""
    st = dirty_state(m)
    pid = m.current_pid
    st.nr_dirtied[pid] = st.nr_dirtied.get(pid, 0) + 1


def balance_dirty_pages_ratelimited(m: Machine, mapping: AddressSpace) -> None:
    """balance_dirty_pages_ratelimited(): look at the dirty state every
    nr_dirtied_pause pages the current task dirtied (mappings that write back only)."""
    if not mapping.can_writeback:
        return
    st = dirty_state(m)
    pid = m.current_pid
    ratelimit = st.nr_dirtied_pause.get(pid, NR_DIRTIED_PAUSE_INIT)
    if st.dirty_exceeded:
        ratelimit = min(ratelimit, DIRTY_EXCEEDED_RATELIMIT)
    if st.nr_dirtied.get(pid, 0) >= ratelimit:
        balance_dirty_pages(m)


def balance_dirty_pages(m: Machine) -> None:
    """balance_dirty_pages(): start background writeback above the background threshold;
    throttle the task above the freerun ceiling (see the module's SIM)."""
    from memsim.fs.fs_writeback import (
        wb_start_background_writeback,
        wb_state,
        writeback_in_progress,
    )
    from memsim.mm.vmstat import global_dirty_limits
    st = dirty_state(m)
    pid = m.current_pid
    bg_thresh, thresh = global_dirty_limits(m)
    dirty = global_dirty_pages(m)
    if dirty > bg_thresh and not writeback_in_progress(m):
        wb_start_background_writeback(m)
    if dirty > dirty_freerun_ceiling(thresh, bg_thresh):
        st.dirty_exceeded = dirty > thresh
        wb_state(m).throttled += 1
        if not writeback_in_progress(m):
            wb_start_background_writeback(m)
        from memsim.kernel.kthread import run_pending
        run_pending(m)                  # io_schedule_timeout(): the flusher writes
        dirty = global_dirty_pages(m)
    st.dirty_exceeded = dirty > thresh
    st.nr_dirtied[pid] = 0
    st.nr_dirtied_pause[pid] = dirty_poll_interval(dirty, thresh)


__all__ = ["balance_dirty_pages_ratelimited", "balance_dirty_pages", "account_dirtied",
           "wb_over_bg_thresh", "global_dirty_pages", "dirty_freerun_ceiling",
           "dirty_poll_interval", "NR_DIRTIED_PAUSE_INIT"]
