"""mremap(2): oracle scenario replays plus exact VMA/pgoff/RSS/accounting checks."""

from __future__ import annotations

import pytest

from conftest import assert_conforms
from memsim.include.mm import VM_ACCOUNT, VM_LOCKED
from memsim.include.mm_types import MM_ANONPAGES
from memsim.include.mman import (
    EFAULT,
    EINVAL,
    ENOMEM,
    EPERM,
    MAP_ANONYMOUS,
    MAP_FIXED,
    MAP_PRIVATE,
    MREMAP_DONTUNMAP,
    MREMAP_FIXED,
    MREMAP_MAYMOVE,
    PROT_NONE,
    PROT_READ,
    PROT_WRITE,
)
from memsim.kernel.task import TaskStruct
from memsim.machine import Machine
from memsim.mm.vma import vma_lookup

PAGE = 4096
RW = PROT_READ | PROT_WRITE
ANON = MAP_PRIVATE | MAP_ANONYMOUS

SCENARIOS = ["mremap_grow_in_place", "mremap_grow_move_fixed", "mremap_shrink",
             "mremap_dontunmap", "mremap_expand_merge", "mremap_move_multiple_vmas",
             "mremap_move_split_source", "mremap_unfaulted_to_faulted",
             "mremap_faulted_back_in_place", "mremap_errors",
             "mlock_mremap_and_dontneed_locked"]


@pytest.mark.parametrize("name", SCENARIOS)
def test_oracle_scenario(name: str) -> None:
    assert_conforms(name)


@pytest.fixture
def m() -> Machine:
    return Machine.boot(arch="x86_64", mem="1G", cpus=2)


def window(m: Machine, npages: int = 64) -> tuple[TaskStruct, int]:
    p = m.spawn("t")
    r = p.mmap(0, npages * PAGE + (4 << 20), PROT_NONE, ANON)
    return p, (r + (2 << 20)) & ~((2 << 20) - 1)


def test_move_keeps_pgoff_pages_and_rss(m: Machine) -> None:
    p, w = window(m)
    p.mmap(w, 4 * PAGE, RW, ANON | MAP_FIXED)
    p.write(w, b"a" * PAGE + b"b" * PAGE + b"c" * PAGE + b"d" * PAGE)
    pfns = [p.mm.pgd.pte_get(w + i * PAGE) >> 12 & ((1 << 40) - 1) for i in range(4)]
    flt, rss = p.min_flt, p.mm.rss_stat[MM_ANONPAGES]
    assert p.mremap(w, 4 * PAGE, 8 * PAGE, MREMAP_MAYMOVE | MREMAP_FIXED, w + 16 * PAGE) \
        == w + 16 * PAGE
    v = vma_lookup(p.mm, w + 16 * PAGE)
    assert v is not None and (v.vm_start, v.vm_end) == (w + 16 * PAGE, w + 24 * PAGE)
    assert v.vm_pgoff == w >> 12            # anon pgoff keeps the old value
    assert v.vm_flags & VM_ACCOUNT
    assert vma_lookup(p.mm, w) is None      # the old range is a hole
    assert p.mm.rss_stat[MM_ANONPAGES] == rss
    # the same physical pages moved (not copied), with their index
    moved = [p.mm.pgd.pte_get(w + (16 + i) * PAGE) >> 12 & ((1 << 40) - 1) for i in range(4)]
    assert moved == pfns
    assert [m.mem_map.index[pfn] for pfn in moved] == [(w >> 12) + i for i in range(4)]
    assert p.read(w + 16 * PAGE, 1) + p.read(w + 19 * PAGE, 1) == b"ad"
    assert p.read(w + 20 * PAGE, 4) == b"\0" * 4
    assert p.min_flt == flt + 1             # only the read of the new, empty page faulted


def test_shrink_grow_in_place_and_accounting(m: Machine) -> None:
    p, w = window(m)
    p.munmap(w + 8 * PAGE, 16 * PAGE)
    p.mmap(w, 8 * PAGE, RW, ANON | MAP_FIXED)
    rss = p.mm.rss_stat[MM_ANONPAGES]
    p.touch(w, 8 * PAGE, write=True, val=0x73)
    total = p.mm.total_vm
    assert p.mremap(w, 8 * PAGE, 4 * PAGE) == w
    assert p.mm.total_vm == total - 4 and p.mm.rss_stat[MM_ANONPAGES] == rss + 4
    assert p.mremap(w, 4 * PAGE, 12 * PAGE) == w     # grows into the hole
    v = vma_lookup(p.mm, w)
    assert v is not None and v.vm_end == w + 12 * PAGE and p.mm.total_vm == total + 4
    assert p.syscall("mremap", w, 12 * PAGE, 30 * PAGE, 0, 0) == -ENOMEM   # reservation next
    assert p.syscall("mremap", w, 12 * PAGE, 0, 0, 0) == -EINVAL


def test_errors(m: Machine) -> None:
    p, w = window(m)
    p.mmap(w, 4 * PAGE, RW, ANON | MAP_FIXED)
    assert p.syscall("mremap", w + 1, PAGE, PAGE, 0, 0) == -EINVAL
    assert p.syscall("mremap", w, PAGE, PAGE, 8, 0) == -EINVAL          # unknown flag
    assert p.syscall("mremap", w, PAGE, PAGE, MREMAP_FIXED, w + 8 * PAGE) == -EINVAL
    assert p.syscall("mremap", w, 4 * PAGE, 4 * PAGE, MREMAP_MAYMOVE | MREMAP_FIXED,
                     w + 2 * PAGE) == -EINVAL                          # overlap
    assert p.syscall("mremap", w, 2 * PAGE, 4 * PAGE, MREMAP_MAYMOVE | MREMAP_DONTUNMAP,
                     0) == -EINVAL                                     # resize + DONTUNMAP
    p.munmap(w + 8 * PAGE, 8 * PAGE)
    assert p.syscall("mremap", w + 8 * PAGE, PAGE, PAGE, MREMAP_MAYMOVE | MREMAP_FIXED,
                     w + 20 * PAGE) == -EFAULT
    assert p.syscall("mremap", w, 8 * PAGE, 10 * PAGE, MREMAP_MAYMOVE, 0) == -EFAULT
    p.mseal(w, PAGE)
    assert p.syscall("mremap", w, PAGE, 2 * PAGE, MREMAP_MAYMOVE, 0) == -EPERM


def test_dontunmap_locked_clears_lock_on_old(m: Machine) -> None:
    p, w = window(m)
    p.mmap(w, 4 * PAGE, RW, ANON | MAP_FIXED)
    rss = p.mm.rss_stat[MM_ANONPAGES]
    p.mlock(w, 4 * PAGE)
    locked = p.mm.locked_vm
    assert p.mremap(w, 2 * PAGE, 2 * PAGE, MREMAP_MAYMOVE | MREMAP_DONTUNMAP | MREMAP_FIXED,
                    w + 16 * PAGE) == w + 16 * PAGE
    old = vma_lookup(p.mm, w)
    new = vma_lookup(p.mm, w + 16 * PAGE)
    assert old is not None and new is not None
    assert (old.vm_start, old.vm_end) == (w, w + 2 * PAGE)   # split ahead of the move
    assert not old.vm_flags & VM_LOCKED and new.vm_flags & VM_LOCKED
    assert old.anon_vma is None and old.vm_pgoff == w >> 12
    assert p.mm.locked_vm == locked
    assert p.mm.rss_stat[MM_ANONPAGES] == rss + 4
    assert p.read(w, 1) == b"\0"


def test_locked_grow_populates(m: Machine) -> None:
    p, w = window(m)
    p.munmap(w + 4 * PAGE, 8 * PAGE)
    p.mmap(w, 4 * PAGE, RW, ANON | MAP_FIXED)
    rss = p.mm.rss_stat[MM_ANONPAGES]
    p.mlock(w, 4 * PAGE)
    flt = p.min_flt
    assert p.mremap(w, 4 * PAGE, 6 * PAGE) == w
    assert p.min_flt == flt + 2 and p.mm.rss_stat[MM_ANONPAGES] == rss + 6
    assert p.mm.locked_vm == 6


def test_exit_after_moves_frees_everything(m: Machine) -> None:
    p, w = window(m)
    p.mmap(w, 8 * PAGE, RW, ANON | MAP_FIXED)
    p.touch(w, 8 * PAGE, write=True, val=1)
    pfns = [p.mm.pgd.pte_get(w + i * PAGE) >> 12 & ((1 << 40) - 1) for i in range(8)]
    p.mremap(w + 2 * PAGE, 2 * PAGE, 2 * PAGE, MREMAP_MAYMOVE | MREMAP_FIXED, w + 30 * PAGE)
    p.mremap(w + 30 * PAGE, 2 * PAGE, 4 * PAGE, MREMAP_MAYMOVE, 0)
    assert p.mm.map_count == sum(1 for _ in p.mm.vmas)
    p.exit()
    assert all(m.mem_map.refcount[pfn] == 0 for pfn in pfns)
