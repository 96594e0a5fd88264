"""The planner: from upstream's releases and the images in Glance, the actions of one run.

Pure: it reads no network and changes nothing, so ``--dry-run`` prints exactly what
the executor then applies. Every action says why, and what it depends on: a rotation
or a rename that is only right once a new image exists depends on that upload.
"""

import dataclasses
import datetime

from imgsync import ordering
from imgsync.model import record
from imgsync.model import scs
from imgsync.model.record import Kind
from imgsync.upstream import trust


@dataclasses.dataclass(frozen=True)
class Policy:
    """What one instance's configuration asks of its images."""

    prefix: str = ""
    keep: int = 2
    """How many of the newest images of each architecture stay usable."""
    expire_action: str = "hide"
    latest_name: bool = False
    pending_grace_period: int = 7200
    allow_unsigned: bool = False
    """Accept unsigned builds although the instance's images are signed."""


@dataclasses.dataclass(frozen=True)
class Action:
    """One step of a run, on one image (``image_id`` is empty for an image yet to upload)."""

    kind: Kind
    version: str
    architecture: str
    name: str
    """The image's name once the action is done."""
    image_id: str = ""
    reason: str = ""
    key: str = ""
    """Of an upload: what later actions name in ``depends_on``."""
    depends_on: tuple = ()
    uploaded_by: str = ""
    """The key of the upload that creates this action's image, when the plan creates it."""
    error: str = ""
    """Why the action cannot be done, when that is known before it is tried."""
    release: object = dataclasses.field(default=None, compare=False, repr=False)


@dataclasses.dataclass
class Plan:
    actions: list
    warnings: list


def image_name(prefix, release):
    """``<prefix><display name> (<version>)``, e.g. ``Ubuntu 24.04 (20240423.1)``."""
    return f"{prefix}{release.display_name} ({release.version})"


def plan(releases, images, owner, policy, now):
    """The actions that bring ``images`` (Glance's, of one instance) in step with
    ``releases`` (upstream's newest, from the driver), in the order to apply them:
    pending cleanup, then each release (up to date, or upload), then rotation, then renames.

    Only images owned by ``owner`` (imgsync's project) are ever considered. A release
    that they contradict (imgsync.trust) raises RefusedBuild: no plan for the instance.
    """
    own = [image for image in images if image.get("owner") == owner]
    trust.consistent(releases, [image for image in own if record.is_finished(image)],
                     policy.allow_unsigned)
    warnings = []
    actions = _clean_pending(own, policy, now, warnings) + _clean_reserved(own, releases)
    finished = [_Entry.of(image) for image in own if record.is_finished(image)]
    current, uploads = [], []
    for release in releases:
        arch = release.metadata.get("architecture") or ""
        existing = next((entry for entry in finished
                         if record.is_synced(entry.image, release)), None)
        if existing:
            current.append((release, existing))
        else:
            uploads.append(Action(Kind.UPLOAD, release.version, arch,
                                  image_name(policy.prefix, release),
                                  reason="this build is not in Glance",
                                  key=f"upload {release.version} ({arch})", release=release))
    stable = {entry.arch: policy.prefix + release.display_name for release, entry in current}
    stable.update({u.architecture: policy.prefix + u.release.display_name for u in uploads})
    planned = [_Entry(u.key, u.version, u.architecture, u.name, upload=u.key,
                      purpose=u.release.metadata.get("os_purpose", ""),
                      record={**u.release.metadata,
                              "image_build_date": u.release.build_date.isoformat()})
               for u in uploads]
    with_uploads = _desired(finished + planned, stable, policy, now)
    without = _desired(finished, stable, policy, now)
    for release, entry in current:
        actions.append(Action(Kind.UP_TO_DATE, release.version, entry.arch,
                              with_uploads[entry.ref].name, entry.ref,
                              reason="the image of this build is in Glance"))
    actions += uploads
    steps = [step for entry in finished + planned
             for step in _steps(entry, with_uploads, without.get(entry.ref), planned)]
    actions += sorted((s for s in steps if s.kind not in (Kind.RENAME, Kind.RETIRE)),
                      key=_oldest_first)
    actions += sorted((s for s in steps if s.kind == Kind.RETIRE), key=_oldest_first)
    actions += sorted((s for s in steps if s.kind == Kind.RENAME), key=_oldest_first)
    return Plan(actions, warnings)


def mark_in_use(actions, in_use, doubt=""):
    """Turn the expiry of each image in ``in_use`` (servers boot from it) into keeping it.

    ``doubt`` says why whether servers use the other images is unknown: their expiry
    is then an action that cannot be done, never one done on a guess.
    """
    marked = []
    for action in actions:
        if action.kind in record.EXPIRES and action.image_id in in_use:
            action = dataclasses.replace(action, kind=Kind.IN_USE, depends_on=(),
                                         reason=f"servers still use it; not {action.kind}")
        elif action.kind in record.EXPIRES and action.image_id and doubt:
            action = dataclasses.replace(action, error=doubt)
        marked.append(action)
    return marked


@dataclasses.dataclass(frozen=True)
class _Entry:
    """An image of the desired state: one in Glance (``ref`` its id) or one to upload."""

    ref: str
    version: str
    arch: str
    name: str
    already: tuple = ()
    """The expiry actions already applied to it."""
    created: str = ""
    upload: str = ""
    purpose: str = ""
    """Its ``os_purpose``."""
    record: dict = dataclasses.field(default=None, compare=False, repr=False)
    """Its properties (of an upload: those it will have), for the SCS outdated rule."""
    image: dict = dataclasses.field(default=None, compare=False, repr=False)

    @classmethod
    def of(cls, image):
        already = ((Kind.HIDE,) if record.is_hidden(image) else ()) + (
            (Kind.DEACTIVATE,) if record.is_deactivated(image) else ())
        return cls(image["id"], image.get(record.VERSION, ""),
                   image.get("architecture") or "", image.get("name", ""), already,
                   image.get("created_at", ""), purpose=image.get("os_purpose", ""),
                   record=image, image=image)


@dataclasses.dataclass(frozen=True)
class _State:
    """An entry once the plan is applied: its name, its expiry (or None) and why, and
    whether it gives up ``os_purpose = generic``."""

    name: str
    expire: Kind | None
    why: str = ""
    retire: bool = False


def _desired(entries, stable, policy, now):
    """Each entry's _State once the entries to upload are in Glance: the newest ``keep``
    of each architecture stay, the others expire; of the ones that stay, an older one
    that SCS would call outdated is hidden, and one still visible and ``generic`` becomes
    ``oldgeneric`` (one generic image per distribution, version and architecture)."""
    state = {}
    for arch in {entry.arch for entry in entries}:
        same_arch = sorted((e for e in entries if e.arch == arch), key=_newest_first,
                           reverse=True)
        for rank, entry in enumerate(same_arch):
            expire = (Kind(policy.expire_action)
                      if rank >= policy.keep and policy.expire_action != "none" else None)
            why = f"older than the newest {policy.keep} of {arch or 'its architecture'}"
            if expire in entry.already:
                expire = None
            if (not expire and rank > 0 and not entry.already
                    and scs.outdated(entry.record, now)):
                expire, why = Kind.HIDE, (f"superseded and older than its replace_frequency "
                                          f"{entry.record.get('replace_frequency')} allows "
                                          "(scs-0102)")
            name = entry.name
            if arch in stable and expire != Kind.DELETE:
                name = (stable[arch] if policy.latest_name and rank == 0
                        else f"{stable[arch]} ({entry.version})")
            hidden = Kind.HIDE in entry.already or expire in (Kind.HIDE, Kind.DELETE)
            retire = rank > 0 and entry.purpose == "generic" and not hidden
            state[entry.ref] = _State(name, expire, why, retire)
    return state


def _newest_first(entry):
    """Sort key (reversed): the newest build first; of one build, the upload this plan
    makes, then the most recently created image."""
    return (ordering.natural_key(entry.version), bool(entry.upload), entry.created)


def _steps(entry, with_uploads, without, planned):
    """The expiry and the rename of one entry. Each depends on the entry's own upload and,
    unless it would be due without them, on the uploads of newer builds of its architecture."""
    state = with_uploads[entry.ref]
    newer = tuple(p.upload for p in planned if p.arch == entry.arch
                  and _newest_first(p) > _newest_first(entry))
    own = (entry.upload,) if entry.upload else ()
    image_id = "" if entry.upload else entry.ref
    steps = []
    if state.expire:
        needs = own + (() if without and without.expire == state.expire else newer)
        steps.append(Action(state.expire, entry.version, entry.arch, entry.name, image_id,
                            reason=state.why, depends_on=needs, uploaded_by=entry.upload))
    if state.retire:
        needs = own + (() if without and without.retire else newer)
        steps.append(Action(Kind.RETIRE, entry.version, entry.arch, state.name, image_id,
                            reason="a newer build is the generic image (scs-0102 "
                                   "os_purpose uniqueness)", depends_on=needs,
                            uploaded_by=entry.upload))
    if state.name != entry.name:
        needs = own + (() if without and without.name == state.name else newer)
        steps.append(Action(Kind.RENAME, entry.version, entry.arch, state.name, image_id,
                            reason=f"was {entry.name!r}", depends_on=needs,
                            uploaded_by=entry.upload))
    return steps


def _clean_pending(images, policy, now, warnings):
    """Delete images an interrupted run left pending for longer than the grace period."""
    actions = []
    for image in images:
        if not record.is_pending(image):
            continue
        started = _started_at(image, warnings)
        if (now - started).total_seconds() < policy.pending_grace_period:
            continue
        actions.append(Action(Kind.CLEAN, image.get(record.VERSION, "-"),
                              image.get("architecture") or "",
                              image["name"], image["id"],
                              reason=f"left pending by a run started {started.isoformat()}"))
    return actions


def _clean_reserved(images, releases):
    """Delete the reservations (same_image_id) of builds upstream no longer offers: only
    an upload of one of ``releases`` can still take one up; and those that are no longer
    empty (an import Glance went on with after imgsync gave up): none can be taken up."""
    offered = {(r.version, r.metadata.get("architecture") or "") for r in releases}
    return [Action(Kind.CLEAN, image.get(record.VERSION, "-"), image.get("architecture") or "",
                   image["name"], image["id"],
                   reason="reserved the id of a build upstream no longer offers"
                   if image.get("status") == "queued" else
                   f"a reservation that is no longer empty ({image.get('status')})")
            for image in images if record.is_reserved(image)
            and ((image.get(record.VERSION), image.get("architecture") or "") not in offered
                 or image.get("status") != "queued")]


def _started_at(image, warnings):
    """When the run that left ``image`` pending started: its ``imgsync.started_at``, or
    Glance's own ``created_at`` when that is missing or malformed (a warning)."""
    recorded = image.get(record.STARTED_AT)
    if recorded is not None:
        try:
            return _parse_time(str(recorded))
        except ValueError:
            warnings.append(f"image {image['id']} has a malformed imgsync.started_at "
                            f"{recorded!r}; using its created_at")
    return _parse_time(image["created_at"])


def _parse_time(text):
    return datetime.datetime.strptime(text, "%Y-%m-%dT%H:%M:%SZ").replace(
        tzinfo=datetime.timezone.utc)


def _oldest_first(action):
    """Per architecture, oldest first: a rename frees the stable name before it is taken."""
    return (action.architecture, ordering.natural_key(action.version))
