"""
page->mapping handles: struct page's ``mapping`` field is an int32 in the memmap
(include/mm_types.py), so the objects it points to are registered here and named by a
handle. As in the kernel, the low bit tells what kind of object it is (PAGE_MAPPING_ANON):

* ``4*k + 1``: an ``anon_vma`` (mm/rmap.py); with bit 1 also set (``4*k + 3``,
  PAGE_MAPPING_KSM) the handle names a KSM stable node (mm/ksm.py);
* ``4*k`` (k >= 1): an ``address_space`` of a file or shmem object (mm/filemap.py,
  mm/shmem.py).

# SIM: the kernel stores the pointer itself with the low bits set; a registry of handles is
# what lets a numpy memmap hold it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from memsim.machine import Machine


class MappingRegistry:
    """Handle <-> object table for page->mapping (one per machine: ``m.mapping_registry``)."""

    __slots__ = ("objs", "_next")

    def __init__(self) -> None:
        self.objs: dict[int, Any] = {}
        self._next = 1

    def register(self, obj: Any, anon: bool, ksm: bool = False) -> int:
        k = self._next
        self._next += 1
        h = 4 * k + 1 if anon else 4 * k
        if ksm:
            h |= 2
        self.objs[h] = obj
        return h

    def unregister(self, handle: int) -> None:
        self.objs.pop(handle, None)

    def get(self, handle: int) -> Any:
        return self.objs.get(handle)


def registry(m: Machine) -> MappingRegistry:
    reg: MappingRegistry | None = getattr(m, "mapping_registry", None)
    if reg is None:
        reg = MappingRegistry()
        m.mapping_registry = reg
    return reg


def mapping_handle_register(m: Machine, obj: Any, anon: bool) -> int:
    """A new handle for *obj* (4k+1 for anon_vma and KSM nodes, 4k for address_space)."""
    return registry(m).register(obj, anon)


def mapping_from_handle(m: Machine, handle: int) -> Any:
    """The object behind a page->mapping handle, or None."""
    return registry(m).get(handle)
