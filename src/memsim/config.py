"""
Machine configuration: architecture, memory, CPUs, NUMA nodes, seed, kernel command line
and sysctls, from keyword arguments, a TOML machine file or ``--set key=value`` strings.

All three sources share one flat key namespace (see ``KEYS``): ``arch``, ``mem``, ``cpus``,
``nodes``, ``seed``, ``thp``, ``strict``, ``cmdline.<option>`` and ``sysctl.vm.<name>``.
``--set`` also accepts the short forms ``vm.<name>=`` and ``<cmdline option>=``. A TOML file
may use tables (``[cmdline]``, ``[sysctl]`` with ``vm.min_free_kbytes = …``). Unknown keys
and bad values raise ``ConfigError`` naming the key (and the file and line). The live sysctl
values a booted machine uses live in sysctl.py.
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from memsim.arch import ARCHES
from memsim.errors import ConfigError

_SIZE_RE = re.compile(r"^\s*(\d+)\s*([kKmMgGtT]?)(i?[bB])?\s*$")
_SHIFT = {"": 0, "k": 10, "m": 20, "g": 30, "t": 40}


def parse_size(value: object, key: str = "size") -> int:
    """
    Parse a memory size like the kernel's ``memparse()``: ``4G``, ``512M``, ``65536K``,
    ``4GiB`` or a plain number of bytes.
    """
    if isinstance(value, bool):
        raise ConfigError(f"{key}: expected a size such as 4G, got {value!r}")
    if isinstance(value, int):
        if value < 0:
            raise ConfigError(f"{key}: size must not be negative, got {value}")
        return value
    if not isinstance(value, str):
        raise ConfigError(f"{key}: expected a size such as 4G, got {value!r}")
    m = _SIZE_RE.match(value)
    if not m:
        raise ConfigError(f"{key}: cannot parse size {value!r} (use e.g. 4G, 512M, 65536K)")
    return int(m.group(1)) << _SHIFT[m.group(2).lower()]


def _int(lo: int | None = None, hi: int | None = None) -> Callable[[str, object], int]:
    def conv(key: str, value: object) -> int:
        if isinstance(value, bool):
            raise ConfigError(f"{key}: expected an integer, got {value!r}")
        try:
            v = int(value, 0) if isinstance(value, str) else int(value)  # type: ignore[call-overload]
        except (TypeError, ValueError):
            raise ConfigError(f"{key}: expected an integer, got {value!r}") from None
        if lo is not None and v < lo:
            raise ConfigError(f"{key}: {v} is below the minimum {lo}")
        if hi is not None and v > hi:
            raise ConfigError(f"{key}: {v} is above the maximum {hi}")
        return v
    return conv


def _size(key: str, value: object) -> int:
    return parse_size(value, key)


def _choice(*choices: str) -> Callable[[str, object], str]:
    def conv(key: str, value: object) -> str:
        if not isinstance(value, str) or value not in choices:
            raise ConfigError(f"{key}: expected one of {', '.join(choices)}, got {value!r}")
        return value
    return conv


def _str(key: str, value: object) -> str:
    if isinstance(value, bool):
        return "" if value else "-"        # slab_debug (no letters) = FZPU; false = off
    if not isinstance(value, str):
        raise ConfigError(f"{key}: expected a string, got {value!r}")
    return value


def _bool(key: str, value: object) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.lower() in ("1", "true", "yes", "on", "0", "false",
                                                    "no", "off"):
        return value.lower() in ("1", "true", "yes", "on")
    raise ConfigError(f"{key}: expected true or false, got {value!r}")


def _int_list(key: str, value: object) -> tuple[int, ...]:
    if isinstance(value, str):
        parts: list[object] = [p for p in re.split(r"[\s,]+", value.strip()) if p]
    elif isinstance(value, list | tuple):
        parts = list(value)
    else:
        raise ConfigError(f"{key}: expected a list of integers, got {value!r}")
    conv = _int(0)
    return tuple(conv(key, p) for p in parts)


def _percent_or_size(key: str, value: object) -> int | str:
    # kernelcore= / movablecore= take a size or a percentage ("20%") or "mirror".
    if isinstance(value, str) and value.strip().endswith("%"):
        pct = _int(0, 100)(key, value.strip()[:-1])
        return f"{pct}%"
    return parse_size(value, key)


#: every configuration key: converter and default (None = computed at boot)
KEYS: dict[str, tuple[Callable[[str, object], Any], Any]] = {
    "arch": (_choice(*ARCHES), "x86_64"),
    "mem": (_size, 4 << 30),
    "cpus": (_int(1, 64), 2),
    "nodes": (_int(1, 8), 1),
    "seed": (_int(0), 0),
    "thp": (_choice("always", "madvise", "never"), "madvise"),
    "strict": (_bool, False),
    "slab": (_choice("slub", "slab"), "slub"),
    "4kstacks": (_bool, False),
    # reclaim policy (issue #6): classic two-list LRU, MGLRU, or the plain single-list LRU
    # of mm/lru_plain.py (for the libCacheSim cross-check)
    "lru": (_choice("classic", "mglru", "plain"), "classic"),
    # a swap file of this size activated at boot (swapon /swapfile; 0 = no swap)
    "swap": (_size, 0),
    "cmdline.mem": (_size, None),
    "cmdline.movablecore": (_percent_or_size, None),
    "cmdline.kernelcore": (_percent_or_size, None),
    "cmdline.slab_debug": (_str, None),
    "cmdline.slub_min_order": (_int(0, 10), 0),
    "cmdline.slub_max_order": (_int(0, 10), 3),
    "cmdline.slub_min_objects": (_int(0, 32767), 0),
    "sysctl.vm.min_free_kbytes": (_int(0), None),
    "sysctl.vm.watermark_scale_factor": (_int(1, 3000), 10),
    "sysctl.vm.watermark_boost_factor": (_int(0), 15000),
    "sysctl.vm.lowmem_reserve_ratio": (_int_list, None),
    "sysctl.vm.percpu_pagelist_high_fraction": (_int(0), 0),
    "sysctl.vm.extfrag_threshold": (_int(0, 1000), 500),
    "sysctl.vm.numa_zonelist_order": (_choice("Node", "node", "N", "n", "Default",
                                              "default", "D", "d"), "Node"),
    "sysctl.vm.overcommit_memory": (_int(0, 2), 0),
    "sysctl.vm.overcommit_ratio": (_int(0), 50),
    "sysctl.vm.overcommit_kbytes": (_int(0), 0),
    "sysctl.vm.max_map_count": (_int(0), 65530),
    "sysctl.vm.mmap_min_addr": (_int(0), 4096),
    "sysctl.vm.user_reserve_kbytes": (_int(0), None),
    "sysctl.vm.admin_reserve_kbytes": (_int(0), None),
    "sysctl.vm.page-cluster": (_int(0, 31), 3),
    "sysctl.vm.swappiness": (_int(0, 200), 60),
    "sysctl.vm.panic_on_oom": (_int(0, 2), 0),
    "sysctl.vm.oom_kill_allocating_task": (_int(), 0),
    "sysctl.vm.oom_dump_tasks": (_int(), 1),
    "sysctl.vm.dirty_background_ratio": (_int(0, 100), 10),
    "sysctl.vm.dirty_background_bytes": (_int(0), 0),
    "sysctl.vm.dirty_ratio": (_int(0, 100), 20),
    "sysctl.vm.dirty_bytes": (_int(0), 0),
    "sysctl.vm.dirty_writeback_centisecs": (_int(0), 500),
    "sysctl.vm.dirty_expire_centisecs": (_int(0), 3000),
    "sysctl.kernel.randomize_va_space": (_int(0, 2), 2),
}

_CMDLINE_SHORT = {k.split(".", 1)[1] for k in KEYS if k.startswith("cmdline.")}


def _canonical_key(key: str) -> str:
    key = key.strip()
    if key in KEYS:
        return key
    if key.startswith(("vm.", "kernel.")) and f"sysctl.{key}" in KEYS:
        return f"sysctl.{key}"
    if key in _CMDLINE_SHORT:
        return f"cmdline.{key}"
    raise ConfigError(f"unknown setting {key!r} (known: {', '.join(sorted(KEYS))})")


@dataclass(frozen=True, slots=True)
class MachineConfig:
    """A validated machine configuration: every key of ``KEYS`` with its value."""

    values: Mapping[str, Any] = field(default_factory=dict)

    def __getitem__(self, key: str) -> Any:
        return self.values[key]

    @property
    def arch(self) -> str:
        return str(self.values["arch"])

    @property
    def mem_bytes(self) -> int:
        return int(self.values["mem"])

    @property
    def cpus(self) -> int:
        return int(self.values["cpus"])

    @property
    def nodes(self) -> int:
        return int(self.values["nodes"])

    @property
    def seed(self) -> int:
        return int(self.values["seed"])

    @classmethod
    def build(cls, settings: Mapping[str, object] | None = None,
              origin: Mapping[str, str] | None = None) -> MachineConfig:
        """
        Validate *settings* (flat or short keys) over the defaults. *origin* maps a key to
        where it came from ("machine.toml:7"), used in error messages.
        """
        values: dict[str, Any] = {k: d for k, (_, d) in KEYS.items()}
        for raw_key, raw in (settings or {}).items():
            where = (origin or {}).get(raw_key)
            try:
                key = _canonical_key(raw_key)
                values[key] = KEYS[key][0](key, raw)
            except ConfigError as e:
                raise ConfigError(f"{where}: {e}" if where else str(e)) from None
        cfg = cls(values)
        cfg._check()
        return cfg

    def _check(self) -> None:
        if self.nodes > self.cpus:
            # SIM: memoryless and CPU-less nodes are not modelled; every node gets CPUs.
            raise ConfigError(f"nodes: {self.nodes} nodes need at least as many CPUs "
                              f"(cpus={self.cpus})")
        mem = self.mem_bytes
        if mem < 16 << 20:
            raise ConfigError(f"mem: {mem} bytes is too small (at least 16M)")
        if mem > 1 << 40:
            raise ConfigError(f"mem: {mem} bytes is too large (at most 1T)")
        if mem % (4 << 20):
            raise ConfigError("mem: must be a multiple of 4M")
        lrr = self.values["sysctl.vm.lowmem_reserve_ratio"]
        if lrr is not None and len(lrr) != len(ARCHES[self.arch].zones):
            raise ConfigError(
                f"sysctl.vm.lowmem_reserve_ratio: {self.arch} has "
                f"{len(ARCHES[self.arch].zones)} zones, got {len(lrr)} values")
        if self.values["lru"] == "mglru" and not _mglru_available():
            raise ConfigError("lru: mglru (multi-gen LRU) is not available in this build; "
                              "use lru=classic or lru=plain")
        frac = self.values["sysctl.vm.percpu_pagelist_high_fraction"]
        if frac and frac < 8:
            raise ConfigError("sysctl.vm.percpu_pagelist_high_fraction: must be 0 or >= 8")

    def with_settings(self, settings: Mapping[str, object]) -> MachineConfig:
        # unset optional keys (value None) stay unset rather than being parsed as values
        merged: dict[str, object] = {k: v for k, v in self.values.items() if v is not None}
        merged.update(settings)
        return MachineConfig.build(merged)


def _mglru_available() -> bool:
    """Whether the multi-gen LRU (mm/lru_gen.py or mm/mglru.py) has been built."""
    import importlib.util
    return any(importlib.util.find_spec(f"memsim.mm.{name}") is not None
               for name in ("lru_gen", "mglru"))


def _flatten(d: Mapping[str, Any], prefix: str = "") -> dict[str, Any]:
    out: dict[str, Any] = {}
    for k, v in d.items():
        key = f"{prefix}{k}"
        if isinstance(v, dict) and key not in KEYS:
            out.update(_flatten(v, key + "."))
        else:
            out[key] = v
    return out


def _line_of(text: str, key: str) -> int:
    leaf = key.rsplit(".", 1)[-1]
    pat = re.compile(rf"^\s*(?:[\w.\"]*\.)?\"?{re.escape(leaf)}\"?\s*=")
    for i, line in enumerate(text.splitlines(), 1):
        if pat.match(line):
            return i
    return 0


def load_toml(path: str | Path) -> tuple[dict[str, object], dict[str, str]]:
    """
    Read a TOML machine file into flat settings and their origins (file:line).
    ``[machine]`` keys may also stand at the top level.
    """
    p = Path(path)
    try:
        text = p.read_text()
    except OSError as e:
        raise ConfigError(f"{p}: cannot read machine file: {e.strerror}") from None
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as e:
        raise ConfigError(f"{p}: {e}") from None
    machine = data.pop("machine", {})
    if not isinstance(machine, dict):
        raise ConfigError(f"{p}:{_line_of(text, 'machine')}: [machine] must be a table")
    flat = _flatten(machine)
    flat.update(_flatten(data))
    origin = {k: f"{p}:{_line_of(text, k)}" for k in flat}
    for k in flat:
        try:
            _canonical_key(k)
        except ConfigError as e:
            raise ConfigError(f"{origin[k]}: {e}") from None
    return flat, origin


def parse_set(items: list[str]) -> dict[str, object]:
    """Parse ``--set key=value`` strings (value kept as text; KEYS converters parse it)."""
    out: dict[str, object] = {}
    for item in items:
        if "=" not in item:
            raise ConfigError(f"--set {item!r}: expected key=value")
        k, v = item.split("=", 1)
        _canonical_key(k)
        out[k.strip()] = v.strip()
    return out
