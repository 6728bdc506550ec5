"""
posix_fadvise(2) (mm/fadvise.c, 6.12): generic_fadvise for disk files; shmem files sit on
noop_backing_dev_info, so every valid advice is accepted and ignored. MADV_WILLNEED on a
file mapping comes here too (madvise_willneed -> vfs_fadvise(POSIX_FADV_WILLNEED)).
Readahead is mm/readahead.py, invalidation mm/truncate.py.
"""

from __future__ import annotations

from errno import EBADF, EINVAL
from typing import TYPE_CHECKING

from memsim.fs.file import FMODE_NOREUSE, FMODE_RANDOM
from memsim.mm.filemap import PAGE_SHIFT, PAGE_SIZE, filemap_fdatawrite_range, writeback_complete
from memsim.mm.readahead import force_page_cache_readahead
from memsim.mm.truncate import invalidate_mapping_pages, mapping_try_invalidate

if TYPE_CHECKING:
    from memsim.fs.file import File
    from memsim.machine import Machine

POSIX_FADV_NORMAL = 0
POSIX_FADV_RANDOM = 1
POSIX_FADV_SEQUENTIAL = 2
POSIX_FADV_WILLNEED = 3
POSIX_FADV_DONTNEED = 4
POSIX_FADV_NOREUSE = 5

LLONG_MAX = (1 << 63) - 1
_U64 = (1 << 64) - 1


def generic_fadvise(m: Machine, file: File, offset: int, length: int, advice: int) -> int:
    """generic_fadvise(): 0 or -EINVAL (-ESPIPE is for pipes, which are not modelled)."""
    inode = file.f_inode
    mapping = file.f_mapping
    if mapping is None or length < 0:
        return -EINVAL
    bdi = inode.i_sb.bdi
    if bdi.noop:
        if advice not in (POSIX_FADV_NORMAL, POSIX_FADV_RANDOM, POSIX_FADV_SEQUENTIAL,
                          POSIX_FADV_WILLNEED, POSIX_FADV_NOREUSE, POSIX_FADV_DONTNEED):
            return -EINVAL
        return 0
    # endbyte is inclusive; u64 arithmetic as the kernel
    endbyte = (offset + length) & _U64
    if not length or endbyte < length or endbyte > LLONG_MAX:
        endbyte = LLONG_MAX
    else:
        endbyte -= 1
    if advice == POSIX_FADV_NORMAL:
        file.f_ra.ra_pages = bdi.ra_pages
        file.f_mode &= ~(FMODE_RANDOM | FMODE_NOREUSE)
    elif advice == POSIX_FADV_RANDOM:
        file.f_mode |= FMODE_RANDOM
    elif advice == POSIX_FADV_SEQUENTIAL:
        file.f_ra.ra_pages = bdi.ra_pages * 2
        file.f_mode &= ~FMODE_RANDOM
    elif advice == POSIX_FADV_WILLNEED:
        start_index = offset >> PAGE_SHIFT
        end_index = endbyte >> PAGE_SHIFT
        nrpages = end_index - start_index + 1
        if nrpages <= 0:
            nrpages = _U64
        force_page_cache_readahead(m, mapping, file, start_index, nrpages)
    elif advice == POSIX_FADV_NOREUSE:
        file.f_mode |= FMODE_NOREUSE
    elif advice == POSIX_FADV_DONTNEED:
        # start writeback of the dirty pages (WB_SYNC_NONE, no wait): those pages are
        # still under writeback during the invalidation below and stay cached
        in_flight: list[int] = []
        filemap_fdatawrite_range(m, mapping, offset, endbyte, in_flight)
        # only whole pages are dropped: round start up and end down (a partial last page
        # is dropped when it is the one holding EOF)
        start_index = (offset + PAGE_SIZE - 1) >> PAGE_SHIFT
        end_index = endbyte >> PAGE_SHIFT
        if endbyte & (PAGE_SIZE - 1) != PAGE_SIZE - 1 and endbyte != inode.i_size - 1:
            if end_index == 0:
                writeback_complete(m, in_flight)
                return 0
            end_index -= 1
        if end_index >= start_index:
            # lru_add_drain() before, lru_add_drain_all() before the retry (mm/swap.py)
            from memsim.mm.swap import lru_add_drain, lru_add_drain_all
            lru_add_drain(m)
            _, nr_failed = mapping_try_invalidate(m, mapping, start_index, end_index)
            if nr_failed:
                lru_add_drain_all(m)
                invalidate_mapping_pages(m, mapping, start_index, end_index)
        # SIM: the writeback I/O completes now (the kernel completes it asynchronously)
        writeback_complete(m, in_flight)
    else:
        return -EINVAL
    return 0


def vfs_fadvise(m: Machine, file: File, offset: int, length: int, advice: int) -> int:
    """vfs_fadvise(): f_op->fadvise (none overridden here) or generic_fadvise()."""
    return generic_fadvise(m, file, offset, length, advice)


def ksys_fadvise64_64(m: Machine, file: File | None, offset: int, length: int,
                      advice: int) -> int:
    """fadvise64_64(2) for the File an fd resolved to (None: -EBADF)."""
    if file is None:
        return -EBADF
    return vfs_fadvise(m, file, offset, length, advice)
