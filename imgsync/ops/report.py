"""What ``sync`` and ``status`` print: a table with a header and a summary, or JSON."""

import collections
import dataclasses
import json

from imgsync import redact

HEADER = f"{'INSTANCE':<20} {'ACTION':<13} {'VERSION':<14} {'ARCH':<8} IMAGE"


def row(result):
    """One line of the table; a plan's, a skip's and a keep's say why."""
    detail = f"{result.name} {result.image_id}".strip()
    if result.error:
        detail = f"{detail}: {result.error}" if detail else result.error
    elif result.reason and (result.action == "skipped"
                            or not result.action.endswith(("ed", "up-to-date"))):
        detail = f"{detail} ({result.reason})"
    target = f"[{result.target}] " if result.target else ""
    return (f"{result.distro:<20} {result.action:<13} {result.version:<14} "
            f"{result.architecture or '-':<8} {target}{detail}")


def summary(results, seconds):
    """Counts per action, bytes transferred and the run's duration."""
    counts = collections.Counter(result.action for result in results)
    transferred = sum(result.bytes for result in results)
    actions = ", ".join(f"{count} {action}" for action, count in counts.items())
    return (f"{len(results)} actions ({actions or 'none'}); {transferred / (1 << 20):.1f} MiB "
            f"transferred in {seconds:.1f} s")


def table(results, seconds):
    return "\n".join([HEADER, *map(row, results), summary(results, seconds)])


def document(results, seconds, drivers):
    """One JSON document: a record per action (its instance's driver from ``drivers``)
    and the summary's figures."""
    counts = collections.Counter(result.action for result in results)
    return json.dumps({
        "results": [_record(result, drivers) for result in results],
        "summary": {"actions": dict(counts), "bytes": sum(r.bytes for r in results),
                    "seconds": round(seconds, 3)}}, indent=2)


def _record(result, drivers):
    record = dataclasses.asdict(result)
    record["instance"] = record.pop("distro")
    return {"instance": record.pop("instance"), "driver": drivers.get(result.distro),
            **record}


def show(results, seconds, fmt, drivers):
    """Print the results (credentials in URLs masked)."""
    text = document(results, seconds, drivers) if fmt == "json" else table(results, seconds)
    print(redact.text(text))


STATUS_HEADER = f"{'INSTANCE':<20} {'TARGET':<12} {'UPSTREAM':<16} {'GLANCE':<16} STATE"


def status(rows, fmt):
    """Print ``status`` rows (dicts: instance, target, upstream, glance, state, error)."""
    if fmt == "json":
        print(redact.text(json.dumps({"instances": rows}, indent=2)))
        return
    lines = [STATUS_HEADER]
    for r in rows:
        lines.append(f"{r['instance']:<20} {r['target'] or '-':<12} {r['upstream'] or '-':<16} "
                     f"{r['glance'] or '-':<16} {r['state']}"
                     + (f": {r['error']}" if r["error"] else ""))
    print(redact.text("\n".join(lines)))
