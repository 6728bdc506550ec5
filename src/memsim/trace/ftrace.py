"""The ftrace text format: writing a tracefs ``trace`` file and parsing trace lines back.

A line of the ``trace`` file (kernel/trace/trace_output.c, default options, §13.8)::

                bash-4163    [001] .N...   242.405640: kmem_cache_free: call_site=... name=filp
    |<-- comm %16s -->|-pid %-7d|[cpu]|flags|  %5lu.%06lu: event name: event text

The five flag characters are irqs-off/BH-off, need-resched, hardirq/softirq, preempt depth and
migrate-disable depth (6.18 spellings: the old ``X`` "no irq-flag support" column value is gone,
its bit now carries the lazy need-resched state).  The timestamp is the record's nanoseconds
rounded to the nearest microsecond.

:func:`parse_line` reads that format and, leniently, the two other text formats kmem traces come
in: ``trace-cmd report`` and ``perf script`` (see the function's docstring).
"""

from __future__ import annotations

import heapq
import re
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Mapping
from functools import lru_cache
from types import MappingProxyType
from typing import NamedTuple, TextIO

from memsim.trace.tracepoints import (
    EVENT_SPECS,
    PointerHasher,
    TraceContext,
    TraceEvent,
    format_event_text,
)

__all__ = [
    "HEADER_LEGEND",
    "FtraceWriter",
    "ParsedLine",
    "format_flags",
    "format_line",
    "format_timestamp",
    "header",
    "parse_flags",
    "parse_header_counts",
    "parse_line",
    "read_trace",
]

#: The column legend of the ``trace`` file with the default ``irq-info`` option (6.18).
HEADER_LEGEND = (
    "#                                _-----=> irqs-off/BH-disabled\n"
    "#                               / _----=> need-resched\n"
    "#                              | / _---=> hardirq/softirq\n"
    "#                              || / _--=> preempt-depth\n"
    "#                              ||| / _-=> migrate-disable\n"
    "#                              |||| /     delay\n"
    "#           TASK-PID     CPU#  |||||  TIMESTAMP  FUNCTION\n"
    "#              | |         |   |||||     |         |\n"
)


def header(entries: int, written: int, nr_cpus: int) -> str:
    """The header block a tracefs ``trace`` file starts with (nop tracer), newline-terminated.

    ``entries`` is what is still in the ring buffer, ``written`` everything ever recorded
    (the difference was overwritten), ``nr_cpus`` the number of CPUs the buffer covers.
    """
    return (
        "# tracer: nop\n"
        "#\n"
        f"# entries-in-buffer/entries-written: {entries}/{written}   #P:{nr_cpus}\n"
        "#\n" + HEADER_LEGEND
    )


_COUNTS_RE = re.compile(r"# entries-in-buffer/entries-written: (\d+)/(\d+)\s+#P:(\d+)")


def parse_header_counts(line: str) -> tuple[int, int, int] | None:
    """``(entries, written, nr_cpus)`` from the ``# entries-in-buffer/...`` header line."""
    m = _COUNTS_RE.match(line)
    if m is None:
        return None
    return int(m.group(1)), int(m.group(2)), int(m.group(3))


# --- the five context characters ---------------------------------------------------------------

# (need_resched, need_resched_lazy, preempt_resched) -> character, and back.
_RESCHED_CHAR: dict[tuple[bool, bool, bool], str] = {
    (True, True, True): "B",
    (True, False, True): "N",
    (False, True, True): "L",
    (True, True, False): "b",
    (True, False, False): "n",
    (False, False, True): "p",
    (False, True, False): "l",
    (False, False, False): ".",
}
_RESCHED_BITS = {c: bits for bits, c in _RESCHED_CHAR.items()}


def format_flags(ctx: TraceContext) -> str:
    """The five context characters of ``ctx`` (e.g. ``"d..1."``, ``".Ns1."``)."""
    if ctx.irqs_off:
        c1 = "D" if ctx.bh_off else "d"
    else:
        c1 = "b" if ctx.bh_off else "."
    nr = ctx.need_resched
    pr = nr if ctx.preempt_resched is None else ctx.preempt_resched
    c2 = _RESCHED_CHAR[(nr, ctx.need_resched_lazy, pr)]
    if ctx.nmi:
        c3 = "Z" if ctx.hardirq else "z"
    elif ctx.hardirq:
        c3 = "H" if ctx.softirq else "h"
    else:
        c3 = "s" if ctx.softirq else "."
    # Both depths are clamped to 15 when the record's common_preempt_count byte is packed.
    pd = min(ctx.preempt_depth, 0xF)
    md = min(ctx.migrate_disable, 0xF)
    c4 = f"{pd:x}" if pd > 0 else "."
    c5 = f"{md:x}" if md > 0 else "."
    return c1 + c2 + c3 + c4 + c5


class _Flags(NamedTuple):
    irqs_off: bool
    need_resched: bool
    hardirq: bool
    softirq: bool
    nmi: bool
    preempt_depth: int
    migrate_disable: int
    bh_off: bool
    need_resched_lazy: bool
    preempt_resched: bool | None


_NO_FLAGS = _Flags(False, False, False, False, False, 0, 0, False, False, None)


@lru_cache(maxsize=1024)
def parse_flags(flags: str) -> _Flags:
    """Decode the five context characters (inverse of :func:`format_flags`).

    ``X`` (pre-6.13 "irq flags not supported") decodes as irqs on.  ``ValueError`` on a string
    that is not five valid characters.
    """
    if len(flags) != 5:
        raise ValueError(f"context flags must be 5 characters: {flags!r}")
    c1, c2, c3, c4, c5 = flags[0], flags[1], flags[2], flags[3], flags[4]
    if c1 not in "DdbX." or c2 not in _RESCHED_BITS or c3 not in "ZzHhs.":
        raise ValueError(f"bad context flags {flags!r}")
    nr, lazy, pr = _RESCHED_BITS[c2]
    try:
        pd = 0 if c4 == "." else int(c4, 16)
        md = 0 if c5 == "." else int(c5, 16)
    except ValueError:
        raise ValueError(f"bad context flags {flags!r}") from None
    return _Flags(
        irqs_off=c1 in "Dd",
        need_resched=nr,
        hardirq=c3 in "ZHh",
        softirq=c3 in "Hs",
        nmi=c3 in "Zz",
        preempt_depth=pd,
        migrate_disable=md,
        bh_off=c1 in "Db",
        need_resched_lazy=lazy,
        preempt_resched=None if pr == nr else pr,
    )


# --- writing -----------------------------------------------------------------------------------


def format_timestamp(ts_ns: int) -> str:
    """``" %5lu.%06lu"`` without the leading space: nanoseconds rounded to microseconds."""
    sec, usec = divmod((ts_ns + 500) // 1000, 1_000_000)
    return f"{sec:5d}.{usec:06d}"


def format_line(ev: TraceEvent, hasher: PointerHasher | None) -> str:
    """One line of the ``trace`` file for ``ev`` (no trailing newline).

    ``hasher`` is the machine's ``%p`` hasher, or ``None`` for raw pointers (``nohash-ptr``).
    """
    ctx = ev.ctx
    sec, usec = divmod((ctx.ts_ns + 500) // 1000, 1_000_000)
    text = format_event_text(ev.name, ev.fields, hasher)
    return (
        f"{ctx.comm:>16}-{ctx.pid:<7} [{ctx.cpu:03d}] {format_flags(ctx)} {sec:5d}.{usec:06d}: "
        f"{ev.name}: {text}"
    )


class FtraceWriter:
    """A ring buffer of recorded events that can be read out as a tracefs ``trace`` file.

    Use it as a probe: ``tps.attach_all(writer)``.  Events are kept per CPU; with
    ``per_cpu_limit`` set, the oldest events of a CPU are overwritten once its buffer is full
    (overwrite mode, which is why the header shows ``entries`` < ``written``).  Reading merges
    the CPUs by timestamp, lower CPU first on ties, as the trace iterator does.
    """

    def __init__(
        self,
        hasher: PointerHasher | None = None,
        nr_cpus: int = 1,
        per_cpu_limit: int | None = None,
    ) -> None:
        if per_cpu_limit is not None and per_cpu_limit < 1:
            raise ValueError("per_cpu_limit must be positive")
        self.hasher = hasher
        self.nr_cpus = nr_cpus
        self.per_cpu_limit = per_cpu_limit
        self._buffers: dict[int, deque[TraceEvent]] = {}
        self._written = 0

    def __call__(self, ev: TraceEvent) -> None:
        buf = self._buffers.get(ev.ctx.cpu)
        if buf is None:
            buf = self._buffers[ev.ctx.cpu] = deque(maxlen=self.per_cpu_limit)
        buf.append(ev)
        self._written += 1

    record = __call__

    @property
    def entries(self) -> int:
        """Events still in the buffer."""
        return sum(len(b) for b in self._buffers.values())

    @property
    def written(self) -> int:
        """Events ever recorded (including overwritten ones)."""
        return self._written

    def clear(self) -> None:
        """``echo > trace``: empty the buffer and reset the counters."""
        self._buffers.clear()
        self._written = 0

    def events(self) -> list[TraceEvent]:
        """The buffered events in ``trace`` file order."""
        bufs = [self._buffers[cpu] for cpu in sorted(self._buffers)]
        if len(bufs) == 1:
            return list(bufs[0])
        return list(heapq.merge(*bufs, key=lambda ev: ev.ctx.ts_ns))

    def lines(self) -> Iterator[str]:
        """The event lines (without header or newlines)."""
        hasher = self.hasher
        for ev in self.events():
            yield format_line(ev, hasher)

    def write(self, stream: TextIO) -> None:
        """Write the whole ``trace`` file: header, then one line per buffered event."""
        stream.write(header(self.entries, self.written, self.nr_cpus))
        for line in self.lines():
            stream.write(line)
            stream.write("\n")


# --- parsing -----------------------------------------------------------------------------------


# How to turn a field's text back into the value a probe would have received.  Pointers (%p:
# 16 digits, or 0x... in perf output) and the pfn are hex; call_site, name and gfp_flags stay text.
def _hex(text: str) -> int:
    return int(text, 16)


def _bool(text: str) -> bool:
    if text == "true":
        return True
    if text == "false":
        return False
    raise ValueError(text)


def _text(text: str) -> str:
    return text


_CONVERTERS: dict[str, Callable[[str], object]] = {
    "ptr": _hex,
    "page": _hex,
    "pfn": _hex,
    "accounted": _bool,
    "call_site": _text,
    "name": _text,
    "gfp_flags": _text,
}
# Per event: field -> converter (read-only after import).
_EVENT_CONVERTERS: Mapping[str, Mapping[str, Callable[[str], object]]] = MappingProxyType(
    {
        name: MappingProxyType(
            {key: _CONVERTERS.get(key, int) for key in spec.fields + spec.optional}
        )
        for name, spec in EVENT_SPECS.items()
    }
)


class ParsedLine:
    """One parsed trace line.

    ``text`` is the event text after ``"<name>: "``; ``fields`` maps each ``key=value`` of it to
    the raw value text (split on first use and cached, so consumers that only look at ``name``
    do not pay for it).  ``ts`` is the timestamp in seconds, ``ts_ns`` in nanoseconds (exact
    when the line has up to 9 decimals).  ``flags`` is the five-character context column or
    ``None`` when the format has none; ``tgid`` is set when the line shows one.
    """

    __slots__ = ("comm", "pid", "cpu", "flags", "ts_ns", "name", "text", "tgid", "_fields")

    def __init__(
        self,
        comm: str,
        pid: int,
        cpu: int,
        flags: str | None,
        ts_ns: int,
        name: str,
        text: str,
        tgid: int | None = None,
    ) -> None:
        self.comm = comm
        self.pid = pid
        self.cpu = cpu
        self.flags = flags
        self.ts_ns = ts_ns
        self.name = name
        self.text = text
        self.tgid = tgid
        self._fields: dict[str, str] | None = None

    @property
    def ts(self) -> float:
        """Timestamp in seconds."""
        return self.ts_ns / 1e9

    @property
    def fields(self) -> dict[str, str]:
        """``key -> raw value text`` of the event text (treat as read-only)."""
        f = self._fields
        if f is None:
            f = self._fields = _parse_fields(self.text)
        return f

    def _key(self) -> tuple[object, ...]:
        return (
            self.comm,
            self.pid,
            self.cpu,
            self.flags,
            self.ts_ns,
            self.name,
            self.text,
            self.tgid,
        )

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, ParsedLine):
            return NotImplemented
        return self._key() == other._key()

    def __hash__(self) -> int:
        return hash(self._key())

    def __repr__(self) -> str:
        return (
            f"ParsedLine(comm={self.comm!r}, pid={self.pid}, cpu={self.cpu}, "
            f"flags={self.flags!r}, ts_ns={self.ts_ns}, name={self.name!r}, "
            f"text={self.text!r}, tgid={self.tgid})"
        )

    def context(self) -> TraceContext:
        """The :class:`TraceContext` the prefix describes."""
        f = _NO_FLAGS if self.flags is None else parse_flags(self.flags)
        return TraceContext(self.comm, self.pid, self.cpu, self.ts_ns, *f)

    def to_event(self) -> TraceEvent:
        """A :class:`TraceEvent` with typed fields, as a probe would have received it.

        Pointers (``ptr``, ``page``) become ints holding the *printed* value (already hashed in
        a hashed trace), so ``format_line(p.to_event(), None)`` reproduces an ftrace line.
        ``gfp_flags`` and ``call_site`` stay strings.  Events this module does not know keep all
        fields as strings.
        """
        convs = _EVENT_CONVERTERS.get(self.name)
        if convs is None:
            return TraceEvent(self.context(), self.name, dict(self.fields))
        typed: dict[str, object] = {}
        for key, raw in self.fields.items():
            conv = convs.get(key)
            if conv is None:
                continue  # e.g. the constant order=0 of mm_page_free_batched
            try:
                typed[key] = conv(raw)
            except ValueError:
                typed[key] = raw  # keep unparseable text (e.g. "(nil)") as it is
        return TraceEvent(self.context(), self.name, typed)


# The tracefs ``trace`` file, exactly as the kernel prints it (fast path):
#   comm-pid [cpu] flags sec.usec: event: text
_FTRACE_RE = re.compile(r" *(.*?)-(\d+) +\[(\d+)\] ([^ ]{5}) +(\d+)\.(\d{6}): (\w+): (?! )(.*)")
# Lenient variant for ``trace-cmd report`` output, which may omit the flags column (no -l), pad
# the event name after its colon, print nanosecond timestamps (--ts-ns) and show the tgid in
# parentheses:  comm-pid [(tgid)] [cpu] [flags] sec.frac: [system:]event: text
_TRACECMD_RE = re.compile(
    r" *(.*?)-(\d+) +(?:\( *(\d+|-+)\) +)?\[(\d+)\] +(?:([^ ]{5}) +)?(\d+)\.(\d+): +"
    r"(?:(?!\w+: )\w+:)?(\w+): *(.*)"
)
# ``perf script`` (default tracepoint fields comm,tid,cpu,time,event,trace; "pid/tid" with
# -F +pid), event names qualified by their system:
#   comm tid [cpu] sec.usec: kmem:kmalloc: text
_PERF_RE = re.compile(
    r" *(.*?) +(\d+)(?:/(\d+))? +\[(\d+)\] +(\d+)\.(\d+): +(?:(?!\w+: )\w+:)?(\w+): *(.*)"
)


def _parse_fields(text: str) -> dict[str, str]:
    """``key=value`` pairs of an event text.

    Values normally contain neither spaces nor ``=``; then the text splits into alternating keys
    and values.  Otherwise a token without ``=`` (e.g. the `` [module]`` suffix of a ``%pS`` call
    site) is appended to the previous value, and only the first ``=`` of a token separates.
    (Blind spot of the fast path: a text with both a value containing ``=`` and a token without
    one, in equal numbers, is split as if every token were ``key=value``; no kmem event prints
    such text.)
    """
    parts = text.replace("=", " ").split(" ")
    if len(parts) == 2 * text.count("="):
        # as many "=" as tokens: every token is one key=value (the common case).
        it = iter(parts)
        return dict(zip(it, it, strict=True))
    out: dict[str, str] = {}
    last: str | None = None
    for tok in text.split(" "):
        key, sep, value = tok.partition("=")
        if sep and key.isidentifier():
            out[key] = value
            last = key
        elif last is not None and tok:
            out[last] += " " + tok
    return out


# number of decimals -> multiplier to nanoseconds
_FRAC_SCALE: tuple[int, ...] = (
    1_000_000_000,
    100_000_000,
    10_000_000,
    1_000_000,
    100_000,
    10_000,
    1_000,
    100,
    10,
    1,
)


def _ts_ns(sec: str, frac: str) -> int:
    n = len(frac)
    if n <= 9:
        return int(sec) * 1_000_000_000 + int(frac) * _FRAC_SCALE[n]
    return int(sec) * 1_000_000_000 + int(frac[:9])


def parse_line(line: str) -> ParsedLine | None:
    """Parse one trace line; ``None`` for blank lines, ``#`` comments and non-event lines.

    Accepted formats:

    * the tracefs ``trace`` file (``comm-pid [cpu] flags sec.usec: event: text``), the canonical
      one: ``format_line(parse_line(x).to_event(), None) == x`` for every event line of it;
    * ``trace-cmd report``: same prefix, flags column optional, event name padded, optional
      ``(tgid)`` column, timestamps with up to 9 decimals;
    * ``perf script``: ``comm tid [cpu] sec.usec: system:event: text`` (``pid/tid`` accepted:
      ``pid`` is then the tid, ``tgid`` the pid).

    The comm is everything before the first ``-PID`` that is followed by the ``[CPU]`` column, so
    comms containing spaces or dashes (``memfd:sealed-91``, ``kworker/u8:0``) parse right.
    A trailing newline is ignored.
    """
    m = _FTRACE_RE.match(line)
    if m is not None:
        comm, pid, cpu, flags, sec, usec, name, text = m.groups()
        return ParsedLine(comm, int(pid), int(cpu), flags, int(sec + usec) * 1000, name, text)
    if not line or line[0] == "#" or line.isspace():
        return None
    m = _TRACECMD_RE.match(line)
    if m is not None:
        comm, pid, tgid, cpu, flags, sec, frac, name, text = m.groups()
        return ParsedLine(
            comm,
            int(pid),
            int(cpu),
            flags,
            _ts_ns(sec, frac),
            name,
            text,
            None if tgid is None or tgid[0] == "-" else int(tgid),
        )
    m = _PERF_RE.match(line)
    if m is None:
        return None
    comm, first, tid, cpu, sec, frac, name, text = m.groups()
    if tid is None:
        pid, tgid_n = int(first), None
    else:
        pid, tgid_n = int(tid), int(first)
    return ParsedLine(comm, pid, int(cpu), None, _ts_ns(sec, frac), name, text, tgid_n)


def read_trace(lines: Iterable[str]) -> Iterator[ParsedLine]:
    """Parse every event line of a trace (file object or any iterable of lines)."""
    parse = parse_line
    for line in lines:
        p = parse(line)
        if p is not None:
            yield p
