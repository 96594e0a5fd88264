"""Benchmark the streaming pipeline: throughput and peak memory across image sizes.

Runs imgsync's own download -> verify -> (decompress) -> inspect -> upload path between two
loopback HTTP servers (a mirror, and a sink that reads and discards the upload as
Glance would receive it), each size in a fresh process so that its peak RSS is its
own. Prints MiB/s, the ratio to hashing the same bytes in memory (the floor the
pipeline cannot beat), and peak RSS, which must not grow with the image size.

    python benchmarks/bench_pipeline.py [--sizes 256,1024] [--bz2-size 64]
"""

import argparse
import bz2
import hashlib
import http.server
import os
import pathlib
import resource
import subprocess
import sys
import tempfile
import threading
import time

import requests

ROOT = pathlib.Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from imgsync.pipeline import compression  # noqa: E402
from imgsync.pipeline import inspection  # noqa: E402
from imgsync.pipeline import stream  # noqa: E402
from imgsync.upstream import http as upstream  # noqa: E402
from tests.functional import mirror  # noqa: E402

MIB = 1 << 20


class _Sink(http.server.BaseHTTPRequestHandler):
    """Reads a PUT body (Content-Length or chunked) and discards it."""

    protocol_version = "HTTP/1.1"

    def do_PUT(self):
        received = 0
        if "Content-Length" in self.headers:
            left = int(self.headers["Content-Length"])
            while left:
                block = self.rfile.read(min(left, MIB))
                left -= len(block)
                received += len(block)
        else:
            while True:
                size = int(self.rfile.readline().split(b";")[0], 16)
                received += len(self.rfile.read(size)) if size else 0
                self.rfile.readline()
                if not size:
                    break
        self.send_response(204)
        self.send_header("X-Received", str(received))
        self.end_headers()

    def log_message(self, *args):
        pass


def make_source(directory, size_mib, compress):
    """A file of pseudo-random blocks (incompressible enough), optionally bz2-compressed."""
    block = os.urandom(MIB)
    path = pathlib.Path(directory, f"image-{size_mib}.img")
    with open(path, "wb") as f:
        for i in range(size_mib):
            f.write(hashlib.sha256(i.to_bytes(8, "big")).digest() + block[32:])
    if compress:
        packed = path.with_suffix(".img.bz2")
        with open(path, "rb") as src, bz2.open(packed, "wb", compresslevel=1) as dst:
            while chunk := src.read(MIB):
                dst.write(chunk)
        path.unlink()
        path = packed
    return path


def run_one(directory, name, compress):
    """Child process: stream one file through the pipeline; print seconds, bytes, maxrss."""
    source = pathlib.Path(directory, name)
    sink = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Sink)
    threading.Thread(target=sink.serve_forever, daemon=True).start()
    checksum = mirror.sha(source, "sha256")
    with mirror.Mirror(directory) as server:
        fetch = upstream.Upstream(timeout=60, retries=0)
        start = time.perf_counter()
        with fetch.open(server.url + name) as (chunks, length):
            body = stream.VerifyingStream(chunks, name, "sha256", checksum, length,
                                          also=() if compress else ("sha512",))
            if compress:
                body = compression.Decompressing(body, "bz2", name, 1 << 40)
            body = inspection.InspectingStream(body, name, "raw")
            answer = requests.put(f"http://127.0.0.1:{sink.server_address[1]}/", data=body,
                                  timeout=60)
        elapsed = time.perf_counter() - start
    sink.shutdown()
    assert int(answer.headers["X-Received"]) == body.bytes_read
    print(elapsed, body.bytes_read, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)


def hashing_floor(path, compress):
    """Seconds to hash (and decompress) the same bytes from a file, with no HTTP."""
    start = time.perf_counter()
    hashes = [hashlib.sha256()] + ([] if compress else [hashlib.sha512()])
    opener = bz2.open if compress else open
    with opener(path, "rb") as f:
        while chunk := f.read(MIB):
            for h in hashes:
                h.update(chunk)
    return time.perf_counter() - start


def measure(directory, size_mib, compress):
    path = make_source(directory, size_mib, compress)
    output = subprocess.run(
        [sys.executable, __file__, "--child", str(directory), path.name,
         "bz2" if compress else "none"],
        capture_output=True, text=True, check=True).stdout.split()
    seconds, sent, maxrss_kib = float(output[0]), int(output[1]), int(output[2])
    floor = hashing_floor(path, compress)
    path.unlink()
    kind = "bz2 " if compress else "raw "
    print(f"{kind}{size_mib:>6} MiB  {sent / MIB / seconds:8.1f} MiB/s  "
          f"pipeline/hash-only time {seconds / floor:5.2f}  peak RSS {maxrss_kib / 1024:6.1f} MiB",
          flush=True)
    return maxrss_kib


def main():
    if len(sys.argv) > 1 and sys.argv[1] == "--child":
        run_one(sys.argv[2], sys.argv[3], sys.argv[4] == "bz2")
        return
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="256,1024", help="image sizes in MiB")
    parser.add_argument("--bz2-size", type=int, default=128, help="bz2 image size in MiB")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as directory:
        rss = [measure(directory, int(size), False) for size in args.sizes.split(",")]
        measure(directory, args.bz2_size, True)
    print(f"peak RSS growth from smallest to largest image: {rss[-1] / rss[0]:.2f}x")


if __name__ == "__main__":
    main()
