"""
What SLUB (mm/slub.py) and the classic SLAB (mm/slab.py) share (mm/slab_common.c): cache
creation and destruction around the allocator's own hooks, alignment, merging, the kmalloc
wrappers (kzalloc, kcalloc, kmalloc_array, krealloc, kfree_sensitive, kmalloc_size_roundup),
bulk allocation, /proc/slabinfo, and the small helpers both allocators' reports need.

An allocator is a subclass of :class:`SlabAllocator`; the machine binds its methods under
the kernel's names at boot (``m.kmem_cache_alloc``, ``m.kmalloc``, ``m.kfree`` …), so the
hot paths cost one call. Objects are kernel virtual addresses in the direct map (``int``).
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from memsim.errors import MemsimError
from memsim.include.gfp import (
    __GFP_NOFAIL,
    __GFP_NORETRY,
    __GFP_NOWARN,
    __GFP_RETRY_MAYFAIL,
    __GFP_ZERO,
    gfpflags_allow_blocking,
)
from memsim.include.slab import (
    CACHE_CREATE_MASK,
    KMALLOC_MAX_CACHE_SIZE,
    KMALLOC_MAX_SIZE,
    SLAB_FLAGS_PERMITTED,
    SLAB_HWCACHE_ALIGN,
    SLAB_PANIC,
    ZERO_SIZE_PTR,
    get_order,
)
from memsim.mm import maccess
from memsim.mm.vmalloc import VM_ALLOW_HUGE_VMAP

if TYPE_CHECKING:
    from memsim.machine import Machine

#: a constructor: ``ctor(m, obj)`` runs on each object when its slab is created
Ctor = Callable[["Machine", int], None]

_PAGE_SIZE = 4096
# "__" names are mangled inside class bodies: aliases
_GFP_ZERO = __GFP_ZERO
_GFP_NOFAIL = __GFP_NOFAIL
_GFP_NORETRY = __GFP_NORETRY
_GFP_NOWARN = __GFP_NOWARN
_GFP_RETRY_MAYFAIL = __GFP_RETRY_MAYFAIL


#: the slab API names the machine exposes (bound to the allocator's methods at boot)
SLAB_API = ("kmem_cache_create", "kmem_cache_destroy", "kmem_cache_shrink", "kmem_cache_lookup",
            "kmem_cache_alloc", "kmem_cache_alloc_node", "kmem_cache_zalloc", "kmem_cache_free",
            "kmem_cache_alloc_bulk", "kmem_cache_free_bulk", "kmalloc", "kmalloc_node",
            "kzalloc", "kcalloc", "kmalloc_array", "krealloc", "kfree", "kfree_sensitive",
            "ksize", "kmalloc_size_roundup", "kvmalloc", "kvmalloc_node", "kvzalloc",
            "kvfree")


class SlabUsageError(MemsimError):
    """A slab API call the kernel would reject outright (bad argument types or values)."""


def ALIGN(x: int, a: int) -> int:
    return (x + a - 1) & ~(a - 1)


def cache_line_size(m: Machine) -> int:
    """cache_line_size(): L1 line of the architecture (64 on x86 and arm64, 64 on arm v7)."""
    return m.arch.l1_cache_bytes


def calculate_alignment(m: Machine, flags: int, align: int, size: int) -> int:
    """calculate_alignment() (6.12 mm/slab_common.c)."""
    if flags & SLAB_HWCACHE_ALIGN:
        ralign = cache_line_size(m)
        while size <= ralign // 2:
            ralign //= 2
        align = max(align, ralign)
    align = max(align, 8)                 # arch_slab_minalign()
    return ALIGN(align, m.arch.bits // 8)


def python_caller() -> str:
    """A %pS-style call site for the model user's code calling the slab API: the Python
    function name, with its line number as the offset (``test_uaf+0x2a/0x1000``).
    # SIM: the kernel prints the caller's symbol+offset/size; the model's callers are
    # Python functions, so the offset is a line number and the size a fixed 0x1000."""
    f = sys._getframe(1)
    while f is not None and (f.f_globals.get("__name__", "").startswith("memsim.mm")
                             or f.f_globals.get("__name__", "") == "memsim.machine"):
        f = f.f_back  # type: ignore[assignment]
    if f is None:
        return "0x0"
    return f"{f.f_code.co_name}+0x{f.f_lineno:x}/0x1000"


def check_create_args(name: object, size: object, align: object, flags: object,
                      ctor: object) -> None:
    """kmem_cache_create() arguments of the wrong type are the model user's mistake (C
    would not compile them): SlabUsageError naming the call."""
    if not isinstance(name, str) or not isinstance(size, int) or \
            not isinstance(align, int) or not isinstance(flags, int):
        raise SlabUsageError(f"kmem_cache_create({name!r}, {size!r}, {align!r}, "
                             f"{flags!r}): name must be str and size/align/flags int")
    if ctor is not None and not callable(ctor):
        raise SlabUsageError(f"kmem_cache_create({name}): ctor must be callable")


class SlabInfo:
    """get_slabinfo(): one /proc/slabinfo line's numbers."""

    __slots__ = ("active_objs", "num_objs", "active_slabs", "num_slabs", "shared_avail",
                 "limit", "batchcount", "shared", "objects_per_slab", "cache_order")

    def __init__(self, active_objs: int, num_objs: int, active_slabs: int, num_slabs: int,
                 objects_per_slab: int, cache_order: int, limit: int = 0, batchcount: int = 0,
                 shared: int = 0, shared_avail: int = 0) -> None:
        self.active_objs = active_objs
        self.num_objs = num_objs
        self.active_slabs = active_slabs
        self.num_slabs = num_slabs
        self.objects_per_slab = objects_per_slab
        self.cache_order = cache_order
        self.limit = limit
        self.batchcount = batchcount
        self.shared = shared
        self.shared_avail = shared_avail


class KmemCacheBase:
    """Fields every allocator's struct kmem_cache has (the allocators extend it)."""

    name: str
    object_size: int
    size: int
    align: int
    flags: int
    ctor: Ctor | None
    refcount: int
    #: names of caches merged into this one (sysfs aliases)
    aliases: list[str]
    #: every allocated object of the cache (the model's own bookkeeping: it makes double
    #: frees, foreign pointers and leaks detectable without corrupting anything)
    live: set[int]

    def __repr__(self) -> str:
        return f"<kmem_cache {self.name} object_size={self.object_size} size={self.size}>"


class SlabAllocator:
    """
    The allocator-independent layer. Subclasses implement the hooks (``_create_cache``,
    ``_cache_alloc``, ``_cache_free``, ``_shrink``, ``_shutdown``, ``get_slabinfo``,
    ``virt_to_cache``, ``kmalloc``, ``kfree``, ``ksize``) and boot (``kmem_cache_init``).
    """

    #: "slub" or "slab"
    kind = ""

    def __init__(self, m: Machine) -> None:
        self.m = m
        #: slab_caches in list order: the kernel adds at the head, so the newest is first
        #: when /proc/slabinfo walks it; kept oldest-first here
        self.slab_caches: list[Any] = []
        #: slab_state >= UP: sysfs and full kmem_cache_create are available
        self.up = False

    # ---- hooks -------------------------------------------------------------------------
    def _create_cache(self, name: str, size: int, align: int, flags: int,
                      ctor: Ctor | None) -> Any:
        raise NotImplementedError

    def _find_alias(self, name: str, size: int, align: int, flags: int,
                    ctor: Ctor | None) -> Any:
        return None

    def _shutdown(self, s: Any) -> bool:
        """__kmem_cache_shutdown(): free everything; True if objects remain."""
        raise NotImplementedError

    def _release(self, s: Any) -> None:
        """Return the kmem_cache structure itself."""

    def kmem_cache_init(self) -> None:
        raise NotImplementedError

    def validate(self) -> None:
        """Check the allocator's invariants; MMCorruptionError subclasses on a violation."""
        raise NotImplementedError

    def kmem_cache_shrink(self, s: Any) -> int:
        raise NotImplementedError

    def get_slabinfo(self, s: Any) -> SlabInfo:
        raise NotImplementedError

    def slabinfo_header(self) -> str:
        return ("slabinfo - version: 2.1\n"
                "# name            <active_objs> <num_objs> <objsize> <objperslab> "
                "<pagesperslab> : tunables <limit> <batchcount> <sharedfactor> : slabdata "
                "<active_slabs> <num_slabs> <sharedavail>\n")

    def slabinfo_extra(self, s: Any) -> str:
        return ""

    def kmalloc(self, size: int, flags: int) -> int | None:
        raise NotImplementedError

    def kmalloc_node(self, size: int, flags: int, node: int) -> int | None:
        raise NotImplementedError

    def kfree(self, objp: int | None) -> None:
        raise NotImplementedError

    def ksize(self, objp: int | None) -> int:
        raise NotImplementedError

    def kmem_cache_alloc(self, s: Any, gfpflags: int) -> int | None:
        raise NotImplementedError

    def kmem_cache_alloc_node(self, s: Any, gfpflags: int, node: int) -> int | None:
        raise NotImplementedError

    def kmem_cache_free(self, s: Any, objp: int) -> None:
        raise NotImplementedError

    def virt_to_cache(self, objp: int) -> Any:
        raise NotImplementedError

    def kmalloc_slab(self, size: int, flags: int) -> Any:
        """The kmalloc cache serving *size* bytes with *flags* (None above the caches)."""
        raise NotImplementedError

    # ---- cache creation ------------------------------------------------------------------
    def kmem_cache_create(self, name: str, size: int, align: int = 0, flags: int = 0,
                          ctor: Ctor | None = None) -> Any:
        """kmem_cache_create(): a new cache, an alias of a compatible one, or None."""
        m = self.m
        check_create_args(name, size, align, flags, ctor)
        err = 0
        s = None
        # kmem_cache_sanity_check() (CONFIG_DEBUG_VM)
        if not name or m.in_interrupt() or size > KMALLOC_MAX_SIZE or size < 0:
            m.printk(f"kmem_cache_create({name}) integrity check failed", level=3)
            err = -22
        else:
            if any(c.name == name for c in self.slab_caches):
                m.debug.warn_text(f"kmem_cache of name '{name}' already exists",
                                  "kmem_cache_sanity_check", "mm/slab_common.c", 107)
            if " " in name:
                m.debug.warn_text(None, "kmem_cache_sanity_check", "mm/slab_common.c", 110)
            if flags & ~SLAB_FLAGS_PERMITTED:
                err = -22
            else:
                flags &= CACHE_CREATE_MASK
                s = self._find_alias(name, size, align, flags, ctor)
                if s is None:
                    align = calculate_alignment(m, flags, align, size)
                    s = self._create_cache(name, size, align, flags, ctor)
                    if s is None:
                        err = -22
                    else:
                        self.slab_caches.append(s)
        if err:
            if flags & SLAB_PANIC:
                m.panic(f"__kmem_cache_create_args: Failed to create slab '{name}'. "
                        f"Error {err}")
            m.printk(f"__kmem_cache_create_args({name}) failed with error {err}", level=4)
            m.debug.dump_stack()
            return None
        return s

    def kmem_cache_lookup(self, name: str) -> Any:
        """The cache (or the cache an alias names) called *name*; None if none."""
        for s in reversed(self.slab_caches):
            if s.name == name or name in s.aliases:
                return s
        return None

    def kmem_cache_destroy(self, s: Any) -> None:
        """kmem_cache_destroy(): drop a reference; the last one frees the cache if empty."""
        m = self.m
        if s is None:
            return
        if s not in self.slab_caches:
            raise SlabUsageError(f"kmem_cache_destroy: {s!r} is not a live cache")
        s.refcount -= 1
        if s.refcount:
            return
        busy = self._shutdown(s)
        if busy:
            s.refcount += 1
            if self.kind == "slab":
                return          # 2.6.32 reported with slab_error() only (in _shutdown)
            m.debug.warn_text(f"kmem_cache_destroy {s.name}: Slab cache still has objects "
                              f"when called from {python_caller()}",
                              "kmem_cache_destroy", "mm/slab_common.c", 508)
            return
        self.slab_caches.remove(s)
        self._release(s)

    # ---- allocation wrappers ---------------------------------------------------------------
    def kmem_cache_zalloc(self, s: Any, flags: int) -> int | None:
        """kmem_cache_zalloc(): kmem_cache_alloc with _GFP_ZERO."""
        return self.kmem_cache_alloc(s, flags | _GFP_ZERO)

    def kmem_cache_alloc_bulk(self, s: Any, flags: int, size: int) -> list[int]:
        """kmem_cache_alloc_bulk(): *size* objects, or none at all (the list is empty)."""
        out: list[int] = []
        for _ in range(size):
            p = self.kmem_cache_alloc(s, flags)
            if p is None:
                self.kmem_cache_free_bulk(s, out)
                return []
            out.append(p)
        return out

    def kmem_cache_free_bulk(self, s: Any | None, objs: list[int]) -> None:
        """kmem_cache_free_bulk(): *s* may be None (each object's own cache)."""
        for p in objs:
            if s is None:
                self.kfree(p)
            else:
                self.kmem_cache_free(s, p)

    def kzalloc(self, size: int, flags: int) -> int | None:
        return self.kmalloc(size, flags | _GFP_ZERO)

    def kmalloc_array(self, n: int, size: int, flags: int) -> int | None:
        """kmalloc_array(): NULL when n * size overflows size_t."""
        if n < 0 or size < 0:
            raise SlabUsageError(f"kmalloc_array({n}, {size}): negative size")
        if size and n > ((1 << self.m.arch.bits) - 1) // size:
            return None
        return self.kmalloc(n * size, flags)

    def kcalloc(self, n: int, size: int, flags: int) -> int | None:
        return self.kmalloc_array(n, size, flags | _GFP_ZERO)

    def krealloc(self, p: int | None, new_size: int, flags: int) -> int | None:
        """krealloc() (6.12 __do_krealloc): keep the object if it still fits."""
        m = self.m
        if not new_size:
            self.kfree(p)
            return ZERO_SIZE_PTR
        ks = self.ksize(p) if p is not None and p > ZERO_SIZE_PTR else 0
        if ks >= new_size:
            if flags & _GFP_ZERO and p is not None:
                maccess.kernel_memset(m, p + new_size, 0, ks - new_size)
            return p
        ret = self.kmalloc(new_size, flags)
        if ret is not None and p is not None and p > ZERO_SIZE_PTR:
            maccess.kernel_write(m, ret, maccess.kernel_read(m, p, ks))
            self.kfree(p)
        return ret

    def kfree_sensitive(self, p: int | None) -> None:
        """kfree_sensitive(): zero the whole object (ksize bytes), then kfree it."""
        if p is not None and p > ZERO_SIZE_PTR:
            ks = self.ksize(p)
            if ks:
                maccess.kernel_memset(self.m, p, 0, ks)
        self.kfree(p)

    def kmalloc_size_roundup(self, size: int) -> int:
        """kmalloc_size_roundup(): the size kmalloc would really give for *size*."""
        if size and size <= KMALLOC_MAX_CACHE_SIZE:
            s = self.kmalloc_slab(size, 0)
            if s is not None:
                return int(s.object_size)
        if size and size <= KMALLOC_MAX_SIZE:
            return _PAGE_SIZE << get_order(size)
        return size

    def shrink_all(self) -> int:
        """Shrink every cache: the hook reclaim calls (drop_slab(), "echo 2 >
        drop_caches" without shrinkers); returns the pages given back to the buddy
        allocator (pcp lists included)."""
        before = self.m.nr_free_pages() + self.m.nr_pcp_pages()
        for s in list(self.slab_caches):
            self.kmem_cache_shrink(s)
        return self.m.nr_free_pages() + self.m.nr_pcp_pages() - before

    # ---- kvmalloc (mm/util.c) ----------------------------------------------------------
    def kvmalloc_node(self, size: int, flags: int, node: int = -1) -> int | None:
        """kvmalloc_node(): kmalloc without warnings or retries for sizes above a page.
        A failed kmalloc falls back to vmalloc (``m.vmalloc_node``, mm/vmalloc.py) with the
        caller's flags and huge mappings allowed, as 6.12 does."""
        kflags = flags
        if size > _PAGE_SIZE:
            kflags |= _GFP_NOWARN
            if not kflags & _GFP_RETRY_MAYFAIL:
                kflags |= _GFP_NORETRY
            kflags &= ~_GFP_NOFAIL
        ret = self.kmalloc_node(size, kflags, node)
        if ret is not None or size <= _PAGE_SIZE or not gfpflags_allow_blocking(flags):
            return ret
        # __vmalloc_node_range(size, 1, VMALLOC_START, VMALLOC_END, flags, PAGE_KERNEL,
        #                      VM_ALLOW_HUGE_VMAP, node, caller)
        return self.m.vmalloc_node(size, node, flags, VM_ALLOW_HUGE_VMAP)

    def kvmalloc(self, size: int, flags: int) -> int | None:
        return self.kvmalloc_node(size, flags, -1)

    def kvzalloc(self, size: int, flags: int) -> int | None:
        return self.kvmalloc_node(size, flags | _GFP_ZERO, -1)

    def kvfree(self, addr: int | None) -> None:
        """kvfree(): vfree() for vmalloc addresses, kfree() otherwise."""
        if addr is not None and self.m.is_vmalloc_addr(addr):
            self.m.vfree(addr)
            return
        self.kfree(addr)

    # ---- observation -------------------------------------------------------------------
    def slabinfo_show(self) -> str:
        """/proc/slabinfo (version 2.1): newest cache first, merged caches not listed."""
        out = [self.slabinfo_header()]
        for s in reversed(self.slab_caches):
            si = self.get_slabinfo(s)
            out.append(f"{s.name:<17} {si.active_objs:6d} {si.num_objs:6d} {s.size:6d} "
                       f"{si.objects_per_slab:4d} {1 << si.cache_order:4d} : tunables "
                       f"{si.limit:4d} {si.batchcount:4d} {si.shared:4d} : slabdata "
                       f"{si.active_slabs:6d} {si.num_slabs:6d} {si.shared_avail:6d}"
                       f"{self.slabinfo_extra(s)}\n")
        return "".join(out)
