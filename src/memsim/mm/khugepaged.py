"""
khugepaged's start-up hook (mm/khugepaged.c): ``set_recommended_min_free_kbytes()``
raises min_free_kbytes so that THP allocations find free pageblocks. The khugepaged
scanner itself belongs to the THP part of the model.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from memsim.arch import PAGE_SHIFT
from memsim.include.mmzone import MIGRATE_PCPTYPES
from memsim.mm import page_alloc

if TYPE_CHECKING:
    from memsim.machine import Machine


def set_recommended_min_free_kbytes(m: Machine) -> None:
    """set_recommended_min_free_kbytes(): two free pageblocks per zone plus 9 for fallbacks."""
    nr_zones = 0
    highest_user = m.gfp_zone(0)  # gfp_zone(GFP_USER)
    for z in m.zones:
        if not z.populated():
            continue
        if z.idx > highest_user:
            continue
        nr_zones += 1
    pb = m.pageblock_nr_pages
    recommended = pb * nr_zones * 2
    recommended += pb * nr_zones * MIGRATE_PCPTYPES * MIGRATE_PCPTYPES
    recommended = min(recommended, page_alloc.nr_free_buffer_pages(m) // 20)
    recommended <<= PAGE_SHIFT - 10
    if recommended > m.sysctl.min_free_kbytes:
        if m.user_min_free_kbytes >= 0:
            m.printk(f"raising min_free_kbytes from {m.sysctl.min_free_kbytes} to "
                     f"{recommended} to help transparent hugepage allocations")
        m.sysctl.min_free_kbytes = recommended
    page_alloc.setup_per_zone_wmarks(m)
