"""Know what is being uploaded: detect the disk format of the data as it streams past."""

import logging

from oslo_utils.imageutils import format_inspector

from imgsync import exceptions
from imgsync import proof


class _Demote(logging.Filter):
    """The inspectors log their failed guesses at other formats as errors (a VMDK
    descriptor that is not ASCII, ...); imgsync reports the format it found itself."""

    def filter(self, record):
        record.levelno, record.levelname = logging.DEBUG, "DEBUG"
        return logging.getLogger().isEnabledFor(logging.DEBUG)


logging.getLogger(format_inspector.__name__).addFilter(_Demote())


class InspectingStream:
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

    def __len__(self):
        return len(self.source)

    def __bool__(self):
        return True

    def __repr__(self):
        return f"<InspectingStream {self.url}>"

    @property
    def bytes_read(self):
        return self.source.bytes_read

    def hexdigests(self):
        return self.source.hexdigests()

    def sent(self):
        """What was streamed, for the proof that Glance stored it."""
        return proof.Sent(self.bytes_read, self.hexdigests(), self.expected_format,
                          self.virtual_size)

    def __iter__(self):
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
        if self.detected_format != self.expected_format:
            raise exceptions.ImageFormatMismatch(
                f"{self.url}: data is {self.detected_format}, the driver expects "
                f"{self.expected_format}")
        try:
            detected.safety_check()
        except format_inspector.SafetyCheckFailed as exc:
            raise exceptions.UnsafeImage(
                f"{self.url}: refused, the {self.detected_format} image fails the safety "
                f"checks: {exc}") from exc
        self.virtual_size = detected.virtual_size
