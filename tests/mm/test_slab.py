"""The classic SLAB allocator (mm/slab.py, 2.6.32 mm/slab.c): geometry computed by hand from
cache_estimate()/calculate_slab_order(), the textbooks' list movement, bufctl chains, array
caches, free_limit, reaping, tunables, bootstrap, NUMA alien arrays and the debug reports."""

from __future__ import annotations

import pytest

from memsim.errors import KernelBug, KernelPanic, MemsimError
from memsim.include.gfp import __GFP_ZERO, GFP_DMA, GFP_KERNEL
from memsim.include.mm_types import PGTY_SLAB
from memsim.include.slab import (
    RED_ACTIVE,
    RED_INACTIVE,
    SLAB_HWCACHE_ALIGN,
    SLAB_PANIC,
    SLAB_POISON,
    SLAB_RECLAIM_ACCOUNT,
    SLAB_RED_ZONE,
    SLAB_STORE_USER,
    ZERO_SIZE_PTR,
)
from memsim.include.vmstat_items import NodeStatItem
from memsim.machine import Machine
from memsim.mm import slab as slab_mod
from memsim.mm.slab import (
    BUFCTL_END,
    BUFCTL_FREE,
    CFLGS_OFF_SLAB,
    FULL,
    NONE,
    PARTIAL_AC,
    PARTIAL_L3,
    ArrayCache,
    KmemCache,
    KmemList3,
    Slab,
    SlabDesc,
    cache_estimate,
)

DEBUG = SLAB_RED_ZONE | SLAB_POISON | SLAB_STORE_USER
STACK = ["Hardware name: memsim simulated machine", "Call Trace:", " <TASK>", " </TASK>"]


@pytest.fixture
def m() -> Machine:
    return Machine.boot(settings={"slab": "slab"}, mem="1G", cpus=2)


def sl(m: Machine) -> Slab:
    assert isinstance(m.slab, Slab)
    return m.slab


def l3(c: KmemCache, nid: int = 0) -> KmemList3:
    n = c.nodelists[nid]
    assert n is not None
    return n


def ac(c: KmemCache, cpu: int = 0) -> ArrayCache:
    a = c.array[cpu]
    assert a is not None
    return a


def slab_of(m: Machine, p: int) -> SlabDesc:
    d = sl(m).virt_to_slab(p)
    assert d is not None
    return d


def where(m: Machine, c: KmemCache, p: int) -> str | None:
    return l3(c).list_name(slab_of(m, p))


def meminfo_kb(m: Machine, key: str) -> int:
    for line in m.proc("meminfo").splitlines():
        if line.startswith(key + ":"):
            return int(line.split()[1])
    raise KeyError(key)


def new_lines(m: Machine, mark: int) -> list[str]:
    return m.log.since(mark).splitlines()


# ---------------------------------------------------------------------------- geometry

# (size, align, flags) -> (buffer_size, num, gfporder, colour, off-slab, slab_size), by hand
# with sizeof(struct slab) = 48, 4-byte bufctls, 64-byte lines, slab_break_gfp_order 1:
GEOMETRY_X86_64 = [
    # 20 -> 24 (words); on-slab: (4096-48)//28 = 144 objs, mgmt ALIGN(48+576, 8) = 624,
    # 624 + 144*24 = 4080 fits; left 16 -> waste ok at order 0; colour 16//64 = 0
    ((20, 0, 0), (24, 144, 0, 0, False, 624)),
    # HWCACHE: 104 > 32, align 64, size 128; 4048//132 = 30, mgmt ALIGN(168, 64) = 192,
    # left 4096-3840-192 = 64 -> colour 1
    ((100, 0, SLAB_HWCACHE_ALIGN), (128, 30, 0, 1, False, 192)),
    # explicit align 32: size 32; 4048//36 = 112, mgmt ALIGN(496, 32) = 512, left 0
    ((24, 32, 0), (32, 112, 0, 0, False, 512)),
    # 704 >= 512: off-slab; order 0: 5 objs, left 576 (576*8 > 4096: go on); order 1: 11
    # objs, left 448, stop at slab_break_gfp_order. slab_size ALIGN(44+48, 8) = 96 <= 448:
    # back on-slab, left 352 -> colour 5
    ((700, 0, 0), (704, 11, 1, 5, False, 96)),
    # 1024 off-slab, 4 per page, no left-over: management stays off-slab, 4*4+48 = 64 bytes
    ((1000, 0, SLAB_HWCACHE_ALIGN), (1024, 4, 0, 0, True, 64)),
    # reclaimable: stays at order 0 (1 obj, left 1096); mgmt 56 moves on-slab: 1040 -> 16
    ((3000, 0, SLAB_RECLAIM_ACCOUNT), (3000, 1, 0, 16, False, 56)),
    # the same without the flag: order 1 (2 objs, left 2192 - 56 = 2136 -> colour 33)
    ((3000, 0, 0), (3000, 2, 1, 33, False, 56)),
    # nothing fits order 0; order 1: 1 obj, left 3192 - 56 = 3136 -> colour 49
    ((5000, 0, 0), (5000, 1, 1, 49, False, 56)),
    # debug: red zones (+16, obj_offset 8) and the user word (+8): 64; 4048//68 = 59, mgmt
    # ALIGN(48+236, 8) = 288, left 32
    ((40, 0, DEBUG), (64, 59, 0, 0, False, 288)),
    # a page per object, off-slab (4+48 = 52 bytes in size-64)
    ((4096, 0, SLAB_HWCACHE_ALIGN), (4096, 1, 0, 0, True, 52)),
]


@pytest.mark.parametrize(("args", "expect"), GEOMETRY_X86_64)
def test_kmem_cache_create_geometry(m: Machine, args: tuple[int, int, int],
                                    expect: tuple[int, int, int, int, bool, int]) -> None:
    size, align, flags = args
    c = m.kmem_cache_create("geo", size, align, flags)
    assert isinstance(c, KmemCache)
    got = (c.buffer_size, c.num, c.gfporder, c.colour, bool(c.flags & CFLGS_OFF_SLAB),
           c.slab_size)
    assert got == expect
    assert c.colour_off == max(64, c.align)
    if c.flags & CFLGS_OFF_SLAB:
        assert c.slabp_cache is not None and c.slabp_cache.name == "size-64"
    else:
        assert c.slabp_cache is None


def test_cache_estimate_and_i386_geometry() -> None:
    # on-slab size-32 of x86_64 (the reference's example line: 112 per slab) and i386 (113:
    # (4096-28)//36 = 113, ALIGN(28+452, 32) = 480, 480 + 113*32 = 4096)
    assert cache_estimate(0, 32, 32, 0, 48) == (112, 0)
    assert cache_estimate(0, 32, 32, 0, 28) == (113, 0)
    assert cache_estimate(0, 1024, 64, CFLGS_OFF_SLAB, 48) == (4, 0)
    m = Machine.boot(settings={"slab": "slab"}, arch="i386", mem="1G", cpus=2)
    s = sl(m)
    assert (s.sizeof_slab, s.index_ac, s.index_l3) == (28, 0, 1)   # 24 -> size-32, 56 -> size-64
    c32 = m.kmem_cache_lookup("size-32")
    assert (c32.buffer_size, c32.num, c32.gfporder) == (32, 113, 0)
    # kmem_cache: offsetof(nodelists) = 8 CPUs * 4 + 72 = 104, + 4 -> ALIGN(108, 64) = 128;
    # (4096-28)//132 = 30, mgmt ALIGN(148, 64) = 192, left 64 -> colour 1
    kc = s.cache_cache
    assert (kc.buffer_size, kc.num, kc.colour, kc.slab_size) == (128, 30, 1, 192)
    m.validate()


def test_general_caches_boot_geometry_and_tunables(m: Machine) -> None:
    text = m.proc("slabinfo").splitlines()
    assert text[0] == "slabinfo - version: 2.1"
    names = [ln.split()[0] for ln in text[2:]]
    # cache_chain is newest first: cache_cache, then size-32 (INDEX_AC), size-128 (INDEX_L3),
    # then each size with its DMA twin
    assert names[-6:] == ["size-64(DMA)", "size-64", "size-32(DMA)", "size-128", "size-32",
                          "kmem_cache"]
    assert names[0] == "size-4194304(DMA)"
    sizes = [32, 64, 128, 192, 256, 512, 1024, 2048, 4096, 8192, 16384, 32768, 65536, 131072,
             262144, 524288, 1048576, 2097152, 4194304]
    assert len(names) == 1 + 2 * len(sizes)
    per_slab = {32: 112, 64: 59, 128: 30, 192: 20, 256: 15, 512: 8, 1024: 4, 2048: 2}
    for size in sizes:
        c = m.kmem_cache_lookup(f"size-{size}")
        d = m.kmem_cache_lookup(f"size-{size}(DMA)")
        assert c.buffer_size == d.buffer_size == size
        assert c.num == per_slab.get(size, 1)
        assert c.gfporder == max(0, (size >> 12).bit_length() - 1)
        assert bool(c.flags & CFLGS_OFF_SLAB) == (size >= 512)
        limit = 120 if size <= 256 else 54 if size <= 1024 else 24 if size <= 4096 \
            else 8 if size <= 131072 else 1
        assert (c.limit, c.batchcount, c.shared) == (limit, (limit + 1) // 2,
                                                     8 if size <= 4096 else 0)
        assert d.gfpflags == GFP_DMA and c.gfpflags == 0
    # off-slab descriptors: size-512: 8*4+48 = 80 -> size-128; size-1024 and up -> size-64
    assert m.kmem_cache_lookup("size-512").slabp_cache.name == "size-128"
    assert m.kmem_cache_lookup("size-2048").slabp_cache.name == "size-64"
    # cache_cache: offsetof(nodelists) = 64*8 + 104 = 616, + 8 -> 640; 6 per slab, colour 2
    kc = sl(m).cache_cache
    assert (kc.name, kc.buffer_size, kc.num, kc.colour, kc.limit) == ("kmem_cache", 640, 6, 2,
                                                                        54)


def test_bootstrap_states(monkeypatch: pytest.MonkeyPatch) -> None:
    seen: list[tuple[str, int]] = []
    real = slab_mod.setup_cpu_cache

    def spy(s: Slab, c: KmemCache, gfp: int) -> int:
        seen.append((c.name, s.g_cpucache_up))
        return real(s, c, gfp)

    monkeypatch.setattr(slab_mod, "setup_cpu_cache", spy)
    m = Machine.boot(settings={"slab": "slab"}, mem="1G", cpus=2)
    assert seen[:5] == [("size-32", NONE), ("size-128", PARTIAL_AC), ("size-32(DMA)", PARTIAL_L3),
                        ("size-64", PARTIAL_L3), ("size-64(DMA)", PARTIAL_L3)]
    assert all(state == PARTIAL_L3 for _, state in seen[2:])
    s = sl(m)
    assert s.g_cpucache_up == FULL and s.slab_is_available()
    m.kmem_cache_create("late", 100)
    assert seen[-1] == ("late", FULL)
    # every static bootstrap structure was replaced by a kmalloc'ed one, of the right size
    for c in s.slab_caches:
        for cpu in range(2):
            a = ac(c, cpu)
            assert a.obj is not None
            assert s.virt_to_cache(a.obj).buffer_size >= 24 + 8 * a.limit   # type: ignore[union-attr]
        n = l3(c)
        assert n.obj is not None and s.virt_to_cache(n.obj).name == "size-128"  # type: ignore[union-attr]
        assert n.free_limit == 3 * c.batchcount + c.num      # (1 + 2 CPUs) * batch + num
    assert s.cache_cache.self_obj is None                     # static
    assert s.virt_to_cache(m.kmem_cache_lookup("late").self_obj).name == "kmem_cache"  # type: ignore[union-attr, arg-type]


# ---------------------------------------------------------------------------- lists


def test_list_movement_free_partial_full_partial_free(m: Machine) -> None:
    """The textbooks' sequence, with a one-entry head array: a slab moves free -> partial ->
    full -> partial -> free; each free reaches its slab one free later (the array holds the
    most recent one), and the bufctl chain is LIFO."""
    s = sl(m)
    c = m.kmem_cache_create("movers", 1000, 0, SLAB_HWCACHE_ALIGN)  # 1024 B, 4 per slab
    assert s.slabinfo_write("movers 1 1 0") == len("movers 1 1 0")
    assert (ac(c).limit, ac(c).batchcount, l3(c).shared, l3(c).free_limit) == (1, 1, None, 7)
    n = l3(c)
    o = m.kmem_cache_alloc(c, GFP_KERNEL)
    A = slab_of(m, o)
    assert (A.inuse, A.free, A.bufctl) == (1, 1, [BUFCTL_FREE, 2, 3, BUFCTL_END])
    assert o == A.s_mem == A.addr               # colour 0; management off-slab
    assert A.mgmt is not None and s.virt_to_cache(A.mgmt) is c.slabp_cache
    assert A.mgmt in c.slabp_cache.live         # type: ignore[union-attr]
    m.kmem_cache_free(c, o)
    s.drain_cpu_caches(c)
    assert n.list_name(A) == "free" and list(n.slabs_free) == [A]
    assert (A.free_chain(), n.free_objects) == ([0, 1, 2, 3], 4)
    objs = []
    for i in range(4):                          # free -> partial -> ... -> full
        objs.append(m.kmem_cache_alloc(c, GFP_KERNEL))
        assert objs[-1] == A.s_mem + 1024 * i
        assert n.list_name(A) == ("full" if i == 3 else "partial")
    assert A.free == BUFCTL_END and A.bufctl == [BUFCTL_FREE] * 4 and n.free_objects == 0
    m.kmem_cache_free(c, objs[0])               # parked in the array: the slab stays full
    assert (n.list_name(A), ac(c).entry) == ("full", [objs[0]])
    m.kmem_cache_free(c, objs[1])               # flush: objs[0] back, full -> partial (tail)
    assert (n.list_name(A), ac(c).entry, A.free_chain()) == ("partial", [objs[1]], [0])
    m.kmem_cache_free(c, objs[2])
    m.kmem_cache_free(c, objs[3])
    assert (n.list_name(A), A.inuse, A.free_chain()) == ("partial", 1, [2, 1, 0])
    assert A.bufctl == [BUFCTL_END, 0, 1, BUFCTL_FREE]
    s.drain_cpu_caches(c)                       # partial -> free (the head of slabs_free)
    assert (n.list_name(A), A.free_chain(), n.free_objects) == ("free", [3, 2, 1, 0], 4)
    m.validate()


def test_colour_offsets_cycle(m: Machine) -> None:
    # 704-byte objects: 11 per order-1 slab, on-slab management of 96 bytes, 5 colours of 64
    s = sl(m)
    c = m.kmem_cache_create("colours", 700)
    assert (c.num, c.gfporder, c.colour, c.colour_off, c.slab_size) == (11, 1, 5, 64, 96)
    s.slabinfo_write("colours 1 1 0")
    slabs: list[SlabDesc] = []
    for _ in range(11 * 7):
        d = slab_of(m, m.kmem_cache_alloc(c, GFP_KERNEL))   # type: ignore[arg-type]
        if d not in slabs:
            slabs.append(d)
    assert [d.s_mem - d.addr for d in slabs] == [96 + 64 * (i % 5) for i in range(7)]
    assert [d.colouroff for d in slabs] == [96 + 64 * (i % 5) for i in range(7)]
    assert l3(c).colour_next == 2 and all(d.mgmt is None for d in slabs)
    assert all(m.mem_map.page_type[d.pfn] == PGTY_SLAB for d in slabs)


def test_array_cache_lifo_batches_and_shared_array(m: Machine) -> None:
    s = sl(m)
    c = m.kmem_cache_create("lifo", 64)        # 59 per slab; limit 120, batch 60, shared 8
    assert (c.num, c.limit, c.batchcount, c.shared) == (59, 120, 60, 8)
    a, n = ac(c), l3(c)
    assert n.shared is not None and n.shared.limit == 480
    first = m.kmem_cache_alloc(c, GFP_KERNEL)
    A = slab_of(m, first)
    # an untouched array refills BATCHREFILL_LIMIT (16) objects, 0..15; 15 is on top
    assert (first, len(a.entry), A.inuse, n.free_objects, a.touched) == \
        (A.s_mem + 15 * 64, 15, 16, 43, 1)
    assert m.kmem_cache_alloc(c, GFP_KERNEL) == A.s_mem + 14 * 64
    for _ in range(14):
        m.kmem_cache_alloc(c, GFP_KERNEL)
    assert not a.entry
    # a touched array asks for 60; the partial slab has 43 left, then no slab: take 43
    m.kmem_cache_alloc(c, GFP_KERNEL)
    assert (len(a.entry), n.list_name(A), n.free_objects) == (42, "full", 0)
    x = m.kmem_cache_alloc(c, GFP_KERNEL)
    y = m.kmem_cache_alloc(c, GFP_KERNEL)
    m.kmem_cache_free(c, x)
    m.kmem_cache_free(c, y)
    assert m.kmem_cache_alloc(c, GFP_KERNEL) == y      # LIFO
    assert m.kmem_cache_alloc(c, GFP_KERNEL) == x
    # fill the array to its limit; the next free moves the 60 oldest to the shared array
    objs = [m.kmem_cache_alloc(c, GFP_KERNEL) for _ in range(200)]
    held = list(a.entry)
    for p in objs[:120 - len(held)]:
        m.kmem_cache_free(c, p)                        # type: ignore[arg-type]
    assert len(a.entry) == 120
    oldest = list(a.entry[:60])
    m.kmem_cache_free(c, objs[120 - len(held)])         # type: ignore[arg-type]
    assert n.shared.entry == oldest and len(a.entry) == 61
    assert s.get_slabinfo(c).shared_avail == 60
    # an emptied array refills from the shared array first (its top 60, in order)
    top = list(n.shared.entry[-60:])
    for _ in range(61):
        m.kmem_cache_alloc(c, GFP_KERNEL)
    m.kmem_cache_alloc(c, GFP_KERNEL)
    assert a.entry == top[:-1] and not n.shared.entry
    m.validate()


def test_free_limit_destroys_slabs_and_meminfo_follows(m: Machine) -> None:
    s = sl(m)
    c = m.kmem_cache_create("limits", 1000, 0, SLAB_HWCACHE_ALIGN)    # 4 per slab
    s.slabinfo_write("limits 1 1 0")
    n = l3(c)
    assert n.free_limit == (1 + 2) * 1 + 4
    node_b = m.nodes[0].vm_stat[NodeStatItem.NR_SLAB_UNRECLAIMABLE_B]
    slab_kb, sunr_kb = meminfo_kb(m, "Slab"), meminfo_kb(m, "SUnreclaim")
    objs = [m.kmem_cache_alloc(c, GFP_KERNEL) for _ in range(12)]
    slabs = []
    for p in objs:
        d = slab_of(m, p)                       # type: ignore[arg-type]
        if d not in slabs:
            slabs.append(d)
    assert len(slabs) == 3
    # three one-page slabs (their descriptors come from size-64's existing slab)
    assert m.nodes[0].vm_stat[NodeStatItem.NR_SLAB_UNRECLAIMABLE_B] == node_b + 3
    assert (meminfo_kb(m, "Slab"), meminfo_kb(m, "SUnreclaim")) == (slab_kb + 12, sunr_kb + 12)
    for p in objs:
        m.kmem_cache_free(c, p)                 # type: ignore[arg-type]
    s.drain_cpu_caches(c)
    # A empties with 4 free objects (<= 7): kept; B and C would make 8: destroyed
    assert list(n.slabs_free) == [slabs[0]] and n.free_objects == 4
    assert not n.slabs_partial and not n.slabs_full
    assert all(s.virt_to_slab(d.addr) is None for d in slabs[1:])
    assert all(m.mem_map.page_type[d.pfn] != PGTY_SLAB for d in slabs[1:])
    assert all(d.mgmt not in c.slabp_cache.live for d in slabs[1:])   # type: ignore[union-attr]
    assert (meminfo_kb(m, "Slab"), meminfo_kb(m, "SUnreclaim")) == (slab_kb + 4, sunr_kb + 4)
    si = s.get_slabinfo(c)
    assert (si.active_objs, si.num_objs, si.active_slabs, si.num_slabs) == (0, 4, 0, 1)
    m.validate()


def test_reclaimable_cache_pages(m: Machine) -> None:
    c = m.kmem_cache_create("dentry-like", 3000, 0, SLAB_RECLAIM_ACCOUNT)
    before = meminfo_kb(m, "SReclaimable")
    p = m.kmem_cache_alloc(c, GFP_KERNEL)
    assert meminfo_kb(m, "SReclaimable") == before + 4       # one order-0 slab
    m.kmem_cache_free(c, p)                                   # type: ignore[arg-type]
    assert m.kmem_cache_shrink(c) == 0
    assert meminfo_kb(m, "SReclaimable") == before


def test_ctor_runs_for_every_object_at_cache_grow(m: Machine) -> None:
    calls: list[int] = []

    def ctor(mm: Machine, addr: int) -> None:
        calls.append(addr)
        mm.kernel_write(addr, b"ctor")

    c = m.kmem_cache_create("built", 64, 0, 0, ctor)
    p = m.kmem_cache_alloc(c, GFP_KERNEL)
    A = slab_of(m, p)                                         # type: ignore[arg-type]
    assert calls == [A.s_mem + 64 * i for i in range(59)]
    assert m.kernel_read(p, 4) == b"ctor"                     # type: ignore[arg-type]
    # with SLAB_POISON the constructor runs on allocation instead
    calls.clear()
    d = m.kmem_cache_create("built-poison", 64, 0, SLAB_POISON, ctor)
    q = m.kmem_cache_alloc(d, GFP_KERNEL)
    assert calls == [q]


# ---------------------------------------------------------------------------- kmalloc


def test_kmalloc_size_classes(m: Machine) -> None:
    s = sl(m)
    expect = {1: "size-32", 32: "size-32", 33: "size-64", 65: "size-128", 129: "size-192",
              193: "size-256", 257: "size-512", 4097: "size-8192", 131073: "size-262144",
              4194304: "size-4194304"}
    for size, name in expect.items():
        p = m.kmalloc(size, GFP_KERNEL)
        assert p is not None and s.virt_to_cache(p).name == name     # type: ignore[union-attr]
        assert m.ksize(p) == int(name[5:])
        assert m.kmalloc_size_roundup(size) == int(name[5:])
        m.kfree(p)
    q = m.kmalloc(100, GFP_KERNEL | GFP_DMA)
    assert s.virt_to_cache(q).name == "size-128(DMA)"                # type: ignore[union-attr, arg-type]
    assert m.page_zone(m.virt_to_pfn(q)).name == "DMA"                # type: ignore[arg-type]
    mark = m.log.mark()
    assert m.kmalloc(0, GFP_KERNEL) == ZERO_SIZE_PTR
    assert m.kmalloc((4 << 20) + 1, GFP_KERNEL) is None               # silently NULL
    assert m.log.since(mark) == ""
    m.kfree(None)
    m.kfree(ZERO_SIZE_PTR)
    assert (m.ksize(ZERO_SIZE_PTR), m.kmalloc_size_roundup(0),
            m.kmalloc_size_roundup(5 << 20)) == (0, 0, 5 << 20)
    assert s.kmalloc_slab(0, 0) is None and s.kmalloc_slab((4 << 20) + 1, 0) is None
    z = m.kzalloc(40, GFP_KERNEL)
    assert z is not None and m.kernel_read(z, 64) == bytes(64)
    r = m.krealloc(z, 60, GFP_KERNEL)
    assert r == z                                                      # still fits in 64
    r2 = m.krealloc(r, 100, GFP_KERNEL)
    assert s.virt_to_cache(r2).name == "size-128"                     # type: ignore[union-attr, arg-type]
    m.kfree(r2)
    m.validate()


def test_kmalloc_node_and_alien_arrays() -> None:
    m = Machine.boot(settings={"slab": "slab"}, mem="2G", cpus=2, nodes=2)
    s = sl(m)
    assert m.cpu_to_node == [0, 1] and s.use_alien_caches
    c = m.kmem_cache_create("numa", 128)
    alien = l3(c, 1).alien
    assert alien is not None and alien.caches[0] is not None and alien.caches[1] is None
    assert alien.caches[0].limit == 12                   # limit > 1 -> 12 entries
    p = m.kmem_cache_alloc(c, GFP_KERNEL)               # CPU 0: a node-0 slab
    assert slab_of(m, p).nodeid == 0                    # type: ignore[arg-type]
    held = list(ac(c, 1).entry)
    m.current_cpu = 1
    m.kmem_cache_free(c, p)                             # type: ignore[arg-type]
    assert alien.caches[0].entry == [p] and ac(c, 1).entry == held
    s.cache_reap(1)                                     # CPU 1 reaps node 0's alien array
    assert not alien.caches[0].entry and l3(c, 0).shared.entry == [p]  # type: ignore[union-attr]
    m.current_cpu = 0
    q = m.kmalloc_node(100, GFP_KERNEL, 1)
    assert q is not None and slab_of(m, q).nodeid == 1
    assert m.page_zone(slab_of(m, q).pfn).node == 1
    assert s.virt_to_cache(q).name == "size-128"        # type: ignore[union-attr]
    m.kfree(q)
    m.validate()


# ---------------------------------------------------------------------------- reaping, tuning


def test_cache_reap_arrays_and_free_slabs(m: Machine) -> None:
    s = sl(m)
    c = m.kmem_cache_create("reap", 64)
    a, n = ac(c), l3(c)
    p = m.kmem_cache_alloc(c, GFP_KERNEL)
    assert len(a.entry) == 15 and a.touched == 1
    s.cache_reap(0)                        # touched: only cleared
    assert len(a.entry) == 15 and a.touched == 0
    s.cache_reap(0)                        # (limit + 4) // 5 = 24 > 15: (15 + 1) // 2 = 8
    assert len(a.entry) == 7
    m.kmem_cache_free(c, p)                # type: ignore[arg-type]
    s.drain_cpu_caches(c)
    A = next(iter(n.slabs_free))
    assert n.free_touched == 1             # set when the refill found no partial slab
    m.clock_ns += n.next_reap * 4_000_000   # past next_reap (jiffies at HZ=250)
    s.cache_reap(0)
    assert n.free_touched == 0 and list(n.slabs_free) == [A]
    m.clock_ns += 5_000_000_000            # 1250 jiffies > REAPTIMEOUT_LIST3
    s.cache_reap(0)                        # (free_limit + 5*num - 1) // (5*num) = 1 slab
    assert not n.slabs_free and s.virt_to_slab(A.addr) is None
    m.validate()


def test_slabinfo_write_rules(m: Machine) -> None:
    s = sl(m)
    c = m.kmem_cache_create("tune", 64)
    objs = [m.kmem_cache_alloc(c, GFP_KERNEL) for _ in range(3)]
    m.kmem_cache_free(c, objs[0])          # type: ignore[arg-type]
    before = (c.limit, c.batchcount, c.shared)
    for text in ("tune 0 1 0", "tune 10 11 0", "tune 10 0 0", "tune 10 5 -1"):
        assert s.slabinfo_write(text) == len(text)          # accepted, silently ignored
        assert (c.limit, c.batchcount, c.shared) == before
    for text in ("nosuch 10 5 1", "tune", "tune 10 5", "tune x 5 1", "tune " + "1" * 124):
        assert s.slabinfo_write(text) == -22
    assert s.slabinfo_write("tune 10 5 2\n") == 12
    assert (c.limit, c.batchcount, c.shared) == (10, 5, 2)
    for cpu in (0, 1):
        assert (ac(c, cpu).limit, ac(c, cpu).batchcount, ac(c, cpu).entry) == (10, 5, [])
    n = l3(c)
    assert n.shared is not None and n.shared.limit == 10 and n.free_limit == 3 * 5 + 59
    # the old arrays' objects went back to the slab: only the two live objects are in use
    assert slab_of(m, objs[1]).inuse == 2                   # type: ignore[arg-type]
    line = next(ln for ln in m.proc("slabinfo").splitlines() if ln.startswith("tune "))
    assert line == ("tune                   2     59     64   59    1 : tunables   10    5"
                    "    2 : slabdata      1      1      0")
    m.validate()


def test_slabinfo_lines(m: Machine) -> None:
    c = m.kmem_cache_create("obj64", 64)
    m.kmem_cache_alloc(c, GFP_KERNEL)
    lines = m.proc("slabinfo").splitlines()
    assert lines[1] == ("# name            <active_objs> <num_objs> <objsize> <objperslab> "
                        "<pagesperslab> : tunables <limit> <batchcount> <sharedfactor> : "
                        "slabdata <active_slabs> <num_slabs> <sharedavail>")
    # newest first; the 16 refilled objects count as active (15 sit in the CPU array)
    assert lines[2] == ("obj64                 16     59     64   59    1 : tunables  120   60"
                        "    8 : slabdata      1      1      0")
    # every line is s_show()'s printf (names and sizes may overflow their widths)
    for ln in lines[2:]:
        f = ln.split()
        v = [int(x) for x in f[1:6] + f[8:11] + f[13:16]]
        kernel_fmt = "%-17s %6d %6d %6d %4d %4d : tunables %4d %4d %4d : slabdata %6d %6d %6d"
        assert ln == kernel_fmt % (f[0], *v)                  # noqa: UP031 (printf verbatim)
    assert lines[2 + 1].startswith("size-4194304(DMA)  ")     # 17 columns exceeded
    size32 = next(ln for ln in lines if ln.startswith("size-32 ")).split()
    assert size32[3:] == ["32", "112", "1", ":", "tunables", "120", "60", "8", ":",
                          "slabdata", size32[-3], size32[-2], "0"]


def test_accounting_error_message(m: Machine) -> None:
    c = m.kmem_cache_create("acct", 1000, 0, SLAB_HWCACHE_ALIGN)
    sl(m).slabinfo_write("acct 1 1 0")
    objs = [m.kmem_cache_alloc(c, GFP_KERNEL) for _ in range(4)]
    A = slab_of(m, objs[0])                                  # type: ignore[arg-type]
    assert l3(c).list_name(A) == "full"
    A.inuse = 3                                              # corrupt it by hand
    mark = m.log.mark()
    sl(m).get_slabinfo(c)
    assert new_lines(m, mark) == ["slab: cache acct error: slabs_full accounting error"]
    A.inuse = 4


# ---------------------------------------------------------------------------- shrink, destroy


def test_shrink_and_destroy(m: Machine) -> None:
    c = m.kmem_cache_create("gone", 200)
    objs = [m.kmem_cache_alloc(c, GFP_KERNEL) for _ in range(50)]
    assert m.kmem_cache_shrink(c) == 1                       # objects remain
    assert c.num == 19                                       # (4096-48)//204
    assert sl(m).get_slabinfo(c).num_slabs == 3              # 19 + 19 + 12 in use
    for p in objs:
        m.kmem_cache_free(c, p)                              # type: ignore[arg-type]
    keep = m.kmem_cache_alloc(c, GFP_KERNEL)
    mark = m.log.mark()
    m.kmem_cache_destroy(c)
    out = new_lines(m, mark)
    assert out[0] == "slab error in kmem_cache_destroy(): cache `gone': Can't free all objects"
    assert out[2:6] == STACK
    assert m.kmem_cache_lookup("gone") is c
    assert m.proc("slabinfo").splitlines()[2].startswith("gone ")   # back at the head
    si = sl(m).get_slabinfo(c)
    assert (si.active_objs, si.num_slabs) == (1, 1)          # drained and shrunk meanwhile
    m.kmem_cache_free(c, keep)                               # type: ignore[arg-type]
    m.kmem_cache_destroy(c)
    assert m.kmem_cache_lookup("gone") is None
    assert all(not ln.startswith("gone ") for ln in m.proc("slabinfo").splitlines())
    m.validate()


@pytest.mark.kernel_report
def test_create_errors_and_panic(m: Machine) -> None:
    mark = m.log.mark()
    assert m.kmem_cache_create("size-32", 32) is None
    out = new_lines(m, mark)
    assert out[0] == "kmem_cache_create: duplicate cache size-32" and out[2:6] == STACK
    mark = m.log.mark()
    assert m.kmem_cache_create("tiny", 4) is None            # below a word: early error
    out = new_lines(m, mark)
    assert out[:3] == ["kmem_cache_create: Early error in slab tiny",
                       "------------[ cut here ]------------",
                       f"kernel BUG at mm/slab.c:{slab_mod._LINE_CREATE_EARLY}!"]
    # 4 MiB + the user word: no order up to KMALLOC_MAX_ORDER holds one object
    mark = m.log.mark()
    assert m.kmem_cache_create("huge", 4 << 20, 0, SLAB_STORE_USER) is None
    assert new_lines(m, mark) == ["kmem_cache_create: couldn't create cache huge."]
    with pytest.raises(KernelPanic):
        m.kmem_cache_create("huge", 4 << 20, 0, SLAB_STORE_USER | SLAB_PANIC)
    assert "Kernel panic - not syncing: kmem_cache_create(): failed to create slab `huge'" \
        in m.dmesg()
    m.validate()


# ---------------------------------------------------------------------------- debugging


def test_debug_object_layout(m: Machine) -> None:
    c = m.kmem_cache_create("dbg", 40, 0, DEBUG)
    assert (c.obj_offset, c.obj_size, c.buffer_size, c.limit) == (8, 40, 64, 32)
    p = m.kmem_cache_alloc(c, GFP_KERNEL)
    assert p is not None and m.ksize(p) == 40
    raw = m.kernel_read(p - 8, 64)
    assert raw[:8] == RED_ACTIVE.to_bytes(8, "little")
    assert raw[8:48] == b"\x5a" * 39 + b"\xa5"                # POISON_INUSE, POISON_END
    assert raw[48:56] == RED_ACTIVE.to_bytes(8, "little")
    sym = c.last_user[p - 8]                                  # the allocating line
    assert sym.startswith("test_debug_object_layout+0x") and sym.endswith("/0x1000")
    assert raw[56:64] == slab_mod._caller_addr(sl(m), sym).to_bytes(8, "little")
    m.kmem_cache_free(c, p)
    raw = m.kernel_read(p - 8, 56)
    assert raw[:8] == raw[48:56] == RED_INACTIVE.to_bytes(8, "little")
    assert raw[8:48] == b"\x6b" * 39 + b"\xa5"                # POISON_FREE, POISON_END


@pytest.mark.kernel_report
def test_bufctl_double_free_report(m: Machine) -> None:
    c = m.kmem_cache_create("plain", 40)
    p = m.kmem_cache_alloc(c, GFP_KERNEL)
    m.kmem_cache_free(c, p)                                  # type: ignore[arg-type]
    mark = m.log.mark()
    m.kmem_cache_free(c, p)                                  # type: ignore[arg-type]
    out = new_lines(m, mark)
    assert out[:3] == [f"slab: double free detected in cache 'plain', objp {p:016x}",
                       "------------[ cut here ]------------",
                       f"kernel BUG at mm/slab.c:{slab_mod._LINE_SLAB_PUT_OBJ}!"]
    assert m.debug.reports[-1].splitlines()[:2] == out[:2]   # message and BUG: one report
    # nothing was queued twice
    assert ac(c).entry.count(p) == 1                          # type: ignore[arg-type]
    a, b = m.kmem_cache_alloc(c, GFP_KERNEL), m.kmem_cache_alloc(c, GFP_KERNEL)
    assert a == p and b != p
    m.validate()
    m2 = Machine.boot(settings={"slab": "slab"}, mem="1G", strict=True)
    c2 = m2.kmem_cache_create("plain", 40)
    q = m2.kmem_cache_alloc(c2, GFP_KERNEL)
    m2.kmem_cache_free(c2, q)                                 # type: ignore[arg-type]
    with pytest.raises(KernelBug):
        m2.kmem_cache_free(c2, q)                             # type: ignore[arg-type]
    m2.validate()


def test_redzone_double_free_and_overwrite_reports(m: Machine) -> None:
    c = m.kmem_cache_create("rz", 40, 0, SLAB_RED_ZONE)
    assert (c.obj_offset, c.buffer_size) == (8, 56)
    p = m.kmem_cache_alloc(c, GFP_KERNEL)
    assert p is not None
    m.kmem_cache_free(c, p)
    mark = m.log.mark()
    m.kmem_cache_free(c, p)
    out = new_lines(m, mark)
    assert out[0] == "slab error in verify_redzone_free(): cache `rz': double free detected"
    assert out[2:6] == STACK
    assert out[6:] == [f"{p - 8:016x}: redzone 1:0x9f911029d74e35b, "
                       f"redzone 2:0x9f911029d74e35b."]
    assert m.kmem_cache_alloc(c, GFP_KERNEL) == p
    m.kernel_write(p + 40, b"\x00")                           # one byte past the object
    mark = m.log.mark()
    m.kmem_cache_free(c, p)
    out = new_lines(m, mark)
    assert out[0] == ("slab error in verify_redzone_free(): cache `rz': memory outside object "
                      "was overwritten")
    assert out[6:] == [f"{p - 8:016x}: redzone 1:0xd84156c5635688c0, "
                       f"redzone 2:0xd84156c563568800."]
    # the free went through: the red zones are inactive again
    assert m.kernel_read(p + 40, 8) == RED_INACTIVE.to_bytes(8, "little")
    # a red zone of a free object overwritten: caught on the next allocation
    m.kernel_write(p - 8, b"\x01")
    mark = m.log.mark()
    assert m.kmem_cache_alloc(c, GFP_KERNEL) == p
    out = new_lines(m, mark)
    assert out[0] == ("slab error in cache_alloc_debugcheck_after(): cache `rz': double free, "
                      "or memory outside object was overwritten")
    assert out[6:] == [f"{p - 8:016x}: redzone 1:0x9f911029d74e301, "
                       f"redzone 2:0x9f911029d74e35b"]
    m.validate()


def test_use_after_free_poison_report(m: Machine) -> None:
    c = m.kmem_cache_create("uaf", 40, 0, SLAB_POISON)         # 92 per slab, no red zones
    assert (c.obj_offset, c.buffer_size, c.num) == (0, 40, 92)
    p = m.kmem_cache_alloc(c, GFP_KERNEL)
    assert p is not None
    m.kmem_cache_free(c, p)
    m.kernel_write(p + 3, b"\x6a")                            # one bit of 0x6b flipped
    m.kernel_write(p + 34, b"AB")
    mark = m.log.mark()
    assert m.kmem_cache_alloc(c, GFP_KERNEL) == p            # LIFO: the same object
    out = new_lines(m, mark)
    rest = " 6b" * 16
    assert out == [
        f"Slab corruption: uaf start={p:016x}, len=40",
        "000: 6b 6b 6b 6a" + " 6b" * 12,
        "Single bit error detected. Probably bad RAM.",
        "Run memtest86+ or a similar memory test tool.",
        "020: 6b 6b 41 42 6b 6b 6b a5",
        f"Prev obj: start={p - 40:016x}, len=40",
        "000:" + rest,
        "010:" + rest,
        f"Next obj: start={p + 40:016x}, len=40",
        "000:" + rest,
        "010:" + rest,
    ]
    assert m.kernel_read(p, 40) == b"\x5a" * 39 + b"\xa5"    # re-poisoned as in use
    assert m.debug.reports[-1].startswith("Slab corruption: uaf")


def test_poison_report_line_limit_and_skipped_byte(m: Machine) -> None:
    c = m.kmem_cache_create("wiped", 128, 0, SLAB_POISON)      # 30 per slab
    p = m.kmem_cache_alloc(c, GFP_KERNEL)
    q = m.kmem_cache_alloc(c, GFP_KERNEL)
    assert p is not None and q == p - 128
    m.kmem_cache_free(c, q)
    m.kmem_cache_free(c, p)
    m.kernel_memset(p, 0, 128)                                 # the whole object
    mark = m.log.mark()
    assert m.kmem_cache_alloc(c, GFP_KERNEL) == p
    out = new_lines(m, mark)
    # check_poison_obj() stops after its sixth line ("Limit to 5 lines", lines > 5)
    assert out[1:8] == [f"{off:03x}:" + " 00" * 16 for off in range(0, 96, 16)] + \
        [f"Prev obj: start={q:016x}, len=128"]
    # after a reported line the loop resumes one byte late: a lone bad first byte of the
    # next line goes unnoticed
    m.kernel_write(q, b"\x00")
    m.kernel_write(q + 16, b"\x00")
    mark = m.log.mark()
    assert m.kmem_cache_alloc(c, GFP_KERNEL) == q
    out = new_lines(m, mark)
    assert out[:2] == [f"Slab corruption: wiped start={q:016x}, len=128",
                       "000: 00" + " 6b" * 15]
    assert out[2].startswith("Prev obj:")


def test_poison_report_with_red_zone_and_last_user(m: Machine) -> None:
    c = m.kmem_cache_create("dbg", 40, 0, DEBUG)
    objs = [m.kmem_cache_alloc(c, GFP_KERNEL) for _ in range(3)]
    p = objs[1]
    assert p is not None
    m.kmem_cache_free(c, p)
    sym = c.last_user[p - 8]                                   # the freeing line
    assert sym.startswith("test_poison_report_with_red_zone_and_last_user+0x")
    user = slab_mod._caller_addr(sl(m), sym)
    m.kernel_write(p + 16, b"\x00" * 16)
    mark = m.log.mark()
    assert m.kmem_cache_alloc(c, GFP_KERNEL) == p
    out = new_lines(m, mark)
    assert out[:4] == [
        f"Slab corruption: dbg start={p:016x}, len=40",
        "Redzone: 0x9f911029d74e35b/0x9f911029d74e35b.",
        f"Last user: [<{user:016x}>]({sym})",
        "010:" + " 00" * 16,
    ]
    assert out[4] == f"Prev obj: start={p - 64:016x}, len=40"   # objects 15, 14, 13: LIFO
    assert out[5] == "Redzone: 0xd84156c5635688c0/0xd84156c5635688c0."
    assert out[7:9] == ["000:" + " 5a" * 16, "010:" + " 5a" * 16]


def test_ctor_overwrite_and_destroy_redzone_reports(m: Machine) -> None:
    hits: list[int] = []

    def sloppy(mm: Machine, addr: int) -> None:
        if not hits:
            mm.kernel_write(addr + 40, b"\xff")               # into the second red zone
        hits.append(addr)

    c = m.kmem_cache_create("sloppy", 40, 0, SLAB_RED_ZONE, sloppy)
    mark = m.log.mark()
    p = m.kmem_cache_alloc(c, GFP_KERNEL)
    out = new_lines(m, mark)
    assert out[0] == ("slab error in cache_init_objs(): cache `sloppy': constructor overwrote "
                      "the end of an object")
    assert len(out) == 6 and len(hits) == c.num
    m.kmem_cache_free(c, p)                                   # type: ignore[arg-type]
    mark = m.log.mark()
    assert m.kmem_cache_shrink(c) == 0
    out = new_lines(m, mark)
    assert out[0] == ("slab error in slab_destroy_debugcheck(): cache `sloppy': end of a freed "
                      "object was overwritten")
    assert len(out) == 6
    m.validate()


@pytest.mark.kernel_report
def test_bad_pointer_frees(m: Machine) -> None:
    c = m.kmem_cache_create("victim", 64)
    d = m.kmem_cache_create("other", 64)
    p = m.kmem_cache_alloc(c, GFP_KERNEL)
    assert p is not None
    cases = [
        (lambda: m.kfree(0xDEAD), ["kfree_debugcheck: out of range ptr deadh.",
                                   "------------[ cut here ]------------",
                                   f"kernel BUG at mm/slab.c:{slab_mod._LINE_KFREE_DEBUGCHECK}!"]),
        (lambda: m.kfree(sl(m).va_base + 4096 * 300),          # not a slab page
         ["------------[ cut here ]------------",
          f"kernel BUG at mm/slab.c:{slab_mod._LINE_PAGE_GET_CACHE}!"]),
        (lambda: m.kmem_cache_free(d, p),                       # the wrong cache
         ["------------[ cut here ]------------",
          f"kernel BUG at mm/slab.c:{slab_mod._LINE_FREE_DEBUGCHECK_CACHE}!"]),
        (lambda: m.kfree(p + 8),                                # not an object start
         ["------------[ cut here ]------------",
          f"kernel BUG at mm/slab.c:{slab_mod._LINE_FREE_DEBUGCHECK_OBJNR}!"]),
    ]
    for call, head in cases:
        mark = m.log.mark()
        call()
        assert new_lines(m, mark)[:len(head)] == head
    assert p in c.live
    m.kfree(p)
    assert p not in c.live
    m.validate()


def test_tracepoints() -> None:
    from memsim.trace.ftrace import FtraceWriter
    m = Machine.boot(settings={"slab": "slab"}, mem="1G", seed=3)
    w = FtraceWriter(m.tp.hasher, nr_cpus=m.nr_cpus)
    m.tp.attach_all(w)
    c = m.kmem_cache_create("tr", 100)
    a = m.kmem_cache_alloc(c, GFP_KERNEL)
    p = m.kmalloc(100, GFP_KERNEL)
    z = m.kmem_cache_alloc(c, GFP_KERNEL | __GFP_ZERO)
    m.kfree(p)
    m.kmem_cache_free(c, a)                                    # type: ignore[arg-type]
    m.kmem_cache_free(c, z)                                    # type: ignore[arg-type]
    lines = [ln for ln in w.lines() if "kmem" in ln or "kmalloc" in ln or "kfree" in ln]
    mine = [ln for ln in lines if "test_tracepoints" in ln]
    assert [ln.split(": ")[1] for ln in mine] == ["kmem_cache_alloc", "kmalloc",
                                                  "kmem_cache_alloc", "kfree",
                                                  "kmem_cache_free", "kmem_cache_free"]
    assert "name=tr bytes_req=104 bytes_alloc=104 gfp_flags=GFP_KERNEL node=-1 " \
        "accounted=false" in mine[0]
    assert "bytes_req=100 bytes_alloc=128 gfp_flags=GFP_KERNEL node=-1 accounted=false" \
        in mine[1]
    # the allocator's own allocations are traced too, with their call sites
    assert any("call_site=kmem_cache_create+0x0/0x0" in ln and "name=kmem_cache" in ln
               for ln in lines)
    assert any("call_site=alloc_arraycache+0x0/0x0" in ln for ln in lines)


def test_proc_write_slabinfo_tunables() -> None:
    m = Machine.boot(settings={"slab": "slab"}, mem="1G", cpus=2)
    assert m.proc_write("slabinfo", "size-64 40 20 4") == len("size-64 40 20 4")
    line = next(ln for ln in m.proc("slabinfo").splitlines() if ln.startswith("size-64 "))
    assert " : tunables   40   20    4 : " in line
    with pytest.raises(MemsimError, match="slabinfo"):
        m.proc_write("slabinfo", "no-such-cache 1 1 1")
    m2 = Machine.boot(mem="1G")
    with pytest.raises(MemsimError, match="not writable with SLUB"):
        m2.proc_write("slabinfo", "kmalloc-64 1 1 1")


def test_destroy_busy_reports_only_slab_error() -> None:
    m = Machine.boot(settings={"slab": "slab"}, mem="1G", cpus=2)
    s = m.kmem_cache_create("busy", 100)
    assert m.kmem_cache_alloc(s, GFP_KERNEL) is not None
    mark = m.log.mark()
    m.kmem_cache_destroy(s)
    text = m.log.since(mark)
    assert "slab error in kmem_cache_destroy(): cache `busy': Can't free all objects" in text
    assert "Slab cache still has objects" not in text
