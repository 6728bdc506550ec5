"""
mseal(2) (mm/mseal.c) with the semantics of the 6.18 kernel the oracle runs (the 6.17
rework: one pass that rejects any unmapped gap with ENOMEM, then VM_SEALED on every VMA
of the range, split/merged through vma_modify_flags; smaps shows "sl").

What sealing blocks lives with each operation: munmap and MAP_FIXED replacement in
mm/mmap.py, mremap in mm/mremap.py, mprotect in mm/mprotect.py — all through
``can_modify_vma()`` here — and the discarding madvise advices on read-only anonymous
memory through ``can_madvise_modify()`` (mm/madvise.py).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from memsim.include.mm import VM_SEALED, VM_WRITE
from memsim.include.mm_types import MmStruct, VmAreaStruct
from memsim.include.mman import (
    EINVAL,
    ENOMEM,
    EPERM,
    MADV_DONTFORK,
    MADV_DONTNEED,
    MADV_DONTNEED_LOCKED,
    MADV_FREE,
    MADV_GUARD_INSTALL,
    MADV_REMOVE,
    MADV_WIPEONFORK,
)
from memsim.kernel.task import register_syscall
from memsim.mm.vma import VmaError, vma_index, vma_lookup, vma_modify_flags, vmas_in_range

if TYPE_CHECKING:
    from memsim.machine import Machine

PAGE_SIZE = 4096
PAGE_MASK = ~(PAGE_SIZE - 1)


def vma_is_sealed(vma: VmAreaStruct) -> bool:
    return bool(vma.vm_flags & VM_SEALED)


def can_modify_vma(vma: VmAreaStruct) -> bool:
    """can_modify_vma(): False for a sealed VMA (its callers then return -EPERM)."""
    return not vma.vm_flags & VM_SEALED


def is_discard(behavior: int) -> bool:
    """6.18 madvise.c is_discard(): advices that may throw away a VMA's contents."""
    return behavior in (MADV_FREE, MADV_DONTNEED, MADV_DONTNEED_LOCKED, MADV_REMOVE,
                        MADV_DONTFORK, MADV_WIPEONFORK, MADV_GUARD_INSTALL)


def can_madvise_modify(vma: VmAreaStruct, behavior: int) -> bool:
    """
    6.18 can_madvise_modify(): on a sealed VMA a discarding advice is refused (EPERM) unless
    the mapping is file-backed (MAP_PRIVATE files too, shmem included) or the user could
    write to it anyway. 6.12's can_modify_vma_madv() also let any VM_SHARED mapping through
    and did not list MADV_GUARD_INSTALL; the oracle runs 6.18.
    """
    if not vma.vm_flags & VM_SEALED:
        return True
    if not is_discard(behavior):
        return True
    if vma.vm_file is not None:
        return True
    # SIM: no protection keys, so arch_vma_access_permitted() is always true
    return bool(vma.vm_flags & VM_WRITE)


def range_contains_unmapped(mm: MmStruct, start: int, end: int) -> bool:
    """range_contains_unmapped(): a gap anywhere in ``[start, end)``."""
    prev_end = start
    for vma in vmas_in_range(mm, start, end):
        if vma.vm_start > prev_end:
            return True
        prev_end = vma.vm_end
    return prev_end < end


def mseal_apply(m: Machine, mm: MmStruct, start: int, end: int) -> int:
    """mseal_apply(): VM_SEALED on every VMA piece of the (gap-free) range."""
    vma = vma_lookup(mm, start)
    assert vma is not None
    i = vma_index(mm, start)
    prev: VmAreaStruct | None = mm.vmas[i - 1] if i > 0 else None
    if start > vma.vm_start:
        prev = vma
    curr_start = start
    while curr_start < end:
        vma = vma_lookup(mm, curr_start)
        assert vma is not None
        curr_end = min(vma.vm_end, end)
        if not vma.vm_flags & VM_SEALED:
            try:
                vma = vma_modify_flags(m, mm, vma, prev, curr_start, curr_end,
                                       vma.vm_flags | VM_SEALED)
            except VmaError as e:
                return -e.errno
            vma.vm_flags |= VM_SEALED
        prev = vma
        curr_start = curr_end
    return 0


def do_mseal(m: Machine, task: Any, start: int, len_in: int, flags: int) -> int:
    """do_mseal(): 0 or -errno."""
    mm: MmStruct = task.mm
    if flags:
        return -EINVAL
    if not m.arch.name.endswith("64"):
        # 6.12 can_do_mseal(): sealing needs CONFIG_64BIT (EPERM otherwise)
        return -EPERM
    if start & ~PAGE_MASK:
        return -EINVAL
    length = (len_in + PAGE_SIZE - 1) & PAGE_MASK & ((1 << 64) - 1)
    if len_in and not length:
        return -EINVAL
    end = start + length
    if end >= 1 << 64:
        return -EINVAL
    if end == start:
        return 0
    if range_contains_unmapped(mm, start, end):
        return -ENOMEM
    return mseal_apply(m, mm, start, end)


@register_syscall("mseal")
def sys_mseal(m: Machine, task: Any, start: int, length: int, flags: int = 0) -> int:
    return do_mseal(m, task, start, length, flags)


__all__ = ["can_modify_vma", "can_madvise_modify", "vma_is_sealed", "do_mseal",
           "is_discard"]
