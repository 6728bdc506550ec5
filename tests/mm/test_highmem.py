"""High memory mappings (mm/highmem.py) on i386: kmap/kunmap, pkmap exhaustion and flush,
kmap_local/kmap_atomic fixmap slots and their stack discipline, meminfo High*/Low*."""

from __future__ import annotations

import pytest

from memsim.include.gfp import GFP_HIGHUSER, GFP_KERNEL
from memsim.machine import Machine
from memsim.mm import highmem
from memsim.mm.highmem import KM_MAX_IDX, PKMAP_ADDR, PkmapDeadlockError


def _boot() -> Machine:
    return Machine.boot(arch="i386", mem="2G", cpus=2)


def _high(m: Machine, n: int = 1) -> list[int]:
    pfns = []
    for _ in range(n):
        p = m.alloc_pages(GFP_HIGHUSER)
        assert p is not None and p >= m.max_low_pfn
        pfns.append(p)
    return pfns


def test_layout_matches_the_i386_6_12_build() -> None:
    m = _boot()
    hm = m.highmem
    assert hm is not None
    assert hm.layout.pkmap_base == 0xFF400000
    assert hm.layout.last_pkmap == 1024
    assert hm.pkmap_end == 0xFF800000
    # __fix_to_virt(FIX_KMAP_BEGIN + idx + KM_MAX_IDX * cpu), one page per index below
    # FIXADDR_TOP = 0xfffff000
    assert hm.kmap_local_vaddr(0, 0) == 0xFFFFF000 - (68 << 12)
    assert hm.kmap_local_vaddr(0, 1) == hm.kmap_local_vaddr(0, 0) - 4096
    assert hm.kmap_local_vaddr(1, 0) == hm.kmap_local_vaddr(0, 0) - KM_MAX_IDX * 4096


@pytest.mark.kernel_report
def test_kmap_of_a_highmem_page_gives_a_pkmap_address_and_page_address() -> None:
    m = _boot()
    (p,) = _high(m)
    assert m.page_address(p) is None
    a = m.kmap(p)
    assert a is not None and 0xFF400000 <= a < 0xFF800000
    assert a == 0xFF401000                       # first slot after last_pkmap_nr = 0
    assert m.page_address(p) == a
    assert m.kmap(p) == a                        # second user, same slot
    hm = m.highmem
    assert hm is not None and hm.pkmap_count[1] == 3
    m.kernel_write(a + 100, b"highmem!")
    assert m.kernel_read(a + 100, 8) == b"highmem!"
    assert bytes(m.page_data[p][100:108]) == b"highmem!"
    assert highmem.kmap_to_page(m, a + 5) == p
    m.kunmap(p)
    m.kunmap(p)
    assert hm.pkmap_count[1] == 1                # unmapped, TLB not yet flushed
    assert m.page_address(p) == a                # still in page_address_htable
    highmem.kmap_flush_unused(m)
    assert hm.pkmap_count[1] == 0 and m.page_address(p) is None
    with pytest.raises(Exception, match="unmapped"):
        m.kernel_read(a, 1)


def test_kmap_of_a_lowmem_page_is_its_direct_map_address() -> None:
    m = _boot()
    p = m.alloc_pages(GFP_KERNEL)
    assert p is not None and p < m.max_low_pfn
    assert m.kmap(p) == m.page_address(p) == 0xC0000000 + (p << 12)
    m.kunmap(p)
    assert m.kmap_local_page(p) == m.page_address(p)
    hm = m.highmem
    assert hm is not None and not any(hm.pkmap_count) and not hm.kmap_ctrl[0]
    m.kunmap_local(m.page_address(p) or 0)
    assert not m.log.text().count("WARNING")


def test_x86_64_kmap_is_page_address() -> None:
    m = Machine.boot(arch="x86_64", mem="1G")
    assert m.highmem is None
    p = m.alloc_pages(GFP_HIGHUSER)
    assert p is not None
    assert m.kmap(p) == m.page_address(p) == m.kmap_local_page(p)
    m.kunmap(p)


def test_pkmap_exhaustion_flushes_and_reuses_slots() -> None:
    m = _boot()
    hm = m.highmem
    assert hm is not None
    pages = _high(m, 1024)
    addrs = [m.kmap(p) for p in pages[:1023]]    # slots 1..1023
    assert addrs[0] == PKMAP_ADDR(hm, 1) and addrs[-1] == PKMAP_ADDR(hm, 1023)
    assert hm.nr_pkmap_flushes == 0
    for p in pages[10:20]:
        m.kunmap(p)                              # slots 11..20 drop to count 1
    # the next kmap wraps to slot 0: flush_all_zero_pkmaps() frees 11..20, slot 0 is free
    a = m.kmap(pages[1023])
    assert a == PKMAP_ADDR(hm, 0) and hm.nr_pkmap_flushes == 1
    assert hm.pkmap_count[11:21] == [0] * 10
    assert all(m.page_address(p) is None for p in pages[10:20])
    # slot 0 taken, so the next one scans on and reuses the first flushed slot
    assert m.kmap(pages[10]) == PKMAP_ADDR(hm, 11)


def test_full_pkmap_area_would_sleep_for_ever() -> None:
    m = _boot()
    pages = _high(m, 1025)
    for p in pages[:1024]:
        m.kmap(p)
    with pytest.raises(PkmapDeadlockError, match="pkmap_map_wait"):
        m.kmap(pages[1024])
    assert "blocked for more than 120 seconds" in m.log.text()


@pytest.mark.kernel_report
def test_unbalanced_kunmap_is_a_kernel_bug() -> None:
    m = _boot()
    (p,) = _high(m)
    m.kunmap(p)                                   # never mapped: BUG_ON(!vaddr)
    assert "kernel BUG at mm/highmem.c:371!" in m.log.text()
    m.kmap(p)
    m.kunmap(p)
    m.kunmap(p)                                   # count would reach 0: BUG()
    assert "kernel BUG at mm/highmem.c:381!" in m.log.text()
    hm = m.highmem
    assert hm is not None and hm.pkmap_count[1] == 1


def test_kmap_local_is_a_per_cpu_stack() -> None:
    m = _boot()
    hm = m.highmem
    assert hm is not None
    a, b, c = _high(m, 3)
    va = m.kmap_local_page(a)
    vb = m.kmap_local_page(b)
    assert va == hm.kmap_local_vaddr(0, 0) and vb == hm.kmap_local_vaddr(0, 1)
    assert m.page_address(a) is None              # no pkmap slot, no page_address
    m.kernel_write(vb, b"xyz")
    assert m.kernel_read(vb, 3) == b"xyz"
    m.current_cpu = 1
    vc = m.kmap_local_page(c)
    assert vc == hm.kmap_local_vaddr(1, 0)
    m.kunmap_local(vc)
    m.current_cpu = 0
    m.kunmap_local(vb + 17)                       # any address inside the page
    m.kunmap_local(va)
    assert hm.kmap_ctrl == [[], []] and not hm.kmap_pte
    assert "WARNING" not in m.log.text()
    assert va is not None
    # slot reuse: the next map takes slot 0 again
    assert m.kmap_local_page(c) == va


@pytest.mark.kernel_report
def test_kunmap_local_out_of_order_warns_and_drops_the_top_slot() -> None:
    m = _boot()
    hm = m.highmem
    assert hm is not None
    a, b = _high(m, 2)
    va = m.kmap_local_page(a)
    vb = m.kmap_local_page(b)
    assert va is not None and vb is not None
    m.kunmap_local(va)
    log = m.log.text()
    assert f"WARNING: CPU: 0 PID: {m.current_pid} at mm/highmem.c:623 kunmap_local_indexed" in log
    # the kernel clears the PTE of the top index (b's), a's mapping survives
    assert hm.kmap_ctrl[0] == [a]
    assert m.kernel_read(va, 1) == b"\x00"
    with pytest.raises(Exception, match="unmapped"):
        m.kernel_read(vb, 1)


@pytest.mark.kernel_report
def test_kmap_local_overflow_is_a_kernel_bug() -> None:
    m = _boot()
    pages = _high(m, KM_MAX_IDX)
    for p in pages[:KM_MAX_IDX - 1]:
        m.kmap_local_page(p)
    with pytest.raises(Exception, match="kmap_local slots"):
        m.kmap_local_page(pages[-1])
    assert "kernel BUG at mm/highmem.c:480!" in m.log.text()


def test_kmap_atomic_disables_preemption_and_pagefaults() -> None:
    m = _boot()
    (p,) = _high(m)
    before = m.preempt_count[0]
    va = m.kmap_atomic(p)
    assert va is not None
    assert m.preempt_count[0] == before + 1
    assert highmem.pagefault_disabled(m)
    m.kunmap_atomic(va)
    assert m.preempt_count[0] == before
    assert not highmem.pagefault_disabled(m)


@pytest.mark.kernel_report
def test_kmap_in_atomic_context_is_reported() -> None:
    m = _boot()
    (p,) = _high(m)
    va = m.kmap_atomic(p)
    assert va is not None
    m.kmap(p)
    assert "BUG: sleeping function called from invalid context at " \
           "include/linux/highmem-internal.h:44" in m.log.text()
    m.kunmap_atomic(va)


def test_meminfo_high_and_low_follow_highmem_allocations() -> None:
    m = _boot()

    def kb() -> dict[str, int]:
        return {ln.split(":")[0]: int(ln.split()[1]) for ln in m.proc("meminfo").splitlines()}

    v = kb()
    assert v["HighTotal"] == m.totalhigh_pages * 4
    assert v["LowTotal"] + v["HighTotal"] == v["MemTotal"]
    assert 0 < v["HighFree"] <= v["HighTotal"]
    pages = _high(m, 256)
    after = kb()
    # pcp lists may hold some of them back; at least the bulk shows as used highmem
    assert v["HighFree"] - after["HighFree"] >= 256 * 4 - 4 * 1024
    assert after["HighFree"] < v["HighFree"]
    for p in pages:
        m.kmap(p)
    assert kb()["HighFree"] == after["HighFree"]  # kmap takes no memory


def test_arm_pkmap_sits_below_page_offset() -> None:
    """ARM: PKMAP_BASE = PAGE_OFFSET - PMD_SIZE, 512 slots; kmap_local below FIXADDR_TOP."""
    m = Machine.boot(arch="arm", mem="2G")
    (p,) = _high(m)
    a = m.kmap(p)
    assert a == 0xBFE00000 + 4096
    m.kernel_write(a, b"ab")
    va = m.kmap_local_page(p)
    assert va == 0xFFEFF000 - 4096
    assert m.kernel_read(va, 2) == b"ab"
    m.kunmap_local(va)
    m.kunmap(p)
    assert "WARNING" not in m.log.text() and "BUG" not in m.log.text()
