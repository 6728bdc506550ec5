"""
Faulting pages in on behalf of a task (mm/gup.c): __mm_populate() for MAP_POPULATE,
mlock and MADV_POPULATE_*, and the range-touch path behind ``p.touch()``.

GUP faults are accounted to the task like hardware faults (mm_account_fault with
regs == NULL bumps min_flt/maj_flt). A populate that hits an error stops quietly as
__mm_populate(ignore_errors=1) does; MADV_POPULATE reports it (mm/madvise.py).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from memsim.include.mm import VM_EXEC, VM_LOCKONFAULT, VM_READ, VM_SHARED, VM_WRITE
from memsim.include.pgtable_types import _PAGE_PRESENT, _PAGE_RW, PTE_PFN_MASK
from memsim.mm import memory
from memsim.mm.memory import (
    FAULT_FLAG_REMOTE,
    FAULT_FLAG_TRIED,
    FAULT_FLAG_UNSHARE,
    FAULT_FLAG_WRITE,
    VM_FAULT_ERROR,
    VM_FAULT_OOM,
    VM_FAULT_RETRY,
    VM_FAULT_SIGBUS,
    handle_mm_fault,
)
from memsim.mm.vma import find_vma

if TYPE_CHECKING:
    from memsim.machine import Machine

PAGE_SIZE = 4096
FOLL_WRITE = 0x01
FOLL_TOUCH = 0x02
FOLL_FORCE = 0x10
FOLL_POPULATE = 0x40000


def _pte_ok(mm: Any, addr: int, write: bool) -> bool:
    pgd = mm.pgd
    t = pgd.leaf.get(addr >> pgd.pmd_shift)
    if t is None:
        hp = pgd.huge.get(addr >> pgd.pmd_shift)
        return hp is not None and bool(hp & _PAGE_PRESENT) and (not write or bool(hp & _PAGE_RW))
    pte = int(t.pte[(addr >> 12) & (pgd.ptrs_per_pte - 1)])
    if not pte & _PAGE_PRESENT:
        return False
    if write and not pte & _PAGE_RW:
        return False
    return True


def faultin_range(m: Machine, task: Any, vma: Any, start: int, end: int, write: bool,
                  force: bool = False) -> int:
    """__get_user_pages() over one VMA: fault in what is missing; 0 or -errno."""
    mm = task.mm
    flags = FAULT_FLAG_REMOTE if task is not None else 0
    if write:
        flags |= FAULT_FLAG_WRITE
    addr = start
    while addr < end:
        if not _pte_ok(mm, addr, write):
            if write and not vma.vm_flags & VM_WRITE and not force:
                return -14
            fflags = flags & ~FAULT_FLAG_REMOTE
            ret = handle_mm_fault(m, task, vma, addr, fflags)
            while ret & VM_FAULT_RETRY:
                ret = handle_mm_fault(m, task, vma, addr, fflags | FAULT_FLAG_TRIED)
            if ret & VM_FAULT_ERROR:
                if ret & VM_FAULT_OOM:
                    return -12
                if ret & VM_FAULT_SIGBUS:
                    return -14
                return -14
        follow_page_touch(m, mm, addr, write)
        addr += PAGE_SIZE
    return 0


def follow_page_touch(m: Machine, mm: Any, addr: int, write: bool) -> None:
    """follow_page_pte() with FOLL_TOUCH: dirty the folio for writes, mark it accessed."""
    from memsim.include.pgtable_types import _PAGE_DIRTY, _PAGE_SPECIAL
    from memsim.mm.memory import folio_mark_dirty
    from memsim.mm.swap import folio_mark_accessed
    pte = mm.pgd.pte_get(addr)
    if not pte & _PAGE_PRESENT or pte & _PAGE_SPECIAL:
        return
    pfn = (pte & PTE_PFN_MASK) >> 12
    if pfn == m.zero_pfn:
        return
    if write and not pte & _PAGE_DIRTY and not m.mem_map.flags[pfn] & 0x10:
        folio_mark_dirty(m, pfn)
    folio_mark_accessed(m, pfn)


def populate_vma_page_range(m: Machine, task: Any, vma: Any, start: int, end: int) -> int:
    """populate_vma_page_range(): write-fault private writable VMAs, read-fault others."""
    if vma.vm_flags & VM_LOCKONFAULT:
        return 0
    write = vma.vm_flags & (VM_WRITE | VM_SHARED) == VM_WRITE
    if not vma.vm_flags & (VM_READ | VM_WRITE | VM_EXEC):
        return 0
    return faultin_range(m, task, vma, start, end, write, force=True)


def mm_populate(m: Machine, task: Any, start: int, length: int) -> int:
    """__mm_populate(start, len, ignore_errors=1)."""
    end = start + length
    mm = task.mm
    addr = start
    while addr < end:
        vma = find_vma(mm, addr)
        if vma is None or vma.vm_start >= end:
            break
        addr = max(addr, vma.vm_start)
        nend = min(end, vma.vm_end)
        from memsim.include.mm import VM_IO, VM_PFNMAP
        if not vma.vm_flags & (VM_IO | VM_PFNMAP):
            populate_vma_page_range(m, task, vma, addr, nend)
        addr = nend
    return 0


def touch_range(m: Machine, task: Any, addr: int, length: int, write: bool,
                val: int | None, step: int) -> bytes:
    """The loop behind ``p.touch()``: one access per page, as a program's loop would."""
    if step < 1:
        from memsim.errors import InputError
        raise InputError(f"touch: step must be >= 1, got {step}")
    out = bytearray()
    end = addr + length
    page = addr & ~(PAGE_SIZE - 1)
    data = m.page_data
    fill = None if val is None else bytes([val]) * PAGE_SIZE
    access = task._access
    while page < end:
        if write and step == 1 and m.__dict__.get("lru_plain_hook") is None:
            n = bulk_anon_write_faults(m, task, page, end)
            if n:
                if fill is not None and val:
                    for k in range(n):
                        pte = task.mm.pgd.pte_get(page + (k << 12))
                        data[(pte & PTE_PFN_MASK) >> 12] = bytearray(fill)
                out += bytes([val or 0]) * n
                page += n * PAGE_SIZE
                continue
        pfn = access(max(page, addr), write)
        if write:
            if fill is not None:
                if val == 0:
                    data.pop(pfn, None)
                else:
                    data[pfn] = bytearray(fill)
            out.append(val or 0)
        else:
            pg = data.get(pfn)
            out.append(pg[0] if pg is not None else 0)
        page += PAGE_SIZE * step
    return bytes(out)


__all__ = ["mm_populate", "faultin_range", "touch_range", "FAULT_FLAG_UNSHARE", "memory",
           "PTE_PFN_MASK"]


def bulk_anon_write_faults(m: Machine, task: Any, addr: int, end: int) -> int:
    """
    The write faults of a loop storing to fresh anonymous memory, taken a page table at a
    time: for pages ``[addr, end)`` of one private writable anonymous VMA whose PTEs are
    all none, do exactly what do_anonymous_page() does per fault (page table first, one
    zeroed order-0 page per fault in address order, rmap, counters, one minor fault each)
    with the per-page bookkeeping done on whole slices. Returns how many pages were
    handled; 0 means "take the ordinary fault path for this page" (THP-eligible PMDs,
    mlocked or special VMAs, present PTEs, allocation failure).
    """
    from memsim.include.mm import VM_LOCKED, VM_MAYWRITE
    from memsim.include.mm_types import MM_ANONPAGES
    from memsim.include.pgtable_types import _PAGE_ACCESSED, _PAGE_DIRTY
    from memsim.include.vmstat_items import NodeStatItem, VmEventItem
    from memsim.mm.huge_memory import thp_vma_suitable
    from memsim.mm.lru_gen import lru_gen_enter_fault, lru_gen_exit_fault
    from memsim.mm.memory import _GFP_ANON, _PG_ANON_EXCL, _PG_SWAPBACKED, add_mm_counter
    from memsim.mm.rmap import anon_vma_prepare
    from memsim.mm.vma import vma_lookup
    if task.sigkill_pending:
        return 0                # a killed task faults no more (the ordinary path delivers)
    mm = task.mm
    vma = vma_lookup(mm, addr)
    if vma is None or vma.vm_ops is not None:
        return 0
    flags = vma.vm_flags
    if flags & (VM_SHARED | VM_LOCKED) or not flags & VM_WRITE or not flags & VM_MAYWRITE:
        return 0
    pgd = mm.pgd
    shift = pgd.pmd_shift
    key = addr >> shift
    if key in pgd.huge or (key not in pgd.leaf and thp_vma_suitable(m, vma, addr)):
        return 0
    stop = min(end, vma.vm_end, (key + 1) << shift)
    nptrs = pgd.ptrs_per_pte
    i0 = (addr >> 12) & (nptrs - 1)
    n = (stop - addr + PAGE_SIZE - 1) >> 12
    t = pgd.leaf.get(key)
    if t is not None:
        import numpy as np
        nz = np.flatnonzero(t.ptes[i0:i0 + n])
        if len(nz):
            n = int(nz[0])
        if n == 0:
            return 0
    else:
        t = pgd.pte_alloc(addr)
    anon_vma_prepare(m, vma)
    alloc = m.alloc_pages
    pfns = []
    for _ in range(n):
        pfn = alloc(_GFP_ANON, 0)
        if pfn is None:
            break
        pfns.append(pfn)
        if task.sigkill_pending:
            break               # the OOM killer chose this task: it dies after this fault
    n = len(pfns)
    if n == 0:
        return 0
    import numpy as np
    pa = np.array(pfns, dtype=np.int64)
    mem = m.mem_map
    av = vma.anon_vma
    assert av is not None
    idx0 = vma.linear_page_index(addr)
    mem.mapping_a[pa] = av.handle
    mem.index_a[pa] = np.arange(idx0, idx0 + n, dtype=np.int64)
    mem.mapcount1_a[pa] = 1
    mem.flags_a[pa] |= np.uint32(_PG_SWAPBACKED | _PG_ANON_EXCL)
    if m.page_data:
        for pfn in pfns:
            m.page_data.pop(pfn, None)
    if m.nr_nodes == 1:
        m.nodes[0].vm_stat[NodeStatItem.NR_ANON_MAPPED] += n
    else:
        for pfn in pfns:
            m.mod_node_page_state_pfn(pfn, NodeStatItem.NR_ANON_MAPPED, 1)
    prot = vma.vm_page_prot | _PAGE_ACCESSED | _PAGE_RW | _PAGE_DIRTY
    t.ptes[i0:i0 + n] = (pa.astype(np.uint64) << np.uint64(12)) | np.uint64(prot)
    t.nr_used += n
    add_mm_counter(mm, MM_ANONPAGES, n)
    hook = getattr(m, "lru_add_hook", None)
    bulk = getattr(m, "lru_add_bulk_hook", None)
    if bulk is not None and not m.lru_gen_on:
        bulk(pfns)                  # folio_add_lru() of each page, in order (mm/swap.py)
    elif hook is not None:
        prev = m.lru_gen_on and lru_gen_enter_fault(m, vma)   # these are page faults
        for pfn in pfns:
            hook(pfn, vma)
        if m.lru_gen_on:
            lru_gen_exit_fault(m, prev)
    task.min_flt += n
    m.vm_event[VmEventItem.PGFAULT] += n
    from memsim.mm.memory import MINOR_FAULT_NS
    m.clock_ns += n * MINOR_FAULT_NS
    return n
