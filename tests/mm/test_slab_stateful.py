"""Hypothesis state machines: random cache/kmalloc traffic over CPUs and nodes on SLUB and on
the classic SLAB, with flushes, shrinks and memory writes; every validator after each step,
and no object is ever handed out twice."""

from __future__ import annotations

from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule

from memsim.include.gfp import (
    __GFP_RECLAIMABLE,
    __GFP_ZERO,
    GFP_ATOMIC,
    GFP_DMA,
    GFP_KERNEL,
    GFP_KERNEL_ACCOUNT,
)
from memsim.include.slab import SLAB_HWCACHE_ALIGN, SLAB_RECLAIM_ACCOUNT
from memsim.machine import Machine

GFPS = [GFP_KERNEL, GFP_ATOMIC, GFP_KERNEL_ACCOUNT, GFP_KERNEL | __GFP_RECLAIMABLE,
        GFP_KERNEL | GFP_DMA, GFP_KERNEL | __GFP_ZERO]
ZERO = __GFP_ZERO          # a "__" name cannot be spelled inside the class body
SIZES = st.one_of(st.integers(1, 256), st.integers(257, 8192), st.integers(8193, 70000))


class SlabTraffic(RuleBasedStateMachine):
    """Objects never overlap, frees always succeed, the books always balance."""

    allocator = "slub"

    def __init__(self) -> None:
        super().__init__()
        self.m = Machine.boot(mem="256M", cpus=2, nodes=2, strict=True, slab=self.allocator)
        self.caches = [self.m.kmem_cache_create("st_a", 40),
                       self.m.kmem_cache_create("st_b", 700, 0, SLAB_HWCACHE_ALIGN),
                       self.m.kmem_cache_create("st_c", 3000, 0, SLAB_RECLAIM_ACCOUNT)]
        self.objs: list[tuple[int, int, object | None]] = []     # (addr, size, cache)
        self.spans: dict[int, int] = {}

    def _claim(self, addr: int, size: int) -> None:
        for a, n in self.spans.items():
            assert addr + size <= a or a + n <= addr, f"{addr:#x}+{size} overlaps {a:#x}+{n}"
        self.spans[addr] = size

    @rule(c=st.integers(0, 2), cpu=st.integers(0, 1), gfp=st.sampled_from(GFPS[:2]))
    def cache_alloc(self, c: int, cpu: int, gfp: int) -> None:
        self.m.current_cpu = cpu
        s = self.caches[c]
        p = self.m.kmem_cache_alloc(s, gfp)
        if p is not None:
            self._claim(p, s.object_size)
            self.objs.append((p, s.object_size, s))

    @rule(size=SIZES, cpu=st.integers(0, 1), gfp=st.sampled_from(GFPS))
    def kmalloc(self, size: int, cpu: int, gfp: int) -> None:
        self.m.current_cpu = cpu
        p = self.m.kmalloc(size, gfp)
        if p is not None:
            if gfp & ZERO:
                assert self.m.kernel_read(p, size) == bytes(size)
            self.m.kernel_write(p, b"\xa5" * min(size, 64))
            self._claim(p, size)
            self.objs.append((p, size, None))

    @precondition(lambda self: bool(self.objs))
    @rule(i=st.integers(0, 10_000), cpu=st.integers(0, 1))
    def free(self, i: int, cpu: int) -> None:
        self.m.current_cpu = cpu
        p, _size, s = self.objs.pop(i % len(self.objs))
        del self.spans[p]
        if s is None:
            self.m.kfree(p)
        else:
            self.m.kmem_cache_free(s, p)

    @rule(c=st.integers(0, 2))
    def shrink(self, c: int) -> None:
        self.m.kmem_cache_shrink(self.caches[c])

    @invariant()
    def consistent(self) -> None:
        self.m.validate()


class SlabTrafficSLAB(SlabTraffic):
    allocator = "slab"


TestSlubTraffic = SlabTraffic.TestCase
TestSlubTraffic.settings = settings(max_examples=15, stateful_step_count=30, deadline=None)
TestSlabTraffic = SlabTrafficSLAB.TestCase
TestSlabTraffic.settings = settings(max_examples=15, stateful_step_count=30, deadline=None)
