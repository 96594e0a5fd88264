"""The mirror's planner: from upstream's releases and the instance's objects in the
object-store mirror, the uploads and deletions of one run. Pure, as imgsync.engine.plan."""

from imgsync import ordering
from imgsync.engine import plan as plan_mod
from imgsync.mirror import layout
from imgsync.model import record
from imgsync.model.record import Kind
from imgsync.upstream import trust


def plan(releases, objects, keep, allow_unsigned=False):
    """The actions that bring one instance's ``objects`` (image records) in step with
    ``releases``: each release up to date or uploaded, then the objects beyond the
    ``keep`` newest versions of an architecture deleted, once that architecture's
    uploads succeeded. Objects contradicting a release raise RefusedBuild, as images do."""
    trust.consistent(releases, objects, allow_unsigned)
    actions, uploads = [], {}
    for release in releases:
        arch = release.metadata.get("architecture") or ""
        name = layout.key(release)
        if any(layout.is_synced(obj, release) for obj in objects):
            actions.append(plan_mod.Action(Kind.UP_TO_DATE, release.version, arch, name,
                                           name, reason="this build is in the mirror"))
            continue
        upload = plan_mod.Action(Kind.UPLOAD, release.version, arch, name,
                                 reason="this build is not in the mirror",
                                 key=f"upload {release.version} ({arch})", release=release)
        uploads.setdefault(arch, []).append(upload.key)
        actions.append(upload)
    wanted = {layout.key(release) for release in releases}
    by_arch = {}
    for obj in objects:
        by_arch.setdefault(obj.get("architecture") or "", []).append(obj)
    for arch, found in sorted(by_arch.items()):
        versions = sorted({obj[record.VERSION] for obj in found} |
                          {r.version for r in releases
                           if (r.metadata.get("architecture") or "") == arch},
                          key=ordering.natural_key, reverse=True)
        kept = set(versions[:keep])
        for obj in sorted(found, key=lambda o: ordering.natural_key(o[record.VERSION])):
            if obj[record.VERSION] not in kept and obj["object"] not in wanted:
                actions.append(plan_mod.Action(
                    Kind.DELETE, obj[record.VERSION], arch, obj["object"], obj["object"],
                    reason=f"older than the {keep} newest versions kept in the mirror",
                    depends_on=tuple(uploads.get(arch, ()))))
    return actions
