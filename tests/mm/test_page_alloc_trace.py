"""The page allocator's tracepoints, as ftrace text."""

from __future__ import annotations

from memsim.include.gfp import __GFP_ZERO, GFP_HIGHUSER_MOVABLE, GFP_KERNEL
from memsim.machine import Machine
from memsim.mm import page_alloc
from memsim.trace.ftrace import FtraceWriter, parse_line


def test_disabled_tracepoints_record_nothing() -> None:
    """No probe attached: nothing is recorded and the fast path is taken."""
    m = Machine.boot(mem="1G", cpus=1)
    w = FtraceWriter(None)
    p = m.alloc_pages(GFP_KERNEL, 0)
    assert p is not None
    m.free_pages_pfn(p, 0)
    assert w.written == 0


def test_mm_page_alloc_and_free_lines() -> None:
    """mm_page_alloc carries pfn/order/migratetype/gfp_flags; mm_page_free pfn/order."""
    m = Machine.boot(mem="2G", cpus=1)
    w = FtraceWriter(None, nr_cpus=1)
    m.tp.attach_all(w)
    m.clock_ns = 5_000_123_456
    p = m.alloc_pages(GFP_HIGHUSER_MOVABLE | __GFP_ZERO, 2)
    assert p is not None
    m.free_pages_pfn(p, 2)
    lines = list(w.lines())
    alloc = [ln for ln in lines if ": mm_page_alloc: " in ln]
    free = [ln for ln in lines if ": mm_page_free: " in ln]
    assert len(alloc) == 1 and len(free) == 1
    vmemmap = 0xFFFFEA0000000000 + p * 64
    assert alloc[0] == (
        f"          memsim-1       [000] .....     5.000123: mm_page_alloc: page={vmemmap:016x} "
        f"pfn={p:#x} order=2 migratetype=1 gfp_flags=GFP_HIGHUSER_MOVABLE|__GFP_ZERO")
    assert free[0].endswith(f"mm_page_free: page={vmemmap:016x} pfn={p:#x} order=2")
    parsed = parse_line(alloc[0])
    assert parsed is not None and parsed.name == "mm_page_alloc"


def test_refill_and_drain_events() -> None:
    """
    The first unmovable page of boot (slab's kmem_cache_init) claimed a movable order-10
    block (mm_page_alloc_extfrag); with the pcp lists drained, the next unmovable
    allocation refills its list with batch << alloc_factor pages (boot's refills left the
    factor at 1: 126 pages), each from __rmqueue_smallest
    (mm_page_alloc_zone_locked, percpu_refill=1) out of the claimed block. A drain emits
    mm_page_pcpu_drain for every block it returns.
    """
    m = Machine.boot(mem="2G", cpus=1)
    page_alloc.drain_all_pages(m)
    w = FtraceWriter(None)
    m.tp.attach_all(w)
    p = m.alloc_pages(GFP_KERNEL, 0)
    assert p is not None
    refills = [ev for ev in w.events() if ev.name == "mm_page_alloc_zone_locked"]
    pcp = m.page_zone(p).per_cpu_pageset[0]
    assert pcp.batch == 63
    assert len(refills) == pcp.batch << 1 and pcp.alloc_factor == 2
    assert all(ev.fields["percpu_refill"] == 1 for ev in refills)
    assert not [ev for ev in w.events() if ev.name == "mm_page_alloc_extfrag"]
    n = sum(len(lst) for pcp_ in m.page_zone(p).per_cpu_pageset for lst in pcp_.lists)
    page_alloc.drain_all_pages(m)
    drains = [ev for ev in w.events() if ev.name == "mm_page_pcpu_drain"]
    assert len(drains) == n
