"""
Swap I/O (mm/page_io.c, 6.12): swap_writepage writes a swap-cache page to its slot,
swap_read_folio reads it back. The device's contents are kept per slot
(``SwapInfoStruct.data``), so what was written comes back byte-identical; all-zero pages
are not written but remembered in the 6.12 zeromap (swpout_zero / swpin_zero instead of
pswpout / pswpin).

# SIM: I/O completes at once: PG_writeback is set and cleared within swap_writepage
# (folio_start_writeback .. folio_end_writeback), PG_locked is not modelled, and reads
# are synchronous (the folio is uptodate on return).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from memsim.include.page_flags import PageFlags
from memsim.include.vmstat_items import VmEventItem
from memsim.mm.memory import DISK_READ_NS, DISK_WRITE_NS
from memsim.mm.swapfile import SwapInfoStruct, folio_free_swap, swap_state, swp_offset

if TYPE_CHECKING:
    from memsim.machine import Machine

PAGE_SIZE = 4096
AOP_WRITEPAGE_ACTIVATE = 0x80000
_PG_DIRTY = 1 << PageFlags.PG_dirty
_PG_UPTODATE = 1 << PageFlags.PG_uptodate
_PG_WRITEBACK = 1 << PageFlags.PG_writeback
_PG_RECLAIM = 1 << PageFlags.PG_reclaim
_ZERO_PAGE = bytes(PAGE_SIZE)


def is_folio_zero_filled(m: Machine, pfn: int) -> bool:
    data = m.page_data.get(pfn)
    return data is None or not any(data)


def swap_writepage(m: Machine, pfn: int) -> int:
    """
    swap_writepage() (pageout's ->writepage for the swap cache; the caller has cleared
    the dirty bit with folio_clear_dirty_for_io, which is repeated here): a page whose
    slot is no longer referenced just leaves the swap cache; a zero page only sets its
    zeromap bit; anything else is written (pswpout). Returns 0.
    """
    mem = m.mem_map
    mem.flags[pfn] &= ~_PG_DIRTY            # folio_clear_dirty_for_io()
    if folio_free_swap(m, pfn):
        return 0
    st = swap_state(m)
    entry = int(mem.private[pfn])
    si = st.si_of(entry)
    if si is None:
        mem.flags[pfn] |= _PG_DIRTY
        return AOP_WRITEPAGE_ACTIVATE
    offset = swp_offset(entry)
    if is_folio_zero_filled(m, pfn):
        si.zeromap.add(offset)
        si.data.pop(offset, None)
        m.vm_event[VmEventItem.SWPOUT_ZERO] += 1
        return 0
    si.zeromap.discard(offset)
    __swap_writepage(m, pfn, si, offset)
    return 0


def __swap_writepage(m: Machine, pfn: int, si: SwapInfoStruct, offset: int) -> None:
    """__swap_writepage(): the bio: count pswpout, store the bytes, end writeback."""
    mem = m.mem_map
    mem.flags[pfn] |= _PG_WRITEBACK          # folio_start_writeback()
    m.vm_event[VmEventItem.PSWPOUT] += 1
    m.clock_ns += DISK_WRITE_NS     # count_swpout_vm_event()
    data = m.page_data.get(pfn)
    si.data[offset] = bytes(data) if data is not None else _ZERO_PAGE
    # end_swap_bio_write() -> folio_end_writeback(): PG_reclaim is cleared and the
    # folio would rotate to the inactive tail (folio_rotate_reclaimable)
    mem.flags[pfn] &= ~(_PG_WRITEBACK | _PG_RECLAIM)


def swap_read_folio(m: Machine, pfn: int) -> None:
    """swap_read_folio(): fill a new swap-cache folio from its slot (pswpin), or with
    zeroes from the zeromap (swpin_zero); the folio becomes uptodate."""
    mem = m.mem_map
    st = swap_state(m)
    entry = int(mem.private[pfn])
    si = st.si_of(entry)
    offset = swp_offset(entry)
    if si is not None and offset in si.zeromap:
        m.vm_event[VmEventItem.SWPIN_ZERO] += 1
        m.page_data.pop(pfn, None)
        mem.flags[pfn] |= _PG_UPTODATE
        return
    m.vm_event[VmEventItem.PSWPIN] += 1
    m.clock_ns += DISK_READ_NS
    data = si.data.get(offset) if si is not None else None
    if data is None:
        m.page_data.pop(pfn, None)
    else:
        m.page_data[pfn] = bytearray(data)
    mem.flags[pfn] |= _PG_UPTODATE


__all__ = ["swap_writepage", "swap_read_folio", "is_folio_zero_filled"]
