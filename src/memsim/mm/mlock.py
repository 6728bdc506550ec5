"""
Memory locking (mm/mlock.c, 6.12): mlock, mlock2 (MLOCK_ONFAULT), munlock, mlockall
(MCL_CURRENT/MCL_FUTURE/MCL_ONFAULT) and munlockall; apply_vma_lock_flags /
mlock_fixup over the VMAs (merge/split through vma_modify_flags, mm->locked_vm), the
populate that follows (__mm_populate without ignoring errors), and the per-page side:
mlock_folio / mlock_new_folio / munlock_folio keep PG_mlocked and the zone's NR_MLOCK
(meminfo "Mlocked") with the unevictable_pgs_* events.

# SIM: simulated processes run as root with CAP_IPC_LOCK, so RLIMIT_MEMLOCK never limits
# them (can_do_mlock is true, the locked-page limit checks always pass).
# SIM: the per-folio mlock_count is not kept; munlock_folio clears PG_mlocked unless
# another VM_LOCKED VMA still maps the page (an rmap walk), which is what the count
# tracks. The unevictable LRU list moves are mm/swap.py's mlock_lru / munlock_lru.

Callers: mm/memory.py marks pages faulted into VM_LOCKED VMAs (mlock_new_folio) and
munlocks on zap/COW (munlock_vma_folio); mm/mmap.py applies mm->def_flags set here.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from memsim.include.mm import (
    VM_DROPPABLE,
    VM_EXEC,
    VM_HUGETLB,
    VM_IO,
    VM_LOCKED,
    VM_LOCKED_MASK,
    VM_LOCKONFAULT,
    VM_PFNMAP,
    VM_READ,
    VM_SHARED,
    VM_SPECIAL,
    VM_WRITE,
)
from memsim.include.mm_types import MmStruct, VmAreaStruct
from memsim.include.mman import (
    EAGAIN,
    EFAULT,
    EINVAL,
    ENOMEM,
    MCL_CURRENT,
    MCL_FUTURE,
    MCL_ONFAULT,
    MLOCK_ONFAULT,
)
from memsim.include.page_flags import PageFlags
from memsim.include.pgtable_types import _PAGE_PRESENT, _PAGE_SPECIAL, PTE_PFN_MASK
from memsim.include.vmstat_items import VmEventItem, ZoneStatItem
from memsim.kernel.task import register_syscall
from memsim.mm.vma import VmaError, find_vma_intersection, vma_index, vma_lookup, vma_modify_flags

if TYPE_CHECKING:
    from memsim.machine import Machine

PAGE_SIZE = 4096
PAGE_MASK = ~(PAGE_SIZE - 1)
_PG_MLOCKED = 1 << PageFlags.PG_mlocked
_NR_MLOCK = ZoneStatItem.NR_MLOCK


# ---- the page side ------------------------------------------------------------------------

def _folio_head_nr(m: Machine, pfn: int) -> tuple[int, int]:
    mem = m.mem_map
    h1 = mem.compound_head1[pfn]
    head = h1 - 1 if h1 else pfn
    order = mem.compound_order[head]
    return head, 1 << order


def mlock_folio(m: Machine, pfn: int) -> None:
    """mlock_folio(): mark the folio mlocked (NR_MLOCK, unevictable_pgs_mlocked)."""
    head, nr = _folio_head_nr(m, pfn)
    mem = m.mem_map
    if not mem.flags[head] & _PG_MLOCKED:
        mem.flags[head] |= _PG_MLOCKED
        m.page_zone(head).vm_stat[_NR_MLOCK] += nr
        m.vm_event[VmEventItem.UNEVICTABLE_PGMLOCKED] += nr
    # the folio moves to the unevictable LRU (mlock_lru, mm/swap.py)
    from memsim.mm.swap import mlock_lru
    mlock_lru(m, head)


def mlock_new_folio(m: Machine, pfn: int) -> None:
    """mlock_new_folio(): a page faulted into a VM_LOCKED VMA starts out mlocked."""
    mlock_folio(m, pfn)


def munlock_folio(m: Machine, pfn: int, vma: VmAreaStruct | None = None) -> None:
    """
    munlock_folio(): drop one mlock; the folio stays mlocked while another VM_LOCKED VMA
    (other than *vma*) maps it, else PG_mlocked is cleared (unevictable_pgs_munlocked).
    """
    head, nr = _folio_head_nr(m, pfn)
    mem = m.mem_map
    if not mem.flags[head] & _PG_MLOCKED:
        return
    from memsim.mm.rmap import rmap_walk
    for other, _addr in rmap_walk(m, head):
        if other is not vma and other.vm_flags & VM_LOCKED:
            return
    mem.flags[head] &= ~_PG_MLOCKED
    m.page_zone(head).vm_stat[_NR_MLOCK] -= nr
    m.vm_event[VmEventItem.UNEVICTABLE_PGMUNLOCKED] += nr
    # back to an evictable LRU (__munlock_folio -> lruvec_add_folio, mm/swap.py)
    from memsim.mm.swap import munlock_lru
    munlock_lru(m, head)


def munlock_vma_folio(m: Machine, pfn: int, vma: VmAreaStruct) -> None:
    """munlock_vma_folio(): an unmapping from a VM_LOCKED VMA (zap, COW) munlocks."""
    if vma.vm_flags & VM_LOCKED:
        munlock_folio(m, pfn, vma)


def folio_clear_mlocked_on_free(m: Machine, pfn: int) -> None:
    """A freed folio still marked mlocked: cleared, counted unevictable_pgs_cleared."""
    mem = m.mem_map
    if mem.flags[pfn] & _PG_MLOCKED:
        mem.flags[pfn] &= ~_PG_MLOCKED
        nr = 1 << mem.compound_order[pfn]
        m.page_zone(pfn).vm_stat[_NR_MLOCK] -= nr
        m.vm_event[VmEventItem.UNEVICTABLE_PGCLEARED] += nr


def mlock_vma_pages_range(m: Machine, vma: VmAreaStruct, start: int, end: int,
                          newflags: int) -> None:
    """
    mlock_vma_pages_range(): set the new flags, then mlock (or munlock) every page already
    mapped in ``[start, end)`` (mlock_pte_range; the zero page and special PTEs skipped).
    """
    vma.vm_flags = newflags
    pgd = vma.vm_mm.pgd
    locked = bool(newflags & VM_LOCKED)
    zero = m.zero_pfn
    if pgd.huge:
        shift = pgd.pmd_shift
        for key, pmd in list(pgd.huge.items()):
            if start <= key << shift < end and pmd & _PAGE_PRESENT:
                pfn = (pmd & PTE_PFN_MASK) >> 12
                if pfn == zero:
                    continue
                if locked:
                    mlock_folio(m, pfn)
                else:
                    munlock_folio(m, pfn, vma)
    for t, i0, i1 in list(pgd.iter_tables(start, end)):
        ptes = t.pte
        for i in range(i0, i1):
            pte = int(ptes[i])
            if not pte & _PAGE_PRESENT or pte & _PAGE_SPECIAL:
                # SIM: PROT_NONE (protnone) PTEs are skipped with the non-present ones;
                # the kernel's pte_present() includes them, but an mlocked PROT_NONE
                # range has no pages to lock until it is made accessible again
                continue
            pfn = (pte & PTE_PFN_MASK) >> 12
            if pfn == zero:
                continue
            if locked:
                mlock_folio(m, pfn)
            else:
                munlock_folio(m, pfn, vma)


# ---- the VMA side -------------------------------------------------------------------------

def vma_supports_mlock(vma: VmAreaStruct) -> bool:
    """vma_supports_mlock(): not VM_SPECIAL/droppable, not hugetlb (no DAX, no gate VMA)."""
    if vma.vm_flags & (VM_SPECIAL | VM_DROPPABLE):
        return False
    return not vma.vm_flags & VM_HUGETLB


def mlock_fixup(m: Machine, vma: VmAreaStruct, prev: VmAreaStruct | None, start: int,
                end: int, newflags: int) -> tuple[int, VmAreaStruct | None]:
    """mlock_fixup(): (0 or -errno, the new *prev*)."""
    mm: MmStruct = vma.vm_mm
    oldflags = vma.vm_flags
    # SIM: no secretmem VMAs
    if newflags == oldflags or not vma_supports_mlock(vma):
        return 0, vma
    try:
        vma = vma_modify_flags(m, mm, vma, prev, start, end, newflags)
    except VmaError as e:
        return -e.errno, vma
    nr_pages = (end - start) >> 12
    if not newflags & VM_LOCKED:
        nr_pages = -nr_pages
    elif oldflags & VM_LOCKED:
        nr_pages = 0
    mm.locked_vm += nr_pages
    if newflags & VM_LOCKED and oldflags & VM_LOCKED:
        # only VM_LOCKONFAULT changes: no page work, and mlocking twice would be wrong
        vma.vm_flags = newflags
    else:
        mlock_vma_pages_range(m, vma, start, end, newflags)
    return 0, vma


def apply_vma_lock_flags(m: Machine, mm: MmStruct, start: int, length: int,
                         flags: int) -> int:
    """apply_vma_lock_flags(): lock/unlock every VMA of the range; ENOMEM at a hole
    (after the VMAs before it were already changed)."""
    end = start + length
    if end >= 1 << 64:      # the kernel's unsigned end wraps below start
        return -EINVAL
    if end == start:
        return 0
    vma = vma_lookup(mm, start)
    if vma is None:
        return -ENOMEM
    i = vma_index(mm, start)
    prev: VmAreaStruct | None = mm.vmas[i - 1] if i > 0 else None
    if start > vma.vm_start:
        prev = vma
    nstart = start
    tmp = vma.vm_start
    cur: VmAreaStruct | None = vma
    while cur is not None and cur.vm_start < end:
        if cur.vm_start != tmp:
            return -ENOMEM
        newflags = (cur.vm_flags & ~VM_LOCKED_MASK) | flags
        tmp = min(cur.vm_end, end)
        err, prev = mlock_fixup(m, cur, prev, nstart, tmp, newflags)
        if err:
            return err
        assert prev is not None
        tmp = prev.vm_end   # vma_iter_end()
        nstart = tmp
        cur = find_vma_intersection(mm, tmp, end) if tmp < end else None
    if tmp < end:
        return -ENOMEM
    return 0


def populate_vma_page_range(m: Machine, task: Any, vma: VmAreaStruct, start: int,
                            end: int) -> int:
    """populate_vma_page_range(): pages done, or -errno (-EFAULT for PROT_NONE VMAs)."""
    from memsim.mm.gup import faultin_range
    nr_pages = (end - start) >> 12
    if vma.vm_flags & VM_LOCKONFAULT:
        return nr_pages
    if not vma.vm_flags & (VM_READ | VM_WRITE | VM_EXEC):
        return -EFAULT
    write = vma.vm_flags & (VM_WRITE | VM_SHARED) == VM_WRITE
    err = faultin_range(m, task, vma, start, end, write, force=True)
    return err if err < 0 else nr_pages


def __mm_populate(m: Machine, task: Any, start: int, length: int,
                  ignore_errors: bool) -> int:
    """__mm_populate(): fault in every VMA of the range; 0 or the first -errno."""
    end = start + length
    mm: MmStruct = task.mm
    nstart = start
    while nstart < end:
        vma = find_vma_intersection(mm, nstart, end)
        if vma is None:
            break
        nend = min(end, vma.vm_end)
        if vma.vm_flags & (VM_IO | VM_PFNMAP):
            nstart = nend
            continue
        nstart = max(nstart, vma.vm_start)
        ret = populate_vma_page_range(m, task, vma, nstart, nend)
        if ret < 0:
            if ignore_errors:
                nstart = nend
                continue
            return ret
        nstart = nstart + ret * PAGE_SIZE
    return 0


def __mlock_posix_error_return(retval: int) -> int:
    if retval == -EFAULT:
        return -ENOMEM
    if retval == -ENOMEM:
        return -EAGAIN
    return retval


def do_mlock(m: Machine, task: Any, start: int, length: int, flags: int) -> int:
    """do_mlock(): lock the VMAs, then populate the range (errors POSIX-mapped)."""
    length = (length + (start & ~PAGE_MASK) + PAGE_SIZE - 1) & PAGE_MASK
    start &= PAGE_MASK
    # SIM: CAP_IPC_LOCK: no RLIMIT_MEMLOCK check (count_mm_mlocked_page_nr unused)
    error = apply_vma_lock_flags(m, task.mm, start, length, flags)
    if error:
        return error
    error = __mm_populate(m, task, start, length, ignore_errors=False)
    if error:
        return __mlock_posix_error_return(error)
    return 0


def apply_mlockall_flags(m: Machine, mm: MmStruct, flags: int) -> int:
    """apply_mlockall_flags(): mm->def_flags for MCL_FUTURE, every VMA for MCL_CURRENT
    (and every VMA unlocked when called for munlockall, flags 0)."""
    mm.def_flags &= ~VM_LOCKED_MASK
    if flags & MCL_FUTURE:
        mm.def_flags |= VM_LOCKED
        if flags & MCL_ONFAULT:
            mm.def_flags |= VM_LOCKONFAULT
        if not flags & MCL_CURRENT:
            return 0
    to_add = 0
    if flags & MCL_CURRENT:
        to_add |= VM_LOCKED
        if flags & MCL_ONFAULT:
            to_add |= VM_LOCKONFAULT
    prev: VmAreaStruct | None = None
    addr = 0
    while True:
        i = vma_index(mm, addr)
        if i >= len(mm.vmas):
            break
        vma = mm.vmas[i]
        newflags = (vma.vm_flags & ~VM_LOCKED_MASK) | to_add
        err, prev = mlock_fixup(m, vma, prev, vma.vm_start, vma.vm_end, newflags)
        if err or prev is None:
            prev = vma  # errors are ignored, but prev needs fixing up
        addr = prev.vm_end
    return 0


# ---- syscalls -----------------------------------------------------------------------------

@register_syscall("mlock")
def sys_mlock(m: Machine, task: Any, start: int, length: int) -> int:
    return do_mlock(m, task, start, length, VM_LOCKED)


@register_syscall("mlock2")
def sys_mlock2(m: Machine, task: Any, start: int, length: int, flags: int = 0) -> int:
    if flags & ~MLOCK_ONFAULT:
        return -EINVAL
    vm_flags = VM_LOCKED
    if flags & MLOCK_ONFAULT:
        vm_flags |= VM_LOCKONFAULT
    return do_mlock(m, task, start, length, vm_flags)


@register_syscall("munlock")
def sys_munlock(m: Machine, task: Any, start: int, length: int) -> int:
    length = (length + (start & ~PAGE_MASK) + PAGE_SIZE - 1) & PAGE_MASK
    start &= PAGE_MASK
    return apply_vma_lock_flags(m, task.mm, start, length, 0)


@register_syscall("mlockall")
def sys_mlockall(m: Machine, task: Any, flags: int) -> int:
    if not flags or flags & ~(MCL_CURRENT | MCL_FUTURE | MCL_ONFAULT) or flags == MCL_ONFAULT:
        return -EINVAL
    # SIM: CAP_IPC_LOCK: total_vm is never checked against RLIMIT_MEMLOCK
    ret = apply_mlockall_flags(m, task.mm, flags)
    if not ret and flags & MCL_CURRENT:
        __mm_populate(m, task, 0, task.mm.task_size, ignore_errors=True)
    return ret


@register_syscall("munlockall")
def sys_munlockall(m: Machine, task: Any) -> int:
    return apply_mlockall_flags(m, task.mm, 0)


__all__ = ["mlock_folio", "mlock_new_folio", "munlock_folio", "munlock_vma_folio",
           "folio_clear_mlocked_on_free", "apply_vma_lock_flags", "mlock_fixup",
           "do_mlock", "__mm_populate", "populate_vma_page_range", "vma_supports_mlock"]
