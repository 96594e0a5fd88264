"""Where the seconds of a ``put`` sync go, beyond those of the curl pipe.

A quick, targeted companion of bench_scale.py's "put, whole run": it starts the test
suite's Keystone and one Glance (tests/functional/stack.py) and a loopback mirror with
one Ubuntu build, then in alternating rounds times a whole ``imgsync sync`` (from this
checkout, or from each ``--checkout`` given, to compare two versions; run through
trace_calls.py, which times each HTTP call and step) and the floor, ``curl URL | curl -T
- PUT /v2/images/<id>/file`` into a record created beforehand (as bench_scale.py's).
It prints the medians of the phases: interpreter start and exit, imports, Keystone's
token, Glance's discovery, waiting for the releases, the listings and plan, the
permission check, the image's creation, the stream, waiting for active, the
publication, the report; then the HTTP calls of the last sync.

    python benchmarks/bench_overhead.py                    # 300 MiB, 3 rounds
    python benchmarks/bench_overhead.py --size 64 --runs 5
    python benchmarks/bench_overhead.py --checkout /tmp/old --checkout .
    python benchmarks/bench_overhead.py --serve DIR        # keep it up; DIR/env.sh

``--serve`` writes DIR/env.sh (the configuration, the image's URL, the Glance URL and
the admin account) and DIR/clean.py (deletes every image), then waits until
interrupted, so that other tools can time commands against the same services.
"""

import argparse
import json
import os
import pathlib
import re
import shlex
import statistics
import subprocess
import sys
import tempfile
import time

ROOT = pathlib.Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

import bench_scale  # noqa: E402

from tests.functional import mirror as mirror_mod  # noqa: E402
from tests.functional import stack as stack_mod  # noqa: E402

MIB = 1 << 20
TRACE = re.compile(r"^TRACE (\S+) (\S+) (\S+) (.*)$")
TRACER = ROOT / "benchmarks" / "trace_calls.py"
CLEAN = """\
import sys
from keystoneauth1 import session, identity
s = session.Session(auth=identity.v3.Password(**{admin!r}))
for hidden in ("false", "true"):
    for image in s.get("{glance}/v2/images", params={{"os_hidden": hidden, "limit": 1000}}
                       ).json()["images"]:
        s.delete("{glance}/v2/images/" + image["id"], raise_exc=False)
"""
PHASES = ("interpreter start, exit", "imports, configuration", "Keystone token",
          "discovery", "releases (wait)", "listings, plan", "permission check", "create",
          "stream (PUT)", "wait active", "publish", "report", "other")


def parse(err):
    """The tracer's lines of one sync: [(start, end, thread, what)]."""
    found = []
    for line in err.splitlines():
        match = TRACE.match(line)
        if match:
            found.append((float(match.group(1)), float(match.group(2)), match.group(3),
                          match.group(4)))
    return found


def phases(traces, seconds):
    """Seconds of each of PHASES in one sync of ``seconds`` (whole process)."""
    def one(pattern, index=0):
        hits = [t for t in traces if re.fullmatch(pattern, t[3])]
        return hits[index] if len(hits) > index else None

    def length(pattern, index=0):
        hit = one(pattern, index)
        return hit[1] - hit[0] if hit else 0.0

    command, end = one("sync_command"), one("end")
    found = {
        "interpreter start, exit": seconds - end[1],
        "imports, configuration": command[0],
        "Keystone token": length(r"HTTP POST \S+/auth/tokens \d+"),
        "releases (wait)": length(r"_Fetch.__call__"),
        "listings, plan": length(r"Syncer.plan"),
        "permission check": length(r"check"),
        "create": length(r"HTTP POST \S*/images \d+", 1),
        "stream (PUT)": length(r"HTTP PUT \S+/file \d+"),
        "wait active": length(r"Glance.wait_active"),
        "publish": length(r"Glance.publish"),
        "report": length(r"show") + end[1] - command[1],
    }
    found["discovery"] = length("targets") - found["Keystone token"]
    found["other"] = seconds - sum(found.values())
    return found


def calls(traces):
    """The HTTP calls of a sync, in order: 'METHOD path seconds'."""
    made = []
    for start, end, thread, what in sorted(traces):
        if what.startswith("HTTP "):
            method, url, status = what.split()[1:4]
            path = re.sub(r"[0-9a-f-]{36}", "<id>", re.sub(r"^https?://[^/]+|[?].*$", "", url))
            made.append(f"{start:7.3f} {end - start:6.3f} {method:6} {path:28} {status} {thread}")
    return made


class Bench:
    def __init__(self, tmp, stack, mirror, size):
        self.tmp, self.stack, self.mirror = tmp, stack, mirror
        image = mirror_mod.add_ubuntu_build(mirror.root / "ubuntu", "24.04", "20240101",
                                            size=size * MIB)
        self.url = mirror.url + str(image.relative_to(mirror.root))
        self.size = image.stat().st_size
        keys = mirror_mod.signing_keys_file(tmp)
        self.config = tmp / "imgsync.conf"
        self.config.write_text(bench_scale.COMMON.format(
            distributions="ubuntu-24.04", method="put", workers=1, tmp=tmp, glance="",
            **stack.admin) + bench_scale.UBUNTU_GROUP.format(
                name="ubuntu-24.04", mirror=mirror.url, keys=keys))
        self.clean_script = tmp / "clean.py"
        self.clean_script.write_text(CLEAN.format(admin=stack.admin, glance=stack.glance_url))
        self.env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"),
                    "HOME": os.environ.get("HOME", "/root"), "LC_ALL": "C.UTF-8"}
        self.scale = bench_scale.Bench(argparse.Namespace(), tmp, stack, mirror, mirror)
        self.scale.glances = {stack.region_name: stack.glance_url}   # the only one

    def clean(self):
        subprocess.run([sys.executable, str(self.clean_script)], check=True)

    def sync(self, checkout):
        """One timed ``imgsync --debug sync``: (seconds, phases, calls)."""
        command = [sys.executable, str(TRACER), "--config-file", str(self.config), "sync",
                   "--format", "json"]
        seconds, _, status, out, err = bench_scale.run_process(
            command, {**self.env, "PYTHONPATH": str(checkout)}, self.tmp, cwd=checkout)
        actions = {r["action"] for r in json.loads(out)["results"]} if out.strip() else set()
        if status or actions != {"uploaded"}:
            raise SystemExit(f"imgsync sync from {checkout} exited {status}, {actions}: "
                             f"{err[-2000:]}")
        self.clean()
        traces = parse(err)
        return seconds, phases(traces, seconds), calls(traces)

    def floor(self):
        return self.scale.floor_put(self.url)


def serve(bench, directory):
    directory = pathlib.Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    env = {"CONFIG": bench.config, "URL": bench.url, "GLANCE": bench.stack.glance_url,
           "CLEAN": bench.clean_script,
           **{f"OS_{k.upper()}": v for k, v in bench.stack.admin.items()}}
    (directory / "env.sh").write_text("".join(f"export {k}={shlex.quote(str(v))}\n"
                                              for k, v in env.items()))
    print(f"serving; source {directory / 'env.sh'}; interrupt to stop", flush=True)
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        pass


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=300, help="MiB of the qcow2 (300)")
    parser.add_argument("--runs", type=int, default=3, help="rounds (3)")
    parser.add_argument("--checkout", action="append", type=pathlib.Path,
                        help="an imgsync checkout to time (this one); repeat to compare")
    parser.add_argument("--serve", metavar="DIR", help="start the services and wait")
    args = parser.parse_args()
    checkouts = [c.resolve() for c in args.checkout or [ROOT]]
    with tempfile.TemporaryDirectory(prefix="imgsync-bench-overhead-") as tmp:
        tmp = pathlib.Path(tmp)
        with mirror_mod.Mirror(tmp / "mirror") as mirror, \
                stack_mod.OpenStackStack(tmp / "openstack",
                                         venv=stack_mod.ensure_service_venv()) as stack:
            bench = Bench(tmp, stack, mirror, args.size)
            if args.serve:
                return serve(bench, args.serve)
            bench.sync(checkouts[0])   # warm-up: Glance's workers, the page cache
            times = {c: [] for c in checkouts}
            split = {c: [] for c in checkouts}
            floors = []
            for _ in range(args.runs):
                for checkout in checkouts:
                    seconds, found, made = bench.sync(checkout)
                    times[checkout].append(seconds)
                    split[checkout].append(found)
                    last_calls = made
                floors.append(bench.floor())
    print(f"{bench.size / MIB:.0f} MiB put, {args.runs} rounds; medians "
          f"(min), seconds; floor curl|curl {statistics.median(floors):.2f} ({min(floors):.2f})")
    for checkout in checkouts:
        whole = times[checkout]
        over = [s - f for s, f in zip(whole, floors, strict=True)]
        ratio = statistics.median(s / f for s, f in zip(whole, floors, strict=True))
        print(f"\n{checkout}: whole run {statistics.median(whole):.2f} ({min(whole):.2f}); "
              f"overhead {statistics.median(over):.2f} ({min(over):.2f}); ratio {ratio:.2f}")
        for name in PHASES:
            print(f"  {name:24} {statistics.median(f[name] for f in split[checkout]):6.3f}")
    print("\ncalls of the last sync:\n  " + "\n  ".join(last_calls))


if __name__ == "__main__":
    main()
