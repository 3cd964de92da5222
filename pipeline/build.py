"""Scenes to files: validate everything, then train and draw only what the cache lacks.

All scenes, overrides and output names are validated before anything is trained or written,
so bad input leaves ``output/`` exactly as it was. Then a *plan* is made: every run gets the
hash of everything that determines its recording (its config, its whole ``from`` chain, the
dataset and the training code), and every output file the hash of its recording, its own spec
and the renderer's code. What the cache (``pipeline.cache``) already holds is reused; the rest
is trained, drawn in parallel processes, stored, and copied into ``output/`` atomically. A
render with nothing changed trains nothing, draws nothing and imports neither torch nor
matplotlib.
"""
from __future__ import annotations

import dataclasses
import hashlib
import json
import os
import time
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path
from typing import Any

from . import dataset as datasets
from .cache import Store, file_sha256, sha256
from .record import Recording, code_version, trainer_for
from .scene import FigureSpec, Run, Scene, SceneError, load_scene, override_targets, read_toml
from .write import write_bytes

DEFAULT_SCENES = Path("scenes")
DEFAULT_OUTPUT = Path("output")
DEFAULT_CACHE = Path(".cache")
DRAWING_CODE = ("render.py", "figures.py", "write.py", "numbers.py")
DRAWING_LIBRARIES = ("matplotlib", "pillow", "numpy")


class Reporter:
    """Where progress goes; the default says nothing. The CLI passes one that prints."""

    def info(self, message: str) -> None:
        pass

    def progress(self, label: str, done: int, total: int) -> None:
        pass


@dataclass
class Result:
    written: list[Path] = field(default_factory=list)
    trained: list[str] = field(default_factory=list)
    drawn: int = 0
    copied: int = 0
    fresh: int = 0


# --------------------------------------------------------------------------- loading


def find_scenes(paths: list[str] | tuple[str, ...]) -> list[Path]:
    """The scene files named, or every ``*.toml`` in ``scenes/`` when none is."""
    if paths:
        return [Path(p) for p in paths]
    if not DEFAULT_SCENES.is_dir():
        raise SceneError(str(DEFAULT_SCENES), "", "no such folder; name scene files or run where scenes/ is")
    found = sorted(DEFAULT_SCENES.glob("*.toml"))
    if not found:
        raise SceneError(str(DEFAULT_SCENES), "", "holds no *.toml scene files")
    return found


def load_scenes(paths: list[Path], overrides: list[str] | tuple[str, ...] = ()) -> list[Scene]:
    """Validate every scene with the overrides that apply to it; raise SceneError on any fault."""
    raws = [(path, read_toml(path)) for path in paths]
    for override in overrides:
        if not any(override_targets(raw, override) for _, raw in raws):
            key = override.partition("=")[0]
            names = ", ".join(str(p) for p in paths)
            raise SceneError(f"--set {override}", key, f"no scene has this key's table (scenes: {names})")
    scenes = [load_scene(path, [o for o in overrides if override_targets(raw, o)], raw) for path, raw in raws]
    _check_collisions(scenes)
    return scenes


def numbers_files(run: str) -> tuple[str, str]:
    return f"numbers_{run}.txt", f"numbers_{run}.json"


def _check_collisions(scenes: list[Scene]) -> None:
    """Two scenes must not write the same output file."""
    owner: dict[tuple[str, str], Path] = {}
    for scene in scenes:
        named = [(f"{figure.key}.file", file) for figure in scene.figures for file in figure.files]
        named += [(f"runs.{run}", file) for run in scene.runs for file in numbers_files(run)]
        for key, file in named:
            where = (scene.output, file)
            if where in owner and owner[where] != scene.path:
                raise SceneError(str(scene.path), key, f"'{scene.output}/{file}' is also written by {owner[where]}")
            owner[where] = scene.path


# --------------------------------------------------------------------------- keys


def _digest(value: Any) -> str:
    return hashlib.sha256(json.dumps(value, sort_keys=True).encode()).hexdigest()[:24]


def _chain_configs(scene: Scene, name: str) -> list[dict[str, Any]]:
    chain = []
    for run in scene.run_chain(name):
        config = run.config()
        del config["name"], config["from"]  # renaming a run changes nothing it computes
        chain.append(config)
    return chain


def recording_key(scene: Scene, name: str) -> str:
    """Hash of everything that determines a run's recording."""
    images, labels = datasets.load(scene.runs[name].dataset)
    return _digest({
        "chain": _chain_configs(scene, name),
        "dataset": sha256(images.tobytes() + labels.tobytes()),
        "code": code_version(),
    })


def drawing_version() -> str:
    """Hash of the drawing code and the versions of the libraries that draw (no imports)."""
    here = Path(__file__).parent
    sources = hashlib.sha256(b"".join((here / name).read_bytes() for name in DRAWING_CODE)).hexdigest()
    return _digest({"code": sources, "libraries": {lib: metadata.version(lib) for lib in DRAWING_LIBRARIES}})


def figure_spec(spec: FigureSpec, file_index: int) -> dict[str, Any]:
    """What determines one file of a figure: its spec without names, and the epochs it draws."""
    described = dataclasses.asdict(spec)
    for name in ("index", "files", "epochs", "run"):
        del described[name]
    multi = spec.kind in ("stack", "animation")
    described["epochs"] = list(spec.epochs) if multi else [spec.epochs[file_index]]
    return json.loads(json.dumps(described))  # tuples as lists, as the saved state reads back


# --------------------------------------------------------------------------- the plan


@dataclass
class RunTask:
    scene: Scene
    name: str
    key: str
    cached: bool
    reason: str = ""
    needed: bool = False

    @property
    def run(self) -> Run:
        return self.scene.runs[self.name]


@dataclass(eq=False)  # tasks are compared, and hashed, by identity
class FileTask:
    path: Path
    key: str
    scene: Scene
    run: str
    spec: FigureSpec | None  # None for a numbers file
    file_index: int
    made_from: dict[str, Any]
    status: str = "fresh"  # fresh | copy | draw
    reason: str = ""

    @property
    def suffix(self) -> str:
        return self.path.suffix

    @property
    def cost(self) -> int:
        """Rough drawing cost, so the slowest files start first."""
        kind = self.spec.kind if self.spec else "numbers"
        return {"animation": 20, "values": 8, "stack": 4, "numbers": 0}.get(kind, 1)


@dataclass
class Plan:
    runs: dict[str, RunTask]  # by recording key: one task per distinct recording
    files: list[FileTask]
    keys: dict[tuple[Path, str], str]  # (scene path, run name) → recording key

    def run_task(self, scene: Scene, name: str) -> RunTask:
        return self.runs[self.keys[scene.path, name]]

    def stale(self) -> list[FileTask]:
        return [task for task in self.files if task.status != "fresh"]


def make_plan(scenes: list[Scene], out: Path, store: Store, force: bool = False) -> Plan:
    runs: dict[str, RunTask] = {}
    files: list[FileTask] = []
    all_keys: dict[tuple[Path, str], str] = {}
    drawing = drawing_version()
    for scene in scenes:
        keys = {name: recording_key(scene, name) for name in scene.runs}
        all_keys.update({(scene.path, name): key for name, key in keys.items()})
        for name, key in keys.items():
            if key not in runs:
                runs[key] = RunTask(scene, name, key, cached=not force and store.has_recording(key))
        folder = out / scene.output
        for name, key in keys.items():
            chain = _chain_configs(scene, name)
            for file in numbers_files(name):
                made_from = {"recording": key, "runs": chain, "drawing": drawing}
                files.append(FileTask(folder / file, _digest(made_from), scene, name, None, 0, made_from))
        for spec in scene.figures:
            for index, file in enumerate(spec.files):
                made_from = {"recording": keys[spec.run], "runs": _chain_configs(scene, spec.run),
                             "figure": figure_spec(spec, index), "dpi": scene.dpi, "drawing": drawing}
                files.append(FileTask(folder / file, _digest(made_from), scene, spec.run, spec, index, made_from))
    plan = Plan(runs, files, all_keys)
    _mark_stale(plan, out, store, force)
    return plan


def _mark_stale(plan: Plan, out: Path, store: Store, force: bool) -> None:
    states = {}
    for task in plan.files:
        folder = task.path.parent
        if folder not in states:
            states[folder] = store.get_state(folder)
        cached = None if force else store.file_digest(task.key, task.suffix)
        previous = states[folder].get(task.path.name)
        if cached is None:
            task.status = "draw"
            task.reason = "--force" if force else why_changed(previous, task.made_from)
        elif file_sha256(task.path) != cached:
            task.status = "copy"
            task.reason = "missing from output" if not task.path.exists() else "output differs from the cache"
        if task.status == "draw":
            for run in task.scene.run_chain(task.run):
                run_task = plan.run_task(task.scene, run.name)
                run_task.needed = True
                if not run_task.cached and not run_task.reason:
                    run_task.reason = "--force" if force else why_changed(
                        previous, task.made_from, only_runs=True) or "no recording with this config yet"


def why_changed(previous: dict[str, Any] | None, current: dict[str, Any], only_runs: bool = False) -> str:
    """A short reason a file must be redrawn, from what it was last made from."""
    if previous is None:
        return "" if only_runs else "new file"
    made_from = previous.get("made_from", {})
    changes = []
    old_runs, new_runs = made_from.get("runs", []), current.get("runs", [])
    if old_runs != new_runs:
        changes += _dict_changes("run", old_runs[-1] if old_runs else {}, new_runs[-1] if new_runs else {})
        if old_runs[:-1] != new_runs[:-1]:
            changes.append("its 'from' run changed")
    if only_runs:
        return ", ".join(changes) or ("training code changed" if made_from.get("recording") != current.get("recording") else "")
    if made_from.get("recording") != current.get("recording") and not changes:
        changes.append("training code or dataset changed")
    changes += _dict_changes("", made_from.get("figure", {}), current.get("figure", {}))
    if made_from.get("dpi") != current.get("dpi"):
        changes.append(f"dpi {made_from.get('dpi')} → {current.get('dpi')}")
    if made_from.get("drawing") != current.get("drawing"):
        changes.append("drawing code or library versions changed")
    return ", ".join(changes) or "not in the cache"


def _dict_changes(prefix: str, old: dict[str, Any], new: dict[str, Any]) -> list[str]:
    label = f"{prefix} " if prefix else ""
    return [f"{label}{key} {old.get(key)!r} → {new.get(key)!r}"
            for key in sorted(set(old) | set(new)) if old.get(key) != new.get(key)]


# --------------------------------------------------------------------------- doing it


def render_scenes(scenes: list[Scene], out: Path = DEFAULT_OUTPUT, cache: Path = DEFAULT_CACHE,
                  reporter: Reporter | None = None, jobs: int | None = None,
                  force: bool = False) -> Result:
    """Bring every output file of the scenes up to date, training and drawing what is stale."""
    reporter = reporter or Reporter()
    store = Store(cache)
    result = Result()
    with store.lock(lambda: reporter.info(f"waiting for another render to release {cache}/lock …")):
        plan = make_plan(scenes, out, store, force)
        stale = plan.stale()
        result.fresh = len(plan.files) - len(stale)
        to_draw = [task for task in stale if task.status == "draw"]
        recordings = _recordings(plan, store, reporter, result) if to_draw else {}
        payloads = _draw_all(to_draw, recordings, jobs or os.cpu_count() or 1, reporter)
        for task in stale:
            if task.status == "draw":
                payload = payloads[task]
                store.put_file(task.key, task.suffix, payload)
                result.drawn += 1
            else:
                payload = store.get_file(task.key, task.suffix)
                result.copied += 1
            write_bytes(task.path, payload)
            result.written.append(task.path)
        _save_state(plan, store)
    return result


def _recordings(plan: Plan, store: Store, reporter: Reporter, result: Result) -> dict[str, Recording]:
    """Every needed recording by key: from the cache, or trained (ancestors first)."""
    from .record import train

    loaded: dict[str, Recording] = {}

    def get(task: RunTask) -> Recording:
        if task.key in loaded:
            return loaded[task.key]
        recording = store.get_recording(task.key) if task.cached else None
        if recording is None:
            run = task.run
            parent = get(plan.run_task(task.scene, run.start)) if run.start else None
            reporter.info(f"training run {run.name}: {run.epochs} epochs, lr={run.lr:g}, "
                          f"momentum={run.momentum:g} ({trainer_for(run)})")
            started = time.perf_counter()
            recording = train(run, parent, lambda done, total: reporter.progress(f"run {run.name}", done, total))
            reporter.info(f"trained run {run.name} in {time.perf_counter() - started:.1f} s")
            store.put_recording(task.key, recording)
            result.trained.append(run.name)
        loaded[task.key] = recording
        return recording

    for task in plan.runs.values():
        if task.needed:
            get(task)
    return loaded


# Set before the worker processes fork, so each inherits the work without pickling it.
_WORK: list[tuple[FileTask, Recording]] = []


def _draw_all(tasks: list[FileTask], recordings: dict[str, Recording], jobs: int,
              reporter: Reporter) -> dict[FileTask, bytes]:
    """Draw every task, the slowest first, in up to ``jobs`` processes.

    An animation is split into ``jobs`` runs of frames drawn side by side; the parent puts
    the frames together and encodes the GIF.
    """
    if not tasks:
        return {}
    global _WORK
    tasks = sorted(tasks, key=lambda task: -task.cost)
    _WORK = [(task, recordings[task.made_from["recording"]]) for task in tasks]
    label = f"drawing {len(tasks)} files"
    from . import figures as _figures  # noqa: F401  (import matplotlib once, before forking)

    pieces = [(index, part) for index, task in enumerate(tasks) for part in _parts(task, jobs)]
    # Worker processes pay off only when at least two pieces can be drawn side by side.
    if jobs <= 1 or sum(tasks[index].spec is not None for index, _part in pieces) <= 1:
        payloads = {}
        for index, task in enumerate(tasks):
            payloads[task] = _explained(task, _draw, index)
            reporter.progress(label, index + 1, len(tasks))
        return payloads
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor, as_completed

    from .write import gif_bytes

    payloads: dict[FileTask, bytes] = {}
    frames: dict[FileTask, dict[int, list]] = {}
    with ProcessPoolExecutor(max_workers=min(jobs, len(pieces)),
                             mp_context=multiprocessing.get_context("fork")) as pool:
        futures = {pool.submit(_draw_piece, index, part): (tasks[index], part) for index, part in pieces}
        for future in as_completed(futures):
            task, part = futures[future]
            result = _explained(task, future.result)
            if part is None:
                payloads[task] = result
            else:
                frames.setdefault(task, {})[part[0]] = result
                if len(frames[task]) == len(_parts(task, jobs)):
                    ordered = [frame for start in sorted(frames[task]) for frame in frames[task][start]]
                    payloads[task] = gif_bytes(ordered, task.spec.frame_ms)
            if task in payloads:
                reporter.progress(label, len(payloads), len(tasks))
    return payloads


def _explained(task: FileTask, call, *args):
    """``call(*args)``, with a renderer's refusal (a figure too small for its size, say) turned
    into the one-line error of the figure's scene key instead of a traceback."""
    try:
        return call(*args)
    except ValueError as error:
        key = task.spec.key if task.spec is not None else f"runs.{task.run}"
        if task.spec is not None and task.spec.size is not None and "size" in str(error):
            key += ".size"
        raise SceneError(str(task.scene.path), key, f"cannot draw {task.path.name}: {error}") from None


def _parts(task: FileTask, jobs: int) -> list[tuple[int, int] | None]:
    """The frame ranges an animation is drawn in (None: the whole file in one piece)."""
    if task.spec is None or task.spec.kind != "animation" or jobs <= 1:
        return [None]
    count = len(task.spec.epochs)
    bounds = [round(i * count / jobs) for i in range(jobs + 1)]
    return [(start, stop) for start, stop in zip(bounds, bounds[1:]) if stop > start]


def _draw_piece(index: int, part: tuple[int, int] | None):
    """A whole file's bytes, or (for a part of an animation) its frames: runs in a worker."""
    if part is None:
        return _draw(index)
    from .figures import draw

    task, recording = _WORK[index]
    return draw(task.spec, recording, task.file_index, task.scene.dpi, frames=slice(*part))


def _draw(index: int) -> bytes:
    """The bytes of one file: a PNG, a GIF or a numbers file."""
    from .figures import draw
    from .numbers import quoted, quoted_text
    from .write import gif_bytes, json_bytes, png_bytes

    task, recording = _WORK[index]
    if task.spec is None:
        if task.suffix == ".txt":
            return quoted_text(recording).encode()
        return json_bytes(quoted(recording))
    drawn = draw(task.spec, recording, task.file_index, task.scene.dpi)
    if task.spec.kind == "animation":
        return gif_bytes(drawn, task.spec.frame_ms)
    return png_bytes(drawn, task.scene.dpi)


def _save_state(plan: Plan, store: Store) -> None:
    """Remember what each output file was made from, for the next --dry-run's reasons."""
    by_folder: dict[Path, dict[str, Any]] = {}
    for task in plan.files:
        state = by_folder.setdefault(task.path.parent, store.get_state(task.path.parent))
        state[task.path.name] = {"key": task.key, "made_from": task.made_from}
    for folder, state in by_folder.items():
        store.put_state(folder, state)


def explain(plan: Plan) -> list[str]:
    """What a render would do, and why: the lines of ``render --dry-run``."""
    lines = []
    for task in plan.runs.values():
        if task.needed and not task.cached:
            lines.append(f"train {task.name} ({task.scene.path}): {task.reason} [{trainer_for(task.run)}]")
    for task in plan.stale():
        verb = "draw" if task.status == "draw" else "copy"
        lines.append(f"{verb}  {task.path}: {task.reason}")
    fresh = len(plan.files) - len(plan.stale())
    lines.append(f"{len(plan.stale())} of {len(plan.files)} files stale, {fresh} up to date")
    return lines
