"""Tests for pipeline.render: pure renderers, arrays in, Figures / RGB frames out."""
from __future__ import annotations

import io
import re

import matplotlib

matplotlib.use("Agg")

import numpy as np
import pytest
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.text import Annotation
from PIL import Image

from pipeline import render
from pipeline.dataset import load
from pipeline.render import Style


def _log_softmax(z):
    z = z - z.max(axis=1, keepdims=True)
    return z - np.log(np.exp(z).sum(axis=1, keepdims=True))


@pytest.fixture(scope="module")
def arrays():
    images, _ = load("vanangamudi")
    data = images.reshape(10, 25)
    weights = np.random.default_rng(0).uniform(-0.2, 0.2, (10, 25)).astype(np.float32)
    trained = (weights * 40 + 8 * (data - data.mean(0))).astype(np.float32)
    return {
        "images": images,
        "data": data,
        "weights": weights,
        "outputs": _log_softmax(data @ weights.T),
        "trained": trained,
        "trained_out": _log_softmax(data @ trained.T),
    }


def _image_axes(fig):
    return [ax for ax in fig.axes if ax.images]


def _cell_texts(ax):
    return [t for t in ax.texts if not isinstance(t, Annotation)]


def _annotations(fig):
    return [t.get_text() for ax in fig.axes for t in ax.texts if isinstance(t, Annotation)]


def _rgba(fig) -> bytes:
    canvas = FigureCanvasAgg(fig)
    canvas.draw()
    return bytes(canvas.buffer_rgba())


def _saved_size(fig):
    buf = io.BytesIO()
    with render.style_context():
        fig.savefig(buf, format="png", dpi=100, bbox_inches="tight", pad_inches=0.05,
                    metadata={"Software": None})
    return Image.open(io.BytesIO(buf.getvalue())).size


def _cell_inches(fig, ax):
    """(cell width, cell height) of an image Axes in inches."""
    w, h = fig.get_size_inches()
    p = ax.get_position()
    rows, cols = ax.images[0].get_array().shape[:2]
    return p.width * w / cols, p.height * h / rows


# ------------------------------------------------------------------------- trinity


def test_trinity_panels_titles_labels(arrays):
    a = arrays
    fig = render.trinity(a["data"], a["weights"], a["outputs"], Style())
    assert isinstance(fig, Figure)
    axes = _image_axes(fig)
    assert len(axes) == 3
    assert [ax.get_title() for ax in axes] == ["DATASET", "MODEL", "OUTPUT"]
    assert [ax.get_xlabel() for ax in axes] == ["25", "25", "10"]
    assert [ax.get_ylabel() for ax in axes] == ["10", "", ""]
    for ax in axes:
        assert list(ax.get_xticks()) == [] and list(ax.get_yticks()) == []
        im = ax.images[0]
        assert im.get_interpolation() == "nearest"
        assert im.get_cmap().name == "viridis"


def test_trinity_autoscale_and_fixed_ranges(arrays):
    a = arrays
    fig = render.trinity(a["data"], a["weights"], a["outputs"], Style())
    for ax, arr in zip(_image_axes(fig), (a["data"], a["weights"], a["outputs"])):
        assert ax.images[0].get_clim() == pytest.approx((arr.min(), arr.max()))
    fig = render.trinity(a["data"], a["weights"], a["outputs"], Style(),
                         ranges=((0, 1), (-10, 10), None))
    clims = [ax.images[0].get_clim() for ax in _image_axes(fig)]
    assert clims[0] == (0, 1) and clims[1] == (-10, 10)
    assert clims[2] == pytest.approx((a["outputs"].min(), a["outputs"].max()))


def test_trinity_square_cells_shared_size(arrays):
    a = arrays
    for layout in ("row", "column"):
        fig = render.trinity(a["data"], a["weights"], a["outputs"], Style(layout=layout))
        cells = [_cell_inches(fig, ax) for ax in _image_axes(fig)]
        for cw, ch in cells:
            assert cw == pytest.approx(ch, rel=1e-6)
            assert cw == pytest.approx(cells[0][0], rel=1e-6)
        axes = _image_axes(fig)
        tops = [ax.get_position().y1 for ax in axes]
        if layout == "row":
            assert tops[0] == pytest.approx(tops[1]) == pytest.approx(tops[2])
        else:
            assert tops[0] > tops[1] > tops[2]


def test_trinity_caption_and_ticks(arrays):
    a = arrays
    fig = render.trinity(a["data"], a["weights"], a["outputs"],
                         Style(caption="correct: 1/10, loss: 2.4236", ticks=True))
    assert _annotations(fig) == ["correct: 1/10, loss: 2.4236"]
    ax = _image_axes(fig)[0]
    assert list(ax.get_yticks()) == list(range(10))
    xt = [t.get_text() for t in ax.get_xticklabels()]
    assert xt[0] == "0" and "20" in xt
    # matrix has big cells: every pixel index is labelled, so "pixel 17" can be found
    fig = render.matrix(a["trained"], Style(ticks=True), vrange=(-10, 10))
    assert [t.get_text() for t in _image_axes(fig)[0].get_xticklabels()] == [
        str(i) for i in range(25)]


def test_bad_layout_rejected(arrays):
    a = arrays
    with pytest.raises(ValueError):
        render.trinity(a["data"], a["weights"], a["outputs"], Style(layout="diagonal"))


# ------------------------------------------------------------------------- values


def test_values_prints_every_cell(arrays):
    a = arrays
    fig = render.values(a["data"], a["weights"], a["outputs"], Style(decimals=2))
    axes = _image_axes(fig)
    assert len(axes) == 3
    assert [ax.get_title() for ax in axes] == ["DATASET", "MODEL", "OUTPUT"]
    texts = [[t.get_text() for t in _cell_texts(ax)] for ax in axes]
    assert [len(t) for t in texts] == [250, 250, 100]
    assert set(texts[0]) == {"0", "1"}
    two = re.compile(r"^-?\d+\.\d{2}$")
    assert all(two.match(t) for t in texts[1] + texts[2])
    # positions: text i sits in the centre of cell (row, col) in row-major order
    t = _cell_texts(axes[1])[3]
    assert t.get_position() == (3, 0)
    assert t.get_text() == f"{a['weights'][0, 3]:.2f}"
    assert any(s.startswith("-0.") for s in texts[1])


def test_values_decimals_and_no_negative_zero(arrays):
    a = arrays
    w = a["weights"].copy()
    w[0, 0] = -0.0001
    fig = render.values(a["data"], w, a["outputs"], Style(decimals=4))
    texts = [t.get_text() for t in _cell_texts(_image_axes(fig)[1])]
    assert texts[0] == "-0.0001"
    assert all(re.match(r"^-?\d\.\d{4}$", s) for s in texts)
    fig = render.values(a["data"], w, a["outputs"], Style(decimals=2))
    assert _cell_texts(_image_axes(fig)[1])[0].get_text() == "0.00"


def test_values_text_contrast(arrays):
    a = arrays
    fig = render.values(a["data"], a["weights"], a["outputs"], Style())
    ax = _image_axes(fig)[1]
    colours = np.array([t.get_color() for t in _cell_texts(ax)]).reshape(10, 25)
    lo = np.unravel_index(np.argmin(a["weights"]), (10, 25))
    hi = np.unravel_index(np.argmax(a["weights"]), (10, 25))
    assert colours[lo] == "white"  # on violet
    assert colours[hi] == "black"  # on yellow
    data_colours = np.array([t.get_color() for t in _cell_texts(_image_axes(fig)[0])])
    assert set(data_colours[a["data"].ravel() == 1]) == {"black"}
    assert set(data_colours[a["data"].ravel() == 0]) == {"white"}


def test_values_layouts(arrays):
    a = arrays
    col = render.values(a["data"], a["weights"], a["outputs"], Style())  # auto = column
    tops = [ax.get_position().y1 for ax in _image_axes(col)]
    assert tops[0] > tops[1] > tops[2]
    row = render.values(a["data"], a["weights"], a["outputs"], Style(layout="row"))
    tops = [ax.get_position().y1 for ax in _image_axes(row)]
    assert tops[0] == pytest.approx(tops[2])
    # fitted value text is bigger in the column layout
    size = lambda f: _cell_texts(_image_axes(f)[1])[0].get_fontsize()
    assert size(col) > size(row)
    fixed = render.values(a["data"], a["weights"], a["outputs"], Style(value_size=7))
    assert size(fixed) == 7


# ------------------------------------------------------------------------- others


def test_matrix_range_colorbar_labels(arrays):
    a = arrays
    style = Style(titles=("MODEL",), xlabels=("25",), ylabels=("10",), colorbar=True)
    fig = render.matrix(a["trained"], style, vrange=(-10, 10))
    axes = _image_axes(fig)
    assert len(axes) == 1 and len(fig.axes) == 2  # + the colourbar
    ax = axes[0]
    assert ax.images[0].get_clim() == (-10, 10)
    assert (ax.get_title(), ax.get_xlabel(), ax.get_ylabel()) == ("MODEL", "25", "10")
    bar = [x for x in fig.axes if x is not ax][0]
    assert 2 <= len(bar.get_yticks()) <= 6
    fig = render.matrix(a["trained"], Style(titles=("",), xlabels=("",), ylabels=("",)))
    ax = _image_axes(fig)[0]
    assert (ax.get_title(), ax.get_xlabel(), ax.get_ylabel()) == ("", "", "")
    assert len(fig.axes) == 1


def test_glyph_grid_autoscale_each_and_fixed(arrays):
    imgs = arrays["trained"].reshape(10, 5, 5)
    fig = render.glyph_grid(imgs, 2, 5, Style())
    axes = _image_axes(fig)
    assert len(axes) == 10
    for ax, img in zip(axes, imgs):
        assert ax.images[0].get_clim() == pytest.approx((img.min(), img.max()))
        assert ax.get_title() == ""
    clims = {ax.images[0].get_clim() for ax in axes}
    assert len(clims) == 10  # each glyph on its own scale
    fig = render.glyph_grid(imgs, 2, 5, Style(colorbar=True), vrange=(-10, 10))
    assert {ax.images[0].get_clim() for ax in _image_axes(fig)} == {(-10, 10)}
    assert len(fig.axes) == 11
    # grid order: row by row
    pos = [ax.get_position() for ax in _image_axes(fig)]
    assert pos[0].y0 == pytest.approx(pos[4].y0) and pos[5].y0 < pos[0].y0
    assert pos[0].x0 < pos[1].x0


def test_glyph_grid_titles_and_capacity(arrays):
    imgs = arrays["images"]
    fig = render.glyph_grid(imgs, 2, 5, Style(titles=tuple("0123456789")))
    assert [ax.get_title() for ax in _image_axes(fig)] == list("0123456789")
    fig = render.glyph_grid(imgs[:7], 2, 4, Style())
    assert len(_image_axes(fig)) == 7
    with pytest.raises(ValueError):
        render.glyph_grid(imgs, 2, 4, Style())


def test_strips(arrays):
    data = arrays["data"]
    labels = [str(i) for i in range(10)]
    fig = render.strips(data, labels, Style(titles=("",), xlabels=("",)))
    axes = _image_axes(fig)
    assert len(axes) == 10
    assert all(ax.images[0].get_array().shape == (1, 25) for ax in axes)
    assert _annotations(fig) == labels
    tops = [ax.get_position().y1 for ax in axes]
    assert tops == sorted(tops, reverse=True)
    fig = render.strips(data, labels, Style())
    axes = _image_axes(fig)
    assert axes[0].get_title() == "DATASET" and axes[-1].get_xlabel() == "25"
    assert [ax.get_title() for ax in axes[1:]] == [""] * 9


def test_stack(arrays):
    a = arrays
    snaps = [(a["data"], a["weights"] * k, a["outputs"] * k) for k in (1, 2, 3, 4)]
    labels = ["epoch 0", "epoch 2", "epoch 4", "epoch 6"]
    fig = render.stack(snaps, labels, Style(), ranges=(None, (-1, 1), None))
    axes = _image_axes(fig)
    assert len(axes) == 12
    titles = [ax.get_title() for ax in axes]
    assert titles[:3] == ["DATASET", "MODEL", "OUTPUT"] and set(titles[3:]) == {""}
    assert [ax.get_xlabel() for ax in axes[-3:]] == ["25", "25", "10"]
    assert set(ax.get_xlabel() for ax in axes[:-3]) == {""}
    assert _annotations(fig) == labels
    assert {axes[3 * i + 1].images[0].get_clim() for i in range(4)} == {(-1, 1)}
    out = axes[3 * 2 + 2].images[0]
    assert out.get_clim() == pytest.approx((a["outputs"].min() * 3, a["outputs"].max() * 3))
    cells = {round(_cell_inches(fig, ax)[0], 9) for ax in axes}
    assert len(cells) == 1


# ------------------------------------------------------------------------- animation


def test_animation_frames(arrays):
    a = arrays
    rows = [(a["data"], a["weights"], a["outputs"]),
            (a["data"], a["trained"], a["trained_out"]),
            (a["data"], a["weights"] * 2, a["outputs"])]
    caps = ["epoch 0   loss 2.4236   correct 1/10",
            "epoch 12   loss 0.9058   correct 10/10",
            "epoch 2   loss 2.1284   correct 3/10"]
    frames = render.animation_frames(rows, caps, Style())
    assert len(frames) == 3
    assert all(f.dtype == np.uint8 and f.ndim == 3 and f.shape[2] == 3 for f in frames)
    assert len({f.shape for f in frames}) == 1
    h, w, _ = frames[0].shape
    assert w <= 2000 and h <= 2000 and w > h
    assert not np.array_equal(frames[0], frames[1])
    # only the caption differs between frames 0 and 2 (weights*2 autoscales identically)
    diff = np.argwhere((frames[0] != frames[2]).any(axis=2))
    assert diff.size and diff[:, 0].max() < h // 4
    again = render.animation_frames(rows, caps, Style())
    assert all(x.tobytes() == y.tobytes() for x, y in zip(frames, again))
    small = render.animation_frames(rows[:1], caps[:1], Style(), dpi=50)
    assert abs(small[0].shape[1] - w / 2) <= 2
    # a white margin, but a thin one: the content reaches close to every edge
    ink = np.argwhere((frames[1] < 250).any(axis=2))
    assert ink[:, 0].min() <= 8 and ink[:, 1].min() <= 8
    assert ink[:, 0].max() >= h - 9 and ink[:, 1].max() >= w - 9


def test_animation_fixed_range(arrays):
    a = arrays
    rows = [(a["data"], a["weights"], a["outputs"]), (a["data"], a["weights"] * 2, a["outputs"])]
    frames = render.animation_frames(rows, ["", ""], Style(), ranges=(None, (-1, 1), None))
    assert not np.array_equal(frames[0], frames[1])
    # no captions at all (None): no caption line is reserved, so the frame is shorter
    bare = render.animation_frames(rows, [None, None], Style(), ranges=(None, (-1, 1), None))
    assert np.array_equal(bare[0], frames[0])
    cap = render.animation_frames(rows, ["epoch 0", "epoch 1"], Style())
    assert cap[0].shape[0] > bare[0].shape[0]


# ------------------------------------------------------------------------- style, size


@pytest.fixture(scope="module")
def all_figures(arrays):
    a = arrays
    snaps = [(a["data"], a["weights"] * k, a["outputs"]) for k in range(1, 12)]
    return {
        "glyph_grid": render.glyph_grid(a["images"], 2, 5, Style()),
        "strips": render.strips(a["data"], list("0123456789"), Style()),
        "trinity": render.trinity(a["data"], a["weights"], a["outputs"], Style(caption="c")),
        "values": render.values(a["data"], a["weights"], a["outputs"], Style(decimals=4)),
        "values_row": render.values(a["data"], a["weights"], a["outputs"], Style(layout="row")),
        "matrix": render.matrix(a["trained"], Style(colorbar=True), vrange=(-10, 10)),
        "stack": render.stack(snaps, [f"epoch {2 * k}" for k in range(11)], Style()),
    }


def test_sizes_within_limits(all_figures):
    for name, fig in all_figures.items():
        w, h = fig.get_size_inches() * 100
        assert max(w, h) <= 1980, name
        assert w >= 780 or h >= 780, name
    for name in ("trinity", "stack"):
        fig = all_figures[name]
        pw, ph = _saved_size(fig)
        assert max(pw, ph) <= 2000
        fw, fh = fig.get_size_inches() * 100
        assert abs(pw - fw) <= 12 and abs(ph - fh) <= 12  # already tight by construction


def test_explicit_size_is_fitted(arrays):
    a = arrays
    fig = render.trinity(a["data"], a["weights"], a["outputs"], Style(size=(8, 6)))
    w, h = fig.get_size_inches()
    assert w <= 8.05 and h <= 6 and w > 7.5  # width is the limiting dimension
    with pytest.raises(ValueError):
        render.trinity(a["data"], a["weights"], a["outputs"], Style(size=(0.5, 0.5)))


def test_deterministic(arrays):
    a = arrays
    with render.style_context():
        first = _rgba(render.values(a["data"], a["weights"], a["outputs"], Style()))
        second = _rgba(render.values(a["data"], a["weights"], a["outputs"], Style()))
    assert first == second


def test_immune_to_user_rc(arrays):
    a = arrays

    def draw():
        return [_rgba(render.trinity(a["data"], a["weights"], a["outputs"],
                                     Style(caption="correct: 1/10", ticks=True))),
                _rgba(render.matrix(a["trained"], Style(colorbar=True), vrange=(-10, 10)))]

    with render.style_context():
        first = draw()
    user = {"font.size": 30, "image.cmap": "gray", "image.interpolation": "bilinear",
            "axes.linewidth": 4, "axes.titlesize": 40, "figure.dpi": 200,
            "font.family": "serif", "text.color": "red", "axes.edgecolor": "blue",
            "xtick.major.size": 9, "xtick.labelsize": 20, "image.resample": True}
    with matplotlib.rc_context(user):
        with render.style_context():
            assert draw() == first
        assert matplotlib.rcParams["font.size"] == 30  # restored after the context


def test_module_stays_pure():
    import inspect

    src = inspect.getsource(render)
    assert "pyplot" not in src.replace("no pyplot", "")
    assert "savefig(" not in src.replace("fig.savefig(path", "")
    assert "open(" not in src
