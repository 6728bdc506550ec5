"""
"Which allocation method do I pick?" (LKD ch. 12, "Picking an allocation method"), answered
by running the request through a booted machine rather than by a canned table.

:func:`explain_alloc` performs one request with every candidate API — ``alloc_pages`` /
``__get_free_pages``, ``kmalloc``, ``kmem_cache_alloc`` from a dedicated cache,
``vmalloc``, ``kvmalloc`` and, on highmem architectures, ``alloc_pages(__GFP_HIGHMEM)`` +
``kmap`` — inside the requested execution context with the GFP mask that context allows,
measures what happened (buddy pages taken, bytes wasted, physical contiguity from the PFNs,
TLB entries, the zone, anything the kernel printed), frees everything, and derives a
recommendation from those measurements and the seeds' rules.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from typing import Any

from memsim.errors import ConfigError, MemsimError
from memsim.include.gfp import (
    __GFP_HIGHMEM,
    __GFP_NOWARN,
    GFP_ATOMIC,
    GFP_DMA,
    GFP_DMA32,
    GFP_KERNEL,
    format_gfp,
)
from memsim.include.slab import SLAB_CACHE_DMA, SLAB_CACHE_DMA32
from memsim.kernel import sched
from memsim.machine import Machine

PAGE_SHIFT = 12
PAGE_SIZE = 1 << PAGE_SHIFT

CONTEXTS = ("process", "atomic", "irq", "softirq")
DMA_CHOICES = ("none", "dma", "dma32")
LIFETIMES = ("short", "long")
FREQUENCIES = ("once", "often")

#: how many objects a ``--frequency often`` request allocates with each API
OFTEN_COUNT = 16

# SIM: the page-table granule of the direct map (the TLB entry that maps a direct-map
# object). x86-64 maps the direct map with 2 MiB PMD pages (1 GiB PUD pages when the CPU has
# gbpages; we assume 2 MiB), i386 without PAE uses 4 MiB PSE pages, 32-bit ARM 1 MiB
# sections, arm64 2 MiB block mappings (4 KiB granule). vmalloc areas are mapped with 4 KiB
# PTEs (or PMD leaves for vmalloc_huge), counted from the page-table walk.
DIRECT_MAP_SHIFT = {"x86_64": 21, "i386": 22, "arm": 20, "arm64": 21}

#: zones a device limited to ZONE_DMA / ZONE_DMA32 addressing can reach
_DMA_ZONES = {"dma": ("DMA",), "dma32": ("DMA", "DMA32")}

_SLEEP_BUG = "BUG: sleeping function called from invalid context"


@dataclass(frozen=True)
class AllocRequest:
    """The request: what the caller needs."""

    size: int
    contiguous: bool = True
    context: str = "process"
    dma: str = "none"
    lifetime: str = "short"
    frequency: str = "once"

    def validate(self) -> None:
        if self.size <= 0:
            raise ConfigError(f"--size: must be at least 1 byte, got {self.size}")
        for name, value, choices in (("context", self.context, CONTEXTS),
                                     ("dma", self.dma, DMA_CHOICES),
                                     ("lifetime", self.lifetime, LIFETIMES),
                                     ("frequency", self.frequency, FREQUENCIES)):
            if value not in choices:
                raise ConfigError(f"--{name}: {value!r} is not one of {', '.join(choices)}")

    @property
    def count(self) -> int:
        return OFTEN_COUNT if self.frequency == "often" else 1


@dataclass
class Outcome:
    """What one candidate API did, measured on the machine."""

    api: str
    gfp: str
    ok: bool = False
    #: objects obtained (of ``count`` asked)
    got: int = 0
    #: buddy pages (free lists + pcp lists) taken while the objects were held
    pages_taken: int = 0
    #: bytes usable minus bytes requested, summed over the objects
    wasted: int = 0
    #: every object physically contiguous (None: nothing allocated)
    contiguous: bool | None = None
    #: most separate physical runs found in one object
    phys_runs: int = 0
    #: TLB entries needed to map all objects: distinct direct-map large pages, or vmalloc
    #: / pkmap PTEs
    tlb_entries: int = 0
    #: mapped page by page through vmalloc page tables: physical contiguity not guaranteed
    remapped: bool = False
    zones: list[str] = field(default_factory=list)
    #: all pages reachable by the requested DMA device (None: no DMA asked)
    dma_ok: bool | None = None
    sleep_bug: str | None = None
    #: first line the kernel printed during the attempt (any report)
    dmesg: str | None = None
    note: str = ""

    def fits(self, req: AllocRequest) -> bool:
        if not self.ok or self.sleep_bug or self.dmesg:
            return False
        if req.contiguous and (self.remapped or not self.contiguous):
            return False
        return self.dma_ok is not False


@dataclass
class Explanation:
    machine: str
    request: AllocRequest
    context_gfp: str
    outcomes: list[Outcome]
    recommendation: list[str]
    pitfalls: list[str]
    #: the direct map's page size assumed for TLB counting, in KiB
    direct_map_kib: int = 2048

    def to_json(self) -> dict[str, Any]:
        return {"machine": self.machine, "request": asdict(self.request),
                "context_gfp": self.context_gfp,
                "candidates": [asdict(o) for o in self.outcomes],
                "recommendation": self.recommendation, "pitfalls": self.pitfalls,
                "direct_map_kib": self.direct_map_kib}


def get_order(size: int) -> int:
    """get_order(): the smallest order whose block holds *size* bytes."""
    return max(0, (size - 1) >> PAGE_SHIFT).bit_length()


def context_gfp(req: AllocRequest) -> int:
    """The GFP mask the context allows, plus the DMA zone modifier."""
    gfp = GFP_KERNEL if req.context == "process" else GFP_ATOMIC
    if req.dma == "dma":
        gfp |= GFP_DMA
    elif req.dma == "dma32":
        gfp |= GFP_DMA32
    return gfp


@contextlib.contextmanager
def enter_context(m: Machine, context: str) -> Iterator[None]:
    """Enter the execution context *context* on CPU 0."""
    if context == "irq":
        with m.irq_context(cpu=0):
            yield
    elif context == "softirq":
        with m.softirq_context(cpu=0):
            yield
    elif context == "atomic":
        with m.spin_lock(sched.SpinLock("explain_lock"), cpu=0):
            yield
    else:
        yield


def _buddy_free(m: Machine) -> int:
    return m.nr_free_pages() + m.nr_pcp_pages()


def _runs(pfns: list[int]) -> int:
    """Number of physically contiguous runs in a list of PFNs (in address order)."""
    return sum(1 for i, p in enumerate(pfns) if i == 0 or p != pfns[i - 1] + 1)


def _direct_map_entries(m: Machine, pfn: int, nbytes: int) -> set[tuple[str, int]]:
    """The direct-map large pages covering *nbytes* from PFN *pfn* (one TLB entry each)."""
    shift = DIRECT_MAP_SHIFT[m.arch.name]
    start = pfn << PAGE_SHIFT
    return {("direct", i) for i in range(start >> shift, ((start + nbytes - 1) >> shift) + 1)}


class _Probe:
    """Runs one candidate: context, dmesg capture, buddy counters."""

    def __init__(self, m: Machine, req: AllocRequest, out: Outcome) -> None:
        self.m, self.req, self.out = m, req, out
        self.tlb: set[tuple[str, int]] = set()

    def record(self, pfns: list[int], usable: int, tlb: set[tuple[str, int]]) -> None:
        o, m = self.out, self.m
        o.got += 1
        o.wasted += usable - self.req.size
        self.tlb |= tlb
        o.tlb_entries = len(self.tlb)
        runs = _runs(pfns)
        o.phys_runs = max(o.phys_runs, runs)
        o.contiguous = (o.contiguous is not False) and runs == 1
        for p in pfns:
            name = m.page_zone(p).name
            if name not in o.zones:
                o.zones.append(name)


def _finish(m: Machine, req: AllocRequest, o: Outcome, mark: int, before: int,
            after_alloc: int) -> None:
    o.pages_taken = before - after_alloc
    o.ok = o.got == req.count
    if req.dma != "none" and o.got:
        o.dma_ok = all(z in _DMA_ZONES[req.dma] for z in o.zones)
    lines = [ln for ln in m.log.since(mark).splitlines() if ln.strip()]
    o.sleep_bug = next((ln for ln in lines if ln.startswith(_SLEEP_BUG)), None)
    o.dmesg = next((ln for ln in lines if not ln.startswith("---")), None)


def _run(m: Machine, req: AllocRequest, api: str, gfp: int, kind: str) -> Outcome:
    o = Outcome(api=api, gfp=format_gfp(gfp) if gfp else "GFP_KERNEL (implied)")
    probe = _Probe(m, req, o)
    # SIM: the sleeping-in-atomic report is rate-limited to once per HZ; let two seconds
    # pass between candidates so that each one's report is printed.
    m.clock_ns += 2_000_000_000
    mark = m.log.mark()
    before = _buddy_free(m)
    held: list[Any] = []
    cache = None
    try:
        if kind == "cache":
            flags = {"dma": SLAB_CACHE_DMA, "dma32": SLAB_CACHE_DMA32}.get(req.dma, 0)
            cache = m.kmem_cache_create("explain_obj", req.size, 0, flags)
            if cache is None:
                raise MemsimError(f"kmem_cache_create() returned NULL: {req.size} bytes is "
                                  "too large for a slab object")
            o.note = f"cache {cache.name}, object stride {cache.size}"
        with enter_context(m, req.context):
            for _ in range(req.count):
                got = _alloc_one(m, req, kind, gfp, cache, probe)
                if got is None:
                    break
                held.append(got)
        after = _buddy_free(m)
    except MemsimError as e:
        after = _buddy_free(m)
        o.note = f"{type(e).__name__}: {str(e).splitlines()[0]}"
    _finish(m, req, o, mark, before, after)
    if o.got < req.count and not o.note:
        o.note = f"returned None after {o.got} of {req.count}" if o.got else "returned None"
    for h in held:
        _free_one(m, kind, h, cache)
    if cache is not None:
        m.kmem_cache_destroy(cache)
    return o


def _alloc_one(m: Machine, req: AllocRequest, kind: str, gfp: int, cache: Any,
               probe: _Probe) -> Any:
    size = req.size
    if kind in ("pages", "highmem"):
        order = get_order(size)
        pfn = m.alloc_pages(gfp | __GFP_NOWARN if kind == "highmem" else gfp, order)
        if pfn is None:
            return None
        pfns = list(range(pfn, pfn + (1 << order)))
        if kind == "pages":
            probe.record(pfns, PAGE_SIZE << order,
                         _direct_map_entries(m, pfn, PAGE_SIZE << order))
            return (pfn, order, None)
        # highmem: no logical address until mapped; kmap() maps one page at a time
        before_map = m.page_address(pfn)
        vaddr = m.kmap(pfn)
        probe.out.note = (f"page_address() before kmap: {before_map}; kmap -> "
                          f"{vaddr:#x}" if vaddr is not None else "kmap failed")
        # one pkmap PTE per page, each page mapped by its own kmap()
        probe.record(pfns, PAGE_SIZE << order, {("pkmap", p) for p in pfns})
        return (pfn, order, vaddr)
    if kind in ("kmalloc", "cache", "kvmalloc"):
        if kind == "kmalloc":
            p = m.kmalloc(size, gfp)
        elif kind == "cache":
            p = m.kmem_cache_alloc(cache, gfp)
        else:
            p = m.kvmalloc(size, gfp)
        if p is None:
            return None
        if kind == "kvmalloc" and m.is_vmalloc_addr(p):
            probe.out.note = "fell back to vmalloc"
            _record_vmalloc(m, probe, p, size)
            return p
        if kind == "kvmalloc":
            probe.out.note = "served by kmalloc"
        usable = m.ksize(p) if kind != "cache" else max(m.ksize(p), cache.object_size)
        first, last = m.virt_to_pfn(p), m.virt_to_pfn(p + size - 1)
        probe.record(list(range(first, last + 1)), usable,
                     _direct_map_entries(m, first, (p & (PAGE_SIZE - 1)) + size))
        return p
    # vmalloc: vmalloc() takes no GFP mask; it allocates with GFP_KERNEL internally
    p = m.vmalloc(size)
    if p is None:
        return None
    _record_vmalloc(m, probe, p, size)
    return p


def _record_vmalloc(m: Machine, probe: _Probe, p: int, size: int) -> None:
    npages = (size + PAGE_SIZE - 1) >> PAGE_SHIFT
    pfns: list[int] = []
    entries: set[tuple[str, int]] = set()
    for i in range(npages):
        va = p + (i << PAGE_SHIFT)
        walk = m.vmalloc_pte_walk(va)
        if walk.pfn is not None:
            pfns.append(walk.pfn)
        # a PTE maps 4 KiB; a PMD leaf (vmalloc_huge) maps 2 MiB with one entry
        entries.add(("pte", va >> PAGE_SHIFT) if walk.level == "pte" else ("pmd", va >> 21))
    probe.out.remapped = True
    probe.record(pfns, npages << PAGE_SHIFT, entries)
    area = m.vmalloc_state.find_vm_area(p)
    if area is not None and not probe.out.note.startswith("guard"):
        guard = area.size - (npages << PAGE_SHIFT)
        extra = f"guard {guard // PAGE_SIZE} page(s) of address space, unmapped"
        probe.out.note = f"{probe.out.note}; {extra}" if probe.out.note else extra


def _free_one(m: Machine, kind: str, h: Any, cache: Any) -> None:
    if kind in ("pages", "highmem"):
        pfn, order, vaddr = h
        if vaddr is not None:
            m.kunmap(pfn)
        m.free_pages_pfn(pfn, order)
    elif kind == "kmalloc":
        m.kfree(h)
    elif kind == "cache":
        m.kmem_cache_free(cache, h)
    elif kind == "kvmalloc":
        m.kvfree(h)
    else:
        m.vfree(h)


def run_candidates(m: Machine, req: AllocRequest) -> list[Outcome]:
    """Perform *req* with every candidate API on *m*; everything is freed afterwards."""
    req.validate()
    gfp = context_gfp(req)
    order = get_order(req.size)
    name = "GFP_KERNEL" if req.context == "process" else "GFP_ATOMIC"
    zone = {"dma": " | GFP_DMA", "dma32": " | GFP_DMA32"}.get(req.dma, "")
    outs = [
        _run(m, req, f"alloc_pages({name}{zone}, {order})", gfp, "pages"),
        _run(m, req, f"kmalloc({req.size}, {name}{zone})", gfp, "kmalloc"),
        _run(m, req, f"kmem_cache_alloc(cache of {req.size})", gfp, "cache"),
        _run(m, req, f"vmalloc({req.size})", 0, "vmalloc"),
        _run(m, req, f"kvmalloc({req.size}, {name}{zone})", gfp, "kvmalloc"),
    ]
    if m.arch.highmem:
        if req.dma != "none":
            outs.append(Outcome(api=f"alloc_pages({name} | __GFP_HIGHMEM, {order})+kmap",
                                gfp="-", note="not tried: __GFP_DMA/__GFP_DMA32 and "
                                "__GFP_HIGHMEM name different zones"))
        else:
            outs.append(_run(m, req, f"alloc_pages({name} | __GFP_HIGHMEM, {order})+kmap",
                             gfp | __GFP_HIGHMEM, "highmem"))
    return outs


def _kind(o: Outcome) -> str:
    return o.api.split("(", 1)[0] + ("+kmap" if o.api.endswith("+kmap") else "")


def recommend(req: AllocRequest, outs: list[Outcome]) -> tuple[list[str], list[str]]:
    """The recommendation and the "what goes wrong" lines, from the measurements."""
    by = {_kind(o): o for o in outs}
    fit = {k: o for k, o in by.items() if o.fits(req)}
    gfp_name = "GFP_KERNEL" if req.context == "process" else "GFP_ATOMIC"
    gfp_name += {"dma": " | GFP_DMA", "dma32": " | GFP_DMA32"}.get(req.dma, "")
    rec: list[str] = []
    choice: str | None = None
    why = ""
    if req.frequency == "often" and "kmem_cache_alloc" in fit:
        choice, why = "kmem_cache_alloc", (
            "many objects of one size, allocated often: a dedicated slab cache reuses "
            "freed objects without going back to the page allocator")
    elif req.contiguous:
        cands = [k for k in ("kmalloc", "alloc_pages") if k in fit]
        if cands:
            if len(cands) == 2 and req.size >= PAGE_SIZE and \
                    by["alloc_pages"].wasted <= by["kmalloc"].wasted:
                choice = "alloc_pages"
            else:
                choice = min(cands, key=lambda k: (fit[k].wasted, k != "kmalloc"))
            why = "physically contiguous memory comes from the page allocator or kmalloc()"
    else:
        if req.size <= PAGE_SIZE and "kmalloc" in fit:
            choice, why = "kmalloc", ("a small object fits in one page: kmalloc() is "
                                      "cheapest and needs no page-table setup")
        elif "vmalloc" in fit:
            choice, why = "vmalloc", ("only virtual contiguity is needed and the request is "
                                      "large: vmalloc() builds it from single pages")
        else:
            for k in ("kmalloc", "alloc_pages"):
                if k in fit:
                    choice, why = k, "vmalloc cannot be used here (see below)"
                    break
    if choice is not None:
        o = fit[choice]
        api = {"kmalloc": f"kmalloc(size, {gfp_name})",
               "alloc_pages": f"alloc_pages({gfp_name}, {get_order(req.size)}) or "
                              f"__get_free_pages()",
               "kmem_cache_alloc": f"kmem_cache_create() once, then kmem_cache_alloc(cache, "
                                   f"{gfp_name})",
               "vmalloc": "vmalloc(size)"}[choice]
        rec.append(f"Use {api}: {why}.")
        rec.append(f"  measured: {o.pages_taken} page(s) taken from the buddy allocator, "
                   f"{o.wasted} byte(s) wasted, {o.tlb_entries} TLB entr"
                   f"{'y' if o.tlb_entries == 1 else 'ies'}, zone(s) {', '.join(o.zones)}.")
        if req.context != "process":
            rec.append(f"  In {req.context} context the allocation must not sleep: "
                       "GFP_ATOMIC (it may dip into the reserves below the min watermark).")
        kv = fit.get("kvmalloc")
        if choice == "vmalloc" and kv is not None:
            rec.append(f"  kvmalloc() also fits ({kv.note}): it tries kmalloc first and "
                       "falls back to vmalloc.")
    else:
        rec.append("Nothing fits this request as stated: "
                   + ("in atomic context only kmalloc/alloc_pages with GFP_ATOMIC may be "
                      "used; preallocate in process context (or use a mempool) instead."
                      if req.context != "process" else "relax the constraints."))
    hm = fit.get("alloc_pages+kmap")
    if hm is not None and req.size >= PAGE_SIZE and choice != "alloc_pages+kmap":
        rec.append("  On this highmem machine, data reached only through temporary mappings "
                   "can live in high memory: alloc_pages(__GFP_HIGHMEM) + kmap() "
                   f"(measured: zone {', '.join(hm.zones)}; {hm.note}).")
    if req.lifetime == "long" and choice in ("kmalloc", "alloc_pages") and req.size > PAGE_SIZE:
        rec.append("  Long-lived high-order blocks are unmovable and fragment memory; "
                   "prefer order 0 pieces or vmalloc where contiguity is not needed.")
    pitfalls = []
    for o in outs:
        if o.fits(req) or o.gfp == "-":
            continue
        pitfalls.append(f"{o.api}: {_what_went_wrong(req, o)}")
    return rec, pitfalls


def _what_went_wrong(req: AllocRequest, o: Outcome) -> str:
    if o.sleep_bug:
        return f"dmesg: {o.sleep_bug}"
    if not o.ok:
        return o.note + (f" (dmesg: {o.dmesg})" if o.dmesg else "")
    if o.dmesg:
        return f"dmesg: {o.dmesg}"
    if o.dma_ok is False:
        return f"pages in zone {', '.join(o.zones)}, out of reach of a {req.dma.upper()} device"
    if req.contiguous and not o.contiguous:
        return (f"not physically contiguous: {o.phys_runs} separate physical runs "
                "(a device doing DMA needs one)")
    if req.contiguous and o.remapped:
        return (f"pages mapped one by one through new page-table entries ({o.tlb_entries} "
                f"TLB entries); here {o.phys_runs} physical run(s), but nothing guarantees "
                "physical contiguity")
    return o.note


def explain_alloc(m: Machine, req: AllocRequest) -> Explanation:
    """Run *req* on *m* and explain the choice (see the module docstring)."""
    outs = run_candidates(m, req)
    rec, pitfalls = recommend(req, outs)
    return Explanation(machine=repr(m), request=req, context_gfp=format_gfp(context_gfp(req)),
                       outcomes=outs, recommendation=rec, pitfalls=pitfalls,
                       direct_map_kib=1 << (DIRECT_MAP_SHIFT[m.arch.name] - 10))


def format_explanation(e: Explanation) -> str:
    r = e.request
    contig = "physically contiguous" if r.contiguous else "virtually contiguous"
    lines = [f"Request: {r.size} bytes, {contig}, {r.context} context, "
             f"DMA {r.dma}, {r.lifetime}-lived, {r.frequency}"
             f" ({r.count} object{'s' if r.count > 1 else ''} per API)",
             f"Machine: {e.machine}; the context allows {e.context_gfp}", ""]
    hdr = (f"{'candidate':50s} {'result':6s} {'pages':>6s} {'wasted':>9s} {'contig':6s} "
           f"{'TLB':>5s} {'zone':12s} {'dmesg'}")
    lines += [hdr, "-" * len(hdr)]
    for o in e.outcomes:
        if o.gfp == "-":
            lines.append(f"{o.api:50s} {'n/a':6s} {o.note}")
            continue
        res = "ok" if o.ok else "FAIL"
        contig = "-" if o.contiguous is None else ("yes" if o.contiguous else
                                                  f"no/{o.phys_runs}")
        if o.remapped and o.contiguous:
            contig = "yes*"
        dm = "" if o.dmesg is None else o.dmesg[:60]
        lines.append(f"{o.api:50s} {res:6s} {o.pages_taken:6d} {o.wasted:9d} {contig:6s} "
                     f"{o.tlb_entries:5d} {','.join(o.zones) or '-':12s} {dm}")
    lines += ["", "Notes:"]
    lines += [f"  {_kind(o)}: {o.note}" for o in e.outcomes if o.note and o.gfp != "-"]
    lines += ["", "Recommendation:"] + [f"  {ln}" for ln in e.recommendation]
    if e.pitfalls:
        lines += ["", "What goes wrong with the other choices (measured):"]
        lines += [f"  {ln}" for ln in e.pitfalls]
    lines += ["", "(contig yes*: physically contiguous by chance, not guaranteed. TLB: one "
                  f"entry per {e.direct_map_kib} KiB direct-map page touched; vmalloc one per "
                  "4 KiB PTE; kmap one per page)"]
    return "\n".join(lines) + "\n"

