"""Hypothesis state machine: random alloc/free sequences, validators after every step."""

from __future__ import annotations

from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule

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
)
from memsim.machine import Machine
from memsim.mm import page_alloc

NOWARN = __GFP_NOWARN   # a "__" name cannot be spelled inside the class body
GFPS = [GFP_KERNEL, GFP_ATOMIC, GFP_NOWAIT, GFP_HIGHUSER_MOVABLE, GFP_KERNEL | __GFP_RECLAIMABLE,
        GFP_DMA | GFP_KERNEL, GFP_DMA32 | GFP_KERNEL, GFP_KERNEL | __GFP_COMP]


class BuddyMachine(RuleBasedStateMachine):
    """Allocations and frees on a small 2-node machine keep every invariant."""

    def __init__(self) -> None:
        super().__init__()
        self.m = Machine.boot(mem="256M", cpus=2, nodes=2, strict=True)
        self.held: list[tuple[int, int]] = []
        self.seen: set[int] = set()

    @rule(gfp=st.sampled_from(GFPS), order=st.integers(0, 10), cpu=st.integers(0, 1))
    def alloc(self, gfp: int, order: int, cpu: int) -> None:
        self.m.current_cpu = cpu
        pfn = self.m.alloc_pages(gfp | NOWARN, order)
        if pfn is not None:
            assert pfn % (1 << order) == 0
            for p in range(pfn, pfn + (1 << order)):
                assert p not in self.seen, f"page {p:#x} handed out twice"
                self.seen.add(p)
            self.held.append((pfn, order))

    @precondition(lambda self: bool(self.held))
    @rule(i=st.integers(0, 10_000), cpu=st.integers(0, 1))
    def free(self, i: int, cpu: int) -> None:
        self.m.current_cpu = cpu
        pfn, order = self.held.pop(i % len(self.held))
        self.m.free_pages_pfn(pfn, order)
        for p in range(pfn, pfn + (1 << order)):
            self.seen.discard(p)

    @rule()
    def drain(self) -> None:
        page_alloc.drain_all_pages(self.m)

    @invariant()
    def consistent(self) -> None:
        self.m.validate()
        held_pages = sum(1 << o for _, o in self.held)
        free = self.m.nr_free_pages() + self.m.nr_pcp_pages()
        assert free + held_pages == BuddyMachine.baseline_total(self.m)

    @staticmethod
    def baseline_total(m: Machine) -> int:
        # pages the allocator owns: everything managed minus what boot itself kept
        return m.totalram_pages - m.boot_allocated_pages


TestBuddyMachine = BuddyMachine.TestCase
TestBuddyMachine.settings = settings(max_examples=25, stateful_step_count=40, deadline=None)
