"""
madvise(2) (mm/madvise.c 6.12, virtual.md §3.7) with the 6.18 behaviours the oracle shows:
guard regions (MADV_GUARD_INSTALL/REMOVE, 6.13+) that mark the VMA VM_MAYBE_GUARD ("gu"),
and the mseal rule of can_madvise_modify() (mm/mseal.py).

* flag advices change vm_flags through vma_modify_flags (split/merge, mm/vma.py);
* DONTNEED zaps (guard markers survive), FREE marks pages lazy-free through the per-CPU
  lru_lazyfree batch (mm/swap.c: PG_swapbacked is cleared when a batch of 31 drains, so
  the last partial batch stays swap-backed until the next lru_add_drain()), PAGEOUT
  reclaims the range's exclusively mapped pages (lazy-free and clean file pages go; dirty
  anon pages stay without swap), COLD deactivates;
* WILLNEED reads files ahead (mm/fadvise.py), REMOVE punches shmem holes (mm/shmem.py),
  POPULATE_* faults the range in (mm/gup.py).

Unmapped holes in the range give ENOMEM after the mapped parts were advised.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from memsim.include.mm import (
    VM_DONTCOPY,
    VM_DONTDUMP,
    VM_DONTEXPAND,
    VM_DROPPABLE,
    VM_HUGETLB,
    VM_IO,
    VM_LOCKED,
    VM_MAYBE_GUARD,
    VM_MAYREAD,
    VM_MAYSHARE,
    VM_MAYWRITE,
    VM_MERGEABLE,
    VM_MIXEDMAP,
    VM_PFNMAP,
    VM_RAND_READ,
    VM_READ,
    VM_SEQ_READ,
    VM_SHARED,
    VM_SPECIAL,
    VM_WIPEONFORK,
    VM_WRITE,
)
from memsim.include.mm_types import MM_SWAPENTS, MmStruct, VmAreaStruct
from memsim.include.mman import (
    EACCES,
    EAGAIN,
    EFAULT,
    EINVAL,
    ENOMEM,
    EOPNOTSUPP,
    EPERM,
    MADV_COLD,
    MADV_COLLAPSE,
    MADV_DODUMP,
    MADV_DOFORK,
    MADV_DONTDUMP,
    MADV_DONTFORK,
    MADV_DONTNEED,
    MADV_DONTNEED_LOCKED,
    MADV_FREE,
    MADV_GUARD_INSTALL,
    MADV_GUARD_REMOVE,
    MADV_HUGEPAGE,
    MADV_HWPOISON,
    MADV_KEEPONFORK,
    MADV_MERGEABLE,
    MADV_NOHUGEPAGE,
    MADV_NORMAL,
    MADV_PAGEOUT,
    MADV_POPULATE_READ,
    MADV_POPULATE_WRITE,
    MADV_RANDOM,
    MADV_REMOVE,
    MADV_SEQUENTIAL,
    MADV_SOFT_OFFLINE,
    MADV_UNMERGEABLE,
    MADV_WILLNEED,
    MADV_WIPEONFORK,
    POSIX_FADV_WILLNEED,
)
from memsim.include.page_flags import PageFlags, PG_swapcache
from memsim.include.pgtable_types import (
    _PAGE_ACCESSED,
    _PAGE_DIRTY,
    PTE_MARKER_GUARD,
    is_guard_pte,
    is_pte_marker,
    make_pte_marker,
    pte_present,
)
from memsim.kernel.task import register_syscall
from memsim.mm.memory import (
    ZapDetails,
    add_mm_counter,
    vm_normal_page,
    zap_page_range_single,
)
from memsim.mm.mmap import PAGE_ALIGN
from memsim.mm.swap import (
    folio_deactivate,
    folio_mark_lazyfree,
    folio_test_swapcache,
    lru_add_drain,
)
from memsim.mm.vma import VmaError, find_vma, find_vma_prev, vma_lookup, vma_modify_flags

if TYPE_CHECKING:
    from memsim.machine import Machine

PAGE_SHIFT = 12
PAGE_SIZE = 1 << PAGE_SHIFT
_U64 = (1 << 64) - 1
#: MMF_VM_MERGEABLE (include/linux/sched/coredump.h)
MMF_VM_MERGEABLE = 16

_PG_DIRTY = 1 << PageFlags.PG_dirty
_PG_SWAPBACKED = 1 << PageFlags.PG_swapbacked
_PG_SWAPCACHE = 1 << PG_swapcache
_PG_ACTIVE = 1 << PageFlags.PG_active
_PG_REFERENCED = 1 << PageFlags.PG_referenced
_PG_WORKINGSET = 1 << PageFlags.PG_workingset
_PG_UNEVICTABLE = 1 << PageFlags.PG_unevictable
_PG_MLOCKED = 1 << PageFlags.PG_mlocked
_PG_HEAD = 1 << PageFlags.PG_head

_VALID = frozenset((MADV_DOFORK, MADV_DONTFORK, MADV_NORMAL, MADV_SEQUENTIAL, MADV_RANDOM,
                    MADV_REMOVE, MADV_WILLNEED, MADV_DONTNEED, MADV_DONTNEED_LOCKED, MADV_FREE,
                    MADV_COLD, MADV_PAGEOUT, MADV_POPULATE_READ, MADV_POPULATE_WRITE,
                    MADV_MERGEABLE, MADV_UNMERGEABLE, MADV_HUGEPAGE, MADV_NOHUGEPAGE,
                    MADV_COLLAPSE, MADV_DONTDUMP, MADV_DODUMP, MADV_WIPEONFORK,
                    MADV_KEEPONFORK, MADV_SOFT_OFFLINE, MADV_HWPOISON, MADV_GUARD_INSTALL,
                    MADV_GUARD_REMOVE))


def madvise_behavior_valid(behavior: int) -> bool:
    """madvise_behavior_valid() (CONFIG_KSM, CONFIG_TRANSPARENT_HUGEPAGE and
    CONFIG_MEMORY_FAILURE set, as on the oracle's kernel; guard advices are 6.13+)."""
    return behavior in _VALID


# ---- the per-CPU lru_lazyfree batch lives in mm/swap.py ---------------------------------------

def folio_unevictable(m: Machine, pfn: int) -> bool:
    """folio_test_unevictable() (an mlocked page not yet culled counts too)."""
    return bool(m.mem_map.flags[pfn] & (_PG_UNEVICTABLE | _PG_MLOCKED))


# ---- PTE walking helpers -------------------------------------------------------------------------

def _present_ptes(vma: VmAreaStruct, start: int, end: int) -> list[tuple[Any, int, int]]:
    """(table, index, address) of every present PTE of the range."""
    pgd = vma.vm_mm.pgd
    out = []
    for t, i0, i1 in list(pgd.iter_tables(start, end)):
        for i in range(i0, i1):
            pte = int(t.pte[i])
            if pte and pte_present(pte):
                out.append((t, i, t.base + (i << PAGE_SHIFT)))
    return out


def _pte_folio(m: Machine, vma: VmAreaStruct, pte: int) -> int | None:
    pfn = vm_normal_page(m, vma, pte)
    if pfn is None:
        return None
    mem = m.mem_map
    if mem.compound_head1[pfn] or mem.flags[pfn] & _PG_HEAD:
        # SIM: PTE-mapped large folios are left alone (the kernel splits partially
        # covered ones first)
        return None
    return pfn


def _split_huge_pmds(m: Machine, vma: VmAreaStruct, start: int, end: int) -> None:
    pgd = vma.vm_mm.pgd
    if not pgd.huge:
        return
    # SIM: a PMD-mapped THP in the range is split before the PTE walk (the kernel handles
    # fully covered PMDs whole: madvise_free_huge_pmd / the pmd branch of the cold walk)
    from memsim.mm.huge_memory import split_huge_pmd
    shift = pgd.pmd_shift
    for key in [k for k in pgd.huge if start >> shift <= k <= (end - 1) >> shift]:
        split_huge_pmd(m, vma, key << shift)


# ---- flag advices ------------------------------------------------------------------------------

def madvise_update_vma(m: Machine, mm: MmStruct, vma: VmAreaStruct, prev: VmAreaStruct | None,
                       start: int, end: int, new_flags: int) -> tuple[int, VmAreaStruct | None]:
    if new_flags == vma.vm_flags:
        return 0, vma
    try:
        vma = vma_modify_flags(m, mm, vma, prev, start, end, new_flags)
    except VmaError as e:
        return -e.errno, prev
    vma.vm_flags = new_flags
    # (khugepaged_enter_vma for VM_HUGEPAGE: # SIM: khugepaged does not scan)
    return 0, vma


def ksm_madvise(m: Machine, vma: VmAreaStruct, start: int, end: int, advice: int,
                vm_flags: int) -> int:
    """ksm_madvise(): the new vm_flags (>= 0) or -errno."""
    mm = vma.vm_mm
    ksm = getattr(m, "ksm", None)
    if advice == MADV_MERGEABLE:
        if vma.vm_flags & VM_MERGEABLE:
            return vm_flags
        if vma.vm_flags & (VM_SHARED | VM_MAYSHARE | VM_PFNMAP | VM_IO | VM_DONTEXPAND
                           | VM_HUGETLB | VM_MIXEDMAP | VM_DROPPABLE):
            return vm_flags     # just ignore the advice
        if not mm.flags & (1 << MMF_VM_MERGEABLE):
            enter = getattr(ksm, "ksm_enter", None) if ksm is not None else None
            if enter is not None:
                err = enter(mm)
                if err:
                    return int(err)
            mm.flags |= 1 << MMF_VM_MERGEABLE
        return vm_flags | VM_MERGEABLE
    if not vm_flags & VM_MERGEABLE:
        return vm_flags         # just ignore the advice
    if vma.anon_vma is not None and ksm is not None:
        err = ksm.unmerge_range(vma, start, end)
        if err:
            return int(err)
    return vm_flags & ~VM_MERGEABLE


# ---- DONTNEED / FREE -----------------------------------------------------------------------------

def madvise_dontneed_free_valid_vma(vma: VmAreaStruct, behavior: int) -> bool:
    # SIM: no hugetlb VMAs are modelled
    forbidden = VM_PFNMAP
    if behavior != MADV_DONTNEED_LOCKED:
        forbidden |= VM_LOCKED
    return not vma.vm_flags & forbidden


def madvise_free_single_vma(m: Machine, vma: VmAreaStruct, start: int, end: int) -> int:
    """madvise_free_single_vma() + madvise_free_pte_range()."""
    if not vma.vma_is_anonymous():
        return -EINVAL
    start, end = max(vma.vm_start, start), min(vma.vm_end, end)
    if start >= end:
        return -EINVAL
    lru_add_drain(m)
    _split_huge_pmds(m, vma, start, end)
    mm = vma.vm_mm
    mem = m.mem_map
    nr_swap = 0
    for t, i0, i1 in list(mm.pgd.iter_tables(start, end)):
        ptes = t.pte
        for i in range(i0, i1):
            pte = int(ptes[i])
            if not pte:
                continue
            if not pte_present(pte):
                if not is_pte_marker(pte):
                    # a swap entry: dropping it is cheaper than a later swap-in
                    free = getattr(m, "free_swap_and_cache_hook", None)
                    if free is not None:
                        free(pte)
                    nr_swap -= 1
                    ptes[i] = 0
                    t.nr_used -= 1
                elif not is_guard_pte(pte):
                    # hwpoison / poisoned markers are cleared, guard markers stay
                    ptes[i] = 0
                    t.nr_used -= 1
                continue
            pfn = _pte_folio(m, vma, pte)
            if pfn is None:
                continue
            f = mem.flags[pfn]
            if folio_test_swapcache(f) or f & _PG_DIRTY:
                if mem.mapcount1[pfn] != 1:
                    continue
                if folio_test_swapcache(f) and \
                        not m.folio_free_swap_hook(pfn):  # type: ignore[attr-defined]
                    continue
                mem.flags[pfn] &= ~_PG_DIRTY
            if pte & (_PAGE_ACCESSED | _PAGE_DIRTY):
                ptes[i] = pte & ~(_PAGE_ACCESSED | _PAGE_DIRTY)
            folio_mark_lazyfree(m, pfn)
    if nr_swap:
        add_mm_counter(mm, MM_SWAPENTS, nr_swap)
    return 0


def madvise_dontneed_free(m: Machine, vma: VmAreaStruct, start: int, end: int,
                          behavior: int) -> int:
    if not madvise_dontneed_free_valid_vma(vma, behavior):
        return -EINVAL
    if start == end:
        return 0
    if behavior in (MADV_DONTNEED, MADV_DONTNEED_LOCKED):
        # 6.13+: guard markers survive MADV_DONTNEED
        zap_page_range_single(m, vma, start, end - start, ZapDetails(keep_markers=True))
        return 0
    return madvise_free_single_vma(m, vma, start, end)


# ---- COLD / PAGEOUT ----------------------------------------------------------------------------

def can_madv_lru_vma(vma: VmAreaStruct) -> bool:
    return not vma.vm_flags & (VM_LOCKED | VM_PFNMAP | VM_HUGETLB)


def madvise_cold_or_pageout(m: Machine, vma: VmAreaStruct, start: int, end: int,
                            pageout: bool) -> int:
    if not can_madv_lru_vma(vma):
        return -EINVAL
    # SIM: root may write any file, so can_do_file_pageout() is true and the
    # anon-only filter never applies
    lru_add_drain(m)
    _split_huge_pmds(m, vma, start, end)
    mem = m.mem_map
    isolated: list[tuple[Any, int, int]] = []
    for t, i, _addr in _present_ptes(vma, start, end):
        pte = int(t.pte[i])
        pfn = _pte_folio(m, vma, pte)
        if pfn is None or mem.mapcount1[pfn] != 1:
            continue
        if not pageout and pte & _PAGE_ACCESSED:
            t.pte[i] = pte & ~_PAGE_ACCESSED
        mem.flags[pfn] &= ~_PG_REFERENCED
        if mem.flags[pfn] & _PG_ACTIVE:
            mem.flags[pfn] |= _PG_WORKINGSET
        if pageout:
            if not folio_unevictable(m, pfn):
                isolated.append((t, i, pfn))
        elif not folio_unevictable(m, pfn):
            folio_deactivate(m, pfn)
    if isolated:
        from memsim.mm.vmscan import folio_isolate_lru, reclaim_pages
        reclaim_pages(m, [pfn for _t, _i, pfn in isolated if folio_isolate_lru(m, pfn)])
    return 0


# ---- WILLNEED / REMOVE / POPULATE / COLLAPSE ------------------------------------------------

def madvise_willneed(m: Machine, vma: VmAreaStruct, start: int, end: int) -> tuple[int, bool]:
    """(error, mmap lock dropped)."""
    file = vma.vm_file
    if file is None:
        # swapin_walk_ops: read the range's swap entries into the swap cache
        from memsim.mm.swap_state import madvise_swapin
        madvise_swapin(m, vma, start, end)
        lru_add_drain(m)
        return 0, False
    from memsim.mm.shmem import shmem_mapping
    if shmem_mapping(file.f_mapping):
        lru_add_drain(m)
        return 0, False
    from memsim.mm.fadvise import vfs_fadvise
    offset = (start - vma.vm_start) + (vma.vm_pgoff << PAGE_SHIFT)
    vfs_fadvise(m, file, offset, end - start, POSIX_FADV_WILLNEED)
    return 0, True


def madvise_remove(m: Machine, vma: VmAreaStruct, start: int, end: int) -> int:
    if vma.vm_flags & VM_LOCKED:
        return -EINVAL
    f = vma.vm_file
    if f is None or getattr(f, "f_mapping", None) is None:
        return -EINVAL
    if vma.vm_flags & (VM_SHARED | VM_MAYWRITE) != VM_SHARED | VM_MAYWRITE:
        return -EACCES
    offset = (start - vma.vm_start) + (vma.vm_pgoff << PAGE_SHIFT)
    from memsim.mm.shmem import shmem_mapping, shmem_punch_hole
    if shmem_mapping(f.f_mapping):
        return shmem_punch_hole(m, f.f_inode, offset, end - start)
    # SIM: ext4's FALLOC_FL_PUNCH_HOLE is not modelled
    return -EOPNOTSUPP


def check_vma_flags_populate(vma: VmAreaStruct, write: bool) -> bool:
    """check_vma_flags() with FOLL_MADV_POPULATE (no FOLL_FORCE): may GUP fault here?"""
    f = vma.vm_flags
    if f & (VM_IO | VM_PFNMAP):
        return False
    if write:
        return bool(f & VM_WRITE)
    return bool(f & VM_READ)


def madvise_populate(m: Machine, task: Any, start: int, end: int, behavior: int) -> int:
    """madvise_populate() -> faultin_page_range(): stops at the first problem."""
    from memsim.mm.gup import faultin_range
    write = behavior == MADV_POPULATE_WRITE
    mm: MmStruct = task.mm
    while start < end:
        vma = vma_lookup(mm, start)
        if vma is None:
            return -ENOMEM
        if not check_vma_flags_populate(vma, write):
            return -EINVAL
        nend = min(end, vma.vm_end)
        r = faultin_range(m, task, vma, start, nend, write)
        if r < 0:
            return -ENOMEM if r == -ENOMEM else -EFAULT
        start = nend
    return 0


# ---- guard regions (6.13+) -------------------------------------------------------------------

def is_valid_guard_vma(vma: VmAreaStruct, allow_locked: bool) -> bool:
    """6.15+ is_valid_guard_vma(): anonymous and file-backed VMAs, never special ones."""
    disallowed = VM_SPECIAL | VM_HUGETLB
    if not allow_locked:
        disallowed |= VM_LOCKED
    return not vma.vm_flags & disallowed


def madvise_guard_install(m: Machine, vma: VmAreaStruct, start: int, end: int) -> int:
    """
    Zap whatever is mapped in the range (existing guards stay) and put a guard marker in
    every PTE, allocating page tables; the VMA is not split, only marked VM_MAYBE_GUARD.
    """
    if not is_valid_guard_vma(vma, allow_locked=False):
        return -EINVAL
    vma.vm_flags |= VM_MAYBE_GUARD
    if vma.vma_is_anonymous():
        from memsim.mm.rmap import anon_vma_prepare
        anon_vma_prepare(m, vma)
    _split_huge_pmds(m, vma, start, end)
    zap_page_range_single(m, vma, start, end - start, ZapDetails(keep_markers=True))
    pgd = vma.vm_mm.pgd
    marker = make_pte_marker(PTE_MARKER_GUARD)
    mask = pgd.ptrs_per_pte - 1
    addr = start
    while addr < end:
        t = pgd.pte_alloc(addr)
        i = (addr >> PAGE_SHIFT) & mask
        if not t.pte[i]:
            t.pte[i] = marker
            t.nr_used += 1
        addr += PAGE_SIZE
    return 0


def madvise_guard_remove(m: Machine, vma: VmAreaStruct, start: int, end: int) -> int:
    """Clear the guard markers of the range (VM_MAYBE_GUARD stays on the VMA)."""
    if not is_valid_guard_vma(vma, allow_locked=True):
        return -EINVAL
    for t, i0, i1 in list(vma.vm_mm.pgd.iter_tables(start, end)):
        for i in range(i0, i1):
            pte = int(t.pte[i])
            if pte and is_guard_pte(pte):
                t.pte[i] = 0
                t.nr_used -= 1
    return 0


# ---- per-VMA dispatch ---------------------------------------------------------------------------

def _can_madvise_modify(vma: VmAreaStruct, behavior: int) -> bool:
    from memsim.mm.mseal import can_madvise_modify
    return can_madvise_modify(vma, behavior)


def madvise_vma_behavior(m: Machine, task: Any, vma: VmAreaStruct, prev: VmAreaStruct | None,
                         start: int, end: int,
                         behavior: int) -> tuple[int, VmAreaStruct | None]:
    """madvise_vma_behavior(): (error, the new prev — None when the lock was dropped)."""
    mm = vma.vm_mm
    if not _can_madvise_modify(vma, behavior):
        return -EPERM, prev
    if behavior == MADV_REMOVE:
        return madvise_remove(m, vma, start, end), None
    if behavior == MADV_WILLNEED:
        err, dropped = madvise_willneed(m, vma, start, end)
        return err, None if dropped else vma
    if behavior in (MADV_COLD, MADV_PAGEOUT):
        return madvise_cold_or_pageout(m, vma, start, end, behavior == MADV_PAGEOUT), vma
    if behavior in (MADV_FREE, MADV_DONTNEED, MADV_DONTNEED_LOCKED):
        return madvise_dontneed_free(m, vma, start, end, behavior), vma
    if behavior == MADV_GUARD_INSTALL:
        return madvise_guard_install(m, vma, start, end), vma
    if behavior == MADV_GUARD_REMOVE:
        return madvise_guard_remove(m, vma, start, end), vma
    if behavior == MADV_COLLAPSE:
        # SIM: khugepaged collapse is not modelled; the kernel fails it with EINVAL on
        # VMAs that are not THP-eligible, which is what every request gets here
        return -EINVAL, vma
    new_flags = vma.vm_flags
    if behavior == MADV_NORMAL:
        new_flags &= ~(VM_RAND_READ | VM_SEQ_READ)
    elif behavior == MADV_SEQUENTIAL:
        new_flags = (new_flags & ~VM_RAND_READ) | VM_SEQ_READ
    elif behavior == MADV_RANDOM:
        new_flags = (new_flags & ~VM_SEQ_READ) | VM_RAND_READ
    elif behavior == MADV_DONTFORK:
        new_flags |= VM_DONTCOPY
    elif behavior == MADV_DOFORK:
        if vma.vm_flags & VM_IO:
            return -EINVAL, vma
        new_flags &= ~VM_DONTCOPY
    elif behavior == MADV_WIPEONFORK:
        if vma.vm_file is not None or vma.vm_flags & VM_SHARED:
            return -EINVAL, vma
        new_flags |= VM_WIPEONFORK
    elif behavior == MADV_KEEPONFORK:
        if vma.vm_flags & VM_DROPPABLE:
            return -EINVAL, vma
        new_flags &= ~VM_WIPEONFORK
    elif behavior == MADV_DONTDUMP:
        new_flags |= VM_DONTDUMP
    elif behavior == MADV_DODUMP:
        if new_flags & VM_SPECIAL or vma.vm_flags & VM_DROPPABLE:
            return -EINVAL, vma
        new_flags &= ~VM_DONTDUMP
    elif behavior in (MADV_MERGEABLE, MADV_UNMERGEABLE):
        r = ksm_madvise(m, vma, start, end, behavior, new_flags)
        if r < 0:
            return (-EAGAIN if r == -ENOMEM else r), vma
        new_flags = r
    elif behavior in (MADV_HUGEPAGE, MADV_NOHUGEPAGE):
        from memsim.mm.huge_memory import hugepage_madvise
        r = hugepage_madvise(m, vma, new_flags, behavior)
        if r < 0:
            return (-EAGAIN if r == -ENOMEM else r), vma
        new_flags = r
    err, prev = madvise_update_vma(m, mm, vma, prev, start, end, new_flags)
    # madvise() returns EAGAIN when kernel resources are temporarily unavailable
    if err == -ENOMEM:
        err = -EAGAIN
    return err, prev


def madvise_walk_vmas(m: Machine, task: Any, start: int, end: int, behavior: int) -> int:
    """madvise_walk_vmas(): advise every VMA piece; holes give ENOMEM at the end."""
    mm: MmStruct = task.mm
    unmapped_error = 0
    vma, prev = find_vma_prev(mm, start)
    if vma is not None and start > vma.vm_start:
        prev = vma
    while True:
        if vma is None:
            return -ENOMEM
        if start < vma.vm_start:
            unmapped_error = -ENOMEM
            start = vma.vm_start
            if start >= end:
                break
        tmp = min(vma.vm_end, end)
        err, prev = madvise_vma_behavior(m, task, vma, prev, start, tmp, behavior)
        if err:
            return err
        start = tmp
        if prev is not None and start < prev.vm_end:
            start = prev.vm_end
        if start >= end:
            break
        vma = find_vma(mm, prev.vm_end if prev is not None else start)
    return unmapped_error


def madvise_inject_error(m: Machine, task: Any, behavior: int, start: int, end: int) -> int:
    """MADV_HWPOISON / MADV_SOFT_OFFLINE (root has CAP_SYS_ADMIN)."""
    from memsim.mm.gup import faultin_range
    addr = start
    while addr < end:
        vma = vma_lookup(task.mm, addr)
        if vma is None or faultin_range(m, task, vma, addr, addr + PAGE_SIZE, False) < 0:
            return -EFAULT
        addr += PAGE_SIZE
    if behavior == MADV_SOFT_OFFLINE:
        # SIM: soft_offline_page() would migrate the data to a new page; the page stays
        return 0
    # SIM: memory_failure() is not modelled
    return -EOPNOTSUPP


def do_madvise(m: Machine, task: Any, start: int, len_in: int, behavior: int) -> int:
    if not madvise_behavior_valid(behavior):
        return -EINVAL
    start &= _U64
    len_in &= _U64
    if start & (PAGE_SIZE - 1):
        return -EINVAL
    length = PAGE_ALIGN(len_in) & _U64
    if len_in and not length:
        return -EINVAL
    end = start + length
    if end > _U64:
        return -EINVAL
    if end == start:
        return 0
    if behavior in (MADV_HWPOISON, MADV_SOFT_OFFLINE):
        return madvise_inject_error(m, task, behavior, start, start + len_in)
    if behavior in (MADV_POPULATE_READ, MADV_POPULATE_WRITE):
        return madvise_populate(m, task, start, end, behavior)
    return madvise_walk_vmas(m, task, start, end, behavior)


@register_syscall("madvise")
def sys_madvise(m: Machine, task: Any, start: int, len_in: int, behavior: int) -> int:
    """madvise(2): 0 or -errno."""
    return do_madvise(m, task, start, len_in, behavior)


__all__ = ["sys_madvise", "do_madvise", "lru_add_drain", "folio_mark_lazyfree", "EFAULT",
           "VM_MAYREAD"]
