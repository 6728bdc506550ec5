"""
Readahead (mm/readahead.c, include/linux/pagemap.h, 6.12): the per-file window
(struct file_ra_state), its sizing (get_init_ra_size/get_next_ra_size), the synchronous
window on a cache miss and the asynchronous one when a PG_readahead page is reached, and
forced readahead for MADV_WILLNEED / POSIX_FADV_WILLNEED. The mmap read-around window is
in mm/filemap.py (do_sync_mmap_readahead); the page-cache primitives used here are there too.

# SIM: I/O completes at submission: read_pages() leaves every page uptodate and unlocked.
# SIM: no large folios: ext4 in 6.12 does not set mapping_large_folio_support(), so
# page_cache_ra_order() always takes its fallback, do_page_cache_ra().
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from memsim.include.page_flags import PageFlags, PG_readahead

if TYPE_CHECKING:
    from memsim.machine import Machine
    from memsim.mm.filemap import AddressSpace

#: VM_READAHEAD_PAGES: the default window, 128 KiB (include/linux/mm.h)
VM_READAHEAD_PAGES = (128 * 1024) // 4096
#: force_page_cache_ra() works in 2 MiB chunks
_FORCE_CHUNK = (2 * 1024 * 1024) // 4096

_PG_readahead = 1 << PG_readahead
_PG_writeback = 1 << PageFlags.PG_writeback
_PG_uptodate = 1 << PageFlags.PG_uptodate


@dataclass(slots=True, eq=False)
class FileRaState:
    """struct file_ra_state."""

    start: int = 0
    size: int = 0
    async_size: int = 0
    ra_pages: int = VM_READAHEAD_PAGES
    mmap_miss: int = 0
    prev_pos: int = -1


def file_ra_state_init(ra: FileRaState, mapping: AddressSpace) -> None:
    """file_ra_state_init(): the window limit of the backing device, no history."""
    ra.ra_pages = mapping.host.i_sb.bdi.ra_pages
    ra.prev_pos = -1


@dataclass(slots=True, eq=False)
class ReadaheadControl:
    """struct readahead_control (DEFINE_READAHEAD): where the next batch starts."""

    file: Any
    mapping: AddressSpace
    ra: FileRaState
    index: int          # _index
    nr_pages: int = 0   # _nr_pages of the batch being built


def roundup_pow_of_two(n: int) -> int:
    return 1 if n <= 1 else 1 << (n - 1).bit_length()


def get_init_ra_size(size: int, max_pages: int) -> int:
    """get_init_ra_size(): x4 for small requests, x2 for medium, else the maximum."""
    newsize = roundup_pow_of_two(size)
    if newsize <= max_pages // 32:
        return newsize * 4
    if newsize <= max_pages // 4:
        return newsize * 2
    return max_pages


def get_next_ra_size(ra: FileRaState, max_pages: int) -> int:
    """get_next_ra_size(): x4 while small, x2 up to max/2, then max."""
    cur = ra.size
    if cur < max_pages // 16:
        return 4 * cur
    if cur <= max_pages // 2:
        return 2 * cur
    return max_pages


def read_pages(m: Machine, ractl: ReadaheadControl, batch: list[int]) -> None:
    """read_pages(): ->readahead (mpage_readahead) for the batch. # SIM: I/O is instant."""
    from memsim.mm.filemap import filemap_read_folio_io
    for pfn in batch:
        filemap_read_folio_io(m, ractl.mapping, pfn)
    batch.clear()


def page_cache_ra_unbounded(m: Machine, ractl: ReadaheadControl, nr_to_read: int,
                            lookahead_size: int) -> None:
    """
    page_cache_ra_unbounded(): add pages ``[index, index + nr_to_read)`` that are not cached
    yet, PG_readahead on the one ``nr_to_read - lookahead_size`` pages in, then read them.
    """
    from memsim.mm.filemap import filemap_add_folio, filemap_alloc_folio
    mapping = ractl.mapping
    index = ractl.index
    mark = nr_to_read - lookahead_size       # (unsigned in the kernel: < 0 never matches)
    batch: list[int] = []
    i = 0
    while i < nr_to_read:
        if index + i in mapping.i_pages:
            # page already cached: submit what we have, skip it
            read_pages(m, ractl, batch)
            i += 1
            continue
        pfn = filemap_alloc_folio(m, mapping.gfp_mask)
        if pfn is None:
            break
        if filemap_add_folio(m, mapping, pfn, index + i) < 0:
            m.put_page(pfn)
            read_pages(m, ractl, batch)
            i += 1
            continue
        if i == mark:
            m.mem_map.flags[pfn] |= _PG_readahead         # folio_set_readahead()
        batch.append(pfn)
        ractl.nr_pages += 1
        i += 1
    read_pages(m, ractl, batch)


def do_page_cache_ra(m: Machine, ractl: ReadaheadControl, nr_to_read: int,
                     lookahead_size: int) -> None:
    """do_page_cache_ra(): page_cache_ra_unbounded() clipped at the page holding EOF."""
    isize = ractl.mapping.host.i_size
    if isize == 0:
        return
    end_index = (isize - 1) >> 12
    index = ractl.index
    if index > end_index:
        return
    if nr_to_read > end_index - index:
        nr_to_read = end_index - index + 1
    page_cache_ra_unbounded(m, ractl, nr_to_read, lookahead_size)


def force_page_cache_ra(m: Machine, ractl: ReadaheadControl, nr_to_read: int) -> None:
    """force_page_cache_ra(): read *nr_to_read* pages (at most max(io_pages, ra_pages)),
    in 2 MiB chunks, without a readahead marker."""
    bdi = ractl.mapping.host.i_sb.bdi
    max_pages = max(bdi.io_pages, ractl.ra.ra_pages)
    nr_to_read = min(nr_to_read, max_pages)
    while nr_to_read:
        chunk = min(_FORCE_CHUNK, nr_to_read)
        do_page_cache_ra(m, ractl, chunk, 0)
        ractl.index += chunk
        nr_to_read -= chunk


def force_page_cache_readahead(m: Machine, mapping: AddressSpace, file: Any, index: int,
                               nr_to_read: int) -> None:
    """force_page_cache_readahead() (POSIX_FADV_WILLNEED, MADV_WILLNEED on a file)."""
    ra = file.f_ra if file is not None else FileRaState(ra_pages=mapping.host.i_sb.bdi.ra_pages)
    force_page_cache_ra(m, ReadaheadControl(file, mapping, ra, index), nr_to_read)


def page_cache_ra_order(m: Machine, ractl: ReadaheadControl, ra: FileRaState,
                        new_order: int) -> None:
    """page_cache_ra_order(): no large-folio support, so the order-0 fallback."""
    do_page_cache_ra(m, ractl, ra.size, ra.async_size)


def ractl_max_pages(ractl: ReadaheadControl, req_size: int) -> int:
    """ractl_max_pages(): ra_pages, or up to io_pages for a request bigger than that."""
    bdi = ractl.mapping.host.i_sb.bdi
    max_pages = ractl.ra.ra_pages
    if req_size > max_pages and bdi.io_pages > max_pages:
        max_pages = min(req_size, bdi.io_pages)
    return max_pages


def page_cache_next_miss(mapping: AddressSpace, index: int, max_scan: int) -> int:
    """page_cache_next_miss(): the first index >= *index* not cached (index + max_scan if
    none within max_scan)."""
    pages = mapping.i_pages
    for i in range(index, index + max_scan):
        if i not in pages:
            return i
    return index + max_scan


def page_cache_prev_miss(mapping: AddressSpace, index: int, max_scan: int) -> int:
    """page_cache_prev_miss(): the first index <= *index* not cached, scanning at most
    *max_scan* entries; -1 (ULONG_MAX) when everything down to 0 is cached."""
    pages = mapping.i_pages
    i = index
    for _ in range(max_scan):
        if i < 0 or i not in pages:
            return i
        i -= 1
    return i + 1


def page_cache_sync_ra(m: Machine, ractl: ReadaheadControl, req_count: int) -> None:
    """page_cache_sync_ra(): readahead on a cache miss at ``ractl.index``."""
    index = ractl.index
    file = ractl.file
    from memsim.fs.file import FMODE_RANDOM
    do_forced_ra = file is not None and bool(file.f_mode & FMODE_RANDOM)
    ra = ractl.ra
    if not ra.ra_pages:
        if file is None:
            return
        req_count = 1
        do_forced_ra = True
    if do_forced_ra:
        force_page_cache_ra(m, ractl, req_count)
        return
    max_pages = ractl_max_pages(ractl, req_count)
    prev_index = (ra.prev_pos % (1 << 64)) >> 12      # (unsigned long long)prev_pos
    # start of file, oversized read, or sequential cache miss (unsigned index - prev_index)
    if not index or req_count > max_pages or (index - prev_index) % (1 << 64) <= 1:
        ra.start = index
        ra.size = get_init_ra_size(req_count, max_pages)
        ra.async_size = ra.size - req_count if ra.size > req_count else ra.size >> 1
    else:
        miss = page_cache_prev_miss(ractl.mapping, index - 1, max_pages)
        contig_count = index - miss - 1
        if contig_count <= req_count:
            # standalone, small random read: read as is, leave the state alone
            do_page_cache_ra(m, ractl, req_count, 0)
            return
        if miss == -1:
            contig_count *= 2       # cached from the beginning: a long-run stream
        ra.start = index
        ra.size = min(contig_count + req_count, max_pages)
        ra.async_size = 1
    ractl.index = ra.start
    page_cache_ra_order(m, ractl, ra, 0)


def page_cache_async_ra(m: Machine, ractl: ReadaheadControl, pfn: int, req_count: int) -> None:
    """page_cache_async_ra(): the PG_readahead page *pfn* was reached: next window."""
    ra = ractl.ra
    if not ra.ra_pages:
        return
    flags = m.mem_map.flags
    if flags[pfn] & _PG_writeback:     # PG_readahead is PG_reclaim on a writeback page
        return
    flags[pfn] &= ~_PG_readahead       # folio_clear_readahead()
    max_pages = ractl_max_pages(ractl, req_count)
    index = ractl.index
    expected = ra.start + ra.size - ra.async_size
    if index == expected:
        ra.start += ra.size
        ra.size = max(ra.size, get_next_ra_size(ra, max_pages))
        ra.async_size = ra.size
    else:
        # a marked page without valid state (interleaved reads): size from the cache
        start = page_cache_next_miss(ractl.mapping, index + 1, max_pages)
        if not start or start - index > max_pages:
            return
        ra.start = start
        ra.size = start - index + req_count
        ra.size = get_next_ra_size(ra, max_pages)
        ra.async_size = ra.size
    ractl.index = ra.start
    page_cache_ra_order(m, ractl, ra, 0)


def page_cache_sync_readahead(m: Machine, mapping: AddressSpace, ra: FileRaState, file: Any,
                              index: int, req_count: int) -> None:
    """page_cache_sync_readahead() (include/linux/pagemap.h)."""
    page_cache_sync_ra(m, ReadaheadControl(file, mapping, ra, index), req_count)


def page_cache_async_readahead(m: Machine, mapping: AddressSpace, ra: FileRaState, file: Any,
                               pfn: int, req_count: int) -> None:
    """page_cache_async_readahead(): from the marked page's index."""
    index = int(m.mem_map.index[pfn])
    page_cache_async_ra(m, ReadaheadControl(file, mapping, ra, index), pfn, req_count)
