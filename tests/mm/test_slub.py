"""SLUB (mm/slub.py) and the common slab layer (mm/slab_common.py): geometry against the
real 6.18 slabinfo, list movement, kmalloc family, merging, debugging reports."""

from __future__ import annotations

import re

import pytest

from conftest import shared_path
from memsim.errors import KernelBug, KernelPanic
from memsim.include.gfp import (
    __GFP_RECLAIMABLE,
    GFP_DMA,
    GFP_KERNEL,
    GFP_KERNEL_ACCOUNT,
    GFP_NOWAIT,
)
from memsim.include.slab import (
    KMALLOC_MAX_SIZE,
    SLAB_ACCOUNT,
    SLAB_CONSISTENCY_CHECKS,
    SLAB_HWCACHE_ALIGN,
    SLAB_PANIC,
    SLAB_POISON,
    SLAB_RECLAIM_ACCOUNT,
    SLAB_RED_ZONE,
    SLAB_STORE_USER,
    ZERO_SIZE_PTR,
    kmalloc_index,
)
from memsim.machine import Machine
from memsim.mm.slub import Slub

DEBUG = SLAB_CONSISTENCY_CHECKS | SLAB_RED_ZONE | SLAB_POISON | SLAB_STORE_USER


@pytest.fixture
def m() -> Machine:
    return Machine.boot(mem="1G", cpus=2)


def slub(m: Machine) -> Slub:
    assert isinstance(m.slab, Slub)
    return m.slab


def meminfo_kb(m: Machine, key: str) -> int:
    for line in m.proc("meminfo").splitlines():
        if line.startswith(key + ":"):
            return int(line.split()[1])
    raise KeyError(key)


# ---------------------------------------------------------------------------- geometry


def _sample_slabinfo() -> dict[str, tuple[int, int, int]]:
    out = {}
    for line in shared_path("data", "proc-6.18-x86_64", "slabinfo").read_text().splitlines()[2:]:
        f = line.split()
        out[f[0]] = (int(f[3]), int(f[4]), int(f[5]))
    return out


def test_kmalloc_geometry_equals_real_slabinfo(m: Machine) -> None:
    sample = _sample_slabinfo()
    ours = {}
    for line in m.proc("slabinfo").splitlines()[2:]:
        f = line.split()
        ours[f[0]] = (int(f[3]), int(f[4]), int(f[5]))
    names = [n for n in sample if re.fullmatch(r"(dma-)?kmalloc(-cg|-rcl)?-\d+k?", n)]
    assert len(names) == 52
    for name in names:
        assert ours[name] == sample[name], name


def test_slabinfo_format_matches_sample(m: Machine) -> None:
    sample = shared_path("data", "proc-6.18-x86_64", "slabinfo").read_text().splitlines()
    text = m.proc("slabinfo").splitlines()
    assert text[:2] == sample[:2]
    # every line has the sample's column layout (same widths for the same numbers)
    line = next(ln for ln in text if ln.startswith("kmalloc-cg-8k "))
    assert line == ("kmalloc-cg-8k          0      0   8192    4    8 : tunables    0    0"
                    "    0 : slabdata      0      0      0")
    # newest first: the kmalloc types in reverse creation order, the boot caches last
    names = [ln.split()[0] for ln in text[2:]]
    assert names[:2] == ["kmalloc-cg-8k", "kmalloc-cg-4k"]
    assert names[-4:] == ["kmalloc-192", "kmalloc-96", "kmem_cache", "kmem_cache_node"]


@pytest.mark.parametrize(("cpus", "expect"), [
    (1, {192: (0, 21), 256: (0, 16), 512: (0, 8), 1024: (1, 8), 2048: (2, 8)}),
    (2, {192: (0, 21), 256: (0, 16), 512: (1, 16), 1024: (2, 16), 2048: (3, 16)}),
    (8, {192: (0, 21), 256: (1, 32), 512: (2, 32), 1024: (3, 32), 2048: (3, 16)}),
    (16, {192: (1, 42), 256: (1, 32), 512: (2, 32), 1024: (3, 32), 4096: (3, 8)}),
])
def test_calculate_order_table(cpus: int, expect: dict[int, tuple[int, int]]) -> None:
    m = Machine.boot(mem="1G", cpus=cpus)
    for size, (order, objs) in expect.items():
        s = slub(m).kmalloc_caches[0][kmalloc_index(size)]
        assert s is not None
        assert (s.oo_order, s.oo_objects) == (order, objs), size


def test_debug_layout_kmalloc64_example() -> None:
    # reference §7.3: slab_debug=FZPU makes kmalloc-64 a 256-byte stride
    m = Machine.boot(mem="1G", settings={"slab_debug": ""})
    s = m.kmem_cache_lookup("kmalloc-64")
    assert (s.object_size, s.inuse, s.offset, s.red_left_pad, s.size) == (64, 72, 72, 64, 256)
    assert "slab_debug" in m.dmesg().splitlines()[1]


def test_layout_fields() -> None:
    m = Machine.boot(mem="1G")
    s = m.kmem_cache_create("plain", 100)
    assert (s.size, s.inuse, s.offset, s.align) == (104, 104, 48, 8)
    s = m.kmem_cache_create("ctor", 96, ctor=lambda m, p: None)
    assert (s.size, s.offset) == (104, 96)       # free pointer outside: anon_vma's 104
    s = m.kmem_cache_create("hw", 100, flags=SLAB_HWCACHE_ALIGN)
    assert (s.size, s.align) == (128, 64)
    s = m.kmem_cache_create("hw20", 20, flags=SLAB_HWCACHE_ALIGN)
    assert (s.size, s.align) == (32, 32)
    assert (s.min_partial, s.cpu_partial) == (5, 120)
    big = m.kmem_cache_create("big", 3000)
    assert (big.min_partial, big.cpu_partial, big.oo_order, big.oo_objects) == (5, 24, 3, 10)
    assert big.cpu_partial_slabs == 5


# ---------------------------------------------------------------------------- fast/slow paths


def test_cpu_slab_then_partial_lists(m: Machine) -> None:
    s = m.kmem_cache_create("t64", 64)            # 64 objects per order-0 slab
    objs = [m.kmem_cache_alloc(s, GFP_KERNEL) for _ in range(64 * 3)]
    assert all(o is not None for o in objs)
    c = s.cpu_slab[0]
    # three slabs, the last is the CPU slab, its freelist empty; the full ones on no list
    assert s.node[0].nr_slabs == 3 and c.slab is not None and not c.freelist
    assert s.node[0].nr_partial == 0 and not c.partial
    # object order inside a slab is address order
    assert objs[1] - objs[0] == 64
    first_slab = slub(m).virt_to_slab(objs[0])
    assert first_slab is not None and not first_slab.frozen
    # free into a full slab that is not the CPU slab -> the CPU partial list
    m.kmem_cache_free(s, objs[0])
    assert c.partial == [first_slab] and first_slab.slabs == 1
    assert first_slab.inuse == 63 and first_slab.freelist == [objs[0]]
    # a second one is pushed at the head with slabs = 2
    m.kmem_cache_free(s, objs[64])
    assert c.partial[-1].slabs == 2
    # slabinfo: CPU-partial free objects count as active
    si = slub(m).get_slabinfo(s)
    assert (si.active_objs, si.num_objs, si.num_slabs) == (192, 192, 3)
    # flushing moves them to the node partial list (tail order = list order)
    slub(m).flush_all(s)
    assert s.node[0].nr_partial == 2
    si = slub(m).get_slabinfo(s)
    assert (si.active_objs, si.num_objs) == (190, 192)


def test_refill_from_cpu_partial_and_node_partial(m: Machine) -> None:
    s = m.kmem_cache_create("t128", 128)          # 32 per slab
    objs = [m.kmem_cache_alloc(s, GFP_KERNEL) for _ in range(64)]
    c = s.cpu_slab[0]
    m.kmem_cache_free(s, objs[3])                  # slab 0 goes to CPU partial
    # the CPU slab (slab 1) is full; next allocation takes slab 0 from the CPU partial list
    got = m.kmem_cache_alloc(s, GFP_KERNEL)
    assert got == objs[3]
    assert c.slab is slub(m).virt_to_slab(objs[0]) and not c.partial


def test_empty_slabs_freed_beyond_min_partial(m: Machine) -> None:
    s = m.kmem_cache_create("t2k", 2048)           # order 3, 16 per slab, min_partial 5
    free0 = m.nr_free_pages() + m.nr_pcp_pages()
    objs = [m.kmem_cache_alloc(s, GFP_KERNEL) for _ in range(16 * 10)]
    assert s.node[0].nr_slabs == 10
    assert m.nr_free_pages() + m.nr_pcp_pages() == free0 - 80
    for o in objs:
        m.kmem_cache_free(s, o)
    slub(m).flush_all(s)
    # node partial keeps min_partial empty slabs, the rest went back to the buddy allocator
    assert s.node[0].nr_slabs == s.node[0].nr_partial == s.min_partial == 5
    assert slub(m).kmem_cache_shrink(s) == 0
    assert s.node[0].nr_slabs == 0
    assert m.nr_free_pages() + m.nr_pcp_pages() == free0
    m.validate()


def test_slab_pages_are_compound_slab_typed_and_accounted(m: Machine) -> None:
    before = meminfo_kb(m, "SUnreclaim")
    s = m.kmem_cache_create("pg", 1024)             # order 2
    o = m.kmem_cache_alloc(s, GFP_KERNEL)
    slab = slub(m).virt_to_slab(o)
    assert slab is not None and slab.order == 2
    assert m.mem_map.page_type[slab.pfn] == 0xF5
    assert meminfo_kb(m, "SUnreclaim") == before + 16
    r = m.kmem_cache_create("rc", 1024, flags=SLAB_RECLAIM_ACCOUNT)
    before_r = meminfo_kb(m, "SReclaimable")
    o2 = m.kmem_cache_alloc(r, GFP_KERNEL)
    assert meminfo_kb(m, "SReclaimable") == before_r + 16
    assert r.allocflags & __GFP_RECLAIMABLE
    pfn = slub(m).virt_to_slab(o2).pfn            # type: ignore[union-attr]
    assert m.pageblock_mt[pfn >> m.pageblock_order] == 2      # MIGRATE_RECLAIMABLE


def test_alloc_bulk_and_zalloc(m: Machine) -> None:
    s = m.kmem_cache_create("bulk", 32)
    objs = m.kmem_cache_alloc_bulk(s, GFP_KERNEL, 300)
    assert len(set(objs)) == 300
    m.kernel_write(objs[-1], b"\xff" * 32)
    m.kmem_cache_free_bulk(s, objs)
    z = m.kmem_cache_zalloc(s, GFP_KERNEL)
    assert z == objs[-1] and m.kernel_read(z, 32) == bytes(32)


def test_ctor_runs_once_per_object_at_slab_creation(m: Machine) -> None:
    calls: list[int] = []
    s = m.kmem_cache_create("ct", 256, ctor=lambda mm, p: calls.append(p))
    a = m.kmem_cache_alloc(s, GFP_KERNEL)
    assert len(calls) == s.oo_objects and calls[0] == a
    m.kmem_cache_free(s, a)
    m.kmem_cache_alloc(s, GFP_KERNEL)
    assert len(calls) == s.oo_objects


def test_cpus_have_their_own_slabs(m: Machine) -> None:
    s = m.kmem_cache_create("percpu", 64)
    a = m.kmem_cache_alloc(s, GFP_KERNEL)
    m.current_cpu = 1
    b = m.kmem_cache_alloc(s, GFP_KERNEL)
    assert slub(m).virt_to_slab(a) is not slub(m).virt_to_slab(b)
    m.kmem_cache_free(s, a)          # remote free into CPU 0's frozen slab
    slab_a = slub(m).virt_to_slab(a)
    assert slab_a is not None and slab_a.freelist == [a] and slab_a.frozen
    m.current_cpu = 0
    # CPU 0 takes the remote free back once its own freelist (63 left) runs dry
    rest = [m.kmem_cache_alloc(s, GFP_KERNEL) for _ in range(64)]
    assert a not in rest[:63] and rest[63] == a


# ---------------------------------------------------------------------------- kmalloc


def test_kmalloc_size_classes_and_types(m: Machine) -> None:
    sl = slub(m)
    for size, name in ((1, "kmalloc-8"), (8, "kmalloc-8"), (9, "kmalloc-16"),
                       (65, "kmalloc-96"), (97, "kmalloc-128"), (129, "kmalloc-192"),
                       (193, "kmalloc-256"), (4097, "kmalloc-8k"), (8192, "kmalloc-8k")):
        p = m.kmalloc(size, GFP_KERNEL)
        assert p is not None and sl.virt_to_cache(p).name == name, size  # type: ignore[union-attr]
    for gfp, name in ((GFP_KERNEL_ACCOUNT, "kmalloc-cg-64"),
                      (GFP_KERNEL | __GFP_RECLAIMABLE, "kmalloc-rcl-64"),
                      (GFP_KERNEL | GFP_DMA, "dma-kmalloc-64"),
                      (GFP_KERNEL_ACCOUNT | __GFP_RECLAIMABLE, "kmalloc-rcl-64")):
        p = m.kmalloc(60, gfp)
        assert sl.virt_to_cache(p).name == name  # type: ignore[arg-type, union-attr]
    p = m.kmalloc(60, GFP_KERNEL | GFP_DMA)
    assert p is not None and m.page_zone(m.virt_to_pfn(p)).name == "DMA"


@pytest.mark.kernel_report
def test_kmalloc_zero_null_large_and_too_large(m: Machine) -> None:
    assert m.kmalloc(0, GFP_KERNEL) == ZERO_SIZE_PTR
    m.kfree(None)
    m.kfree(ZERO_SIZE_PTR)
    before = meminfo_kb(m, "SUnreclaim")
    p = m.kmalloc(20000, GFP_KERNEL)
    assert p is not None and m.ksize(p) == 32768
    assert meminfo_kb(m, "SUnreclaim") == before + 32
    m.kfree(p)
    assert meminfo_kb(m, "SUnreclaim") == before
    assert m.kmalloc(KMALLOC_MAX_SIZE + 1, GFP_KERNEL) is None
    assert "WARNING: CPU: 0 PID: 1 at mm/page_alloc.c:4832 __alloc_pages_noprof" in m.dmesg()
    assert m.kmalloc(KMALLOC_MAX_SIZE, GFP_KERNEL) is not None


def test_kmalloc_wrappers(m: Machine) -> None:
    p = m.kmalloc(50, GFP_KERNEL)
    assert p is not None
    m.kernel_write(p, b"hello world")
    assert m.ksize(p) == 64
    q = m.krealloc(p, 60, GFP_KERNEL)
    assert q == p                                       # still fits
    r = m.krealloc(p, 200, GFP_KERNEL)
    assert r is not None and r != p
    assert m.kernel_read(r, 11) == b"hello world"
    assert slub(m).virt_to_cache(p) is not None and p not in m.kmem_cache_lookup("kmalloc-64").live
    assert m.krealloc(r, 0, GFP_KERNEL) == ZERO_SIZE_PTR
    z = m.kzalloc(100, GFP_KERNEL)
    assert z is not None and m.kernel_read(z, 100) == bytes(100)
    assert m.kcalloc(1 << 62, 8, GFP_KERNEL) is None
    c = m.kcalloc(10, 12, GFP_KERNEL)
    assert c is not None and slub(m).virt_to_cache(c).name == "kmalloc-128"  # type: ignore[union-attr]
    s = m.kmalloc(32, GFP_KERNEL)
    assert s is not None
    m.kernel_write(s, b"secret" * 5)
    m.kfree_sensitive(s)
    assert m.kernel_read(s, 30) == bytes(30)
    assert [m.kmalloc_size_roundup(n) for n in (0, 1, 65, 200, 8193, 5 << 20)] == \
        [0, 8, 96, 256, 16384, 5 << 20]
    assert m.kmalloc_node(64, GFP_KERNEL, 0) is not None


# ---------------------------------------------------------------------------- merging


def test_cache_merging(m: Machine) -> None:
    a = m.kmem_cache_create("merge_a", 200)
    b = m.kmem_cache_create("merge_b", 196)       # same stride -> alias of a
    assert b is a and a.refcount == 2 and a.aliases == ["merge_b"]
    assert m.kmem_cache_lookup("merge_b") is a
    assert "merge_b" not in m.proc("slabinfo")
    c = m.kmem_cache_create("merge_c", 200, ctor=lambda mm, p: None)
    assert c is not a
    d = m.kmem_cache_create("merge_d", 200, flags=SLAB_ACCOUNT)
    assert d is not a                              # SLAB_MERGE_SAME flags differ
    e = m.kmem_cache_create("merge_e", 200, flags=SLAB_POISON)
    assert e is not a and e is not d               # SLAB_NEVER_MERGE
    # kmalloc caches are never merge targets (usersize with HARDENED_USERCOPY)
    f = m.kmem_cache_create("merge_f", 64)
    assert f.name == "merge_f"
    assert m.proc("sys/kernel/slab/merge_a/aliases") == "1\n"
    m.kmem_cache_destroy(b)
    assert a in slub(m).slab_caches and a.refcount == 1


def test_sysfs_view(m: Machine) -> None:
    s = m.kmem_cache_create("view", 512)
    objs = [m.kmem_cache_alloc(s, GFP_KERNEL) for _ in range(20)]
    m.kmem_cache_free(s, objs[0])
    attrs = slub(m).sysfs_attrs(s)
    assert attrs["order"] == "1" and attrs["objs_per_slab"] == "16"
    assert attrs["slabs"] == "2 N0=2" and attrs["cpu_slabs"] == "2 N0=2"
    assert attrs["slabs_cpu_partial"] == "8(1) C0=8(1)"
    assert m.proc("/sys/kernel/slab/view/object_size") == "512\n"


# ---------------------------------------------------------------------------- debugging


@pytest.mark.kernel_report
def test_double_free_reported_not_corrupting(m: Machine) -> None:
    s = m.kmem_cache_create("df", 64)
    a = m.kmem_cache_alloc(s, GFP_KERNEL)
    b = m.kmem_cache_alloc(s, GFP_KERNEL)
    m.kmem_cache_free(s, a)
    mark = m.log.mark()
    m.kmem_cache_free(s, a)                   # a is the freelist head: the hardened BUG_ON
    assert "kernel BUG at mm/slub.c:550!" in m.log.since(mark)
    m.kmem_cache_free(s, b)
    mark = m.log.mark()
    m.kmem_cache_free(s, a)                   # not the head any more
    text = m.log.since(mark)
    assert "BUG df (Tainted: " in text and "): Object already free" in text
    assert len({m.kmem_cache_alloc(s, GFP_KERNEL) for _ in range(64)}) == 64
    m.validate()


@pytest.mark.kernel_report
def test_invalid_pointer_and_wrong_cache(m: Machine) -> None:
    s = m.kmem_cache_create("ip", 64)
    t = m.kmem_cache_create("ip2", 128)
    a = m.kmem_cache_alloc(s, GFP_KERNEL)
    mark = m.log.mark()
    m.kmem_cache_free(s, a + 8)
    assert re.search(r"BUG ip \(Not tainted\): Invalid object pointer 0x[0-9a-f]{16}\n",
                     m.log.since(mark))
    assert a in s.live
    mark = m.log.mark()
    m.kmem_cache_free(t, a)
    assert "kmem_cache_free: Wrong slab cache. ip2 but object is from ip\n" in m.log.since(mark)
    assert a not in s.live                    # freed to its real cache, as the kernel does
    p = m.get_free_page(GFP_KERNEL)
    assert p is not None
    mark = m.log.mark()
    m.kfree(p)                                # not a slab object, not a large kmalloc
    assert "at mm/slub.c:4799 free_large_kmalloc" in m.log.since(mark)
    assert m.page_count(m.virt_to_pfn(p)) == 1


@pytest.mark.kernel_report
def test_strict_mode_raises(m: Machine) -> None:
    m2 = Machine.boot(mem="1G", strict=True)
    s = m2.kmem_cache_create("strict", 64)
    a = m2.kmem_cache_alloc(s, GFP_KERNEL)
    m2.kmem_cache_alloc(s, GFP_KERNEL)
    m2.kmem_cache_free(s, a)
    m2.kmem_cache_alloc(s, GFP_KERNEL)
    b = m2.kmem_cache_alloc(s, GFP_KERNEL)
    m2.kmem_cache_free(s, b)
    c = m2.kmem_cache_alloc(s, GFP_KERNEL)
    m2.kmem_cache_free(s, c)
    with pytest.raises(KernelBug):
        m2.kmem_cache_free(s, c)


@pytest.mark.kernel_report
def test_redzone_overwrite_detected_on_free(m: Machine) -> None:
    s = m.kmem_cache_create("rz", 64, flags=DEBUG)
    assert (s.size, s.red_left_pad, s.inuse) == (160, 8, 72)
    a = m.kmem_cache_alloc(s, GFP_KERNEL)
    assert m.kernel_read(a - 8, 8) == b"\xcc" * 8            # active left red zone
    m.kernel_write(a + 64, b"\x00\x01")                       # 2-byte overflow
    mark = m.log.mark()
    m.kmem_cache_free(s, a)
    text = m.log.since(mark)
    lines = text.splitlines()
    assert re.fullmatch(r"\[Right Redzone overwritten\] 0x[0-9a-f]{16}-0x[0-9a-f]{16} "
                        r"@offset=72\. First byte 0x0 instead of 0xcc", lines[0])
    assert lines[1] == "=" * 77
    assert lines[2] == "BUG rz (Not tainted): Object corrupt"
    assert lines[3] == "-" * 77
    assert re.search(r"^Allocated in \S+\+0x[0-9a-f]+/0x1000 age=0 cpu=0 pid=1$", text, re.M)
    assert re.search(r"^Object 0x[0-9a-f]{16} @offset=8 fp=0x0000000000000000$", text, re.M)
    assert re.search(r"^Redzone  [0-9a-f]{16}: 00 01 cc cc cc cc cc cc {26}\.\.\.\.\.\.\.\.$",
                     text, re.M)
    assert "WARNING: CPU: 0 PID: 1 at mm/slub.c:1127 object_err" in text
    assert re.search(r"^FIX rz: Restoring Right Redzone 0x[0-9a-f]{16}-0x[0-9a-f]{16}=0xcc$",
                     text, re.M)
    assert re.search(r"^FIX rz: Object at 0x[0-9a-f]{16} not freed$", text, re.M)
    # the red zone was restored: a second free succeeds
    m.kmem_cache_free(s, a)
    assert a not in s.live
    assert m.kernel_read(a, 64) == b"\x6b" * 63 + b"\xa5"


@pytest.mark.kernel_report
def test_use_after_free_poison_detected_on_next_alloc(m: Machine) -> None:
    s = m.kmem_cache_create("uaf", 64, flags=DEBUG)
    a = m.kmem_cache_alloc(s, GFP_KERNEL)
    m.kmem_cache_free(s, a)
    m.kernel_write(a + 8, b"AB")
    mark = m.log.mark()
    b = m.kmem_cache_alloc(s, GFP_KERNEL)
    text = m.log.since(mark)
    assert "[Poison overwritten] " in text and \
        "@offset=16. First byte 0x41 instead of 0x6b" in text
    assert "Freed in " in text
    assert re.search(r"^Object   [0-9a-f]{16}: 6b 6b 6b 6b 6b 6b 6b 6b 41 42 6b 6b 6b 6b 6b 6b"
                     r"  kkkkkkkkABkkkkkk$", text, re.M)
    assert "FIX uaf: Marking all objects used" in text
    # the corrupted slab is isolated; the allocation came from a fresh slab
    assert b is not None and slub(m).virt_to_slab(b) is not slub(m).virt_to_slab(a)
    assert m.debug.taints == {"B", "W"}


@pytest.mark.kernel_report
def test_kmalloc_redzone_and_padding(m: Machine) -> None:
    m = Machine.boot(mem="1G", settings={"slab_debug": "FZPU,kmalloc-32"})
    s = m.kmem_cache_lookup("kmalloc-32")
    assert s.flags & SLAB_RED_ZONE
    assert m.kmem_cache_lookup("kmalloc-64").flags & SLAB_RED_ZONE == 0
    p = m.kmalloc(20, GFP_KERNEL)
    assert p is not None
    assert m.kernel_read(p + 20, 12) == b"\xcc" * 12          # kmalloc Redzone
    m.kernel_write(p + 20, b"x")                               # within object_size!
    mark = m.log.mark()
    m.kfree(p)
    text = m.log.since(mark)
    assert "[kmalloc Redzone overwritten] " in text
    # raw pointers with slab_debug= (no_hash_pointers)
    assert f"Object 0x{p:016x} @offset=" in text
    # slab tail padding: kmalloc-32 with debug has a remainder in the page
    slab = slub(m).virt_to_slab(p)
    assert slab is not None
    tail = slab.addr + 4096 - (4096 % s.size)
    assert 4096 % s.size
    m.kernel_write(tail, b"\x00")
    mark = m.log.mark()
    slub(m).validate_slab_cache(s)
    text = m.log.since(mark)
    assert re.search(r"^BUG kmalloc-32 \(Tainted: [ A-Z]+\): Padding overwritten\. "
                     rf"0x{tail:016x}-0x{tail:016x} @offset={tail - slab.addr}$", text, re.M)


@pytest.mark.kernel_report
def test_destroy_with_live_objects(m: Machine) -> None:
    s = m.kmem_cache_create("leak", 128)
    objs = [m.kmem_cache_alloc(s, GFP_KERNEL) for _ in range(40)]
    for o in objs[:35]:
        m.kmem_cache_free(s, o)
    mark = m.log.mark()
    m.kmem_cache_destroy(s)
    text = m.log.since(mark)
    assert "): Objects remaining in leak on __kmem_cache_shutdown()" in text
    assert text.count("Object 0x") == 5
    assert "kmem_cache_destroy leak: Slab cache still has objects when called from " \
        "test_destroy_with_live_objects+0x" in text
    assert s in slub(m).slab_caches
    for o in objs[35:]:
        m.kmem_cache_free(s, o)
    mark = m.log.mark()
    m.kmem_cache_destroy(s)
    assert m.log.since(mark) == "" and s not in slub(m).slab_caches


@pytest.mark.kernel_report
def test_create_errors_and_panic(m: Machine) -> None:
    assert m.kmem_cache_create("huge", KMALLOC_MAX_SIZE + 1) is None
    assert "kmem_cache_create(huge) integrity check failed" in m.dmesg()
    m.kmem_cache_create("dup", 64)
    m.kmem_cache_create("dup", 64)
    assert "kmem_cache of name 'dup' already exists" in m.dmesg()
    with pytest.raises(KernelPanic, match="Failed to create slab 'boom'"):
        m.kmem_cache_create("boom", KMALLOC_MAX_SIZE + 1, flags=SLAB_PANIC)


def test_tracepoints_and_determinism() -> None:
    def run() -> list[str]:
        from memsim.trace.ftrace import FtraceWriter
        m = Machine.boot(mem="1G", seed=3)
        w = FtraceWriter(m.tp.hasher, nr_cpus=m.nr_cpus)
        m.tp.attach_all(w)
        s = m.kmem_cache_create("tr", 100)
        a = m.kmem_cache_alloc(s, GFP_KERNEL)
        p = m.kmalloc(100, GFP_NOWAIT)
        m.kfree(p)
        m.kmem_cache_free(s, a)
        return list(w.lines())

    lines = run()
    assert lines == run()
    kinds = [ln.split(": ")[1] for ln in lines if "kmem_cache" in ln or "kmalloc" in ln
             or "kfree" in ln]
    assert kinds == ["kmem_cache_alloc", "kmalloc", "kfree", "kmem_cache_free"]
    kca = next(ln for ln in lines if "kmem_cache_alloc:" in ln)
    assert "name=tr bytes_req=100 bytes_alloc=104 gfp_flags=GFP_KERNEL node=-1 " \
        "accounted=false" in kca
    km = next(ln for ln in lines if "kmalloc:" in ln)
    assert "bytes_req=100 bytes_alloc=128 gfp_flags=GFP_NOWAIT node=-1 accounted=false" in km


def test_shrink_all_and_validate(m: Machine) -> None:
    objs = [m.kmalloc(n, GFP_KERNEL) for n in range(1, 3000, 7)]
    for p in objs:
        m.kfree(p)
    caches = slub(m).slab_caches

    def pages() -> int:
        return sum(s.node[0].nr_slabs << s.oo_order for s in caches)

    before = pages()
    freed = slub(m).shrink_all()
    # every slab left holds a live object (boot's cache structs and vm_structs); all the
    # empty ones went back to the page allocator
    assert freed > 0 and freed == before - pages()
    for s in caches:
        for sl in s.node[0].partial:
            assert sl.inuse > 0, s.name
        si = slub(m).get_slabinfo(s)
        assert si.num_objs - si.active_objs < s.oo_objects, s.name
    m.validate()


def test_slabtop_summary(m: Machine) -> None:
    from memsim.cli.proc import slabtop
    s = m.kmem_cache_create("top", 1000)
    objs = [m.kmem_cache_alloc(s, GFP_KERNEL) for _ in range(40)]
    assert len(objs) == 40
    text = slabtop(m.proc("slabinfo"))
    lines = text.splitlines()
    # boot's objects: the cache structs, and kmalloc-96 holding the vm_structs of the
    # vmap'd IRQ stacks
    assert lines[0] == " Active / Total Objects (% used)    : 218 / 218 (100.0%)"
    assert lines[2] == " Active / Total Caches (% used)     : 4 / 55 (7.3%)"
    assert lines[6] == "  OBJS ACTIVE  USE OBJ SIZE  SLABS OBJ/SLAB CACHE SIZE NAME"
    assert lines[7] == "    64     64 100%    0.25K      4       16        16K kmem_cache"
    assert "    48     48 100%    0.98K      3       16        48K top" in lines
    assert "    42     42 100%    0.09K      1       42         4K kmalloc-96" in lines


def test_kvmalloc_uses_kmalloc_quietly(m: Machine) -> None:
    p = m.kvmalloc(100, GFP_KERNEL)
    assert p is not None and slub(m).virt_to_cache(p).name == "kmalloc-128"  # type: ignore[union-attr]
    z = m.kvzalloc(50000, GFP_KERNEL)
    assert z is not None and m.ksize(z) == 65536 and m.kernel_read(z, 50000) == bytes(50000)
    m.kvfree(p)
    m.kvfree(z)
    mark = m.log.mark()
    # kmalloc fails without a warning (__GFP_NOWARN), then vmalloc takes over
    big = m.kvmalloc(64 << 20, GFP_KERNEL)
    assert big is not None and m.is_vmalloc_addr(big)
    assert m.log.since(mark) == ""
    m.kvfree(big)
