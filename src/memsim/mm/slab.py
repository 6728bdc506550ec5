"""
The classic SLAB allocator (2.6.32 mm/slab.c): the Bonwick-style allocator that Linux
Kernel Development (3rd ed., ch. 12) and the seed notes teach, selected with
``slab=slab`` (``--set slab=slab``); the default allocator is SLUB (mm/slub.py).

Models Linux 2.6.32.69 ``mm/slab.c`` as ../shared/reference/physical.md §7.9 and §7.10
describe it. Related code: mm/slab_common.py (the allocator-independent layer: the kmalloc
wrappers, /proc/slabinfo, kmem_cache_destroy around ``_shutdown``), include/slab.py (flags,
poison values, kmalloc constants), mm/maccess.py (the kernel memory the debug checks read),
mm/page_alloc.py (where slab pages come from).

Theory of operation
-------------------
A cache (``KmemCache``, struct kmem_cache) hands out objects of one size. Its memory is a set
of slabs, each ``2^gfporder`` pages from the page allocator, kept per node on three lists of
``KmemList3`` (struct kmem_list3)::

    cache ── array[cpu] ── ArrayCache: LIFO stack of free objects (limit, batchcount, touched)
      │
      └── nodelists[nid] ── KmemList3
              ├── shared       ArrayCache of the node (shared * batchcount entries)
              ├── alien[nid']  objects of node nid' freed here (NUMA only)
              ├── slabs_partial ─ slab ─ slab ...   some objects in use (allocate here first)
              ├── slabs_full    ─ slab ...          every object in use
              └── slabs_free    ─ slab ...          no object in use (reaped first)

    one slab (on-slab management, colour c):
    | c * colour_off | struct slab | bufctl[num] | pad | obj 0 | obj 1 | ... | obj num-1 | left |
    ^ page address                               s_mem ^

``bufctl[i]`` is the index of the free object after object ``i``; ``slab.free`` is the first
free object and ``BUFCTL_END`` ends the chain, so slab_get_obj() pops ``free`` and
slab_put_obj() pushes an index. Allocation takes from this CPU's array; an empty array is
refilled with up to ``batchcount`` objects from the node's shared array, else from partial
slabs, else free slabs, else a new slab (cache_grow). A free goes to the array; a full array
gives its ``batchcount`` oldest entries to the shared array or back to their slabs
(free_block), which destroys slabs that become empty while the node already holds more than
``free_limit`` free objects. cache_reap() trims arrays and free slabs periodically.

Large management structures (``buffer_size >= PAGE_SIZE/8``) go off-slab: ``struct slab``
and the bufctl array are an object of the general cache ``slabp_cache``. Colouring staggers
the first object of successive slabs by ``colour_off`` bytes (``colour`` different offsets
per node, cycled by ``colour_next``).

General caches: ``size-N`` and ``size-N(DMA)`` for N = 32, 64, 128, 192, 256, 512 … 131072
(the issue's and the textbooks' "32 B … 128 KiB"), then, as 2.6.32 x86 builds them because
its ``KMALLOC_MAX_SIZE`` is ``1 << min(MAX_ORDER + PAGE_SHIFT - 1, 25)`` = 4 MiB, 262144 …
4194304 (reference §7.5 "2.6.32 SLAB kmalloc"). ``kmalloc(0)`` is ZERO_SIZE_PTR and larger
requests fail with NULL, silently, as in 2.6.32.

Bootstrap (kmem_cache_init): ``cache_cache`` ("kmem_cache") is static with a one-entry static
array and static kmem_list3s; the general caches that serve ``struct arraycache_init`` and
``struct kmem_list3`` come first (states NONE → PARTIAL_AC → PARTIAL_L3), then the rest; the
static structures are replaced with kmalloc'ed ones (EARLY), every cache gets its final
``enable_cpucache()`` limits (FULL), and the secondary CPUs come up through cpuup_prepare().
Every kmalloc'ed structure (array caches, kmem_list3s, kmem_cache structures, off-slab
descriptors, the temporary ccupdate_struct) is a real object of the model's general caches,
so /proc/slabinfo counts them as the kernel's does.

Debugging: the model is a CONFIG_DEBUG_SLAB kernel that honours SLAB_RED_ZONE, SLAB_POISON and
SLAB_STORE_USER per cache (red-zone words RED_ACTIVE/RED_INACTIVE around the object, the
caller's address behind it, POISON_FREE/POISON_INUSE/POISON_END bytes), checked through the
model's kernel memory (mm/maccess.py) with 2.6.32's messages, and the bufctl double-free
check. # SIM: FORCED_DEBUG and STATS are off, and caches without debug flags keep the
non-debug geometry (obj_offset 0, obj_size = buffer_size, no ``limit <= 32`` cap), so the
default slabinfo is that of a production kernel while debug caches behave as under
CONFIG_DEBUG_SLAB.

Misuse never corrupts the model: every cache keeps ``live`` (its allocated objects). A free
of a non-slab pointer, of a pointer into another cache, of a non-object-start or of a free
object is reported (BUG or slab_error, in the kernel's words) and refused.
"""

from __future__ import annotations

import errno
import re
import zlib
from bisect import bisect_left
from collections import OrderedDict
from typing import TYPE_CHECKING

from memsim.arch import PAGE_SHIFT, PAGE_SIZE
from memsim.errors import CounterMismatchError, FreeListError, KernelBug
from memsim.include.gfp import (
    __GFP_ACCOUNT,
    __GFP_DMA,
    __GFP_NORETRY,
    __GFP_NOTRACK,
    __GFP_NOWARN,
    __GFP_RECLAIMABLE,
    __GFP_THISNODE,
    __GFP_ZERO,
    GFP_CONSTRAINT_MASK,
    GFP_DMA,
    GFP_DMA32,
    GFP_KERNEL,
    GFP_NOWAIT,
    GFP_RECLAIM_MASK,
    GFP_SLAB_BUG_MASK,
)
from memsim.include.mm_types import PGTY_SLAB
from memsim.include.mmzone_types import ZoneType
from memsim.include.slab import (
    KMALLOC_MAX_ORDER,
    KMALLOC_MAX_SIZE,
    POISON_END,
    POISON_FREE,
    POISON_INUSE,
    RED_ACTIVE,
    RED_INACTIVE,
    SLAB_ACCOUNT,
    SLAB_CACHE_DMA,
    SLAB_CACHE_DMA32,
    SLAB_FLAGS_PERMITTED,
    SLAB_HWCACHE_ALIGN,
    SLAB_NOLEAKTRACE,
    SLAB_PANIC,
    SLAB_POISON,
    SLAB_RECLAIM_ACCOUNT,
    SLAB_RED_ZONE,
    SLAB_STORE_USER,
    SLAB_TYPESAFE_BY_RCU,
    ZERO_SIZE_PTR,
)
from memsim.include.vmstat_items import NodeStatItem
from memsim.mm import maccess
from memsim.mm.slab_common import (
    ALIGN,
    Ctor,
    KmemCacheBase,
    SlabAllocator,
    SlabInfo,
    SlabUsageError,
    cache_line_size,
    check_create_args,
    python_caller,
)
from memsim.mm.vmstat import mod_node_page_state

if TYPE_CHECKING:
    from memsim.machine import Machine

# --- mm/slab.c constants -----------------------------------------------------------------------
#: kmem_bufctl_t values: end of the free chain, (DEBUG) object allocated, (DEBUG_SLAB_LEAK)
#: in use, and the largest number of objects a slab may hold
BUFCTL_END = 0xFFFFFFFF
BUFCTL_FREE = 0xFFFFFFFE
BUFCTL_ACTIVE = 0xFFFFFFFD
SLAB_LIMIT = 0xFFFFFFFC
#: sizeof(kmem_bufctl_t)
SIZEOF_BUFCTL = 4
#: head arrays of the bootstrap caches
BOOT_CPUCACHE_ENTRIES = 1
#: refill at most this many objects into an untouched array
BATCHREFILL_LIMIT = 16
#: CONFIG_HZ of the model (the SLUB reports count jiffies at 250 too)
HZ = 250
REAPTIMEOUT_CPUC = 2 * HZ
REAPTIMEOUT_LIST3 = 4 * HZ
#: slab_break_gfp_order: do not go above this order unless no object fits
BREAK_GFP_ORDER_HI = 1
BREAK_GFP_ORDER_LO = 0
#: internal cache flag: struct slab and the bufctl array live off-slab (2.6.32 0x80000000;
#: the 6.12 flag numbering of include/slab.py leaves this bit free)
CFLGS_OFF_SLAB = 0x80000000
#: REDZONE_ALIGN = max(BYTES_PER_WORD, __alignof__(unsigned long long)): 8 on every arch here
REDZONE_ALIGN = 8
#: slabinfo_write() accepts at most this many bytes
MAX_SLABINFO_WRITE = 128
#: alloc_arraycache() batchcount of shared and alien arrays (never used for refills)
BAAD_BATCH = 0xBAADF00D
#: MAX_ORDER of 2.6.32 (orders 0..10); cache_cache's order search stops below it
MAX_ORDER = 11
#: ARCH_KMALLOC_MINALIGN (__alignof__(unsigned long long)) and ARCH_KMALLOC_FLAGS
ARCH_KMALLOC_MINALIGN = 8
ARCH_KMALLOC_FLAGS = SLAB_HWCACHE_ALIGN
#: ARCH_SLAB_MINALIGN on x86 (not defined there, so 0)
ARCH_SLAB_MINALIGN = 0

#: g_cpucache_up states (slab_is_available() from EARLY on)
NONE, PARTIAL_AC, PARTIAL_L3, EARLY, FULL = range(5)

#: 2.6.32 CREATE_MASK of a DEBUG kernel (SLAB_MEM_SPREAD, SLAB_DEBUG_OBJECTS and SLAB_NOTRACK
#: do not exist in the model's flag set). # SIM: SLAB_CACHE_DMA32 and SLAB_ACCOUNT, which later
#: SLAB (6.1) accepted, are accepted too; the other flags the common layer permits
#: (SLAB_CONSISTENCY_CHECKS, SLAB_TRACE, SLAB_KMALLOC, SLAB_NO_MERGE ...) are dropped silently
#: as 6.1's CACHE_CREATE_MASK dropped them for SLAB.
CREATE_MASK = (SLAB_RED_ZONE | SLAB_POISON | SLAB_HWCACHE_ALIGN | SLAB_CACHE_DMA
               | SLAB_STORE_USER | SLAB_RECLAIM_ACCOUNT | SLAB_PANIC | SLAB_TYPESAFE_BY_RCU
               | SLAB_NOLEAKTRACE | SLAB_CACHE_DMA32 | SLAB_ACCOUNT)
SLAB_DEBUG_FLAGS = SLAB_RED_ZONE | SLAB_POISON | SLAB_STORE_USER

# SIM: the line numbers of 2.6.32.69 mm/slab.c's BUG() sites are estimates from the file's
# layout (the model could not count them in a vanilla copy); the function names are exact.
_LINE_PAGE_GET_CACHE = 602
_LINE_CREATE_EARLY = 2140
_LINE_CREATE_SPACE = 2172
_LINE_CREATE_RCU_POISON = 2185
_LINE_CREATE_MASK = 2191
_LINE_FLAGCHECK_DMA = 2744
_LINE_FLAGCHECK_NODMA = 2746
_LINE_SLAB_PUT_OBJ = 2782
_LINE_CACHE_GROW = 2833
_LINE_KFREE_DEBUGCHECK = 2902
_LINE_FREE_DEBUGCHECK_CACHE = 2943
_LINE_FREE_DEBUGCHECK_OBJNR = 2964
_LINE_KSIZE = 4586

_NR_SLAB_RECLAIMABLE_B = int(NodeStatItem.NR_SLAB_RECLAIMABLE_B)
_NR_SLAB_UNRECLAIMABLE_B = int(NodeStatItem.NR_SLAB_UNRECLAIMABLE_B)
# kernel names with a leading "__" are mangled inside class bodies: aliases
_GFP_ZERO = __GFP_ZERO
_GFP_DMA = __GFP_DMA
#: 2.6.32 GFP_THISNODE of a CONFIG_NUMA kernel. # SIM: the model is a CONFIG_NUMA kernel on
#: every arch (as 2.6.32 distribution kernels were), also with one node
GFP_THISNODE = __GFP_THISNODE | __GFP_NOWARN | __GFP_NORETRY
_EINVAL = errno.EINVAL
_ENOMEM = errno.ENOMEM


# ============================================================================ data structures


class ArrayCache:
    """struct array_cache: a LIFO stack of free objects (``entry[-1]`` is handed out next;
    ``avail`` is ``len(entry)``)."""

    __slots__ = ("limit", "batchcount", "touched", "entry", "obj")

    def __init__(self, limit: int, batchcount: int, obj: int | None) -> None:
        self.limit = limit
        self.batchcount = batchcount
        self.touched = 0
        self.entry: list[int] = []
        #: the kmalloc'ed block holding the structure (None: a static bootstrap array)
        self.obj = obj

    @property
    def avail(self) -> int:
        return len(self.entry)

    def __repr__(self) -> str:
        return (f"<array_cache avail={len(self.entry)} limit={self.limit} "
                f"batchcount={self.batchcount} touched={self.touched}>")


class AlienCache:
    """The ``struct array_cache **alien`` block of a node: one array per other node."""

    __slots__ = ("caches", "obj")

    def __init__(self, caches: list[ArrayCache | None], obj: int) -> None:
        self.caches = caches
        self.obj = obj


class SlabDesc:
    """struct slab, the slab descriptor (on-slab behind the colour area, or off-slab in an
    object of the cache's ``slabp_cache``). # SIM: the descriptor and its bufctl array are
    Python state; the on-slab bytes they occupy are reserved but not written."""

    __slots__ = ("cache", "pfn", "addr", "colouroff", "s_mem", "inuse", "free", "nodeid",
                 "bufctl", "mgmt", "on_list")

    def __init__(self, cache: KmemCache, pfn: int, addr: int, colouroff: int, nodeid: int,
                 mgmt: int | None) -> None:
        self.cache = cache
        self.pfn = pfn
        #: page_address() of the first page (s_mem - colouroff)
        self.addr = addr
        #: colour offset plus, on-slab, slab_size: s_mem = addr + colouroff
        self.colouroff = colouroff
        self.s_mem = addr + colouroff
        self.inuse = 0
        self.free = 0
        self.nodeid = nodeid
        #: kmem_bufctl_t bufctl[num]: next free object index, BUFCTL_END, or (allocated)
        #: BUFCTL_FREE
        self.bufctl: list[int] = []
        #: the off-slab descriptor object (None when on-slab)
        self.mgmt = mgmt
        #: the kmem_list3 list the slab is on (``list`` in struct slab), None when unlinked
        self.on_list: OrderedDict[SlabDesc, None] | None = None

    def free_chain(self) -> list[int]:
        """The free object indices in bufctl chain order, from ``free`` to BUFCTL_END."""
        out: list[int] = []
        i = self.free
        while i != BUFCTL_END and len(out) <= len(self.bufctl):
            out.append(i)
            i = self.bufctl[i]
        return out

    def __repr__(self) -> str:
        return (f"<slab {self.cache.name} pfn={self.pfn:#x} inuse={self.inuse}/"
                f"{self.cache.num} free={self.free if self.free != BUFCTL_END else 'END'}>")


class KmemList3:
    """struct kmem_list3: one node's slab lists. Each list is an ordered dict whose first
    key is the list head's ``next`` (``list_add`` puts a slab first, ``list_add_tail``
    last)."""

    __slots__ = ("slabs_partial", "slabs_full", "slabs_free", "free_objects", "free_limit",
                 "colour_next", "shared", "alien", "next_reap", "free_touched", "obj")

    def __init__(self, obj: int | None) -> None:
        self.slabs_partial: OrderedDict[SlabDesc, None] = OrderedDict()
        self.slabs_full: OrderedDict[SlabDesc, None] = OrderedDict()
        self.slabs_free: OrderedDict[SlabDesc, None] = OrderedDict()
        self.free_objects = 0
        self.free_limit = 0
        self.colour_next = 0
        self.shared: ArrayCache | None = None
        self.alien: AlienCache | None = None
        self.next_reap = 0
        self.free_touched = 0
        #: the kmalloc'ed block holding the structure (None: a static initkmem_list3)
        self.obj = obj

    def list_name(self, slabp: SlabDesc) -> str | None:
        """"partial", "full" or "free": the list *slabp* is on (None when unlinked)."""
        lst = slabp.on_list
        if lst is self.slabs_partial:
            return "partial"
        if lst is self.slabs_full:
            return "full"
        if lst is self.slabs_free:
            return "free"
        return None


class KmemCache(KmemCacheBase):
    """struct kmem_cache (2.6.32 include/linux/slab_def.h)."""

    __slots__ = ("name", "object_size", "size", "align", "flags", "ctor", "refcount",
                 "aliases", "live", "array", "batchcount", "limit", "shared", "buffer_size",
                 "num", "gfporder", "gfpflags", "colour", "colour_off", "slabp_cache",
                 "slab_size", "nodelists", "obj_offset", "obj_size", "self_obj", "debug",
                 "last_user")

    def __init__(self, name: str, nr_cpus: int, nr_nodes: int) -> None:
        self.name = name
        self.object_size = 0
        self.size = 0
        self.align = 0
        self.flags = 0
        self.ctor: Ctor | None = None
        self.refcount = 1
        self.aliases: list[str] = []
        self.live: set[int] = set()
        #: array[NR_CPUS]: the per-CPU head arrays
        self.array: list[ArrayCache | None] = [None] * nr_cpus
        self.batchcount = 0
        self.limit = 0
        self.shared = 0
        #: object stride (``size`` of the common layer, /proc/slabinfo's objsize)
        self.buffer_size = 0
        #: objects per slab and log2 of pages per slab
        self.num = 0
        self.gfporder = 0
        #: GFP_DMA for SLAB_CACHE_DMA (GFP_DMA32 for SLAB_CACHE_DMA32)
        self.gfpflags = 0
        self.colour = 0
        self.colour_off = 0
        self.slabp_cache: KmemCache | None = None
        #: bytes of struct slab + bufctl[num] (aligned when on-slab)
        self.slab_size = 0
        self.nodelists: list[KmemList3 | None] = [None] * nr_nodes
        #: (DEBUG) offset of the object in its buffer, and its size; obj_size is what
        #: ksize() returns (``object_size`` of the common layer)
        self.obj_offset = 0
        self.obj_size = 0
        #: this structure's object in cache_cache (None for the static cache_cache)
        self.self_obj: int | None = None
        #: any of SLAB_RED_ZONE / SLAB_POISON / SLAB_STORE_USER
        self.debug = False
        #: SLAB_STORE_USER: internal object address -> the caller symbol of its last
        #: alloc/free (the userword holds a made-up text address of it)
        self.last_user: dict[int, str] = {}

    def __repr__(self) -> str:
        return (f"<kmem_cache {self.name} buffer_size={self.buffer_size} num={self.num} "
                f"gfporder={self.gfporder}>")


class CacheSizes:
    """struct cache_sizes: one general cache size with its normal and DMA caches."""

    __slots__ = ("cs_size", "cs_cachep", "cs_dmacachep")

    def __init__(self, cs_size: int) -> None:
        self.cs_size = cs_size
        self.cs_cachep: KmemCache | None = None
        self.cs_dmacachep: KmemCache | None = None


def kmalloc_sizes(m: Machine) -> list[int]:
    """include/linux/kmalloc_sizes.h for the machine: 32 (4 KiB pages), 64, 96 (lines under
    64 bytes), 128, 192 (lines under 128 bytes), 256 … 131072, then up to KMALLOC_MAX_SIZE."""
    line = m.arch.l1_cache_bytes
    sizes = [32] if PAGE_SIZE == 4096 else []
    sizes.append(64)
    if line < 64:
        sizes.append(96)
    sizes.append(128)
    if line < 128:
        sizes.append(192)
    s = 256
    while s <= KMALLOC_MAX_SIZE:
        sizes.append(s)
        s <<= 1
    return sizes


# ============================================================================ geometry


def slab_mgmt_size(nr_objs: int, align: int, sizeof_slab: int) -> int:
    """slab_mgmt_size(): struct slab plus the bufctl array, aligned."""
    return ALIGN(sizeof_slab + nr_objs * SIZEOF_BUFCTL, align)


def cache_estimate(gfporder: int, buffer_size: int, align: int, flags: int,
                   sizeof_slab: int) -> tuple[int, int]:
    """cache_estimate(): (objects per slab, left-over bytes) for an order."""
    slab_size = PAGE_SIZE << gfporder
    if flags & CFLGS_OFF_SLAB:
        mgmt_size = 0
        nr_objs = min(slab_size // buffer_size, SLAB_LIMIT)
    else:
        # the first guess ignores the alignment padding: it is right or one too many
        nr_objs = (slab_size - sizeof_slab) // (buffer_size + SIZEOF_BUFCTL)
        if slab_mgmt_size(nr_objs, align, sizeof_slab) + nr_objs * buffer_size > slab_size:
            nr_objs -= 1
        nr_objs = min(nr_objs, SLAB_LIMIT)
        mgmt_size = slab_mgmt_size(nr_objs, align, sizeof_slab)
    return nr_objs, slab_size - nr_objs * buffer_size - mgmt_size


def calculate_slab_order(sl: Slab, cachep: KmemCache, size: int, align: int,
                         flags: int) -> int:
    """calculate_slab_order(): set num and gfporder; return the left-over bytes."""
    left_over = 0
    for gfporder in range(KMALLOC_MAX_ORDER + 1):
        num, remainder = cache_estimate(gfporder, size, align, flags, sl.sizeof_slab)
        if not num:
            continue
        if flags & CFLGS_OFF_SLAB:
            # more objects than bufctls fit in the largest on-slab general cache
            offslab_limit = (size - sl.sizeof_slab) // SIZEOF_BUFCTL
            if num > offslab_limit:
                break
        cachep.num = num
        cachep.gfporder = gfporder
        left_over = remainder
        if flags & SLAB_RECLAIM_ACCOUNT:
            break                       # dcache-like caches: stay at low orders
        if gfporder >= sl.slab_break_gfp_order:
            break
        if left_over * 8 <= PAGE_SIZE << gfporder:
            break                       # internal fragmentation acceptable
    return left_over


# ============================================================================ printing


def _p(sl: Slab, addr: int | None) -> str:
    """%p of 2.6.32: zero-padded hex of the pointer width, "(null)" for NULL."""
    if not addr:
        return "(null)"
    return f"{addr:0{sl.ptr_hex}x}"


def _caller_addr(sl: Slab, symbol: str) -> int:
    """A kernel text address standing for *symbol* (the userword and "Last user" value).
    # SIM: the model has no kernel text; the address is a stable hash of the symbol."""
    h = zlib.crc32(symbol.encode()) & 0x00FFFFF0
    return (0xFFFFFFFF81000000 if sl.m.arch.bits == 64 else 0xC1000000) + h


def _begin_report(sl: Slab) -> None:
    if sl._report_start is None:
        sl._report_start = sl.m.log.mark()


def _end_reports(sl: Slab) -> None:
    """Finish the reports printed by this API call (in strict mode: raise KernelBug). Called
    once the model's state is consistent again."""
    start = sl._report_start
    if start is not None:
        sl._report_start = None
        sl.m.debug.report_block(start)


def __slab_error(sl: Slab, function: str, cachep: KmemCache, msg: str) -> None:
    """__slab_error() (the slab_error() macro passes __func__): the message and a stack."""
    _begin_report(sl)
    sl.m.printk(f"slab error in {function}(): cache `{cachep.name}': {msg}", level=3)
    sl.m.debug.dump_stack()


slab_error = __slab_error


def _bug(sl: Slab, line: int) -> None:
    """BUG() at mm/slab.c:*line*, ending one report with what was printed since
    _begin_report() (the message before the BUG); the caller refuses the operation."""
    m = sl.m
    start = sl._report_start if sl._report_start is not None else m.log.mark()
    sl._report_start = None
    m.debug.bug_block("mm/slab.c", line)
    m.debug.report_block(start)


# ============================================================================ memory words


def _read_word(sl: Slab, addr: int, n: int = 8) -> int:
    return int.from_bytes(maccess.kernel_read(sl.m, addr, n), "little")


def _write_word(sl: Slab, addr: int, value: int, n: int = 8) -> None:
    maccess.kernel_write(sl.m, addr, value.to_bytes(n, "little"))


def dbg_redzone1(cachep: KmemCache, objp: int) -> int:
    return objp + cachep.obj_offset - 8


def dbg_redzone2(cachep: KmemCache, objp: int) -> int:
    if cachep.flags & SLAB_STORE_USER:
        return objp + cachep.buffer_size - 8 - REDZONE_ALIGN
    return objp + cachep.buffer_size - 8


def dbg_userword(sl: Slab, cachep: KmemCache, objp: int) -> int:
    return objp + cachep.buffer_size - sl.bytes_per_word


def _set_userword(sl: Slab, cachep: KmemCache, objp: int, caller: str | None) -> None:
    if caller is None:
        cachep.last_user.pop(objp, None)
        _write_word(sl, dbg_userword(sl, cachep, objp), 0, sl.bytes_per_word)
        return
    cachep.last_user[objp] = caller
    _write_word(sl, dbg_userword(sl, cachep, objp), _caller_addr(sl, caller), sl.bytes_per_word)


def poison_obj(sl: Slab, cachep: KmemCache, objp: int, val: int) -> None:
    """poison_obj(): fill the object with *val*, POISON_END in its last byte."""
    addr = objp + cachep.obj_offset
    size = cachep.obj_size
    maccess.kernel_memset(sl.m, addr, val, size - 1)
    maccess.kernel_memset(sl.m, addr + size - 1, POISON_END, 1)


def dump_line(sl: Slab, data: bytes, offset: int, limit: int) -> None:
    """dump_line(): one "%03x:" line of 16 bytes, and the single-bit-error hint."""
    m = sl.m
    error = 0
    bad_count = 0
    row = data[offset:offset + limit]
    for b in row:
        if b != POISON_FREE:
            error = b
            bad_count += 1
    m.printk(f"{offset:03x}:" + "".join(f" {b:02x}" for b in row), level=3)
    if bad_count == 1:
        error ^= POISON_FREE
        if not error & (error - 1):
            m.printk("Single bit error detected. Probably bad RAM.", level=3)
            if m.arch.name in ("x86_64", "i386"):
                m.printk("Run memtest86+ or a similar memory test tool.", level=3)
            else:
                m.printk("Run a memory test tool.", level=3)


def print_objinfo(sl: Slab, cachep: KmemCache, objp: int, lines: int) -> None:
    """print_objinfo(): red zones, last user, up to *lines* hex lines of the object."""
    m = sl.m
    if cachep.flags & SLAB_RED_ZONE:
        m.printk(f"Redzone: 0x{_read_word(sl, dbg_redzone1(cachep, objp)):x}/"
                 f"0x{_read_word(sl, dbg_redzone2(cachep, objp)):x}.", level=3)
    if cachep.flags & SLAB_STORE_USER:
        word = _read_word(sl, dbg_userword(sl, cachep, objp), sl.bytes_per_word)
        sym = cachep.last_user.get(objp)
        if sym is None or word != _caller_addr(sl, sym):
            sym = f"0x{word:x}"
        m.printk(f"Last user: [<{_p(sl, word)}>]({sym})", level=3)
    size = cachep.obj_size
    data = maccess.kernel_read(m, objp + cachep.obj_offset, size)
    i = 0
    while i < size and lines:
        dump_line(sl, data, i, min(16, size - i))
        i += 16
        lines -= 1


def check_poison_obj(sl: Slab, cachep: KmemCache, objp: int) -> None:
    """check_poison_obj(): report a free object whose poison changed (use after free)."""
    m = sl.m
    realobj = objp + cachep.obj_offset
    size = cachep.obj_size
    data = maccess.kernel_read(m, realobj, size)
    expect = bytes((POISON_FREE,)) * (size - 1) + bytes((POISON_END,))
    if data == expect:
        return
    lines = 0
    i = 0
    while i < size:
        exp = POISON_END if i == size - 1 else POISON_FREE
        if data[i] != exp:
            if lines == 0:
                _begin_report(sl)
                m.printk(f"Slab corruption: {cachep.name} start={_p(sl, realobj)}, "
                         f"len={size}", level=3)
                print_objinfo(sl, cachep, objp, 0)
            i = (i // 16) * 16
            dump_line(sl, data, i, min(16, size - i))
            i += 16
            lines += 1
            if lines > 5:                   # "Limit to 5 lines": 6 get printed
                break
        i += 1          # the for loop's i++ (so the first byte of the next line is skipped)
    if lines:
        slabp = sl.slab_of[(objp - sl.va_base) >> PAGE_SHIFT]
        objnr = (objp - slabp.s_mem) // cachep.buffer_size
        if objnr:
            prev = slabp.s_mem + (objnr - 1) * cachep.buffer_size
            m.printk(f"Prev obj: start={_p(sl, prev + cachep.obj_offset)}, len={size}",
                     level=3)
            print_objinfo(sl, cachep, prev, 2)
        if objnr + 1 < cachep.num:
            nxt = slabp.s_mem + (objnr + 1) * cachep.buffer_size
            m.printk(f"Next obj: start={_p(sl, nxt + cachep.obj_offset)}, len={size}",
                     level=3)
            print_objinfo(sl, cachep, nxt, 2)


def verify_redzone_free(sl: Slab, cachep: KmemCache, objp: int) -> bool:
    """verify_redzone_free(): True if both red zones are RED_ACTIVE, else the report."""
    rz1 = _read_word(sl, dbg_redzone1(cachep, objp))
    rz2 = _read_word(sl, dbg_redzone2(cachep, objp))
    if rz1 == RED_ACTIVE and rz2 == RED_ACTIVE:
        return True
    if rz1 == RED_INACTIVE and rz2 == RED_INACTIVE:
        slab_error(sl, "verify_redzone_free", cachep, "double free detected")
    else:
        slab_error(sl, "verify_redzone_free", cachep, "memory outside object was overwritten")
    sl.m.printk(f"{_p(sl, objp)}: redzone 1:0x{rz1:x}, redzone 2:0x{rz2:x}.", level=3)
    return False


# ============================================================================ slab pages


def kmem_flagcheck(sl: Slab, cachep: KmemCache, flags: int) -> bool:
    """kmem_flagcheck(): GFP_DMA in the request iff the cache is a DMA cache (else BUG).
    # SIM: checked when a slab is grown, as every 2.6.32 kernel does; a DEBUG kernel also
    checks each allocation (cache_alloc_debugcheck_before), the model does not."""
    if flags & GFP_DMA:
        if not cachep.gfpflags & GFP_DMA:
            _bug(sl, _LINE_FLAGCHECK_DMA)
            return False
    elif cachep.gfpflags & GFP_DMA:
        _bug(sl, _LINE_FLAGCHECK_NODMA)
        return False
    return True


def kmem_getpages(sl: Slab, cachep: KmemCache, flags: int, nodeid: int) -> int | None:
    """kmem_getpages(): 2^gfporder pages for a slab, accounted as slab memory."""
    m = sl.m
    flags |= cachep.gfpflags
    if cachep.flags & SLAB_RECLAIM_ACCOUNT:
        flags |= __GFP_RECLAIMABLE
    pfn = m.alloc_pages_node(nodeid, flags | __GFP_NOTRACK, cachep.gfporder)
    if pfn is None:
        return None
    # SIM: 2.6.32 counts NR_SLAB_(UN)RECLAIMABLE pages per zone and sets PG_slab on every
    # page; the model keeps 6.12's per-node byte counters and the head page's page type
    mod_node_page_state(m.nodes[m.page_zone(pfn).node], _NR_SLAB_RECLAIMABLE_B
                        if cachep.flags & SLAB_RECLAIM_ACCOUNT else _NR_SLAB_UNRECLAIMABLE_B,
                        PAGE_SIZE << cachep.gfporder)
    m.mem_map.page_type[pfn] = PGTY_SLAB
    return pfn


def kmem_freepages(sl: Slab, cachep: KmemCache, pfn: int) -> None:
    """kmem_freepages(): give a slab's pages back to the page allocator."""
    m = sl.m
    nr = 1 << cachep.gfporder
    mod_node_page_state(m.nodes[m.page_zone(pfn).node], _NR_SLAB_RECLAIMABLE_B
                        if cachep.flags & SLAB_RECLAIM_ACCOUNT else _NR_SLAB_UNRECLAIMABLE_B,
                        -(PAGE_SIZE << cachep.gfporder))
    m.mem_map.page_type[pfn] = 0
    slab_of = sl.slab_of
    for p in range(pfn, pfn + nr):
        slab_of.pop(p, None)
    m.free_pages_pfn(pfn, cachep.gfporder)


def alloc_slabmgmt(sl: Slab, cachep: KmemCache, pfn: int, addr: int, colour_off: int,
                   local_flags: int, nodeid: int) -> SlabDesc | None:
    """alloc_slabmgmt(): the descriptor, off-slab from slabp_cache or on-slab."""
    mgmt = None
    if cachep.flags & CFLGS_OFF_SLAB:
        assert cachep.slabp_cache is not None
        mgmt = _kmem_cache_alloc_node_traced(sl, cachep.slabp_cache, local_flags, nodeid,
                                             "alloc_slabmgmt")
        if mgmt is None:
            return None
    else:
        colour_off += cachep.slab_size
    return SlabDesc(cachep, pfn, addr, colour_off, nodeid, mgmt)


def slab_map_pages(sl: Slab, slabp: SlabDesc) -> None:
    """slab_map_pages(): page_set_cache/page_set_slab on every page of the slab."""
    slab_of = sl.slab_of
    for p in range(slabp.pfn, slabp.pfn + (1 << slabp.cache.gfporder)):
        slab_of[p] = slabp


def cache_init_objs(sl: Slab, cachep: KmemCache, slabp: SlabDesc) -> None:
    """cache_init_objs(): debug words, constructors, and the bufctl chain 0 → 1 → … → END."""
    m = sl.m
    num = cachep.num
    size = cachep.buffer_size
    s_mem = slabp.s_mem
    ctor = cachep.ctor
    if cachep.debug:
        flags = cachep.flags
        for i in range(num):
            objp = s_mem + i * size
            if flags & SLAB_POISON:
                poison_obj(sl, cachep, objp, POISON_FREE)
            if flags & SLAB_STORE_USER:
                _set_userword(sl, cachep, objp, None)
            if flags & SLAB_RED_ZONE:
                _write_word(sl, dbg_redzone1(cachep, objp), RED_INACTIVE)
                _write_word(sl, dbg_redzone2(cachep, objp), RED_INACTIVE)
            # with SLAB_POISON the constructor runs at allocation time instead
            if ctor is not None and not flags & SLAB_POISON:
                ctor(m, objp + cachep.obj_offset)
            if flags & SLAB_RED_ZONE:
                if _read_word(sl, dbg_redzone2(cachep, objp)) != RED_INACTIVE:
                    slab_error(sl, "cache_init_objs", cachep,
                               "constructor overwrote the end of an object")
                if _read_word(sl, dbg_redzone1(cachep, objp)) != RED_INACTIVE:
                    slab_error(sl, "cache_init_objs", cachep,
                               "constructor overwrote the start of an object")
    elif ctor is not None:
        for i in range(num):
            ctor(m, s_mem + i * size)
    slabp.bufctl = list(range(1, num + 1))
    slabp.bufctl[num - 1] = BUFCTL_END


def cache_grow(sl: Slab, cachep: KmemCache, flags: int, nodeid: int,
               pfn: int | None = None) -> bool:
    """cache_grow(): add one slab (pages *pfn*, or new ones) to the node's free list."""
    m = sl.m
    if flags & GFP_SLAB_BUG_MASK:
        _bug(sl, _LINE_CACHE_GROW)                 # BUG_ON(flags & GFP_SLAB_BUG_MASK)
        return False
    local_flags = flags & (GFP_CONSTRAINT_MASK | GFP_RECLAIM_MASK)
    l3 = cachep.nodelists[nodeid]
    assert l3 is not None
    offset = l3.colour_next
    l3.colour_next += 1
    if l3.colour_next >= cachep.colour:
        l3.colour_next = 0
    offset *= cachep.colour_off
    if not kmem_flagcheck(sl, cachep, flags):
        return False
    if pfn is None:
        pfn = kmem_getpages(sl, cachep, local_flags, nodeid)
        if pfn is None:
            return False
    addr = m.page_address(pfn)
    assert addr is not None, "slab pages are never highmem"
    slabp = alloc_slabmgmt(sl, cachep, pfn, addr, offset, local_flags & ~GFP_CONSTRAINT_MASK,
                           nodeid)
    if slabp is None:
        kmem_freepages(sl, cachep, pfn)
        return False
    slab_map_pages(sl, slabp)
    cache_init_objs(sl, cachep, slabp)
    l3.slabs_free[slabp] = None                    # list_add_tail
    slabp.on_list = l3.slabs_free
    l3.free_objects += cachep.num
    return True


def slab_get_obj(sl: Slab, cachep: KmemCache, slabp: SlabDesc, nodeid: int) -> int:
    """slab_get_obj(): take the first free object; its bufctl becomes BUFCTL_FREE."""
    idx = slabp.free
    slabp.inuse += 1
    bufctl = slabp.bufctl
    slabp.free = bufctl[idx]
    bufctl[idx] = BUFCTL_FREE
    return slabp.s_mem + cachep.buffer_size * idx


def slab_put_obj(sl: Slab, cachep: KmemCache, slabp: SlabDesc, objp: int, nodeid: int) -> bool:
    """slab_put_obj(): push the object on the free chain (the DEBUG double-free check)."""
    objnr = (objp - slabp.s_mem) // cachep.buffer_size
    bufctl = slabp.bufctl
    if (bufctl[objnr] + 1) & 0xFFFFFFFF <= SLAB_LIMIT + 1:
        _begin_report(sl)
        sl.m.printk(f"slab: double free detected in cache '{cachep.name}', objp "
                    f"{_p(sl, objp)}", level=3)
        _bug(sl, _LINE_SLAB_PUT_OBJ)
        return False
    bufctl[objnr] = slabp.free
    slabp.free = objnr
    slabp.inuse -= 1
    return True


def _list_del(slabp: SlabDesc) -> None:
    lst = slabp.on_list
    if lst is not None:
        del lst[slabp]
        slabp.on_list = None


def _list_add(lst: OrderedDict[SlabDesc, None], slabp: SlabDesc) -> None:
    lst[slabp] = None
    lst.move_to_end(slabp, last=False)
    slabp.on_list = lst


def _list_add_tail(lst: OrderedDict[SlabDesc, None], slabp: SlabDesc) -> None:
    lst[slabp] = None
    slabp.on_list = lst


def slab_destroy_debugcheck(sl: Slab, cachep: KmemCache, slabp: SlabDesc) -> None:
    """slab_destroy_debugcheck(): poison and red zones of every (free) object."""
    for i in range(cachep.num):
        objp = slabp.s_mem + i * cachep.buffer_size
        if cachep.flags & SLAB_POISON:
            check_poison_obj(sl, cachep, objp)
        if cachep.flags & SLAB_RED_ZONE:
            if _read_word(sl, dbg_redzone1(cachep, objp)) != RED_INACTIVE:
                slab_error(sl, "slab_destroy_debugcheck", cachep,
                           "start of a freed object was overwritten")
            if _read_word(sl, dbg_redzone2(cachep, objp)) != RED_INACTIVE:
                slab_error(sl, "slab_destroy_debugcheck", cachep,
                           "end of a freed object was overwritten")


def slab_destroy(sl: Slab, cachep: KmemCache, slabp: SlabDesc) -> None:
    """slab_destroy(): an unlinked empty slab's pages back, then its off-slab descriptor.
    # SIM: SLAB_TYPESAFE_BY_RCU (SLAB_DESTROY_BY_RCU) slabs are freed at once: no RCU."""
    if cachep.debug:
        slab_destroy_debugcheck(sl, cachep, slabp)
    if cachep.last_user:
        for i in range(cachep.num):
            cachep.last_user.pop(slabp.s_mem + i * cachep.buffer_size, None)
    kmem_freepages(sl, cachep, slabp.pfn)
    if slabp.mgmt is not None:
        assert cachep.slabp_cache is not None
        _kmem_cache_free_traced(sl, cachep.slabp_cache, slabp.mgmt, "slab_destroy")


def free_block(sl: Slab, cachep: KmemCache, objpp: list[int], node: int) -> None:
    """free_block(): objects back to their slabs; a slab that empties goes to the head of
    slabs_free, or is destroyed when the node already has more than free_limit free
    objects; a slab still in use goes to the tail of slabs_partial."""
    l3 = cachep.nodelists[node]
    assert l3 is not None
    slab_of = sl.slab_of
    va_base = sl.va_base
    for objp in objpp:
        slabp = slab_of[(objp - va_base) >> PAGE_SHIFT]
        lst = slabp.on_list
        if lst is not None:
            del lst[slabp]
            slabp.on_list = None
        if not slab_put_obj(sl, cachep, slabp, objp, node):
            _list_add_tail(l3.slabs_partial if slabp.inuse < cachep.num else l3.slabs_full,
                           slabp)
            continue
        l3.free_objects += 1
        if slabp.inuse == 0:
            if l3.free_objects > l3.free_limit:
                l3.free_objects -= cachep.num
                slab_destroy(sl, cachep, slabp)
            else:
                _list_add(l3.slabs_free, slabp)
        else:
            # the tail: maximum time for the slab's other objects to be freed too
            _list_add_tail(l3.slabs_partial, slabp)


def drain_freelist(sl: Slab, cachep: KmemCache, l3: KmemList3, tofree: int) -> int:
    """drain_freelist(): destroy up to *tofree* slabs from the tail of slabs_free."""
    nr_freed = 0
    while nr_freed < tofree and l3.slabs_free:
        slabp, _ = l3.slabs_free.popitem(last=True)
        slabp.on_list = None
        l3.free_objects -= cachep.num
        slab_destroy(sl, cachep, slabp)
        nr_freed += 1
    return nr_freed


def transfer_objects(to: ArrayCache, frm: ArrayCache, max_nr: int) -> int:
    """transfer_objects(): move the top entries of *frm* onto *to*, keeping their order."""
    nr = min(len(frm.entry), max_nr, to.limit - len(to.entry))
    if nr <= 0:
        return 0
    to.entry.extend(frm.entry[len(frm.entry) - nr:])
    del frm.entry[len(frm.entry) - nr:]
    to.touched = 1
    return nr


# ============================================================================ allocation


def cache_alloc_refill(sl: Slab, cachep: KmemCache, flags: int) -> int | None:
    """cache_alloc_refill(): fill this CPU's empty array from the shared array or the
    slabs (growing the cache if needed), then pop one object."""
    m = sl.m
    while True:
        node = m.cpu_to_node[m._cpu]
        ac = cachep.array[m._cpu]
        assert ac is not None
        batchcount = ac.batchcount
        if not ac.touched and batchcount > BATCHREFILL_LIMIT:
            # little recent activity: a partial refill avoids refill bouncing
            batchcount = BATCHREFILL_LIMIT
        l3 = cachep.nodelists[node]
        assert l3 is not None and not ac.entry
        if not (l3.shared is not None and transfer_objects(ac, l3.shared, batchcount)):
            entry = ac.entry
            while batchcount > 0:
                if l3.slabs_partial:
                    slabp = next(iter(l3.slabs_partial))
                else:
                    l3.free_touched = 1
                    if not l3.slabs_free:
                        break                                    # must_grow
                    slabp = next(iter(l3.slabs_free))
                while slabp.inuse < cachep.num and batchcount > 0:
                    batchcount -= 1
                    entry.append(slab_get_obj(sl, cachep, slabp, node))
                _list_del(slabp)
                _list_add(l3.slabs_full if slabp.free == BUFCTL_END else l3.slabs_partial,
                          slabp)
            l3.free_objects -= len(entry)
        if not ac.entry:
            x = cache_grow(sl, cachep, flags | GFP_THISNODE, node, None)
            ac = cachep.array[m._cpu]
            assert ac is not None
            if not x and not ac.entry:
                return None
            if not ac.entry:
                continue                                          # retry
        ac.touched = 1
        return ac.entry.pop()


def ____cache_alloc(sl: Slab, cachep: KmemCache, flags: int) -> int | None:
    """____cache_alloc(): pop this CPU's array (allochit), else refill (allocmiss)."""
    ac = cachep.array[sl.m._cpu]
    assert ac is not None
    if ac.entry:
        ac.touched = 1
        return ac.entry.pop()
    return cache_alloc_refill(sl, cachep, flags)


def ____cache_alloc_node(sl: Slab, cachep: KmemCache, flags: int, nodeid: int) -> int | None:
    """____cache_alloc_node(): one object straight from node *nodeid*'s slabs."""
    l3 = cachep.nodelists[nodeid]
    assert l3 is not None
    while True:
        if l3.slabs_partial:
            slabp = next(iter(l3.slabs_partial))
        else:
            l3.free_touched = 1
            if not l3.slabs_free:
                if cache_grow(sl, cachep, flags | GFP_THISNODE, nodeid, None):
                    continue
                return fallback_alloc(sl, cachep, flags)
            slabp = next(iter(l3.slabs_free))
        obj = slab_get_obj(sl, cachep, slabp, nodeid)
        l3.free_objects -= 1
        _list_del(slabp)
        _list_add(l3.slabs_full if slabp.free == BUFCTL_END else l3.slabs_partial, slabp)
        return obj


def fallback_alloc(sl: Slab, cachep: KmemCache, flags: int) -> int | None:
    """fallback_alloc(): any node with free objects (zonelist order), else new pages
    wherever the page allocator finds them. # SIM: no cpusets or mempolicies: the local
    node's zonelist is used."""
    m = sl.m
    if flags & __GFP_THISNODE:
        return None
    local = m.cpu_to_node[m._cpu]
    high = m.gfp_zone(flags)
    local_flags = flags & (GFP_CONSTRAINT_MASK | GFP_RECLAIM_MASK)
    while True:
        obj = None
        for zone in m.nodes[local].node_zonelists[0]:
            if zone.idx > high:
                continue
            l3 = cachep.nodelists[zone.node]
            if l3 is not None and l3.free_objects:
                obj = ____cache_alloc_node(sl, cachep, flags | GFP_THISNODE, zone.node)
                if obj is not None:
                    return obj
        pfn = kmem_getpages(sl, cachep, local_flags, local)
        if pfn is None:
            return None
        nid = m.page_zone(pfn).node
        if not cache_grow(sl, cachep, flags, nid, pfn):
            return None
        obj = ____cache_alloc_node(sl, cachep, flags | GFP_THISNODE, nid)
        if obj is not None:
            return obj


def __do_cache_alloc(sl: Slab, cachep: KmemCache, flags: int) -> int | None:
    """__do_cache_alloc() (NUMA): this CPU's array, else the local node's slabs.
    # SIM: no PF_SPREAD_SLAB / PF_MEMPOLICY tasks, so alternate_node_alloc() never applies."""
    objp = ____cache_alloc(sl, cachep, flags)
    if objp is None:
        m = sl.m
        objp = ____cache_alloc_node(sl, cachep, flags, m.cpu_to_node[m._cpu])
    return objp


def cache_alloc_debugcheck_after(sl: Slab, cachep: KmemCache, flags: int, objp: int,
                                 caller: str | None) -> int:
    """cache_alloc_debugcheck_after(): poison check, red zones active, user word; returns
    the address of the object proper (objp + obj_offset)."""
    m = sl.m
    if cachep.flags & SLAB_POISON:
        check_poison_obj(sl, cachep, objp)
        poison_obj(sl, cachep, objp, POISON_INUSE)
    if cachep.flags & SLAB_STORE_USER:
        _set_userword(sl, cachep, objp, caller or python_caller())
    if cachep.flags & SLAB_RED_ZONE:
        rz1 = _read_word(sl, dbg_redzone1(cachep, objp))
        rz2 = _read_word(sl, dbg_redzone2(cachep, objp))
        if rz1 != RED_INACTIVE or rz2 != RED_INACTIVE:
            slab_error(sl, "cache_alloc_debugcheck_after", cachep,
                       "double free, or memory outside object was overwritten")
            m.printk(f"{_p(sl, objp)}: redzone 1:0x{rz1:x}, redzone 2:0x{rz2:x}", level=3)
        _write_word(sl, dbg_redzone1(cachep, objp), RED_ACTIVE)
        _write_word(sl, dbg_redzone2(cachep, objp), RED_ACTIVE)
    objp += cachep.obj_offset
    if cachep.ctor is not None and cachep.flags & SLAB_POISON:
        cachep.ctor(m, objp)
    return objp


def _alloc_done(sl: Slab, cachep: KmemCache, flags: int, objp: int | None,
                caller: str | None) -> int | None:
    # the tail of __cache_alloc / __cache_alloc_node: debug checks, __GFP_ZERO, bookkeeping
    if objp is None:
        return None
    if cachep.debug:
        objp = cache_alloc_debugcheck_after(sl, cachep, flags, objp, caller)
    cachep.live.add(objp)
    if flags & __GFP_ZERO:
        maccess.kernel_memset(sl.m, objp, 0, cachep.obj_size)
    return objp


def __cache_alloc(sl: Slab, cachep: KmemCache, flags: int, caller: str | None) -> int | None:
    """__cache_alloc(): kmem_cache_alloc() without the tracepoint."""
    m = sl.m
    flags &= m.gfp_allowed_mask
    m.might_alloc(flags)
    objp = __do_cache_alloc(sl, cachep, flags)
    return _alloc_done(sl, cachep, flags, objp, caller)


def __cache_alloc_node(sl: Slab, cachep: KmemCache, flags: int, nodeid: int,
                       caller: str | None) -> int | None:
    """__cache_alloc_node(): kmem_cache_alloc_node() without the tracepoint."""
    m = sl.m
    flags &= m.gfp_allowed_mask
    m.might_alloc(flags)
    local = m.cpu_to_node[m._cpu]
    if nodeid == -1:
        nodeid = local
    if not 0 <= nodeid < m.nr_nodes:
        raise SlabUsageError(f"kmem_cache_alloc_node({cachep.name}): node {nodeid} does not "
                             f"exist (machine has {m.nr_nodes})")
    objp: int | None = None
    if cachep.nodelists[nodeid] is None:
        objp = fallback_alloc(sl, cachep, flags)          # node not bootstrapped yet
    else:
        if nodeid == local:
            objp = ____cache_alloc(sl, cachep, flags)
        if objp is None:
            objp = ____cache_alloc_node(sl, cachep, flags, nodeid)
    return _alloc_done(sl, cachep, flags, objp, caller)


def _trace_alloc(sl: Slab, cachep: KmemCache, objp: int | None, req: int, flags: int,
                 node: int, cache_event: bool, caller: str | None) -> None:
    m = sl.m
    tp = sl._tp_kca if cache_event else sl._tp_kmalloc
    fields: dict[str, object] = {"call_site": caller or python_caller(), "ptr": objp}
    if cache_event:
        fields["name"] = cachep.name
    fields.update(bytes_req=req, bytes_alloc=cachep.buffer_size, gfp_flags=flags, node=node,
                  accounted=bool(flags & __GFP_ACCOUNT or cachep.flags & SLAB_ACCOUNT)
                  if cache_event else bool(flags & __GFP_ACCOUNT))
    tp.emit(m.trace_ctx(), **fields)


def _kmem_cache_alloc_node_traced(sl: Slab, cachep: KmemCache, flags: int, nodeid: int,
                                  caller: str) -> int | None:
    # kmem_cache_alloc() (nodeid -1) or kmem_cache_alloc_node() called by the allocator
    # itself (call site *caller*)
    site = f"{caller}+0x0/0x0"
    if nodeid == -1:
        objp = __cache_alloc(sl, cachep, flags, site)
    else:
        objp = __cache_alloc_node(sl, cachep, flags, nodeid, site)
    if sl._tp_kca.enabled:
        _trace_alloc(sl, cachep, objp, cachep.obj_size, flags, nodeid, True, site)
    return objp


# ============================================================================ free


def cache_free_debugcheck(sl: Slab, cachep: KmemCache, objp: int, caller: str | None) -> int:
    """cache_free_debugcheck() for a live object: red zones inactive, user word, poison;
    returns the buffer address (objp - obj_offset)."""
    objp -= cachep.obj_offset
    if cachep.flags & SLAB_RED_ZONE:
        verify_redzone_free(sl, cachep, objp)
        _write_word(sl, dbg_redzone1(cachep, objp), RED_INACTIVE)
        _write_word(sl, dbg_redzone2(cachep, objp), RED_INACTIVE)
    if cachep.flags & SLAB_STORE_USER:
        _set_userword(sl, cachep, objp, caller or python_caller())
    if cachep.flags & SLAB_POISON:
        poison_obj(sl, cachep, objp, POISON_FREE)
    return objp


def _check_free(sl: Slab, cachep: KmemCache | None, objp: int, fn: str) -> SlabDesc | None:
    """The checks that make a bad free harmless: the slab of *objp*, or None after the
    kernel's report. # SIM: a non-debug kernel checks none of this (a bad free corrupts its
    lists); the model always checks, in the order of a CONFIG_DEBUG_SLAB kernel, but checks
    the object index before the red zones around a bad pointer, and refuses the free."""
    m = sl.m
    if not m.virt_addr_valid(objp):
        if fn == "kfree":
            _begin_report(sl)
            m.printk(f"kfree_debugcheck: out of range ptr {objp:x}h.", level=3)
            _bug(sl, _LINE_KFREE_DEBUGCHECK)
        else:
            _end_reports(sl)
            maccess.page_fault_oops(m, objp, False)      # virt_to_head_page() of it
            if m.strict:
                raise KernelBug(m.debug.reports[-1])
        return None
    slabp = sl.slab_of.get((objp - sl.va_base) >> PAGE_SHIFT)
    if slabp is None:
        _bug(sl, _LINE_PAGE_GET_CACHE)                   # page_get_cache(): !PageSlab
        return None
    c = slabp.cache
    if cachep is not None and c is not cachep:
        _bug(sl, _LINE_FREE_DEBUGCHECK_CACHE)            # virt_to_cache(objp) != cachep
        return None
    off = objp - c.obj_offset - slabp.s_mem
    if off < 0 or off % c.buffer_size or off // c.buffer_size >= c.num:
        _bug(sl, _LINE_FREE_DEBUGCHECK_OBJNR)            # objnr >= num, or not an object
        return None
    if objp not in c.live:
        if c.flags & SLAB_RED_ZONE and not verify_redzone_free(sl, c, objp - c.obj_offset):
            # SIM: the kernel goes on after this report and queues the object twice
            _end_reports(sl)
            return None
        # SIM: what slab_put_obj()'s DEBUG check reports when the object reaches its slab
        # again, reported at once (tracepoints of refused frees are not emitted)
        _begin_report(sl)
        m.printk(f"slab: double free detected in cache '{c.name}', objp "
                 f"{_p(sl, objp - c.obj_offset)}", level=3)
        _bug(sl, _LINE_SLAB_PUT_OBJ)
        return None
    return slabp


def cache_flusharray(sl: Slab, cachep: KmemCache, ac: ArrayCache) -> None:
    """cache_flusharray(): the batchcount oldest entries to the shared array (as far as it
    has room) or back to their slabs."""
    m = sl.m
    batchcount = ac.batchcount
    node = m.cpu_to_node[m._cpu]
    l3 = cachep.nodelists[node]
    assert l3 is not None
    shared = l3.shared
    if shared is not None and shared.limit - len(shared.entry) > 0:
        batchcount = min(batchcount, shared.limit - len(shared.entry))
        shared.entry.extend(ac.entry[:batchcount])
    else:
        free_block(sl, cachep, ac.entry[:batchcount], node)
    del ac.entry[:batchcount]


def cache_free_alien(sl: Slab, cachep: KmemCache, objp: int) -> bool:
    """cache_free_alien(): an object of another node goes to that node's alien array (or
    straight back to its slab); False for a local object."""
    m = sl.m
    slabp = sl.slab_of[(objp - sl.va_base) >> PAGE_SHIFT]
    nodeid = slabp.nodeid
    node = m.cpu_to_node[m._cpu]
    if nodeid == node:
        return False
    l3 = cachep.nodelists[node]
    assert l3 is not None
    alien = l3.alien.caches[nodeid] if l3.alien is not None else None
    if alien is not None:
        if len(alien.entry) == alien.limit:
            __drain_alien_cache(sl, cachep, alien, nodeid)
        alien.entry.append(objp)
    else:
        free_block(sl, cachep, [objp], nodeid)
    return True


def __cache_free(sl: Slab, cachep: KmemCache, objp: int, caller: str | None) -> None:
    """__cache_free(): a checked live object to this CPU's array (freehit), flushing a full
    array first (freemiss)."""
    m = sl.m
    cachep.live.discard(objp)
    if cachep.debug:
        objp = cache_free_debugcheck(sl, cachep, objp, caller)
    if sl.numa and cache_free_alien(sl, cachep, objp):
        return
    ac = cachep.array[m._cpu]
    assert ac is not None
    if len(ac.entry) >= ac.limit:
        cache_flusharray(sl, cachep, ac)
    ac.entry.append(objp)


def _kmem_cache_free_traced(sl: Slab, cachep: KmemCache, objp: int, caller: str) -> None:
    # kmem_cache_free() called by the allocator itself (the object is known to be good)
    __cache_free(sl, cachep, objp, f"{caller}+0x0/0x0")
    if sl._tp_kcf.enabled:
        sl._tp_kcf.emit(sl.m.trace_ctx(), call_site=f"{caller}+0x0/0x0", ptr=objp,
                        name=cachep.name)


def _kfree_internal(sl: Slab, objp: int | None, caller: str) -> None:
    # kfree() of the allocator's own kmalloc'ed structures
    if sl._tp_kfree.enabled:
        sl._tp_kfree.emit(sl.m.trace_ctx(), call_site=f"{caller}+0x0/0x0", ptr=objp)
    if objp is None or objp <= ZERO_SIZE_PTR:
        return
    slabp = sl.slab_of[(objp - sl.va_base) >> PAGE_SHIFT]
    __cache_free(sl, slabp.cache, objp, f"{caller}+0x0/0x0")


def __drain_alien_cache(sl: Slab, cachep: KmemCache, ac: ArrayCache, node: int) -> None:
    """__drain_alien_cache(): an alien array to its node's shared array and slabs."""
    rl3 = cachep.nodelists[node]
    assert rl3 is not None
    if ac.entry:
        if rl3.shared is not None:
            transfer_objects(rl3.shared, ac, ac.limit)
        free_block(sl, cachep, list(ac.entry), node)
        ac.entry.clear()


def drain_alien_cache(sl: Slab, cachep: KmemCache, alien: AlienCache) -> None:
    for i, ac in enumerate(alien.caches):
        if ac is not None:
            __drain_alien_cache(sl, cachep, ac, i)


def reap_alien(sl: Slab, cachep: KmemCache, l3: KmemList3, cpu: int) -> None:
    """reap_alien(): drain this CPU's current reap_node alien array."""
    if l3.alien is not None:
        ac = l3.alien.caches[sl.reap_node[cpu]]
        if ac is not None and ac.entry:
            __drain_alien_cache(sl, cachep, ac, sl.reap_node[cpu])


# ============================================================================ maintenance


def drain_array(sl: Slab, cachep: KmemCache, l3: KmemList3, ac: ArrayCache | None, force: bool,
                node: int) -> None:
    """drain_array(): a touched array is only marked untouched (unless forced); otherwise
    about a fifth of its limit (everything when forced) goes back to the slabs."""
    if ac is None or not ac.entry:
        return
    if ac.touched and not force:
        ac.touched = 0
        return
    tofree = len(ac.entry) if force else (ac.limit + 4) // 5
    if tofree > len(ac.entry):
        tofree = (len(ac.entry) + 1) // 2
    free_block(sl, cachep, ac.entry[:tofree], node)
    del ac.entry[:tofree]


def do_drain(sl: Slab, cachep: KmemCache, cpu: int) -> None:
    """do_drain(): everything in one CPU's array back to the slabs."""
    ac = cachep.array[cpu]
    if ac is not None and ac.entry:
        free_block(sl, cachep, list(ac.entry), sl.m.cpu_to_node[cpu])
        ac.entry.clear()


def drain_cpu_caches(sl: Slab, cachep: KmemCache) -> None:
    """drain_cpu_caches(): every CPU array (do_drain() runs on each CPU), alien array and
    shared array."""
    m = sl.m
    saved = m.current_cpu
    try:
        for cpu in sl.online_cpus:
            m.current_cpu = cpu
            do_drain(sl, cachep, cpu)
    finally:
        m.current_cpu = saved
    for l3 in cachep.nodelists:
        if l3 is not None and l3.alien is not None:
            drain_alien_cache(sl, cachep, l3.alien)
    for node, l3 in enumerate(cachep.nodelists):
        if l3 is not None:
            drain_array(sl, cachep, l3, l3.shared, True, node)


def __cache_shrink(sl: Slab, cachep: KmemCache) -> int:
    """__cache_shrink(): drain all arrays, destroy all free slabs; 1 if slabs remain."""
    drain_cpu_caches(sl, cachep)
    ret = 0
    for l3 in cachep.nodelists:
        if l3 is None:
            continue
        drain_freelist(sl, cachep, l3, l3.free_objects)
        ret += bool(l3.slabs_full or l3.slabs_partial)
    return 1 if ret else 0


def cache_reap(sl: Slab, cpu: int) -> None:
    """cache_reap(): the per-CPU reap work (every REAPTIMEOUT_CPUC in the kernel): drain
    the alien arrays round-robin and this CPU's arrays; every REAPTIMEOUT_LIST3 per node
    also the shared array and, unless slabs_free was used meanwhile, a fifth of the free
    slabs' worth of free_limit."""
    m = sl.m
    node = m.cpu_to_node[cpu]
    jiffies = sl.jiffies()
    for searchp in reversed(sl.slab_caches):
        l3 = searchp.nodelists[node]
        if l3 is None:
            continue
        reap_alien(sl, searchp, l3, cpu)
        drain_array(sl, searchp, l3, searchp.array[cpu], False, node)
        if l3.next_reap > jiffies:                       # time_after(next_reap, jiffies)
            continue
        l3.next_reap = jiffies + REAPTIMEOUT_LIST3
        drain_array(sl, searchp, l3, l3.shared, False, node)
        if l3.free_touched:
            l3.free_touched = 0
        else:
            drain_freelist(sl, searchp, l3, (l3.free_limit + 5 * searchp.num - 1)
                           // (5 * searchp.num))
    next_reap_node(sl, cpu)


def init_reap_node(sl: Slab, cpu: int) -> None:
    """init_reap_node(): the node after this CPU's, wrapping."""
    node = sl.m.cpu_to_node[cpu] + 1
    sl.reap_node[cpu] = node if node < sl.m.nr_nodes else 0


def next_reap_node(sl: Slab, cpu: int) -> None:
    node = sl.reap_node[cpu] + 1
    sl.reap_node[cpu] = node if node < sl.m.nr_nodes else 0


# ============================================================================ set-up and tuning


def alloc_arraycache(sl: Slab, node: int, entries: int, batchcount: int,
                     gfp: int) -> ArrayCache | None:
    """alloc_arraycache(): an array of *entries* pointers, kmalloc'ed on *node*."""
    memsize = sl.bytes_per_word * entries + sl.sizeof_array_cache
    obj = _kmalloc_node_internal(sl, memsize, gfp, node, "alloc_arraycache")
    if obj is None:
        return None
    return ArrayCache(entries, batchcount, obj)


def alloc_alien_cache(sl: Slab, node: int, limit: int, gfp: int) -> AlienCache | None:
    """alloc_alien_cache(): per other node an array of 12 (or 1) entries."""
    if limit > 1:
        limit = 12
    m = sl.m
    obj = _kmalloc_node_internal(sl, sl.bytes_per_word * m.nr_nodes, gfp | __GFP_ZERO, node,
                                 "alloc_alien_cache")
    if obj is None:
        return None
    caches: list[ArrayCache | None] = [None] * m.nr_nodes
    for i in range(m.nr_nodes):
        if i == node:
            continue
        caches[i] = alloc_arraycache(sl, node, limit, BAAD_BATCH, gfp)
        if caches[i] is None:
            for ac in caches:
                if ac is not None:
                    _kfree_internal(sl, ac.obj, "alloc_alien_cache")
            _kfree_internal(sl, obj, "alloc_alien_cache")
            return None
    return AlienCache(caches, obj)


def free_alien_cache(sl: Slab, alien: AlienCache | None) -> None:
    if alien is None:
        return
    for ac in alien.caches:
        if ac is not None:
            _kfree_internal(sl, ac.obj, "free_alien_cache")
    _kfree_internal(sl, alien.obj, "free_alien_cache")


def _next_reap(sl: Slab, cachep: KmemCache) -> int:
    # jiffies + REAPTIMEOUT_LIST3 + ((unsigned long)cachep) % REAPTIMEOUT_LIST3
    # SIM: the static cache_cache counts as address 0
    return sl.jiffies() + REAPTIMEOUT_LIST3 + (cachep.self_obj or 0) % REAPTIMEOUT_LIST3


def set_up_list3s(sl: Slab, cachep: KmemCache) -> None:
    """set_up_list3s(): the static initkmem_list3 entries for every online node."""
    for node in range(sl.m.nr_nodes):
        l3 = KmemList3(None)
        l3.next_reap = _next_reap(sl, cachep)
        cachep.nodelists[node] = l3


def alloc_kmemlist(sl: Slab, cachep: KmemCache, gfp: int) -> int:
    """alloc_kmemlist(): per node the shared array (replaced), the alien arrays (kept once
    set) and free_limit; a kmem_list3 for nodes that have none."""
    m = sl.m
    for node in range(m.nr_nodes):
        new_alien = None
        if sl.use_alien_caches:
            new_alien = alloc_alien_cache(sl, node, cachep.limit, gfp)
            if new_alien is None:
                return -_ENOMEM
        new_shared = None
        if cachep.shared:
            new_shared = alloc_arraycache(sl, node, cachep.shared * cachep.batchcount,
                                          BAAD_BATCH, gfp)
            if new_shared is None:
                free_alien_cache(sl, new_alien)
                return -_ENOMEM
        l3 = cachep.nodelists[node]
        free_limit = (1 + sl.nr_cpus_node[node]) * cachep.batchcount + cachep.num
        if l3 is not None:
            shared = l3.shared
            if shared is not None:
                free_block(sl, cachep, list(shared.entry), node)
                shared.entry.clear()
            l3.shared = new_shared
            if l3.alien is None:
                l3.alien = new_alien
                new_alien = None
            l3.free_limit = free_limit
            if shared is not None:
                _kfree_internal(sl, shared.obj, "alloc_kmemlist")
            free_alien_cache(sl, new_alien)
            continue
        obj = _kmalloc_node_internal(sl, sl.sizeof_kmem_list3, gfp, node, "alloc_kmemlist")
        if obj is None:
            free_alien_cache(sl, new_alien)
            if new_shared is not None:
                _kfree_internal(sl, new_shared.obj, "alloc_kmemlist")
            return -_ENOMEM
        l3 = KmemList3(obj)
        l3.next_reap = _next_reap(sl, cachep)
        l3.shared = new_shared
        l3.alien = new_alien
        l3.free_limit = free_limit
        cachep.nodelists[node] = l3
    return 0


def do_tune_cpucache(sl: Slab, cachep: KmemCache, limit: int, batchcount: int, shared: int,
                     gfp: int) -> int:
    """do_tune_cpucache(): new per-CPU arrays swapped in, the old ones' objects freed,
    then alloc_kmemlist(). 0 or -ENOMEM."""
    m = sl.m
    # struct ccupdate_struct { cachep; new[NR_CPUS] }, a temporary kzalloc
    new = _kmalloc_node_internal(sl, sl.bytes_per_word * (1 + sl.nr_cpus_config),
                                 gfp | __GFP_ZERO, -1, "do_tune_cpucache")
    if new is None:
        return -_ENOMEM
    fresh: dict[int, ArrayCache] = {}
    for cpu in sl.online_cpus:
        ac = alloc_arraycache(sl, m.cpu_to_node[cpu], limit, batchcount, gfp)
        if ac is None:
            for old in fresh.values():
                _kfree_internal(sl, old.obj, "do_tune_cpucache")
            _kfree_internal(sl, new, "do_tune_cpucache")
            return -_ENOMEM
        fresh[cpu] = ac
    swapped: dict[int, ArrayCache | None] = {}
    for cpu, ac in fresh.items():                       # on_each_cpu(do_ccupdate_local)
        swapped[cpu] = cachep.array[cpu]
        cachep.array[cpu] = ac
    cachep.batchcount = batchcount
    cachep.limit = limit
    cachep.shared = shared
    for cpu, ccold in swapped.items():
        if ccold is None:
            continue
        free_block(sl, cachep, list(ccold.entry), m.cpu_to_node[cpu])
        ccold.entry.clear()
        _kfree_internal(sl, ccold.obj, "do_tune_cpucache")
    _kfree_internal(sl, new, "do_tune_cpucache")
    return alloc_kmemlist(sl, cachep, gfp)


def enable_cpucache(sl: Slab, cachep: KmemCache, gfp: int) -> int:
    """enable_cpucache(): the default limit, batchcount and shared factor by object size."""
    if cachep.buffer_size > 131072:
        limit = 1
    elif cachep.buffer_size > PAGE_SIZE:
        limit = 8
    elif cachep.buffer_size > 1024:
        limit = 24
    elif cachep.buffer_size > 256:
        limit = 54
    else:
        limit = 120
    shared = 8 if cachep.buffer_size <= PAGE_SIZE and sl.m.nr_cpus > 1 else 0
    if cachep.debug:
        # SIM: a DEBUG kernel caps every cache; the model caps its debug caches only
        limit = min(limit, 32)
    err = do_tune_cpucache(sl, cachep, limit, (limit + 1) // 2, shared, gfp)
    if err:
        sl.m.printk(f"enable_cpucache failed for {cachep.name}, error {-err}.", level=3)
    return err


def setup_cpu_cache(sl: Slab, cachep: KmemCache, gfp: int) -> int:
    """setup_cpu_cache(): final arrays once FULL; during bootstrap a one-entry array (static
    for the very first cache) and static or kmalloc'ed kmem_list3s."""
    m = sl.m
    if sl.g_cpucache_up == FULL:
        return enable_cpucache(sl, cachep, gfp)
    cpu = m._cpu
    if sl.g_cpucache_up == NONE:
        # the first cache serves kmalloc(sizeof(struct arraycache_init)): static array
        cachep.array[cpu] = ArrayCache(BOOT_CPUCACHE_ENTRIES, 1, None)   # initarray_generic
        set_up_list3s(sl, cachep)                                         # SIZE_AC
        sl.g_cpucache_up = PARTIAL_L3 if sl.index_ac == sl.index_l3 else PARTIAL_AC
    else:
        obj = _kmalloc_node_internal(sl, sl.sizeof_arraycache_init, gfp, -1,
                                     "setup_cpu_cache")
        assert obj is not None, "bootstrap allocation failed"
        cachep.array[cpu] = ArrayCache(BOOT_CPUCACHE_ENTRIES, 1, obj)
        if sl.g_cpucache_up == PARTIAL_AC:
            set_up_list3s(sl, cachep)                                     # SIZE_L3
            sl.g_cpucache_up = PARTIAL_L3
        else:
            for node in range(m.nr_nodes):
                lobj = _kmalloc_node_internal(sl, sl.sizeof_kmem_list3, gfp, node,
                                              "setup_cpu_cache")
                assert lobj is not None, "bootstrap allocation failed"   # BUG_ON
                cachep.nodelists[node] = KmemList3(lobj)
    l3 = cachep.nodelists[m.cpu_to_node[cpu]]
    assert l3 is not None
    l3.next_reap = _next_reap(sl, cachep)
    ac = cachep.array[cpu]
    assert ac is not None
    ac.entry.clear()
    ac.limit = BOOT_CPUCACHE_ENTRIES
    ac.batchcount = 1
    ac.touched = 0
    cachep.batchcount = 1
    cachep.limit = BOOT_CPUCACHE_ENTRIES
    return 0


def cpuup_prepare(sl: Slab, cpu: int) -> int:
    """cpuup_prepare() (CPU_UP_PREPARE): kmem_list3, head array, shared and alien arrays
    of every cache for a CPU coming up."""
    m = sl.m
    node = m.cpu_to_node[cpu]
    chain = list(reversed(sl.slab_caches))
    for cachep in chain:
        l3 = cachep.nodelists[node]
        if l3 is None:
            obj = _kmalloc_node_internal(sl, sl.sizeof_kmem_list3, GFP_KERNEL, node,
                                         "cpuup_prepare")
            if obj is None:
                return -_ENOMEM
            l3 = cachep.nodelists[node] = KmemList3(obj)
            l3.next_reap = _next_reap(sl, cachep)
        l3.free_limit = (1 + sl.nr_cpus_node[node]) * cachep.batchcount + cachep.num
    for cachep in chain:
        nc = alloc_arraycache(sl, node, cachep.limit, cachep.batchcount, GFP_KERNEL)
        if nc is None:
            return -_ENOMEM
        shared = None
        if cachep.shared:
            shared = alloc_arraycache(sl, node, cachep.shared * cachep.batchcount, BAAD_BATCH,
                                      GFP_KERNEL)
            if shared is None:
                return -_ENOMEM
        alien = None
        if sl.use_alien_caches:
            alien = alloc_alien_cache(sl, node, cachep.limit, GFP_KERNEL)
            if alien is None:
                return -_ENOMEM
        cachep.array[cpu] = nc
        l3 = cachep.nodelists[node]
        assert l3 is not None
        if l3.shared is None:
            l3.shared, shared = shared, None
        if l3.alien is None:
            l3.alien, alien = alien, None
        if shared is not None:
            _kfree_internal(sl, shared.obj, "cpuup_prepare")
        free_alien_cache(sl, alien)
    return 0


def __kmem_cache_destroy(sl: Slab, cachep: KmemCache) -> None:
    """__kmem_cache_destroy(): kfree the arrays and kmem_list3s, free the structure."""
    for cpu in sl.online_cpus:
        ac = cachep.array[cpu]
        cachep.array[cpu] = None
        if ac is not None:
            _kfree_internal(sl, ac.obj, "__kmem_cache_destroy")
    for node, l3 in enumerate(cachep.nodelists):
        if l3 is None:
            continue
        cachep.nodelists[node] = None
        if l3.shared is not None:
            _kfree_internal(sl, l3.shared.obj, "__kmem_cache_destroy")
        free_alien_cache(sl, l3.alien)
        _kfree_internal(sl, l3.obj, "__kmem_cache_destroy")
    if cachep.self_obj is not None:
        _kmem_cache_free_traced(sl, sl.cache_cache, cachep.self_obj, "__kmem_cache_destroy")
        cachep.self_obj = None


# ============================================================================ kmalloc


def __find_general_cachep(sl: Slab, size: int, gfpflags: int) -> KmemCache | None:
    """__find_general_cachep(): the first general cache of at least *size* bytes (the DMA
    one for GFP_DMA); None above the largest. (Size 0 is handled by the callers.)"""
    i = bisect_left(sl.cs_sizes, size)
    if i == len(sl.cs_sizes):
        return None
    cs = sl.malloc_sizes[i]
    if gfpflags & GFP_DMA and sl.zone_dma:
        return cs.cs_dmacachep
    return cs.cs_cachep


kmem_find_general_cachep = __find_general_cachep


def _kmalloc_node_internal(sl: Slab, size: int, gfp: int, node: int,
                           caller: str) -> int | None:
    # __kmalloc_node() called by the allocator itself (-1: kmalloc())
    cachep = __find_general_cachep(sl, size, gfp)
    if cachep is None:
        return None
    site = f"{caller}+0x0/0x0"
    if node == -1:
        objp = __cache_alloc(sl, cachep, gfp, site)
    else:
        objp = __cache_alloc_node(sl, cachep, gfp, node, site)
    if sl._tp_kmalloc.enabled:
        _trace_alloc(sl, cachep, objp, size, gfp, node, False, site)
    return objp


# ============================================================================ the allocator


class Slab(SlabAllocator):
    """The classic SLAB allocator of one machine (``m.slab`` when ``slab=slab``)."""

    kind = "slab"

    def __init__(self, m: Machine) -> None:
        super().__init__(m)
        bits = m.arch.bits
        self.bytes_per_word = bits // 8
        self.ptr_hex = 2 * self.bytes_per_word
        #: sizeof(struct slab): list_head, colouroff, s_mem, inuse, free, nodeid (+padding)
        self.sizeof_slab = 48 if bits == 64 else 28
        #: sizeof(struct array_cache): four unsigned ints and a spinlock, entry[] aligned
        self.sizeof_array_cache = 24 if bits == 64 else 20
        #: sizeof(struct arraycache_init): the array_cache and BOOT_CPUCACHE_ENTRIES entries
        self.sizeof_arraycache_init = self.sizeof_array_cache + \
            BOOT_CPUCACHE_ENTRIES * self.bytes_per_word
        #: sizeof(struct kmem_list3): three list_heads, free_objects, free_limit,
        #: colour_next, list_lock, shared, alien, next_reap, free_touched
        self.sizeof_kmem_list3 = 104 if bits == 64 else 56
        #: NR_CPUS of the kernel build (x86_64_defconfig 64, i386_defconfig 8). # SIM: raised
        #: to the machine's CPU count when it has more
        self.nr_cpus_config = max(m.nr_cpus, 64 if bits == 64 else 8)
        #: offsetof(struct kmem_cache, nodelists) (non-debug 2.6.32 layout)
        self.offsetof_nodelists = self.nr_cpus_config * self.bytes_per_word + \
            (104 if bits == 64 else 72)
        self.va_base = m.arch.page_offset - m.arch.dram_base
        self.g_cpucache_up = NONE
        self.slab_early_init = True
        self.slab_break_gfp_order = BREAK_GFP_ORDER_LO
        self.use_alien_caches = m.nr_nodes > 1
        #: nr_online_nodes > 1: frees check the object's node (cache_free_alien)
        self.numa = m.nr_nodes > 1
        self.zone_dma = m.arch.zone_idx(ZoneType.ZONE_DMA) is not None
        self.malloc_sizes = [CacheSizes(s) for s in kmalloc_sizes(m)]
        self.cs_sizes = [cs.cs_size for cs in self.malloc_sizes]
        #: INDEX_AC / INDEX_L3: the general caches of struct arraycache_init / kmem_list3
        self.index_ac = bisect_left(self.cs_sizes, self.sizeof_arraycache_init)
        self.index_l3 = bisect_left(self.cs_sizes, self.sizeof_kmem_list3)
        #: page_set_slab(): every page of a slab -> its descriptor
        self.slab_of: dict[int, SlabDesc] = {}
        self.online_cpus: list[int] = []
        self.reap_node = [0] * m.nr_cpus
        self.nr_cpus_node = [sum(1 for c in range(m.nr_cpus) if m.cpu_to_node[c] == n)
                             for n in range(m.nr_nodes)]
        self.cache_cache = KmemCache("kmem_cache", m.nr_cpus, m.nr_nodes)
        self._report_start: int | None = None
        self._tp_kca = m.tp.kmem_cache_alloc
        self._tp_kcf = m.tp.kmem_cache_free
        self._tp_kmalloc = m.tp.kmalloc
        self._tp_kfree = m.tp.kfree
        # general caches by index for the kmalloc fast path (filled at boot)
        self._cs_cache: list[KmemCache] = []
        self._cs_dma: list[KmemCache] = []

    def jiffies(self) -> int:
        """jiffies at HZ=250. # SIM: counted from 0 at boot (not INITIAL_JIFFIES)."""
        return self.m.clock_ns * HZ // 1_000_000_000

    def slab_is_available(self) -> bool:
        return self.g_cpucache_up >= EARLY

    # ------------------------------------------------------------------ boot
    def kmem_cache_init(self) -> None:
        """kmem_cache_init() and kmem_cache_init_late(), then the secondary CPUs coming up
        (cpuup_prepare) and cpucache_init()."""
        m = self.m
        boot_cpu = m._cpu
        self.online_cpus = [boot_cpu]
        if m.totalram_pages > (32 << 20) >> PAGE_SHIFT:
            self.slab_break_gfp_order = BREAK_GFP_ORDER_HI
        # 1) cache_cache: static, with a static one-entry array and static kmem_list3s
        cc = self.cache_cache
        line = cache_line_size(m)
        self.slab_caches.append(cc)
        cc.colour_off = line
        cc.array[boot_cpu] = ArrayCache(BOOT_CPUCACHE_ENTRIES, 1, None)    # initarray_cache
        set_up_list3s(self, cc)
        cc.batchcount = 1
        cc.limit = BOOT_CPUCACHE_ENTRIES
        cc.shared = 1
        size = self.offsetof_nodelists + m.nr_nodes * self.bytes_per_word
        cc.buffer_size = cc.size = ALIGN(size, line)
        cc.obj_size = cc.object_size = cc.buffer_size
        cc.align = line
        left_over = 0
        for order in range(MAX_ORDER):
            cc.num, left_over = cache_estimate(order, cc.buffer_size, line, 0,
                                               self.sizeof_slab)
            if cc.num:
                cc.gfporder = order
                break
        cc.colour = left_over // cc.colour_off
        cc.slab_size = ALIGN(cc.num * SIZEOF_BUFCTL + self.sizeof_slab, line)
        # 2) the caches of struct arraycache_init and struct kmem_list3 first
        sizes = self.malloc_sizes
        ac_cs = sizes[self.index_ac]
        ac_cs.cs_cachep = self._create_general(ac_cs.cs_size, False)
        if self.index_ac != self.index_l3:
            l3_cs = sizes[self.index_l3]
            l3_cs.cs_cachep = self._create_general(l3_cs.cs_size, False)
        self.slab_early_init = False
        # 3) the other general caches, each followed by its DMA twin
        for cs in sizes:
            if cs.cs_cachep is None:
                cs.cs_cachep = self._create_general(cs.cs_size, False)
            if self.zone_dma:
                cs.cs_dmacachep = self._create_general(cs.cs_size, True)
        self._cs_cache = [cs.cs_cachep for cs in sizes if cs.cs_cachep is not None]
        self._cs_dma = [cs.cs_dmacachep for cs in sizes if cs.cs_dmacachep is not None]
        # 4) the static head arrays of cache_cache and the INDEX_AC cache become kmalloc'ed
        # copies (the model keeps the objects and gives them their memory)
        for c in (cc, ac_cs.cs_cachep):
            assert c is not None
            arr = c.array[boot_cpu]
            obj = _kmalloc_node_internal(self, self.sizeof_arraycache_init, GFP_NOWAIT, -1,
                                         "kmem_cache_init")
            assert arr is not None and obj is not None
            arr.obj = obj
        # 5) likewise the static kmem_list3s of cache_cache, INDEX_AC and INDEX_L3
        statics: list[KmemCache | None] = [cc, ac_cs.cs_cachep]
        if self.index_ac != self.index_l3:
            statics.append(sizes[self.index_l3].cs_cachep)
        for nid in range(m.nr_nodes):
            for sc in statics:
                assert sc is not None
                obj = _kmalloc_node_internal(self, self.sizeof_kmem_list3, GFP_NOWAIT, nid,
                                             "init_list")
                l3 = sc.nodelists[nid]
                assert obj is not None and l3 is not None          # BUG_ON(!ptr)
                l3.obj = obj
        self.g_cpucache_up = EARLY
        # kmem_cache_init_late(): 6) the final head arrays
        for c in reversed(self.slab_caches):
            if enable_cpucache(self, c, GFP_NOWAIT):
                raise AssertionError(f"enable_cpucache({c.name}) failed at boot")   # BUG()
        self.g_cpucache_up = FULL
        self.up = True
        # smp_init(): the other CPUs come up through the CPU_UP_PREPARE notifier
        for cpu in range(m.nr_cpus):
            if cpu == boot_cpu:
                continue
            if cpuup_prepare(self, cpu):
                raise AssertionError(f"cpuup_prepare({cpu}) failed at boot")
            self.online_cpus.append(cpu)
        # cpucache_init(): the reap timers. # SIM: there is no timer; cache_reap() is called
        # by whoever drives time (a test, a later kernel-thread model)
        for cpu in self.online_cpus:
            init_reap_node(self, cpu)
        _end_reports(self)

    def _create_general(self, size: int, dma: bool) -> KmemCache:
        name = f"size-{size}(DMA)" if dma else f"size-{size}"
        flags = ARCH_KMALLOC_FLAGS | SLAB_PANIC | (SLAB_CACHE_DMA if dma else 0)
        c = self.kmem_cache_create(name, size, ARCH_KMALLOC_MINALIGN, flags, None)
        assert c is not None        # SLAB_PANIC
        return c

    # ------------------------------------------------------------------ creation
    def kmem_cache_create(self, name: str, size: int, align: int = 0, flags: int = 0,
                          ctor: Ctor | None = None) -> KmemCache | None:
        """kmem_cache_create() (2.6.32): a new cache, or None (panic with SLAB_PANIC).
        # SIM: the whole 2.6.32 function, not the common layer's 6.12 one: SLAB does its
        own checks, alignment and debug growth and never merges caches."""
        check_create_args(name, size, align, flags, ctor)
        try:
            cachep = self._kmem_cache_create(name, size, align, flags, ctor)
            if cachep is not None:
                self.slab_caches.append(cachep)            # list_add: head of cache_chain
            return cachep
        finally:
            _end_reports(self)

    def _kmem_cache_create(self, name: str, size: int, align: int, flags: int,
                           ctor: Ctor | None) -> KmemCache | None:
        m = self.m
        word = self.bytes_per_word
        if not name or m.in_interrupt() or size < word or size > KMALLOC_MAX_SIZE:
            _begin_report(self)
            m.printk(f"kmem_cache_create: Early error in slab {name}", level=3)
            _bug(self, _LINE_CREATE_EARLY)
            return None
        cachep: KmemCache | None = None
        if any(pc.name == name for pc in self.slab_caches):
            m.printk(f"kmem_cache_create: duplicate cache {name}", level=3)
            m.debug.dump_stack()
            self._oops(name, flags)
            return None
        if " " in name:
            m.debug.warn("kmem_cache_create", "mm/slab.c", _LINE_CREATE_SPACE)  # confuses
        if flags & SLAB_TYPESAFE_BY_RCU and flags & SLAB_POISON:
            _bug(self, _LINE_CREATE_RCU_POISON)
            return None
        if flags & ~SLAB_FLAGS_PERMITTED:
            _bug(self, _LINE_CREATE_MASK)                # BUG_ON(flags & ~CREATE_MASK)
            return None
        flags &= CREATE_MASK
        # size in words (the on-slab bufctls and red zones stay aligned)
        size = ALIGN(size, word)
        # the final alignment: arch recommendation, debug needs, arch and caller minimums
        if flags & SLAB_HWCACHE_ALIGN:
            ralign = cache_line_size(m)
            while size <= ralign // 2:
                ralign //= 2
        else:
            ralign = word
        if flags & SLAB_STORE_USER:
            ralign = word
        if flags & SLAB_RED_ZONE:
            ralign = REDZONE_ALIGN
            size = ALIGN(size, REDZONE_ALIGN)
        ralign = max(ralign, ARCH_SLAB_MINALIGN, align)
        if ralign > 8:                                  # __alignof__(unsigned long long)
            flags &= ~(SLAB_RED_ZONE | SLAB_STORE_USER)
        align = ralign
        # (2.6.32's GFP_NOWAIT is 0; the model's is 6.12's, which only adds kswapd wakeups
        # and __GFP_NOWARN)
        gfp = GFP_KERNEL if self.slab_is_available() else GFP_NOWAIT
        cachep = KmemCache(name, m.nr_cpus, m.nr_nodes)
        obj = _kmem_cache_alloc_node_traced(self, self.cache_cache, gfp | _GFP_ZERO, -1,
                                            "kmem_cache_create")
        if obj is None:
            self._oops(name, flags)
            return None
        cachep.self_obj = obj
        cachep.obj_size = size
        if flags & SLAB_RED_ZONE:
            cachep.obj_offset += 8                      # sizeof(unsigned long long)
            size += 16
        if flags & SLAB_STORE_USER:
            size += REDZONE_ALIGN if flags & SLAB_RED_ZONE else word
        # management off-slab for large objects (not during early bootstrap)
        if size >= PAGE_SIZE >> 3 and not self.slab_early_init:
            flags |= CFLGS_OFF_SLAB
        size = ALIGN(size, align)
        left_over = calculate_slab_order(self, cachep, size, align, flags)
        if not cachep.num:
            m.printk(f"kmem_cache_create: couldn't create cache {name}.", level=3)
            _kmem_cache_free_traced(self, self.cache_cache, obj, "kmem_cache_create")
            self._oops(name, flags)
            return None
        slab_size = ALIGN(cachep.num * SIZEOF_BUFCTL + self.sizeof_slab, align)
        if flags & CFLGS_OFF_SLAB and left_over >= slab_size:
            # room enough: on-slab after all, at the expense of colouring
            flags &= ~CFLGS_OFF_SLAB
            left_over -= slab_size
        if flags & CFLGS_OFF_SLAB:
            slab_size = cachep.num * SIZEOF_BUFCTL + self.sizeof_slab
        cachep.colour_off = max(cache_line_size(m), align)
        cachep.colour = left_over // cachep.colour_off
        cachep.slab_size = slab_size
        cachep.flags = flags
        cachep.debug = bool(flags & SLAB_DEBUG_FLAGS)
        cachep.gfpflags = 0
        if flags & SLAB_CACHE_DMA and self.zone_dma:
            cachep.gfpflags |= GFP_DMA
        if flags & SLAB_CACHE_DMA32:
            cachep.gfpflags |= GFP_DMA32
        cachep.buffer_size = cachep.size = size
        if not cachep.debug:
            cachep.obj_size = size                       # obj_size() of a non-debug cache
            cachep.obj_offset = 0
        cachep.object_size = cachep.obj_size
        cachep.align = align
        if flags & CFLGS_OFF_SLAB:
            cachep.slabp_cache = kmem_find_general_cachep(self, slab_size, 0)
            assert cachep.slabp_cache is not None        # BUG_ON(ZERO_OR_NULL_PTR(...))
        cachep.ctor = ctor
        if setup_cpu_cache(self, cachep, gfp):
            _kmem_cache_destroy(self, cachep)
            self._oops(name, flags)
            return None
        return cachep

    def _oops(self, name: str, flags: int) -> None:
        # the oops: label with cachep == NULL
        if flags & SLAB_PANIC:
            _end_reports(self)
            self.m.panic(f"kmem_cache_create(): failed to create slab `{name}'")

    def _create_cache(self, name: str, size: int, align: int, flags: int,
                      ctor: Ctor | None) -> KmemCache | None:
        """The common layer's hook: a new, not yet linked cache (SLAB's kmem_cache_create
        calls it with the caller's *align*; the common layer would pass its own)."""
        try:
            return self._kmem_cache_create(name, size, align, flags, ctor)
        finally:
            _end_reports(self)

    # ------------------------------------------------------------------ destroy / shrink
    def kmem_cache_shrink(self, s: KmemCache) -> int:
        """kmem_cache_shrink(): drain every array, free every free slab; 1 if slabs with
        objects remain (0: everything was released)."""
        ret = _cache_shrink(self, s)
        _end_reports(self)
        return ret

    def _shutdown(self, s: KmemCache) -> bool:
        """kmem_cache_destroy()'s __cache_shrink(): True (and the slab error) if objects
        remain. # SIM: the common layer then adds 6.12's "Slab cache still has objects"
        WARNING, which 2.6.32 did not print."""
        m = self.m
        busy = bool(_cache_shrink(self, s))
        if busy:
            _end_reports(self)
            start = m.log.mark()
            slab_error(self, "kmem_cache_destroy", s, "Can't free all objects")
            self._report_start = None
            # list_del + list_add: the cache returns at the head of cache_chain
            self.slab_caches.remove(s)
            self.slab_caches.append(s)
            try:
                m.debug.report_block(start)
            except KernelBug:
                s.refcount += 1          # what the common layer does when we return True
                raise
        else:
            _end_reports(self)
        return busy

    def _release(self, s: KmemCache) -> None:
        """__kmem_cache_destroy(): the arrays, the kmem_list3s, the structure itself."""
        _kmem_cache_destroy(self, s)
        _end_reports(self)

    # ------------------------------------------------------------------ allocation
    def kmem_cache_alloc(self, s: KmemCache, gfpflags: int) -> int | None:
        """kmem_cache_alloc(): pop this CPU's array (allochit), else the refill path."""
        ac = s.array[self.m._cpu]
        if ac is None:
            raise SlabUsageError(f"kmem_cache_alloc: cache {s.name} was destroyed")
        entry = ac.entry
        if entry and not s.debug and not gfpflags & _GFP_ZERO and not self._tp_kca.enabled \
                and not self.m._atomic_cpus:       # atomic: slab_pre_alloc_hook() checks
            ac.touched = 1
            objp = entry.pop()
            s.live.add(objp)
            return objp
        got = _cache_alloc(self, s, gfpflags, None)
        if self._tp_kca.enabled:
            _trace_alloc(self, s, got, s.obj_size, gfpflags, -1, True, None)
        if self._report_start is not None:
            _end_reports(self)
        return got

    def kmem_cache_alloc_node(self, s: KmemCache, gfpflags: int, node: int) -> int | None:
        """kmem_cache_alloc_node(): this CPU's array for the local node, else node *node*'s
        slabs (other nodes unless __GFP_THISNODE)."""
        if s.array[self.m._cpu] is None:
            raise SlabUsageError(f"kmem_cache_alloc_node: cache {s.name} was destroyed")
        objp = _cache_alloc_node(self, s, gfpflags, node, None)
        if self._tp_kca.enabled:
            _trace_alloc(self, s, objp, s.obj_size, gfpflags, node, True, None)
        if self._report_start is not None:
            _end_reports(self)
        return objp

    def kmalloc(self, size: int, flags: int) -> int | None:
        """kmalloc() / __do_kmalloc(): an object of the first general cache that fits."""
        if 0 < size <= KMALLOC_MAX_SIZE:
            i = bisect_left(self.cs_sizes, size)
            s = self._cs_dma[i] if flags & _GFP_DMA and self.zone_dma else self._cs_cache[i]
            ac = s.array[self.m._cpu]
            assert ac is not None
            entry = ac.entry
            if entry and not flags & _GFP_ZERO and not self._tp_kmalloc.enabled and \
                    not self.m._atomic_cpus:
                ac.touched = 1
                objp = entry.pop()
                s.live.add(objp)
                return objp
        return self.kmalloc_node(size, flags, -1)

    def kmalloc_node(self, size: int, flags: int, node: int) -> int | None:
        """kmalloc_node() / __do_kmalloc_node(): ZERO_SIZE_PTR for 0, NULL above the largest
        general cache (4 MiB), silently."""
        if size <= 0:
            if size < 0:
                raise SlabUsageError(f"kmalloc({size}): negative size")
            return ZERO_SIZE_PTR
        s = _find_general_cachep(self, size, flags)
        if s is None:
            return None
        if node == -1:
            objp = _cache_alloc(self, s, flags, None)
        else:
            objp = _cache_alloc_node(self, s, flags, node, None)
        if self._tp_kmalloc.enabled:
            _trace_alloc(self, s, objp, size, flags, node, False, None)
        if self._report_start is not None:
            _end_reports(self)
        return objp

    def kmalloc_slab(self, size: int, flags: int) -> KmemCache | None:
        """The general cache kmalloc(*size*, *flags*) uses (None for 0 and above 4 MiB)."""
        if size <= 0:
            return None
        return _find_general_cachep(self, size, flags)

    def kmalloc_size_roundup(self, size: int) -> int:
        """kmalloc_size_roundup(): the size of the general cache serving *size*."""
        s = self.kmalloc_slab(size, 0)
        return s.obj_size if s is not None else size

    # ------------------------------------------------------------------ free
    def kmem_cache_free(self, s: KmemCache, objp: int) -> None:
        """kmem_cache_free(): the object to this CPU's array (a full array is flushed)."""
        if not s.debug and not self.numa and not self._tp_kcf.enabled:
            live = s.live
            if objp in live:
                ac = s.array[self.m._cpu]
                assert ac is not None                   # live objects: a live cache
                if len(ac.entry) < ac.limit:
                    live.remove(objp)
                    ac.entry.append(objp)
                    return
        if not isinstance(objp, int):
            raise SlabUsageError(f"kmem_cache_free({s.name}, {objp!r}): not an address")
        if _check_free(self, s, objp, "kmem_cache_free") is not None:
            _cache_free(self, s, objp, None)
            if self._tp_kcf.enabled:
                self._tp_kcf.emit(self.m.trace_ctx(), call_site=python_caller(), ptr=objp,
                                  name=s.name)
        if self._report_start is not None:
            _end_reports(self)

    def kfree(self, objp: int | None) -> None:
        """kfree(): NULL and ZERO_SIZE_PTR are fine; anything else must be a slab object."""
        if self._tp_kfree.enabled:
            self._tp_kfree.emit(self.m.trace_ctx(), call_site=python_caller(), ptr=objp)
        if objp is None or objp <= ZERO_SIZE_PTR:
            return
        if not isinstance(objp, int):
            raise SlabUsageError(f"kfree({objp!r}): not an address")
        slabp = self.slab_of.get((objp - self.va_base) >> PAGE_SHIFT)
        if slabp is not None and not self.numa:
            s = slabp.cache
            live = s.live
            if not s.debug and objp in live:
                ac = s.array[self.m._cpu]
                assert ac is not None
                if len(ac.entry) < ac.limit:
                    live.remove(objp)
                    ac.entry.append(objp)
                    return
        slabp = _check_free(self, None, objp, "kfree")
        if slabp is not None:
            _cache_free(self, slabp.cache, objp, None)
        if self._report_start is not None:
            _end_reports(self)

    def ksize(self, objp: int | None) -> int:
        """ksize(): obj_size of the object's cache (0 for ZERO_SIZE_PTR; BUG for NULL)."""
        if not objp:
            _bug(self, _LINE_KSIZE)
            return 0
        if objp == ZERO_SIZE_PTR:
            return 0
        s = self.virt_to_cache(objp)
        if s is None:
            _bug(self, _LINE_PAGE_GET_CACHE)
            return 0
        return s.obj_size

    def virt_to_cache(self, objp: int) -> KmemCache | None:
        """virt_to_cache(): the cache of a slab page (None for other addresses)."""
        if not self.m.virt_addr_valid(objp):
            return None
        slabp = self.slab_of.get((objp - self.va_base) >> PAGE_SHIFT)
        return slabp.cache if slabp is not None else None

    def virt_to_slab(self, objp: int) -> SlabDesc | None:
        """virt_to_slab(): the descriptor of the slab holding *objp*."""
        if not self.m.virt_addr_valid(objp):
            return None
        return self.slab_of.get((objp - self.va_base) >> PAGE_SHIFT)

    # ------------------------------------------------------------------ reaping and tuning
    def cache_reap(self, cpu: int | None = None) -> None:
        """cache_reap(): one run of CPU *cpu*'s reap work (default: the current CPU)."""
        m = self.m
        on = m.current_cpu if cpu is None else cpu
        saved = m.current_cpu
        m.current_cpu = on
        try:
            cache_reap(self, on)
        finally:
            m.current_cpu = saved
        _end_reports(self)

    def drain_cpu_caches(self, s: KmemCache) -> None:
        """drain_cpu_caches(): every CPU, alien and shared array of *s* back to the slabs."""
        drain_cpu_caches(self, s)
        _end_reports(self)

    def slabinfo_write(self, text: str) -> int:
        """slabinfo_write(): ``"<name> <limit> <batchcount> <shared>"`` written to
        /proc/slabinfo. Returns the byte count, 0-effect writes included (limit < 1,
        batchcount < 1 or > limit, shared < 0 are ignored silently), or -EINVAL / -ENOMEM."""
        if len(text) > MAX_SLABINFO_WRITE:
            return -_EINVAL
        sp = text.find(" ")
        if sp < 0:
            return -_EINVAL
        name, rest = text[:sp], text[sp + 1:]
        vals: list[int] = []
        pos = 0
        for _ in range(3):                                 # sscanf(" %d %d %d")
            mt = _SCANF_INT.match(rest, pos)
            if mt is None:
                return -_EINVAL
            vals.append(int(mt.group(1)))
            pos = mt.end()
        limit, batchcount, shared = vals
        res = -_EINVAL
        for cachep in reversed(self.slab_caches):
            if cachep.name == name:
                if limit < 1 or batchcount < 1 or batchcount > limit or shared < 0:
                    res = 0
                else:
                    res = do_tune_cpucache(self, cachep, limit, batchcount, shared, GFP_KERNEL)
                break
        _end_reports(self)
        return len(text) if res >= 0 else res

    # ------------------------------------------------------------------ observation
    def get_slabinfo(self, s: KmemCache) -> SlabInfo:
        """s_show(): the /proc/slabinfo numbers, with 2.6.32's accounting checks."""
        active_objs = active_slabs = num_slabs = free_objects = shared_avail = 0
        error = None
        num = s.num
        for l3 in s.nodelists:
            if l3 is None:
                continue
            for slabp in l3.slabs_full:
                if slabp.inuse != num and error is None:
                    error = "slabs_full accounting error"
                active_objs += num
                active_slabs += 1
            for slabp in l3.slabs_partial:
                if slabp.inuse == num and error is None:
                    error = "slabs_partial inuse accounting error"
                if not slabp.inuse and error is None:
                    error = "slabs_partial/inuse accounting error"
                active_objs += slabp.inuse
                active_slabs += 1
            for slabp in l3.slabs_free:
                if slabp.inuse and error is None:
                    error = "slabs_free/inuse accounting error"
                num_slabs += 1
            free_objects += l3.free_objects
            if l3.shared is not None:
                shared_avail += len(l3.shared.entry)
        num_slabs += active_slabs
        num_objs = num_slabs * num
        if num_objs - active_objs != free_objects and error is None:
            error = "free_objects accounting error"
        if error is not None:
            self.m.printk(f"slab: cache {s.name} error: {error}", level=3)
        return SlabInfo(active_objs, num_objs, active_slabs, num_slabs, num, s.gfporder,
                        limit=s.limit, batchcount=s.batchcount, shared=s.shared,
                        shared_avail=shared_avail)

    def validate(self) -> None:
        """Recompute every cache's lists and counters from the slabs; raise
        MMCorruptionError subclasses on any difference (the model's check_slabp())."""
        m = self.m
        in_arrays: dict[int, int] = {}
        for s in self.slab_caches:
            arrays: list[ArrayCache] = [a for a in s.array if a is not None]
            for l3 in s.nodelists:
                if l3 is None:
                    continue
                if l3.shared is not None:
                    arrays.append(l3.shared)
                if l3.alien is not None:
                    arrays.extend(a for a in l3.alien.caches if a is not None)
            in_this = sum(len(a.entry) for a in arrays)
            inuse = sum(sd.inuse for l3 in s.nodelists if l3 is not None
                        for lst in (l3.slabs_full, l3.slabs_partial) for sd in lst)
            if inuse != len(s.live) + in_this:
                raise CounterMismatchError(f"{s.name}: {inuse} objects in use in slabs, "
                                           f"{len(s.live)} allocated + {in_this} in arrays")
            for a in arrays:
                if len(a.entry) > a.limit:
                    raise CounterMismatchError(f"{s.name}: array holds {len(a.entry)} > "
                                               f"limit {a.limit}")
                for p in a.entry:
                    if p in in_arrays:
                        raise FreeListError(f"{s.name}: {p:#x} twice in the arrays")
                    in_arrays[p] = 1
            for nid, l3 in enumerate(s.nodelists):
                if l3 is None:
                    continue
                free = 0
                for name, lst in (("full", l3.slabs_full), ("partial", l3.slabs_partial),
                                  ("free", l3.slabs_free)):
                    for slabp in lst:
                        if slabp.on_list is not lst:
                            raise FreeListError(f"{s.name}: {slabp!r} on {name} but linked "
                                                f"elsewhere")
                        chain = slabp.free_chain()
                        if len(chain) != s.num - slabp.inuse or len(set(chain)) != len(chain):
                            raise FreeListError(f"{s.name}: {slabp!r} bufctl chain {chain} "
                                                f"for inuse {slabp.inuse}")
                        want = "full" if slabp.inuse == s.num else \
                            "free" if slabp.inuse == 0 else "partial"
                        if want != name:
                            raise FreeListError(f"{s.name}: {slabp!r} (inuse "
                                                f"{slabp.inuse}/{s.num}) on slabs_{name}")
                        if slabp.nodeid != nid:
                            raise FreeListError(f"{s.name}: {slabp!r} of node {slabp.nodeid} "
                                                f"on node {nid}'s lists")
                        for p in range(slabp.pfn, slabp.pfn + (1 << s.gfporder)):
                            if self.slab_of.get(p) is not slabp:
                                raise FreeListError(f"{s.name}: page {p:#x} not mapped to "
                                                    f"{slabp!r}")
                        if m.mem_map.page_type[slabp.pfn] != PGTY_SLAB:
                            raise FreeListError(f"{s.name}: {slabp!r} head page not a slab")
                        free += s.num - slabp.inuse
                if free != l3.free_objects:
                    raise CounterMismatchError(f"{s.name} node {nid}: free_objects "
                                               f"{l3.free_objects}, slabs hold {free} free")
        mapped = {id(sd) for sd in self.slab_of.values()}
        listed = {id(sd) for s in self.slab_caches for l3 in s.nodelists if l3 is not None
                  for lst in (l3.slabs_full, l3.slabs_partial, l3.slabs_free) for sd in lst}
        if mapped != listed:
            raise FreeListError(f"{len(mapped - listed)} slabs mapped but on no list")


_SCANF_INT = re.compile(r"\s*([+-]?\d+)")

# kernel names with a leading "__" are mangled inside class bodies: aliases
_cache_alloc = __cache_alloc
_cache_alloc_node = __cache_alloc_node
_cache_free = __cache_free
_cache_shrink = __cache_shrink
_find_general_cachep = __find_general_cachep
_kmem_cache_destroy = __kmem_cache_destroy

