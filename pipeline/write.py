"""The one place that touches files: names, formats, dpi, metadata and atomic replacement.

Every file is first written in full to a temporary file in the destination folder and then
renamed over the destination (``os.replace``), so a reader, a second render or an interrupted
one never sees a truncated PNG, GIF or recording. Encoded bytes carry no timestamps or version
strings: the same arrays give the same bytes.
"""
from __future__ import annotations

import io
import json
import os
import tempfile
from pathlib import Path
from typing import Any, Sequence

import numpy as np

GIF_PALETTE_SAMPLE = 8
"""At most this many frames feed the GIF's single palette (evenly spaced, first and last included)."""


def write_bytes(path: Path, payload: bytes) -> None:
    """Write ``payload`` to ``path`` atomically (temporary file, fsync, rename)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(handle, "wb") as stream:
            stream.write(payload)
            stream.flush()
            os.fsync(stream.fileno())
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def json_bytes(value: Any) -> bytes:
    return (json.dumps(value, indent=2, sort_keys=True) + "\n").encode("utf-8")


def write_json(path: Path, value: Any) -> None:
    write_bytes(path, json_bytes(value))


def png_bytes(figure, dpi: int) -> bytes:
    """Encode a matplotlib Figure as PNG, with no metadata but the size.

    The renderers lay figures out tightly themselves, so no ``bbox_inches="tight"``: it
    would draw every figure twice.
    """
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    from .render import style_context

    FigureCanvasAgg(figure)
    buffer = io.BytesIO()
    with style_context():
        figure.savefig(buffer, format="png", dpi=dpi, metadata={"Software": None})
    return buffer.getvalue()


def gif_bytes(frames: Sequence[np.ndarray], frame_ms: int) -> bytes:
    """Encode RGB frames as a looping GIF with one palette shared by every frame.

    One palette means one colour per value across frames: with a fixed value range, a colour
    in frame 1 and frame 50 stands for the same number. No dithering, so flat cells stay flat.
    """
    from PIL import Image

    if not frames:
        raise ValueError("an animation needs at least one frame")
    images = [Image.fromarray(np.ascontiguousarray(frame), "RGB") for frame in frames]
    palette = _shared_palette(images)
    indexed = [image.quantize(palette=palette, dither=Image.Dither.NONE) for image in images]
    buffer = io.BytesIO()
    # Passing the palette makes Pillow write it once, globally, and no per-frame tables.
    indexed[0].save(buffer, format="GIF", save_all=True, append_images=indexed[1:],
                    palette=bytes(palette.getpalette()), duration=frame_ms, loop=0,
                    optimize=False, disposal=1)
    return buffer.getvalue()


def _shared_palette(images):
    """A 256-colour palette from a montage of (a sample of) all frames.

    Every other row and column is enough: the frames are flat cells, text and lines, and a
    quarter of the pixels makes median cut four times faster.
    """
    from PIL import Image

    count = len(images)
    picks = sorted({round(i * (count - 1) / max(1, GIF_PALETTE_SAMPLE - 1))
                    for i in range(min(count, GIF_PALETTE_SAMPLE))})
    samples = [np.asarray(images[index])[::2, ::2] for index in picks]
    montage = Image.fromarray(np.ascontiguousarray(np.concatenate(samples)), "RGB")
    return montage.quantize(colors=256, method=Image.Quantize.MEDIANCUT, dither=Image.Dither.NONE)


def npz_bytes(arrays: dict[str, np.ndarray]) -> bytes:
    """Like ``np.savez``, but with fixed zip timestamps so the same arrays give the same bytes."""
    import zipfile

    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_STORED) as archive:
        for name in sorted(arrays):
            info = zipfile.ZipInfo(f"{name}.npy", date_time=(1980, 1, 1, 0, 0, 0))
            with archive.open(info, "w", force_zip64=True) as member:
                np.lib.format.write_array(member, np.asanyarray(arrays[name]), allow_pickle=False)
    return buffer.getvalue()


def write_recording(path: Path, recording) -> None:
    """Save a recording as ``path`` (.npz arrays) plus ``path.with_suffix('.json')`` (manifest).

    The manifest is written last and carries the arrays' SHA-256, so a reader can tell a
    complete pair from a torn or corrupt one.
    """
    import hashlib

    payload = npz_bytes(recording.arrays())
    write_bytes(path, payload)
    manifest = recording.manifest()
    manifest["arrays_sha256"] = hashlib.sha256(payload).hexdigest()
    write_json(path.with_suffix(".json"), manifest)
