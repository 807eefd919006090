"""A vendor file as rows: encoding and delimiter sniffed, binary and empty files refused.

Encodings: UTF-8 with or without a BOM, UTF-16 (BOM, or NUL-interleaved without one),
else cp1252. A UTF-8 file with a stray cp1252 byte further down (Excel edits) keeps
going: that byte alone is read as cp1252 (Latin-1 where cp1252 has a hole), so nothing
is dropped and no row fails on it. The file is streamed; only a sample is read up front.
"""

from __future__ import annotations

import codecs
import csv
import io
import os
import stat
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO, Self

from leadtui.errors import LeadtuiError

SAMPLE = 64 * 1024
MAX_HEADER = 1 << 20  # a header row longer than this is no list of leads: refused before it is read whole
DELIMITERS = ",;\t"
FALLBACK = "leadtui-cp1252"
MAX_CELL = 1 << 24  # csv's default limit is 128 KiB; a cell may be longer, a runaway quote may not
MAGIC = {
    b"PK\x03\x04": "a zip or Excel (.xlsx) file: save it as CSV",
    b"%PDF": "a PDF",
    b"SQLite format 3\x00": "an SQLite database",
    b"\x1f\x8b": "a gzip file",
    b"\xd0\xcf\x11\xe0": "an old Excel (.xls) file: save it as CSV",
    b"\x89PNG": "a PNG image",
}


def _byte_as_cp1252(exc: UnicodeError) -> tuple[str, int]:
    if not isinstance(exc, UnicodeDecodeError):
        raise exc
    text = "".join(
        bytes([b]).decode("cp1252", errors="ignore") or chr(b) for b in exc.object[exc.start : exc.end]
    )
    return text, exc.end


codecs.register_error(FALLBACK, _byte_as_cp1252)


@dataclass(frozen=True)
class Sniffed:
    """What the first bytes say about a file."""

    encoding: str
    delimiter: str


def sniff(sample: bytes, name: str) -> Sniffed:
    """The encoding and delimiter of a file from its first bytes; LeadtuiError when it is no text table."""
    if not sample.strip(b" \t\r\n\xef\xbb\xbf\xff\xfe\x00"):
        raise LeadtuiError(f"{name}: the file is empty")
    for magic, what in MAGIC.items():
        if sample.startswith(magic):
            raise LeadtuiError(f"{name}: not a CSV file, it looks like {what}")
    encoding = _encoding(sample)
    text = sample.decode(encoding, errors=FALLBACK if encoding in ("utf-8-sig", "cp1252") else "replace")
    if _binary(text):
        raise LeadtuiError(f"{name}: not a text file (binary content)")
    header = next(iter(text.lstrip("\ufeff").splitlines()), "")
    counts = {d: _unquoted(header).count(d) for d in DELIMITERS}
    delimiter = max(DELIMITERS, key=lambda d: counts[d])
    if counts[delimiter] == 0:
        delimiter = ","
    return Sniffed(encoding, delimiter)


def _encoding(sample: bytes) -> str:
    if sample.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return "utf-16"
    even, odd = sample[0:400:2], sample[1:400:2]
    if odd and odd.count(0) > len(odd) * 0.4 and even.count(0) < len(even) * 0.1:
        return "utf-16-le"
    if even and even.count(0) > len(even) * 0.4 and odd.count(0) < len(odd) * 0.1:
        return "utf-16-be"
    try:
        codecs.getincrementaldecoder("utf-8")().decode(sample, final=False)
        return "utf-8-sig"
    except UnicodeDecodeError:
        return "cp1252"


def _binary(text: str) -> bool:
    """Mostly control characters: an image, an archive, a database page."""
    controls = sum(1 for ch in text[:4096] if ch < " " and ch not in "\t\r\n")
    return controls > max(8, len(text[:4096]) // 20)


def _unquoted(line: str) -> str:
    """The line without its quoted parts, so a comma inside "Smith, John" is not counted."""
    return "".join(part for i, part in enumerate(line.split('"')) if i % 2 == 0)


class _Feed:
    """The lines csv reads a quoted record from: the line we hold, then the file's (counted)."""

    def __init__(self, lines: Iterator[str]):
        self.lines = lines
        self.first: str | None = None
        self.taken = 0

    def __iter__(self) -> _Feed:
        return self

    def __next__(self) -> str:
        self.taken += 1
        if self.first is not None:
            line, self.first = self.first, None
            return line
        return next(self.lines)


class Table:
    """Rows of a delimited text file, streamed: `header`, then `(line, cells)` per record.

    `line` is the physical line a record starts on (a quoted cell may hold newlines);
    `position()` is how far into the file (bytes) reading has got, for a progress bar.
    A line with no quote character is split on the delimiter directly, which is exactly what
    csv would make of it, at a fraction of the cost; only lines with quotes go through csv.
    While `skipping` is set, records come as `(line, None)`, unsplit where that saves work
    (a reading process passing over another's rows).
    """

    skipping = False

    def __init__(self, path: Path):
        self.path = path
        try:  # without blocking: a FIFO must not hang the import
            fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC)
        except FileNotFoundError:
            raise LeadtuiError(f"{path}: no such file") from None
        except IsADirectoryError:
            raise LeadtuiError(f"{path}: is a folder, not a file") from None
        except OSError as exc:
            raise LeadtuiError(f"{path}: can't read it ({exc.strerror})") from None
        mode = os.fstat(fd).st_mode
        if not stat.S_ISREG(mode):
            os.close(fd)
            what = (
                "is a folder, not a file"
                if stat.S_ISDIR(mode)
                else "not a regular file (a pipe, a device or a socket)"
            )
            raise LeadtuiError(f"{path}: {what}")
        os.set_blocking(fd, True)
        self._raw: BinaryIO = os.fdopen(fd, "rb")
        try:
            head = self._raw.read(MAX_HEADER)
            if b"\n" not in head and b"\r" not in head and self._raw.read(1):
                raise LeadtuiError(
                    f"{path}: no line ends within its first {MAX_HEADER // 1024} KiB: "
                    "not a list of leads (or its header row is far too long)"
                )
            self._raw.seek(0)
            self.sniffed = sniff(self._raw.read(SAMPLE), str(path))
            self._raw.seek(0)
            # cp1252 is read as UTF-8 whose every invalid byte goes through the cp1252 fallback
            eight_bit = self.sniffed.encoding in ("utf-8-sig", "cp1252")
            encoding, errors = ("utf-8-sig", FALLBACK) if eight_bit else (self.sniffed.encoding, "replace")
            self._text = io.TextIOWrapper(self._raw, encoding=encoding, errors=errors, newline="")
            csv.field_size_limit(MAX_CELL)
            self._records = self._read()
            self.header = self._read_header()
        except BaseException:
            self._raw.close()
            raise
        opened = os.fstat(self._raw.fileno())
        self.size, self._identity = opened.st_size, (opened.st_size, opened.st_mtime_ns)

    def changed(self) -> bool:
        """Whether the file was written to (truncated, replaced, grown) since it was opened."""
        try:
            now = os.stat(self.path)
        except OSError:
            return True
        fd = os.fstat(self._raw.fileno()) if not self._raw.closed else now
        return (now.st_size, now.st_mtime_ns) != self._identity or not os.path.samestat(now, fd)

    def _read_header(self) -> list[str]:
        for _, cells in self._records:
            if any(c.strip() for c in cells):
                return [c.strip().lstrip("\ufeff").strip() for c in cells]
        raise LeadtuiError(f"{self.path}: the file has no header row")

    def _read(self) -> Iterator[tuple[int, list[str] | None]]:
        delimiter = self.sniffed.delimiter
        lines = iter(self._text)
        feed = _Feed(lines)
        reader = csv.reader(feed, delimiter=delimiter)
        number = 0
        for line in lines:
            number += 1
            if '"' not in line:
                if self.skipping:
                    yield number, None
                    continue
                text = line.rstrip("\r\n")
                yield number, text.split(delimiter) if text else []
                continue
            feed.first, feed.taken = line, 0
            try:
                cells = next(reader)
            except csv.Error as exc:
                raise LeadtuiError(f"{self.path}: line {number}: unreadable CSV ({exc})") from None
            yield number, cells
            number += feed.taken - 1

    def __iter__(self) -> Iterator[tuple[int, list[str] | None]]:
        return self._records

    def position(self) -> int:
        return self._raw.tell()

    def close(self) -> None:
        self._raw.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
