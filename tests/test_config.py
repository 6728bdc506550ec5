"""Tests for config.py and the command line: every user mistake gets one clear error."""

from __future__ import annotations

from pathlib import Path

import pytest

from memsim.cli.main import main
from memsim.config import MachineConfig, load_toml, parse_size
from memsim.errors import ConfigError
from memsim.machine import Machine


def test_parse_size_units() -> None:
    """memparse()-style sizes."""
    assert parse_size("4G") == 4 << 30
    assert parse_size("512M") == 512 << 20
    assert parse_size("65536K") == 64 << 20
    assert parse_size("2GiB") == 2 << 30
    assert parse_size(4096) == 4096
    with pytest.raises(ConfigError, match="mem: cannot parse size 'lots'"):
        parse_size("lots", "mem")


def test_unknown_key_is_named() -> None:
    """An unknown setting is rejected by name."""
    with pytest.raises(ConfigError, match="unknown setting 'vm.nosuch'"):
        MachineConfig.build({"vm.nosuch": 1})


def test_bad_values_name_the_key() -> None:
    """Out-of-range values name the key and the limit."""
    with pytest.raises(ConfigError, match="sysctl.vm.watermark_scale_factor: 5000 is above"):
        MachineConfig.build({"vm.watermark_scale_factor": "5000"})
    with pytest.raises(ConfigError, match="arch: expected one of"):
        MachineConfig.build({"arch": "sparc"})
    with pytest.raises(ConfigError, match="nodes: 4 nodes need at least as many CPUs"):
        MachineConfig.build({"nodes": 4, "cpus": 2})
    with pytest.raises(ConfigError, match="lowmem_reserve_ratio: x86_64 has 5 zones"):
        MachineConfig.build({"vm.lowmem_reserve_ratio": "256 32"})


def test_toml_machine_file(tmp_path: Path) -> None:
    """A TOML file gives the same settings; errors carry file and line."""
    f = tmp_path / "m.toml"
    f.write_text('arch = "i386"\nmem = "1G"\n[cmdline]\nmovablecore = "128M"\n'
                 '[sysctl]\nvm.min_free_kbytes = 4096\n')
    settings, origin = load_toml(f)
    cfg = MachineConfig.build(settings, origin)
    assert cfg.arch == "i386" and cfg.mem_bytes == 1 << 30
    assert cfg["cmdline.movablecore"] == 128 << 20
    m = Machine.boot(cfg)
    assert m.sysctl.min_free_kbytes == 4096
    bad = tmp_path / "bad.toml"
    bad.write_text('mem = "1G"\n\ncpus = "many"\n')
    s, o = load_toml(bad)
    with pytest.raises(ConfigError, match=r"bad.toml:3: cpus: expected an integer"):
        MachineConfig.build(s, o)
    unk = tmp_path / "unk.toml"
    unk.write_text('mem = "1G"\nswapiness = 3\n')
    with pytest.raises(ConfigError, match=r"unk.toml:2: unknown setting 'swapiness'"):
        load_toml(unk)


@pytest.mark.kernel_report
def test_same_seed_same_output() -> None:
    """Determinism: the same config gives byte-identical /proc and dmesg."""
    a = Machine.boot(mem="2G", seed=7)
    b = Machine.boot(mem="2G", seed=7)
    for m in (a, b):
        from memsim.scenarios import run_scenario
        run_scenario(m, "buddy", quiet=True)
        run_scenario(m, "slab", quiet=True)
    for f in ("buddyinfo", "zoneinfo", "vmstat", "pagetypeinfo", "meminfo", "slabinfo"):
        assert a.proc(f) == b.proc(f)
    assert a.dmesg() == b.dmesg()


def test_cli_proc_and_errors(capsys: pytest.CaptureFixture[str]) -> None:
    """memsim proc prints a file; a bad option exits 2 with one line naming it."""
    assert main(["proc", "buddyinfo", "--mem", "1G"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("Node 0, zone      DMA ")
    assert main(["proc", "sys/vm/min_free_kbytes", "--set", "vm.min_free_kbytes=5000"]) == 0
    assert capsys.readouterr().out == "5000\n"
    assert main(["proc", "nosuch"]) == 2
    assert "no such file in the model" in capsys.readouterr().err
    assert main(["run", "--set", "thp=sometimes"]) == 2
    assert "thp: expected one of always, madvise, never" in capsys.readouterr().err


@pytest.mark.kernel_report
def test_cli_run_tour(capsys: pytest.CaptureFixture[str]) -> None:
    """memsim run prints the tour and the key /proc files."""
    assert main(["run", "--mem", "2G"]) == 0
    out = capsys.readouterr().out
    assert "== The buddy allocator ==" in out
    assert "==> /proc/buddyinfo <==" in out and "==> /proc/meminfo <==" in out
    assert "Validators: free lists, pcp lists and counters consistent." in out
    assert "== The slab layer (SLUB) ==" in out and "  SLAB: tour_obj " in out
    assert "BUG tour_dbg (" in out and "Validators: consistent after the slab tour." in out
    assert "== Execution contexts: who may sleep ==" in out
    assert "kmalloc(GFP_KERNEL) under the spinlock: BUG: sleeping function called" in out
    assert "== vmalloc: virtually contiguous memory ==" in out and "+ 1 guard page" in out
    assert "== High memory ==" in out and "x86_64 has no high memory" in out
    assert "== Kernel stacks ==" in out and "KernelStack in meminfo: " in out


def test_cli_slab_options(capsys: pytest.CaptureFixture[str]) -> None:
    """slab= and slab_debug= reach the machine; bad values name the key."""
    assert main(["proc", "slabinfo", "--mem", "1G", "--set", "slab=slab"]) == 0
    assert "size-32 " in capsys.readouterr().out
    assert main(["proc", "slabinfo", "--top", "--mem", "1G", "--set", "slab_debug=FZ"]) == 0
    assert "kmem_cache" in capsys.readouterr().out
    assert main(["proc", "slabinfo", "--set", "slab=slob"]) == 2
    assert "slab: expected one of slub, slab" in capsys.readouterr().err
    assert main(["proc", "slabinfo", "--set", "slab_debug=Q"]) == 2
    assert "slab_debug: option 'q' unknown" in capsys.readouterr().err


def test_memory_too_small_for_the_kernel_image_is_a_clear_error() -> None:
    import pytest

    from memsim.errors import ConfigError
    from memsim.machine import Machine
    with pytest.raises(ConfigError, match=r"mem: 24 MiB is too small for the x86_64 kernel "
                                          r"image .* give at least 64 MiB"):
        Machine.boot(mem="24M")
    assert Machine.boot(mem="64M").totalram_pages > 0


def test_with_settings_keeps_unset_keys_unset() -> None:
    from memsim.config import MachineConfig
    c = MachineConfig.build({"mem": "64M"}).with_settings({"lru": "plain"})
    assert c.values["lru"] == "plain" and c.mem_bytes == 64 << 20
    assert c.values["cmdline.mem"] is None
