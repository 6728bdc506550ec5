"""
Doubly linked lists threaded through struct page (include/linux/list.h list_add,
list_add_tail, list_del), as the model keeps them: the memmap's ``lru_next``/``lru_prev``
fields hold PFN + 1 (0 = none), and a list is named by its ends, ``head[i]``/``tail[i]``
(arrays indexed by list number). The classic LRU lists (mm/mm_inline.py) and MGLRU's
generation lists (mm/lru_gen.py) both use these.
"""

from __future__ import annotations

from typing import Any


def pfn_list_add(mem: Any, head: Any, tail: Any, i: int, pfn: int) -> None:
    """list_add(): *pfn* at the head of list *i*."""
    old = head[i]
    mem.lru_prev[pfn] = 0
    mem.lru_next[pfn] = old
    if old:
        mem.lru_prev[old - 1] = pfn + 1
    else:
        tail[i] = pfn + 1
    head[i] = pfn + 1


def pfn_list_add_tail(mem: Any, head: Any, tail: Any, i: int, pfn: int) -> None:
    """list_add_tail(): *pfn* at the tail of list *i*."""
    old = tail[i]
    mem.lru_next[pfn] = 0
    mem.lru_prev[pfn] = old
    if old:
        mem.lru_next[old - 1] = pfn + 1
    else:
        head[i] = pfn + 1
    tail[i] = pfn + 1


def pfn_list_del(mem: Any, head: Any, tail: Any, i: int, pfn: int) -> None:
    """list_del(): unlink *pfn* from list *i*."""
    nxt = mem.lru_next[pfn]
    prv = mem.lru_prev[pfn]
    if prv:
        mem.lru_next[prv - 1] = nxt
    else:
        head[i] = nxt
    if nxt:
        mem.lru_prev[nxt - 1] = prv
    else:
        tail[i] = prv
    mem.lru_next[pfn] = 0
    mem.lru_prev[pfn] = 0
