"""The page cache, readahead, truncation, fadvise and shmem (mm/filemap.py and friends)."""

from __future__ import annotations

from errno import EBADF, EINVAL, ESPIPE

import pytest

from memsim.fs.file import O_RDONLY, O_RDWR, O_WRONLY, FdTable
from memsim.fs.read_write import (
    ksys_fsync,
    ksys_ftruncate,
    ksys_lseek,
    ksys_pread64,
    ksys_pwrite64,
    ksys_read,
    ksys_write,
)
from memsim.include.mm import VM_MAYREAD, VM_MAYSHARE, VM_READ, VM_SHARED, VM_WRITE
from memsim.include.mm_types import MmStruct, VmAreaStruct
from memsim.include.page_flags import PageFlags, PG_readahead
from memsim.include.vmstat_items import NodeStatItem as N
from memsim.include.vmstat_items import VmEventItem
from memsim.machine import Machine
from memsim.mm.fadvise import (
    POSIX_FADV_DONTNEED,
    POSIX_FADV_SEQUENTIAL,
    POSIX_FADV_WILLNEED,
    ksys_fadvise64_64,
)
from memsim.mm.filemap import filemap_fault, filemap_map_pages, mincore_page
from memsim.mm.memory import (
    FAULT_FLAG_ALLOW_RETRY,
    FAULT_FLAG_TRIED,
    VM_FAULT_MAJOR,
    VM_FAULT_RETRY,
    VM_FAULT_SIGBUS,
)
from memsim.mm.readahead import FileRaState, get_init_ra_size, get_next_ra_size
from memsim.mm.shmem import memfd_create, shmem_fault, shmem_zero_setup
from memsim.mm.vmstat import global_node_page_state

PAGE = 4096
_RA = 1 << PG_readahead
_DIRTY = 1 << PageFlags.PG_dirty


@pytest.fixture
def m() -> Machine:
    return Machine.boot(arch="x86_64", mem="512M", cpus=2)


class Counters:
    """Node counters relative to the start of a test."""

    def __init__(self, m: Machine) -> None:
        self.m = m
        self.base = {i: global_node_page_state(m, i) for i in N}

    def __getitem__(self, item: N) -> int:
        return global_node_page_state(self.m, item) - self.base[item]


def pages_data(n: int) -> bytes:
    return b"".join(bytes([ord("a") + i % 26]) * PAGE for i in range(n))


def cached(m: Machine, path: str) -> list[int]:
    return sorted(m.vfs.lookup(path).i_mapping.i_pages)


def file_vma(m: Machine, file: object, pages: int, flags: int = VM_READ | VM_MAYREAD,
             pgoff: int = 0) -> VmAreaStruct:
    vma = VmAreaStruct(0x10000000, 0x10000000 + pages * PAGE, MmStruct(), flags, pgoff)
    vma.vm_file = file
    assert file.mmap(m, vma) == 0     # type: ignore[attr-defined]
    return vma


def meminfo_kb(m: Machine, label: str) -> int:
    for line in m.proc("meminfo").splitlines():
        if line.startswith(label + ":"):
            return int(line.split()[1])
    raise KeyError(label)


# ---- read/write through the cache -------------------------------------------------------------

def test_create_write_fsync_read_back(m: Machine) -> None:
    c = Counters(m)
    pgpgout = m.vm_event[VmEventItem.PGPGOUT]
    f = m.vfs.open("/f1", O_RDWR | 0o100)
    assert not isinstance(f, int)
    data = pages_data(8)
    assert ksys_write(m, f, data) == len(data)
    assert c[N.NR_FILE_PAGES] == 8 and c[N.NR_FILE_DIRTY] == 8 and c[N.NR_DIRTIED] == 8
    assert c[N.NR_SHMEM] == 0
    cached_kb, dirty_kb = meminfo_kb(m, "Cached"), meminfo_kb(m, "Dirty")
    assert ksys_fsync(m, f) == 0
    assert c[N.NR_FILE_DIRTY] == 0 and c[N.NR_WRITTEN] == 8 and c[N.NR_WRITEBACK] == 0
    assert m.vm_event[VmEventItem.PGPGOUT] - pgpgout == 8 * 8        # sectors
    assert meminfo_kb(m, "Dirty") == dirty_kb - 32
    assert meminfo_kb(m, "Cached") == cached_kb
    assert ksys_lseek(m, f, 0, 0) == 0
    assert ksys_read(m, f, len(data) + 100) == data
    assert ksys_pread64(m, f, 10, 3 * PAGE + 4090) == b"d" * 6 + b"e" * 4
    assert ksys_read(m, f, 10) == b""                                 # at EOF
    # a partial overwrite of a cached page
    assert ksys_pwrite64(m, f, b"XY", PAGE + 1) == 2
    assert ksys_pread64(m, f, 4, PAGE) == b"bXYb"
    assert c[N.NR_FILE_DIRTY] == 1


def test_dontneed_then_reread_from_disk(m: Machine) -> None:
    ino = m.vfs.create("/f1", pages_data(8))
    c = Counters(m)
    f = m.vfs.open("/f1", O_RDONLY)
    assert ksys_fadvise64_64(m, f, 0, 0, POSIX_FADV_DONTNEED) == 0
    assert ino.i_mapping.nrpages == 0 and c[N.NR_FILE_PAGES] == -8
    assert not any(mincore_page(m, ino.i_mapping, i) for i in range(8))
    pgpgin = m.vm_event[VmEventItem.PGPGIN]
    assert ksys_pread64(m, f, 2 * PAGE, 6 * PAGE) == b"g" * PAGE + b"h" * PAGE
    assert m.vm_event[VmEventItem.PGPGIN] > pgpgin


def test_dontneed_keeps_mapped_and_dirty_pages(m: Machine) -> None:
    ino = m.vfs.create("/f1", pages_data(4))
    mapping = ino.i_mapping
    f = m.vfs.open("/f1", O_RDWR)
    assert not isinstance(f, int)
    mapped = mapping.i_pages[1]
    m.get_page(mapped)                       # a PTE's reference and map count
    m.mem_map.mapcount1[mapped] = 1
    assert ksys_pwrite64(m, f, b"Z", 2 * PAGE) == 1      # page 2 dirty
    assert ksys_fadvise64_64(m, f, 0, 0, POSIX_FADV_DONTNEED) == 0
    # page 1 is mapped, page 2 was under writeback started by the advice itself
    assert sorted(mapping.i_pages) == [1, 2]
    assert not m.mem_map.flags[mapping.i_pages[2]] & _DIRTY
    assert ino.disk[2][:1] == b"Z"
    assert ksys_fadvise64_64(m, f, 0, 0, POSIX_FADV_DONTNEED) == 0
    assert sorted(mapping.i_pages) == [1]
    m.mem_map.mapcount1[mapped] = 0
    m.put_page(mapped)


def test_fadvise_dontneed_partial_pages(m: Machine) -> None:
    ino = m.vfs.create("/f1", pages_data(4))
    f = m.vfs.open("/f1", O_RDONLY)
    # [100, 3*PAGE + 10): page 0 and page 3 only partly covered -> only 1, 2 dropped
    assert ksys_fadvise64_64(m, f, 100, 3 * PAGE - 90, POSIX_FADV_DONTNEED) == 0
    assert sorted(ino.i_mapping.i_pages) == [0, 3]


# ---- readahead ----------------------------------------------------------------------------------

def test_ra_size_helpers() -> None:
    assert get_init_ra_size(1, 32) == 4
    assert get_init_ra_size(2, 32) == 4           # 2 > 32/32: x2
    assert get_init_ra_size(3, 32) == 8           # roundup 4 <= 8: x2
    assert get_init_ra_size(16, 32) == 32
    ra = FileRaState(size=4)
    assert get_next_ra_size(ra, 32) == 8          # 4 >= 32/16: x2
    ra.size = 1
    assert get_next_ra_size(ra, 32) == 4
    ra.size = 32
    assert get_next_ra_size(ra, 32) == 32


def test_sequential_read_windows(m: Machine) -> None:
    ino = m.vfs.create("/big", pages_data(256))
    f = m.vfs.open("/big", O_RDONLY)
    ksys_fadvise64_64(m, f, 0, 0, POSIX_FADV_DONTNEED)
    assert ino.i_mapping.nrpages == 0
    flags = m.mem_map.flags
    pages = ino.i_mapping.i_pages
    assert ksys_read(m, f, PAGE) == b"a" * PAGE
    # sync readahead: start 0, size get_init_ra_size(1, 32) = 4, async 3, marker on page 1
    assert (f.f_ra.start, f.f_ra.size, f.f_ra.async_size) == (0, 4, 3)
    assert cached(m, "/big") == [0, 1, 2, 3]
    assert [i for i in pages if flags[pages[i]] & _RA] == [1]
    ksys_read(m, f, PAGE)          # page 1: the marker -> async window 4 + 8
    assert (f.f_ra.start, f.f_ra.size, f.f_ra.async_size) == (4, 8, 8)
    assert cached(m, "/big") == list(range(12))
    assert [i for i in pages if flags[pages[i]] & _RA] == [4]
    for _ in range(3):
        ksys_read(m, f, PAGE)      # pages 2, 3, 4 -> window 12 + 16
    assert (f.f_ra.start, f.f_ra.size, f.f_ra.async_size) == (12, 16, 16)
    for _ in range(8):
        ksys_read(m, f, PAGE)      # ... page 12 -> window 28 + 32 (the maximum)
    assert (f.f_ra.start, f.f_ra.size, f.f_ra.async_size) == (28, 32, 32)
    assert cached(m, "/big") == list(range(60))


def test_fadvise_willneed_and_sequential(m: Machine) -> None:
    ino = m.vfs.create("/f", pages_data(100))
    f = m.vfs.open("/f", O_RDONLY)
    ksys_fadvise64_64(m, f, 0, 0, POSIX_FADV_DONTNEED)
    assert ksys_fadvise64_64(m, f, PAGE, 3 * PAGE, POSIX_FADV_WILLNEED) == 0
    assert cached(m, "/f") == [1, 2, 3]
    flags = m.mem_map.flags
    assert not any(flags[p] & _RA for p in ino.i_mapping.i_pages.values())
    # length 0 = to EOF, limited by max(io_pages, ra_pages) = 320 pages
    assert ksys_fadvise64_64(m, f, 0, 0, POSIX_FADV_WILLNEED) == 0
    assert cached(m, "/f") == list(range(100))
    assert ksys_fadvise64_64(m, f, 0, 0, POSIX_FADV_SEQUENTIAL) == 0
    assert f.f_ra.ra_pages == 64


# ---- mmap faults ---------------------------------------------------------------------------------

def test_major_fault_read_around_and_retry(m: Machine) -> None:
    ino = m.vfs.create("/f1", pages_data(8))
    f = m.vfs.open("/f1", O_RDONLY)
    ksys_fadvise64_64(m, f, 0, 0, POSIX_FADV_DONTNEED)
    vma = file_vma(m, f, 8)
    assert vma.vm_ops is not None and vma.vm_ops.page_mkwrite is not None
    majflt = m.vm_event[VmEventItem.PGMAJFAULT]
    pfn, ret = filemap_fault(m, vma, 0, FAULT_FLAG_ALLOW_RETRY)
    # read-around: start max(0, 0 - 16) = 0, size 32, async 8, clipped to the 8 pages of
    # the file: the readahead marker lands on page 8 - 8 = 0
    assert (pfn, ret) == (-1, VM_FAULT_MAJOR | VM_FAULT_RETRY)
    assert m.vm_event[VmEventItem.PGMAJFAULT] == majflt + 1
    assert (f.f_ra.start, f.f_ra.size, f.f_ra.async_size, f.f_ra.mmap_miss) == (0, 32, 8, 1)
    assert cached(m, "/f1") == list(range(8))
    # the retry: fault-around maps every page but the marked one, ->fault gives page 0
    assert [i for i, _ in filemap_map_pages(m, vma, 0, 15)] == [1, 2, 3, 4, 5, 6, 7]
    assert f.f_ra.mmap_miss == 0
    p0 = ino.i_mapping.i_pages[0]
    ref = m.mem_map.refcount[p0]
    pfn, ret = filemap_fault(m, vma, 0, FAULT_FLAG_ALLOW_RETRY | FAULT_FLAG_TRIED)
    assert (pfn, ret) == (p0, 0) and m.mem_map.refcount[p0] == ref + 1
    assert m.page_data[p0][:1] == b"a"
    assert filemap_fault(m, vma, 8, 0) == (-1, VM_FAULT_SIGBUS)
    m.put_page(p0)


def test_read_around_window_middle_of_file(m: Machine) -> None:
    ino = m.vfs.create("/f", pages_data(64))
    f = m.vfs.open("/f", O_RDONLY)
    ksys_fadvise64_64(m, f, 0, 0, POSIX_FADV_DONTNEED)
    vma = file_vma(m, f, 64)
    pfn, ret = filemap_fault(m, vma, 20, 0)       # no retry allowed: the page comes back
    assert ret == VM_FAULT_MAJOR and pfn == ino.i_mapping.i_pages[20]
    assert cached(m, "/f") == list(range(4, 36))
    pages = ino.i_mapping.i_pages
    assert [i for i in pages if m.mem_map.flags[pages[i]] & _RA] == [28]
    m.put_page(pfn)


def test_shared_mkwrite_dirties(m: Machine) -> None:
    ino = m.vfs.create("/f", pages_data(2))
    f = m.vfs.open("/f", O_RDWR)
    c = Counters(m)
    vma = file_vma(m, f, 2, VM_READ | VM_WRITE | VM_SHARED | VM_MAYSHARE)
    pfn = ino.i_mapping.i_pages[1]
    assert vma.vm_ops.page_mkwrite(m, vma, pfn) == 0
    assert c[N.NR_FILE_DIRTY] == 1
    ksys_fsync(m, f)
    assert c[N.NR_FILE_DIRTY] == 0 and c[N.NR_WRITTEN] == 1


# ---- truncate ------------------------------------------------------------------------------------

def test_truncate_drops_pages_and_zeroes_tail(m: Machine) -> None:
    ino = m.vfs.create("/f", pages_data(3))
    f = m.vfs.open("/f", O_RDWR)
    c = Counters(m)
    assert ksys_ftruncate(m, f, PAGE + 100) == 0
    assert ino.i_size == PAGE + 100 and cached(m, "/f") == [0, 1]
    assert c[N.NR_FILE_PAGES] == -1
    # ext4_block_truncate_page(): the partial block is zeroed and dirty
    assert c[N.NR_FILE_DIRTY] == 1
    assert m.page_data[ino.i_mapping.i_pages[1]][100:] == bytes(PAGE - 100)
    assert ksys_ftruncate(m, f, 3 * PAGE) == 0
    assert ksys_pread64(m, f, 3 * PAGE, 0) == b"a" * PAGE + b"b" * 100 + bytes(2 * PAGE - 100)
    ksys_fsync(m, f)
    ksys_fadvise64_64(m, f, 0, 0, POSIX_FADV_DONTNEED)
    assert ksys_pread64(m, f, 3 * PAGE, 0) == b"a" * PAGE + b"b" * 100 + bytes(2 * PAGE - 100)
    ro = m.vfs.open("/f", O_RDONLY)
    assert ksys_ftruncate(m, ro, 0) == -EINVAL
    assert ksys_ftruncate(m, f, -1) == -EINVAL


def test_truncate_calls_unmap_hook(m: Machine) -> None:
    ino = m.vfs.create("/f", pages_data(4))
    f = m.vfs.open("/f", O_RDWR)
    calls: list[tuple[int, int, bool]] = []
    file_vma(m, f, 4)
    ino.i_mapping.i_mmap.append(object())
    m.unmap_mapping_range = lambda mapping, start, nr, even: calls.append((start, nr, even))  # type: ignore[attr-defined]
    ksys_ftruncate(m, f, PAGE + 1)
    assert calls == [(2, 0, True), (2, 0, True)]


# ---- shmem and memfd ---------------------------------------------------------------------------

def test_memfd(m: Machine) -> None:
    c = Counters(m)
    shmem_kb = meminfo_kb(m, "Shmem")
    f = memfd_create(m, "m1", 0)
    assert not isinstance(f, int)
    assert f.d_path() == "/memfd:m1 (deleted)" and f.f_inode.dev_text == "00:01"
    assert ksys_write(m, f, b"m" * PAGE + b"n" * PAGE) == 2 * PAGE
    assert c[N.NR_SHMEM] == 2 and c[N.NR_FILE_PAGES] == 2
    assert c[N.NR_FILE_DIRTY] == 0                    # shmem: noop_dirty_folio
    pages = f.f_inode.i_mapping.i_pages
    assert all(m.mem_map.flags[p] & _DIRTY for p in pages.values())
    assert meminfo_kb(m, "Shmem") == shmem_kb + 8
    # fadvise and fsync do nothing on shmem
    assert ksys_fadvise64_64(m, f, 0, 0, POSIX_FADV_DONTNEED) == 0
    assert ksys_fsync(m, f) == 0 and c[N.NR_SHMEM] == 2
    assert ksys_ftruncate(m, f, PAGE) == 0 and c[N.NR_SHMEM] == 1
    assert ksys_ftruncate(m, f, 3 * PAGE) == 0
    assert ksys_pread64(m, f, 3 * PAGE, 0) == b"m" * PAGE + bytes(2 * PAGE)
    assert c[N.NR_SHMEM] == 1                         # reading holes allocates nothing
    from memsim.fs.file import fput
    fput(m, f)
    assert c[N.NR_SHMEM] == 0 and c[N.NR_FILE_PAGES] == 0
    assert memfd_create(m, "x", 0x100) == -EINVAL


def test_shmem_zero_fault(m: Machine) -> None:
    c = Counters(m)
    vma = VmAreaStruct(0x20000000, 0x20000000 + 4 * PAGE, MmStruct(),
                       VM_READ | VM_WRITE | VM_SHARED | VM_MAYSHARE, 0)
    shmem_zero_setup(m, vma)
    assert vma.vm_file.d_path() == "/dev/zero (deleted)"
    assert vma.vm_ops.is_shmem() and vma.vm_ops.page_mkwrite is None
    pfn, ret = shmem_fault(m, vma, 2, 0)
    assert ret == 0 and pfn not in m.page_data
    assert c[N.NR_SHMEM] == 1 and c[N.NR_FILE_PAGES] == 1
    assert m.mem_map.flags[pfn] & (1 << PageFlags.PG_swapbacked)
    from memsim.mm.swap import lru_add_drain
    lru_add_drain(m)                                  # the lru_add batch's reference
    assert m.mem_map.refcount[pfn] == 2               # the cache + the caller
    assert shmem_fault(m, vma, 4, 0) == (-1, VM_FAULT_SIGBUS)
    assert [i for i, _ in filemap_map_pages(m, vma, 0, 3)] == [2]
    m.put_page(pfn)


# ---- fds and errors -----------------------------------------------------------------------------

def test_fd_table_and_errors(m: Machine) -> None:
    m.vfs.create("/f", pages_data(1))
    t = FdTable()
    f = m.vfs.open("/f", O_WRONLY)
    assert not isinstance(f, int)
    assert t.install(f) == 0
    assert t.install(m.vfs.open("/f", O_RDONLY)) == 1     # type: ignore[arg-type]
    assert t.close(m, 0) == 0 and t.close(m, 0) == -EBADF
    assert t.install(m.vfs.open("/f", O_RDONLY)) == 0     # type: ignore[arg-type]
    assert ksys_read(m, f, 1) == -EBADF                    # O_WRONLY
    assert ksys_read(m, None, 1) == -EBADF
    assert ksys_pread64(m, t.get(0), 1, -1) == -EINVAL
    assert ksys_lseek(m, t.get(0), 0, 7) == -EINVAL
    assert ksys_lseek(m, t.get(0), 0, 2) == PAGE
    assert ksys_fadvise64_64(m, t.get(0), 0, 0, 9) == -EINVAL
    assert ksys_fadvise64_64(m, t.get(0), 0, -1, POSIX_FADV_DONTNEED) == -EINVAL
    assert ksys_fadvise64_64(m, None, 0, 0, POSIX_FADV_DONTNEED) == -EBADF
    assert m.vfs.open("/nope", O_RDONLY) == -2
    f.f_mode &= ~(1 << 3)
    assert ksys_pread64(m, f, 1, 0) == -ESPIPE


def test_unlink_evicts_after_last_close(m: Machine) -> None:
    c = Counters(m)
    m.vfs.create("/f", pages_data(2))
    f = m.vfs.open("/f", O_RDONLY)
    assert not isinstance(f, int)
    assert m.vfs.unlink("/f") == 0 and f.d_path() == "/f (deleted)"
    assert c[N.NR_FILE_PAGES] == 2
    from memsim.fs.file import fput
    fput(m, f)
    assert c[N.NR_FILE_PAGES] == 0
