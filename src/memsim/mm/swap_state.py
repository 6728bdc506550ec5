"""
The swap cache and swap-in (mm/swap_state.c, do_swap_page of mm/memory.c, 6.12).

A folio in the swap cache has PG_swapcache, its entry in page->private
(``m.mem_map.private``) and one reference held by the cache; ``SwapState.cache`` stands in
for the swapper_spaces xarrays (entry -> pfn) and ``SwapState.shadows`` for the workingset
shadow entries left behind on eviction. Here: add_to_swap / add_to_swap_cache /
__delete_from_swap_cache / delete_from_swap_cache, swap_cache_get_folio (readahead hit
accounting), __read_swap_cache_async, the two readahead policies of swapin_readahead
(VMA-based when no rotational device is active, cluster-based otherwise; window from
page-cluster and the hit history), do_swap_page, try_to_unmap's swap PTE
(swap_entry_for_unmap), unuse_pte for swapoff, MADV_WILLNEED's swapin walk, and the
one-folio reclaim that MADV_PAGEOUT uses. Devices and counts: mm/swapfile.py; I/O:
mm/page_io.py.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from memsim.include.gfp import GFP_HIGHUSER_MOVABLE
from memsim.include.mm import VM_LOCKED, VM_WRITE
from memsim.include.mm_types import MM_ANONPAGES, MM_SWAPENTS
from memsim.include.page_flags import PageFlags, PG_anon_exclusive, PG_readahead
from memsim.include.pgtable_types import (
    _PAGE_ACCESSED,
    _PAGE_DIRTY,
    _PAGE_RW,
    _PAGE_SOFT_DIRTY,
    _PAGE_SWP_EXCLUSIVE,
    _PAGE_USER,
    MAX_SWAPFILES,
    SWP_HWPOISON,
    is_swap_pte,
    pte_swp_type,
)
from memsim.include.vmstat_items import NodeStatItem, VmEventItem
from memsim.mm.memory import _pte_slot, add_mm_counter, do_wp_page, folio_get, folio_put, mk_pte
from memsim.mm.page_io import swap_read_folio, swap_writepage
from memsim.mm.rmap import (
    TTU_BATCH_FLUSH,
    folio_add_anon_rmap_pte,
    folio_add_new_anon_rmap,
    try_to_unmap,
)
from memsim.mm.swapfile import (
    _PG_SWAPBACKED,
    _PG_SWAPCACHE,
    _PG_WRITEBACK,
    SWAP_HAS_CACHE,
    SWP_SYNCHRONOUS_IO,
    SWP_WRITEOK,
    folio_alloc_swap,
    folio_free_swap,
    folio_test_swapcache,
    is_real_swap_pte,
    pte_swp_exclusive,
    pte_to_swp_entry,
    put_swap_folio,
    swap_count,
    swap_duplicate,
    swap_free,
    swap_state,
    swapcache_prepare,
    swp_entry,
    swp_entry_to_pte,
    swp_offset,
    swp_type,
    vm_swap_full,
)

if TYPE_CHECKING:
    from memsim.include.mm_types import VmAreaStruct
    from memsim.machine import Machine

PAGE_SHIFT = 12
PAGE_SIZE = 1 << PAGE_SHIFT
PAGE_MASK = ~(PAGE_SIZE - 1)
_PG_READAHEAD = 1 << PG_readahead
_PG_UPTODATE = 1 << PageFlags.PG_uptodate
_PG_DIRTY = 1 << PageFlags.PG_dirty
_PG_LRU = 1 << PageFlags.PG_lru
_PG_MLOCKED = 1 << PageFlags.PG_mlocked
_PG_ANON_EXCL = 1 << PG_anon_exclusive
_PG_HEAD = 1 << PageFlags.PG_head
#: the software bits of an x86-64 swap PTE (pgtable_types.h): soft-dirty in _PAGE_RW,
#: uffd-wp in _PAGE_USER, exclusive in _PAGE_PWT
_PAGE_SWP_SOFT_DIRTY = _PAGE_RW
_PAGE_SWP_UFFD_WP = _PAGE_USER

# VM_FAULT_* (include/linux/mm_types.h)
VM_FAULT_OOM = 0x000001
VM_FAULT_SIGBUS = 0x000002
VM_FAULT_MAJOR = 0x000004
VM_FAULT_HWPOISON = 0x000010
VM_FAULT_ERROR = 0x000001 | 0x000002 | 0x000040 | 0x000010 | 0x000020 | 0x000800
FAULT_FLAG_WRITE = 0x01

# swap_readahead_info packing (mm/swap_state.c)
SWAP_RA_ORDER_CEILING = 5
SWAP_RA_WIN_SHIFT = PAGE_SHIFT // 2
SWAP_RA_HITS_MASK = (1 << SWAP_RA_WIN_SHIFT) - 1
SWAP_RA_HITS_MAX = SWAP_RA_HITS_MASK
SWAP_RA_WIN_MASK = ~PAGE_MASK & ~SWAP_RA_HITS_MASK


def SWAP_RA_VAL(addr: int, win: int, hits: int) -> int:  # noqa: N802 (kernel macro)
    return (addr & PAGE_MASK) | ((win << SWAP_RA_WIN_SHIFT) & SWAP_RA_WIN_MASK) \
        | (hits & SWAP_RA_HITS_MASK)


def _lru_add_drain(m: Machine) -> None:
    import memsim.mm.swap as mswap  # (no package fromlist: the cheaper import)
    fn = getattr(mswap, "lru_add_drain", None)
    if fn is not None:
        fn(m)


def _folio_add_lru(m: Machine, pfn: int) -> None:
    """folio_add_lru(): a new swap-cache folio goes onto the (inactive anon) LRU."""
    import memsim.mm.swap as mswap  # (no package fromlist: the cheaper import)
    fn = getattr(mswap, "folio_add_lru", None)
    if fn is not None:
        fn(m, pfn)


#: [the memsim.mm.workingset module, or None when it does not exist], once looked up
_WORKINGSET: list[Any] = []


def _workingset_fn(name: str) -> Any:
    """H-LRU's mm/workingset.py function *name*, when that module exists."""
    if not _WORKINGSET:
        import importlib
        try:
            _WORKINGSET.append(importlib.import_module("memsim.mm.workingset"))
        except ImportError:
            _WORKINGSET.append(None)
    mod = _WORKINGSET[0]
    return getattr(mod, name, None) if mod is not None else None


# ---- the swap cache ----------------------------------------------------------------------

def add_to_swap_cache(m: Machine, pfn: int, entry: int) -> int | None:
    """add_to_swap_cache(): the cache takes a reference; returns the shadow entry the
    slot held (workingset), if any."""
    st = swap_state(m)
    mem = m.mem_map
    mem.refcount[pfn] += 1
    mem.flags[pfn] |= _PG_SWAPCACHE
    mem.private[pfn] = entry
    shadow = st.shadows.pop(entry, None)
    st.cache[entry] = pfn
    m.mod_node_page_state_pfn(pfn, NodeStatItem.NR_FILE_PAGES, 1)
    m.mod_node_page_state_pfn(pfn, NodeStatItem.NR_SWAPCACHE, 1)
    return shadow


def __delete_from_swap_cache(m: Machine, pfn: int, entry: int, shadow: int | None) -> None:
    """__delete_from_swap_cache(): the slot now holds *shadow* (or nothing); the cache's
    page reference is the caller's to drop."""
    st = swap_state(m)
    mem = m.mem_map
    if st.cache.get(entry) != pfn:
        from memsim.errors import MemsimError
        raise MemsimError(f"__delete_from_swap_cache: page {pfn:#x} is not the swap cache "
                          f"folio of entry {entry:#x}")
    del st.cache[entry]
    if shadow is not None:
        st.shadows[entry] = shadow
    mem.private[pfn] = 0
    mem.flags[pfn] &= ~_PG_SWAPCACHE
    m.mod_node_page_state_pfn(pfn, NodeStatItem.NR_FILE_PAGES, -1)
    m.mod_node_page_state_pfn(pfn, NodeStatItem.NR_SWAPCACHE, -1)


def delete_from_swap_cache(m: Machine, pfn: int, shadow: int | None = None) -> None:
    """delete_from_swap_cache(): out of the cache, the slot's cache bit dropped and the
    cache's reference put (the caller holds one of its own)."""
    entry = int(m.mem_map.private[pfn])
    __delete_from_swap_cache(m, pfn, entry, shadow)
    put_swap_folio(swap_state(m), entry)
    m.mem_map.refcount[pfn] -= 1


def add_to_swap(m: Machine, pfn: int) -> bool:
    """add_to_swap(): a slot for an anonymous folio (SWAP_HAS_CACHE), the folio in the
    swap cache and dirty (it must be written before it can be dropped)."""
    mem = m.mem_map
    if mem.flags[pfn] & _PG_HEAD or mem.compound_head1[pfn]:
        # SIM: THP swap-out is not modelled: reclaim splits large folios first
        return False
    entry = folio_alloc_swap(m, pfn)
    if not entry:
        return False
    add_to_swap_cache(m, pfn, entry)
    mem.flags[pfn] |= _PG_DIRTY | _PG_UPTODATE
    return True


def free_swap_cache(m: Machine, pfn: int) -> None:
    """free_swap_cache(): an unmapped swap-cache folio whose slot nobody refers to any
    more leaves the cache (the zap/exit path, free_pages_and_swap_cache)."""
    if folio_test_swapcache(m, pfn) and not m.mem_map.mapcount1[pfn]:
        folio_free_swap(m, pfn)


def lookup_swap_cache(m: Machine, entry: int, vma: VmAreaStruct | None,
                      addr: int) -> int | None:
    """swap_cache_get_folio(): the cached folio with a reference, counting a readahead
    hit (swap_ra_hit) the first time a read-ahead folio is found."""
    st = swap_state(m)
    pfn = st.cache.get(entry)
    if pfn is None:
        return None
    folio_get(m, pfn)
    mem = m.mem_map
    readahead = bool(mem.flags[pfn] & _PG_READAHEAD)
    mem.flags[pfn] &= ~_PG_READAHEAD
    vma_ra = swap_use_vma_readahead(m)
    if vma is not None and vma_ra:
        ra_val = vma.swap_readahead_info or 4
        win = (ra_val & SWAP_RA_WIN_MASK) >> SWAP_RA_WIN_SHIFT
        hits = ra_val & SWAP_RA_HITS_MASK
        if readahead:
            hits = min(hits + 1, SWAP_RA_HITS_MAX)
        vma.swap_readahead_info = SWAP_RA_VAL(addr, win, hits)
    if readahead:
        m.vm_event[VmEventItem.SWAP_RA_HIT] += 1
        if vma is None or not vma_ra:
            st.swapin_readahead_hits += 1
    return pfn


swap_cache_get_folio = lookup_swap_cache


def __read_swap_cache_async(m: Machine, entry: int, gfp: int) -> tuple[int | None, bool]:
    """__read_swap_cache_async(): (folio with a reference, newly allocated). A new folio
    is locked, swap-backed, in the swap cache and on the LRU, not yet read."""
    st = swap_state(m)
    si = st.si_of(entry)
    if si is None:
        return None, False
    pfn = st.cache.get(entry)
    if pfn is not None:
        folio_get(m, pfn)
        return pfn, False
    if not swap_count(si.swap_map[swp_offset(entry)]) and st.swap_slot_cache_enabled:
        return None, False
    new = m.alloc_pages(gfp, 0)
    if new is None:
        return None, False
    if swapcache_prepare(st, entry) != 0:
        # SIM: one CPU at a time: -EEXIST cannot be a racing reader, only a freed slot
        # parked in a slots cache
        m.put_page(new)
        return None, False
    m.page_data.pop(new, None)
    m.mem_map.flags[new] |= _PG_SWAPBACKED
    shadow = add_to_swap_cache(m, new, entry)
    # add_to_swap_cache() took the cache's reference; the swapcache_prepare() bit is it
    if shadow is not None:
        refault = _workingset_fn("workingset_refault")
        if refault is not None:
            refault(m, new, shadow)
    _folio_add_lru(m, new)
    return new, True


def read_swap_cache_async(m: Machine, entry: int, gfp: int) -> int | None:
    """read_swap_cache_async(): look up or read one slot (MADV_WILLNEED, shmem)."""
    pfn, allocated = __read_swap_cache_async(m, entry, gfp)
    if allocated and pfn is not None:
        swap_read_folio(m, pfn)
    return pfn


# ---- readahead ---------------------------------------------------------------------------

def swap_use_vma_readahead(m: Machine) -> bool:
    st = swap_state(m)
    return st.enable_vma_readahead and not st.nr_rotate_swap


def vma_ra_enabled_show(m: Machine) -> str:
    """/sys/kernel/mm/swap/vma_ra_enabled."""
    return "true\n" if swap_state(m).enable_vma_readahead else "false\n"


def vma_ra_enabled_store(m: Machine, text: str) -> int:
    """vma_ra_enabled_store(): kstrtobool()."""
    from memsim.errors import MemsimError
    t = text.strip()
    if t[:1] in ("1", "y", "Y", "t", "T") or t.lower() == "on":
        swap_state(m).enable_vma_readahead = True
    elif t[:1] in ("0", "n", "N", "f", "F") or t.lower() == "off":
        swap_state(m).enable_vma_readahead = False
    else:
        raise MemsimError(f"/sys/kernel/mm/swap/vma_ra_enabled: {t!r} is not a boolean "
                          "(EINVAL)")
    return len(text)


def __swapin_nr_pages(prev_offset: int, offset: int, hits: int, max_pages: int,
                      prev_win: int) -> int:
    pages = hits + 2
    if pages == 2:
        if offset != prev_offset + 1 and offset != prev_offset - 1:
            pages = 1
    else:
        roundup = 4
        while roundup < pages:
            roundup <<= 1
        pages = roundup
    pages = min(pages, max_pages)
    return max(pages, prev_win // 2)


def swapin_nr_pages(m: Machine, offset: int) -> int:
    st = swap_state(m)
    max_pages = 1 << m.sysctl.page_cluster
    if max_pages <= 1:
        return 1
    hits = st.swapin_readahead_hits
    st.swapin_readahead_hits = 0
    pages = __swapin_nr_pages(st.prev_offset, offset, hits, max_pages,
                              st.last_readahead_pages)
    if not hits:
        st.prev_offset = offset
    st.last_readahead_pages = pages
    return pages


def _readahead_one(m: Machine, entry: int, target: bool) -> None:
    pfn, allocated = __read_swap_cache_async(m, entry, GFP_HIGHUSER_MOVABLE)
    if pfn is None:
        return
    if allocated:
        swap_read_folio(m, pfn)
        if not target:
            m.mem_map.flags[pfn] |= _PG_READAHEAD
            m.vm_event[VmEventItem.SWAP_RA] += 1
    folio_put(m, pfn)


def _read_target(m: Machine, entry: int) -> int | None:
    pfn, allocated = __read_swap_cache_async(m, entry, GFP_HIGHUSER_MOVABLE)
    if allocated and pfn is not None:
        swap_read_folio(m, pfn)
    return pfn


def swap_cluster_readahead(m: Machine, entry: int) -> int | None:
    """swap_cluster_readahead(): the aligned block of 2^n slots around the entry."""
    st = swap_state(m)
    si = st.si_of(entry)
    if si is None:
        return None
    offset = swp_offset(entry)
    mask = swapin_nr_pages(m, offset) - 1
    if mask:
        start = offset & ~mask
        end = offset | mask
        if not start:
            start = 1
        end = min(end, si.max - 1)
        for off in range(start, end + 1):
            _readahead_one(m, swp_entry(si.type, off), off == offset)
        _lru_add_drain(m)
    return _read_target(m, entry)


def swap_vma_ra_win(m: Machine, vma: VmAreaStruct, faddr: int) -> tuple[int, int, int]:
    """swap_vma_ra_win(): (window, start, end) around *faddr*, clamped to the VMA and
    the PTE table."""
    max_win = 1 << min(m.sysctl.page_cluster, SWAP_RA_ORDER_CEILING)
    if max_win == 1:
        return 1, 0, 0
    ra_val = vma.swap_readahead_info or 4
    prev_faddr = ra_val & PAGE_MASK
    prev_win = (ra_val & SWAP_RA_WIN_MASK) >> SWAP_RA_WIN_SHIFT
    hits = ra_val & SWAP_RA_HITS_MASK
    win = __swapin_nr_pages(prev_faddr >> PAGE_SHIFT, faddr >> PAGE_SHIFT, hits, max_win,
                            prev_win)
    vma.swap_readahead_info = SWAP_RA_VAL(faddr, win, 0)
    if win == 1:
        return 1, 0, 0
    if faddr == prev_faddr + PAGE_SIZE:
        left = faddr
    elif prev_faddr == faddr + PAGE_SIZE:
        left = faddr - (win << PAGE_SHIFT) + PAGE_SIZE
    else:
        left = faddr - (((win - 1) // 2) << PAGE_SHIFT)
    right = left + (win << PAGE_SHIFT)
    left = max(left, 0)
    pmd_size = 1 << vma.vm_mm.pgd.pmd_shift
    pmd_mask = ~(pmd_size - 1)
    start = max(left, vma.vm_start, faddr & pmd_mask)
    end = min(right, vma.vm_end, (faddr & pmd_mask) + pmd_size)
    return win, start, end


def swap_vma_readahead(m: Machine, targ_entry: int, vma: VmAreaStruct,
                       faddr: int) -> int | None:
    """swap_vma_readahead(): the swap entries of neighbouring PTEs in the window."""
    win, start, end = swap_vma_ra_win(m, vma, faddr)
    if win != 1:
        pgd = vma.vm_mm.pgd
        for addr in range(start, end, PAGE_SIZE):
            pte = pgd.pte_get(addr)
            if not is_real_swap_pte(pte):
                continue
            _readahead_one(m, pte_to_swp_entry(pte), addr == faddr)
        _lru_add_drain(m)
    return _read_target(m, targ_entry)


def swapin_readahead(m: Machine, entry: int, vma: VmAreaStruct, addr: int) -> int | None:
    """swapin_readahead(): VMA-based readahead unless a rotational device is active."""
    if swap_use_vma_readahead(m):
        return swap_vma_readahead(m, entry, vma, addr & PAGE_MASK)
    return swap_cluster_readahead(m, entry)


# ---- faults ------------------------------------------------------------------------------

def should_try_to_free_swap(m: Machine, pfn: int, vma: VmAreaStruct, flags: int) -> bool:
    if not folio_test_swapcache(m, pfn):
        return False
    if vm_swap_full(swap_state(m)) or vma.vm_flags & VM_LOCKED or \
            m.mem_map.flags[pfn] & _PG_MLOCKED:
        return True
    # the sole user maps it writable: free the slot so the refcount shows exclusivity
    return bool(flags & FAULT_FLAG_WRITE) and m.mem_map.refcount[pfn] == 2


def do_swap_page(m: Machine, task: Any, vma: VmAreaStruct, address: int, flags: int,
                 orig: int) -> int:
    """do_swap_page() for a real swap entry: the swap cache or a read (major fault,
    pgmajfault), the slot reference dropped, the page mapped (writable when the entry
    was exclusive or the page is ours alone), then COW if a write still needs it."""
    address &= PAGE_MASK
    t = pte_swp_type(orig)
    if t >= MAX_SWAPFILES:
        if t == SWP_HWPOISON:
            return VM_FAULT_HWPOISON
        # SIM: migration / device entries do not occur: migration is synchronous
        return VM_FAULT_SIGBUS
    entry = pte_to_swp_entry(orig)
    st = swap_state(m)
    si = st.si_of(entry)
    if si is None:
        # get_swap_device() fails: the kernel prints "Bad swap file entry"
        return VM_FAULT_SIGBUS
    mm = vma.vm_mm
    ret = 0
    pfn = lookup_swap_cache(m, entry, vma, address)
    swapcache = pfn
    need_clear_cache = False
    if pfn is None:
        if si.flags & SWP_SYNCHRONOUS_IO and swap_count(si.swap_map[swp_offset(entry)]) == 1:
            # zram/pmem: read straight into a new folio, bypassing the swap cache; the
            # SWAP_HAS_CACHE bit keeps others off the slot meanwhile
            pfn = _swapin_skip_swapcache(m, entry)
            if pfn == -1:
                return 0
            need_clear_cache = pfn is not None
        else:
            pfn = swapin_readahead(m, entry, vma, address)
            swapcache = pfn
        if pfn is None:
            cur, i = _pte_slot(mm, address, False)
            if cur is not None and int(cur.pte[i]) == orig:
                return VM_FAULT_OOM
            return 0
        ret = VM_FAULT_MAJOR
        m.vm_event[VmEventItem.PGMAJFAULT] += 1
    try:
        return _do_swap_map(m, task, vma, address, flags, orig, entry, pfn, swapcache, ret)
    finally:
        if need_clear_cache:
            put_swap_folio(st, entry)           # swapcache_clear()


def _swapin_skip_swapcache(m: Machine, entry: int) -> int | None:
    """The SWP_SYNCHRONOUS_IO branch of do_swap_page: a new folio (None on OOM, -1 when
    the slot is being read by someone else)."""
    st = swap_state(m)
    new = m.alloc_pages(GFP_HIGHUSER_MOVABLE, 0)
    if new is None:
        return None
    mem = m.mem_map
    if swapcache_prepare(st, entry) != 0:
        m.put_page(new)
        return -1
    m.page_data.pop(new, None)
    mem.flags[new] |= _PG_SWAPBACKED
    shadow = st.shadows.get(entry)
    if shadow is not None:
        refault = _workingset_fn("workingset_refault")
        if refault is not None:
            refault(m, new, shadow)
    _folio_add_lru(m, new)
    mem.private[new] = entry                    # folio->swap for the read only
    swap_read_folio(m, new)
    mem.private[new] = 0
    return new


def _do_swap_map(m: Machine, task: Any, vma: VmAreaStruct, address: int, flags: int,
                 orig: int, entry: int, pfn: int, swapcache: int | None, ret: int) -> int:
    """The second half of do_swap_page(): check, drop the slot reference, map."""
    mm = vma.vm_mm
    mem = m.mem_map
    if swapcache is not None:
        if not folio_test_swapcache(m, pfn) or int(mem.private[pfn]) != entry:
            folio_put(m, pfn)
            return ret
        if flags & FAULT_FLAG_WRITE and not mem.flags[pfn] & _PG_LRU:
            _lru_add_drain(m)
    tbl, i = _pte_slot(mm, address, False)
    if tbl is None or int(tbl.pte[i]) != orig:
        folio_put(m, pfn)
        return ret
    if not mem.flags[pfn] & _PG_UPTODATE:
        folio_put(m, pfn)
        return VM_FAULT_SIGBUS
    # a folio read outside the swap cache is ours alone
    exclusive = pte_swp_exclusive(orig) or swapcache is None
    swap_free(m, entry)
    if should_try_to_free_swap(m, pfn, vma, flags):
        folio_free_swap(m, pfn)
    add_mm_counter(mm, MM_ANONPAGES, 1)
    add_mm_counter(mm, MM_SWAPENTS, -1)
    pte = mk_pte(pfn, vma.vm_page_prot)
    if orig & _PAGE_SWP_SOFT_DIRTY:
        pte |= _PAGE_SOFT_DIRTY
    rmap_exclusive = False
    if exclusive or mem.refcount[pfn] == 1:
        if vma.vm_flags & VM_WRITE:
            pte |= _PAGE_RW
            if flags & FAULT_FLAG_WRITE:
                pte |= _PAGE_DIRTY
                flags &= ~FAULT_FLAG_WRITE
        rmap_exclusive = True
    if not mem.mapping[pfn] & 1:
        folio_add_new_anon_rmap(m, pfn, vma, address, exclusive=rmap_exclusive)
    else:
        folio_add_anon_rmap_pte(m, pfn)
        if rmap_exclusive:
            mem.flags[pfn] |= _PG_ANON_EXCL
    tbl.pte[i] = pte
    if flags & FAULT_FLAG_WRITE:
        ret |= do_wp_page(m, task, vma, address, flags, pte)
        if ret & VM_FAULT_ERROR:
            ret &= VM_FAULT_ERROR
    return ret


def swap_entry_for_unmap(m: Machine, pfn: int) -> int | None:
    """try_to_unmap_one() for a swap-cache anonymous page: one more reference on the
    slot and the swap PTE, exclusive when the page was (folio_try_share_anon_rmap_pte
    clears PG_anon_exclusive)."""
    if not folio_test_swapcache(m, pfn):
        return None
    entry = int(m.mem_map.private[pfn])
    if swap_duplicate(m, entry) < 0:
        return None
    pte = swp_entry_to_pte(entry)
    if m.mem_map.flags[pfn] & _PG_ANON_EXCL:
        m.mem_map.flags[pfn] &= ~_PG_ANON_EXCL
        pte |= _PAGE_SWP_EXCLUSIVE
    return pte


def unuse_pte(m: Machine, vma: VmAreaStruct, addr: int, entry: int, pfn: int) -> int:
    """unuse_pte() (swapoff): map the swapped-in page back, old and read-only."""
    mm = vma.vm_mm
    tbl, i = _pte_slot(mm, addr, False)
    if tbl is None:
        return 0
    old = int(tbl.pte[i])
    if not is_swap_pte(old) or \
            old & ~(_PAGE_SWP_EXCLUSIVE | _PAGE_SWP_SOFT_DIRTY | _PAGE_SWP_UFFD_WP) != \
            swp_entry_to_pte(entry):
        return 0
    mem = m.mem_map
    mm.rss_stat[MM_SWAPENTS] -= 1
    mm.rss_stat[MM_ANONPAGES] += 1
    folio_get(m, pfn)
    excl = pte_swp_exclusive(old)
    if not mem.mapping[pfn] & 1:
        folio_add_new_anon_rmap(m, pfn, vma, addr, exclusive=excl)
    else:
        folio_add_anon_rmap_pte(m, pfn)
        if excl:
            mem.flags[pfn] |= _PG_ANON_EXCL
    new = mk_pte(pfn, vma.vm_page_prot) & ~_PAGE_ACCESSED
    if old & _PAGE_SWP_SOFT_DIRTY:
        new |= _PAGE_SOFT_DIRTY
    tbl.pte[i] = new
    swap_free(m, entry)
    return 1


def madvise_swapin(m: Machine, vma: VmAreaStruct, start: int, end: int) -> None:
    """MADV_WILLNEED on anonymous memory (swapin_walk_ops): read every swap entry of the
    range into the swap cache, unmapped."""
    pgd = vma.vm_mm.pgd
    for t, i0, i1 in list(pgd.iter_tables(max(start, vma.vm_start), min(end, vma.vm_end))):
        for i in range(i0, i1):
            pte = int(t.pte[i])
            if not pte or not is_real_swap_pte(pte):
                continue
            pfn = read_swap_cache_async(m, pte_to_swp_entry(pte), GFP_HIGHUSER_MOVABLE)
            if pfn is not None:
                folio_put(m, pfn)
    _lru_add_drain(m)


# ---- one-folio reclaim (shrink_folio_list's anon path) -------------------------------------

def pageout_anon_folio(m: Machine, pfn: int) -> bool:
    """
    shrink_folio_list() for one isolated, swap-backed anonymous page (the caller holds
    the isolation reference): add_to_swap, try_to_unmap, pageout (swap_writepage),
    __remove_mapping (shadow entry, slot kept for the swap PTEs) — True when the page
    left memory (the caller's reference is then the last one). On failure the page is
    kept (activated when add_to_swap fails, as activate_locked does).
    """
    mem = m.mem_map
    if not folio_test_swapcache(m, pfn):
        if not add_to_swap(m, pfn):
            mem.flags[pfn] |= 1 << PageFlags.PG_active
            return False
    if mem.mapcount1[pfn] and not try_to_unmap(m, pfn, TTU_BATCH_FLUSH):
        return False
    if mem.flags[pfn] & _PG_DIRTY:
        swap_writepage(m, pfn)
        if mem.flags[pfn] & (_PG_DIRTY | _PG_WRITEBACK):
            return False
    if not folio_test_swapcache(m, pfn):
        # swap_writepage() freed the slot (folio_free_swap): the page stays, dirty
        return False
    return __remove_mapping_swap(m, pfn)


def __remove_mapping_swap(m: Machine, pfn: int) -> bool:
    """__remove_mapping() for a swap-cache folio: only the cache and the isolation
    reference may hold it; the slot keeps a workingset shadow."""
    mem = m.mem_map
    if mem.refcount[pfn] != 2 or mem.flags[pfn] & _PG_DIRTY:
        return False
    entry = int(mem.private[pfn])
    shadow = None
    evict = _workingset_fn("workingset_eviction")
    if evict is not None:
        shadow = evict(m, pfn)
    __delete_from_swap_cache(m, pfn, entry, shadow)
    put_swap_folio(swap_state(m), entry)
    mem.refcount[pfn] -= 1
    return True


__all__ = ["add_to_swap", "add_to_swap_cache", "__delete_from_swap_cache",
           "delete_from_swap_cache", "lookup_swap_cache", "free_swap_cache",
           "swapin_readahead", "do_swap_page", "swap_entry_for_unmap", "madvise_swapin",
           "pageout_anon_folio", "swap_writepage", "swap_read_folio", "folio_free_swap",
           "SWAP_HAS_CACHE", "SWP_WRITEOK", "swp_type"]
