"""
Execution contexts: preempt_count, interrupts on/off, spinlocks and might_sleep().

Kernel: include/linux/preempt.h (the preempt_count bit layout and the in_*() tests),
kernel/softirq.c (irq_enter/irq_exit, __local_bh_disable_ip), kernel/sched/core.c
(__might_sleep, __might_resched), kernel/locking/spinlock_debug.c (spin_bug).

State lives on the machine: ``m.preempt_count[cpu]`` packs the preemption, softirq, hardirq
and NMI counts as the kernel does, ``m.irqs_off[cpu]`` is the CPU's interrupt flag.
``m._atomic_cpus`` counts CPUs that are atomic (preempt_count != 0) or have interrupts off, so
the allocators' fast paths pay one attribute test for the sleeping-in-atomic check.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING

from memsim.errors import MemsimError
from memsim.mm.debug import TAINT_WARN

if TYPE_CHECKING:
    from memsim.machine import Machine

PREEMPT_BITS = 8
SOFTIRQ_BITS = 8
HARDIRQ_BITS = 4
NMI_BITS = 4
PREEMPT_SHIFT = 0
SOFTIRQ_SHIFT = PREEMPT_SHIFT + PREEMPT_BITS
HARDIRQ_SHIFT = SOFTIRQ_SHIFT + SOFTIRQ_BITS
NMI_SHIFT = HARDIRQ_SHIFT + HARDIRQ_BITS
PREEMPT_MASK = ((1 << PREEMPT_BITS) - 1) << PREEMPT_SHIFT
SOFTIRQ_MASK = ((1 << SOFTIRQ_BITS) - 1) << SOFTIRQ_SHIFT
HARDIRQ_MASK = ((1 << HARDIRQ_BITS) - 1) << HARDIRQ_SHIFT
NMI_MASK = ((1 << NMI_BITS) - 1) << NMI_SHIFT
PREEMPT_OFFSET = 1 << PREEMPT_SHIFT            # 0x1
SOFTIRQ_OFFSET = 1 << SOFTIRQ_SHIFT            # 0x100
HARDIRQ_OFFSET = 1 << HARDIRQ_SHIFT            # 0x10000
NMI_OFFSET = 1 << NMI_SHIFT                    # 0x100000
SOFTIRQ_DISABLE_OFFSET = 2 * SOFTIRQ_OFFSET    # local_bh_disable()

#: HZ of the modelled kernel (CONFIG_HZ_1000); __might_resched() reports once per HZ jiffies
HZ = 1000
_JIFFY_NS = 1_000_000_000 // HZ

#: include/linux/sched/mm.h line of might_alloc()'s might_sleep_if() (6.12)
MIGHT_ALLOC_FILE = "include/linux/sched/mm.h"
MIGHT_ALLOC_LINE = 321

SPINLOCK_MAGIC = 0xDEAD4EAD


@dataclass(slots=True)
class SpinLock:
    """spinlock_t with CONFIG_DEBUG_SPINLOCK's owner fields (include/linux/spinlock_types.h)."""

    name: str = "lock"
    magic: int = SPINLOCK_MAGIC
    #: (comm, pid) of the holder, None when unlocked (SPINLOCK_OWNER_INIT)
    owner: tuple[str, int] | None = None
    owner_cpu: int = -1

    @property
    def locked(self) -> bool:
        return self.owner is not None


def _update(m: Machine, cpu: int) -> None:
    atomic = bool(m.preempt_count[cpu]) or m.irqs_off[cpu]
    if atomic != m._cpu_atomic[cpu]:
        m._cpu_atomic[cpu] = atomic
        m._atomic_cpus += 1 if atomic else -1


def preempt_count_add(m: Machine, val: int, cpu: int | None = None) -> None:
    """preempt_count_add()"""
    c = m._cpu if cpu is None else cpu
    m.preempt_count[c] += val
    _update(m, c)


def preempt_count_sub(m: Machine, val: int, cpu: int | None = None) -> None:
    """preempt_count_sub(): a count going below zero is API misuse."""
    c = m._cpu if cpu is None else cpu
    pc = m.preempt_count[c]
    # The kernel's CONFIG_DEBUG_PREEMPT check: DEBUG_LOCKS_WARN_ON(val > preempt_count()).
    if val > pc or (val < PREEMPT_MASK and (pc & PREEMPT_MASK) < (val & PREEMPT_MASK)):
        raise MemsimError(f"preempt_count_sub({val:#x}) on CPU {c} with preempt_count "
                          f"{pc:#x}: unbalanced enable")
    m.preempt_count[c] = pc - val
    _update(m, c)


def set_irqs_off(m: Machine, off: bool, cpu: int | None = None) -> None:
    """local_irq_disable()/local_irq_enable(): set the CPU's interrupt flag."""
    c = m._cpu if cpu is None else cpu
    m.irqs_off[c] = off
    _update(m, c)


# -- the include/linux/preempt.h tests -----------------------------------------------------

def in_atomic(m: Machine) -> bool:
    return m.preempt_count[m._cpu] != 0


def in_hardirq(m: Machine) -> bool:
    return bool(m.preempt_count[m._cpu] & HARDIRQ_MASK)


def in_softirq(m: Machine) -> bool:
    """in_softirq(): serving a softirq or bottom halves disabled."""
    return bool(m.preempt_count[m._cpu] & SOFTIRQ_MASK)


def in_serving_softirq(m: Machine) -> bool:
    return bool(m.preempt_count[m._cpu] & SOFTIRQ_OFFSET)


def in_nmi(m: Machine) -> bool:
    return bool(m.preempt_count[m._cpu] & NMI_MASK)


def in_task(m: Machine) -> bool:
    return not m.preempt_count[m._cpu] & (NMI_MASK | HARDIRQ_MASK | SOFTIRQ_OFFSET)


def preemptible(m: Machine) -> bool:
    return m.preempt_count[m._cpu] == 0 and not m.irqs_off[m._cpu]


# -- contexts ----------------------------------------------------------------------------

@contextmanager
def _on_cpu(m: Machine, cpu: int | None) -> Iterator[int]:
    saved = m._cpu
    if cpu is not None:
        m.current_cpu = cpu
    try:
        yield m._cpu
    finally:
        m.current_cpu = saved


@contextmanager
def irq_context(m: Machine, cpu: int | None = None) -> Iterator[None]:
    """A hardirq handler: interrupts off, irq_enter() ... irq_exit()."""
    with _on_cpu(m, cpu) as c:
        flags = m.irqs_off[c]
        set_irqs_off(m, True, c)
        preempt_count_add(m, HARDIRQ_OFFSET, c)           # irq_enter() -> __irq_enter_raw()
        try:
            yield
        finally:
            preempt_count_sub(m, HARDIRQ_OFFSET, c)       # irq_exit()
            set_irqs_off(m, flags, c)


@contextmanager
def nmi_context(m: Machine, cpu: int | None = None) -> Iterator[None]:
    """An NMI handler: __nmi_enter() adds NMI_OFFSET + HARDIRQ_OFFSET."""
    with _on_cpu(m, cpu) as c:
        flags = m.irqs_off[c]
        set_irqs_off(m, True, c)
        preempt_count_add(m, NMI_OFFSET + HARDIRQ_OFFSET, c)
        try:
            yield
        finally:
            preempt_count_sub(m, NMI_OFFSET + HARDIRQ_OFFSET, c)
            set_irqs_off(m, flags, c)


@contextmanager
def softirq_context(m: Machine, cpu: int | None = None) -> Iterator[None]:
    """A softirq handler: handle_softirqs() runs with SOFTIRQ_OFFSET and interrupts on."""
    with _on_cpu(m, cpu) as c:
        flags = m.irqs_off[c]
        preempt_count_add(m, SOFTIRQ_OFFSET, c)           # __local_bh_disable_ip(SOFTIRQ_OFFSET)
        set_irqs_off(m, False, c)
        try:
            yield
        finally:
            set_irqs_off(m, flags, c)
            preempt_count_sub(m, SOFTIRQ_OFFSET, c)


@contextmanager
def bh_disabled(m: Machine, cpu: int | None = None) -> Iterator[None]:
    """local_bh_disable() ... local_bh_enable()."""
    with _on_cpu(m, cpu) as c:
        preempt_count_add(m, SOFTIRQ_DISABLE_OFFSET, c)
        try:
            yield
        finally:
            # SIM: no pending softirqs to run on local_bh_enable().
            preempt_count_sub(m, SOFTIRQ_DISABLE_OFFSET, c)


@contextmanager
def preempt_disabled(m: Machine, cpu: int | None = None) -> Iterator[None]:
    """preempt_disable() ... preempt_enable()."""
    with _on_cpu(m, cpu) as c:
        preempt_count_add(m, PREEMPT_OFFSET, c)
        try:
            yield
        finally:
            # SIM: no scheduler, so preempt_enable() never reschedules.
            preempt_count_sub(m, PREEMPT_OFFSET, c)


@contextmanager
def local_irq_disabled(m: Machine, cpu: int | None = None) -> Iterator[None]:
    """local_irq_save(flags) ... local_irq_restore(flags)."""
    with _on_cpu(m, cpu) as c:
        flags = m.irqs_off[c]
        set_irqs_off(m, True, c)
        try:
            yield
        finally:
            set_irqs_off(m, flags, c)


def _spin_bug(m: Machine, lock: SpinLock, msg: str) -> None:
    """spin_bug() -> spin_dump(): the report, once (debug_locks_off())."""
    start = m.log.mark()
    if not m.debug_locks:
        return
    m.debug_locks = False
    m.printk(f"BUG: spinlock {msg} on CPU#{m._cpu}, {m.current_comm}/{m.current_pid}",
             level=0)
    owner = lock.owner
    # SIM: %pS of the lock prints its name; locks have no address in the model.
    m.printk(f" lock: {lock.name}+0x0/0x4, .magic: {lock.magic:08x}, .owner: "
             f"{owner[0] if owner else '<none>'}/{owner[1] if owner else -1}, "
             f".owner_cpu: {lock.owner_cpu}", level=0)
    m.debug.dump_stack()
    m.debug.report_block(start)


def spin_lock_acquire(m: Machine, lock: SpinLock) -> None:
    """do_raw_spin_lock() with debug_spin_lock_before()/after()."""
    if lock.magic != SPINLOCK_MAGIC:
        _spin_bug(m, lock, "bad magic")
    if lock.owner == (m.current_comm, m.current_pid):
        _spin_bug(m, lock, "recursion")
    elif lock.owner_cpu == m._cpu:
        _spin_bug(m, lock, "cpu recursion")
    if lock.locked:
        # SIM: on real hardware the CPU now spins forever; the model cannot wait for another
        # CPU to release the lock, so it refuses instead of deadlocking.
        raise MemsimError(f"spin_lock({lock.name}): deadlock, already held by "
                          f"{lock.owner} on CPU {lock.owner_cpu}")
    lock.owner = (m.current_comm, m.current_pid)
    lock.owner_cpu = m._cpu


def spin_lock_release(m: Machine, lock: SpinLock) -> None:
    """do_raw_spin_unlock() with debug_spin_unlock()."""
    if not lock.locked:
        m.printk(f"BUG: spinlock already unlocked on CPU#{m._cpu}, "
                 f"{m.current_comm}/{m.current_pid}", level=0)
        raise MemsimError(f"spin_unlock({lock.name}): not locked")
    lock.owner = None
    lock.owner_cpu = -1


@contextmanager
def spin_lock(m: Machine, lock: SpinLock, irqsave: bool = False, bh: bool = False,
              cpu: int | None = None) -> Iterator[None]:
    """spin_lock() / spin_lock_irqsave() / spin_lock_bh() ... and the matching unlock."""
    with _on_cpu(m, cpu) as c:
        flags = m.irqs_off[c]
        if irqsave:
            set_irqs_off(m, True, c)
        preempt_count_add(m, SOFTIRQ_DISABLE_OFFSET + PREEMPT_OFFSET if bh
                          else PREEMPT_OFFSET, c)
        try:
            spin_lock_acquire(m, lock)
        except BaseException:
            preempt_count_sub(m, SOFTIRQ_DISABLE_OFFSET + PREEMPT_OFFSET if bh
                              else PREEMPT_OFFSET, c)
            set_irqs_off(m, flags, c)
            raise
        try:
            yield
        finally:
            spin_lock_release(m, lock)
            preempt_count_sub(m, SOFTIRQ_DISABLE_OFFSET + PREEMPT_OFFSET if bh
                              else PREEMPT_OFFSET, c)
            set_irqs_off(m, flags, c)


# -- mutexes (kernel/locking/mutex.c, CONFIG_DEBUG_MUTEXES) ----------------------------------

MUTEX_LOCK_MIGHT_SLEEP_LINE = 283        # mutex_lock(): might_sleep()
MUTEX_UNLOCK_OWNER_WARN_LINE = 930       # __mutex_unlock_slowpath(): MUTEX_WARN_ON(owner)


@dataclass(slots=True)
class Mutex:
    """struct mutex: the owning task, or None."""

    name: str = "mutex"
    #: (comm, pid) of the owner
    owner: tuple[str, int] | None = None

    @property
    def locked(self) -> bool:
        return self.owner is not None


def mutex_lock(m: Machine, lock: Mutex) -> None:
    """mutex_lock(): might_sleep(), then take the lock (or sleep until it is free)."""
    might_sleep(m, "kernel/locking/mutex.c", MUTEX_LOCK_MIGHT_SLEEP_LINE)
    if lock.locked:
        # SIM: the task would sleep on the wait list until the owner unlocks; the model has
        # no other task to run, and a task re-locking its own mutex deadlocks for good (only
        # lockdep, which is off, would say so). Either way the model refuses.
        who = "this task" if lock.owner == (m.current_comm, m.current_pid) else \
            f"{lock.owner}"
        raise MemsimError(f"mutex_lock({lock.name}): would sleep forever, held by {who}")
    lock.owner = (m.current_comm, m.current_pid)


def mutex_trylock(m: Machine, lock: Mutex) -> bool:
    """mutex_trylock(): 1 if taken, 0 if it is held (never sleeps)."""
    if lock.locked:
        return False
    lock.owner = (m.current_comm, m.current_pid)
    return True


def mutex_unlock(m: Machine, lock: Mutex) -> None:
    """mutex_unlock(): releasing a mutex this task does not hold is the
    DEBUG_LOCKS_WARN_ON(__owner_task(owner) != current) warning; it is then released."""
    if lock.owner != (m.current_comm, m.current_pid):
        m.debug.warn_text("DEBUG_LOCKS_WARN_ON(__owner_task(owner) != current)",
                          "__mutex_unlock_slowpath", "kernel/locking/mutex.c",
                          MUTEX_UNLOCK_OWNER_WARN_LINE)
    lock.owner = None


# -- might_sleep -------------------------------------------------------------------------

def might_resched(m: Machine, file: str, line: int, offsets: int = 0) -> None:
    """__might_resched(): report a sleeping call from atomic context, once per HZ."""
    c = m._cpu
    pc = m.preempt_count[c]
    irqs = m.irqs_off[c]
    # SIM: the boot task (pid 0) stands for system_state == SYSTEM_BOOTING; no RCU
    # read-side sections and no non_block sections exist, so only preempt_count and the
    # interrupt flag decide.
    if (pc == offsets and not irqs) or m.current_pid == 0:
        return
    jiffies = m.clock_ns // _JIFFY_NS
    prev = m._might_resched_prev_jiffy
    if prev >= 0 and jiffies < prev + HZ:
        return
    m._might_resched_prev_jiffy = jiffies
    start = m.log.mark()
    m.printk(f"BUG: sleeping function called from invalid context at {file}:{line}", level=3)
    m.printk(f"in_atomic(): {int(pc != 0)}, irqs_disabled(): {int(irqs)}, non_block: 0, "
             f"pid: {m.current_pid}, name: {m.current_comm}", level=3)
    m.printk(f"preempt_count: {pc:x}, expected: {offsets & 0xFF:x}", level=3)
    m.printk("RCU nest depth: 0, expected: 0", level=3)    # CONFIG_PREEMPT_RCU
    # debug_show_held_locks() and print_irqtrace_events() are lockdep's (off), and
    # print_preempt_disable_ip() needs CONFIG_DEBUG_PREEMPT (off).
    m.debug.dump_stack()
    m.debug.taints.add(TAINT_WARN)                          # add_taint(TAINT_WARN)
    m.debug.report_block(start)


def might_sleep(m: Machine, file: str, line: int) -> None:
    """might_sleep() -> __might_sleep() (CONFIG_DEBUG_ATOMIC_SLEEP)."""
    if m._atomic_cpus:
        might_resched(m, file, line, 0)
