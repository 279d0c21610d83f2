"""PNG frames from an RGBA canvas.

The fast path writes the PNG itself: the canvas rows copied as they are (RGBA, filter type 0, one
filter byte per row) and deflated by ISA-L at a low level, which gives files of about the same size
as zlib in a fraction of the time; Pillow's adaptive row filters cost more again and save little on
flat diagrams. The stock path hands the canvas to Pillow's PNG writer at its lowest compression.
``benchmarks/fast_paths.py`` measures the difference.
"""

from __future__ import annotations

import io
import struct
import zlib

import numpy as np
from PIL import Image

__all__ = ["PngWriter"]

try:
    from isal.isal_zlib import compress as _isal_compress
except ImportError:  # pragma: no cover - isal is a dependency; zlib is the fallback
    _isal_compress = None


def _chunk(kind: bytes, data: bytes) -> bytes:
    """One PNG chunk: length, type, data, CRC of type + data."""
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)


class PngWriter:
    """Encodes ``(H, W, 4)`` uint8 RGBA arrays as PNG bytes (the fast path, or Pillow's writer)."""

    def __init__(self, fast: bool, compress_level: int = 1) -> None:
        self.fast = fast
        self.compress_level = compress_level
        self._rows: np.ndarray | None = None  # reused scanline buffer of the fast path

    def encode(self, rgba: np.ndarray) -> bytes:
        """PNG bytes of ``rgba (H, W, 4)`` uint8, row 0 at the top."""
        height, width = rgba.shape[:2]
        if not self.fast:
            out = io.BytesIO()
            Image.fromarray(np.ascontiguousarray(rgba)).save(out, format="png",
                                                                       compress_level=self.compress_level)
            return out.getvalue()
        if self._rows is None or self._rows.shape != (height, 1 + 4 * width):
            self._rows = np.zeros((height, 1 + 4 * width), np.uint8)  # column 0: filter type "None"
        self._rows[:, 1:] = rgba.reshape(height, 4 * width)
        header = struct.pack(">IIBBBBB", width, height, 8, 6, 0, 0, 0)  # 8-bit RGBA, no interlace
        if _isal_compress is not None:
            data = _isal_compress(self._rows.data, min(self.compress_level, 3))  # ISA-L has levels 0-3
        else:  # pragma: no cover - isal is a dependency
            data = zlib.compress(self._rows.data, self.compress_level)
        return b"\x89PNG\r\n\x1a\n" + _chunk(b"IHDR", header) + _chunk(b"IDAT", data) + _chunk(b"IEND", b"")
