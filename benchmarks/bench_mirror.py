"""Benchmark 'imgsync sync' into Glance alone against Glance plus an object-store mirror.

Starts Keystone, Glance and Swift (with s3api) on loopback (tests/functional/stack.py,
tests/functional/swift_stack.py), builds an Ubuntu mirror holding one real qcow2 of
``--size`` MiB, and runs 'imgsync sync' (upload_method put) in three configurations,
in turn, ``--runs`` times each after one warm-up round: (a) Glance alone, (b) Glance and
a Swift mirror, (c) Glance and an S3 mirror (Swift's s3api). Each run starts from an
empty Glance and mirror: the image and the mirrored object are deleted after it. Prints
the best and median wall-clock seconds and the peak RSS of each configuration, and the
ratios (b)/(a) and (c)/(a) of the best and of the median: one verified download feeds
Glance and the mirror (imgsync.pipeline.tee), so the mirror should cost little time.

    python benchmarks/bench_mirror.py [--size 300] [--runs 3]
"""

import argparse
import os
import pathlib
import shlex
import statistics
import subprocess
import sys
import tempfile
import time

import boto3
from botocore import config as botocore_config
from keystoneauth1 import session as ks_session
from keystoneauth1.identity import v3

ROOT = pathlib.Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.functional import mirror as mirror_mod  # noqa: E402
from tests.functional import stack as stack_mod  # noqa: E402
from tests.functional import swift_stack as swift_mod  # noqa: E402

MIB = 1 << 20
SERIAL = "20240101"
DISTRO = "ubuntu-24.04"
KEY = f"{DISTRO}/{SERIAL}-{DISTRO}.qcow2"
"""The object imgsync writes for the build (imgsync.mirror.layout.key)."""
CONTAINER = "bench-mirror"
CONFIG = """\
[DEFAULT]
distributions = {distro}
upload_method = put
lock_path = {tmp}/locks

[glance]
cloud = bench

[{distro}]
base_url = {mirror}ubuntu/
signing_keys = {keys}
expire_action = none
"""
MIRRORS = {
    "glance": "",
    "glance+swift": "[mirror]\nstore = swift\ncontainer = {container}\n",
    "glance+s3": ("[mirror]\nstore = s3\ncontainer = {container}\ns3_endpoint = {endpoint}\n"
                  "s3_access_key = {user}\ns3_secret_key = {key}\n"),
}
"""The three configurations, (a), (b) and (c), by name: what each adds to CONFIG."""


def measure(command, env):
    """Run ``command``; return its wall-clock seconds, CPU seconds (user and system) and
    peak RSS in MiB, measured from a small parent process (a child forked from this one
    would start with its pages)."""
    probe = ("import resource, subprocess, sys, time; t = time.perf_counter(); "
             "r = subprocess.run(sys.argv[1:], capture_output=True, text=True); "
             "sys.stderr.write(r.stderr[-2000:]) if r.returncode else None; "
             "u = resource.getrusage(resource.RUSAGE_CHILDREN); "
             "print(time.perf_counter() - t, u.ru_utime + u.ru_stime, u.ru_maxrss, r.returncode)")
    run = subprocess.run([sys.executable, "-c", probe, *command], env=env, check=True,
                         capture_output=True, text=True)
    seconds, cpu, rss, code = run.stdout.split()
    if code != "0":
        sys.exit(f"imgsync sync failed (exit status {code}):\n{run.stderr}")
    return float(seconds), float(cpu), int(rss) / 1024


class Stores:
    """The test stack's Glance and the mirror's container and bucket, to check and empty
    between runs."""

    def __init__(self, stack, swift):
        self.session = ks_session.Session(auth=v3.Password(**stack.admin))
        self.images = f"{stack.glance_url}/v2/images"
        self.swift = swift
        self.s3 = boto3.session.Session().client(
            "s3", endpoint_url=swift.s3_endpoint, region_name="us-east-1",
            aws_access_key_id=swift.user, aws_secret_access_key=swift.key,
            config=botocore_config.Config(s3={"addressing_style": "path"}))

    def check_and_empty(self, name, size):
        """Check that the run left an active image and, with a mirror, the object of
        ``size`` bytes; delete them."""
        images = [image for hidden in ("false", "true") for image in self.session.get(
            self.images, params={"os_hidden": hidden}).json()["images"]]
        if [(i["status"], i["size"]) for i in images] != [("active", size)]:
            sys.exit(f"{name}: expected one active image of {size} bytes in Glance, found "
                     f"{[(i['status'], i['size']) for i in images]}")
        for image in images:
            self.session.delete(f"{self.images}/{image['id']}")
        if name == "glance+swift":
            url = f"{CONTAINER}-swift/{KEY}"
            swift = {"service_type": "object-store", "interface": "public"}
            stored = self.session.head(url, endpoint_filter=swift).headers["Content-Length"]
            self.session.delete(url, endpoint_filter=swift,
                                params={"multipart-manifest": "delete"})
        elif name == "glance+s3":
            bucket = f"{CONTAINER}-s3"
            stored = self.s3.head_object(Bucket=bucket, Key=KEY)["ContentLength"]
            self.s3.delete_object(Bucket=bucket, Key=KEY)
        else:
            stored = size
        if int(stored) != size:
            sys.exit(f"{name}: the mirrored object holds {stored} bytes, not {size}")


class Floors:
    """The same bytes without imgsync: ``curl URL | curl -T - PUT`` into a new Glance
    image, and ``curl URL | tee`` into a new Glance image and a Swift object at once, the
    floor of writing one stream into both stores on this machine."""

    def __init__(self, stores, url, tmp):
        self.session, self.images, self.url, self.tmp = stores.session, stores.images, url, tmp
        swift = {"service_type": "object-store", "interface": "public"}
        self.container = f"{self.session.get_endpoint(**swift)}/{CONTAINER}-floor"
        self.session.put(self.container, endpoint_filter=None)

    def glance(self):
        return self._time(f"curl -sSf {shlex.quote(self.url)} | {self._put(self._image())}")

    def both(self):
        fifo = self.tmp / "floor.fifo"
        fifo.unlink(missing_ok=True)
        os.mkfifo(fifo)
        swift = (f'curl -sSf -o /dev/null -T - -X PUT -H "X-Auth-Token: $TOKEN" '
                 f"{shlex.quote(self.container + '/object')} < {fifo}")
        return self._time(f"{swift} & curl -sSf {shlex.quote(self.url)} | tee {fifo} | "
                          f"{self._put(self._image())}; wait")

    def _image(self):
        image = self.session.post(self.images, json={
            "name": "floor", "disk_format": "qcow2", "container_format": "bare"}).json()
        return image["id"]

    def _put(self, image_id):
        return (f'curl -sSf -T - -X PUT -H "X-Auth-Token: $TOKEN" -H "Content-Type: '
                f'application/octet-stream" {self.images}/{image_id}/file')

    def _time(self, shell):
        env = {"PATH": "/usr/bin:/bin", "TOKEN": self.session.get_token()}
        start = time.perf_counter()
        subprocess.run(["bash", "-c", f"set -e -o pipefail; {shell}"], env=env, check=True)
        seconds = time.perf_counter() - start
        for image in self.session.get(self.images).json()["images"]:
            self.session.delete(f"{self.images}/{image['id']}")
        return seconds


def summary(name, times, rss):
    return (f"{name:<13} best {min(times):6.2f} s  median {statistics.median(times):6.2f} s  "
            f"({len(times)} runs: {' '.join(f'{t:.2f}' for t in times)})  "
            f"peak RSS {max(rss):6.1f} MiB")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=300, help="image size in MiB")
    parser.add_argument("--runs", type=int, default=3, help="counted runs of each")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="imgsync-bench-") as tmp:
        tmp = pathlib.Path(tmp)
        print("starting Keystone, Glance and Swift...", flush=True)
        with mirror_mod.Mirror(tmp / "mirror") as mirror, stack_mod.OpenStackStack(
                tmp / "openstack", venv=stack_mod.ensure_service_venv()) as stack, \
                swift_mod.SwiftStack(tmp / "swift", keystone=stack.admin) as swift:
            stack.register("object-store", "swift", swift.keystone_url)
            clouds = stack.clouds_yaml(tmp / "clouds.yaml", "bench")
            env = {"OS_CLIENT_CONFIG_FILE": str(clouds), "PATH": "/usr/bin:/bin",
                   "PYTHONPATH": str(ROOT)}   # this tree's imgsync, wherever it runs from
            start = time.perf_counter()
            image = mirror_mod.add_ubuntu_build(tmp / "mirror/ubuntu", "24.04", SERIAL,
                                                size=args.size * MIB)
            size = image.stat().st_size
            print(f"built a {size / MIB:.0f} MiB qcow2 in {time.perf_counter() - start:.0f} s",
                  flush=True)
            commands = {}
            for name, extra in MIRRORS.items():
                config = tmp / f"{name}.conf"
                config.write_text(CONFIG.format(
                    distro=DISTRO, tmp=tmp, mirror=mirror.url,
                    keys=mirror_mod.signing_keys_file(tmp)) + extra.format(
                    container=f"{CONTAINER}-{name.partition('+')[2]}",
                    endpoint=swift.s3_endpoint, user=swift.user, key=swift.key))
                commands[name] = [sys.executable, "-m", "imgsync", "--config-file",
                                  str(config), "sync"]
            stores = Stores(stack, swift)
            load = os.getloadavg()[0]
            times = {name: [] for name in MIRRORS}
            rss = {name: [] for name in MIRRORS}
            floors = Floors(stores, mirror.url + image.relative_to(tmp / "mirror").as_posix(),
                            tmp)
            floor_times = {"curl | curl": [], "curl | tee, both": []}
            for round_ in range(args.runs + 1):   # the first one warms up, uncounted
                for name, floor in (("curl | curl", floors.glance),
                                    ("curl | tee, both", floors.both)):
                    seconds = floor()
                    if round_:
                        floor_times[name].append(seconds)
                for name, command in commands.items():
                    seconds, cpu, peak = measure(command, env)
                    stores.check_and_empty(name, size)
                    print(f"{'warm-up' if not round_ else f'run {round_}':<8} {name:<13} "
                          f"{seconds:6.2f} s  (imgsync CPU {cpu:5.2f} s)  "
                          f"peak RSS {peak:6.1f} MiB", flush=True)
                    if round_:
                        times[name].append(seconds)
                        rss[name].append(peak)
            report(args.size, times, rss)
            glance, both = (min(floor_times[n]) for n in floor_times)
            ours = min(times["glance+swift"]) / min(times["glance"])
            print(f"floors (best): curl | curl into Glance {glance:.2f} s, curl | tee into "
                  f"Glance and Swift {both:.2f} s: {both / glance:.2f}x; imgsync's Swift "
                  f"ratio is {ours / (both / glance):.2f} times the floors' own")
            print(f"load average (1 min) {load:.2f} at the first run, "
                  f"{os.getloadavg()[0]:.2f} at the end, on {os.cpu_count()} CPUs")


def report(size, times, rss):
    print(f"\n'imgsync sync' of one {size} MiB qcow2, upload_method put, wall-clock:")
    for name in MIRRORS:
        print(summary(name, times[name], rss[name]))
    base = times["glance"]
    for name in ("glance+swift", "glance+s3"):
        best = min(times[name]) / min(base)
        median = statistics.median(times[name]) / statistics.median(base)
        print(f"{name}/glance  best {best:.2f}x  median {median:.2f}x  (target <= 1.3x)")
    print("peak RSS MiB  " + "  ".join(f"{name} {max(rss[name]):.1f}" for name in MIRRORS))


if __name__ == "__main__":
    main()
