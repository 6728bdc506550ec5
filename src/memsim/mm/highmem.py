"""
High memory mappings (mm/highmem.c, include/linux/highmem-internal.h,
arch/x86/include/asm/{highmem.h,fixmap.h,pgtable_32_areas.h}, arch/arm/include/asm/
{highmem.h,fixmap.h}): how a 32-bit kernel reaches a page that has no direct-map address.

Two mechanisms, as in 6.12:

* **Permanent kernel mappings** (``kmap``/``kunmap``): ``LAST_PKMAP`` page-table slots at
  ``PKMAP_BASE``. ``pkmap_count[nr]`` is 0 for a free, TLB-clean slot, 1 for a slot whose last
  user unmapped it but whose translation may still sit in a TLB, and ``n >= 2`` for a slot
  with ``n - 1`` users. ``map_new_virtual()`` scans round-robin from ``last_pkmap_nr``; on
  wrapping to slot 0 it runs ``flush_all_zero_pkmaps()``, which frees every slot at count 1.
  ``page_address_htable`` gives a mapped highmem page its address, so ``page_address()``
  returns it while the mapping lasts.
* **Temporary mappings** (``kmap_local_page``/``kunmap_local``, ``kmap_atomic``/
  ``kunmap_atomic``): ``KM_MAX_IDX`` fixmap slots per CPU, used as a stack. The address of
  stack slot *idx* on CPU *cpu* is ``__fix_to_virt(FIX_KMAP_BEGIN + idx + KM_MAX_IDX * cpu)``.
  Unmapping anything but the top of the stack is the kernel's WARN_ON_ONCE in
  ``kunmap_local_indexed()``; the kernel then tears down the *top* slot anyway (it indexes
  the PTE by the stack index, not by the address), and so does the model.

Lowmem pages never take a slot: ``kmap()`` and ``kmap_local_page()`` return
``page_address()``. Machines without highmem (x86_64, arm64) have no state here and every
call returns ``page_address()``.

# SIM: one task per CPU: ``current->kmap_ctrl`` (the kmap_local stack) and
# ``current->pagefault_disabled`` are kept per CPU. Pages are PFNs; PTEs are PFNs in dicts.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from memsim.arch import PAGE_SHIFT, PAGE_SIZE, SZ_1M
from memsim.errors import MemsimError

if TYPE_CHECKING:
    from memsim.machine import Machine

#: include/asm-generic/kmap_size.h without CONFIG_DEBUG_KMAP_LOCAL
KM_MAX_IDX = 16
#: mm/highmem.c: KM_INCR without CONFIG_DEBUG_KMAP_LOCAL
KM_INCR = 1
#: the NR_CPUS the fixmap is sized for (arch.py derives PKMAP_BASE for the same build)
CONFIG_NR_CPUS = 8

_HIGHMEM_INTERNAL_H = "include/linux/highmem-internal.h"
_HIGHMEM_C = "mm/highmem.c"
#: might_sleep() in kmap()/kunmap() (CONFIG_HIGHMEM) and in kmap() (!CONFIG_HIGHMEM)
_KMAP_MIGHT_SLEEP_LINE = 44
_KUNMAP_MIGHT_SLEEP_LINE = 55
_KMAP_NOHIGHMEM_MIGHT_SLEEP_LINE = 164
#: BUG_ON(!vaddr) and the BUG() of ``case 0`` in kunmap_high()
_KUNMAP_HIGH_NOVADDR_LINE = 371
_KUNMAP_HIGH_ZERO_LINE = 381
#: BUG_ON()s of kmap_local_idx_push()/kmap_local_idx_pop()
_KMAP_LOCAL_PUSH_LINE = 480
_KMAP_LOCAL_POP_LINE = 492
#: WARN_ON_ONCE(addr < PAGE_OFFSET) and WARN_ON_ONCE(addr != __fix_to_virt(...)) in
#: kunmap_local_indexed()
_KUNMAP_LOCAL_USER_LINE = 617
_KUNMAP_LOCAL_ORDER_LINE = 623
#: kernel/hung_task.c: sysctl_hung_task_timeout_secs default
_HUNG_TASK_TIMEOUT = 120


class PkmapDeadlockError(MemsimError):
    """kmap() found every pkmap slot in use and would sleep on pkmap_map_wait for ever."""


@dataclass(frozen=True)
class KmapLayout:
    """Where an architecture puts the pkmap area and the kmap_local fixmap slots."""

    #: PKMAP_BASE
    pkmap_base: int
    #: LAST_PKMAP (one page-table page of PTEs)
    last_pkmap: int
    #: FIXADDR_TOP
    fixaddr_top: int
    #: FIX_KMAP_BEGIN in enum fixed_addresses
    fix_kmap_begin: int


def kmap_layout(m: Machine) -> KmapLayout:
    """The 6.12 layout for *m*'s architecture (i386 non-PAE, or ARM without LPAE)."""
    arch = m.arch
    if arch.name == "i386":
        # pgtable_32_areas.h: VMALLOC_END = PKMAP_BASE - 2 * PAGE_SIZE, and arch.py's lowmem
        # limit is VMALLOC_END - PAGE_OFFSET - __VMALLOC_RESERVE (128 MiB).
        assert arch.lowmem_limit is not None
        vmalloc_end = arch.page_offset + arch.lowmem_limit + 128 * SZ_1M
        # fixmap.h (CONFIG_X86_32): FIX_HOLE, FIX_DBGP_BASE, FIX_EARLYCON_MEM_BASE,
        # FIX_APIC_BASE, FIX_IO_APIC_BASE_0 .. + MAX_IO_APICS (64) - 1, FIX_KMAP_BEGIN
        return KmapLayout(pkmap_base=vmalloc_end + 2 * PAGE_SIZE, last_pkmap=1024,
                          fixaddr_top=0xFFFFF000, fix_kmap_begin=4 + 64)
    if arch.name == "arm":
        # arch/arm: PKMAP_BASE = PAGE_OFFSET - PMD_SIZE (2 MiB), LAST_PKMAP = PTRS_PER_PTE,
        # FIXADDR_TOP = FIXADDR_END - PAGE_SIZE, FIX_KMAP_BEGIN after FIX_EARLYCON_MEM_BASE.
        return KmapLayout(pkmap_base=arch.page_offset - 2 * SZ_1M, last_pkmap=512,
                          fixaddr_top=0xFFF00000 - PAGE_SIZE, fix_kmap_begin=1)
    raise MemsimError(f"{arch.name}: no high memory")


@dataclass
class Highmem:
    """The kernel's highmem state: pkmap slots and the per-CPU kmap_local stacks."""

    layout: KmapLayout
    nr_cpus: int
    #: pkmap_count[LAST_PKMAP]
    pkmap_count: list[int] = field(default_factory=list)
    #: pkmap_page_table: slot -> PFN of a present PTE
    pkmap_page_table: dict[int, int] = field(default_factory=dict)
    #: page_address_htable: PFN -> pkmap virtual address
    page_address_htable: dict[int, int] = field(default_factory=dict)
    #: the static last_pkmap_nr of get_next_pkmap_nr()
    last_pkmap_nr: int = 0
    #: flush_tlb_kernel_range() calls made by flush_all_zero_pkmaps()
    nr_pkmap_flushes: int = 0
    #: current->kmap_ctrl per CPU: the pteval (PFN) of each pushed slot
    kmap_ctrl: list[list[int]] = field(default_factory=list)
    #: current->pagefault_disabled per CPU
    pagefault_disabled: list[int] = field(default_factory=list)
    #: fixmap kmap PTEs: virtual address -> PFN
    kmap_pte: dict[int, int] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.pkmap_count = [0] * self.layout.last_pkmap
        self.kmap_ctrl = [[] for _ in range(self.nr_cpus)]
        self.pagefault_disabled = [0] * self.nr_cpus
        nr_cpus = max(CONFIG_NR_CPUS, self.nr_cpus)
        lay = self.layout
        # SIM: a machine with more CPUs than the NR_CPUS=8 build grows the fixmap downwards.
        self.fix_kmap_end = lay.fix_kmap_begin + KM_MAX_IDX * nr_cpus - 1
        self.pkmap_end = PKMAP_ADDR(self, lay.last_pkmap)

    # -- address arithmetic (asm/highmem.h, asm/fixmap.h)

    def fix_to_virt(self, x: int) -> int:
        """__fix_to_virt(): one page below FIXADDR_TOP per fixmap index."""
        return self.layout.fixaddr_top - (x << PAGE_SHIFT)

    def kmap_local_vaddr(self, cpu: int, idx: int) -> int:
        """__fix_to_virt(FIX_KMAP_BEGIN + kmap_local_calc_idx(idx)) on *cpu*."""
        return self.fix_to_virt(self.layout.fix_kmap_begin + idx + KM_MAX_IDX * cpu)


def PKMAP_ADDR(hm: Highmem, nr: int) -> int:
    """PKMAP_ADDR(nr)."""
    return hm.layout.pkmap_base + (nr << PAGE_SHIFT)


def PKMAP_NR(hm: Highmem, vaddr: int) -> int:
    """PKMAP_NR(virt)."""
    return (vaddr - hm.layout.pkmap_base) >> PAGE_SHIFT


def kmap_init(m: Machine) -> Highmem:
    """kmap_init()/permanent_kmaps_init(): empty pkmap and kmap_local slots; registers the
    kernel-address resolver for both areas."""
    hm = Highmem(kmap_layout(m), m.nr_cpus)
    m.kaddr_resolvers.append(_kmap_resolve)
    return hm


def _kmap_resolve(m: Machine, addr: int) -> int | None:
    """The PFN behind a pkmap or kmap_local fixmap address (present PTEs only)."""
    hm = m.highmem
    if hm is None:
        return None
    base = hm.layout.pkmap_base
    if base <= addr < hm.pkmap_end:
        return hm.pkmap_page_table.get((addr - base) >> PAGE_SHIFT)
    return hm.kmap_pte.get(addr & ~(PAGE_SIZE - 1))


def PageHighMem(m: Machine, pfn: int) -> bool:
    """PageHighMem(): *pfn* lies above max_low_pfn on a highmem machine."""
    return m.highmem is not None and pfn >= m.max_low_pfn


# ---------------------------------------------------------------- execution-context hooks

# ---------------------------------------------------------------- permanent mappings

def flush_all_zero_pkmaps(m: Machine, hm: Highmem) -> None:
    """flush_all_zero_pkmaps(): free every slot at count 1, clear its PTE, flush the TLB."""
    need_flush = False
    count = hm.pkmap_count
    for i in range(hm.layout.last_pkmap):
        if count[i] != 1:
            continue
        count[i] = 0
        pfn = hm.pkmap_page_table.pop(i)     # BUG_ON(pte_none(ptent)) cannot fire here
        hm.page_address_htable.pop(pfn, None)   # set_page_address(page, NULL)
        need_flush = True
    if need_flush:
        hm.nr_pkmap_flushes += 1             # flush_tlb_kernel_range(PKMAP_ADDR(0), ...)


def map_new_virtual(m: Machine, hm: Highmem, pfn: int) -> int:
    """map_new_virtual(): the next free slot after last_pkmap_nr, round robin."""
    last = hm.layout.last_pkmap
    mask = last - 1
    count = last
    pkmap_count = hm.pkmap_count
    while True:
        hm.last_pkmap_nr = nr = (hm.last_pkmap_nr + 1) & mask   # get_next_pkmap_nr()
        if nr == 0:                                             # no_more_pkmaps()
            flush_all_zero_pkmaps(m, hm)
            count = last
        if not pkmap_count[nr]:
            break                                               # found a usable entry
        count -= 1
        if count:
            continue
        # Every slot is held: the kernel sleeps TASK_UNINTERRUPTIBLE on pkmap_map_wait
        # until some kunmap() drops a count to 1.
        # SIM: the model has no other task that could kunmap, so the sleep never ends: the
        # hung-task detector's line goes to dmesg and PkmapDeadlockError is raised with the state
        # as the sleeping task leaves it. In atomic context kmap()'s might_sleep() has
        # already printed the sleeping-function report.
        m.printk(f"INFO: task {m.current_comm}:{m.current_pid} blocked for more than "
                 f"{_HUNG_TASK_TIMEOUT} seconds.", level=3)
        raise PkmapDeadlockError(
            f"kmap({pfn:#x}): all {last} pkmap slots are in use; the task sleeps on "
            f"pkmap_map_wait until another task kunmap()s a page, and none will"
            + (" (and it sleeps in atomic context)" if m.in_atomic() else ""))
    vaddr = PKMAP_ADDR(hm, nr)
    hm.pkmap_page_table[nr] = pfn                               # set_pte_at(..., kmap_prot)
    pkmap_count[nr] = 1
    hm.page_address_htable[pfn] = vaddr                         # set_page_address()
    return vaddr


def kmap_high(m: Machine, hm: Highmem, pfn: int) -> int:
    """kmap_high(): the page's pkmap address, mapping it if needed; one more user."""
    vaddr = hm.page_address_htable.get(pfn)
    if vaddr is None:
        vaddr = map_new_virtual(m, hm, pfn)
    hm.pkmap_count[(vaddr - hm.layout.pkmap_base) >> PAGE_SHIFT] += 1
    return vaddr


def kunmap_high(m: Machine, hm: Highmem, pfn: int) -> None:
    """kunmap_high(): one user fewer; at count 1 the slot waits for the next flush."""
    vaddr = hm.page_address_htable.get(pfn)
    if vaddr is None:
        m.debug.vm_bug_on(_HIGHMEM_C, _KUNMAP_HIGH_NOVADDR_LINE)    # BUG_ON(!vaddr)
        return
    nr = PKMAP_NR(hm, vaddr)
    if hm.pkmap_count[nr] == 1:
        # --pkmap_count[nr] would reach 0 without a TLB flush: BUG().
        # SIM: the count is left at 1 (the model returns from BUG() with state intact).
        m.debug.vm_bug_on(_HIGHMEM_C, _KUNMAP_HIGH_ZERO_LINE)
        return
    hm.pkmap_count[nr] -= 1
    # SIM: wake_up(pkmap_map_wait) has nobody to wake: no task ever waits in the model.


def kmap(m: Machine, pfn: int) -> int | None:
    """kmap(): a kernel address for *pfn* that stays valid until kunmap(); may sleep."""
    hm = m.highmem
    if hm is None:
        m.might_sleep(_HIGHMEM_INTERNAL_H, _KMAP_NOHIGHMEM_MIGHT_SLEEP_LINE)
        return m.page_address(pfn)
    m.might_sleep(_HIGHMEM_INTERNAL_H, _KMAP_MIGHT_SLEEP_LINE)
    if pfn < m.max_low_pfn:
        return m.page_address(pfn)
    return kmap_high(m, hm, pfn)


def kunmap(m: Machine, pfn: int) -> None:
    """kunmap(): drop the kmap() of *pfn* (nothing to do for lowmem)."""
    hm = m.highmem
    if hm is None:
        return
    m.might_sleep(_HIGHMEM_INTERNAL_H, _KUNMAP_MIGHT_SLEEP_LINE)
    if pfn < m.max_low_pfn:
        return
    kunmap_high(m, hm, pfn)


def kmap_flush_unused(m: Machine) -> None:
    """kmap_flush_unused() / __kmap_flush_unused()."""
    if m.highmem is not None:
        flush_all_zero_pkmaps(m, m.highmem)


def kmap_to_page(m: Machine, addr: int) -> int:
    """kmap_to_page(): the PFN behind a kmap, kmap_local or direct-map address.

    # SIM: the kernel's WARN_ON_ONCE()s for pkmap/kmap_local addresses (kmap_to_page() is
    # deprecated for them) are not printed.
    """
    hm = m.highmem
    if hm is not None:
        pfn = _kmap_resolve(m, addr)
        if pfn is not None:
            return pfn
    return m.virt_to_pfn(addr)


# ---------------------------------------------------------------- temporary mappings

def kmap_local_page(m: Machine, pfn: int) -> int | None:
    """kmap_local_page() -> __kmap_local_page_prot(): the next fixmap slot of this CPU's
    stack; lowmem pages return page_address() without a slot."""
    hm = m.highmem
    if hm is None or pfn < m.max_low_pfn:
        return m.page_address(pfn)
    # __kmap_local_pfn_prot(): migrate_disable(); preempt_disable(); ... preempt_enable()
    cpu = m.current_cpu
    stack = hm.kmap_ctrl[cpu]
    idx = len(stack) + KM_INCR - 1                     # kmap_local_idx_push()
    if idx + 1 >= KM_MAX_IDX:
        # BUG_ON(current->kmap_ctrl.idx >= KM_MAX_IDX)
        m.debug.vm_bug_on(_HIGHMEM_C, _KMAP_LOCAL_PUSH_LINE)
        raise MemsimError(f"kmap_local_page({pfn:#x}): all {KM_MAX_IDX} kmap_local slots "
                          f"of CPU {cpu} are in use (kernel BUG)")
    vaddr = hm.kmap_local_vaddr(cpu, idx)
    hm.kmap_pte[vaddr] = pfn                           # BUG_ON(!pte_none()) cannot fire
    stack.append(pfn)                                  # kmap_ctrl.pteval[idx]
    return vaddr


def kunmap_local(m: Machine, vaddr: int) -> None:
    """kunmap_local() -> kunmap_local_indexed(): pop this CPU's top kmap_local slot."""
    hm = m.highmem
    if hm is None:
        return
    addr = vaddr & ~(PAGE_SIZE - 1)
    if addr < hm.fix_to_virt(hm.fix_kmap_end) or addr > hm.fix_to_virt(hm.layout.fix_kmap_begin):
        # not a kmap_local address: a lowmem page_address() (nothing to do); below
        # PAGE_OFFSET it is a user address and warned about
        if addr < m.arch.page_offset:
            m.debug.warn_on_once("kunmap_local_indexed", "addr < PAGE_OFFSET", _HIGHMEM_C,
                                 _KUNMAP_LOCAL_USER_LINE)
        return
    cpu = m.current_cpu
    stack = hm.kmap_ctrl[cpu]
    idx = len(stack) - 1                               # kmap_local_idx()
    top = hm.kmap_local_vaddr(cpu, idx)
    if addr != top:
        m.debug.warn_on_once("kunmap_local_indexed",
                             "addr != __fix_to_virt(FIX_KMAP_BEGIN + idx)", _HIGHMEM_C,
                             _KUNMAP_LOCAL_ORDER_LINE)
    if idx < 0:
        # kmap_local_idx_pop(): BUG_ON(current->kmap_ctrl.idx < 0)
        m.debug.vm_bug_on(_HIGHMEM_C, _KMAP_LOCAL_POP_LINE)
        return
    # kmap_get_pte(addr, idx) is __kmap_pte[-idx]: the PTE of the top slot is cleared,
    # whatever address was passed.
    hm.kmap_pte.pop(top, None)
    stack.pop()


def kmap_atomic(m: Machine, pfn: int) -> int | None:
    """kmap_atomic() (deprecated): preempt_disable(), pagefault_disable(), then a
    kmap_local mapping."""
    m.preempt_disable()
    hm = m.highmem
    if hm is not None:
        hm.pagefault_disabled[m.current_cpu] += 1      # pagefault_disable()
    return kmap_local_page(m, pfn)


def kunmap_atomic(m: Machine, vaddr: int) -> None:
    """kunmap_atomic(): kunmap_local_indexed(), pagefault_enable(), preempt_enable()."""
    kunmap_local(m, vaddr)
    hm = m.highmem
    if hm is not None:
        hm.pagefault_disabled[m.current_cpu] -= 1      # pagefault_enable()
    m.preempt_enable()


def pagefault_disabled(m: Machine) -> bool:
    """pagefault_disabled(): current->pagefault_disabled != 0."""
    hm = m.highmem
    return hm is not None and hm.pagefault_disabled[m.current_cpu] != 0
