"""
Kernel stacks: alloc_thread_stack_node() / free_thread_stack() (6.12 kernel/fork.c).

THREAD_SIZE per architecture (arch/*/include/asm/page_*_types.h, thread_info.h). Which
allocation path a machine uses is decided by its architecture, as the default configs do:

* CONFIG_VMAP_STACK (x86_64, arm64): each stack is a vmalloc area,
  ``__vmalloc_node_range(THREAD_SIZE, THREAD_ALIGN, VMALLOC_START, VMALLOC_END,
  THREADINFO_GFP & ~__GFP_ACCOUNT, PAGE_KERNEL, 0, node, caller)``. The area is followed by
  its vmalloc guard page, and the page just below the stack base is unmapped too (the guard
  page of the area before it, or a hole left by THREAD_ALIGN), so a stack that grows below
  its base faults at once: ``handle_stack_overflow()`` (arch/x86/kernel/traps.c) prints
  "BUG: TASK stack guard page was hit at ..." and die()s with "Oops: stack guard page".
  Freed stacks go to a per-CPU cache of NR_CACHED_STACKS (2) vm areas and are reused
  (zeroed) by the next allocation on that CPU; only when the cache is full are they
  vfree()d. NR_KERNEL_STACK_KB is accounted per page (each page's own node).
* Without VMAP_STACK (i386, arm): ``alloc_pages_node(node, THREADINFO_GFP,
  THREAD_SIZE_ORDER)``, accounted as a whole in the node of the block; no guard page, so an
  overflow runs silently into the memory below. The check that catches it is the
  STACK_END_MAGIC word at end_of_stack(): "Thread overran stack, or stack corrupted".
* The textbooks' 2.6-era layout (``thread_info_on_stack=True``): ``struct thread_info``
  sits at the lowest address of the THREAD_SIZE block, ``current_thread_info()`` is the
  stack pointer masked with ``~(THREAD_SIZE - 1)``, and end_of_stack() (the magic word) is
  just above thread_info, so an overflow overwrites the magic and then thread_info itself.
  This layout predates VMAP_STACK (both changed in 4.9), so it always uses the page path.

The vmallocinfo caller of a stack is ``kernel_clone+0xb8/0x400``, as in the real 6.18
sample (alloc_thread_stack_node, dup_task_struct and copy_process are inlined into
kernel_clone, so that is what %pS of __builtin_return_address(0) names).

SIM: no KASAN (which doubles THREAD_SIZE on x86-64 and arm64) and no memcg (the per-page
memcg_charge_kernel_stack() of vmap stacks is not modelled). arm (32-bit) can use
VMAP_STACK in 6.x; the model follows a config without it. The RCU grace period of
thread_stack_delayed_free() elapses at once: the freed stack goes to the cache of the
freeing CPU (or vfree()) in the caller's context.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from memsim.arch import PAGE_SHIFT, PAGE_SIZE
from memsim.errors import MemsimError
from memsim.include.gfp import __GFP_ACCOUNT, __GFP_ZERO, GFP_KERNEL_ACCOUNT
from memsim.include.vmstat_items import NodeStatItem
from memsim.mm.vmstat import mod_node_page_state

if TYPE_CHECKING:
    from memsim.machine import Machine

#: include/linux/thread_info.h
THREADINFO_GFP = GFP_KERNEL_ACCOUNT | __GFP_ZERO

#: THREAD_SIZE_ORDER per architecture (6.12, no KASAN): x86-64 16 KiB, i386 8 KiB,
#: arm64 16 KiB (MIN_THREAD_SHIFT 14 with 4 KiB pages), arm 8 KiB
THREAD_SIZE_ORDER = {"x86_64": 2, "i386": 1, "arm64": 2, "arm": 1}

#: architectures whose default config has CONFIG_VMAP_STACK=y (in the model)
VMAP_STACK_ARCHES = frozenset({"x86_64", "arm64"})

#: kernel/fork.c: freed vmap stacks cached per CPU
NR_CACHED_STACKS = 2

#: include/uapi/linux/magic.h: the word at end_of_stack() (the lowest address)
STACK_END_MAGIC = 0x57AC6E9D

#: %pS of the vmalloc caller of a task stack (6.18 x86_64 /proc/vmallocinfo sample)
STACK_VMALLOC_CALLER = "kernel_clone+0xb8/0x400"

#: sizeof(struct thread_info) of the 2.6-era layout (task, exec_domain, flags, status, cpu,
#: preempt_count, addr_limit, restart_block, ...). SIM: approximate 2.6.32 sizes.
OLD_THREAD_INFO_SIZE = {32: 56, 64: 104}


def thread_size_order(m: Machine) -> int:
    """THREAD_SIZE_ORDER; i386 with ``4kstacks=true`` is the 2.6-era CONFIG_4KSTACKS (removed in
    2.6.37), one page per task stack."""
    if m.arch.name == "i386" and m.config["4kstacks"]:
        return 0
    return THREAD_SIZE_ORDER[m.arch.name]


def thread_size(m: Machine) -> int:
    """THREAD_SIZE in bytes."""
    return 1 << (PAGE_SHIFT + thread_size_order(m))


def vmap_stack(m: Machine) -> bool:
    """IS_ENABLED(CONFIG_VMAP_STACK) for the machine's architecture."""
    return m.arch.name in VMAP_STACK_ARCHES


def current_thread_info(sp: int, size: int) -> int:
    """2.6-era current_thread_info(): ``sp & ~(THREAD_SIZE - 1)``, the stack's lowest
    address, where struct thread_info sits."""
    return sp & ~(size - 1)


@dataclass(slots=True)
class KernelStacks:
    """Per-machine stack state: the vmap stack cache and the IRQ stacks."""

    #: cached_stacks[cpu][i]: vmalloc address of a cached vm area, or None
    cached: list[list[int | None]]
    #: per CPU: (hardirq stack, softirq stack) -- the same object on x86_64
    irq: list[tuple[TaskStack, TaskStack]] = field(default_factory=list)


def kernel_stacks(m: Machine) -> KernelStacks:
    ks = m.kernel_stacks
    if ks is None:
        ks = m.kernel_stacks = KernelStacks(
            cached=[[None] * NR_CACHED_STACKS for _ in range(m.nr_cpus)])
    return ks


@dataclass(slots=True)
class TaskStack:
    """One kernel stack (task_struct::stack, or a per-CPU IRQ stack) and a model of how
    deep it is used. The stack grows down from ``addr + size``."""

    #: first page (vm->pages[0] for a vmap stack)
    pfn: int
    order: int
    node: int
    size: int
    #: kernel virtual address of the lowest byte (task_stack_page())
    addr: int = 0
    #: a vmalloc/vmap area with unmapped pages around it (CONFIG_VMAP_STACK)
    vmap: bool = False
    #: the backing pages of a vmap stack (vm->pages)
    pages: list[int] = field(default_factory=list)
    #: stack_type_name(): "TASK", "IRQ" or "SOFTIRQ"
    kind: str = "TASK"
    #: the 2.6-era layout: struct thread_info at the bottom of the stack
    thread_info_on_stack: bool = False
    #: sizeof(struct thread_info) at the bottom of the stack (old layout), else 0
    thread_info_size: int = 0
    #: bytes of stack in use now and at most
    depth: int = 0
    max_depth: int = 0
    #: STACK_END_MAGIC overwritten (task_stack_end_corrupted())
    corrupted: bool = False
    #: thread_info (old layout) overwritten
    thread_info_corrupted: bool = False
    #: the guard page below the stack was hit; the task died (make_task_dead())
    overflowed: bool = False
    freed: bool = False

    @property
    def sp(self) -> int:
        """The stack pointer: the lowest byte in use (the top when the stack is empty)."""
        return self.addr + self.size - self.depth

    @property
    def end_of_stack(self) -> int | None:
        """end_of_stack(): the STACK_END_MAGIC word (None for IRQ stacks, which have none)."""
        if self.kind != "TASK":
            return None
        return self.addr + self.thread_info_size

    def use(self, m: Machine, nbytes: int) -> None:
        """Push *nbytes* of frames. Writing over end_of_stack() corrupts the end marker
        (reported as the kernel's check would); on a vmap stack, going below the base hits
        the unmapped page there (handle_stack_overflow())."""
        if nbytes < 0:
            raise MemsimError(f"stack use of {nbytes} bytes: use release() to pop frames")
        if self.overflowed:
            raise MemsimError(f"{self.kind} stack at {self.addr:#x}: its task died on a "
                              "stack overflow")
        if self.freed:
            raise MemsimError(f"{self.kind} stack at {self.addr:#x} is freed")
        word = m.arch.bits // 8
        new = self.depth + nbytes
        if self.vmap and new > self.size:
            fault = self.addr - word
            if m.vmalloc_state.pte.get(fault >> PAGE_SHIFT) is None:
                # SIM: frames are pushed a word at a time, so the first access that
                # faults is the word just below the stack base.
                self.depth = self.max_depth = self.size
                self.corrupted = self.kind == "TASK"
                self.overflowed = True
                handle_stack_overflow(m, self.kind, fault, self.addr, self.addr + self.size)
                return
        self.depth = new
        self.max_depth = max(self.max_depth, new)
        end = self.end_of_stack
        if self.thread_info_on_stack and self.sp < self.addr + self.thread_info_size:
            # SIM: nothing reads the overwritten thread_info in the model; in a 2.6 kernel
            # its preempt_count, flags and task pointer are garbage from here on.
            self.thread_info_corrupted = True
        if end is not None and self.sp < end + word and not self.corrupted:
            self.corrupted = True
            # SIM: the kernel notices a corrupted end marker only at its next check
            # (__might_resched(), or schedule_debug()'s panic with SCHED_STACK_END_CHECK);
            # the model reports when the write happens, with the same line.
            start = m.log.mark()
            m.printk("Thread overran stack, or stack corrupted", level=0)   # pr_emerg
            m.debug.dump_stack()
            m.debug.report_block(start)
        elif end is None and self.sp < self.addr:
            # SIM: an IRQ stack without guard pages (i386) overflows silently into the
            # memory below it; the model only records that it happened.
            self.overflowed = True

    def release(self, nbytes: int) -> None:
        """Pop *nbytes* of frames."""
        if nbytes < 0 or nbytes > self.depth:
            raise MemsimError(f"stack release of {nbytes} bytes with {self.depth} in use")
        self.depth -= nbytes


def _ptr(m: Machine, addr: int) -> str:
    # SIM: %p prints the raw address (as with no_hash_pointers), not a hashed value.
    return f"{addr:0{16 if m.arch.bits == 64 else 8}x}"


def handle_stack_overflow(m: Machine, name: str, fault: int, begin: int, end: int) -> None:
    """A vmap stack's guard page was hit: x86 handle_stack_overflow() and die(), or the
    arm64 overflow-stack handler's panic."""
    start = m.log.mark()
    if m.arch.name == "arm64":
        # arch/arm64/kernel/traps.c panic_bad_stack(). SIM: the ESR, IRQ/overflow stack
        # and register lines are left out.
        m.printk("Insufficient stack space to handle exception!", level=0)
        m.printk(f"FAR: 0x{fault:016x}", level=0)
        m.printk(f"Task stack:     [0x{begin:016x}..0x{end:016x}]", level=0)
        m.debug.taints.add("D")
        m.debug.reports.append(m.log.since(start))
        m.panic("kernel stack overflow")
    m.printk(f"BUG: {name} stack guard page was hit at {_ptr(m, fault)} "
             f"(stack is {_ptr(m, begin)}..{_ptr(m, end)})", level=0)
    pti = " NOPTI" if m.arch.bits == 64 else ""
    m.printk(f"Oops: stack guard page: 0000 [#1] PREEMPT SMP{pti}", level=4)
    m.debug.dump_stack()
    m.debug.taints.add("D")             # oops_end(): add_taint(TAINT_DIE)
    m.debug.report_block(start)


def account_kernel_stack(m: Machine, stack: TaskStack, account: int) -> None:
    """account_kernel_stack(): NR_KERNEL_STACK_KB in KiB, per page for a vmap stack (each
    page's node), else the whole stack in its node."""
    if stack.vmap:
        for pfn in stack.pages:
            mod_node_page_state(m.nodes[m.page_zone(pfn).node], NodeStatItem.NR_KERNEL_STACK_KB,
                                account * (PAGE_SIZE // 1024))
        return
    mod_node_page_state(m.nodes[stack.node], NodeStatItem.NR_KERNEL_STACK_KB,
                        account * (stack.size // 1024))


def _vmap_task_stack(m: Machine, addr: int) -> TaskStack:
    vm = m.vmalloc_state.find_vm_area(addr)
    assert vm is not None
    pages = list(vm.pages)
    return TaskStack(pfn=pages[0], order=thread_size_order(m), node=m.page_zone(pages[0]).node,
                     size=thread_size(m), addr=addr, vmap=True, pages=pages)


def alloc_thread_stack_node(m: Machine, node: int = -1, *,
                            thread_info_on_stack: bool = False) -> TaskStack | None:
    """alloc_thread_stack_node() and dup_task_struct()'s account_kernel_stack(tsk, 1)."""
    size = thread_size(m)
    if vmap_stack(m) and not thread_info_on_stack:
        cache = kernel_stacks(m).cached[m.current_cpu]
        stack: TaskStack | None = None
        for i in range(NR_CACHED_STACKS):
            addr = cache[i]                      # this_cpu_xchg(cached_stacks[i], NULL)
            if addr is None:
                continue
            cache[i] = None
            m.kernel_memset(addr, 0, size)       # clear stale pointers from reused stack
            stack = _vmap_task_stack(m, addr)
            break
        if stack is None:
            st = m.vmalloc_state
            a = st.vmalloc_node_range(size, size, st.vmalloc_start, st.vmalloc_end,
                                      THREADINFO_GFP & ~__GFP_ACCOUNT, 0, node,
                                      STACK_VMALLOC_CALLER)
            if a is None:
                return None
            stack = _vmap_task_stack(m, a)
        account_kernel_stack(m, stack, 1)
        return stack
    order = thread_size_order(m)
    pfn = m.alloc_pages_node(node, THREADINFO_GFP, order)
    if pfn is None:
        return None
    addr = m.page_address(pfn)
    stack = TaskStack(pfn=pfn, order=order, node=m.page_zone(pfn).node, size=size,
                      addr=addr or 0, thread_info_on_stack=thread_info_on_stack,
                      thread_info_size=OLD_THREAD_INFO_SIZE[m.arch.bits]
                      if thread_info_on_stack else 0)
    account_kernel_stack(m, stack, 1)
    return stack


def free_thread_stack(m: Machine, stack: TaskStack) -> None:
    """exit_task_stack_account() then free_thread_stack(): a vmap stack goes to this CPU's
    cache if a slot is free, else vfree(); a page stack is __free_pages()d."""
    if stack.kind != "TASK":
        raise MemsimError(f"free_task_stack: {stack.kind} stacks are per-CPU, never freed")
    if stack.freed:
        raise MemsimError(f"free_task_stack: stack at pfn {stack.pfn:#x} already freed")
    stack.freed = True
    account_kernel_stack(m, stack, -1)
    if stack.vmap:
        cache = kernel_stacks(m).cached[m.current_cpu]
        for i in range(NR_CACHED_STACKS):        # try_release_thread_stack_to_cache()
            if cache[i] is None:
                cache[i] = stack.addr
                return
        m.vfree(stack.addr)
        return
    m.free_pages_pfn(stack.pfn, stack.order)


def free_vm_stack_cache(m: Machine, cpu: int) -> int:
    """free_vm_stack_cache() (CPU hotplug teardown): vfree *cpu*'s cached stacks."""
    cache = kernel_stacks(m).cached[cpu]
    n = 0
    for i in range(NR_CACHED_STACKS):
        addr = cache[i]
        if addr is not None:
            m.vfree(addr)
            cache[i] = None
            n += 1
    return n
