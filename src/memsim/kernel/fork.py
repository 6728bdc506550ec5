"""
Kernel stacks: alloc_thread_stack_node() / free_thread_stack() (6.12 kernel/fork.c).

THREAD_SIZE per architecture (arch/*/include/asm/page_*_types.h, thread_info.h); stacks come
from the page allocator as ``alloc_pages_node(node, THREADINFO_GFP, THREAD_SIZE_ORDER)`` and
are accounted in NR_KERNEL_STACK_KB (meminfo ``KernelStack:``).

SIM: CONFIG_VMAP_STACK (the default on x86-64 and arm64) is not modelled yet: it needs
vmalloc areas with guard pages, the per-CPU cache of two freed stacks (NR_CACHED_STACKS) and
per-page accounting. Every architecture uses the non-vmap path here, as a kernel built
without VMAP_STACK does. No KASAN (which doubles THREAD_SIZE on x86-64 and arm64).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from memsim.arch import PAGE_SHIFT
from memsim.errors import MemsimError
from memsim.include.gfp import __GFP_ZERO, GFP_KERNEL_ACCOUNT
from memsim.include.vmstat_items import NodeStatItem
from memsim.mm.vmstat import mod_node_page_state

if TYPE_CHECKING:
    from memsim.machine import Machine

#: include/linux/thread_info.h
THREADINFO_GFP = GFP_KERNEL_ACCOUNT | __GFP_ZERO

#: THREAD_SIZE_ORDER per architecture (6.12, no KASAN): x86-64 16 KiB, i386 8 KiB,
#: arm64 16 KiB (MIN_THREAD_SHIFT 14 with 4 KiB pages), arm 8 KiB
THREAD_SIZE_ORDER = {"x86_64": 2, "i386": 1, "arm64": 2, "arm": 1}

#: include/uapi/linux/magic.h: the word at end_of_stack() (the lowest address)
STACK_END_MAGIC = 0x57AC6E9D


def thread_size_order(m: Machine) -> int:
    return THREAD_SIZE_ORDER[m.arch.name]


def thread_size(m: Machine) -> int:
    """THREAD_SIZE in bytes."""
    return 1 << (PAGE_SHIFT + thread_size_order(m))


@dataclass(slots=True)
class TaskStack:
    """One task's kernel stack (task_struct::stack) and a model of how deep it is used."""

    pfn: int
    order: int
    node: int
    size: int
    #: bytes of stack in use now and at most (the stack grows down from the top)
    depth: int = 0
    max_depth: int = 0
    #: STACK_END_MAGIC overwritten (task_stack_end_corrupted())
    corrupted: bool = False
    freed: bool = False

    def use(self, m: Machine, nbytes: int) -> None:
        """Push *nbytes* of frames; writing over end_of_stack() corrupts the end marker."""
        if nbytes < 0:
            raise MemsimError(f"stack use of {nbytes} bytes: use release() to pop frames")
        self.depth += nbytes
        self.max_depth = max(self.max_depth, self.depth)
        word = m.arch.bits // 8
        if self.depth > self.size - word and not self.corrupted:
            self.corrupted = True
            # SIM: the kernel notices a corrupted end marker only at its next check
            # (__might_resched(), or schedule_debug()'s panic with SCHED_STACK_END_CHECK);
            # the model reports when the write happens, with the same line.
            start = m.log.mark()
            m.printk("Thread overran stack, or stack corrupted", level=0)   # pr_emerg
            m.debug.dump_stack()
            m.debug.report_block(start)

    def release(self, nbytes: int) -> None:
        """Pop *nbytes* of frames."""
        if nbytes < 0 or nbytes > self.depth:
            raise MemsimError(f"stack release of {nbytes} bytes with {self.depth} in use")
        self.depth -= nbytes


def account_kernel_stack(m: Machine, stack: TaskStack, account: int) -> None:
    """account_kernel_stack(): NR_KERNEL_STACK_KB of the stack's node, in KiB."""
    mod_node_page_state(m.nodes[stack.node], NodeStatItem.NR_KERNEL_STACK_KB,
                        account * (stack.size // 1024))


def alloc_thread_stack_node(m: Machine, node: int = -1) -> TaskStack | None:
    """alloc_thread_stack_node() (!CONFIG_VMAP_STACK, THREAD_SIZE >= PAGE_SIZE)."""
    order = thread_size_order(m)
    pfn = m.alloc_pages_node(node, THREADINFO_GFP, order)
    if pfn is None:
        return None
    stack = TaskStack(pfn=pfn, order=order, node=m.page_zone(pfn).node,
                      size=thread_size(m))
    account_kernel_stack(m, stack, 1)
    return stack


def free_thread_stack(m: Machine, stack: TaskStack) -> None:
    """free_thread_stack(): unaccount and __free_pages() the stack."""
    if stack.freed:
        raise MemsimError(f"free_task_stack: stack at pfn {stack.pfn:#x} already freed")
    stack.freed = True
    account_kernel_stack(m, stack, -1)
    m.free_pages_pfn(stack.pfn, stack.order)
