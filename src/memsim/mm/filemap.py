"""
The page cache (mm/filemap.c, mm/page-writeback.c, include/linux/pagemap.h, 6.12):
struct address_space, adding/removing/looking up cached pages with their accounting
(NR_FILE_PAGES, NR_SHMEM), read()/write() through the cache (filemap_read,
generic_perform_write), dirtying and writeback (PG_dirty, PG_writeback, NR_FILE_DIRTY,
NR_WRITEBACK, NR_DIRTIED, NR_WRITTEN, NR_ZONE_WRITE_PENDING), and the mmap side:
filemap_fault with its read-around, filemap_map_pages for fault-around, page_mkwrite,
generic_file_mmap. Readahead is mm/readahead.py, truncation and invalidation
mm/truncate.py, shmem mm/shmem.py, the page->mapping handles mm/mapping.py.

A cached page holds one reference for the cache (as the kernel's folio_ref_add(nr) in
__filemap_add_folio), ``mapping`` = the address_space's even handle, ``index`` = its file
offset in pages, PG_uptodate once read.

# SIM: ``i_pages`` is a dict index -> PFN instead of an xarray; workingset shadow entries
# live beside it in ``shadows`` (mm/workingset.py); no multi-index entries (all cached
# folios are order 0).
# SIM: I/O completes synchronously: no page is ever seen locked or under writeback by
# another path; writeback runs start -> end inside one call.
# LRU: filemap_add_folio calls folio_add_lru through ``pagecache_lru_add_hook`` (mm/swap.py);
# filemap_read marks folios accessed; a folio leaves its list with its last reference.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from errno import EEXIST, EFAULT, EINVAL, ENODEV, ENOMEM
from typing import TYPE_CHECKING, Any

from memsim.fs.fs_writeback import __mark_inode_dirty
from memsim.include.gfp import GFP_HIGHUSER_MOVABLE
from memsim.include.mm import VM_HUGEPAGE, VM_RAND_READ, VM_SEQ_READ
from memsim.include.page_flags import PageFlags, PG_readahead
from memsim.include.vmstat_items import NodeStatItem, VmEventItem, ZoneStatItem
from memsim.mm.mapping import mapping_handle_register
from memsim.mm.memory import (
    DISK_READ_NS,
    FAULT_FLAG_ALLOW_RETRY,
    FAULT_FLAG_RETRY_NOWAIT,
    FAULT_FLAG_TRIED,
    VM_FAULT_MAJOR,
    VM_FAULT_NOPAGE,
    VM_FAULT_OOM,
    VM_FAULT_RETRY,
    VM_FAULT_SIGBUS,
    VmOps,
)
from memsim.mm.page_writeback import account_dirtied, balance_dirty_pages_ratelimited
from memsim.mm.readahead import (
    FileRaState,
    ReadaheadControl,
    page_cache_async_ra,
    page_cache_ra_order,
    page_cache_sync_ra,
    page_cache_sync_readahead,
)

if TYPE_CHECKING:
    from memsim.fs.file import File
    from memsim.fs.inode import Inode
    from memsim.include.mm_types import VmAreaStruct
    from memsim.machine import Machine

PAGE_SHIFT = 12
PAGE_SIZE = 4096

PG_locked = 1 << PageFlags.PG_locked
PG_uptodate = 1 << PageFlags.PG_uptodate
PG_dirty = 1 << PageFlags.PG_dirty
PG_writeback = 1 << PageFlags.PG_writeback
PG_lru = 1 << PageFlags.PG_lru
PG_swapbacked = 1 << PageFlags.PG_swapbacked
PG_referenced = 1 << PageFlags.PG_referenced
PG_workingset = 1 << PageFlags.PG_workingset
PG_hwpoison = 1 << PageFlags.PG_hwpoison
PG_RA = 1 << PG_readahead

#: mm/filemap.c MMAP_LOTSAMISS
MMAP_LOTSAMISS = 100
#: PAGEVEC_SIZE: folios per filemap_get_read_batch()
PAGEVEC_SIZE = 31
#: HPAGE_PMD_NR / HPAGE_PMD_ORDER (x86-64, 4 KiB pages)
HPAGE_PMD_ORDER = 9
HPAGE_PMD_NR = 1 << HPAGE_PMD_ORDER
#: sectors per page, the unit of pgpgin/pgpgout (submit_bio counts bio sectors)
SECTORS_PER_PAGE = PAGE_SIZE >> 9
_ZERO_PAGE = bytes(PAGE_SIZE)


@dataclass(slots=True, eq=False)
class AddressSpace:
    """struct address_space: the page cache of one inode."""

    host: Inode
    #: page->mapping handle of this mapping (even, mm/mapping.py)
    handle: int = 0
    #: index -> PFN (SIM: the xarray)
    i_pages: dict[int, int] = field(default_factory=dict)
    nrpages: int = 0
    #: VMAs mapping this file (SIM: a list for the i_mmap interval tree; mm/vma.py)
    i_mmap: list[Any] = field(default_factory=list)
    #: VM_SHARED mappings that may write (mapping_map_writable)
    i_mmap_writable: int = 0
    #: mapping_gfp_mask()
    gfp_mask: int = GFP_HIGHUSER_MOVABLE
    #: shmem_mapping(): swap-backed, counted in Shmem, noop_backing_dev_info
    is_shmem: bool = False
    #: workingset shadow entries: index -> shadow (SIM: the xarray's value entries;
    #: mm/workingset.py stores them on eviction, filemap_add_folio consumes them)
    shadows: dict[int, int] = field(default_factory=dict)
    #: where the flusher's next write_cache_pages() starts (fs/fs_writeback.py)
    writeback_index: int = 0
    #: shmem pages out on swap: index -> swap entry (SIM: the xarray's swap value
    #: entries; mm/shmem.py shmem_writeout / shmem_swapin_folio)
    swapped: dict[int, int] = field(default_factory=dict)

    @property
    def can_writeback(self) -> bool:
        """mapping_can_writeback(): not for shmem (BDI_CAP_WRITEBACK clear)."""
        return not self.is_shmem

    def folio_mark_dirty(self, m: Machine, pfn: int) -> bool:
        """a_ops->dirty_folio, as mm/memory.py calls it for shared write faults."""
        return folio_mark_dirty(m, pfn)

    def __repr__(self) -> str:
        return f"<address_space {self.host.name} nrpages={self.nrpages} h={self.handle}>"


def address_space_init(m: Machine, inode: Inode, shmem: bool) -> AddressSpace:
    """inode_init_always() + address_space_init_once(): a new, registered, empty mapping."""
    mapping = AddressSpace(host=inode, is_shmem=shmem)
    mapping.handle = mapping_handle_register(m, mapping, anon=False)
    return mapping


def mapping_of_pfn(m: Machine, pfn: int) -> AddressSpace | None:
    """folio_mapping(): the address_space of a page-cache page, None for others."""
    h = int(m.mem_map.mapping[pfn])
    if not h or h & 1:
        return None
    obj = m.mapping_registry.get(h)
    return obj if isinstance(obj, AddressSpace) else None


# ---- accounting helpers ---------------------------------------------------------------------

def _node_mod(m: Machine, pfn: int, item: int, delta: int) -> None:
    m.mod_node_page_state_pfn(pfn, item, delta)


def _zone_mod(m: Machine, pfn: int, item: int, delta: int) -> None:
    m.page_zone(pfn).vm_stat[item] += delta


def page_bytes(m: Machine, pfn: int) -> bytearray:
    """kmap_local_folio(): the writable contents of *pfn* (created zeroed on first use)."""
    data = m.page_data.get(pfn)
    if data is None:
        data = bytearray(PAGE_SIZE)
        m.page_data[pfn] = data
    return data


def page_read(m: Machine, pfn: int) -> bytes | bytearray:
    data = m.page_data.get(pfn)
    return _ZERO_PAGE if data is None else data


def folio_zero_range(m: Machine, pfn: int, start: int, length: int) -> None:
    """folio_zero_range(): zero bytes ``[start, start + length)`` of the page."""
    if length <= 0:
        return
    data = m.page_data.get(pfn)
    if data is None:
        return
    if start == 0 and length >= PAGE_SIZE:
        del m.page_data[pfn]
        return
    data[start:start + length] = bytes(min(length, PAGE_SIZE - start))


# ---- the cache itself -----------------------------------------------------------------------

def filemap_alloc_folio(m: Machine, gfp: int) -> int | None:
    """filemap_alloc_folio() (order 0): a new page with one reference, or None."""
    pfn = m.alloc_pages(gfp, 0)
    if pfn is not None:
        m.page_data.pop(pfn, None)     # SIM: contents are set by the read or by zeroing
    return pfn


def filemap_add_folio(m: Machine, mapping: AddressSpace, pfn: int, index: int) -> int:
    """
    filemap_add_folio(): insert *pfn* at *index*; 0 or -EEXIST. The caller's allocation
    reference becomes the cache's reference (SIM: the kernel adds one for the cache and the
    caller drops its own after the read).
    """
    if index in mapping.i_pages:
        return -EEXIST
    mm = m.mem_map
    mm.mapping[pfn] = mapping.handle
    mm.index[pfn] = index
    if mapping.is_shmem:
        mm.flags[pfn] |= PG_swapbacked          # __folio_set_swapbacked (shmem_alloc_folio)
    mapping.i_pages[index] = pfn
    mapping.nrpages += 1
    _node_mod(m, pfn, NodeStatItem.NR_FILE_PAGES, 1)
    if mapping.is_shmem:
        _node_mod(m, pfn, NodeStatItem.NR_SHMEM, 1)
    if mapping.shadows:
        # a shadow entry in the slot: workingset_refault() before folio_add_lru()
        from memsim.mm.workingset import take_shadow, workingset_refault
        shadow = take_shadow(m, mapping, index)
        if shadow is not None:
            workingset_refault(m, pfn, shadow)
    # LRU hook: folio_add_lru() (inactive file list, or anon lists for swap-backed shmem)
    hook = getattr(m, "pagecache_lru_add_hook", None)
    if hook is not None:
        hook(pfn)
    return 0


def filemap_unaccount_folio(m: Machine, mapping: AddressSpace, pfn: int) -> None:
    """filemap_unaccount_folio(): NR_FILE_PAGES/NR_SHMEM down; a dirty page is cleaned."""
    _node_mod(m, pfn, NodeStatItem.NR_FILE_PAGES, -1)
    if m.mem_map.flags[pfn] & PG_swapbacked:
        _node_mod(m, pfn, NodeStatItem.NR_SHMEM, -1)
    if m.mem_map.flags[pfn] & PG_dirty and mapping.can_writeback:
        folio_account_cleaned(m, pfn)


def filemap_remove_folio(m: Machine, mapping: AddressSpace, pfn: int) -> None:
    """
    filemap_remove_folio() + filemap_free_folio(): take *pfn* out of the cache and drop
    the cache's reference (the page lives on if a PTE or another holder still has one).
    """
    index = int(m.mem_map.index[pfn])
    if mapping.i_pages.get(index) != pfn:
        return
    filemap_unaccount_folio(m, mapping, pfn)
    del mapping.i_pages[index]
    mapping.nrpages -= 1
    mm = m.mem_map
    mm.mapping[pfn] = 0                        # page_cache_delete(): folio->mapping = NULL
    mm.flags[pfn] &= ~(PG_dirty | PG_RA | PG_locked | PG_writeback)
    hook = getattr(m, "pagecache_lru_del_hook", None)
    if hook is not None:
        hook(pfn)       # LRU hook: the page leaves the LRU when its last reference goes
    if mm.refcount[pfn] == 1:
        if mm.flags[pfn] & PG_lru:
            # the last reference: off the LRU before the flags change (mm/swap.py)
            from memsim.mm.swap import page_cache_release
            page_cache_release(m, pfn)
        mm.flags[pfn] &= ~(PG_swapbacked | PG_uptodate | PG_referenced)
        mm.index[pfn] = 0
        m.page_data.pop(pfn, None)
    m.put_page(pfn)


def filemap_get_folio(m: Machine, mapping: AddressSpace, index: int) -> int | None:
    """filemap_get_folio() / find_get_page() without the reference: the PFN or None."""
    return mapping.i_pages.get(index)


def find_get_page(m: Machine, mapping: AddressSpace, index: int) -> int | None:
    """find_get_page(): the cached page with a reference for the caller, or None."""
    pfn = mapping.i_pages.get(index)
    if pfn is not None:
        m.mem_map.refcount[pfn] += 1
    return pfn


def mincore_page(m: Machine, mapping: AddressSpace, index: int) -> bool:
    """mincore_page(): the page is cached and uptodate (SIM: no swap entries to check)."""
    pfn = mapping.i_pages.get(index)
    return pfn is not None and bool(m.mem_map.flags[pfn] & PG_uptodate)


def filemap_read_folio_io(m: Machine, mapping: AddressSpace, pfn: int) -> None:
    """
    ->read_folio / ->readahead of ext4 (mpage_readahead), completing at once: fill the
    page from the inode's blocks (a hole reads as zeros without I/O), PG_uptodate.
    """
    mm = m.mem_map
    if mm.flags[pfn] & PG_uptodate:
        return
    index = int(mm.index[pfn])
    block = mapping.host.disk.get(index)
    if block is not None:
        m.vm_event[VmEventItem.PGPGIN] += SECTORS_PER_PAGE
        m.clock_ns += DISK_READ_NS       # SIM: a fixed cost per page read (mm/memory.py)
        if block != _ZERO_PAGE:
            m.page_data[pfn] = bytearray(block)
        else:
            m.page_data.pop(pfn, None)
    else:
        m.page_data.pop(pfn, None)
    mm.flags[pfn] |= PG_uptodate


def filemap_create_folio(m: Machine, mapping: AddressSpace, index: int) -> int | None:
    """filemap_create_folio(): allocate, insert and read one page (no readahead)."""
    pfn = filemap_alloc_folio(m, mapping.gfp_mask)
    if pfn is None:
        return None
    if filemap_add_folio(m, mapping, pfn, index) < 0:
        m.put_page(pfn)
        return mapping.i_pages.get(index)
    filemap_read_folio_io(m, mapping, pfn)
    return pfn


# ---- dirtying and writeback -----------------------------------------------------------------

def folio_account_dirtied(m: Machine, mapping: AddressSpace, pfn: int) -> None:
    """folio_account_dirtied(): only for mappings that write back (not shmem)."""
    if mapping.can_writeback:
        _node_mod(m, pfn, NodeStatItem.NR_FILE_DIRTY, 1)
        _zone_mod(m, pfn, ZoneStatItem.NR_ZONE_WRITE_PENDING, 1)
        _node_mod(m, pfn, NodeStatItem.NR_DIRTIED, 1)
        account_dirtied(m)                      # current->nr_dirtied++
        __mark_inode_dirty(m, mapping)          # the flusher learns of the inode


def folio_account_cleaned(m: Machine, pfn: int) -> None:
    """folio_account_cleaned(): a dirty page dropped without writeback (truncate)."""
    _node_mod(m, pfn, NodeStatItem.NR_FILE_DIRTY, -1)
    _zone_mod(m, pfn, ZoneStatItem.NR_ZONE_WRITE_PENDING, -1)


def folio_mark_dirty(m: Machine, pfn: int) -> bool:
    """
    folio_mark_dirty() -> a_ops->dirty_folio: filemap_dirty_folio (ext4 through its buffer
    heads) accounts a newly dirtied page; shmem's noop_dirty_folio only sets PG_dirty.
    True when the page was clean before.
    """
    flags = m.mem_map.flags
    if flags[pfn] & PG_dirty:
        return False
    flags[pfn] |= PG_dirty
    mapping = mapping_of_pfn(m, pfn)
    if mapping is not None:
        folio_account_dirtied(m, mapping, pfn)
    return True


def folio_cancel_dirty(m: Machine, mapping: AddressSpace, pfn: int) -> None:
    """folio_cancel_dirty(): truncation throws the dirty data away."""
    flags = m.mem_map.flags
    if flags[pfn] & PG_dirty:
        flags[pfn] &= ~PG_dirty
        if mapping.can_writeback:
            folio_account_cleaned(m, pfn)


def folio_clear_dirty_for_io(m: Machine, mapping: AddressSpace, pfn: int) -> bool:
    """
    folio_clear_dirty_for_io(): write-protect and clean the PTEs (folio_mkclean through
    rmap, ``m.folio_mkclean`` when the core provides it), then clear PG_dirty.
    """
    flags = m.mem_map.flags
    if mapping.can_writeback:
        mkclean = getattr(m, "folio_mkclean", None)
        if mkclean is not None and mkclean(pfn):
            folio_mark_dirty(m, pfn)
        if flags[pfn] & PG_dirty:
            flags[pfn] &= ~PG_dirty
            _node_mod(m, pfn, NodeStatItem.NR_FILE_DIRTY, -1)
            _zone_mod(m, pfn, ZoneStatItem.NR_ZONE_WRITE_PENDING, -1)
            return True
        return False
    was = bool(flags[pfn] & PG_dirty)
    flags[pfn] &= ~PG_dirty
    return was


def folio_start_writeback(m: Machine, pfn: int) -> None:
    """__folio_start_writeback(): PG_writeback, NR_WRITEBACK and write-pending up."""
    m.mem_map.flags[pfn] |= PG_writeback
    _node_mod(m, pfn, NodeStatItem.NR_WRITEBACK, 1)
    _zone_mod(m, pfn, ZoneStatItem.NR_ZONE_WRITE_PENDING, 1)


def folio_end_writeback(m: Machine, pfn: int) -> None:
    """folio_end_writeback(): the I/O finished; NR_WRITTEN counts it."""
    m.mem_map.flags[pfn] &= ~(PG_writeback | PG_RA)    # PG_reclaim shares the bit
    _node_mod(m, pfn, NodeStatItem.NR_WRITEBACK, -1)
    _zone_mod(m, pfn, ZoneStatItem.NR_ZONE_WRITE_PENDING, -1)
    _node_mod(m, pfn, NodeStatItem.NR_WRITTEN, 1)


def writepage(m: Machine, mapping: AddressSpace, pfn: int, end_io: bool = True) -> None:
    """
    ext4 ->writepages for one page (mpage / block_write_full_folio): a page straddling
    i_size has its tail zeroed first, pages past EOF are not written. SIM: the bio
    completes at once.
    """
    inode = mapping.host
    index = int(m.mem_map.index[pfn])
    isize = inode.i_size
    folio_start_writeback(m, pfn)
    if index << PAGE_SHIFT < isize:
        end = isize - (index << PAGE_SHIFT)
        if end < PAGE_SIZE:
            folio_zero_range(m, pfn, end, PAGE_SIZE - end)
        inode.disk[index] = bytes(page_read(m, pfn))
        m.vm_event[VmEventItem.PGPGOUT] += SECTORS_PER_PAGE
    if end_io:
        folio_end_writeback(m, pfn)


def filemap_fdatawrite_range(m: Machine, mapping: AddressSpace, start: int, end: int,
                             in_flight: list[int] | None = None) -> int:
    """
    __filemap_fdatawrite_range(): write every dirty page of bytes ``[start, end]`` (end
    inclusive). Returns 0. With *in_flight* (WB_SYNC_NONE callers that do not wait, e.g.
    POSIX_FADV_DONTNEED) the pages stay PG_writeback and are appended there; the caller
    ends their writeback with ``writeback_complete`` once it has done what the kernel does
    while the I/O is still in flight. # SIM: otherwise the I/O completes at once.
    """
    if not mapping.can_writeback or end < start:
        return 0
    first, last = start >> PAGE_SHIFT, end >> PAGE_SHIFT
    for index in sorted(mapping.i_pages):
        if index < first or index > last:
            continue
        pfn = mapping.i_pages[index]
        if m.mem_map.flags[pfn] & PG_dirty and folio_clear_dirty_for_io(m, mapping, pfn):
            writepage(m, mapping, pfn, end_io=in_flight is None)
            if in_flight is not None:
                in_flight.append(pfn)
    return 0


def writeback_complete(m: Machine, pfns: list[int]) -> None:
    """The bios of an earlier filemap_fdatawrite_range(in_flight=...) complete."""
    for pfn in pfns:
        folio_end_writeback(m, pfn)


def filemap_write_and_wait_range(m: Machine, mapping: AddressSpace, start: int,
                                 end: int) -> int:
    """filemap_write_and_wait_range(): write, then wait (SIM: nothing left to wait for)."""
    return filemap_fdatawrite_range(m, mapping, start, end)


LLONG_MAX = (1 << 63) - 1


def vfs_fsync_range(m: Machine, file: File, start: int = 0, end: int = LLONG_MAX) -> int:
    """vfs_fsync_range(): ext4_sync_file (data; SIM: no journal) or shmem's noop_fsync."""
    if file.f_inode.is_shmem:
        return 0
    return filemap_write_and_wait_range(m, file.f_mapping, start, end)


# ---- read() and write() ---------------------------------------------------------------------

def filemap_get_read_batch(m: Machine, mapping: AddressSpace, index: int,
                           max_index: int) -> list[int]:
    """filemap_get_read_batch(): consecutive cached pages from *index*, stopping after a
    page that is not uptodate or carries PG_readahead (at most PAGEVEC_SIZE)."""
    out: list[int] = []
    flags = m.mem_map.flags
    pages = mapping.i_pages
    while index <= max_index and len(out) < PAGEVEC_SIZE:
        pfn = pages.get(index)
        if pfn is None:
            break
        out.append(pfn)
        if not flags[pfn] & PG_uptodate or flags[pfn] & PG_RA:
            break
        index += 1
    return out


def filemap_get_pages(m: Machine, file: File, pos: int, count: int) -> list[int] | int:
    """filemap_get_pages(): the batch for a read at *pos*; sync/async readahead on the way."""
    mapping = file.f_mapping
    ra = file.f_ra
    index = pos >> PAGE_SHIFT
    last_index = (pos + count + PAGE_SIZE - 1) >> PAGE_SHIFT
    batch = filemap_get_read_batch(m, mapping, index, last_index - 1)
    if not batch:
        page_cache_sync_readahead(m, mapping, ra, file, index, last_index - index)
        batch = filemap_get_read_batch(m, mapping, index, last_index - 1)
    if not batch:
        pfn = filemap_create_folio(m, mapping, index)
        if pfn is None:
            return -ENOMEM
        return [pfn]
    pfn = batch[-1]
    flags = m.mem_map.flags
    if flags[pfn] & PG_RA:
        # filemap_readahead(): page_cache_async_ra from the marked page
        ractl = ReadaheadControl(file, mapping, ra, int(m.mem_map.index[pfn]))
        page_cache_async_ra(m, ractl, pfn, last_index - ractl.index)
    if not flags[pfn] & PG_uptodate:
        filemap_read_folio_io(m, mapping, pfn)      # filemap_update_page()
    return batch


def filemap_read(m: Machine, file: File, pos: int, count: int) -> tuple[bytes, int] | int:
    """
    filemap_read(): up to *count* bytes at *pos* through the page cache. Returns
    ``(data, new_pos)`` or a negative errno when nothing could be read.
    """
    inode = file.f_inode
    ra = file.f_ra
    out = bytearray()
    last_pos = ra.prev_pos
    error = 0
    while count > 0 and pos < inode.i_size:
        batch = filemap_get_pages(m, file, pos, count)
        if isinstance(batch, int):
            error = batch
            break
        isize = inode.i_size
        if pos >= isize:
            break
        end_offset = min(isize, pos + count)
        # folio_mark_accessed() of the first page unless it is the one the previous
        # read ended in (pos_same_folio), and of every later page of the batch (mm/swap.py)
        from memsim.mm.swap import folio_mark_accessed
        if batch and pos >> PAGE_SHIFT != (last_pos - 1) >> PAGE_SHIFT:
            folio_mark_accessed(m, batch[0])
        for bi, pfn in enumerate(batch):
            fpos = int(m.mem_map.index[pfn]) << PAGE_SHIFT
            if end_offset < fpos:
                break
            if bi > 0:
                folio_mark_accessed(m, pfn)
            offset = pos & (PAGE_SIZE - 1)
            nbytes = min(end_offset - pos, PAGE_SIZE - offset)
            out += page_read(m, pfn)[offset:offset + nbytes]
            pos += nbytes
            count -= nbytes
            last_pos = pos
        if pos >= end_offset:
            break
    ra.prev_pos = last_pos
    if not out and error:
        return error
    return bytes(out), pos


def write_begin(m: Machine, mapping: AddressSpace, pos: int, length: int) -> int | None:
    """
    ->write_begin (ext4_da_write_begin / shmem_write_begin): find or create the page; a
    partial write into a page that is not uptodate reads it first (ext4, the block exists)
    or zeroes it (new block, or shmem).
    """
    index = pos >> PAGE_SHIFT
    pfn = mapping.i_pages.get(index)
    if pfn is None and mapping.swapped and index in mapping.swapped:
        # shmem_write_begin() -> shmem_get_folio(SGP_WRITE): the page is out on swap
        from memsim.mm.shmem import shmem_swapin_folio
        got = shmem_swapin_folio(m, mapping, index)
        if got < 0:
            return None
        pfn = got
    if pfn is None:
        pfn = filemap_alloc_folio(m, mapping.gfp_mask)
        if pfn is None:
            return None
        filemap_add_folio(m, mapping, pfn, index)
    flags = m.mem_map.flags
    if not flags[pfn] & PG_uptodate and length < PAGE_SIZE:
        if not mapping.is_shmem and index in mapping.host.disk:
            filemap_read_folio_io(m, mapping, pfn)
        # else: new block / shmem: the page is all zeros around the copied bytes
    return pfn


def write_end(m: Machine, mapping: AddressSpace, pfn: int, pos: int, copied: int) -> None:
    """->write_end (block_write_end / shmem_write_end): uptodate, dirty, i_size."""
    m.mem_map.flags[pfn] |= PG_uptodate
    folio_mark_dirty(m, pfn)
    inode = mapping.host
    if pos + copied > inode.i_size:
        inode.i_size = pos + copied            # i_size_write()


def generic_perform_write(m: Machine, file: File, pos: int, data: bytes) -> int:
    """generic_perform_write(): copy *data* into the cache at *pos*; bytes written or
    -errno; balance_dirty_pages_ratelimited() after each page (mm/page_writeback.py)."""
    mapping = file.f_mapping
    written = 0
    while written < len(data):
        offset = pos & (PAGE_SIZE - 1)
        nbytes = min(PAGE_SIZE - offset, len(data) - written)
        pfn = write_begin(m, mapping, pos, nbytes)
        if pfn is None:
            return written if written else -ENOMEM
        page_bytes(m, pfn)[offset:offset + nbytes] = data[written:written + nbytes]
        write_end(m, mapping, pfn, pos, nbytes)
        pos += nbytes
        written += nbytes
        balance_dirty_pages_ratelimited(m, mapping)
    return written


# ---- mmap: faults ---------------------------------------------------------------------------

def _allow_retry_first(flags: int) -> bool:
    """maybe_unlock_mmap_for_io() would drop the fault lock (fault_flag_allow_retry_first
    and not FAULT_FLAG_RETRY_NOWAIT)."""
    return bool(flags & FAULT_FLAG_ALLOW_RETRY) and not flags & (FAULT_FLAG_TRIED
                                                                  | FAULT_FLAG_RETRY_NOWAIT)


def do_sync_mmap_readahead(m: Machine, vma: VmAreaStruct, pgoff: int, flags: int) -> bool:
    """do_sync_mmap_readahead(): read-around on a fault miss. True when the kernel would
    have dropped the mmap/VMA lock for the I/O (fpin)."""
    file = vma.vm_file
    ra: FileRaState = file.f_ra
    mapping = file.f_mapping
    ractl = ReadaheadControl(file, mapping, ra, pgoff)
    vm_flags = vma.vm_flags
    if vm_flags & VM_HUGEPAGE:
        # CONFIG_TRANSPARENT_HUGEPAGE: readahead even if disabled, two PMD-sized folios
        ractl.index &= ~(HPAGE_PMD_NR - 1)
        ra.size = HPAGE_PMD_NR
        if not vm_flags & VM_RAND_READ:
            ra.size *= 2
        ra.async_size = HPAGE_PMD_NR
        page_cache_ra_order(m, ractl, ra, HPAGE_PMD_ORDER)
        return _allow_retry_first(flags)
    if vm_flags & VM_RAND_READ or not ra.ra_pages:
        return False
    if vm_flags & VM_SEQ_READ:
        page_cache_sync_ra(m, ractl, ra.ra_pages)
        return _allow_retry_first(flags)
    if ra.mmap_miss < MMAP_LOTSAMISS * 10:
        ra.mmap_miss += 1
    if ra.mmap_miss > MMAP_LOTSAMISS:
        return False
    # mmap read-around
    ra.start = max(0, pgoff - ra.ra_pages // 2)
    ra.size = ra.ra_pages
    ra.async_size = ra.ra_pages // 4
    ractl.index = ra.start
    page_cache_ra_order(m, ractl, ra, 0)
    return _allow_retry_first(flags)


def do_async_mmap_readahead(m: Machine, vma: VmAreaStruct, pgoff: int, pfn: int,
                            flags: int) -> bool:
    """do_async_mmap_readahead(): a hit; next window if the page has PG_readahead.
    True when the lock would have been dropped."""
    file = vma.vm_file
    ra: FileRaState = file.f_ra
    if vma.vm_flags & VM_RAND_READ or not ra.ra_pages:
        return False
    if ra.mmap_miss:
        ra.mmap_miss -= 1
    if m.mem_map.flags[pfn] & PG_RA:
        ractl = ReadaheadControl(file, file.f_mapping, ra, pgoff)
        page_cache_async_ra(m, ractl, pfn, ra.ra_pages)
        return _allow_retry_first(flags)
    return False


def filemap_fault(m: Machine, vma: VmAreaStruct, pgoff: int, flags: int) -> tuple[int, int]:
    """
    filemap_fault(): the page for *pgoff* of the VMA's file, with a reference for the
    caller (the PTE inherits it), and VM_FAULT bits: VM_FAULT_MAJOR when the page was not
    cached (PGMAJFAULT is counted here, as the kernel does), VM_FAULT_SIGBUS beyond EOF,
    VM_FAULT_RETRY (pfn -1) when the kernel would have dropped the lock for I/O: the caller
    retries with FAULT_FLAG_TRIED and then finds the pages read in (fault-around maps them).
    """
    file = vma.vm_file
    mapping: AddressSpace = file.f_mapping
    inode = mapping.host
    max_idx = (inode.i_size + PAGE_SIZE - 1) >> PAGE_SHIFT
    if pgoff >= max_idx:
        return -1, VM_FAULT_SIGBUS
    ret = 0
    fpin = False
    refcount = m.mem_map.refcount
    # filemap_get_folio(): the folio comes with a reference that the caller (and then the
    # PTE) owns; holding it across the readahead below keeps reclaim — which the readahead's
    # allocations may enter — from freeing the very page being faulted on
    pfn = mapping.i_pages.get(pgoff)
    if pfn is not None:
        refcount[pfn] += 1
        if not flags & FAULT_FLAG_TRIED:
            fpin = do_async_mmap_readahead(m, vma, pgoff, pfn, flags)
    else:
        m.vm_event[VmEventItem.PGMAJFAULT] += 1
        ret = VM_FAULT_MAJOR
        fpin = do_sync_mmap_readahead(m, vma, pgoff, flags)
        pfn = mapping.i_pages.get(pgoff)
        if pfn is None:
            # __filemap_get_folio(FGP_CREAT | FGP_FOR_MMAP): a new page, not uptodate
            pfn = filemap_alloc_folio(m, mapping.gfp_mask)
            if pfn is None:
                return -1, VM_FAULT_OOM
            filemap_add_folio(m, mapping, pfn, pgoff)
        refcount[pfn] += 1
    if not m.mem_map.flags[pfn] & PG_uptodate:
        # page_not_uptodate: read it synchronously (the lock is dropped for that)
        fpin = fpin or _allow_retry_first(flags)
        filemap_read_folio_io(m, mapping, pfn)
    if fpin:
        m.put_page(pfn)                 # the retry looks the page up again
        return -1, ret | VM_FAULT_RETRY
    return pfn, ret


def filemap_map_pages(m: Machine, vma: VmAreaStruct, start_pgoff: int,
                      end_pgoff: int) -> list[tuple[int, int]]:
    """
    filemap_map_pages() without the PTE work: ``(pgoff, pfn)`` of the pages in
    ``[start_pgoff, end_pgoff]`` (inclusive) that fault-around may map: cached, uptodate,
    not locked, no PG_readahead, not HWPoison, below EOF. No references are taken (the
    caller takes one per PTE it sets and skips pgoffs whose PTE is not none). Updates
    ``f_ra.mmap_miss`` as the kernel does (every candidate page counts as a hit).
    """
    file = vma.vm_file
    mapping: AddressSpace = file.f_mapping
    file_end = ((mapping.host.i_size + PAGE_SIZE - 1) >> PAGE_SHIFT) - 1
    end_pgoff = min(end_pgoff, file_end)
    flags = m.mem_map.flags
    out: list[tuple[int, int]] = []
    mmap_miss = 0
    pages = mapping.i_pages
    if end_pgoff - start_pgoff < len(pages):
        candidates = [i for i in range(start_pgoff, end_pgoff + 1) if i in pages]
    else:
        candidates = sorted(i for i in pages if start_pgoff <= i <= end_pgoff)
    for index in candidates:
        pfn = pages[index]
        f = flags[pfn]
        if f & PG_locked or not f & PG_uptodate or f & PG_RA:
            continue
        if f & PG_hwpoison:
            continue
        if not f & PG_workingset:
            mmap_miss += 1
        out.append((index, pfn))
    ra = file.f_ra
    ra.mmap_miss = 0 if mmap_miss >= ra.mmap_miss else ra.mmap_miss - mmap_miss
    return out


def filemap_page_mkwrite(m: Machine, vma: VmAreaStruct, pfn: int) -> int:
    """
    ext4_page_mkwrite() -> block_page_mkwrite(): a shared writable mapping is about to
    write a page: allocate its blocks (SIM: nothing to allocate) and dirty it. A page
    truncated meanwhile gives VM_FAULT_NOPAGE. Returns VM_FAULT bits (0 = go on).
    """
    mapping: AddressSpace = vma.vm_file.f_mapping
    mm = m.mem_map
    if mm.mapping[pfn] != mapping.handle or \
            int(mm.index[pfn]) << PAGE_SHIFT >= mapping.host.i_size:
        return VM_FAULT_NOPAGE
    folio_mark_dirty(m, pfn)
    return 0


class FileVmOps(VmOps):
    """ext4_file_vm_ops / generic_file_vm_ops: filemap_fault, filemap_map_pages,
    ext4_page_mkwrite."""

    name = None
    dirty_accounting = True

    def __init__(self) -> None:
        self.page_mkwrite = filemap_page_mkwrite

    def fault(self, m: Machine, vma: VmAreaStruct, pgoff: int, flags: int) -> tuple[int, int]:
        return filemap_fault(m, vma, pgoff, flags)

    def map_pages(self, m: Machine, vma: VmAreaStruct, start_pgoff: int,
                  end_pgoff: int) -> list[tuple[int, int]]:
        return filemap_map_pages(m, vma, start_pgoff, end_pgoff)

    def is_shmem(self) -> bool:
        return False


generic_file_vm_ops = FileVmOps()


def file_accessed(file: File) -> None:
    """file_accessed(): touch_atime. SIM: timestamps are not modelled."""


def generic_file_mmap(m: Machine, file: File, vma: VmAreaStruct) -> int:
    """ext4_file_mmap() / generic_file_mmap(): install the page-cache vm_ops."""
    if file.f_inode.is_shmem:
        return -ENODEV
    file_accessed(file)
    vma.vm_ops = generic_file_vm_ops
    return 0


def filemap_check_range(pos: int, count: int) -> int:
    """Argument checks shared by the read/write paths: -EINVAL for a negative position."""
    if pos < 0 or count < 0:
        return -EINVAL
    if pos + count > LLONG_MAX:
        return -EFAULT
    return 0
