"""Run imgsync with each HTTP call and a few of its steps timed: ``python trace_calls.py
ARGS`` is ``python -m imgsync ARGS`` that also writes, on stderr, one ``TRACE`` line per
call: its start and end (seconds since this process started), the thread, and what it
was. bench_overhead.py reads them."""

import functools
import importlib
import runpy
import sys
import threading
import time

ZERO = time.perf_counter()
STEPS = (   # module, qualified name: the imgsync steps timed besides the HTTP calls
    ("imgsync.commands", "sync_command"),
    ("imgsync.targets", "targets"),
    ("imgsync.glance.client", "image_proxy"),
    ("imgsync.glance.client", "Glance.synced_images"),
    ("imgsync.glance.client", "Glance.wait_active"),
    ("imgsync.glance.client", "Glance.publish"),
    ("imgsync.glance.client", "Glance.project_id"),
    ("imgsync.glance.permissions", "check"),
    ("imgsync.engine.sync", "_Fetch.run"),
    ("imgsync.engine.sync", "_Fetch.__call__"),
    ("imgsync.engine.sync", "Syncer.plan"),
    ("imgsync.engine.fanout", "upload"),
    ("imgsync.ops.report", "show"),
)


def trace(what, start, end):
    sys.stderr.write(f"TRACE {start - ZERO:.4f} {end - ZERO:.4f} "
                     f"{threading.current_thread().name} {what}\n")


def timed(func, name):
    @functools.wraps(func)
    def wrapper(*args, **kwargs):
        start = time.perf_counter()
        try:
            return func(*args, **kwargs)
        finally:
            trace(name, start, time.perf_counter())
    return wrapper


def patch_http():
    from keystoneauth1 import session  # noqa: PLC0415
    request = session.Session.request

    @functools.wraps(request)
    def wrapper(self, url, method, *args, **kwargs):
        start = time.perf_counter()
        status = "-"
        try:
            response = request(self, url, method, *args, **kwargs)
            status = response.status_code
            return response
        finally:
            trace(f"HTTP {method} {url} {status}", start, time.perf_counter())
    session.Session.request = wrapper


def patch_steps():
    for module_name, qualname in STEPS:
        module = importlib.import_module(module_name)
        owner, _, name = qualname.rpartition(".")
        holder = getattr(module, owner, None) if owner else module
        if hasattr(holder, name):   # another version of imgsync may lack it
            setattr(holder, name, timed(getattr(holder, name), qualname))


def main():
    start = time.perf_counter()
    patch_http()
    patch_steps()
    trace("imports of the traced modules", start, time.perf_counter())
    sys.argv = ["imgsync", *sys.argv[1:]]
    try:
        runpy.run_module("imgsync", run_name="__main__", alter_sys=True)
    finally:
        trace("end", time.perf_counter(), time.perf_counter())


if __name__ == "__main__":
    main()
