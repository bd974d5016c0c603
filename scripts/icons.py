"""Draw CityHive's app icons as PNG files: the favicon's hexagon on honey, at the sizes an
installed web app needs. Pure Python (zlib + struct), so no imaging library is needed.

    .venv/bin/python scripts/icons.py          # writes static/icons/*.png

- icon-192.png, icon-512.png: "any" purpose, the hexagon filling most of a rounded square;
- icon-maskable-512.png: "maskable", full-bleed honey with the hexagon inside the central 80%
  safe zone, so any mask shape (circle, squircle) the launcher applies keeps it whole;
- apple-touch-icon.png: 180 x 180, full-bleed (iOS rounds the corners itself).

The output is deterministic: running it again writes the same bytes.
"""

from __future__ import annotations

import math
import struct
import sys
import zlib
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
ICONS = ROOT / "static" / "icons"

HONEY = (242, 176, 30)  # --honey in app.css, the manifest's theme colour
INK = (31, 26, 18)  # --ink
PAPER = (255, 253, 247)  # --paper, the manifest's background colour
SAMPLES = 4  # 4 x 4 samples per pixel: smooth edges


@dataclass(frozen=True)
class Icon:
    name: str
    size: int
    full_bleed: bool  # honey to the edges (maskable, Apple) or a rounded tile on paper
    hexagon: float  # the outer hexagon's radius as a share of half the size


ICON_SET = (
    Icon("icon-192.png", 192, full_bleed=False, hexagon=0.80),
    Icon("icon-512.png", 512, full_bleed=False, hexagon=0.80),
    Icon("icon-maskable-512.png", 512, full_bleed=True, hexagon=0.62),
    Icon("apple-touch-icon.png", 180, full_bleed=True, hexagon=0.72),
)


def in_hexagon(x: float, y: float, radius: float) -> bool:
    """A point-up regular hexagon centred on the origin, `radius` from centre to corner."""
    x, y = abs(x), abs(y)
    half_width = radius * math.sqrt(3) / 2
    return x <= half_width and y <= radius - x / math.sqrt(3)


def in_rounded_square(x: float, y: float, half: float, corner: float) -> bool:
    x, y = abs(x), abs(y)
    if x > half or y > half:
        return False
    inner = half - corner
    if x <= inner or y <= inner:
        return True
    return (x - inner) ** 2 + (y - inner) ** 2 <= corner**2


def colour_at(icon: Icon, x: float, y: float) -> tuple[int, int, int]:
    """The colour of one sample; (x, y) relative to the centre, in pixels."""
    half = icon.size / 2
    outer = half * icon.hexagon
    if in_hexagon(x, y, outer * 0.42):  # the cell in the middle
        return INK
    if in_hexagon(x, y, outer * 0.78):  # honey comb
        return HONEY
    if in_hexagon(x, y, outer):  # its dark rim
        return INK
    if icon.full_bleed or in_rounded_square(x, y, half, half * 0.22):
        return HONEY if icon.full_bleed else (255, 226, 160)
    return PAPER


def pixels(icon: Icon) -> bytes:
    """Rows of RGB bytes, each with PNG's filter byte (0: none) in front."""
    half = icon.size / 2
    step = 1 / SAMPLES
    offsets = [(i + 0.5) * step for i in range(SAMPLES)]
    rows = bytearray()
    for row in range(icon.size):
        rows.append(0)
        for column in range(icon.size):
            red = green = blue = 0
            for dy in offsets:
                for dx in offsets:
                    r, g, b = colour_at(icon, column + dx - half, row + dy - half)
                    red, green, blue = red + r, green + g, blue + b
            count = SAMPLES * SAMPLES
            rows += bytes((round(red / count), round(green / count), round(blue / count)))
    return bytes(rows)


def png(width: int, height: int, rgb_rows: bytes) -> bytes:
    def chunk(kind: bytes, data: bytes) -> bytes:
        crc = zlib.crc32(kind + data) & 0xFFFFFFFF
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", crc)

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)  # 8-bit RGB
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(rgb_rows, 9))
        + chunk(b"IEND", b"")
    )


def plain_png(size: int = 256, rgb: tuple[int, int, int] = (232, 230, 222)) -> bytes:
    """A one-colour square: the stand-in map tile of the end-to-end tests and Lighthouse."""
    return png(size, size, b"".join(b"\x00" + bytes(rgb) * size for _ in range(size)))


def main() -> int:
    ICONS.mkdir(parents=True, exist_ok=True)
    for icon in ICON_SET:
        path = ICONS / icon.name
        path.write_bytes(png(icon.size, icon.size, pixels(icon)))
        size = path.stat().st_size
        print(f"wrote {path.relative_to(ROOT)} ({icon.size} x {icon.size}, {size} bytes)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
