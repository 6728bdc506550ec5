"""The kmem tracepoints (include/trace/events/kmem.h) and the tracepoint machinery around them.

A :class:`Tracepoint` is a static hook that costs one attribute read when nobody listens::

    if tps.mm_page_alloc.enabled:
        tps.mm_page_alloc.emit(ctx, pfn=pfn, order=order, migratetype=mt, gfp_flags=gfp)

``emit`` packs the keyword fields into a :class:`TraceEvent` (the ring-buffer record: the common
context plus the raw field values) and hands it to every attached callback.  Turning the record
into text is a separate step, done when the ``trace`` file is read (see
:mod:`memsim.trace.ftrace`), exactly as the kernel stores binary records and runs ``TP_printk``
only at read time.  That is also where ``%p`` pointers are hashed.

Event texts follow the 6.18 formats (the capture in ``shared/data/traces`` was taken on 6.18):
compared with the table in physical.md §13.7, ``kmem_cache_alloc`` carries ``name=%s`` (the cache
name) right after ``ptr=``, as every ``kmem_cache_alloc`` line of the capture shows.

Field values are plain Python values: ints for numbers and addresses, ``bool`` for ``accounted``,
``str`` for ``call_site`` (the ``%pS`` rendering, e.g. ``"kmalloc_trace+0x1d/0x30"``) and ``name``.
``gfp_flags`` is the int mask (rendered with :func:`memsim.include.gfp.format_gfp`); a ``str`` is
printed verbatim, which is what events rebuilt from a parsed trace carry.  Page events take the
``pfn`` (``None`` for a failed allocation, which prints ``page=0000000000000000 pfn=0x0``); the
printed ``page=`` is the struct page address ``vmemmap + pfn * 64`` unless an explicit ``page``
field is given.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from types import MappingProxyType
from typing import NamedTuple

__all__ = [
    "EVENT_SPECS",
    "KMEM_EVENT_NAMES",
    "NULL_PTR_TEXT",
    "STRUCT_PAGE_SIZE",
    "VMEMMAP_BASE",
    "EventFormatter",
    "EventSpec",
    "PointerHasher",
    "TraceCallback",
    "TraceContext",
    "TraceEvent",
    "Tracepoint",
    "TracepointSet",
    "format_event_text",
    "format_ptr",
    "pfn_to_page_address",
]

_MASK64 = (1 << 64) - 1
#: x86-64 ``VMEMMAP_START`` with 4-level paging and no KASLR: the struct page array.
VMEMMAP_BASE = 0xFFFF_EA00_0000_0000
#: ``sizeof(struct page)`` on x86-64.
STRUCT_PAGE_SIZE = 64
#: How ``%p`` renders NULL (and how a failed allocation's ``page=`` prints): 16 zero digits.
NULL_PTR_TEXT = "0" * 16
#: ``MAX_ERRNO``: the top 4095 addresses are ``ERR_PTR`` values, which ``%p`` prints unhashed.
_MAX_ERRNO = 4095
_ERR_PTR_MIN = (1 << 64) - _MAX_ERRNO


def pfn_to_page_address(pfn: int) -> int:
    """The struct page address of ``pfn`` (``pfn_to_page`` with SPARSEMEM_VMEMMAP)."""
    return (VMEMMAP_BASE + pfn * STRUCT_PAGE_SIZE) & _MASK64


class PointerHasher:
    """``%p`` pointer hashing: a keyed 64-bit mix of the address, cut to 32 bits.

    The kernel hashes with siphash under a random boot-time key and, on 64-bit, masks the result to
    its low 32 bits, so hashed pointers always print as ``00000000xxxxxxxx`` (every one of the
    ~120,000 non-NULL pointers in the 6.18 capture has that shape).  Here the key comes from the
    machine seed, so output is reproducible; the mix is splitmix64 (not siphash: only the shape,
    determinism and "same address -> same id within a boot" matter).  NULL and ``ERR_PTR`` values
    are not hashed (the kernel prints them as they are), so NULL prints as ``0000000000000000``.
    """

    __slots__ = ("key",)

    def __init__(self, key: int) -> None:
        self.key = key & _MASK64

    def hash(self, ptr: int) -> int:
        """The id ``%p`` prints for ``ptr``."""
        ptr &= _MASK64
        if ptr == 0 or ptr >= _ERR_PTR_MIN:
            return ptr
        z = ((ptr ^ self.key) + 0x9E37_79B9_7F4A_7C15) & _MASK64
        z = ((z ^ (z >> 30)) * 0xBF58_476D_1CE4_E5B9) & _MASK64
        z = ((z ^ (z >> 27)) * 0x94D0_49BB_1331_11EB) & _MASK64
        z ^= z >> 31
        return z & 0xFFFF_FFFF

    def __repr__(self) -> str:
        return f"PointerHasher(key={self.key:#x})"


def format_ptr(ptr: int | None, hasher: PointerHasher | None) -> str:
    """Render a ``%p`` argument: 16 hex digits, hashed when ``hasher`` is given.

    ``hasher=None`` is the ``nohash-ptr`` trace option (``%px``: the raw address).  ``None`` and 0
    both print as ``0000000000000000``.
    """
    if ptr is None:
        return NULL_PTR_TEXT
    if hasher is not None:
        ptr = hasher.hash(ptr)
    return f"{ptr & _MASK64:016x}"


class TraceContext(NamedTuple):
    """The common part of every trace record: what the ftrace line prefix shows (§13.8).

    The first eleven fields are the contract.  The trailing defaulted ones refine the flag
    characters: ``bh_off`` (``b``/``D`` in column 1), ``need_resched_lazy`` (``l``/``L``/``b``/``B``
    in column 2) and ``preempt_resched`` (the ``PREEMPT_NEED_RESCHED`` bit folded into the
    preempt count; ``None`` means "same as ``need_resched``", the usual state: ``N``).
    """

    comm: str
    pid: int
    cpu: int
    ts_ns: int
    irqs_off: bool = False
    need_resched: bool = False
    hardirq: bool = False
    softirq: bool = False
    nmi: bool = False
    preempt_depth: int = 0
    migrate_disable: int = 0
    bh_off: bool = False
    need_resched_lazy: bool = False
    preempt_resched: bool | None = None


class TraceEvent(NamedTuple):
    """One record: its context, the event name and the raw field values."""

    ctx: TraceContext
    name: str
    fields: dict[str, object]


TraceCallback = Callable[[TraceEvent], None]
#: ``fmt(fields, hasher) -> text``: the TP_printk part of an event (after ``"<name>: "``).
EventFormatter = Callable[[Mapping[str, object], PointerHasher | None], str]


# --- value renderers ---------------------------------------------------------------------------


def _sym(value: object) -> str:
    """``%pS``: the symbolised call site; an unresolved int address prints as ``0x...``."""
    if isinstance(value, str):
        return value
    if isinstance(value, int):
        return f"0x{value & _MASK64:x}"
    raise TypeError(f"call_site must be str or int, not {type(value).__name__}")


def _ptr(value: object, hasher: PointerHasher | None) -> str:
    """``%p``; a str (an unparseable pointer text from a foreign trace) prints verbatim."""
    if value is None or isinstance(value, int):
        return format_ptr(value, hasher)
    if isinstance(value, str):
        return value
    raise TypeError(f"pointer field must be int or None, not {type(value).__name__}")


def _dec(value: object) -> str:
    """``%d``/``%u``/``%zu``: ints (and bools, as 0/1); a str is printed verbatim."""
    if isinstance(value, int):
        return str(int(value))
    if isinstance(value, str):
        return value
    raise TypeError(f"integer field must be int, not {type(value).__name__}")


def _tf(value: object) -> str:
    """``%s`` of ``x ? "true" : "false"``."""
    if isinstance(value, str):
        return value
    return "true" if value else "false"


def _gfp(value: object) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, int):
        from memsim.include.gfp import format_gfp

        return format_gfp(value)
    raise TypeError(f"gfp_flags must be int, not {type(value).__name__}")


def _str(value: object) -> str:
    return value if isinstance(value, str) else str(value)


def _page_pfn(f: Mapping[str, object], hasher: PointerHasher | None) -> str:
    """``page=%p pfn=0x%lx``, with the kernel's NULL rendering for a failed allocation."""
    pfn = f["pfn"]
    if pfn is None:
        return "page=0000000000000000 pfn=0x0"
    if not isinstance(pfn, int):
        raise TypeError(f"pfn must be int or None, not {type(pfn).__name__}")
    page = f.get("page")
    if page is None:
        page = pfn_to_page_address(pfn)
    return f"page={_ptr(page, hasher)} pfn=0x{pfn:x}"


# --- the kmem events (6.18 TP_printk formats) --------------------------------------------------


def _fmt_kmem_cache_alloc(f: Mapping[str, object], h: PointerHasher | None) -> str:
    return (
        f"call_site={_sym(f['call_site'])} ptr={_ptr(f['ptr'], h)} name={_str(f['name'])}"
        f" bytes_req={_dec(f['bytes_req'])} bytes_alloc={_dec(f['bytes_alloc'])}"
        f" gfp_flags={_gfp(f['gfp_flags'])} node={_dec(f['node'])}"
        f" accounted={_tf(f['accounted'])}"
    )


def _fmt_kmalloc(f: Mapping[str, object], h: PointerHasher | None) -> str:
    return (
        f"call_site={_sym(f['call_site'])} ptr={_ptr(f['ptr'], h)}"
        f" bytes_req={_dec(f['bytes_req'])} bytes_alloc={_dec(f['bytes_alloc'])}"
        f" gfp_flags={_gfp(f['gfp_flags'])} node={_dec(f['node'])}"
        f" accounted={_tf(f['accounted'])}"
    )


def _fmt_kfree(f: Mapping[str, object], h: PointerHasher | None) -> str:
    return f"call_site={_sym(f['call_site'])} ptr={_ptr(f['ptr'], h)}"


def _fmt_kmem_cache_free(f: Mapping[str, object], h: PointerHasher | None) -> str:
    return f"call_site={_sym(f['call_site'])} ptr={_ptr(f['ptr'], h)} name={_str(f['name'])}"


def _fmt_mm_page_free(f: Mapping[str, object], h: PointerHasher | None) -> str:
    return f"{_page_pfn(f, h)} order={_dec(f['order'])}"


def _fmt_mm_page_free_batched(f: Mapping[str, object], h: PointerHasher | None) -> str:
    return f"{_page_pfn(f, h)} order=0"


def _fmt_mm_page_alloc(f: Mapping[str, object], h: PointerHasher | None) -> str:
    return (
        f"{_page_pfn(f, h)} order={_dec(f['order'])} migratetype={_dec(f['migratetype'])}"
        f" gfp_flags={_gfp(f['gfp_flags'])}"
    )


def _fmt_mm_page_alloc_zone_locked(f: Mapping[str, object], h: PointerHasher | None) -> str:
    return (
        f"{_page_pfn(f, h)} order={_dec(f['order'])} migratetype={_dec(f['migratetype'])}"
        f" percpu_refill={_dec(f['percpu_refill'])}"
    )


def _fmt_mm_page_pcpu_drain(f: Mapping[str, object], h: PointerHasher | None) -> str:
    return f"{_page_pfn(f, h)} order={_dec(f['order'])} migratetype={_dec(f['migratetype'])}"


def _fmt_mm_page_alloc_extfrag(f: Mapping[str, object], h: PointerHasher | None) -> str:
    return (
        f"{_page_pfn(f, h)} alloc_order={_dec(f['alloc_order'])}"
        f" fallback_order={_dec(f['fallback_order'])}"
        f" pageblock_order={_dec(f['pageblock_order'])}"
        f" alloc_migratetype={_dec(f['alloc_migratetype'])}"
        f" fallback_migratetype={_dec(f['fallback_migratetype'])}"
        f" fragmenting={_dec(f['fragmenting'])}"
        f" change_ownership={_dec(f['change_ownership'])}"
    )


class EventSpec(NamedTuple):
    """Static description of one event: its fields (in print order), optional fields, format."""

    name: str
    fields: tuple[str, ...]
    optional: tuple[str, ...]
    fmt: EventFormatter


_PAGE_OPT = ("page",)
_SPECS: tuple[EventSpec, ...] = (
    EventSpec(
        "kmem_cache_alloc",
        (
            "call_site",
            "ptr",
            "name",
            "bytes_req",
            "bytes_alloc",
            "gfp_flags",
            "node",
            "accounted",
        ),
        (),
        _fmt_kmem_cache_alloc,
    ),
    EventSpec(
        "kmalloc",
        ("call_site", "ptr", "bytes_req", "bytes_alloc", "gfp_flags", "node", "accounted"),
        (),
        _fmt_kmalloc,
    ),
    EventSpec("kfree", ("call_site", "ptr"), (), _fmt_kfree),
    EventSpec("kmem_cache_free", ("call_site", "ptr", "name"), (), _fmt_kmem_cache_free),
    EventSpec("mm_page_free", ("pfn", "order"), _PAGE_OPT, _fmt_mm_page_free),
    EventSpec("mm_page_free_batched", ("pfn",), _PAGE_OPT, _fmt_mm_page_free_batched),
    EventSpec(
        "mm_page_alloc",
        ("pfn", "order", "migratetype", "gfp_flags"),
        _PAGE_OPT,
        _fmt_mm_page_alloc,
    ),
    EventSpec(
        "mm_page_alloc_zone_locked",
        ("pfn", "order", "migratetype", "percpu_refill"),
        _PAGE_OPT,
        _fmt_mm_page_alloc_zone_locked,
    ),
    EventSpec(
        "mm_page_pcpu_drain",
        ("pfn", "order", "migratetype"),
        _PAGE_OPT,
        _fmt_mm_page_pcpu_drain,
    ),
    EventSpec(
        "mm_page_alloc_extfrag",
        (
            "pfn",
            "alloc_order",
            "fallback_order",
            "pageblock_order",
            "alloc_migratetype",
            "fallback_migratetype",
            "fragmenting",
            "change_ownership",
        ),
        _PAGE_OPT,
        _fmt_mm_page_alloc_extfrag,
    ),
)

#: Every kmem event this module knows, by name (read-only).
EVENT_SPECS: Mapping[str, EventSpec] = MappingProxyType({s.name: s for s in _SPECS})
KMEM_EVENT_NAMES: tuple[str, ...] = tuple(s.name for s in _SPECS)


def format_event_text(name: str, fields: Mapping[str, object], hasher: PointerHasher | None) -> str:
    """The text after ``"<name>: "`` for an event.

    Unknown events (e.g. parsed from a trace of other subsystems) print their fields as
    ``key=value`` separated by single spaces, in insertion order.
    """
    spec = EVENT_SPECS.get(name)
    if spec is not None:
        return spec.fmt(fields, hasher)
    return " ".join(f"{k}={v}" for k, v in fields.items())


class Tracepoint:
    """One static tracepoint: ``enabled`` is the static key, callbacks are the probes."""

    __slots__ = (
        "name",
        "fields",
        "optional",
        "fmt",
        "enabled",
        "_callbacks",
        "_required",
        "_allowed",
    )

    def __init__(
        self,
        name: str,
        fields: tuple[str, ...],
        fmt: EventFormatter,
        optional: tuple[str, ...] = (),
    ) -> None:
        self.name = name
        self.fields = fields
        self.optional = optional
        self.fmt = fmt
        #: True while at least one callback is attached; test it before building any fields.
        self.enabled = False
        self._callbacks: tuple[TraceCallback, ...] = ()
        self._required = frozenset(fields)
        self._allowed = frozenset(fields) | frozenset(optional)

    @classmethod
    def from_spec(cls, spec: EventSpec) -> Tracepoint:
        return cls(spec.name, spec.fields, spec.fmt, spec.optional)

    @property
    def callbacks(self) -> tuple[TraceCallback, ...]:
        return self._callbacks

    def attach(self, callback: TraceCallback) -> None:
        """Register a probe (``tracepoint_probe_register``); the same callable at most once."""
        if callback not in self._callbacks:
            self._callbacks = (*self._callbacks, callback)
        self.enabled = True

    def detach(self, callback: TraceCallback) -> None:
        """Unregister a probe; ``ValueError`` if it was not attached."""
        if callback not in self._callbacks:
            raise ValueError(f"{callback!r} is not attached to {self.name}")
        self._callbacks = tuple(cb for cb in self._callbacks if cb != callback)
        self.enabled = bool(self._callbacks)

    def emit(self, ctx: TraceContext, /, **fields: object) -> None:
        """Record one event: build the :class:`TraceEvent` and pass it to every probe.

        Raises ``TypeError`` when a field is missing or unknown (callers are expected to test
        ``enabled`` first, so this check costs nothing while tracing is off).
        """
        keys = fields.keys()
        if keys != self._required and (self._required - keys or keys - self._allowed):
            missing = sorted(self._required - keys)
            unknown = sorted(keys - self._allowed)
            raise TypeError(f"{self.name}: missing fields {missing}, unknown fields {unknown}")
        ev = TraceEvent(ctx, self.name, fields)
        for cb in self._callbacks:
            cb(ev)

    def format(self, fields: Mapping[str, object], hasher: PointerHasher | None) -> str:
        """This event's text (the part after ``"<name>: "``)."""
        return self.fmt(fields, hasher)

    def __repr__(self) -> str:
        return f"Tracepoint({self.name!r}, enabled={self.enabled})"


class TracepointSet:
    """The kmem tracepoints of one simulated machine.

    Attributes are named like the kernel events.  ``hash_ptr`` mirrors the ``hash-ptr`` trace
    option (on by default); :attr:`hasher` is what readers of the trace should format with.
    """

    mm_page_alloc: Tracepoint
    mm_page_free: Tracepoint
    mm_page_free_batched: Tracepoint
    mm_page_alloc_zone_locked: Tracepoint
    mm_page_pcpu_drain: Tracepoint
    mm_page_alloc_extfrag: Tracepoint
    kmalloc: Tracepoint
    kfree: Tracepoint
    kmem_cache_alloc: Tracepoint
    kmem_cache_free: Tracepoint

    def __init__(self, *, hash_ptr: bool = True, key: int = 0) -> None:
        self.hash_ptr = hash_ptr
        self.pointer_hasher = PointerHasher(key)
        self.mm_page_alloc = Tracepoint.from_spec(EVENT_SPECS["mm_page_alloc"])
        self.mm_page_free = Tracepoint.from_spec(EVENT_SPECS["mm_page_free"])
        self.mm_page_free_batched = Tracepoint.from_spec(EVENT_SPECS["mm_page_free_batched"])
        self.mm_page_alloc_zone_locked = Tracepoint.from_spec(
            EVENT_SPECS["mm_page_alloc_zone_locked"]
        )
        self.mm_page_pcpu_drain = Tracepoint.from_spec(EVENT_SPECS["mm_page_pcpu_drain"])
        self.mm_page_alloc_extfrag = Tracepoint.from_spec(EVENT_SPECS["mm_page_alloc_extfrag"])
        self.kmalloc = Tracepoint.from_spec(EVENT_SPECS["kmalloc"])
        self.kfree = Tracepoint.from_spec(EVENT_SPECS["kfree"])
        self.kmem_cache_alloc = Tracepoint.from_spec(EVENT_SPECS["kmem_cache_alloc"])
        self.kmem_cache_free = Tracepoint.from_spec(EVENT_SPECS["kmem_cache_free"])
        self._all: tuple[Tracepoint, ...] = (
            self.mm_page_alloc,
            self.mm_page_free,
            self.mm_page_free_batched,
            self.mm_page_alloc_zone_locked,
            self.mm_page_pcpu_drain,
            self.mm_page_alloc_extfrag,
            self.kmalloc,
            self.kfree,
            self.kmem_cache_alloc,
            self.kmem_cache_free,
        )
        self._by_name: dict[str, Tracepoint] = {tp.name: tp for tp in self._all}

    @property
    def hasher(self) -> PointerHasher | None:
        """The ``%p`` hasher in effect (``None`` with ``nohash-ptr``: raw addresses)."""
        return self.pointer_hasher if self.hash_ptr else None

    def by_name(self, name: str) -> Tracepoint:
        """The tracepoint called ``name``; ``KeyError`` if there is none."""
        return self._by_name[name]

    def all(self) -> tuple[Tracepoint, ...]:
        return self._all

    def __iter__(self) -> Iterator[Tracepoint]:
        return iter(self._all)

    def attach_all(self, callback: TraceCallback) -> None:
        """Attach ``callback`` to every tracepoint (``echo 1 > events/kmem/enable``)."""
        for tp in self._all:
            tp.attach(callback)

    def detach_all(self, callback: TraceCallback) -> None:
        """Detach ``callback`` from every tracepoint it is attached to."""
        for tp in self._all:
            if callback in tp.callbacks:
                tp.detach(callback)

    def format_event(self, ev: TraceEvent) -> str:
        """``ev``'s text with this machine's pointer hashing."""
        return format_event_text(ev.name, ev.fields, self.hasher)
