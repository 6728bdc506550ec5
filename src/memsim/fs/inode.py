"""
struct inode, struct super_block and struct backing_dev_info (include/linux/fs.h,
include/linux/backing-dev-defs.h), reduced to what the page cache and /proc/PID/maps need.

Two superblocks exist (fs/vfs.py): an ext4-like disk filesystem on 08:01 whose inodes keep
their persistent contents in ``Inode.disk``, and the internal tmpfs mount (shm_mnt, 00:01)
that holds memfds and the ``/dev/zero`` objects of shared anonymous mappings (mm/shmem.py).
The page cache of an inode is its ``i_mapping`` (mm/filemap.py AddressSpace).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from memsim.mm.readahead import VM_READAHEAD_PAGES

if TYPE_CHECKING:
    from memsim.mm.filemap import AddressSpace

S_IFREG = 0o100000

#: inode kinds: a disk file, a memfd, the shmem object behind a MAP_SHARED|MAP_ANONYMOUS VMA
KIND_FILE = "file"
KIND_MEMFD = "memfd"
KIND_SHMEM_ZERO = "shmem_zero"

#: memfd seals (include/uapi/linux/fcntl.h)
F_SEAL_SEAL = 0x0001
F_SEAL_SHRINK = 0x0002
F_SEAL_GROW = 0x0004
F_SEAL_WRITE = 0x0008
F_SEAL_FUTURE_WRITE = 0x0010


@dataclass(slots=True, eq=False)
class BackingDevInfo:
    """struct backing_dev_info: readahead limits of the device below a filesystem."""

    name: str
    #: default readahead window (VM_READAHEAD_PAGES = 128 KiB; read_ahead_kb)
    ra_pages: int = VM_READAHEAD_PAGES
    #: largest useful I/O (max_sectors_kb): force_page_cache_ra() and big sync reads.
    #: SIM: BLK_DEF_MAX_SECTORS_CAP = 2560 sectors = 1280 KiB = 320 pages
    io_pages: int = 320
    #: noop_backing_dev_info (tmpfs/shmem): no writeback, fadvise is a no-op
    noop: bool = False


@dataclass(slots=True, eq=False)
class SuperBlock:
    """struct super_block: a mounted filesystem (its device number and backing device)."""

    s_type: str
    major: int
    minor: int
    bdi: BackingDevInfo
    next_ino: int = 12

    @property
    def s_dev_text(self) -> str:
        """MAJOR:MINOR as /proc/PID/maps prints it (%02x:%02x)."""
        return f"{self.major:02x}:{self.minor:02x}"


@dataclass(slots=True, eq=False)
class Inode:
    """struct inode of a regular file (disk file or shmem object)."""

    i_ino: int
    i_sb: SuperBlock
    kind: str
    #: the dentry name: an absolute path for disk files, "memfd:NAME" or "dev/zero" for shmem
    name: str
    i_mode: int = S_IFREG | 0o644
    i_size: int = 0
    i_nlink: int = 1
    #: open struct files plus VMAs (through their file) holding the inode
    i_count: int = 0
    #: memfd seals (F_SEAL_*)
    seals: int = 0
    #: the page cache (set by fs/vfs.py right after creation)
    i_mapping: AddressSpace = field(default=None)  # type: ignore[assignment]
    #: SIM: the "disk": persistent contents by page index (PAGE_SIZE bytes each) of a disk
    #: file. Writeback stores pages here and reads fill the page cache from here. Empty
    #: for shmem inodes, whose page cache is the only copy (swap is not modelled).
    disk: dict[int, bytes] = field(default_factory=dict)

    @property
    def is_shmem(self) -> bool:
        return self.kind != KIND_FILE

    @property
    def dev_text(self) -> str:
        return self.i_sb.s_dev_text

    def d_path(self) -> str:
        """d_path() of the file, as /proc/PID/maps shows it (" (deleted)" once unlinked)."""
        if self.kind == KIND_FILE:
            return self.name + (" (deleted)" if self.i_nlink == 0 else "")
        # shmem files live on the internal shm_mnt and were never linked: memfd_create()
        # names them "memfd:NAME", shmem_zero_setup() "dev/zero"; both print as deleted.
        return f"/{self.name} (deleted)"
