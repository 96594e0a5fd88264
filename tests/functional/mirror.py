"""A local upstream mirror for tests and the demo: real qcow2 files behind a real HTTP server."""

import atexit
import base64
import bz2
import datetime
import functools
import gzip
import hashlib
import http.server
import os
import pathlib
import random
import shutil
import ssl
import subprocess
import tempfile
import threading
import time

import pysequoia

IMAGE_SUFFIXES = (".img", ".qcow2", ".raw", ".bz2", ".gz", ".xz")
HOLD_TIMEOUT = 120
_SIGNER = []


KEY_BORN = "20200101T000000"
"""The test key's creation time: signatures dated from then on verify."""


def _gnupg():
    """A GnuPG home (removed at exit, its agent stopped) holding this test process's key,
    made with GnuPG's clock set to KEY_BORN so that it can sign files as of their
    upstream date (``sign_detached(..., at=...)``); made once."""
    if not _SIGNER:
        home = tempfile.mkdtemp(prefix="imgsync-test-gnupg-")
        atexit.register(_remove_gnupg, home)
        _gpg(home, "--faked-system-time", KEY_BORN, "--passphrase", "", "--quick-gen-key",
             "imgsync test mirror <mirror@example.invalid>", "ed25519", "sign", "never")
        secret = _gpg(home, "--export-secret-keys")
        _SIGNER.append((home, pysequoia.Tsk.from_bytes(secret)))
    return _SIGNER[0]


def _gpg(home, *args):
    return subprocess.run(["gpg", "--batch", "--quiet", *args], check=True, capture_output=True,
                          env={"GNUPGHOME": home, "PATH": os.environ.get("PATH", "/usr/bin"),
                               "LC_ALL": "C"}, timeout=60).stdout


def _remove_gnupg(home):
    subprocess.run(["gpgconf", "--homedir", home, "--kill", "gpg-agent"], check=False,
                   capture_output=True, timeout=30)
    shutil.rmtree(home, ignore_errors=True)


def signing_key():
    """This test process's OpenPGP key, standing in for upstream's."""
    return _gnupg()[1]


def signing_keys_file(directory):
    """Write the mirror key's certificate, for the drivers' ``signing_keys``; its path."""
    path = pathlib.Path(directory, "mirror-signing-key.asc")
    path.write_text(str(signing_key().extract_certificate()))
    return path


def sign_detached(path, suffix, at=None):
    """Write ``path`` + ``suffix``: a detached, armored signature of ``path``, made now or,
    with ``at`` (a datetime), as if made then (GnuPG's faked clock)."""
    target = pathlib.Path(f"{path}{suffix}")
    if at is None:
        target.write_bytes(pysequoia.sign(signing_key().signer(), pathlib.Path(path).read_bytes(),
                                          mode=pysequoia.SignatureMode.DETACHED))
        return
    target.unlink(missing_ok=True)
    _gpg(_gnupg()[0], "--faked-system-time", f"{at:%Y%m%dT%H%M%S}", "--ignore-time-conflict",
         "--armor", "--output", str(target), "--detach-sign", str(path))


def clearsigned(text, at=None):
    """``text`` clear-signed, now or as if at ``at``."""
    if at is None:
        return pysequoia.sign(signing_key().signer(), text.encode(),
                              mode=pysequoia.SignatureMode.CLEAR)
    with tempfile.TemporaryDirectory() as work:
        source = pathlib.Path(work, "text")
        source.write_text(text)
        _gpg(_gnupg()[0], "--faked-system-time", f"{at:%Y%m%dT%H%M%S}", "--ignore-time-conflict",
             "--output", str(source) + ".asc", "--clearsign", str(source))
        return pathlib.Path(str(source) + ".asc").read_bytes()


def build_time(serial):
    """Noon UTC of the YYYYMMDD a build id starts with: when upstream signed it."""
    return datetime.datetime.strptime(serial[:8], "%Y%m%d").replace(
        hour=12, tzinfo=datetime.timezone.utc)
UBUNTU = {"20.04": "focal", "22.04": "jammy", "24.04": "noble", "26.04": "resolute"}


def make_qcow2(path, seed, size=2 * 1024 * 1024):
    """Write a real qcow2 image (qemu-img) holding ``size`` bytes of seeded random data."""
    path = pathlib.Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.NamedTemporaryFile(suffix=".raw", dir=path.parent) as raw:
        generator = random.Random(seed)
        for offset in range(0, size, 1 << 20):
            raw.write(generator.randbytes(min(1 << 20, size - offset)))
        raw.flush()
        subprocess.run(["qemu-img", "convert", "-q", "-f", "raw", "-O", "qcow2", raw.name,
                        str(path)], check=True)
    return path


def sha(path, algo):
    digest = hashlib.new(algo)
    with open(path, "rb") as f:
        for block in iter(functools.partial(f.read, 1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def add_ubuntu_build(root, series, serial, stream="release", checksum=None, size=2 << 20,
                     arches=("amd64",)):
    """Publish one Ubuntu build below ``root`` as cloud-images.ubuntu.com lays it out.

    Returns the (first architecture's) image path. ``checksum`` replaces its published
    sha256 (to simulate tampering); the SHA256SUMS also lists other artefacts, as the
    real one does, among them an arm64 image that exists only when ``arches`` has it.
    """
    codename = UBUNTU[series]
    if stream == "release":
        directory = pathlib.Path(root, "releases", codename, f"release-{serial}")
        prefix, latest = f"ubuntu-{series}", "release"
    else:
        directory = pathlib.Path(root, codename, serial)
        prefix, latest = codename, "current"
    images = [make_qcow2(directory / f"{prefix}-server-cloudimg-{arch}.img",
                         seed=f"{series}/{serial}" + ("" if arch == "amd64" else f"/{arch}"),
                         size=size) for arch in arches]
    image = images[0]
    (directory / f"{prefix}-server-cloudimg-amd64.manifest").write_text("base-files 13\n")
    lines = {
        f"{prefix}-server-cloudimg-arm64.img": hashlib.sha256(image.name.encode()).hexdigest(),
        **{path.name: sha(path, "sha256") for path in images},
        f"{prefix}-server-cloudimg-amd64.manifest":
            sha(directory / f"{prefix}-server-cloudimg-amd64.manifest", "sha256"),
    }
    lines[image.name] = checksum or lines[image.name]
    by_digest = sorted(lines.items(), key=lambda item: item[1])   # upstream sorts by hash
    (directory / "SHA256SUMS").write_text("".join(f"{d} *{n}\n" for n, d in by_digest))
    sign_detached(directory / "SHA256SUMS", ".gpg", at=build_time(serial))
    newest = directory.parent / latest
    shutil.rmtree(newest, ignore_errors=True)
    shutil.copytree(directory, newest)
    return image


class _Handler(http.server.SimpleHTTPRequestHandler):
    """Serves the tree with Last-Modified and Content-Length, and records every GET.

    Faults for tests: ``server.omit_length`` sends files without a Content-Length
    (the body ends when the connection closes); ``server.truncate`` sends only the
    first half of each image file after announcing its full length; ``server.slow``
    pauses that many seconds after each 64 KiB of an image file; ``server.hold``, a
    threading.Event, holds back the answer to each image request until the test sets
    it (at most HOLD_TIMEOUT seconds).
    """

    def do_GET(self):
        self.server.requests.append(self.path)
        if self.server.auth and self.headers.get("Authorization") != self.server.auth:
            self.send_response(401)
            self.send_header("WWW-Authenticate", 'Basic realm="mirror"')
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        if self.server.hold is not None and self.path.endswith(IMAGE_SUFFIXES):
            # before any answer: imgsync starts its Glance upload only once upstream
            # answered, and a Glance that waits for data times out (uWSGI's
            # socket-timeout), which would make the test depend on timing
            self.server.hold.wait(HOLD_TIMEOUT)
        fault = next((f for suffix, f in self.server.path_faults.items()
                      if self.path.endswith(suffix)), None)
        if fault is None:
            super().do_GET()
        else:
            self._fault(fault)

    def _fault(self, fault):
        """Misbehave as ``fault`` says (see Mirror.fault)."""
        if "status" in fault:
            self.send_response(fault["status"])
            for key, value in fault.get("headers", {}).items():
                self.send_header(key, value)
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        if "redirect" in fault:
            self.send_response(302)
            self.send_header("Location", fault["redirect"])
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        path = self.translate_path(self.path)
        body = fault["body"] if "body" in fault else pathlib.Path(path).read_bytes()
        if "flip" in fault:
            body = bytearray(body)
            body[fault["flip"]] ^= 0xFF
            body = bytes(body)
        if fault.get("gzip"):
            body = gzip.compress(body)
        self.send_response(200)
        if fault.get("gzip"):
            self.send_header("Content-Encoding", "gzip")
        if not fault.get("endless"):
            self.send_header("Content-Length", str(fault.get("length", len(body))))
        self.send_header("Connection", "close")
        self.end_headers()
        deadline = time.monotonic() + HOLD_TIMEOUT
        try:
            if fault.get("endless"):
                while time.monotonic() < deadline:
                    self.wfile.write(body or b"x" * 65536)
            elif fault.get("drip"):
                for index in range(len(body)):
                    if time.monotonic() > deadline:
                        break
                    self.wfile.write(body[index:index + 1])
                    self.wfile.flush()
                    time.sleep(fault["drip"])
            elif fault.get("stall"):
                self.wfile.write(body[:len(body) // 2])
                self.wfile.flush()
                self.server.stop.wait(HOLD_TIMEOUT)
            else:
                self.wfile.write(body)
        except OSError:
            pass   # the client gave up, as it should
        self.close_connection = True

    def send_header(self, keyword, value):
        if keyword.lower() == "content-length" and self.server.omit_length:
            return
        super().send_header(keyword, value)

    def copyfile(self, source, outputfile):
        if self.server.truncate and self.path.endswith(".img"):
            outputfile.write(source.read(os.fstat(source.fileno()).st_size // 2))
            return
        if self.server.slow and self.path.endswith(".img"):
            while block := source.read(64 * 1024):
                outputfile.write(block)
                time.sleep(self.server.slow)
            return
        super().copyfile(source, outputfile)

    def log_message(self, format, *args):
        pass


class Mirror:
    """An HTTP server on 127.0.0.1 serving ``root``; ``requests`` lists the paths asked for.

    ``tls`` is ``(certificate file, key file)`` to serve https instead.
    """

    def __init__(self, root, tls=None):
        self.root = pathlib.Path(root)
        self.root.mkdir(parents=True, exist_ok=True)
        handler = functools.partial(_Handler, directory=str(self.root))
        self._server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
        if tls:
            context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            context.load_cert_chain(*tls)
            self._server.socket = context.wrap_socket(self._server.socket, server_side=True)
        self._server.daemon_threads = True
        self._server.requests = []
        self._server.omit_length = False
        self._server.truncate = False
        self._server.slow = 0
        self._server.hold = None
        self._server.path_faults = {}
        self._server.auth = None
        self._server.stop = threading.Event()
        self._thread = threading.Thread(target=self._server.serve_forever,
                                        kwargs={"poll_interval": 0.1}, daemon=True)
        self.url = f"{'https' if tls else 'http'}://127.0.0.1:{self._server.server_address[1]}/"

    @property
    def requests(self):
        return self._server.requests

    def image_requests(self):
        """Paths of image files asked for (listings and checksum files left out)."""
        return [path for path in self.requests if path.endswith(IMAGE_SUFFIXES)]

    def fault(self, suffix, **fault):
        """Misbehave for every path ending in ``suffix``: ``status`` (with ``headers``),
        ``redirect`` (a Location), or serve the file (or ``body``) with ``flip`` (invert
        the byte at that offset), ``gzip`` (Content-Encoding), ``length`` (a wrong
        Content-Length), ``endless`` (repeat it without end), ``drip`` (one byte every
        that many seconds) or ``stall`` (half of it, then nothing). Each misbehaviour
        ends by itself after HOLD_TIMEOUT seconds."""
        self._server.path_faults[suffix] = fault

    def require_auth(self, user, password):
        """Answer 401 to requests without these basic-auth credentials."""
        token = base64.b64encode(f"{user}:{password}".encode()).decode()
        self._server.auth = f"Basic {token}"

    def set_faults(self, omit_length=False, truncate=False, slow=0, hold=None):
        self._server.omit_length = omit_length
        self._server.truncate = truncate
        self._server.slow = slow
        self._server.hold = hold
        self._server.path_faults = {}

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._server.stop.set()
        if self._server.hold is not None:
            self._server.hold.set()
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)


def add_flatcar_build(root, version, build_id, compressed=True, uncompressed=False,
                      wrong_digest=False, board="amd64-usr"):
    """Publish one Flatcar version below ``root`` (a channel site) and make it current.

    The image is a real qcow2; ``compressed`` publishes ``.img.bz2`` (made with Python's
    bz2), ``uncompressed`` the plain ``.img``; each with a ``.DIGESTS`` of MD5, SHA1 and
    SHA512 blocks as Flatcar's CI writes them. Returns the uncompressed qcow2, which is
    kept outside the served tree.
    """
    directory = pathlib.Path(root, board, version)
    directory.mkdir(parents=True, exist_ok=True)
    original = make_qcow2(pathlib.Path(root).parent / "originals" / f"flatcar-{version}.img",
                          seed=f"flatcar/{version}")
    name = "flatcar_production_openstack_image.img"
    published = []
    if uncompressed:
        shutil.copy(original, directory / name)
        published.append(directory / name)
    if compressed:
        (directory / f"{name}.bz2").write_bytes(bz2.compress(original.read_bytes()))
        published.append(directory / f"{name}.bz2")
    for path in published:
        blocks = ""
        for algo in ("md5", "sha1", "sha512"):
            digest = "0" * 128 if wrong_digest and algo == "sha512" else sha(path, algo)
            blocks += f"# {algo.upper()} HASH\n{digest}  {path.name}\n"
        (directory / f"{path.name}.DIGESTS").write_text(blocks)
        (directory / f"{path.name}.DIGESTS.asc").write_bytes(clearsigned(blocks))
    (directory / "version.txt").write_text(
        f"FLATCAR_BUILD={version.split('.')[0]}\nFLATCAR_BRANCH={version.split('.')[1]}\n"
        f"FLATCAR_VERSION={version}\n"
        f'FLATCAR_VERSION_ID={version}\nFLATCAR_BUILD_ID="{build_id}"\n')
    sign_detached(directory / "version.txt", ".sig")
    current = directory.parent / "current"
    shutil.rmtree(current, ignore_errors=True)
    shutil.copytree(directory, current)
    return original


def add_fedora_release(root, number, compose, arch="x86_64"):
    """Publish one Fedora release's Cloud images as ``releases/<N>/Cloud/<arch>/images/``."""
    directory = pathlib.Path(root, "releases", number, "Cloud", arch, "images")
    image = make_qcow2(directory / f"Fedora-Cloud-Base-Generic-{number}-{compose}.{arch}.qcow2",
                       seed=f"fedora/{number}")
    other = directory / f"Fedora-Cloud-Base-UEFI-UKI-{number}-{compose}.{arch}.qcow2"
    other.write_bytes(b"not this one")
    body = "".join(f"# {p.name}: {p.stat().st_size} bytes\nSHA256 ({p.name}) = {sha(p, 'sha256')}\n"
                   for p in (other, image))
    (directory / f"Fedora-Cloud-{number}-{compose}-{arch}-CHECKSUM").write_bytes(
        clearsigned(body))
    return image


def add_leap_build(root, series, build, arch="x86_64"):
    """Publish a Leap Minimal-VM Cloud build and its alias in ``<series>/appliances/``."""
    directory = pathlib.Path(root, series, "appliances")
    if series.startswith("15."):
        alias = f"openSUSE-Leap-{series}-Minimal-VM.{arch}-Cloud.qcow2"
        name = f"openSUSE-Leap-{series}-Minimal-VM.{arch}-{series}.0-Cloud-Build{build}.qcow2"
        sep = " "
    else:
        alias = f"Leap-{series}-Minimal-VM.{arch}-Cloud.qcow2"
        name = f"Leap-{series}-Minimal-VM.{arch}-Cloud-Build{build}.qcow2"
        sep = "  "
    image = make_qcow2(directory / name, seed=f"leap/{series}/{build}")
    shutil.copy(image, directory / alias)
    for path in (image, directory / alias):
        (directory / f"{path.name}.sha256").write_text(f"{sha(path, 'sha256')}{sep}{path.name}\n")
        sign_detached(directory / f"{path.name}.sha256", ".asc")
    return image


def add_cirros_version(root, version, released=True, arch="x86_64"):
    """Publish ``<version>/`` with MD5SUMS and SHA256SUMS, and point ``version/released`` at it."""
    directory = pathlib.Path(root, version)
    image = make_qcow2(directory / f"cirros-{version}-{arch}-disk.img", seed=f"cirros/{version}",
                       size=1 << 20)
    kernel = directory / f"cirros-{version}-{arch}-kernel"
    kernel.write_bytes(b"kernel")
    for name, algo in (("MD5SUMS", "md5"), ("SHA256SUMS", "sha256")):
        (directory / name).write_text("".join(f"{sha(p, algo)}  {p.name}\n"
                                              for p in (kernel, image)))
    if released:
        pathlib.Path(root, "version").mkdir(parents=True, exist_ok=True)
        pathlib.Path(root, "version", "released").write_text(version + "\n")
    return image


def add_vendor_build(root, version):
    """A vendor site for the generic driver: flat directory, dated names, BSD SHA256SUMS."""
    directory = pathlib.Path(root)
    image = make_qcow2(directory / f"vendor-os-9-{version}-x86_64.qcow2", seed=f"vendor/{version}")
    sums = sorted(p for p in directory.glob("vendor-os-9-*.qcow2"))
    (directory / "SHA256SUMS").write_text(
        "".join(f"SHA256 ({p.name}) = {sha(p, 'sha256')}\n" for p in sums)
        + f"SHA256 (README) = {'f' * 64}\n")
    return image


def _bsd_sums(paths):
    """Rocky/CentOS style: ``# name: N bytes`` then ``SHA256 (name) = hash`` per file."""
    return "".join(f"# {p.name}: {p.stat().st_size} bytes\n"
                   f"SHA256 ({p.name}) = {sha(p, 'sha256')}\n" for p in paths)


def add_debian_build(root, codename, number, build, daily=False, arch="amd64"):
    """Publish a Debian build ``<codename>/[daily/]YYYYMMDD-NNNN/`` and copy it to ``latest/``.

    Beside the genericcloud qcow2 are other flavours and formats, all in a
    SHA512SUMS of ``hash  name`` lines, as cloud.debian.org has them.
    """
    directory = pathlib.Path(root, codename, "daily" if daily else "", build)
    suffix = "-daily" if daily else ""
    image = make_qcow2(directory / f"debian-{number}-genericcloud-{arch}{suffix}-{build}.qcow2",
                       seed=f"debian/{number}/{build}")
    for flavour, ext in (("genericcloud", "json"), ("nocloud", "qcow2"), ("generic", "raw")):
        (directory / f"debian-{number}-{flavour}-{arch}{suffix}-{build}.{ext}").write_text(
            f"{flavour} {build}\n")
    (directory / "SHA512SUMS").write_text("".join(
        f"{sha(p, 'sha512')}  {p.name}\n" for p in sorted(directory.iterdir())))
    latest = directory.parent / "latest"
    shutil.rmtree(latest, ignore_errors=True)
    shutil.copytree(directory, latest)
    return image


def add_almalinux_build(root, major, build, arch="x86_64"):
    """Publish ``AlmaLinux-<major>-GenericCloud-<build>.<arch>.qcow2`` and point -latest at it.

    ``build`` is ``9.8-20260526`` or ``10.2-20260526.0``; the ext4 and OpenNebula
    variants sit beside it, and CHECKSUM (``hash  name``) lists every file.
    """
    directory = pathlib.Path(root, major, "cloud", arch, "images")
    image = make_qcow2(directory / f"AlmaLinux-{major}-GenericCloud-{build}.{arch}.qcow2",
                       seed=f"almalinux/{build}")
    shutil.copy(image, directory / f"AlmaLinux-{major}-GenericCloud-latest.{arch}.qcow2")
    for variant in ("GenericCloud-ext4", "OpenNebula"):
        for tag in (build, "latest"):
            (directory / f"AlmaLinux-{major}-{variant}-{tag}.{arch}.qcow2").write_text(variant)
    images = sorted(p for p in directory.iterdir() if p.suffix == ".qcow2")
    (directory / "CHECKSUM").write_text("".join(f"{sha(p, 'sha256')}  {p.name}\n"
                                                for p in images))
    sign_detached(directory / "CHECKSUM", ".asc")
    return image


def add_rocky_build(root, major, build, arch="x86_64"):
    """Publish ``Rocky-<major>-GenericCloud-Base-<build>.<arch>.qcow2`` and its aliases.

    ``build`` is ``9.7-20251123.2``. Each file has a per-image ``.CHECKSUM`` (BSD
    style with a size comment) and the directory a combined CHECKSUM. Rocky 10 has no
    ``GenericCloud.latest`` alias, only ``GenericCloud-Base.latest``.
    """
    directory = pathlib.Path(root, major, "images", arch)
    image = make_qcow2(directory / f"Rocky-{major}-GenericCloud-Base-{build}.{arch}.qcow2",
                       seed=f"rocky/{build}")
    aliases = [f"Rocky-{major}-GenericCloud-Base.latest.{arch}.qcow2"]
    if major != "10":
        aliases.append(f"Rocky-{major}-GenericCloud.latest.{arch}.qcow2")
    for alias in aliases:
        shutil.copy(image, directory / alias)
    (directory / f"Rocky-{major}-GenericCloud-LVM-{build}.{arch}.qcow2").write_text("lvm")
    images = sorted(p for p in directory.iterdir() if p.suffix == ".qcow2")
    for path in images:
        pathlib.Path(f"{path}.CHECKSUM").write_text(_bsd_sums([path]))
    (directory / "CHECKSUM").write_text(_bsd_sums(images))
    if major != "9":   # Rocky signs the checksums of 8 and 10 only
        sign_detached(directory / "CHECKSUM", ".sig")
    return image


def add_centos_compose(root, major, compose, arch="x86_64"):
    """Publish compose ``YYYYMMDD.n`` in the flat ``<major>-stream/<arch>/images/`` directory.

    Beside the GenericCloud qcow2 are the UEFI ``GenericCloud-<arch>-`` image, a
    container tarball and the ``-latest`` aliases; CHECKSUM lists them all.
    """
    directory = pathlib.Path(root, f"{major}-stream", arch, "images")
    image = make_qcow2(directory / f"CentOS-Stream-GenericCloud-{major}-{compose}.{arch}.qcow2",
                       seed=f"centos/{major}/{compose}")
    shutil.copy(image, directory / f"CentOS-Stream-GenericCloud-{major}-latest.{arch}.qcow2")
    for name in (f"CentOS-Stream-GenericCloud-{arch}-{major}-{compose}.{arch}.qcow2",
                 f"CentOS-Stream-Container-Base-{major}-{compose}.{arch}.tar.xz"):
        (directory / name).write_text(name)
    (directory / "CHECKSUM").write_text(_bsd_sums(sorted(
        p for p in directory.iterdir() if p.name != "CHECKSUM")))
    return image


def private_ca(directory):
    """A private CA and a certificate it signed for 127.0.0.1: (CA file, (cert, key))."""
    directory = pathlib.Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    ca_key, ca, key, csr, cert = (directory / name for name in (
        "ca.key", "ca.pem", "server.key", "server.csr", "server.pem"))
    quiet = {"check": True, "capture_output": True}
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
                    "-subj", "/CN=imgsync test CA", "-keyout", ca_key, "-out", ca], **quiet)
    subprocess.run(["openssl", "req", "-newkey", "rsa:2048", "-nodes", "-subj", "/CN=127.0.0.1",
                    "-keyout", key, "-out", csr], **quiet)
    extensions = directory / "san.cnf"
    extensions.write_text("subjectAltName = IP:127.0.0.1\n")
    subprocess.run(["openssl", "x509", "-req", "-in", csr, "-CA", ca, "-CAkey", ca_key,
                    "-CAcreateserial", "-days", "2", "-extfile", extensions, "-out", cert],
                   **quiet)
    return ca, (cert, key)
