"""
Replay of captured kmem traces: drive a booted machine with the allocation events of a real
ftrace capture (``memsim replay TRACE``, cli/replay.py; benchmark in bench/bench_replay.py).

Input is ftrace text in any of the three shapes trace/ftrace.py parses: the tracefs ``trace``
file (``comm-pid [cpu] flags sec.usec: event: fields``, as in ../shared/data/traces), ``trace-cmd
report`` output (flags column optional, padded event names, ``(tgid)`` column) and ``perf
script`` output (``comm tid [cpu] sec.usec: kmem:event: fields``), plain or gzip-compressed
(recognised by its magic bytes).

Seven events drive the model, with the kernel's meaning:

=====================  ===================================================================
``kmem_cache_alloc``   ``m.kmem_cache_alloc(cache, gfp)``; the cache is created on first sight
``kmem_cache_free``    ``m.kmem_cache_free(cache, addr)`` of the object with that pointer
``kmalloc``            ``m.kmalloc(bytes_req, gfp)`` (above 8 KiB the model, like the kernel,
                       goes to the page allocator)
``kfree``              ``m.kfree(addr)``; ``kfree(NULL)``/``ZERO_SIZE_PTR`` is a no-op
``mm_page_alloc``      ``m.alloc_pages(gfp, order)``
``mm_page_free``       ``__free_pages`` (``m.free_pages_pfn``) of the block with that PFN
``mm_page_free_batched``  the same, order 0
=====================  ===================================================================

Theory of operation
-------------------
Pointers in a trace are hashed (``%p``) but consistent within a capture, so an object is
identified by the text of its ``ptr=`` token and a page block by its ``pfn=`` token; two
dictionaries map them to the model's address or PFN. The events of the capture's first moments
free objects and pages that were allocated before tracing started: such frees find no entry and
are counted per event type as *unmatched frees*. An allocation whose pointer is still live (the
ring buffer lost the free) frees the old model object first and is counted as a *lost free*. A
NULL pointer in an allocation event (or PFN 0 in ``mm_page_alloc``) is an allocation that failed
in the traced kernel; it is counted and not replayed. An allocation the model cannot satisfy is
counted as a model allocation failure; its later free is matched and counted, never fatal.

Named caches are created on first sight with the sizes the trace shows: object size =
``bytes_req``, and the first of these layouts whose stride (``s->size``) equals the trace's
``bytes_alloc`` is kept: no flags, ``SLAB_HWCACHE_ALIGN``, a constructor (which moves SLUB's free
pointer behind the object, as ``anon_vma``'s 96 → 104 shows), constructor plus
``SLAB_HWCACHE_ALIGN``, then an explicit alignment (``bytes_alloc``'s largest power-of-two
divisor up to 4096) without and with a constructor. ``SLAB_HWCACHE_ALIGN`` is tried before the
constructor because more kernel caches use it (``filp``, ``pid``, ``mm_struct``; 184 → 192 fits
either way). A cache whose first event says ``accounted=true`` without ``__GFP_ACCOUNT`` gets
``SLAB_ACCOUNT``. Every cache is created with ``SLAB_NO_MERGE``: each name in a trace is a cache
of its own in the traced kernel (the events of a merged alias carry its target's name), so the
model must not fold ``filp`` into ``pid`` as it would two compatible new caches. Whether the
traced kernel's caches were ``SLAB_RECLAIM_ACCOUNT`` cannot be read from the events, so no
replayed cache is (marked ``# SIM:`` where the flags are chosen). Caches the model already has
(``kmalloc-*``, ``kmem_cache``, …) are used as they are (``m.kmem_cache_lookup``). Caches no
layout matches are reported with both strides.

Each event runs on the CPU its line names (modulo the machine's CPU count), so per-CPU slabs
and per-CPU page lists see the traced kernel's CPU pattern.

Page events
-----------
Every ``mm_page_alloc``/``mm_page_free*`` event is replayed as a plain page allocation or free,
including those that were the traced kernel's slab pages and large-kmalloc pages. The model
allocates its own slab pages (and the pages of large kmallocs) inside ``kmem_cache_alloc`` and
``kmalloc``, so those pages are counted twice: once for the replayed object events, once for
the replayed page events. The alternative, recognising slab pages by their GFP flags, is not
reliable: a slab's first attempt (``__GFP_COMP|__GFP_NOWARN|__GFP_NORETRY``, order > 0) looks
exactly like a page-cache readahead folio, and a slab page's free is an ordinary
``mm_page_free``. The overcount is bounded by the slab and large-kmalloc pages the traced kernel
allocated during the capture: in ../shared/data/traces no kmalloc is larger than 8 KiB, and 115
of the 17,699 page allocations carry the GFP pattern of a slab allocation (``__GFP_NORETRY``
and ``__GFP_COMP`` without a movable or highmem zone), about 0.7 %. Both copies are freed when
the trace frees them.

Fast path
---------
The file is read in chunks of about 4 MiB of text and split into lines. ``line.split(": ", 2)``
cuts each line into its prefix, the event name and the fields (the first ``": "`` ends the
timestamp); the ``[cpu]`` column is compared as a slice at the position the last line had it,
so only a CPU switch costs more. The fields split into three: the ``call_site`` (or ``page``)
token, the ``ptr=`` (or ``pfn=``) token, which is the table key, and the rest, which is looked
up whole (``name=filp bytes_req=184 bytes_alloc=192 gfp_flags=GFP_KERNEL node=-1
accounted=true``) in a table whose misses validate and convert the fields once: a capture has
a few hundred distinct rests. Anything unexpected — comment lines, other event types, a
``call_site`` with a ``[module]`` suffix, a field order of another kernel version — takes the
slow path: trace/ftrace.py's :func:`~memsim.trace.ftrace.parse_line`, whose fields are
rewritten into the canonical line and replayed by the fast path. A line neither path
understands is *malformed*: counted, with its line number kept (the first
:data:`MALFORMED_KEEP`), never fatal. bench/bench_replay.py measures the cost of this against
reading and splitting the same file, and the model's share.
"""

from __future__ import annotations

import os
import zlib
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any, BinaryIO

from memsim.arch import MAX_PAGE_ORDER
from memsim.errors import InputError
from memsim.include.gfp import __GFP_ACCOUNT, parse_gfp
from memsim.include.slab import (
    KMALLOC_MAX_CACHE_SIZE,
    KMALLOC_TYPE_PREFIX,
    SLAB_ACCOUNT,
    SLAB_HWCACHE_ALIGN,
    SLAB_NO_MERGE,
    kmalloc_size_name,
    kmalloc_type,
)
from memsim.mm.vmstat import fill_contig_page_info, fragmentation_index, unusable_free_index
from memsim.trace.ftrace import ParsedLine, parse_line

if TYPE_CHECKING:
    from memsim.machine import Machine

__all__ = [
    "DRIVEN_EVENTS",
    "MALFORMED_KEEP",
    "CacheInfo",
    "Replayer",
    "external_fragmentation",
    "read_trace_chunks",
    "replay_file",
]

#: The events that drive the model, in the order summaries list them.
DRIVEN_EVENTS = (
    "kmem_cache_alloc",
    "kmem_cache_free",
    "kmalloc",
    "kfree",
    "mm_page_alloc",
    "mm_page_free",
    "mm_page_free_batched",
)
_KCA, _KCF, _KM, _KF, _PA, _PF, _PFB = range(7)
_FREE_EVENTS = (_KCF, _KF, _PF, _PFB)
_GFP_ACCOUNT = __GFP_ACCOUNT   # class bodies cannot spell "__" names (mangling)

#: How many malformed line numbers a summary keeps.
MALFORMED_KEEP = 20
#: Bytes of (decompressed) text handled per chunk; the progress callback runs once per chunk.
CHUNK_BYTES = 1 << 22
_RAW_BLOCK = 1 << 18

# Pointer tokens that are NULL or ZERO_SIZE_PTR in the shapes tracefs, trace-cmd and perf print
# (a hashed ZERO_SIZE_PTR cannot be recognised; it shows as an unmatched kfree).
_NULL_PTRS = tuple(
    "ptr=" + v
    for v in ("0000000000000000", "00000000", "(nil)", "(null)", "0x0", "0",
              "0000000000000010", "00000010", "0x10")
)
_NULL_PFNS = ("pfn=0x0", "pfn=0")
# What the NULL tokens map to in the live tables: a record that is never freed.
_NULL_REC: tuple[int | None, Any, Any] = (None, None, None)
_NULL_PAGE: tuple[int | None, int, str] = (None, -1, "")

# The canonical field layout the fast path reads (6.18 TP_printk order).
_CANON_KEYS = {
    "kmem_cache_alloc": ("call_site", "ptr", "name", "bytes_req", "bytes_alloc", "gfp_flags",
                         "node", "accounted"),
    "kmalloc": ("call_site", "ptr", "bytes_req", "bytes_alloc", "gfp_flags", "node",
                "accounted"),
    "kfree": ("call_site", "ptr"),
    "kmem_cache_free": ("call_site", "ptr", "name"),
    "mm_page_alloc": ("page", "pfn", "order", "migratetype", "gfp_flags"),
    "mm_page_free": ("page", "pfn", "order"),
    "mm_page_free_batched": ("page", "pfn", "order"),
}
# Fields the model does not need: placeholders when a line lacks them.
_CANON_DEFAULTS = {"call_site": "?", "page": "?", "node": "-1", "accounted": "false",
                   "migratetype": "-1"}


_REST_TABLE_MAX = 1 << 16


def _rest_fields(rest: str) -> dict[str, str] | None:
    # "key=value key=value …" -> dict; None when a token is not key=value.
    out: dict[str, str] = {}
    for tok in rest.split():
        key, sep, value = tok.partition("=")
        if not sep or not key:
            return None
        out[key] = value
    return out


def _int_field(fields: dict[str, str], key: str) -> int | None:
    try:
        return int(fields[key])
    except (KeyError, ValueError):
        return None


def _replay_ctor(m: Machine, addr: int) -> None:
    """The constructor given to caches whose stride needs one (it initialises nothing)."""


class CacheInfo:
    """One cache of the trace (a name with one ``bytes_req``/``bytes_alloc`` pair).

    ``cache`` is the model's ``struct kmem_cache`` (None if the model could not create it);
    ``flags``/``align``/``ctor`` the layout chosen; ``existing`` is True for caches the model
    already had (``kmalloc-*`` …); ``matched`` whether the model's stride equals the trace's.
    """

    __slots__ = ("name", "bytes_req", "bytes_alloc", "cache", "flags", "align", "ctor",
                 "existing", "matched")

    def __init__(self, name: str, bytes_req: int, bytes_alloc: int, cache: Any, flags: int,
                 align: int, ctor: bool, existing: bool) -> None:
        self.name = name
        self.bytes_req = bytes_req
        self.bytes_alloc = bytes_alloc
        self.cache = cache
        self.flags = flags
        self.align = align
        self.ctor = ctor
        self.existing = existing
        self.matched = cache is not None and cache.size == bytes_alloc

    def as_dict(self) -> dict[str, object]:
        s = self.cache
        return {
            "name": self.name,
            "bytes_req": self.bytes_req,
            "bytes_alloc": self.bytes_alloc,
            "model_cache": None if s is None else s.name,
            "model_object_size": None if s is None else s.object_size,
            "model_size": None if s is None else s.size,
            "existing": self.existing,
            "flags": _slab_flag_text(self.flags),
            "align": self.align,
            "ctor": self.ctor,
            "matched": self.matched,
        }


def _slab_flag_text(flags: int) -> str:
    names = [n for n, v in (("SLAB_HWCACHE_ALIGN", SLAB_HWCACHE_ALIGN),
                            ("SLAB_ACCOUNT", SLAB_ACCOUNT),
                            ("SLAB_NO_MERGE", SLAB_NO_MERGE)) if flags & v]
    return "|".join(names) if names else "0"


def _kmalloc_label(bytes_alloc: int, gfp: int) -> str:
    # The traced kernel's kmalloc cache: its family from the GFP flags (kmalloc_type()), its
    # size class from bytes_alloc (the cache's object size as the traced kernel reported it).
    if bytes_alloc > KMALLOC_MAX_CACHE_SIZE:
        return "kmalloc_large (pages)"
    return KMALLOC_TYPE_PREFIX[kmalloc_type(gfp)] + kmalloc_size_name(bytes_alloc)


# --- reading ------------------------------------------------------------------------------------


def _plain_blocks(raw: BinaryIO) -> Iterator[bytes]:
    while block := raw.read(_RAW_BLOCK):
        yield block


def _gunzip_blocks(raw: BinaryIO, path: str, status: dict[str, Any]) -> Iterator[bytes]:
    # Decompress gzip members one after another (as gzip -d does); a stream that breaks off
    # or goes bad yields what came before and notes why in status["truncated"].
    d = zlib.decompressobj(wbits=31)
    while True:
        data = raw.read(_RAW_BLOCK)
        if not data:
            if not d.eof:
                status["truncated"] = f"{path}: compressed stream ends early"
                yield d.flush()
            return
        while data:
            try:
                yield d.decompress(data)
            except zlib.error as e:
                status["truncated"] = f"{path}: {e}"
                return
            data = b""
            if d.eof:
                data = d.unused_data
                if data[:2] != b"\x1f\x8b":
                    return      # trailing bytes that are no gzip member: ignored, as gzip -d
                d = zlib.decompressobj(wbits=31)


def read_trace_chunks(path: str, chunk_bytes: int = CHUNK_BYTES,
                      status: dict[str, Any] | None = None) -> Iterator[tuple[str, int, int]]:
    """The text of *path* in chunks that end at a line end: ``(text, done, total)``.

    ``done``/``total`` are bytes of the file as stored (compressed for gzip), for a progress
    display. gzip is recognised by its magic bytes. A file that cannot be opened raises
    :class:`InputError`; a compressed stream that breaks off (a capture copied while being
    written) ends the text there and, when *status* is given, sets ``status["truncated"]`` to
    the reason. The last line is newline-terminated even if the file's is not.
    """
    if status is None:
        status = {}
    try:
        raw = open(path, "rb")
    except OSError as e:
        raise InputError(f"{path}: {e.strerror or e}") from None
    with raw:
        try:
            total = os.fstat(raw.fileno()).st_size
            magic = raw.read(2)
            raw.seek(0)
            blocks = _gunzip_blocks(raw, path, status) if magic == b"\x1f\x8b" \
                else _plain_blocks(raw)
            pending = bytearray()
            for block in blocks:
                pending += block
                if len(pending) < chunk_bytes:
                    continue
                cut = pending.rfind(b"\n") + 1
                if cut:
                    yield pending[:cut].decode("utf-8", "replace"), raw.tell(), total
                    del pending[:cut]
        except OSError as e:
            raise InputError(f"{path}: {e.strerror or e}") from None
        if pending:
            if not pending.endswith(b"\n"):
                pending += b"\n"
            yield pending.decode("utf-8", "replace"), raw.tell(), total


# --- the replayer -------------------------------------------------------------------------------


class Replayer:
    """Replays trace lines into machine *m* and keeps the counts a summary reports.

    Feed it with :meth:`feed_text` (newline-terminated text, in order); read the results with
    :meth:`summary`. All state is kept here, so a replay can be fed in any number of chunks.
    """

    def __init__(self, m: Machine) -> None:
        self.m = m
        #: ``ptr=`` token -> (model address or None, cache or None for kmalloc, info)
        self.live: dict[str, tuple[int | None, Any, Any]] = dict.fromkeys(_NULL_PTRS, _NULL_REC)
        #: ``pfn=`` token -> (model PFN or None, order, the ``order=`` text of the allocation)
        self.pages: dict[str, tuple[int | None, int, str]] = dict.fromkeys(_NULL_PFNS,
                                                                           _NULL_PAGE)
        #: (name, bytes_req, bytes_alloc) -> CacheInfo, in order of first sight
        self.cache_infos: dict[tuple[str, int, int], CacheInfo] = {}
        self._created_names: set[str] = set()
        # The text after the pointer/PFN token of each event, validated and converted once:
        #   kmem_cache_alloc "name=… bytes_req=… bytes_alloc=… gfp_flags=… node=… accounted=…"
        #     -> (cache, gfp, CacheInfo)
        #   kmalloc "bytes_req=… bytes_alloc=… gfp_flags=… …" -> (bytes_req, gfp, info)
        #   mm_page_alloc "order=… migratetype=… gfp_flags=…" -> (order, gfp)
        #   mm_page_free(_batched) "order=…" -> order
        self._kca_rest: dict[str, tuple[Any, int, CacheInfo]] = {}
        self._kmalloc_rest: dict[str, tuple[int, int, tuple[int, int, int]]] = {}
        self._pa_rest: dict[str, tuple[int, int]] = {}
        self._free_rest: dict[str, int] = {f"order={o}": o for o in range(MAX_PAGE_ORDER + 1)}
        self._gfps: dict[str, int] = {}
        # counters, indexed by the _KCA … _PFB codes
        self.events = [0] * 7
        self.unmatched = [0] * 7
        self.lost = [0] * 7
        self.failed_in_trace = [0] * 7
        self.model_failures = [0] * 7
        self.null_frees = 0
        self.frees_of_failed = 0
        self.order_mismatches = 0
        self.unknown: dict[str, int] = {}
        self.malformed = 0
        self.malformed_lines: list[int] = []
        self.comment_lines = 0
        self.lines = 0
        self.truncated: str | None = None
        # the hot loop's "[cpu]" column: where it starts in the last line and its text
        self._cpu_at = 0
        self._last_cpu = "\n"
        self._in_slow = False

    # ---- feeding -------------------------------------------------------------------------------

    def feed_text(self, text: str) -> None:
        """Replay newline-terminated *text* (the lines that follow the ones fed before)."""
        if " kmem:" in text:
            # perf script qualifies event names with their system ("kmem:kmalloc")
            text = text.replace(" kmem:", " ")
        lines = text.split("\n")
        if lines[-1]:
            raise ValueError("feed_text() needs newline-terminated text")
        lines.pop()
        first = self.lines
        self.lines += len(lines)
        self._feed(lines, first)

    def _feed(self, lines: list[str], lineno: int) -> None:
        # The hot loop: one pass over the lines, everything it needs in locals. *lineno* is the
        # number of the line before lines[0]. Each event's fields split into three: the
        # call_site (or page) token, the pointer (or pfn) token, and the rest, which is looked
        # up whole in a table filled (and validated) on first sight.
        m = self.m
        cache_alloc = m.kmem_cache_alloc
        cache_free = m.kmem_cache_free
        kmalloc = m.kmalloc
        kfree = m.kfree
        alloc_pages = m.alloc_pages
        free_pages = m.free_pages_pfn
        live = self.live
        pages = self.pages
        kca_rest = self._kca_rest
        kmalloc_rest = self._kmalloc_rest
        pa_rest = self._pa_rest
        slow = self._slow
        special_free = self._special_free
        special_page_free = self._special_page_free
        reused = self._reused
        page_reused = self._page_reused
        unmatched = self.unmatched
        switch_cpu = self._switch_cpu
        last_cpu = self._last_cpu
        ca = self._cpu_at
        cb = ca + 5
        n_kca = n_kcf = n_km = n_kf = n_pa = n_pf = n_pfb = 0
        for line in lines:
            lineno += 1
            parts = line.split(": ", 2)
            if len(parts) < 3:
                slow(line, lineno)
                continue
            if line[ca:cb] != last_cpu:
                # another CPU, or the "[cpu]" column is elsewhere (other shape or pid width)
                ca, last_cpu = switch_cpu(line)
                cb = ca + 5
            name = parts[1]
            if name == "kmem_cache_alloc":
                f = parts[2].split(None, 2)
                if len(f) < 3 or f[1][:4] != "ptr=":
                    slow(line, lineno)
                    continue
                v = kca_rest.get(f[2])
                if v is None:
                    v = self._kca_first(f[2])
                    if v is None:
                        slow(line, lineno)
                        continue
                n_kca += 1
                ptr = f[1]
                if ptr in live and not reused(ptr, _KCA):
                    continue
                s = v[0]
                addr = None if s is None else cache_alloc(s, v[1])
                if addr is None:
                    self.model_failures[_KCA] += 1
                live[ptr] = (addr, s, v[2])
            elif name == "kmem_cache_free" or name == "kfree":
                # one path for both frees: the object's own record says how to free it
                f = parts[2].split(None, 2)
                if len(f) < 2:
                    slow(line, lineno)
                    continue
                rec = live.pop(f[1], None)
                if rec is None and f[1][:4] != "ptr=":
                    slow(line, lineno)
                    continue
                if name == "kfree":
                    n_kf += 1
                else:
                    n_kcf += 1
                if rec is None:
                    unmatched[_KF if name == "kfree" else _KCF] += 1
                    continue
                addr = rec[0]
                if addr is None:
                    special_free(f[1], rec)
                elif rec[1] is None:
                    kfree(addr)
                else:
                    cache_free(rec[1], addr)
            elif name == "mm_page_alloc":
                f = parts[2].split(None, 2)
                if len(f) < 3 or f[1][:4] != "pfn=":
                    slow(line, lineno)
                    continue
                pv = pa_rest.get(f[2])
                if pv is None:
                    pv = self._pa_first(f[2])
                    if pv is None:
                        slow(line, lineno)
                        continue
                n_pa += 1
                pfn = f[1]
                if pfn in pages and not page_reused(pfn):
                    continue
                page = alloc_pages(pv[1], pv[0])
                if page is None:
                    self.model_failures[_PA] += 1
                pages[pfn] = (page, pv[0], f[2])
            elif name == "mm_page_free":
                f = parts[2].split(None, 2)
                if len(f) < 3:
                    slow(line, lineno)
                    continue
                prec = pages.pop(f[1], None)
                if prec is None:
                    if f[1][:4] != "pfn=" or self._free_order(f[2]) is None:
                        slow(line, lineno)
                        continue
                    n_pf += 1
                    unmatched[_PF] += 1
                    continue
                n_pf += 1
                if prec[2] != f[2] and self._free_order(f[2]) != prec[1]:
                    self.order_mismatches += 1
                page = prec[0]
                if page is None:
                    special_page_free(f[1], prec)
                else:
                    free_pages(page, prec[1])
            elif name == "mm_page_free_batched":
                f = parts[2].split(None, 2)
                if len(f) < 2:
                    slow(line, lineno)
                    continue
                prec = pages.pop(f[1], None)
                if prec is None:
                    if f[1][:4] != "pfn=":
                        slow(line, lineno)
                        continue
                    n_pfb += 1
                    unmatched[_PFB] += 1
                    continue
                n_pfb += 1
                if prec[1]:
                    self.order_mismatches += 1
                page = prec[0]
                if page is None:
                    special_page_free(f[1], prec)
                else:
                    free_pages(page, prec[1])
            elif name == "kmalloc":
                f = parts[2].split(None, 2)
                if len(f) < 3 or f[1][:4] != "ptr=":
                    slow(line, lineno)
                    continue
                kv = kmalloc_rest.get(f[2])
                if kv is None:
                    kv = self._kmalloc_first(f[2])
                    if kv is None:
                        slow(line, lineno)
                        continue
                n_km += 1
                ptr = f[1]
                if ptr in live and not reused(ptr, _KM):
                    continue
                addr = kmalloc(kv[0], kv[1])
                if addr is None:
                    self.model_failures[_KM] += 1
                live[ptr] = (addr, None, kv[2])
            else:
                slow(line, lineno)
        self._last_cpu = last_cpu
        self._cpu_at = ca
        ev = self.events
        ev[_KCA] += n_kca
        ev[_KCF] += n_kcf
        ev[_KM] += n_km
        ev[_KF] += n_kf
        ev[_PA] += n_pa
        ev[_PF] += n_pf
        ev[_PFB] += n_pfb

    # ---- the rare paths ------------------------------------------------------------------------

    def _switch_cpu(self, line: str) -> tuple[int, str]:
        # Find the line's "[cpu]" column and run the next events on that CPU (modulo the
        # machine's CPU count). Returns where the column starts and its text, which the hot
        # loop compares with the same slice of the next lines. A line without one (a comment)
        # keeps the current CPU and never matches.
        k = line.find("]")
        b = line.rfind("[", 0, k)
        if k < 0 or b < 0:
            return 0, "\n"
        try:
            cpu = int(line[b + 1:k])
        except ValueError:
            return 0, "\n"
        m = self.m
        cpu %= m.nr_cpus
        if cpu != m.current_cpu:
            m.current_cpu = cpu
        return k - 4, line[k - 4:k + 1]

    def _gfp(self, text: str) -> int | None:
        gfp = self._gfps.get(text)
        if gfp is None:
            try:
                gfp = parse_gfp(text)
            except ValueError:
                return None
            self._gfps[text] = gfp
        return gfp

    def _reused(self, ptr: str, code: int) -> bool:
        # An allocation returned a pointer that is live in the table: NULL (the traced kernel's
        # allocation failed: False, nothing to replay) or a lost free (free the old object).
        rec = self.live[ptr]
        if rec is _NULL_REC:
            self.failed_in_trace[code] += 1
            return False
        self.lost[code] += 1
        del self.live[ptr]
        addr, s, _ = rec
        if addr is not None:
            if s is None:
                self.m.kfree(addr)
            else:
                self.m.kmem_cache_free(s, addr)
        return True

    def _page_reused(self, pfn: str) -> bool:
        rec = self.pages[pfn]
        if rec is _NULL_PAGE:
            self.failed_in_trace[_PA] += 1
            return False
        self.lost[_PA] += 1
        del self.pages[pfn]
        if rec[0] is not None:
            self.m.free_pages_pfn(rec[0], rec[1])
        return True

    def _special_free(self, ptr: str, rec: tuple[int | None, Any, Any]) -> None:
        if rec is _NULL_REC:
            self.live[ptr] = _NULL_REC
            self.null_frees += 1
        else:
            self.frees_of_failed += 1

    def _special_page_free(self, pfn: str, rec: tuple[int | None, int, str]) -> None:
        if rec is _NULL_PAGE:
            self.pages[pfn] = _NULL_PAGE
            self.null_frees += 1
        else:
            self.frees_of_failed += 1

    def _free_order(self, rest: str) -> int | None:
        # "order=N" of mm_page_free (and whatever follows it in other shapes)
        order = self._free_rest.get(rest)
        if order is None:
            fields = _rest_fields(rest)
            if fields is None:
                return None
            order = _int_field(fields, "order")
            if order is None or not 0 <= order <= MAX_PAGE_ORDER:
                return None
            self._remember(self._free_rest, rest, order)
        return order

    def _pa_first(self, rest: str) -> tuple[int, int] | None:
        fields = _rest_fields(rest)
        if fields is None:
            return None
        order = _int_field(fields, "order")
        gfp = self._gfp(fields.get("gfp_flags", ""))
        if order is None or gfp is None or not 0 <= order <= MAX_PAGE_ORDER:
            return None
        v = (order, gfp)
        self._remember(self._pa_rest, rest, v)
        return v

    def _kmalloc_first(self, rest: str) -> tuple[int, int, tuple[int, int, int]] | None:
        fields = _rest_fields(rest)
        if fields is None:
            return None
        req = _int_field(fields, "bytes_req")
        alloc = _int_field(fields, "bytes_alloc")
        gfp = self._gfp(fields.get("gfp_flags", ""))
        if req is None or alloc is None or gfp is None or req < 0:
            return None
        v = (req, gfp, (req, alloc, gfp))
        self._remember(self._kmalloc_rest, rest, v)
        return v

    def _kca_first(self, rest: str) -> tuple[Any, int, CacheInfo] | None:
        # First sight of a kmem_cache_alloc field text: find or create the cache it names.
        fields = _rest_fields(rest)
        if fields is None:
            return None
        name = fields.get("name", "")
        req = _int_field(fields, "bytes_req")
        alloc = _int_field(fields, "bytes_alloc")
        gfp = self._gfp(fields.get("gfp_flags", ""))
        if not name or req is None or alloc is None or gfp is None or req < 0 or alloc < req:
            return None
        key = (name, req, alloc)
        info = self.cache_infos.get(key)
        if info is None:
            account = fields.get("accounted") == "true" and not gfp & _GFP_ACCOUNT
            info = self._create_cache(name, req, alloc, account)
            self.cache_infos[key] = info
        v = (info.cache, gfp, info)
        self._remember(self._kca_rest, rest, v)
        return v

    @staticmethod
    def _remember(table: dict[str, Any], rest: str, value: Any) -> None:
        # The tables are keyed by whole field texts; a trace with an unusual variety of them
        # (e.g. a new size in every kmalloc) must not grow them without bound.
        if len(table) >= _REST_TABLE_MAX:
            table.clear()
        table[rest] = value

    def _create_cache(self, name: str, req: int, alloc: int, account: bool) -> CacheInfo:
        m = self.m
        if name not in self._created_names:
            s = m.kmem_cache_lookup(name)
            if s is not None:
                return CacheInfo(name, req, alloc, s, 0, 0, False, existing=True)
        self._created_names.add(name)
        # SIM: SLAB_RECLAIM_ACCOUNT, SLAB_TYPESAFE_BY_RCU and the real constructors are not
        # visible in a trace; only layouts that reproduce the traced stride are tried.
        base = SLAB_NO_MERGE | (SLAB_ACCOUNT if account else 0)
        hw = base | SLAB_HWCACHE_ALIGN
        trials: list[tuple[int, int, bool]] = [(base, 0, False), (hw, 0, False),
                                               (base, 0, True), (hw, 0, True)]
        align = min(alloc & -alloc, 4096) if alloc else 0
        if align > 8:
            trials += [(base, align, False), (base, align, True)]
        for flags, al, ctor in trials:
            s = m.kmem_cache_create(name, req, al, flags, _replay_ctor if ctor else None)
            if s is None:   # the model refuses the cache (e.g. bigger than KMALLOC_MAX_SIZE)
                return CacheInfo(name, req, alloc, None, flags, al, ctor, existing=False)
            if s.size == alloc:
                return CacheInfo(name, req, alloc, s, flags, al, ctor, existing=False)
            m.kmem_cache_destroy(s)
        # No layout gives the trace's stride: keep the plain one (reported as unmatched).
        s = m.kmem_cache_create(name, req, 0, base, None)
        return CacheInfo(name, req, alloc, s, base, 0, False, existing=False)

    def _slow(self, line: str, lineno: int) -> None:
        # Everything the fast path does not take: comments, other events, other layouts.
        stripped = line.strip()
        if not stripped or stripped[0] == "#":
            self.comment_lines += 1
            return
        p = parse_line(line)
        if p is None:
            self._bad(lineno)
            return
        name = p.name
        if name not in _CANON_KEYS:
            self.unknown[name] = self.unknown.get(name, 0) + 1
            return
        canon = None if self._in_slow else _canonical_line(p)
        if canon is None:
            self._bad(lineno)
            return
        self._in_slow = True
        try:
            self._feed([canon], lineno - 1)
        finally:
            self._in_slow = False

    def _bad(self, lineno: int) -> None:
        self.malformed += 1
        if len(self.malformed_lines) < MALFORMED_KEEP:
            self.malformed_lines.append(lineno)

    # ---- results -------------------------------------------------------------------------------

    @property
    def events_total(self) -> int:
        """Event lines seen: the driven events plus the other event types."""
        return sum(self.events) + sum(self.unknown.values())

    def event_counts(self) -> dict[str, int]:
        """Well-formed event lines by event type (driven and other), sorted by name."""
        counts = {n: c for n, c in zip(DRIVEN_EVENTS, self.events, strict=True) if c}
        counts.update(self.unknown)
        return dict(sorted(counts.items()))

    def live_by_cache(self) -> list[dict[str, Any]]:
        """Objects still allocated at the end, per cache of the traced kernel, most bytes first.

        ``bytes_alloc``/``bytes_req`` are the trace's figures (what the traced kernel used and
        what its callers asked for); ``model_failed`` counts objects the model could not allocate.
        """
        per: dict[str, list[int]] = {}
        for addr, _s, info in self.live.values():
            if info is None:
                continue  # the NULL entries
            if isinstance(info, CacheInfo):
                label, req, alloc = info.name, info.bytes_req, info.bytes_alloc
            else:
                req, alloc, gfp = info
                label = _kmalloc_label(alloc, gfp)
            row = per.get(label)
            if row is None:
                row = per[label] = [0, 0, 0, 0]
            row[0] += 1
            row[1] += alloc
            row[2] += req
            row[3] += addr is None
        order = sorted(per, key=lambda k: (-per[k][1], k))
        return [{"cache": k, "objects": per[k][0], "bytes_alloc": per[k][1],
                 "bytes_req": per[k][2], "waste": per[k][1] - per[k][2],
                 "model_failed": per[k][3]} for k in order]

    def summary(self, top: int = 15) -> dict[str, Any]:
        """Everything the replay counted, as plain data (what ``--json`` writes)."""
        m = self.m
        by_cache = self.live_by_cache()
        objects = sum(r["objects"] for r in by_cache)
        live_alloc = sum(r["bytes_alloc"] for r in by_cache)
        live_req = sum(r["bytes_req"] for r in by_cache)
        blocks = [r for r in self.pages.values() if r is not _NULL_PAGE]
        infos = list(self.cache_infos.values())
        return {
            "machine": {"arch": m.arch.name, "mem_bytes": m.config.mem_bytes,
                        "cpus": m.nr_cpus, "nodes": m.nr_nodes, "slab": m.slab.kind},
            "lines": self.lines,
            "comment_lines": self.comment_lines,
            "events_total": self.events_total,
            "events": self.event_counts(),
            "unknown_events": dict(sorted(self.unknown.items())),
            "malformed": {"count": self.malformed, "first_lines": list(self.malformed_lines)},
            "truncated": self.truncated,
            "unmatched_frees": self._by_event(self.unmatched, _FREE_EVENTS),
            "null_frees": self.null_frees,
            "lost_frees": self._by_event(self.lost),
            "failed_in_trace": self._by_event(self.failed_in_trace),
            "allocation_failures": self._by_event(self.model_failures),
            "frees_of_failed_allocations": self.frees_of_failed,
            "page_order_mismatches": self.order_mismatches,
            "caches_created": [i.as_dict() for i in infos if not i.existing],
            "caches_existing": [i.as_dict() for i in infos if i.existing],
            "stride_mismatches": [i.as_dict() for i in infos if not i.matched],
            "live": {
                "objects": objects,
                "bytes_alloc": live_alloc,
                "bytes_req": live_req,
                "page_blocks": len(blocks),
                "pages": sum(1 << r[1] for r in blocks),
            },
            "live_by_cache": by_cache[:top] if top >= 0 else by_cache,
            "internal_fragmentation": {
                "bytes": live_alloc - live_req,
                "percent": round(100 * (live_alloc - live_req) / live_alloc, 2)
                if live_alloc else 0.0,
            },
            "external_fragmentation": external_fragmentation(m),
        }

    @staticmethod
    def _by_event(counts: list[int], codes: tuple[int, ...] = tuple(range(7))) -> dict[str, int]:
        return {DRIVEN_EVENTS[c]: counts[c] for c in codes}


def _canonical_line(p: ParsedLine) -> str | None:
    # The tracefs line the fast path reads for a parsed event of another shape; None when a
    # field the model needs is missing or has a space in it.
    fields = p.fields
    out = []
    for key in _CANON_KEYS[p.name]:
        v = fields.get(key)
        if v is None:
            if key == "name" and "bytes_req" in fields and "bytes_alloc" in fields:
                # kernels before 6.0 do not print the cache name
                v = f"trace-{fields['bytes_req']}-{fields['bytes_alloc']}"
            elif key == "order" and p.name == "mm_page_free_batched":
                v = "0"
            else:
                v = _CANON_DEFAULTS.get(key)
                if v is None:
                    return None
        elif key == "call_site":
            v = "?"
        elif not v or any(c.isspace() for c in v):
            return None
        out.append(f"{key}={v}")
    return f"x-0 [{p.cpu:03d}] ..... 0.000000: {p.name}: {' '.join(out)}"


def external_fragmentation(m: Machine) -> list[dict[str, Any]]:
    """Per populated zone: free pages, buddyinfo counts, and for orders 1, 3, pageblock order
    and MAX_PAGE_ORDER the unusable free index and the fragmentation index, as debugfs
    ``extfrag/unusable_index`` and ``extfrag/extfrag_index`` print them (index / 1000)."""
    orders = sorted({1, 3, m.pageblock_order, MAX_PAGE_ORDER})
    out = []
    for zone in m.zones:
        if not zone.populated():
            continue
        nr_free = [fa.nr_free for fa in zone.free_area]
        out.append({
            "node": zone.node,
            "zone": zone.name,
            "free_pages": sum(n << o for o, n in enumerate(nr_free)),
            "nr_free": nr_free,
            "unusable_index": {
                str(o): unusable_free_index(o, fill_contig_page_info(zone, o)) / 1000
                for o in orders},
            "fragmentation_index": {str(o): fragmentation_index(zone, o) / 1000
                                    for o in orders},
        })
    return out


def replay_file(m: Machine, path: str,
                progress: Callable[[int, int, int], None] | None = None) -> Replayer:
    """Replay the trace file *path* into *m*; the :class:`Replayer` holds the results.

    *progress*, if given, is called once per chunk (about 4 MiB of text) with the bytes of the
    file read so far, the file's size and the events replayed so far. A file without a single
    trace event raises :class:`InputError` naming it.
    """
    r = Replayer(m)
    status: dict[str, Any] = {}
    for text, done, total in read_trace_chunks(path, status=status):
        r.feed_text(text)
        if progress is not None:
            progress(done, total, r.events_total)
    r.truncated = status.get("truncated")
    if r.events_total == 0:
        what = f"{r.malformed} unreadable lines" if r.malformed else "no event lines"
        raise InputError(f"{path}: not an ftrace text trace ({what}; expected tracefs 'trace', "
                         "'trace-cmd report' or 'perf script' output, plain or gzip)")
    return r
