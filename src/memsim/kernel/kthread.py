"""
Kernel threads and the machine's event queue (kernel/kthread.c, kernel/sched, timers),
reduced to what the memory-management daemons need: a thread is a step function that
runs until it sleeps; it is woken (wake_up_process) or sleeps with a timeout
(schedule_timeout). Pending work runs at deterministic points — ``m.schedule()`` at the
process API's return to user (kernel/task.py) — so results never depend on host timing.

kswapd (mm/vmscan.py) is the first user; kcompactd and ksmd can join the same queue.

# SIM: no preemption and no CPU time: a woken thread runs to its next sleep the next time
# the machine schedules; each run advances ``m.clock_ns`` by ``run_cost_ns``.
"""

from __future__ import annotations

import heapq
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from memsim.machine import Machine

TASK_RUNNING = "R"
TASK_INTERRUPTIBLE = "S"

#: a step returns None to sleep until woken, or a delay in ns to sleep with a timeout
StepFn = Callable[["Machine", "KThread"], "int | None"]


@dataclass(eq=False)
class KThread:
    """A kernel thread: ``comm`` (e.g. ``kswapd0``), its step function and state."""

    comm: str
    fn: StepFn
    pid: int = 0
    state: str = TASK_INTERRUPTIBLE
    #: clock_ns at which a timed sleep ends (None: no timer)
    timeout_at: int | None = None
    #: set when woken while sleeping with a timeout (schedule_timeout returned early)
    woken_early: bool = False
    nr_runs: int = 0
    data: dict[str, object] = field(default_factory=dict)


@dataclass(eq=False)
class EventQueue:
    """The run queue (FIFO of runnable threads) and the timer heap."""

    runnable: list[KThread] = field(default_factory=list)
    timers: list[tuple[int, int, KThread]] = field(default_factory=list)
    threads: dict[str, KThread] = field(default_factory=dict)
    seq: int = 0
    running: bool = False
    run_cost_ns: int = 0


def kthread_queue(m: Machine) -> EventQueue:
    q: EventQueue | None = getattr(m, "kthreads", None)
    if q is None:
        q = EventQueue()
        m.kthreads = q  # type: ignore[attr-defined]
    return q


def kthread_run(m: Machine, comm: str, fn: StepFn) -> KThread:
    """kthread_run(): create a thread; it starts asleep (its first wake-up runs it)."""
    q = kthread_queue(m)
    t = KThread(comm, fn, pid=2 + len(q.threads))
    q.threads[comm] = t
    return t


def wake_up_process(m: Machine, t: KThread) -> bool:
    """wake_up_process(): make a sleeping thread runnable; False if it already was."""
    if t.state == TASK_RUNNING:
        return False
    if t.timeout_at is not None:
        t.woken_early = True
        t.timeout_at = None
    t.state = TASK_RUNNING
    q = kthread_queue(m)
    q.runnable.append(t)
    m.kthread_pending = True
    return True


def _arm(m: Machine, t: KThread, delay_ns: int) -> None:
    q = kthread_queue(m)
    t.timeout_at = m.clock_ns + delay_ns
    q.seq += 1
    heapq.heappush(q.timers, (t.timeout_at, q.seq, t))
    m.kthread_pending = True


def _expire_timers(m: Machine, q: EventQueue) -> None:
    while q.timers and q.timers[0][0] <= m.clock_ns:
        when, _seq, t = heapq.heappop(q.timers)
        if t.timeout_at == when and t.state != TASK_RUNNING:
            t.timeout_at = None
            t.woken_early = False
            t.state = TASK_RUNNING
            q.runnable.append(t)


def run_pending(m: Machine, max_steps: int = 10_000) -> int:
    """Run every runnable thread (and any timers due at ``m.clock_ns``); steps run."""
    q = kthread_queue(m)
    if q.running:
        return 0
    q.running = True
    steps = 0
    saved = (m.current_pid, m.current_comm, m.current_pf_memalloc)
    try:
        _expire_timers(m, q)
        while q.runnable and steps < max_steps:
            t = q.runnable.pop(0)
            m.current_pid, m.current_comm = t.pid, t.comm
            t.state = TASK_INTERRUPTIBLE
            t.nr_runs += 1
            delay = t.fn(m, t)
            m.clock_ns += q.run_cost_ns
            if delay is not None and t.state != TASK_RUNNING:
                _arm(m, t, delay)
            steps += 1
            _expire_timers(m, q)
    finally:
        m.current_pid, m.current_comm, m.current_pf_memalloc = saved
        q.running = False
    m.kthread_pending = bool(q.runnable) or bool(q.timers and q.timers[0][0] <= m.clock_ns)
    return steps


def advance_clock(m: Machine, ns: int) -> None:
    """Let *ns* of machine time pass: timers that expire run in order."""
    q = kthread_queue(m)
    end = m.clock_ns + ns
    while q.timers and q.timers[0][0] <= end:
        m.clock_ns = max(m.clock_ns, q.timers[0][0])
        run_pending(m)
    m.clock_ns = end
    run_pending(m)


__all__ = ["KThread", "EventQueue", "kthread_run", "wake_up_process", "run_pending",
           "advance_clock", "kthread_queue"]
