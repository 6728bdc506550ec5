"""
Truncation and invalidation of the page cache (mm/truncate.c, 6.12): truncate_pagecache
for ftruncate (unmap, drop the pages past EOF, zero the partial page), the ext4 and shmem
setattr paths that use it (fs/ext4/inode.c ext4_setattr, mm/shmem.c shmem_setattr), and
invalidate_mapping_pages / mapping_try_invalidate for POSIX_FADV_DONTNEED and drop_caches
(only clean, unmapped, unlocked pages go).

PTEs are zapped by the core's unmap_mapping_range (mm/memory.py), reached through
``m.unmap_mapping_range`` when the machine has one.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from memsim.include.vmstat_items import VmEventItem
from memsim.mm.filemap import (
    PAGE_SHIFT,
    PAGE_SIZE,
    AddressSpace,
    PG_dirty,
    PG_locked,
    PG_writeback,
    filemap_add_folio,
    filemap_alloc_folio,
    filemap_read_folio_io,
    filemap_remove_folio,
    folio_cancel_dirty,
    folio_mark_dirty,
    folio_zero_range,
)

if TYPE_CHECKING:
    from memsim.fs.inode import Inode
    from memsim.machine import Machine

ULONG_MAX_PGOFF = (1 << 64) - 1


def unmap_mapping_pages(m: Machine, mapping: AddressSpace, start: int, nr: int,
                        even_cows: bool) -> None:
    """
    unmap_mapping_pages(): zap the PTEs mapping pgoffs ``[start, start + nr)`` of
    *mapping* (nr 0: to the end), private COW copies too with *even_cows*. Delegates to
    the core (``m.unmap_mapping_range`` or mm/memory.py unmap_mapping_range).
    """
    if not mapping.i_mmap:
        return
    hook = getattr(m, "unmap_mapping_range", None)
    if hook is None:
        from memsim.mm import memory
        fn = getattr(memory, "unmap_mapping_range", None)
        if fn is not None:
            fn(m, mapping, start, nr, even_cows)
        return
    hook(mapping, start, nr, even_cows)


def unmap_mapping_range(m: Machine, mapping: AddressSpace, holebegin: int, holelen: int,
                        even_cows: bool) -> None:
    """unmap_mapping_range(): the byte-range form (holelen 0 = to the end of the file)."""
    hba = holebegin >> PAGE_SHIFT
    hlen = (holelen + PAGE_SIZE - 1) >> PAGE_SHIFT if holelen else 0
    unmap_mapping_pages(m, mapping, hba, hlen, even_cows)


def truncate_cleanup_folio(m: Machine, mapping: AddressSpace, pfn: int) -> None:
    """truncate_cleanup_folio(): unmap a page still mapped, cancel its dirty state."""
    if m.mem_map.mapcount1[pfn]:
        unmap_mapping_pages(m, mapping, int(m.mem_map.index[pfn]), 1, False)
    folio_cancel_dirty(m, mapping, pfn)


def truncate_inode_folio(m: Machine, mapping: AddressSpace, pfn: int) -> None:
    """truncate_inode_folio(): throw one page away."""
    truncate_cleanup_folio(m, mapping, pfn)
    filemap_remove_folio(m, mapping, pfn)


def truncate_inode_partial_folio(m: Machine, mapping: AddressSpace, pfn: int, lstart: int,
                                 lend: int) -> bool:
    """
    truncate_inode_partial_folio(): zero the part of the page inside ``[lstart, lend]``;
    a page covered completely is truncated instead (True).
    """
    pos = int(m.mem_map.index[pfn]) << PAGE_SHIFT
    offset = max(lstart - pos, 0)
    length = (PAGE_SIZE if lend == -1 else min(lend + 1 - pos, PAGE_SIZE)) - offset
    if offset == 0 and length == PAGE_SIZE:
        truncate_inode_folio(m, mapping, pfn)
        return True
    folio_zero_range(m, pfn, offset, length)
    return False


def truncate_inode_pages_range(m: Machine, mapping: AddressSpace, lstart: int,
                               lend: int = -1) -> None:
    """
    truncate_inode_pages_range(): remove the pages wholly inside bytes ``[lstart, lend]``
    (lend inclusive, -1 = to the end) and zero the covered part of a partial page at
    either end.
    """
    start = (lstart + PAGE_SIZE - 1) >> PAGE_SHIFT
    end = ULONG_MAX_PGOFF if lend == -1 else (lend + 1) >> PAGE_SHIFT     # exclusive
    if mapping.swapped:
        # shmem_undo_range(): swapped-out pages of a partial end come back to be zeroed,
        # whole ones are freed with their slots
        from memsim.mm.shmem import shmem_free_swap_range, shmem_swapin_folio
        for idx in {lstart >> PAGE_SHIFT, lend >> PAGE_SHIFT if lend != -1 else -1}:
            if idx in mapping.swapped and not (start <= idx < end):
                shmem_swapin_folio(m, mapping, idx)
        shmem_free_swap_range(m, mapping, start, end)
    if not mapping.nrpages:
        return
    for index in sorted(i for i in mapping.i_pages if start <= i < end):
        truncate_inode_folio(m, mapping, mapping.i_pages[index])
    first = lstart >> PAGE_SHIFT
    pfn = mapping.i_pages.get(first)
    if pfn is not None:
        truncate_inode_partial_folio(m, mapping, pfn, lstart, lend)
    if lend != -1 and lend >> PAGE_SHIFT != first:
        pfn = mapping.i_pages.get(lend >> PAGE_SHIFT)
        if pfn is not None:
            truncate_inode_partial_folio(m, mapping, pfn, lstart, lend)


def truncate_inode_pages(m: Machine, mapping: AddressSpace, lstart: int) -> None:
    """truncate_inode_pages(): everything from byte *lstart* on."""
    truncate_inode_pages_range(m, mapping, lstart, -1)


def truncate_inode_pages_final(m: Machine, mapping: AddressSpace) -> None:
    """truncate_inode_pages_final(): the inode is being evicted."""
    truncate_inode_pages(m, mapping, 0)


def truncate_pagecache(m: Machine, inode: Inode, newsize: int) -> None:
    """truncate_pagecache(): unmap (COWs too), drop the cache past *newsize*, unmap again
    (a racing fault may have mapped a page meanwhile)."""
    mapping = inode.i_mapping
    holebegin = (newsize + PAGE_SIZE - 1) & ~(PAGE_SIZE - 1)
    unmap_mapping_range(m, mapping, holebegin, 0, True)
    truncate_inode_pages(m, mapping, newsize)
    unmap_mapping_range(m, mapping, holebegin, 0, True)


def truncate_setsize(m: Machine, inode: Inode, newsize: int) -> None:
    """truncate_setsize(): i_size, then the page cache. # SIM: pagecache_isize_extended()
    only matters for block size < page size, which is not modelled."""
    inode.i_size = newsize
    truncate_pagecache(m, inode, newsize)


def ext4_block_truncate_page(m: Machine, inode: Inode, from_: int) -> None:
    """
    ext4_block_truncate_page(): zero the tail of the block holding the new EOF and mark
    it dirty (the page is read in if needed; a hole needs nothing).
    """
    offset = from_ & (PAGE_SIZE - 1)
    if not offset:
        return
    index = from_ >> PAGE_SHIFT
    if index not in inode.disk and index not in inode.i_mapping.i_pages:
        return
    mapping = inode.i_mapping
    pfn = mapping.i_pages.get(index)
    if pfn is None:
        pfn = filemap_alloc_folio(m, mapping.gfp_mask)
        if pfn is None:
            return
        filemap_add_folio(m, mapping, pfn, index)
        filemap_read_folio_io(m, mapping, pfn)
    folio_zero_range(m, pfn, offset, PAGE_SIZE - offset)
    folio_mark_dirty(m, pfn)


def ext4_setattr_size(m: Machine, inode: Inode, newsize: int) -> int:
    """
    The size part of ext4_setattr(): i_size, truncate_pagecache(), then ext4_truncate()
    when shrinking (zero the partial block, free the blocks past EOF). Returns 0.
    """
    oldsize = inode.i_size
    inode.i_size = newsize
    truncate_pagecache(m, inode, newsize)
    if newsize <= oldsize:
        ext4_block_truncate_page(m, inode, newsize)
        last = (newsize + PAGE_SIZE - 1) >> PAGE_SHIFT
        for index in [i for i in inode.disk if i >= last]:
            del inode.disk[index]
        tail = newsize & (PAGE_SIZE - 1)
        if tail and (newsize >> PAGE_SHIFT) in inode.disk:
            block = inode.disk[newsize >> PAGE_SHIFT]
            inode.disk[newsize >> PAGE_SHIFT] = block[:tail] + bytes(PAGE_SIZE - tail)
    return 0


# ---- invalidation ------------------------------------------------------------------------------

def mapping_evict_folio(m: Machine, mapping: AddressSpace, pfn: int) -> int:
    """
    mapping_evict_folio(): drop a clean, unmapped page nobody else holds: 1 if removed.
    The kernel compares the refcount with nr_pages + has_private + 1 (its batch
    reference); here the cache's own reference is the only one allowed. # SIM: no buffer
    heads, so never PG_private.
    """
    mm = m.mem_map
    if mm.flags[pfn] & (PG_dirty | PG_writeback | PG_locked):
        return 0
    if mm.refcount[pfn] > 1:      # mapped (each PTE holds a reference) or pinned
        return 0
    filemap_remove_folio(m, mapping, pfn)
    return 1


def mapping_try_invalidate(m: Machine, mapping: AddressSpace, start: int,
                           end: int) -> tuple[int, int]:
    """mapping_try_invalidate(): evict pages ``[start, end]`` (inclusive) that may go;
    ``(count, nr_failed)``. LRU hook: a failed page is deactivate_file_folio()'d."""
    count = failed = 0
    for index in sorted(i for i in mapping.i_pages if start <= i <= end):
        pfn = mapping.i_pages[index]
        ret = mapping_evict_folio(m, mapping, pfn)
        if not ret:
            from memsim.mm.swap import deactivate_file_folio
            deactivate_file_folio(m, pfn)     # a hint: help reclaim find it (mm/swap.py)
            failed += 1
        count += ret
    return count, failed


def invalidate_mapping_pages(m: Machine, mapping: AddressSpace, start: int,
                             end: int = ULONG_MAX_PGOFF) -> int:
    """invalidate_mapping_pages(): the number of pages evicted from ``[start, end]``."""
    return mapping_try_invalidate(m, mapping, start, end)[0]


def drop_pagecache(m: Machine, inodes: list[Inode]) -> int:
    """drop_pagecache_sb() over every inode (echo 1 > drop_caches): pages dropped."""
    from memsim.mm.swap import lru_add_drain_all
    lru_add_drain_all(m)
    n = 0
    for inode in inodes:
        if inode.i_mapping.nrpages:
            n += invalidate_mapping_pages(m, inode.i_mapping, 0)
    m.vm_event[VmEventItem.DROP_PAGECACHE] += 1
    return n
