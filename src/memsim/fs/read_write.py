"""
read/write/lseek/ftruncate/fsync on open files (fs/read_write.c, fs/open.c, fs/sync.c):
argument checks and errnos as the syscalls return them, then the page cache
(mm/filemap.py filemap_read / generic_perform_write) or shmem (mm/shmem.py).

Every function takes the File an fd resolved to, or None for a bad fd (-EBADF), and
returns what the syscall returns: a byte count / offset, ``bytes`` for reads, or -errno.
The task-level wrappers (raising OSError) belong to the process model.
"""

from __future__ import annotations

from errno import EBADF, EFBIG, EINVAL, ENXIO, EPERM, ESPIPE
from typing import TYPE_CHECKING

from memsim.fs.file import (
    FMODE_CAN_READ,
    FMODE_CAN_WRITE,
    FMODE_LSEEK,
    FMODE_PREAD,
    FMODE_PWRITE,
    FMODE_READ,
    FMODE_WRITE,
    O_APPEND,
    File,
)
from memsim.fs.inode import F_SEAL_FUTURE_WRITE, F_SEAL_GROW, F_SEAL_WRITE
from memsim.mm.filemap import LLONG_MAX, filemap_read, generic_perform_write, vfs_fsync_range

if TYPE_CHECKING:
    from memsim.machine import Machine

#: MAX_RW_COUNT: INT_MAX & PAGE_MASK
MAX_RW_COUNT = 0x7FFFF000
#: s_maxbytes of ext4 with 4 KiB blocks (huge_file) and of tmpfs (MAX_LFS_FILESIZE)
MAX_LFS_FILESIZE = LLONG_MAX
SEEK_SET, SEEK_CUR, SEEK_END, SEEK_DATA, SEEK_HOLE = 0, 1, 2, 3, 4


def vfs_read(m: Machine, file: File, count: int, pos: int) -> tuple[bytes, int] | int:
    """vfs_read(): (data, new position) or -errno."""
    if not file.f_mode & FMODE_READ:
        return -EBADF
    if not file.f_mode & FMODE_CAN_READ:
        return -EINVAL
    if pos < 0 or count < 0:
        return -EINVAL
    count = min(count, MAX_RW_COUNT)
    if count == 0:
        return b"", pos
    if file.f_inode.is_shmem:
        from memsim.mm.shmem import shmem_file_read
        return shmem_file_read(m, file, pos, count)
    return filemap_read(m, file, pos, count)


def vfs_write(m: Machine, file: File, data: bytes, pos: int) -> tuple[int, int] | int:
    """vfs_write() -> ->write_iter (ext4_buffered_write_iter / shmem_file_write_iter):
    (bytes written, new position) or -errno."""
    if not file.f_mode & FMODE_WRITE:
        return -EBADF
    if not file.f_mode & FMODE_CAN_WRITE:
        return -EINVAL
    if pos < 0:
        return -EINVAL
    data = data[:MAX_RW_COUNT]
    inode = file.f_inode
    if file.f_flags & O_APPEND:
        pos = inode.i_size                 # generic_write_checks(): IOCB_APPEND
    if not data:
        return 0, pos
    if pos >= MAX_LFS_FILESIZE:
        return -EFBIG
    if inode.is_shmem:
        if inode.seals & (F_SEAL_WRITE | F_SEAL_FUTURE_WRITE):
            return -EPERM
        if inode.seals & F_SEAL_GROW and pos + len(data) > inode.i_size:
            # shmem_write_begin(): only what fits below i_size may be written
            if pos >= inode.i_size:
                return -EPERM
            data = data[:inode.i_size - pos]
    n = generic_perform_write(m, file, pos, data)
    if n < 0:
        return n
    return n, pos + n


def ksys_read(m: Machine, file: File | None, count: int) -> bytes | int:
    """read(2) at f_pos."""
    if file is None:
        return -EBADF
    r = vfs_read(m, file, count, file.f_pos)
    if isinstance(r, int):
        return r
    data, file.f_pos = r
    return data


def ksys_write(m: Machine, file: File | None, data: bytes) -> int:
    """write(2) at f_pos (or EOF with O_APPEND)."""
    if file is None:
        return -EBADF
    r = vfs_write(m, file, data, file.f_pos)
    if isinstance(r, int):
        return r
    n, file.f_pos = r
    return n


def ksys_pread64(m: Machine, file: File | None, count: int, pos: int) -> bytes | int:
    """pread64(2): f_pos untouched; -ESPIPE without FMODE_PREAD."""
    if pos < 0:
        return -EINVAL
    if file is None:
        return -EBADF
    if not file.f_mode & FMODE_PREAD:
        return -ESPIPE
    r = vfs_read(m, file, count, pos)
    return r if isinstance(r, int) else r[0]


def ksys_pwrite64(m: Machine, file: File | None, data: bytes, pos: int) -> int:
    """pwrite64(2). # SIM: Linux's O_APPEND quirk (pwrite appends) is kept."""
    if pos < 0:
        return -EINVAL
    if file is None:
        return -EBADF
    if not file.f_mode & FMODE_PWRITE:
        return -ESPIPE
    r = vfs_write(m, file, data, pos)
    return r if isinstance(r, int) else r[0]


def ksys_lseek(m: Machine, file: File | None, offset: int, whence: int) -> int:
    """lseek(2) -> generic_file_llseek_size() with s_maxbytes. # SIM: SEEK_DATA/SEEK_HOLE
    see the whole file as data (no hole lookup)."""
    if file is None:
        return -EBADF
    if whence < SEEK_SET or whence > SEEK_HOLE:
        return -EINVAL
    if not file.f_mode & FMODE_LSEEK:
        return -ESPIPE
    eof = file.f_inode.i_size
    if whence == SEEK_END:
        offset += eof
    elif whence == SEEK_CUR:
        if offset == 0:
            return file.f_pos
        offset += file.f_pos
    elif whence == SEEK_DATA:
        if offset < 0 or offset >= eof:
            return -ENXIO
    elif whence == SEEK_HOLE:
        if offset < 0 or offset >= eof:
            return -ENXIO
        offset = eof
    if offset < 0 or offset > MAX_LFS_FILESIZE:
        return -EINVAL
    file.f_pos = offset         # vfs_setpos()
    return offset


def ksys_ftruncate(m: Machine, file: File | None, length: int) -> int:
    """ftruncate(2) -> do_ftruncate() -> do_truncate(): 0 or -errno."""
    if length < 0:
        return -EINVAL
    if file is None:
        return -EBADF
    if not file.f_mode & FMODE_WRITE:
        return -EINVAL
    if length > MAX_LFS_FILESIZE:
        return -EFBIG
    from memsim.fs.vfs import do_truncate
    return do_truncate(m, file.f_inode, length)


def ksys_fsync(m: Machine, file: File | None) -> int:
    """fsync(2)/fdatasync(2) -> vfs_fsync_range(0, LLONG_MAX)."""
    if file is None:
        return -EBADF
    return vfs_fsync_range(m, file)
