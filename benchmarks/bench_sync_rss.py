"""Where the memory of an 'imgsync sync' goes: its imports, step by step, then the peak
RSS of whole put syncs of one image into the real Glance of the test stack.

    python benchmarks/bench_sync_rss.py [--size 300] [--runs 3]

The imports are measured in one process, in the order a sync loads them (RSS from
/proc/self/statm after each step); the syncs, each of a fresh Glance-less state, from a
small probe process (ru_maxrss of its child), as bench_glance.py does.
"""

import argparse
import os
import pathlib
import subprocess
import sys
import tempfile

ROOT = pathlib.Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import bench_glance  # noqa: E402

from tests.functional import mirror as mirror_mod  # noqa: E402
from tests.functional import stack as stack_mod  # noqa: E402

MIB = 1 << 20
STEPS = (
    ("python", ""),
    ("oslo.config, oslo.log (--help)", "from oslo_config import cfg; from oslo_log import log"),
    ("requests, keystoneauth1", "import requests, keystoneauth1.loading"),
    ("the drivers, pysequoia", "from imgsync.upstream import drivers; drivers.available()"),
    ("openstacksdk (every service)", "import openstack"),
    ("cryptography's Rust bindings", "import cryptography.hazmat.bindings._rust"),
    ("oslo.utils' format inspector", "from oslo_utils.imageutils import format_inspector"),
    ("the rest of sync", "from imgsync import cli, commands, config_check"),
)
"""Each step's imports; cryptography's are those of oslo.utils' LUKS inspector, which
format_inspector imports."""
STEP_PROBE = ("import sys\n"
              "def rss():\n"
              "    return int(open('/proc/self/statm').read().split()[1]) * 4096 / 2**20\n"
              "for code in sys.argv[1:]:\n"
              "    exec(code)\n"
              "    print(rss(), flush=True)\n")


def import_steps(env):
    """[(step, RSS MiB after it)] of one process importing STEPS in turn."""
    out = subprocess.run([sys.executable, "-c", STEP_PROBE, *(code for _, code in STEPS)],
                         env=env, capture_output=True, text=True, check=True, timeout=120)
    values = out.stdout.split()
    return [(name, float(value)) for (name, _), value in zip(STEPS, values, strict=True)]


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=300, help="image size in MiB")
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    previous = 0.0
    print(f"{'import step':<34} {'+MiB':>6} {'RSS MiB':>8}")
    for name, rss in import_steps(env):
        print(f"{name:<34} {rss - previous:>6.1f} {rss:>8.1f}")
        previous = rss
    with tempfile.TemporaryDirectory(prefix="imgsync-bench-") as tmp:
        tmp = pathlib.Path(tmp)
        with mirror_mod.Mirror(tmp / "mirror") as mirror, stack_mod.OpenStackStack(
                tmp / "openstack", venv=stack_mod.ensure_service_venv()) as stack:
            clouds = stack.clouds_yaml(tmp / "clouds.yaml", "bench")
            mirror_mod.add_ubuntu_build(tmp / "mirror/ubuntu", "24.04", "20240101",
                                        size=args.size * MIB)
            config = tmp / "imgsync.conf"
            config.write_text(bench_glance.CONFIG.format(
                method="put", tmp=tmp, mirror=mirror.url,
                keys=mirror_mod.signing_keys_file(tmp)))
            run_env = {"OS_CLIENT_CONFIG_FILE": str(clouds), "PATH": "/usr/bin:/bin",
                       "PYTHONPATH": str(ROOT)}
            peaks = []
            for _ in range(args.runs):
                seconds, rss = bench_glance.peak_rss_of(
                    [sys.executable, "-m", "imgsync", "--config-file", str(config), "sync"],
                    run_env)
                peaks.append(rss)
                print(f"put sync of {args.size} MiB: {seconds:5.1f} s, peak RSS {rss:5.1f} MiB "
                      f"({rss - previous:+.1f} over the imports)", flush=True)
                bench_glance._delete_images(stack)
            print(f"peak RSS of the syncs: {min(peaks):.1f} - {max(peaks):.1f} MiB")


if __name__ == "__main__":
    main()
