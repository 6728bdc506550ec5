"""
msync(2) (mm/msync.c, 6.12): flag validation, the VMA walk that skips unmapped holes but
reports ENOMEM at the end, EBUSY for MS_INVALIDATE over mlocked memory, and for MS_SYNC
on shared file mappings a vfs_fsync_range() of the mapped file range (writeback of the
dirty page-cache pages, mm/filemap.py). MS_ASYNC does nothing (the kernel tracks dirty
shared pages at fault time, so there is nothing to start).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from memsim.include.mm import VM_LOCKED, VM_SHARED
from memsim.include.mm_types import MmStruct
from memsim.include.mman import EBUSY, EINVAL, ENOMEM, MS_ASYNC, MS_INVALIDATE, MS_SYNC
from memsim.kernel.task import register_syscall
from memsim.mm.vma import find_vma

if TYPE_CHECKING:
    from memsim.machine import Machine

PAGE_SIZE = 4096
PAGE_MASK = ~(PAGE_SIZE - 1)


def _fsync_range(m: Machine, file: Any, fstart: int, fend: int) -> int:
    """vfs_fsync_range(file, fstart, fend, datasync=1) through the page cache's helper."""
    try:
        from memsim.mm.filemap import vfs_fsync_range
    except ImportError:     # pragma: no cover - the page cache is always built
        return 0
    return int(vfs_fsync_range(m, file, fstart, fend))


def sys_msync_impl(m: Machine, task: Any, start: int, length: int, flags: int) -> int:
    """msync(): 0 or -errno."""
    mm: MmStruct = task.mm
    if flags & ~(MS_ASYNC | MS_INVALIDATE | MS_SYNC):
        return -EINVAL
    if start & ~PAGE_MASK:
        return -EINVAL
    if flags & MS_ASYNC and flags & MS_SYNC:
        return -EINVAL
    length = (length + PAGE_SIZE - 1) & PAGE_MASK
    end = start + length
    if end >= 1 << 64:
        return -ENOMEM
    if end == start:
        return 0
    unmapped_error = 0
    vma = find_vma(mm, start)
    while True:
        if vma is None:
            return -ENOMEM
        if start < vma.vm_start:
            if flags == MS_ASYNC:
                return -ENOMEM
            start = vma.vm_start
            if start >= end:
                return -ENOMEM
            unmapped_error = -ENOMEM
        if flags & MS_INVALIDATE and vma.vm_flags & VM_LOCKED:
            return -EBUSY
        file = vma.vm_file
        fstart = (start - vma.vm_start) + (vma.vm_pgoff << 12)
        fend = fstart + (min(end, vma.vm_end) - start) - 1
        start = vma.vm_end
        if flags & MS_SYNC and file is not None and vma.vm_flags & VM_SHARED:
            error = _fsync_range(m, file, fstart, fend)
            if error or start >= end:
                return error or unmapped_error
        elif start >= end:
            return unmapped_error
        vma = find_vma(mm, start)


@register_syscall("msync")
def sys_msync(m: Machine, task: Any, start: int, length: int, flags: int) -> int:
    return sys_msync_impl(m, task, start, length, flags)


__all__ = ["sys_msync", "sys_msync_impl"]
