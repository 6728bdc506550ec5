"""
Reverse mapping (mm/rmap.c, include/linux/rmap.h): anon_vma and anon_vma_chain, the map
counts of a page, and the walk from a page to every PTE that maps it.

* ``AnonVma``: one per "family" of private anonymous memory; pages point to it through
  page->mapping (an odd handle, mm/mapping.py). Every VMA that may hold its pages is linked
  through an ``AnonVmaChain``.
* fork: anon_vma_fork() clones the parent's chains into the child and gives the child its
  own anon_vma whose root is the parent's root, so COW copies made by the child go to the
  child's anon_vma while shared pages stay findable from both.
* map counts: ``_mapcount + 1`` is kept in the memmap (``mapcount1``), so page_mapcount() is
  a single read; PageAnonExclusive is PG_anon_exclusive (include/page_flags.py).

Where the PTEs are changed: mm/memory.py (faults, zap, copy_page_range); callers of
rmap_walk(): try_to_unmap here, reclaim and migration later.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from memsim.include.mm import VM_LOCKED, VM_SHARED
from memsim.include.mm_types import (
    MM_ANONPAGES,
    MM_SWAPENTS,
    PAGE_MAPPING_ANON,
    PAGE_MAPPING_KSM,
    VmAreaStruct,
)
from memsim.include.page_flags import PageFlags, PG_anon_exclusive
from memsim.include.pgtable_types import (
    _PAGE_DIRTY,
    _PAGE_PRESENT,
    _PAGE_PROTNONE,
    _PAGE_RW,
    PTE_PFN_MASK,
    pte_pfn,
    pte_present,
)
from memsim.include.vmstat_items import NodeStatItem
from memsim.mm.mapping import mapping_from_handle, mapping_handle_register

if TYPE_CHECKING:
    from memsim.machine import Machine

PAGE_MAPPING_FLAGS = PAGE_MAPPING_ANON | PAGE_MAPPING_KSM
_PG_ANON_EXCL = 1 << PG_anon_exclusive
_PG_SWAPBACKED = 1 << PageFlags.PG_swapbacked
_PG_DIRTY = 1 << PageFlags.PG_dirty
_PG_HEAD = 1 << PageFlags.PG_head
_NR_ANON_MAPPED = NodeStatItem.NR_ANON_MAPPED
_NR_FILE_MAPPED = NodeStatItem.NR_FILE_MAPPED
_PTE_PRESENT_MASK = _PAGE_PRESENT | _PAGE_PROTNONE


class AnonVma:
    """struct anon_vma."""

    __slots__ = ("root", "parent", "refcount", "degree", "num_children", "num_active_vmas",
                 "handle", "chains")

    def __init__(self, m: Machine, parent: AnonVma | None = None) -> None:
        self.root: AnonVma = self if parent is None else parent.root
        self.parent: AnonVma = self if parent is None else parent
        self.refcount = 1
        self.degree = 1
        #: anon_vmas that have this one as parent (maybe_reuse_anon_vma in 6.12 uses it)
        self.num_children = 0
        #: VMAs whose vma->anon_vma is this one
        self.num_active_vmas = 0
        self.handle = mapping_handle_register(m, self, anon=True)
        #: the interval tree ``rb_root`` of chains. # SIM: a list in insertion order
        self.chains: list[AnonVmaChain] = []

    def __repr__(self) -> str:
        return f"<anon_vma {self.handle:#x} vmas={len(self.chains)}>"


class AnonVmaChain:
    """struct anon_vma_chain: links one VMA with one anon_vma."""

    __slots__ = ("vma", "anon_vma")

    def __init__(self, vma: VmAreaStruct, anon_vma: AnonVma) -> None:
        self.vma = vma
        self.anon_vma = anon_vma


def anon_vma_chain_link(vma: VmAreaStruct, av: AnonVma) -> None:
    avc = AnonVmaChain(vma, av)
    vma.anon_vma_chain.append(avc)
    av.chains.append(avc)


def anon_vma_prepare(m: Machine, vma: VmAreaStruct) -> AnonVma:
    """
    __anon_vma_prepare(): give *vma* an anon_vma on its first anonymous fault, reusing a
    mergeable neighbour's (find_mergeable_anon_vma) so that adjacent VMAs stay mergeable.
    """
    if vma.anon_vma is not None:
        return vma.anon_vma  # type: ignore[no-any-return]
    from memsim.mm.vma import find_mergeable_anon_vma
    found = find_mergeable_anon_vma(vma)
    av: AnonVma
    if found is None:
        av = AnonVma(m)
    else:
        av = found
        av.refcount += 1
    anon_vma_chain_link(vma, av)
    vma.anon_vma = av
    av.num_active_vmas += 1
    return av


def anon_vma_clone(dst: VmAreaStruct, src: VmAreaStruct) -> None:
    """anon_vma_clone(): link *dst* to every anon_vma *src* is linked to (split, copy)."""
    for avc in src.anon_vma_chain:
        anon_vma_chain_link(dst, avc.anon_vma)
    if dst.anon_vma is not None:
        dst.anon_vma.num_active_vmas += 1


def anon_vma_fork(m: Machine, vma: VmAreaStruct, pvma: VmAreaStruct) -> None:
    """
    anon_vma_fork(): the child VMA gets the parent's chains plus an anon_vma of its own,
    a child of the parent's (6.12 tries to reuse an old one only with degree < 2; a fresh
    fork of a process with no grandchildren always allocates).
    """
    if pvma.anon_vma is None:
        return
    vma.anon_vma = None
    anon_vma_clone(vma, pvma)
    # SIM: maybe_reuse_anon_vma's reuse of an anon_vma nobody maps any more is skipped
    av = AnonVma(m, parent=pvma.anon_vma)
    pvma.anon_vma.num_children += 1
    anon_vma_chain_link(vma, av)
    vma.anon_vma = av
    av.num_active_vmas += 1


def unlink_anon_vmas(m: Machine, vma: VmAreaStruct) -> None:
    """unlink_anon_vmas(): drop *vma* from every anon_vma; free the ones left empty."""
    if vma.anon_vma is not None:
        vma.anon_vma.num_active_vmas -= 1
    for avc in vma.anon_vma_chain:
        av = avc.anon_vma
        av.chains.remove(avc)
        if not av.chains:
            m.mapping_registry.unregister(av.handle)
    vma.anon_vma_chain.clear()
    vma.anon_vma = None


# ---- per-page map state ---------------------------------------------------------------

def PageAnon(m: Machine, pfn: int) -> bool:
    return bool(m.mem_map.mapping[pfn] & PAGE_MAPPING_ANON)


def PageKsm(m: Machine, pfn: int) -> bool:
    return m.mem_map.mapping[pfn] & PAGE_MAPPING_FLAGS == PAGE_MAPPING_FLAGS


def PageAnonExclusive(m: Machine, pfn: int) -> bool:
    return bool(m.mem_map.flags[pfn] & _PG_ANON_EXCL)


def page_mapcount(m: Machine, pfn: int) -> int:
    """page_mapcount(): how many page-table entries map this page (0 when unmapped)."""
    return int(m.mem_map.mapcount1[pfn])


def folio_anon_vma(m: Machine, pfn: int) -> AnonVma | None:
    h = m.mem_map.mapping[pfn]
    if not h & PAGE_MAPPING_ANON:
        return None
    obj = mapping_from_handle(m, h & ~PAGE_MAPPING_KSM)
    return obj if isinstance(obj, AnonVma) else None


def folio_add_new_anon_rmap(m: Machine, pfn: int, vma: VmAreaStruct, address: int,
                            exclusive: bool = True) -> None:
    """
    folio_add_new_anon_rmap(): a freshly allocated anonymous page becomes mapped once, owned
    by the VMA's anon_vma at index linear_page_index(); PG_anon_exclusive and
    PG_swapbacked are set, and the node's AnonPages grows.
    """
    mm_ = m.mem_map
    av = vma.anon_vma
    assert av is not None
    if not exclusive:
        av = av.root        # __folio_set_anon(): a possibly shared folio takes the oldest
    mm_.mapping[pfn] = av.handle
    mm_.index[pfn] = vma.linear_page_index(address)
    mm_.mapcount1[pfn] = 1
    mm_.flags[pfn] |= _PG_SWAPBACKED | (_PG_ANON_EXCL if exclusive else 0)
    m.mod_node_page_state_pfn(pfn, _NR_ANON_MAPPED, 1)


def _counted_by_pmd(m: Machine, pfn: int) -> bool:
    """
    A subpage of a large folio that a PMD maps entirely is already counted in
    NR_ANON_MAPPED: __folio_add_rmap()/__folio_remove_rmap() count a page's first PTE
    mapping only while ``folio->_nr_pages_mapped`` is below ENTIRELY_MAPPED.
    """
    mm_ = m.mem_map
    h1 = mm_.compound_head1[pfn]
    if not h1 and not mm_.flags[pfn] & _PG_HEAD:
        return False
    st = getattr(m, "thp", None)
    return st is not None and st.entire_mapcount.get(h1 - 1 if h1 else pfn, 0) > 0


def folio_add_anon_rmap_pte(m: Machine, pfn: int) -> None:
    """Another PTE maps an existing anonymous page (fork's copy_present_pte)."""
    mm_ = m.mem_map
    if mm_.mapcount1[pfn] == 0 and not _counted_by_pmd(m, pfn):
        m.mod_node_page_state_pfn(pfn, _NR_ANON_MAPPED, 1)
    mm_.mapcount1[pfn] += 1


def folio_add_file_rmap_pte(m: Machine, pfn: int) -> None:
    """A PTE maps a page-cache page: the first mapping counts it in Mapped (NR_FILE_MAPPED)."""
    mm_ = m.mem_map
    if mm_.mapcount1[pfn] == 0:
        m.mod_node_page_state_pfn(pfn, _NR_FILE_MAPPED, 1)
    mm_.mapcount1[pfn] += 1


def folio_remove_rmap_pte(m: Machine, pfn: int) -> None:
    """
    folio_remove_rmap_pte(): one mapping fewer; the last one takes the page out of
    AnonPages or Mapped (the anon page keeps its anon_vma until it is freed, as the
    kernel keeps folio->mapping).
    """
    mm_ = m.mem_map
    n = mm_.mapcount1[pfn] - 1
    mm_.mapcount1[pfn] = n
    if n == 0:
        if _counted_by_pmd(m, pfn):
            return
        anon = mm_.mapping[pfn] & PAGE_MAPPING_ANON
        m.mod_node_page_state_pfn(pfn, _NR_ANON_MAPPED if anon else _NR_FILE_MAPPED, -1)
    elif n < 0:
        # SIM: a CONFIG_DEBUG_VM kernel stops here (the page's _mapcount underflowed)
        m.debug.vm_bug_on_page(pfn, "atomic_read(&page->_mapcount) < -1", "mm/rmap.c", 1530)
        mm_.mapcount1[pfn] = 0


# ---- rmap walk --------------------------------------------------------------------------

def vma_address(vma: VmAreaStruct, pgoff: int) -> int | None:
    """The user address where *vma* maps file/anon page index *pgoff*, or None."""
    addr = vma.vm_start + ((pgoff - vma.vm_pgoff) << 12)
    if addr < vma.vm_start or addr >= vma.vm_end:
        return None
    return addr


def rmap_walk(m: Machine, pfn: int) -> Iterator[tuple[VmAreaStruct, int]]:
    """
    rmap_walk(): every (vma, address) whose PTE maps page *pfn* — the anon_vma's chains for
    an anonymous page (rmap_walk_anon), the file's i_mmap for a page-cache page
    (rmap_walk_file).
    """
    mm_ = m.mem_map
    h = mm_.mapping[pfn]
    if not h:
        return
    index = int(mm_.index[pfn])
    vmas: list[VmAreaStruct]
    if h & PAGE_MAPPING_ANON:
        av = mapping_from_handle(m, h & ~PAGE_MAPPING_KSM)
        if av is None:
            return
        vmas = [avc.vma for avc in av.chains]
    else:
        mapping: Any = mapping_from_handle(m, h)
        vmas = list(getattr(mapping, "i_mmap", ()))
    for vma in vmas:
        addr = vma_address(vma, index)
        if addr is None:
            continue
        pgd = vma.vm_mm.pgd
        pte = pgd.pte_get(addr)
        if pte_present(pte) and pte_pfn(pte) == pfn:
            yield vma, addr


def page_referenced_vmas(m: Machine, pfn: int) -> list[tuple[VmAreaStruct, int]]:
    """
    Every mapping of *pfn* (a list, for callers that change PTEs while walking): what
    ``list(rmap_walk(m, pfn))`` returns, built in one pass (the reclaim paths' hot walk).
    """
    mm_ = m.mem_map
    h = mm_.mapping[pfn]
    out: list[tuple[VmAreaStruct, int]] = []
    if not h:
        return out
    index = int(mm_.index[pfn])
    vmas: Any
    if h & PAGE_MAPPING_ANON:
        av = mapping_from_handle(m, h & ~PAGE_MAPPING_KSM)
        if av is None:
            return out
        vmas = [avc.vma for avc in av.chains]
    else:
        mapping: Any = mapping_from_handle(m, h)
        vmas = list(getattr(mapping, "i_mmap", ()))
    for vma in vmas:
        start = vma.vm_start
        addr = start + ((index - vma.vm_pgoff) << 12)         # vma_address()
        if addr < start or addr >= vma.vm_end:
            continue
        pgd = vma.vm_mm.pgd
        t = pgd.leaf.get(addr >> pgd.pmd_shift)                # pte_get()
        if t is None:
            continue
        pte = int(t.pte[(addr >> 12) & (pgd.ptrs_per_pte - 1)])
        if pte & _PTE_PRESENT_MASK and (pte & PTE_PFN_MASK) >> 12 == pfn:
            out.append((vma, addr))
    return out


def folio_mkclean(m: Machine, pfn: int) -> bool:
    """
    folio_mkclean(): before writeback, write-protect and clean every shared mapping's PTE
    of the page so the next write faults and re-dirties it. True if a PTE was dirty.
    """
    cleaned = False
    for vma, addr in page_referenced_vmas(m, pfn):
        if not vma.vm_flags & VM_SHARED:
            continue
        pgd = vma.vm_mm.pgd
        t = pgd.pte_table(addr)
        if t is None:
            continue
        i = (addr >> 12) & (pgd.ptrs_per_pte - 1)
        pte = int(t.pte[i])
        if pte & (_PAGE_DIRTY | _PAGE_RW):
            cleaned = cleaned or bool(pte & _PAGE_DIRTY)
            t.pte[i] = pte & ~(_PAGE_DIRTY | _PAGE_RW)
    return cleaned


TTU_SPLIT_HUGE_PMD = 0x4
TTU_IGNORE_MLOCK = 0x8
TTU_SYNC = 0x10
TTU_HWPOISON = 0x20
TTU_BATCH_FLUSH = 0x40
TTU_RMAP_LOCKED = 0x80


def try_to_unmap(m: Machine, pfn: int, flags: int = 0) -> bool:
    """
    try_to_unmap(): take page *pfn* out of every page table that maps it (rmap walk,
    try_to_unmap_one per PTE). File pages just lose their PTEs (the page cache keeps them);
    a clean lazy-free anonymous page (MADV_FREE, PG_swapbacked clear) is discarded; any
    other anonymous page needs a swap entry to put in the PTE, which the swap layer provides
    through ``m.swap_entry_for_unmap(pfn)`` — without one the page stays mapped. A
    VM_LOCKED mapping stops the walk (the page is mlocked instead) unless
    TTU_IGNORE_MLOCK. The caller holds a reference of its own (reclaim isolates the
    folio first). Returns True when the page is no longer mapped.
    """
    from memsim.mm.memory import folio_mark_dirty, folio_put, mm_counter_file
    mem = m.mem_map
    anon = bool(mem.mapping[pfn] & PAGE_MAPPING_ANON)
    for vma, addr in page_referenced_vmas(m, pfn):
        if vma.vm_flags & VM_LOCKED and not flags & TTU_IGNORE_MLOCK:
            from memsim.mm.mlock import mlock_folio
            mlock_folio(m, pfn)
            return False
        mm = vma.vm_mm
        pgd = mm.pgd
        t = pgd.leaf.get(addr >> pgd.pmd_shift)                # pte_table()
        if t is None:
            continue
        i = (addr >> 12) & (pgd.ptrs_per_pte - 1)
        pte = int(t.pte[i])
        dirty = bool(pte & _PAGE_DIRTY)
        newpte = 0
        if anon:
            if not mem.flags[pfn] & _PG_SWAPBACKED:
                # lazyfree: discard when clean and only the caller's isolation reference
                # and the mappings hold it; a re-dirtied page becomes swap-backed again
                if dirty:
                    mem.flags[pfn] |= _PG_DIRTY
                if mem.flags[pfn] & _PG_DIRTY or \
                        mem.refcount[pfn] != 1 + page_mapcount(m, pfn):
                    mem.flags[pfn] |= _PG_SWAPBACKED
                    return False
            else:
                entry = getattr(m, "swap_entry_for_unmap", None)
                swp = entry(pfn) if entry is not None else None
                if swp is None:
                    return False
                newpte = int(swp)
                if dirty:
                    mem.flags[pfn] |= _PG_DIRTY      # the dirty bit moves to the folio
                mm.rss_stat[MM_SWAPENTS] += 1
            mm.rss_stat[MM_ANONPAGES] -= 1
        else:
            if dirty:
                folio_mark_dirty(m, pfn)
            mm.rss_stat[mm_counter_file(m, pfn)] -= 1
        t.pte[i] = newpte
        if not newpte:
            t.nr_used -= 1
        folio_remove_rmap_pte(m, pfn)
        folio_put(m, pfn)
    return page_mapcount(m, pfn) == 0
