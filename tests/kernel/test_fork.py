"""Kernel stacks (kernel/fork.py)."""

from __future__ import annotations

import pytest

from memsim.errors import KernelBug, MemsimError
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
    assert st is not None and st.order == order and st.pfn % (1 << order) == 0
    assert m.mem_map.refcount[st.pfn] == 1
    assert kernel_stack_kb(m) == 4 << order


def test_alloc_free_accounting_and_meminfo() -> None:
    m = Machine.boot(arch="x86_64", mem="512M", cpus=2, nodes=2)
    free0 = m.nr_free_pages() + m.nr_pcp_pages()
    stacks = [m.alloc_task_stack(node=n % 2) for n in range(5)]
    assert all(s is not None for s in stacks)
    assert [s.node for s in stacks if s] == [0, 1, 0, 1, 0]
    assert [pg.vm_stat[NodeStatItem.NR_KERNEL_STACK_KB] for pg in m.nodes] == [48, 32]
    assert "KernelStack:          80 kB" in meminfo_proc_show(m)
    assert m.nr_free_pages() + m.nr_pcp_pages() == free0 - 5 * 4
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
    st.use(m, 108)
    assert st.corrupted and st.max_depth == 16384
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
