"""Start-up time and peak RSS of each command that needs no Glance, against bare Python.

    python benchmarks/bench_start.py [--runs 7]

Each command runs ``--runs`` times as its own process (best and median wall-clock time,
peak RSS of the process); ``python -c pass`` is the floor, and whether openstacksdk was
imported is checked in a run of the same command with ``-X importtime``.
"""

import argparse
import os
import pathlib
import statistics
import subprocess
import sys
import tempfile
import time

ROOT = pathlib.Path(__file__).resolve().parents[1]
CONFIG = "[DEFAULT]\ndistributions = ubuntu-24.04\n[ubuntu-24.04]\nbase_url = http://127.0.0.1:9/\n"
COMMANDS = {
    "python -c pass": ["-c", "pass"],
    "imgsync --version": ["-m", "imgsync", "--version"],
    "imgsync --help": ["-m", "imgsync", "--help"],
    "imgsync list-distros": ["-m", "imgsync", "list-distros"],
    "imgsync sync --help": ["-m", "imgsync", "sync", "--help"],
}


PROBE = ("import resource, subprocess, sys; subprocess.call(sys.argv[1:], "
         "stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL); "
         "print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)")
"""Runs the command as its only child and prints that child's peak RSS (KiB)."""


def once(args, env):
    """(seconds, peak RSS in MiB) of one run of ``python args``; the time includes the
    small probe process's own start, the same for every command."""
    started = time.monotonic()
    probe = subprocess.run([sys.executable, "-c", PROBE, sys.executable, *args], env=env,
                           capture_output=True, text=True, check=True, timeout=120, cwd=ROOT)
    return time.monotonic() - started, int(probe.stdout) / 1024


def imports_openstack(args, env):
    run = subprocess.run([sys.executable, "-X", "importtime", *args], env=env, cwd=ROOT,
                         capture_output=True, text=True, check=False, timeout=120)
    return any(line.split("|")[-1].strip() == "openstack" for line in run.stderr.splitlines())


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=7)
    runs = parser.parse_args().runs
    with tempfile.TemporaryDirectory() as work:
        config = pathlib.Path(work, "imgsync.conf")
        config.write_text(CONFIG)
        env = {**os.environ, "PYTHONPATH": str(ROOT), "OS_CLIENT_CONFIG_FILE": os.devnull}
        floor = None
        print(f"{'command':<26} {'best s':>7} {'median s':>9} {'x floor':>8} "
              f"{'peak RSS MiB':>13} openstacksdk")
        for name, args in COMMANDS.items():
            if args[0] == "-m":
                args = [*args, "--config-file", str(config)]
            times, peaks = [], []
            for _ in range(runs):
                seconds, rss = once(args, env)
                times.append(seconds)
                peaks.append(rss)
            best = min(times)
            floor = floor or best
            print(f"{name:<26} {best:>7.3f} {statistics.median(times):>9.3f} "
                  f"{best / floor:>7.1f}x {max(peaks):>13.1f} "
                  f"{'imported' if imports_openstack(args, env) else 'no'}")


if __name__ == "__main__":
    main()
