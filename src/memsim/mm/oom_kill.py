"""
The OOM killer (mm/oom_kill.c, 6.12): out_of_memory() and its victim choice
(select_bad_process / oom_evaluate_task / oom_badness), the report (dump_header with
show_mem and dump_tasks, dump_oom_victim, "Out of memory: Killed process ..."), the kill
(SIGKILL, mark_oom_victim) and the oom_reaper; panic_on_oom and oom_kill_allocating_task;
__alloc_pages_may_oom() of mm/page_alloc.c (the slow path reaches it through
``Machine.reclaim_hooks.may_oom``); pagefault_out_of_memory(); /proc/PID/oom_score,
oom_score_adj and oom_adj (fs/proc/base.c).

Memory cgroups, cpusets and mempolicies are not modelled: every OOM is a global
CONSTRAINT_NONE one with ``totalpages = totalram_pages + total_swap_pages``.

The victim's death, as the model orders it (the dmesg order of a 6.12 kernel whose victim
exits promptly):

* a victim other than the allocating task is runnable: it takes the SIGKILL at once, exits
  (do_exit -> exit_mmap, which sets MMF_OOM_SKIP) and its memory is free before the
  allocation retries;
* a victim that *is* the allocating task (typically the process whose page fault ran out
  of memory) cannot exit inside the allocator: the SIGKILL stays pending, the allocation
  fails (VM_FAULT_OOM), pagefault_out_of_memory() sees the fatal signal and the task dies
  on its way back to user space (TaskStruct.exit_to_user_mode).

queue_oom_reaper() arms the reaper's 2 s timer (OOM_REAPER_DELAY) either way. The
oom_reaper is a kernel thread on the machine's event queue (kernel/kthread.py; the due
timers are also checked at every out_of_memory()): when the timer expires it finds
MMF_OOM_SKIP on an mm whose owner exited (exit_mmap sets it) and says nothing, as 6.12
does — the "oom_reaper: reaped process" line appears only for a victim still alive 2 s
after the kill (e.g. one killed while it is the current task and time advances before it
returns to user space).
"""

from __future__ import annotations

import signal
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from memsim.errors import MemsimError
from memsim.include.gfp import (
    __GFP_DIRECT_RECLAIM,
    __GFP_FS,
    __GFP_HARDWALL,
    __GFP_NOFAIL,
    __GFP_RETRY_MAYFAIL,
    __GFP_THISNODE,
    format_gfp,
)
from memsim.include.mm import VM_HUGETLB, VM_PFNMAP, VM_SHARED
from memsim.include.mm_types import MM_ANONPAGES, MM_FILEPAGES, MM_SHMEMPAGES, MM_SWAPENTS
from memsim.include.mmzone_types import ZoneType
from memsim.include.vmstat_items import VmEventItem
from memsim.mm.internal import (
    ALLOC_CPUSET,
    ALLOC_KSWAPD,
    ALLOC_NO_WATERMARKS,
    ALLOC_OOM,
    ALLOC_WMARK_HIGH,
    PAGE_ALLOC_COSTLY_ORDER,
)

if TYPE_CHECKING:
    from memsim.machine import Machine

PAGE_SIZE = 4096
LONG_MIN = -(1 << 63)
LONG_MAX = (1 << 63) - 1

#: include/uapi/linux/oom.h
OOM_SCORE_ADJ_MIN = -1000
OOM_SCORE_ADJ_MAX = 1000
OOM_DISABLE = -17
OOM_ADJUST_MIN = -17
OOM_ADJUST_MAX = 15

#: include/linux/sched/coredump.h
MMF_OOM_SKIP = 21
MMF_UNSTABLE = 22
MMF_OOM_REAP_QUEUED = 25

CONSTRAINT_NONE = 0
OOM_CONSTRAINT_TEXT = ("CONSTRAINT_NONE", "CONSTRAINT_CPUSET", "CONSTRAINT_MEMORY_POLICY",
                       "CONSTRAINT_MEMCG")

#: OOM_REAPER_DELAY = 2*HZ, and DEFAULT_RATELIMIT_INTERVAL/BURST (5 s, 10)
OOM_REAPER_DELAY_NS = 2_000_000_000
DEFAULT_RATELIMIT_INTERVAL_NS = 5_000_000_000
DEFAULT_RATELIMIT_BURST = 10
PF_KTHREAD = 0x00200000

_ABORT = object()


@dataclass
class OomControl:
    """struct oom_control (memcg always NULL: memory cgroups are not modelled)."""

    gfp_mask: int
    order: int
    nodemask: frozenset[int] | None = None
    totalpages: int = 0
    constraint: int = CONSTRAINT_NONE
    chosen: Any = None
    chosen_points: int = LONG_MIN
    #: model bookkeeping: a victim other than current was killed and has exited
    freed: bool = False


@dataclass
class OomState:
    """The killer's global state: oom_lock and the oom_reaper's timers."""

    lock_held: bool = False
    #: the oom_reaper kernel thread (kernel/kthread.py KThread), started on first use
    thread: Any = None
    #: queued reaper timers: (expiry clock_ns, task)
    reaper_timers: list[tuple[int, Any]] = field(default_factory=list)
    #: tasks killed, in order (pid, comm), for inspection
    killed: list[tuple[int, str]] = field(default_factory=list)


def oom_state(m: Machine) -> OomState:
    st: OomState | None = getattr(m, "oom", None)
    if st is None:
        st = OomState()
        m.oom = st  # type: ignore[attr-defined]
    return st


# ---- small helpers ------------------------------------------------------------------------

def current_task(m: Machine) -> Any:
    """current, if it is one of the model's processes (else a kernel context: None)."""
    t = m.tasks.get(m.current_pid)
    # kernel threads (kernel/kthread.py) number their pids apart from the processes
    return t if t is not None and t.comm == m.current_comm else None


def task_uid(task: Any) -> int:
    return int(getattr(task, "uid", 0))


def is_global_init(task: Any) -> bool:
    return int(task.pid) == 1


def oom_unkillable_task(task: Any) -> bool:
    """oom_unkillable_task(): the init process and kernel threads."""
    if is_global_init(task):
        return True
    return bool(getattr(task, "flags", 0) & PF_KTHREAD) or bool(getattr(task, "kthread",
                                                                        False))


def find_lock_task_mm(task: Any) -> Any:
    """find_lock_task_mm(): the task if it still has its mm (exited tasks have none)."""
    if task.exit_state is not None or getattr(task, "mm", None) is None:
        return None
    return task


def tsk_is_oom_victim(task: Any) -> bool:
    return bool(getattr(task, "oom_victim", False))


def get_mm_rss(mm: Any) -> int:
    r = mm.rss_stat
    return int(r[MM_FILEPAGES] + r[MM_ANONPAGES] + r[MM_SHMEMPAGES])


def total_swap_pages(m: Machine) -> int:
    from memsim.fs.proc.meminfo import total_swap_pages as tsp
    return tsp(m)


def oom_badness(m: Machine, task: Any, totalpages: int) -> int:
    """
    oom_badness(): rss + swap entries + page tables (in pages), plus oom_score_adj scaled
    to ``totalpages / 1000`` (integer division first); LONG_MIN for the exempt.
    """
    if oom_unkillable_task(task):
        return LONG_MIN
    p = find_lock_task_mm(task)
    if p is None:
        return LONG_MIN
    adj = int(p.oom_score_adj)
    mm = p.mm
    # SIM: there is no vfork in the model, so in_vfork() is never true.
    if adj == OOM_SCORE_ADJ_MIN or mm.flags & (1 << MMF_OOM_SKIP):
        return LONG_MIN
    points = get_mm_rss(mm) + int(mm.rss_stat[MM_SWAPENTS]) + \
        int(mm.pgtables_bytes) // PAGE_SIZE
    adj *= totalpages // 1000
    return points + adj


def constrained_alloc(m: Machine, oc: OomControl) -> int:
    """constrained_alloc(): no cpusets/mempolicies/memcgs in the model: CONSTRAINT_NONE."""
    oc.totalpages = m.totalram_pages + total_swap_pages(m)
    # SIM: no mempolicy-truncated nodemask and no cpuset walls: always CONSTRAINT_NONE.
    return CONSTRAINT_NONE


# ---- the report ---------------------------------------------------------------------------

def dump_task(m: Machine, task: Any) -> None:
    if oom_unkillable_task(task):
        return
    t = find_lock_task_mm(task)
    if t is None:
        return
    mm = t.mm
    r = mm.rss_stat
    m.printk(f"[{t.pid:7d}] {task_uid(t):5d} {t.pid:5d} {mm.total_vm:8d} {get_mm_rss(mm):8d} "
             f"{r[MM_ANONPAGES]:8d} {r[MM_FILEPAGES]:8d} {r[MM_SHMEMPAGES]:9d} "
             f"{mm.pgtables_bytes:8d} {r[MM_SWAPENTS]:8d}         "
             f"{t.oom_score_adj:5d} {t.comm}", level=6)


def dump_tasks(m: Machine, oc: OomControl) -> None:
    """dump_tasks(): the task table, every process in creation order."""
    m.printk("Tasks state (memory values in pages):", level=6)
    m.printk("[  pid  ]   uid  tgid total_vm      rss rss_anon rss_file rss_shmem "
             "pgtables_bytes swapents oom_score_adj name", level=6)
    for task in list(m.tasks.values()):
        dump_task(m, task)


def dump_header(m: Machine, oc: OomControl) -> None:
    """dump_header(): the invoked-oom-killer line, the stack, Mem-Info, the task table."""
    cur = current_task(m)
    adj = cur.oom_score_adj if cur is not None else 0
    gfp = oc.gfp_mask
    m.printk(f"{m.current_comm} invoked oom-killer: gfp_mask={gfp:#x}({format_gfp(gfp)}), "
             f"order={oc.order}, oom_score_adj={adj}", level=4)
    # CONFIG_COMPACTION is on: no "COMPACTION is disabled!!!" line.
    m.debug.dump_stack()
    m.debug.show_mem(oc.nodemask, m.gfp_zone(gfp))
    # SIM: should_dump_unreclaim_slab() (unreclaimable slab > all LRU pages) is not
    # checked; the "Unreclaimable slab info:" block is never printed.
    if m.sysctl.oom_dump_tasks:
        dump_tasks(m, oc)


def dump_oom_victim(m: Machine, oc: OomControl, victim: Any) -> None:
    """dump_oom_victim(): the one-line "oom-kill:constraint=..." summary."""
    nm = "(null)" if oc.nodemask is None else ",".join(str(n) for n in sorted(oc.nodemask))
    m.printk(f"oom-kill:constraint={OOM_CONSTRAINT_TEXT[oc.constraint]},nodemask={nm},"
             f"cpuset=/,mems_allowed={m.mems_allowed_text()},global_oom,task_memcg=/,"
             f"task={victim.comm},pid={victim.pid},uid={task_uid(victim)}", level=6)


# ---- killing ------------------------------------------------------------------------------

def mark_oom_victim(m: Machine, task: Any) -> None:
    """mark_oom_victim(): TIF_MEMDIE and signal->oom_mm."""
    # SIM: the oom_victims count (only oom_killer_disable() waits on it) is not kept.
    if tsk_is_oom_victim(task):
        return
    task.oom_victim = True
    task.oom_mm = task.mm


def __task_will_free_mem(task: Any) -> bool:
    # SIGNAL_GROUP_EXIT (a fatal signal taken) or PF_EXITING of a single-thread group
    return bool(getattr(task, "sigkill_pending", False)) or task.exit_state is not None


def task_will_free_mem(task: Any) -> bool:
    """task_will_free_mem(): the task is dying and will release its (unshared) mm."""
    mm = getattr(task, "mm", None)
    if mm is None or task.exit_state is not None:
        return False
    if not __task_will_free_mem(task):
        return False
    if mm.flags & (1 << MMF_OOM_SKIP):
        return False
    # SIM: processes never share an mm in the model (mm_users <= 1).
    return True


def queue_oom_reaper(m: Machine, task: Any) -> None:
    """queue_oom_reaper(): arm the OOM_REAPER_DELAY timer once per mm."""
    mm = task.oom_mm if getattr(task, "oom_mm", None) is not None else task.mm
    if mm.flags & (1 << MMF_OOM_REAP_QUEUED):
        return
    mm.flags |= 1 << MMF_OOM_REAP_QUEUED
    st = oom_state(m)
    st.reaper_timers.append((m.clock_ns + OOM_REAPER_DELAY_NS, task))
    _kick_reaper_thread(m, st)


def _oom_reaper_step(m: Machine, t: Any) -> int | None:
    """The oom_reaper thread: fire the due timers, sleep until the next one."""
    st = oom_state(m)
    oom_reaper_run(m)
    if not st.reaper_timers:
        return None
    return max(0, min(when for when, _ in st.reaper_timers) - m.clock_ns)


def _kick_reaper_thread(m: Machine, st: OomState) -> None:
    """Start (once) and wake the oom_reaper kernel thread on the machine's event queue."""
    from memsim.kernel import kthread
    thread = getattr(st, "thread", None)
    if thread is None:
        thread = kthread.kthread_run(m, "oom_reaper", _oom_reaper_step)
        st.thread = thread
    # SIM: the timer and the thread are one: the wake-up runs the thread at the next
    # scheduling point, which sleeps until the earliest reaper timer expires.
    kthread.wake_up_process(m, thread)


def _victim_exits(m: Machine, victim: Any) -> None:
    """A runnable victim takes its SIGKILL: do_exit() (exit_mmap sets MMF_OOM_SKIP)."""
    from memsim.kernel.task import do_exit
    do_exit(m, victim, 0, killed_by=signal.SIGKILL)


def __oom_kill_process(m: Machine, oc: OomControl, victim: Any, message: str) -> None:
    p = find_lock_task_mm(victim)
    if p is None:
        m.printk(f"{message}: OOM victim {victim.pid} ({victim.comm}) is already exiting. "
                 f"Skip killing the task", level=6)
        return
    mm = p.mm
    m.vm_event[VmEventItem.OOM_KILL] += 1
    p.sigkill_pending = True                     # do_send_sig_info(SIGKILL, ...)
    mark_oom_victim(m, p)
    r = mm.rss_stat
    m.printk(f"{message}: Killed process {p.pid} ({p.comm}) total-vm:{mm.total_vm << 2}kB, "
             f"anon-rss:{r[MM_ANONPAGES] << 2}kB, file-rss:{r[MM_FILEPAGES] << 2}kB, "
             f"shmem-rss:{r[MM_SHMEMPAGES] << 2}kB, UID:{task_uid(p)} "
             f"pgtables:{mm.pgtables_bytes >> 10}kB oom_score_adj:{p.oom_score_adj}", level=3)
    oom_state(m).killed.append((p.pid, p.comm))
    # SIM: no other process shares the victim's mm (no CLONE_VM), so nobody else is killed.
    queue_oom_reaper(m, p)
    if p.pid != m.current_pid:
        _victim_exits(m, p)
        oc.freed = True


def oom_kill_process(m: Machine, oc: OomControl, message: str) -> None:
    """oom_kill_process(): report (rate-limited) and kill oc.chosen."""
    victim = oc.chosen
    if task_will_free_mem(victim):
        mark_oom_victim(m, victim)
        queue_oom_reaper(m, victim)
        return
    if m.ratelimit("oom_kill_process", DEFAULT_RATELIMIT_INTERVAL_NS,
                   DEFAULT_RATELIMIT_BURST):
        dump_header(m, oc)
        dump_oom_victim(m, oc, victim)
    __oom_kill_process(m, oc, victim, message)


def check_panic_on_oom(m: Machine, oc: OomControl) -> None:
    """check_panic_on_oom(): vm.panic_on_oom 1 (unconstrained OOMs) or 2 (all)."""
    mode = m.sysctl.panic_on_oom
    if not mode:
        return
    if mode != 2 and oc.constraint != CONSTRAINT_NONE:
        return
    dump_header(m, oc)
    m.panic(f"Out of memory: {'compulsory' if mode == 2 else 'system-wide'} "
            f"panic_on_oom is enabled")


def oom_evaluate_task(m: Machine, task: Any, oc: OomControl) -> bool:
    """oom_evaluate_task(): True aborts the scan (a live victim is still exiting)."""
    if oom_unkillable_task(task):
        return False
    if tsk_is_oom_victim(task):
        oom_mm = getattr(task, "oom_mm", None)
        if oom_mm is not None and oom_mm.flags & (1 << MMF_OOM_SKIP):
            return False
        oc.chosen = _ABORT
        return True
    # SIM: no task is marked oom_task_origin() (swapoff/ksm unmerge set it).
    points = oom_badness(m, task, oc.totalpages)
    if points == LONG_MIN or points < oc.chosen_points:
        return False
    oc.chosen = task
    oc.chosen_points = points
    return False


def select_bad_process(m: Machine, oc: OomControl) -> None:
    """select_bad_process(): the highest badness; on ties the later task wins."""
    oc.chosen_points = LONG_MIN
    for task in list(m.tasks.values()):
        if task.exit_state is not None:
            continue
        if oom_evaluate_task(m, task, oc):
            break


def out_of_memory(m: Machine, oc: OomControl) -> bool:
    """out_of_memory(): kill the "best" process; True if that makes progress."""
    oom_reaper_run(m)
    cur = current_task(m)
    # SIM: no OOM notifiers are registered (they would return freed pages first).
    if cur is not None and task_will_free_mem(cur):
        mark_oom_victim(m, cur)
        queue_oom_reaper(m, cur)
        return True
    if not oc.gfp_mask & __GFP_FS:
        return True
    oc.constraint = constrained_alloc(m, oc)
    oc.nodemask = None                  # constraint != CONSTRAINT_MEMORY_POLICY
    check_panic_on_oom(m, oc)
    if m.sysctl.oom_kill_allocating_task and cur is not None and \
            find_lock_task_mm(cur) is not None and not oom_unkillable_task(cur) and \
            cur.oom_score_adj != OOM_SCORE_ADJ_MIN:
        oc.chosen = cur
        oom_kill_process(m, oc, "Out of memory (oom_kill_allocating_task)")
        return True
    select_bad_process(m, oc)
    if oc.chosen is None:
        dump_header(m, oc)
        m.printk("Out of memory and no killable processes...", level=4)
        m.panic("System is deadlocked on memory")
    if oc.chosen is not None and oc.chosen is not _ABORT:
        oom_kill_process(m, oc, "Out of memory")
    return oc.chosen is not None


# ---- the oom_reaper -----------------------------------------------------------------------

def __oom_reap_task_mm(m: Machine, mm: Any) -> bool:
    """__oom_reap_task_mm(): unmap private and anonymous VMAs (not hugetlb/pfnmap)."""
    from memsim.mm.memory import zap_pte_range
    mm.flags |= 1 << MMF_UNSTABLE
    for vma in list(mm.vmas):
        if vma.vm_flags & (VM_HUGETLB | VM_PFNMAP):
            continue
        if vma.vm_ops is None or not vma.vm_flags & VM_SHARED:
            # vma_is_anonymous() || !(vm_flags & VM_SHARED): unmap_page_range()
            # mlocked VMAs are reaped too, as in 6.12 (the zap munlocks their pages)
            zap_pte_range(m, vma, vma.vm_start, vma.vm_end)
    return True


def oom_reap_task_mm(m: Machine, task: Any, mm: Any) -> bool:
    """oom_reap_task_mm(): reap unless the mm is already MMF_OOM_SKIP; log the result."""
    # SIM: mmap_read_trylock() always succeeds (nothing holds the lock between steps).
    if mm.flags & (1 << MMF_OOM_SKIP):
        return True
    __oom_reap_task_mm(m, mm)
    r = mm.rss_stat
    m.printk(f"oom_reaper: reaped process {task.pid} ({task.comm}), now "
             f"anon-rss:{r[MM_ANONPAGES] << 2}kB, file-rss:{r[MM_FILEPAGES] << 2}kB, "
             f"shmem-rss:{r[MM_SHMEMPAGES] << 2}kB", level=6)
    return True


def oom_reap_task(m: Machine, task: Any) -> None:
    """oom_reap_task(): reap, then hide the mm from the OOM killer (MMF_OOM_SKIP)."""
    mm = task.oom_mm
    oom_reap_task_mm(m, task, mm)
    mm.flags |= 1 << MMF_OOM_SKIP


def wake_oom_reaper(m: Machine, task: Any) -> None:
    """wake_oom_reaper() (the timer) + the oom_reaper thread's loop body."""
    mm = getattr(task, "oom_mm", None) or task.mm
    if mm.flags & (1 << MMF_OOM_SKIP):
        return                          # the victim managed to terminate on its own
    if getattr(task, "oom_mm", None) is None:
        task.oom_mm = mm
    oom_reap_task(m, task)


def oom_reaper_run(m: Machine, now_ns: int | None = None) -> int:
    """
    Fire the reaper timers that have expired at *now_ns* (default: the machine clock).
    Returns how many fired.
    """
    st = oom_state(m)
    if not st.reaper_timers:
        return 0
    now = m.clock_ns if now_ns is None else now_ns
    due = [(t, task) for t, task in st.reaper_timers if t <= now]
    if not due:
        return 0
    st.reaper_timers = [(t, task) for t, task in st.reaper_timers if t > now]
    for _, task in due:
        wake_oom_reaper(m, task)
    return len(due)


# ---- the allocator's side -----------------------------------------------------------------

def alloc_pages_may_oom(m: Machine, gfp: int, order: int, alloc_flags: int,
                        ac: Any) -> int | None:
    """
    __alloc_pages_may_oom() and the slow path's "retry while the OOM killer makes
    progress": the last HIGH-watermark attempt, the exclusions, out_of_memory(), then
    the retry of the allocation (and of direct reclaim) after a victim's memory came back.
    """
    from memsim.mm.page_alloc import get_page_from_freelist
    st = oom_state(m)
    normal = m.arch.zone_idx(ZoneType.ZONE_NORMAL)
    for _ in range(len(m.tasks) + 2):
        if st.lock_held:
            # SIM: a nested OOM (from inside the killer) sees oom_lock taken: no progress
            # and no page, instead of sleeping for the lock holder.
            return None
        st.lock_held = True
        try:
            page = get_page_from_freelist(m, (gfp | __GFP_HARDWALL) & ~__GFP_DIRECT_RECLAIM,
                                          order, ALLOC_WMARK_HIGH | ALLOC_CPUSET, ac)
            if page is not None:
                return page
            # SIM: no coredumps (PF_DUMPCORE) and no suspend (pm_suspended_storage).
            if order > PAGE_ALLOC_COSTLY_ORDER:
                return None
            if gfp & (__GFP_RETRY_MAYFAIL | __GFP_THISNODE):
                return None
            if normal is not None and ac.highest_zoneidx < normal:
                return None
            oc = OomControl(gfp_mask=gfp, order=order, nodemask=ac.nodemask)
            progress = out_of_memory(m, oc)
            if not progress and gfp & __GFP_NOFAIL:
                m.debug.warn_on_once("__alloc_pages_may_oom", "gfp_mask & __GFP_NOFAIL")
                progress = True
            if progress and gfp & __GFP_NOFAIL:
                # __alloc_pages_cpuset_fallback(ALLOC_NO_WATERMARKS)
                page = get_page_from_freelist(m, gfp, order,
                                              ALLOC_NO_WATERMARKS | ALLOC_CPUSET, ac)
                if page is None:
                    page = get_page_from_freelist(m, gfp, order, ALLOC_NO_WATERMARKS, ac)
                if page is not None:
                    return page
        finally:
            st.lock_held = False
        if not progress:
            return None
        cur = current_task(m)
        if cur is not None and tsk_is_oom_victim(cur):
            # the slow path's retry for a victim: __gfp_pfmemalloc_flags() grants
            # ALLOC_OOM (down to half the min watermark) so it can exit; if that fails,
            # "tsk_is_oom_victim(current) && ALLOC_OOM" ends at nopage
            return get_page_from_freelist(m, gfp, order,
                                          ALLOC_OOM | (alloc_flags & ALLOC_KSWAPD), ac)
        if not oc.freed:
            # SIM: the kernel keeps looping while out_of_memory() "makes progress"
            # without a kill (GFP_NOFS, a victim still exiting); the model, where nothing
            # runs in between, fails the allocation instead of spinning.
            return None
        # the slow path's retry: the free lists again, then direct reclaim
        page = get_page_from_freelist(m, gfp, order, alloc_flags, ac)
        if page is not None:
            return page
        page = m.reclaim_hooks.direct_compact_and_reclaim(m, gfp, order, alloc_flags, ac)
        if page is not None:
            return page
    return None


def pagefault_out_of_memory(m: Machine, task: Any) -> None:
    """pagefault_out_of_memory(): nothing to do for a task the OOM killer has killed."""
    if getattr(task, "sigkill_pending", False):
        return
    if m.ratelimit("pfoom", DEFAULT_RATELIMIT_INTERVAL_NS, DEFAULT_RATELIMIT_BURST):
        m.printk("Huh VM_FAULT_OOM leaked out to the #PF handler. Retrying PF", level=4)


# ---- /proc/PID/oom_score, oom_score_adj, oom_adj (fs/proc/base.c) -------------------------

def _cdiv(a: int, b: int) -> int:
    """C integer division (truncates toward zero)."""
    q = abs(a) // abs(b)
    return q if (a >= 0) == (b >= 0) else -q


def proc_oom_score(m: Machine, task: Any) -> str:
    """/proc/PID/oom_score: badness scaled into [0, 2000] (then * 2 / 3)."""
    totalpages = m.totalram_pages + total_swap_pages(m)
    badness = oom_badness(m, task, totalpages)
    points = 0
    if badness != LONG_MIN:
        points = _cdiv((1000 + _cdiv(badness * 1000, totalpages)) * 2, 3)
    return f"{points}\n"


def oom_score_adj_read(m: Machine, task: Any) -> str:
    return f"{task.oom_score_adj}\n"


def oom_adj_read(m: Machine, task: Any) -> str:
    adj = int(task.oom_score_adj)
    if adj == OOM_SCORE_ADJ_MAX:
        oom_adj = OOM_ADJUST_MAX
    else:
        oom_adj = _cdiv(adj * -OOM_DISABLE, OOM_SCORE_ADJ_MAX)
    return f"{min(oom_adj, OOM_ADJUST_MAX)}\n"


def _parse_int(path: str, text: str) -> int:
    """kstrtoint(strstrip(buf), 0): decimal, 0x hex or 0 octal, optional sign."""
    t = text[:11].strip()       # PROC_NUMBUF - 1 bytes are read
    neg = t.startswith("-")
    body = t[1:] if t[:1] in "+-" else t
    base = 16 if body[:2].lower() == "0x" else 8 if body[:1] == "0" and len(body) > 1 else 10
    try:
        if not body.isalnum():
            raise ValueError(body)
        v = int(body, base)
    except ValueError:
        raise MemsimError(f"/proc/{path}: {text.strip()!r} is not a number (EINVAL)") from None
    v = -v if neg else v
    if not -(1 << 31) <= v < (1 << 31):
        raise MemsimError(f"/proc/{path}: {text.strip()!r} is out of range (ERANGE)")
    return v


def __set_oom_adj(m: Machine, task: Any, oom_adj: int) -> None:
    # SIM: the model runs as root (CAP_SYS_RESOURCE): oom_score_adj_min never refuses,
    # and no other process shares the mm, so nothing else is updated.
    task.oom_score_adj = oom_adj


def oom_score_adj_write(m: Machine, task: Any, text: str) -> int:
    """Write /proc/PID/oom_score_adj: -1000..1000, else EINVAL."""
    v = _parse_int(f"{task.pid}/oom_score_adj", text)
    if v < OOM_SCORE_ADJ_MIN or v > OOM_SCORE_ADJ_MAX:
        raise MemsimError(f"/proc/{task.pid}/oom_score_adj: {v} is out of range "
                          f"[{OOM_SCORE_ADJ_MIN}, {OOM_SCORE_ADJ_MAX}] (EINVAL)")
    __set_oom_adj(m, task, v)
    return len(text)


def oom_adj_write(m: Machine, task: Any, text: str) -> int:
    """Write the legacy /proc/PID/oom_adj (-17..15, scaled to oom_score_adj)."""
    v = _parse_int(f"{task.pid}/oom_adj", text)
    if (v < OOM_ADJUST_MIN or v > OOM_ADJUST_MAX) and v != OOM_DISABLE:
        raise MemsimError(f"/proc/{task.pid}/oom_adj: {v} is out of range "
                          f"[{OOM_ADJUST_MIN}, {OOM_ADJUST_MAX}] (EINVAL)")
    adj = OOM_SCORE_ADJ_MAX if v == OOM_ADJUST_MAX else _cdiv(v * OOM_SCORE_ADJ_MAX,
                                                             -OOM_DISABLE)
    if m.ratelimit("oom_adj_deprecated", 1 << 62, 1):     # pr_warn_once()
        m.printk(f"{m.current_comm} ({m.current_pid}): /proc/{task.pid}/oom_adj is "
                 f"deprecated, please use /proc/{task.pid}/oom_score_adj instead.", level=4)
    __set_oom_adj(m, task, adj)
    return len(text)
