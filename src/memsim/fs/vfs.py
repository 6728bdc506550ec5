"""
The in-model filesystems (fs/namei.c, fs/open.c, fs/inode.c, fs/open.c vfs_fallocate,
fs/drop_caches.c), reduced to a flat namespace: one ext4-like disk filesystem mounted at
"/" on 08:01 (sda1) and the internal tmpfs mount shm_mnt (00:01) for memfds and the
objects of shared anonymous mappings (mm/shmem.py). ``m.vfs`` is the Vfs of a machine.

Contents: a disk file's persistent data is ``Inode.disk`` (fs/inode.py); its page cache
is ``inode.i_mapping`` (mm/filemap.py). Syscalls on open files are fs/read_write.py.

# SIM: no directories, permissions, timestamps, journal or block allocation; paths are
# plain keys (any string starting with "/"); the disk never fills up.
"""

from __future__ import annotations

from errno import EBADF, EEXIST, EINVAL, EISDIR, ENOENT, EOPNOTSUPP, EPERM
from typing import TYPE_CHECKING

from memsim.fs.file import O_ACCMODE, O_CREAT, O_EXCL, O_TRUNC, File, open_fmode
from memsim.fs.inode import (
    F_SEAL_FUTURE_WRITE,
    F_SEAL_WRITE,
    KIND_FILE,
    BackingDevInfo,
    Inode,
    SuperBlock,
)
from memsim.mm.filemap import (
    LLONG_MAX,
    PAGE_SHIFT,
    PAGE_SIZE,
    address_space_init,
    filemap_write_and_wait_range,
)
from memsim.mm.readahead import file_ra_state_init

if TYPE_CHECKING:
    from memsim.machine import Machine

FALLOC_FL_KEEP_SIZE = 0x01
FALLOC_FL_PUNCH_HOLE = 0x02


class Vfs:
    """The mounted filesystems of a machine and the name -> inode table of the disk one."""

    def __init__(self, m: Machine) -> None:
        self.m = m
        #: "/" : ext4 on /dev/sda1 (8:1); its queue's read_ahead_kb is 128
        self.root_sb = SuperBlock("ext4", 8, 1, BackingDevInfo("8:0"))
        #: shm_mnt: tmpfs on an anonymous device (0:1), noop_backing_dev_info
        self.shm_sb = SuperBlock("tmpfs", 0, 1, BackingDevInfo("noop", noop=True), next_ino=1)
        self.dentries: dict[str, Inode] = {}
        #: every live inode (for drop_caches and checks)
        self.inodes: list[Inode] = []

    # ---- inodes

    def new_inode(self, sb: SuperBlock, kind: str, name: str, shmem: bool) -> Inode:
        """new_inode() + the filesystem's init: a registered address_space, no pages."""
        inode = Inode(i_ino=sb.next_ino, i_sb=sb, kind=kind, name=name)
        sb.next_ino += 1
        inode.i_mapping = address_space_init(self.m, inode, shmem)
        self.inodes.append(inode)
        return inode

    def new_file(self, inode: Inode, flags: int) -> File:
        """alloc_file / do_dentry_open(): a File with one reference, readahead state
        initialised from the backing device."""
        file = File(f_inode=inode, f_mapping=inode.i_mapping, f_mode=open_fmode(flags),
                    f_flags=flags & ~(O_CREAT | O_EXCL | O_TRUNC))
        file_ra_state_init(file.f_ra, inode.i_mapping)
        inode.i_count += 1
        return file

    def lookup(self, path: str) -> Inode | None:
        return self.dentries.get(path)

    # ---- namespace operations

    def open(self, path: str, flags: int) -> File | int:
        """do_sys_open() (path walk, O_CREAT/O_EXCL/O_TRUNC): a File or -errno."""
        if not path.startswith("/"):
            return -ENOENT
        if path.endswith("/"):
            return -EISDIR
        inode = self.dentries.get(path)
        if inode is None:
            if not flags & O_CREAT:
                return -ENOENT
            inode = self.new_inode(self.root_sb, KIND_FILE, path, shmem=False)
            self.dentries[path] = inode
        elif flags & O_CREAT and flags & O_EXCL:
            return -EEXIST
        if flags & O_ACCMODE == O_ACCMODE:
            return -EINVAL
        file = self.new_file(inode, flags)
        if flags & O_TRUNC and file.writable() and inode.i_size:
            from memsim.mm.truncate import ext4_setattr_size
            ext4_setattr_size(self.m, inode, 0)
        return file

    def create(self, path: str, data: bytes = b"", sync: bool = True) -> Inode:
        """Convenience: create (or replace the contents of) *path* with *data*, written
        through the page cache and, with *sync*, fsync'ed (clean cached pages)."""
        from memsim.fs.file import O_RDWR, fput
        from memsim.fs.read_write import ksys_fsync, ksys_pwrite64
        file = self.open(path, O_RDWR | O_CREAT | O_TRUNC)
        assert isinstance(file, File)
        if data:
            ksys_pwrite64(self.m, file, data, 0)
        if sync:
            ksys_fsync(self.m, file)
        fput(self.m, file)
        return file.f_inode

    def unlink(self, path: str) -> int:
        """do_unlinkat(): drop the name; the inode goes with its last user."""
        inode = self.dentries.pop(path, None)
        if inode is None:
            return -ENOENT
        inode.i_nlink = 0
        if inode.i_count <= 0:
            evict(self.m, inode)
        return 0

    def drop_caches(self) -> int:
        """echo 1 > /proc/sys/vm/drop_caches: drop clean unmapped page cache (disk files
        and shmem alike; dirty shmem pages stay). Returns pages dropped."""
        from memsim.mm.truncate import drop_pagecache
        return drop_pagecache(self.m, list(self.inodes))


def evict(m: Machine, inode: Inode) -> None:
    """evict() -> truncate_inode_pages_final(): an unlinked inode's last user is gone."""
    from memsim.mm.truncate import truncate_inode_pages_final
    mapping = inode.i_mapping
    if mapping.i_mmap:
        return      # still mapped: the VMAs' files keep it (their fput comes later)
    truncate_inode_pages_final(m, mapping)
    inode.disk.clear()
    vfs: Vfs | None = getattr(m, "vfs", None)
    if vfs is not None and inode in vfs.inodes:
        vfs.inodes.remove(inode)
    m.mapping_registry.unregister(mapping.handle)


def do_truncate(m: Machine, inode: Inode, length: int) -> int:
    """do_truncate() -> notify_change() -> ext4_setattr / shmem_setattr (size only)."""
    if length < 0:
        return -EINVAL
    if inode.is_shmem:
        from memsim.mm.shmem import shmem_setattr_size
        return shmem_setattr_size(m, inode, length)
    from memsim.mm.truncate import ext4_setattr_size
    return ext4_setattr_size(m, inode, length)


def vfs_fallocate(m: Machine, file: File, mode: int, offset: int, length: int) -> int:
    """
    vfs_fallocate(), for FALLOC_FL_PUNCH_HOLE|FALLOC_FL_KEEP_SIZE (MADV_REMOVE) only:
    shmem_fallocate or ext4_punch_hole. Other modes: -EOPNOTSUPP (SIM).
    """
    if offset < 0 or length <= 0:
        return -EINVAL
    if not file.writable():
        return -EBADF
    if mode != FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE:
        return -EOPNOTSUPP
    inode = file.f_inode
    if inode.is_shmem:
        from memsim.mm.shmem import shmem_punch_hole
        return shmem_punch_hole(m, inode, offset, length)
    return ext4_punch_hole(m, inode, offset, length)


def ext4_punch_hole(m: Machine, inode: Inode, offset: int, length: int) -> int:
    """ext4_punch_hole(): write back, drop the range from the page cache
    (truncate_pagecache_range: whole pages unmapped, partial ones zeroed), free the
    blocks wholly inside and zero the partial ones on disk."""
    from memsim.mm.truncate import truncate_inode_pages_range, unmap_mapping_range
    if inode.seals & (F_SEAL_WRITE | F_SEAL_FUTURE_WRITE):
        return -EPERM
    if offset >= inode.i_size:
        return 0
    end = min(offset + length, inode.i_size)
    mapping = inode.i_mapping
    filemap_write_and_wait_range(m, mapping, offset, LLONG_MAX)
    unmap_start = (offset + PAGE_SIZE - 1) & ~(PAGE_SIZE - 1)
    unmap_end = (end & ~(PAGE_SIZE - 1)) - 1
    if unmap_end > unmap_start:
        unmap_mapping_range(m, mapping, unmap_start, 1 + unmap_end - unmap_start, False)
    truncate_inode_pages_range(m, mapping, offset, end - 1)
    for index in list(inode.disk):
        lo = max(offset, index << PAGE_SHIFT)
        hi = min(end, (index + 1) << PAGE_SHIFT)
        if lo >= hi:
            continue
        if hi - lo == PAGE_SIZE:
            del inode.disk[index]
        else:
            block = bytearray(inode.disk[index])
            base = index << PAGE_SHIFT
            block[lo - base:hi - base] = bytes(hi - lo)
            inode.disk[index] = bytes(block)
    return 0
