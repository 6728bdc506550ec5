"""
Page-access traces: readers for the formats a workload can come in, into one
:class:`AccessTrace` (page numbers and read/write per access).

Formats (``fmt``):

* ``ftrace``: the kernel's ``exceptions:page_fault_user`` events as the tracefs ``trace``
  file (and trace-cmd/perf text) prints them in 6.12/6.18 (virtual.md §16.5)::

      prog-1234 [001] ..... 12.345678: page_fault_user: address=0x7f3a5c2e1000 \
          ip=0x55d1c0a4b1a9 error_code=0x6      (one line)

  the access is a write when error_code has X86_PF_WRITE (0x2); other lines are skipped;
  ``pid``/``comm`` select one task;
* ``addr``: one address per line, hex (``0x1000`` or ``1000h``-free plain hex with
  ``hex=True``) or decimal, optionally followed by ``r``/``w`` (or ``R``/``W``); ``#``
  comments and blank lines are ignored; a bad line raises :class:`TraceError` naming the
  file and line;
* ``lcs-txt``: libCacheSim's plain-text trace (``TraceType.PLAIN_TXT_TRACE``): one numeric
  object id per line, read as libCacheSim reads it (``strtoull`` base 0: ``0x`` hex too);
  each object is one page;
* ``lcs-csv``: libCacheSim's csv trace (``TraceType.CSV_TRACE``) with its reader options:
  1-based ``obj_id_field``, optional ``time_field``/``op_field``, ``delimiter``,
  ``has_header``; an op of write/set/update/... is a write; a non-numeric id is
  interned (libCacheSim hashes it: only identity matters for the policies).

Every file may be gzip-compressed (detected by its magic bytes). ``auto`` picks the format
from the name (``.csv`` -> lcs-csv) and the first data line.
"""

from __future__ import annotations

import gzip
import io
import re
from array import array
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TextIO

from memsim.errors import InputError

PAGE_SHIFT = 12
X86_PF_WRITE = 0x2

FORMATS = ("auto", "ftrace", "addr", "lcs-txt", "lcs-csv")


class TraceError(InputError):
    """A trace file that cannot be read (names the file and line)."""


@dataclass
class AccessTrace:
    """
    A sequence of page accesses: ``pages[k]`` a page number (address >> 12 for address
    traces, the object id for libCacheSim traces), ``writes[k]`` 1 for a store.
    """

    pages: array[int] = field(default_factory=lambda: array("q"))
    writes: bytearray = field(default_factory=bytearray)
    name: str = ""

    def __len__(self) -> int:
        return len(self.pages)

    def append(self, page: int, write: bool) -> None:
        self.pages.append(page)
        self.writes.append(1 if write else 0)

    def dense(self) -> tuple[array[int], int]:
        """
        The pages renumbered 0, 1, 2… in order of first access (policies only see the
        identity of pages) and the number of distinct pages.
        """
        ids: dict[int, int] = {}
        out = array("q", bytes(8 * len(self.pages)))
        for k, p in enumerate(self.pages):
            d = ids.get(p)
            if d is None:
                d = ids[p] = len(ids)
            out[k] = d
        return out, len(ids)

    @property
    def nr_pages(self) -> int:
        return len(set(self.pages))


def open_text(path: str | Path) -> TextIO:
    """Open a trace file for reading text, transparently gunzipping it."""
    p = Path(path)
    try:
        with open(p, "rb") as f:
            magic = f.read(2)
        if magic == b"\x1f\x8b":
            return io.TextIOWrapper(gzip.open(p, "rb"), encoding="utf-8", errors="replace")
        return open(p, encoding="utf-8", errors="replace")
    except OSError as e:
        raise TraceError(f"{p}: cannot read trace: {e.strerror}") from None


_FAULT_RE = re.compile(
    r"page_fault_user:\s+address=(0x[0-9a-fA-F]+|\S+)\s+ip=(\S+)\s+error_code=(0x[0-9a-fA-F]+)")
# "  comm-pid  [cpu] flags ts:" (tracefs), "comm-pid [cpu] ts:" (trace-cmd, perf: "comm pid")
_TASK_RE = re.compile(r"^\s*(.*?)-(\d+)\s+(?:\(\s*\d+\)\s+)?\[\d+\]|^\s*(\S+)\s+(\d+)\s+")


def parse_ftrace(lines: Iterable[str], *, pid: int | None = None, comm: str | None = None,
                 name: str = "<ftrace>") -> AccessTrace:
    """Read exceptions:page_fault_user events (see the module docstring)."""
    tr = AccessTrace(name=name)
    for lineno, line in enumerate(lines, 1):
        mo = _FAULT_RE.search(line)
        if mo is None:
            continue
        if pid is not None or comm is not None:
            t = _TASK_RE.match(line)
            tcomm = (t.group(1) or t.group(3)) if t else None
            tpid = int(t.group(2) or t.group(4)) if t else None
            if pid is not None and tpid != pid:
                continue
            if comm is not None and tcomm is not None and tcomm.strip() != comm:
                continue
        try:
            addr = int(mo.group(1), 16)
            code = int(mo.group(3), 16)
        except ValueError:
            raise TraceError(f"{name}:{lineno}: bad page_fault_user event: "
                             f"{line.strip()!r}") from None
        tr.append(addr >> PAGE_SHIFT, bool(code & X86_PF_WRITE))
    return tr


def _parse_int(tok: str, hex_default: bool) -> int:
    t = tok.strip().lower()
    if t.startswith(("0x", "0o", "0b")):
        return int(t, 0)
    return int(t, 16) if hex_default else int(t, 10)


def parse_addresses(lines: Iterable[str], *, hex_default: bool = False,
                    name: str = "<addresses>") -> AccessTrace:
    """Read one address per line (with an optional r/w column); errors name the line."""
    tr = AccessTrace(name=name)
    for lineno, raw in enumerate(lines, 1):
        line = raw.split("#", 1)[0].strip()
        if not line:
            continue
        parts = line.replace(",", " ").split()
        write = False
        if len(parts) == 2 and parts[1].lower() in ("r", "w", "read", "write", "0", "1"):
            write = parts[1].lower() in ("w", "write", "1")
        elif len(parts) != 1:
            raise TraceError(f"{name}:{lineno}: expected an address (and r/w), got {raw.strip()!r}")
        try:
            addr = _parse_int(parts[0], hex_default)
        except ValueError:
            raise TraceError(f"{name}:{lineno}: bad address {parts[0]!r}") from None
        if addr < 0:
            raise TraceError(f"{name}:{lineno}: negative address {parts[0]!r}")
        tr.append(addr >> PAGE_SHIFT, write)
    return tr


def parse_lcs_txt(lines: Iterable[str], *, name: str = "<lcs-txt>") -> AccessTrace:
    """libCacheSim's txt trace: one numeric object id per line (base as strtoull(…, 0))."""
    tr = AccessTrace(name=name)
    for lineno, raw in enumerate(lines, 1):
        line = raw.strip()
        if not line:
            continue
        try:
            obj = int(line, 0) if not line.isdigit() else int(line)
        except ValueError:
            raise TraceError(f"{name}:{lineno}: bad object id {line!r}") from None
        tr.append(obj, False)
    return tr


_WRITE_OPS = frozenset(("write", "set", "add", "cas", "replace", "append", "prepend",
                        "update", "incr", "decr", "w"))


def parse_lcs_csv(lines: Iterable[str], *, obj_id_field: int = 2, op_field: int = 0,
                  delimiter: str = ",", has_header: bool | None = None,
                  name: str = "<lcs-csv>") -> AccessTrace:
    """
    libCacheSim's csv trace with ReaderInitParam-style options (1-based fields; 0 = none).
    *has_header* None = detect (a first line whose id field is not numeric).
    """
    if obj_id_field < 1:
        raise TraceError(f"{name}: obj_id_field must be >= 1 (1-based), got {obj_id_field}")
    tr = AccessTrace(name=name)
    interned: dict[str, int] = {}
    first = True
    for lineno, raw in enumerate(lines, 1):
        line = raw.rstrip("\r\n")
        if not line.strip():
            continue
        cols = line.split(delimiter)
        if len(cols) < max(obj_id_field, op_field):
            raise TraceError(f"{name}:{lineno}: expected at least "
                             f"{max(obj_id_field, op_field)} fields, got {len(cols)}")
        tok = cols[obj_id_field - 1].strip()
        if first:
            first = False
            if has_header or (has_header is None and not _numeric(tok)):
                continue
        if _numeric(tok):
            obj = int(tok, 0) if not tok.isdigit() else int(tok)
        else:
            # SIM: libCacheSim hashes string ids; distinct strings get distinct ids here
            obj = interned.setdefault(tok, -1 - len(interned))
        write = bool(op_field) and cols[op_field - 1].strip().lower() in _WRITE_OPS
        tr.append(obj, write)
    return tr


def _numeric(tok: str) -> bool:
    try:
        int(tok, 0)
        return True
    except ValueError:
        return tok.isdigit()


def detect_format(path: str | Path, first_lines: list[str]) -> str:
    """Guess the format of *path* from its name and first data lines."""
    name = str(path).lower().removesuffix(".gz")
    if name.endswith(".csv"):
        return "lcs-csv"
    for line in first_lines:
        if "page_fault_user" in line:
            return "ftrace"
    for line in first_lines:
        s = line.split("#", 1)[0].strip()
        if not s or s.startswith("#"):
            continue
        if "," in s:
            return "lcs-csv"
        return "addr"
    return "addr"


def load_trace(path: str | Path, fmt: str = "auto", *, pid: int | None = None,
               comm: str | None = None, hex_default: bool = False, obj_id_field: int = 2,
               op_field: int = 0, delimiter: str = ",",
               has_header: bool | None = None, limit: int | None = None) -> AccessTrace:
    """Read a trace file of format *fmt* (see FORMATS); *limit* keeps the first accesses."""
    if fmt not in FORMATS:
        raise TraceError(f"unknown trace format {fmt!r} (known: {', '.join(FORMATS)})")
    name = str(path)
    with open_text(path) as f:
        lines: Iterator[str] = iter(f)
        if fmt == "auto":
            head = []
            for line in f:
                head.append(line)
                if len(head) >= 20:
                    break
            fmt = detect_format(path, head)
            lines = _chain(head, f)
        if fmt == "ftrace":
            tr = parse_ftrace(lines, pid=pid, comm=comm, name=name)
        elif fmt == "addr":
            tr = parse_addresses(lines, hex_default=hex_default, name=name)
        elif fmt == "lcs-txt":
            tr = parse_lcs_txt(lines, name=name)
        else:
            tr = parse_lcs_csv(lines, obj_id_field=obj_id_field, op_field=op_field,
                               delimiter=delimiter, has_header=has_header, name=name)
    if limit is not None:
        tr.pages = tr.pages[:limit]
        tr.writes = tr.writes[:limit]
    if not len(tr):
        raise TraceError(f"{name}: no accesses found (format {fmt})")
    return tr


def _chain(head: list[str], rest: Iterable[str]) -> Iterator[str]:
    yield from head
    yield from rest


__all__ = ["AccessTrace", "TraceError", "FORMATS", "load_trace", "parse_ftrace",
           "parse_addresses", "parse_lcs_txt", "parse_lcs_csv", "open_text", "detect_format"]
