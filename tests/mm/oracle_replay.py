"""
A small replayer for the oracle scenarios of ../shared/oracle/golden-6.18.json that only
use the anonymous-memory syscalls (mmap/munmap/mprotect/mlock*/mseal/prctl/touch/fork/
probe/mincore): it places the window as the recorder does and compares each step's
return value, errno, the VMAs intersecting the window (start/end/perms/VmFlags/page
codes) and the status deltas with the golden data.
"""

from __future__ import annotations

import errno
import json
from functools import lru_cache
from pathlib import Path
from typing import Any

from memsim.include.mm import vm_flags_mnemonics
from memsim.include.mm_types import VmAreaStruct
from memsim.include.mman import (
    MADV_DONTNEED,
    MADV_DONTNEED_LOCKED,
    MADV_FREE,
    MADV_WILLNEED,
    MAP_ANONYMOUS,
    MAP_FIXED,
    MAP_FIXED_NOREPLACE,
    MAP_LOCKED,
    MAP_NORESERVE,
    MAP_POPULATE,
    MAP_PRIVATE,
    MAP_SHARED,
    MAP_STACK,
    MCL_CURRENT,
    MCL_FUTURE,
    MCL_ONFAULT,
    MLOCK_ONFAULT,
    MREMAP_FIXED,
    MREMAP_MAYMOVE,
    PR_SET_VMA,
    PR_SET_VMA_ANON_NAME,
    PROT_EXEC,
    PROT_NONE,
    PROT_READ,
    PROT_WRITE,
)
from memsim.include.pgtable_types import _PAGE_SPECIAL, PTE_PFN_MASK, pte_present
from memsim.kernel.task import SYSCALLS, TaskStruct
from memsim.machine import Machine
from memsim.mm.memory import SignalDelivered

PAGE = 4096
GOLDEN = Path(__file__).resolve().parents[3] / "shared" / "oracle" / "golden-6.18.json"
PROTS = {"none": PROT_NONE, "r": PROT_READ, "rw": PROT_READ | PROT_WRITE,
         "rx": PROT_READ | PROT_EXEC, "rwx": PROT_READ | PROT_WRITE | PROT_EXEC}
MAPF = {"private": MAP_PRIVATE, "shared": MAP_SHARED, "anon": MAP_ANONYMOUS,
        "fixed": MAP_FIXED, "fixed_noreplace": MAP_FIXED_NOREPLACE, "populate": MAP_POPULATE,
        "noreserve": MAP_NORESERVE, "locked": MAP_LOCKED, "stack": MAP_STACK}
ADVICE = {"dontneed": MADV_DONTNEED, "free": MADV_FREE, "willneed": MADV_WILLNEED,
          "dontneed_locked": MADV_DONTNEED_LOCKED}


@lru_cache(maxsize=1)
def golden() -> dict[str, Any]:
    data = json.loads(GOLDEN.read_text())
    return {s["name"]: s for s in data["scenarios"]}


def perms(vma: VmAreaStruct) -> str:
    f = vma.vm_flags
    return ("r" if f & 1 else "-") + ("w" if f & 2 else "-") + ("x" if f & 4 else "-") + \
        ("s" if f & 0x80 else "p")


def page_codes(m: Machine, p: TaskStruct, start: int, end: int) -> str:
    out = []
    for a in range(start, end, PAGE):
        pte = p.mm.pgd.pte_get(a)
        if not pte_present(pte):
            out.append(".")
            continue
        pfn = (pte & PTE_PFN_MASK) >> 12
        if pfn == m.zero_pfn or pte & _PAGE_SPECIAL:
            out.append("z")
        elif m.mem_map.mapping[pfn] & 1:
            out.append("A" if m.mem_map.mapcount1[pfn] == 1 else "a")
        else:
            out.append("F" if m.mem_map.mapcount1[pfn] == 1 else "f")
    rle = ""
    i = 0
    while i < len(out):
        j = i
        while j < len(out) and out[j] == out[i]:
            j += 1
        rle += f"{out[i]}{j - i}"
        i = j
    return rle


def status(p: TaskStruct) -> dict[str, int]:
    mm = p.mm
    return {"VmSize": mm.total_vm * 4, "VmLck": mm.locked_vm * 4, "VmData": mm.data_vm * 4,
            "VmRSS": mm.get_mm_rss() * 4, "RssAnon": mm.rss_stat[1] * 4}


def view(m: Machine, p: TaskStruct, w: int, npages: int) -> list[tuple[Any, ...]]:
    end = w + npages * PAGE
    out = []
    for v in p.mm.vmas:
        if v.vm_end <= w or v.vm_start >= end:
            continue
        s, e = max(v.vm_start, w), min(v.vm_end, end)
        out.append(((s - w) // PAGE, (e - w) // PAGE, perms(v), vm_flags_mnemonics(v.vm_flags),
                    page_codes(m, p, s, e)))
    return out


class Replay:
    def __init__(self, name: str) -> None:
        self.sc = golden()[name]
        self.m = Machine.boot(arch="x86_64", mem="2G", cpus=2)
        p = self.m.spawn("subject")
        self.npages = self.sc["window_pages"]
        size = self.npages * PAGE + (6 << 20)
        r = p.mmap(0, size, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS)
        self.w = (r + (2 << 20)) & ~((2 << 20) - 1)
        self.procs: dict[str, TaskStruct] = {"P": p}
        self.base = {"P": status(p)}

    def addr(self, op: dict[str, Any]) -> int:
        return self.w + op.get("off", 0) * PAGE + op.get("adj", 0)

    def run_op(self, op: dict[str, Any]) -> tuple[Any, str | None]:
        """(ret as the oracle writes it, errno name or None); ('skip', None) if unmodelled."""
        p = self.procs[op.get("proc", "P")]
        kind = op["op"]
        ln = op.get("pages", 0) * PAGE + op.get("len_adj", 0)

        def raw(name: str, *args: int) -> tuple[Any, str | None]:
            if name not in SYSCALLS:
                return "skip", None
            r = p.syscall(name, *args)
            if r < 0:
                return -1, errno.errorcode[-r]
            return r, None

        if kind == "mmap":
            prot = op.get("prot_raw", PROTS.get(op.get("prot", "none"), 0))
            flags = op.get("flags_raw", 0)
            for f in op.get("flags", []):
                flags |= MAPF[f]
            r, e = raw("mmap", self.addr(op) if "off" in op else 0, ln, prot, flags, -1, 0)
            if e is None:
                r = f"W+{(r - self.w) // PAGE}"
            return r, e
        if kind == "munmap":
            return raw("munmap", self.addr(op), ln)
        if kind == "mprotect":
            prot = op.get("prot_raw", PROTS.get(op.get("prot", "none"), 0))
            return raw("mprotect", self.addr(op), ln, prot)
        if kind in ("mlock", "munlock"):
            return raw(kind, self.addr(op), ln)
        if kind == "mlock2":
            flags = op.get("flags_raw", 0) | (MLOCK_ONFAULT if "onfault" in op.get("flags", [])
                                               else 0)
            return raw("mlock2", self.addr(op), ln, flags)
        if kind == "mlockall":
            names = {"current": MCL_CURRENT, "future": MCL_FUTURE, "onfault": MCL_ONFAULT}
            flags = sum(names[f] for f in op.get("flags", []))
            return raw("mlockall", flags)
        if kind == "munlockall":
            return raw("munlockall")
        if kind == "mseal":
            return raw("mseal", self.addr(op), ln, 0)
        if kind == "anon_name":
            return raw("prctl", PR_SET_VMA, PR_SET_VMA_ANON_NAME, self.addr(op), ln, 0)
        if kind == "madvise":
            return raw("madvise", self.addr(op), ln, ADVICE[op["advice"]])
        if kind == "mremap":
            flags = 0
            for f in op.get("flags", []):
                flags |= {"maymove": MREMAP_MAYMOVE, "fixed": MREMAP_FIXED}[f]
            r, e = raw("mremap", self.addr(op), ln, op["new_pages"] * PAGE, flags, 0)
            if e is None and r != "skip":
                r = f"W+{(r - self.w) // PAGE}"
            return r, e
        if kind == "touch":
            val = op.get("val", "")
            addr = self.addr(op)
            if op["mode"] == "w":
                for i in range(op["pages"]):
                    c = val[i] if len(val) > 1 else val
                    p.touch(addr + i * PAGE, PAGE, write=True, val=ord(c))
                return 0, None
            got = p.touch(addr, op["pages"] * PAGE, write=False, step=op.get("step", 1))
            return "".join("0" if b == 0 else chr(b) for b in got), None
        if kind == "mincore":
            return "".join(str(b) for b in p.mincore(self.addr(op), ln)), None
        if kind == "fork":
            c = p.fork()
            label = op.get("as", "C")
            self.procs[label] = c
            self.base[label] = status(c)
            return 0, None
        if kind == "exit":
            c = self.procs.pop(op.get("proc", "C"))
            c.exit()
            assert c.parent is not None
            c.parent.wait(c)
            return 0, None
        if kind == "probe":
            child = p.fork()
            try:
                if op["mode"] == "w":
                    child.write(self.addr(op), b"\0")
                else:
                    child.read(self.addr(op), 1)
                res = "ok"
            except SignalDelivered as sig:
                res = {11: "SIGSEGV", 7: "SIGBUS"}[sig.signo]
            if child.alive:
                child.exit()
            p.wait(child)
            return res, None
        return "skip", None

    def check(self, compare_pages: bool = True) -> list[str]:
        """Replay every op; a list of mismatch descriptions (empty when all match)."""
        errs: list[str] = []
        skipped = False
        for i, (op, st) in enumerate(zip(self.sc["ops"], self.sc["steps"], strict=True)):
            ret, eno = self.run_op(op)
            if ret == "skip":
                # an unmodelled op (madvise/mremap not registered yet): from here on only
                # the VMA layout and the virtual sizes can still be compared
                skipped = True
                continue
            if ret != st["ret"] or eno != st["errno"]:
                errs.append(f"step {i} {op}: ret {ret} {eno} != {st['ret']} {st['errno']}")
            for label, v in st["views"].items():
                if label not in self.procs:
                    continue
                want = [(x["start"], x["end"], x["perms"], x["flags"], x["pages"])
                        for x in v["vmas"]]
                got = view(self.m, self.procs[label], self.w, self.npages)
                if not compare_pages or skipped:
                    want = [x[:4] for x in want]
                    got = [x[:4] for x in got]
                if want != got:
                    errs.append(f"step {i} {op} {label}: vmas\n  got  {got}\n  want {want}")
                cur = status(self.procs[label])
                for k, base in self.base[label].items():
                    if skipped and k in ("VmRSS", "RssAnon"):
                        continue
                    if k in v["status_delta"] and cur[k] - base != v["status_delta"][k]:
                        errs.append(f"step {i} {op} {label}: {k} {cur[k] - base} != "
                                    f"{v['status_delta'][k]}")
        return errs
