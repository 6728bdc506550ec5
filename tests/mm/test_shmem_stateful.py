"""
Hypothesis state machine over one memfd shared by two processes on a 64M machine with
swap: writes through pwrite() and through MAP_SHARED mappings, reads both ways,
MADV_PAGEOUT, MADV_REMOVE (hole punch), ftruncate shrinking and growing, writeback, and
anonymous ballast that pushes the object's pages to swap. After every step the
validators run and the file's contents equal a shadow bytearray (mm/shmem.py swap-out
and swap-in, mm/truncate.py, mm/page_writeback.py).
"""

from __future__ import annotations

from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, rule

from memsim.config import MachineConfig
from memsim.include.mman import (
    MADV_PAGEOUT,
    MADV_REMOVE,
    MAP_ANONYMOUS,
    MAP_PRIVATE,
    MAP_SHARED,
    PROT_READ,
    PROT_WRITE,
)
from memsim.machine import Machine

PAGE = 4096
NPAGES = 48                       # the largest the object gets
RW = PROT_READ | PROT_WRITE


class SharedMemfd(RuleBasedStateMachine):
    @initialize()
    def boot(self) -> None:
        self.m = Machine.boot(MachineConfig.build({"mem": "64M"}))
        self.m.swapon(32 << 20)
        self.p = self.m.spawn("owner")
        self.fd = self.p.memfd_create("obj")
        self.size = 16 * PAGE
        self.p.ftruncate(self.fd, self.size)
        self.shadow = bytearray(self.size)
        # one mapping per process, as large as the object can get (pages past EOF: SIGBUS)
        self.a = self.p.mmap(0, NPAGES * PAGE, RW, MAP_SHARED, self.fd)
        self.c = self.p.fork("peer")
        self.ballast: list[int] = []

    def _in_file(self, page: int, off: int, n: int) -> bool:
        return page * PAGE + off + n <= self.size

    @rule(page=st.integers(0, NPAGES - 1), off=st.integers(0, PAGE - 8),
          data=st.binary(min_size=1, max_size=8), via_map=st.booleans(), child=st.booleans())
    def write(self, page: int, off: int, data: bytes, via_map: bool, child: bool) -> None:
        if not self._in_file(page, off, len(data)):
            return
        pos = page * PAGE + off
        who = self.c if child else self.p
        if via_map:
            who.write(self.a + pos, data)
        else:
            self.p.pwrite(self.fd, data, pos)
        self.shadow[pos:pos + len(data)] = data

    @rule(page=st.integers(0, NPAGES - 1), via_map=st.booleans(), child=st.booleans())
    def read(self, page: int, via_map: bool, child: bool) -> None:
        if not self._in_file(page, 0, PAGE):
            return
        pos = page * PAGE
        who = self.c if child else self.p
        got = who.read(self.a + pos, PAGE) if via_map else self.p.pread(self.fd, PAGE, pos)
        assert got == bytes(self.shadow[pos:pos + PAGE]), f"page {page}"

    @rule(first=st.integers(0, NPAGES - 1), n=st.integers(1, 16), child=st.booleans())
    def pageout(self, first: int, n: int, child: bool) -> None:
        n = min(n, NPAGES - first)
        (self.c if child else self.p).madvise(self.a + first * PAGE, n * PAGE, MADV_PAGEOUT)

    @rule(first=st.integers(0, NPAGES - 1), n=st.integers(1, 8))
    def punch(self, first: int, n: int) -> None:
        n = min(n, NPAGES - first)
        self.p.madvise(self.a + first * PAGE, n * PAGE, MADV_REMOVE)
        lo, hi = first * PAGE, min((first + n) * PAGE, self.size)
        if lo < hi:
            self.shadow[lo:hi] = bytes(hi - lo)

    @rule(size=st.integers(0, NPAGES * PAGE))
    def truncate(self, size: int) -> None:
        self.p.ftruncate(self.fd, size)
        if size < self.size:
            del self.shadow[size:]
        else:
            self.shadow += bytes(size - self.size)
        self.size = size

    @rule(mib=st.integers(4, 10))
    def pressure(self, mib: int) -> None:
        if len(self.ballast) >= 2:
            b = self.ballast.pop(0)
            self.p.munmap(b, 10 << 20)
        b = self.p.mmap(0, 10 << 20, RW, MAP_PRIVATE | MAP_ANONYMOUS)
        self.p.touch(b, mib << 20, write=True, val=0x5A)
        self.ballast.append(b)

    @rule()
    def fsync(self) -> None:
        self.p.fsync(self.fd)

    @invariant()
    def consistent(self) -> None:
        if not hasattr(self, "m"):
            return
        self.m.validate()
        assert "BUG" not in self.m.dmesg()

    def teardown(self) -> None:
        if not hasattr(self, "m"):
            return
        got = self.p.pread(self.fd, self.size, 0)
        assert got == bytes(self.shadow)
        self.c.exit()
        self.p.wait(self.c)
        self.p.close(self.fd)
        self.p.munmap(self.a, NPAGES * PAGE)
        self.m.validate()
        from memsim.mm.shmem import shmem_swaplist
        assert not shmem_swaplist(self.m)             # the object died with its slots


SharedMemfd.TestCase.settings = settings(max_examples=12, stateful_step_count=30,
                                         deadline=None, derandomize=True)
TestSharedMemfd = SharedMemfd.TestCase
