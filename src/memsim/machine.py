"""
The simulated machine: one object that owns all state (no module globals), so many
machines can live in one process and a run is reproducible from its config and seed.

``Machine.boot(arch="x86_64", mem="4G", cpus=2)`` runs the boot sequence of mm/mm_init.py
and returns a machine whose kernel API is reachable under the kernel's names:
``m.alloc_pages(gfp, order)``, ``m.get_zeroed_page(gfp)``, ``m.free_pages(addr, order)`` …
Kernel names with leading underscores become methods without them where that is
unambiguous (``m.get_free_pages`` is ``__get_free_pages``); ``__free_pages`` and
``__free_page``, which would collide with ``free_pages(addr)``/``free_page(addr)``, are
``m.free_pages_pfn(page, order)`` and ``m.free_page_pfn(page)``. The exact kernel
spellings stay available as module functions (``memsim.mm.page_alloc.__free_pages``).

A page is its PFN (``int``); ``alloc_pages`` returns the PFN of the first page or None.
"""

from __future__ import annotations

import bisect
from collections.abc import Callable, Mapping
from contextlib import AbstractContextManager
from typing import Any

from memsim.arch import ARCHES, MAX_PAGE_ORDER, PAGE_SHIFT, ArchSpec
from memsim.config import MachineConfig, load_toml
from memsim.errors import MemsimError
from memsim.include.gfp import (
    __GFP_BITS_MASK,
    __GFP_DIRECT_RECLAIM,
    __GFP_DMA,
    __GFP_HIGHMEM,
    __GFP_ZERO,
    GFP_KERNEL,
    gfp_migratetype,
    gfp_zone_bits,
)
from memsim.include.mm_types import MemMap
from memsim.include.mmzone import ZONE_BELOW_HIGH, ZONE_RECLAIM_ACTIVE, PgData, Zone
from memsim.include.mmzone_types import ZoneType
from memsim.include.page_flags import (
    PAGE_FLAGS_CHECK_AT_FREE,
    PAGE_FLAGS_CHECK_AT_PREP,
    PageFlags,
)
from memsim.include.vmstat_items import NR_VM_EVENT_ITEMS, NodeStatItem, NumaStatItem, VmEventItem
from memsim.kernel import fork, sched
from memsim.kernel.printk import LOGLEVEL_INFO, KernelLog
from memsim.mm import highmem, maccess, page_alloc
from memsim.mm import percpu as mm_percpu
from memsim.mm.debug import Debug
from memsim.mm.maccess import KaddrResolver
from memsim.mm.mapping import MappingRegistry
from memsim.mm.memblock import Memblock
from memsim.mm.slab_common import SLAB_API, SlabAllocator, python_caller
from memsim.mm.vmalloc import SHMLBA, VM_ALLOW_HUGE_VMAP, VM_MAP, VM_USERMAP, Vmalloc
from memsim.sysctl import LOWMEM_RESERVE_RATIO_DEFAULT, VmSysctl, sysctl_read, sysctl_write
from memsim.trace.tracepoints import TraceContext, TracepointSet

# Kernel names with a leading "__" cannot be spelled inside a class body (Python mangles
# them), so the methods below call them through these module-level aliases.
_alloc_pages: Callable[..., int | None] = getattr(page_alloc, "__alloc_pages")
_GFP_DMA = __GFP_DMA
_GFP_BITS_MASK = __GFP_BITS_MASK
_GFP_HIGHMEM = __GFP_HIGHMEM
_GFP_ZERO = __GFP_ZERO
_GFP_DIRECT_RECLAIM = __GFP_DIRECT_RECLAIM
_GFP_THISNODE = 0x200000
_ZONE_BELOW_HIGH = ZONE_BELOW_HIGH
_ZONE_BUSY = ZONE_BELOW_HIGH | ZONE_RECLAIM_ACTIVE
_CHECK_AT_PREP = PAGE_FLAGS_CHECK_AT_PREP
# free_pages_prepare() on an order-0 page: PG_head, or any flag the free check rejects
_FAST_FREE_BAD = PAGE_FLAGS_CHECK_AT_FREE | (1 << PageFlags.PG_head)
_PGALLOC_DMA = int(VmEventItem.PGALLOC_DMA)
_PGFREE = int(VmEventItem.PGFREE)
_NUMA_HIT = int(NumaStatItem.NUMA_HIT)
_NUMA_LOCAL = int(NumaStatItem.NUMA_LOCAL)
_NUMA_OTHER = int(NumaStatItem.NUMA_OTHER)
_free_pages: Callable[..., None] = getattr(page_alloc, "__free_pages")


class ReclaimHooks:
    """
    The slow path's calls into reclaim, compaction and the OOM killer. Later parts of the
    model replace these; until then they report that the mechanism is not modelled yet and
    make no progress, so the allocation fails honestly.
    """

    def direct_compact_and_reclaim(self, m: Machine, gfp: int, order: int, alloc_flags: int,
                                   ac: Any) -> int | None:
        m.note_once("direct-reclaim",
                    "memsim: direct reclaim and compaction are not modelled yet; "
                    "no progress")
        return None

    def may_oom(self, m: Machine, gfp: int, order: int, alloc_flags: int,
                ac: Any) -> int | None:
        from memsim.mm.oom_kill import alloc_pages_may_oom
        return alloc_pages_may_oom(m, gfp, order, alloc_flags, ac)


class Machine:
    """A booted simulated machine."""

    def __init__(self, config: MachineConfig) -> None:
        self.config = config
        self.arch: ArchSpec = ARCHES[config.arch]
        self.nr_cpus = config.cpus
        self.nr_nodes = config.nodes
        self.strict = bool(config["strict"])
        self.clock_ns = 0
        #: kernel threads are runnable (kernel/kthread.py): the one test schedule() makes
        self.kthread_pending = False
        #: pages the last direct reclaim freed (did_some_progress of the slow path)
        self.reclaim_progress = 0
        self.log = KernelLog()
        self.debug = Debug(self)
        self.tp = TracepointSet(key=config.seed * 0x9E3779B97F4A7C15 + 1)
        self.sysctl = VmSysctl()
        self.user_min_free_kbytes = -1
        self.reclaim_hooks = ReclaimHooks()
        #: MGLRU's LRU_GEN_CORE switch (mm/lru_gen.py sets it at boot and on writes to
        #: /sys/kernel/mm/lru_gen/enabled); the LRU hot paths test it
        self.lru_gen_on = False
        self._notes: set[str] = set()
        self._ratelimit: dict[str, tuple[int, int]] = {}
        # current task/CPU context
        self._cpu = 0
        self._fast_by_cpu: list[dict[int, Any]] = [{} for _ in range(self.nr_cpus)]
        self._fast_cur: dict[int, Any] = self._fast_by_cpu[0]
        self.current_pid = 0
        self.current_comm = "swapper/0"
        self.current_pf_memalloc = False
        # CPUs spread evenly over nodes, in order
        per = max(1, self.nr_cpus // self.nr_nodes)
        self.cpu_to_node = [min(c // per, self.nr_nodes - 1) for c in range(self.nr_cpus)]
        # memory state, filled by boot
        self.nodes: list[PgData] = []
        self.zones: list[Zone] = []
        self.memblock: Memblock | None = None
        self.max_pfn = 0
        self.max_low_pfn = 0
        self.totalram_pages = 0
        self.totalhigh_pages = 0
        self.totalreserve_pages = 0
        self.nr_memmap_boot_pages = 0
        self.percpu_first_chunk_bytes = 0
        #: physical address of each CPU's unit of the first per-cpu chunk (mm/mm_init.py)
        self.percpu_unit_phys: dict[int, int] = {}
        #: the first chunk's layout (mm/percpu.py PcpuAllocInfo), set by mm_init at boot
        self.pcpu_alloc_info: Any = None
        #: kernel stacks: the per-CPU cache of freed vmap stacks and the IRQ stacks
        #: (kernel/fork.py, arch_x86/irq.py), set up on first use
        self.kernel_stacks: fork.KernelStacks | None = None
        self.kernel_init_range = (0, 0)
        self.boot_allocated_pages = 0
        self.pageblock_order = self.arch.pageblock_order
        self.pageblock_nr_pages = 1 << self.pageblock_order
        self.page_group_by_mobility_disabled = False
        self.thp_pcp = config["thp"] != "never" and self.arch.bits == 64
        self.check_pages = True     # a debug kernel (CONFIG_DEBUG_VM) checks every page
        self.gfp_allowed_mask = _GFP_BITS_MASK
        self.vm_event: list[int] = [0] * NR_VM_EVENT_ITEMS
        self.page_data: dict[int, bytearray] = {}
        #: Committed_AS in pages (mm/util.py)
        self.vm_committed_as = 0
        #: processes by PID (kernel/task.py), the shared zero page, the next PID
        self.tasks: dict[int, Any] = {}
        self.zero_pfn = 0
        self.last_pid = 1
        #: swap space in pages, kept current by mm/swapfile.py (0 without a swap device)
        self.total_swap_pages = 0
        self.nr_swap_pages = 0
        #: debugfs fault_around_bytes in pages (mm/memory.py set_fault_around_bytes)
        self.fault_around_pages = 16
        #: the vDSO/vvar pages every process maps, and rmap's folio_mkclean for writeback
        self.vdso_pages: list[int] = []
        self.folio_mkclean: Callable[[int], bool] | None = None
        #: page->mapping handles (mm/mapping.py)
        self.mapping_registry: MappingRegistry = MappingRegistry()
        #: the in-model filesystems and page cache owners (fs/vfs.py), set up at boot
        self.vfs: Any = None
        self.pfmemalloc: set[int] = set()
        self.page_owner: dict[int, tuple[int, int, str]] | None = None
        #: kernel-address -> PFN translators beyond the direct map (vmalloc, kmap)
        self.kaddr_resolvers: list[KaddrResolver] = []
        #: pkmap and kmap_local state (mm/highmem.py) on machines with high memory
        self.highmem: highmem.Highmem | None = None
        #: preempt_count() per CPU (hardirq/softirq/NMI bits as the kernel packs them)
        self.preempt_count = [0] * self.nr_cpus
        #: interrupts disabled per CPU (local_irq_disable()), and the bookkeeping of
        #: kernel/sched.py: which CPUs are atomic or irqs-off, and how many (the allocator
        #: fast paths test only ``_atomic_cpus``)
        self.irqs_off = [False] * self.nr_cpus
        self._cpu_atomic = [False] * self.nr_cpus
        self._atomic_cpus = 0
        self._might_resched_prev_jiffy = -1
        #: debug_locks: cleared by the first spinlock debug report (debug_locks_off())
        self.debug_locks = True
        #: the slab allocator (mm/slub.py or mm/slab.py), set up at boot
        self.slab: SlabAllocator
        self.ac_cache: dict[tuple[int, int], Any] = {}
        self._tp_alloc = self.tp.mm_page_alloc
        self._tp_free = self.tp.mm_page_free
        self.mem_map: MemMap = MemMap.allocate(0)
        self.pageblock_mt = bytearray()
        self._zone_starts: list[int] = []
        self._zone_by_start: list[Zone] = []
        self._zone_of_block = bytearray()
        self.has_dma32_nofragment = self.arch.zone_idx(ZoneType.ZONE_DMA32) is not None
        self.zone_normal_type = ZoneType.ZONE_NORMAL
        movable = self.arch.zone_idx(ZoneType.ZONE_MOVABLE)
        self.zone_movable_idx = movable if movable is not None else len(self.arch.zones) - 1
        self._gfp_zone_cache: dict[int, int] = {}
        lrr = config["sysctl.vm.lowmem_reserve_ratio"]
        self.sysctl.lowmem_reserve_ratio = list(lrr) if lrr is not None else [
            LOWMEM_RESERVE_RATIO_DEFAULT[z] for z in self.arch.zones]
        self.sysctl.watermark_scale_factor = config["sysctl.vm.watermark_scale_factor"]
        self.sysctl.watermark_boost_factor = config["sysctl.vm.watermark_boost_factor"]
        self.sysctl.percpu_pagelist_high_fraction = \
            config["sysctl.vm.percpu_pagelist_high_fraction"]
        self.sysctl.extfrag_threshold = config["sysctl.vm.extfrag_threshold"]
        for name in ("overcommit_memory", "overcommit_ratio", "overcommit_kbytes",
                     "max_map_count", "mmap_min_addr", "swappiness", "panic_on_oom",
                     "oom_kill_allocating_task", "oom_dump_tasks", "dirty_background_ratio",
                     "dirty_background_bytes", "dirty_ratio", "dirty_bytes",
                     "dirty_writeback_centisecs", "dirty_expire_centisecs"):
            setattr(self.sysctl, name, config[f"sysctl.vm.{name}"])
        self.sysctl.page_cluster = config["sysctl.vm.page-cluster"]
        self.sysctl.randomize_va_space = config["sysctl.kernel.randomize_va_space"]

    @property
    def current_cpu(self) -> int:
        """The CPU the current code runs on (smp_processor_id())."""
        return self._cpu

    @current_cpu.setter
    def current_cpu(self, cpu: int) -> None:
        if not 0 <= cpu < self.nr_cpus:
            raise MemsimError(f"cpu {cpu} does not exist (machine has {self.nr_cpus} CPUs)")
        self._cpu = cpu
        self._fast_cur = self._fast_by_cpu[cpu]

    # ------------------------------------------------------------------ construction

    @classmethod
    def boot(cls, config: MachineConfig | None = None, *, machine_file: str | None = None,
             settings: Mapping[str, object] | None = None, **kwargs: object) -> Machine:
        """
        Boot a machine. Settings come from *config*, or else from a TOML *machine_file*,
        then *settings* (flat keys, as ``--set``), then keyword arguments (``arch``, ``mem``,
        ``cpus``, ``nodes``, ``seed``, ``thp``, ``strict``, or any key with dots replaced
        by ``__``, e.g. ``vm__min_free_kbytes=8192``).
        """
        if config is None:
            merged: dict[str, object] = {}
            origin: dict[str, str] = {}
            if machine_file is not None:
                merged, origin = load_toml(machine_file)
            merged.update(settings or {})
            merged.update({k.replace("__", "."): v for k, v in kwargs.items()})
            config = MachineConfig.build(merged, origin)
        m = cls(config)
        m._boot()
        return m

    def _boot(self) -> None:
        from memsim.mm import mm_init

        cfg = self.config
        self.printk("Linux version 6.12.0-memsim (memsim) #1 SMP PREEMPT_DYNAMIC")
        self.printk(f"Command line: {self.cmdline()}")
        mm_init.boot_memory(self)
        self.kmem_cache_init()
        if self.arch.highmem:
            self.highmem = highmem.kmap_init(self)
        min_free = cfg["sysctl.vm.min_free_kbytes"]
        if min_free is not None:
            sysctl_write(self, "min_free_kbytes", str(min_free))
        self.current_comm = "memsim"
        self.current_pid = 1
        from memsim.kernel import task as _task
        _task.proc_caches_init(self)
        #: managed pages still held by the kernel when boot finished (0 until boot-time
        #: allocators such as slab exist); validators use it to balance the books
        self.boot_allocated_pages = self.totalram_pages - self.nr_free_pages() - \
            self.nr_pcp_pages()
        from memsim.fs.vfs import Vfs
        self.vfs = Vfs(self)

    def cmdline(self) -> str:
        parts = ["BOOT_IMAGE=/boot/vmlinuz-6.12.0-memsim", "root=/dev/vda1", "ro"]
        for key in ("mem", "movablecore", "kernelcore"):
            v = self.config[f"cmdline.{key}"]
            if v is not None:
                parts.append(f"{key}={v}")
        if self.config["cmdline.slab_debug"] is not None:
            v = self.config["cmdline.slab_debug"]
            parts.append(f"slab_debug={v}" if v else "slab_debug")
        for key, default in (("slub_min_order", 0), ("slub_max_order", 3),
                             ("slub_min_objects", 0)):
            if self.config[f"cmdline.{key}"] != default:
                parts.append(f"{key}={self.config[f'cmdline.{key}']}")
        if self.config.nodes > 1:
            parts.append(f"numa=fake={self.config.nodes}")
        return " ".join(parts)

    def allocate_memmap(self) -> None:
        """Allocate struct pages for PFNs [0, max_pfn) rounded up to a MAX_ORDER block."""
        n = -(-self.max_pfn // (1 << MAX_PAGE_ORDER)) << MAX_PAGE_ORDER
        self.mem_map = MemMap.allocate(n)
        self.pageblock_mt = bytearray(n >> self.pageblock_order)
        populated = [z for z in self.zones if z.spanned_pages]
        populated.sort(key=lambda z: z.zone_start_pfn)
        self._zone_starts = [z.zone_start_pfn for z in populated]
        self._zone_by_start = populated
        # zone id per MAX_ORDER block (255: the block straddles a zone edge or a hole)
        blocks = n >> MAX_PAGE_ORDER
        zb = bytearray([255]) * blocks
        self._zone_list_index = {id(z): i for i, z in enumerate(self.zones)}
        for z in populated:
            first = -(-z.zone_start_pfn >> MAX_PAGE_ORDER)
            last = z.zone_end_pfn >> MAX_PAGE_ORDER
            zi = self._zone_list_index[id(z)]
            zb[first:last] = bytes([zi]) * max(0, last - first)
        self._zone_of_block = zb

    # ------------------------------------------------------------------ helpers the mm code uses

    def page_zone(self, pfn: int) -> Zone:
        """page_zone(): the zone a PFN belongs to."""
        zi = self._zone_of_block[pfn >> MAX_PAGE_ORDER]
        if zi != 255:
            return self.zones[zi]
        i = bisect.bisect_right(self._zone_starts, pfn) - 1      # page_zone_or_none()
        if i >= 0:
            z = self._zone_by_start[i]
            if pfn < z.zone_end_pfn:
                return z
        raise MemsimError(f"pfn {pfn:#x} is not in any zone")

    def page_zone_or_none(self, pfn: int) -> Zone | None:
        i = bisect.bisect_right(self._zone_starts, pfn) - 1
        if i < 0:
            return None
        z = self._zone_by_start[i]
        return z if pfn < z.zone_end_pfn else None

    def pfn_valid(self, pfn: int) -> bool:
        """pfn_valid(): a struct page exists for this PFN (it lies in a node's span)."""
        if not isinstance(pfn, int) or not 0 <= pfn < self.mem_map.nr_pfns:
            return False
        # a block that lies inside one zone (zones do not overlap): no bisect needed
        return self._zone_of_block[pfn >> MAX_PAGE_ORDER] != 255 or \
            self.page_zone_or_none(pfn) is not None

    def node_distance(self, a: int, b: int) -> int:
        """node_distance(): LOCAL_DISTANCE or REMOTE_DISTANCE."""
        # SIM: no ACPI SLIT table, so every remote node is at REMOTE_DISTANCE (20).
        return 10 if a == b else 20

    def gfp_zone(self, gfp: int) -> int:
        """gfp_zone(): the highest zone index *gfp* may use on this machine."""
        key = gfp & 0xF
        z = self._gfp_zone_cache.get(key)
        if z is None:
            ztype = gfp_zone_bits(gfp)
            if ztype is None:
                # VM_BUG_ON on a DEBUG_VM kernel; the table entry is otherwise garbage.
                self.debug.warn_on_once("gfp_zone", "invalid zone modifier combination",
                                        "include/linux/gfp.h", 155)
                ztype = ZoneType.ZONE_NORMAL
            idx = self.arch.zone_idx(ztype)
            if idx is None:  # OPT_ZONE_*: not configured -> ZONE_NORMAL
                idx = self.arch.zone_idx(ZoneType.ZONE_NORMAL)
            assert idx is not None
            z = idx
            self._gfp_zone_cache[key] = z
        return z

    def gfp_migratetype(self, gfp: int) -> int:
        return int(gfp_migratetype(gfp,
                                   group_by_mobility_disabled=self.page_group_by_mobility_disabled))

    def current_gfp_context(self, gfp: int) -> int:
        """current_gfp_context(): memalloc_noio/nofs scopes."""
        # SIM: no memalloc_noio/nofs/pin scopes exist yet (they arrive with tasks), so
        # the mask passes unchanged.
        return gfp

    def kmem_cache_init(self) -> None:
        """mm_core_init() -> kmem_cache_init(): the configured slab allocator, bound here
        under the kernel's names (``m.kmalloc``, ``m.kmem_cache_alloc`` …)."""
        from memsim.mm.slub import Slub
        if self.config["slab"] == "slab":
            from memsim.mm.slab import Slab
            self.slab = Slab(self)
        else:
            slub = Slub(self)
            slub.slub_min_order = self.config["cmdline.slub_min_order"]
            slub.slub_max_order = max(slub.slub_min_order, self.config["cmdline.slub_max_order"])
            slub.slub_min_objects = self.config["cmdline.slub_min_objects"]
            if self.config["cmdline.slab_debug"] is not None:
                slub.parse_slub_debug(self.config["cmdline.slab_debug"])
            self.slab = slub
        for name in SLAB_API:
            setattr(self, name, getattr(self.slab, name))
        self.slab.kmem_cache_init()
        from memsim.mm.vmalloc import vmalloc_init
        vmalloc_init(self)
        mm_percpu.percpu_init(self)
        if self.arch.name in ("x86_64", "i386"):
            from memsim.arch_x86 import irq
            irq.irq_stacks(self)        # irq_init_percpu_irqstack() as each CPU comes up

    # the slab API (mm/slab_common.py documents each); bound to self.slab at boot
    kmem_cache_create: Callable[..., Any]
    kmem_cache_destroy: Callable[[Any], None]
    kmem_cache_shrink: Callable[[Any], int]
    kmem_cache_lookup: Callable[[str], Any]
    kmem_cache_alloc: Callable[[Any, int], int | None]
    kmem_cache_alloc_node: Callable[[Any, int, int], int | None]
    kmem_cache_zalloc: Callable[[Any, int], int | None]
    kmem_cache_free: Callable[[Any, int], None]
    kmem_cache_alloc_bulk: Callable[[Any, int, int], list[int]]
    kmem_cache_free_bulk: Callable[[Any, list[int]], None]
    kmalloc: Callable[[int, int], int | None]
    kmalloc_node: Callable[[int, int, int], int | None]
    kzalloc: Callable[[int, int], int | None]
    kcalloc: Callable[[int, int, int], int | None]
    kmalloc_array: Callable[[int, int, int], int | None]
    krealloc: Callable[[int | None, int, int], int | None]
    kfree: Callable[[int | None], None]
    kfree_sensitive: Callable[[int | None], None]
    ksize: Callable[[int | None], int]
    kmalloc_size_roundup: Callable[[int], int]
    kvmalloc: Callable[[int, int], int | None]
    kvmalloc_node: Callable[[int, int, int], int | None]
    kvzalloc: Callable[[int, int], int | None]
    kvfree: Callable[[int | None], None]

    # ---- vmalloc (mm/vmalloc.py); the state is set up at the end of kmem_cache_init
    vmalloc_state: Vmalloc

    def vmalloc(self, size: int) -> int | None:
        """vmalloc(): *size* bytes of virtually contiguous memory, or None."""
        return self.vmalloc_node(size, -1)

    def vmalloc_node(self, size: int, node: int = -1, gfp: int | None = None,
                     vm_flags: int = 0) -> int | None:
        """vmalloc_node(): vmalloc with pages from node *node* (-1: any); *gfp* (default
        GFP_KERNEL) and *vm_flags* serve kvmalloc's fallback."""
        st = self.vmalloc_state
        return self.vmalloc_node_range(size, 1, st.vmalloc_start, st.vmalloc_end,
                                       GFP_KERNEL if gfp is None else gfp, vm_flags, node)

    def vzalloc(self, size: int) -> int | None:
        """vzalloc(): zeroed vmalloc."""
        return self.vmalloc_node(size, -1, GFP_KERNEL | _GFP_ZERO)

    def vmalloc_user(self, size: int) -> int | None:
        """vmalloc_user(): zeroed, VM_USERMAP (may be remapped to user space)."""
        st = self.vmalloc_state
        return self.vmalloc_node_range(size, SHMLBA, st.vmalloc_start, st.vmalloc_end,
                                       GFP_KERNEL | _GFP_ZERO, VM_USERMAP, -1)

    def vmalloc_huge(self, size: int, gfp: int) -> int | None:
        """vmalloc_huge(): PMD mappings when the size allows, else small pages."""
        return self.vmalloc_node(size, -1, gfp, VM_ALLOW_HUGE_VMAP)

    def vmalloc_node_range(self, size: int, align: int, start: int, end: int, gfp: int,
                           vm_flags: int = 0, node: int = -1) -> int | None:
        """__vmalloc_node_range(): vmalloc in [start, end) with explicit flags."""
        return self.vmalloc_state.vmalloc_node_range(size, align, start, end, gfp, vm_flags,
                                                     node, python_caller())

    def vfree(self, addr: int | None) -> None:
        """vfree(): free a vmalloc area (None is fine; unknown areas WARN)."""
        self.vmalloc_state.vfree(addr)

    def vmap(self, pages: list[int], flags: int = VM_MAP) -> int | None:
        """vmap(pages, count, VM_MAP, PAGE_KERNEL): map existing pages contiguously."""
        return self.vmalloc_state.vmap(pages, flags, python_caller())

    def vunmap(self, addr: int) -> None:
        self.vmalloc_state.vunmap(addr)

    def ioremap(self, phys_addr: int, size: int) -> int | None:
        """ioremap(): map device memory (not RAM) into the vmalloc range."""
        return self.vmalloc_state.ioremap(phys_addr, size, python_caller())

    def iounmap(self, addr: int) -> None:
        self.vmalloc_state.iounmap(addr)

    def vmalloc_to_page(self, addr: int) -> int | None:
        """vmalloc_to_page(): PFN mapped at a vmalloc address, or None."""
        return self.vmalloc_state.vmalloc_to_page(addr)

    def vmalloc_to_pfn(self, addr: int) -> int | None:
        return self.vmalloc_state.vmalloc_to_page(addr)

    def is_vmalloc_addr(self, addr: int) -> bool:
        return self.vmalloc_state.is_vmalloc_addr(addr)

    def vmalloc_pte_walk(self, addr: int) -> Any:
        """The init_mm page-table entry for a vmalloc address (mm/vmalloc.py PteWalk)."""
        return self.vmalloc_state.pte_walk(addr)

    # ---- per-CPU data (mm/percpu.py); ``m.percpu`` is set up after vmalloc at boot
    percpu: mm_percpu.Percpu

    def alloc_percpu(self, size: int, align: int = 0) -> int | None:
        """__alloc_percpu(): *size* bytes in every CPU's unit (GFP_KERNEL); a __percpu
        pointer (a cookie for per_cpu_ptr) or None."""
        return self.percpu.pcpu_alloc(size, align, False, GFP_KERNEL)

    def alloc_percpu_gfp(self, size: int, align: int, gfp: int) -> int | None:
        """__alloc_percpu_gfp(): GFP_KERNEL, or a non-sleeping GFP that only uses
        populated pages."""
        return self.percpu.pcpu_alloc(size, align, False, gfp)

    def alloc_reserved_percpu(self, size: int, align: int) -> int | None:
        """__alloc_reserved_percpu(): from the first chunk's reserved (module) area."""
        return self.percpu.pcpu_alloc(size, align, True, GFP_KERNEL)

    def free_percpu(self, ptr: int | None) -> None:
        """free_percpu()"""
        self.percpu.free_percpu(ptr)

    def per_cpu_ptr(self, ptr: int | mm_percpu.PerCpuVar, cpu: int) -> int:
        """per_cpu_ptr(ptr, cpu) / &per_cpu(var, cpu): the CPU's copy's kernel address."""
        return mm_percpu.per_cpu_ptr(self, ptr, cpu)

    def DEFINE_PER_CPU(self, name: str, size: int) -> mm_percpu.PerCpuVar:
        """DEFINE_PER_CPU(): a *size*-byte variable in the static per-CPU area."""
        return self.percpu.define_per_cpu(name, size)

    define_per_cpu = DEFINE_PER_CPU

    def per_cpu(self, var: mm_percpu.PerCpuVar | int, cpu: int, size: int | None = None) -> int:
        """per_cpu(var, cpu) as a value (little-endian, the variable's size)."""
        return mm_percpu.per_cpu_read(self, var, cpu, size)

    def per_cpu_write(self, var: mm_percpu.PerCpuVar | int, cpu: int, val: int,
                      size: int | None = None) -> None:
        """per_cpu(var, cpu) = val"""
        mm_percpu.per_cpu_write(self, var, cpu, val, size)

    def this_cpu_ptr(self, var: mm_percpu.PerCpuVar | int) -> int:
        """this_cpu_ptr() (checks preemption, as CONFIG_DEBUG_PREEMPT does)."""
        return mm_percpu.this_cpu_ptr(self, var)

    def this_cpu_read(self, var: mm_percpu.PerCpuVar | int, size: int | None = None) -> int:
        return mm_percpu.this_cpu_read(self, var, size)

    def this_cpu_write(self, var: mm_percpu.PerCpuVar | int, val: int,
                       size: int | None = None) -> None:
        mm_percpu.this_cpu_write(self, var, val, size)

    def this_cpu_add(self, var: mm_percpu.PerCpuVar | int, val: int,
                     size: int | None = None) -> None:
        mm_percpu.this_cpu_add(self, var, val, size)

    # m.__this_cpu_read/_write/_add are attached after the class (a __name in this class
    # body would be mangled); they report a preemptible caller (CONFIG_DEBUG_PREEMPT).

    def get_cpu(self) -> int:
        """get_cpu(): preempt_disable() and the current CPU."""
        return mm_percpu.get_cpu(self)

    def put_cpu(self) -> None:
        """put_cpu(): preempt_enable()."""
        mm_percpu.put_cpu(self)

    def get_cpu_var(self, var: mm_percpu.PerCpuVar | int) -> int:
        """get_cpu_var(): preempt_disable(); the address of this CPU's copy."""
        return mm_percpu.get_cpu_var(self, var)

    def put_cpu_var(self, var: mm_percpu.PerCpuVar | int) -> None:
        mm_percpu.put_cpu_var(self, var)

    def smp_processor_id(self) -> int:
        """smp_processor_id() with CONFIG_DEBUG_PREEMPT's preemptible-caller report."""
        return mm_percpu.smp_processor_id(self)

    def raw_smp_processor_id(self) -> int:
        return self._cpu

    def kernel_read(self, addr: int, n: int) -> bytes:
        """Read *n* bytes of kernel memory at virtual address *addr* (mm/maccess.py)."""
        return maccess.kernel_read(self, addr, n)

    def kernel_write(self, addr: int, data: bytes | bytearray) -> None:
        """Write kernel memory at virtual address *addr*, as a (buggy) kernel could."""
        maccess.kernel_write(self, addr, data)

    # ------------------------------------------------------------------ highmem (mm/highmem.py)

    def kmap(self, page: int) -> int | None:
        """kmap(): a kernel address for PFN *page* until kunmap(); may sleep."""
        return highmem.kmap(self, page)

    def kunmap(self, page: int) -> None:
        """kunmap(): drop a kmap() of PFN *page*."""
        highmem.kunmap(self, page)

    def kmap_local_page(self, page: int) -> int | None:
        """kmap_local_page(): a CPU-local temporary mapping of PFN *page*."""
        return highmem.kmap_local_page(self, page)

    def kunmap_local(self, addr: int) -> None:
        """kunmap_local(): undo the innermost kmap_local_page() (by its address)."""
        highmem.kunmap_local(self, addr)

    def kmap_atomic(self, page: int) -> int | None:
        """kmap_atomic(): kmap_local_page() with preemption and page faults disabled."""
        return highmem.kmap_atomic(self, page)

    def kunmap_atomic(self, addr: int) -> None:
        """kunmap_atomic(): undo kmap_atomic()."""
        highmem.kunmap_atomic(self, addr)

    def kernel_memset(self, addr: int, c: int, n: int) -> None:
        maccess.kernel_memset(self, addr, c, n)

    def in_interrupt(self) -> bool:
        """in_interrupt(): hardirq, softirq or NMI context on the current CPU."""
        return bool(self.preempt_count[self._cpu] & 0x1FFF00)

    def panic(self, text: str) -> None:
        """panic(): the "Kernel panic - not syncing" line, then KernelPanic."""
        from memsim.errors import KernelPanic
        start = self.log.mark()
        self.printk(f"Kernel panic - not syncing: {text}", level=0)
        self.debug.dump_stack()
        self.printk(f"---[ end Kernel panic - not syncing: {text} ]---", level=0)
        raise KernelPanic(self.log.since(start))

    def might_alloc(self, gfp: int) -> None:
        """might_alloc(): might_sleep_if(gfpflags_allow_blocking(gfp)), sched/mm.h."""
        if self._atomic_cpus and gfp & _GFP_DIRECT_RECLAIM:
            sched.might_resched(self, sched.MIGHT_ALLOC_FILE, sched.MIGHT_ALLOC_LINE)

    def alloc_task_stack(self, node: int = -1, *,
                         thread_info_on_stack: bool = False) -> fork.TaskStack | None:
        """alloc_thread_stack_node(): a THREAD_SIZE kernel stack (kernel/fork.py); vmap'd
        on x86_64/arm64, pages elsewhere; ``thread_info_on_stack=True`` for the 2.6-era
        layout (struct thread_info at the bottom of the stack, no VMAP_STACK)."""
        return fork.alloc_thread_stack_node(self, node,
                                            thread_info_on_stack=thread_info_on_stack)

    def free_task_stack(self, stack: fork.TaskStack) -> None:
        """free_thread_stack(): vmap stacks go to the per-CPU cache of two, else vfree."""
        fork.free_thread_stack(self, stack)

    def irq_stack(self, cpu: int | None = None, softirq: bool = False) -> fork.TaskStack:
        """The per-CPU hardirq stack (``softirq=True``: the softirq stack, the same one on
        x86_64) of *cpu*, default this CPU (arch_x86/irq.py; x86 only)."""
        from memsim.arch_x86 import irq
        return irq.irq_stack(self, cpu, softirq)

    def current_irq_stack(self) -> fork.TaskStack | None:
        """The IRQ stack the current context runs on: this CPU's hardirq stack in hardirq
        context, its softirq stack while serving a softirq, else None (a task stack)."""
        pc = self.preempt_count[self._cpu]
        if pc & sched.HARDIRQ_MASK:
            return self.irq_stack()
        if pc & sched.SOFTIRQ_OFFSET:           # serving a softirq
            return self.irq_stack(softirq=True)
        return None

    def might_sleep(self, file: str, line: int) -> None:
        """might_sleep() at *file*:*line*: the sleeping-in-atomic report when atomic."""
        if self._atomic_cpus:
            sched.might_resched(self, file, line)

    # ------------------------------------------------------------------ execution contexts
    # (kernel/sched.py: preempt_count, interrupt flag, spinlocks)

    def irq_context(self, cpu: int | None = None) -> AbstractContextManager[None]:
        """``with m.irq_context(cpu=0):`` a hardirq handler (irq_enter/irq_exit, irqs off)."""
        return sched.irq_context(self, cpu)

    def nmi_context(self, cpu: int | None = None) -> AbstractContextManager[None]:
        """``with m.nmi_context():`` an NMI handler (nmi_enter/nmi_exit)."""
        return sched.nmi_context(self, cpu)

    def softirq_context(self, cpu: int | None = None) -> AbstractContextManager[None]:
        """``with m.softirq_context(cpu=0):`` a softirq handler (SOFTIRQ_OFFSET, irqs on)."""
        return sched.softirq_context(self, cpu)

    def bh_disabled(self, cpu: int | None = None) -> AbstractContextManager[None]:
        """``with m.bh_disabled():`` local_bh_disable() ... local_bh_enable()."""
        return sched.bh_disabled(self, cpu)

    def preempt_disabled(self, cpu: int | None = None) -> AbstractContextManager[None]:
        """``with m.preempt_disabled():`` preempt_disable() ... preempt_enable()."""
        return sched.preempt_disabled(self, cpu)

    def local_irq_disabled(self, cpu: int | None = None) -> AbstractContextManager[None]:
        """``with m.local_irq_disabled():`` local_irq_save() ... local_irq_restore()."""
        return sched.local_irq_disabled(self, cpu)

    def spin_lock(self, lock: sched.SpinLock, *, irqsave: bool = False, bh: bool = False,
                  cpu: int | None = None) -> AbstractContextManager[None]:
        """``with m.spin_lock(lock):`` spin_lock()/unlock; ``irqsave=True`` for
        spin_lock_irqsave(), ``bh=True`` for spin_lock_bh()."""
        return sched.spin_lock(self, lock, irqsave, bh, cpu)

    def mutex_lock(self, lock: sched.Mutex) -> None:
        """mutex_lock(): may sleep (the report in atomic context); refuses to deadlock."""
        sched.mutex_lock(self, lock)

    def mutex_trylock(self, lock: sched.Mutex) -> bool:
        return sched.mutex_trylock(self, lock)

    def mutex_unlock(self, lock: sched.Mutex) -> None:
        sched.mutex_unlock(self, lock)

    def preempt_disable(self) -> None:
        sched.preempt_count_add(self, sched.PREEMPT_OFFSET)

    def preempt_enable(self) -> None:
        sched.preempt_count_sub(self, sched.PREEMPT_OFFSET)

    def local_irq_disable(self) -> None:
        sched.set_irqs_off(self, True)

    def local_irq_enable(self) -> None:
        sched.set_irqs_off(self, False)

    def in_atomic(self) -> bool:
        """in_atomic(): preempt_count() != 0."""
        return self.preempt_count[self._cpu] != 0

    def in_irq(self) -> bool:
        """in_irq() (= in_hardirq())."""
        return sched.in_hardirq(self)

    def in_hardirq(self) -> bool:
        return sched.in_hardirq(self)

    def in_softirq(self) -> bool:
        """in_softirq(): serving a softirq or bottom halves disabled."""
        return sched.in_softirq(self)

    def in_serving_softirq(self) -> bool:
        return sched.in_serving_softirq(self)

    def in_nmi(self) -> bool:
        return sched.in_nmi(self)

    def in_task(self) -> bool:
        """in_task(): not in NMI, hardirq or softirq-serving context."""
        return sched.in_task(self)

    def irqs_disabled(self) -> bool:
        return self.irqs_off[self._cpu]

    def preemptible(self) -> bool:
        """preemptible(): preempt_count() == 0 and interrupts enabled."""
        return sched.preemptible(self)

    def wakeup_kswapd(self, zone: Zone, gfp: int, order: int, highest_zoneidx: int) -> None:
        """wakeup_kswapd(): record the request and wake the node's kswapd (mm/vmscan.py)."""
        from memsim.mm.vmscan import wakeup_kswapd
        wakeup_kswapd(self, zone, gfp, order, highest_zoneidx)

    def schedule(self) -> None:
        """Run pending kernel threads (kernel/kthread.py); one attribute test when idle."""
        if self.kthread_pending:
            from memsim.kernel.kthread import run_pending
            run_pending(self)

    def trace_ctx(self) -> TraceContext:
        return TraceContext(self.current_comm, self.current_pid, self.current_cpu,
                            self.clock_ns)

    def printk(self, text: str, level: int = LOGLEVEL_INFO) -> None:
        self.log.log(self.clock_ns, level, text)

    def note_once(self, key: str, text: str) -> None:
        if key not in self._notes:
            self._notes.add(key)
            self.printk(text, level=5)

    def ratelimit(self, key: str, interval_ns: int, burst: int) -> bool:
        """__ratelimit(): at most *burst* calls per *interval_ns* for *key*."""
        start, n = self._ratelimit.get(key, (self.clock_ns, 0))
        if self.clock_ns - start >= interval_ns:
            start, n = self.clock_ns, 0
        if n >= burst:
            self._ratelimit[key] = (start, n)
            return False
        self._ratelimit[key] = (start, n + 1)
        return True

    def mems_allowed_text(self) -> str:
        return "0" if self.nr_nodes == 1 else f"0-{self.nr_nodes - 1}"

    def spawn(self, name: str, *, randomize: bool | None = None) -> Any:
        """A new process with an exec-like address space (kernel/task.py)."""
        from memsim.kernel import task as _task
        return _task.spawn(self, name, randomize=randomize)

    def sysctl_max_map_count(self) -> int:
        return self.sysctl.max_map_count

    def mod_node_page_state_pfn(self, pfn: int, item: int, delta: int) -> None:
        """mod_node_page_state(page_pgdat(page), item, delta) for the node of *pfn*."""
        zi = self._zone_of_block[pfn >> MAX_PAGE_ORDER]      # page_zone(), its fast case
        zone = self.zones[zi] if zi != 255 else self.page_zone(pfn)
        self.nodes[zone.node].vm_stat[item] += delta

    def node_stat_set(self, item: NodeStatItem, value: int) -> None:
        for pg in self.nodes:
            pg.vm_stat[item] = value

    # ------------------------------------------------------------------ counters

    def nr_free_pages(self) -> int:
        """nr_free_pages(): global NR_FREE_PAGES (buddy only, pcp pages not counted)."""
        return sum(z.vm_stat[0] for z in self.zones)

    def nr_pcp_pages(self, zone: Zone | None = None) -> int:
        zones = [zone] if zone is not None else self.zones
        return sum(p.count for z in zones for p in z.per_cpu_pageset)

    # ------------------------------------------------------------------ address translation

    def page_address(self, pfn: int) -> int | None:
        """page_address(): the direct-map virtual address of a page; for highmem, its
        kmap() address while it has one (page_address_htable), else None."""
        if pfn >= self.max_low_pfn and self.arch.highmem:
            hm = self.highmem
            return hm.page_address_htable.get(pfn) if hm is not None else None
        return self.arch.page_offset + (pfn << PAGE_SHIFT) - self.arch.dram_base

    def virt_to_pfn(self, addr: int) -> int:
        """virt_to_pfn() / __pa() >> PAGE_SHIFT for a direct-map address."""
        return (addr - self.arch.page_offset + self.arch.dram_base) >> PAGE_SHIFT

    def virt_addr_valid(self, addr: int) -> bool:
        """virt_addr_valid(): *addr* is in the direct map of an existing page."""
        off = addr - self.arch.page_offset
        if off < 0:
            return False
        pfn = (off + self.arch.dram_base) >> PAGE_SHIFT
        return pfn < self.max_low_pfn and self.pfn_valid(pfn)

    # ------------------------------------------------------------------ page allocator API

    def alloc_pages(self, gfp: int, order: int = 0) -> int | None:
        """alloc_pages(): a block of ``1 << order`` pages on the local node; PFN or None."""
        if order == 0 and not self._tp_alloc.enabled and self.page_owner is None:
            # The order-0 pcp hit of get_page_from_freelist() -> rmqueue_pcplist(), inlined:
            # same watermark test, same list, same counters. Anything else (an empty pcp
            # list, a zone below its watermark, a bad page) takes the full path.
            if self._atomic_cpus:
                self.might_alloc(gfp)     # prepare_alloc_pages(); the ratelimit hides a repeat
            fps = self._fast_cur.get(gfp)
            if fps is None:
                fps = self._make_fast_alloc(gfp)
            for zone, pcp, lst, hz, numa_loc in fps:
                free = zone.vm_stat[0]
                ha = zone.nr_free_highatomic
                if ha:
                    free -= ha if ha < free else free
                below = zone.flags & _ZONE_BELOW_HIGH
                if free <= zone._watermark[1 if below else 2] + zone.watermark_boost + \
                        zone.lowmem_reserve[hz]:
                    if below:
                        continue        # below the low watermark: get_page_from_freelist()
                                        # moves on to the next zone of the zonelist
                    break               # below high for the first time: the full path
                                        # sets ZONE_BELOW_HIGH and checks the low mark
                if not lst:
                    break               # a refill: the full path
                pcp.free_count >>= 1
                pfn: int = lst.pop()
                pcp.count -= 1
                mm = self.mem_map
                rc = mm.refcount
                if rc[pfn] or mm.flags[pfn] & _CHECK_AT_PREP or \
                        mm.mapcount1[pfn] or mm.page_type[pfn] or mm.mapping[pfn]:
                    page_alloc.check_new_page(self, pfn)
                    return _alloc_pages(self, gfp, 0, self.cpu_to_node[self._cpu])
                rc[pfn] = 1
                self.vm_event[_PGALLOC_DMA + zone.zone_type] += 1
                ev = zone.vm_numa_event
                ev[_NUMA_HIT] += 1
                ev[numa_loc] += 1
                if gfp & _GFP_ZERO and self.page_data:
                    self.page_data.pop(pfn, None)
                return pfn
        return _alloc_pages(self, gfp, order, self.cpu_to_node[self._cpu])

    def _make_fast_alloc(self, gfp: int) -> Any:
        # Cache what the order-0 fast path needs for (gfp, cpu): for each zone of the
        # zonelist on the preferred zone's node, in order, the zone, this CPU's pcp list
        # for the migratetype, the highest zone index and the NUMA local/other counter.
        # Empty when the fast path does not apply (zones on other nodes need the
        # NUMA_MISS/FOREIGN accounting and the ALLOC_NOFRAGMENT rules of the full path).
        cpu = self._cpu
        g = self.current_gfp_context(gfp & self.gfp_allowed_mask)
        fps: list[Any] = []
        if g == gfp and not gfp & _GFP_THISNODE:
            ac = page_alloc.prepare_alloc_pages(self, gfp, 0, self.cpu_to_node[cpu], None)
            if ac.zones:
                node = ac.zones[0].node
                for zone in ac.zones:
                    if zone.node != node:
                        break
                    pcp = zone.per_cpu_pageset[cpu]
                    lst = pcp.lists[page_alloc.order_to_pindex(self, ac.migratetype, 0)]
                    loc = _NUMA_LOCAL if zone.node == self.cpu_to_node[cpu] else _NUMA_OTHER
                    fps.append((zone, pcp, lst, ac.highest_zoneidx, loc))
        self._fast_cur[gfp] = fps
        return fps

    def alloc_page(self, gfp: int) -> int | None:
        """alloc_page(): one page."""
        return _alloc_pages(self, gfp, 0, self.cpu_to_node[self.current_cpu])

    def alloc_pages_node(self, nid: int, gfp: int, order: int = 0) -> int | None:
        """alloc_pages_node(): prefer node *nid* (-1 = the local node)."""
        if nid == -1:
            nid = self.cpu_to_node[self.current_cpu]
        if not 0 <= nid < self.nr_nodes:
            raise MemsimError(f"alloc_pages_node: node {nid} does not exist "
                              f"(machine has {self.nr_nodes})")
        return _alloc_pages(self, gfp, order, nid)

    def get_free_pages(self, gfp: int, order: int = 0) -> int | None:
        """__get_free_pages(): a lowmem block's virtual address (6.12 clears __GFP_HIGHMEM)."""
        page = _alloc_pages(self, gfp & ~_GFP_HIGHMEM, order,
                                        self.cpu_to_node[self.current_cpu])
        if page is None:
            return None
        return self.page_address(page)

    def get_free_page(self, gfp: int) -> int | None:
        """__get_free_page()"""
        return self.get_free_pages(gfp, 0)

    def get_zeroed_page(self, gfp: int) -> int | None:
        """get_zeroed_page(): __get_free_page(gfp | _GFP_ZERO)."""
        return self.get_free_pages(gfp | _GFP_ZERO, 0)

    def get_dma_pages(self, gfp: int, order: int = 0) -> int | None:
        """__get_dma_pages(): __get_free_pages(gfp | GFP_DMA, order)."""
        return self.get_free_pages(gfp | _GFP_DMA, order)

    def alloc_pages_bulk(self, gfp: int, nr_pages: int) -> list[int]:
        """
        alloc_pages_bulk(): up to *nr_pages* order-0 pages. Fills from the pcp list of the
        first zone that passes the low watermark plus the request size, falling back to
        single allocations (as the kernel does when the fast path cannot serve all).
        """
        return page_alloc.alloc_pages_bulk(self, gfp, nr_pages)

    def free_pages(self, addr: int, order: int = 0) -> None:
        """free_pages(): free by virtual address (0 is ignored, as the kernel does)."""
        if addr == 0 or addr is None:
            return
        if not self.virt_addr_valid(addr):
            self.debug.vm_bug_on("mm/page_alloc.c", 4955)   # VM_BUG_ON(!virt_addr_valid())
            return
        _free_pages(self, self.virt_to_pfn(addr), order)

    def free_page(self, addr: int) -> None:
        """free_page()"""
        self.free_pages(addr, 0)

    def free_pages_pfn(self, page: int, order: int = 0) -> None:
        """__free_pages(page, order): drop a reference to a block by PFN."""
        mm = self.mem_map
        if order == 0 and not self._tp_free.enabled and self.page_owner is None and \
                type(page) is int and 0 <= page < mm.nr_pfns:
            # __free_pages() -> free_unref_page() -> free_unref_page_commit() for the last
            # reference to a clean order-0 page of a pcp migratetype, inlined. Everything
            # else (and every bad page) goes through the full path and its checks.
            rc = mm.refcount
            zi = self._zone_of_block[page >> 10]
            if rc[page] == 1 and zi != 255 and not (
                    mm.flags[page] & _FAST_FREE_BAD or mm.mapcount1[page]
                    or mm.page_type[page] or mm.mapping[page]):
                mt = self.pageblock_mt[page >> self.pageblock_order]
                if mt < 3:
                    rc[page] = 0
                    if mm.flags[page]:
                        mm.flags[page] &= ~_CHECK_AT_PREP
                    if self.pfmemalloc:
                        self.pfmemalloc.discard(page)
                    zone = self.zones[zi]
                    pcp = zone.per_cpu_pageset[self._cpu]
                    pcp.alloc_factor >>= 1
                    self.vm_event[_PGFREE] += 1
                    pcp.lists[mt].append(page)
                    count = pcp.count = pcp.count + 1
                    batch = pcp.batch
                    if pcp.flags & 1:
                        pcp.flags &= ~1
                    if pcp.free_count < (batch << 5):
                        pcp.free_count += 1
                    high = pcp.high
                    if count < high and pcp.high_min <= high <= pcp.high_max and \
                            not zone.flags & _ZONE_BUSY:
                        return   # nr_pcp_high() would return high unchanged: nothing to do
                    high = page_alloc.nr_pcp_high(pcp, zone, batch, False)
                    if count >= high:
                        page_alloc.free_pcppages_bulk(
                            self, zone, page_alloc.nr_pcp_free(pcp, batch, high, False), pcp, mt)
                        if zone.flags & _ZONE_BELOW_HIGH and page_alloc.zone_watermark_ok(
                                zone, 0, zone.high_wmark_pages(), self.zone_movable_idx, 0):
                            zone.flags &= ~_ZONE_BELOW_HIGH
                    return
        _free_pages(self, page, order)

    def free_page_pfn(self, page: int) -> None:
        """__free_page(page)"""
        _free_pages(self, page, 0)

    def page_count(self, page: int) -> int:
        """page_count(): the head page's _refcount."""
        head1 = self.mem_map.compound_head1[page]
        return int(self.mem_map.refcount[head1 - 1 if head1 else page])

    def get_page(self, page: int) -> None:
        """get_page(): take a reference."""
        self.mem_map.refcount[page] += 1

    def put_page(self, page: int) -> None:
        """put_page(): drop a reference; free an order-0 or compound page at zero."""
        head1 = self.mem_map.compound_head1[page]
        head = head1 - 1 if head1 else page
        order = int(self.mem_map.compound_order[head])
        if order == 0:
            self.free_pages_pfn(head, 0)   # the inlined pcp free when it applies
        else:
            _free_pages(self, head, order)

    def page_to_pfn(self, page: int) -> int:
        return page

    def pfn_to_page(self, pfn: int) -> int:
        return pfn

    # ------------------------------------------------------------------ observation

    def dmesg(self) -> str:
        """The kernel log as ``dmesg`` prints it."""
        return self.log.text()

    def proc(self, path: str) -> str:
        """The text of a /proc (or debugfs) file: ``"buddyinfo"``, ``"sys/vm/min_free_kbytes"``."""
        from memsim.fs.proc import registry
        return registry.read(self, path)

    def proc_write(self, path: str, text: str) -> int:
        """Write to a /proc file (``"slabinfo"`` tunables with SLAB, ``"sys/vm/…"``)."""
        from memsim.fs.proc import registry
        return registry.write(self, path, text)

    def sysctl_write(self, name: str, value: object) -> None:
        """Write /proc/sys/vm/<name> (``vm.`` prefix optional)."""
        sysctl_write(self, name.removeprefix("vm."), str(value))

    def sysctl_read(self, name: str) -> str:
        return sysctl_read(self, name.removeprefix("vm."))

    def validate(self) -> None:
        """Run every validator; raises MMCorruptionError on any inconsistency."""
        from memsim.mm.debug import validate_all
        validate_all(self)

    def __repr__(self) -> str:
        return (f"<Machine {self.arch.name} {self.config.mem_bytes >> 20}M "
                f"cpus={self.nr_cpus} nodes={self.nr_nodes}>")


# __this_cpu_*(): set outside the class body, where the names are not mangled
setattr(Machine, "__this_cpu_read", mm_percpu.this_cpu_read_nocheck)
setattr(Machine, "__this_cpu_write", mm_percpu.this_cpu_write_nocheck)
setattr(Machine, "__this_cpu_add", mm_percpu.this_cpu_add_nocheck)
