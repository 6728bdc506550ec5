"""Hypothesis state machine: processes on a tiny machine with swap mmap, write, fork, madvise,
mprotect, mremap, mlock and munmap their anonymous memory under memory pressure; after every
step the validators run, no kernel report may appear, and the contents user space reads back
must match a shadow model of what Linux guarantees (copy-on-write after fork, shared
anonymous memory as one shmem object, zeros after MADV_DONTNEED, "old or zero" after
MADV_FREE, unchanged contents across MADV_PAGEOUT/MADV_COLD and swap)."""

from __future__ import annotations

import errno
import re
import signal
from dataclasses import dataclass, field

import pytest
from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule

from memsim.config import MachineConfig
from memsim.include.mman import (
    MADV_COLD,
    MADV_DOFORK,
    MADV_DONTFORK,
    MADV_DONTNEED,
    MADV_FREE,
    MADV_KEEPONFORK,
    MADV_PAGEOUT,
    MADV_WILLNEED,
    MADV_WIPEONFORK,
    MAP_ANONYMOUS,
    MAP_FIXED,
    MAP_PRIVATE,
    MAP_SHARED,
    MREMAP_MAYMOVE,
    PROT_NONE,
    PROT_READ,
    PROT_WRITE,
)
from memsim.kernel.task import TaskStruct
from memsim.machine import Machine
from memsim.mm.memory import SignalDelivered
from memsim.mm.vma import vma_lookup

PAGE = 4096
RW = PROT_READ | PROT_WRITE
REPORT = re.compile(r"^\[[ 0-9.]+\] (BUG[: ]|kernel BUG|WARNING:|Huh |DEBUG_LOCKS_WARN_ON)",
                    re.M)
MAX_PROCS = 3
#: bound on the sum of all live processes' mapped sizes: every page could become a distinct
#: private copy, and RAM (~19 MiB usable) + swap (32 MiB) must hold them without the OOM killer
MAX_TOTAL_PAGES = (34 << 20) // PAGE
BALLAST = 10 << 20

# A page's possible contents: (fill byte, ((offset, byte), ...) patches over the fill).
Content = tuple[int, tuple[tuple[int, int], ...]]
ZERO: Content = (0, ())


def render(c: Content) -> bytes:
    b = bytearray([c[0]]) * PAGE
    for off, v in c[1]:
        b[off] = v
    return bytes(b)


def first_byte(c: Content) -> int:
    for off, v in reversed(c[1]):
        if off == 0:
            return v
    return c[0]


class Cell:
    """What one page of memory may hold: a set of candidate contents (more than one only
    after MADV_FREE, whose pages the kernel may or may not have discarded)."""

    __slots__ = ("cands", "lazy")

    def __init__(self, cands: list[Content] | None = None, lazy: bool = False) -> None:
        self.cands: list[Content] = cands if cands is not None else [ZERO]
        #: MADV_FREE'd and not written since: reclaim may still turn it into zeros
        self.lazy = lazy

    def copy(self) -> Cell:
        return Cell(list(self.cands), self.lazy)

    def fill(self, val: int) -> None:
        self.cands, self.lazy = [(val, ())], False

    def patch(self, off: int, val: int) -> None:
        self.cands = list(dict.fromkeys((f, (*p, (off, val))) for f, p in self.cands))
        self.lazy = False

    def maybe_zero(self) -> None:
        if ZERO not in self.cands:
            self.cands.append(ZERO)


@dataclass
class ShmObj:
    """The shmem file behind a MAP_SHARED|MAP_ANONYMOUS mapping (i_size fixed at mmap)."""

    cells: list[Cell]


@dataclass
class Ent:
    """One mapped page of a process, as the shadow model sees it."""

    prot: int
    cell: Cell | None = None         # private anonymous
    obj: ShmObj | None = None        # shared anonymous: (obj, page offset in its file)
    off: int = 0
    locked: bool = False
    dontfork: bool = False
    wipeonfork: bool = False

    @property
    def shared(self) -> bool:
        return self.obj is not None

    def target(self) -> Cell | None:
        """The page's cell, or None when an access is beyond the shmem file (SIGBUS)."""
        if self.obj is None:
            return self.cell
        return self.obj.cells[self.off] if self.off < len(self.obj.cells) else None


@dataclass
class Proc:
    task: TaskStruct
    pages: dict[int, Ent] = field(default_factory=dict)


class AddressSpaces(RuleBasedStateMachine):
    """Up to three processes doing anonymous-memory syscalls on a 64 MiB machine with swap."""

    config: dict[str, object] = {"mem": "64M"}

    def __init__(self) -> None:
        super().__init__()
        self.m = Machine.boot(MachineConfig.build(dict(self.config)))
        self.m.swapon(32 << 20)
        self.procs: list[Proc] = [Proc(self.m.spawn("sm0"))]
        # ballast: 10 MiB of written private memory, so that every pressure() swaps
        p = self.procs[0]
        n = BALLAST // PAGE
        a = p.task.mmap(0, BALLAST, RW, MAP_PRIVATE | MAP_ANONYMOUS)
        p.task.touch(a, BALLAST, write=True, val=0xA5)
        for j in range(n):
            p.pages[a + j * PAGE] = Ent(RW, cell=Cell([(0xA5, ())]))

    # ---- helpers -------------------------------------------------------------------------
    def proc(self, i: int) -> Proc:
        return self.procs[i % len(self.procs)]

    def total_pages(self) -> int:
        return sum(len(p.pages) for p in self.procs)

    def span(self, p: Proc, i: int, n: int) -> tuple[int, int]:
        """A run of contiguous shadow-mapped pages: (start address, page count >= 1)."""
        addrs = sorted(p.pages)
        a = addrs[i % len(addrs)]
        k = 1
        while k < n and a + k * PAGE in p.pages:
            k += 1
        return a, k

    def ents(self, p: Proc, a: int, k: int) -> list[Ent]:
        return [p.pages[a + j * PAGE] for j in range(k)]

    def in_one_vma(self, p: Proc, a: int, k: int) -> bool:
        v = vma_lookup(p.task.mm, a)
        return v is not None and v.vm_end >= a + k * PAGE

    def check_page(self, p: Proc, addr: int, e: Ent) -> None:
        cell = e.target()
        assert cell is not None
        got = p.task.read(addr, PAGE)
        cands = [render(c) for c in cell.cands]
        assert got in cands, (
            f"pid {p.task.pid} page {addr:#x} ({'shared' if e.shared else 'private'}): "
            f"read {got[:16].hex()}.. first bytes expected one of "
            f"{[c[:16].hex() for c in cands]}")
        if not cell.lazy and len(cell.cands) > 1:
            cell.cands = [cell.cands[cands.index(got)]]

    # ---- mappings ------------------------------------------------------------------------
    @precondition(lambda self: self.total_pages() < MAX_TOTAL_PAGES - 64)
    @rule(i=st.integers(0, 9), n=st.integers(1, 64), shared=st.booleans())
    def mmap_anon(self, i: int, n: int, shared: bool) -> None:
        p = self.proc(i)
        flags = (MAP_SHARED if shared else MAP_PRIVATE) | MAP_ANONYMOUS
        a = p.task.mmap(0, n * PAGE, RW, flags)
        assert a % PAGE == 0
        obj = ShmObj([Cell() for _ in range(n)]) if shared else None
        for j in range(n):
            addr = a + j * PAGE
            assert addr not in p.pages, "mmap returned memory that is already mapped"
            p.pages[addr] = Ent(RW, obj=obj, off=j) if obj else Ent(RW, cell=Cell())

    @precondition(lambda self: any(p.pages for p in self.procs))
    @rule(i=st.integers(0, 9), j=st.integers(0, 10_000), n=st.integers(1, 16),
          shared=st.booleans())
    def mmap_fixed_over(self, i: int, j: int, n: int, shared: bool) -> None:
        p = self.proc(i)
        if not p.pages:
            return
        a, k = self.span(p, j, n)
        flags = (MAP_SHARED if shared else MAP_PRIVATE) | MAP_ANONYMOUS | MAP_FIXED
        assert p.task.mmap(a, k * PAGE, RW, flags) == a
        obj = ShmObj([Cell() for _ in range(k)]) if shared else None
        for x in range(k):
            p.pages[a + x * PAGE] = Ent(RW, obj=obj, off=x) if obj else Ent(RW, cell=Cell())

    @precondition(lambda self: self.total_pages() < MAX_TOTAL_PAGES - 3072)
    @rule(i=st.integers(0, 9), mib=st.integers(6, 12), val=st.integers(1, 255))
    def pressure(self, i: int, mib: int, val: int) -> None:
        """A big private region written all over: pushes everything else towards swap."""
        p = self.proc(i)
        n = (mib << 20) // PAGE
        a = p.task.mmap(0, n * PAGE, RW, MAP_PRIVATE | MAP_ANONYMOUS)
        p.task.touch(a, n * PAGE, write=True, val=val)
        for j in range(n):
            p.pages[a + j * PAGE] = Ent(RW, cell=Cell([(val, ())]))

    @precondition(lambda self: any(p.pages for p in self.procs))
    @rule(i=st.integers(0, 9), j=st.integers(0, 10_000), n=st.integers(1, 64))
    def munmap(self, i: int, j: int, n: int) -> None:
        p = self.proc(i)
        if not p.pages:
            return
        a, k = self.span(p, j, n)
        p.task.munmap(a, k * PAGE)
        for x in range(k):
            del p.pages[a + x * PAGE]

    @precondition(lambda self: any(p.pages for p in self.procs))
    @rule(i=st.integers(0, 9), j=st.integers(0, 10_000), n=st.integers(1, 64),
          prot=st.sampled_from([RW, PROT_READ, PROT_NONE]))
    def mprotect(self, i: int, j: int, n: int, prot: int) -> None:
        p = self.proc(i)
        if not p.pages:
            return
        a, k = self.span(p, j, n)
        p.task.mprotect(a, k * PAGE, prot)
        for e in self.ents(p, a, k):
            e.prot = prot

    @precondition(lambda self: any(p.pages for p in self.procs))
    @rule(i=st.integers(0, 9), j=st.integers(0, 10_000), n=st.integers(1, 64),
          delta=st.integers(-16, 32), move=st.booleans())
    def mremap(self, i: int, j: int, n: int, delta: int, move: bool) -> None:
        p = self.proc(i)
        if not p.pages:
            return
        a, k = self.span(p, j, n)
        if not self.in_one_vma(p, a, k):
            return                  # mremap needs the old range inside one VMA (EFAULT)
        new_k = max(1, k + delta)
        if new_k > k and self.total_pages() + new_k - k > MAX_TOTAL_PAGES:
            return
        old = [p.pages.pop(a + x * PAGE) for x in range(k)]
        if new_k <= k and not move:
            assert p.task.mremap(a, k * PAGE, new_k * PAGE) == a
        else:
            b = p.task.mremap(a, k * PAGE, new_k * PAGE, MREMAP_MAYMOVE)
            assert b % PAGE == 0
            a = b
        for x in range(new_k):
            assert a + x * PAGE not in p.pages, "mremap target overlaps a live mapping"
            if x < k:
                p.pages[a + x * PAGE] = old[x]
                continue
            last = old[-1]
            if last.obj is not None:      # shared: the file continues at the next offset
                e = Ent(last.prot, obj=last.obj, off=last.off + x - k + 1)
            else:                          # private: fresh zero-fill memory
                e = Ent(last.prot, cell=Cell())
            e.locked, e.dontfork, e.wipeonfork = last.locked, last.dontfork, last.wipeonfork
            p.pages[a + x * PAGE] = e

    # ---- memory access -------------------------------------------------------------------
    def writable_span(self, p: Proc, j: int, n: int) -> tuple[int, int] | None:
        if not p.pages:
            return None
        a, k = self.span(p, j, n)
        for x, e in enumerate(self.ents(p, a, k)):
            if e.prot != RW or e.target() is None:
                return (a, x) if x else None
        return a, k

    @precondition(lambda self: any(p.pages for p in self.procs))
    @rule(i=st.integers(0, 9), j=st.integers(0, 10_000), n=st.integers(1, 64),
          val=st.integers(0, 255))
    def touch_write(self, i: int, j: int, n: int, val: int) -> None:
        p = self.proc(i)
        s = self.writable_span(p, j, n)
        if s is None:
            return
        a, k = s
        p.task.touch(a, k * PAGE, write=True, val=val)
        for e in self.ents(p, a, k):
            cell = e.target()
            assert cell is not None
            cell.fill(val)

    @precondition(lambda self: any(p.pages for p in self.procs))
    @rule(i=st.integers(0, 9), j=st.integers(0, 10_000), off=st.integers(0, PAGE - 1),
          data=st.binary(min_size=1, max_size=24))
    def write_bytes(self, i: int, j: int, off: int, data: bytes) -> None:
        p = self.proc(i)
        s = self.writable_span(p, j, 2)
        if s is None:
            return
        a, k = s
        data = data[:k * PAGE - off]
        p.task.write(a + off, data)
        for x, v in enumerate(data):
            cell = p.pages[a + ((off + x) // PAGE) * PAGE].target()
            assert cell is not None
            cell.patch((off + x) % PAGE, v)

    @precondition(lambda self: any(p.pages for p in self.procs))
    @rule(i=st.integers(0, 9), j=st.integers(0, 10_000), n=st.integers(1, 64))
    def check_contents(self, i: int, j: int, n: int) -> None:
        p = self.proc(i)
        if not p.pages:
            return
        a, k = self.span(p, j, n)
        for x, e in enumerate(self.ents(p, a, k)):
            if e.prot != PROT_NONE and e.target() is not None:
                self.check_page(p, a + x * PAGE, e)

    @precondition(lambda self: any(p.pages for p in self.procs))
    @rule(i=st.integers(0, 9), stride=st.integers(3, 16), first=st.integers(0, 15))
    def check_first_bytes(self, i: int, stride: int, first: int) -> None:
        """Every *stride*-th readable page of a process, one byte each (faults swapped pages
        back; all of them would thrash)."""
        p = self.proc(i)
        for addr, e in sorted(p.pages.items())[first % stride::stride]:
            cell = e.target()
            if e.prot == PROT_NONE or cell is None:
                continue
            [got] = p.task.touch(addr, PAGE)
            exp = {first_byte(c) for c in cell.cands}
            assert got in exp, (f"pid {p.task.pid} page {addr:#x}: first byte {got:#x}, "
                                f"expected one of {sorted(exp)}")

    def fault_in_child(self, p: Proc, want: int, pick: object) -> None:
        """Fork, make the child fault on a page where *pick* says it must get signal *want*."""
        for addr, e in sorted(p.pages.items()):
            write = pick(e)  # type: ignore[operator]
            if write is None or e.dontfork:
                continue
            c = p.task.fork()
            with pytest.raises(SignalDelivered) as info:
                if write:
                    c.write(addr, b"x")
                else:
                    c.read(addr, 1)
            assert info.value.signo == want and info.value.pid == c.pid
            assert not c.alive
            assert p.task.wait(c)[1] == want
            return

    @precondition(lambda self: any(p.pages for p in self.procs))
    @rule(i=st.integers(0, 9))
    def segv_on_protected(self, i: int) -> None:
        def pick(e: Ent) -> bool | None:
            if e.prot == PROT_READ:
                return True
            if e.prot == PROT_NONE:
                return False
            return None
        self.fault_in_child(self.proc(i), signal.SIGSEGV, pick)

    @precondition(lambda self: any(p.pages for p in self.procs))
    @rule(i=st.integers(0, 9))
    def sigbus_beyond_shmem_eof(self, i: int) -> None:
        def pick(e: Ent) -> bool | None:
            return False if e.prot != PROT_NONE and e.target() is None else None
        self.fault_in_child(self.proc(i), signal.SIGBUS, pick)

    # ---- madvise / mlock -----------------------------------------------------------------
    @precondition(lambda self: any(p.pages for p in self.procs))
    @rule(i=st.integers(0, 9), j=st.integers(0, 10_000), n=st.integers(1, 64),
          advice=st.sampled_from([MADV_DONTNEED, MADV_FREE, MADV_PAGEOUT, MADV_COLD,
                                  MADV_WILLNEED]))
    def madvise(self, i: int, j: int, n: int, advice: int) -> None:
        p = self.proc(i)
        if not p.pages:
            return
        a, k = self.span(p, j, n)
        ents = self.ents(p, a, k)
        fails = False
        if advice != MADV_WILLNEED:
            # VM_LOCKED VMAs refuse all four (madvise_dontneed_free_valid_vma,
            # can_madv_lru_vma), shared (shmem) VMAs refuse MADV_FREE: EINVAL, possibly
            # after earlier VMAs of the range were already handled
            fails = any(e.locked or (advice == MADV_FREE and e.shared) for e in ents)
        try:
            p.task.madvise(a, k * PAGE, advice)
            assert not fails, "madvise should have failed with EINVAL"
        except OSError as err:
            assert fails and err.errno == errno.EINVAL, err
        if advice not in (MADV_DONTNEED, MADV_FREE):
            return
        for e in ents:
            if e.shared or e.locked:
                continue
            cell = e.target()
            assert cell is not None
            if advice == MADV_FREE:
                cell.maybe_zero()
                cell.lazy = True
            elif not fails:
                cell.fill(0)
            else:
                cell.maybe_zero()

    @precondition(lambda self: any(p.pages for p in self.procs))
    @rule(i=st.integers(0, 9), j=st.integers(0, 10_000), n=st.integers(1, 64),
          advice=st.sampled_from([MADV_DONTFORK, MADV_DOFORK, MADV_WIPEONFORK,
                                  MADV_KEEPONFORK]))
    def madvise_fork(self, i: int, j: int, n: int, advice: int) -> None:
        p = self.proc(i)
        if not p.pages:
            return
        a, k = self.span(p, j, n)
        ents = self.ents(p, a, k)
        fails = advice == MADV_WIPEONFORK and any(e.shared for e in ents)
        try:
            p.task.madvise(a, k * PAGE, advice)
            assert not fails, "MADV_WIPEONFORK on a shared mapping should fail"
        except OSError as err:
            assert fails and err.errno == errno.EINVAL, err
            # the VMAs before the first shared one were already marked
            for e in ents:
                if e.shared:
                    break
                e.wipeonfork = True
            return
        for e in ents:
            if advice in (MADV_DONTFORK, MADV_DOFORK):
                e.dontfork = advice == MADV_DONTFORK
            else:
                e.wipeonfork = advice == MADV_WIPEONFORK

    @precondition(lambda self: any(p.pages for p in self.procs))
    @rule(i=st.integers(0, 9), j=st.integers(0, 10_000), n=st.integers(1, 32),
          lock=st.booleans())
    def mlock(self, i: int, j: int, n: int, lock: bool) -> None:
        p = self.proc(i)
        if not p.pages:
            return
        a, k = self.span(p, j, n)
        locked = sum(e.locked for q in self.procs for e in q.pages.values())
        if lock and locked + k > 256:
            return
        ents = self.ents(p, a, k)
        for e in ents:
            e.locked = lock
        if not lock:
            p.task.munlock(a, k * PAGE)
            return
        # the VMAs are locked first, then populated: a PROT_NONE VMA or a page beyond the
        # shmem file's end (a grown shared mapping) fails that with EFAULT, reported as ENOMEM
        bad = any(e.prot == PROT_NONE or e.target() is None for e in ents)
        try:
            p.task.mlock(a, k * PAGE)
            assert not bad, "mlock populated a PROT_NONE page or one beyond the shmem EOF"
        except OSError as err:
            assert bad and err.errno == errno.ENOMEM, err

    # ---- processes -----------------------------------------------------------------------
    @precondition(lambda self: len(self.procs) < MAX_PROCS)
    @rule(i=st.integers(0, 9))
    def fork(self, i: int) -> None:
        p = self.proc(i)
        if self.total_pages() + len(p.pages) > MAX_TOTAL_PAGES:
            return
        c = Proc(p.task.fork())
        for addr, e in p.pages.items():
            if e.dontfork:
                continue
            if e.shared:
                ce = Ent(e.prot, obj=e.obj, off=e.off)
            elif e.wipeonfork:
                ce = Ent(e.prot, cell=Cell())
            else:
                assert e.cell is not None
                ce = Ent(e.prot, cell=e.cell.copy())
            ce.dontfork, ce.wipeonfork = e.dontfork, e.wipeonfork   # locks are not inherited
            c.pages[addr] = ce
        self.procs.append(c)

    @precondition(lambda self: len(self.procs) > 1)
    @rule(i=st.integers(0, 9))
    def exit(self, i: int) -> None:
        p = self.proc(i)
        self.procs.remove(p)
        parent = p.task.parent
        p.task.exit(i)
        if parent is not None and parent.alive:
            assert parent.wait(p.task) == (p.task.pid, (i & 0xFF) << 8)

    # ---- invariants ----------------------------------------------------------------------
    @invariant()
    def consistent(self) -> None:
        self.m.validate()
        new = self.m.dmesg()
        rep = REPORT.search(new)
        assert rep is None, new[rep.start():rep.start() + 2000]
        for p in self.procs:
            assert p.task.alive, f"pid {p.task.pid} died (OOM kill?):\n{new[-3000:]}"

    def teardown(self) -> None:
        try:
            for p in self.procs:
                for n, (addr, e) in enumerate(sorted(p.pages.items())):
                    cell = e.target()
                    if e.prot == PROT_NONE or cell is None:
                        continue
                    if len(cell.cands) == 1 and not cell.cands[0][1]:
                        if n % 8:
                            continue
                        [got] = p.task.touch(addr, PAGE)     # uniform page: one byte will do
                        assert got == cell.cands[0][0], f"pid {p.task.pid} page {addr:#x}"
                    else:
                        self.check_page(p, addr, e)
            self.m.validate()
            for p in self.procs[1:]:
                p.task.exit()
            self.procs[0].task.exit()
            self.m.validate()
        finally:
            super().teardown()


class AddressSpacesMGLRU(AddressSpaces):
    config = {"mem": "64M", "lru": "mglru"}


class AddressSpacesTHP(AddressSpaces):
    config = {"mem": "64M", "thp": "always"}


SETTINGS = settings(max_examples=10, stateful_step_count=30, deadline=None, derandomize=True)
TestAddressSpaces = AddressSpaces.TestCase
TestAddressSpaces.settings = SETTINGS
TestAddressSpacesMGLRU = AddressSpacesMGLRU.TestCase
TestAddressSpacesMGLRU.settings = SETTINGS
TestAddressSpacesTHP = AddressSpacesTHP.TestCase
TestAddressSpacesTHP.settings = SETTINGS
