"""Scene files: TOML in, typed and validated dataclasses out.

A scene declares training *runs* and the *figures* drawn from them::

    [scene]
    output = "vanangamudimnist"     # folder under output/ (default: the file's stem)

    [runs.A]
    seed = 7
    lr = 1.0
    momentum = 0.1
    epochs = 2
    snapshots = "each"              # or [0, 2] or { every = 2 }

    [[figures]]
    kind = "trinity"
    run = "A"
    epochs = 0
    file = "output_11_0.png"

Every key has a default (see ``RUN_DEFAULTS`` and ``FIGURE_DEFAULTS``); an unknown key, a
wrong type or an impossible value raises ``SceneError`` naming the file and the key. Overrides
(``--set runs.A.lr=0.5``) are applied to the raw TOML before validation, so they meet exactly
the same checks as the file. Nothing here imports torch or matplotlib.
"""
from __future__ import annotations

import difflib
import re
import string
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from . import dataset as datasets
from .colormaps import COLORMAPS

MATRICES = ("data", "weights", "outputs")
MODELS = ("linear",)
"""linear: the post's ``nn.Linear(25, 10, bias=False)`` followed by ``log_softmax``."""

KINDS = ("grid", "strips", "trinity", "values", "matrix", "stack", "animation")
MULTI_SNAPSHOT_KINDS = ("stack", "animation")
"""Kinds that draw all their selected snapshots into one file; the others write a file each."""
SINGLE_PANEL_KINDS = ("grid", "strips", "matrix")
"""Kinds that draw one matrix, so the DATASET / MODEL / OUTPUT titles are not their default."""

CAPTION_FIELDS = ("epoch", "loss", "correct", "total", "run", "lr", "momentum")

SCENE_DEFAULTS: dict[str, Any] = {"name": None, "output": None, "dpi": 100}

RUN_DEFAULTS: dict[str, Any] = {
    "dataset": "vanangamudi",
    "model": "linear",
    "seed": 0,
    "lr": 0.1,
    "momentum": 0.0,
    "epochs": 1,
    "snapshots": "each",
    "from": None,
}
INHERITED_RUN_KEYS = ("dataset", "model", "lr", "momentum")
"""A run with ``from`` continues its parent's model and optimizer, so by default it keeps these."""

FIGURE_DEFAULTS: dict[str, Any] = {
    "kind": None,
    "run": None,
    "file": None,
    "files": None,
    "epochs": None,  # "last" for one-file-per-snapshot kinds, "all" for stack and animation
    "source": "data",
    "rows": 2,
    "cols": 5,
    "labels": None,
    "cmap": "viridis",
    "range": "auto",
    "titles": ["DATASET", "MODEL", "OUTPUT"],
    "xlabels": ["25", "25", "10"],
    "ylabels": ["10", "", ""],
    "caption": None,
    "size": None,
    "font_size": 14.0,
    "value_size": None,
    "decimals": 2,
    "colorbar": False,
    "ticks": False,
    "layout": None,  # "row" for trinity and stack, "column" for values
    "frame_ms": 200,
    "row_label": "epoch {epoch}",
}
_COMMON_KEYS = ("kind", "run", "file", "files", "epochs", "cmap", "range", "size", "font_size", "caption")
_PANEL_KEYS = ("titles", "xlabels", "ylabels", "colorbar", "ticks")
KIND_KEYS: dict[str, tuple[str, ...]] = {
    "grid": _COMMON_KEYS + ("source", "rows", "cols", "titles", "colorbar", "ticks"),
    "strips": _COMMON_KEYS + ("source", "labels", "titles", "xlabels", "ticks"),
    "matrix": _COMMON_KEYS + ("source",) + _PANEL_KEYS,
    "trinity": _COMMON_KEYS + _PANEL_KEYS + ("layout",),
    "values": _COMMON_KEYS + _PANEL_KEYS + ("layout", "decimals", "value_size"),
    "stack": _COMMON_KEYS + ("titles", "xlabels", "ticks", "row_label"),
    "animation": _COMMON_KEYS + _PANEL_KEYS + ("layout", "frame_ms"),
}
"""The keys each figure kind reads; any other key on a figure of that kind is an error."""

DEFAULT_ANIMATION_CAPTION = "epoch {epoch}   loss {loss:.4f}   correct {correct}/{total}"

MAX_EPOCHS = 10_000_000


class SceneError(ValueError):
    """A scene (or an override) that cannot be used; ``str()`` is the one line to print."""

    def __init__(self, source: str, key: str, message: str):
        self.source, self.key, self.message = source, key, message
        super().__init__(f"{source}: {key}: {message}" if key else f"{source}: {message}")


Range = tuple[float, float] | str  # (lo, hi), "auto" (each image its own) or "shared" (one per figure)


@dataclass(frozen=True)
class Run:
    name: str
    dataset: str
    model: str
    seed: int
    lr: float
    momentum: float
    epochs: int
    snapshots: tuple[int, ...]
    """Recorded epochs, sorted; epoch k is the state after k full passes, 0 the start."""
    start: str | None = None
    """The run whose final weights and optimizer state this one starts from (``from``)."""

    def config(self) -> dict[str, Any]:
        """Everything that determines the run's training, as plain data."""
        return {
            "name": self.name, "dataset": self.dataset, "model": self.model, "seed": self.seed,
            "lr": self.lr, "momentum": self.momentum, "epochs": self.epochs,
            "snapshots": list(self.snapshots), "from": self.start,
        }


@dataclass(frozen=True)
class FigureSpec:
    index: int
    kind: str
    run: str
    files: tuple[str, ...]
    epochs: tuple[int, ...]
    source: str
    rows: int
    cols: int
    labels: tuple[str, ...] | None
    cmap: str
    ranges: tuple[Range, Range, Range]
    """One range per matrix, in ``MATRICES`` order."""
    titles: tuple[str, ...]
    xlabels: tuple[str, ...]
    ylabels: tuple[str, ...]
    caption: str | None
    size: tuple[float, float] | None
    font_size: float
    value_size: float | None
    decimals: int
    colorbar: bool
    ticks: bool
    layout: str
    frame_ms: int
    row_label: str

    @property
    def key(self) -> str:
        return f"figures[{self.index}]"

    def range_of(self, matrix: str) -> Range:
        return self.ranges[MATRICES.index(matrix)]


@dataclass(frozen=True)
class Scene:
    path: Path
    name: str
    output: str
    dpi: int
    runs: dict[str, Run]
    figures: tuple[FigureSpec, ...]

    def run_chain(self, name: str) -> list[Run]:
        """The run and its ``from`` ancestors, root first."""
        chain = [self.runs[name]]
        while chain[0].start is not None:
            chain.insert(0, self.runs[chain[0].start])
        return chain

    def files(self) -> list[str]:
        return [file for figure in self.figures for file in figure.files]


# --------------------------------------------------------------------------- loading


def load_scene(path: str | Path, overrides: list[str] | tuple[str, ...] = (),
               raw: dict[str, Any] | None = None) -> Scene:
    """Read (unless ``raw`` is given), override and validate one scene file."""
    path = Path(path)
    source = str(path)
    raw = read_toml(path) if raw is None else raw
    for override in overrides:
        apply_override(raw, override, source)
    if overrides:
        source = f"{source} (with --set {' --set '.join(overrides)})"
    return parse_scene(raw, path, source)


def read_toml(path: Path) -> dict[str, Any]:
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise SceneError(str(path), "", "no such scene file") from None
    except IsADirectoryError:
        raise SceneError(str(path), "", "is a directory, expected a .toml scene file") from None
    except UnicodeDecodeError as error:
        raise SceneError(str(path), "", f"not UTF-8 text ({error.reason})") from None
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as error:
        raise SceneError(str(path), "", f"malformed TOML: {_toml_message(error, text)}") from None


def _toml_message(error: tomllib.TOMLDecodeError, text: str) -> str:
    """tomllib's message, with the line first: 'line 3, column 9: Invalid value'."""
    message = str(error)
    match = re.search(r"\(at line (\d+), column (\d+)\)", message)
    if match:
        return f"line {match.group(1)}, column {match.group(2)}: {message[: match.start()].strip()}"
    match = re.search(r"\(at end of document\)", message)
    if match:
        return f"line {len(text.splitlines()) or 1}, at the end of the file: {message[: match.start()].strip()}"
    return message


# --------------------------------------------------------------------------- overrides

_KEY_PART = re.compile(r"([A-Za-z_][A-Za-z0-9_-]*)((?:\[\d+\])*)")


def parse_override_key(key: str) -> list[str | int]:
    """``runs.B.lr`` → ["runs", "B", "lr"]; ``figures[3].cmap`` / ``figures.3.cmap`` → [..., 3, ...]."""
    parts: list[str | int] = []
    for piece in key.split("."):
        if piece.isdigit():
            parts.append(int(piece))
            continue
        match = _KEY_PART.fullmatch(piece)
        if not match:
            raise ValueError(f"'{piece}' is not a key name")
        parts.append(match.group(1))
        parts.extend(int(i) for i in re.findall(r"\[(\d+)\]", match.group(2)))
    return parts


def parse_override_value(text: str) -> Any:
    """A TOML value (``0.5``, ``true``, ``[-10, 10]``, ``"x"``); anything else is a bare string."""
    try:
        return tomllib.loads(f"value = {text}")["value"]
    except tomllib.TOMLDecodeError:
        return text


def apply_override(raw: dict[str, Any], override: str, source: str) -> None:
    """Set one ``KEY=VALUE`` in the raw scene; its parent table must exist in the scene."""
    label = f"--set {override}"
    key, sep, text = override.partition("=")
    if not sep or not key.strip():
        raise SceneError(label, "", "expected KEY=VALUE, e.g. runs.B.lr=0.5")
    try:
        parts = parse_override_key(key.strip())
    except ValueError as error:
        raise SceneError(label, key, str(error)) from None
    node: Any = raw
    for depth, part in enumerate(parts[:-1]):
        node = _step(node, part, parts[: depth + 1], source, label)
    last = parts[-1]
    if isinstance(node, list):
        if not isinstance(last, int) or last >= len(node):
            raise SceneError(label, key, f"no such element in {source}")
        node[last] = parse_override_value(text.strip())
    elif isinstance(node, dict) and isinstance(last, str):
        node[last] = parse_override_value(text.strip())
    else:
        raise SceneError(label, key, f"cannot set this key in {source}")


def _step(node: Any, part: str | int, so_far: list[str | int], source: str, label: str) -> Any:
    where = format_key(so_far)
    if isinstance(node, dict) and isinstance(part, str):
        if part not in node:
            if part in ("scene",) and len(so_far) == 1:
                node[part] = {}
            else:
                have = ", ".join(map(str, node)) or "none"
                raise SceneError(label, where, f"not in {source} (has: {have})")
        return node[part]
    if isinstance(node, list) and isinstance(part, int):
        if part >= len(node):
            raise SceneError(label, where, f"{source} has {len(node)} entries (0..{len(node) - 1})")
        return node[part]
    raise SceneError(label, where, f"not a table in {source}")


def format_key(parts: list[str | int]) -> str:
    text = ""
    for part in parts:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else part)
    return text


def override_targets(raw: dict[str, Any], override: str) -> bool:
    """Whether the override's parent table exists in this raw scene (so it applies here)."""
    key = override.partition("=")[0].strip()
    try:
        parts = parse_override_key(key)
    except ValueError:
        return True  # let apply_override report the malformed key
    node: Any = raw
    for part in parts[:-1]:
        if isinstance(node, dict) and isinstance(part, str) and part in node:
            node = node[part]
        elif isinstance(node, list) and isinstance(part, int) and part < len(node):
            node = node[part]
        elif part == "scene" and node is raw:
            return True
        else:
            return False
    return True


# --------------------------------------------------------------------------- validation


class _Checker:
    """Typed reads of one TOML table, each error naming the file and the full key."""

    def __init__(self, source: str, prefix: str, table: Any, defaults: dict[str, Any]):
        self.source, self.prefix, self.defaults = source, prefix, defaults
        if not isinstance(table, dict):
            raise SceneError(source, prefix, f"expected a table, got {_type_name(table)}")
        for key in table:
            if key not in defaults:
                hint = difflib.get_close_matches(key, list(defaults), n=1, cutoff=0.5)
                suggestion = f" (did you mean '{hint[0]}'?)" if hint else ""
                valid = ", ".join(defaults)
                raise SceneError(source, self.key(key),
                                 f"unknown key{suggestion}; valid keys: {valid}")
        self.table = table

    def key(self, name: str) -> str:
        return f"{self.prefix}.{name}" if self.prefix else name

    def fail(self, name: str, message: str) -> SceneError:
        return SceneError(self.source, self.key(name), message)

    def has(self, name: str) -> bool:
        return name in self.table

    def get(self, name: str) -> Any:
        return self.table.get(name, self.defaults[name])

    def integer(self, name: str, low: int | None = None, high: int | None = None) -> int:
        value = self.get(name)
        if isinstance(value, bool) or not isinstance(value, int):
            raise self.fail(name, f"expected an integer, got {_show(value)}")
        _check_bounds(self, name, value, low, high)
        return value

    def number(self, name: str, low: float | None = None, high: float | None = None,
               low_open: bool = False, high_open: bool = False) -> float:
        value = self.get(name)
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise self.fail(name, f"expected a number, got {_show(value)}")
        value = float(value)
        if value != value or value in (float("inf"), float("-inf")):
            raise self.fail(name, f"expected a finite number, got {value}")
        if low is not None and (value <= low if low_open else value < low):
            raise self.fail(name, f"expected a number {'>' if low_open else '>='} {low:g}, got {value:g}")
        if high is not None and (value >= high if high_open else value > high):
            raise self.fail(name, f"expected a number {'<' if high_open else '<='} {high:g}, got {value:g}")
        return value

    def boolean(self, name: str) -> bool:
        value = self.get(name)
        if not isinstance(value, bool):
            raise self.fail(name, f"expected true or false, got {_show(value)}")
        return value

    def text(self, name: str, optional: bool = False) -> str | None:
        value = self.get(name)
        if value is None and optional:
            return None
        if not isinstance(value, str):
            raise self.fail(name, f"expected a string, got {_show(value)}")
        return value

    def choice(self, name: str, options: tuple[str, ...] | list[str], what: str = "one of") -> str:
        value = self.text(name)
        if value not in options:
            hint = difflib.get_close_matches(value, list(options), n=1, cutoff=0.6)
            suggestion = f" (did you mean '{hint[0]}'?)" if hint else ""
            shown = ", ".join(options) if len(options) <= 12 else f"{len(options)} names, e.g. {', '.join(list(options)[:6])}"
            raise self.fail(name, f"'{value}' is not {what} {shown}{suggestion}")
        return value

    def strings(self, name: str, length: int | None = None) -> tuple[str, ...]:
        value = self.get(name)
        if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
            raise self.fail(name, f"expected a list of strings, got {_show(value)}")
        if length is not None and len(value) != length:
            raise self.fail(name, f"expected {length} strings, got {len(value)}")
        return tuple(value)


def _check_bounds(checker: _Checker, name: str, value: int, low: int | None, high: int | None) -> None:
    if low is not None and value < low:
        raise checker.fail(name, f"expected an integer >= {low}, got {value}")
    if high is not None and value > high:
        raise checker.fail(name, f"expected an integer <= {high}, got {value}")


def _type_name(value: Any) -> str:
    return {dict: "a table", list: "a list", str: "a string", bool: "a boolean",
            int: "an integer", float: "a number"}.get(type(value), type(value).__name__)


def _show(value: Any) -> str:
    if isinstance(value, (dict, list)):
        return _type_name(value)
    return f"{_type_name(value)} {value!r}"


def parse_scene(raw: dict[str, Any], path: Path, source: str | None = None) -> Scene:
    """Validate a raw TOML dict (already overridden) into a Scene."""
    source = source or str(path)
    top = _Checker(source, "", raw, {"scene": {}, "runs": {}, "figures": []})
    header = _Checker(source, "scene", top.get("scene"), SCENE_DEFAULTS)
    name = header.text("name", optional=True) or path.stem
    output = header.text("output", optional=True) or path.stem
    if not _is_plain_name(output):
        raise header.fail("output", f"expected a folder name (letters, digits, '-', '_', '.'), got {output!r}")
    dpi = header.integer("dpi", 20, 600)

    runs_table = top.get("runs")
    if not isinstance(runs_table, dict):
        raise top.fail("runs", f"expected a table of runs ([runs.NAME]), got {_show(runs_table)}")
    if not runs_table:
        raise top.fail("runs", "a scene needs at least one run ([runs.NAME])")
    runs = _parse_runs(runs_table, source)

    figures_list = top.get("figures")
    if not isinstance(figures_list, list):
        raise top.fail("figures", f"expected an array of tables ([[figures]]), got {_show(figures_list)}")
    figures = tuple(_parse_figure(i, table, runs, source) for i, table in enumerate(figures_list))
    _check_unique_files(figures, source)
    return Scene(path=path, name=name, output=output, dpi=dpi, runs=runs, figures=figures)


def _is_plain_name(name: str) -> bool:
    return bool(re.fullmatch(r"[A-Za-z0-9_.-]+", name)) and name not in (".", "..")


def _parse_runs(runs_table: dict[str, Any], source: str) -> dict[str, Run]:
    for name, table in runs_table.items():
        if not _is_plain_name(name):
            raise SceneError(source, f"runs.{name}", "a run name is letters, digits, '-', '_' or '.'")
        _Checker(source, f"runs.{name}", table, RUN_DEFAULTS)  # unknown keys first, in file order
    parents = {name: _parent_of(name, table, runs_table, source) for name, table in runs_table.items()}
    runs: dict[str, Run] = {}
    for name in _topological(parents, source):
        runs[name] = _parse_run(name, runs_table, parents[name], runs, source)
    return {name: runs[name] for name in runs_table}


def _parent_of(name: str, table: dict[str, Any], runs_table: dict[str, Any], source: str) -> str | None:
    parent = table.get("from")
    if parent is None:
        return None
    if not isinstance(parent, str):
        raise SceneError(source, f"runs.{name}.from", f"expected a run name, got {_show(parent)}")
    if parent not in runs_table:
        raise SceneError(source, f"runs.{name}.from",
                         f"no run named '{parent}' (runs: {', '.join(runs_table)})")
    return parent


def _topological(parents: dict[str, str | None], source: str) -> list[str]:
    """Runs ordered so that every parent comes before its children; a ``from`` cycle is an error."""
    order: list[str] = []
    for name in parents:
        path: list[str] = []
        node: str | None = name
        while node is not None and node not in order:
            if node in path:
                cycle = " -> ".join(path[path.index(node):] + [node])
                raise SceneError(source, f"runs.{node}.from", f"'from' makes a cycle: {cycle}")
            path.append(node)
            node = parents[node]
        order.extend(reversed(path))
    return order


def _parse_run(name: str, runs_table: dict[str, Any], parent: str | None,
               parsed: dict[str, Run], source: str) -> Run:
    table = dict(runs_table[name])
    if parent is not None:
        inherited = parsed[parent]
        for key in INHERITED_RUN_KEYS:
            table.setdefault(key, getattr(inherited, key))
        table.setdefault("seed", inherited.seed)
    check = _Checker(source, f"runs.{name}", table, RUN_DEFAULTS)
    epochs = check.integer("epochs", 0, MAX_EPOCHS)
    return Run(
        name=name,
        dataset=check.choice("dataset", tuple(datasets.DATASETS), "a built-in dataset:"),
        model=check.choice("model", MODELS, "a model:"),
        seed=check.integer("seed", 0, 2**63 - 1),
        lr=check.number("lr", 0.0, low_open=True),
        momentum=check.number("momentum", 0.0, 1.0, high_open=True),
        epochs=epochs,
        snapshots=_parse_snapshots(check, epochs),
        start=parent,
    )


def _parse_snapshots(check: _Checker, epochs: int) -> tuple[int, ...]:
    value = check.get("snapshots")
    if value == "each":
        return tuple(range(epochs + 1))
    if value == "ends":
        return tuple(sorted({0, epochs}))
    if isinstance(value, dict):
        every_check = _Checker(check.source, check.key("snapshots"), value, {"every": 1})
        if "every" not in value:
            raise every_check.fail("every", "expected { every = N }")
        every = every_check.integer("every", 1)
        return tuple(sorted(set(range(0, epochs + 1, every)) | {epochs}))
    if isinstance(value, list):
        for i, epoch in enumerate(value):
            if isinstance(epoch, bool) or not isinstance(epoch, int):
                raise check.fail("snapshots", f"expected a list of epochs, item {i} is {_show(epoch)}")
            if not 0 <= epoch <= epochs:
                raise check.fail("snapshots", f"epoch {epoch} is outside the run (0..{epochs})")
        if not value:
            raise check.fail("snapshots", "expected at least one epoch")
        return tuple(sorted(set(value)))
    raise check.fail("snapshots", f'expected "each", "ends", a list of epochs or {{ every = N }}, got {_show(value)}')


def _parse_figure(index: int, table: Any, runs: dict[str, Run], source: str) -> FigureSpec:
    check = _Checker(source, f"figures[{index}]", table, FIGURE_DEFAULTS)
    if not check.has("kind"):
        raise check.fail("kind", f"missing; expected one of {', '.join(KINDS)}")
    kind = check.choice("kind", KINDS, "a figure kind:")
    if not check.has("run"):
        raise check.fail("run", f"missing; expected one of the runs: {', '.join(runs)}")
    run_name = check.text("run")
    if run_name not in runs:
        raise check.fail("run", f"no run named '{run_name}' (runs: {', '.join(runs)})")
    run = runs[run_name]
    for key in table:
        if key not in KIND_KEYS[kind]:
            users = [k for k in KINDS if key in KIND_KEYS[k]]
            raise check.fail(key, f"a {kind} figure has no '{key}' (it is a key of {', '.join(users)}); "
                                  f"keys of {kind}: {', '.join(KIND_KEYS[kind])}")
    epochs = _parse_figure_epochs(check, kind, run)
    files = _parse_files(check, kind, len(epochs))
    _check_grid(check, kind, run)
    layout_default = "column" if kind == "values" else "row"
    return FigureSpec(
        index=index, kind=kind, run=run_name, files=files, epochs=epochs,
        source=_parse_source(check, kind),
        rows=check.integer("rows", 1, 100),
        cols=check.integer("cols", 1, 100),
        labels=check.strings("labels") if check.get("labels") is not None else None,
        cmap=check.choice("cmap", COLORMAPS, "a matplotlib colormap:"),
        ranges=_parse_ranges(check),
        titles=_labels(check, kind, "titles"),
        xlabels=_labels(check, kind, "xlabels"),
        ylabels=_labels(check, kind, "ylabels"),
        caption=_parse_caption(check, kind),
        size=_parse_size(check),
        font_size=check.number("font_size", 1.0, 200.0),
        value_size=check.number("value_size", 1.0, 200.0) if check.get("value_size") is not None else None,
        decimals=check.integer("decimals", 0, 8),
        colorbar=check.boolean("colorbar"),
        ticks=check.boolean("ticks"),
        layout=check.choice("layout", ("row", "column"), "a layout:") if check.has("layout") else layout_default,
        frame_ms=check.integer("frame_ms", 10, 60_000),
        row_label=_check_template(check, "row_label"),
    )


def _labels(check: _Checker, kind: str, name: str) -> tuple[str, ...]:
    """Titles and axis labels; by default only the three-panel kinds have any."""
    if not check.has(name) and kind in SINGLE_PANEL_KINDS:
        return ()
    return check.strings(name)


def _parse_figure_epochs(check: _Checker, kind: str, run: Run) -> tuple[int, ...]:
    value = check.get("epochs")
    if value is None:
        value = "all" if kind in MULTI_SNAPSHOT_KINDS else "last"
    recorded = run.snapshots
    if value == "all":
        return recorded
    if value == "first":
        return recorded[:1]
    if value == "last":
        return recorded[-1:]
    items = value if isinstance(value, list) else [value]
    if not items or not all(isinstance(e, int) and not isinstance(e, bool) for e in items):
        raise check.fail("epochs", f'expected an epoch, a list of epochs, "all", "first" or "last", got {_show(value)}')
    for epoch in items:
        if epoch < 0 or epoch > run.epochs:
            raise check.fail("epochs", f"epoch {epoch} is past the end of run '{run.name}' (epochs 0..{run.epochs})")
        if epoch not in recorded:
            raise check.fail("epochs", f"epoch {epoch} is not a snapshot of run '{run.name}' "
                                       f"(snapshots: {_short_list(recorded)})")
    return tuple(items)


def _short_list(values: tuple[int, ...]) -> str:
    if len(values) <= 12:
        return ", ".join(map(str, values))
    return ", ".join(map(str, values[:5])) + ", …, " + ", ".join(map(str, values[-3:]))


def _parse_files(check: _Checker, kind: str, count: int) -> tuple[str, ...]:
    if check.has("file") and check.has("files"):
        raise check.fail("files", "give either 'file' or 'files', not both")
    if check.has("file"):
        files = (check.text("file"),)
        name = "file"
    elif check.has("files"):
        files = check.strings("files")
        name = "files"
    else:
        raise check.fail("file", "missing; expected the output file name, e.g. file = \"figure.png\"")
    wanted = 1 if kind in MULTI_SNAPSHOT_KINDS else count
    if len(files) != wanted:
        what = "one file" if kind in MULTI_SNAPSHOT_KINDS else f"one file per selected epoch ({count})"
        raise check.fail(name, f"expected {what}, got {len(files)}")
    suffix = ".gif" if kind == "animation" else ".png"
    for file in files:
        if not _is_plain_name(file) or not file.lower().endswith(suffix):
            raise check.fail(name, f"expected a plain file name ending in {suffix}, got {file!r}")
    return files


def _parse_source(check: _Checker, kind: str) -> str:
    source = check.choice("source", MATRICES, "a matrix:")
    if kind == "grid" and source == "outputs":
        raise check.fail("source", "a grid reshapes rows of 25 into 5×5 glyphs: use data or weights")
    return source


def _check_grid(check: _Checker, kind: str, run: Run) -> None:
    """A grid needs a cell for every image of its run's dataset."""
    if kind == "grid":
        rows, cols = check.integer("rows", 1, 100), check.integer("cols", 1, 100)
        count = len(datasets.load(run.dataset)[1])
        if rows * cols < count:
            raise check.fail("cols", f"a {rows}×{cols} grid holds {rows * cols} glyphs, expected room for {count}")


def _parse_range(check: _Checker, key: str, value: Any) -> Range:
    if value in ("auto", "shared"):
        return value
    if (isinstance(value, list) and len(value) == 2
            and all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in value)):
        low, high = float(value[0]), float(value[1])
        if not low < high:
            raise SceneError(check.source, key, f"expected [low, high] with low < high, got {value}")
        return (low, high)
    raise SceneError(check.source, key, f'expected "auto", "shared" or [low, high], got {_show(value)}')


def _parse_ranges(check: _Checker) -> tuple[Range, Range, Range]:
    value = check.get("range")
    if isinstance(value, dict):
        inner = _Checker(check.source, check.key("range"), value, {m: "auto" for m in MATRICES})
        return tuple(_parse_range(check, inner.key(m), inner.get(m)) for m in MATRICES)  # type: ignore[return-value]
    one = _parse_range(check, check.key("range"), value)
    return (one, one, one)


def _parse_caption(check: _Checker, kind: str) -> str | None:
    if check.get("caption") is None:
        return DEFAULT_ANIMATION_CAPTION if kind == "animation" else None
    return _check_template(check, "caption")


def _check_template(check: _Checker, name: str) -> str:
    """A caption template may use {epoch}, {loss}, {correct}, ... with format specs."""
    template = check.text(name)
    sample = {"epoch": 1, "loss": 0.5, "correct": 1, "total": 10, "run": "A", "lr": 0.1, "momentum": 0.1}
    try:
        for _, field, spec, _ in string.Formatter().parse(template):
            if field is not None and field not in CAPTION_FIELDS:
                raise check.fail(name, f"unknown field {{{field}}}; expected {', '.join(CAPTION_FIELDS)}")
        template.format(**sample)
    except (ValueError, IndexError) as error:
        raise check.fail(name, f"not a valid template ({error})") from None
    return template


def _parse_size(check: _Checker) -> tuple[float, float] | None:
    value = check.get("size")
    if value is None:
        return None
    if (not isinstance(value, list) or len(value) != 2
            or not all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in value)):
        raise check.fail("size", f"expected [width, height] in inches, got {_show(value)}")
    width, height = float(value[0]), float(value[1])
    if not (0.5 <= width <= 40 and 0.5 <= height <= 40):
        raise check.fail("size", f"expected inches between 0.5 and 40, got {value}")
    return (width, height)


def _check_unique_files(figures: tuple[FigureSpec, ...], source: str) -> None:
    seen: dict[str, int] = {}
    for figure in figures:
        for file in figure.files:
            if file in seen:
                raise SceneError(source, f"{figure.key}.file",
                                 f"'{file}' is also written by figures[{seen[file]}]")
            seen[file] = figure.index
