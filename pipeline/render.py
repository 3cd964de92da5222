"""Pure renderers: numpy arrays in, a matplotlib ``Figure`` (or RGB frames) out.

No file I/O, no pyplot, no global state. Every figure is built with
``matplotlib.figure.Figure`` directly, inside :func:`style_context`, which pins the
few rcParams the drawings depend on on top of matplotlib's built-in defaults, so a
user's ``matplotlibrc`` cannot change the output. Save inside the same context::

    with style_context():
        fig = trinity(data, weights, outputs, Style(caption="correct: 1/10, loss: 2.4236"))
        fig.savefig(path, dpi=100, bbox_inches="tight", pad_inches=0.05,
                    metadata={"Software": None})

Layout is computed by hand in inches (no constrained/tight layout engine): every
matrix cell is a square of one size per figure, panels of a trinity share that
cell size, and after the artists are placed the figure is shrink-wrapped to its
content (with a small pad), so the figures are tight even without
``bbox_inches="tight"`` -- which is what the animation frames rely on.

Colours follow the post: ``imshow`` with ``interpolation="nearest"``, the style's
colour map (viridis: violet = the lowest value of that matrix, yellow = the highest)
and ``vmin``/``vmax`` from the given range, or the array's own min/max when the
range is ``None`` (``matshow``'s default).

Default sizes (inches) are chosen per kind so the saved PNG at dpi 100 is roughly
800-1600 px wide and never more than 2000 px on its longer side; ``Style.size``
overrides them (see :class:`Style`).
"""
from __future__ import annotations

import contextlib
import dataclasses
import math
from dataclasses import dataclass
from typing import Iterator, Sequence

import matplotlib
import numpy as np
from matplotlib import colors as mcolors
from matplotlib import ticker as mticker
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

__all__ = [
    "Range",
    "Style",
    "style_context",
    "glyph_grid",
    "strips",
    "trinity",
    "values",
    "matrix",
    "stack",
    "animation_frames",
]

Range = tuple[float, float] | None
"""``(vmin, vmax)`` for the colour map, or ``None`` = autoscale to that array's min/max."""


@dataclass(frozen=True)
class Style:
    """How a figure looks. Every field has a default that reproduces the post's intent.

    ``titles``/``xlabels``/``ylabels`` are per panel, in the order DATASET, MODEL, OUTPUT
    (trinity, values, stack, animation_frames); single-panel kinds (``matrix``,
    ``strips``) use element 0 when it is non-empty; ``glyph_grid`` uses ``titles`` as
    one title per glyph when it has exactly as many entries as there are images, and
    otherwise draws no titles.

    ``size`` is the figure size in inches the layout is fitted into: the largest cell
    size that fits is used, then the figure is trimmed to its content, so the result
    matches ``size`` in the limiting dimension and is smaller in the other. ``None``
    = the kind's own default (at most 2000 px on the longer side at dpi 100).

    ``layout``: ``"row"`` = DATASET | MODEL | OUTPUT side by side (the post),
    ``"column"`` = stacked vertically, each panel with its title above it.
    ``"auto"`` (the default) = ``"row"`` for ``trinity``/``animation_frames`` and
    ``"column"`` for ``values`` (where printed numbers need every 25-wide matrix to
    get the full figure width). ``stack`` always draws one row per snapshot.
    """

    cmap: str = "viridis"
    titles: tuple[str, ...] = ("DATASET", "MODEL", "OUTPUT")
    xlabels: tuple[str, ...] = ("25", "25", "10")
    ylabels: tuple[str, ...] = ("10", "", "")
    caption: str | None = None
    size: tuple[float, float] | None = None
    font_size: float = 14
    value_size: float | None = None
    decimals: int = 2
    colorbar: bool = False
    ticks: bool = False
    layout: str = "auto"


# --------------------------------------------------------------------------- style

# Applied on top of matplotlib's built-in defaults (what ``matplotlib.rcdefaults()``
# restores). These are the values the renderers depend on, spelled out.
_RC: dict[str, object] = {
    "font.family": ["DejaVu Sans"],  # bundled with matplotlib
    "font.size": 10.0,
    "mathtext.fontset": "dejavusans",
    "text.usetex": False,
    "text.antialiased": True,
    "text.hinting": "default",
    "text.color": "black",
    "axes.unicode_minus": True,
    "axes.linewidth": 0.8,
    "axes.edgecolor": "black",
    "axes.titlepad": 6.0,
    "axes.labelpad": 4.0,
    "axes.formatter.useoffset": False,
    "image.cmap": "viridis",
    "image.interpolation": "nearest",
    "image.interpolation_stage": "data",
    "image.resample": False,
    "image.origin": "upper",
    "image.aspect": "equal",
    "image.composite_image": True,
    "path.simplify": True,
    "path.simplify_threshold": 0.111111111111,
    "agg.path.chunksize": 0,
    "figure.dpi": 100.0,
    "figure.facecolor": "white",
    "figure.edgecolor": "white",
    "figure.autolayout": False,
    "figure.constrained_layout.use": False,
    "savefig.facecolor": "white",
    "savefig.edgecolor": "white",
    "savefig.transparent": False,
    "svg.hashsalt": "nnfigures",
    "svg.fonttype": "path",
    "pdf.fonttype": 42,
    "ps.fonttype": 42,
    "xtick.major.size": 3.5,
    "xtick.minor.size": 2.0,
    "xtick.major.pad": 3.5,
    "ytick.major.size": 3.5,
    "ytick.minor.size": 2.0,
    "ytick.major.pad": 3.5,
    "xtick.direction": "out",
    "ytick.direction": "out",
}


@contextlib.contextmanager
def style_context() -> Iterator[None]:
    """Pin the drawing style: matplotlib's built-in defaults plus the values in ``_RC``.

    rcParams changed inside are restored on exit. Render *and save* inside it: a few
    rcParams (hinting, simplification, savefig.*, svg.hashsalt) are read at draw time.
    """
    with matplotlib.rc_context():
        matplotlib.rcdefaults()  # ignores the user's matplotlibrc (keeps the backend)
        with matplotlib.rc_context(rc=_RC):
            yield


class _Figure(Figure):
    """A Figure that always draws inside :func:`style_context`.

    A few rcParams (text hinting, path simplification) are read at draw time; this keeps
    them pinned even if the caller draws or saves outside the context. Saving inside
    :func:`style_context` is still the way to pin the savefig.* parameters too.
    """

    def draw(self, renderer):
        with style_context():
            return super().draw(renderer)


# --------------------------------------------------------------------------- metrics

_PT = 1.0 / 72.0  # inches per point
_LINE = 1.22  # text line height in em (DejaVu Sans ascent + descent)
_MAX_IN = 19.6  # longest default side: 1960 px at dpi 100, + the writer's 0.05" pads
_PANEL_GAP = 0.22  # inches between side-by-side panels (beyond labels/colourbars)
_CBAR_W, _CBAR_PAD = 0.14, 0.08  # slim colourbar width and its gap to the panel (inches)
_TRIM_PAD = 0.03  # inches of white kept around the content when shrink-wrapping

# DejaVu Sans advance widths in em (digits are tabular: all 0.636).
_EM = {".": 0.318, "-": 0.361, "\u2212": 0.838, " ": 0.318, "e": 0.615, "+": 0.838}


def _em_width(text: str) -> float:
    return sum(_EM.get(ch, 0.636 if ch.isdigit() else 0.65) for ch in text)


def _tick_size(style: Style) -> float:
    return round(style.font_size * 0.72, 1)


def _title_block(style: Style) -> float:
    """Inches above a panel taken by its title."""
    return (6.0 + style.font_size * _LINE) * _PT


def _caption_block(style: Style) -> float:
    return (style.font_size * _LINE + 6.0) * _PT


def _xlabel_block(style: Style, label: str, ticks: bool) -> float:
    """Inches below a panel taken by x tick labels and the x label."""
    h = 0.0
    if ticks:
        h += (3.5 + 3.5 + _tick_size(style) * _LINE) * _PT
    if label:
        h += (4.0 + style.font_size * _LINE) * _PT
    return h


def _ylabel_block(style: Style, label: str, ticks: bool, nrows: int) -> float:
    """Inches left of a panel taken by y tick labels and the (rotated) y label."""
    w = 0.0
    if ticks:
        w += (3.5 + 3.5 + _em_width(str(max(nrows - 1, 0))) * _tick_size(style)) * _PT
    if label:
        w += (4.0 + style.font_size * _LINE) * _PT
    return w


def _cbar_block(on: bool) -> float:
    # bar + its tick labels ("-10" at ~10 pt is ~0.3")
    return _CBAR_PAD + _CBAR_W + 0.45 if on else 0.0


def _pick(seq: Sequence[str], i: int) -> str:
    return seq[i] if i < len(seq) and seq[i] else ""


# --------------------------------------------------------------------------- layout


@dataclass
class _Box:
    """A panel in inches; ``y`` measured downward from the top of the layout."""

    x: float
    y: float
    w: float
    h: float


def _fit_cell(layout, pref: float, size: tuple[float, float] | None) -> float:
    """Cell size (inches) for a layout whose extent is linear in the cell size.

    ``layout(c)`` returns (boxes, (width, height)) with the extent estimated including
    text. With ``size`` None: ``pref``, shrunk if needed to keep within ``_MAX_IN``.
    With ``size``: the largest cell for which the extent fits in ``size``.
    """
    _, (w0, h0) = layout(0.0)
    _, (w1, h1) = layout(1.0)
    aw, ah = w1 - w0, h1 - h0
    if size is None:
        limit_w = limit_h = _MAX_IN
        cell = pref
    else:
        limit_w, limit_h = float(size[0]), float(size[1])
        cell = math.inf
    cell = min(cell, (limit_w - w0) / aw if aw > 0 else math.inf,
               (limit_h - h0) / ah if ah > 0 else math.inf)
    if not math.isfinite(cell) or cell <= 0:
        raise ValueError(f"figure size {size!r} is too small for this figure")
    return cell


def _new_figure(boxes: Sequence[_Box], dpi: float) -> tuple[Figure, list]:
    """A figure holding one Axes per box, with generous provisional margins.

    The real margins come from :func:`_shrinkwrap` once all text exists.
    """
    margin = 3.0
    width = max(b.x + b.w for b in boxes) + 2 * margin
    height = max(b.y + b.h for b in boxes) + 2 * margin
    fig = _Figure(figsize=(width, height), dpi=dpi, facecolor="white")
    FigureCanvasAgg(fig)
    axes = []
    for b in boxes:
        left = (b.x + margin) / width
        bottom = (height - margin - b.y - b.h) / height
        axes.append(fig.add_axes((left, bottom, b.w / width, b.h / height)))
    return fig, axes


def _shrinkwrap(fig: Figure, pad: float = _TRIM_PAD) -> Figure:
    """Resize ``fig`` to its tight bounding box + ``pad``, moving every Axes along.

    All text in these figures is attached to an Axes (titles, labels, annotations),
    so moving the Axes moves everything. The size is rounded to whole pixels.
    """
    renderer = fig.canvas.get_renderer()
    bbox = fig.get_tightbbox(renderer)  # inches
    old_w, old_h = fig.get_size_inches()
    dpi = fig.get_dpi()
    new_w = math.ceil((bbox.width + 2 * pad) * dpi) / dpi
    new_h = math.ceil((bbox.height + 2 * pad) * dpi) / dpi
    dx = pad - bbox.x0 + (new_w - bbox.width - 2 * pad) / 2
    dy = pad - bbox.y0 + (new_h - bbox.height - 2 * pad) / 2
    for ax in fig.axes:
        p = ax.get_position()
        ax.set_position((
            (p.x0 * old_w + dx) / new_w,
            (p.y0 * old_h + dy) / new_h,
            p.width * old_w / new_w,
            p.height * old_h / new_h,
        ))
    fig.set_size_inches(new_w, new_h)
    return fig


# --------------------------------------------------------------------------- drawing


def _limits(array: np.ndarray, vrange: Range) -> tuple[float, float]:
    if vrange is None:
        finite = array[np.isfinite(array)]
        if finite.size == 0:
            return 0.0, 1.0
        return float(finite.min()), float(finite.max())
    lo, hi = float(vrange[0]), float(vrange[1])
    if lo > hi:
        raise ValueError(f"range {vrange!r}: vmin > vmax")
    return lo, hi


def _as2d(array, name: str) -> np.ndarray:
    a = np.asarray(array, dtype=float)
    if a.ndim != 2:
        raise ValueError(f"{name} must be 2-D, got shape {a.shape}")
    return a


def _set_ticks(ax, shape: tuple[int, int], style: Style, cell: float,
               x: bool = True, y: bool = True) -> None:
    """No ticks at all, or index ticks 0..n-1 (labelled every 1, 5, 10, ... so they fit)."""
    if not style.ticks:
        ax.set_xticks([])
        ax.set_yticks([])
        return
    size = _tick_size(style)
    cell_pt = cell / _PT
    ax.tick_params(which="both", labelsize=size, top=False, right=False)
    for on, n, set_ticks, need in (
        (x, shape[1], ax.set_xticks, lambda n: (_em_width(str(n - 1)) + 0.5) * size),
        (y, shape[0], ax.set_yticks, lambda n: 1.05 * size),
    ):
        if not on or n == 0:
            set_ticks([])
            continue
        step = next(s for s in (1, 5, 10, 20, 50, 100, 200, 500, 1000, 10**9)
                    if s * cell_pt >= need(n) or s >= n)
        major = list(range(0, n, step))
        set_ticks(major, labels=[str(i) for i in major])
        set_ticks(list(range(n)) if step > 1 else [], minor=True)


def _panel(ax, array: np.ndarray, style: Style, vrange: Range, cell: float,
           title: str = "", xlabel: str = "", ylabel: str = "",
           xticks: bool = True, yticks: bool = True):
    lo, hi = _limits(array, vrange)
    im = ax.imshow(array, cmap=style.cmap, vmin=lo, vmax=hi, interpolation="nearest",
                   resample=False, aspect="equal", origin="upper")
    ax.set_anchor("C")
    _set_ticks(ax, array.shape, style, cell, xticks, yticks)
    if title:
        ax.set_title(title, fontsize=style.font_size)
    if xlabel:
        ax.set_xlabel(xlabel, fontsize=style.font_size)
    if ylabel:
        ax.set_ylabel(ylabel, fontsize=style.font_size)
    return im


def _colorbar(fig: Figure, ax, im, style: Style) -> None:
    """A slim bar right of ``ax`` with a few ticks (an extra Axes placed by hand)."""
    p = ax.get_position()
    fw, _ = fig.get_size_inches()
    cax = fig.add_axes((p.x1 + _CBAR_PAD / fw, p.y0, _CBAR_W / fw, p.height))
    cb = fig.colorbar(im, cax=cax)
    cb.locator = mticker.MaxNLocator(nbins=4)
    cb.update_ticks()
    cb.ax.tick_params(labelsize=_tick_size(style), length=2.5)
    cb.outline.set_linewidth(0.6)


def _caption(ax, style: Style, text: str, above_title: bool):
    """One line of text above the top-left panel (above its title if it has one)."""
    offset = 4.0 + (_title_block(style) / _PT if above_title else 0.0)
    return ax.annotate(text, xy=(0.0, 1.0), xycoords="axes fraction",
                       xytext=(0.0, offset), textcoords="offset points",
                       ha="left", va="bottom", fontsize=style.font_size)


def _row_label(ax, style: Style, text: str, left_pt: float):
    return ax.annotate(text, xy=(0.0, 0.5), xycoords="axes fraction",
                       xytext=(-left_pt - 6.0, 0.0), textcoords="offset points",
                       ha="right", va="center", fontsize=style.font_size)


def _fmt(value: float, integer: bool, decimals: int) -> str:
    if not np.isfinite(value):
        return str(value)
    if integer:
        return f"{int(round(value)):d}"
    text = f"{value:.{decimals}f}"
    if text.startswith("-") and float(text) == 0.0:
        text = text[1:]  # no "-0.00"
    return text


def _text_colours(array: np.ndarray, cmap: str, lo: float, hi: float) -> np.ndarray:
    """'black' or 'white' per cell, whichever contrasts more with the cell's colour."""
    norm = mcolors.Normalize(vmin=lo, vmax=hi)
    rgb = matplotlib.colormaps[cmap](norm(array))[..., :3]
    linear = np.where(rgb <= 0.04045, rgb / 12.92, ((rgb + 0.055) / 1.055) ** 2.4)
    luminance = linear @ np.array([0.2126, 0.7152, 0.0722])
    # WCAG: contrast with black (L+.05)/.05 beats white 1.05/(L+.05) when L > ~0.179
    return np.where(luminance > 0.179, "black", "white")


def _print_values(ax, array: np.ndarray, style: Style, vrange: Range, cell: float,
                  integer: bool) -> None:
    texts = [[_fmt(v, integer, style.decimals) for v in row] for row in array]
    if style.value_size is not None:
        size = float(style.value_size)
    else:
        widest = max((_em_width(t) for row in texts for t in row), default=1.0) or 1.0
        cell_pt = cell / _PT
        size = min(0.8 * cell_pt / widest, 0.5 * cell_pt, style.font_size)
    lo, hi = _limits(array, vrange)
    colours = _text_colours(array, style.cmap, lo, hi)
    for (r, c), text in np.ndenumerate(np.array(texts, dtype=object)):
        t = ax.text(c, r, text, ha="center", va="center_baseline", fontsize=size,
                    color=colours[r, c])
        t.set_in_layout(False)  # inside its cell: no need to measure it for the layout


# --------------------------------------------------------------------------- trinity


def _layout_mode(style: Style, default: str) -> str:
    mode = default if style.layout == "auto" else style.layout
    if mode not in ("row", "column"):
        raise ValueError(f"layout must be 'row', 'column' or 'auto', got {style.layout!r}")
    return mode


def _trinity_layout(shapes, style: Style, mode: str):
    """Boxes for three (or any number of) panels side by side or stacked."""
    titles = [_pick(style.titles, i) for i in range(len(shapes))]
    xls = [_pick(style.xlabels, i) for i in range(len(shapes))]
    yls = [_pick(style.ylabels, i) for i in range(len(shapes))]
    top = (_caption_block(style) if style.caption else 0.0) + (
        _title_block(style) if any(titles) else 0.0)

    def layout(c: float):
        boxes = []
        if mode == "row":
            x = _ylabel_block(style, yls[0], style.ticks, shapes[0][0])
            for i, (r, k) in enumerate(shapes):
                if i:
                    x += (_PANEL_GAP + _cbar_block(style.colorbar)
                          + _ylabel_block(style, yls[i], style.ticks, r))
                boxes.append(_Box(x, top, k * c, r * c))
                x += k * c
            x += _cbar_block(style.colorbar)
            bottom = max(_xlabel_block(style, xl, style.ticks) for xl in xls)
            height = top + max(b.h for b in boxes) + bottom
            return boxes, (x, height)
        # column: stacked, centred on the widest panel
        left = max(_ylabel_block(style, yl, style.ticks, s[0]) for yl, s in zip(yls, shapes))
        widest = max(k for _, k in shapes) * c
        y = top
        for i, (r, k) in enumerate(shapes):
            if i:
                y += (_xlabel_block(style, xls[i - 1], style.ticks) + 0.2
                      + (_title_block(style) if titles[i] else 0.0))
            boxes.append(_Box(left + (widest - k * c) / 2, y, k * c, r * c))
            y += r * c
        y += _xlabel_block(style, xls[-1], style.ticks)
        return boxes, (left + widest + _cbar_block(style.colorbar), y)

    return layout, titles, xls, yls


def _draw_trinity(arrays, style: Style, ranges, mode: str, pref: float, dpi: float,
                  printed: bool, caption: str | None = None):
    shapes = [a.shape for a in arrays]
    layout, titles, xls, yls = _trinity_layout(shapes, style, mode)
    cell = _fit_cell(layout, pref, style.size)
    boxes, _ = layout(cell)
    fig, axes = _new_figure(boxes, dpi)
    images = []
    for i, (ax, a) in enumerate(zip(axes, arrays)):
        images.append(_panel(ax, a, style, ranges[i], cell, titles[i], xls[i], yls[i]))
        if printed:
            _print_values(ax, a, style, ranges[i], cell, integer=(i == 0))
    text = caption if caption is not None else style.caption
    above = any(titles) if mode == "row" else bool(titles[0])
    cap = _caption(axes[0], style, text, above) if text else None
    _shrinkwrap(fig)
    if style.colorbar:
        for ax, im in zip(axes, images):
            _colorbar(fig, ax, im, style)
        _shrinkwrap(fig)
    return fig, axes, images, cap


def _three(data, weights, outputs, ranges):
    arrays = [_as2d(data, "data"), _as2d(weights, "weights"), _as2d(outputs, "outputs")]
    ranges = tuple(ranges)
    if len(ranges) != 3:
        raise ValueError("ranges must have three entries (DATASET, MODEL, OUTPUT)")
    return arrays, ranges


def trinity(data, weights, outputs, style: Style, ranges=(None, None, None)) -> Figure:
    """DATASET | MODEL | OUTPUT heat maps: data (10,25), weights (10,25), outputs (10,10).

    All panels share one square cell size (so 10 rows are equally tall in every panel).
    Default (row layout): 0.17" cells, about 1100 x 230 px at dpi 100 (260 with a
    caption); ``layout="column"``: 0.36" cells, about 935 x 1300 px.
    """
    with style_context():
        arrays, ranges = _three(data, weights, outputs, ranges)
        mode = _layout_mode(style, "row")
        pref = 0.17 if mode == "row" else 0.36
        fig, *_ = _draw_trinity(arrays, style, ranges, mode, pref, 100.0, printed=False)
        return fig


def values(data, weights, outputs, style: Style, ranges=(None, None, None)) -> Figure:
    """The trinity with every cell's value printed in it.

    Data are printed as integers (``"{:d}"``), weights and outputs with
    ``style.decimals`` decimals. Each number is centred in its cell, black on light
    cells and white on dark ones (chosen from the colour map's luminance), sized to fit
    the cell unless ``style.value_size`` is given.

    Recommended layout: ``"column"`` (the default via ``layout="auto"``): DATASET, MODEL
    and OUTPUT stacked so each 25-wide matrix gets the full width -- 0.58" cells, about
    1480 x 1955 px at dpi 100; numbers with 2 decimals print at ~13 pt (readable with
    the PNG shown 800 px wide), with 4 decimals at ~8.6 pt (crisp at full size, but
    at 800 px wide a reader has to zoom, as the post itself says). ``layout="row"`` is
    honoured (0.31" cells, about 1960 x 370 px), but then the numbers are only ~7 pt
    (2 decimals) or ~4.7 pt (4 decimals): readable only when zoomed in.
    """
    with style_context():
        arrays, ranges = _three(data, weights, outputs, ranges)
        mode = _layout_mode(style, "column")
        pref = 0.6  # shrunk to the 1960 px limit: 0.58" (column) or 0.31" (row)
        fig, *_ = _draw_trinity(arrays, style, ranges, mode, pref, 100.0, printed=True)
        return fig


# --------------------------------------------------------------------------- others


def matrix(array, style: Style, vrange: Range = None) -> Figure:
    """One matrix, e.g. the final weights with ``vrange=(-10, 10)`` and a colourbar.

    Uses ``titles[0]``, ``xlabels[0]``, ``ylabels[0]`` when non-empty.
    Default: 0.36" cells; a titled and labelled 10x25 matrix is about 940 x 410 px at
    dpi 100, 1000 x 420 px with the colourbar.
    """
    with style_context():
        a = _as2d(array, "array")
        title, xl, yl = _pick(style.titles, 0), _pick(style.xlabels, 0), _pick(style.ylabels, 0)
        top = (_caption_block(style) if style.caption else 0.0) + (
            _title_block(style) if title else 0.0)

        def layout(c):
            left = _ylabel_block(style, yl, style.ticks, a.shape[0])
            box = _Box(left, top, a.shape[1] * c, a.shape[0] * c)
            return [box], (left + box.w + _cbar_block(style.colorbar),
                           top + box.h + _xlabel_block(style, xl, style.ticks))

        cell = _fit_cell(layout, 0.36, style.size)
        boxes, _ = layout(cell)
        fig, (ax,) = _new_figure(boxes, 100.0)
        im = _panel(ax, a, style, vrange, cell, title, xl, yl)
        if style.caption:
            _caption(ax, style, style.caption, bool(title))
        _shrinkwrap(fig)
        if style.colorbar:
            _colorbar(fig, ax, im, style)
            _shrinkwrap(fig)
        return fig


def glyph_grid(images, rows: int, cols: int, style: Style, vrange: Range = None) -> Figure:
    """Images (N,h,w) in a rows x cols grid, filled row by row (N <= rows*cols).

    ``vrange`` None autoscales each glyph on its own (the post's behaviour); a tuple
    gives all glyphs the same fixed range (e.g. weights reshaped to 5x5 with
    ``(-10, 10)``), and then ``style.colorbar`` adds one shared bar at the right.
    Per-glyph titles come from ``style.titles`` when it has exactly N entries.
    Default: 5x5 glyphs of 1.6" (0.32" pixels); a 2x5 grid is about 860 x 340 px at
    dpi 100 (430 px tall with per-glyph titles).
    """
    with style_context():
        imgs = np.asarray(images, dtype=float)
        if imgs.ndim != 3:
            raise ValueError(f"images must be (N, h, w), got shape {imgs.shape}")
        n, h, w = imgs.shape
        if rows < 1 or cols < 1 or n > rows * cols:
            raise ValueError(f"{n} images do not fit a {rows}x{cols} grid")
        titles = list(style.titles) if len(style.titles) == n else [""] * n
        has_titles = any(titles)
        gap = 0.12
        top = (_caption_block(style) if style.caption else 0.0) + (
            _title_block(style) if has_titles else 0.0)
        hgap = gap + _ylabel_block(style, "", style.ticks, h)
        vgap = gap + _xlabel_block(style, "", style.ticks) + (
            _title_block(style) if has_titles else 0.0)
        shared_bar = style.colorbar and vrange is not None

        def layout(c):
            boxes = [_Box(hgap * j + w * c * j, top + (vgap + h * c) * i, w * c, h * c)
                     for i in range(rows) for j in range(cols)][:n]
            width = cols * w * c + (cols - 1) * hgap + _cbar_block(shared_bar)
            height = top + rows * h * c + (rows - 1) * vgap + _xlabel_block(style, "", style.ticks)
            return boxes, (width, height)

        cell = _fit_cell(layout, 0.32, style.size)
        boxes, _ = layout(cell)
        fig, axes = _new_figure(boxes, 100.0)
        im = None
        for k, (ax, img) in enumerate(zip(axes, imgs)):
            im = _panel(ax, img, style, vrange, cell, titles[k])
        if style.caption:
            _caption(axes[0], style, style.caption, has_titles)
        _shrinkwrap(fig)
        if shared_bar and im is not None:
            _grid_colorbar(fig, axes, cols, im, style)
            _shrinkwrap(fig)
        return fig


def _grid_colorbar(fig: Figure, axes, cols: int, im, style: Style) -> None:
    fw, _ = fig.get_size_inches()
    right = axes[min(cols, len(axes)) - 1].get_position().x1
    y0 = min(ax.get_position().y0 for ax in axes)
    y1 = max(ax.get_position().y1 for ax in axes)
    cax = fig.add_axes((right + _CBAR_PAD / fw, y0, _CBAR_W / fw, y1 - y0))
    cb = fig.colorbar(im, cax=cax)
    cb.locator = mticker.MaxNLocator(nbins=4)
    cb.update_ticks()
    cb.ax.tick_params(labelsize=_tick_size(style), length=2.5)
    cb.outline.set_linewidth(0.6)


def strips(vectors, labels, style: Style, vrange: Range = None) -> Figure:
    """Each vector (N,L) as a 1xL strip, stacked, with ``labels[i]`` at the left of strip i.

    ``vrange`` None autoscales each strip on its own (as the post's per-strip matshow).
    ``titles[0]`` goes above the top strip and ``xlabels[0]`` below the bottom one when
    non-empty (set them to "" for the post's bare picture); ``style.ylabels`` is unused.
    Default: 0.32" cells; ten 25-long strips are about 830 x 420 px at dpi 100 bare,
    830 x 460 px with the title and x label.
    """
    with style_context():
        v = _as2d(vectors, "vectors")
        n, length = v.shape
        labels = ["" if x is None else str(x) for x in labels]
        if len(labels) != n:
            raise ValueError(f"{len(labels)} labels for {n} strips")
        title, xl = _pick(style.titles, 0), _pick(style.xlabels, 0)
        top = (_caption_block(style) if style.caption else 0.0) + (
            _title_block(style) if title else 0.0)
        label_w = max((_em_width(s) for s in labels), default=0.0) * style.font_size * _PT + 0.1

        def layout(c):
            gap = 0.3 * c
            boxes = [_Box(label_w, top + i * (c + gap), length * c, c) for i in range(n)]
            height = top + n * c + (n - 1) * gap + _xlabel_block(style, xl, style.ticks)
            return boxes, (label_w + length * c, height)

        cell = _fit_cell(layout, 0.32, style.size)
        boxes, _ = layout(cell)
        fig, axes = _new_figure(boxes, 100.0)
        for i, (ax, vec) in enumerate(zip(axes, v)):
            last = i == n - 1
            _panel(ax, vec[None, :], style, vrange, cell, title if i == 0 else "",
                   xl if last else "", "", xticks=last, yticks=False)
            _row_label(ax, style, labels[i], 0.0)
        if style.caption:
            _caption(axes[0], style, style.caption, bool(title))
        return _shrinkwrap(fig)


def stack(rows, row_labels, style: Style, ranges=(None, None, None)) -> Figure:
    """Snapshots as a table: one figure row per (data, weights, outputs), columns
    DATASET, MODEL, OUTPUT named once at the top, ``row_labels[i]`` (e.g. "epoch 4") at
    the left of row i, ``xlabels`` once below the last row.

    ``ranges`` None entries autoscale every matrix on its own (per snapshot).
    Default: 0.17" cells, shrunk to stay <= 1960 px tall; 11 snapshots are about
    1130 x 1955 px at dpi 100 (0.164" cells). Many more rows make it narrow: 26 rows
    are only ~535 px wide.
    """
    with style_context():
        rows = [_three(d, w, o, ranges)[0] for d, w, o in rows]
        ranges = tuple(ranges)
        if len(ranges) != 3:
            raise ValueError("ranges must have three entries (DATASET, MODEL, OUTPUT)")
        if not rows:
            raise ValueError("stack needs at least one snapshot")
        labels = ["" if x is None else str(x) for x in row_labels]
        if len(labels) != len(rows):
            raise ValueError(f"{len(labels)} row labels for {len(rows)} snapshots")
        shapes = [a.shape for a in rows[0]]
        for snap in rows:
            if [a.shape for a in snap] != shapes:
                raise ValueError("all snapshots must have the same shapes")
        titles = [_pick(style.titles, i) for i in range(3)]
        xls = [_pick(style.xlabels, i) for i in range(3)]
        top = (_caption_block(style) if style.caption else 0.0) + (
            _title_block(style) if any(titles) else 0.0)
        ytick_w = _ylabel_block(style, "", style.ticks, shapes[0][0])
        label_w = max(_em_width(s) for s in labels) * style.font_size * _PT + 0.1 + ytick_w
        rgap = 0.1

        def layout(c):
            boxes = []
            row_h = max(r for r, _ in shapes) * c
            for i in range(len(rows)):
                x = label_w
                for j, (r, k) in enumerate(shapes):
                    if j:
                        x += _PANEL_GAP + ytick_w
                    boxes.append(_Box(x, top + i * (row_h + rgap), k * c, r * c))
                    x += k * c
            height = (top + len(rows) * row_h + (len(rows) - 1) * rgap
                      + max(_xlabel_block(style, xl, style.ticks) for xl in xls))
            return boxes, (x, height)

        cell = _fit_cell(layout, 0.17, style.size)
        boxes, _ = layout(cell)
        fig, axes = _new_figure(boxes, 100.0)
        last = len(rows) - 1
        for i, snap in enumerate(rows):
            for j, a in enumerate(snap):
                ax = axes[3 * i + j]
                _panel(ax, a, style, ranges[j], cell,
                       titles[j] if i == 0 else "", xls[j] if i == last else "", "",
                       xticks=(i == last), yticks=True)
            _row_label(axes[3 * i], style, labels[i], ytick_w / _PT)
        if style.caption:
            _caption(axes[0], style, style.caption, bool(titles[0]))
        return _shrinkwrap(fig)


def animation_frames(rows, captions, style: Style, ranges=(None, None, None),
                     dpi=100, frames: slice = slice(None)) -> list[np.ndarray]:
    """One trinity frame per (data, weights, outputs) in ``rows``, as HxWx3 uint8 arrays.

    One figure is built and drawn once; per frame only its three images (``set_data``,
    ``set_clim`` where autoscaling), their frames and the caption are redrawn over a copy
    of that first drawing (blitting), so every frame has the same size and costs little.
    ``captions[i]`` is frame i's text, e.g. "epoch 12   loss 0.9058   correct 10/10";
    the figure is laid out for the widest caption. ``style.caption`` is not used.
    Default: like :func:`trinity`; with a caption 1095 x 259 px at dpi 100, and
    proportionally at other ``dpi``. ``frames`` draws only those frames, laid out exactly as
    all of them would be, so that processes can share an animation's frames.
    """
    with style_context():
        snaps = [_three(d, w, o, ranges)[0] for d, w, o in rows]
        ranges = tuple(ranges)
        captions = ["" if c is None else str(c) for c in captions]  # None = no text
        if len(captions) != len(snaps):
            raise ValueError(f"{len(captions)} captions for {len(snaps)} frames")
        if not snaps:
            return []
        shapes = [a.shape for a in snaps[0]]
        for snap in snaps:
            if [a.shape for a in snap] != shapes:
                raise ValueError("all frames must have the same shapes")
        mode = _layout_mode(style, "row")
        pref = 0.17 if mode == "row" else 0.36
        has_caption = any(captions)
        layout_style = dataclasses.replace(style, caption="x" if has_caption else None)
        fig, _axes, images, cap = _draw_trinity(snaps[0], layout_style, ranges, mode, pref,
                                                float(dpi), printed=False, caption=None)
        if cap is not None:
            # Lay out for the widest caption so no frame's text is cut off. Measuring every
            # caption costs more than drawing them, so measure only the few that the
            # DejaVu advance widths say are widest (they differ by a digit or two).
            renderer = fig.canvas.get_renderer()
            estimate = sorted(set(captions), key=lambda text: (-_em_width(text), text))[:4]
            widths = []
            for text in estimate:
                cap.set_text(text)
                widths.append(cap.get_window_extent(renderer).width)
            cap.set_text(estimate[int(np.argmax(widths))])
            _shrinkwrap(fig)
        # Blit: draw the still parts once, then per frame only the images, their frames
        # (spines) and the caption over a copy of that background.
        moving = [*images, *([cap] if cap is not None else [])]
        for artist in moving:
            artist.set_animated(True)  # left out of canvas.draw(): the background
        canvas = fig.canvas
        canvas.draw()
        background = canvas.copy_from_bbox(fig.bbox)
        spines = [spine for ax in _axes for spine in ax.spines.values()]
        drawn = []
        for snap, text in list(zip(snaps, captions))[frames]:
            canvas.restore_region(background)
            for im, a, r in zip(images, snap, ranges):
                im.set_data(a)
                im.set_clim(*_limits(a, r))
            if cap is not None:
                cap.set_text(text)
            for artist in [*images, *spines, *moving[len(images):]]:
                fig.draw_artist(artist)
            drawn.append(np.asarray(canvas.buffer_rgba())[..., :3].copy())
        return drawn
