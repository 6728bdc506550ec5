"""
SLUB, the default slab allocator (6.12 mm/slub.c): caches of equal-sized objects carved out
of slabs (compound pages from the page allocator), per-CPU slabs with lockless freelists,
per-CPU partial lists, per-node partial lists, and the slab_debug checks.

Data model (the kernel's, in Python containers):

* ``KmemCache`` is struct kmem_cache; ``cpu_slab[cpu]`` a ``KmemCacheCpu``, ``node[nid]`` a
  ``KmemCacheNode``. ``Slab`` is struct slab (the folio overlay), one per slab, found from
  any of its PFNs through ``Slub.slab_of``.
* A freelist is a Python list of object addresses whose *last* element is the list head
  (the next object handed out): push/pop at the end are the kernel's LIFO pointer chasing.
  # SIM: free pointers are kept in these lists, not written into object memory, so
  # kernel_read() of a free object shows poison (debug caches) or old contents, never the
  # (hardened, obfuscated) free pointer. "Freepointer corrupt" therefore cannot happen.
* ``c.partial`` is the per-CPU partial list (last element = head); a node's ``partial``
  is an ordered dict whose first key is the list head.

Debug caches (any of SLAB_CONSISTENCY_CHECKS/RED_ZONE/POISON/STORE_USER, from the cache's
flags or ``slab_debug=``) never use CPU slabs, as in 6.12: every allocation takes one object
under the node lock (alloc_single_from_partial/new_slab) and every free goes through
free_to_partial_list(), with the layout, poison and red zones of calculate_sizes() /
init_object() kept in the model's memory (mm/maccess.py) and checked as check_object() does.

Related: mm/slab_common.py (creation, kmalloc wrappers, slabinfo), mm/slab.py (classic SLAB),
include/slab.py (flags, kmalloc classes, poison values).
"""

from __future__ import annotations

from collections import OrderedDict
from typing import TYPE_CHECKING

from memsim.arch import MAX_PAGE_ORDER, PAGE_SHIFT, PAGE_SIZE
from memsim.include.gfp import (
    __GFP_ACCOUNT,
    __GFP_COMP,
    __GFP_DIRECT_RECLAIM,
    __GFP_NOFAIL,
    __GFP_NOMEMALLOC,
    __GFP_NORETRY,
    __GFP_NOWARN,
    __GFP_RECLAIM,
    __GFP_RECLAIMABLE,
    __GFP_THISNODE,
    __GFP_ZERO,
    GFP_CONSTRAINT_MASK,
    GFP_DMA,
    GFP_DMA32,
    GFP_NOWAIT,
    GFP_RECLAIM_MASK,
    GFP_SLAB_BUG_MASK,
    format_gfp,
)
from memsim.include.mm_types import PGTY_SLAB
from memsim.include.slab import (
    __OBJECT_POISON,
    ARCH_KMALLOC_MINALIGN,
    DEBUG_DEFAULT_FLAGS,
    KMALLOC_INFO_SIZES,
    KMALLOC_MAX_CACHE_SIZE,
    KMALLOC_SHIFT_HIGH,
    NR_KMALLOC_TYPES,
    POISON_END,
    POISON_FREE,
    POISON_INUSE,
    SLAB_ACCOUNT,
    SLAB_CACHE_DMA,
    SLAB_CACHE_DMA32,
    SLAB_CONSISTENCY_CHECKS,
    SLAB_DEBUG_FLAGS,
    SLAB_HWCACHE_ALIGN,
    SLAB_KMALLOC,
    SLAB_MERGE_SAME,
    SLAB_NEVER_MERGE,
    SLAB_NO_MERGE,
    SLAB_NO_OBJ_EXT,
    SLAB_NO_USER_FLAGS,
    SLAB_POISON,
    SLAB_RECLAIM_ACCOUNT,
    SLAB_RED_ZONE,
    SLAB_STORE_USER,
    SLAB_TRACE,
    SLAB_TYPESAFE_BY_RCU,
    SLUB_RED_ACTIVE,
    SLUB_RED_INACTIVE,
    ZERO_SIZE_PTR,
    KmallocCacheType,
    get_order,
    kmalloc_cache_name,
    kmalloc_caches_indices,
    kmalloc_index,
    kmalloc_type,
)
from memsim.include.vmstat_items import NodeStatItem
from memsim.kernel.sched import HZ
from memsim.mm import maccess
from memsim.mm.slab_common import (
    ALIGN,
    Ctor,
    KmemCacheBase,
    SlabAllocator,
    SlabInfo,
    SlabUsageError,
    calculate_alignment,
    python_caller,
)
from memsim.mm.vmstat import mod_node_page_state

if TYPE_CHECKING:
    from memsim.machine import Machine

MAX_OBJS_PER_PAGE = 32767
MIN_PARTIAL = 5
MAX_PARTIAL = 10
#: sizeof(struct track) with CONFIG_STACKDEPOT: addr, handle, cpu, pid, when
TRACK_SIZE = 32
_WORD = 8
_NR_SLAB_RECLAIMABLE_B = int(NodeStatItem.NR_SLAB_RECLAIMABLE_B)
_NR_SLAB_UNRECLAIMABLE_B = int(NodeStatItem.NR_SLAB_UNRECLAIMABLE_B)
#: sizeof(struct kmem_cache_node) with SLUB_DEBUG (list_lock, nr_partial, partial, nr_slabs,
#: total_objects, full); 6.18 adds the sheaf barn pointer, which makes it 72 (128 aligned)
KMEM_CACHE_NODE_SIZE = 64
#: offsetof(struct kmem_cache, node) for the 6.12 x86_64 config (# SIM: counted from the
#: struct's fields; the real value varies with the config by a few words)
KMEM_CACHE_HEAD_SIZE = 232
# line numbers of the 6.12 BUG()/WARN() sites reported
_LINE_SET_FREEPOINTER = 550
_LINE_CACHE_FROM_OBJ = 4770
_LINE_VIRT_TO_CACHE = 4756
_LINE_FREE_LARGE_KMALLOC = 4799
_LINE_OBJECT_ERR = 1127
_LINE_SLAB_ERR = 1152
# kernel names with a leading "__" are mangled inside class bodies: aliases
_GFP_COMP = __GFP_COMP
#: kmalloc requests that leave the normal caches' fast path: other cache families, zeroing
_KMALLOC_SLOW_BITS = __GFP_RECLAIMABLE | GFP_DMA | __GFP_ACCOUNT | __GFP_ZERO
_GFP_ZERO = __GFP_ZERO
_GFP_ACCOUNT = __GFP_ACCOUNT
_GFP_DIRECT_RECLAIM = __GFP_DIRECT_RECLAIM
_GFP_NOFAIL = __GFP_NOFAIL
_GFP_NOMEMALLOC = __GFP_NOMEMALLOC
_GFP_NORETRY = __GFP_NORETRY
_GFP_NOWARN = __GFP_NOWARN
_GFP_RECLAIM = __GFP_RECLAIM
_GFP_RECLAIMABLE = __GFP_RECLAIMABLE
_GFP_THISNODE = __GFP_THISNODE
_OBJECT_POISON = __OBJECT_POISON


class Slab:
    """struct slab: one slab of a cache (the head page's folio overlay)."""

    __slots__ = ("cache", "pfn", "addr", "order", "objects", "inuse", "freelist", "frozen",
                 "node", "on_node_partial", "on_full", "slabs", "consistency_failed")

    def __init__(self, cache: KmemCache, pfn: int, addr: int, order: int, objects: int,
                 node: int) -> None:
        self.cache = cache
        self.pfn = pfn
        #: slab_address(): first byte of the slab (object 0 starts red_left_pad after it)
        self.addr = addr
        self.order = order
        self.objects = objects
        self.inuse = 0
        self.freelist: list[int] = []
        self.frozen = False
        self.node = node
        self.on_node_partial = False
        self.on_full = False
        #: ``slab->slabs``: length of the CPU partial list from here down (when on one)
        self.slabs = 0
        self.consistency_failed = False

    def __repr__(self) -> str:
        return (f"<slab {self.cache.name} pfn={self.pfn:#x} inuse={self.inuse}/"
                f"{self.objects}{' frozen' if self.frozen else ''}>")


class KmemCacheCpu:
    """struct kmem_cache_cpu."""

    # SIM: no tid: the model has no preemption between the load and the cmpxchg that
    # the transaction id protects against.
    __slots__ = ("freelist", "slab", "partial")

    def __init__(self) -> None:
        self.freelist: list[int] = []
        self.slab: Slab | None = None
        self.partial: list[Slab] = []


class KmemCacheNode:
    """struct kmem_cache_node (with CONFIG_SLUB_DEBUG counters)."""

    __slots__ = ("partial", "nr_slabs", "total_objects", "full")

    def __init__(self) -> None:
        self.partial: OrderedDict[Slab, None] = OrderedDict()
        self.nr_slabs = 0
        self.total_objects = 0
        self.full: dict[Slab, None] = {}

    @property
    def nr_partial(self) -> int:
        return len(self.partial)


class KmemCache(KmemCacheBase):
    """struct kmem_cache (SLUB)."""

    __slots__ = ("name", "object_size", "size", "align", "flags", "ctor", "refcount",
                 "aliases", "live", "offset", "inuse", "red_left_pad", "oo_order",
                 "oo_objects", "min_order", "min_objects", "min_partial", "cpu_partial",
                 "cpu_partial_slabs", "allocflags", "cpu_slab", "node", "debug",
                 "kmalloc_type", "orig_size", "tracks", "self_obj", "node_objs", "useroffset",
                 "usersize")

    def __init__(self, name: str, size: int, align: int, flags: int, ctor: Ctor | None,
                 nr_cpus: int, nr_nodes: int) -> None:
        self.name = name
        self.object_size = size
        self.size = size
        self.align = align
        self.flags = flags
        self.ctor = ctor
        self.refcount = 1
        self.aliases: list[str] = []
        self.live: set[int] = set()
        self.offset = 0
        self.inuse = 0
        self.red_left_pad = 0
        self.oo_order = 0
        self.oo_objects = 0
        self.min_order = 0
        self.min_objects = 0
        self.min_partial = MIN_PARTIAL
        self.cpu_partial = 0
        self.cpu_partial_slabs = 0
        self.allocflags = 0
        self.cpu_slab = [KmemCacheCpu() for _ in range(nr_cpus)]
        self.node = [KmemCacheNode() for _ in range(nr_nodes)]
        self.debug = False
        self.kmalloc_type = -1
        #: kmalloc objects of debug caches: requested size (the orig_size word)
        self.orig_size: dict[int, int] = {}
        #: SLAB_STORE_USER: obj -> [alloc track, free track], each (caller, when_ns, cpu, pid)
        self.tracks: dict[int, list[tuple[str, int, int, int] | None]] = {}
        #: the struct kmem_cache object of this cache in the kmem_cache cache (and the
        #: kmem_cache_node objects), once slab is up
        self.self_obj: int | None = None
        self.node_objs: list[int] = []
        self.useroffset = 0
        self.usersize = 0


def oo_objects(order: int, size: int) -> int:
    """order_objects()."""
    return (PAGE_SIZE << order) // size


class Slub(SlabAllocator):
    """The SLUB allocator of one machine (``m.slab`` when ``slab=slub``, the default)."""

    kind = "slub"

    def __init__(self, m: Machine) -> None:
        super().__init__(m)
        self.slub_min_order = 0
        self.slub_max_order = 3        # PAGE_ALLOC_COSTLY_ORDER
        self.slub_min_objects = 0
        #: slab_debug= boot option: (flags, cache-name patterns or None for all)
        self.debug_blocks: list[tuple[int, list[str] | None]] = []
        self.slab_of: dict[int, Slab] = {}
        #: large kmalloc blocks: address -> order (pages straight from the page allocator)
        self.large_kmalloc: dict[int, int] = {}
        self.kmalloc_caches: list[list[KmemCache | None]] = \
            [[None] * (KMALLOC_SHIFT_HIGH + 1) for _ in range(NR_KMALLOC_TYPES)]
        self._kmalloc_by_size: list[list[KmemCache | None]] = []
        self._va_base = m.arch.page_offset - m.arch.dram_base
        self.kmem_cache: KmemCache | None = None
        self.kmem_cache_node: KmemCache | None = None
        self._tp_kca = m.tp.kmem_cache_alloc
        self._tp_kcf = m.tp.kmem_cache_free
        self._tp_kmalloc = m.tp.kmalloc
        self._tp_kfree = m.tp.kfree
        # calculate_order(): num_present_cpus(), or nr_cpu_ids when that is 1 — the same
        # number here, every modelled CPU being present and possible
        self._min_objects_auto = 4 * (m.nr_cpus.bit_length() + 1)

    # ------------------------------------------------------------------ boot
    def kmem_cache_init(self) -> None:
        """kmem_cache_init(): boot caches, bootstrap, the kmalloc caches."""
        m = self.m
        nn = m.nr_nodes
        kcn = self._create_cache("kmem_cache_node", KMEM_CACHE_NODE_SIZE,
                                 calculate_alignment(m, SLAB_HWCACHE_ALIGN, 0,
                                                     KMEM_CACHE_NODE_SIZE),
                                 SLAB_HWCACHE_ALIGN | SLAB_NO_OBJ_EXT, None)
        kc_size = KMEM_CACHE_HEAD_SIZE + nn * _WORD
        kc = self._create_cache("kmem_cache", kc_size,
                                calculate_alignment(m, SLAB_HWCACHE_ALIGN, 0, kc_size),
                                SLAB_HWCACHE_ALIGN | SLAB_NO_OBJ_EXT, None)
        assert kcn is not None and kc is not None
        kcn.refcount = kc.refcount = -1            # boot caches are never merged
        self.kmem_cache, self.kmem_cache_node = kc, kcn
        # bootstrap(): the boot caches' own structures become objects of kmem_cache
        self.slab_caches.extend([kcn, kc])
        for s in (kc, kcn):
            self._alloc_cache_struct(s)
        self.create_kmalloc_caches()
        self.up = True
        m.printk(f"SLUB: HWalign={m.arch.l1_cache_bytes}, Order={self.slub_min_order}-"
                 f"{self.slub_max_order}, MinObjects={self.slub_min_objects}, "
                 f"CPUs={m.nr_cpus}, Nodes={m.nr_nodes}")

    def create_kmalloc_caches(self) -> None:
        """create_kmalloc_caches(): per type 96, 192, then 8 … 8k."""
        for t in KmallocCacheType:
            for idx in kmalloc_caches_indices():
                size = KMALLOC_INFO_SIZES[idx]
                flags = SLAB_KMALLOC | SLAB_NO_MERGE if t == KmallocCacheType.KMALLOC_NORMAL \
                    else SLAB_KMALLOC
                if t == KmallocCacheType.KMALLOC_RECLAIM:
                    flags |= SLAB_RECLAIM_ACCOUNT
                elif t == KmallocCacheType.KMALLOC_DMA:
                    flags |= SLAB_CACHE_DMA
                elif t == KmallocCacheType.KMALLOC_CGROUP:
                    flags |= SLAB_ACCOUNT
                # kmalloc caches: align = largest power of two dividing the size
                align = max(size & -size, ARCH_KMALLOC_MINALIGN)
                s = self._create_cache(kmalloc_cache_name(t, idx), size, align, flags, None)
                assert s is not None
                s.kmalloc_type = int(t)
                # create_kmalloc_cache(): usersize = size, so with HARDENED_USERCOPY no
                # cache ever merges into a kmalloc cache (slab_unmergeable)
                s.usersize = size
                self.slab_caches.append(s)
                self._alloc_cache_struct(s)
                self.kmalloc_caches[t][idx] = s
        # size -> cache tables for the kmalloc fast path
        self._kmalloc_by_size = []
        for ti in range(NR_KMALLOC_TYPES):
            row: list[KmemCache | None] = [None]
            row.extend(self.kmalloc_caches[ti][kmalloc_index(sz)]
                       for sz in range(1, KMALLOC_MAX_CACHE_SIZE + 1))
            self._kmalloc_by_size.append(row)

    def _alloc_cache_struct(self, s: KmemCache) -> None:
        """The kmem_cache object (and one kmem_cache_node per node) describing *s*."""
        kc, kcn = self.kmem_cache, self.kmem_cache_node
        assert kc is not None and kcn is not None
        s.self_obj = self.slab_alloc_node(kc, GFP_NOWAIT | _GFP_ZERO, -1, "kmem_cache_init",
                                          kc.object_size)
        s.node_objs = []
        for nid in range(self.m.nr_nodes):
            o = self.slab_alloc_node(kcn, GFP_NOWAIT | _GFP_ZERO, nid, "init_kmem_cache_nodes",
                                     kcn.object_size)
            if o is not None:
                s.node_objs.append(o)

    # ------------------------------------------------------------------ slab_debug=
    def parse_slub_debug(self, text: str) -> None:
        """slab_debug=<flags>[,<cache>…][;<flags>,<caches>…] (reference §7.6)."""
        from memsim.errors import ConfigError
        self.debug_blocks = []
        if not text.strip():
            self.debug_blocks.append((DEBUG_DEFAULT_FLAGS, None))     # "slab_debug" alone
            return
        for block in text.split(";"):
            if not block:
                continue
            letters, _, caches = block.partition(",")
            flags = DEBUG_DEFAULT_FLAGS if not letters else 0
            for ch in letters.lower():
                if ch == "-":
                    flags = 0
                elif ch == "f":
                    flags |= SLAB_CONSISTENCY_CHECKS
                elif ch == "z":
                    flags |= SLAB_RED_ZONE
                elif ch == "p":
                    flags |= SLAB_POISON
                elif ch == "u":
                    flags |= SLAB_STORE_USER
                elif ch == "t":
                    flags |= SLAB_TRACE
                elif ch in "ao":
                    continue        # failslab / "switch off for higher orders": no effect here
                else:
                    raise ConfigError(f"slab_debug: option '{ch}' unknown (known: F Z P U T A "
                                      f"O -) in {text!r}")
            names = [c for c in caches.split(",") if c] if caches else None
            self.debug_blocks.append((flags, names))

    def kmem_cache_flags(self, flags: int, name: str) -> int:
        """kmem_cache_flags(): add the slab_debug= flags that apply to cache *name*."""
        if not self.debug_blocks or flags & SLAB_NO_USER_FLAGS:
            return flags
        for dflags, names in self.debug_blocks:
            if names is None:
                return flags | dflags
            for pat in names:
                if pat == name or (pat.endswith("*") and name.startswith(pat[:-1])):
                    return flags | dflags
        return flags

    # ------------------------------------------------------------------ geometry
    def calculate_order(self, size: int) -> int:
        """calculate_order() (6.12), reference §7.2."""
        min_objects = self.slub_min_objects or self._min_objects_auto
        max_objects = max(oo_objects(self.slub_max_order, size), 1)
        min_objects = min(min_objects, max_objects)
        min_order = max(self.slub_min_order, get_order(min_objects * size))
        if oo_objects(min_order, size) > MAX_OBJS_PER_PAGE:
            return get_order(size * MAX_OBJS_PER_PAGE) - 1
        for fraction in (16, 8, 4, 2):
            order = min_order
            while order <= self.slub_max_order:
                slab_size = PAGE_SIZE << order
                if slab_size % size <= slab_size // fraction:
                    break
                order += 1
            if order <= self.slub_max_order:
                return order
        order = get_order(size)
        return order if order <= MAX_PAGE_ORDER else -1

    def calculate_sizes(self, s: KmemCache) -> bool:
        """calculate_sizes() (6.12): object layout, order, allocflags."""
        flags = s.flags
        size = ALIGN(s.object_size, _WORD)
        if flags & SLAB_POISON and not flags & SLAB_TYPESAFE_BY_RCU and s.ctor is None:
            s.flags |= _OBJECT_POISON
        else:
            s.flags &= ~_OBJECT_POISON
        if flags & SLAB_RED_ZONE and size == s.object_size:
            size += _WORD
        s.inuse = size
        orig_size_tracked = bool(flags & SLAB_STORE_USER and flags & SLAB_KMALLOC)
        if flags & SLAB_TYPESAFE_BY_RCU or flags & SLAB_POISON or s.ctor is not None or \
                (flags & SLAB_RED_ZONE and (s.object_size < _WORD or orig_size_tracked)):
            s.offset = size
            size += _WORD
        else:
            s.offset = (s.object_size // 2) & ~(_WORD - 1)
        if flags & SLAB_STORE_USER:
            size += 2 * TRACK_SIZE
            if flags & SLAB_KMALLOC:
                size += _WORD
        if flags & SLAB_RED_ZONE:
            size += _WORD
            s.red_left_pad = ALIGN(_WORD, s.align)
            size += s.red_left_pad
        size = ALIGN(size, s.align)
        s.size = size
        order = self.calculate_order(size)
        if order < 0:
            return False
        s.allocflags = _GFP_COMP
        if s.flags & SLAB_CACHE_DMA:
            s.allocflags |= GFP_DMA
        if s.flags & SLAB_CACHE_DMA32:
            s.allocflags |= GFP_DMA32
        if s.flags & SLAB_RECLAIM_ACCOUNT:
            s.allocflags |= _GFP_RECLAIMABLE
        s.oo_order, s.oo_objects = order, oo_objects(order, size)
        s.min_order = get_order(size)
        s.min_objects = oo_objects(s.min_order, size)
        return s.oo_objects > 0

    def _create_cache(self, name: str, size: int, align: int, flags: int,
                      ctor: Ctor | None) -> KmemCache | None:
        """do_kmem_cache_create()."""
        m = self.m
        s = KmemCache(name, size, align, self.kmem_cache_flags(flags, name), ctor,
                      m.nr_cpus, m.nr_nodes)
        if not self.calculate_sizes(s):
            return None
        s.debug = bool(s.flags & SLAB_DEBUG_FLAGS)          # kmem_cache_debug()
        s.min_partial = max(MIN_PARTIAL, min(MAX_PARTIAL, (s.size.bit_length() - 1) // 2))
        if s.debug:
            s.cpu_partial = 0
        elif s.size >= PAGE_SIZE:
            s.cpu_partial = 6
        elif s.size >= 1024:
            s.cpu_partial = 24
        elif s.size >= 256:
            s.cpu_partial = 52
        else:
            s.cpu_partial = 120
        s.cpu_partial_slabs = -(-(s.cpu_partial * 2) // s.oo_objects)
        if self.up:
            self._alloc_cache_struct(s)
        return s

    def _find_alias(self, name: str, size: int, align: int, flags: int,
                    ctor: Ctor | None) -> KmemCache | None:
        """__kmem_cache_alias() / find_mergeable() (6.12)."""
        if ctor is not None:
            return None
        flags = self.kmem_cache_flags(flags, name)
        if flags & SLAB_NEVER_MERGE:
            return None
        size = ALIGN(size, _WORD)
        align = calculate_alignment(self.m, flags, align, size)
        size = ALIGN(size, align)
        for s in self.slab_caches:              # list_for_each_entry_reverse: oldest first
            if s.flags & SLAB_NEVER_MERGE or s.ctor is not None or s.refcount < 0 or \
                    s.usersize:
                continue
            if size > s.size:
                continue
            if (flags & SLAB_MERGE_SAME) != (s.flags & SLAB_MERGE_SAME):
                continue
            if s.size & ~(align - 1) != s.size:
                continue
            if s.size - size >= _WORD:
                continue
            s.refcount += 1
            s.aliases.append(name)
            assert isinstance(s, KmemCache)
            s.object_size = max(s.object_size, size)
            s.inuse = max(s.inuse, ALIGN(size, _WORD))
            return s
        return None

    # ------------------------------------------------------------------ slab pages
    def new_slab(self, s: KmemCache, flags: int, node: int) -> Slab | None:
        """new_slab() / allocate_slab(): pages at oo, else at min; objects chained."""
        m = self.m
        if flags & GFP_SLAB_BUG_MASK:
            flags = self.kmalloc_fix_flags(flags)
        flags = (flags & (GFP_RECLAIM_MASK | GFP_CONSTRAINT_MASK)) | s.allocflags
        alloc_gfp = (flags | _GFP_NOWARN | _GFP_NORETRY) & ~_GFP_NOFAIL
        if alloc_gfp & _GFP_DIRECT_RECLAIM and s.oo_order > s.min_order:
            alloc_gfp = (alloc_gfp | _GFP_NOMEMALLOC) & ~_GFP_RECLAIM
        order, objects = s.oo_order, s.oo_objects
        pfn = self._alloc_slab_page(alloc_gfp, node, order)
        if pfn is None:
            order, objects = s.min_order, s.min_objects
            pfn = self._alloc_slab_page(flags, node, order)
            if pfn is None:
                return None
        addr = m.page_address(pfn)
        assert addr is not None, "slab pages are never highmem"
        zone = m.page_zone(pfn)
        slab = Slab(s, pfn, addr, order, objects, zone.node)
        m.mem_map.page_type[pfn] = PGTY_SLAB
        for p in range(pfn, pfn + (1 << order)):
            self.slab_of[p] = slab
        mod_node_page_state(m.nodes[zone.node], _NR_SLAB_RECLAIMABLE_B
                            if s.flags & SLAB_RECLAIM_ACCOUNT else _NR_SLAB_UNRECLAIMABLE_B,
                            PAGE_SIZE << order)
        size = s.size
        first = addr + s.red_left_pad
        if s.debug:
            if s.flags & SLAB_POISON:
                maccess.kernel_memset(m, addr, POISON_INUSE, PAGE_SIZE << order)
            for i in range(objects):
                self.init_object(s, first + i * size, SLUB_RED_INACTIVE)
        if s.ctor is not None:
            ctor = s.ctor
            for i in range(objects):
                ctor(m, first + i * size)
        # objects chained in address order: object 0 is the list head (the last element).
        # SIM: CONFIG_SLAB_FREELIST_RANDOM (on in distribution kernels) shuffles this
        # order per slab; the model keeps the unshuffled order of a kernel without it.
        slab.freelist = list(range(first + (objects - 1) * size, first - 1, -size))
        return slab

    def _alloc_slab_page(self, gfp: int, node: int, order: int) -> int | None:
        m = self.m
        if node == -1:
            return m.alloc_pages(gfp, order)
        return m.alloc_pages_node(node, gfp, order)

    def kmalloc_fix_flags(self, flags: int) -> int:
        """kmalloc_fix_flags(): strip GFP_SLAB_BUG_MASK bits, complain once per call."""
        m = self.m
        invalid = flags & GFP_SLAB_BUG_MASK
        fixed = flags & ~GFP_SLAB_BUG_MASK
        m.printk(f"Unexpected gfp: {invalid:#x} ({format_gfp(invalid)}). Fixing up to gfp: "
                 f"{fixed:#x} ({format_gfp(fixed)}). Fix your code!", level=4)
        m.debug.dump_stack()
        return fixed

    def discard_slab(self, s: KmemCache, slab: Slab) -> None:
        """discard_slab(): dec_slabs_node + free_slab (pages back to the buddy allocator)."""
        n = s.node[slab.node]
        n.nr_slabs -= 1
        n.total_objects -= slab.objects
        self.free_slab(s, slab)

    def free_slab(self, s: KmemCache, slab: Slab) -> None:
        """__free_slab(): slab_pad_check/check_object for debug caches, then the pages."""
        m = self.m
        if s.debug and s.flags & SLAB_CONSISTENCY_CHECKS:
            self.slab_pad_check(s, slab)
            first = slab.addr + s.red_left_pad
            for i in range(slab.objects):
                self.check_object(s, slab, first + i * s.size, SLUB_RED_INACTIVE)
        pfn = slab.pfn
        for p in range(pfn, pfn + (1 << slab.order)):
            del self.slab_of[p]
        m.mem_map.page_type[pfn] = 0
        mod_node_page_state(m.nodes[slab.node], _NR_SLAB_RECLAIMABLE_B
                            if s.flags & SLAB_RECLAIM_ACCOUNT else _NR_SLAB_UNRECLAIMABLE_B,
                            -(PAGE_SIZE << slab.order))
        slab.freelist = []
        # SIM: SLAB_TYPESAFE_BY_RCU slabs go back after an RCU grace period
        # (call_rcu(rcu_free_slab)); the model has no RCU, so they go back at once.
        m.free_pages_pfn(pfn, slab.order)

    # ------------------------------------------------------------------ lists
    @staticmethod
    def add_partial(n: KmemCacheNode, slab: Slab, tail: bool) -> None:
        n.partial[slab] = None
        if not tail:
            n.partial.move_to_end(slab, last=False)
        slab.on_node_partial = True

    @staticmethod
    def remove_partial(n: KmemCacheNode, slab: Slab) -> None:
        del n.partial[slab]
        slab.on_node_partial = False

    def get_partial_node(self, s: KmemCache, nid: int, gfp: int,
                         orig_size: int) -> tuple[Slab | None, int | None]:
        """get_partial_node(): (slab for the CPU, or the debug object taken from it)."""
        n = s.node[nid]
        if not n.partial:
            return None, None
        partial: Slab | None = None
        nr = 0
        for slab in list(n.partial):
            if s.debug:
                obj = self.alloc_single_from_partial(s, n, slab, orig_size)
                if obj is not None:
                    return slab, obj
                continue
            self.remove_partial(n, slab)
            if partial is None:
                partial = slab
                if s.cpu_partial == 0:
                    break
            else:
                self.put_cpu_partial(s, slab, False)
                nr += 1
                if nr > s.cpu_partial_slabs // 2:
                    break
        return partial, None

    def get_partial(self, s: KmemCache, node: int, gfp: int,
                    orig_size: int) -> tuple[Slab | None, int | None]:
        """get_partial(): the requested (or local) node, then the others by distance."""
        m = self.m
        search = m.cpu_to_node[m.current_cpu] if node == -1 else node
        got = self.get_partial_node(s, search, gfp, orig_size)
        if got[0] is not None or (node != -1 and gfp & _GFP_THISNODE):
            return got
        # get_any_partial(): nodes in zonelist order with more than min_partial slabs.
        # SIM: remote_node_defrag_ratio's random skip (2.3% of calls) is not modelled.
        if m.nr_nodes == 1:
            return None, None
        seen = {search}
        for zone in m.nodes[search].node_zonelists[0]:
            nid = zone.node
            if nid in seen:
                continue
            seen.add(nid)
            if s.node[nid].nr_partial > s.min_partial:
                got = self.get_partial_node(s, nid, gfp, orig_size)
                if got[0] is not None:
                    return got
        return None, None

    def put_cpu_partial(self, s: KmemCache, slab: Slab, drain: bool) -> None:
        """put_cpu_partial(): push *slab* on this CPU's partial list, draining a full one."""
        c = s.cpu_slab[self.m.current_cpu]
        old = c.partial
        slabs = 0
        if old:
            if drain and old[-1].slabs >= s.cpu_partial_slabs:
                to_put = old
                c.partial = old = []
                self.__put_partials(s, to_put)
            else:
                slabs = old[-1].slabs
        slab.slabs = slabs + 1
        c.partial.append(slab)

    def __put_partials(self, s: KmemCache, slabs: list[Slab]) -> None:
        """__put_partials(): unfreeze a CPU partial list onto the node lists (head first)."""
        discard = []
        for slab in reversed(slabs):
            n = s.node[slab.node]
            if not slab.inuse and n.nr_partial >= s.min_partial:
                discard.append(slab)
            else:
                self.add_partial(n, slab, True)
        for slab in discard:
            self.discard_slab(s, slab)

    def put_partials(self, s: KmemCache, cpu: int) -> None:
        c = s.cpu_slab[cpu]
        if c.partial:
            lst, c.partial = c.partial, []
            self.__put_partials(s, lst)

    def deactivate_slab(self, s: KmemCache, slab: Slab, freelist: list[int]) -> None:
        """deactivate_slab(): merge the CPU freelist back, unfreeze, file the slab."""
        n = s.node[slab.node]
        tail = False
        if slab.freelist:
            tail = True                                 # DEACTIVATE_REMOTE_FREES
        if freelist:
            slab.inuse -= len(freelist)
            slab.freelist = slab.freelist + freelist    # CPU freelist spliced at the head
        slab.frozen = False
        if not slab.inuse and n.nr_partial >= s.min_partial:
            self.discard_slab(s, slab)
        elif slab.freelist:
            self.add_partial(n, slab, tail)

    def flush_slab(self, s: KmemCache, cpu: int) -> None:
        """flush_slab() + put_partials(): flush one CPU (flush_cpu_slab)."""
        c = s.cpu_slab[cpu]
        slab = c.slab
        if slab is not None:
            fl, c.freelist = c.freelist, []
            c.slab = None
            self.deactivate_slab(s, slab, fl)
        self.put_partials(s, cpu)

    def flush_all(self, s: KmemCache) -> None:
        for cpu in range(self.m.nr_cpus):
            self.flush_slab(s, cpu)

    # ------------------------------------------------------------------ allocation
    def kmem_cache_alloc(self, s: KmemCache, gfpflags: int) -> int | None:
        """kmem_cache_alloc(): the lockless per-CPU fast path, else ___slab_alloc()."""
        c = s.cpu_slab[self.m._cpu]
        fl = c.freelist
        if fl and not self._tp_kca.enabled and not gfpflags & _GFP_ZERO and \
                not self.m._atomic_cpus:       # atomic: slab_pre_alloc_hook() checks
            obj = fl.pop()
            s.live.add(obj)
            return obj
        got = self.slab_alloc_node(s, gfpflags, -1, None, s.object_size)
        if self._tp_kca.enabled:
            self._trace_alloc(self._tp_kca, s, got, s.object_size, gfpflags, -1, True)
        return got

    def kmem_cache_alloc_node(self, s: KmemCache, gfpflags: int, node: int) -> int | None:
        """kmem_cache_alloc_node(): prefer node *node* (-1: any)."""
        obj = self.slab_alloc_node(s, gfpflags, node, None, s.object_size)
        if self._tp_kca.enabled:
            self._trace_alloc(self._tp_kca, s, obj, s.object_size, gfpflags, node, True)
        return obj

    def _trace_alloc(self, tp: object, s: KmemCache, obj: int | None, req: int, gfp: int,
                     node: int, cache_event: bool) -> None:
        m = self.m
        fields: dict[str, object] = {"call_site": python_caller(), "ptr": obj}
        if cache_event:
            fields["name"] = s.name
        fields.update(bytes_req=req, bytes_alloc=s.size, gfp_flags=gfp, node=node,
                      accounted=bool(gfp & _GFP_ACCOUNT or s.flags & SLAB_ACCOUNT)
                      if cache_event else bool(gfp & _GFP_ACCOUNT))
        tp.emit(m.trace_ctx(), **fields)  # type: ignore[attr-defined]

    def slab_alloc_node(self, s: KmemCache, gfpflags: int, node: int, caller: str | None,
                        orig_size: int) -> int | None:
        """slab_alloc_node(): pre-alloc hook, fast or slow path, post-alloc hook."""
        m = self.m
        if m._atomic_cpus:
            m.might_alloc(gfpflags)
        c = s.cpu_slab[m._cpu]
        obj: int | None
        if c.freelist and c.slab is not None and (node == -1 or c.slab.node == node):
            obj = c.freelist.pop()
        else:
            obj = self.___slab_alloc(s, gfpflags, node, c, caller, orig_size)
        if obj is None:
            return None
        s.live.add(obj)
        if gfpflags & _GFP_ZERO and m.page_data:
            maccess.clear_direct(m, obj, s.object_size)
        return obj

    def ___slab_alloc(self, s: KmemCache, gfpflags: int, node: int, c: KmemCacheCpu,
                      caller: str | None, orig_size: int) -> int | None:
        """___slab_alloc(): CPU slab refill, CPU partial, node partial, new slab."""
        slab = c.slab
        if slab is not None:
            if node != -1 and slab.node != node:
                fl, c.freelist = c.freelist, []
                c.slab = None
                self.deactivate_slab(s, slab, fl)            # ALLOC_NODE_MISMATCH
            else:
                if c.freelist:
                    return c.freelist.pop()
                # get_freelist(): take the remote frees, the slab stays frozen
                if slab.freelist:
                    c.freelist, slab.freelist = slab.freelist, []
                    slab.inuse = slab.objects
                    return c.freelist.pop()                  # ALLOC_REFILL
                slab.frozen = False
                c.slab = None                                # DEACTIVATE_BYPASS
        # new_slab: the per-CPU partial list
        while c.partial:
            slab = c.partial.pop()
            if node == -1 or slab.node == node:
                c.slab = slab
                c.freelist, slab.freelist = slab.freelist, []
                slab.inuse = slab.objects
                slab.frozen = True                           # CPU_PARTIAL_ALLOC
                return c.freelist.pop()
            self.__put_partials(s, [slab])
        # new_objects: node partial lists
        slab, obj = self.get_partial(s, node, gfpflags, orig_size)
        if slab is not None:
            if s.debug:
                assert obj is not None
                self._set_track(s, obj, 0, caller)
                return obj
            c.slab = slab
            c.freelist, slab.freelist = slab.freelist, []
            slab.inuse = slab.objects
            slab.frozen = True                               # ALLOC_FROM_PARTIAL
            return c.freelist.pop()
        slab = self.new_slab(s, gfpflags, node)
        if slab is None:
            self.slab_out_of_memory(s, gfpflags, node)
            return None
        n = s.node[slab.node]
        if s.debug:
            obj = self.alloc_single_from_new_slab(s, slab, orig_size)
            if obj is not None:
                self._set_track(s, obj, 0, caller)
            return obj
        n.nr_slabs += 1
        n.total_objects += slab.objects
        c = s.cpu_slab[self.m._cpu]
        if c.slab is not None:                               # retry_load_slab
            fl, c.freelist = c.freelist, []
            old, c.slab = c.slab, None
            self.deactivate_slab(s, old, fl)
        c.slab = slab
        c.freelist, slab.freelist = slab.freelist, []
        slab.inuse = slab.objects
        slab.frozen = True                                   # ALLOC_SLAB
        return c.freelist.pop()

    def slab_out_of_memory(self, s: KmemCache, gfp: int, node: int) -> None:
        """slab_out_of_memory(): the ratelimited "SLUB: Unable to allocate memory" report."""
        m = self.m
        # DEFINE_RATELIMIT_STATE(slub_oom_rs, DEFAULT_RATELIMIT_INTERVAL (5 s),
        # DEFAULT_RATELIMIT_BURST (10))
        if gfp & _GFP_NOWARN or not m.ratelimit("slub-oom", 5_000_000_000, 10):
            return
        nid = m.cpu_to_node[m.current_cpu]
        m.printk(f"SLUB: Unable to allocate memory on CPU {m.current_cpu} (of node {nid}) "
                 f"on node {node}, gfp={gfp:#x}({format_gfp(gfp)})", level=4)
        m.printk(f"  cache: {s.name}, object size: {s.object_size}, buffer size: {s.size}, "
                 f"default order: {s.oo_order}, min order: {s.min_order}", level=4)
        for i, n in enumerate(s.node):
            free = sum(sl.objects - sl.inuse for sl in n.partial)
            m.printk(f"  node {i}: slabs: {n.nr_slabs}, objs: {n.total_objects}, "
                     f"free: {free}", level=4)

    # ------------------------------------------------------------------ free
    def kmem_cache_free(self, s: KmemCache, objp: int) -> None:
        """kmem_cache_free(): cache_from_obj() check, then slab_free()."""
        c = s.cpu_slab[self.m._cpu]
        slab = c.slab
        if slab is not None and not self._tp_kcf.enabled:
            a = slab.addr
            if a <= objp < a + (PAGE_SIZE << slab.order):
                try:
                    s.live.remove(objp)
                except KeyError:
                    pass
                else:
                    c.freelist.append(objp)                  # do_slab_free() fast path
                    return
        self._kmem_cache_free_slow(s, objp, None)

    def _kmem_cache_free_slow(self, s: KmemCache, objp: int, caller: str | None) -> None:
        m = self.m
        if not isinstance(objp, int):
            raise SlabUsageError(f"kmem_cache_free({s.name}, {objp!r}): not an address")
        slab = self.virt_to_slab(objp)
        if slab is None:
            # virt_to_cache(): WARN_ONCE(!folio_test_slab(folio)) and nothing is freed
            if "virt_to_cache" not in m.debug.warned_once:
                m.debug.warned_once.add("virt_to_cache")
                m.debug.warn_text("virt_to_cache: Object is not a Slab page!",
                                  "virt_to_cache", "mm/slub.c", _LINE_VIRT_TO_CACHE)
            return
        cachep = slab.cache
        if cachep is not s:
            # cache_from_obj() with CONFIG_SLAB_FREELIST_HARDENED: WARN, then the object's
            # real cache is used
            m.debug.warn_text(f"kmem_cache_free: Wrong slab cache. {s.name} but object is "
                              f"from {cachep.name}", "cache_from_obj", "mm/slub.c",
                              _LINE_CACHE_FROM_OBJ)
            self.print_tracking(cachep, objp)
            s = cachep
        if self._tp_kcf.enabled:
            self._tp_kcf.emit(m.trace_ctx(), call_site=caller or python_caller(), ptr=objp,
                              name=s.name)
        self.slab_free(s, slab, objp, caller)

    def slab_free(self, s: KmemCache, slab: Slab, objp: int, caller: str | None) -> None:
        """slab_free() / do_slab_free(): checks first, then the CPU freelist or __slab_free."""
        m = self.m
        if s.debug:
            self.free_to_partial_list(s, slab, objp, caller)
            return
        try:
            s.live.remove(objp)
        except KeyError:
            self._bad_free(s, slab, objp)
            return
        c = s.cpu_slab[m._cpu]
        if slab is c.slab:
            c.freelist.append(objp)
        else:
            self.__slab_free(s, slab, objp)

    def _bad_free(self, s: KmemCache, slab: Slab, objp: int) -> None:
        """A free the bookkeeping rejects: what the kernel reports, nothing corrupted."""
        m = self.m
        first = slab.addr + s.red_left_pad
        off = objp - first
        if off < 0 or off % s.size or off // s.size >= slab.objects:
            # SIM: a non-debug kernel would corrupt the freelist silently; the model
            # reports what free_consistency_checks() (slab_debug=F) reports and frees
            # nothing.
            self.slab_err(s, slab, f"Invalid object pointer 0x{self.ptr(objp)}")
            return
        c = s.cpu_slab[m._cpu]
        head = c.freelist[-1] if slab is c.slab and c.freelist else \
            (slab.freelist[-1] if slab.freelist else None)
        if head == objp:
            # set_freepointer(): BUG_ON(object == fp), the naive double-free detection of
            # CONFIG_SLAB_FREELIST_HARDENED
            m.debug.vm_bug_on("mm/slub.c", _LINE_SET_FREEPOINTER)
            return
        # SIM: undetected by a non-debug kernel; reported as slab_debug=F would
        self.object_err(s, slab, objp, "Object already free")

    def __slab_free(self, s: KmemCache, slab: Slab, objp: int) -> None:
        """__slab_free(): free into a slab that is not this CPU's slab."""
        prior = bool(slab.freelist)
        slab.freelist.append(objp)
        slab.inuse -= 1
        if slab.frozen:
            return                                            # FREE_FROZEN
        n = s.node[slab.node]
        has_cpu_partial = s.cpu_partial != 0
        if not prior and has_cpu_partial:
            self.put_cpu_partial(s, slab, True)               # CPU_PARTIAL_FREE
            return
        if prior and not slab.on_node_partial:
            return                                            # on some CPU partial list
        if not slab.inuse and n.nr_partial >= s.min_partial:
            if prior:
                self.remove_partial(n, slab)                  # FREE_REMOVE_PARTIAL
            self.discard_slab(s, slab)                        # FREE_SLAB
            return
        if not has_cpu_partial and not prior:
            self.add_partial(n, slab, True)                   # FREE_ADD_PARTIAL

    def virt_to_slab(self, objp: int) -> Slab | None:
        return self.slab_of.get((objp - self._va_base) >> PAGE_SHIFT)

    def virt_to_cache(self, objp: int) -> KmemCache | None:
        slab = self.virt_to_slab(objp)
        return slab.cache if slab is not None else None

    # ------------------------------------------------------------------ kmalloc
    def kmalloc_slab(self, size: int, flags: int) -> KmemCache | None:
        if size <= 0 or size > KMALLOC_MAX_CACHE_SIZE:
            return None
        return self._kmalloc_by_size[kmalloc_type(flags)][size]

    def kmalloc(self, size: int, flags: int) -> int | None:
        """kmalloc(): a kmalloc-* object, or pages above KMALLOC_MAX_CACHE_SIZE."""
        if 0 < size <= KMALLOC_MAX_CACHE_SIZE and not self._tp_kmalloc.enabled and \
                not flags & _KMALLOC_SLOW_BITS and not self.m._atomic_cpus:
            # the CPU-slab fast path of a normal kmalloc cache, inlined
            s = self._kmalloc_by_size[0][size]
            assert s is not None
            if not s.debug:
                fl = s.cpu_slab[self.m._cpu].freelist
                if fl:
                    obj = fl.pop()
                    s.live.add(obj)
                    return obj
        return self.kmalloc_node(size, flags, -1)

    def kmalloc_node(self, size: int, flags: int, node: int) -> int | None:
        """__do_kmalloc_node()."""
        m = self.m
        if size > KMALLOC_MAX_CACHE_SIZE:
            return self.kmalloc_large_node(size, flags, node)
        if size <= 0:
            if size < 0:
                from memsim.mm.slab_common import SlabUsageError
                raise SlabUsageError(f"kmalloc({size}): negative size")
            if self._tp_kmalloc.enabled:
                self._tp_kmalloc.emit(m.trace_ctx(), call_site=python_caller(),
                                      ptr=ZERO_SIZE_PTR, bytes_req=0, bytes_alloc=0,
                                      gfp_flags=flags, node=node, accounted=False)
            return ZERO_SIZE_PTR
        s = self._kmalloc_by_size[kmalloc_type(flags)][size]
        assert s is not None
        if not s.debug and not self._tp_kmalloc.enabled and node == -1 and \
                not flags & _GFP_ZERO and not m._atomic_cpus:
            c = s.cpu_slab[m._cpu]
            fl = c.freelist
            if fl:
                obj = fl.pop()
                s.live.add(obj)
                return obj
        got = self.slab_alloc_node(s, flags, node, None, size)
        if got is not None and s.debug and s.flags & SLAB_STORE_USER:
            s.orig_size[got] = size
            self.init_object(s, got, SLUB_RED_ACTIVE)
        if self._tp_kmalloc.enabled:
            self._trace_alloc(self._tp_kmalloc, s, got, size, flags, node, False)
        return got

    def kmalloc_large_node(self, size: int, flags: int, node: int) -> int | None:
        """__kmalloc_large_node(): whole pages, counted as unreclaimable slab memory."""
        m = self.m
        if flags & GFP_SLAB_BUG_MASK:
            flags = self.kmalloc_fix_flags(flags)
        order = get_order(size)
        flags |= _GFP_COMP
        pfn = m.alloc_pages(flags, order) if node == -1 else m.alloc_pages_node(node, flags,
                                                                               order)
        ptr = None
        if pfn is not None:
            ptr = m.page_address(pfn)
            assert ptr is not None
            self.large_kmalloc[ptr] = order
            mod_node_page_state(m.nodes[m.page_zone(pfn).node], _NR_SLAB_UNRECLAIMABLE_B,
                                PAGE_SIZE << order)
        if self._tp_kmalloc.enabled:
            self._tp_kmalloc.emit(m.trace_ctx(), call_site=python_caller(), ptr=ptr,
                                  bytes_req=size, bytes_alloc=PAGE_SIZE << order,
                                  gfp_flags=flags, node=node, accounted=False)
        return ptr

    def kfree(self, objp: int | None) -> None:
        """kfree(): NULL and ZERO_SIZE_PTR are fine; large kmalloc pages go back whole."""
        m = self.m
        if self._tp_kfree.enabled:
            self._tp_kfree.emit(m.trace_ctx(), call_site=python_caller(), ptr=objp)
        if objp is None or objp <= ZERO_SIZE_PTR:
            return
        slab = self.slab_of.get((objp - self._va_base) >> PAGE_SHIFT)
        if slab is None:
            self.free_large_kmalloc(objp)
            return
        s = slab.cache
        if not s.debug:
            c = s.cpu_slab[m._cpu]
            if slab is c.slab:
                try:
                    s.live.remove(objp)
                except KeyError:
                    self._bad_free(s, slab, objp)
                    return
                c.freelist.append(objp)
                return
        self.slab_free(s, slab, objp, None)

    def free_large_kmalloc(self, objp: int) -> None:
        """free_large_kmalloc(): the pages of a large kmalloc."""
        m = self.m
        order = self.large_kmalloc.pop(objp, None)
        if order is None:
            # folio_order() == 0 for a page that is no large kmalloc: WARN_ON_ONCE, then
            # the kernel would put the page. SIM: the model frees nothing.
            if not m.virt_addr_valid(objp):
                maccess.page_fault_oops(m, objp, False)
                return
            m.debug.warn_on_once("free_large_kmalloc", "order == 0", "mm/slub.c",
                                 _LINE_FREE_LARGE_KMALLOC)
            m.printk(f"object pointer: 0x{self.ptr(objp)}", level=4)
            return
        pfn = m.virt_to_pfn(objp)
        mod_node_page_state(m.nodes[m.page_zone(pfn).node], _NR_SLAB_UNRECLAIMABLE_B,
                            -(PAGE_SIZE << order))
        m.free_pages_pfn(pfn, order)

    def ksize(self, objp: int | None) -> int:
        """ksize() / __ksize(): usable bytes of a kmalloc object."""
        if objp is None or objp <= ZERO_SIZE_PTR:
            return 0
        slab = self.virt_to_slab(objp)
        if slab is None:
            order = self.large_kmalloc.get(objp)
            return PAGE_SIZE << order if order is not None else 0
        s = slab.cache
        if s.flags & (SLAB_RED_ZONE | SLAB_POISON):
            return s.object_size
        if s.flags & (SLAB_TYPESAFE_BY_RCU | SLAB_STORE_USER):
            return s.inuse
        return s.size

    # ------------------------------------------------------------------ shrink / destroy
    def kmem_cache_shrink(self, s: KmemCache) -> int:
        """kmem_cache_shrink() / __kmem_cache_do_shrink(): flush CPUs, free empty slabs,
        sort partial slabs fullest first. 0 if nothing is left in use."""
        self.flush_all(s)
        for n in s.node:
            empty = [sl for sl in n.partial if sl.inuse == 0]
            for sl in empty:
                self.remove_partial(n, sl)
                self.discard_slab(s, sl)
            # promote: fewest free objects first (stable within equal counts)
            rest = sorted(n.partial, key=lambda sl: sl.objects - sl.inuse)
            n.partial = OrderedDict((sl, None) for sl in rest)
        return 1 if any(n.nr_slabs for n in s.node) else 0

    def _shutdown(self, s: KmemCache) -> bool:
        """__kmem_cache_shutdown(): flush, free empty partial slabs, list leaked objects."""
        self.flush_all(s)
        for n in s.node:
            for slab in list(n.partial):
                if not slab.inuse:
                    self.remove_partial(n, slab)
                    self.discard_slab(s, slab)
                else:
                    self.list_slab_objects(s, slab)
            if n.nr_partial or n.nr_slabs:
                return True
        return False

    def list_slab_objects(self, s: KmemCache, slab: Slab) -> None:
        """list_slab_objects(): "Objects remaining … on __kmem_cache_shutdown()"."""
        m = self.m
        start = m.log.mark()
        self.slab_bug(s, f"Objects remaining in {s.name} on __kmem_cache_shutdown()")
        self.print_slab_info(slab)
        first = slab.addr + s.red_left_pad
        for i in range(slab.objects):
            p = first + i * s.size
            if p in s.live:
                m.printk(f"Object 0x{self.ptr(p)} @offset={p - slab.addr}", level=3)
                self.print_tracking(s, p)
        m.debug.taints.add("B")
        m.debug.report_block(start)

    def _release(self, s: KmemCache) -> None:
        kc, kcn = self.kmem_cache, self.kmem_cache_node
        assert kc is not None and kcn is not None
        if s.self_obj is not None:
            self.kmem_cache_free(kc, s.self_obj)
        for o in s.node_objs:
            self.kmem_cache_free(kcn, o)

    # ------------------------------------------------------------------ observation
    def get_slabinfo(self, s: KmemCache) -> SlabInfo:
        """get_slabinfo(): num_objs - free objects on node partial lists are active."""
        nr_slabs = nr_objs = nr_free = 0
        for n in s.node:
            nr_slabs += n.nr_slabs
            nr_objs += n.total_objects
            for sl in n.partial:
                nr_free += sl.objects - sl.inuse
        return SlabInfo(nr_objs - nr_free, nr_objs, nr_slabs, nr_slabs, s.oo_objects,
                        s.oo_order)

    def sysfs_attrs(self, s: KmemCache) -> dict[str, str]:
        """/sys/kernel/slab/<cache>/: the attributes show_slab_objects() and friends print."""
        nodes = range(len(s.node))

        def per_node(vals: list[int]) -> str:
            total = sum(vals)
            parts = [f"N{i}={v}" for i, v in zip(nodes, vals, strict=True) if v]
            return " ".join([str(total), *parts])

        cpu_slabs = []
        partial_cpu_per = []
        for cpu, c in enumerate(s.cpu_slab):
            cnt = [0] * len(s.node)
            if c.slab is not None:
                cnt[c.slab.node] += 1
            for sl in c.partial:
                cnt[sl.node] += 1
            cpu_slabs.append(cnt)
            if c.partial:
                n_sl = c.partial[-1].slabs
                partial_cpu_per.append(f"C{cpu}={n_sl * s.oo_objects // 2}({n_sl})")
        flag = {True: "1", False: "0"}
        attrs = {
            "aliases": str(len(s.aliases)),
            "align": str(s.align),
            "cache_dma": flag[bool(s.flags & SLAB_CACHE_DMA)],
            "cpu_partial": str(s.cpu_partial),
            "cpu_slabs": per_node([sum(c[i] for c in cpu_slabs) for i in nodes]),
            "ctor": getattr(s.ctor, "__name__", "ctor") + "+0x0/0x0" if s.ctor else "",
            "destroy_by_rcu": flag[bool(s.flags & SLAB_TYPESAFE_BY_RCU)],
            "hwcache_align": flag[bool(s.flags & SLAB_HWCACHE_ALIGN)],
            "min_partial": str(s.min_partial),
            "object_size": str(s.object_size),
            "objects": per_node([n.total_objects - sum(sl.objects - sl.inuse
                                                       for sl in n.partial) for n in s.node]),
            "objects_partial": per_node([sum(sl.inuse for sl in n.partial) for n in s.node]),
            "objs_per_slab": str(s.oo_objects),
            "order": str(s.oo_order),
            "partial": per_node([n.nr_partial for n in s.node]),
            "poison": flag[bool(s.flags & SLAB_POISON)],
            "reclaim_account": flag[bool(s.flags & SLAB_RECLAIM_ACCOUNT)],
            "red_zone": flag[bool(s.flags & SLAB_RED_ZONE)],
            "sanity_checks": flag[bool(s.flags & SLAB_CONSISTENCY_CHECKS)],
            "slab_size": str(s.size),
            "slabs": per_node([n.nr_slabs for n in s.node]),
            "store_user": flag[bool(s.flags & SLAB_STORE_USER)],
            "total_objects": per_node([n.total_objects for n in s.node]),
            "trace": flag[bool(s.flags & SLAB_TRACE)],
        }
        # slabs_cpu_partial: "<objects>(<slabs>)", objects estimated as half-full slabs
        nobj = sum(c.partial[-1].slabs * s.oo_objects // 2 for c in s.cpu_slab if c.partial)
        pages = sum(c.partial[-1].slabs for c in s.cpu_slab if c.partial)
        attrs["slabs_cpu_partial"] = " ".join([f"{nobj}({pages})", *partial_cpu_per])
        return attrs

    # ------------------------------------------------------------------ debugging
    def ptr(self, addr: int | None) -> str:
        """%p in SLUB reports: hashed like every %p (raw with slab_debug=, which turns on
        no_hash_pointers as 6.12 does)."""
        if addr is None:
            return "0000000000000000"
        if self.debug_blocks:
            return f"{addr:016x}"
        return f"{self.m.tp.pointer_hasher.hash(addr):016x}"

    def _set_track(self, s: KmemCache, obj: int, which: int, caller: str | None) -> None:
        if not s.flags & SLAB_STORE_USER:
            return
        m = self.m
        t = s.tracks.setdefault(obj, [None, None])
        t[which] = (caller or python_caller(), m.clock_ns, m.current_cpu, m.current_pid)

    def init_object(self, s: KmemCache, obj: int, val: int) -> None:
        """init_object(): red zones to *val*, poison for free objects."""
        m = self.m
        poison_size = s.object_size
        if s.flags & SLAB_RED_ZONE:
            maccess.kernel_memset(m, obj - s.red_left_pad, val, s.red_left_pad)
            if s.flags & SLAB_STORE_USER and s.flags & SLAB_KMALLOC and val == SLUB_RED_ACTIVE:
                poison_size = s.orig_size.get(obj, s.object_size)
        if s.flags & _OBJECT_POISON and val == SLUB_RED_INACTIVE:
            maccess.kernel_memset(m, obj, POISON_FREE, poison_size - 1)
            maccess.kernel_memset(m, obj + poison_size - 1, POISON_END, 1)
        if s.flags & SLAB_RED_ZONE:
            maccess.kernel_memset(m, obj + poison_size, val, s.inuse - poison_size)

    def check_bytes_and_report(self, s: KmemCache, slab: Slab, obj: int, what: str,
                               start: int, value: int, nbytes: int, print_obj: bool) -> bool:
        """check_bytes_and_report(): report and restore bytes that are not *value*."""
        m = self.m
        fault = maccess.memchr_inv(m, start, value, nbytes)
        if fault is None:
            return True
        end = start + nbytes
        tail = maccess.kernel_read(m, fault, end - fault)
        while end > fault and tail[end - fault - 1] == value:
            end -= 1
        found = maccess.kernel_read(m, fault, 1)[0]
        m.printk(f"[{what} overwritten] 0x{self.ptr(fault)}-0x{self.ptr(end - 1)} "
                 f"@offset={fault - slab.addr}. First byte {found:#x} instead of "
                 f"{value:#x}", level=3)
        if print_obj:
            self.object_err(s, slab, obj, "Object corrupt")
        self.slab_fix(s, f"Restoring {what} 0x{self.ptr(fault)}-0x{self.ptr(end - 1)}"
                         f"={value:#x}")
        maccess.kernel_memset(m, fault, value, end - fault)
        return False

    def check_pad_bytes(self, s: KmemCache, slab: Slab, p: int) -> bool:
        off = self.get_info_end(s)
        if s.flags & SLAB_STORE_USER:
            off += 2 * TRACK_SIZE
            if s.flags & SLAB_KMALLOC:
                off += _WORD
        size_from_object = s.size - s.red_left_pad
        if size_from_object == off:
            return True
        return self.check_bytes_and_report(s, slab, p, "Object padding", p + off,
                                           POISON_INUSE, size_from_object - off, True)

    def get_info_end(self, s: KmemCache) -> int:
        return s.inuse + _WORD if s.offset >= s.inuse else s.inuse

    def check_object(self, s: KmemCache, slab: Slab, obj: int, val: int) -> bool:
        """check_object() (6.12): red zones, poison and padding of one object."""
        ret = True
        if s.flags & SLAB_RED_ZONE:
            if not self.check_bytes_and_report(s, slab, obj, "Left Redzone",
                                               obj - s.red_left_pad, val, s.red_left_pad, ret):
                ret = False
            if not self.check_bytes_and_report(s, slab, obj, "Right Redzone",
                                               obj + s.object_size, val,
                                               s.inuse - s.object_size, ret):
                ret = False
            if s.flags & SLAB_STORE_USER and s.flags & SLAB_KMALLOC and \
                    val == SLUB_RED_ACTIVE:
                orig = s.orig_size.get(obj, s.object_size)
                if s.object_size > orig and not self.check_bytes_and_report(
                        s, slab, obj, "kmalloc Redzone", obj + orig, val,
                        s.object_size - orig, ret):
                    ret = False
        elif s.flags & SLAB_POISON and s.object_size < s.inuse:
            if not self.check_bytes_and_report(s, slab, obj, "Alignment padding",
                                               obj + s.object_size, POISON_INUSE,
                                               s.inuse - s.object_size, ret):
                ret = False
        if s.flags & SLAB_POISON:
            if val != SLUB_RED_ACTIVE and s.flags & _OBJECT_POISON:
                if not self.check_bytes_and_report(s, slab, obj, "Poison", obj, POISON_FREE,
                                                   s.object_size - 1, ret):
                    ret = False
                if not self.check_bytes_and_report(s, slab, obj, "End Poison",
                                                   obj + s.object_size - 1, POISON_END, 1,
                                                   ret):
                    ret = False
            if not self.check_pad_bytes(s, slab, obj):
                ret = False
        return ret

    def slab_pad_check(self, s: KmemCache, slab: Slab) -> None:
        """slab_pad_check(): the unused tail of a poisoned slab must still be 0x5a."""
        m = self.m
        if not s.flags & SLAB_POISON:
            return
        length = PAGE_SIZE << slab.order
        remainder = length % s.size
        if not remainder:
            return
        pad = slab.addr + length - remainder
        fault = maccess.memchr_inv(m, pad, POISON_INUSE, remainder)
        if fault is None:
            return
        end = slab.addr + length
        tail = maccess.kernel_read(m, fault, end - fault)
        while end > fault and tail[end - fault - 1] == POISON_INUSE:
            end -= 1
        start = m.log.mark()
        self.slab_bug(s, f"Padding overwritten. 0x{self.ptr(fault)}-0x{self.ptr(end - 1)} "
                         f"@offset={fault - slab.addr}")
        for ln in maccess.hex_dump_lines(m, "Padding ", pad, remainder, self.ptr):
            m.printk(ln, level=3)
        self.print_slab_info(slab)
        m.debug.taints.add("B")
        m.debug.report_block(start)
        self.slab_fix(s, f"Restoring slab padding 0x{self.ptr(fault)}-0x{self.ptr(end - 1)}"
                         f"={POISON_INUSE:#x}")
        maccess.kernel_memset(m, fault, POISON_INUSE, end - fault)

    def slab_bug(self, s: KmemCache | None, text: str) -> None:
        m = self.m
        m.printk("=" * 77, level=3)
        m.printk(f"BUG {s.name if s else '<unknown>'} ({m.debug.tainted()}): {text}", level=3)
        m.printk("-" * 77, level=3)
        m.printk("", level=3)

    def slab_fix(self, s: KmemCache, text: str) -> None:
        self.m.printk(f"FIX {s.name}: {text}", level=3)

    def print_slab_info(self, slab: Slab) -> None:
        m = self.m
        s = slab.cache
        c = s.cpu_slab[m.current_cpu]
        fl = c.freelist if slab is c.slab else slab.freelist
        fp = fl[-1] if fl else None
        flags_word = m.debug.format_flags(slab.pfn)
        m.printk(f"Slab 0x{self.ptr(m.arch.vmemmap_base + slab.pfn * 64)} objects="
                 f"{slab.objects} used={slab.inuse} fp=0x{self.ptr(fp)} flags={flags_word}",
                 level=3)

    def print_tracking(self, s: KmemCache, obj: int) -> None:
        m = self.m
        if not s.flags & SLAB_STORE_USER:
            return
        tracks = s.tracks.get(obj, [None, None])
        for label, t in zip(("Allocated", "Freed"), tracks, strict=True):
            if t is None:
                continue
            caller, when, cpu, pid = t
            age = (m.clock_ns - when) // (1_000_000_000 // HZ)        # in jiffies
            m.printk(f"{label} in {caller} age={age} cpu={cpu} pid={pid}", level=3)
            # SIM: stack_depot_print() of the saved stack; the model keeps no stacks,
            # so the "stack" is the one call site it recorded
            m.printk(f" {caller}", level=3)

    def print_trailer(self, s: KmemCache, slab: Slab, p: int) -> None:
        m = self.m
        self.print_tracking(s, p)
        self.print_slab_info(slab)
        m.printk(f"Object 0x{self.ptr(p)} @offset={p - slab.addr} fp=0x{self.ptr(None)}",
                 level=3)
        m.printk("", level=3)
        lines: list[str] = []
        if s.flags & SLAB_RED_ZONE:
            lines += maccess.hex_dump_lines(m, "Redzone  ", p - s.red_left_pad,
                                            s.red_left_pad, self.ptr)
        elif p > slab.addr + 16:
            lines += maccess.hex_dump_lines(m, "Bytes b4 ", p - 16, 16, self.ptr)
        lines += maccess.hex_dump_lines(m, "Object   ", p, min(s.object_size, PAGE_SIZE),
                                        self.ptr)
        if s.flags & SLAB_RED_ZONE:
            lines += maccess.hex_dump_lines(m, "Redzone  ", p + s.object_size,
                                            s.inuse - s.object_size, self.ptr)
        off = self.get_info_end(s)
        if s.flags & SLAB_STORE_USER:
            off += 2 * TRACK_SIZE
            if s.flags & SLAB_KMALLOC:
                off += _WORD
        size_from_object = s.size - s.red_left_pad
        if off != size_from_object:
            lines += maccess.hex_dump_lines(m, "Padding  ", p + off, size_from_object - off,
                                            self.ptr)
        for ln in lines:
            m.printk(ln, level=3)

    def object_err(self, s: KmemCache, slab: Slab, obj: int, reason: str) -> None:
        """object_err(): header, trailer, taint B, WARN_ON(1)."""
        m = self.m
        start = m.log.mark()
        self.slab_bug(s, reason)
        self.print_trailer(s, slab, obj)
        m.debug.taints.add("B")
        m.debug.warn_block("object_err", "mm/slub.c", _LINE_OBJECT_ERR)
        m.debug.report_block(start)

    def slab_err(self, s: KmemCache, slab: Slab, text: str) -> None:
        """slab_err(): header, slab info, taint B, WARN_ON(1)."""
        m = self.m
        start = m.log.mark()
        self.slab_bug(s, text)
        self.print_slab_info(slab)
        m.debug.taints.add("B")
        m.debug.warn_block("__slab_err", "mm/slub.c", _LINE_SLAB_ERR)
        m.debug.report_block(start)

    def alloc_debug_processing(self, s: KmemCache, slab: Slab, obj: int,
                               orig_size: int) -> bool:
        """alloc_debug_processing(): check the free object, then mark it allocated."""
        if s.flags & SLAB_CONSISTENCY_CHECKS:
            if not self.check_object(s, slab, obj, SLUB_RED_INACTIVE):
                self.slab_fix(s, "Marking all objects used")
                slab.inuse = slab.objects
                slab.freelist = []
                slab.consistency_failed = True
                return False
        if s.flags & SLAB_STORE_USER and s.flags & SLAB_KMALLOC:
            s.orig_size[obj] = orig_size
        self.init_object(s, obj, SLUB_RED_ACTIVE)
        return True

    def alloc_single_from_partial(self, s: KmemCache, n: KmemCacheNode, slab: Slab,
                                  orig_size: int) -> int | None:
        obj = slab.freelist.pop()
        slab.inuse += 1
        if not self.alloc_debug_processing(s, slab, obj, orig_size):
            self.remove_partial(n, slab)
            return None
        if slab.inuse == slab.objects:
            self.remove_partial(n, slab)
            n.full[slab] = None
            slab.on_full = True
        return obj

    def alloc_single_from_new_slab(self, s: KmemCache, slab: Slab,
                                   orig_size: int) -> int | None:
        n = s.node[slab.node]
        obj = slab.freelist.pop()
        slab.inuse = 1
        if not self.alloc_debug_processing(s, slab, obj, orig_size):
            return None
        if slab.inuse == slab.objects:
            n.full[slab] = None
            slab.on_full = True
        else:
            self.add_partial(n, slab, False)
        n.nr_slabs += 1
        n.total_objects += slab.objects
        return obj

    def free_to_partial_list(self, s: KmemCache, slab: Slab, obj: int,
                             caller: str | None) -> None:
        """free_to_partial_list(): debug caches free under the node lock after the checks."""
        n = s.node[slab.node]
        if not self.free_debug_processing(s, slab, obj, caller):
            return
        prior = bool(slab.freelist)
        slab.inuse -= 1
        slab.freelist.append(obj)
        s.live.discard(obj)
        s.orig_size.pop(obj, None)
        slab_free = slab.inuse == 0 and n.nr_partial >= s.min_partial
        if not prior:
            if slab.on_full:
                del n.full[slab]
                slab.on_full = False
            if not slab_free:
                self.add_partial(n, slab, True)
        elif slab_free:
            self.remove_partial(n, slab)
        if slab_free:
            n.nr_slabs -= 1
            n.total_objects -= slab.objects
            self.free_slab(s, slab)

    def free_debug_processing(self, s: KmemCache, slab: Slab, obj: int,
                              caller: str | None) -> bool:
        """free_debug_processing() / free_consistency_checks()."""
        if slab.consistency_failed:
            return False
        if s.flags & SLAB_CONSISTENCY_CHECKS or obj not in s.live:
            first = slab.addr + s.red_left_pad
            off = obj - first
            if off < 0 or off % s.size or off // s.size >= slab.objects:
                self.slab_err(s, slab, f"Invalid object pointer 0x{self.ptr(obj)}")
                self.slab_fix(s, f"Object at 0x{self.ptr(obj)} not freed")
                return False
            if obj not in s.live:
                self.object_err(s, slab, obj, "Object already free")
                self.slab_fix(s, f"Object at 0x{self.ptr(obj)} not freed")
                return False
            if s.flags & SLAB_CONSISTENCY_CHECKS and \
                    not self.check_object(s, slab, obj, SLUB_RED_ACTIVE):
                self.slab_fix(s, f"Object at 0x{self.ptr(obj)} not freed")
                return False
        self._set_track(s, obj, 1, caller)
        self.init_object(s, obj, SLUB_RED_INACTIVE)
        return True

    def validate(self) -> None:
        """The model's invariants of every cache (raises MMCorruptionError subclasses)."""
        from memsim.errors import CounterMismatchError, FreeListError
        m = self.m
        slabs: dict[int, Slab] = {}
        for pfn, sl in self.slab_of.items():
            if sl.pfn == pfn:
                slabs[id(sl)] = sl
                if m.mem_map.page_type[pfn] != PGTY_SLAB:
                    raise FreeListError(f"slab {sl!r}: head page not typed slab")
        for s in self.slab_caches:
            mine = [sl for sl in slabs.values() if sl.cache is s]
            cpu_slabs = {id(c.slab): c for c in s.cpu_slab if c.slab is not None}
            on_cpu_freelists = 0
            for i, n in enumerate(s.node):
                here = [sl for sl in mine if sl.node == i]
                if n.nr_slabs != len(here) or n.total_objects != sum(sl.objects for sl in here):
                    raise CounterMismatchError(
                        f"{s.name} node {i}: nr_slabs={n.nr_slabs} total_objects="
                        f"{n.total_objects}, slabs hold {len(here)}/"
                        f"{sum(sl.objects for sl in here)}")
                for sl in n.partial:
                    if not sl.on_node_partial or sl.frozen or not sl.freelist:
                        raise FreeListError(f"{s.name}: bad slab on node partial list {sl!r}")
            for sl in mine:
                c = cpu_slabs.get(id(sl))
                if c is not None:
                    # a CPU slab is frozen; remote frees lower inuse and fill slab.freelist
                    if not sl.frozen or sl.inuse + len(sl.freelist) != sl.objects:
                        raise FreeListError(f"{s.name}: CPU slab {sl!r} not frozen or "
                                            f"inuse {sl.inuse} + free {len(sl.freelist)} "
                                            f"!= {sl.objects}")
                    on_cpu_freelists += len(c.freelist)
                elif not sl.consistency_failed and sl.inuse + len(sl.freelist) != sl.objects:
                    raise CounterMismatchError(f"{s.name}: {sl!r} inuse {sl.inuse} + free "
                                               f"{len(sl.freelist)} != {sl.objects}")
            held = sum(sl.objects - len(sl.freelist) for sl in mine
                       if not sl.consistency_failed) - on_cpu_freelists
            failed = sum(1 for sl in mine if sl.consistency_failed)
            if not failed and held != len(s.live):
                raise CounterMismatchError(f"{s.name}: {len(s.live)} live objects, slabs "
                                           f"hold {held}")

    def validate_slab_cache(self, s: KmemCache) -> int:
        """validate_slab_cache() (the sysfs ``validate`` attribute): check every object of
        every slab of a debug cache, as slab_debug does; returns the number of slabs."""
        count = 0
        for n in s.node:
            for slab in [*n.partial, *n.full]:
                count += 1
                self.slab_pad_check(s, slab)
                first = slab.addr + s.red_left_pad
                for i in range(slab.objects):
                    p = first + i * s.size
                    self.check_object(s, slab, p, SLUB_RED_ACTIVE if p in s.live
                                      else SLUB_RED_INACTIVE)
        return count


