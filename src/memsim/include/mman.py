"""
User-visible memory-mapping constants (include/uapi/asm-generic/mman-common.h, mman.h,
include/uapi/linux/mman.h, arch/x86/include/uapi/asm/mman.h), x86-64/asm-generic values,
and the errno numbers the syscalls return (include/uapi/asm-generic/errno-base.h).

Everything here is importable from ``memsim`` (``from memsim import PROT_READ, MAP_PRIVATE``).
The syscalls themselves live in mm/mmap.py, mm/mprotect.py, mm/mremap.py, mm/madvise.py,
mm/mlock.py and mm/mseal.py; the process API that raises OSError is kernel/task.py.
"""

from __future__ import annotations

import errno as _errno

PROT_NONE = 0x0
PROT_READ = 0x1
PROT_WRITE = 0x2
PROT_EXEC = 0x4
PROT_SEM = 0x8
PROT_GROWSDOWN = 0x01000000
PROT_GROWSUP = 0x02000000

MAP_SHARED = 0x01
MAP_PRIVATE = 0x02
MAP_SHARED_VALIDATE = 0x03
MAP_DROPPABLE = 0x08
MAP_TYPE = 0x0F
MAP_FIXED = 0x10
MAP_ANONYMOUS = 0x20
MAP_ANON = MAP_ANONYMOUS
MAP_32BIT = 0x40
MAP_ABOVE4G = 0x80
MAP_GROWSDOWN = 0x0100
MAP_DENYWRITE = 0x0800
MAP_EXECUTABLE = 0x1000
MAP_LOCKED = 0x2000
MAP_NORESERVE = 0x4000
MAP_POPULATE = 0x8000
MAP_NONBLOCK = 0x10000
MAP_STACK = 0x20000
MAP_HUGETLB = 0x40000
MAP_SYNC = 0x80000
MAP_FIXED_NOREPLACE = 0x100000
MAP_UNINITIALIZED = 0x4000000
MAP_HUGE_SHIFT = 26
MAP_HUGE_MASK = 0x3F

#: every flag the kernel knows for MAP_SHARED_VALIDATE (LEGACY_MAP_MASK | MAP_SYNC ...)
LEGACY_MAP_MASK = (MAP_SHARED | MAP_PRIVATE | MAP_FIXED | MAP_ANONYMOUS | MAP_DENYWRITE
                   | MAP_EXECUTABLE | MAP_UNINITIALIZED | MAP_GROWSDOWN | MAP_LOCKED
                   | MAP_NORESERVE | MAP_POPULATE | MAP_NONBLOCK | MAP_STACK | MAP_HUGETLB)

MADV_NORMAL = 0
MADV_RANDOM = 1
MADV_SEQUENTIAL = 2
MADV_WILLNEED = 3
MADV_DONTNEED = 4
MADV_FREE = 8
MADV_REMOVE = 9
MADV_DONTFORK = 10
MADV_DOFORK = 11
MADV_MERGEABLE = 12
MADV_UNMERGEABLE = 13
MADV_HUGEPAGE = 14
MADV_NOHUGEPAGE = 15
MADV_DONTDUMP = 16
MADV_DODUMP = 17
MADV_WIPEONFORK = 18
MADV_KEEPONFORK = 19
MADV_COLD = 20
MADV_PAGEOUT = 21
MADV_POPULATE_READ = 22
MADV_POPULATE_WRITE = 23
MADV_DONTNEED_LOCKED = 24
MADV_COLLAPSE = 25
MADV_GUARD_INSTALL = 102
MADV_GUARD_REMOVE = 103
MADV_HWPOISON = 100
MADV_SOFT_OFFLINE = 101

MREMAP_MAYMOVE = 1
MREMAP_FIXED = 2
MREMAP_DONTUNMAP = 4

MCL_CURRENT = 1
MCL_FUTURE = 2
MCL_ONFAULT = 4
MLOCK_ONFAULT = 0x01

MS_ASYNC = 1
MS_INVALIDATE = 2
MS_SYNC = 4

POSIX_FADV_NORMAL = 0
POSIX_FADV_RANDOM = 1
POSIX_FADV_SEQUENTIAL = 2
POSIX_FADV_WILLNEED = 3
POSIX_FADV_DONTNEED = 4
POSIX_FADV_NOREUSE = 5

PR_SET_VMA = 0x53564D41
PR_SET_VMA_ANON_NAME = 0

# errno values (asm-generic), re-exported under the kernel's names
EPERM = _errno.EPERM
ENOENT = _errno.ENOENT
EINTR = _errno.EINTR
EIO = _errno.EIO
EBADF = _errno.EBADF
EAGAIN = _errno.EAGAIN
ENOMEM = _errno.ENOMEM
EACCES = _errno.EACCES
EFAULT = _errno.EFAULT
EBUSY = _errno.EBUSY
EEXIST = _errno.EEXIST
ENODEV = _errno.ENODEV
EINVAL = _errno.EINVAL
ENFILE = _errno.ENFILE
EMFILE = _errno.EMFILE
EFBIG = _errno.EFBIG
ENOSPC = _errno.ENOSPC
ESPIPE = _errno.ESPIPE
EOVERFLOW = _errno.EOVERFLOW
EOPNOTSUPP = _errno.EOPNOTSUPP
ENOSYS = _errno.ENOSYS
ESRCH = _errno.ESRCH
ECHILD = _errno.ECHILD

#: errno number -> name ("ENOMEM"), as the oracle and strace print them
ERRNO_NAMES: dict[int, str] = dict(_errno.errorcode)

__all__ = [n for n in dir() if n.isupper() and not n.startswith("_")]
