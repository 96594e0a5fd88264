"""imgsync 2.1.0 (PyPI, the release before this rewrite) as a baseline for bench_scale.

2.1.0 hard-codes its mirror (``https://repo.ifca.es/ubuntu-cloud-images/<series>/current/``),
takes the first image endpoint of the catalog and reads ``[DEFAULT] distributions``
before its configuration file. ``LAUNCH`` points those three at the benchmark's mirror,
region and instance and changes nothing else: 2.1.0 still downloads to a temporary
file, checks its sha256 by reading it again, and uploads it with python-glanceclient.
"""

import pathlib
import subprocess
import sys

VERSION = "2.1.0"
LAUNCH = """\
import functools, sys
import glanceclient
from oslo_config import cfg
mirror, region, distribution = sys.argv[1:4]
glanceclient.Client = functools.partial(glanceclient.Client, region_name=region)
from imgsync.distros import ubuntu
ubuntu.Ubuntu.url = property(lambda self: f"{mirror}ubuntu-cloud-images/{self.ubuntu_release}/")
cfg.CONF.set_default("distributions", [distribution])
from imgsync.cmd import cli
sys.argv = ["glance-imgsync", *sys.argv[4:]]
cli.main()
"""
KEYSTONE_AUTH = """\
[keystone_auth]
auth_type = password
auth_url = {auth_url}
username = {username}
password = {password}
project_name = {project_name}
user_domain_name = {user_domain_name}
project_domain_name = {project_domain_name}
"""
"""The account's group, as both 2.1.0 and this imgsync read it (bench_scale uses it too)."""
CONFIG = "[DEFAULT]\nproperties = os_admin_user=ubuntu\n\n" + KEYSTONE_AUTH
SERIES = {"24.04": ("noble", "ubuntu24")}
"""Our series: 2.1.0's code name and instance name."""


def venv():
    """A virtualenv with imgsync 2.1.0 (~/.cache/imgsync/imgsync-2.1.0-venv), made once."""
    path = pathlib.Path.home() / ".cache" / "imgsync" / f"imgsync-{VERSION}-venv"
    python = path / "bin" / "python"
    marker = path / ".imgsync-installed"
    if not marker.is_file():
        subprocess.run([sys.executable, "-m", "venv", str(path)], check=True, timeout=300)
        subprocess.run([str(python), "-m", "pip", "install", "--quiet", f"imgsync=={VERSION}"],
                       check=True, timeout=900)
        marker.write_text(VERSION + "\n")
    return python


def publish(mirror_root, image, series):
    """Serve ``image`` (a build of our Ubuntu mirror) where 2.1.0 looks for the newest
    one: ``ubuntu-cloud-images/<code name>/current/``, with its SHA256SUMS."""
    code, _ = SERIES[series]
    current = pathlib.Path(mirror_root, "ubuntu-cloud-images", code, "current")
    current.mkdir(parents=True, exist_ok=True)
    name = f"{code}-server-cloudimg-amd64.img"
    link = current / name
    if link.is_symlink() or link.exists():
        link.unlink()
    link.symlink_to(image)
    sums = pathlib.Path(image).with_name("SHA256SUMS").read_text().splitlines()
    digest = next(line.split()[0] for line in sums if line.endswith(pathlib.Path(image).name))
    (current / "SHA256SUMS").write_text(f"{digest} *{name}\n")


def command(python, workdir, mirror_url, region, series, admin):
    """The command line of one 2.1.0 sync, writing its launcher and configuration."""
    workdir = pathlib.Path(workdir)
    workdir.mkdir(parents=True, exist_ok=True)
    launcher, config = workdir / "launch.py", workdir / "imgsync.conf"
    launcher.write_text(LAUNCH)
    config.write_text(CONFIG.format(**admin))
    return [str(python), str(launcher), mirror_url, region, SERIES[series][1],
            "--config-file", str(config), "sync"]

