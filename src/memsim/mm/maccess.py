"""
Kernel memory access (mm/maccess.c, lib/string.c, lib/hexdump.c): reading and writing the
bytes behind kernel virtual addresses, which is what the slab debuggers check and what a
model user corrupts on purpose (``m.kernel_write(obj + size, b"x")`` overruns an object).

Memory contents live in ``m.page_data``: PFN -> bytearray(PAGE_SIZE), created on first
write. # SIM: a page nobody wrote reads as zeros (real RAM holds old data); the page
allocator drops a page's contents for __GFP_ZERO, so zeroed pages read as zeros honestly.

Only direct-map (lowmem) addresses resolve here; vmalloc and kmap addresses are added by
the modules that create them (mm/vmalloc.py, mm/highmem.py) through ``m.kaddr_resolvers``.
An address that maps to nothing gets the kernel's page-fault oops in dmesg and raises
``KernelAccessError``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from memsim.arch import PAGE_SHIFT, PAGE_SIZE
from memsim.errors import MemsimError

if TYPE_CHECKING:
    from memsim.machine import Machine

_PAGE_MASK = PAGE_SIZE - 1

#: ``resolver(m, addr) -> pfn or None`` for kernel addresses outside the direct map
KaddrResolver = Callable[["Machine", int], "int | None"]


class KernelAccessError(MemsimError):
    """A kernel read or write of an address that maps to no page (the oops is in dmesg)."""


def kaddr_to_pfn(m: Machine, addr: int, write: bool) -> int:
    """The PFN behind kernel virtual address *addr*; oops + KernelAccessError if none."""
    if m.virt_addr_valid(addr):
        return m.virt_to_pfn(addr)
    for resolve in m.kaddr_resolvers:
        pfn = resolve(m, addr)
        if pfn is not None:
            return pfn
    page_fault_oops(m, addr, write)
    raise KernelAccessError(f"kernel {'write to' if write else 'read of'} unmapped address "
                          f"{addr:#x}")


def page_fault_oops(m: Machine, addr: int, write: bool) -> None:
    """page_fault_oops() for a not-present kernel address."""
    start = m.log.mark()
    width = 16 if m.arch.bits == 64 else 8
    m.printk(f"BUG: unable to handle page fault for address: {addr:0{width}x}", level=1)
    m.printk(f"#PF: supervisor {'write' if write else 'read'} access in kernel mode", level=1)
    m.printk(f"#PF: error_code(0x000{2 if write else 0}) - not-present page", level=1)
    m.printk(f"Oops: Oops: 000{2 if write else 0} [#1] PREEMPT SMP NOPTI", level=4)
    m.debug.taints.add("D")
    m.debug.dump_stack()
    m.debug.reports.append(m.log.since(start))


def _chunks(m: Machine, addr: int, n: int, write: bool) -> list[tuple[int, int, int]]:
    """(pfn, offset, length) pieces of [addr, addr + n)."""
    out = []
    while n > 0:
        off = addr & _PAGE_MASK
        take = min(n, PAGE_SIZE - off)
        out.append((kaddr_to_pfn(m, addr, write), off, take))
        addr += take
        n -= take
    return out


def kernel_read(m: Machine, addr: int, n: int) -> bytes:
    """copy_from_kernel_nofault(): *n* bytes at kernel address *addr*."""
    if n <= 0:
        return b""
    data = m.page_data
    off = addr & _PAGE_MASK
    if off + n <= PAGE_SIZE and m.virt_addr_valid(addr):
        page = data.get(m.virt_to_pfn(addr))
        return bytes(page[off:off + n]) if page is not None else bytes(n)
    parts = []
    for pfn, off, take in _chunks(m, addr, n, False):
        page = data.get(pfn)
        parts.append(bytes(page[off:off + take]) if page is not None else bytes(take))
    return b"".join(parts)


def kernel_write(m: Machine, addr: int, buf: bytes | bytearray) -> None:
    """copy_to_kernel_nofault(): store *buf* at kernel address *addr*."""
    data = m.page_data
    pos = 0
    for pfn, off, take in _chunks(m, addr, len(buf), True):
        page = data.get(pfn)
        if page is None:
            page = data[pfn] = bytearray(PAGE_SIZE)
        page[off:off + take] = buf[pos:pos + take]
        pos += take


def kernel_memset(m: Machine, addr: int, c: int, n: int) -> None:
    """memset() of kernel memory."""
    data = m.page_data
    for pfn, off, take in _chunks(m, addr, n, True):
        page = data.get(pfn)
        if page is None:
            if c == 0:
                continue
            page = data[pfn] = bytearray(PAGE_SIZE)
        page[off:off + take] = bytes((c,)) * take


def memchr_inv(m: Machine, addr: int, c: int, n: int) -> int | None:
    """memchr_inv(): address of the first byte in [addr, addr+n) that is not *c*, else None."""
    buf = kernel_read(m, addr, n)
    want = bytes((c,)) * n
    if buf == want:
        return None
    for i in range(n):
        if buf[i] != c:
            return addr + i
    return None  # pragma: no cover (buf != want guarantees a difference)


def hex_dump_lines(m: Machine, prefix: str, addr: int, n: int, addr_text: Callable[[int], str],
                   rowsize: int = 16) -> list[str]:
    """print_hex_dump(KERN_*, prefix, DUMP_PREFIX_ADDRESS, 16, 1, addr, n, true) lines."""
    buf = kernel_read(m, addr, n)
    ascii_column = rowsize * 2 + rowsize + 1
    lines = []
    for i in range(0, n, rowsize):
        row = buf[i:i + rowsize]
        hexpart = " ".join(f"{b:02x}" for b in row)
        text = "".join(chr(b) if 0x20 <= b < 0x7F else "." for b in row)
        lines.append(f"{prefix}{addr_text(addr + i)}: {hexpart.ljust(ascii_column - 2)}  {text}")
    return lines


def clear_direct(m: Machine, addr: int, n: int) -> None:
    """memset(addr, 0, n) for a direct-map range the caller knows is valid (a slab object):
    only pages that hold written contents need touching."""
    data = m.page_data
    base = m.arch.page_offset - m.arch.dram_base
    first = (addr - base) >> PAGE_SHIFT
    last = (addr + n - 1 - base) >> PAGE_SHIFT
    for pfn in range(first, last + 1):
        page = data.get(pfn)
        if page is not None:
            lo = max(addr, base + (pfn << PAGE_SHIFT))
            hi = min(addr + n, base + ((pfn + 1) << PAGE_SHIFT))
            off = lo - base - (pfn << PAGE_SHIFT)
            page[off:off + hi - lo] = bytes(hi - lo)


def clear_pages(m: Machine, pfn: int, nr: int) -> None:
    """clear_highpage() for *nr* pages: drop their contents (they read as zeros)."""
    data = m.page_data
    if data:
        for p in range(pfn, pfn + nr):
            data.pop(p, None)


assert PAGE_SHIFT == 12
