"""
vm_flags and their helpers (include/linux/mm.h, mm/vma.h, fs/proc/task_mmu.c mnemonics),
Linux 6.12 values as in ../shared/reference/virtual.md §2.2.

The VMA itself is ``VmAreaStruct`` in include/mm_types.py; the code that creates, merges
and splits VMAs is mm/vma.py and mm/mmap.py.
"""

from __future__ import annotations

from memsim.include.mman import (
    MAP_GROWSDOWN,
    MAP_LOCKED,
    MAP_STACK,
    MAP_SYNC,
    PROT_EXEC,
    PROT_READ,
    PROT_WRITE,
)

VM_NONE = 0x00000000
VM_READ = 0x00000001
VM_WRITE = 0x00000002
VM_EXEC = 0x00000004
VM_SHARED = 0x00000008
VM_MAYREAD = 0x00000010
VM_MAYWRITE = 0x00000020
VM_MAYEXEC = 0x00000040
VM_MAYSHARE = 0x00000080
VM_GROWSDOWN = 0x00000100
VM_UFFD_MISSING = 0x00000200
VM_PFNMAP = 0x00000400
#: 6.18 (the oracle): MADV_GUARD_INSTALL marks the VMA, smaps "gu" (bit 11)
VM_MAYBE_GUARD = 0x00000800
VM_UFFD_WP = 0x00001000
VM_LOCKED = 0x00002000
VM_IO = 0x00004000
VM_SEQ_READ = 0x00008000
VM_RAND_READ = 0x00010000
VM_DONTCOPY = 0x00020000
VM_DONTEXPAND = 0x00040000
VM_LOCKONFAULT = 0x00080000
VM_ACCOUNT = 0x00100000
VM_NORESERVE = 0x00200000
VM_HUGETLB = 0x00400000
VM_SYNC = 0x00800000
VM_ARCH_1 = 0x01000000
VM_WIPEONFORK = 0x02000000
VM_DONTDUMP = 0x04000000
VM_SOFTDIRTY = 0x08000000
VM_MIXEDMAP = 0x10000000
VM_HUGEPAGE = 0x20000000
VM_NOHUGEPAGE = 0x40000000
VM_MERGEABLE = 0x80000000
VM_SHADOW_STACK = 1 << 37
VM_UFFD_MINOR = 1 << 38
VM_DROPPABLE = 1 << 40
VM_SEALED = 1 << 63

VM_SPECIAL = VM_IO | VM_DONTEXPAND | VM_PFNMAP | VM_MIXEDMAP
VM_LOCKED_MASK = VM_LOCKED | VM_LOCKONFAULT
VM_DATA_DEFAULT_FLAGS = VM_READ | VM_WRITE | VM_MAYREAD | VM_MAYWRITE | VM_MAYEXEC
VM_STACK = VM_GROWSDOWN
VM_STACK_DEFAULT_FLAGS = VM_DATA_DEFAULT_FLAGS
VM_STACK_FLAGS = VM_STACK | VM_STACK_DEFAULT_FLAGS | VM_ACCOUNT
VM_STACK_INCOMPLETE_SETUP = VM_RAND_READ | VM_SEQ_READ
#: flags a VMA gets from the mm at creation (mm->def_flags), and what mlockall sets there
VM_INIT_DEF_MASK = VM_NOHUGEPAGE
#: mremap refuses to move VMAs with these (VM_DONTEXPAND | VM_PFNMAP)
VM_UFFD_FLAGS = VM_UFFD_MISSING | VM_UFFD_WP | VM_UFFD_MINOR

#: smaps VmFlags mnemonics in show_smap_vma_flags() order (6.18), for the config of the
#: oracle's kernel: no soft-dirty, x86 (VM_ARCH_1 is VM_PAT, shown "ar")
MNEMONICS: tuple[tuple[int, str], ...] = (
    (VM_READ, "rd"), (VM_WRITE, "wr"), (VM_EXEC, "ex"), (VM_SHARED, "sh"),
    (VM_MAYREAD, "mr"), (VM_MAYWRITE, "mw"), (VM_MAYEXEC, "me"), (VM_MAYSHARE, "ms"),
    (VM_GROWSDOWN, "gd"), (VM_PFNMAP, "pf"), (VM_MAYBE_GUARD, "gu"), (VM_LOCKED, "lo"),
    (VM_IO, "io"),
    (VM_SEQ_READ, "sr"), (VM_RAND_READ, "rr"), (VM_DONTCOPY, "dc"), (VM_DONTEXPAND, "de"),
    (VM_LOCKONFAULT, "lf"), (VM_ACCOUNT, "ac"), (VM_NORESERVE, "nr"), (VM_HUGETLB, "ht"),
    (VM_SYNC, "sf"), (VM_ARCH_1, "ar"), (VM_WIPEONFORK, "wf"), (VM_DONTDUMP, "dd"),
    (VM_SOFTDIRTY, "sd"), (VM_MIXEDMAP, "mm"), (VM_HUGEPAGE, "hg"), (VM_NOHUGEPAGE, "nh"),
    (VM_MERGEABLE, "mg"), (VM_UFFD_MISSING, "um"), (VM_UFFD_WP, "uw"),
    (VM_SHADOW_STACK, "ss"), (VM_UFFD_MINOR, "ui"), (VM_DROPPABLE, "dp"), (VM_SEALED, "sl"),
)


def vm_flags_mnemonics(flags: int, soft_dirty: bool = False) -> str:
    """The smaps ``VmFlags:`` words for *flags* (without the trailing space)."""
    return " ".join(name for bit, name in MNEMONICS
                    if flags & bit and (soft_dirty or bit != VM_SOFTDIRTY))


def calc_vm_prot_bits(prot: int) -> int:
    """PROT_* -> VM_READ/WRITE/EXEC (include/linux/mman.h)."""
    return ((VM_READ if prot & PROT_READ else 0) | (VM_WRITE if prot & PROT_WRITE else 0)
            | (VM_EXEC if prot & PROT_EXEC else 0))


def calc_vm_flag_bits(flags: int, thp: bool = True) -> int:
    """MAP_* -> VM_* (include/linux/mman.h, 6.12 with MAP_STACK -> VM_NOHUGEPAGE)."""
    vm = 0
    if flags & MAP_GROWSDOWN:
        vm |= VM_GROWSDOWN
    if flags & MAP_LOCKED:
        vm |= VM_LOCKED
    if flags & MAP_SYNC:
        vm |= VM_SYNC
    if flags & MAP_STACK and thp:
        vm |= VM_NOHUGEPAGE
    return vm


def is_exec_mapping(flags: int) -> bool:
    return flags & (VM_EXEC | VM_WRITE | VM_STACK) == VM_EXEC


def is_stack_mapping(flags: int) -> bool:
    return bool(flags & VM_STACK) or bool(flags & VM_SHADOW_STACK)


def is_data_mapping(flags: int) -> bool:
    return flags & (VM_WRITE | VM_SHARED | VM_STACK) == VM_WRITE
