"""Benchmark imgsync at scale against floors measured in the same run.

Starts the test suite's Keystone and two Glances on loopback (tests/functional/stack.py;
RegionTwo's 48 MiB quota is raised for the run, so that it can take the fan-out's
images) and loopback mirrors, then times whole ``imgsync sync`` processes (run from
this checkout with ``python -m imgsync``) side by side with the floors they are
compared with, in alternating rounds:

=========  ==================================================  ===========================
item       imgsync                                             floor / baseline
=========  ==================================================  ===========================
put        sync of one qcow2, ``upload_method = put``           ``curl URL | curl -T - PUT
                                                               /v2/images/<id>/file``;
                                                               imgsync 2.1.0 (legacy.py)
direct     the same, ``upload_method = glance-direct``          ``curl | curl -T - PUT
                                                               .../stage``, POST /import,
                                                               poll until active (0.1 s)
fanout     put into RegionOne and RegionTwo at once             put into the slower of
           (``[glance] region_names``)                          RegionOne and RegionTwo
                                                               alone (each round); the
                                                               floors' ratio: ``curl | tee``
                                                               into both / ``curl | curl``
workers    4 Ubuntu instances from a mirror throttled per       the same with
           connection, ``workers = 4``                          ``workers = 1``
bz2        a Flatcar ``.img.bz2`` (lbzip2 on PATH; then         ``curl | lbzip2 -dc | curl
           with lbzip2 hidden: Python's bz2)                    -T - PUT .../file``
                                                               (and ``bzip2 -dc``)
noop       a sync that changes nothing, 10 instances            the same, 1 instance
rss        peak RSS of put syncs of growing images,             (must stay flat, <= 64 MiB)
           and of a fan-out to both regions
=========  ==================================================  ===========================

A floor's image record is created (and every image deleted) outside the timed part, and
its token is one Glance has seen before. The targets compare imgsync's upload phase
(the seconds of its report: permission check, image create, stream, proof, publish; of
the slowest target) with the floor, as the issue measured "the streaming part"; the
whole run (start-up, a new token that each Glance worker validates, listings,
signatures) is printed beside it, as is the time of a tiny image's sync, the fixed
cost. imgsync 2.1.0 is compared whole run against whole run.

Glance on sqlite answers some concurrent writes (workers = 4) with HTTP 500 "database
is locked": the workers item counts those answers and the runs they failed, tries a
failed run again (``--workers-attempts``), and when workers = 4 keeps failing measures
both worker counts through a proxy that hands Glance one buffered request at a time
(the downloads, throttled, still dominate). Timings are the
minimum (best of N) and the median; a ratio is of the minima, beside the median of
the ratios of each round's pair. Peak RSS is that of the imgsync process (its
``wait4`` accounting, which includes lbzip2 when it runs). It prints a table, the
targets met or missed, and last a line of JSON with every figure.

    python benchmarks/bench_scale.py                 # all items, ~15 min on 2 cores
    python benchmarks/bench_scale.py --quick         # small sizes, ~6 min
    python benchmarks/bench_scale.py --only put,noop --runs 5
    python benchmarks/bench_scale.py --rss-sizes 300,1024   # leave out the 4 GiB image

Needs curl, qemu-img and (for the bz2 floor) lbzip2 and bzip2; the service venv of
the functional tests (``~/.cache/imgsync/service-venv``, made on first use).
"""

import argparse
import dataclasses
import json
import os
import pathlib
import random
import re
import shlex
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import traceback

import requests
from keystoneauth1 import session as ks_session
from keystoneauth1.identity import v3

ROOT = pathlib.Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

import legacy  # noqa: E402

from tests.functional import glance_proxy  # noqa: E402
from tests.functional import mirror as mirror_mod  # noqa: E402
from tests.functional import stack as stack_mod  # noqa: E402

MIB = 1 << 20
ITEMS = ("put", "direct", "fanout", "workers", "bz2", "noop", "rss")
RAISED_QUOTA_MB = 64 * 1024
"""RegionTwo's user_storage_quota for this run (the suite's 48 MiB fits no big image)."""
WORKER_SERIES = ("20.04", "22.04", "24.04", "26.04")
NOOP_INSTANCES = 10
FLATCAR = "flatcar_production_openstack_image.img"
TARGETS = {   # item: (limit of the ratio, what it compares)
    "put": (1.2, "imgsync put / curl pipe"),
    "direct": (1.1, "imgsync glance-direct / curl stage+import"),
    "bz2": (1.2, "imgsync bz2 (lbzip2) / curl|lbzip2|curl"),
    "fanout": (1.3, "2 targets / the slower target alone"),
    "noop": (1.5, f"no-op {NOOP_INSTANCES} instances / 1 instance"),
    "rss": (64.0, "peak RSS MiB (max), flat"),
}
LEGACY_SPEEDUP = 2.5
"""imgsync 2.1.0's whole sync over this one's (put, same file, same Glance): at least."""

COMMON = """\
[DEFAULT]
distributions = {distributions}
upload_method = {method}
workers = {workers}
lock_path = {tmp}/locks
http_retries = 0

""" + legacy.KEYSTONE_AUTH + """
[glance]
region_name = RegionOne
{glance}
"""
UBUNTU_GROUP = """
[{name}]
base_url = {mirror}ubuntu/
signing_keys = {keys}
expire_action = none
"""
GENERIC_GROUP = r"""
[{name}]
driver = generic
base_url = {mirror}{name}/
display_name = Vendor {index}
file_regex = vendor-os-9-(?P<version>\d{{8}}\.\d+)-{{arch}}\.qcow2
checksum_url = SHA256SUMS
properties = os_distro=rhel,os_version=9,os_admin_user=cloud-user
"""
FLATCAR_GROUP = """
[flatcar-stable]
base_url = {mirror}flatcar/
signing_keys = {keys}
expire_action = none
"""


@dataclasses.dataclass
class Run:
    seconds: float
    rss_mib: float
    stdout: str = ""
    results: list = dataclasses.field(default_factory=list)


class BenchError(Exception):
    pass


PROBE = """\
import os, sys, time
start = time.perf_counter()
pid = os.posix_spawnp(sys.argv[2], sys.argv[2:], os.environ)
_, status, usage = os.wait4(pid, 0)
seconds = time.perf_counter() - start
with open(sys.argv[1], "w") as f:
    f.write(f"{seconds} {usage.ru_maxrss} {os.waitstatus_to_exitcode(status)}")
"""
"""Runs a command from a small process: a child's peak RSS (ru_maxrss) starts from that
of the process it was forked from, which for this benchmark's own would be ~100 MiB."""


def run_process(command, env, tmp, cwd=ROOT):
    """Run ``command`` to its end: (seconds, peak RSS MiB, exit status, stdout, stderr).

    The time and peak RSS are those the probe measured of its child (wait4), which take
    in the child's own children that it reaped (lbzip2)."""
    out, err = (open(tmp / name, "w+") for name in ("out.txt", "err.txt"))
    figures = tmp / "probe.txt"
    with out, err:
        subprocess.run([sys.executable, "-c", PROBE, str(figures), *command], env=env,
                       cwd=cwd, stdin=subprocess.DEVNULL, stdout=out, stderr=err, check=True)
        seconds, maxrss_kib, status = figures.read_text().split()
        out.seek(0)
        err.seek(0)
        return float(seconds), int(maxrss_kib) / 1024, int(status), out.read(), err.read()


class Bench:
    def __init__(self, args, tmp, stack, mirror, slow_mirror):
        self.args = args
        self.tmp = tmp
        self.stack = stack
        self.mirror = mirror
        self.slow_mirror = slow_mirror
        self.keys = mirror_mod.signing_keys_file(tmp)
        self.empty_bin = tmp / "empty-bin"
        self.empty_bin.mkdir()
        self.env = {"PYTHONPATH": str(ROOT),
                    "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
                    "HOME": os.environ.get("HOME", "/root"), "LC_ALL": "C.UTF-8"}
        self.session = ks_session.Session(auth=v3.Password(**stack.admin))
        self.glances = {stack.region_name: stack.glance_url,
                        stack.production_region: stack.production_url}
        self.results = {}
        self.legacy = None
        """imgsync 2.1.0's Python, when its virtualenv could be made."""
        self.configs = 0
        self.log_lines = {}

    # helpers

    def config(self, groups, distributions, method="put", workers=1, glance=""):
        self.configs += 1
        path = self.tmp / f"imgsync-{self.configs}.conf"
        path.write_text(COMMON.format(distributions=",".join(distributions), method=method,
                                      workers=workers, tmp=self.tmp, glance=glance,
                                      **self.stack.admin) + groups)
        return path

    def ubuntu_config(self, series, mirror=None, **kwargs):
        mirror = mirror or self.mirror
        groups = "".join(UBUNTU_GROUP.format(name=f"ubuntu-{s}", mirror=mirror.url,
                                             keys=self.keys) for s in series)
        return self.config(groups, [f"ubuntu-{s}" for s in series], **kwargs)

    def sync(self, config, expect, env=None):
        """One timed ``imgsync sync``; every result's action must be ``expect``."""
        command = [sys.executable, "-m", "imgsync", "--config-file", str(config), "sync",
                   "--format", "json"]
        seconds, rss, status, out, err = run_process(command, env or self.env, self.tmp)
        try:
            results = json.loads(out)["results"] if out.strip() else []
        except ValueError:
            results = []
        actions = {r["action"] for r in results}
        if status != 0 or actions != {expect}:
            errors = "; ".join(r["error"] for r in results if r.get("error"))
            raise BenchError(f"imgsync sync exited {status} with actions {sorted(actions)}: "
                             f"{errors or err.strip()[-1500:]}{self.glance_log_errors()}")
        return Run(seconds, rss, out, results)

    def glance_log_errors(self):
        """The distinct error lines the Glances logged since the last call, for a report."""
        found = []
        for log in sorted((self.tmp / "openstack").glob("glance*/uwsgi.log")):
            lines = log.read_text(errors="replace").splitlines()
            seen = self.log_lines.get(log, 0)
            self.log_lines[log] = len(lines)
            for line in lines[seen:]:
                if " ERROR " not in line or "stevedore" in line:
                    continue
                message = line.split(" ERROR ", 1)[1].strip()[:300]
                if ("Error" in message or "locked" in message) and \
                        f"{log.parent.name}: {message}" not in found:
                    found.append(f"{log.parent.name}: {message}")
        return "".join(f"\n    {line}" for line in found[-6:])

    def glance_500s(self):
        """HTTP 500 answers in the Glances' logs so far (sqlite's "database is locked")."""
        return sum(log.read_text(errors="replace").count("(HTTP/1.1 500)")
                   for log in (self.tmp / "openstack").glob("glance*/uwsgi.log"))

    def token(self):
        return self.session.get_token()

    def create_image(self, region=None, disk_format="qcow2"):
        url = self.glances[region or self.stack.region_name]
        answer = self.session.post(f"{url}/v2/images", json={
            "name": f"floor-{time.time_ns()}", "disk_format": disk_format,
            "container_format": "bare", "visibility": "private"})
        return answer.json()["id"]

    def wait_active(self, image_id, interval=0.1, timeout=600):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            image = self.session.get(f"{self.stack.glance_url}/v2/images/{image_id}").json()
            if image["status"] == "active" and not image.get("os_glance_import_task"):
                return image
            if image["status"] in ("killed", "deleted") or image.get("os_glance_failed_import"):
                raise BenchError(f"floor image {image_id} ended {image['status']}")
            time.sleep(interval)
        raise BenchError(f"floor image {image_id} not active after {timeout} s")

    def delete_all(self):
        for url in self.glances.values():
            for hidden in ("false", "true"):
                images = self.session.get(f"{url}/v2/images", params={
                    "os_hidden": hidden, "limit": 1000}).json()["images"]
                for image in images:
                    # an image a failed request left 'deleted' in its row refuses a delete
                    self.session.delete(f"{url}/v2/images/{image['id']}", raise_exc=False)

    def pipe(self, shell, image_id=None, image_id2=None):
        """Time a floor shell pipe (bash, pipefail); $ID2 is an image in RegionTwo."""
        env = {"PATH": self.env["PATH"], "TOKEN": self.token(),
               "GLANCE": self.stack.glance_url, "ID": image_id or "",
               "GLANCE2": self.stack.production_url, "ID2": image_id2 or "",
               "FIFO": str(self.tmp / "tee.fifo")}
        seconds, _, status, out, err = run_process(
            ["bash", "-o", "pipefail", "-c", shell], env, self.tmp)
        if status != 0:
            raise BenchError(f"floor {shell!r} exited {status}: {err.strip()[-500:]}")
        return seconds

    def floor_put(self, url, decompress=None):
        """curl URL [| decompress] | curl -T - PUT /file into a fresh image: seconds."""
        image_id = self.create_image()
        middle = f" | {decompress}" if decompress else ""
        seconds = self.pipe(f"curl -sSf {shlex.quote(url)}{middle} | curl -sSf -T - -X PUT "
                            '-H "X-Auth-Token: $TOKEN" '
                            '-H "Content-Type: application/octet-stream" '
                            '"$GLANCE/v2/images/$ID/file"', image_id)
        self.check_floor_image(image_id)
        self.delete_all()
        return seconds

    def floor_tee(self, url):
        """curl URL | tee FIFO | curl -T - PUT RegionTwo, curl -T - PUT RegionOne < FIFO."""
        image_id, image_id2 = self.create_image(), self.create_image(self.stack.production_region)
        put = ('curl -sSf -T - -X PUT -H "X-Auth-Token: $TOKEN" '
               '-H "Content-Type: application/octet-stream"')
        seconds = self.pipe(f'rm -f "$FIFO"; mkfifo "$FIFO"; {put} "$GLANCE/v2/images/$ID/file" '
                            f'< "$FIFO" & curl -sSf {shlex.quote(url)} | tee "$FIFO" | {put} '
                            '"$GLANCE2/v2/images/$ID2/file" && wait $!', image_id, image_id2)
        for region, image in ((self.stack.region_name, image_id),
                              (self.stack.production_region, image_id2)):
            got = self.session.get(f"{self.glances[region]}/v2/images/{image}").json()
            if got["status"] != "active":
                raise BenchError(f"tee floor image {image} in {region} is {got['status']}")
        self.delete_all()
        return seconds

    def floor_direct(self, url):
        """curl | curl -T - PUT /stage, POST /import glance-direct, poll until active."""
        image_id = self.create_image()
        start = time.perf_counter()
        self.pipe(f"curl -sSf {shlex.quote(url)} | curl -sSf -T - -X PUT "
                  '-H "X-Auth-Token: $TOKEN" -H "Content-Type: application/octet-stream" '
                  '"$GLANCE/v2/images/$ID/stage"', image_id)
        requests.post(f"{self.stack.glance_url}/v2/images/{image_id}/import",
                      headers={"X-Auth-Token": self.token()},
                      json={"method": {"name": "glance-direct"}}, timeout=60).raise_for_status()
        self.wait_active(image_id)
        seconds = time.perf_counter() - start
        self.delete_all()
        return seconds

    def check_floor_image(self, image_id):
        image = self.session.get(f"{self.stack.glance_url}/v2/images/{image_id}").json()
        if image["status"] != "active":
            raise BenchError(f"floor image {image_id} is {image['status']}")

    def rounds(self, runs, **contenders):
        """Run each contender once per round, in turn; {name: [seconds or Run]}."""
        times = {name: [] for name in contenders}
        for _ in range(runs):
            for name, contender in contenders.items():
                times[name].append(contender())
        return times

    def build_ubuntu(self, series, serial, size_mib, root=None):
        start = time.perf_counter()
        root = root or self.mirror.root
        image = mirror_mod.add_ubuntu_build(root / "ubuntu", series, serial,
                                            size=size_mib * MIB)
        print(f"  (built a {image.stat().st_size / MIB:.0f} MiB qcow2 for ubuntu-{series} in "
              f"{time.perf_counter() - start:.0f} s)", flush=True)
        return image

    def url_of(self, path, mirror=None):
        mirror = mirror or self.mirror
        return mirror.url + str(path.relative_to(mirror.root))

    def drop_ubuntu(self, root=None):
        shutil.rmtree((root or self.mirror.root) / "ubuntu", ignore_errors=True)

    # items

    def fixed_cost(self):
        """Sync of a 1 MiB image: what every run costs besides its bytes."""
        self.build_ubuntu("24.04", "20230101", 1)
        config = self.ubuntu_config(["24.04"])
        times = []
        for _ in range(3):
            times.append(self.sync(config, "uploaded").seconds)
            self.delete_all()
        startup = [run_process([sys.executable, "-m", "imgsync", "--version"], self.env,
                               self.tmp)[0] for _ in range(5)]
        bare = [run_process([sys.executable, "-c", "pass"], self.env, self.tmp)[0]
                for _ in range(5)]
        self.drop_ubuntu()
        self.results["fixed"] = {"sync_1mib_s": stats(times),
                                 "imgsync_version_s": stats(startup),
                                 "python_bare_s": stats(bare)}

    def item_put_direct(self, which):
        size = self.args.put_size
        image = self.build_ubuntu("24.04", "20240101", size)
        url = self.url_of(image)
        for method in which:
            config = self.ubuntu_config(["24.04"], method=method)

            def imgsync_run(config=config):
                run = self.sync(config, "uploaded")
                self.delete_all()
                return run

            floor = (lambda: self.floor_put(url)) if method == "put" else (
                lambda: self.floor_direct(url))
            contenders = {"imgsync": imgsync_run, "floor": floor}
            if method == "put" and self.legacy:
                legacy.publish(self.mirror.root, image, "24.04")
                contenders["legacy"] = lambda: self.legacy_sync(image)
            rounds = self.rounds(self.args.runs, **contenders)
            if None in rounds.get("legacy", ()):
                del rounds["legacy"]
            runs = rounds["imgsync"]
            key = "put" if method == "put" else "direct"
            self.results[key] = self.phase_and_run(runs, rounds["floor"], size)
            self.results[key]["rss_mib"] = max(r.rss_mib for r in runs)
            if "legacy" in rounds:
                self.results[key]["legacy"] = compare(
                    [r.seconds for r in rounds["legacy"]], [r.seconds for r in runs], size,
                    extra={"rss_mib": max(r.rss_mib for r in rounds["legacy"])})
            if method == "put":
                self.results.setdefault("rss", {})[f"put_{size}"] = max(r.rss_mib for r in runs)
        return image

    @staticmethod
    def phase_and_run(runs, floor, size):
        """imgsync's upload phase (its report's seconds: permission check, create, stream,
        proof, publish; the slowest target's) against ``floor``, the target's ratio; beside
        it the whole run (start-up, token, listings, signatures) against the same floor."""
        phases = [max(r["seconds"] for r in run.results) for run in runs]
        return compare(phases, floor, size, extra={
            "whole_run": compare([r.seconds for r in runs], floor, size), "size_mib": size})

    def legacy_sync(self, image):
        """One timed sync of imgsync 2.1.0 into RegionOne, or None (the error recorded, and
        2.1.0 left out from then on): it must leave one active image of the build's size
        (2.1.0 exits 0 even when its upload failed)."""
        if self.legacy is None:
            return None
        try:
            return self._legacy_sync(image)
        except BenchError as exc:
            self.results.setdefault("errors", {})["legacy"] = str(exc)
            self.legacy = None
            return None

    def _legacy_sync(self, image):
        command = legacy.command(self.legacy, self.tmp / "legacy", self.mirror.url,
                                 self.stack.region_name, "24.04", self.stack.admin)
        # not this imgsync; 2.1.0's temporary copy of the image goes beside the others
        env = {**{k: v for k, v in self.env.items() if k != "PYTHONPATH"},
               "TMPDIR": str(self.tmp)}
        seconds, rss, status, _, err = run_process(command, env, self.tmp)
        images = self.session.get(f"{self.stack.glance_url}/v2/images").json()["images"]
        sizes = [(i["status"], i["size"]) for i in images]
        self.delete_all()
        if status != 0 or sizes != [("active", image.stat().st_size)]:
            raise BenchError(f"imgsync {legacy.VERSION} exited {status}, leaving {sizes}: "
                             f"{err.strip()[-800:]}")
        return Run(seconds, rss)

    def item_fanout(self, image=None):
        size = self.args.fanout_size
        if image is None or image.stat().st_size < (size - 1) * MIB or \
                image.stat().st_size > (size + 8) * MIB:
            self.drop_ubuntu()
            image = self.build_ubuntu("24.04", "20240102", size)
        both = self.ubuntu_config(["24.04"], glance="region_names = RegionOne,RegionTwo")
        one = self.ubuntu_config(["24.04"], glance="region_names = RegionOne")
        two = self.ubuntu_config(["24.04"], glance="region_names = RegionTwo")

        def go(config):
            def run():
                result = self.sync(config, "uploaded")
                self.delete_all()
                return result
            return run

        url = self.url_of(image)
        rounds = self.rounds(self.args.runs, one=go(one), both=go(both), two=go(two),
                             floor1=lambda: self.floor_put(url),
                             floor2=lambda: self.floor_tee(url))
        def phase(runs):
            return [max(r["seconds"] for r in run.results) for run in runs]

        # each round's slower single target: what a fan-out waits for at best
        slower = [max(a, b) for a, b in zip(phase(rounds["one"]), phase(rounds["two"]),
                                            strict=True)]
        tee = compare(rounds["floor2"], rounds["floor1"], size)
        record = compare(phase(rounds["both"]), slower, size, extra={
            "whole_run": compare([r.seconds for r in rounds["both"]],
                                 [r.seconds for r in rounds["one"]], size),
            "vs_regionone": compare(phase(rounds["both"]), phase(rounds["one"]), size),
            "regionone_alone_s": stats(phase(rounds["one"])),
            "regiontwo_alone_s": stats(phase(rounds["two"])),
            "floor_tee_2_vs_1": tee,
            "rss_mib_both": max(r.rss_mib for r in rounds["both"]),
            "rss_mib_one": max(r.rss_mib for r in rounds["one"]),
            "size_mib": size})
        # both against RegionOne alone, as the floors' tee ratio is
        record["over_the_floors_ratio"] = round(record["vs_regionone"]["ratio"] / tee["ratio"],
                                                3)
        self.results["fanout"] = record
        self.results.setdefault("rss", {})[f"fanout2_{size}"] = record["rss_mib_both"]
        self.drop_ubuntu()

    def item_workers(self):
        size, rate = self.args.worker_size, self.args.worker_rate
        root = self.slow_mirror.root
        for index, series in enumerate(WORKER_SERIES):
            self.build_ubuntu(series, f"2024020{index + 1}", size, root=root)
        # the mirror pauses after each 64 KiB of an .img: about `rate` MiB/s per connection
        self.slow_mirror.set_faults(slow=64 * 1024 / (rate * MIB))
        try:
            self._workers(root, size, rate)
        finally:
            self.slow_mirror.set_faults()
            self.drop_ubuntu(root)

    def _workers(self, root, size, rate):
        one = next(root.glob("ubuntu/releases/*/release-*/*.img"))
        one_url = shlex.quote(self.url_of(one, self.slow_mirror))
        curl = self.pipe(f"curl -sSf -o /dev/null {one_url}")
        record = {"instances": len(WORKER_SERIES), "size_mib": size,
                  "rate_mib_s_per_connection": rate, "method": self.args.workers_method,
                  "download_floor_s_one_at_a_time": round(curl * len(WORKER_SERIES), 2),
                  "measured_rate_mib_s": round(one.stat().st_size / MIB / curl, 2)}
        failures = {1: [], 4: []}

        def configs(glance=""):
            return {n: self.ubuntu_config(WORKER_SERIES, mirror=self.slow_mirror, workers=n,
                                          method=self.args.workers_method, glance=glance)
                    for n in (1, 4)}

        def go(config, n, attempts):
            def run():
                # Glance on sqlite answers concurrent writes with HTTP 500 "database is
                # locked": such a run is counted and reported, and tried again
                for _ in range(attempts):
                    try:
                        return self.sync(config[n], "uploaded")
                    except BenchError as exc:
                        failures[n].append(str(exc))
                        print(f"  workers={n}: a run failed: {short_failure(str(exc))}",
                              flush=True)
                    finally:
                        self.delete_all()
                raise BenchError(f"workers={n}: {attempts} runs in a row failed"
                                 + (f"; the last: {failures[n][-1]}" if attempts else ""))
            return run

        direct = configs()
        attempts = self.args.workers_attempts
        errors_before = self.glance_500s()
        try:
            rounds = self.rounds(self.args.runs, w4=go(direct, 4, attempts),
                                 w1=go(direct, 1, attempts))
            record["glance"] = "direct"
        except BenchError:
            rounds = None
        record["glance_http_500_direct"] = self.glance_500s() - errors_before
        record["failed_runs_direct"] = {f"workers={n}": len(f) for n, f in failures.items()}
        record["failures_direct"] = sorted({short_failure(f) for fs in failures.values()
                                            for f in fs})
        if rounds is None:
            # Measure with the downloads dominating, through a proxy that buffers each
            # request and hands Glance one at a time, so that its sqlite sees no
            # concurrent writes; the same proxy for both worker counts
            record["glance"] = "serialized proxy"
            print("  workers=4 keeps failing against Glance on sqlite: measuring both worker "
                  "counts through a proxy that passes Glance one request at a time", flush=True)
            with SerialProxy(self.stack.glance_url) as proxy:
                serial = configs(f"endpoint_override = {proxy.url}")
                rounds = self.rounds(self.args.runs, w4=go(serial, 4, 2), w1=go(serial, 1, 2))
                record["proxy_serialized_wait_s_max"] = round(proxy.waited_max(), 2)
        w1 = [r.seconds for r in rounds["w1"]]
        w4 = [r.seconds for r in rounds["w4"]]
        record.update(compare(w4, w1, size * len(WORKER_SERIES)))
        record["speedup"] = round(min(w1) / min(w4), 2)
        record["rss_mib_w4"] = max(r.rss_mib for r in rounds["w4"])
        record["failed_runs"] = {f"workers={n}": len(f) for n, f in failures.items()}
        self.results["workers"] = record

    def item_bz2(self):
        size = self.args.bz2_size
        start = time.perf_counter()
        packed, qcow2_size = add_flatcar_bz2(self.mirror.root / "flatcar", "4230.2.4",
                                             "2025-10-13-1912", size, self.tmp)
        print(f"  (built a {qcow2_size / MIB:.0f} MiB Flatcar qcow2, "
              f"{packed.stat().st_size / MIB:.0f} MiB as .bz2, in "
              f"{time.perf_counter() - start:.0f} s)", flush=True)
        url = self.url_of(packed)
        config = self.config(FLATCAR_GROUP.format(mirror=self.mirror.url, keys=self.keys),
                             ["flatcar-stable"])
        hidden = {**self.env, "PATH": str(self.empty_bin)}   # no lbzip2: Python's bz2

        def go(env):
            def run():
                result = self.sync(config, "uploaded", env=env)
                self.delete_all()
                return result
            return run

        rounds = self.rounds(
            self.args.runs, lbzip2=go(self.env), floor=lambda: self.floor_put(url, "lbzip2 -dc"),
            python_bz2=go(hidden), bzip2_floor=lambda: self.floor_put(url, "bzip2 -dc"))
        mib = qcow2_size / MIB
        record = self.phase_and_run(rounds["lbzip2"], rounds["floor"], mib)
        record.update({"size_mib": round(mib, 1), "bz2_mib": round(packed.stat().st_size / MIB, 1),
                       "rss_mib": max(r.rss_mib for r in rounds["lbzip2"])})
        record["python_bz2"] = self.phase_and_run(rounds["python_bz2"], rounds["floor"], mib)
        record["python_bz2"]["rss_mib"] = max(r.rss_mib for r in rounds["python_bz2"])
        record["python_bz2_vs_bzip2_pipe"] = self.phase_and_run(
            rounds["python_bz2"], rounds["bzip2_floor"], mib)
        self.results["bz2"] = record
        shutil.rmtree(self.mirror.root / "flatcar", ignore_errors=True)

    def item_noop(self):
        names = [f"vendor-{i}" for i in range(NOOP_INSTANCES)]
        for name in names:
            mirror_mod.add_vendor_build(self.mirror.root / name, "20240501.1")

        def configure(selected, workers=1):
            groups = "".join(GENERIC_GROUP.format(name=n, mirror=self.mirror.url, index=i)
                             for i, n in enumerate(selected))
            return self.config(groups, selected, workers=workers)

        many, one = configure(names), configure(names[:1])
        many4 = configure(names, workers=4)
        self.sync(many, "uploaded")
        rounds = self.rounds(self.args.noop_runs, one=lambda: self.sync(one, "up-to-date"),
                             many=lambda: self.sync(many, "up-to-date"),
                             many4=lambda: self.sync(many4, "up-to-date"))
        record = compare([r.seconds for r in rounds["many"]], [r.seconds for r in rounds["one"]],
                         None, extra={"instances": NOOP_INSTANCES})
        record["workers4"] = compare([r.seconds for r in rounds["many4"]],
                                     [r.seconds for r in rounds["one"]], None)
        record["rss_mib"] = max(r.rss_mib for r in rounds["many"])
        self.results["noop"] = record
        self.delete_all()
        for name in names:
            shutil.rmtree(self.mirror.root / name, ignore_errors=True)

    def item_rss(self):
        rss = self.results.setdefault("rss", {})
        seconds = self.results.setdefault("rss_seconds", {})
        for index, size in enumerate(self.args.rss_sizes):
            if f"put_{size}" in rss:
                continue
            free = shutil.disk_usage(self.tmp).free / MIB
            if free < size * 4 + 2048:
                print(f"  (skipping {size} MiB: {free:.0f} MiB free in {self.tmp})")
                rss[f"put_{size}"] = None
                continue
            image = self.build_ubuntu("24.04", f"2024030{index + 1}", size)
            run = self.sync(self.ubuntu_config(["24.04"]), "uploaded")
            self.delete_all()
            rss[f"put_{size}"], seconds[f"put_{size}"] = run.rss_mib, run.seconds
            if self.legacy:   # one round: how the speed-up over 2.1.0 grows with the size
                legacy.publish(self.mirror.root, image, "24.04")
                old = self.legacy_sync(image)
            if self.legacy and old:
                self.results.setdefault("legacy_by_size", {})[f"put_{size}"] = {
                    "legacy_s": round(old.seconds, 2), "imgsync_s": round(run.seconds, 2),
                    "ratio": round(old.seconds / run.seconds, 3),
                    "legacy_rss_mib": round(old.rss_mib, 1)}
            if size in self.args.fanout_rss_sizes:
                run = self.sync(self.ubuntu_config(
                    ["24.04"], glance="region_names = RegionOne,RegionTwo"), "uploaded")
                self.delete_all()
                rss[f"fanout2_{size}"], seconds[f"fanout2_{size}"] = run.rss_mib, run.seconds
            image.unlink()
            self.drop_ubuntu()


class _SerialHandler(glance_proxy._Handler):
    """Reads a whole request, then forwards it to Glance while no other is forwarded."""

    def _forward(self):
        body = b"".join(self._body_chunks())
        if "Transfer-Encoding" in self.headers or "Content-Length" in self.headers:
            del self.headers["Transfer-Encoding"]
            del self.headers["Content-Length"]
            self.headers["Content-Length"] = str(len(body))
        start = time.perf_counter()
        with self.server.serial:
            self.server.waits.append(time.perf_counter() - start)
            self._body_chunks = lambda limit=None: iter([body] if body else [])
            super()._forward()


class SerialProxy(glance_proxy.GlanceProxy):
    """glance_proxy.GlanceProxy that passes Glance one (buffered) request at a time."""

    def __init__(self, target):
        super().__init__(target)
        self._server.RequestHandlerClass = _SerialHandler
        self._server.serial = threading.Lock()
        self._server.waits = []

    def waited_max(self):
        return max(self._server.waits, default=0.0)


def add_flatcar_bz2(root, version, build_id, size_mib, tmp):
    """Publish a Flatcar version whose image exists only as ``.img.bz2``, as the Flatcar
    driver reads it; the qcow2 holds data that compresses about as a real one (half).
    Returns (the .bz2 path, the qcow2's size)."""
    directory = pathlib.Path(root, "amd64-usr", version)
    directory.mkdir(parents=True, exist_ok=True)
    generator = random.Random(f"flatcar/{version}")
    words = [generator.randbytes(generator.randint(2, 9)).hex().encode()
             for _ in range(4096)]
    text = b" ".join(generator.choice(words) for _ in range(600000))[:4 * MIB]
    raw = pathlib.Path(tmp, "flatcar.raw")
    with open(raw, "wb") as f:
        for _ in range(size_mib):
            f.write(generator.randbytes(384 * 1024))
            offset = generator.randrange(len(text) - 640 * 1024)
            f.write(text[offset:offset + 640 * 1024])
    qcow2 = pathlib.Path(tmp, "flatcar.qcow2")
    subprocess.run(["qemu-img", "convert", "-q", "-f", "raw", "-O", "qcow2", raw, qcow2],
                   check=True)
    raw.unlink()
    packed = directory / f"{FLATCAR}.bz2"
    compressor = "lbzip2" if shutil.which("lbzip2") else "bzip2"
    with open(packed, "wb") as out:
        subprocess.run([compressor, "-9", "-c", qcow2], stdout=out, check=True)
    qcow2_size = qcow2.stat().st_size
    qcow2.unlink()
    blocks = "".join(f"# {algo.upper()} HASH\n{mirror_mod.sha(packed, algo)}  {packed.name}\n"
                     for algo in ("md5", "sha1", "sha512"))
    pathlib.Path(f"{packed}.DIGESTS").write_text(blocks)
    pathlib.Path(f"{packed}.DIGESTS.asc").write_bytes(mirror_mod.clearsigned(blocks))
    version_txt = (f"FLATCAR_BUILD={version.split('.')[0]}\nFLATCAR_VERSION={version}\n"
                   f'FLATCAR_VERSION_ID={version}\nFLATCAR_BUILD_ID="{build_id}"\n')
    (directory / "version.txt").write_text(version_txt)
    (directory.parent / "current").mkdir(exist_ok=True)
    (directory.parent / "current" / "version.txt").write_text(version_txt)
    return packed, qcow2_size


def short_failure(message):
    """What failed in a failed sync, without image ids: the calls and Glance's cause."""
    calls = sorted(set(re.findall(r"\((?:PUT|POST|PATCH|DELETE|GET) [^)]*\)|Glance refused "
                                  r"to [a-z ]+? image|HTTP \d{3}|database is locked", message)))
    return ", ".join(re.sub(r"[0-9a-f]{8}-[0-9a-f-]{27}", "<id>", c) for c in calls) or \
        message[:200]


def stats(values):
    return {"min": round(min(values), 3), "median": round(statistics.median(values), 3),
            "n": len(values)}


def compare(subject, floor, size_mib, extra=None):
    """Figures of ``subject`` against ``floor`` (lists of seconds, round by round)."""
    record = {"subject_s": stats(subject), "floor_s": stats(floor),
              "ratio": round(min(subject) / min(floor), 3),
              "ratio_median_of_pairs": round(statistics.median(
                  s / f for s, f in zip(subject, floor, strict=True)), 3)}
    if size_mib:
        record["subject_mib_s"] = round(size_mib / min(subject), 1)
        record["floor_mib_s"] = round(size_mib / min(floor), 1)
    record.update(extra or {})
    return record


def report(results, quick):
    rows = []

    def row(label, record, subject, floor, target=None, at_least=None):
        s, f = record["subject_s"], record["floor_s"]
        verdict = ""
        if target is not None:
            verdict = "met" if record["ratio"] <= target else "MISSED"
            verdict = f"<= {target:g}x {verdict}"
        if at_least is not None:
            verdict = "met" if record["ratio"] >= at_least else "MISSED"
            verdict = f">= {at_least:g}x {verdict}"
        rows.append((label, subject, f"{s['min']:.2f}/{s['median']:.2f}", floor,
                     f"{f['min']:.2f}/{f['median']:.2f}",
                     f"{record['ratio']:.2f}x ({record['ratio_median_of_pairs']:.2f}x)",
                     verdict))

    if "put" in results:
        r = results["put"]
        row(f"put {r['size_mib']} MiB", r, f"upload phase {r['subject_mib_s']} MiB/s",
            f"curl|curl {r['floor_mib_s']} MiB/s", TARGETS["put"][0])
        row("  whole run", r["whole_run"], "imgsync sync", "curl|curl")
        if "legacy" in r:
            row(f"  vs imgsync {legacy.VERSION}", r["legacy"], f"imgsync {legacy.VERSION}",
                "imgsync sync", at_least=LEGACY_SPEEDUP)
    if "direct" in results:
        r = results["direct"]
        row(f"glance-direct {r['size_mib']} MiB", r, f"upload phase {r['subject_mib_s']} MiB/s",
            f"curl stage+import {r['floor_mib_s']} MiB/s", TARGETS["direct"][0])
        row("  whole run", r["whole_run"], "imgsync sync", "curl stage+import")
    if "fanout" in results:
        r = results["fanout"]
        row(f"fan-out {r['size_mib']} MiB", r, "upload phase, 2 targets",
            "slower target alone", TARGETS["fanout"][0])
        row("  vs RegionOne", r["vs_regionone"], "upload phase, 2 targets", "RegionOne alone")
        row("  whole run", r["whole_run"], "2 targets", "RegionOne alone")
        row("  the floors", r["floor_tee_2_vs_1"], "curl|tee, 2 Glances", "curl|curl, 1")
    if "workers" in results:
        r = results["workers"]
        row(f"workers {r['instances']}x{r['size_mib']} MiB @{r['rate_mib_s_per_connection']}"
            " MiB/s", r, "workers=4", "workers=1")
    if "bz2" in results:
        r = results["bz2"]
        row(f"flatcar bz2 {r['size_mib']:.0f} MiB", r, "upload phase, lbzip2",
            "curl|lbzip2|curl", TARGETS["bz2"][0])
        row("  whole run", r["whole_run"], "imgsync sync, lbzip2", "curl|lbzip2|curl")
        p = r["python_bz2"]
        row("  lbzip2 hidden", p, "imgsync+Python bz2", "curl|lbzip2|curl")
        row("  lbzip2 hidden", r["python_bz2_vs_bzip2_pipe"], "imgsync+Python bz2",
            "curl|bzip2|curl")
    if "noop" in results:
        r = results["noop"]
        row(f"no-op {r['instances']} vs 1", r, f"{r['instances']} instances", "1 instance",
            TARGETS["noop"][0])
        row("  workers=4", r["workers4"], f"{r['instances']} instances, 4 workers",
            "1 instance")
    header = ("item", "subject", "min/med s", "floor", "min/med s", "ratio (pairs)", "target")
    widths = [max(len(str(x[i])) for x in rows + [header]) for i in range(len(header))]
    print()
    print(f"imgsync bench_scale{' --quick' if quick else ''}: best-of-N and median seconds; "
          "ratio of the minima (median of per-round ratios)")
    for line in [header] + rows:
        print("  ".join(str(c).ljust(w) for c, w in zip(line, widths, strict=True)).rstrip())
    if "fixed" in results:
        f = results["fixed"]
        print(f"fixed cost: sync of a 1 MiB image {f['sync_1mib_s']['min']:.2f} s; "
              f"'python -m imgsync --version' {f['imgsync_version_s']['min']:.2f} s; "
              f"bare python {f['python_bare_s']['min']:.2f} s")
    if "fanout" in results:
        r = results["fanout"]
        print(f"fan-out: upload phase alone RegionOne {r['regionone_alone_s']['min']:.2f} s, "
              f"RegionTwo {r['regiontwo_alone_s']['min']:.2f} s; imgsync's 2-vs-1 ratio over "
              f"the curl floors' own: {r['over_the_floors_ratio']:.2f}")
    if "workers" in results:
        r = results["workers"]
        print(f"workers: speed-up {r['speedup']:.2f}x with 4 ({r['method']}); curl through "
              f"the throttled mirror: {r['measured_rate_mib_s']} MiB/s, the 4 downloads one "
              f"at a time {r['download_floor_s_one_at_a_time']:.1f} s")
        failed = r["failed_runs_direct"]
        print(f"workers: answers HTTP 500 of Glance itself (sqlite: database is locked) "
              f"{r['glance_http_500_direct']}, retried by imgsync where the call is idempotent;"
              f" runs that failed: {failed} ("
              + ("; ".join(r["failures_direct"]) or "none") + f"); measured: {r['glance']}"
              + (f" (longest wait for it {r['proxy_serialized_wait_s_max']} s)"
                 if "proxy_serialized_wait_s_max" in r else ""))
    if results.get("rss"):
        rss = results["rss"]
        values = [v for v in rss.values() if v]
        flat = max(values) / min(values)
        verdict = "met" if max(values) <= TARGETS["rss"][0] and flat <= 1.15 else "MISSED"
        print("peak RSS MiB: " + ", ".join(
            f"{k} {v:.1f}" if v else f"{k} skipped" for k, v in rss.items())
              + f"; max/min {flat:.2f} (target <= 64 MiB and flat: {verdict})")
    if results.get("legacy_by_size"):
        print(f"imgsync {legacy.VERSION} / imgsync, whole run, one round: " + ", ".join(
            f"{k[4:]} MiB {v['legacy_s']:.1f} s / {v['imgsync_s']:.1f} s = {v['ratio']:.2f}x"
            for k, v in results["legacy_by_size"].items()))
    for name, error in results.get("errors", {}).items():
        print(f"{name}: FAILED: {error}")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true",
                        help="small images and fewer rounds (a few minutes)")
    parser.add_argument("--only", default=",".join(ITEMS),
                        help=f"comma-separated items of {','.join(ITEMS)}")
    parser.add_argument("--runs", type=int, help="rounds of each comparison (3; quick 2)")
    parser.add_argument("--put-size", type=int, help="MiB, put and glance-direct (300)")
    parser.add_argument("--fanout-size", type=int, help="MiB, fan-out (300; quick 40)")
    parser.add_argument("--bz2-size", type=int, help="MiB of the Flatcar qcow2 (128)")
    parser.add_argument("--worker-size", type=int, help="MiB of each of the 4 images (48)")
    parser.add_argument("--worker-rate", type=float,
                        help="MiB/s per connection of the throttled mirror (8)")
    parser.add_argument("--workers-method", default="put", help="upload_method for workers")
    parser.add_argument("--workers-attempts", type=int, default=3,
                        help="tries of workers=4 against Glance itself before it is "
                             "measured through a serializing proxy (sqlite); 0: the proxy "
                             "at once")
    parser.add_argument("--rss-sizes", help="MiB, put syncs for peak RSS (300,1024,4096)")
    parser.add_argument("--fanout-rss-sizes", help="MiB, of those also fanned out (1024)")
    parser.add_argument("--no-legacy", action="store_true",
                        help=f"leave out imgsync {legacy.VERSION} (installed from PyPI into "
                             f"~/.cache/imgsync on first use) from the put item")
    parser.add_argument("--keep-logs", metavar="DIR",
                        help="copy the Keystone and Glance logs into DIR at the end")
    args = parser.parse_args()
    quick = args.quick
    defaults = {"runs": 2 if quick else 3, "put_size": 64 if quick else 300,
                "fanout_size": 40 if quick else 300, "bz2_size": 32 if quick else 128,
                "worker_size": 8 if quick else 48, "worker_rate": 4 if quick else 8,
                "rss_sizes": "64,256" if quick else "300,1024,4096",
                "fanout_rss_sizes": "256" if quick else "1024"}
    for key, value in defaults.items():
        if getattr(args, key) is None:
            setattr(args, key, value)
    args.noop_runs = 3 if quick else 5
    args.rss_sizes = [int(s) for s in str(args.rss_sizes).split(",") if s]
    args.fanout_rss_sizes = [int(s) for s in str(args.fanout_rss_sizes).split(",") if s]
    only = [item for item in args.only.split(",") if item]
    unknown = set(only) - set(ITEMS)
    if unknown:
        parser.error(f"unknown items: {', '.join(sorted(unknown))}")
    for tool in ("curl", "qemu-img", "bash"):
        if not shutil.which(tool):
            parser.error(f"{tool} is not installed")

    started = time.perf_counter()
    load_before = os.getloadavg()
    stack_mod.PRODUCTION_QUOTA_MB = RAISED_QUOTA_MB
    with tempfile.TemporaryDirectory(prefix="imgsync-bench-scale-") as tmp:
        tmp = pathlib.Path(tmp)
        print(f"starting Keystone and two Glances in {tmp}...", flush=True)
        with mirror_mod.Mirror(tmp / "mirror") as mirror, \
                mirror_mod.Mirror(tmp / "slow-mirror") as slow_mirror, \
                stack_mod.OpenStackStack(tmp / "openstack", venv=stack_mod.ensure_service_venv(),
                                         production=True) as stack:
            bench = Bench(args, tmp, stack, mirror, slow_mirror)
            errors = bench.results.setdefault("errors", {})
            if ("put" in only or "rss" in only) and not args.no_legacy:
                try:
                    bench.legacy = legacy.venv()
                except (OSError, subprocess.SubprocessError) as exc:
                    errors["legacy"] = f"cannot install imgsync {legacy.VERSION}: {exc}"
            steps = [("fixed", bench.fixed_cost)]
            image = []
            if "put" in only or "direct" in only:
                which = [m for m, i in (("put", "put"), ("glance-direct", "direct")) if i in only]
                steps.append(("put/direct", lambda: image.append(bench.item_put_direct(which))))
            steps += [(name, getattr(bench, f"item_{name}")) for name in
                      ("fanout", "workers", "bz2", "noop", "rss") if name in only]
            for name, step in steps:
                print(f"{name}...", flush=True)
                step_start = time.perf_counter()
                try:
                    if name == "fanout":
                        bench.item_fanout(image[0] if image else None)
                    else:
                        step()
                except Exception as exc:   # noqa: BLE001 - report it, go on with the others
                    if not isinstance(exc, (BenchError, requests.RequestException, OSError,
                                            subprocess.CalledProcessError)):
                        traceback.print_exc()
                    errors[name] = str(exc)
                    print(f"  {name} failed: {exc}", flush=True)
                    try:
                        bench.delete_all()
                    except Exception:   # noqa: BLE001 - report the first error
                        pass
                print(f"  ({name}: {time.perf_counter() - step_start:.0f} s)", flush=True)
            bench.drop_ubuntu()
        if args.keep_logs:
            keep = pathlib.Path(args.keep_logs)
            for log in (tmp / "openstack").glob("*/uwsgi.log"):
                (keep / log.parent.name).mkdir(parents=True, exist_ok=True)
                shutil.copy(log, keep / log.parent.name / log.name)
    results = bench.results
    results["total_s"] = round(time.perf_counter() - started, 1)
    results["loadavg_1min_before_after"] = [round(load_before[0], 2),
                                            round(os.getloadavg()[0], 2)]
    report(results, quick)
    print(f"total {results['total_s']:.0f} s; 1-minute load average before/after "
          f"{results['loadavg_1min_before_after']} on {os.cpu_count()} CPUs")
    print(json.dumps(results, sort_keys=True))


if __name__ == "__main__":
    main()
