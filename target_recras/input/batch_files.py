"""BATCH messages: which manifest URLs target-recras reads, and the records in those files.

A Singer BATCH message names files of records instead of carrying them (``encoding``:
``{"format": "jsonl", "compression": "gzip" | "none"}``, ``manifest``: a list of URLs). Their
records go through the same path as RECORD messages (stream maps, validation, rejects,
checkpoints), so a STATE after a BATCH is emitted only once every record in it is written or
rejected.

Accepted: **JSON Lines** (one record object per line), gzip-compressed or not, at **local
``file://`` URLs** (``file:///abs/path`` or ``file://localhost/abs/path``): under Meltano the
tap and the target share a disk, and the SDK's default batch storage is a ``file://``
directory. Anything else -- another scheme (``s3://``, ``https://``), a relative path,
another format (parquet) or compression, a file that cannot be read -- stops the run with an
error naming the message's input line and the file; nothing in the BATCH is acknowledged.
"""

from __future__ import annotations

import gzip
import io
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

import msgspec

from target_recras.errors import TargetStopError
from target_recras.input.reader import decode_line

#: ``encoding.compression`` values read as they are, and the one that is decompressed.
_PLAIN = (None, "none")
_GZIP = "gzip"


class BatchError(TargetStopError):
    """A BATCH message this target cannot read; its records must not be acknowledged."""


@dataclass(frozen=True)
class BatchLine:
    """One line of a batch file: a decoded value, or why it could not be decoded."""

    path: Path
    line_number: int
    text: str
    value: Any = None
    problem: str | None = None


def _shown(url: str) -> str:
    """``url`` without credentials (``s3://key:secret@bucket`` shows as ``s3://bucket``)."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    if parts.port:
        host += f":{parts.port}"
    return parts._replace(netloc=host).geturl()


def local_path(url: str) -> Path:
    """The local file a manifest URL names; :class:`BatchError` for any other URL."""
    parts = urlsplit(url)
    if parts.scheme != "file" or parts.hostname not in (None, "", "localhost"):
        msg = (
            f"batch file {_shown(url)!r} is not a local file:// URL; target-recras reads "
            "batch files from file:// URLs only (set the tap's batch_config storage root to "
            "a file:// directory the target can read, or turn BATCH off)"
        )
        raise BatchError(msg)
    path = Path(unquote(parts.path))
    if not path.is_absolute():
        msg = f"batch file URL {url!r} must name an absolute path (file:///dir/file.jsonl.gz)"
        raise BatchError(msg)
    return path


def _is_gzipped(encoding: Any) -> bool:
    """Whether the files are gzip-compressed; :class:`BatchError` for what is not read."""
    if not isinstance(encoding, dict) or encoding.get("format") != "jsonl":
        fmt = encoding.get("format") if isinstance(encoding, dict) else encoding
        msg = f"batch format {fmt!r} is not supported; target-recras reads 'jsonl' batch files"
        raise BatchError(msg)
    compression = encoding.get("compression")
    if compression not in (*_PLAIN, _GZIP):
        msg = f"batch compression {compression!r} is not supported (use 'gzip' or 'none')"
        raise BatchError(msg)
    return compression == _GZIP


def batch_lines(message: dict[str, Any]) -> Iterator[BatchLine]:
    """Every non-blank line of every file the BATCH message lists, in manifest order."""
    manifest = message.get("manifest")
    if not isinstance(manifest, list) or not all(isinstance(url, str) for url in manifest):
        msg = "a BATCH message needs a 'manifest' list of file URLs"
        raise BatchError(msg)
    gzipped = _is_gzipped(message.get("encoding"))
    for path in [local_path(url) for url in manifest]:  # check every URL before reading any
        try:
            with _open(path, gzipped=gzipped) as file:
                yield from _lines(path, file)
        except (OSError, EOFError, zlib.error) as exc:
            msg = f"batch file {path} cannot be read: {exc}"
            raise BatchError(msg) from exc


def _open(path: Path, *, gzipped: bool) -> io.BufferedIOBase:
    return gzip.open(path, "rb") if gzipped else path.open("rb")


def _lines(path: Path, file: io.BufferedIOBase) -> Iterator[BatchLine]:
    for number, raw in enumerate(file, start=1):
        if raw.isspace():
            continue
        text = raw.decode("utf-8", "backslashreplace").rstrip("\n")
        try:
            value = decode_line(raw)
        except (msgspec.DecodeError, RecursionError) as exc:
            problem = f"line {number} of batch file {path} is not valid JSON ({exc})"
            yield BatchLine(path, number, text, problem=problem)
            continue
        yield BatchLine(path, number, text, value=value)
