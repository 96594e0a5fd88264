"""Finding upstream's newest builds by their build ids, shared by the drivers that need it.

Two layouts: a directory per build, each with its own checksum file (Ubuntu, Debian);
or one directory of dated files beside an undated alias (``-latest``), where the build
the alias points at is the dated file with the same checksum (AlmaLinux, Rocky).
"""

import dataclasses
import datetime
import logging
import re

from imgsync import exceptions
from imgsync import ordering
from imgsync.upstream.drivers import base

LOG = logging.getLogger(__name__)

_DATE = re.compile(r"(?<!\d)(\d{4})(\d{2})(\d{2})(?!\d)")


@dataclasses.dataclass(frozen=True)
class Build:
    """One build directory: its listing entry, the id in its file names, and our version."""

    entry: str
    build_id: str
    version: str
    date: datetime.date


def build_dirs(entries, pattern, prefix=""):
    """Build directories among listing entries, newest first: ``prefix`` then what
    ``pattern`` matches in full, its groups ``date`` (YYYYMMDD) and ``n`` (a counter or
    respin, maybe absent). The build id is the entry without prefix and slash, and it is
    the version: two builds of one day are two versions. An impossible date is skipped."""
    found = []
    for entry in entries:
        match = pattern.fullmatch(entry[len(prefix):]) if entry.startswith(prefix) else None
        if not match:
            continue
        try:
            date = datetime.datetime.strptime(match["date"], "%Y%m%d").date()
        except ValueError:
            continue
        build_id = entry[len(prefix):-1]
        found.append(((date, int(match["n"] or 0)), Build(entry, build_id, build_id, date)))
    return [build for _, build in sorted(found, key=lambda item: item[0], reverse=True)]


def build_date(version, url):
    """The date of a build id that holds ``YYYYMMDD`` (``20260714.1``, ``9.8-20260526``)."""
    match = _DATE.search(version)
    try:
        return datetime.date(*map(int, match.groups()))
    except (AttributeError, ValueError) as exc:
        raise exceptions.LayoutError(url, "a build id with a YYYYMMDD date", version) from exc


def newest_first(names, pattern, url, what, nothing="no entries"):
    """``(version, name)`` of the names ``pattern`` matches, newest ``version`` group first,
    or a LayoutError: ``url`` has no ``what`` like the pattern (``nothing``: no names)."""
    found = {(m["version"], name) for name in names if (m := pattern.fullmatch(name))}
    if not found:
        raise exceptions.LayoutError(url, f"{what} like {pattern.pattern}",
                                     ", ".join(list(names)[:10]) or nothing)
    return sorted(found, key=lambda item: (ordering.natural_key(item[0]), item[1]),
                  reverse=True)


def from_alias(dated, alias_checksum, checksum_of, alias, url):
    """The dated builds from the one the alias points at on, newest first.

    ``dated`` is ``newest_first`` output, ``checksum_of(name)`` gives a file's
    ``(algo, digest)``. Newer dated files than the alias's (still being published)
    are left out. With no alias published (``alias_checksum`` None) the newest
    dated file is taken.
    """
    if alias_checksum is None:
        LOG.warning("%s publishes no %s, taking the newest dated image", url, alias)
        return dated
    for index, (_, name) in enumerate(dated):
        if checksum_of(name) == alias_checksum:
            return dated[index:]
    raise exceptions.LayoutError(url, f"a dated image with the checksum of {alias}",
                                 ", ".join(name for _, name in dated[:5]) or "no dated images")


def from_build_dirs(driver, listing_url, builds, sums_name, filenames):
    """Releases from build directories (``builds`` newest first), ``versions`` per arch.

    ``filenames`` maps each configured architecture to the image's file name, a
    template with ``{build}`` for the build id. A build whose checksum file lacks the
    image is skipped (half-published or pruned); an architecture no build has is a
    LayoutError.
    """
    wanted = driver.conf.versions
    found = {arch: [] for arch in filenames}
    for build in builds:
        if all(len(releases) == wanted for releases in found.values()):
            break
        sums_url = f"{listing_url}{build.entry}{sums_name}"
        published = driver.published_sums(sums_url)
        if published is None:
            LOG.warning("%s: skipping build %s, its %s is missing (HTTP 404): not yet "
                        "complete or pruned", driver.name, build.build_id, sums_name)
            continue
        sums, signed = published
        if not sums:
            raise exceptions.LayoutError(sums_url, f"{sums_name} checksum lines",
                                         "none (an error page?)")
        for arch, template in filenames.items():
            filename = template.format(build=build.build_id)
            if len(found[arch]) == wanted:
                continue
            if filename not in sums:
                LOG.warning("%s: skipping build %s for %s, %s lists no %s",
                            driver.name, build.build_id, arch, sums_url, filename)
                continue
            algo, digest = sums[filename]
            found[arch].append(driver.release(
                architecture=arch, version=build.version, build_date=build.date,
                url=f"{listing_url}{build.entry}{filename}", checksum_algo=algo,
                checksum=digest, checksum_url=sums_url, signed=signed))
    for arch, releases in found.items():
        if not releases:
            raise exceptions.LayoutError(
                listing_url, f"a build that publishes {filenames[arch]}",
                "none in " + ", ".join(b.entry for b in builds[:5]))
    return base.sort_releases(r for releases in found.values() for r in releases)


def from_files(driver, arch, url, files, checksum_of, sums_url, signed=None):
    """Releases of the ``versions`` newest dated files (``newest_first`` output) in ``url``,
    whose checksums ``sums_url`` published (signed as ``signed`` says)."""
    releases = []
    for version, name in files[:driver.conf.versions]:
        algo, digest = checksum_of(name)
        releases.append(driver.release(
            architecture=arch, version=version, build_date=build_date(version, url),
            url=url + name, checksum_algo=algo, checksum=digest, checksum_url=sums_url,
            signed=signed))
    return releases
