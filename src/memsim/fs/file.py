"""
struct file and the per-task file descriptor table (include/linux/fs.h, fs/file.c,
fs/file_table.c, fs/open.c).

A File is an open instance of an inode (fs/inode.py): access mode, position, readahead
state (mm/readahead.py FileRaState). ``File.mmap`` is ``f_op->mmap`` (generic_file_mmap
in mm/filemap.py, shmem_mmap in mm/shmem.py). The syscalls on files are fs/read_write.py.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from errno import EBADF, EMFILE
from typing import TYPE_CHECKING, Any

from memsim.mm.readahead import FileRaState

if TYPE_CHECKING:
    from memsim.fs.inode import Inode
    from memsim.machine import Machine
    from memsim.mm.filemap import AddressSpace

# f_flags (include/uapi/asm-generic/fcntl.h, x86)
O_ACCMODE = 0o3
O_RDONLY = 0o0
O_WRONLY = 0o1
O_RDWR = 0o2
O_CREAT = 0o100
O_EXCL = 0o200
O_NOCTTY = 0o400
O_TRUNC = 0o1000
O_APPEND = 0o2000
O_NONBLOCK = 0o4000
O_DIRECT = 0o40000
O_LARGEFILE = 0o100000
O_NOATIME = 0o1000000
O_CLOEXEC = 0o2000000

# f_mode (include/linux/fs.h, 6.12)
FMODE_READ = 1 << 0
FMODE_WRITE = 1 << 1
FMODE_LSEEK = 1 << 2
FMODE_PREAD = 1 << 3
FMODE_PWRITE = 1 << 4
FMODE_EXEC = 1 << 5
FMODE_RANDOM = 1 << 12
FMODE_ATOMIC_POS = 1 << 15
FMODE_CAN_READ = 1 << 17
FMODE_CAN_WRITE = 1 << 18
FMODE_NOREUSE = 1 << 23

#: RLIMIT_NOFILE soft default
NR_OPEN_DEFAULT = 1024


def open_fmode(flags: int) -> int:
    """OPEN_FMODE() plus what do_dentry_open() adds for a regular file."""
    mode = FMODE_LSEEK | FMODE_PREAD | FMODE_PWRITE | FMODE_ATOMIC_POS
    acc = flags & O_ACCMODE
    if acc in (O_RDONLY, O_RDWR):
        mode |= FMODE_READ | FMODE_CAN_READ
    if acc in (O_WRONLY, O_RDWR):
        mode |= FMODE_WRITE | FMODE_CAN_WRITE
    return mode


@dataclass(slots=True, eq=False)
class File:
    """struct file."""

    f_inode: Inode
    f_mapping: AddressSpace
    f_mode: int
    f_flags: int
    f_pos: int = 0
    f_ra: FileRaState = field(default_factory=FileRaState)
    #: f_count: file descriptors, VMAs and other holders (get_file/fput)
    f_count: int = 1

    # ---- what mm/mmap.py asks of a file

    def readable(self) -> bool:
        return bool(self.f_mode & FMODE_READ)

    def writable(self) -> bool:
        return bool(self.f_mode & FMODE_WRITE)

    @property
    def supports_map_sync(self) -> bool:
        """MAP_SYNC needs a DAX file (FOP_MMAP_SYNC): never here."""
        return False

    def mmap(self, m: Machine, vma: Any) -> int:
        """f_op->mmap: shmem_mmap() for shmem files, generic_file_mmap() (ext4) otherwise."""
        if self.f_inode.is_shmem:
            from memsim.mm.shmem import shmem_mmap
            return shmem_mmap(m, self, vma)
        from memsim.mm.filemap import generic_file_mmap
        return generic_file_mmap(m, self, vma)

    def d_path(self) -> str:
        return self.f_inode.d_path()

    def __repr__(self) -> str:
        return f"<file {self.f_inode.d_path()} mode={self.f_mode:#x} pos={self.f_pos}>"


def get_file(file: File) -> File:
    """get_file(): one more reference."""
    file.f_count += 1
    return file


def fput(m: Machine, file: File) -> None:
    """fput(): drop a reference; the last one releases the file (__fput -> iput)."""
    file.f_count -= 1
    if file.f_count > 0:
        return
    inode = file.f_inode
    inode.i_count -= 1
    if inode.i_count <= 0 and inode.i_nlink == 0:
        from memsim.fs.vfs import evict
        evict(m, inode)


class FdTable:
    """struct files_struct: fd -> File, lowest free number first (get_unused_fd_flags)."""

    __slots__ = ("fds", "cloexec", "max_fds")

    def __init__(self, max_fds: int = NR_OPEN_DEFAULT) -> None:
        self.fds: dict[int, File] = {}
        self.cloexec: set[int] = set()
        self.max_fds = max_fds

    def install(self, file: File, cloexec: bool = False) -> int:
        """get_unused_fd_flags() + fd_install(): the new fd, or -EMFILE. Takes over the
        caller's reference to *file*."""
        fd = 0
        while fd in self.fds:
            fd += 1
        if fd >= self.max_fds:
            return -EMFILE
        self.fds[fd] = file
        if cloexec:
            self.cloexec.add(fd)
        return fd

    def get(self, fd: int) -> File | None:
        """fdget(): the File, or None (the caller returns -EBADF)."""
        return self.fds.get(fd)

    def close(self, m: Machine, fd: int) -> int:
        """close_fd(): 0 or -EBADF; drops the table's reference."""
        file = self.fds.pop(fd, None)
        if file is None:
            return -EBADF
        self.cloexec.discard(fd)
        fput(m, file)
        return 0

    def dup_fd(self) -> FdTable:
        """dup_fd() at fork: the same Files, one more reference each."""
        new = FdTable(self.max_fds)
        for fd, file in self.fds.items():
            new.fds[fd] = get_file(file)
        new.cloexec = set(self.cloexec)
        return new

    def close_all(self, m: Machine) -> None:
        """put_files_struct() at exit."""
        for fd in sorted(self.fds):
            self.close(m, fd)
