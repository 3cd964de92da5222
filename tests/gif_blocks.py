"""A small reader of a GIF's block structure, to check what Pillow's decoder hides."""
from __future__ import annotations

from dataclasses import dataclass


@dataclass
class GifBlocks:
    global_palette: bytes
    frames: int
    local_palettes: int
    """How many frames carry a palette of their own (0: every frame uses the global one)."""


def _skip_sub_blocks(data: bytes, at: int) -> int:
    while data[at]:
        at += data[at] + 1
    return at + 1


def read_blocks(data: bytes) -> GifBlocks:
    assert data[:6] in (b"GIF87a", b"GIF89a"), "not a GIF"
    packed = data[10]
    at = 13
    global_palette = b""
    if packed & 0x80:
        size = 3 * 2 ** ((packed & 7) + 1)
        global_palette, at = data[at:at + size], at + size
    frames = local = 0
    while data[at] != 0x3B:
        if data[at] == 0x21:  # extension: label, then sub-blocks
            at = _skip_sub_blocks(data, at + 2)
        elif data[at] == 0x2C:  # image descriptor
            flags = data[at + 9]
            at += 10
            frames += 1
            if flags & 0x80:
                local += 1
                at += 3 * 2 ** ((flags & 7) + 1)
            at = _skip_sub_blocks(data, at + 1)  # LZW minimum code size, then image data
        else:
            raise ValueError(f"unexpected GIF block 0x{data[at]:02x} at byte {at}")
    return GifBlocks(global_palette=global_palette, frames=frames, local_palettes=local)
