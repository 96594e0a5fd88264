"""A local upstream mirror for tests and the demo: real qcow2 files behind a real HTTP server."""

import functools
import hashlib
import http.server
import os
import pathlib
import random
import shutil
import subprocess
import tempfile
import threading

UBUNTU = {"20.04": "focal", "22.04": "jammy", "24.04": "noble", "26.04": "resolute"}


def make_qcow2(path, seed, size=2 * 1024 * 1024):
    """Write a real qcow2 image (qemu-img) holding ``size`` bytes of seeded random data."""
    path = pathlib.Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.NamedTemporaryFile(suffix=".raw", dir=path.parent) as raw:
        raw.write(random.Random(seed).randbytes(size))
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


def add_ubuntu_build(root, series, serial, stream="release", checksum=None, size=2 << 20):
    """Publish one Ubuntu build below ``root`` as cloud-images.ubuntu.com lays it out.

    Returns the image path. ``checksum`` replaces the published sha256 (to simulate
    tampering); the SHA256SUMS also lists other artefacts, as the real one does.
    """
    codename = UBUNTU[series]
    if stream == "release":
        directory = pathlib.Path(root, "releases", codename, f"release-{serial}")
        prefix, latest = f"ubuntu-{series}", "release"
    else:
        directory = pathlib.Path(root, codename, serial)
        prefix, latest = codename, "current"
    image = make_qcow2(directory / f"{prefix}-server-cloudimg-amd64.img",
                       seed=f"{series}/{serial}", size=size)
    (directory / f"{prefix}-server-cloudimg-amd64.manifest").write_text("base-files 13\n")
    lines = {
        image.name: checksum or sha(image, "sha256"),
        f"{prefix}-server-cloudimg-arm64.img": hashlib.sha256(image.name.encode()).hexdigest(),
        f"{prefix}-server-cloudimg-amd64.manifest":
            sha(directory / f"{prefix}-server-cloudimg-amd64.manifest", "sha256"),
    }
    by_digest = sorted(lines.items(), key=lambda item: item[1])   # upstream sorts by hash
    (directory / "SHA256SUMS").write_text("".join(f"{d} *{n}\n" for n, d in by_digest))
    newest = directory.parent / latest
    shutil.rmtree(newest, ignore_errors=True)
    shutil.copytree(directory, newest)
    return image


class _Handler(http.server.SimpleHTTPRequestHandler):
    """Serves the tree with Last-Modified and Content-Length, and records every GET.

    Faults for tests: ``server.omit_length`` sends files without a Content-Length
    (the body ends when the connection closes); ``server.truncate`` sends only the
    first half of each image file after announcing its full length.
    """

    def do_GET(self):
        self.server.requests.append(self.path)
        super().do_GET()

    def send_header(self, keyword, value):
        if keyword.lower() == "content-length" and self.server.omit_length:
            return
        super().send_header(keyword, value)

    def copyfile(self, source, outputfile):
        if self.server.truncate and self.path.endswith(".img"):
            outputfile.write(source.read(os.fstat(source.fileno()).st_size // 2))
            return
        super().copyfile(source, outputfile)

    def log_message(self, format, *args):
        pass


class Mirror:
    """An HTTP server on 127.0.0.1 serving ``root``; ``requests`` lists the paths asked for."""

    def __init__(self, root):
        self.root = pathlib.Path(root)
        self.root.mkdir(parents=True, exist_ok=True)
        handler = functools.partial(_Handler, directory=str(self.root))
        self._server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self._server.daemon_threads = True
        self._server.requests = []
        self._server.omit_length = False
        self._server.truncate = False
        self._thread = threading.Thread(target=self._server.serve_forever,
                                        kwargs={"poll_interval": 0.1}, daemon=True)
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}/"

    @property
    def requests(self):
        return self._server.requests

    def set_faults(self, omit_length=False, truncate=False):
        self._server.omit_length = omit_length
        self._server.truncate = truncate

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)
