"""A latency histogram as a PNG, written with zlib alone (no plotting dependency): bars, axes, p50/p95/p99 marks."""
from __future__ import annotations

import struct
import zlib
from pathlib import Path

WIDTH, HEIGHT, MARGIN = 640, 320, 20
WHITE, BLACK, BLUE, RED = (255, 255, 255), (0, 0, 0), (70, 110, 200), (200, 40, 40)


def _chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)


def encode(pixels: list[list[tuple[int, int, int]]]) -> bytes:
    height, width = len(pixels), len(pixels[0])
    raw = b"".join(b"\x00" + bytes(channel for pixel in row for channel in pixel) for row in pixels)
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    data = _chunk(b"IHDR", header) + _chunk(b"IDAT", zlib.compress(raw, 9)) + _chunk(b"IEND", b"")
    return b"\x89PNG\r\n\x1a\n" + data


def histogram(values_ms: list[float], marks_ms: list[float], path: Path, bins: int = 60) -> None:
    """Bars of the latency distribution (x: 0..max ms, linear), red vertical lines at the marks."""
    pixels = [[WHITE] * WIDTH for _ in range(HEIGHT)]
    plot_w, plot_h = WIDTH - 2 * MARGIN, HEIGHT - 2 * MARGIN
    top = max(values_ms, default=1.0) or 1.0
    counts = [0] * bins
    for value in values_ms:
        counts[min(bins - 1, int(value / top * bins))] += 1
    tallest = max(counts, default=1) or 1
    bar_w = plot_w // bins
    for index, count in enumerate(counts):
        bar_h = round(count / tallest * plot_h)
        for x in range(MARGIN + index * bar_w, MARGIN + (index + 1) * bar_w - 1):
            for y in range(HEIGHT - MARGIN - bar_h, HEIGHT - MARGIN):
                pixels[y][x] = BLUE
    for mark in marks_ms:
        x = MARGIN + min(plot_w - 1, int(mark / top * plot_w))
        for y in range(MARGIN, HEIGHT - MARGIN):
            pixels[y][x] = RED
    for x in range(MARGIN, WIDTH - MARGIN):
        pixels[HEIGHT - MARGIN][x] = BLACK
    for y in range(MARGIN, HEIGHT - MARGIN + 1):
        pixels[y][MARGIN - 1] = BLACK
    path.write_bytes(encode(pixels))
