"""The deliberate breaks of the safety code that the unit tests must each notice.

Applies one break at a time to the source tree, runs the unit tests (tests/unit) and
restores the file; prints KILLED or SURVIVED per break and exits 1 if any survived. A
run in which pytest itself fails (a collection or usage error: say, a Python without
imgsync's dependencies) is an ERROR, not a kill, and also exits 1.
Run from the repository root: python tools/safety_breaks.py [part of a break's name]
"""

import pathlib
import subprocess
import sys

TIMEOUT = 300
HOLD = ("if held is not None:\n{0}    yield held\n{0}held = chunk", "yield chunk")
MUTANTS = [
    ("held-back last chunk dropped", "imgsync/pipeline/stream.py",
     HOLD[0].format(" " * 12), HOLD[1]),
    ("held-back last chunk dropped (inspection)", "imgsync/pipeline/inspection.py",
     HOLD[0].format(" " * 16), HOLD[1]),
    ("format check disabled", "imgsync/pipeline/inspection.py",
     "detected = wrapper.format\n", "return\n"),
    ("post-upload check skipped", "imgsync/glance/upload.py",
     "record = proof.stored(image, sent, imported=imported)", "record = {}"),
    ("always publish public", "imgsync/glance/client.py",
     '"path": "/visibility", "value": visibility},\n            {"op": "replace", '
     '"path": "/os_hidden"',
     '"path": "/visibility", "value": "public"},\n            {"op": "replace", '
     '"path": "/os_hidden"'),
    ("web-download comparison disabled", "imgsync/glance/upload.py",
     "record = proof.web_download(image, release, self.settings.web_download_unverified)",
     "record = {}"),
    ("grace period ignored", "imgsync/engine/plan.py",
     "if (now - started).total_seconds() < policy.pending_grace_period:", "if False:"),
    ("only non-hidden images listed", "imgsync/glance/client.py",
     'return self._listing("false", filters) + hidden()',
     'return self._listing("false", filters)'),
    ("encoded answers accepted", "imgsync/upstream/http.py",
     'if encoding != "identity":', "if False:"),
    ("another project's images trusted by the planner", "imgsync/engine/plan.py",
     'own = [image for image in images if image.get("owner") == owner]', "own = list(images)"),
    ("actions run although what they need failed", "imgsync/engine/executor.py",
     "elif missing:", "elif False:"),
    ("images in use expired", "imgsync/engine/plan.py",
     "if action.kind in record.EXPIRES and action.image_id in in_use:", "if False:"),
    ("a target's branch not ended by the body's error", "imgsync/pipeline/tee.py",
     "                self._put(branch, exc)\n", "                pass\n"),
    ("the end of a body drops queued data", "imgsync/pipeline/tee.py",
     "            self._put(branch, _END)", "            branch._end(_END)"),
    ("a failing target not cleaned", "imgsync/glance/upload.py",
     "        self.abort()\n        raise failure", "        raise failure"),
    ("always exit 0", "imgsync/commands.py",
     "return EXIT_FAILED if any(r.action == executor.FAILED for r in results) else EXIT_OK",
     "return EXIT_OK"),
    ("signatures older than the build date accepted", "imgsync/upstream/trust.py",
     "and release.signed_at < start - CLOCK_SKEW):", "and False):"),
    ("builds dated in the future accepted", "imgsync/upstream/trust.py",
     "if start > now + CLOCK_SKEW:", "if False:"),
    ("an old build's bytes accepted under a new name", "imgsync/upstream/trust.py",
     'if (image.get(f"imgsync.{release.checksum_algo}") == release.checksum',
     'if False and (image.get(f"imgsync.{release.checksum_algo}") == release.checksum'),
    ("unsigned builds accepted once the instance is signed", "imgsync/upstream/trust.py",
     "if release.signed_by is None and signed is not None and not allow_unsigned:",
     "if False:"),
    ("the planner skips the trust checks", "imgsync/engine/plan.py",
     "    trust.consistent(releases, [image for image in own if record.is_finished(image)],\n"
     "                     policy.allow_unsigned)\n", ""),
    ("an openSUSE .sha256 naming another file accepted", "imgsync/upstream/drivers/opensuse.py",
     "    return helpers.lookup(sums, filename, url)",
     "    return next(iter(sums.values())) if len(sums) == 1 else helpers.lookup(sums, "
     "filename, url)"),
    ("another Flatcar channel's signed version accepted", "imgsync/upstream/drivers/flatcar.py",
     "if branch != self.branch:", "if False:"),
    ("a Flatcar version directory holding another version accepted",
     "imgsync/upstream/drivers/flatcar.py", "if expected is not None and version != expected:",
     "if False:"),
    ("another project's record under the id taken up", "imgsync/glance/upload.py",
     'return (image.get("owner") == self.glance.project_id()', "return (True"),
    # credentials masked at the source, versions sanitised
    ("exception messages not masked", "imgsync/exceptions.py",
     "super().__init__(redact.text(message))", "super().__init__(message)"),
    ("passwords holding / ? # left in free text", "imgsync/redact.py",
     "return last_at   # user:pass/word@host: the password holds / ? or #", "return -1"),
    ("configured URL echoed unmasked", "imgsync/conf.py",
     'f"{redact.config_url(value)!r}") from None', 'f"{value!r}") from None'),
    ("metrics file read through a symlink", "imgsync/ops/metrics.py",
     "os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK", "os.O_RDONLY | os.O_NONBLOCK"),
    ("metrics file size cap ignored", "imgsync/ops/metrics.py",
     "if len(data) > MAX_PREVIOUS:", "if False:"),
    ("every traceback folded into the message", "imgsync/redact.py",
     "if masked != folded:", "if True:"),
    ("versions not checked", "imgsync/upstream/drivers/base.py",
     "if not self.VERSION.fullmatch(version):", "if False:"),
    ("generic version used before it is checked", "imgsync/upstream/drivers/generic.py",
     "self.check_version(version, directory + name)   # before it is in a URL", "pass"),
    ("control characters kept in listings", "imgsync/upstream/listing.py",
     "    if _CONTROL.search(path):\n        return None\n", ""),
    # one target down is one target failed
    ("a target down stops the run", "imgsync/targets.py",
     "                if not several:\n                    raise\n", "                raise\n"),
    ("a target down reported by no instance", "imgsync/engine/sync.py",
     "                if target.error:\n                    results.append(",
     "                if target.error:\n                    continue\n"
     "                    results.append("),
    ("a target down leaves the exit status alone", "imgsync/commands.py",
     "    if len(up) < len(targets):", "    if False:"),
    ("the catalog from a target that is down", "imgsync/commands.py",
     "first = up[0].glance if up else None", "first = targets[0].glance"),
    ("Keystone not checked first", "imgsync/glance/client.py",
     "        connection.authorize()\n", "        pass\n"),
    ("a region without Glance not told", "imgsync/glance/client.py",
     "        if not url:\n", "        if False:\n"),
    # locks that cannot be turned against the host
    ("lock files followed through links", "imgsync/ops/locking.py",
     "os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW | os.O_CLOEXEC, 0o600",
     "os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600"),
    ("lock files readable by others", "imgsync/ops/locking.py",
     "os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW | os.O_CLOEXEC, 0o600",
     "os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW | os.O_CLOEXEC, 0o644"),
    ("lock directory made with the umask's mode", "imgsync/ops/locking.py",
     "os.makedirs(directory, mode=0o700, exist_ok=True)", "os.makedirs(directory, exist_ok=True)"),
    ("a lock directory of any owner accepted", "imgsync/ops/locking.py",
     "elif info.st_uid != os.geteuid():", "elif False:"),
    ("a group-writable lock directory accepted", "imgsync/ops/locking.py",
     "elif mode & (stat.S_IWGRP | stat.S_IWOTH):", "elif mode & stat.S_IWOTH:"),
    ("a linked lock directory followed", "imgsync/ops/locking.py",
     "info = os.lstat(directory.rstrip(os.sep) or os.sep)", "info = os.stat(directory)"),
    ("a record-less lock judged without a second look", "imgsync/ops/locking.py",
     "            time.sleep(self.poll_interval)\n            record = _record(handle)\n", ""),
    ("a record-less lock never stale", "imgsync/ops/locking.py",
     "since = record[2] if record else os.fstat(handle.fileno()).st_mtime",
     "since = record[2] if record else time.time()"),
    ("tooz: the run's own member counted as a holder", "imgsync/ops/tooz_locks.py",
     "for member in set(members) - {self.member_id}:", "for member in members:"),
    ("tooz: no record before acquiring", "imgsync/ops/tooz_locks.py",
     "        self._record(name)   # before trying", "        pass   # before trying"),
    ("tooz: no second try before calling a lock stale", "imgsync/ops/tooz_locks.py",
     "            if self._acquire(lock, name, 0):\n                return True\n", ""),
    ("tooz: a withdrawn intent left on record", "imgsync/ops/tooz_locks.py",
     "            if not held:\n                self._forget(name)\n", ""),
    ("tooz: the record dropped before the release", "imgsync/ops/tooz_locks.py",
     "        finally:\n            try:\n                lock.release()",
     "        finally:\n            self._forget(name)\n            try:\n"
     "                lock.release()"),
    # web-download inspected before it is published
    ("web-download head not inspected", "imgsync/glance/upload.py",
     "record = {**record, **self._inspect_head(image)}",
     'record = {**record, "imgsync.inspected": "header"}'),
    ("head inspected by the expected format's inspector only", "imgsync/pipeline/inspection.py",
     'if name == "raw":\n            continue',
     'if name != expected_format:\n            continue'),
    ("a head that leaves a format undecided accepted", "imgsync/pipeline/inspection.py",
     "    if undecided:\n", "    if False:\n"),
    ("a head matching several formats accepted", "imgsync/pipeline/inspection.py",
     "    if len(found) > 1:\n", "    if False:\n"),
    ("the head's format and safety not required", "imgsync/pipeline/inspection.py",
     "    _require(found[0] if found else format_inspector.RawFileInspector(), expected_format,"
     "\n             where)", "    return"),
    ("head read past its length", "imgsync/glance/client.py",
     "if len(head) == length:\n                    break",
     "if len(head) == length:\n                    continue"),
    ("head asked without a Range", "imgsync/glance/client.py",
     'headers={"Range": f"bytes=0-{length - 1}"}', "headers={}"),
    ("a range not starting at 0 accepted", "imgsync/glance/client.py",
     "if response.status_code == 206 and not response.headers.get(",
     "if False and not response.headers.get("),
    ("a short head accepted", "imgsync/glance/upload.py", "if len(head) != wanted:", "if False:"),
    ("uninspectable formats web-downloaded", "imgsync/glance/upload.py",
     "if release.disk_format in inspection.NOT_FROM_HEADER:", "if False:"),
    ("head inspected as the release's format, not Glance's", "imgsync/glance/upload.py",
     "inspection.check_header(head, wanted == size, stored_format,",
     "inspection.check_header(head, wanted == size, release.disk_format,"),
    # bounded work on hostile documents
    ("a GNU line's mode mark kept in the name", "imgsync/upstream/checksums.py",
     "name = name[1:]   # the mode mark", "name = name   # the mode mark"),
    ("a BSD line cut at its first parenthesis", "imgsync/upstream/checksums.py",
     'head, paren, tail = rest.rpartition(")")', 'head, paren, tail = rest.partition(")")'),
    ("a listing's tag read across a '<'", "imgsync/upstream/listing.py",
     '''_TAG = re.compile(r"""([A-Za-z][^\\s/<>"']*)"""''',
     '''_TAG = re.compile(r"""([A-Za-z][^\\s/>"']*)"""'''),
    ("a listing's comments read as links", "imgsync/upstream/listing.py",
     'if text.startswith("!--", pos):', "if False:"),
    ("a whole Glance error page run through the regexes", "imgsync/glance/client.py",
     "body[:4096]", "body"),
    ("documents fetched without the deadline's watch", "imgsync/upstream/http.py",
     "self.session.mount(scheme, _Adapter(max_retries=policy))",
     "self.session.mount(scheme, adapters.HTTPAdapter(max_retries=policy))"),
    ("a body cut by the deadline taken as whole", "imgsync/upstream/http.py",
     "    if deadline.expired:\n        raise deadline.error\n", ""),
    ("prefetch threads that hold the exit", "imgsync/engine/sync.py", "daemon=True,",
     "daemon=False,"),
    ("a lone instance's release check unbounded", "imgsync/engine/sync.py",
     "    deadline = time.monotonic() + timeout\n",
     "    if len(drivers) < 2:\n        return {}\n    deadline = time.monotonic() + timeout\n"),
    ("a deactivated image in the Glance catalog", "imgsync/ops/catalog.py",
     "if record.is_usable(image) and record.VERSION in image:",
     "if record.is_finished(image) and record.VERSION in image:"),
    ("a record still marked reserved taken for a published image", "imgsync/model/record.py",
     'return image.get("status") in ("active", "deactivated") and STATE not in image',
     'return image.get("status") in ("active", "deactivated") and not is_pending(image)'),
    ("deactivate applied as another Glance call", "imgsync/engine/executor.py",
     "glance.deactivate(image_id)", "glance.hide(image_id)"),
    ("a renamed file not made durable", "imgsync/ops/atomic.py",
     "    _sync_directory(directory)\n", ""),
    ("an atomic write's temporary file left behind", "imgsync/ops/atomic.py",
     "            os.unlink(temp)", "            pass"),
    ("an atomic write's file not synced", "imgsync/ops/atomic.py",
     "            os.fsync(file.fileno())", "            pass"),
    ("a body of unknown size given a length", "imgsync/pipeline/stream.py",
     'raise TypeError("length unknown")', "return 0"),
    ("a body read twice", "imgsync/pipeline/stream.py",
     "        if self._started:\n", "        if False:\n"),
    ("a clear-signed file's trailing data accepted", "imgsync/upstream/signatures.py",
     "if start < 0 or end < len(END_SIGNATURE) or document[end:].strip():",
     "if start < 0 or end < len(END_SIGNATURE):"),
    ("the newest of a key's signatures taken as the time", "imgsync/upstream/signatures.py",
     "        return min(times)", "        return max(times)"),
    ("a reservation's id drawn anew", "imgsync/engine/sync.py",
     "None) or next(reserved, None) or str(uuid.uuid4())", "None) or str(uuid.uuid4())"),
    ("a mirrored object judged by its name alone", "imgsync/mirror/layout.py",
     "return (obj.get(\"object\") == key(release)\n            and ", "return (obj.get(\"object\") == key(release)\n            or "),
    ("an object imgsync did not write taken as its own", "imgsync/mirror/layout.py",
     "if props.get(\"source\") != record.SOURCE or not", "if not"),
    ("a build upstream still lists deleted from the mirror", "imgsync/engine/mirror_plan.py",
     "not in kept and obj[\"object\"] not in wanted:", "not in kept:"),
    ("the mirror's rotation before its upload", "imgsync/engine/mirror_plan.py",
     "depends_on=tuple(uploads.get(arch, ()))", "depends_on=()"),
    ("a replayed build mirrored", "imgsync/engine/mirror_plan.py",
     "    trust.consistent(releases, objects, allow_unsigned)\n", ""),
    ("an unfinished object left behind", "imgsync/mirror/upload.py",
     "        except BaseException:\n            self.abort()\n", "        except BaseException:\n"),
    ("a compressed build's digest claimed for its bytes", "imgsync/mirror/upload.py",
     "return {} if release.compression else", "return"),
    ("--version imports oslo.config", "imgsync/cli.py",
     '    if args[:1] == ["--version"]:', "    if False:"),
    ("--help loads keystoneauth1", "imgsync/cli.py", "    log.register_options(conf)\n",
     "    log.register_options(conf)\n    from imgsync import config_check  # noqa: F401\n"),
    ("every command loads openstacksdk", "imgsync/cli.py", "from imgsync import redact\n",
     "from imgsync import redact\nfrom imgsync import commands  # noqa: F401\n"),
]
survived = errors = 0
only = sys.argv[1] if len(sys.argv) > 1 else ""
"""Run only the breaks whose name contains this (all by default)."""
for name, path, old, new in (m for m in MUTANTS if only in m[0]):
    p = pathlib.Path(path)
    text = p.read_text()
    assert old in text, (name, old)
    p.write_text(text.replace(old, new, 1))
    try:
        try:
            run = subprocess.run([sys.executable, "-m", "pytest", "-q", "-x", "-p",
                                  "no:cacheprovider", "tests/unit"], capture_output=True,
                                 text=True, timeout=TIMEOUT)
            last = (run.stdout.strip().splitlines() or [run.stderr.strip()[-200:]])[-1]
            if run.returncode not in (0, 1):   # pytest's own error: nothing was tested
                print(f"ERROR: {name}: pytest exited {run.returncode}: {last}")
                errors += 1
                continue
            print(f"{'KILLED' if run.returncode else 'SURVIVED'}: {name}: {last}")
            survived += run.returncode == 0
        except subprocess.TimeoutExpired:   # a break that makes the tests hang is noticed
            print(f"KILLED: {name}: the unit tests did not end within {TIMEOUT} s")
    finally:
        p.write_text(text)
if errors:
    print(f"{errors} breaks could not be judged: the tests did not run (exit 2 from pytest "
          "means a usage or collection error, e.g. a Python without imgsync's dependencies)")
sys.exit(1 if survived or errors else 0)
