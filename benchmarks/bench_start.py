"""Start-up time and peak RSS of each command that needs no Glance, against bare Python.

    python benchmarks/bench_start.py [--runs 7] [--against REV]

Each command runs ``--runs`` times as its own process (best and median wall-clock time,
peak RSS of the process); ``python -c pass`` is the floor, and whether openstacksdk was
imported is checked in a run of the same command with ``-X importtime``. With
``--against``, the same table of the code of git revision REV (a temporary worktree)
comes first: before and after from one run.
"""

import argparse
import contextlib
import os
import pathlib
import statistics
import subprocess
import sys
import tempfile
import time

ROOT = pathlib.Path(__file__).resolve().parents[1]
CONFIG = ("[DEFAULT]\ndistributions = ubuntu-24.04\nhttp_retries = 0\n"
          "[ubuntu-24.04]\nbase_url = http://127.0.0.1:9/\n")
"""An upstream that refuses connections at once: check and catalog fail fast (exit 1)."""
COMMANDS = {
    "python -c pass": ["-c", "pass"],
    "imgsync --version": ["-m", "imgsync", "--version"],
    "imgsync --help": ["-m", "imgsync", "--help"],
    "imgsync list-distros": ["-m", "imgsync", "list-distros"],
    "imgsync sync --help": ["-m", "imgsync", "sync", "--help"],
    "imgsync check": ["-m", "imgsync", "check"],
    "imgsync catalog": ["-m", "imgsync", "catalog", "--output-dir", "{work}/catalogs"],
}


PROBE = ("import resource, subprocess, sys; subprocess.call(sys.argv[1:], "
         "stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL); "
         "print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)")
"""Runs the command as its only child and prints that child's peak RSS (KiB)."""


def once(args, env, root):
    """(seconds, peak RSS in MiB) of one run of ``python args``; the time includes the
    small probe process's own start, the same for every command."""
    started = time.monotonic()
    probe = subprocess.run([sys.executable, "-c", PROBE, sys.executable, *args], env=env,
                           capture_output=True, text=True, check=True, timeout=120, cwd=root)
    return time.monotonic() - started, int(probe.stdout) / 1024


def imports_openstack(args, env, root):
    run = subprocess.run([sys.executable, "-X", "importtime", *args], env=env, cwd=root,
                         capture_output=True, text=True, check=False, timeout=120)
    return any(line.split("|")[-1].strip() == "openstack" for line in run.stderr.splitlines())


def table(root, work, runs):
    """Measure every command with the code of ``root``; print a row each."""
    env = {**os.environ, "PYTHONPATH": str(root), "OS_CLIENT_CONFIG_FILE": os.devnull}
    floor = None
    print(f"{'command':<26} {'best s':>7} {'median s':>9} {'x floor':>8} "
          f"{'peak RSS MiB':>13} openstacksdk")
    for name, args in COMMANDS.items():
        args = [arg.format(work=work) for arg in args]
        if args[0] == "-m":
            args = [*args, "--config-file", f"{work}/imgsync.conf"]
        times, peaks = [], []
        for _ in range(runs):
            seconds, rss = once(args, env, root)
            times.append(seconds)
            peaks.append(rss)
        best = min(times)
        floor = floor or best
        print(f"{name:<26} {best:>7.3f} {statistics.median(times):>9.3f} "
              f"{best / floor:>7.1f}x {max(peaks):>13.1f} "
              f"{'imported' if imports_openstack(args, env, root) else 'no'}", flush=True)


@contextlib.contextmanager
def worktree(revision, work):
    """A temporary git worktree of ``revision``, removed afterwards."""
    path = pathlib.Path(work, "against")
    subprocess.run(["git", "-C", str(ROOT), "worktree", "add", "--detach", "--quiet",
                    str(path), revision], check=True, timeout=120)
    try:
        yield path
    finally:
        subprocess.run(["git", "-C", str(ROOT), "worktree", "remove", "--force", str(path)],
                       check=True, timeout=120)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--against", metavar="REV",
                        help="also measure the code of this git revision, first")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as work:
        pathlib.Path(work, "imgsync.conf").write_text(CONFIG)
        if args.against:
            with worktree(args.against, work) as before:
                print(f"before: {args.against}")
                table(before, work, args.runs)
            print("after: this worktree")
        table(ROOT, work, args.runs)


if __name__ == "__main__":
    main()
