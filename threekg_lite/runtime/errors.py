"""Exceptions raised by threekg_lite. Every error about a file names the file, so that the
stack trace of a batch conversion of thousands of records says which one to look at."""

from __future__ import annotations

from os import PathLike


class ThreeKGError(Exception):
    """Base class of the package's own errors."""


class ECGFormatError(ThreeKGError, ValueError):
    """A record on disk (``path``: file, or record without extension) is malformed (truncated,
    inconsistent header, unknown leads, bad values); ``problem``: what, in words a user acts on."""

    def __init__(self, path: str | PathLike[str], problem: str) -> None:
        self.path, self.problem = str(path), problem
        super().__init__(f"{self.path}: {problem}")


class DataNotFoundError(ThreeKGError, FileNotFoundError):
    """A database folder is missing or does not hold the expected layout."""


class ChecksumError(ThreeKGError, OSError):
    """A downloaded file does not match the SHA-256 sum its source publishes."""

    def __init__(self, path: str | PathLike[str], expected: str, actual: str) -> None:
        self.path, self.expected, self.actual = str(path), expected, actual
        super().__init__(
            f"{self.path}: SHA-256 mismatch (expected {expected}, got {actual}); "
            "the file was not kept. Run the download again; if it keeps failing, the mirror "
            "serves a different file version."
        )


class DownloadError(ThreeKGError, OSError):
    """A download failed (network error, HTTP error, interrupted transfer)."""
