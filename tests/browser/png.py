"""A small PNG reader for tests: how much of a screenshot is one colour (stdlib only)."""

from __future__ import annotations

import struct
import zlib
from pathlib import Path

SIGNATURE = b"\x89PNG\r\n\x1a\n"


def pixels(path: Path) -> tuple[int, int, list[tuple[int, int, int]]]:
    """Width, height and the RGB pixels of an 8-bit RGB or RGBA, non-interlaced PNG."""
    data = path.read_bytes()
    assert data.startswith(SIGNATURE), f"{path} is not a PNG"
    pos, idat, header = 8, b"", b""
    while pos < len(data):
        (length,) = struct.unpack(">I", data[pos : pos + 4])
        kind, body = data[pos + 4 : pos + 8], data[pos + 8 : pos + 8 + length]
        header = body if kind == b"IHDR" else header
        idat += body if kind == b"IDAT" else b""
        pos += 12 + length
    width, height, depth, colour, _, _, interlace = struct.unpack(">IIBBBBB", header)
    assert depth == 8 and colour in (2, 6) and interlace == 0, "unsupported PNG"
    step = 3 if colour == 2 else 4
    rows = _unfilter(zlib.decompress(idat), width * step, height, step)
    out = [(row[i], row[i + 1], row[i + 2]) for row in rows for i in range(0, len(row), step)]
    return width, height, out


def _unfilter(raw: bytes, stride: int, height: int, step: int) -> list[bytearray]:
    rows: list[bytearray] = []
    prev = bytearray(stride)
    for y in range(height):
        kind, line = (
            raw[y * (stride + 1)],
            bytearray(raw[y * (stride + 1) + 1 : (y + 1) * (stride + 1)]),
        )
        for i in range(stride):
            a = line[i - step] if i >= step else 0
            b, c = prev[i], prev[i - step] if i >= step else 0
            if kind == 1:
                line[i] = (line[i] + a) & 0xFF
            elif kind == 2:
                line[i] = (line[i] + b) & 0xFF
            elif kind == 3:
                line[i] = (line[i] + (a + b) // 2) & 0xFF
            elif kind == 4:
                p = a + b - c
                pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
                pred = a if pa <= pb and pa <= pc else b if pb <= pc else c
                line[i] = (line[i] + pred) & 0xFF
        rows.append(line)
        prev = line
    return rows


def share_of(path: Path, colour: tuple[int, int, int], tolerance: int = 8) -> float:
    """The fraction of the image's pixels within `tolerance` of `colour`."""
    _, _, found = pixels(path)
    close = sum(
        1 for p in found if all(abs(x - y) <= tolerance for x, y in zip(p, colour, strict=True))
    )
    return close / len(found)
