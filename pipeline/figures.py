"""From a figure spec and a recording to the renderer's arrays: what each kind draws.

``draw(spec, recording, file_index, dpi)`` returns a matplotlib Figure (PNG kinds) or a list of
RGB frames (animation). It reads only the recording, never trains and never writes files.
"""
from __future__ import annotations

import numpy as np

from . import dataset as datasets
from . import render
from .record import Recording, Snapshot
from .scene import MATRICES, FigureSpec, Range


def snapshots_of(spec: FigureSpec, recording: Recording) -> list[Snapshot]:
    return [recording.snapshot(epoch) for epoch in spec.epochs]


def caption(template: str | None, snapshot: Snapshot, config: dict) -> str | None:
    if template is None:
        return None
    return template.format(epoch=snapshot.epoch, loss=snapshot.loss, correct=snapshot.correct,
                           total=snapshot.total, run=config["name"], lr=config["lr"],
                           momentum=config["momentum"])


def style_of(spec: FigureSpec, caption_text: str | None = None) -> render.Style:
    return render.Style(
        cmap=spec.cmap, titles=spec.titles, xlabels=spec.xlabels, ylabels=spec.ylabels,
        caption=caption_text, size=spec.size, font_size=spec.font_size,
        value_size=spec.value_size, decimals=spec.decimals, colorbar=spec.colorbar,
        ticks=spec.ticks, layout=spec.layout,
    )


def resolve_range(value: Range, arrays: list[np.ndarray]) -> render.Range:
    """'auto' → None (each image scales itself); 'shared' → one range over all drawn arrays."""
    if value == "auto":
        return None
    if value == "shared":
        low = float(min(a.min() for a in arrays))
        high = float(max(a.max() for a in arrays))
        return (low, high) if high > low else (low - 0.5, high + 0.5)
    return value


def trinity_ranges(spec: FigureSpec, snapshots: list[Snapshot]) -> tuple[render.Range, ...]:
    return tuple(resolve_range(spec.range_of(m), [s.matrix(m) for s in snapshots]) for m in MATRICES)


def image_shape(recording: Recording) -> tuple[int, int]:
    images, _ = datasets.load(recording.config["dataset"])
    return images.shape[1], images.shape[2]


def draw(spec: FigureSpec, recording: Recording, file_index: int = 0, dpi: int = 100,
         frames: slice = slice(None)):
    """The figure (or animation frames) for ``spec.files[file_index]``.

    For an animation, ``frames`` selects which frames to draw (all by default).
    """
    if spec.kind == "animation":
        return _animation(spec, recording, snapshots_of(spec, recording), dpi, frames)
    if spec.kind == "stack":
        snapshots = snapshots_of(spec, recording)
    else:
        snapshots = [recording.snapshot(spec.epochs[file_index])]
    return _DRAWERS[spec.kind](spec, recording, snapshots, dpi)


def _captioned(spec: FigureSpec, recording: Recording, snapshot: Snapshot) -> render.Style:
    return style_of(spec, caption(spec.caption, snapshot, recording.config))


def _grid(spec, recording, snapshots, dpi):
    source = snapshots[0].matrix(spec.source)
    glyphs = source.reshape(len(source), *image_shape(recording))
    return render.glyph_grid(glyphs, spec.rows, spec.cols, _captioned(spec, recording, snapshots[0]),
                             resolve_range(spec.range_of(spec.source), [source]))


def _strips(spec, recording, snapshots, dpi):
    source = snapshots[0].matrix(spec.source)
    labels = spec.labels or tuple(str(label) for label in recording.targets)
    return render.strips(source, labels, _captioned(spec, recording, snapshots[0]),
                         resolve_range(spec.range_of(spec.source), [source]))


def _matrix(spec, recording, snapshots, dpi):
    source = snapshots[0].matrix(spec.source)
    return render.matrix(source, _captioned(spec, recording, snapshots[0]),
                         resolve_range(spec.range_of(spec.source), [source]))


def _panels(snapshot: Snapshot):
    return snapshot.data, snapshot.weights, snapshot.outputs


def _trinity(spec, recording, snapshots, dpi):
    return render.trinity(*_panels(snapshots[0]), _captioned(spec, recording, snapshots[0]),
                          trinity_ranges(spec, snapshots))


def _values(spec, recording, snapshots, dpi):
    return render.values(*_panels(snapshots[0]), _captioned(spec, recording, snapshots[0]),
                         trinity_ranges(spec, snapshots))


def _stack(spec, recording, snapshots, dpi):
    labels = [caption(spec.row_label, s, recording.config) for s in snapshots]
    # a caption on a stack speaks of its last snapshot, e.g. "after {epoch} epochs"
    return render.stack([_panels(s) for s in snapshots], labels, _captioned(spec, recording, snapshots[-1]),
                        trinity_ranges(spec, snapshots))


def _animation(spec, recording, snapshots, dpi, frames=slice(None)):
    captions = [caption(spec.caption, s, recording.config) for s in snapshots]
    return render.animation_frames([_panels(s) for s in snapshots], captions, style_of(spec),
                                   trinity_ranges(spec, snapshots), dpi=dpi, frames=frames)


_DRAWERS = {"grid": _grid, "strips": _strips, "matrix": _matrix, "trinity": _trinity,
            "values": _values, "stack": _stack}
