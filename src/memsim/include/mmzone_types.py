"""Zone and migrate types (the kernel's ``include/linux/mmzone.h`` enums).

``ZoneType`` is the *canonical* zone type, independent of the architecture: the kernel's
``enum zone_type`` drops the entries whose config option is off, so the numeric zone index of,
say, ``ZONE_MOVABLE`` is 3 on x86-64 and on x86-32.  The model keeps one fixed numbering for the
type and lets each machine map types to its own zone indices (reference §1.1).
"""

from __future__ import annotations

from enum import IntEnum


class ZoneType(IntEnum):
    """Canonical zone type (reference §1.1), independent of the arch's zone index."""

    ZONE_DMA = 0
    ZONE_DMA32 = 1
    ZONE_NORMAL = 2
    ZONE_HIGHMEM = 3
    ZONE_MOVABLE = 4
    ZONE_DEVICE = 5


#: ``zone->name`` for each canonical type (the kernel's ``zone_names[]``), indexed by ZoneType.
ZONE_NAMES: tuple[str, ...] = ("DMA", "DMA32", "Normal", "HighMem", "Movable", "Device")


class MigrateType(IntEnum):
    """6.x ``enum migratetype`` (reference §3.3) for a kernel built without CONFIG_CMA.

    # SIM: CONFIG_CMA is off, as on the 6.18 sample machine (its pagetypeinfo has no CMA
    # column), so ``MIGRATE_ISOLATE`` follows ``MIGRATE_HIGHATOMIC`` directly, as the kernel
    # numbers it in that configuration.
    """

    MIGRATE_UNMOVABLE = 0
    MIGRATE_MOVABLE = 1
    MIGRATE_RECLAIMABLE = 2
    MIGRATE_HIGHATOMIC = 3
    MIGRATE_ISOLATE = 4


#: Only the first three types have per-CPU lists and fallbacks ("mergeable" types).
MIGRATE_PCPTYPES = 3

#: Number of migrate types (``MIGRATE_TYPES``).
MIGRATE_TYPES = 5

#: The kernel's ``migratetype_names[]``, indexed by MigrateType.
migratetype_names: tuple[str, ...] = (
    "Unmovable",
    "Movable",
    "Reclaimable",
    "HighAtomic",
    "Isolate",
)
