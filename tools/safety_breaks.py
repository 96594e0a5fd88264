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
    ("held-back last chunk dropped", "imgsync/stream.py",
     HOLD[0].format(" " * 12), HOLD[1]),
    ("held-back last chunk dropped (inspection)", "imgsync/inspection.py",
     HOLD[0].format(" " * 16), HOLD[1]),
    ("format check disabled", "imgsync/inspection.py",
     "detected = wrapper.format\n", "return\n"),
    ("post-upload check skipped", "imgsync/upload.py",
     'record = proof.stored(image, sent, imported=method == "glance-direct")',
     "record = {}"),
    ("always publish public", "imgsync/glance.py",
     '"path": "/visibility", "value": visibility},\n            {"op": "replace", '
     '"path": "/os_hidden"',
     '"path": "/visibility", "value": "public"},\n            {"op": "replace", '
     '"path": "/os_hidden"'),
    ("web-download comparison disabled", "imgsync/upload.py",
     "record = proof.web_download(image, release, self.settings.web_download_unverified)",
     "record = {}"),
    ("grace period ignored", "imgsync/plan.py",
     "if (now - started).total_seconds() < policy.pending_grace_period:", "if False:"),
    ("only non-hidden images listed", "imgsync/glance.py",
     'return self._listing("false", filters) + hidden()',
     'return self._listing("false", filters)'),
    ("encoded answers accepted", "imgsync/upstream.py",
     'if encoding != "identity":', "if False:"),
    ("another project's images trusted by the planner", "imgsync/plan.py",
     'own = [image for image in images if image.get("owner") == owner]', "own = list(images)"),
    ("actions run although what they need failed", "imgsync/executor.py",
     "elif missing:", "elif False:"),
    ("images in use expired", "imgsync/plan.py",
     "if action.kind in EXPIRE_ACTIONS and action.image_id in in_use:", "if False:"),
    ("a target's branch not ended by the body's error", "imgsync/tee.py",
     "                self._put(branch, exc)\n", "                pass\n"),
    ("the end of a body drops queued data", "imgsync/tee.py",
     "            self._put(branch, _END)", "            branch._end(_END)"),
    ("a failing target not cleaned", "imgsync/upload.py",
     "        self.remove(image_id, name)\n        raise failure", "        raise failure"),
    ("always exit 0", "imgsync/cli.py",
     "return EXIT_FAILED if any(r.action == executor.FAILED for r in results) else EXIT_OK",
     "return EXIT_OK"),
    ("signatures older than the build date accepted", "imgsync/trust.py",
     "and release.signed_at < start - CLOCK_SKEW):", "and False):"),
    ("builds dated in the future accepted", "imgsync/trust.py",
     "if start > now + CLOCK_SKEW:", "if False:"),
    ("an old build's bytes accepted under a new name", "imgsync/trust.py",
     'if (image.get(f"imgsync.{release.checksum_algo}") == release.checksum',
     'if False and (image.get(f"imgsync.{release.checksum_algo}") == release.checksum'),
    ("unsigned builds accepted once the instance is signed", "imgsync/trust.py",
     "if release.signed_by is None and signed is not None and not allow_unsigned:",
     "if False:"),
    ("the planner skips the trust checks", "imgsync/plan.py",
     "    trust.consistent(releases, [image for image in own if is_finished(image)],\n"
     "                     policy.allow_unsigned)\n", ""),
    ("an openSUSE .sha256 naming another file accepted", "imgsync/drivers/opensuse.py",
     "    return helpers.lookup(sums, filename, url)",
     "    return next(iter(sums.values())) if len(sums) == 1 else helpers.lookup(sums, "
     "filename, url)"),
    ("another Flatcar channel's signed version accepted", "imgsync/drivers/flatcar.py",
     "if branch != self.branch:", "if False:"),
    ("a Flatcar version directory holding another version accepted",
     "imgsync/drivers/flatcar.py", "if expected is not None and version != expected:",
     "if False:"),
    ("another project's record under the id taken up", "imgsync/upload.py",
     'return (image.get("owner") == self.glance.project_id()', "return (True"),
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
