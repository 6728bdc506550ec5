"""
Built-in workloads: the ``memsim run`` tour and named scenarios for ``memsim proc
--scenario``. Each step drives the kernel API of a booted machine and reports what
happened in plain words, with numbers read back from the model (nothing here is canned).
"""

from __future__ import annotations

import random
from collections.abc import Callable

from memsim.errors import MemsimError
from memsim.include.gfp import (
    __GFP_COMP,
    __GFP_NOWARN,
    __GFP_RECLAIMABLE,
    GFP_ATOMIC,
    GFP_DMA,
    GFP_DMA32,
    GFP_HIGHUSER_MOVABLE,
    GFP_KERNEL,
    GFP_NOWAIT,
    format_gfp,
)
from memsim.include.mmzone import MIGRATE_TYPES, MIGRATETYPE_NAMES
from memsim.include.vmstat_items import VmEventItem
from memsim.machine import Machine
from memsim.mm import vmstat

Printer = Callable[[str], None]
_PGFREE = int(VmEventItem.PGFREE)
_PGALLOC = range(int(VmEventItem.PGALLOC_DMA), int(VmEventItem.PGALLOC_DMA) + 6)


def pageblock_type_counts(m: Machine) -> dict[str, int]:
    counts = [0] * MIGRATE_TYPES
    for mt in m.pageblock_mt:
        counts[mt] += 1
    return {MIGRATETYPE_NAMES[i]: c for i, c in enumerate(counts) if c}


def _frag_line(m: Machine) -> str:
    parts = []
    for z in m.zones:
        if not z.populated():
            continue
        info = vmstat.fill_contig_page_info(z, 9)
        idx = vmstat.unusable_free_index(9, info)
        parts.append(f"{z.name}: {z.vm_stat[0]} free, unusable for order-9 "
                     f"{idx // 1000}.{idx % 1000:03d}")
    return "; ".join(parts)


def tour_buddy(m: Machine, out: Printer) -> None:
    """Orders, migratetypes, GFP contexts, fallback and watermarks on the buddy allocator."""
    rng = random.Random(m.config.seed)
    # SIM: until the event queue of the reclaim part exists, the tour advances the clock by
    # a fixed 1 µs per step so that logs and traces have increasing timestamps.
    alloc_pages, free_pages_pfn = m.alloc_pages, m.free_pages_pfn

    def alloc(gfp: int, order: int) -> int | None:
        m.clock_ns += 1000
        return alloc_pages(gfp, order)

    def free(pfn: int, order: int) -> None:
        m.clock_ns += 1000
        free_pages_pfn(pfn, order)

    out("== The buddy allocator ==")
    out(f"Booted {m!r}: {m.totalram_pages} pages managed, min_free_kbytes="
        f"{m.sysctl.min_free_kbytes}")
    for z in m.zones:
        if z.populated():
            out(f"  {z.name:8s} managed {z.managed_pages:9d}  watermarks min/low/high "
                f"{z.min_wmark_pages()}/{z.low_wmark_pages()}/{z.high_wmark_pages()}  "
                f"protection {tuple(z.lowmem_reserve)}")
    out(f"Fragmentation before: {_frag_line(m)}")

    # 1. one block of every order, from each GFP context
    out("\n-- one block of each order, GFP_KERNEL --")
    held: list[tuple[int, int]] = []
    for order in range(11):
        pfn = alloc(GFP_KERNEL, order)
        if pfn is None:
            out(f"  order {order:2d}: failed")
            continue
        z = m.page_zone(pfn)
        held.append((pfn, order))
        pb = MIGRATETYPE_NAMES[m.pageblock_mt[pfn >> m.pageblock_order]]
        out(f"  order {order:2d}: pfn {pfn:#x} in {z.name} ({1 << order} pages, pageblock {pb})")
    for gfp, what in ((GFP_DMA, "GFP_DMA"), (GFP_DMA32, "GFP_DMA32"),
                      (GFP_ATOMIC, "GFP_ATOMIC"), (GFP_NOWAIT, "GFP_NOWAIT"),
                      (GFP_HIGHUSER_MOVABLE, "GFP_HIGHUSER_MOVABLE")):
        pfn = alloc(gfp, 0)
        if pfn is not None:
            held.append((pfn, 0))
            out(f"  {what:21s} ({format_gfp(gfp)}): pfn {pfn:#x} from "
                f"{m.page_zone(pfn).name}, migratetype {MIGRATETYPE_NAMES[m.gfp_migratetype(gfp)]}")
    for pfn, order in held:
        free(pfn, order)
    held.clear()

    # 2. churn: random orders and migratetypes, then free half -> fragmentation
    out("\n-- churn: 20000 random allocations of orders 0-5, mixed migratetypes, half freed --")
    kinds = (GFP_KERNEL, GFP_HIGHUSER_MOVABLE, GFP_KERNEL | __GFP_RECLAIMABLE)
    ev_before = list(m.vm_event)
    for _ in range(20000):
        order = min(int(rng.expovariate(1.0)), 5)
        gfp = kinds[rng.randrange(3)]
        pfn = alloc(gfp, order)
        if pfn is not None:
            held.append((pfn, order))
    rng.shuffle(held)
    for pfn, order in held[: len(held) // 2]:
        free(pfn, order)
    held = held[len(held) // 2:]
    allocs = sum(m.vm_event[i] - ev_before[i] for i in _PGALLOC)
    out(f"  pgalloc +{allocs} pages, pgfree +{m.vm_event[_PGFREE] - ev_before[_PGFREE]}"
        f"; {len(held)} blocks still held")
    out(f"  pageblocks by type: {pageblock_type_counts(m)}")
    out(f"  Fragmentation now: {_frag_line(m)}")

    # 3. fallback: unmovable requests when only movable blocks have free pages
    out("\n-- fallback: a high-order unmovable request --")
    n0 = pageblock_type_counts(m)
    pfn = alloc(GFP_KERNEL, 6)
    n1 = pageblock_type_counts(m)
    if pfn is not None:
        held.append((pfn, 6))
        out(f"  order-6 GFP_KERNEL at pfn {pfn:#x}; pageblock types {n0} -> {n1}")

    # 4. watermarks: drain a small zone down to its min watermark
    out("\n-- watermarks: GFP_KERNEL vs GFP_ATOMIC in the DMA zone --")
    dma = next((z for z in m.zones if z.populated() and z.name == "DMA"), None)
    if dma is not None:
        got_k = got_a = 0
        while alloc(GFP_DMA | GFP_KERNEL | __GFP_NOWARN, 0) is not None:
            got_k += 1
        after_k = dma.vm_stat[0]
        wm_low, wm_min = dma.low_wmark_pages(), dma.min_wmark_pages()
        while alloc(GFP_DMA | GFP_ATOMIC | __GFP_NOWARN, 0) is not None:
            got_a += 1
        out(f"  GFP_KERNEL stopped after {got_k} pages with {after_k} free "
            f"(low {wm_low}, min {wm_min}, boost {dma.watermark_boost});")
        out(f"  GFP_ATOMIC may dip below min: {got_a} more pages, {dma.vm_stat[0]} left")
        fail = alloc(GFP_DMA | GFP_ATOMIC | __GFP_COMP, 3)
        out(f"  one more order-3 atomic DMA allocation: {'failed' if fail is None else hex(fail)}"
            " (see dmesg for the page allocation failure report)")
    m.validate()
    out("\nValidators: free lists, pcp lists and counters consistent.")


def _slab_line(m: Machine, s: object) -> str:
    si = m.slab.get_slabinfo(s)
    name = getattr(s, "name", "?")
    return (f"{name}: {si.active_objs}/{si.num_objs} objects active, {si.num_slabs} slabs "
            f"of {1 << si.cache_order} page(s), {si.objects_per_slab} objects per slab")


def tour_slab(m: Machine, out: Printer) -> None:
    """Caches filling and emptying, kmalloc size classes, SLUB next to SLAB, a debug catch."""
    from memsim.include.slab import (
        SLAB_CONSISTENCY_CHECKS,
        SLAB_HWCACHE_ALIGN,
        SLAB_POISON,
        SLAB_RED_ZONE,
    )

    out(f"\n== The slab layer ({m.slab.kind.upper()}) ==")
    free0 = m.nr_free_pages() + m.nr_pcp_pages()
    s = m.kmem_cache_create("tour_task", 1000, 0, SLAB_HWCACHE_ALIGN)
    out(f"kmem_cache_create(\"tour_task\", 1000, SLAB_HWCACHE_ALIGN): stride {s.size} bytes")
    objs: list[int] = []
    for _ in range(200):
        m.clock_ns += 1000
        obj = m.kmem_cache_alloc(s, GFP_KERNEL)
        if obj is not None:
            objs.append(obj)
    out(f"  200 allocations: {_slab_line(m, s)}")
    out(f"  pages taken from the buddy allocator: {free0 - m.nr_free_pages() - m.nr_pcp_pages()}")
    for o in objs[::2]:
        m.kmem_cache_free(s, o)
    out(f"  every second object freed: {_slab_line(m, s)}")
    for o in objs[1::2]:
        m.kmem_cache_free(s, o)
    out(f"  all freed: {_slab_line(m, s)}")
    if m.slab.kind == "slub":
        out("    (slabinfo counts free objects of CPU slabs and per-CPU partial lists as "
            "active; min_partial empty slabs stay on the node list)")
    m.kmem_cache_shrink(s)
    out(f"  kmem_cache_shrink: {_slab_line(m, s)}")
    m.kmem_cache_destroy(s)

    out("\n-- kmalloc size classes --")
    for size in (1, 24, 65, 100, 129, 200, 1500, 5000, 20000):
        kp = m.kmalloc(size, GFP_KERNEL)
        cache = m.slab.virt_to_cache(kp) if kp is not None else None
        where = cache.name if cache is not None else "whole pages (large kmalloc)"
        out(f"  kmalloc({size:5d}) -> {where}, ksize {m.ksize(kp)}")
        m.kfree(kp)

    out("\n-- the same workload on SLUB and on the classic SLAB --")
    for kind in ("slub", "slab"):
        twin = m if m.slab.kind == kind else Machine.boot(
            settings={**{k: v for k, v in m.config.values.items() if v is not None},
                      "slab": kind})
        c = twin.kmem_cache_create("tour_obj", 192, 0, 0)
        held = [o for o in (twin.kmem_cache_alloc(c, GFP_KERNEL) for _ in range(500))
                if o is not None]
        for o in held[:400]:
            twin.kmem_cache_free(c, o)
        line = next(ln for ln in twin.proc("slabinfo").splitlines()
                    if ln.startswith("tour_obj "))
        out(f"  {kind.upper():4s}: {line}")
        for o in held[400:]:
            twin.kmem_cache_free(c, o)
        twin.kmem_cache_destroy(c)

    out("\n-- a debugging catch: writing one byte past an object (slab_debug=FZP) --")
    d = m.kmem_cache_create("tour_dbg", 64, 0,
                            SLAB_CONSISTENCY_CHECKS | SLAB_RED_ZONE | SLAB_POISON)
    p = m.kmem_cache_alloc(d, GFP_KERNEL)
    assert p is not None
    m.kernel_write(p + 64, b"!")
    mark = m.log.mark()
    m.kmem_cache_free(d, p)
    report = m.log.since(mark).splitlines()
    for line in report[:3]:
        out(f"  dmesg: {line}")
    out(f"  ({len(report)} lines in dmesg; the red zone was restored and the free refused)")
    if not report:
        raise AssertionError("the debug cache missed a red-zone overwrite")
    m.kmem_cache_free(d, p)
    m.kmem_cache_destroy(d)
    m.validate()
    out("\nValidators: consistent after the slab tour.")


SCENARIOS: dict[str, Callable[[Machine, Printer], None]] = {
    "buddy": tour_buddy,
    "slab": tour_slab,
}


def run_scenario(m: Machine, name: str, quiet: bool = False) -> None:
    fn = SCENARIOS.get(name)
    if fn is None:
        raise MemsimError(f"unknown scenario {name!r} (known: {', '.join(SCENARIOS)})")
    fn(m, (lambda s: None) if quiet else print)


def tour(m: Machine, out: Printer = print) -> None:
    """The whole tour, part by part (later parts of the model add theirs)."""
    for fn in SCENARIOS.values():
        fn(m, out)
