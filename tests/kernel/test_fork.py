"""Kernel stacks (kernel/fork.py)."""

from __future__ import annotations

import pytest

from memsim.errors import ConfigError, KernelBug, MemsimError
from memsim.fs.proc.meminfo import meminfo_proc_show
from memsim.include.vmstat_items import NodeStatItem
from memsim.kernel import fork
from memsim.machine import Machine
from memsim.mm import debug as mm_debug


def kernel_stack_kb(m: Machine) -> int:
    return sum(pg.vm_stat[NodeStatItem.NR_KERNEL_STACK_KB] for pg in m.nodes)


@pytest.mark.parametrize(("arch", "order"), [("x86_64", 2), ("i386", 1), ("arm64", 2),
                                             ("arm", 1)])
def test_thread_size(arch: str, order: int) -> None:
    m = Machine.boot(arch=arch, mem="256M", cpus=1)
    assert fork.thread_size_order(m) == order and fork.thread_size(m) == 4096 << order
    st = m.alloc_task_stack()
    assert st is not None and st.order == order and st.size == 4096 << order
    assert st.vmap == (arch in ("x86_64", "arm64"))
    if not st.vmap:
        assert st.pfn % (1 << order) == 0 and m.mem_map.refcount[st.pfn] == 1
    assert kernel_stack_kb(m) == 4 << order


def test_alloc_free_accounting_and_meminfo() -> None:
    m = Machine.boot(arch="arm", mem="512M", cpus=2, nodes=2)
    free0 = m.nr_free_pages() + m.nr_pcp_pages()
    stacks = [m.alloc_task_stack(node=n % 2) for n in range(5)]
    assert all(s is not None for s in stacks)
    assert [s.node for s in stacks if s] == [0, 1, 0, 1, 0]
    assert [pg.vm_stat[NodeStatItem.NR_KERNEL_STACK_KB] for pg in m.nodes] == [24, 16]
    assert "KernelStack:          40 kB" in meminfo_proc_show(m)
    assert m.nr_free_pages() + m.nr_pcp_pages() == free0 - 5 * 2
    for s in stacks:
        assert s is not None
        m.free_task_stack(s)
    assert kernel_stack_kb(m) == 0
    assert m.nr_free_pages() + m.nr_pcp_pages() == free0
    assert stacks[0] is not None
    with pytest.raises(MemsimError, match="already freed"):
        m.free_task_stack(stacks[0])


def test_stack_overrun_report() -> None:
    m = Machine.boot(arch="x86_64", mem="256M", cpus=1)
    st = m.alloc_task_stack()
    assert st is not None
    st.use(m, 16384 - 8)               # up to, not over, the STACK_END_MAGIC word
    assert not st.corrupted and m.debug.reports == []
    st.release(100)
    start = m.log.mark()
    st.use(m, 104)                     # onto the magic word, not below the base
    assert st.corrupted and st.max_depth == 16380
    lines = m.log.since(start).splitlines()
    assert lines[0] == "Thread overran stack, or stack corrupted"
    assert lines[1].startswith("CPU: 0 UID: 0 PID: 1 Comm: memsim")
    assert len(m.debug.reports) == 1
    assert mm_debug.TAINT_WARN not in m.debug.taints
    with pytest.raises(MemsimError):
        st.release(1 << 20)


def test_stack_overrun_strict() -> None:
    m = Machine.boot(arch="i386", mem="256M", cpus=1, strict=True)
    st = m.alloc_task_stack()
    assert st is not None
    with pytest.raises(KernelBug, match="Thread overran stack"):
        st.use(m, 8192)


# ---------------------------------------------------------------- CONFIG_VMAP_STACK


def test_vmap_stack_in_vmalloc_range_with_guard_below_and_above() -> None:
    m = Machine.boot(arch="x86_64", mem="256M", cpus=1)
    st = m.vmalloc_state
    stacks = [m.alloc_task_stack() for _ in range(3)]
    for s in stacks:
        assert s is not None and s.vmap
        assert st.vmalloc_start <= s.addr < s.addr + s.size <= st.vmalloc_end
        assert s.addr % fork.thread_size(m) == 0          # THREAD_ALIGN
        assert m.is_vmalloc_addr(s.addr)
        assert [m.vmalloc_to_page(s.addr + i * 4096) for i in range(4)] == s.pages
        assert not m.vmalloc_pte_walk(s.addr - 8).present           # below the base
        assert not m.vmalloc_pte_walk(s.addr + s.size).present      # its own guard page
    # 16 KiB + guard, aligned to 16 KiB: one stack every 32 KiB
    assert [s.addr - stacks[0].addr for s in stacks if s] == [0, 0x8000, 0x10000]


def test_vmap_stack_vmallocinfo_line() -> None:
    m = Machine.boot(arch="x86_64", mem="256M", cpus=1)
    s = m.alloc_task_stack()
    assert s is not None
    lines = m.proc("vmallocinfo").splitlines()
    # the boot CPU's vmap'd IRQ stack is the first area, the task stack the next
    assert lines[0].endswith("   20480 irq_init_percpu_irqstack+0xed/0x120 vmap")
    assert f"0x{s.addr:016x}-0x{s.addr + 20480:016x}   20480 " \
        "kernel_clone+0xb8/0x400 pages=4 vmalloc N0=4" in lines


@pytest.mark.parametrize(("arch", "kb"), [("x86_64", 16), ("arm64", 16), ("i386", 8)])
def test_kernel_stack_accounting(arch: str, kb: int) -> None:
    m = Machine.boot(arch=arch, mem="256M", cpus=1)
    stacks = [m.alloc_task_stack() for _ in range(3)]
    assert kernel_stack_kb(m) == 3 * kb
    assert f"KernelStack:    {3 * kb:8d} kB" in meminfo_proc_show(m)
    for s in stacks:
        assert s is not None
        m.free_task_stack(s)
    assert kernel_stack_kb(m) == 0


def test_vmap_stack_cache_reuse() -> None:
    m = Machine.boot(arch="x86_64", mem="256M", cpus=2)
    vm = m.vmalloc_state
    a, b, c = (m.alloc_task_stack() for _ in range(3))
    assert a is not None and b is not None and c is not None
    m.kernel_write(a.addr + 100, b"stale")
    pages0 = vm.nr_vmalloc_pages
    for s in (a, b, c):
        m.free_task_stack(s)
    # two cached on CPU 0, the third vfree()d
    assert fork.kernel_stacks(m).cached[0] == [a.addr, b.addr]
    assert vm.nr_vmalloc_pages == pages0 - 4 and vm.find_vm_area(c.addr) is None
    assert kernel_stack_kb(m) == 0
    d = m.alloc_task_stack()
    assert d is not None and d.addr == a.addr and d.pages == a.pages
    assert m.kernel_read(d.addr + 100, 5) == bytes(5)          # zeroed on reuse
    assert kernel_stack_kb(m) == 16 and vm.nr_vmalloc_pages == pages0 - 4
    m.current_cpu = 1                      # CPU 1's cache is empty: a new area
    e = m.alloc_task_stack()
    assert e is not None and e.addr not in (a.addr, b.addr)
    assert fork.free_vm_stack_cache(m, 0) == 1
    assert fork.kernel_stacks(m).cached[0] == [None, None]


@pytest.mark.kernel_report
def test_vmap_stack_guard_page_hit() -> None:
    m = Machine.boot(arch="x86_64", mem="256M", cpus=1)
    s = m.alloc_task_stack()
    assert s is not None
    s.use(m, 16000)
    start = m.log.mark()
    s.use(m, 1000)
    lines = m.log.since(start).splitlines()
    assert lines[0] == (f"BUG: TASK stack guard page was hit at {s.addr - 8:016x} "
                        f"(stack is {s.addr:016x}..{s.addr + 16384:016x})")
    assert lines[1] == "Oops: stack guard page: 0000 [#1] PREEMPT SMP NOPTI"
    assert lines[2].startswith("CPU: 0 UID: 0 PID: 1 Comm: memsim")
    assert "Thread overran stack" not in m.log.since(start)
    assert "D" in m.debug.taints and len(m.debug.reports) == 1
    assert s.overflowed and s.depth == 16384
    with pytest.raises(MemsimError, match="died"):
        s.use(m, 8)
    m.free_task_stack(s)                   # state stays consistent: the stack frees
    assert kernel_stack_kb(m) == 0


@pytest.mark.kernel_report
def test_vmap_stack_guard_page_hit_strict() -> None:
    m = Machine.boot(arch="x86_64", mem="256M", cpus=1, strict=True)
    s = m.alloc_task_stack()
    assert s is not None
    with pytest.raises(KernelBug, match="TASK stack guard page was hit"):
        s.use(m, 20000)


# ---------------------------------------------------------------- IRQ stacks


@pytest.mark.kernel_report
def test_irq_stacks_x86_64() -> None:
    m = Machine.boot(arch="x86_64", mem="256M", cpus=2)
    st0, st1 = m.irq_stack(0), m.irq_stack(1)
    assert st0 is not st1 and m.irq_stack(0, softirq=True) is st0   # softirq shares it
    for cpu, s in enumerate((st0, st1)):
        assert s.kind == "IRQ" and s.size == 16384 and s.vmap
        assert m.is_vmalloc_addr(s.addr)
        assert m.vmalloc_to_page(s.addr) == m.percpu_unit_phys[cpu] >> 12
        assert not m.vmalloc_pte_walk(s.addr + s.size).present
    info = [ln for ln in m.proc("vmallocinfo").splitlines() if "irq_init" in ln]
    assert len(info) == 2
    assert info[0].endswith("   20480 irq_init_percpu_irqstack+0xed/0x120 vmap")
    assert kernel_stack_kb(m) == 0                  # not counted in KernelStack
    with m.irq_context(cpu=1):
        cur = m.current_irq_stack()
        assert cur is st1
        cur.use(m, 4096)
    assert m.current_irq_stack() is None
    assert st1.depth == 4096 and m.debug.reports == []
    start = m.log.mark()
    st1.use(m, 16384)
    assert m.log.since(start).startswith(
        f"BUG: IRQ stack guard page was hit at {st1.addr - 8:016x} "
        f"(stack is {st1.addr:016x}..{st1.addr + 16384:016x})")
    with pytest.raises(MemsimError, match="per-CPU"):
        m.free_task_stack(st0)


def test_irq_stacks_i386() -> None:
    m = Machine.boot(arch="i386", mem="256M", cpus=2)
    hard, soft = m.irq_stack(1), m.irq_stack(1, softirq=True)
    assert hard is not soft and (hard.kind, soft.kind) == ("IRQ", "SOFTIRQ")
    assert hard.size == soft.size == 8192 and not hard.vmap
    # set up at boot: 2 CPUs x (hardirq + softirq) x 2 pages, each an allocated block
    stacks = [st for pair in fork.kernel_stacks(m).irq for st in pair]
    assert len(stacks) == 4 and all(m.page_count(m.virt_to_pfn(st.addr)) == 1
                                    for st in stacks)
    assert kernel_stack_kb(m) == 0
    with m.softirq_context(cpu=1):
        assert m.current_irq_stack() is soft
    soft.use(m, 9000)                      # no guard page: silent
    assert soft.overflowed and m.debug.reports == []


def test_irq_stack_in_irq_context_is_the_boot_one() -> None:
    m = Machine.boot(arch="x86_64", mem="256M", cpus=1)
    boot_stack = m.irq_stack(0)
    with m.irq_context(cpu=0):
        assert m.current_irq_stack() is boot_stack
    assert m.debug.reports == []


# ---------------------------------------------------------------- 2.6-era thread_info


def test_thread_info_on_stack_mask() -> None:
    m = Machine.boot(arch="i386", mem="256M", cpus=1)
    s = m.alloc_task_stack(thread_info_on_stack=True)
    assert s is not None and s.thread_info_on_stack and s.thread_info_size == 56
    assert s.addr % 8192 == 0 and s.end_of_stack == s.addr + 56
    for depth in (4, 100, 4000, 8192 - 56):     # sp inside the block
        s.depth = depth
        assert fork.current_thread_info(s.sp, 8192) == s.addr
    assert fork.current_thread_info(0xC2011FF0, 8192) == 0xC2010000
    assert fork.current_thread_info(0xC2011FF0, 4096) == 0xC2011000     # 4K stacks
    x = m.alloc_task_stack(thread_info_on_stack=True)     # x86_64: forces the page path
    assert x is not None and not x.vmap


def test_thread_info_on_stack_overflow() -> None:
    m = Machine.boot(arch="i386", mem="256M", cpus=1)
    s = m.alloc_task_stack(thread_info_on_stack=True)
    assert s is not None
    s.use(m, 8192 - 56 - 4)                # down to the magic word above thread_info
    assert not s.corrupted and m.debug.reports == []
    s.use(m, 4)                            # the magic word
    assert s.corrupted and not s.thread_info_corrupted
    assert m.log.since(0).count("Thread overran stack, or stack corrupted") == 1
    s.use(m, 20)                           # into thread_info itself
    assert s.thread_info_corrupted and len(m.debug.reports) == 1


def test_i386_4kstacks_option() -> None:
    m = Machine.boot(arch="i386", mem="1G", settings={"4kstacks": True})
    st = m.alloc_task_stack()
    assert st is not None and st.size == 4096
    m.free_task_stack(st)
    with pytest.raises(ConfigError, match="4kstacks: expected true or false"):
        Machine.boot(arch="i386", mem="1G", settings={"4kstacks": "maybe"})
