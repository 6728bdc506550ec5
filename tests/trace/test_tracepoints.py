"""kmem tracepoints: enabling, emitting, pointer hashing and each event's text (§13.7)."""

from __future__ import annotations

import pytest

from memsim.include.gfp import parse_gfp
from memsim.trace.tracepoints import (
    EVENT_SPECS,
    KMEM_EVENT_NAMES,
    VMEMMAP_BASE,
    PointerHasher,
    TraceContext,
    TraceEvent,
    Tracepoint,
    TracepointSet,
    format_event_text,
    format_ptr,
    pfn_to_page_address,
)

CTX = TraceContext("bash", 4163, 1, 242_405_640_000, False, False, False, False, False, 0, 0)

ALL_NAMES = (
    "mm_page_alloc",
    "mm_page_free",
    "mm_page_free_batched",
    "mm_page_alloc_zone_locked",
    "mm_page_pcpu_drain",
    "mm_page_alloc_extfrag",
    "kmalloc",
    "kfree",
    "kmem_cache_alloc",
    "kmem_cache_free",
)


def text(event: str, hasher: PointerHasher | None = None, /, **fields: object) -> str:
    return format_event_text(event, fields, hasher)


# --- enabling and emitting ---------------------------------------------------------------------


def test_tracepoint_is_disabled_until_a_callback_is_attached() -> None:
    """A fresh tracepoint is disabled; attaching enables it, detaching the last probe disables."""
    tps = TracepointSet()
    tp = tps.kfree
    assert tp.enabled is False
    seen: list[TraceEvent] = []
    tp.attach(seen.append)
    assert tp.enabled is True
    tp.detach(seen.append)
    assert tp.enabled is False


def test_disabled_tracepoint_does_not_call_callbacks() -> None:
    """With no probe attached (or after detaching) emitting reaches nobody."""
    tps = TracepointSet()
    seen: list[TraceEvent] = []
    tp = tps.kfree
    tp.attach(seen.append)
    tp.detach(seen.append)
    if tp.enabled:  # the hot-path idiom: never taken
        pytest.fail("detached tracepoint still enabled")
    tp.emit(CTX, call_site="x+0x1/0x2", ptr=0)
    assert seen == []


def test_emit_passes_a_trace_event_to_every_callback_in_attach_order() -> None:
    """emit() builds one TraceEvent (context, name, fields) and hands it to each probe in turn."""
    tps = TracepointSet()
    order: list[str] = []
    events: list[TraceEvent] = []

    def first(ev: TraceEvent) -> None:
        order.append("first")
        events.append(ev)

    def second(ev: TraceEvent) -> None:
        order.append("second")
        events.append(ev)

    tps.kfree.attach(first)
    tps.kfree.attach(second)
    tps.kfree.attach(first)  # attaching the same probe twice registers it once
    tps.kfree.emit(CTX, call_site="kvfree+0x2a/0x40", ptr=0xFFFF888100A3C000)
    assert order == ["first", "second"]
    assert events[0] is events[1]
    assert events[0] == TraceEvent(
        CTX, "kfree", {"call_site": "kvfree+0x2a/0x40", "ptr": 0xFFFF888100A3C000}
    )


def test_emit_rejects_missing_and_unknown_fields() -> None:
    """A field missing from emit(), or one the event does not have, is a TypeError."""
    tps = TracepointSet()
    tps.kfree.attach(lambda ev: None)
    with pytest.raises(TypeError, match="missing fields \\['ptr'\\]"):
        tps.kfree.emit(CTX, call_site="f+0x0/0x1")
    with pytest.raises(TypeError, match="unknown fields \\['bytes'\\]"):
        tps.kfree.emit(CTX, call_site="f+0x0/0x1", ptr=0, bytes=8)


def test_detach_of_a_probe_that_is_not_attached_raises() -> None:
    """Detaching an unknown probe is a ValueError and leaves the tracepoint as it was."""
    tp = TracepointSet().kmalloc

    def attached(ev: TraceEvent) -> None:
        pass

    def stranger(ev: TraceEvent) -> None:
        pass

    tp.attach(attached)
    with pytest.raises(ValueError):
        tp.detach(stranger)
    assert tp.enabled is True
    assert tp.callbacks == (attached,)


def test_tracepoint_set_names_lookup_and_attach_all() -> None:
    """The set holds the ten kmem events as attributes named like the kernel events."""
    tps = TracepointSet()
    assert tuple(tp.name for tp in tps.all()) == ALL_NAMES
    assert set(KMEM_EVENT_NAMES) == set(ALL_NAMES) == set(EVENT_SPECS)
    for name in ALL_NAMES:
        assert tps.by_name(name) is getattr(tps, name)
    with pytest.raises(KeyError):
        tps.by_name("mm_page_alloc_ext")
    seen: list[str] = []

    def probe(ev: TraceEvent) -> None:
        seen.append(ev.name)

    tps.attach_all(probe)
    assert all(tp.enabled for tp in tps)
    tps.mm_page_free.emit(CTX, pfn=5, order=0)
    tps.kfree.emit(CTX, call_site="f+0x0/0x1", ptr=0)
    assert seen == ["mm_page_free", "kfree"]
    tps.detach_all(probe)
    assert not any(tp.enabled for tp in tps)


def test_machines_do_not_share_tracepoints() -> None:
    """Two TracepointSets are independent: a probe on one machine sees nothing of the other."""
    a, b = TracepointSet(), TracepointSet()
    seen: list[TraceEvent] = []
    a.kfree.attach(seen.append)
    assert b.kfree.enabled is False
    b.kfree.emit(CTX, call_site="f+0x0/0x1", ptr=0)
    assert seen == []


def test_tracepoint_fields_in_print_order() -> None:
    """Each tracepoint lists its fields in the order the event prints them."""
    tps = TracepointSet()
    assert tps.kmem_cache_alloc.fields == (
        "call_site",
        "ptr",
        "name",
        "bytes_req",
        "bytes_alloc",
        "gfp_flags",
        "node",
        "accounted",
    )
    assert tps.kmalloc.fields == (
        "call_site",
        "ptr",
        "bytes_req",
        "bytes_alloc",
        "gfp_flags",
        "node",
        "accounted",
    )
    assert tps.kfree.fields == ("call_site", "ptr")
    assert tps.kmem_cache_free.fields == ("call_site", "ptr", "name")
    assert tps.mm_page_alloc.fields == ("pfn", "order", "migratetype", "gfp_flags")
    assert tps.mm_page_alloc.optional == ("page",)


# --- %p ------------------------------------------------------------------------------------------


def test_pointer_hash_is_32_bits_deterministic_and_keyed() -> None:
    """Hashed pointers fit in 32 bits, repeat for the same address and depend on the key."""
    h = PointerHasher(0x1234)
    ptrs = [0xFFFF888100000000 + i * 64 for i in range(1000)]
    ids = [h.hash(p) for p in ptrs]
    assert all(0 <= i <= 0xFFFFFFFF for i in ids)
    assert len(set(ids)) == len(ids)
    assert ids == [PointerHasher(0x1234).hash(p) for p in ptrs]
    assert ids != [PointerHasher(0x1235).hash(p) for p in ptrs]


def test_pointer_hash_leaves_null_and_err_ptr_alone() -> None:
    """NULL and ERR_PTR values are printed as they are, not hashed (like the kernel)."""
    h = PointerHasher(99)
    assert h.hash(0) == 0
    enomem = (1 << 64) - 12
    assert h.hash(enomem) == enomem
    assert format_ptr(enomem, h) == "fffffffffffffff4"
    assert h.hash(0x10) != 0x10  # ZERO_SIZE_PTR is an ordinary pointer to %p


def test_format_ptr_renders_sixteen_hex_digits() -> None:
    """%p is 16 hex digits: 00000000xxxxxxxx hashed, the raw address with nohash-ptr, zeros for NULL."""
    h = PointerHasher(7)
    p = 0xFFFF888100A3C000
    assert format_ptr(p, h) == f"00000000{h.hash(p):08x}"
    assert format_ptr(p, None) == "ffff888100a3c000"
    assert format_ptr(0, h) == "0000000000000000"
    assert format_ptr(None, h) == "0000000000000000"
    assert format_ptr(None, None) == "0000000000000000"


def test_hash_ptr_option_selects_the_hasher() -> None:
    """hash_ptr=True (default) formats with the machine's keyed hasher, False prints raw."""
    hashed = TracepointSet(key=42)
    assert hashed.hasher is hashed.pointer_hasher
    assert hashed.hasher is not None and hashed.hasher.key == 42
    raw = TracepointSet(hash_ptr=False, key=42)
    assert raw.hasher is None
    ev = TraceEvent(CTX, "kfree", {"call_site": "f+0x1/0x2", "ptr": 0xFFFF888100A3C000})
    assert raw.format_event(ev) == "call_site=f+0x1/0x2 ptr=ffff888100a3c000"
    h = PointerHasher(42).hash(0xFFFF888100A3C000)
    assert hashed.format_event(ev) == f"call_site=f+0x1/0x2 ptr=00000000{h:08x}"


def test_struct_page_address_of_a_pfn() -> None:
    """page= is computed from the pfn as vmemmap + pfn * sizeof(struct page)."""
    assert VMEMMAP_BASE == 0xFFFFEA0000000000
    assert pfn_to_page_address(0) == 0xFFFFEA0000000000
    assert pfn_to_page_address(0x10618C) == 0xFFFFEA0004186300


# --- event texts ---------------------------------------------------------------------------------


def test_kmem_cache_alloc_text() -> None:
    """kmem_cache_alloc prints the cache name after ptr= (6.18 format, as in the capture)."""
    assert text(
        "kmem_cache_alloc",
        call_site="copy_process+0x1a5/0x1d80",
        ptr=0x89F1CFA,
        name="task_struct",
        bytes_req=4248,
        bytes_alloc=4288,
        gfp_flags=parse_gfp("GFP_KERNEL"),
        node=-1,
        accounted=True,
    ) == (
        "call_site=copy_process+0x1a5/0x1d80 ptr=00000000089f1cfa name=task_struct "
        "bytes_req=4248 bytes_alloc=4288 gfp_flags=GFP_KERNEL node=-1 accounted=true"
    )


def test_kmalloc_text() -> None:
    """kmalloc prints call_site, ptr, sizes, flags, node and accounted."""
    assert text(
        "kmalloc",
        call_site="lsm_blob_alloc+0x3b/0x60",
        ptr=0xFFFF8881045C2A10,
        bytes_req=11,
        bytes_alloc=16,
        gfp_flags=parse_gfp("GFP_KERNEL_ACCOUNT|__GFP_ZERO"),
        node=-1,
        accounted=False,
    ) == (
        "call_site=lsm_blob_alloc+0x3b/0x60 ptr=ffff8881045c2a10 bytes_req=11 bytes_alloc=16 "
        "gfp_flags=GFP_KERNEL_ACCOUNT|__GFP_ZERO node=-1 accounted=false"
    )


def test_kmalloc_with_unresolved_call_site_and_no_gfp_flags() -> None:
    """An int call site prints as 0x<address> (%pS without a symbol); a zero mask as none."""
    assert text(
        "kmalloc",
        call_site=0xFFFFFFFFC0A01234,
        ptr=0x1000,
        bytes_req=8,
        bytes_alloc=8,
        gfp_flags=0,
        node=0,
        accounted=False,
    ) == (
        "call_site=0xffffffffc0a01234 ptr=0000000000001000 bytes_req=8 bytes_alloc=8 "
        "gfp_flags=none node=0 accounted=false"
    )


def test_kfree_text_including_null() -> None:
    """kfree(NULL) is traced too; the NULL pointer prints as sixteen zeros even when hashing."""
    h = PointerHasher(1)
    assert text("kfree", h, call_site="ida_alloc_range+0x39b/0x400", ptr=0) == (
        "call_site=ida_alloc_range+0x39b/0x400 ptr=0000000000000000"
    )
    assert text("kfree", call_site="vm_area_free+0x1c/0x80", ptr=0xFFFF888100000040) == (
        "call_site=vm_area_free+0x1c/0x80 ptr=ffff888100000040"
    )


def test_kmem_cache_free_text() -> None:
    """kmem_cache_free prints call_site, ptr and the cache name."""
    assert (
        text(
            "kmem_cache_free", call_site="__fput+0x141/0x2a0", ptr=0x7473ACD9, name="lsm_file_cache"
        )
        == "call_site=__fput+0x141/0x2a0 ptr=000000007473acd9 name=lsm_file_cache"
    )


def test_mm_page_alloc_text() -> None:
    """mm_page_alloc prints the struct page pointer, pfn in hex, order, migratetype and flags."""
    assert text(
        "mm_page_alloc",
        pfn=0x10618C,
        order=0,
        migratetype=0,
        gfp_flags=parse_gfp("GFP_KERNEL_ACCOUNT|__GFP_ZERO|__GFP_COMP"),
    ) == (
        "page=ffffea0004186300 pfn=0x10618c order=0 migratetype=0 "
        "gfp_flags=GFP_KERNEL_ACCOUNT|__GFP_ZERO|__GFP_COMP"
    )


def test_mm_page_alloc_hashes_the_struct_page_address() -> None:
    """With hashing on, page= is the hash of the struct page address, not of the pfn."""
    h = PointerHasher(5)
    got = text(
        "mm_page_alloc",
        h,
        pfn=0x1234,
        order=2,
        migratetype=1,
        gfp_flags=parse_gfp("GFP_HIGHUSER_MOVABLE|__GFP_ZERO|__GFP_COMP"),
    )
    assert got == (
        f"page=00000000{h.hash(0xFFFFEA0000048D00):08x} pfn=0x1234 order=2 migratetype=1 "
        "gfp_flags=GFP_HIGHUSER_MOVABLE|__GFP_ZERO|__GFP_COMP"
    )


def test_failed_mm_page_alloc_prints_null_page_and_zero_pfn() -> None:
    """A failed allocation (pfn None) prints page as a NULL pointer and pfn=0x0."""
    for hasher in (None, PointerHasher(3)):
        assert text(
            "mm_page_alloc",
            hasher,
            pfn=None,
            order=3,
            migratetype=1,
            gfp_flags=parse_gfp("GFP_ATOMIC|__GFP_NOWARN"),
        ) == (
            "page=0000000000000000 pfn=0x0 order=3 migratetype=1 gfp_flags=GFP_ATOMIC|__GFP_NOWARN"
        )


def test_mm_page_free_and_free_batched_text() -> None:
    """mm_page_free prints its order; mm_page_free_batched always prints order=0."""
    assert text("mm_page_free", pfn=0x12A27C, order=3) == (
        "page=ffffea0004a89f00 pfn=0x12a27c order=3"
    )
    assert text("mm_page_free_batched", pfn=0x10B5A1) == (
        "page=ffffea00042d6840 pfn=0x10b5a1 order=0"
    )


def test_mm_page_alloc_zone_locked_text() -> None:
    """mm_page_alloc_zone_locked adds percpu_refill as 0/1."""
    assert text(
        "mm_page_alloc_zone_locked", pfn=0x100, order=1, migratetype=2, percpu_refill=True
    ) == ("page=ffffea0000004000 pfn=0x100 order=1 migratetype=2 percpu_refill=1")


def test_mm_page_pcpu_drain_text() -> None:
    """mm_page_pcpu_drain prints page, pfn, order and migratetype."""
    assert text("mm_page_pcpu_drain", pfn=0x1, order=0, migratetype=1) == (
        "page=ffffea0000000040 pfn=0x1 order=0 migratetype=1"
    )


def test_mm_page_alloc_extfrag_text() -> None:
    """mm_page_alloc_extfrag prints both orders, pageblock_order, both types and the verdicts."""
    assert text(
        "mm_page_alloc_extfrag",
        pfn=0x12A400,
        alloc_order=0,
        fallback_order=10,
        pageblock_order=9,
        alloc_migratetype=0,
        fallback_migratetype=1,
        fragmenting=False,
        change_ownership=True,
    ) == (
        "page=ffffea0004a90000 pfn=0x12a400 alloc_order=0 fallback_order=10 pageblock_order=9 "
        "alloc_migratetype=0 fallback_migratetype=1 fragmenting=0 change_ownership=1"
    )


def test_explicit_page_field_overrides_the_computed_address() -> None:
    """An explicit page= value (e.g. from a parsed trace) is printed instead of vmemmap+pfn*64."""
    assert text("mm_page_free", pfn=0x10, order=0, page=0x26F1604C) == (
        "page=0000000026f1604c pfn=0x10 order=0"
    )


def test_string_values_print_verbatim() -> None:
    """gfp_flags given as text (parsed traces) and accounted as text are printed as they are."""
    assert text(
        "kmalloc",
        call_site="f+0x0/0x1",
        ptr=0,
        bytes_req=1,
        bytes_alloc=8,
        gfp_flags="GFP_NOWAIT|0x1000000",
        node=-1,
        accounted="true",
    ) == (
        "call_site=f+0x0/0x1 ptr=0000000000000000 bytes_req=1 bytes_alloc=8 "
        "gfp_flags=GFP_NOWAIT|0x1000000 node=-1 accounted=true"
    )


def test_unknown_event_prints_its_fields_as_key_value_pairs() -> None:
    """Events outside kmem fall back to 'key=value' pairs in field order."""
    assert text("sched_wakeup", comm="bash", pid=12, prio=120) == "comm=bash pid=12 prio=120"


def test_tracepoint_format_matches_the_module_formatter() -> None:
    """Tracepoint.format is the event's own formatter."""
    tp = Tracepoint.from_spec(EVENT_SPECS["kfree"])
    assert tp.format({"call_site": "a+0x1/0x2", "ptr": 0}, None) == (
        "call_site=a+0x1/0x2 ptr=0000000000000000"
    )
    assert repr(tp) == "Tracepoint('kfree', enabled=False)"
