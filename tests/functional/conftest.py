"""Session fixtures: a real Keystone and Glance, and a local upstream mirror per test."""

import os
import pathlib
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time

import pytest
from keystoneauth1 import session as ks_session
from keystoneauth1.identity import v3

from tests.functional import mirror as mirror_mod
from tests.functional import stack as stack_mod
from tests.functional import swift_stack as swift_mod


@pytest.fixture(scope="session")
def cloud(tmp_path_factory):
    """Keystone and both Glances under uwsgi on loopback, started once per test session."""
    venv = stack_mod.ensure_service_venv()
    with stack_mod.OpenStackStack(tmp_path_factory.mktemp("openstack"), venv=venv,
                                  production=True) as stack:
        yield stack


@pytest.fixture(scope="session")
def swift(tmp_path_factory, cloud):
    """Swift on loopback, started once per test session: a cloud's object store in the
    test Keystone's catalog (accounts ``KEY_<project id>``), with tempauth and s3api
    beside it (account ``AUTH_test``)."""
    with swift_mod.SwiftStack(tmp_path_factory.mktemp("swift"), keystone=cloud.admin) as stack:
        cloud.register("object-store", "swift", stack.keystone_url)
        yield stack


def free_port():
    """A loopback TCP port nothing listens on (now)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="session")
def redis_url(tmp_path_factory):
    """A real redis-server on loopback (no persistence) for tooz locks; its URL."""
    if not shutil.which("redis-server"):
        pytest.fail("redis-server is missing: apt-get install redis-server")
    port = free_port()
    workdir = tmp_path_factory.mktemp("redis")
    server = subprocess.Popen(["redis-server", "--port", str(port), "--bind", "127.0.0.1",
                               "--save", "", "--appendonly", "no", "--dir", str(workdir)],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 30
        while not _redis_answers(port):
            if server.poll() is not None or time.monotonic() > deadline:
                pytest.fail(f"redis-server did not answer PING on 127.0.0.1:{port}")
            time.sleep(0.1)
        yield f"redis://127.0.0.1:{port}"
    finally:
        server.terminate()
        try:
            server.wait(timeout=10)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()


def _redis_answers(port):
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=1) as sock:
            sock.sendall(b"PING\r\n")
            return sock.recv(64).startswith(b"+PONG")
    except OSError:
        return False


@pytest.fixture(scope="session")
def admin_session(cloud):
    return ks_session.Session(auth=v3.Password(**cloud.admin))


@pytest.fixture(scope="session")
def tenant_session(cloud):
    """The member-role user of another project, who tries to steer imgsync."""
    auth = {key: value for key, value in cloud.tenant.items() if key != "project_id"}
    return ks_session.Session(auth=v3.Password(**auth))


class GlanceView:
    """Reads Glance directly (not through imgsync) to check what a run left there."""

    def __init__(self, session, url):
        self.session = session
        self.url = url.rstrip("/") + "/v2"

    def images(self):
        found = []
        for hidden in ("false", "true"):
            response = self.session.get(f"{self.url}/images",
                                        params={"visibility": "all", "os_hidden": hidden,
                                                "limit": 1000})
            response.raise_for_status()
            found += response.json()["images"]
        return found

    def get(self, image_id):
        response = self.session.get(f"{self.url}/images/{image_id}")
        response.raise_for_status()
        return response.json()

    def delete_all(self):
        for image in self.images():
            self.session.delete(f"{self.url}/images/{image['id']}").raise_for_status()

    def as_user(self, session):
        """The same Glance seen by another account."""
        return GlanceView(session, self.url[:-len("/v2")])

    def create(self, data=None, **fields):
        """Create an image as this view's account (``data`` uploaded if given); the
        response to the create request."""
        body = {"disk_format": "qcow2", "container_format": "bare", **fields}
        response = self.session.post(f"{self.url}/images", json=body, raise_exc=False)
        if data is not None and response.ok:
            self.session.put(f"{self.url}/images/{response.json()['id']}/file", data=data,
                             headers={"Content-Type": "application/octet-stream"}
                             ).raise_for_status()
        return response

    def patch(self, image_id, ops):
        """Apply JSON-patch ops as this view's account; the response."""
        return self.session.patch(
            f"{self.url}/images/{image_id}", json=ops, raise_exc=False,
            headers={"Content-Type": "application/openstack-images-v2.1-json-patch"})


@pytest.fixture
def glance(cloud, admin_session):
    """A clean Glance for each test, and a view to check it with."""
    view = GlanceView(admin_session, cloud.glance_url)
    view.delete_all()
    yield view
    view.delete_all()


@pytest.fixture
def production(cloud, admin_session):
    """The production-like Glance (conversion to raw, property protections, quota), clean."""
    view = GlanceView(admin_session, cloud.production_url)
    view.delete_all()
    yield view
    view.delete_all()


@pytest.fixture
def mirror(tmp_path):
    with mirror_mod.Mirror(tmp_path / "mirror") as server:
        yield server


@pytest.fixture
def write_config(tmp_path, cloud, mirror):
    """Write an imgsync.conf for the test cloud and mirror; extra lines are appended.

    Each driver reads the mirror directory named after its family, the part of its
    name before the first dash (``ubuntu/``, ``debian/``, ``centos/``...), unless
    ``sites`` maps it to another one, and trusts the mirror's test signing key instead of
    upstream's (``signing_keys``). Its images promise ``replace_frequency = never``: the
    fixtures' builds are dated 2024, and SCS's outdated rule (which hides superseded
    builds older than the promise allows) is tested in test_scs.py; ``extra`` may set
    it. ``account`` is an account of the stack (admin, service), ``region`` the
    Glance's (the production-like one is in ``cloud.production_region``).
    """
    def write(distributions, extra="", sites=None, account="admin", region=None):
        auth = getattr(cloud, account)
        sites = sites or {}
        keys = mirror_mod.signing_keys_file(tmp_path)
        groups = "".join(
            f"[{name}]\nbase_url = {mirror.url}{sites.get(name, name.split('-')[0])}/\n"
            f"signing_keys = {keys}\nreplace_frequency = never\n\n"
            for name in distributions)
        path = tmp_path / "imgsync.conf"
        path.write_text(
            "[DEFAULT]\n"
            f"distributions = {','.join(distributions)}\n"
            "prefix = test-\n"
            "properties = hw_qemu_guest_agent=yes\n"
            "http_retries = 0\n"
            "active_timeout = 120\n"
            f"lock_path = {tmp_path / 'locks'}\n\n"
            "[keystone_auth]\n"
            "auth_type = password\n"
            f"auth_url = {auth['auth_url']}\n"
            f"username = {auth['username']}\n"
            f"password = {auth['password']}\n"
            f"project_name = {auth['project_name']}\n"
            f"user_domain_name = {auth['user_domain_name']}\n"
            f"project_domain_name = {auth['project_domain_name']}\n\n"
            f"[glance]\nregion_name = {region or cloud.region_name}\n\n"
            + groups + extra)
        return path
    return write


@pytest.fixture
def imgsync():
    """Run the imgsync command as an operator would; returns the CompletedProcess, with
    the run's wall-clock ``seconds`` and peak resident memory ``max_rss_mib`` added."""
    def run(*args, env=None):
        return measured([sys.executable, "-m", "imgsync", *map(str, args)], env=env,
                        cwd=pathlib.Path(__file__).parent)
    return run


PROBE = ("import os, resource, subprocess, sys; code = subprocess.call(sys.argv[1:]); "
         "open(os.environ['IMGSYNC_RSS_FILE'], 'w').write("
         "str(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)); sys.exit(code)")
"""Runs a command as its child and notes the child's peak RSS: measured from a small
process, since a child forked from pytest itself starts with pytest's pages."""


def measured(command, env=None, cwd=None, timeout=300):
    """Run ``command`` to its end (its process group killed after ``timeout`` s) and
    measure its wall-clock time and peak resident memory."""
    with tempfile.NamedTemporaryFile(prefix="imgsync-rss-") as rss:
        started = time.monotonic()
        process = subprocess.Popen(
            [sys.executable, "-c", PROBE, *command], stdout=subprocess.PIPE,
            stderr=subprocess.PIPE, text=True, cwd=cwd, start_new_session=True,
            env={**(os.environ if env is None else env), "IMGSYNC_RSS_FILE": rss.name})
        try:
            stdout, stderr = process.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            stdout, stderr = process.communicate()
        result = subprocess.CompletedProcess(command, process.returncode, stdout, stderr)
        result.seconds = time.monotonic() - started
        peak = pathlib.Path(rss.name).read_text()
        result.max_rss_mib = int(peak) / 1024 if peak else float("nan")
    return result


FAULT_REPORT = []
"""(case, exit status, seconds, peak RSS MiB) of each fault-suite run, printed at the end."""


def pytest_terminal_summary(terminalreporter):
    if FAULT_REPORT:
        terminalreporter.section("fault suite: imgsync runs against misbehaving servers")
        terminalreporter.line(f"{'case':<44} {'exit':>4} {'seconds':>8} {'peak RSS MiB':>13}")
        for case, code, seconds, rss in FAULT_REPORT:
            terminalreporter.line(f"{case:<44} {code:>4} {seconds:>8.1f} {rss:>13.1f}")
