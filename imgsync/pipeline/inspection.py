"""Know what is being uploaded: detect the disk format of the data as it streams past."""

import logging

from oslo_utils.imageutils import format_inspector

from imgsync import exceptions
from imgsync.pipeline import proof
from imgsync.pipeline import stream


class _Demote(logging.Filter):
    """The inspectors log their failed guesses at other formats as errors (a VMDK
    descriptor that is not ASCII, ...); imgsync reports the format it found itself."""

    def filter(self, record):
        record.levelno, record.levelname = logging.DEBUG, "DEBUG"
        return logging.getLogger().isEnabledFor(logging.DEBUG)


logging.getLogger(format_inspector.__name__).addFilter(_Demote())

HEADER_BYTES = 1 << 20
"""How much of a web-downloaded image is read back from Glance and inspected: within it,
each inspector of oslo.utils tells whether the data is its format (VHDX's header ends at
256 KiB, an ISO's volume descriptor at 34 KiB, qcow2's, VHD's and VDI's at 512 bytes), so
raw (none of them) is settled too, and completes its inspection, except for the formats
below. A multiple of glance._READ_CHUNK, so that no more than this is read."""
NOT_FROM_HEADER = {
    "vmdk": "a stream-optimized VMDK's footer, which its inspection needs, is at its end",
    "vhdx": "a VHDX's metadata region, which its inspection needs, may lie anywhere in it",
}
"""Disk formats whose inspection a bounded head of the data cannot complete: why."""


class InspectingStream(stream.Body):
    """Feeds the data on its way to Glance to oslo.utils' format inspectors.

    The last piece is held back until the detected format equals the expected one
    and passes the inspectors' safety checks (no qcow2 backing file or external
    data file, ...), so an unexpected or unsafe image never completes an upload.
    Size, digests and length are those of the wrapped stream.
    """

    def __init__(self, source, url, expected_format):
        self.source = source
        self.url = url
        self.expected_format = expected_format
        self.detected_format = None
        self.virtual_size = None
        """The virtual disk size the image's header declares, once it is verified."""

    @property
    def length(self):
        return stream.length_of(self.source)

    @property
    def bytes_read(self):
        return self.source.bytes_read

    def hexdigests(self):
        return self.source.hexdigests()

    def sent(self):
        """What was streamed, for the proof that Glance stored it."""
        return proof.Sent(self.bytes_read, self.hexdigests(), self.expected_format,
                          self.virtual_size)

    def _read(self):
        wrapper = format_inspector.InspectWrapper(
            iter(self.source), expected_format=self.expected_format)
        held = None
        try:
            for chunk in wrapper:
                if held is not None:
                    yield held
                held = chunk
            self._check(wrapper)
        except format_inspector.ImageFormatError as exc:
            raise exceptions.ImageFormatMismatch(
                f"{self.url}: data is not the {self.expected_format} the driver expects: "
                f"{exc}") from exc
        if held is not None:
            yield held

    def _check(self, wrapper):
        detected = wrapper.format
        self.detected_format = str(detected)
        _require(detected, self.expected_format, self.url)
        self.virtual_size = detected.virtual_size


def _require(detected, expected_format, where):
    """The one format found must be the expected one, and pass its safety checks."""
    if str(detected) != expected_format:
        raise exceptions.ImageFormatMismatch(
            f"{where}: data is {detected}, the driver expects {expected_format}")
    try:
        detected.safety_check()
    except format_inspector.ImageFormatError as exc:   # e.g. an incomplete inspection
        raise exceptions.ImageFormatMismatch(
            f"{where}: data is not the {expected_format} the driver expects: {exc}") from exc
    except format_inspector.SafetyCheckFailed as exc:
        raise exceptions.UnsafeImage(
            f"{where}: refused, the {detected} image fails the safety checks: {exc}") from exc


def check_header(head, whole, expected_format, where):
    """Inspect the first bytes of an image (all of it when ``whole``) as InspectingStream
    inspects a stream: the expected format, and no other, must be found and be safe.

    Each format's inspector gets ``head``. One that fails to parse it is not that format
    (as in InspectWrapper), unless it is the expected one; one that wants more than the
    head (and the head is not the whole data) leaves the format unsettled: refused too.
    """
    found, undecided = [], []
    for name, inspector_class in format_inspector.ALL_FORMATS.items():
        if name == "raw":
            continue
        inspector = inspector_class()
        try:
            inspector.eat_chunk(head)
            if whole:
                inspector.finish()
        except Exception as exc:   # any parser failure: not this format
            if name == expected_format:
                raise exceptions.ImageFormatMismatch(
                    f"{where}: data is not the {expected_format} the driver expects: "
                    f"{exc}") from exc
            continue
        if not (whole or inspector.complete):
            undecided.append(name)
        elif inspector.format_match:
            found.append(inspector)
    if undecided:
        raise exceptions.ImageFormatMismatch(
            f"{where}: cannot be inspected from its first {len(head)} bytes (more is "
            f"needed to tell whether it is {' or '.join(undecided)})")
    if len(found) > 1:
        raise exceptions.ImageFormatMismatch(
            f"{where}: data is not the {expected_format} the driver expects: several "
            f"formats detected: {', '.join(map(str, found))}")
    _require(found[0] if found else format_inspector.RawFileInspector(), expected_format,
             where)
