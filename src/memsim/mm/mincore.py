"""
mincore(2) (mm/mincore.c, 6.12): one byte per page of ``[addr, addr + len)``, 1 when the
page is resident. Mapped PTEs count as resident (the zero page too); for holes in the page
tables and PTE markers (guard regions) the answer comes from the page cache of a file VMA
— so file pages read ahead but never mapped show as resident — and is 0 for anonymous
memory; swap entries ask the swap cache.

``do_mincore()`` returns the vector as bytes (``TaskStruct.mincore`` calls it directly);
the registered raw syscall returns 0 or -errno and drops the vector.

Related: the page cache lookup in mm/filemap.py (mincore_page), PTE encodings in
include/pgtable_types.py.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from memsim.include.mm_types import MmStruct, VmAreaStruct
from memsim.include.mman import EINVAL, ENOMEM
from memsim.include.pgtable_types import MAX_SWAPFILES, is_pte_marker, pte_present, pte_swp_type
from memsim.kernel.task import register_syscall
from memsim.mm.vma import vma_lookup

if TYPE_CHECKING:
    from memsim.machine import Machine

PAGE_SHIFT = 12
PAGE_SIZE = 1 << PAGE_SHIFT
PAGE_MASK = ~(PAGE_SIZE - 1)


def mincore_page(m: Machine, mapping: Any, index: int) -> int:
    """mincore_page(): 1 if the page cache holds an uptodate folio at *index*."""
    from memsim.mm.filemap import mincore_page as filemap_mincore_page
    return 1 if filemap_mincore_page(m, mapping, index) else 0


def __mincore_unmapped_range(m: Machine, vma: VmAreaStruct, addr: int, end: int) -> bytes:
    nr = (end - addr) >> PAGE_SHIFT
    if vma.vm_file is not None:
        mapping = vma.vm_file.f_mapping
        pgoff = vma.linear_page_index(addr)
        return bytes(mincore_page(m, mapping, pgoff + i) for i in range(nr))
    return bytes(nr)


def _mincore_swap(m: Machine, pte: int) -> int:
    """A swap PTE: migration/hwpoison entries are always uptodate; a real swap entry is
    resident when its page is still in the swap cache."""
    if pte_swp_type(pte) >= MAX_SWAPFILES:
        return 1
    hook = getattr(m, "swap_cache_present_hook", None)
    # the swap layer (mm/swapfile.py) answers: is the entry's folio in the swap cache?
    return 1 if hook is not None and hook(pte) else 0


def mincore_range(m: Machine, vma: VmAreaStruct, addr: int, end: int) -> bytes:
    """walk_page_range() with mincore_pte_range / mincore_unmapped_range."""
    pgd = vma.vm_mm.pgd
    shift = pgd.pmd_shift
    ptrs = pgd.ptrs_per_pte
    out = bytearray()
    while addr < end:
        key = addr >> shift
        nxt = min(end, (key + 1) << shift)
        hp = pgd.huge.get(key)
        if hp is not None:
            out += b"\x01" * ((nxt - addr) >> PAGE_SHIFT)
        else:
            t = pgd.leaf.get(key)
            if t is None:
                out += __mincore_unmapped_range(m, vma, addr, nxt)
            else:
                a = addr
                while a < nxt:
                    pte = int(t.pte[(a >> PAGE_SHIFT) & (ptrs - 1)])
                    if pte == 0 or is_pte_marker(pte):
                        out += __mincore_unmapped_range(m, vma, a, a + PAGE_SIZE)
                    elif pte_present(pte):
                        out.append(1)
                    else:
                        out.append(_mincore_swap(m, pte))
                    a += PAGE_SIZE
        addr = nxt
    return bytes(out)


def can_do_mincore(vma: VmAreaStruct) -> bool:
    """Anonymous VMAs always; file VMAs when the caller could open the file for writing
    (SIM: root owns or may write every file, so all file VMAs pass); others (special
    mappings) are reported all-resident."""
    if vma.vma_is_anonymous():
        return True
    return vma.vm_file is not None


def do_mincore(m: Machine, task: Any, start: int, length: int) -> bytes | int:
    """sys_mincore(): the residency vector, or -errno."""
    mm: MmStruct = task.mm
    if start & ~PAGE_MASK:
        return -EINVAL
    # access_ok(): the range must lie below TASK_SIZE_MAX
    if start + length > mm.task_size or start + length < start:
        return -ENOMEM
    pages = (length >> PAGE_SHIFT) + (1 if length & ~PAGE_MASK else 0)
    out = bytearray()
    addr = start
    while pages:
        vma = vma_lookup(mm, addr)
        if vma is None:
            return -ENOMEM
        end = min(vma.vm_end, addr + (pages << PAGE_SHIFT))
        if not can_do_mincore(vma):
            n = (end - addr + PAGE_SIZE - 1) >> PAGE_SHIFT
            out += b"\x01" * n
        else:
            n = (end - addr) >> PAGE_SHIFT
            out += mincore_range(m, vma, addr, end)
        pages -= n
        addr += n << PAGE_SHIFT
    return bytes(out)


@register_syscall("mincore")
def sys_mincore(m: Machine, task: Any, start: int, length: int, vec: int = 0) -> int:
    """The raw syscall: 0 or -errno (the vector itself comes from do_mincore())."""
    r = do_mincore(m, task, start, length)
    return r if isinstance(r, int) else 0


__all__ = ["do_mincore", "mincore_range", "mincore_page", "can_do_mincore"]
