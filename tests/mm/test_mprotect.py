"""mprotect(2): errno order, accounting, PTE rewriting, and oracle scenario replays."""

from __future__ import annotations

import pytest

from conftest import assert_conforms
from memsim.include.mm import VM_ACCOUNT, VM_READ, VM_SEALED, VM_WRITE
from memsim.include.mman import (
    MAP_ANONYMOUS,
    MAP_FIXED,
    MAP_NORESERVE,
    MAP_PRIVATE,
    PROT_EXEC,
    PROT_GROWSDOWN,
    PROT_GROWSUP,
    PROT_NONE,
    PROT_READ,
    PROT_WRITE,
)
from memsim.include.pgtable_types import _PAGE_PRESENT, _PAGE_PROTNONE, _PAGE_RW
from memsim.machine import Machine
from memsim.mm.memory import SignalDelivered
from memsim.mm.vma import vma_lookup

PAGE = 4096
RW = PROT_READ | PROT_WRITE
ANON = MAP_PRIVATE | MAP_ANONYMOUS

SCENARIOS = ["mprotect_split_middle_remerge", "mprotect_unfaulted_left",
             "mprotect_unfaulted_right", "mprotect_faulted_left_unfaulted_right",
             "nomerge_different_prot", "mprotect_none_keeps_pages",
             "fork_cow_mprotect_optimization"]


@pytest.mark.parametrize("name", SCENARIOS)
def test_oracle_scenario(name: str) -> None:
    assert_conforms(name)


@pytest.fixture
def m() -> Machine:
    return Machine.boot(arch="x86_64", mem="1G", cpus=2)


def window(m: Machine, npages: int = 64):  # type: ignore[no-untyped-def]
    p = m.spawn("t")
    r = p.mmap(0, npages * PAGE + (4 << 20), PROT_NONE, ANON)
    return p, (r + (2 << 20)) & ~((2 << 20) - 1)


def test_argument_errors(m: Machine) -> None:
    p, w = window(m)
    p.mmap(w, 4 * PAGE, RW, ANON | MAP_FIXED)
    assert p.syscall("mprotect", w + 1, PAGE, PROT_READ) == -22
    assert p.syscall("mprotect", w, 0, PROT_READ) == 0
    assert p.syscall("mprotect", w, PAGE, PROT_READ | PROT_GROWSDOWN | PROT_GROWSUP) == -22
    assert p.syscall("mprotect", w, PAGE, PROT_READ | 0x10) == -22
    # PROT_GROWSDOWN on a VMA without VM_GROWSDOWN, PROT_GROWSUP everywhere (no such arch)
    assert p.syscall("mprotect", w, PAGE, PROT_READ | PROT_GROWSDOWN) == -22
    assert p.syscall("mprotect", w, PAGE, PROT_READ | PROT_GROWSUP) == -22
    # wrap-around and an unmapped start
    assert p.syscall("mprotect", w, (1 << 64) - w, PROT_READ) == -12
    assert p.syscall("mprotect", 0x10000, PAGE, PROT_READ) == -12
    # [vvar] has no VM_MAYWRITE
    vvar = next(v for v in p.mm.vmas if v.special_name == "[vvar]")
    assert p.syscall("mprotect", vvar.vm_start, PAGE, RW) == -13


def test_hole_applies_first_part_then_enomem(m: Machine) -> None:
    p, w = window(m)
    p.mmap(w, 2 * PAGE, RW, ANON | MAP_FIXED)
    p.munmap(w + 2 * PAGE, PAGE)
    p.mmap(w + 3 * PAGE, 2 * PAGE, RW, ANON | MAP_FIXED)
    assert p.syscall("mprotect", w, 5 * PAGE, PROT_READ) == -12
    a, b = vma_lookup(p.mm, w), vma_lookup(p.mm, w + 3 * PAGE)
    assert a is not None and b is not None
    assert a.vm_flags & (VM_READ | VM_WRITE) == VM_READ
    assert b.vm_flags & VM_WRITE
    # the walk ending in a hole is ENOMEM too
    p.munmap(w + 5 * PAGE, PAGE)
    assert p.syscall("mprotect", w + 3 * PAGE, 3 * PAGE, PROT_READ) == -12


def test_commit_charge_and_vm_account(m: Machine) -> None:
    p, w = window(m)
    c0 = m.vm_committed_as
    p.mmap(w, 8 * PAGE, PROT_READ, ANON | MAP_FIXED)
    assert m.vm_committed_as == c0
    p.mprotect(w, 8 * PAGE, RW)
    v = vma_lookup(p.mm, w)
    assert v is not None and v.vm_flags & VM_ACCOUNT and m.vm_committed_as == c0 + 8
    # no anon_vma yet: dropping write refunds and drops VM_ACCOUNT
    p.mprotect(w, 8 * PAGE, PROT_READ)
    v = vma_lookup(p.mm, w)
    assert v is not None and not v.vm_flags & VM_ACCOUNT and m.vm_committed_as == c0
    # after a write fault the anon_vma exists: the charge stays with PROT_READ
    p.mprotect(w, 8 * PAGE, RW)
    p.touch(w, PAGE, write=True, val=1)
    p.mprotect(w, 8 * PAGE, PROT_READ)
    v = vma_lookup(p.mm, w)
    assert v is not None and v.vm_flags & VM_ACCOUNT and m.vm_committed_as == c0 + 8
    # NORESERVE mappings are never charged
    p.mmap(w + 16 * PAGE, 4 * PAGE, PROT_READ, ANON | MAP_FIXED | MAP_NORESERVE)
    p.mprotect(w + 16 * PAGE, 4 * PAGE, RW)
    assert m.vm_committed_as == c0 + 8


def test_vm_stat_account_moves(m: Machine) -> None:
    p, w = window(m)
    mm = p.mm
    data0, exec0 = mm.data_vm, mm.exec_vm
    p.mmap(w, 4 * PAGE, RW, ANON | MAP_FIXED)
    assert mm.data_vm == data0 + 4
    p.mprotect(w, 4 * PAGE, PROT_READ | PROT_EXEC)
    assert (mm.data_vm, mm.exec_vm) == (data0, exec0 + 4)
    p.mprotect(w + PAGE, PAGE, RW)
    assert (mm.data_vm, mm.exec_vm) == (data0 + 1, exec0 + 3)


def test_exclusive_anon_pages_become_writable_without_fault(m: Machine) -> None:
    p, w = window(m)
    p.mmap(w, 2 * PAGE, RW, ANON | MAP_FIXED)
    p.touch(w, PAGE, write=True, val=7)
    p.touch(w + PAGE, PAGE)                        # zero page
    p.mprotect(w, 2 * PAGE, PROT_READ)
    assert not p.mm.pgd.pte_get(w) & _PAGE_RW
    p.mprotect(w, 2 * PAGE, RW)
    assert p.mm.pgd.pte_get(w) & _PAGE_RW          # PageAnonExclusive
    assert not p.mm.pgd.pte_get(w + PAGE) & _PAGE_RW   # the zero page stays read-only
    flt = p.min_flt
    p.touch(w, PAGE, write=True, val=8)
    assert p.min_flt == flt


def test_prot_none_keeps_pages(m: Machine) -> None:
    p, w = window(m)
    p.mmap(w, 4 * PAGE, RW, ANON | MAP_FIXED)
    p.touch(w, 4 * PAGE, write=True, val=ord("k"))
    rss = p.mm.get_mm_rss()
    pte = p.mm.pgd.pte_get(w)
    p.mprotect(w, 4 * PAGE, PROT_NONE)
    new = p.mm.pgd.pte_get(w)
    assert new & _PAGE_PROTNONE and not new & _PAGE_PRESENT
    assert new >> 12 & 0xFFFFFFFFFF == pte >> 12 & 0xFFFFFFFFFF
    assert p.mm.get_mm_rss() == rss
    child = p.fork()
    with pytest.raises(SignalDelivered):
        child.read(w, 1)
    p.wait(child)
    p.mprotect(w, 4 * PAGE, PROT_READ)
    flt = p.min_flt
    assert p.read(w, 1) == b"k" and p.min_flt == flt


def test_sealed_vma_is_eperm(m: Machine) -> None:
    p, w = window(m)
    p.mmap(w, 4 * PAGE, RW, ANON | MAP_FIXED)
    p.mseal(w + PAGE, PAGE)
    v = vma_lookup(p.mm, w + PAGE)
    assert v is not None and v.vm_flags & VM_SEALED
    assert p.syscall("mprotect", w + PAGE, PAGE, PROT_READ) == -1
    # the unsealed part before it is changed first (6.12/6.18 check per VMA)
    assert p.syscall("mprotect", w, 2 * PAGE, PROT_READ) == -1
    a = vma_lookup(p.mm, w)
    assert a is not None and not a.vm_flags & VM_WRITE
