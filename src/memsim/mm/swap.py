"""
Page-cache and LRU helpers of mm/swap.c: folio_mark_accessed(), the two-step promotion
that reclaim relies on (first access sets PG_referenced, a second one on an inactive LRU
folio activates it).

The LRU lists themselves arrive with reclaim (issue #6): until then activation is a hook
(``m.lru_activate_hook``) and only the page flags change.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from memsim.include.page_flags import PageFlags

if TYPE_CHECKING:
    from memsim.machine import Machine

_PG_REFERENCED = 1 << PageFlags.PG_referenced
_PG_ACTIVE = 1 << PageFlags.PG_active
_PG_LRU = 1 << PageFlags.PG_lru
_PG_UNEVICTABLE = 1 << PageFlags.PG_unevictable
_PG_IDLE = 1 << PageFlags.PG_idle


def folio_mark_accessed(m: Machine, pfn: int) -> None:
    """
    folio_mark_accessed(): inactive,unreferenced -> inactive,referenced;
    inactive,referenced -> active,unreferenced (on the LRU); active,unreferenced ->
    active,referenced. Clears PG_idle.
    """
    flags = m.mem_map.flags
    f = flags[pfn]
    if not f & _PG_REFERENCED:
        flags[pfn] = f | _PG_REFERENCED
    elif not f & (_PG_ACTIVE | _PG_UNEVICTABLE) and f & _PG_LRU:
        hook = getattr(m, "lru_activate_hook", None)
        if hook is not None:
            hook(pfn)
        else:
            flags[pfn] = (f | _PG_ACTIVE) & ~_PG_REFERENCED
    if flags[pfn] & _PG_IDLE:
        flags[pfn] &= ~_PG_IDLE
