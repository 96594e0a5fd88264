"""A real OpenStack Swift on loopback, with the S3 API, for functional tests.

One proxy and one account, container and object server, each Swift's own eventlet
server in a single process (``workers = 0``), from a dedicated virtualenv; one
replica, rings built with swift-ring-builder, all state and logs under a
caller-supplied workdir. tempauth authenticates both APIs: Swift's with
X-Auth-User/X-Auth-Key, S3's through the s3api middleware with the access key
``test:tester`` and the tempauth key as secret. tempauth keeps its tokens in
memcache, so a memcached (Debian package ``memcached``) runs beside them.
"""

from __future__ import annotations

import atexit
import json
import os
import pwd
import secrets
import shutil
import socket
import subprocess
import time
from pathlib import Path

import requests

from tests.functional import stack

HOST = stack.HOST
SWIFT_VENV_ENV = "IMGSYNC_SWIFT_VENV"
# Pinned to the release the suite was verified with; bump deliberately.
SWIFT_PACKAGES = ("swift==2.38.3", "keystonemiddleware==13.0.1")
"""Swift, and keystonemiddleware for the proxy's Keystone authentication."""
VENV_MARKER = ".imgsync-swift-venv"
SERVERS = ("account", "container", "object")
"""The storage servers, each with its ring; the proxy comes on top of them."""
PART_POWER = 6
"""2**6 partitions: enough for one device, and quick to build and load."""
START_TIMEOUT = 60.0
ACCOUNT = "test"
USER = "tester"

RING_BUILDER = """\
import json, os, sys
os.environ["EVENTLET_NO_GREENDNS"] = "yes"
from swift.cli.ringbuilder import main
for command in json.loads(sys.argv[1]):
    try:
        main(["swift-ring-builder", *command])
    except SystemExit as exc:
        if exc.code:
            sys.exit(f"swift-ring-builder {' '.join(command)}: exit status {exc.code}")
"""
"""swift-ring-builder's commands, each exiting as the command-line tool does."""

SWIFT_CONF = """\
[swift-hash]
swift_hash_path_prefix = {prefix}
swift_hash_path_suffix = {suffix}

[storage-policy:0]
name = default
default = yes
"""

SERVER_DEFAULTS = """\
[DEFAULT]
bind_ip = {host}
bind_port = {port}
swift_dir = {swift_dir}
devices = {devices}
user = {user}
workers = 0
mount_check = false
disable_fallocate = true
log_name = {name}
log_level = INFO
"""

STORAGE_CONF = """\
[pipeline:main]
pipeline = healthcheck {name}

[app:{name}]
use = egg:swift#{kind}

[filter:healthcheck]
use = egg:swift#healthcheck
"""

# Swift's sample proxy pipeline, cut to what an object store mirror needs, with s3api
# before the auth middleware as its documentation says (tempauth needs no s3token).
PROXY_CONF = """\
[pipeline:main]
pipeline = catch_errors gatekeeper healthcheck proxy-logging cache listing_formats bulk
    s3api {keystone_filters} tempauth copy slo dlo versioned_writes proxy-logging proxy-server

[app:proxy-server]
use = egg:swift#proxy
account_autocreate = true

[filter:tempauth]
use = egg:swift#tempauth
user_{account}_{user} = {key} .admin

[filter:s3api]
use = egg:swift#s3api

[filter:cache]
use = egg:swift#memcache
memcache_servers = {host}:{memcached_port}

[filter:catch_errors]
use = egg:swift#catch_errors

[filter:gatekeeper]
use = egg:swift#gatekeeper

[filter:healthcheck]
use = egg:swift#healthcheck

[filter:proxy-logging]
use = egg:swift#proxy_logging

[filter:listing_formats]
use = egg:swift#listing_formats

[filter:bulk]
use = egg:swift#bulk

[filter:copy]
use = egg:swift#copy

[filter:slo]
use = egg:swift#slo

[filter:dlo]
use = egg:swift#dlo

[filter:versioned_writes]
use = egg:swift#versioned_writes
"""

KEYSTONE_CONF = """
[filter:authtoken]
paste.filter_factory = keystonemiddleware.auth_token:filter_factory
www_authenticate_uri = {auth_url}
auth_url = {auth_url}
auth_type = password
username = {username}
password = {password}
project_name = {project_name}
user_domain_name = {user_domain_name}
project_domain_name = {project_domain_name}
delay_auth_decision = True

[filter:keystoneauth]
use = egg:swift#keystoneauth
reseller_prefix = {reseller_prefix}
operator_roles = admin, member
"""
"""Keystone beside tempauth, as a cloud's Swift: its accounts ``KEY_<project id>``, where
tempauth keeps ``AUTH_``; any member of a project may write to its account."""
KEYSTONE_PREFIX = "KEY_"


def default_swift_venv() -> Path:
    """$IMGSYNC_SWIFT_VENV, else ~/.cache/imgsync/swift-venv."""
    env = os.environ.get(SWIFT_VENV_ENV)
    return Path(env) if env else Path.home() / ".cache/imgsync/swift-venv"


def ensure_swift_venv(path: Path | None = None) -> Path:
    """Return a venv with Swift, installing it from PyPI wheels if needed."""
    return stack.ensure_venv(Path(path) if path else default_swift_venv(), SWIFT_PACKAGES,
                             VENV_MARKER)


class SwiftStack:
    """Swift with tempauth and s3api on free loopback ports, its state under workdir.

    ``url`` is the proxy, ``auth_url`` tempauth's v1 endpoint (send ``user`` and ``key``
    as X-Auth-User and X-Auth-Key), ``account_url`` the test account's storage URL and
    ``s3_endpoint`` the same proxy for S3 clients (path-style, region us-east-1, access
    key ``user``, secret ``key``). The state is throwaway: start() wipes its
    directories under workdir.
    """

    def __init__(self, workdir: Path, venv: Path | None = None, keystone=None):
        self.workdir = Path(workdir)
        self.keystone = keystone
        """Credentials (as OpenStackStack.admin) with which the proxy validates Keystone
        tokens; unset: tempauth only."""
        self.venv = Path(venv) if venv else None
        self.swift_dir = self.workdir / "etc"
        self.devices = self.workdir / "srv"
        self.log_dir = self.workdir / "log"
        self.user = f"{ACCOUNT}:{USER}"
        self.key = secrets.token_hex(16)
        self.ports: dict[str, int] = {}
        self.url = self.auth_url = self.account_url = self.s3_endpoint = ""
        self.keystone_url = ""
        """The object-store endpoint to register in Keystone's catalog."""
        self._processes = stack.Processes(owner="Swift's ")

    def __enter__(self) -> SwiftStack:
        return self.start()

    def __exit__(self, *exc_info) -> None:
        self.stop()

    def start(self) -> SwiftStack:
        """Build the rings, start memcached and the four servers, wait until a token
        from tempauth reads the account through the proxy."""
        self.venv = ensure_swift_venv(self.venv)
        names = ("memcached", "proxy", *SERVERS)
        self.ports = dict(zip(names, stack._free_ports(len(names)), strict=True))
        self.url = f"http://{HOST}:{self.ports['proxy']}"
        self.auth_url = f"{self.url}/auth/v1.0"
        self.account_url = f"{self.url}/v1/AUTH_{ACCOUNT}"
        self.s3_endpoint = self.url
        self.keystone_url = f"{self.url}/v1/{KEYSTONE_PREFIX}$(project_id)s"
        atexit.register(self.stop)
        try:
            self._prepare_dirs()
            self._build_rings()
            self._write_configs()
            self._start_memcached()
            for name in ("proxy", *SERVERS):
                self._spawn(name, [str(self.venv / "bin" / f"swift-{name}-server"),
                                   str(self._conf(name)), "--verbose"])
            self._wait_ready()
        except BaseException:
            self.stop()
            raise
        return self

    def stop(self) -> None:
        """Terminate every process group; safe to call more than once."""
        self._processes.stop()
        atexit.unregister(self.stop)

    @property
    def _procs(self) -> list[tuple[str, subprocess.Popen]]:
        """The running processes, ``(name, Popen)``."""
        return self._processes.procs

    def token(self) -> str:
        """A fresh tempauth token for the test account."""
        resp = requests.get(self.auth_url, headers={"X-Auth-User": self.user,
                                                    "X-Auth-Key": self.key}, timeout=10)
        resp.raise_for_status()
        return resp.headers["X-Auth-Token"]

    # set-up

    def _prepare_dirs(self) -> None:
        for path in (self.swift_dir, self.devices, self.log_dir):
            shutil.rmtree(path, ignore_errors=True)
            path.mkdir(parents=True)
        device = self.devices / "d1"
        device.mkdir()
        _check_xattrs(device)

    def _build_rings(self) -> None:
        """One device, one replica: each ring points at the single server of its kind.
        swift-ring-builder's commands run in one process: each start spends a second
        importing Swift."""
        commands = []
        for kind in SERVERS:
            path = str(self.swift_dir / f"{kind}.builder")
            commands += [[path, "create", str(PART_POWER), "1", "1"],
                         [path, "add", f"r1z1-{HOST}:{self.ports[kind]}/d1", "100"],
                         [path, "rebalance"]]
        python = str(self.venv / "bin" / "python")
        stack._run([python, "-c", RING_BUILDER, json.dumps(commands)], "swift-ring-builder")

    def _write_configs(self) -> None:
        (self.swift_dir / "swift.conf").write_text(
            SWIFT_CONF.format(prefix=secrets.token_hex(8), suffix=secrets.token_hex(8)))
        for name in ("proxy", *SERVERS):
            defaults = SERVER_DEFAULTS.format(
                host=HOST, port=self.ports[name], swift_dir=self.swift_dir,
                devices=self.devices, user=_user(), name=f"{name}-server")
            if name == "proxy":
                filters = "authtoken keystoneauth" if self.keystone else ""
                body = PROXY_CONF.format(account=ACCOUNT, user=USER, key=self.key, host=HOST,
                                         memcached_port=self.ports["memcached"],
                                         keystone_filters=filters)
                if self.keystone:
                    body += KEYSTONE_CONF.format(reseller_prefix=KEYSTONE_PREFIX,
                                                 **self.keystone)
            else:
                body = STORAGE_CONF.format(name=f"{name}-server", kind=name)
            self._conf(name).write_text(defaults + "\n" + body)

    def _conf(self, name: str) -> Path:
        return self.swift_dir / f"{name}-server.conf"

    def _start_memcached(self) -> None:
        memcached = shutil.which("memcached")
        if memcached is None:
            raise RuntimeError("memcached is missing (tempauth keeps its tokens there): "
                               "apt-get install memcached")
        self._spawn("memcached", [memcached, "--listen", HOST, "--port",
                                  str(self.ports["memcached"]), "--udp-port", "0",
                                  "--memory-limit", "16", "--user", _user()])

    def _spawn(self, name: str, cmd: list[str]) -> None:
        """Start cmd in its own process group, its output in log_dir/name.log."""
        self._processes.spawn(name, cmd, self._log(name), _swift_env())

    def _log(self, name: str) -> Path:
        return self.log_dir / f"{name}.log"

    # readiness

    def _wait_ready(self) -> None:
        """Poll each server's healthcheck, then the account through the proxy with a
        token (memcached, tempauth and the account server all answer), until a deadline."""
        deadline = time.monotonic() + START_TIMEOUT
        checks = [(name, f"http://{HOST}:{self.ports[name]}/healthcheck")
                  for name in (*SERVERS, "proxy")]
        for name, url in checks:
            self._poll(name, deadline, lambda url=url: requests.get(url, timeout=5).ok)
        self._poll("proxy", deadline, self._account_answers)

    def _account_answers(self) -> bool:
        resp = requests.head(self.account_url, headers={"X-Auth-Token": self.token()},
                             timeout=10)
        return resp.ok

    def _poll(self, name: str, deadline: float, ready) -> None:
        """Call ready() until it is true; fail at deadline or when a process has died."""
        self._processes.wait_ready(
            name, ready, deadline,
            f"Swift {name} server on port {self.ports[name]} not ready after "
            f"{START_TIMEOUT:.0f} s")


def _swift_env() -> dict[str, str]:
    """Without eventlet's green DNS (dnspython): only IP addresses are looked up here, and
    Swift then starts in half the time."""
    return {**stack._child_env(), "EVENTLET_NO_GREENDNS": "yes"}


def _user() -> str:
    """The servers' ``user``: they switch to it, and to swift if unset."""
    return pwd.getpwuid(os.getuid()).pw_name


def _check_xattrs(directory: Path) -> None:
    """The object server keeps its metadata in user xattrs: fail early where they are
    missing rather than on the first PUT."""
    probe = directory / ".xattr-probe"
    probe.touch()
    try:
        os.setxattr(probe, "user.swift.probe", b"1")
    except OSError as exc:
        raise RuntimeError(f"Swift needs user xattrs on {directory}: {exc.strerror}") from exc
    finally:
        probe.unlink()


def port_open(port: int) -> bool:
    """Whether something accepts TCP connections on the loopback port."""
    try:
        with socket.create_connection((HOST, port), timeout=1):
            return True
    except OSError:
        return False
