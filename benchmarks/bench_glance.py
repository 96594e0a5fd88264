"""Benchmark a whole 'imgsync sync' into the real Glance of the test stack.

Builds an Ubuntu mirror holding one real qcow2 of each size, starts Keystone and
Glance on loopback (tests/functional/stack.py), runs 'imgsync sync' once per size
with each upload method, and prints MiB/s and the peak RSS of the imgsync process,
which must not grow with the image.

    python benchmarks/bench_glance.py [--sizes 256,1024] [--methods glance-direct,put]
"""

import argparse
import pathlib
import subprocess
import sys
import tempfile
import time

from keystoneauth1 import session as ks_session
from keystoneauth1.identity import v3

ROOT = pathlib.Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.functional import mirror as mirror_mod  # noqa: E402
from tests.functional import stack as stack_mod  # noqa: E402

MIB = 1 << 20
CONFIG = """\
[DEFAULT]
distributions = ubuntu-24.04
upload_method = {method}
lock_path = {tmp}/locks

[glance]
cloud = bench

[ubuntu-24.04]
base_url = {mirror}ubuntu/
signing_keys = {keys}
expire_action = none
"""


def peak_rss_of(command, env):
    """Run ``command``; return (seconds, its peak RSS in MiB) from a fresh child process."""
    probe = ("import resource, subprocess, sys, time; t = time.perf_counter(); "
             "subprocess.run(sys.argv[1:], check=True, stdout=subprocess.DEVNULL); "
             "print(time.perf_counter() - t, "
             "resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)")
    out = subprocess.run([sys.executable, "-c", probe, *command], env=env, check=True,
                         capture_output=True, text=True).stdout.split()
    return float(out[0]), int(out[1]) / 1024


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="256,1024", help="image sizes in MiB")
    parser.add_argument("--methods", default="glance-direct,put")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="imgsync-bench-") as tmp:
        tmp = pathlib.Path(tmp)
        print("starting Keystone and Glance...", flush=True)
        with mirror_mod.Mirror(tmp / "mirror") as mirror, stack_mod.OpenStackStack(
                tmp / "openstack", venv=stack_mod.ensure_service_venv()) as stack:
            clouds = stack.clouds_yaml(tmp / "clouds.yaml", "bench")
            env = {"OS_CLIENT_CONFIG_FILE": str(clouds), "PATH": "/usr/bin:/bin"}
            for serial, size in enumerate(int(s) for s in args.sizes.split(",")):
                start = time.perf_counter()
                image = mirror_mod.add_ubuntu_build(tmp / "mirror/ubuntu", "24.04",
                                                    f"2024010{serial + 1}", size=size * MIB)
                print(f"built a {image.stat().st_size / MIB:.0f} MiB qcow2 in "
                      f"{time.perf_counter() - start:.0f} s", flush=True)
                for method in args.methods.split(","):
                    config = tmp / "imgsync.conf"
                    config.write_text(CONFIG.format(
                        method=method, tmp=tmp, mirror=mirror.url,
                        keys=mirror_mod.signing_keys_file(tmp)))
                    seconds, rss = peak_rss_of(
                        [sys.executable, "-m", "imgsync", "--config-file", str(config), "sync"],
                        env)
                    print(f"{method:<14} {size:>6} MiB  {size / seconds:7.1f} MiB/s "
                          f"({seconds:5.1f} s, whole run)  imgsync peak RSS {rss:6.1f} MiB",
                          flush=True)
                    _delete_images(stack)
                image.unlink()


def _delete_images(stack):
    session = ks_session.Session(auth=v3.Password(**stack.admin))
    url = f"{stack.glance_url}/v2/images"
    for hidden in ("false", "true"):
        for image in session.get(url, params={"os_hidden": hidden}).json()["images"]:
            session.delete(f"{url}/{image['id']}")


if __name__ == "__main__":
    main()
