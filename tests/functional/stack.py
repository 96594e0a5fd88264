"""A real Keystone + Glance on loopback, for functional tests and the demo.

Both services run under uwsgi from a dedicated virtualenv, with sqlite
databases and a file image store, all inside a caller-supplied workdir.
"""

from __future__ import annotations

import atexit
import fcntl
import grp
import json
import os
import pwd
import secrets
import shutil
import signal
import socket
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import requests

SERVICE_VENV_ENV = "IMGSYNC_SERVICE_VENV"
# Pinned to the releases the suite was verified with; bump deliberately.
SERVICE_PACKAGES = ("glance==33.0.0", "keystone==30.0.0", "pyuwsgi==2.0.30.post1")
VENV_MARKER = ".imgsync-service-venv"
VENV_SCRIPTS = ("uwsgi", "keystone-manage", "glance-manage")

REGION = "RegionOne"
PRODUCTION_REGION = "RegionTwo"
"""Region of the production-like Glance (conversion to raw, property protections)."""
PROPERTY_PROTECTIONS = Path(__file__).resolve().parents[2] / "etc" / "imgsync" / \
    "glance-property-protections.conf"
PRODUCTION_QUOTA_MB = 48
"""user_storage_quota of the production-like Glance: per project, in MiB."""
HOST = "127.0.0.1"
START_TIMEOUT = 120.0
STOP_TIMEOUT = 15.0
COMMAND_TIMEOUT = 300.0
PIP_TIMEOUT = 1800.0

KEYSTONE_CONF = """\
[DEFAULT]
use_stderr = true

[database]
connection = sqlite:///{dir}/keystone.sqlite

[token]
provider = fernet

[fernet_tokens]
key_repository = {dir}/fernet-keys

[fernet_receipts]
key_repository = {dir}/fernet-keys

[credential]
key_repository = {dir}/credential-keys

[oslo_concurrency]
lock_path = {dir}/locks
"""

GLANCE_CONF = """\
[DEFAULT]
use_stderr = true
enabled_backends = local:file
enabled_import_methods = [glance-direct,web-download]
node_staging_uri = file://{dir}/staging
show_image_direct_url = false
{default_extra}
[database]
# sqlite locks the whole file: wait for a writer instead of failing an import at once
connection = sqlite:///{dir}/glance.sqlite?timeout=60

[glance_store]
default_backend = local

[local]
filesystem_store_datadir = {dir}/images

[os_glance_staging_store]
filesystem_store_datadir = {dir}/staging

[os_glance_tasks_store]
filesystem_store_datadir = {dir}/tasks

[import_filtering_opts]
allowed_ports = []
allowed_hosts = [{host}]

[paste_deploy]
flavor = keystone
config_file = {paste_ini}

[keystone_authtoken]
www_authenticate_uri = {auth_url}
auth_url = {auth_url}
auth_type = password
username = glance
password = {password}
project_name = service
user_domain_name = Default
project_domain_name = Default

[oslo_concurrency]
lock_path = {dir}/locks
{sections_extra}"""

PRODUCTION_DEFAULT = """\
hashing_algorithm = sha256
user_storage_quota = {quota}MB
property_protection_file = {protections}
property_protection_rule_format = roles
"""

PRODUCTION_SECTIONS = """
[image_import_opts]
image_import_plugins = ['image_conversion']

[image_conversion]
output_format = raw

[wsgi]
# under uwsgi sys.executable is not Python: the conversion's qemu-img runs through this
python_interpreter = {python}
"""

PRODUCTION_UWSGI = """\
# read a request body before Glance sees it, as a buffering front (nginx's default
# proxy_request_buffering) does: an early answer such as a 413 then reaches the client
post-buffering = 65536
"""

UWSGI_INI = """\
[uwsgi]
http = {host}:{port}
module = {module}
master = true
processes = 2
threads = 2
lazy-apps = true
need-app = true
die-on-term = true
no-orphans = true
buffer-size = 65535
http-chunked-input = true
# glanceclient (imgsync 2.1.0, Cinder) sends 1 MiB chunks: over uWSGI's default limit
chunked-input-limit = 4194304
http-auto-chunked = true
http-raw-body = true
add-header = Connection: close
"""

CLOUDS_YAML = """\
clouds:
  {cloud}:
    auth:
      auth_url: {auth_url}
      username: {username}
      password: {password}
      project_name: {project_name}
      user_domain_name: {user_domain_name}
      project_domain_name: {project_domain_name}
    region_name: {region}
    interface: public
    identity_api_version: 3
"""


def default_service_venv() -> Path:
    """$IMGSYNC_SERVICE_VENV, else ~/.cache/imgsync/service-venv."""
    env = os.environ.get(SERVICE_VENV_ENV)
    return Path(env) if env else Path.home() / ".cache/imgsync/service-venv"


def ensure_service_venv(path: Path | None = None) -> Path:
    """Return a venv with keystone, glance and uwsgi, installing them if needed."""
    return ensure_venv(Path(path) if path else default_service_venv(), SERVICE_PACKAGES,
                       VENV_MARKER, VENV_SCRIPTS)


def ensure_venv(venv: Path, packages: tuple[str, ...], marker: str,
                scripts: tuple[str, ...] = ()) -> Path:
    """Return ``venv`` with ``packages`` (pip install's arguments) installed from PyPI,
    installing them unless its marker names exactly these (a bumped pin reinstalls) and
    ``scripts`` are there."""
    if _installed(venv, packages, marker, scripts):
        return venv
    venv.parent.mkdir(parents=True, exist_ok=True)
    with open(venv.with_name(venv.name + ".lock"), "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # parallel test workers install only once
        if not _installed(venv, packages, marker, scripts):
            python = venv / "bin" / "python"
            if not python.is_file():
                _run([sys.executable, "-m", "venv", str(venv)], f"create {venv}")
            _run([str(python), "-m", "pip", "install", "--quiet", *packages],
                 "pip install " + " ".join(packages), timeout=PIP_TIMEOUT)
            (venv / marker).write_text(" ".join(packages) + "\n")
    return venv


def _venv_ready(venv: Path) -> bool:
    """Whether the service venv is installed (tools/demo.py asks before it installs)."""
    return _installed(venv, SERVICE_PACKAGES, VENV_MARKER, VENV_SCRIPTS)


def _installed(venv: Path, packages: tuple[str, ...], marker: str,
               scripts: tuple[str, ...]) -> bool:
    path = venv / marker
    return (path.is_file() and path.read_text().split() == list(packages)
            and all((venv / "bin" / script).is_file() for script in scripts))


def _child_env() -> dict[str, str]:
    """Environment for service processes, without the caller's Python or OS_* setup."""
    return {
        key: value
        for key, value in os.environ.items()
        if key not in ("PYTHONPATH", "PYTHONHOME", "VIRTUAL_ENV") and not key.startswith("OS_")
    }


def _run(cmd: list[str], what: str, timeout: float = COMMAND_TIMEOUT) -> None:
    """Run a command to completion; raise RuntimeError with its output on failure."""
    try:
        result = subprocess.run(
            cmd,
            check=False,
            env=_child_env(),
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            timeout=timeout,
        )
    except subprocess.TimeoutExpired as exc:
        raise RuntimeError(f"{what}: timed out after {timeout:.0f} s") from exc
    if result.returncode != 0:
        raise RuntimeError(f"{what} failed (exit {result.returncode}):\n{_tail(result.stdout)}")


def _tail(text: str, lines: int = 100) -> str:
    return "\n".join(text.splitlines()[-lines:])


def _log_tail(path: Path) -> str:
    try:
        return f"--- end of {path} ---\n" + _tail(path.read_text(errors="replace"))
    except OSError as exc:
        return f"(no log: {exc})"


def _free_ports(count: int) -> list[int]:
    """Distinct loopback ports that were free a moment ago (all bound at once)."""
    socks = [socket.socket(socket.AF_INET, socket.SOCK_STREAM) for _ in range(count)]
    try:
        for sock in socks:
            sock.bind((HOST, 0))
        return [sock.getsockname()[1] for sock in socks]
    finally:
        for sock in socks:
            sock.close()


def _find_paste_ini(venv: Path) -> Path:
    """The glance-api-paste.ini that pip installs with glance."""
    candidate = venv / "etc" / "glance" / "glance-api-paste.ini"
    found = candidate if candidate.is_file() else next(venv.rglob("glance-api-paste.ini"), None)
    if found is None:
        raise RuntimeError(f"glance-api-paste.ini not found in {venv}")
    return found


class OpenStackStack:
    """Keystone and Glance on free loopback ports, their state under workdir.

    With ``production``, a second Glance in region RegionTwo behaves as production
    clouds do: it converts imported images to raw, hashes with sha256, protects
    ``source`` and ``imgsync.*`` with imgsync's shipped property-protections file and
    has a per-project storage quota. Keystone then also has a ``tenant`` project
    with a member-role user (``self.tenant``) and an ``imgsync`` project whose user
    has only the member and imgsync roles (``self.service``).
    The state is throwaway: start() wipes workdir/keystone and workdir/glance*.
    """

    def __init__(self, workdir: Path, venv: Path | None = None, production: bool = False):
        self.workdir = Path(workdir)
        self.venv = Path(venv) if venv else None
        self.production = production
        self.keystone_dir = self.workdir / "keystone"
        self.glance_dir = self.workdir / "glance"
        self.production_dir = self.workdir / "glance-production"
        self.region_name = REGION
        self.production_region = PRODUCTION_REGION
        self._admin_password = secrets.token_hex(12)
        self._glance_password = secrets.token_hex(12)
        self._procs = Processes()
        self.keystone_port = 0
        self.glance_port = 0
        self.production_port = 0
        self.auth_url = ""
        self.glance_url = ""
        self.production_url = ""
        self.admin: dict[str, str] = {}
        self.tenant: dict[str, str] = {}
        self.service: dict[str, str] = {}

    def __enter__(self) -> OpenStackStack:
        return self.start()

    def __exit__(self, *exc_info) -> None:
        self.stop()

    def start(self) -> OpenStackStack:
        """Start Keystone, register the Glances in it, then start them."""
        self.venv = ensure_service_venv(self.venv)
        self.keystone_port, self.glance_port, self.production_port = _free_ports(3)
        self.auth_url = f"http://{HOST}:{self.keystone_port}/v3"
        self.glance_url = f"http://{HOST}:{self.glance_port}"
        self.production_url = f"http://{HOST}:{self.production_port}"
        self.admin = self._account("admin", self._admin_password, "admin")
        atexit.register(self.stop)
        try:
            self._start_keystone()
            api = _KeystoneAdmin(self.auth_url, self._admin_password)
            self._register_glance(api, self.region_name, self.glance_url)
            if self.production:
                api.post("regions", "region", {"id": self.production_region})
                self._register_glance(api, self.production_region, self.production_url)
                self.tenant = self._add_account(api, "tenant", ["member"])
                self.service = self._add_account(api, "imgsync", ["member", "imgsync"])
            self._start_glance(self.glance_dir, self.glance_port)
            if self.production:
                self._start_glance(self.production_dir, self.production_port, production=True)
        except BaseException:
            self.stop()
            raise
        return self

    def _account(self, name: str, password: str, project: str) -> dict[str, str]:
        return {
            "auth_url": self.auth_url,
            "username": name,
            "password": password,
            "project_name": project,
            "user_domain_name": "Default",
            "project_domain_name": "Default",
        }

    def _add_account(self, api: _KeystoneAdmin, name: str, roles: list[str]) -> dict[str, str]:
        """A project ``name`` and a user ``name`` holding ``roles`` on it, and only those."""
        password = secrets.token_hex(12)
        project = api.post("projects", "project", {"name": name, "domain_id": "default"})
        user = api.post("users", "user", {"name": name, "password": password,
                                          "domain_id": "default"})
        for role in roles:
            try:
                role_id = api.role_id(role)
            except IndexError:
                role_id = api.post("roles", "role", {"name": role})["id"]
            api.put(f"projects/{project['id']}/users/{user['id']}/roles/{role_id}")
        return {**self._account(name, password, name), "project_id": project["id"]}

    def register(self, service_type: str, name: str, url: str) -> None:
        """Add a service with its endpoints in RegionOne to Keystone's catalog."""
        api = _KeystoneAdmin(self.auth_url, self._admin_password)
        service = api.post("services", "service", {"type": service_type, "name": name})
        for interface in ("public", "internal", "admin"):
            api.post("endpoints", "endpoint", {"service_id": service["id"],
                                               "interface": interface,
                                               "region_id": self.region_name, "url": url})

    def stop(self) -> None:
        """Terminate the uwsgi process groups; safe to call more than once."""
        self._procs.stop()
        atexit.unregister(self.stop)

    def clouds_yaml(self, path: Path, cloud_name: str = "imgsync-test") -> Path:
        """Write a clouds.yaml with one cloud for the admin user."""
        path = Path(path)
        quoted = {key: json.dumps(value) for key, value in self.admin.items()}
        path.write_text(
            CLOUDS_YAML.format(
                cloud=json.dumps(cloud_name),
                region=json.dumps(self.region_name),
                **quoted,
            )
        )
        return path

    # Keystone

    def _keystone_manage(self, *args: str) -> None:
        conf = self.keystone_dir / "keystone.conf"
        cmd = [str(self.venv / "bin" / "keystone-manage"), "--config-file", str(conf)]
        _run([*cmd, *args], f"keystone-manage {args[0]}")

    def _start_keystone(self) -> None:
        kdir = self.keystone_dir
        shutil.rmtree(kdir, ignore_errors=True)
        for sub in ("fernet-keys", "credential-keys", "locks"):
            (kdir / sub).mkdir(parents=True, exist_ok=True)
        (kdir / "keystone.conf").write_text(KEYSTONE_CONF.format(dir=kdir))
        user = pwd.getpwuid(os.getuid()).pw_name
        group = grp.getgrgid(os.getgid()).gr_name
        owner = ("--keystone-user", user, "--keystone-group", group)
        self._keystone_manage("db_sync")
        self._keystone_manage("fernet_setup", *owner)
        self._keystone_manage("credential_setup", *owner)
        self._keystone_manage(
            "bootstrap",
            "--bootstrap-password",
            self._admin_password,
            "--bootstrap-admin-url",
            self.auth_url,
            "--bootstrap-public-url",
            self.auth_url,
            "--bootstrap-internal-url",
            self.auth_url,
            "--bootstrap-region-id",
            self.region_name,
        )
        self._serve(
            kdir,
            self.keystone_port,
            "keystone.wsgi.api:application",
            "OS_KEYSTONE_CONFIG_DIR",
            ready_url=self.auth_url,
        )

    def _register_glance(self, api: _KeystoneAdmin, region: str, url: str) -> None:
        """Create the image service (once), its endpoints in ``region`` and the glance user."""
        services = api.get("services", {"type": "image"})["services"]
        if services:
            service = services[0]
        else:
            service = api.post("services", "service", {"type": "image", "name": "glance"})
            project = api.post("projects", "project", {"name": "service",
                                                       "domain_id": "default"})
            user = api.post("users", "user", {"name": "glance",
                                              "password": self._glance_password,
                                              "domain_id": "default"})
            api.put(f"projects/{project['id']}/users/{user['id']}/roles/{api.role_id('admin')}")
        for interface in ("public", "internal", "admin"):
            api.post("endpoints", "endpoint", {"service_id": service["id"],
                                               "interface": interface, "region_id": region,
                                               "url": url})

    # Glance

    def _start_glance(self, gdir: Path, port: int, production: bool = False) -> None:
        shutil.rmtree(gdir, ignore_errors=True)
        for sub in ("images", "staging", "tasks", "locks"):
            (gdir / sub).mkdir(parents=True, exist_ok=True)
        conf = gdir / "glance-api.conf"
        default_extra = sections_extra = ""
        if production:
            default_extra = PRODUCTION_DEFAULT.format(quota=PRODUCTION_QUOTA_MB,
                                                      protections=PROPERTY_PROTECTIONS)
            sections_extra = PRODUCTION_SECTIONS.format(python=self.venv / "bin" / "python")
        conf.write_text(
            GLANCE_CONF.format(
                dir=gdir,
                host=HOST,
                paste_ini=_find_paste_ini(self.venv),
                auth_url=self.auth_url,
                password=self._glance_password,
                default_extra=default_extra,
                sections_extra=sections_extra,
            )
        )
        manage = str(self.venv / "bin" / "glance-manage")
        _run([manage, "--config-file", str(conf), "db_sync"], "glance-manage db_sync")
        _use_wal(gdir / "glance.sqlite")
        self._serve(
            gdir,
            port,
            "glance.wsgi.api:application",
            "OS_GLANCE_CONFIG_DIR",
            ready_url=f"http://{HOST}:{port}/versions",
            extra=PRODUCTION_UWSGI if production else "",
        )

    # uwsgi processes

    def _serve(
        self, service_dir: Path, port: int, module: str, config_env: str, ready_url: str,
        extra: str = "",
    ) -> None:
        """Run module under uwsgi, logging to service_dir/uwsgi.log, until ready_url answers."""
        ini = service_dir / "uwsgi.ini"
        ini.write_text(
            UWSGI_INI.format(
                host=HOST,
                port=port,
                module=module,
            )
            + extra
        )
        name = f"uwsgi for {ready_url}"
        # pyuwsgi starts Python before it reads the ini: set the variable here
        self._procs.spawn(name, [str(self.venv / "bin" / "uwsgi"), "--ini", str(ini)],
                          service_dir / "uwsgi.log", {**_child_env(), config_env: str(service_dir)})
        self._procs.wait_ready(name, lambda: requests.get(ready_url, timeout=5).status_code < 400,
                               time.monotonic() + START_TIMEOUT,
                               f"{ready_url} not ready after {START_TIMEOUT:.0f} s")


def _use_wal(database: Path) -> None:
    """Switch sqlite to write-ahead logging: readers stop blocking the import tasks' writes."""
    with sqlite3.connect(database) as connection:
        connection.execute("PRAGMA journal_mode=WAL")


class Processes:
    """Service processes, each in a process group of its own with its output in a log
    file: started, waited for and stopped together (the stacks' shared starter)."""

    def __init__(self, owner: str = ""):
        self.owner = owner
        """Said before a process's name in errors (``Swift's``)."""
        self.procs: list[tuple[str, subprocess.Popen]] = []
        self._logs: dict[str, Path] = {}

    def spawn(self, name: str, cmd: list[str], log: Path, env: dict[str, str]) -> None:
        """Start cmd in its own process group, its output appended to log."""
        with open(log, "ab") as out:
            proc = subprocess.Popen(cmd, env=env, stdin=subprocess.DEVNULL, stdout=out,
                                    stderr=subprocess.STDOUT, start_new_session=True)
        self.procs.append((name, proc))
        self._logs[name] = log

    def wait_ready(self, name: str, ready, deadline: float, late: str) -> None:
        """Call ready() until it is true; fail with name's log at deadline (saying
        ``late``), or with its own log as soon as one of the processes has exited."""
        while True:
            for dead, proc in self.procs:
                if proc.poll() is not None:
                    raise RuntimeError(f"{self.owner}{dead} exited with {proc.returncode} at "
                                       f"start:\n{_log_tail(self._logs[dead])}")
            try:
                if ready():
                    return
            except requests.RequestException:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError(f"{late}:\n{_log_tail(self._logs[name])}")
            time.sleep(0.2)

    def stop(self) -> None:
        """Terminate every process group; safe to call more than once."""
        while self.procs:
            _kill_group(self.procs.pop()[1])


def _kill_group(proc: subprocess.Popen) -> None:
    """SIGTERM the process group, then SIGKILL whatever is left of it."""
    _signal_group(proc.pid, signal.SIGTERM)
    try:
        proc.wait(timeout=STOP_TIMEOUT)
    except subprocess.TimeoutExpired:
        pass
    _signal_group(proc.pid, signal.SIGKILL)
    proc.wait(timeout=STOP_TIMEOUT)


def _signal_group(pgid: int, sig: signal.Signals) -> None:
    try:
        os.killpg(pgid, sig)
    except ProcessLookupError:
        pass


class _KeystoneAdmin:
    """Minimal Keystone v3 admin REST client using a project-scoped token."""

    def __init__(self, auth_url: str, password: str):
        self.base = auth_url
        body = {
            "auth": {
                "identity": {
                    "methods": ["password"],
                    "password": {
                        "user": {
                            "name": "admin",
                            "domain": {"id": "default"},
                            "password": password,
                        }
                    },
                },
                "scope": {"project": {"name": "admin", "domain": {"id": "default"}}},
            }
        }
        resp = requests.post(f"{auth_url}/auth/tokens", json=body, timeout=30)
        resp.raise_for_status()
        self.headers = {"X-Auth-Token": resp.headers["X-Subject-Token"]}

    def post(self, path: str, key: str, obj: dict) -> dict:
        resp = requests.post(
            f"{self.base}/{path}", json={key: obj}, headers=self.headers, timeout=30
        )
        resp.raise_for_status()
        return resp.json()[key]

    def get(self, path: str, params: dict) -> dict:
        resp = requests.get(f"{self.base}/{path}", params=params, headers=self.headers,
                            timeout=30)
        resp.raise_for_status()
        return resp.json()

    def put(self, path: str) -> None:
        resp = requests.put(f"{self.base}/{path}", headers=self.headers, timeout=30)
        resp.raise_for_status()

    def role_id(self, name: str) -> str:
        resp = requests.get(
            f"{self.base}/roles", params={"name": name}, headers=self.headers, timeout=30
        )
        resp.raise_for_status()
        return resp.json()["roles"][0]["id"]
