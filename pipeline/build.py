"""Scenes to files: load and validate everything, train what has no recording, draw, write.

All scenes, overrides and output names are validated before anything is trained or written,
so bad input leaves ``output/`` exactly as it was. Recordings are kept in a cache folder under
the hash of everything that determines them (the run's config, its ``from`` chain, the dataset
and the training code), so a second render with the same runs trains nothing.
"""
from __future__ import annotations

import hashlib
import json
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

from . import dataset as datasets
from .record import Recording, code_version, train
from .scene import SceneError, Scene, apply_override, override_targets, parse_scene, read_toml

DEFAULT_SCENES = Path("scenes")
DEFAULT_OUTPUT = Path("output")
DEFAULT_CACHE = Path(".cache")


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
    reused: list[str] = field(default_factory=list)


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
    scenes = []
    for path, raw in raws:
        applied = [o for o in overrides if override_targets(raw, o)]
        for override in applied:
            apply_override(raw, override, str(path))
        source = f"{path} (with --set {' --set '.join(applied)})" if applied else str(path)
        scenes.append(parse_scene(raw, path, source))
    _check_collisions(scenes)
    return scenes


def _check_collisions(scenes: list[Scene]) -> None:
    """Two scenes must not write the same output file."""
    owner: dict[tuple[str, str], Path] = {}
    for scene in scenes:
        for figure in scene.figures:
            for file in figure.files:
                key = (scene.output, file)
                if key in owner and owner[key] != scene.path:
                    raise SceneError(str(scene.path), f"{figure.key}.file",
                                     f"'{scene.output}/{file}' is also written by {owner[key]}")
                owner[key] = scene.path
        for run in scene.runs:
            for suffix in (".txt", ".json"):
                key = (scene.output, f"numbers_{run}{suffix}")
                if key in owner and owner[key] != scene.path:
                    raise SceneError(str(scene.path), f"runs.{run}",
                                     f"'{scene.output}/numbers_{run}{suffix}' is also written by {owner[key]}; rename the run")
                owner[key] = scene.path


# --------------------------------------------------------------------------- recordings


def recording_key(scene: Scene, name: str) -> str:
    """Hash of everything that determines a run's recording."""
    chain = []
    for run in scene.run_chain(name):
        config = run.config()
        del config["name"], config["from"]  # renaming a run changes nothing it computes
        chain.append(config)
    images, labels = datasets.load(scene.runs[name].dataset)
    payload = {
        "chain": chain,
        "dataset": hashlib.sha256(images.tobytes() + labels.tobytes()).hexdigest(),
        "code": code_version(),
    }
    return hashlib.sha256(json.dumps(payload, sort_keys=True).encode()).hexdigest()[:24]


def load_cached(path: Path) -> Recording | None:
    """A cached recording, or None if it is missing, torn or fails its hash check."""
    manifest_path = path.with_suffix(".json")
    if not path.exists() or not manifest_path.exists():
        return None
    try:
        manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
        if hashlib.sha256(path.read_bytes()).hexdigest() != manifest.get("arrays_sha256"):
            return None
        return Recording.load(path)
    except (OSError, ValueError, KeyError):
        return None


def recordings(scene: Scene, cache: Path, reporter: Reporter, result: Result,
               names: list[str] | None = None) -> dict[str, Recording]:
    """The recording of every run the scene's figures need (and their ancestors)."""
    from .write import write_recording

    needed = names if names is not None else list(scene.runs)
    done: dict[str, Recording] = {}
    for name in _with_ancestors(scene, needed):
        run = scene.runs[name]
        key = recording_key(scene, name)
        path = cache / "recordings" / f"{key}.npz"
        recording = load_cached(path)
        if recording is not None:
            recording.config["name"] = name
            result.reused.append(name)
        else:
            parent = done[run.start] if run.start is not None else None
            reporter.info(f"training run {name}: {run.epochs} epochs, lr={run.lr:g}, momentum={run.momentum:g}")
            started = time.perf_counter()
            recording = train(run, parent, lambda d, t, n=name: reporter.progress(f"run {name}", d, t))
            reporter.info(f"trained run {name} in {time.perf_counter() - started:.1f} s")
            write_recording(path, recording)
            result.trained.append(name)
        done[name] = recording
    return done


def _with_ancestors(scene: Scene, names: list[str]) -> list[str]:
    order: list[str] = []
    for name in names:
        for run in scene.run_chain(name):
            if run.name not in order:
                order.append(run.name)
    return order


# --------------------------------------------------------------------------- rendering


def render_scenes(scenes: list[Scene], out: Path = DEFAULT_OUTPUT, cache: Path = DEFAULT_CACHE,
                  reporter: Reporter | None = None) -> Result:
    """Train (or reuse) every run and write every figure and numbers file of the scenes."""
    reporter = reporter or Reporter()
    result = Result()
    for scene in scenes:
        runs = recordings(scene, cache, reporter, result)
        folder = out / scene.output
        _write_numbers(scene, runs, folder, result)
        _write_figures(scene, runs, folder, reporter, result)
    return result


def _write_numbers(scene: Scene, runs: dict[str, Recording], folder: Path, result: Result) -> None:
    from .numbers import quoted, quoted_text
    from .write import write_json, write_text

    for name, recording in runs.items():
        write_text(folder / f"numbers_{name}.txt", quoted_text(recording))
        write_json(folder / f"numbers_{name}.json", quoted(recording))
        result.written += [folder / f"numbers_{name}.txt", folder / f"numbers_{name}.json"]


def _write_figures(scene: Scene, runs: dict[str, Recording], folder: Path,
                   reporter: Reporter, result: Result) -> None:
    from .figures import draw
    from .write import write_gif, write_png

    total = len(scene.files())
    count = 0
    for spec in scene.figures:
        for index, file in enumerate(spec.files):
            drawn = draw(spec, runs[spec.run], index, scene.dpi)
            path = folder / file
            if spec.kind == "animation":
                write_gif(path, drawn, spec.frame_ms)
            else:
                write_png(path, drawn, scene.dpi)
            count += 1
            reporter.progress(f"{scene.name} figures", count, total)
            result.written.append(path)
    reporter.info(f"{scene.name}: wrote {total} figures to {folder}")
