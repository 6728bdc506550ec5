"""
Per-CPU IRQ stacks: irq_init_percpu_irqstack() (6.12 arch/x86/kernel/irq_64.c, irq_32.c).

* x86_64: one hardirq stack per CPU, IRQ_STACK_SIZE (16 KiB, order 2), which softirqs
  share (do_softirq_own_stack() runs on it). Its backing store is the per-CPU variable
  ``irq_stack_backing_store`` in the CPU's unit of the first per-cpu chunk; with
  CONFIG_VMAP_STACK ``map_irq_stack()`` re-maps those pages with
  ``vmap(pages, IRQ_STACK_SIZE / PAGE_SIZE, VM_MAP, PAGE_KERNEL)`` so that guard pages
  surround it (vmallocinfo: ``20480 irq_init_percpu_irqstack+0xed/0x120 vmap``, as in the
  real 6.18 sample). An overflow below it is "BUG: IRQ stack guard page was hit at ...".
* i386: separate hardirq and softirq stacks per CPU, each THREAD_SIZE from
  ``alloc_pages_node(cpu_to_node(cpu), THREADINFO_GFP, THREAD_SIZE_ORDER)``, with no guard
  page (an overflow silently corrupts the memory below).

Neither is counted in NR_KERNEL_STACK_KB (only task stacks go through
account_kernel_stack()); the x86_64 pages are per-cpu memory (reserved at boot), the i386
ones plain allocated pages. The stacks are TaskStack objects (kernel/fork.py) with kind
"IRQ" / "SOFTIRQ", so ``use()``/``release()`` model their depth the same way.

The kernel sets the stacks up while bringing each CPU up; the model does it for all CPUs at
boot, right after vmalloc and the per-cpu allocator exist, so they are the first vmalloc
areas as in the sample. SIM: the backing store sits at offset 0 of the CPU's per-cpu unit.
arm and arm64 IRQ stacks are not modelled.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from memsim.arch import PAGE_SHIFT, PAGE_SIZE
from memsim.errors import MemsimError
from memsim.kernel import fork
from memsim.mm.vmalloc import VM_MAP

if TYPE_CHECKING:
    from memsim.machine import Machine

#: arch/x86/include/asm/page_64_types.h (no KASAN): IRQ_STACK_ORDER 2
IRQ_STACK_SIZE_X86_64 = PAGE_SIZE << 2

#: %pS of vmap()'s caller for the x86_64 IRQ stacks (6.18 x86_64 /proc/vmallocinfo sample)
IRQ_STACK_VMAP_CALLER = "irq_init_percpu_irqstack+0xed/0x120"


def irq_stack_size(m: Machine) -> int:
    """IRQ_STACK_SIZE: 16 KiB on x86_64, THREAD_SIZE on i386."""
    return IRQ_STACK_SIZE_X86_64 if m.arch.name == "x86_64" else fork.thread_size(m)


def _map_irq_stack(m: Machine, cpu: int) -> fork.TaskStack:
    """x86_64 map_irq_stack() (CONFIG_VMAP_STACK)."""
    phys = m.percpu_unit_phys.get(cpu)
    if phys is None:
        raise MemsimError(f"cpu {cpu} has no per-cpu unit to hold its IRQ stack")
    size = IRQ_STACK_SIZE_X86_64
    pages = [(phys >> PAGE_SHIFT) + i for i in range(size // PAGE_SIZE)]
    va = m.vmalloc_state.vmap(pages, VM_MAP, IRQ_STACK_VMAP_CALLER)
    if va is None:
        raise MemsimError(f"map_irq_stack: vmap failed for cpu {cpu}")
    return fork.TaskStack(pfn=pages[0], order=2, node=m.cpu_to_node[cpu], size=size,
                          addr=va, vmap=True, pages=pages, kind="IRQ")


def _alloc_irq_stack_32(m: Machine, cpu: int, kind: str) -> fork.TaskStack:
    """i386: one alloc_pages_node(node, THREADINFO_GFP, THREAD_SIZE_ORDER)."""
    order = fork.thread_size_order(m)
    pfn = m.alloc_pages_node(m.cpu_to_node[cpu], fork.THREADINFO_GFP, order)
    if pfn is None:
        raise MemsimError(f"irq_init_percpu_irqstack: no memory for cpu {cpu}")
    return fork.TaskStack(pfn=pfn, order=order, node=m.page_zone(pfn).node,
                          size=fork.thread_size(m), addr=m.page_address(pfn) or 0, kind=kind)


def irq_init_percpu_irqstack(m: Machine, cpu: int) -> tuple[fork.TaskStack, fork.TaskStack]:
    """irq_init_percpu_irqstack(cpu): (hardirq stack, softirq stack)."""
    if m.arch.name == "x86_64":
        st = _map_irq_stack(m, cpu)
        return st, st
    if m.arch.name == "i386":
        hard = _alloc_irq_stack_32(m, cpu, "IRQ")
        return hard, _alloc_irq_stack_32(m, cpu, "SOFTIRQ")
    raise MemsimError(f"IRQ stacks are modelled for x86 only, not {m.arch.name}")


def irq_stacks(m: Machine) -> list[tuple[fork.TaskStack, fork.TaskStack]]:
    """Every CPU's IRQ stacks (set up once, at boot)."""
    ks = fork.kernel_stacks(m)
    if not ks.irq:
        ks.irq = [irq_init_percpu_irqstack(m, cpu) for cpu in range(m.nr_cpus)]
    return ks.irq


def irq_stack(m: Machine, cpu: int | None = None, softirq: bool = False) -> fork.TaskStack:
    """The hardirq (or, with *softirq*, the softirq) stack of *cpu* (default: this CPU)."""
    c = m.current_cpu if cpu is None else cpu
    if not 0 <= c < m.nr_cpus:
        raise MemsimError(f"cpu {c} does not exist (machine has {m.nr_cpus} CPUs)")
    hard, soft = irq_stacks(m)[c]
    return soft if softirq else hard
