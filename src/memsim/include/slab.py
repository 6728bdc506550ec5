"""
include/linux/slab.h and include/linux/poison.h: the SLAB_* cache flags, the kmalloc size
classes and types, and the poison bytes the slab debuggers write. Used by mm/slab_common.py
(common cache code and kmalloc), mm/slub.py (SLUB) and mm/slab.py (classic SLAB).

6.12 numbers the flags from an enum whose optional entries depend on the kernel config; the
model's config is the sample machine's (Ubuntu-like x86_64): MEMCG, FAILSLAB, KFENCE,
SLAB_OBJ_EXT on; DEBUG_OBJECTS, KASAN_GENERIC, SLUB_TINY, RANDOM_KMALLOC_CACHES off.
The numeric values are not ABI (reference §7.6); only the names matter.
"""

from __future__ import annotations

from enum import IntEnum

from memsim.arch import PAGE_SHIFT, PAGE_SIZE
from memsim.include.gfp import __GFP_ACCOUNT, __GFP_DMA, __GFP_RECLAIMABLE

# --- cache flags (6.12 enum _slab_flag_bits under the config above) ---------------------------
SLAB_CONSISTENCY_CHECKS = 1 << 0
SLAB_RED_ZONE = 1 << 1
SLAB_POISON = 1 << 2
SLAB_KMALLOC = 1 << 3
SLAB_HWCACHE_ALIGN = 1 << 4
SLAB_CACHE_DMA = 1 << 5
SLAB_CACHE_DMA32 = 1 << 6
SLAB_STORE_USER = 1 << 7
SLAB_PANIC = 1 << 8
SLAB_TYPESAFE_BY_RCU = 1 << 9
SLAB_TRACE = 1 << 10
SLAB_DEBUG_OBJECTS = 0          # CONFIG_DEBUG_OBJECTS off
SLAB_NOLEAKTRACE = 1 << 11
SLAB_NO_MERGE = 1 << 12
SLAB_FAILSLAB = 1 << 13
SLAB_ACCOUNT = 1 << 14
SLAB_KASAN = 0                  # CONFIG_KASAN_GENERIC off
SLAB_NO_USER_FLAGS = 1 << 15
SLAB_SKIP_KFENCE = 1 << 16
SLAB_RECLAIM_ACCOUNT = 1 << 17
SLAB_TEMPORARY = SLAB_RECLAIM_ACCOUNT
__OBJECT_POISON = 1 << 18
__CMPXCHG_DOUBLE = 1 << 19
SLAB_NO_OBJ_EXT = 1 << 20

#: name -> value, for parsing and printing (order = bit order)
SLAB_FLAG_NAMES: dict[str, int] = {
    "SLAB_CONSISTENCY_CHECKS": SLAB_CONSISTENCY_CHECKS,
    "SLAB_RED_ZONE": SLAB_RED_ZONE,
    "SLAB_POISON": SLAB_POISON,
    "SLAB_KMALLOC": SLAB_KMALLOC,
    "SLAB_HWCACHE_ALIGN": SLAB_HWCACHE_ALIGN,
    "SLAB_CACHE_DMA": SLAB_CACHE_DMA,
    "SLAB_CACHE_DMA32": SLAB_CACHE_DMA32,
    "SLAB_STORE_USER": SLAB_STORE_USER,
    "SLAB_PANIC": SLAB_PANIC,
    "SLAB_TYPESAFE_BY_RCU": SLAB_TYPESAFE_BY_RCU,
    "SLAB_TRACE": SLAB_TRACE,
    "SLAB_NOLEAKTRACE": SLAB_NOLEAKTRACE,
    "SLAB_NO_MERGE": SLAB_NO_MERGE,
    "SLAB_FAILSLAB": SLAB_FAILSLAB,
    "SLAB_ACCOUNT": SLAB_ACCOUNT,
    "SLAB_NO_USER_FLAGS": SLAB_NO_USER_FLAGS,
    "SLAB_SKIP_KFENCE": SLAB_SKIP_KFENCE,
    "SLAB_RECLAIM_ACCOUNT": SLAB_RECLAIM_ACCOUNT,
}

# mm/slab.h
SLAB_CORE_FLAGS = (SLAB_HWCACHE_ALIGN | SLAB_CACHE_DMA | SLAB_CACHE_DMA32 | SLAB_PANIC
                   | SLAB_TYPESAFE_BY_RCU | SLAB_DEBUG_OBJECTS)
SLAB_DEBUG_FLAGS = (SLAB_RED_ZONE | SLAB_POISON | SLAB_STORE_USER | SLAB_TRACE
                    | SLAB_CONSISTENCY_CHECKS)
SLAB_CACHE_FLAGS = (SLAB_NOLEAKTRACE | SLAB_RECLAIM_ACCOUNT | SLAB_TEMPORARY | SLAB_ACCOUNT
                    | SLAB_NO_USER_FLAGS | SLAB_KMALLOC | SLAB_NO_MERGE)
CACHE_CREATE_MASK = SLAB_CORE_FLAGS | SLAB_DEBUG_FLAGS | SLAB_CACHE_FLAGS
SLAB_FLAGS_PERMITTED = (SLAB_CORE_FLAGS | SLAB_RED_ZONE | SLAB_POISON | SLAB_STORE_USER
                        | SLAB_TRACE | SLAB_CONSISTENCY_CHECKS | SLAB_NOLEAKTRACE
                        | SLAB_RECLAIM_ACCOUNT | SLAB_TEMPORARY | SLAB_ACCOUNT | SLAB_KMALLOC
                        | SLAB_NO_MERGE | SLAB_NO_USER_FLAGS)
# mm/slab_common.c
SLAB_NEVER_MERGE = (SLAB_RED_ZONE | SLAB_POISON | SLAB_STORE_USER | SLAB_TRACE
                    | SLAB_TYPESAFE_BY_RCU | SLAB_NOLEAKTRACE | SLAB_FAILSLAB | SLAB_NO_MERGE)
SLAB_MERGE_SAME = SLAB_RECLAIM_ACCOUNT | SLAB_CACHE_DMA | SLAB_CACHE_DMA32 | SLAB_ACCOUNT
#: slab_debug= with no letters
DEBUG_DEFAULT_FLAGS = SLAB_CONSISTENCY_CHECKS | SLAB_RED_ZONE | SLAB_POISON | SLAB_STORE_USER

# --- poison (include/linux/poison.h) ----------------------------------------------------------
POISON_INUSE = 0x5A
POISON_FREE = 0x6B
POISON_END = 0xA5
SLUB_RED_INACTIVE = 0xBB
SLUB_RED_ACTIVE = 0xCC
RED_INACTIVE = 0x09F911029D74E35B
RED_ACTIVE = 0xD84156C5635688C0

# --- kmalloc (6.12 include/linux/slab.h, 4 KiB pages) -----------------------------------------
ARCH_KMALLOC_MINALIGN = 8
ARCH_SLAB_MINALIGN = 8
KMALLOC_MIN_SIZE = 8
KMALLOC_SHIFT_LOW = 3
KMALLOC_SHIFT_HIGH = PAGE_SHIFT + 1
KMALLOC_MAX_CACHE_SIZE = 1 << KMALLOC_SHIFT_HIGH
KMALLOC_SHIFT_MAX = 10 + PAGE_SHIFT          # MAX_PAGE_ORDER + PAGE_SHIFT
KMALLOC_MAX_SIZE = 1 << KMALLOC_SHIFT_MAX
KMALLOC_MAX_ORDER = KMALLOC_SHIFT_MAX - PAGE_SHIFT
#: kmalloc(0) returns this; kfree() accepts it
ZERO_SIZE_PTR = 16


def ZERO_OR_NULL_PTR(p: int | None) -> bool:
    return p is None or p <= ZERO_SIZE_PTR


class KmallocCacheType(IntEnum):
    """enum kmalloc_cache_type under the config above (creation order = this order)."""

    KMALLOC_NORMAL = 0
    KMALLOC_RECLAIM = 1
    KMALLOC_DMA = 2
    KMALLOC_CGROUP = 3


NR_KMALLOC_TYPES = 4
#: kmalloc_cache_name() prefixes
KMALLOC_TYPE_PREFIX: dict[int, str] = {
    KmallocCacheType.KMALLOC_NORMAL: "kmalloc-",
    KmallocCacheType.KMALLOC_RECLAIM: "kmalloc-rcl-",
    KmallocCacheType.KMALLOC_DMA: "dma-kmalloc-",
    KmallocCacheType.KMALLOC_CGROUP: "kmalloc-cg-",
}

#: kmalloc_info[] sizes by index (index 0 is "kmalloc-0", never created)
KMALLOC_INFO_SIZES = (0, 96, 192, 8, 16, 32, 64, 128, 256, 512, 1024, 2048, 4096, 8192,
                      16384, 32768, 65536, 131072, 262144, 524288, 1048576, 2097152)


def kmalloc_size_name(size: int) -> str:
    """``8`` … ``512``, ``1k``, ``2k`` … as in kmalloc_info[]."""
    if size >= 1 << 20 and size % (1 << 20) == 0:
        return f"{size >> 20}M"
    if size >= 1024 and size % 1024 == 0:
        return f"{size >> 10}k"
    return str(size)


def kmalloc_cache_name(kmalloc_type: int, index: int) -> str:
    return KMALLOC_TYPE_PREFIX[KmallocCacheType(kmalloc_type)] + \
        kmalloc_size_name(KMALLOC_INFO_SIZES[index])


# size_index[] for sizes 1..192, indexed by (size - 1) // 8 (size_index_elem)
_SIZE_INDEX = (3, 4, 5, 5, 6, 6, 6, 6, 1, 1, 1, 1, 7, 7, 7, 7,
               2, 2, 2, 2, 2, 2, 2, 2)


def kmalloc_index(size: int) -> int:
    """__kmalloc_index()/kmalloc_slab() index for 1 <= size <= KMALLOC_MAX_CACHE_SIZE; 0 for 0."""
    if size <= 0:
        return 0
    if size <= 192:
        return _SIZE_INDEX[(size - 1) >> 3]
    return (size - 1).bit_length()


_KMALLOC_NOT_NORMAL_BITS = __GFP_RECLAIMABLE | __GFP_DMA | __GFP_ACCOUNT


def kmalloc_type(gfp: int) -> int:
    """kmalloc_type(): which kmalloc cache family serves *gfp* (DMA > RECLAIMABLE > ACCOUNT);
    a KmallocCacheType value."""
    if not gfp & _KMALLOC_NOT_NORMAL_BITS:
        return 0                                      # KMALLOC_NORMAL
    if gfp & __GFP_DMA:
        return 2                                      # KMALLOC_DMA
    if gfp & __GFP_RECLAIMABLE:
        return 1                                      # KMALLOC_RECLAIM
    return 3                                          # KMALLOC_CGROUP


def get_order(size: int) -> int:
    """get_order(): smallest order whose block holds *size* bytes (size >= 1)."""
    return max(0, ((size - 1) >> PAGE_SHIFT).bit_length())


def kmalloc_caches_indices() -> tuple[int, ...]:
    """create_kmalloc_caches() order within a type: 96, 192, then 8 … 8k."""
    return (1, 2, *range(KMALLOC_SHIFT_LOW, KMALLOC_SHIFT_HIGH + 1))


assert PAGE_SIZE == 4096
