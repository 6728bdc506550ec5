"""
Transparent huge pages for anonymous memory (mm/huge_memory.c, include/linux/huge_mm.h,
virtual.md §4.6): PMD-mapped order-9 folios.

* eligibility: ``__thp_vma_allowable_orders`` / ``thp_vma_allowable`` (smaps THPeligible)
  and ``thp_vma_suitable`` (the fault path), from the sysfs mode ``m.config["thp"]``
  (always / madvise / never; defrag=madvise, use_zero_page=1 as on the oracle machine);
* faults: ``create_huge_pmd`` (do_huge_pmd_anonymous_page: the huge zero page on a read,
  a new THP on a write) and ``huge_pmd_fault`` (an existing huge PMD: accessed/dirty
  update, do_huge_pmd_wp_page reuse or split + fallback to the PTE path);
* ``split_huge_pmd`` (__split_huge_pmd_locked: 512 PTEs over the same, still large,
  folio), ``zap_huge_pmds`` (zap_huge_pmd, or a split when the range covers part of a
  PMD), ``copy_huge_pmds`` (fork's copy_huge_pmd), ``change_huge_pmd`` (mprotect).

Representation: the huge PMD value lives in ``pgd.huge[addr >> PMD_SHIFT]``; the
pre-allocated PTE table of each huge PMD (pgtable_trans_huge_deposit) is in
``pgd.deposited`` (mm/pgtable.py), counted in PageTables/VmPTE, and becomes the leaf table
when the PMD is split. A THP is a compound page (PG_head, compound_head1 on the
tails); every subpage carries the folio's page->mapping and index so that the per-page
code of mm/memory.py sees an anonymous page (the kernel reads them from the head). The
folio's entire mapcount (PMD mappings, the kernel's ``_entire_mapcount`` in the first
tail) is kept in ``ThpState.entire_mapcount``; subpage ``mapcount1`` counts PTE mappings.

Readers: smaps (fs/proc/task_mmu.py) uses folio_entire_mapcount, page_mapcount_thp,
is_huge_zero_pfn and thp_vma_allowable; the huge zero page is ``m.huge_zero_pfn`` (an
attribute that exists once it has been allocated).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from memsim.include.gfp import (
    __GFP_COMP,
    __GFP_DIRECT_RECLAIM,
    __GFP_MOVABLE,
    __GFP_ZERO,
    GFP_TRANSHUGE,
    GFP_TRANSHUGE_LIGHT,
)
from memsim.include.mm import (
    VM_HUGEPAGE,
    VM_LOCKED,
    VM_NOHUGEPAGE,
    VM_SHARED,
    VM_SPECIAL,
    VM_WRITE,
)
from memsim.include.mm_types import MM_ANONPAGES, VmAreaStruct
from memsim.include.page_flags import PageFlags, PG_anon_exclusive
from memsim.include.pgtable_types import (
    _PAGE_ACCESSED,
    _PAGE_DIRTY,
    _PAGE_PRESENT,
    _PAGE_PROTNONE,
    _PAGE_PSE,
    _PAGE_RW,
    _PAGE_SPECIAL,
    PTE_PFN_MASK,
)
from memsim.include.vmstat_items import NodeStatItem, VmEventItem

if TYPE_CHECKING:
    from memsim.machine import Machine
    from memsim.mm.pgtable import PgTable

PAGE_SHIFT = 12
HPAGE_PMD_ORDER = 9
HPAGE_PMD_NR = 1 << HPAGE_PMD_ORDER
HPAGE_PMD_SIZE = HPAGE_PMD_NR << PAGE_SHIFT
HPAGE_PMD_MASK = ~(HPAGE_PMD_SIZE - 1)

VM_FAULT_OOM = 0x000001
VM_FAULT_FALLBACK = 0x000800
FAULT_FLAG_WRITE = 1 << 0
FAULT_FLAG_UNSHARE = 1 << 10

#: include/linux/sched/coredump.h
MMF_HUGE_ZERO_PAGE = 23
MMF_DISABLE_THP = 24

_PG_HEAD = 1 << PageFlags.PG_head
_PG_ANON_EXCL = 1 << PG_anon_exclusive
_PG_SWAPBACKED = 1 << PageFlags.PG_swapbacked
_PG_UPTODATE = 1 << PageFlags.PG_uptodate
_PG_MLOCKED = 1 << PageFlags.PG_mlocked
_PROT_MASK = ~PTE_PFN_MASK & ((1 << 64) - 1)


@dataclass(slots=True)
class ThpState:
    """/sys/kernel/mm/transparent_hugepage/* and the global THP state of a machine."""

    #: enabled: always / madvise / never (from the machine config)
    enabled: str = "madvise"
    #: defrag: always / defer / defer+madvise / madvise / never
    defrag: str = "madvise"
    use_zero_page: int = 1
    #: the huge zero folio's head PFN (0 = not allocated yet)
    huge_zero_pfn: int = 0
    #: folio->_entire_mapcount + 1 per THP head (absent = not PMD-mapped)
    entire_mapcount: dict[int, int] = field(default_factory=dict)
    #: the deferred split queue (ds_queue): heads of large anon folios
    deferred_split: dict[int, bool] = field(default_factory=dict)


def thp_state(m: Machine) -> ThpState:
    st: ThpState | None = getattr(m, "thp", None)
    if st is None:
        st = ThpState(enabled=str(m.config["thp"]))
        setattr(m, "thp", st)  # noqa: B010 (not a declared Machine field)
    return st


# ---- helpers for readers (smaps, pagemap) -------------------------------------------------

def folio_head(m: Machine, pfn: int) -> int:
    h1 = m.mem_map.compound_head1[pfn]
    return int(h1) - 1 if h1 else pfn


def folio_entire_mapcount(m: Machine, head: int) -> int:
    """folio_entire_mapcount(): how many PMDs map this large folio."""
    st: ThpState | None = getattr(m, "thp", None)
    if st is None:
        return 0
    return st.entire_mapcount.get(head, 0)


def page_mapcount_thp(m: Machine, pfn: int) -> int:
    """page_mapcount() with CONFIG_PAGE_MAPCOUNT: PTE mappings of the page + PMD mappings."""
    n = int(m.mem_map.mapcount1[pfn])
    head = folio_head(m, pfn)
    if head != pfn or m.mem_map.flags[pfn] & _PG_HEAD:
        n += folio_entire_mapcount(m, head)
    return n


def folio_test_large(m: Machine, pfn: int) -> bool:
    return bool(m.mem_map.compound_head1[pfn] or m.mem_map.flags[pfn] & _PG_HEAD)


def is_huge_zero_pfn(m: Machine, pfn: int) -> bool:
    """True for any subpage of the huge zero folio (pages code 'z')."""
    hz = getattr(m, "huge_zero_pfn", None)
    return hz is not None and hz <= pfn < hz + HPAGE_PMD_NR


def is_huge_zero_pmd(m: Machine, pmd: int) -> bool:
    hz = getattr(m, "huge_zero_pfn", None)
    return hz is not None and (pmd & PTE_PFN_MASK) >> PAGE_SHIFT == hz


def _pmd_pfn(pmd: int) -> int:
    return (pmd & PTE_PFN_MASK) >> PAGE_SHIFT


def _thp_supported(m: Machine, pgd: PgTable) -> bool:
    # SIM: PMD THP on the 4-level 64-bit layouts only (x86-64, arm64)
    return pgd.pmd_shift == 21 and len(pgd.upper) == 3


# ---- eligibility ------------------------------------------------------------------------------

def vma_thp_disabled(vma: VmAreaStruct, vm_flags: int) -> bool:
    return bool(vm_flags & VM_NOHUGEPAGE) or bool(vma.vm_mm.flags & (1 << MMF_DISABLE_THP))


def thp_vma_suitable_order(vma: VmAreaStruct, addr: int, order: int) -> bool:
    """thp_vma_suitable_order(): the aligned huge range around *addr* lies inside *vma*."""
    size = 1 << (PAGE_SHIFT + order)
    if not vma.vma_is_anonymous():
        if ((vma.vm_start >> PAGE_SHIFT) - vma.vm_pgoff) & ((size >> PAGE_SHIFT) - 1):
            return False
    haddr = addr & ~(size - 1)
    return vma.vm_start <= haddr and haddr + size <= vma.vm_end


def _sysfs_allows(m: Machine, vm_flags: int) -> bool:
    """thp_vma_allowable_orders()'s sysfs mask for the PMD order (2048kB = inherit)."""
    mode = thp_state(m).enabled
    if mode == "always":
        return True
    if mode == "madvise":
        return bool(vm_flags & VM_HUGEPAGE)
    return False


def __thp_vma_allowable_orders(m: Machine, vma: VmAreaStruct, vm_flags: int, smaps: bool,
                               in_pf: bool, enforce_sysfs: bool = True) -> bool:
    """
    thp_vma_allowable_order(vma, vm_flags, tva_flags, PMD_ORDER) for anonymous VMAs.
    # SIM: only the PMD order; file/shmem VMAs are never THP-eligible here.
    """
    if not vma.vma_is_anonymous() or vm_flags & VM_SHARED:
        return False
    if vma.vm_mm is None or vma.vm_mm.pgd is None or not _thp_supported(m, vma.vm_mm.pgd):
        return False
    if enforce_sysfs and not _sysfs_allows(m, vm_flags):
        return False
    if vma_thp_disabled(vma, vm_flags):
        return False
    if not in_pf and not smaps and vm_flags & (VM_SPECIAL | 0x00400000):
        return False
    if not in_pf:
        if not thp_vma_suitable_order(vma, vma.vm_end - HPAGE_PMD_SIZE, HPAGE_PMD_ORDER):
            return False
    # vma_is_temporary_stack(): the stack during exec (never set up here)
    if vma.anon_vma is None:
        return smaps or in_pf
    return True


def thp_vma_allowable(m: Machine, vma: VmAreaStruct) -> bool:
    """smaps THPeligible: thp_vma_allowable_order(TVA_SMAPS | TVA_ENFORCE_SYSFS, PMD)."""
    return __thp_vma_allowable_orders(m, vma, vma.vm_flags, True, False)


def thp_vma_suitable(m: Machine, vma: VmAreaStruct, addr: int) -> bool:
    """Would a fault at *addr* with an empty PMD try a PMD THP (TVA_IN_PF + suitability)?"""
    return __thp_vma_allowable_orders(m, vma, vma.vm_flags, False, True) and \
        thp_vma_suitable_order(vma, addr, HPAGE_PMD_ORDER)


def vma_thp_gfp_mask(m: Machine, vma: VmAreaStruct) -> int:
    """vma_thp_gfp_mask(): the defrag setting decides whether the fault may reclaim."""
    madvised = bool(vma.vm_flags & VM_HUGEPAGE)
    defrag = thp_state(m).defrag
    if defrag == "always":
        return GFP_TRANSHUGE | (0 if madvised else 0x80000)   # __GFP_NORETRY when not madvised
    if defrag in ("defer", "defer+madvise"):
        return GFP_TRANSHUGE_LIGHT | (__GFP_DIRECT_RECLAIM if madvised and defrag != "defer"
                                      else 0)
    if defrag == "madvise":
        return GFP_TRANSHUGE_LIGHT | (__GFP_DIRECT_RECLAIM if madvised else 0)
    return GFP_TRANSHUGE_LIGHT


def hugepage_madvise(m: Machine, vma: VmAreaStruct, vm_flags: int, advice: int) -> int:
    """hugepage_madvise(): MADV_HUGEPAGE (14) / MADV_NOHUGEPAGE (15) -> the new vm_flags."""
    if advice == 14:
        vm_flags &= ~VM_NOHUGEPAGE
        vm_flags |= VM_HUGEPAGE
        # khugepaged_enter_vma(): # SIM: khugepaged does not scan (no collapse)
    elif advice == 15:
        vm_flags &= ~VM_HUGEPAGE
        vm_flags |= VM_NOHUGEPAGE
    return vm_flags


# ---- the huge zero page ----------------------------------------------------------------------

def mm_get_huge_zero_folio(m: Machine, mm: Any) -> int | None:
    """mm_get_huge_zero_folio(): allocate the huge zero folio on first use."""
    st = thp_state(m)
    if not st.huge_zero_pfn:
        gfp = (GFP_TRANSHUGE | __GFP_ZERO) & ~__GFP_MOVABLE
        pfn = m.alloc_pages(gfp | __GFP_COMP, HPAGE_PMD_ORDER)
        if pfn is None:
            m.vm_event[VmEventItem.THP_ZERO_PAGE_ALLOC_FAILED] += 1
            return None
        m.vm_event[VmEventItem.THP_ZERO_PAGE_ALLOC] += 1
        for p in range(pfn, pfn + HPAGE_PMD_NR):
            m.page_data.pop(p, None)
        # SIM: the huge zero folio is never given back (the shrinker only frees it when
        # no mm uses it; the model keeps it, as a machine under no pressure does)
        st.huge_zero_pfn = pfn
        setattr(m, "huge_zero_pfn", pfn)  # noqa: B010 (not a declared Machine field)
    if not mm.flags & (1 << MMF_HUGE_ZERO_PAGE):
        mm.flags |= 1 << MMF_HUGE_ZERO_PAGE
        m.mem_map.refcount[st.huge_zero_pfn] += 1
    return st.huge_zero_pfn


# ---- page-table plumbing (mm/pgtable.py keeps the deposited tables) ---------------------

def _set_huge_pmd(pgd: PgTable, haddr: int, pmd: int) -> None:
    """pgtable_trans_huge_deposit() + set_pmd_at(): the PMD tables exist, a PTE table is
    deposited (counted in PageTables/VmPTE) and the huge entry is installed."""
    pgd.pmd_alloc(haddr)
    pgd.deposit_pte_table(haddr)
    pgd.huge[haddr >> pgd.pmd_shift] = pmd


# ---- rmap of PMD-mapped folios -------------------------------------------------------------

def _set_folio_mapping(m: Machine, head: int, handle: int, index: int) -> None:
    mem = m.mem_map
    for i in range(HPAGE_PMD_NR):
        mem.mapping[head + i] = handle
        mem.index[head + i] = index + i


def folio_add_new_anon_rmap_pmd(m: Machine, head: int, vma: VmAreaStruct, haddr: int) -> None:
    """folio_add_new_anon_rmap(RMAP_EXCLUSIVE) of a PMD-mappable folio."""
    mem = m.mem_map
    av = vma.anon_vma
    assert av is not None
    _set_folio_mapping(m, head, av.handle, vma.linear_page_index(haddr))
    mem.flags[head] |= _PG_SWAPBACKED | _PG_ANON_EXCL | _PG_UPTODATE
    thp_state(m).entire_mapcount[head] = 1
    m.mod_node_page_state_pfn(head, NodeStatItem.NR_ANON_MAPPED, HPAGE_PMD_NR)
    m.mod_node_page_state_pfn(head, NodeStatItem.NR_ANON_THPS, HPAGE_PMD_NR)


def folio_add_anon_rmap_pmd(m: Machine, head: int) -> None:
    """folio_add_anon_rmap_pmd(): one more PMD maps the folio (fork)."""
    st = thp_state(m)
    n = st.entire_mapcount.get(head, 0)
    st.entire_mapcount[head] = n + 1
    if n == 0:
        _pmd_mapped_stat(m, head, 1)


def _pmd_mapped_stat(m: Machine, head: int, sign: int) -> None:
    mem = m.mem_map
    nr = sum(1 for i in range(HPAGE_PMD_NR) if mem.mapcount1[head + i] == 0)
    m.mod_node_page_state_pfn(head, NodeStatItem.NR_ANON_MAPPED, sign * nr)
    m.mod_node_page_state_pfn(head, NodeStatItem.NR_ANON_THPS, sign * HPAGE_PMD_NR)


def folio_remove_rmap_pmd(m: Machine, head: int) -> None:
    """folio_remove_rmap_pmd(): the last PMD mapping leaves AnonHugePages (NR_ANON_THPS)."""
    st = thp_state(m)
    n = st.entire_mapcount.get(head, 0) - 1
    if n > 0:
        st.entire_mapcount[head] = n
        return
    st.entire_mapcount.pop(head, None)
    _pmd_mapped_stat(m, head, -1)


def folio_undo_large_rmap(m: Machine, head: int) -> None:
    """
    The last reference of a large folio is going (free_tail_page_prepare and
    folio_undo_large_rmlist): clear the per-subpage mapping copies and contents, drop it
    from the deferred split queue. Called by memory.folio_put before freeing.
    """
    mem = m.mem_map
    n = 1 << int(mem.compound_order[head])
    data = m.page_data
    for p in range(head + 1, head + n):
        mem.mapping[p] = 0
        mem.index[p] = 0
        mem.flags[p] &= ~_PG_ANON_EXCL
        if p in data:
            del data[p]
    st: ThpState | None = getattr(m, "thp", None)
    if st is not None:
        st.deferred_split.pop(head, None)
        st.entire_mapcount.pop(head, None)


# ---- faults ----------------------------------------------------------------------------------

def create_huge_pmd(m: Machine, task: Any, vma: VmAreaStruct, address: int,
                    flags: int) -> int | None:
    """
    create_huge_pmd() for an empty PMD: do_huge_pmd_anonymous_page() when the VMA may have a
    PMD THP here; None (take the PTE path) otherwise; VM_FAULT_FALLBACK on failure.
    """
    if not vma.vma_is_anonymous():
        return None
    if not __thp_vma_allowable_orders(m, vma, vma.vm_flags, False, True):
        return None
    return do_huge_pmd_anonymous_page(m, task, vma, address, flags)


def do_huge_pmd_anonymous_page(m: Machine, task: Any, vma: VmAreaStruct, address: int,
                               flags: int) -> int:
    from memsim.mm.rmap import anon_vma_prepare
    haddr = address & HPAGE_PMD_MASK
    if not thp_vma_suitable_order(vma, haddr, HPAGE_PMD_ORDER):
        return VM_FAULT_FALLBACK
    anon_vma_prepare(m, vma)
    mm = vma.vm_mm
    pgd = mm.pgd
    st = thp_state(m)
    if not flags & FAULT_FLAG_WRITE and st.use_zero_page:
        zero = mm_get_huge_zero_folio(m, mm)
        if zero is None:
            m.vm_event[VmEventItem.THP_FAULT_FALLBACK] += 1
            return VM_FAULT_FALLBACK
        # set_huge_zero_folio(): mk_pmd(zero, vm_page_prot), pmd_mkhuge, never writable
        pmd = (zero << PAGE_SHIFT) | (vma.vm_page_prot & ~_PAGE_RW) | _PAGE_PSE
        try:
            _set_huge_pmd(pgd, haddr, pmd)
        except MemoryError:
            return VM_FAULT_OOM
        return 0
    gfp = vma_thp_gfp_mask(m, vma)
    head = m.alloc_pages(gfp | __GFP_COMP, HPAGE_PMD_ORDER)
    if head is None:
        m.vm_event[VmEventItem.THP_FAULT_FALLBACK] += 1
        return VM_FAULT_FALLBACK
    return __do_huge_pmd_anonymous_page(m, vma, haddr, head)


def __do_huge_pmd_anonymous_page(m: Machine, vma: VmAreaStruct, haddr: int,
                                 head: int) -> int:
    from memsim.mm.memory import add_mm_counter, folio_add_lru_vma
    mm = vma.vm_mm
    pgd = mm.pgd
    for p in range(head, head + HPAGE_PMD_NR):      # folio_zero_user()
        m.page_data.pop(p, None)
    try:
        pgd.pmd_alloc(haddr)
        pgd.deposit_pte_table(haddr)                # pte_alloc_one() + deposit
    except MemoryError:
        m.put_page(head)
        return VM_FAULT_OOM
    folio_add_new_anon_rmap_pmd(m, head, vma, haddr)
    folio_add_lru_vma(m, head, vma)
    pmd = (head << PAGE_SHIFT) | vma.vm_page_prot | _PAGE_PSE | _PAGE_DIRTY | _PAGE_ACCESSED
    if vma.vm_flags & VM_WRITE:
        pmd |= _PAGE_RW
    pgd.huge[haddr >> pgd.pmd_shift] = pmd
    add_mm_counter(mm, MM_ANONPAGES, HPAGE_PMD_NR)
    deferred_split_folio(m, head, False)
    m.vm_event[VmEventItem.THP_FAULT_ALLOC] += 1
    return 0


def deferred_split_folio(m: Machine, head: int, partially_mapped: bool) -> None:
    """deferred_split_folio(): queue the folio for the split shrinker."""
    st = thp_state(m)
    was = st.deferred_split.get(head)
    if partially_mapped and not was:
        m.vm_event[VmEventItem.THP_DEFERRED_SPLIT_PAGE] += 1
    st.deferred_split[head] = bool(was) or partially_mapped
    # SIM: the deferred-split shrinker never runs (no memory pressure): a partially
    # unmapped THP keeps its unmapped subpages allocated, as the oracle shows


def huge_pmd_fault(m: Machine, task: Any, vma: VmAreaStruct, address: int, flags: int) -> int:
    """A fault on a present huge PMD (__handle_mm_fault's pmd_trans_huge branch)."""
    mm = vma.vm_mm
    pgd = mm.pgd
    key = address >> pgd.pmd_shift
    pmd = pgd.huge[key]
    if flags & (FAULT_FLAG_WRITE | FAULT_FLAG_UNSHARE) and not pmd & _PAGE_RW:
        return do_huge_pmd_wp_page(m, vma, address, flags, pmd)
    # huge_pmd_set_accessed()
    new = pmd | _PAGE_ACCESSED
    if flags & FAULT_FLAG_WRITE:
        new |= _PAGE_DIRTY
    pgd.huge[key] = new
    return 0


def do_huge_pmd_wp_page(m: Machine, vma: VmAreaStruct, address: int, flags: int,
                        pmd: int) -> int:
    """
    do_huge_pmd_wp_page(): reuse an exclusive THP, else split the PMD and let the PTE path
    copy 4 KiB pages. A write to the huge zero page splits it into zero-page PTEs (6.12;
    6.15+ do_huge_zero_wp_pmd allocates a THP instead — the oracle does not exercise it).
    """
    pgd = vma.vm_mm.pgd
    haddr = address & HPAGE_PMD_MASK
    if not is_huge_zero_pmd(m, pmd):
        head = _pmd_pfn(pmd)
        mem = m.mem_map
        reuse = bool(mem.flags[head] & _PG_ANON_EXCL)
        if not reuse and mem.refcount[head] == 1:
            # folio_move_anon_rmap() + SetPageAnonExclusive()
            if vma.anon_vma is not None:
                _set_folio_mapping(m, head, vma.anon_vma.handle, int(mem.index[head]))
            mem.flags[head] |= _PG_ANON_EXCL
            reuse = True
        if reuse:
            if flags & FAULT_FLAG_UNSHARE:
                return 0
            new = pmd | _PAGE_ACCESSED | _PAGE_DIRTY
            if vma.vm_flags & VM_WRITE:
                new |= _PAGE_RW
            pgd.huge[haddr >> pgd.pmd_shift] = new
            return 0
    __split_huge_pmd(m, vma, haddr)
    return VM_FAULT_FALLBACK


# ---- split -----------------------------------------------------------------------------------

def split_huge_pmd(m: Machine, vma: VmAreaStruct, address: int) -> None:
    """split_huge_pmd(): replace the huge PMD covering *address* with 512 PTEs."""
    pgd = vma.vm_mm.pgd
    if (address >> pgd.pmd_shift) in pgd.huge:
        __split_huge_pmd(m, vma, address & HPAGE_PMD_MASK)


def __split_huge_pmd(m: Machine, vma: VmAreaStruct, haddr: int) -> None:
    """__split_huge_pmd_locked(): the same folio (still large) mapped by 512 PTEs."""
    mm = vma.vm_mm
    pgd = mm.pgd
    key = haddr >> pgd.pmd_shift
    pmd = pgd.huge[key]
    del pgd.huge[key]
    t = pgd.withdraw_pte_table(haddr)               # pgtable_trans_huge_withdraw()
    if t is None:
        t = pgd.pte_alloc(haddr)
    m.vm_event[VmEventItem.THP_SPLIT_PMD] += 1
    pfn = _pmd_pfn(pmd)
    prot = vma.vm_page_prot & ~_PAGE_PSE
    if is_huge_zero_pmd(m, pmd):
        # __split_huge_zero_page_pmd(): PTEs of the ordinary zero page
        entry = (m.zero_pfn << PAGE_SHIFT) | (prot & ~_PAGE_RW) | _PAGE_SPECIAL
        t.ptes[:] = entry
    elif pmd & (_PAGE_PRESENT | _PAGE_PROTNONE):
        mem = m.mem_map
        head = pfn
        anon_exclusive = bool(mem.flags[head] & _PG_ANON_EXCL)
        mem.refcount[head] += HPAGE_PMD_NR - 1             # folio_ref_add()
        # folio_add_anon_rmap_ptes(): subpages counted mapped already through the PMD
        for i in range(HPAGE_PMD_NR):
            mem.mapcount1[head + i] += 1
            if anon_exclusive:
                mem.flags[head + i] |= _PG_ANON_EXCL
        bits = pmd & (_PAGE_RW | _PAGE_ACCESSED | _PAGE_DIRTY)
        base = (prot & ~(_PAGE_RW | _PAGE_ACCESSED | _PAGE_DIRTY)) | bits
        import numpy as np
        t.ptes[:] = (np.arange(head, head + HPAGE_PMD_NR, dtype=np.uint64)
                     << np.uint64(PAGE_SHIFT)) | np.uint64(base)
        folio_remove_rmap_pmd(m, head)
    t.nr_used = HPAGE_PMD_NR                                # pmd_populate() done above


# ---- zap, fork, mprotect -----------------------------------------------------------------------

def zap_huge_pmds(m: Machine, vma: VmAreaStruct, start: int, end: int) -> None:
    """zap_pmd_range()'s huge-PMD part: whole PMDs are zapped, partial ones split."""
    pgd = vma.vm_mm.pgd
    shift = pgd.pmd_shift
    if end <= start:
        return
    keys = [k for k in pgd.huge if start >> shift <= k <= (end - 1) >> shift]
    for key in sorted(keys):
        haddr = key << shift
        if start <= haddr and haddr + HPAGE_PMD_SIZE <= end:
            zap_huge_pmd(m, vma, haddr)
        else:
            __split_huge_pmd(m, vma, haddr)


def zap_huge_pmd(m: Machine, vma: VmAreaStruct, haddr: int) -> None:
    """zap_huge_pmd(): drop one PMD mapping (and the folio's reference) plus its deposit."""
    from memsim.mm.memory import folio_put
    mm = vma.vm_mm
    pgd = mm.pgd
    pmd = pgd.huge[haddr >> pgd.pmd_shift]
    del pgd.huge[haddr >> pgd.pmd_shift]
    pgd.zap_deposited_table(haddr)
    if is_huge_zero_pmd(m, pmd) or not pmd & (_PAGE_PRESENT | _PAGE_PROTNONE):
        return
    head = _pmd_pfn(pmd)
    folio_remove_rmap_pmd(m, head)
    mm.rss_stat[MM_ANONPAGES] -= HPAGE_PMD_NR
    mem = m.mem_map
    if vma.vm_flags & VM_LOCKED and folio_entire_mapcount(m, head) == 0:
        mem.flags[head] &= ~_PG_MLOCKED
    folio_put(m, head)


def copy_huge_pmds(m: Machine, dst: VmAreaStruct, src: VmAreaStruct) -> None:
    """copy_huge_pmd() for every huge PMD of *src*: share the folio, write-protect both."""
    spgd = src.vm_mm.pgd
    dmm = dst.vm_mm
    dpgd = dmm.pgd
    shift = spgd.pmd_shift
    mem = m.mem_map
    for key in sorted(k for k in spgd.huge
                      if src.vm_start >> shift <= k <= (src.vm_end - 1) >> shift):
        haddr = key << shift
        pmd = spgd.huge[key]
        if is_huge_zero_pmd(m, pmd):
            mm_get_huge_zero_folio(m, dmm)
            _set_huge_pmd(dpgd, haddr, pmd & ~_PAGE_ACCESSED)
            continue
        head = _pmd_pfn(pmd)
        mem.refcount[head] += 1
        # folio_try_dup_anon_rmap_pmd(): the folio is no longer exclusive
        mem.flags[head] &= ~_PG_ANON_EXCL
        folio_add_anon_rmap_pmd(m, head)
        dmm.rss_stat[MM_ANONPAGES] += HPAGE_PMD_NR
        pmd &= ~_PAGE_RW                                    # pmdp_set_wrprotect()
        spgd.huge[key] = pmd
        _set_huge_pmd(dpgd, haddr, pmd & ~_PAGE_ACCESSED)
    rss = dmm.get_mm_rss()
    if rss > dmm.hiwater_rss:
        dmm.hiwater_rss = rss


def change_huge_pmd(m: Machine, vma: VmAreaStruct, haddr: int, newprot: int) -> None:
    """change_huge_pmd(): mprotect of a whole huge PMD keeps it huge with the new prot."""
    pgd = vma.vm_mm.pgd
    key = haddr >> pgd.pmd_shift
    pmd = pgd.huge.get(key)
    if pmd is None:
        return
    keep = pmd & (PTE_PFN_MASK | _PAGE_ACCESSED | _PAGE_DIRTY | _PAGE_PSE)
    new = keep | (newprot & _PROT_MASK & ~(_PAGE_ACCESSED | _PAGE_DIRTY)) | _PAGE_PSE
    if not is_huge_zero_pmd(m, pmd) and vma.vm_flags & VM_WRITE and \
            m.mem_map.flags[_pmd_pfn(pmd)] & _PG_ANON_EXCL and not vma.vm_flags & VM_SHARED:
        # can_change_pmd_writable(): an exclusive anon THP stays writable
        new |= _PAGE_RW
    else:
        new &= ~_PAGE_RW
    pgd.huge[key] = new


def vma_is_temporary_stack(vma: VmAreaStruct) -> bool:
    # SIM: no exec in progress, so never a temporary stack
    return False
