"""Execution contexts (kernel/sched.py): preempt_count, irqs, spinlocks, might_sleep."""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractContextManager

import pytest

from memsim.errors import KernelBug, MemsimError
from memsim.include.gfp import GFP_ATOMIC, GFP_KERNEL, GFP_NOWAIT
from memsim.kernel.sched import SpinLock
from memsim.machine import Machine
from memsim.mm import debug as mm_debug


def boot(strict: bool = False) -> Machine:
    return Machine.boot(arch="x86_64", mem="512M", cpus=2, strict=strict)


def report_lines(text: str) -> list[str]:
    return text.splitlines()


def expect_report(m: Machine, alloc: Callable[[], object], pc: int, irqs: int) -> None:
    """One allocation in the current context; the exact __might_resched() header."""
    m.clock_ns += 2_000_000_000              # past the once-per-HZ rate limit
    start = m.log.mark()
    alloc()
    lines = report_lines(m.log.since(start))
    assert lines[:4] == [
        "BUG: sleeping function called from invalid context at include/linux/sched/mm.h:321",
        f"in_atomic(): {int(pc != 0)}, irqs_disabled(): {irqs}, non_block: 0, pid: 1, "
        "name: memsim",
        f"preempt_count: {pc:x}, expected: 0",
        "RCU nest depth: 0, expected: 0",
    ]
    # add_taint(TAINT_WARN) comes after dump_stack(): the first report is "Not tainted"
    assert lines[4].startswith(f"CPU: {m.current_cpu} UID: 0 PID: 1 Comm: memsim ")
    assert "Call Trace:" in lines


def test_bit_layout_and_predicates() -> None:
    m = boot()
    assert m.in_task() and m.preemptible() and not m.in_atomic()
    with m.irq_context(cpu=1):
        assert m.current_cpu == 1
        assert m.preempt_count[1] == 0x10000
        assert m.in_irq() and m.in_hardirq() and m.in_interrupt() and m.irqs_disabled()
        assert not m.in_task() and not m.preemptible() and not m.in_softirq()
    assert m.current_cpu == 0 and m.preempt_count == [0, 0] and m.irqs_off == [False, False]
    with m.softirq_context():
        assert m.preempt_count[0] == 0x100
        assert m.in_softirq() and m.in_serving_softirq() and m.in_interrupt()
        assert not m.irqs_disabled() and not m.in_task()
    with m.nmi_context():
        assert m.preempt_count[0] == 0x110000 and m.in_nmi() and m.in_hardirq()
    with m.bh_disabled():
        assert m.preempt_count[0] == 0x200 and m.in_softirq() and m.in_task()
    with m.preempt_disabled():
        assert m.preempt_count[0] == 1 and m.in_atomic() and not m.in_interrupt()
    assert m._atomic_cpus == 0


def test_nesting_and_restore() -> None:
    m = boot()
    lock = SpinLock("test_lock")
    with m.preempt_disabled(cpu=1):
        with m.spin_lock(lock, irqsave=True):
            assert m.current_cpu == 1
            assert m.preempt_count[1] == 2 and m.irqs_disabled()
            with m.softirq_context(), m.irq_context():
                assert m.preempt_count[1] == 0x10102
            assert m.preempt_count[1] == 2 and m.irqs_disabled()   # softirq restored flags
            assert lock.owner == ("memsim", 1) and lock.owner_cpu == 1
        assert m.preempt_count[1] == 1 and not m.irqs_disabled()
        assert not lock.locked
        assert m._atomic_cpus == 1
    assert m.current_cpu == 0 and m._atomic_cpus == 0
    m.preempt_disable()
    m.local_irq_disable()
    assert m._atomic_cpus == 1 and not m.preemptible()
    m.preempt_enable()
    assert m._atomic_cpus == 1 and m.irqs_disabled()
    m.local_irq_enable()
    assert m._atomic_cpus == 0 and m.preemptible()
    with pytest.raises(MemsimError, match="unbalanced"):
        m.preempt_enable()
    # an exception in the body still restores the context
    with pytest.raises(ValueError), m.irq_context(cpu=1):
        raise ValueError
    assert m.current_cpu == 0 and m.preempt_count == [0, 0] and m._atomic_cpus == 0


@pytest.mark.kernel_report
def test_sleeping_alloc_reports_in_every_atomic_context() -> None:
    m = boot()
    s = m.kmem_cache_create("ctx", 64)
    lock = SpinLock()
    contexts: list[tuple[Callable[[], AbstractContextManager[None]], int, int]] = [
        (lambda: m.irq_context(cpu=1), 0x10000, 1),
        (lambda: m.softirq_context(), 0x100, 0),
        (lambda: m.preempt_disabled(), 1, 0),
        (lambda: m.spin_lock(lock), 1, 0),
        (lambda: m.spin_lock(lock, irqsave=True), 1, 1),
        (lambda: m.local_irq_disabled(), 0, 1),
    ]
    allocs: list[Callable[[], object]] = [
        lambda: m.kmalloc(64, GFP_KERNEL),
        lambda: m.alloc_pages(GFP_KERNEL),          # the order-0 pcp fast path
        lambda: m.alloc_pages(GFP_KERNEL, 3),       # __alloc_pages()
        lambda: m.kmem_cache_alloc(s, GFP_KERNEL),
        lambda: m.kmalloc(64 << 10, GFP_KERNEL),   # kmalloc_large
    ]
    for ctx, pc, irqs in contexts:
        for alloc in allocs:
            with ctx():
                expect_report(m, alloc, pc, irqs)
    assert len(m.debug.reports) == len(contexts) * len(allocs)
    assert mm_debug.TAINT_WARN in m.debug.taints


def test_no_report_for_atomic_gfp_or_process_context() -> None:
    m = boot()
    s = m.kmem_cache_create("ctx", 64)
    m.clock_ns += 2_000_000_000
    start = m.log.mark()
    for gfp in (GFP_ATOMIC, GFP_NOWAIT):
        with m.irq_context(cpu=1):
            assert m.kmalloc(64, gfp) is not None
            assert m.alloc_pages(gfp) is not None
            assert m.kmem_cache_alloc(s, gfp) is not None
    assert m.kmalloc(64, GFP_KERNEL) is not None
    assert m.alloc_pages(GFP_KERNEL) is not None
    assert m.log.since(start) == "" and m.debug.reports == []


@pytest.mark.kernel_report
def test_rate_limited_once_per_hz() -> None:
    m = boot()
    m.clock_ns += 2_000_000_000
    with m.preempt_disabled():
        m.might_sleep("mm/vmalloc.c", 3305)
        m.might_sleep("mm/vmalloc.c", 3305)
        m.clock_ns += 999_000_000
        m.might_sleep("mm/vmalloc.c", 3305)
        assert len(m.debug.reports) == 1
        m.clock_ns += 1_000_000
        m.might_sleep("mm/vmalloc.c", 3305)
    assert len(m.debug.reports) == 2
    assert m.debug.reports[1].startswith(
        "BUG: sleeping function called from invalid context at mm/vmalloc.c:3305\n")


@pytest.mark.kernel_report
def test_strict_mode_raises_and_restores_context() -> None:
    m = boot(strict=True)
    free_before = m.nr_free_pages() + m.nr_pcp_pages()
    with pytest.raises(KernelBug, match="sleeping function called from invalid context"), \
            m.irq_context(cpu=1):
        m.alloc_pages(GFP_KERNEL)
    assert m.nr_free_pages() + m.nr_pcp_pages() == free_before     # nothing leaked
    assert m.preempt_count == [0, 0] and m.current_cpu == 0 and m._atomic_cpus == 0


@pytest.mark.kernel_report
def test_spinlock_recursion() -> None:
    m = boot()
    lock = SpinLock("my_lock")
    start = m.log.mark()
    with m.spin_lock(lock, cpu=1), pytest.raises(MemsimError, match="deadlock"), \
            m.spin_lock(lock):
        pass
    lines = report_lines(m.log.since(start))
    assert lines[:2] == [
        "BUG: spinlock recursion on CPU#1, memsim/1",
        " lock: my_lock+0x0/0x4, .magic: dead4ead, .owner: memsim/1, .owner_cpu: 1",
    ]
    assert lines[2].startswith("CPU: 1 UID: 0 PID: 1 Comm: memsim")
    assert not lock.locked and m.preempt_count == [0, 0] and m._atomic_cpus == 0
    # debug_locks_off(): the spinlock debug report appears once per boot
    with m.spin_lock(lock), pytest.raises(MemsimError, match="deadlock"), m.spin_lock(lock):
        pass
    assert len(m.debug.reports) == 1


@pytest.mark.kernel_report
def test_spinlock_recursion_strict() -> None:
    m = boot(strict=True)
    lock = SpinLock()
    with m.spin_lock(lock), pytest.raises(KernelBug, match="spinlock recursion on CPU#0"), \
            m.spin_lock(lock):
        pass
    assert not lock.locked and m._atomic_cpus == 0


def test_pfmemalloc_reserves_follow_interrupt_context() -> None:
    from memsim.mm.page_alloc import ALLOC_NO_WATERMARKS, __gfp_pfmemalloc_flags

    m = boot()
    m.current_pf_memalloc = True
    assert __gfp_pfmemalloc_flags(m, GFP_ATOMIC) == ALLOC_NO_WATERMARKS
    with m.softirq_context():
        assert __gfp_pfmemalloc_flags(m, GFP_ATOMIC) == ALLOC_NO_WATERMARKS
    with m.irq_context():
        assert __gfp_pfmemalloc_flags(m, GFP_ATOMIC) == 0
    with m.bh_disabled():
        assert __gfp_pfmemalloc_flags(m, GFP_ATOMIC) == 0


@pytest.mark.kernel_report
def test_slab_allocator_reports_too() -> None:
    m = Machine.boot(settings={"slab": "slab"}, mem="512M", cpus=2)
    s = m.kmem_cache_create("ctx", 64)
    m.kmem_cache_free(s, m.kmem_cache_alloc(s, GFP_KERNEL))   # warm this CPU's array
    m.kfree(m.kmalloc(64, GFP_KERNEL))
    with m.spin_lock(SpinLock()):
        expect_report(m, lambda: m.kmalloc(64, GFP_KERNEL), 1, 0)
        expect_report(m, lambda: m.kmem_cache_alloc(s, GFP_KERNEL), 1, 0)
    assert len(m.debug.reports) == 2


@pytest.mark.kernel_report
def test_mutex_may_sleep_and_refuses_deadlock() -> None:
    from memsim.errors import MemsimError
    from memsim.kernel.sched import Mutex, SpinLock
    m = Machine.boot(mem="1G")
    mx = Mutex("tm")
    m.mutex_lock(mx)
    assert mx.owner == ("memsim", 1) and not m.mutex_trylock(mx)
    with pytest.raises(MemsimError, match="would sleep forever, held by this task"):
        m.mutex_lock(mx)
    m.mutex_unlock(mx)
    mark = m.log.mark()
    m.mutex_unlock(mx)
    assert "DEBUG_LOCKS_WARN_ON(__owner_task(owner) != current)" in m.log.since(mark)
    assert "at kernel/locking/mutex.c:930 __mutex_unlock_slowpath" in m.log.since(mark)
    mark = m.log.mark()
    with m.spin_lock(SpinLock("outer")):
        m.mutex_lock(mx)
    text = m.log.since(mark)
    assert "BUG: sleeping function called from invalid context at " \
        "kernel/locking/mutex.c:283" in text
    m.mutex_unlock(mx)
