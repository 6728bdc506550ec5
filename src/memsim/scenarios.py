"""
Built-in workloads: the ``memsim run`` tour and named scenarios for ``memsim proc
--scenario``. Each step drives the kernel API of a booted machine and reports what
happened in plain words, with numbers read back from the model (nothing here is canned).
"""

from __future__ import annotations

import random
from collections.abc import Callable
from typing import Any

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
        drained: list[int] = []
        while (pg := alloc(GFP_DMA | GFP_KERNEL | __GFP_NOWARN, 0)) is not None:
            drained.append(pg)
        got_k = len(drained)
        after_k = dma.vm_stat[0]
        wm_low, wm_min = dma.low_wmark_pages(), dma.min_wmark_pages()
        while (pg := alloc(GFP_DMA | GFP_ATOMIC | __GFP_NOWARN, 0)) is not None:
            drained.append(pg)
        got_a = len(drained) - got_k
        out(f"  GFP_KERNEL stopped after {got_k} pages with {after_k} free "
            f"(low {wm_low}, min {wm_min}, boost {dma.watermark_boost});")
        out(f"  GFP_ATOMIC may dip below min: {got_a} more pages, {dma.vm_stat[0]} left")
        fail = alloc(GFP_DMA | GFP_ATOMIC | __GFP_COMP, 3)
        out(f"  one more order-3 atomic DMA allocation: {'failed' if fail is None else hex(fail)}"
            " (see dmesg for the page allocation failure report)")
        if fail is not None:
            free(fail, 3)
        for pg in drained:          # give the zone back (on arm64 ZONE_DMA is all RAM < 4G)
            free(pg, 0)
        out(f"  all {len(drained)} pages freed again: {dma.vm_stat[0]} free")
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


def _first_bug(m: Machine, mark: int) -> str:
    lines = m.log.since(mark).splitlines()
    return next((ln for ln in lines if ln.startswith(("BUG:", "kernel BUG at"))),
                "(no report)")


def tour_contexts(m: Machine, out: Printer) -> None:
    """Execution contexts: sleeping in atomic context caught, GFP_ATOMIC fine, spinlocks."""
    from memsim.kernel import sched

    out("\n== Execution contexts: who may sleep ==")
    pc = m.preempt_count

    def step() -> None:
        # SIM: __might_resched() reports at most once per HZ; let a second pass per case.
        m.clock_ns += 1_100_000_000

    step()
    mark = m.log.mark()
    with m.irq_context(cpu=0):
        out(f"  in irq_context(cpu=0): preempt_count {pc[0]:#x}, in_atomic() "
            f"{int(m.in_atomic())}, in_hardirq() {int(m.in_hardirq())}, irqs_disabled() "
            f"{int(m.irqs_disabled())}")
        p = m.kmalloc(64, GFP_KERNEL)
    out(f"  kmalloc(64, GFP_KERNEL) in the interrupt handler -> "
        f"{'an object' if p is not None else 'None'}, and dmesg says:")
    report = m.log.since(mark).splitlines()
    for line in report[:3]:
        out(f"    {line}")
    m.kfree(p)
    step()
    mark = m.log.mark()
    with m.irq_context(cpu=0):
        p = m.kmalloc(64, GFP_ATOMIC)
        q = m.alloc_pages(GFP_ATOMIC, 0)
    out(f"  kmalloc(64, GFP_ATOMIC) and alloc_pages(GFP_ATOMIC, 0) in the handler: "
        f"{'ok' if p is not None and q is not None else 'failed'}, "
        f"{len(m.log.since(mark).splitlines())} dmesg lines")
    m.kfree(p)
    if q is not None:
        m.free_pages_pfn(q, 0)
    lock = sched.SpinLock("tour_lock")
    step()
    mark = m.log.mark()
    with m.spin_lock(lock, cpu=1):
        out(f"  spin_lock(tour_lock) on CPU 1: preempt_count {pc[1]:#x}, owner {lock.owner}, "
            f"owner_cpu {lock.owner_cpu}")
        m.current_cpu = 1
        p = m.kmalloc(64, GFP_KERNEL)
        m.current_cpu = 0
    out(f"  kmalloc(GFP_KERNEL) under the spinlock: {_first_bug(m, mark)}")
    m.kfree(p)
    step()
    mark = m.log.mark()
    with m.softirq_context(cpu=0):
        out(f"  softirq_context: preempt_count {pc[0]:#x}, in_softirq() "
            f"{int(m.in_softirq())}, in_interrupt() {int(m.in_interrupt())}")
        v = m.vmalloc(8192)
    out(f"  vmalloc(8192) from a softirq: {_first_bug(m, mark)} (BUG_ON(in_interrupt()); "
        f"returned {v})")
    step()
    mark = m.log.mark()
    with m.spin_lock(sched.SpinLock("tour_vlock")):
        v = m.vmalloc(8192)
    out(f"  vmalloc(8192) under a spinlock: {_first_bug(m, mark)}")
    m.vfree(v)
    out(f"  back in process context: preempt_count {pc[0]:#x}/{pc[1]:#x}, "
        f"in_atomic() {int(m.in_atomic())}")
    m.validate()


def tour_vmalloc(m: Machine, out: Printer) -> None:
    """vmalloc: areas, guard pages, /proc/vmallocinfo, lazy purge, TLB cost vs kmalloc."""
    out("\n== vmalloc: virtually contiguous memory ==")
    st = m.vmalloc_state
    out(f"VMALLOC range {st.vmalloc_start:#x}-{st.vmalloc_end:#x} "
        f"({(st.vmalloc_end - st.vmalloc_start) >> 30} GiB)")
    free0 = m.nr_free_pages() + m.nr_pcp_pages()
    addrs: list[int | None] = []
    for n in (4096, 3 * 4096 + 1, 1 << 20):
        addrs.append(m.vmalloc(n))
    taken = free0 - m.nr_free_pages() - m.nr_pcp_pages()
    for a in addrs:
        assert a is not None
        area = st.find_vm_area(a)
        assert area is not None
        out(f"  vmalloc({area.requested_size:7d}) at {a:#x}: {area.nr_pages} pages + "
            f"{(area.size >> 12) - area.nr_pages} guard page, area {area.size} bytes")
    a1 = addrs[0]
    assert a1 is not None
    guard = m.vmalloc_pte_walk(a1 + 4096)
    out(f"  page-table walk at the guard page {a1 + 4096:#x}: present={guard.present} "
        f"level={guard.level}")
    out(f"  pages taken from the buddy allocator: {taken} (data pages, the pages arrays "
        "and vm_structs)")
    out("  /proc/vmallocinfo:")
    starts = tuple(f"{a:#x}-" for a in addrs if a is not None)
    for line in m.proc("vmallocinfo").splitlines():
        if line.startswith(starts):
            out(f"    {line}")
    big = addrs[2]
    assert big is not None
    pfns = [m.vmalloc_to_page(big + (i << 12)) for i in range(256)]
    runs = sum(1 for i, p in enumerate(pfns) if i == 0 or p != (pfns[i - 1] or 0) + 1)
    kp = m.kmalloc(1 << 20, GFP_KERNEL)
    kpfn = m.virt_to_pfn(kp) if kp is not None else 0
    out(f"  1 MiB by vmalloc: 256 PTEs (256 TLB entries), {runs} physical run(s); "
        f"by kmalloc: one run from pfn {kpfn:#x}, mapped by "
        f"{len({(kpfn + i) >> 9 for i in range(256)})} direct-map 2 MiB TLB entry(ies)")
    m.kfree(kp)
    purges0, lazy0 = st.nr_purges, len(st.purge_list)
    for a in addrs:
        m.vfree(a)
    out(f"  vfree x3: {len(st.purge_list) - lazy0} areas wait on the lazy purge list "
        f"({st.vmap_lazy_nr} pages, threshold lazy_max_pages() = {st.lazy_max_pages()})")
    n = st.purge_vmap_area_lazy()
    out(f"  purge_vmap_area_lazy(): {n} areas returned with one TLB flush "
        f"(purges {purges0} -> {st.nr_purges})")
    m.validate()


def tour_highmem(m: Machine, out: Printer) -> None:
    """High memory: kmap/kunmap, the pkmap flush, kmap_local on 32-bit machines."""
    out("\n== High memory ==")
    hm = m.highmem
    if not m.arch.highmem or hm is None:
        out(f"  {m.arch.name} has no high memory: a {m.arch.bits}-bit kernel maps all RAM in "
            f"its direct map (max_low_pfn {m.max_low_pfn:#x} covers every page), so "
            "page_address() works for every page and kmap() returns it.")
        return
    from memsim.include.gfp import GFP_HIGHUSER
    lay = hm.layout
    low_mib = ((m.max_low_pfn << 12) - m.arch.dram_base) >> 20
    out(f"  lowmem ends at pfn {m.max_low_pfn:#x} ({low_mib} MiB of lowmem); "
        f"pkmap area at {lay.pkmap_base:#x} with LAST_PKMAP={lay.last_pkmap} slots")
    pfn = m.alloc_pages(GFP_HIGHUSER, 0)
    assert pfn is not None
    out(f"  alloc_pages(GFP_HIGHUSER, 0) -> pfn {pfn:#x} in {m.page_zone(pfn).name}; "
        f"page_address() = {m.page_address(pfn)}")
    va = m.kmap(pfn)
    out(f"  kmap() -> {va:#x}; page_address() now {m.page_address(pfn):#x}")
    m.kunmap(pfn)
    out(f"  kunmap(): slot kept until a flush, page_address() still "
        f"{m.page_address(pfn):#x}")
    pages = [p for p in (m.alloc_pages(GFP_HIGHUSER, 0) for _ in range(lay.last_pkmap))
             if p is not None]
    flushes = hm.nr_pkmap_flushes
    for p in pages:
        m.kmap(p)
        m.kunmap(p)
    out(f"  kmap+kunmap of {len(pages)} more pages: pkmap flushes {flushes} -> "
        f"{hm.nr_pkmap_flushes}; page_address() of the first page now "
        f"{m.page_address(pfn)}")
    q = pages[0]
    a = m.kmap_local_page(pfn)
    b = m.kmap_local_page(q)
    assert a is not None and b is not None
    out(f"  kmap_local_page() x2 on CPU {m.current_cpu}: {a:#x}, {b:#x} (fixmap slots, "
        f"stack depth {len(hm.kmap_ctrl[m.current_cpu])})")
    m.kunmap_local(b)
    m.kunmap_local(a)
    for p in [pfn, *pages]:
        m.free_pages_pfn(p, 0)
    mi = {ln.split(":")[0]: ln.split(":")[1].strip() for ln in m.proc("meminfo").splitlines()}
    out(f"  meminfo: HighTotal {mi.get('HighTotal')}, HighFree {mi.get('HighFree')}, "
        f"LowTotal {mi.get('LowTotal')}, LowFree {mi.get('LowFree')}")
    m.validate()


def tour_stacks(m: Machine, out: Printer) -> None:
    """Kernel stacks: THREAD_SIZE, where they come from, KernelStack in meminfo."""
    out("\n== Kernel stacks ==")

    def kstack() -> str:
        line = next(ln for ln in m.proc("meminfo").splitlines()
                    if ln.startswith("KernelStack:"))
        return " ".join(line.split()[1:])

    before = kstack()
    stacks = [s for s in (m.alloc_task_stack() for _ in range(4)) if s is not None]
    s0 = stacks[0]
    where = "a vmalloc area with guard pages (CONFIG_VMAP_STACK)" if getattr(
        s0, "vmap", False) else f"an order-{s0.order} block of the page allocator"
    out(f"  {len(stacks)} task stacks of THREAD_SIZE {s0.size} bytes, each from {where}")
    out(f"  first at {getattr(s0, 'addr', 0):#x}, backing pfn {s0.pfn:#x}")
    out(f"  KernelStack in meminfo: {before} -> {kstack()}")
    for s in stacks:
        m.free_task_stack(s)
    out(f"  after freeing them: {kstack()}")
    m.validate()


def tour_percpu(m: Machine, out: Printer) -> None:
    """Per-CPU data: alloc_percpu, one copy per CPU, Percpu in meminfo."""
    out("\n== Per-CPU data ==")
    # the per-CPU allocator (mm/percpu.py) may not be bound on every build of the model
    pcpu: Any = m
    alloc, free = pcpu.alloc_percpu, pcpu.free_percpu

    def percpu() -> str:
        line = next((ln for ln in m.proc("meminfo").splitlines()
                     if ln.startswith("Percpu:")), "Percpu: ?")
        return " ".join(line.split()[1:])

    before = percpu()
    ptrs = [alloc(64, 8) for _ in range(64)]
    out(f"  64 x alloc_percpu(64 bytes): Percpu {before} -> {percpu()} "
        f"({m.nr_cpus} copies each)")
    for p in ptrs:
        free(p)
    out(f"  free_percpu x64: Percpu {percpu()}")


def tour_process(m: Machine, out: Printer) -> None:
    """A process: heap faults, fork with copy-on-write, a file mapping, a page-table walk."""
    import os

    from memsim.cli.pagewalk import walk_text
    from memsim.fs.proc.task_mmu import smap_counts
    from memsim.include.mman import MAP_PRIVATE, PROT_READ, PROT_WRITE
    from memsim.mm.vma import vma_lookup

    out("\n== A process and its address space ==")
    p = m.spawn("demo")
    out(f"  spawn('demo') -> pid {p.pid}; /proc/{p.pid}/maps:")
    for line in m.proc(f"{p.pid}/maps").splitlines():
        out(f"    {line}")
    heap = p.sbrk(64 << 10)
    flt = p.min_flt
    p.touch(heap, 64 << 10, write=True, val=0x61)
    vma = vma_lookup(p.mm, heap)
    assert vma is not None
    c = smap_counts(m, vma)
    out(f"  sbrk(64 KiB) + write every page: {p.min_flt - flt} minor faults, [heap] Rss "
        f"{c['Rss']} kB, Private_Dirty {c['Private_Dirty']} kB")
    child = p.fork()
    pc, cc = smap_counts(m, vma), smap_counts(m, vma_lookup(child.mm, heap) or vma)
    out(f"  fork(): parent [heap] Rss {pc['Rss']} kB Pss {pc['Pss']} kB Shared_Dirty "
        f"{pc['Shared_Dirty']} kB; child Rss {cc['Rss']} kB (page tables copied, "
        f"write-protected)")
    child.write(heap, b"child")
    cv = vma_lookup(child.mm, heap)
    assert cv is not None
    pc, cc = smap_counts(m, vma), smap_counts(m, cv)
    out(f"  child writes one page -> copy-on-write: child Private_Dirty "
        f"{cc['Private_Dirty']} kB, parent Pss {pc['Pss']} kB; parent still reads "
        f"{p.read(heap, 5)!r}, child {child.read(heap, 5)!r}")
    child.exit()
    p.wait(child)
    fd = p.open("/srv/data.bin", os.O_RDONLY, data=bytes(range(256)) * 16 * 64)
    a = p.mmap(0, 64 << 12, PROT_READ | PROT_WRITE, MAP_PRIVATE, fd)
    flt = p.min_flt
    p.read(a + 5 * 4096, 1)
    fv = vma_lookup(p.mm, a)
    assert fv is not None
    fc = smap_counts(m, fv)
    out(f"  mmap 256 KiB of a file (private): one read fault ({p.min_flt - flt}) maps "
        f"{fc['Rss'] // 4} pages around it (fault_around_bytes 64 KiB)")
    p.write(a + 5 * 4096, b"x")
    fc = smap_counts(m, fv)
    out(f"  a write copies that page: Anonymous {fc['Anonymous']} kB, file pages still "
        f"{fc['Rss'] // 4 - fc['Anonymous'] // 4}")
    out(f"  page-table walk of the heap page at {heap:#x}:")
    for line in walk_text(p.mm.pgd, heap).splitlines():
        out(f"    {line}")
    before = m.nr_free_pages() + m.nr_pcp_pages()
    p.exit()
    after = m.nr_free_pages() + m.nr_pcp_pages()
    out(f"  exit(): {after - before} pages back to the buddy allocator; the file's pages "
        f"stay in the page cache")
    m.validate()


def tour_pressure(m: Machine, out: Printer) -> None:
    """
    Memory pressure on a small machine of the same arch (192 MiB RAM, 96 MiB swap): a
    process outgrows memory, kswapd wakes and swaps, pages come back on access, and a
    second process finally gets the OOM killer — as a time series.
    """
    from memsim.include.mman import MAP_ANONYMOUS, MAP_PRIVATE, PROT_READ, PROT_WRITE
    from memsim.include.vmstat_items import VmEventItem as E

    out("\n== Memory pressure: kswapd, swap, the OOM killer ==")
    sm = Machine.boot(arch=m.arch.name, mem="192M", swap="96M", cpus=m.nr_cpus,
                      seed=m.config.seed)
    out(f"  a second machine: {sm.totalram_pages * 4 // 1024} MiB RAM managed, "
        f"{sm.total_swap_pages * 4 // 1024} MiB swap")

    def meminfo(key: str) -> int:
        for line in sm.proc("meminfo").splitlines():
            if line.startswith(key + ":"):
                return int(line.split()[1])
        return 0

    def row(label: str) -> None:
        ev = sm.vm_event
        out(f"  {sm.clock_ns / 1e9:8.4f}s {label:<26} MemFree {meminfo('MemFree'):>7} kB  "
            f"SwapFree {meminfo('SwapFree'):>6} kB  pgscan_kswapd {ev[E.PGSCAN_KSWAPD]:>6}  "
            f"pswpout {ev[E.PSWPOUT]:>6}  pswpin {ev[E.PSWPIN]:>4}")

    hog = sm.spawn("hog")
    size, step = 176 << 20, 32 << 20
    a = hog.mmap(0, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS)
    row("start")
    for off in range(0, size, step):
        hog.touch(a + off, min(step, size - off), write=True, val=1 + (off >> 25))
        row(f"hog wrote {min(off + step, size) >> 20} MiB")
    maj = hog.maj_flt
    first = hog.read(a, 1)
    row("hog reads its first page")
    out(f"  the first page came back from swap: {first!r}, major faults +{hog.maj_flt - maj}")
    hog2 = sm.spawn("hog2")
    b = hog2.mmap(0, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS)
    mark = sm.log.mark()
    hog2.touch(b, size, write=True, val=9)
    row("hog2 wrote 176 MiB")
    for line in sm.log.since(mark).splitlines():
        if "invoked oom-killer" in line or "Out of memory: Killed" in line:
            out(f"  dmesg: {line}")
    out(f"  hog alive: {hog.alive}, hog2 alive: {hog2.alive}")
    sm.validate()


SCENARIOS: dict[str, Callable[[Machine, Printer], None]] = {
    "buddy": tour_buddy,
    "slab": tour_slab,
    "contexts": tour_contexts,
    "vmalloc": tour_vmalloc,
    "highmem": tour_highmem,
    "stacks": tour_stacks,
    "process": tour_process,
    "pressure": tour_pressure,
}
if hasattr(Machine, "alloc_percpu"):
    SCENARIOS["percpu"] = tour_percpu


def run_scenario(m: Machine, name: str, quiet: bool = False) -> None:
    fn = SCENARIOS.get(name)
    if fn is None:
        raise MemsimError(f"unknown scenario {name!r} (known: {', '.join(SCENARIOS)})")
    fn(m, (lambda s: None) if quiet else print)


def tour(m: Machine, out: Printer = print) -> None:
    """The whole tour, part by part (later parts of the model add theirs)."""
    for fn in SCENARIOS.values():
        fn(m, out)
