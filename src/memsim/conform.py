"""
Conformance against the real kernel: replay the scenarios of a golden file recorded by
../shared/oracle/record_real.py on simulated machines and compare every observation.

Each scenario runs on a fresh ``Machine`` configured like the recorder's environment
(x86-64, 2 CPUs, THP madvise, the recorded sysctls) with one subject process set up as
the recorder's Python subject is (a heap ending at the initial break, an 8-page scratch
mapping, a PROT_NONE reservation with the 2 MiB aligned window W inside it). The ops are
issued through the raw syscall layer (``task.syscall``) and every step is observed as the
recorder's driver observes a live process: the VMAs intersecting the windows with their
smaps counters and per-page codes (pagemap + kpageflags), status deltas against the
baseline, map counts, shared physical pages, ksm_stat.

``run_golden(doc)`` returns one ``ScenarioResult`` per scenario; ``memsim conform`` prints
them (cli/conform.py).
"""

from __future__ import annotations

import errno as _errno
import json
import signal
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from memsim.fs.proc import task_mmu
from memsim.fs.proc.array import task_mem_values
from memsim.include import mman

if TYPE_CHECKING:
    from memsim.machine import Machine

PS = 4096
M64 = (1 << 64) - 1
TWO_MB = 2 << 20

# ---- the recorder's ABI names: its flag words are the constants' names without prefix,
# lower-cased (MAP_FIXED_NOREPLACE -> "fixed_noreplace", MAP_ANON -> "anon") -------------


def _abi_names(prefix: str) -> dict[str, int]:
    return {k[len(prefix):].lower(): v for k, v in vars(mman).items()
            if k.startswith(prefix) and isinstance(v, int)}


MAP_FLAGS = _abi_names("MAP_")
MREMAP_FLAGS = _abi_names("MREMAP_")
MADV = _abi_names("MADV_")
MLOCK2_FLAGS = _abi_names("MLOCK_")
MCL_FLAGS = _abi_names("MCL_")
PR_SET_VMA, PR_SET_VMA_ANON_NAME = mman.PR_SET_VMA, mman.PR_SET_VMA_ANON_NAME
_PRIVATE_ANON = mman.MAP_PRIVATE | mman.MAP_ANONYMOUS
_RW = mman.PROT_READ | mman.PROT_WRITE
POSIX_FADV_DONTNEED = 4
O_RDONLY, O_RDWR, O_CREAT, O_TRUNC = 0, 2, 0o100, 0o1000

SMAPS_KEYS = ["Rss", "Pss", "Pss_Dirty", "Shared_Clean", "Shared_Dirty", "Private_Clean",
              "Private_Dirty", "Referenced", "Anonymous", "KSM", "LazyFree", "AnonHugePages",
              "ShmemPmdMapped", "FilePmdMapped", "Swap", "SwapPss", "Locked", "THPeligible"]
STATUS_KEYS = ["VmSize", "VmLck", "VmPin", "VmRSS", "RssAnon", "RssFile", "RssShmem",
               "VmData", "VmSwap"]
#: golden leaves replaced by this marker were dropped as non-deterministic
NONDET = "<nondeterministic>"
#: initial heap of the subject (pages, pre-faulted like glibc's pre-faulted arena)
SUBJECT_HEAP_PAGES = 33
#: a free gap above the subject's scratch area, as the interpreter's shared libraries
#: leave between their mappings: a later mmap(NULL) of a few pages lands there, not in W
SUBJECT_LIB_HOLE_PAGES = 16

_ERRNAME_PREF = {_errno.EOPNOTSUPP: "EOPNOTSUPP", _errno.EAGAIN: "EAGAIN",
                 _errno.EDEADLK: "EDEADLK"}


def errname(e: int) -> str:
    return _ERRNAME_PREF.get(e) or _errno.errorcode.get(e, f"E{e}")


def prot_bits(s: str | None) -> int:
    if s in (None, "", "none", "---"):
        return 0
    v = 0
    for ch in s or "":
        v |= {"r": 1, "w": 2, "x": 4, "-": 0}[ch]
    return v


def flag_bits(names: Iterable[str] | None, table: dict[str, int]) -> int:
    v = 0
    for n in names or ():
        v |= table[n]
    return v


def rle(s: str) -> str:
    """The recorder's run-length encoding: each run as its character then its length."""
    out = []
    i = 0
    while i < len(s):
        j = i
        while j < len(s) and s[j] == s[i]:
            j += 1
        out.append(f"{s[i]}{j - i}")
        i = j
    return "".join(out)


def read_code(v: int) -> str:
    """touch mode r: one character per page for its first byte."""
    return "0" if v == 0 else (chr(v) if 33 <= v < 127 else "#")


def classify(path: str, files: dict[str, str]) -> str:
    """The recorder's VMA kind from the maps name column."""
    if path == "":
        return "anon"
    if path == "[heap]":
        return "heap"
    if path.startswith("[anon:"):
        return "anon:" + path[6:-1]
    if path.startswith("[anon_shmem:"):
        return "anon_shmem:" + path[12:-1]
    p = path[:-10] if path.endswith(" (deleted)") else path
    if p.startswith("/dev/zero"):
        return "shmem_anon"
    if p.startswith("/memfd:"):
        return "memfd:" + p[7:]
    for name, fp in files.items():
        if p == fp:
            return "file:" + name
    return "other:" + p.rsplit("/", 1)[-1]


def clip_window(vs: int, ve: int, wb: int, we: int) -> tuple[int, int, str]:
    """(start, end, clip) of VMA ``[vs, ve)`` seen through window ``[wb, we)``."""
    s, e = max(vs, wb), min(ve, we)
    clip = ("L" if vs < wb else "") + ("R" if ve > we else "")
    return s, e, clip


def window_base(reservation: int) -> int:
    """W: the first 2 MiB boundary at least 2 MiB into the reservation."""
    return (reservation + TWO_MB + TWO_MB - 1) & ~(TWO_MB - 1)


# ---- comparison ---------------------------------------------------------------------------

Diff = tuple[str, Any, Any]
_MISSING = "<missing>"


def _join(path: str, key: str | int) -> str:
    if isinstance(key, int):
        return f"{path}[{key}]"
    return f"{path}.{key}" if path else key


def compare(expected: Any, actual: Any, path: str = "") -> list[Diff]:
    """
    Every differing leaf of *actual* against *expected*, as (path, expected, actual).
    Only keys present in *expected* are compared (the golden drops non-deterministic
    leaves); leaves marked ``<nondeterministic>`` are skipped. Lists of different length
    differ as a whole.
    """
    if isinstance(expected, str) and expected == NONDET:
        return []
    if isinstance(expected, dict):
        if not isinstance(actual, dict):
            return [(path, expected, actual)]
        out: list[Diff] = []
        for k, v in expected.items():
            if k not in actual:
                if not (isinstance(v, str) and v == NONDET):
                    out.append((_join(path, k), v, _MISSING))
                continue
            out.extend(compare(v, actual[k], _join(path, k)))
        return out
    if isinstance(expected, list):
        if not isinstance(actual, list) or len(actual) != len(expected):
            return [(path, expected, actual)]
        out = []
        for i, (e, a) in enumerate(zip(expected, actual, strict=True)):
            out.extend(compare(e, a, _join(path, i)))
        return out
    if expected != actual or isinstance(expected, bool) != isinstance(actual, bool):
        return [(path, expected, actual)]
    return []


def short(v: Any, limit: int = 240) -> str:
    s = v if v == _MISSING else json.dumps(v, separators=(",", ":"))
    return s if len(s) <= limit else s[:limit - 3] + "..."


# ---- results -----------------------------------------------------------------------------

@dataclass
class ScenarioResult:
    name: str
    ok: bool
    #: "initial" or the step index of the first difference, its op, and every differing leaf
    step: str | None = None
    op: str | None = None
    diffs: list[Diff] = field(default_factory=list)
    error: str | None = None
    actual: dict[str, Any] = field(default_factory=dict)

    def line(self) -> str:
        if self.ok:
            return f"PASS {self.name}"
        if not self.diffs:
            return f"FAIL {self.name}: {self.error}"
        path, exp, got = self.diffs[0]
        where = "initial" if self.step == "initial" else f"step {self.step} ({self.op})"
        return f"FAIL {self.name}: {where}: {path}: expected {short(exp)}, got {short(got)}"

    def verbose_lines(self) -> list[str]:
        return [f"    {p}: expected {short(e)}, got {short(g)}" for p, e, g in self.diffs]


# ---- the simulated subject ---------------------------------------------------------------------

class ConformError(Exception):
    """The scenario cannot go on (subject died, op not modelled)."""


@dataclass
class Proc:
    label: str
    task: Any
    alive: bool = True
    baseline: dict[str, int] | None = None
    map_base: int | None = None


def machine_settings(env: dict[str, Any], mem: str | None = None) -> dict[str, object]:
    """Machine settings mirroring the recorder's environment."""
    from memsim.config import KEYS
    settings: dict[str, object] = {"arch": "x86_64", "cpus": 2, "thp": "madvise",
                                   "mem": mem or "24G"}
    for k, v in (env.get("sysctl") or {}).items():
        key = f"sysctl.{k}"
        if key in KEYS and isinstance(v, int):
            settings[key] = v
    return settings


class ScenarioRun:
    """One scenario on a fresh machine."""

    def __init__(self, sc: dict[str, Any], env: dict[str, Any], mem: str | None = None,
                 machine_factory: Callable[[dict[str, object]], Machine] | None = None) -> None:
        self.sc = sc
        self.env = env
        self.mode = sc.get("mode", "region")
        self.observe_mode = sc.get("observe", "full")
        self.win_pages = int(sc.get("window_pages", 64))
        settings = machine_settings(env, mem)
        if machine_factory is None:
            from memsim.machine import Machine
            self.m = Machine.boot(settings=settings)
        else:
            self.m = machine_factory(settings)
        self.procs: dict[str, Proc] = {}
        self.fds: dict[str, int] = {}
        self.files: dict[str, str] = {}
        #: name -> (addr, pages): windows of the subject (the recorder's ``tracked``)
        self.tracked: dict[str, tuple[int, int]] = {}
        #: windows the driver observes: W first, then 'track' windows in creation order
        self.windows: dict[str, tuple[int, int]] = {}
        self.fill: tuple[int, int] | None = None
        self.new_tracks: dict[str, tuple[int, int]] = {}
        self.tmpdir = f"/tmp/oracle/{sc['name']}"

    # -- set-up
    def setup(self) -> None:
        m = self.m
        p = m.spawn("python3")
        self.procs["P"] = Proc("P", p)
        # the interpreter's heap: the initial break ends a pre-faulted [heap] VMA
        start = p.syscall("brk", 0)
        p.syscall("brk", start + SUBJECT_HEAP_PAGES * PS)
        self.brk0 = p.syscall("brk", 0)
        p.touch(start, self.brk0 - start, write=True, val=0x70)
        hole = p.syscall("mmap", 0, SUBJECT_LIB_HOLE_PAGES * PS, mman.PROT_READ,
                         _PRIVATE_ANON, -1, 0)
        a = p.syscall("mmap", 0, 8 * PS, _RW, _PRIVATE_ANON, -1, 0)
        if a < 0 or hole < 0:
            raise ConformError(f"scratch mmap failed ({a}, {hole})")
        p.syscall("munmap", hole, SUBJECT_LIB_HOLE_PAGES * PS)
        self.tracked["_scratch"] = (a, 8)
        p.touch(a, 2 * PS, write=True, val=ord("s"))
        if self.mode == "brk":
            self.base = self.brk0
        else:
            res_len = self.win_pages * PS + 3 * TWO_MB
            r = p.syscall("mmap", 0, res_len, mman.PROT_NONE, _PRIVATE_ANON, -1, 0)
            if r < 0:
                raise ConformError(f"reservation mmap failed ({r})")
            self.base = window_base(r)
        self.win_bytes = self.win_pages * PS
        self.windows["W"] = (self.base, self.win_pages)
        if self.sc.get("ksm") is not None:
            ksm = getattr(m, "ksm", None)
            if ksm is None:
                raise ConformError("KSM is not modelled (m.ksm missing)")
            for k, v in (("sleep_millisecs", 10), ("pages_to_scan", 1000),
                         ("use_zero_pages", int(self.sc["ksm"].get("use_zero_pages", 0))),
                         ("run", 1)):
                setattr(ksm, k, v)

    # -- address helpers (Subject.addr_of / len_of / describe)
    def addr_of(self, op: dict[str, Any], off_key: str = "off", at_key: str = "at") -> int:
        if off_key == "off" and "abs" in op:
            return int(op["abs"], 0)
        at = op.get(at_key)
        base = self.tracked[at][0] if at else self.base
        return int(base + op.get(off_key, 0) * PS + (op.get("adj", 0) if off_key == "off"
                                                      else 0))

    @staticmethod
    def len_of(op: dict[str, Any], key: str = "pages") -> int:
        return int(op.get(key, 0) * PS + op.get("len_adj", 0))

    def describe(self, a: int, op: dict[str, Any] | None = None, pages: int = 0) -> str:
        if op is not None and "abs" in op and a == int(op["abs"], 0):
            return "ABS"
        rel = a - self.base
        if 0 <= rel < self.win_bytes:
            pg, rem = divmod(rel, PS)
            return f"W+{pg}" + (f"+{rem:#x}" if rem else "")
        for name, (b, n) in self.tracked.items():
            if name.startswith("_"):
                continue
            if b <= a < b + n * PS:
                pg, rem = divmod(a - b, PS)
                return f"T:{name}+{pg}" + (f"+{rem:#x}" if rem else "")
        if op is not None and op.get("track"):
            self.tracked[op["track"]] = (a, pages)
            self.new_tracks[op["track"]] = (a, pages)
            return f"T:{op['track']}+0"
        return "outside"

    # -- ops
    @staticmethod
    def ok(ret: Any = 0) -> dict[str, Any]:
        return {"ret": ret, "errno": None}

    @staticmethod
    def err(e: int) -> dict[str, Any]:
        return {"ret": -1, "errno": errname(e)}

    def simple(self, r: int) -> dict[str, Any]:
        if -4096 < r < 0:
            return self.err(-r)
        return self.ok(r)

    def sc_(self, task: Any, name: str, *args: int) -> int:
        return int(task.syscall(name, *args))

    def op_mmap(self, t: Any, op: dict[str, Any]) -> dict[str, Any]:
        if op.get("off") is None and not op.get("at") and "abs" not in op:
            addr = 0
        else:
            addr = self.addr_of(op)
        length = self.len_of(op)
        prot = op["prot_raw"] if "prot_raw" in op else prot_bits(op.get("prot", "rw"))
        flags = op["flags_raw"] if "flags_raw" in op else flag_bits(op.get("flags"), MAP_FLAGS)
        fd = -1
        if "file" in op:
            fd = self.fds[op["file"]]
        if "fd_raw" in op:
            fd = op["fd_raw"]
        foff = op.get("foff", 0) * PS + op.get("foff_adj", 0)
        r = self.sc_(t, "mmap", addr, length, prot, flags, fd, foff)
        if -4096 < r < 0:
            return self.err(-r)
        return self.ok(self.describe(r, op, length // PS))

    def op_munmap(self, t: Any, op: dict[str, Any]) -> dict[str, Any]:
        return self.simple(self.sc_(t, "munmap", self.addr_of(op), self.len_of(op)))

    def op_mprotect(self, t: Any, op: dict[str, Any]) -> dict[str, Any]:
        prot = op["prot_raw"] if "prot_raw" in op else prot_bits(op["prot"])
        return self.simple(self.sc_(t, "mprotect", self.addr_of(op), self.len_of(op), prot))

    def op_madvise(self, t: Any, op: dict[str, Any]) -> dict[str, Any]:
        adv = op["advice_raw"] if "advice_raw" in op else MADV[op["advice"]]
        return self.simple(self.sc_(t, "madvise", self.addr_of(op), self.len_of(op), adv))

    def op_mremap(self, t: Any, op: dict[str, Any]) -> dict[str, Any]:
        flags = op["flags_raw"] if "flags_raw" in op else flag_bits(op.get("flags"),
                                                                    MREMAP_FLAGS)
        new = 0
        if "new_off" in op or "new_at" in op:
            new = self.addr_of(op, "new_off", "new_at")
        new_len = self.len_of(op, "new_pages")
        r = self.sc_(t, "mremap", self.addr_of(op), self.len_of(op), new_len, flags, new)
        if -4096 < r < 0:
            return self.err(-r)
        return self.ok(self.describe(r, op, new_len // PS))

    def op_mlock(self, t: Any, op: dict[str, Any]) -> dict[str, Any]:
        return self.simple(self.sc_(t, "mlock", self.addr_of(op), self.len_of(op)))

    def op_munlock(self, t: Any, op: dict[str, Any]) -> dict[str, Any]:
        return self.simple(self.sc_(t, "munlock", self.addr_of(op), self.len_of(op)))

    def op_mlock2(self, t: Any, op: dict[str, Any]) -> dict[str, Any]:
        fl = op["flags_raw"] if "flags_raw" in op else flag_bits(op.get("flags"), MLOCK2_FLAGS)
        return self.simple(self.sc_(t, "mlock2", self.addr_of(op), self.len_of(op), fl))

    def op_mlockall(self, t: Any, op: dict[str, Any]) -> dict[str, Any]:
        fl = op["flags_raw"] if "flags_raw" in op else flag_bits(op.get("flags"), MCL_FLAGS)
        return self.simple(self.sc_(t, "mlockall", fl))

    def op_munlockall(self, t: Any, op: dict[str, Any]) -> dict[str, Any]:
        return self.simple(self.sc_(t, "munlockall"))

    def op_mseal(self, t: Any, op: dict[str, Any]) -> dict[str, Any]:
        return self.simple(self.sc_(t, "mseal", self.addr_of(op), self.len_of(op), 0))

    def op_anon_name(self, t: Any, op: dict[str, Any]) -> dict[str, Any]:
        # SIM: the name's user pointer is not modelled; any non-zero value stands for it
        ptr = 1 if op.get("name") else 0
        return self.simple(self.sc_(t, "prctl", PR_SET_VMA, PR_SET_VMA_ANON_NAME,
                                    self.addr_of(op), self.len_of(op), ptr))

    def op_brk(self, t: Any, op: dict[str, Any]) -> dict[str, Any]:
        target = 0 if op.get("query") else self.brk0 + op["rel"]
        return self.ok(self.sc_(t, "brk", target & M64) - self.brk0)

    def _mincore(self, t: Any, addr: int, length: int) -> dict[str, Any]:
        try:
            vec = t.mincore(addr, length)
        except OSError as e:
            return self.err(e.errno or 0)
        n = (length + PS - 1) // PS
        return self.ok("".join("1" if vec[i] & 1 else "0" for i in range(n)))

    def op_mincore(self, t: Any, op: dict[str, Any]) -> dict[str, Any]:
        return self._mincore(t, self.addr_of(op), self.len_of(op))

    def op_mincore_file(self, t: Any, op: dict[str, Any]) -> dict[str, Any]:
        fd = self.fds[op["name"]]
        size = int(t.files.get(fd).f_inode.i_size)
        n = (size + PS - 1) // PS
        a = self.sc_(t, "mmap", 0, n * PS, mman.PROT_READ, mman.MAP_PRIVATE, fd, 0)
        if -4096 < a < 0:
            return self.err(-a)
        res = self._mincore(t, a, n * PS)
        self.sc_(t, "munmap", a, n * PS)
        return res

    def op_touch(self, t: Any, op: dict[str, Any]) -> dict[str, Any]:
        a = self.addr_of(op)
        n = op.get("pages", 1)
        step = op.get("step", 1) * PS
        if op.get("mode", "w") == "w":
            vals = op.get("val", "x")
            if len(vals) == 1 and step == PS:
                t.touch(a, n * PS, write=True, val=ord(vals))
            else:
                for i in range(n):
                    v = ord(vals[i] if len(vals) > 1 else vals)
                    t.touch(a + i * step, PS, write=True, val=v)
            return self.ok()
        out = []
        for i in range(n):
            out.append(read_code(t.read(a + i * step, 1)[0]))
        return self.ok("".join(out))

    def op_probe(self, t: Any, op: dict[str, Any]) -> dict[str, Any]:
        from memsim.errors import MemsimError
        a = self.addr_of(op)
        child = t.fork()
        ret = "ok"
        try:
            if op.get("mode", "r") == "w":
                child.write(a, b"\x50")
            else:
                child.read(a, 1)
            child.exit(0)
        except MemsimError as e:
            signo = getattr(e, "signo", None)
            if signo is None:
                raise
            ret = signal.Signals(signo).name
            if child.exit_state is None:
                child.exit(0)
        t.wait(child)
        return self.ok(ret)

    # files
    def op_file_create(self, t: Any, op: dict[str, Any]) -> dict[str, Any]:
        name = op["name"]
        npages = op.get("pages", 1)
        fill = op.get("fill", "f")
        memfd = op.get("kind") == "memfd"
        if memfd:
            fd = _memfd_create(self.m, t, name)
            self.files[name] = "/memfd:" + name
        else:
            path = f"{self.tmpdir}/{name}"
            self.files[name] = path
            fd = _open(self.m, t, path, O_RDWR | O_CREAT | O_TRUNC)
        data = b"".join(bytes([ord(fill[i] if len(fill) > 1 else fill)]) * PS
                        for i in range(npages))
        _pwrite(self.m, t, fd, data, 0)
        if not memfd:
            _fsync(self.m, t, fd)
            if op.get("mode") == "ro":
                _close(self.m, t, fd)
                fd = _open(self.m, t, self.files[name], O_RDONLY)
        self.fds[name] = fd
        return self.ok()

    def op_file_write(self, t: Any, op: dict[str, Any]) -> dict[str, Any]:
        _pwrite(self.m, t, self.fds[op["name"]], bytes([ord(op.get("val", "w"))]) * PS,
                op.get("page", 0) * PS)
        return self.ok()

    def op_file_truncate(self, t: Any, op: dict[str, Any]) -> dict[str, Any]:
        _ftruncate(self.m, t, self.fds[op["name"]], op["pages"] * PS)
        return self.ok()

    def op_file_dropcache(self, t: Any, op: dict[str, Any]) -> dict[str, Any]:
        fd = self.fds[op["name"]]
        _fsync(self.m, t, fd)
        _fadvise(self.m, t, fd, 0, 0, POSIX_FADV_DONTNEED)
        return self.ok()

    def op_file_close(self, t: Any, op: dict[str, Any]) -> dict[str, Any]:
        _close(self.m, t, self.fds.pop(op["name"]))
        return self.ok()

    # max_map_count
    def op_fill_map_count(self, t: Any, op: dict[str, Any]) -> dict[str, Any]:
        maxc = int(self.m.sysctl.max_map_count)
        npages = (maxc + 64) * 2
        a = self.sc_(t, "mmap", 0, npages * PS, mman.PROT_NONE,
                     _PRIVATE_ANON | mman.MAP_NORESERVE, -1, 0)
        if -4096 < a < 0:
            return self.err(-a)
        self.fill = (a, npages)
        splits = 0
        err = 0
        for i in range(1, npages, 2):
            r = self.sc_(t, "mprotect", a + i * PS, PS, 1)
            if -4096 < r < 0:
                err = -r
                break
            splits += 1
        return {"ret": "ok", "errno": errname(err) if err else None, "splits": splits}

    def op_release_fill(self, t: Any, op: dict[str, Any]) -> dict[str, Any]:
        if not self.fill:
            return self.ok()
        a, n = self.fill
        self.fill = None
        return self.simple(self.sc_(t, "munmap", a, n * PS))

    def op_ksm_scan(self, op: dict[str, Any]) -> dict[str, Any]:
        ksm = getattr(self.m, "ksm", None)
        if ksm is None:
            raise ConformError("KSM is not modelled (m.ksm missing)")
        r = ksm.run_scans(op.get("scans", 3))
        okscan = bool(r) if not isinstance(r, int) or isinstance(r, bool) \
            else r >= op.get("scans", 3)
        return {"ret": "ok" if okscan else "idle", "errno": None}

    # -- observation
    def observe(self, proc: Proc) -> tuple[dict[str, Any], list[tuple[int, str, int]]]:
        m = self.m
        mm = proc.task.mm
        full = self.observe_mode != "summary"
        per_win: dict[str, list[Any]] = {w: [] for w in self.windows}
        for v in mm.vmas:
            for wname, (wb, wn) in self.windows.items():
                if v.vm_start < wb + wn * PS and v.vm_end > wb:
                    per_win[wname].append(v)
                    break
        view: dict[str, Any] = {}
        pfns: list[tuple[int, str, int]] = []
        for wname, vmas in per_win.items():
            wb, wn = self.windows[wname]
            we = wb + wn * PS
            vl = []
            for v in vmas:
                s, e, clip = clip_window(v.vm_start, v.vm_end, wb, we)
                kind = classify(task_mmu.get_vma_name(v) or "", self.files)
                rec: dict[str, Any] = {"start": (s - wb) // PS, "end": (e - wb) // PS,
                                       "perms": _perms(v.vm_flags), "kind": kind}
                if not (kind in ("anon", "heap") or kind.startswith("anon:")):
                    off = v.vm_pgoff if v.vm_file is not None else 0
                    rec["pgoff"] = off + (s - v.vm_start) // PS
                if clip:
                    rec["clip"] = clip
                if full:
                    rec["flags"] = task_mmu.vm_flags_text(v.vm_flags).strip()
                    if clip:
                        rec["smaps"] = None
                    else:
                        c = task_mmu.smap_counts(m, v)
                        rec["smaps"] = {k: c[k] for k in SMAPS_KEYS}
                    codes = []
                    for pg in range((s - wb) // PS, (e - wb) // PS):
                        code, pfn = task_mmu.page_code(m, mm, wb + pg * PS)
                        codes.append(code)
                        if pfn is not None:
                            pfns.append((pfn, wname, pg))
                    rec["pages"] = rle("".join(codes))
                vl.append(rec)
            view[wname] = vl
        res: dict[str, Any] = {"vmas": view.pop("W"), "tracked": view}
        if not res["tracked"]:
            del res["tracked"]
        if full:
            vals = task_mem_values(mm)
            res["status"] = {k: vals[k] for k in STATUS_KEYS}
            if self.sc.get("ksm") is not None:
                res["ksm_stat"] = task_mmu.ksm_stat_values(mm)
        res["map_count"] = len(mm.vmas)
        return res, pfns

    def snapshot(self, baseline: bool = False) -> dict[str, Any]:
        views: dict[str, Any] = {}
        groups: dict[int, list[str]] = {}
        for label, h in self.procs.items():
            if not h.alive:
                continue
            v, pfns = self.observe(h)
            st = v.pop("status", None)
            mc = v.pop("map_count")
            if baseline and h.baseline is None and h.map_base is None:
                h.baseline = st if st is not None else {}
                h.map_base = mc
            if st is not None and h.baseline is not None:
                v["status_delta"] = {k: st.get(k, 0) - h.baseline.get(k, 0)
                                     for k in STATUS_KEYS}
            if self.observe_mode == "summary":
                v["map_count_rel_max"] = mc - int(self.m.sysctl.max_map_count)
            if h.map_base is not None:
                v["map_count_delta"] = mc - h.map_base
            for pfn, wname, pg in pfns:
                groups.setdefault(pfn, []).append(f"{label}:{wname}+{pg}")
            views[label] = v
        shared = sorted(sorted(g) for g in groups.values() if len(g) > 1)
        return {"views": views, "same_page": shared}

    def faults(self) -> dict[str, tuple[int, int]]:
        return {k: (int(h.task.min_flt), int(h.task.maj_flt))
                for k, h in self.procs.items() if h.alive}

    # -- the run
    def run_op(self, op: dict[str, Any]) -> dict[str, Any]:
        from memsim.errors import MemsimError
        kind = op["op"]
        who = op.get("proc", "P")
        self.new_tracks = {}
        if kind == "ksm_scan":
            return self.op_ksm_scan(op)
        h = self.procs.get(who)
        if h is None or not h.alive:
            raise ConformError(f"no live process {who}")
        t = h.task
        if kind == "fork":
            child = t.fork()
            label = op.get("as", "C")
            self.procs[label] = Proc(label, child)
            return {"ret": 0, "errno": None, "child": label}
        if kind == "exit":
            t.exit(0)
            h.alive = False
            if who != "P":
                self.procs["P"].task.wait(t)
            return self.ok()
        fn = getattr(self, f"op_{kind}", None)
        if fn is None:
            raise ConformError(f"op {kind!r} is not supported by the runner")
        try:
            res: dict[str, Any] = fn(t, op)
        except MemsimError as e:
            if getattr(e, "signo", None) is not None:
                h.alive = t.exit_state is None
                raise ConformError(f"subject {who} killed: {e}") from e
            raise
        if self.new_tracks:
            for name, (a, n) in self.new_tracks.items():
                self.windows[name] = (a, max(n, 1))
        return res

    def run(self) -> dict[str, Any]:
        """The recorder's scenario record (initial + steps) for this machine."""
        out: dict[str, Any] = {"name": self.sc["name"]}
        self.setup()
        out["initial"] = self.snapshot(baseline=True)
        steps = []
        for i, op in enumerate(self.sc["ops"]):
            step: dict[str, Any] = {"i": i, "op": op["op"]}
            who = op.get("proc", "P")
            before = self.faults()
            try:
                res = self.run_op(op)
            except Exception as e:  # noqa: BLE001 - a model gap is reported, not raised
                res = {"ret": None, "errno": None, "exc": f"{type(e).__name__}: {e}"}
            after = self.faults()
            if "child" in res:
                step["child"] = res.pop("child")
            step["ret"] = res.get("ret")
            step["errno"] = res.get("errno")
            if "exc" in res:
                step["exc"] = res["exc"]
            if "splits" in res:
                step["splits"] = res["splits"]
            step["faults"] = {}
            for k in before:
                if op["op"] in ("fork", "probe") and k == who:
                    step["faults"][k] = None
                    continue
                if op["op"] == "exit" and k == who:
                    continue
                if k in after:
                    step["faults"][k] = {"min": after[k][0] - before[k][0],
                                         "maj": after[k][1] - before[k][1]}
            step.update(self.snapshot(baseline=op["op"] == "fork"))
            steps.append(step)
        out["steps"] = steps
        return out


def _perms(flags: int) -> str:
    from memsim.include import mm as vmf
    return ("r" if flags & vmf.VM_READ else "-") + ("w" if flags & vmf.VM_WRITE else "-") \
        + ("x" if flags & vmf.VM_EXEC else "-") + ("s" if flags & vmf.VM_MAYSHARE else "p")


# ---- file helpers: the task's calls when it has them, else the VFS entry points --------------

def _check(r: Any, what: str) -> int:
    if isinstance(r, int) and -4096 < r < 0:
        raise OSError(-r, f"{what}: {errname(-r)}")
    return int(r) if isinstance(r, int) else 0


def _open(m: Machine, t: Any, path: str, flags: int) -> int:
    if hasattr(t, "open"):
        return int(t.open(path, flags))
    f = m.vfs.open(path, flags)
    _check(f, "open")
    return int(t.files.install(f))


def _memfd_create(m: Machine, t: Any, name: str) -> int:
    if hasattr(t, "memfd_create"):
        return int(t.memfd_create(name))
    from memsim.mm.shmem import memfd_create
    f = memfd_create(m, name, 0)
    _check(f, "memfd_create")
    return int(t.files.install(f))


def _pwrite(m: Machine, t: Any, fd: int, data: bytes, off: int) -> None:
    if hasattr(t, "pwrite"):
        t.pwrite(fd, data, off)
        return
    from memsim.fs.read_write import ksys_pwrite64
    _check(ksys_pwrite64(m, t.files.get(fd), data, off), "pwrite")


def _fsync(m: Machine, t: Any, fd: int) -> None:
    if hasattr(t, "fsync"):
        t.fsync(fd)
        return
    from memsim.fs.read_write import ksys_fsync
    _check(ksys_fsync(m, t.files.get(fd)), "fsync")


def _ftruncate(m: Machine, t: Any, fd: int, length: int) -> None:
    if hasattr(t, "ftruncate"):
        t.ftruncate(fd, length)
        return
    from memsim.fs.read_write import ksys_ftruncate
    _check(ksys_ftruncate(m, t.files.get(fd), length), "ftruncate")


def _fadvise(m: Machine, t: Any, fd: int, off: int, length: int, advice: int) -> None:
    if hasattr(t, "fadvise"):
        t.fadvise(fd, off, length, advice)
        return
    from memsim.mm.fadvise import ksys_fadvise64_64
    _check(ksys_fadvise64_64(m, t.files.get(fd), off, length, advice), "fadvise")


def _close(m: Machine, t: Any, fd: int) -> None:
    if hasattr(t, "close"):
        t.close(fd)
        return
    _check(t.files.close(m, fd), "close")


# ---- driver -------------------------------------------------------------------------------

def check_scenario(sc: dict[str, Any], env: dict[str, Any], mem: str | None = None,
                   keep_actual: bool = False) -> ScenarioResult:
    """Replay one golden scenario and compare it step by step (first differing step)."""
    name = sc["name"]
    if sc.get("skipped") or sc.get("error"):
        return ScenarioResult(name, False, error=f"golden has no data "
                                                  f"({sc.get('skipped') or sc.get('error')})")
    try:
        run = ScenarioRun(sc, env, mem)
        actual = run.run()
    except Exception as e:  # noqa: BLE001 - a set-up failure fails the scenario
        return ScenarioResult(name, False, error=f"set-up failed: {type(e).__name__}: {e}")
    res = ScenarioResult(name, True, actual=actual if keep_actual else {})
    d = compare(sc.get("initial"), actual["initial"])
    if d:
        res.ok, res.step, res.op, res.diffs = False, "initial", None, d
        return res
    for exp, got in zip(sc.get("steps", []), actual["steps"], strict=False):
        d = compare(exp, got)
        if d:
            res.ok, res.step, res.op, res.diffs = False, str(exp.get("i")), exp.get("op"), d
            if "exc" in got:
                res.diffs.insert(0, ("exc", None, got["exc"]))
            return res
    return res


def run_golden(doc: dict[str, Any], only: Iterable[str] | None = None,
               mem: str | None = None, keep_actual: bool = False,
               progress: Callable[[ScenarioResult], None] | None = None
               ) -> list[ScenarioResult]:
    env = doc.get("environment", {})
    wanted = set(only) if only else None
    out = []
    for sc in doc["scenarios"]:
        if wanted is not None and sc["name"] not in wanted:
            continue
        r = check_scenario(sc, env, mem, keep_actual)
        if progress is not None:
            progress(r)
        out.append(r)
    return out
