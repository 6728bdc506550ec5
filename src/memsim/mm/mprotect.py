"""
mprotect(2) (mm/mprotect.c, 6.12): do_mprotect_pkey's VMA walk, mprotect_fixup (commit
charge, VM_ACCOUNT, merge/split through vma_modify_flags, vm_stat_account) and
change_protection(), which rewrites the PTEs of the range with the new vm_page_prot.

PROT_NONE keeps pages resident: pte_modify() with PAGE_NONE leaves _PAGE_PROTNONE without
_PAGE_PRESENT (include/pgtable_types.py), and restoring access brings the same pages back
without a fault. Sealed VMAs (mm/mseal.py) refuse with EPERM.

Related: merge/split rules in mm/vma.py, faults in mm/memory.py, overcommit in mm/util.py.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from memsim.include.mm import (
    VM_ACCOUNT,
    VM_EXEC,
    VM_GROWSDOWN,
    VM_HUGETLB,
    VM_LOCKED,
    VM_NORESERVE,
    VM_READ,
    VM_SHARED,
    VM_WRITE,
    calc_vm_prot_bits,
)
from memsim.include.mm_types import MmStruct, VmAreaStruct
from memsim.include.mman import (
    EACCES,
    EINVAL,
    ENOMEM,
    EPERM,
    PROT_EXEC,
    PROT_GROWSDOWN,
    PROT_GROWSUP,
    PROT_READ,
    PROT_SEM,
    PROT_WRITE,
)
from memsim.include.pgtable_types import (
    _PAGE_PSE,
    _PAGE_RW,
    PTE_PFN_MASK,
    pte_modify,
    pte_present,
    pte_protnone,
    vm_get_page_prot,
)
from memsim.kernel.task import register_syscall
from memsim.mm.memory import vm_normal_page, vma_wants_writenotify
from memsim.mm.mseal import can_modify_vma
from memsim.mm.rmap import PageAnon, PageAnonExclusive
from memsim.mm.util import security_vm_enough_memory_mm, vm_unacct_memory
from memsim.mm.vma import VmaError, find_vma, vm_stat_account, vma_modify_flags, vma_prev

if TYPE_CHECKING:
    from memsim.machine import Machine

PAGE_SIZE = 4096
PAGE_MASK = ~(PAGE_SIZE - 1)
#: VM_ACCESS_FLAGS (include/linux/mm.h)
VM_ACCESS_FLAGS = VM_READ | VM_WRITE | VM_EXEC
#: VM_FLAGS_CLEAR: the pkey bits and VM_ACCESS_FLAGS (x86-64 with protection keys)
VM_FLAGS_CLEAR = VM_ACCESS_FLAGS
MM_CP_TRY_CHANGE_WRITABLE = 1 << 0


def vma_set_page_prot(vma: VmAreaStruct) -> None:
    """vma_set_page_prot(): the PTE template, read-only for write-notify shared VMAs."""
    vma.vm_page_prot = vm_get_page_prot(vma.vm_flags)
    if vma_wants_writenotify(vma):
        vma.vm_page_prot = vm_get_page_prot(vma.vm_flags & ~VM_SHARED)


def vma_wants_manual_pte_write_upgrade(vma: VmAreaStruct) -> bool:
    if vma.vm_flags & VM_SHARED:
        return vma_wants_writenotify(vma)
    return bool(vma.vm_flags & VM_WRITE)


def can_change_pte_writable(m: Machine, vma: VmAreaStruct, addr: int, pte: int) -> bool:
    """
    can_change_pte_writable(): may mprotect map this PTE writable right away instead of
    leaving it to a write fault? Private mappings: only exclusive anonymous pages; shared
    (write-notify) mappings: only PTEs already dirty.
    """
    if not vma.vm_flags & VM_WRITE:
        return False
    if pte_protnone(pte):
        return False
    # SIM: no soft-dirty (CONFIG_MEM_SOFT_DIRTY is off on the oracle) and no uffd-wp
    if not vma.vm_flags & VM_SHARED:
        pfn = vm_normal_page(m, vma, pte)
        return pfn is not None and PageAnon(m, pfn) and PageAnonExclusive(m, pfn)
    return bool(pte & 0x40)  # pte_dirty


def change_pte_range(m: Machine, vma: VmAreaStruct, start: int, end: int, newprot: int,
                     cp_flags: int) -> int:
    """change_pte_range() over every existing table of ``[start, end)``; pages changed."""
    pgd = vma.vm_mm.pgd
    pages = 0
    try_write = bool(cp_flags & MM_CP_TRY_CHANGE_WRITABLE)
    for t, i0, i1 in list(pgd.iter_tables(start, end)):
        ptes = t.pte
        base = t.base
        for i in range(i0, i1):
            old = int(ptes[i])
            if not old:
                continue
            if pte_present(old):
                new = pte_modify(old, newprot)
                if try_write and not new & _PAGE_RW and \
                        can_change_pte_writable(m, vma, base + (i << 12), new):
                    new |= _PAGE_RW
                ptes[i] = new
                pages += 1
            # swap entries and PTE markers (guards) keep their encoding: there is no
            # writable migration / device entry in the model to downgrade
    return pages


def change_huge_pmds(m: Machine, vma: VmAreaStruct, start: int, end: int, newprot: int,
                     cp_flags: int) -> int:
    """change_huge_pmd() for PMD-mapped THPs fully inside the range (split at the edges
    already by vma_modify_flags)."""
    pgd = vma.vm_mm.pgd
    if not pgd.huge:
        return 0
    shift = pgd.pmd_shift
    pages = 0
    for key in [k for k in pgd.huge if start <= k << shift and (k + 1) << shift <= end]:
        old = pgd.huge[key]
        new = pte_modify(old, newprot) | (old & _PAGE_PSE)
        if cp_flags & MM_CP_TRY_CHANGE_WRITABLE and not new & _PAGE_RW \
                and vma.vm_flags & VM_WRITE and not vma.vm_flags & VM_SHARED \
                and not pte_protnone(new):
            pfn = (old & PTE_PFN_MASK) >> 12
            if PageAnon(m, pfn) and PageAnonExclusive(m, pfn):
                new |= _PAGE_RW
        pgd.huge[key] = new
        pages += 1 << (shift - 12)
    return pages


def change_protection(m: Machine, vma: VmAreaStruct, start: int, end: int,
                      cp_flags: int) -> int:
    """change_protection(): rewrite ``[start, end)`` with vma->vm_page_prot."""
    # SIM: no NUMA balancing (MM_CP_PROT_NUMA) and no hugetlb VMAs
    newprot = vma.vm_page_prot
    return change_huge_pmds(m, vma, start, end, newprot, cp_flags) + \
        change_pte_range(m, vma, start, end, newprot, cp_flags)


def mprotect_fixup(m: Machine, task: Any, vma: VmAreaStruct, prev: VmAreaStruct | None,
                   start: int, end: int, newflags: int) -> tuple[int, VmAreaStruct | None]:
    """mprotect_fixup(): (0 or -errno, the new *prev*)."""
    mm: MmStruct = vma.vm_mm
    oldflags = vma.vm_flags
    nrpages = (end - start) >> 12
    charged = 0
    if not can_modify_vma(vma):
        return -EPERM, prev
    if newflags == oldflags:
        return 0, vma
    # SIM: no VM_PFNMAP/VM_MIXEDMAP PROT_NONE PAT check; RLIMIT_AS / RLIMIT_DATA are
    # unlimited (may_expand_vm always passes)
    if newflags & VM_WRITE:
        if not oldflags & (VM_ACCOUNT | VM_WRITE | VM_HUGETLB | VM_SHARED | VM_NORESERVE):
            charged = nrpages
            if security_vm_enough_memory_mm(m, mm, charged):
                return -ENOMEM, prev
            newflags |= VM_ACCOUNT
    elif oldflags & VM_ACCOUNT and vma.vma_is_anonymous() and vma.anon_vma is None:
        newflags &= ~VM_ACCOUNT
    try:
        vma = vma_modify_flags(m, mm, vma, prev, start, end, newflags)
    except VmaError as e:
        if charged:
            vm_unacct_memory(m, charged)
        return -e.errno, prev
    vma.vm_flags = newflags
    cp_flags = MM_CP_TRY_CHANGE_WRITABLE if vma_wants_manual_pte_write_upgrade(vma) else 0
    vma_set_page_prot(vma)
    change_protection(m, vma, start, end, cp_flags)
    if oldflags & VM_ACCOUNT and not newflags & VM_ACCOUNT:
        vm_unacct_memory(m, nrpages)
    # a private VM_LOCKED VMA becoming writable: break COW now (no major fault later)
    if oldflags & (VM_WRITE | VM_SHARED | VM_LOCKED) == VM_LOCKED and newflags & VM_WRITE:
        from memsim.mm.mlock import populate_vma_page_range
        populate_vma_page_range(m, task, vma, start, end)
    vm_stat_account(mm, oldflags, -nrpages)
    vm_stat_account(mm, newflags, nrpages)
    return 0, vma


def do_mprotect_pkey(m: Machine, task: Any, start: int, length: int, prot: int) -> int:
    """do_mprotect_pkey(start, len, prot, pkey=-1): 0 or -errno."""
    mm: MmStruct = task.mm
    grows = prot & (PROT_GROWSDOWN | PROT_GROWSUP)
    prot &= ~(PROT_GROWSDOWN | PROT_GROWSUP)
    if grows == PROT_GROWSDOWN | PROT_GROWSUP:
        return -EINVAL
    if start & ~PAGE_MASK:
        return -EINVAL
    if not length:
        return 0
    length = (length + PAGE_SIZE - 1) & PAGE_MASK
    end = start + length
    if end <= start or end > 1 << 64:
        return -ENOMEM
    # arch_validate_prot() (generic; x86 has no override)
    if prot & ~(PROT_READ | PROT_WRITE | PROT_EXEC | PROT_SEM):
        return -EINVAL
    reqprot = prot
    vma = find_vma(mm, start)
    if vma is None or vma.vm_start >= end:
        return -ENOMEM
    if grows & PROT_GROWSDOWN:
        start = vma.vm_start
        if not vma.vm_flags & VM_GROWSDOWN:
            return -EINVAL
    else:
        if vma.vm_start > start:
            return -ENOMEM
        if grows & PROT_GROWSUP:
            # SIM: no VM_GROWSUP architecture: the VMA can never have it
            return -EINVAL
    prev = vma_prev(mm, vma)
    if start > vma.vm_start:
        prev = vma
    nstart = start
    tmp = vma.vm_start
    error = 0
    # SIM: the personality's READ_IMPLIES_EXEC is never set (64-bit ELF); no MDWE
    # (map_deny_write_exec) and no LSM security_file_mprotect
    while vma is not None and vma.vm_start < end:
        if vma.vm_start != tmp:
            error = -ENOMEM
            break
        newflags = calc_vm_prot_bits(prot) | (vma.vm_flags & ~VM_FLAGS_CLEAR)
        # newflags >> 4 puts VM_MAY* in place of VM_*
        if newflags & ~(newflags >> 4) & VM_ACCESS_FLAGS:
            error = -EACCES
            break
        tmp = min(vma.vm_end, end)
        error, prev = mprotect_fixup(m, task, vma, prev, nstart, tmp, newflags)
        if error:
            break
        assert prev is not None
        # vma_iter_end(): the end of the VMA now holding the range (past *end* after a
        # merge with the next VMA, which ends the walk)
        tmp = prev.vm_end
        nstart = tmp
        prot = reqprot
        vma = find_vma(mm, tmp) if tmp < end else None
    if not error and tmp < end:
        error = -ENOMEM
    return error


@register_syscall("mprotect")
def sys_mprotect(m: Machine, task: Any, start: int, length: int, prot: int) -> int:
    return do_mprotect_pkey(m, task, start, length, prot)


__all__ = ["do_mprotect_pkey", "mprotect_fixup", "change_protection", "vma_set_page_prot",
           "can_change_pte_writable"]
