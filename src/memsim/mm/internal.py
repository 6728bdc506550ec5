"""
Allocator-internal flags and helpers (mm/internal.h): the ALLOC_* flags that steer
get_page_from_freelist(), FPI_* free flags, and the alloc_context.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from memsim.include.mmzone import Zone

ALLOC_WMARK_MIN = 0
ALLOC_WMARK_LOW = 1
ALLOC_WMARK_HIGH = 2
ALLOC_NO_WATERMARKS = 0x04
ALLOC_WMARK_MASK = ALLOC_NO_WATERMARKS - 1
ALLOC_OOM = 0x08
ALLOC_NON_BLOCK = 0x10
ALLOC_MIN_RESERVE = 0x20          # == __GFP_HIGH
ALLOC_CPUSET = 0x40
ALLOC_CMA = 0x80
ALLOC_NOFRAGMENT = 0x100
ALLOC_HIGHATOMIC = 0x200
ALLOC_KSWAPD = 0x800              # == __GFP_KSWAPD_RECLAIM
ALLOC_RESERVES = ALLOC_NON_BLOCK | ALLOC_MIN_RESERVE | ALLOC_HIGHATOMIC | ALLOC_OOM

# fpi_t: free-page-internal flags
FPI_NONE = 0
FPI_SKIP_REPORT_NOTIFY = 1 << 0
FPI_TO_TAIL = 1 << 1

PAGE_ALLOC_COSTLY_ORDER = 3
MAX_RECLAIM_RETRIES = 16
SWAP_CLUSTER_MAX = 32


@dataclass(slots=True)
class AllocContext:
    """struct alloc_context: what one allocation may use."""

    zonelist: list[Zone]
    highest_zoneidx: int
    migratetype: int
    preferred_nid: int
    nodemask: frozenset[int] | None = None
    #: zones eligible for this request in scan order (zonelist filtered by highest_zoneidx)
    zones: list[Zone] = field(default_factory=list)
    spread_dirty_pages: bool = False
