"""
Processes (include/linux/sched.h task_struct, kernel/fork.c copy_mm/dup_mmap,
kernel/exit.c, fs/exec.c + fs/binfmt_elf.c for the initial layout) and the process API:
``p = m.spawn("cat")`` gives a task with an exec-like address space, and methods named
after the syscalls (``p.mmap``, ``p.munmap``, ``p.brk``, ``p.mprotect`` ... raising
OSError with the kernel's errno; ``p.syscall(name, ...)`` returns the raw value or
-errno), memory access (``p.read``, ``p.write``, ``p.touch``) that drives the fault path,
``p.fork()``, ``p.exit()`` and ``p.wait()``.

The syscalls themselves live in mm/mmap.py, mm/mprotect.py, mm/mremap.py, mm/madvise.py,
mm/mlock.py, mm/mincore.py, mm/mseal.py; faults in mm/memory.py.
"""

from __future__ import annotations

import os
import random
import signal
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

from memsim.errors import InputError
from memsim.include.mm import (
    VM_DONTCOPY,
    VM_LOCKED_MASK,
    VM_NOHUGEPAGE,
    VM_STACK_FLAGS,
    VM_WIPEONFORK,
)
from memsim.include.mm_types import MmStruct, VmAreaStruct
from memsim.include.mman import (
    MAP_ANONYMOUS,
    MAP_FIXED,
    MAP_PRIVATE,
    PROT_EXEC,
    PROT_READ,
    PROT_WRITE,
)
from memsim.include.pgtable_types import (
    _PAGE_ACCESSED,
    _PAGE_DIRTY,
    _PAGE_PRESENT,
    _PAGE_RW,
    _PAGE_USER,
    vm_get_page_prot,
)
from memsim.mm import memory
from memsim.mm.memory import SignalDelivered, SpecialMappingOps
from memsim.mm.pgtable import PgTable

if TYPE_CHECKING:
    from memsim.machine import Machine

PAGE_SIZE = 4096
PAGE_MASK = ~(PAGE_SIZE - 1)
#: stack_expand in setup_arg_pages: the initial stack VMA covers 128 KiB below the
#: argument page(s)
STACK_EXPAND = 128 << 10
#: [vvar] and [vdso] sizes on x86-64 6.12 (VVAR_NR_PAGES = 4, a 2-page vDSO image)
VVAR_PAGES = 4
VDSO_PAGES = 2


def proc_caches_init(m: Machine) -> None:
    """Boot-time set-up of the process side: the zero page, overcommit reserves, vDSO."""
    from memsim.mm.rmap import folio_mkclean
    from memsim.mm.util import init_reserves
    memory.init_zero_page(m)
    init_reserves(m)
    from memsim.mm.ksm import ksm_init
    ksm_init(m)                               # ksm_init(): m.ksm and the exit hook
    from memsim.mm.swapfile import swap_init
    swap_init(m)                              # swap devices, swap cache, swap-in hooks
    from memsim.mm.vmscan import vmscan_init
    vmscan_init(m)                            # LRU hooks, kswapd, reclaim hooks
    m.folio_mkclean = lambda pfn: folio_mkclean(m, pfn)
    pages = []
    for _ in range(VVAR_PAGES + VDSO_PAGES):
        pfn = m.alloc_pages(0xCC0 | 0x100, 0)  # GFP_KERNEL | __GFP_ZERO
        assert pfn is not None
        pages.append(pfn)
    m.vdso_pages = pages


class TaskStruct:
    """
    A process: task_struct with its mm. Created by ``m.spawn()`` or ``p.fork()``.

    Counters: ``min_flt``/``maj_flt`` as /proc/PID/stat reports them.
    """

    def __init__(self, m: Machine, pid: int, comm: str, mm: MmStruct,
                 parent: TaskStruct | None) -> None:
        self.m = m
        self.pid = pid
        self.comm = comm[:15]
        self.mm = mm
        self.parent = parent
        self.children: list[TaskStruct] = []
        self.min_flt = 0
        self.maj_flt = 0
        self.exit_state: str | None = None
        self.exit_code = 0
        #: the signal that killed the task, if any
        self.killed_by: int | None = None
        self.ip = 0
        self.sp = 0
        self.files: Any = None
        self.oom_score_adj = 0
        #: a SIGKILL sent to the task (the OOM killer's) that it has not yet acted on:
        #: delivered when it returns to user space (syscall end, fault retry)
        self.sigkill_pending = False
        #: TIF_MEMDIE: the task is an OOM victim (mm/oom_kill.py mark_oom_victim)
        self.oom_victim = False
        self.brk_randomized = False
        mm.owner = self

    # ---- life cycle -------------------------------------------------------------------
    @property
    def alive(self) -> bool:
        return self.exit_state is None

    def _check_alive(self) -> None:
        if self.exit_state is not None:
            raise InputError(f"process {self.pid} ({self.comm}) has exited")

    def fork(self, comm: str | None = None) -> TaskStruct:
        """fork(): a child with a copy of this address space (copy-on-write)."""
        self._check_alive()
        m = self.m
        prev = m.current_pid, m.current_comm
        m.current_pid, m.current_comm = self.pid, self.comm
        try:
            child = copy_process(m, self, comm)
        finally:
            m.current_pid, m.current_comm = prev
        self.exit_to_user_mode()
        return child

    def exit_to_user_mode(self) -> None:
        """exit_to_user_mode(): a pending SIGKILL (the OOM killer's) ends the task."""
        if self.m.kthread_pending:
            self.m.schedule()          # kernel threads woken meanwhile (kswapd) run now
        if self.sigkill_pending and self.exit_state is None:
            do_exit(self.m, self, 0, killed_by=signal.SIGKILL)
            raise SignalDelivered(signal.SIGKILL, 0, 0, self.pid)

    def exit(self, code: int = 0) -> None:
        """exit(): tear down the address space; the task becomes a zombie until waited."""
        self._check_alive()
        do_exit(self.m, self, code)

    def wait(self, child: TaskStruct | None = None) -> tuple[int, int]:
        """wait4(): reap an exited child; (pid, status)."""
        for c in list(self.children):
            if (child is None or c is child) and c.exit_state == "zombie":
                release_task(self.m, c)
                self.children.remove(c)
                status = c.killed_by if c.killed_by is not None else (c.exit_code & 0xFF) << 8
                return c.pid, status
        raise ChildProcessError(10, "No child processes")

    # ---- syscalls --------------------------------------------------------------------
    def syscall(self, name: str, *args: int) -> int:
        """The raw syscall: its return value, or -errno."""
        self._check_alive()
        fn = SYSCALLS.get(name)
        if fn is None:
            raise InputError(f"unknown syscall {name!r} (known: {', '.join(sorted(SYSCALLS))})")
        for i, a in enumerate(args):
            if type(a) is not int and not isinstance(a, int):
                raise InputError(f"{name}: argument {i + 1} must be an integer, got "
                                 f"{type(a).__name__} {a!r}")
        args = tuple(a & ((1 << 64) - 1) if a < 0 and name in _UNSIGNED_ARGS else a
                     for a in args)
        m = self.m
        prev = m.current_pid, m.current_comm
        m.current_pid, m.current_comm = self.pid, self.comm
        try:
            ret = int(fn(m, self, *args))
        finally:
            m.current_pid, m.current_comm = prev
        if self.sigkill_pending or m.kthread_pending:
            self.exit_to_user_mode()
        return ret

    def _call(self, name: str, *args: int) -> int:
        r = self.syscall(name, *args)
        if r < 0 and r > -4096:
            raise OSError(-r, f"{name}: {os.strerror(-r)}")
        return r

    def mmap(self, addr: int, length: int, prot: int, flags: int, fd: int = -1,
             offset: int = 0) -> int:
        return self._call("mmap", addr, length, prot, flags, fd, offset)

    def munmap(self, addr: int, length: int) -> int:
        return self._call("munmap", addr, length)

    def mprotect(self, addr: int, length: int, prot: int) -> int:
        return self._call("mprotect", addr, length, prot)

    def mremap(self, old_addr: int, old_len: int, new_len: int, flags: int = 0,
               new_addr: int = 0) -> int:
        return self._call("mremap", old_addr, old_len, new_len, flags, new_addr)

    def brk(self, addr: int) -> int:
        return self.syscall("brk", addr)

    def sbrk(self, increment: int) -> int:
        """glibc sbrk(): the old break; raises ENOMEM if the kernel refused."""
        old = self.syscall("brk", 0)
        if increment == 0:
            return old
        new = self.syscall("brk", old + increment)
        if new != old + increment:
            raise OSError(12, "sbrk: Cannot allocate memory")
        return old

    def madvise(self, addr: int, length: int, advice: int) -> int:
        return self._call("madvise", addr, length, advice)

    def mlock(self, addr: int, length: int) -> int:
        return self._call("mlock", addr, length)

    def mlock2(self, addr: int, length: int, flags: int = 0) -> int:
        return self._call("mlock2", addr, length, flags)

    def munlock(self, addr: int, length: int) -> int:
        return self._call("munlock", addr, length)

    def mlockall(self, flags: int) -> int:
        return self._call("mlockall", flags)

    def munlockall(self) -> int:
        return self._call("munlockall")

    def mincore(self, addr: int, length: int) -> bytes:
        from memsim.mm.mincore import do_mincore
        self._check_alive()
        r = do_mincore(self.m, self, addr, length)
        if isinstance(r, int):
            raise OSError(-r, f"mincore: {os.strerror(-r)}")
        return r

    def msync(self, addr: int, length: int, flags: int) -> int:
        return self._call("msync", addr, length, flags)

    def mseal(self, addr: int, length: int, flags: int = 0) -> int:
        return self._call("mseal", addr, length, flags)

    def prctl(self, option: int, arg2: int = 0, arg3: int = 0, arg4: int = 0,
              arg5: int = 0) -> int:
        return self._call("prctl", option, arg2, arg3, arg4, arg5)

    # ---- memory access ----------------------------------------------------------------
    def _access(self, addr: int, write: bool) -> int:
        hook = self.m.__dict__.get("lru_plain_hook")
        if hook is not None:               # lru=plain (mm/lru_plain.py) sees every access
            hook(self, addr, write)
        return self._mmu_access(addr, write)

    def access_many(self, addrs: Sequence[int], writes: Sequence[int] | None = None,
                    stamp: bytes | None = None) -> int:
        """
        User accesses to *addrs* in order (``writes[k]`` true = a store, None = all loads):
        exactly ``_access(addr, write)`` for each — the MMU's hit path (accessed/dirty bits)
        inlined with locals, anything else through the fault path — without copying data
        as read()/write() do; with *stamp* (a page of bytes) a store that faulted also
        fills a page that has no contents yet with it (so that swap-out has data to write).
        Returns how many accesses found no present PTE (the misses: each faulted a page
        in). Used by the workload runner (memsim.workload).
        """
        self._check_alive()
        m = self.m
        hook = m.__dict__.get("lru_plain_hook")
        pgd = self.mm.pgd
        leaf = pgd.leaf
        huge = pgd.huge
        shift = pgd.pmd_shift
        mask = pgd.ptrs_per_pte - 1
        ok = _PAGE_PRESENT | _PAGE_USER
        slow = self._mmu_access
        data = m.page_data
        missing = 0
        for k, addr in enumerate(addrs):
            write = bool(writes[k]) if writes is not None else False
            if hook is not None:
                hook(self, addr, write)
            t = leaf.get(addr >> shift)
            if t is not None:
                i = (addr >> 12) & mask
                pte = int(t.pte[i])
                if pte & ok == ok:
                    if not write:
                        t.pte[i] = pte | _PAGE_ACCESSED
                        continue
                    if pte & _PAGE_RW:
                        t.pte[i] = pte | _PAGE_ACCESSED | _PAGE_DIRTY
                        continue
                elif not pte & _PAGE_PRESENT:
                    missing += 1
            else:
                hp = huge.get(addr >> shift)
                if hp is None or not hp & _PAGE_PRESENT:
                    missing += 1
            pfn = slow(addr, write)
            if write and stamp is not None and pfn not in data:
                data[pfn] = bytearray(stamp)
        return missing

    def _mmu_access(self, addr: int, write: bool) -> int:
        try:
            return memory.user_access(self.m, self, addr, write)
        except SignalDelivered as sig:
            if sig.pid == self.pid and sig.signo in (signal.SIGSEGV, signal.SIGBUS,
                                                     signal.SIGKILL):
                do_exit(self.m, self, 0, killed_by=sig.signo)
            raise

    def read(self, addr: int, n: int) -> bytes:
        """Read *n* bytes of user memory (faulting pages in as a load would)."""
        self._check_alive()
        _check_range("read", addr, n)
        out = bytearray()
        end = addr + n
        data = self.m.page_data
        while addr < end:
            pfn = self._access(addr, False)
            off = addr & (PAGE_SIZE - 1)
            chunk = min(PAGE_SIZE - off, end - addr)
            page = data.get(pfn)
            out += page[off:off + chunk] if page is not None else bytes(chunk)
            addr += chunk
        return bytes(out)

    def write(self, addr: int, data: bytes) -> None:
        """Write *data* to user memory (write faults: zero-fill, COW, dirtying)."""
        self._check_alive()
        if not isinstance(data, (bytes, bytearray, memoryview)):
            raise InputError(f"write: data must be bytes, got {type(data).__name__}")
        _check_range("write", addr, len(data))
        pd = self.m.page_data
        pos = 0
        while pos < len(data):
            pfn = self._access(addr, True)
            off = addr & (PAGE_SIZE - 1)
            chunk = min(PAGE_SIZE - off, len(data) - pos)
            page = pd.get(pfn)
            if page is None:
                page = pd[pfn] = bytearray(PAGE_SIZE)
            page[off:off + chunk] = data[pos:pos + chunk]
            pos += chunk
            addr += chunk

    def touch(self, addr: int, length: int, write: bool = False, val: int | None = None,
              step: int = 1) -> bytes:
        """
        Touch every *step*-th page of ``[addr, addr + length)``: a write fills the whole
        page with the byte *val* (or leaves its contents when None), a read loads its first
        byte. Returns the first byte of each page touched.
        """
        self._check_alive()
        _check_range("touch", addr, length)
        if val is not None and not (isinstance(val, int) and 0 <= val <= 255):
            raise InputError(f"touch: val must be a byte value 0..255, got {val!r}")
        from memsim.mm.gup import touch_range
        m = self.m
        prev = m.current_pid, m.current_comm
        m.current_pid, m.current_comm = self.pid, self.comm   # the loop runs as this task
        try:
            out = touch_range(m, self, addr, length, write, val, step)
        finally:
            m.current_pid, m.current_comm = prev
        self.exit_to_user_mode()
        return out

    def page_info(self, addr: int) -> dict[str, Any] | None:
        """
        The page behind user address *addr* as the kernel keeps it: PFN, ``_refcount``,
        ``_mapcount`` (-1 when unmapped), page flags by name, PageAnon / PageKsm /
        PageAnonExclusive, the zero page, and the PTE. None when nothing is mapped there.
        """
        from memsim.include.page_flags import format_page_flags
        from memsim.include.pgtable_types import _PAGE_PRESENT, _PAGE_PROTNONE, pte_pfn
        from memsim.mm import rmap
        self._check_alive()
        pgd = self.mm.pgd
        pte = pgd.pte_get(addr)
        huge = pgd.huge.get(addr >> pgd.pmd_shift)
        if huge is not None:
            pte = huge
        if not pte & (_PAGE_PRESENT | _PAGE_PROTNONE):
            return None
        pfn = pte_pfn(pte)
        if huge is not None:
            pfn += (addr >> 12) & ((1 << (pgd.pmd_shift - 12)) - 1)
        m = self.m
        mem = m.mem_map
        return {
            "pfn": pfn, "pte": pte, "zero_page": pfn == m.zero_pfn,
            "_refcount": int(mem.refcount[pfn]), "_mapcount": int(mem.mapcount1[pfn]) - 1,
            "flags": format_page_flags(int(mem.flags[pfn])),
            "anon": rmap.PageAnon(m, pfn), "ksm": rmap.PageKsm(m, pfn),
            "anon_exclusive": rmap.PageAnonExclusive(m, pfn),
            "index": int(mem.index[pfn]), "compound_head": int(mem.compound_head1[pfn]) - 1,
        }

    # ---- files -------------------------------------------------------------------------
    def _vfs(self) -> Any:
        vfs = getattr(self.m, "vfs", None)
        if vfs is None:
            raise InputError("this machine has no filesystem")
        return vfs

    def _file(self, fd: int) -> Any:
        return self.files.get(fd) if self.files is not None and fd >= 0 else None

    @staticmethod
    def _check(r: int, name: str) -> int:
        if r < 0:
            raise OSError(-r, f"{name}: {os.strerror(-r)}")
        return r

    def _io(self, fn: Any, *args: Any) -> Any:
        """Run a file syscall's kernel side as this task (``current``: its dirty-page
        accounting and throttling are this task's), then return to user mode (kernel
        threads woken meanwhile, such as the flusher or kswapd, run)."""
        self._check_alive()
        m = self.m
        prev = m.current_pid, m.current_comm
        m.current_pid, m.current_comm = self.pid, self.comm
        try:
            r = fn(m, *args)
        finally:
            m.current_pid, m.current_comm = prev
        if self.sigkill_pending or m.kthread_pending:
            self.exit_to_user_mode()
        return r

    def open(self, path: str, flags: int = os.O_RDONLY, data: bytes | None = None) -> int:
        """open(2); with *data* the file is first created with that content (and fsynced)."""
        self._check_alive()
        vfs = self._vfs()
        if data is not None:
            vfs.create(path, data)
        f = vfs.open(path, flags)
        if isinstance(f, int):
            self._check(f, "open")
        return int(self.files.install(f))

    def memfd_create(self, name: str, flags: int = 0) -> int:
        from memsim.mm.shmem import memfd_create
        self._check_alive()
        f = memfd_create(self.m, name, flags)
        if isinstance(f, int):
            self._check(f, "memfd_create")
        return int(self.files.install(f))

    def close(self, fd: int) -> int:
        self._check_alive()
        return self._check(self.files.close(self.m, fd), "close")

    def pread(self, fd: int, count: int, offset: int) -> bytes:
        from memsim.fs.read_write import ksys_pread64
        r = self._io(ksys_pread64, self._file(fd), count, offset)
        if isinstance(r, int):
            self._check(r, "pread64")
            return b""
        return bytes(r)

    def pwrite(self, fd: int, data: bytes, offset: int) -> int:
        from memsim.fs.read_write import ksys_pwrite64
        return self._check(self._io(ksys_pwrite64, self._file(fd), data, offset), "pwrite64")

    def fd_read(self, fd: int, count: int) -> bytes:
        """read(2) (``p.read`` reads memory)."""
        from memsim.fs.read_write import ksys_read
        r = self._io(ksys_read, self._file(fd), count)
        if isinstance(r, int):
            self._check(r, "read")
            return b""
        return bytes(r)

    def fd_write(self, fd: int, data: bytes) -> int:
        """write(2) (``p.write`` writes memory)."""
        from memsim.fs.read_write import ksys_write
        return self._check(self._io(ksys_write, self._file(fd), data), "write")

    def lseek(self, fd: int, offset: int, whence: int = os.SEEK_SET) -> int:
        from memsim.fs.read_write import ksys_lseek
        return self._check(ksys_lseek(self.m, self._file(fd), offset, whence), "lseek")

    def ftruncate(self, fd: int, length: int) -> int:
        from memsim.fs.read_write import ksys_ftruncate
        return self._check(self._io(ksys_ftruncate, self._file(fd), length), "ftruncate")

    def fsync(self, fd: int) -> int:
        from memsim.fs.read_write import ksys_fsync
        return self._check(self._io(ksys_fsync, self._file(fd)), "fsync")

    def fadvise(self, fd: int, offset: int, length: int, advice: int) -> int:
        from memsim.mm.fadvise import ksys_fadvise64_64
        return self._check(self._io(ksys_fadvise64_64, self._file(fd), offset, length, advice),
                           "fadvise64")

    def __repr__(self) -> str:
        state = "" if self.exit_state is None else f" {self.exit_state}"
        return f"<task {self.pid} {self.comm}{state}>"


#: name -> handler(m, task, *args) for ``TaskStruct.syscall``; filled by the mm modules
SYSCALLS: dict[str, Callable[..., int]] = {}
#: syscalls whose arguments are unsigned long in the kernel: a negative Python int is
#: taken modulo 2**64, as the register would hold it (fd stays signed)
_UNSIGNED_ARGS = frozenset({"munmap", "mprotect", "mremap", "madvise", "mlock", "mlock2",
                            "munlock", "msync", "mseal", "brk"})


def _check_range(what: str, addr: int, n: int) -> None:
    if not isinstance(addr, int) or not isinstance(n, int):
        raise InputError(f"{what}: address and length must be integers")
    if addr < 0 or n < 0 or addr + n > 1 << 64:
        raise InputError(f"{what}: bad range address={addr:#x} length={n}")


def register_syscall(name: str) -> Callable[[Callable[..., int]], Callable[..., int]]:
    def deco(fn: Callable[..., int]) -> Callable[..., int]:
        SYSCALLS[name] = fn
        return fn
    return deco


# ---- exec-like start-up ------------------------------------------------------------------

def mm_alloc(m: Machine) -> MmStruct:
    mm = MmStruct()
    mm.pgd = PgTable(m, mm)
    return mm


def alloc_pid(m: Machine) -> int:
    m.last_pid += 1
    while m.last_pid in m.tasks:
        m.last_pid += 1
    return m.last_pid


def spawn(m: Machine, name: str, *, randomize: bool | None = None,
          text_pages: int = 2, data_pages: int = 1, bss_pages: int = 1) -> TaskStruct:
    """
    A new process as execve() of a PIE ELF leaves it: the executable's segments (header,
    text, read-only data, data) mapped from a file, bss, the brk start, the stack with its
    argument page, and [vvar]/[vdso]. Randomisation follows kernel.randomize_va_space and
    the machine's seed (``randomize=False`` gives the ``setarch -R`` layout).
    """
    # SIM: no ELF interpreter or shared libraries are mapped (the executable behaves like a
    # PIE that needs none, yet keeps ld.so's ET_DYN load base); the process has no parent
    # task (PPid 0), runs as root, and the random draws come from Python's PRNG seeded by
    # the machine seed and the PID rather than the kernel's get_random_*.
    from memsim.mm.mmap import LAYOUTS, arch_pick_mmap_layout
    if randomize is None:
        randomize = m.sysctl.randomize_va_space > 0
    pid = alloc_pid(m)
    rng = random.Random((m.config.seed << 20) ^ pid)
    mm = mm_alloc(m)
    task = TaskStruct(m, pid, name, mm, None)
    m.tasks[pid] = task
    files = _new_fdtable(m)
    task.files = files
    arch_pick_mmap_layout(m, mm, randomize, rng)
    lay = LAYOUTS[m.arch.name]
    # the executable (load_elf_binary: ET_DYN at ELF_ET_DYN_BASE + arch_mmap_rnd())
    load_bias = lay.et_dyn_base & PAGE_MASK
    if randomize:
        load_bias += rng.getrandbits(lay.mmap_rnd_bits) << 12
    load_bias &= PAGE_MASK
    segs = [(PROT_READ, 1), (PROT_READ | PROT_EXEC, text_pages), (PROT_READ, 1),
            (PROT_READ | PROT_WRITE, data_pages)]
    file_pages = sum(n for _, n in segs)
    exe = _exe_file(m, name, file_pages)
    addr = load_bias
    pgoff = 0
    for prot, n in segs:
        r = task.syscall("mmap", addr, n * PAGE_SIZE, prot, MAP_PRIVATE | MAP_FIXED,
                         _install(task, exe), pgoff * PAGE_SIZE) if exe is not None else \
            task.syscall("mmap", addr, n * PAGE_SIZE, prot,
                         MAP_PRIVATE | MAP_FIXED | MAP_ANONYMOUS, -1, 0)
        if r < 0:
            raise InputError(f"spawn {name}: mapping the executable failed ({r})")
        if prot & PROT_EXEC:
            mm.start_code, mm.end_code = addr, addr + n * PAGE_SIZE
        if prot & PROT_WRITE:
            mm.start_data, mm.end_data = addr, addr + n * PAGE_SIZE
        addr += n * PAGE_SIZE
        pgoff += n
    if files is not None:
        files.close_all(m)
    # bss: anonymous, right after the data segment
    task.syscall("mmap", addr, bss_pages * PAGE_SIZE, PROT_READ | PROT_WRITE,
                 MAP_PRIVATE | MAP_FIXED | MAP_ANONYMOUS, -1, 0)
    end_bss = addr + bss_pages * PAGE_SIZE
    mm.start_brk = mm.brk = end_bss
    if randomize and m.sysctl.randomize_va_space > 1:
        brk = mm.brk + PAGE_SIZE
        rng_pages = lay.brk_rnd_range >> 12
        mm.start_brk = mm.brk = brk + (rng.randrange(rng_pages) << 12)
        task.brk_randomized = True
    # the stack (setup_arg_pages): one argument page plus the 128 KiB expansion
    stack_top = lay.task_size
    if randomize:
        stack_top = (stack_top & PAGE_MASK) - ((rng.getrandbits(22) & lay.stack_rnd_mask) << 12)
    stack = VmAreaStruct(stack_top - PAGE_SIZE - STACK_EXPAND, stack_top, mm, VM_STACK_FLAGS,
                         0)
    stack.vm_pgoff = stack.vm_start >> 12
    stack.vm_page_prot = vm_get_page_prot(VM_STACK_FLAGS)
    from memsim.mm.util import security_vm_enough_memory_mm
    from memsim.mm.vma import vm_stat_account, vma_link
    security_vm_enough_memory_mm(m, mm, stack.nr_pages)
    vma_link(mm, stack)
    vm_stat_account(mm, stack.vm_flags, stack.nr_pages)
    mm.start_stack = stack_top - 0x100 - (rng.getrandbits(8) << 4 if randomize else 0)
    mm.arg_start = mm.start_stack + 8
    mm.arg_end = mm.env_start = mm.arg_start + len(name) + 1
    mm.env_end = stack_top - 8
    task.sp = mm.start_stack
    task.ip = mm.start_code
    task.write(mm.arg_start, name.encode() + b"\0")
    _map_vdso(m, task)
    # the first instruction fetch at the entry point faults the text in (fault-around)
    task.read(mm.start_code, 1)
    mm.hiwater_vm = mm.total_vm
    return task


def _new_fdtable(m: Machine) -> Any:
    try:
        from memsim.fs.file import FdTable
    except ImportError:
        return None
    return FdTable()


def _exe_file(m: Machine, name: str, pages: int) -> Any:
    vfs = getattr(m, "vfs", None)
    if vfs is None:
        return None
    from memsim.include.mman import EEXIST
    path = name if name.startswith("/") else f"/usr/bin/{name}"
    if vfs.lookup(path) is None:
        # an executable image: its pages hold something other than zeros
        vfs.create(path, bytes([0x7F]) * (pages * PAGE_SIZE))
    f = vfs.open(path, os.O_RDONLY)
    if isinstance(f, int):
        raise InputError(f"spawn: cannot open {path} ({-f if f != -EEXIST else f})")
    return f


def _install(task: TaskStruct, file: Any) -> int:
    return int(task.files.install(file))


def _map_vdso(m: Machine, task: TaskStruct) -> None:
    """map_vdso(): [vvar] then [vdso], placed top-down in the mmap area."""
    from memsim.include.mm import (
        VM_DONTDUMP,
        VM_EXEC,
        VM_IO,
        VM_MAYEXEC,
        VM_MAYREAD,
        VM_MIXEDMAP,
        VM_PFNMAP,
        VM_READ,
    )
    from memsim.mm.mmap import __get_unmapped_area
    from memsim.mm.vma import vm_stat_account, vma_link
    mm = task.mm
    size = (VVAR_PAGES + VDSO_PAGES) * PAGE_SIZE
    addr = __get_unmapped_area(m, mm, None, 0, size, 0, 0, 0)
    if addr < 0:
        raise InputError("spawn: no room for the vDSO")
    pages: list[int] = m.vdso_pages
    vvar_flags = VM_READ | VM_MAYREAD | VM_IO | VM_DONTDUMP | VM_PFNMAP
    vdso_flags = VM_READ | VM_EXEC | VM_MAYREAD | VM_MAYEXEC | VM_DONTDUMP | VM_MIXEDMAP
    for start, n, flags, name, pg in (
            (addr, VVAR_PAGES, vvar_flags, "[vvar]", pages[:VVAR_PAGES]),
            (addr + VVAR_PAGES * PAGE_SIZE, VDSO_PAGES, vdso_flags, "[vdso]",
             pages[VVAR_PAGES:])):
        v = VmAreaStruct(start, start + n * PAGE_SIZE, mm, flags, 0)
        v.vm_ops = SpecialMappingOps(name, pg)
        v.special_name = name
        v.vm_page_prot = vm_get_page_prot(flags)
        vma_link(mm, v)
        vm_stat_account(mm, flags, n)


# ---- fork --------------------------------------------------------------------------------

def copy_process(m: Machine, parent: TaskStruct, comm: str | None) -> TaskStruct:
    """copy_process() with copy_mm() -> dup_mm() -> dup_mmap()."""
    pid = alloc_pid(m)
    mm = mm_alloc(m)
    child = TaskStruct(m, pid, comm or parent.comm, mm, parent)
    child.ip, child.sp = parent.ip, parent.sp
    child.brk_randomized = parent.brk_randomized
    child.oom_score_adj = parent.oom_score_adj
    err = dup_mmap(m, mm, parent.mm)
    if err:
        exit_mmap(m, mm)
        raise OSError(-err, f"fork: {os.strerror(-err)}")
    if parent.files is not None:
        child.files = parent.files.dup_fd()
    m.tasks[pid] = child
    parent.children.append(child)
    return child


def dup_mmap(m: Machine, mm: MmStruct, oldmm: MmStruct) -> int:
    from memsim.fs.file import get_file
    from memsim.include.mm import VM_ACCOUNT
    from memsim.mm.memory import copy_page_range
    from memsim.mm.rmap import anon_vma_fork
    from memsim.mm.util import security_vm_enough_memory_mm
    from memsim.mm.vma import vm_stat_account
    for f in ("total_vm", "data_vm", "exec_vm", "stack_vm", "start_code", "end_code",
              "start_data", "end_data", "start_brk", "brk", "start_stack", "arg_start",
              "arg_end", "env_start", "env_end", "mmap_base", "mmap_legacy_base",
              "task_size"):
        setattr(mm, f, getattr(oldmm, f))
    mm.def_flags = oldmm.def_flags & VM_NOHUGEPAGE
    mm.hiwater_rss = oldmm.get_mm_rss()
    mm.hiwater_vm = oldmm.total_vm
    for vma in oldmm.vmas:
        if vma.vm_flags & VM_DONTCOPY:
            vm_stat_account(mm, vma.vm_flags, -vma.nr_pages)
            continue
        if vma.vm_flags & VM_ACCOUNT:
            if security_vm_enough_memory_mm(m, oldmm, vma.nr_pages):
                return -12
        tmp = VmAreaStruct(vma.vm_start, vma.vm_end, mm, vma.vm_flags & ~VM_LOCKED_MASK,
                           vma.vm_pgoff, vma.vm_file, None, [], vma.vm_page_prot, vma.vm_ops,
                           vma.special_name)
        if vma.vm_flags & VM_WIPEONFORK:
            tmp.anon_vma = None
        else:
            anon_vma_fork(m, tmp, vma)
        if tmp.vm_file is not None:
            get_file(tmp.vm_file)
        mm.vmas.append(tmp)
        mm.map_count += 1
        if tmp.vm_file is not None:
            lst = tmp.vm_file.f_mapping.i_mmap
            lst.insert(lst.index(vma) + 1 if vma in lst else len(lst), tmp)
        if not vma.vm_flags & VM_WIPEONFORK:
            copy_page_range(m, tmp, vma)
    return 0


# ---- exit --------------------------------------------------------------------------------

def exit_mmap(m: Machine, mm: MmStruct) -> None:
    """exit_mmap(): unmap every VMA, free the page tables, refund the commit charge."""
    from memsim.mm.memory import zap_pte_range
    from memsim.mm.mmap import remove_vma, remove_vma_accounting
    from memsim.mm.swap import lru_add_drain
    lru_add_drain(m)
    for v in list(mm.vmas):
        zap_pte_range(m, v, v.vm_start, v.vm_end)
    mm.flags |= 1 << 21       # MMF_OOM_SKIP: nothing left for the OOM killer/reaper
    mm.pgd.free_pgtables(0, mm.task_size or (1 << 64), 0, 1 << 64)
    for v in list(mm.vmas):
        remove_vma_accounting(m, mm, v)
        remove_vma(m, mm, v)
    mm.pgd.destroy()
    ksm_exit = getattr(m, "ksm_exit_hook", None)
    if ksm_exit is not None:
        ksm_exit(mm)


def do_exit(m: Machine, task: TaskStruct, code: int, killed_by: int | None = None) -> None:
    if task.exit_state is not None:
        return
    task.exit_code = code
    task.killed_by = killed_by
    exit_mmap(m, task.mm)
    if task.files is not None:
        task.files.close_all(m)
    task.exit_state = "zombie"
    if task.parent is None or task.parent.exit_state is not None:
        release_task(m, task)
    for c in task.children:
        c.parent = None
        if c.exit_state == "zombie":
            release_task(m, c)


def release_task(m: Machine, task: TaskStruct) -> None:
    task.exit_state = "dead"
    m.tasks.pop(task.pid, None)


# the mm modules register their syscalls in SYSCALLS when imported
from memsim.kernel import sys as _sys  # noqa: E402,F401
from memsim.mm import madvise as _madvise  # noqa: E402,F401
from memsim.mm import mincore as _mincore  # noqa: E402,F401
from memsim.mm import mlock as _mlock  # noqa: E402,F401
from memsim.mm import mmap as _mmap  # noqa: E402,F401
from memsim.mm import mprotect as _mprotect  # noqa: E402,F401
from memsim.mm import mremap as _mremap  # noqa: E402,F401
from memsim.mm import mseal as _mseal  # noqa: E402,F401
from memsim.mm import msync as _msync  # noqa: E402,F401
