"""Demo: sync Ubuntu LTS images from a sample mirror into a local Keystone + Glance."""

import pathlib
import subprocess
import sys
import tempfile

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[1]))

from keystoneauth1 import session as ks_session  # noqa: E402
from keystoneauth1.identity import v3  # noqa: E402

from tests.functional import mirror as mirror_mod  # noqa: E402
from tests.functional import stack as stack_mod  # noqa: E402

CONFIG = """\
[DEFAULT]
distributions = ubuntu-22.04,ubuntu-24.04
properties = hw_qemu_guest_agent=yes
# the demo's own locks: root-owned files in /run/lock/imgsync would refuse the service
lock_path = {locks}

[glance]
cloud = demo

# the sample mirror signs its SHA256SUMS with a key of its own, not Ubuntu's
[ubuntu-22.04]
base_url = {mirror}ubuntu/
signing_keys = {keys}

[ubuntu-24.04]
base_url = {mirror}ubuntu/
signing_keys = {keys}
"""


def show_images(stack):
    session = ks_session.Session(auth=v3.Password(**stack.admin))
    images = session.get(f"{stack.glance_url}/v2/images").json()["images"]
    print(f"\nGlance at {stack.glance_url} now holds {len(images)} image(s):")
    for image in sorted(images, key=lambda i: i["name"]):
        print(f"  {image['name']:<28} {image['id']}  {image['status']:<7} {image['size']:>9} B"
              f"  {image['visibility']:<7} imgsync.sha256={image['imgsync.sha256'][:16]}...")


def run(config, env, command="sync"):
    print("\n$ imgsync --config-file", config, command, flush=True)
    return subprocess.run([sys.executable, "-m", "imgsync", "--config-file", str(config),
                           command], env=env).returncode


def main():
    with tempfile.TemporaryDirectory(prefix="imgsync-demo-") as tmp:
        tmp = pathlib.Path(tmp)
        print("Building a sample Ubuntu mirror with real qcow2 images...")
        for series, serial in (("22.04", "20240101"), ("24.04", "20240423")):
            mirror_mod.add_ubuntu_build(tmp / "mirror/ubuntu", series, serial)
        venv = stack_mod.default_service_venv()
        if not stack_mod._venv_ready(venv):
            print(f"Installing {', '.join(stack_mod.SERVICE_PACKAGES)} from wheels into "
                  f"{venv} (once; a few minutes)...", flush=True)
        venv = stack_mod.ensure_service_venv(venv)
        print("Starting Keystone and Glance on 127.0.0.1...", flush=True)
        with mirror_mod.Mirror(tmp / "mirror") as mirror, \
                stack_mod.OpenStackStack(tmp / "openstack", venv=venv) as stack:
            clouds = stack.clouds_yaml(tmp / "clouds.yaml", "demo")
            config = tmp / "imgsync.conf"
            config.write_text(CONFIG.format(
                mirror=mirror.url, keys=mirror_mod.signing_keys_file(tmp), locks=tmp / "locks"))
            env = {"OS_CLIENT_CONFIG_FILE": str(clouds), "PATH": "/usr/bin:/bin"}
            codes = [run(config, env)]
            show_images(stack)
            print("\nA second run finds everything up to date and downloads no image:")
            codes.append(run(config, env))
            show_images(stack)
            print("\nWhat upstream has against what Glance holds:")
            codes.append(run(config, env, "status"))
        return max(codes)


if __name__ == "__main__":
    sys.exit(main())
