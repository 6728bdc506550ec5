"""LRU lists, per-CPU folio batches and the accessed-bit life of a folio (mm/swap.py)."""

from __future__ import annotations

import os

import pytest

from memsim.include.mman import MAP_ANONYMOUS, MAP_PRIVATE, PROT_READ, PROT_WRITE
from memsim.include.mmzone import (
    LRU_ACTIVE_FILE,
    LRU_INACTIVE_ANON,
    LRU_INACTIVE_FILE,
    LRU_UNEVICTABLE,
)
from memsim.include.page_flags import PageFlags
from memsim.include.pgtable_types import _PAGE_ACCESSED
from memsim.include.vmstat_items import NodeStatItem as N
from memsim.include.vmstat_items import VmEventItem as E
from memsim.machine import Machine
from memsim.mm.filemap import filemap_read
from memsim.mm.mm_inline import lru_list_pfns
from memsim.mm.swap import (
    FOLIO_BATCH_SIZE,
    cpu_fbatches,
    folio_deactivate,
    folio_mark_accessed,
    lru_add_drain,
    lru_add_drain_all,
    lru_cache_pending,
)
from memsim.mm.vmscan import folio_referenced

PAGE = 4096
RW = PROT_READ | PROT_WRITE
ANON = MAP_PRIVATE | MAP_ANONYMOUS
PG_LRU = 1 << PageFlags.PG_lru
PG_ACTIVE = 1 << PageFlags.PG_active
PG_REFERENCED = 1 << PageFlags.PG_referenced
PG_UNEVICTABLE = 1 << PageFlags.PG_unevictable


@pytest.fixture()
def m() -> Machine:
    return Machine.boot(arch="x86_64", mem="256M", cpus=2)


def pfn_at(p: object, addr: int) -> int:
    return int(p.mm.pgd.pte_get(addr) >> 12) & ((1 << 40) - 1)  # type: ignore[attr-defined]


def test_new_anon_pages_wait_in_the_lru_add_batch(m: Machine) -> None:
    p = m.spawn("t")
    a = p.mmap(0, 40 * PAGE, RW, ANON)
    lru_add_drain(m)
    pg = m.nodes[0]
    inactive0 = pg.vm_stat[N.NR_INACTIVE_ANON]
    p.touch(a, 5 * PAGE, write=True, val=1)
    pfn = pfn_at(p, a)
    # queued with a reference, not yet on a list
    assert cpu_fbatches(m)["lru_add"][-5:] == [pfn_at(p, a + i * PAGE) for i in range(5)]
    assert m.mem_map.refcount[pfn] == 2 and not m.mem_map.flags[pfn] & PG_LRU
    assert pg.vm_stat[N.NR_INACTIVE_ANON] == inactive0
    lru_add_drain(m)
    assert m.mem_map.refcount[pfn] == 1 and m.mem_map.flags[pfn] & PG_LRU
    assert pg.vm_stat[N.NR_INACTIVE_ANON] == inactive0 + 5
    assert lru_list_pfns(m, pg.lruvec, LRU_INACTIVE_ANON)[0] == pfn_at(p, a + 4 * PAGE)
    m.validate()


def test_batch_of_31_moves_at_once(m: Machine) -> None:
    p = m.spawn("t")
    a = p.mmap(0, 40 * PAGE, RW, ANON)
    lru_add_drain_all(m)
    p.touch(a, (FOLIO_BATCH_SIZE - 1) * PAGE, write=True, val=1)
    assert lru_cache_pending(m) == FOLIO_BATCH_SIZE - 1
    p.touch(a + (FOLIO_BATCH_SIZE - 1) * PAGE, PAGE, write=True, val=1)
    assert lru_cache_pending(m) == 0            # the 31st folio filled the batch
    assert all(m.mem_map.flags[pfn_at(p, a + i * PAGE)] & PG_LRU for i in range(31))
    m.validate()


def test_mark_accessed_two_step_promotion_and_deactivate(m: Machine) -> None:
    ino = m.vfs.create("/f", b"x" * 4 * PAGE)
    del ino
    f = m.vfs.open("/f", os.O_RDONLY)
    filemap_read(m, f, 0, PAGE)                       # first access: referenced
    pfn = m.vfs.lookup("/f").i_mapping.i_pages[0]
    lru_add_drain(m)
    flags = m.mem_map.flags
    assert flags[pfn] & PG_REFERENCED and not flags[pfn] & PG_ACTIVE
    lruvec = m.nodes[0].lruvec
    assert pfn in lru_list_pfns(m, lruvec, LRU_INACTIVE_FILE)
    act0 = m.vm_event[E.PGACTIVATE]
    age0 = lruvec.nonresident_age
    folio_mark_accessed(m, pfn)                       # second: queued for activation
    assert not flags[pfn] & PG_REFERENCED and pfn in cpu_fbatches(m)["lru_activate"]
    assert lruvec.nonresident_age == age0 + 1         # workingset_activation()
    lru_add_drain(m)
    assert flags[pfn] & PG_ACTIVE and m.vm_event[E.PGACTIVATE] == act0 + 1
    assert pfn in lru_list_pfns(m, lruvec, LRU_ACTIVE_FILE)
    folio_mark_accessed(m, pfn)                       # active,unreferenced -> referenced
    assert flags[pfn] & PG_REFERENCED
    deact0 = m.vm_event[E.PGDEACTIVATE]
    folio_deactivate(m, pfn)
    lru_add_drain(m)
    assert not flags[pfn] & (PG_ACTIVE | PG_REFERENCED)
    assert m.vm_event[E.PGDEACTIVATE] == deact0 + 1
    assert lru_list_pfns(m, lruvec, LRU_INACTIVE_FILE)[0] == pfn
    m.validate()


def test_mark_accessed_while_in_the_add_batch_sets_active(m: Machine) -> None:
    m.vfs.create("/g", b"y" * PAGE)
    f = m.vfs.open("/g", os.O_RDONLY)
    filemap_read(m, f, 0, PAGE)
    pfn = m.vfs.lookup("/g").i_mapping.i_pages[0]
    assert pfn in cpu_fbatches(m)["lru_add"]
    folio_mark_accessed(m, pfn)                       # __lru_cache_activate_folio()
    assert m.mem_map.flags[pfn] & PG_ACTIVE
    lru_add_drain(m)
    assert pfn in lru_list_pfns(m, m.nodes[0].lruvec, LRU_ACTIVE_FILE)
    m.validate()


def test_mlocked_pages_are_unevictable_and_rescued(m: Machine) -> None:
    p = m.spawn("t")
    a = p.mmap(0, 4 * PAGE, RW, ANON)
    p.mlock(a, 4 * PAGE)
    pfn = pfn_at(p, a)
    pg = m.nodes[0]
    assert m.mem_map.flags[pfn] & (PG_UNEVICTABLE | PG_LRU) == PG_UNEVICTABLE | PG_LRU
    assert pfn in lru_list_pfns(m, pg.lruvec, LRU_UNEVICTABLE)
    assert "Unevictable:          16 kB" in m.proc("meminfo")
    assert "Mlocked:              16 kB" in m.proc("meminfo")
    rescued0 = m.vm_event[E.UNEVICTABLE_PGRESCUED]
    p.munlock(a, 4 * PAGE)
    assert m.vm_event[E.UNEVICTABLE_PGRESCUED] == rescued0 + 4
    assert pfn in lru_list_pfns(m, pg.lruvec, LRU_INACTIVE_ANON)
    assert pg.vm_stat[N.NR_UNEVICTABLE] == 0
    m.validate()


def test_last_reference_takes_the_folio_off_the_lru(m: Machine) -> None:
    p = m.spawn("t")
    a = p.mmap(0, 8 * PAGE, RW, ANON)
    p.touch(a, 8 * PAGE, write=True, val=2)
    lru_add_drain(m)
    before = m.nodes[0].vm_stat[N.NR_INACTIVE_ANON]
    p.munmap(a, 8 * PAGE)
    assert m.nodes[0].vm_stat[N.NR_INACTIVE_ANON] == before - 8
    m.validate()


def test_folio_referenced_harvests_young_bits(m: Machine) -> None:
    p = m.spawn("t")
    a = p.mmap(0, PAGE, RW, ANON)
    p.touch(a, PAGE, write=True, val=3)
    pfn = pfn_at(p, a)
    c = p.fork()
    assert p.mm.pgd.pte_get(a) & _PAGE_ACCESSED
    referenced, _vm_flags = folio_referenced(m, pfn)
    assert referenced == 1            # the parent's PTE was young; fork copies it old
    assert not p.mm.pgd.pte_get(a) & _PAGE_ACCESSED
    assert folio_referenced(m, pfn) == (0, 0)
    p.read(a, 1)
    c.read(a, 1)
    assert folio_referenced(m, pfn)[0] == 2
    m.validate()
