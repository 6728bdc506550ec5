"""mseal, prctl(PR_SET_VMA), mincore and msync; oracle scenario replays."""

from __future__ import annotations

import pytest

from conftest import assert_conforms
from memsim.include.mm import VM_LOCKED, VM_SEALED
from memsim.include.mman import (
    MADV_DONTNEED,
    MADV_GUARD_INSTALL,
    MADV_WILLNEED,
    MAP_ANONYMOUS,
    MAP_FIXED,
    MAP_PRIVATE,
    MAP_SHARED,
    MS_ASYNC,
    MS_INVALIDATE,
    MS_SYNC,
    POSIX_FADV_DONTNEED,
    POSIX_FADV_WILLNEED,
    PR_SET_VMA,
    PR_SET_VMA_ANON_NAME,
    PROT_NONE,
    PROT_READ,
    PROT_WRITE,
)
from memsim.include.pgtable_types import PTE_MARKER_GUARD, make_pte_marker
from memsim.machine import Machine
from memsim.mm.memory import set_pte_at
from memsim.mm.mseal import can_madvise_modify, can_modify_vma
from memsim.mm.vma import vma_lookup

PAGE = 4096
RW = PROT_READ | PROT_WRITE
ANON = MAP_PRIVATE | MAP_ANONYMOUS


@pytest.mark.parametrize("name", ["mseal_blocks_changes", "anon_vma_name_split_merge"])
def test_oracle_scenario(name: str) -> None:
    assert_conforms(name)


@pytest.fixture
def m() -> Machine:
    return Machine.boot(arch="x86_64", mem="1G", cpus=2)


def window(m: Machine, npages: int = 64):  # type: ignore[no-untyped-def]
    p = m.spawn("t")
    r = p.mmap(0, npages * PAGE + (4 << 20), PROT_NONE, ANON)
    return p, (r + (2 << 20)) & ~((2 << 20) - 1)


# ---- mseal ---------------------------------------------------------------------------------

def test_mseal_errors_and_split(m: Machine) -> None:
    p, w = window(m)
    p.mmap(w, 8 * PAGE, RW, ANON | MAP_FIXED)
    assert p.syscall("mseal", w, PAGE, 1) == -22
    assert p.syscall("mseal", w + 1, PAGE, 0) == -22
    assert p.syscall("mseal", w, 0, 0) == 0
    assert p.syscall("mseal", w, (1 << 64) - w, 0) == -22
    p.munmap(w + 4 * PAGE, PAGE)
    maps = len(p.mm.vmas)
    # a gap anywhere: ENOMEM and nothing sealed
    assert p.syscall("mseal", w, 6 * PAGE, 0) == -12
    assert len(p.mm.vmas) == maps and not any(v.vm_flags & VM_SEALED for v in p.mm.vmas)
    assert p.mseal(w + PAGE, 2 * PAGE) == 0
    v = vma_lookup(p.mm, w + PAGE)
    assert v is not None and (v.vm_start, v.vm_end) == (w + PAGE, w + 3 * PAGE)
    assert v.vm_flags & VM_SEALED and not can_modify_vma(v)
    assert len(p.mm.vmas) == maps + 2
    # sealing again is a no-op, and a sealed VMA still merges with a sealed neighbour
    assert p.mseal(w + PAGE, 2 * PAGE) == 0 and len(p.mm.vmas) == maps + 2
    assert p.mseal(w + 3 * PAGE, PAGE) == 0
    v = vma_lookup(p.mm, w + PAGE)
    assert v is not None and v.vm_end == w + 4 * PAGE
    assert p.syscall("munmap", w + PAGE, PAGE) == -1


def test_mseal_32bit_is_eperm() -> None:
    m = Machine.boot(arch="i386", mem="512M", cpus=1)
    p = m.spawn("t")
    a = p.mmap(0, PAGE, RW, ANON)
    assert p.syscall("mseal", a, PAGE, 0) == -1


def test_can_madvise_modify(m: Machine) -> None:
    p, w = window(m)
    p.mmap(w, 2 * PAGE, RW, ANON | MAP_FIXED)
    p.mprotect(w + PAGE, PAGE, PROT_READ)
    p.mseal(w, 2 * PAGE)
    rw, ro = vma_lookup(p.mm, w), vma_lookup(p.mm, w + PAGE)
    assert rw is not None and ro is not None
    assert can_madvise_modify(rw, MADV_DONTNEED)
    assert not can_madvise_modify(ro, MADV_DONTNEED)
    assert not can_madvise_modify(ro, MADV_GUARD_INSTALL)
    assert can_madvise_modify(ro, MADV_WILLNEED)


# ---- prctl -----------------------------------------------------------------------------------

def test_prctl_anon_name_is_einval(m: Machine) -> None:
    p, w = window(m)
    p.mmap(w, 8 * PAGE, RW, ANON | MAP_FIXED)
    before = [(v.vm_start, v.vm_end) for v in p.mm.vmas]
    assert p.syscall("prctl", PR_SET_VMA, PR_SET_VMA_ANON_NAME, w, 2 * PAGE, 0) == -22
    assert p.syscall("prctl", 15, 0, 0, 0, 0) == -22
    assert [(v.vm_start, v.vm_end) for v in p.mm.vmas] == before


# ---- mincore ---------------------------------------------------------------------------------

def test_mincore_anon(m: Machine) -> None:
    p, w = window(m)
    p.mmap(w, 6 * PAGE, RW, ANON | MAP_FIXED)
    assert p.syscall("mincore", w + 1, PAGE) == -22
    p.touch(w, PAGE)                                   # zero page
    p.touch(w + PAGE, PAGE, write=True, val=1)
    p.touch(w + 2 * PAGE, PAGE, write=True, val=1)
    p.mprotect(w + 2 * PAGE, PAGE, PROT_NONE)          # protnone PTE: still resident
    set_pte_at(p.mm, w + 3 * PAGE, make_pte_marker(PTE_MARKER_GUARD))
    assert p.mincore(w, 6 * PAGE) == bytes([1, 1, 1, 0, 0, 0])
    # a partial last page counts; the PROT_NONE reservation after the range is mapped
    assert p.mincore(w + 5 * PAGE, PAGE + 1) == bytes([0, 0])
    p.munmap(w + 6 * PAGE, PAGE)
    assert p.syscall("mincore", w, 7 * PAGE) == -12
    assert p.syscall("mincore", w + 6 * PAGE, PAGE) == -12
    # special mappings are reported resident
    vdso = next(v for v in p.mm.vmas if v.special_name == "[vvar]")
    assert p.mincore(vdso.vm_start, 2 * PAGE) == b"\x01\x01"


def test_mincore_file_page_cache(m: Machine) -> None:
    from memsim.fs.file import O_RDONLY
    from memsim.mm.fadvise import ksys_fadvise64_64
    p, w = window(m)
    file0 = p.mm.get_mm_counter(0)
    m.vfs.create("/f1", b"".join(bytes([97 + i]) * PAGE for i in range(8)))
    f = m.vfs.open("/f1", O_RDONLY)
    ksys_fadvise64_64(m, f, 0, 0, POSIX_FADV_DONTNEED)
    fd = p.files.install(f)
    p.mmap(w, 8 * PAGE, PROT_READ, MAP_PRIVATE | MAP_FIXED, fd, 0)
    assert p.mincore(w, 8 * PAGE) == bytes(8)
    ksys_fadvise64_64(m, f, 0, 4 * PAGE, POSIX_FADV_WILLNEED)
    # resident in the page cache although nothing is mapped
    assert p.mincore(w, 8 * PAGE) == bytes([1] * 4 + [0] * 4)
    assert p.mm.get_mm_counter(0) == file0


# ---- msync -----------------------------------------------------------------------------------

def test_msync(m: Machine) -> None:
    p, w = window(m)
    p.mmap(w, 4 * PAGE, RW, ANON | MAP_FIXED)
    assert p.syscall("msync", w, PAGE, 8) == -22
    assert p.syscall("msync", w + 1, PAGE, MS_SYNC) == -22
    assert p.syscall("msync", w, PAGE, MS_SYNC | MS_ASYNC) == -22
    assert p.syscall("msync", w, 0, MS_SYNC) == 0
    assert p.msync(w, 4 * PAGE, MS_SYNC) == 0
    p.munmap(w + PAGE, PAGE)
    # holes: MS_ASYNC stops at once, the others continue and report ENOMEM at the end
    assert p.syscall("msync", w, 4 * PAGE, MS_ASYNC) == -12
    assert p.syscall("msync", w, 4 * PAGE, MS_SYNC) == -12
    assert p.syscall("msync", w + PAGE, PAGE, MS_SYNC) == -12
    p.mlock(w, PAGE)
    v = vma_lookup(p.mm, w)
    assert v is not None and v.vm_flags & VM_LOCKED
    assert p.syscall("msync", w, PAGE, MS_INVALIDATE) == -16
    assert p.syscall("msync", w, PAGE, MS_SYNC) == 0


def test_msync_writes_back_shared_file(m: Machine) -> None:
    from memsim.fs.file import O_RDWR
    from memsim.include.page_flags import PageFlags
    p, w = window(m)
    ino = m.vfs.create("/f2", bytes(4 * PAGE))
    f = m.vfs.open("/f2", O_RDWR)
    fd = p.files.install(f)
    p.mmap(w, 4 * PAGE, RW, MAP_SHARED | MAP_FIXED, fd, 0)
    p.touch(w + PAGE, PAGE, write=True, val=5)
    pfn = ino.i_mapping.i_pages[1]
    assert m.mem_map.flags[pfn] & (1 << PageFlags.PG_dirty)
    assert p.msync(w, 4 * PAGE, MS_ASYNC) == 0
    assert m.mem_map.flags[pfn] & (1 << PageFlags.PG_dirty)
    assert p.msync(w, 4 * PAGE, MS_SYNC) == 0
    assert not m.mem_map.flags[pfn] & (1 << PageFlags.PG_dirty)
