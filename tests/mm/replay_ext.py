"""
oracle_replay.Replay extended for the mremap and madvise scenarios: every mremap flag and
target (new_off), every madvise advice by name, guard-marker and swap page codes ('g',
's'), and the minor-fault deltas of each step.
"""

from __future__ import annotations

import errno
from typing import Any

from oracle_replay import PAGE, Replay, perms

from memsim.include.mm import vm_flags_mnemonics
from memsim.include.mman import (
    MADV_COLD,
    MADV_COLLAPSE,
    MADV_DODUMP,
    MADV_DOFORK,
    MADV_DONTDUMP,
    MADV_DONTFORK,
    MADV_DONTNEED,
    MADV_DONTNEED_LOCKED,
    MADV_FREE,
    MADV_GUARD_INSTALL,
    MADV_GUARD_REMOVE,
    MADV_HUGEPAGE,
    MADV_KEEPONFORK,
    MADV_MERGEABLE,
    MADV_NOHUGEPAGE,
    MADV_NORMAL,
    MADV_PAGEOUT,
    MADV_POPULATE_READ,
    MADV_POPULATE_WRITE,
    MADV_RANDOM,
    MADV_REMOVE,
    MADV_SEQUENTIAL,
    MADV_UNMERGEABLE,
    MADV_WILLNEED,
    MADV_WIPEONFORK,
    MREMAP_DONTUNMAP,
    MREMAP_FIXED,
    MREMAP_MAYMOVE,
)
from memsim.include.pgtable_types import _PAGE_SPECIAL, PTE_PFN_MASK, is_guard_pte, pte_present
from memsim.kernel.task import TaskStruct
from memsim.machine import Machine

ADVICE = {"normal": MADV_NORMAL, "random": MADV_RANDOM, "sequential": MADV_SEQUENTIAL,
          "willneed": MADV_WILLNEED, "dontneed": MADV_DONTNEED, "free": MADV_FREE,
          "remove": MADV_REMOVE, "dontfork": MADV_DONTFORK, "dofork": MADV_DOFORK,
          "mergeable": MADV_MERGEABLE, "unmergeable": MADV_UNMERGEABLE,
          "hugepage": MADV_HUGEPAGE, "nohugepage": MADV_NOHUGEPAGE, "dontdump": MADV_DONTDUMP,
          "dodump": MADV_DODUMP, "wipeonfork": MADV_WIPEONFORK, "keeponfork": MADV_KEEPONFORK,
          "cold": MADV_COLD, "pageout": MADV_PAGEOUT, "populate_read": MADV_POPULATE_READ,
          "populate_write": MADV_POPULATE_WRITE, "dontneed_locked": MADV_DONTNEED_LOCKED,
          "collapse": MADV_COLLAPSE, "guard_install": MADV_GUARD_INSTALL,
          "guard_remove": MADV_GUARD_REMOVE}
MREMAP = {"maymove": MREMAP_MAYMOVE, "fixed": MREMAP_FIXED, "dontunmap": MREMAP_DONTUNMAP}


def page_codes(m: Machine, p: TaskStruct, start: int, end: int) -> str:
    out = []
    for a in range(start, end, PAGE):
        pte = p.mm.pgd.pte_get(a)
        if not pte:
            out.append(".")
        elif not pte_present(pte):
            out.append("g" if is_guard_pte(pte) else "s")
        else:
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
            "VmRSS": mm.get_mm_rss() * 4, "RssAnon": mm.rss_stat[1] * 4,
            "RssShmem": mm.rss_stat[3] * 4}


class ReplayExt(Replay):
    def view(self, p: TaskStruct) -> list[tuple[Any, ...]]:
        w, end = self.w, self.w + self.npages * PAGE
        out = []
        for v in p.mm.vmas:
            if v.vm_end <= w or v.vm_start >= end:
                continue
            s, e = max(v.vm_start, w), min(v.vm_end, end)
            out.append(((s - w) // PAGE, (e - w) // PAGE, perms(v),
                        vm_flags_mnemonics(v.vm_flags), page_codes(self.m, p, s, e)))
        return out

    def run_op(self, op: dict[str, Any]) -> tuple[Any, str | None]:
        p = self.procs[op.get("proc", "P")]
        ln = op.get("pages", 0) * PAGE + op.get("len_adj", 0)

        def raw(name: str, *args: int) -> tuple[Any, str | None]:
            r = p.syscall(name, *args)
            if r < 0:
                return -1, errno.errorcode[-r]
            return r, None

        if op["op"] == "madvise":
            adv = op["advice_raw"] if "advice_raw" in op else ADVICE[op["advice"]]
            return raw("madvise", self.addr(op), ln, adv)
        if op["op"] == "mremap":
            flags = sum(MREMAP[f] for f in op.get("flags", []))
            new = self.w + op["new_off"] * PAGE if "new_off" in op else 0
            r, e = raw("mremap", self.addr(op), ln, op["new_pages"] * PAGE, flags, new)
            if e is None:
                r = f"W+{(r - self.w) // PAGE}"
            return r, e
        return super().run_op(op)

    def check(self, compare_pages: bool = True) -> list[str]:
        errs: list[str] = []
        base = {k: status(p) for k, p in self.procs.items()}
        for i, (op, st) in enumerate(zip(self.sc["ops"], self.sc["steps"], strict=True)):
            flt = {k: p.min_flt for k, p in self.procs.items()}
            ret, eno = self.run_op(op)
            if ret == "skip":
                errs.append(f"step {i} {op}: not modelled")
                continue
            if op["op"] == "fork":
                base[op.get("as", "C")] = status(self.procs[op.get("as", "C")])
            if ret != st["ret"] or eno != st["errno"]:
                errs.append(f"step {i} {op}: ret {ret} {eno} != {st['ret']} {st['errno']}")
            for label, f in (st.get("faults") or {}).items():
                if f is not None and label in flt and label in self.procs and \
                        self.procs[label].min_flt - flt[label] != f["min"]:
                    errs.append(f"step {i} {op} {label}: min_flt "
                                f"{self.procs[label].min_flt - flt[label]} != {f['min']}")
            for label, v in st["views"].items():
                if label not in self.procs:
                    continue
                want = [(x["start"], x["end"], x["perms"], x["flags"], x["pages"])
                        for x in v["vmas"]]
                got = self.view(self.procs[label])
                if not compare_pages:
                    want = [x[:4] for x in want]
                    got = [x[:4] for x in got]
                if want != got:
                    errs.append(f"step {i} {op} {label}: vmas\n  got  {got}\n  want {want}")
                cur = status(self.procs[label])
                for k, b in base[label].items():
                    if k in v["status_delta"] and cur[k] - b != v["status_delta"][k]:
                        errs.append(f"step {i} {op} {label}: {k} {cur[k] - b} != "
                                    f"{v['status_delta'][k]}")
        return errs
