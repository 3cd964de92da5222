"""Golden images: compare rendered files with looked-at references, explain every failure.

Comparison works on decoded pixels, never on file bytes or hashes: first an exact match (the
fast path), otherwise the number of pixels whose colour differs by more than
``LIMITS.pixel_threshold`` in any channel, checked against a cap, and the largest single
difference. An animation is checked frame by frame after its frame count, frame durations and
loop flag. A failing file leaves its expected, actual and amplified difference images (for an
animation: the differing frames) and one offline HTML page in the report folder.

Goldens are written only by ``accept`` (``make golden``), which refuses to run under CI.
"""
from __future__ import annotations

import html
import json
import os
import platform
import shutil
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path
from typing import Iterable

import numpy as np

ENVIRONMENT_FILE = "ENVIRONMENT.json"
DRAWING_LIBRARIES = ("matplotlib", "pillow", "numpy", "imageio", "torch")
SUFFIXES = (".png", ".gif")


@dataclass(frozen=True)
class Limits:
    """Every tolerance of the golden comparison, in one place."""

    pixel_threshold: int = 8
    """A pixel differs when any channel differs by more than this (0..255)."""
    max_differing_fraction: float = 0.0005
    """At most this fraction of a picture's pixels may differ ..."""
    max_differing_pixels: int = 50
    """... and at most this many, whichever is smaller."""
    max_pixel_difference: int = 128
    """No single channel of any pixel may differ by more than this: a few edge pixels may
    shift by up to half the range (antialiasing), but black turning white is a change."""


LIMITS = Limits()


# --------------------------------------------------------------------------- decoding


@dataclass
class Decoded:
    frames: list[np.ndarray]  # RGB uint8, one per frame (one for a PNG)
    durations: list[int] = field(default_factory=list)  # ms per frame (GIF)
    loop: int | None = None  # GIF loop count (0 = forever); None = not looping / not a GIF


def decode(path: Path) -> Decoded:
    from PIL import Image

    with Image.open(path) as image:
        if path.suffix.lower() != ".gif":
            return Decoded([np.asarray(image.convert("RGB"))])
        frames, durations = [], []
        for index in range(getattr(image, "n_frames", 1)):
            image.seek(index)
            frames.append(np.asarray(image.convert("RGB")))
            durations.append(int(image.info.get("duration", 0)))
        return Decoded(frames, durations, image.info.get("loop"))


# --------------------------------------------------------------------------- comparing


@dataclass
class PixelVerdict:
    ok: bool
    exact: bool
    differing: int = 0
    largest: int = 0
    total: int = 0
    sizes: tuple[tuple[int, int], tuple[int, int]] | None = None  # (expected, actual) if they differ

    def describe(self) -> str:
        if self.sizes:
            (ew, eh), (aw, ah) = self.sizes
            return f"size {aw}×{ah}, expected {ew}×{eh}"
        if self.exact:
            return "identical"
        return (f"{self.differing} of {self.total} pixels differ by more than {LIMITS.pixel_threshold} "
                f"({100 * self.differing / self.total:.3f}%), largest difference {self.largest}")


def compare_pixels(expected: np.ndarray, actual: np.ndarray, limits: Limits = LIMITS) -> PixelVerdict:
    if expected.shape != actual.shape:
        size = lambda a: (a.shape[1], a.shape[0])  # noqa: E731
        return PixelVerdict(ok=False, exact=False, sizes=(size(expected), size(actual)))
    if np.array_equal(expected, actual):
        return PixelVerdict(ok=True, exact=True, total=expected.shape[0] * expected.shape[1])
    difference = np.abs(expected.astype(np.int16) - actual.astype(np.int16)).max(axis=-1)
    total = difference.size
    differing = int((difference > limits.pixel_threshold).sum())
    largest = int(difference.max())
    cap = min(limits.max_differing_pixels, int(limits.max_differing_fraction * total))
    ok = differing <= cap and largest <= limits.max_pixel_difference
    return PixelVerdict(ok=ok, exact=False, differing=differing, largest=largest, total=total)


@dataclass
class FileVerdict:
    name: str
    ok: bool
    reason: str = ""
    frames: list[int] = field(default_factory=list)  # differing frames of an animation
    expected: Decoded | None = None
    actual: Decoded | None = None

    def line(self, report: Path | None, environment_note: str = "") -> str:
        where = f"; see {report}" if report else ""
        return f"{self.name}: {self.reason}{environment_note}{where}"


def compare_files(expected_path: Path, actual_path: Path, limits: Limits = LIMITS) -> FileVerdict:
    name = actual_path.name
    if not expected_path.exists():
        return FileVerdict(name, False, "no golden (accept it with `make golden ONLY=" + name + "`)")
    if not actual_path.exists():
        return FileVerdict(name, False, "not rendered")
    expected, actual = decode(expected_path), decode(actual_path)
    verdict = FileVerdict(name, True, expected=expected, actual=actual)
    if expected_path.suffix.lower() == ".gif":
        problems = _animation_problems(expected, actual)
        if problems:
            verdict.ok, verdict.reason = False, "; ".join(problems)
            return verdict
    for index, (want, got) in enumerate(zip(expected.frames, actual.frames)):
        pixels = compare_pixels(want, got, limits)
        if not pixels.ok:
            verdict.ok = False
            verdict.frames.append(index)
            if not verdict.reason:
                verdict.reason = pixels.describe()
    if len(verdict.frames) > 1 or (verdict.frames and len(expected.frames) > 1):
        shown = ", ".join(map(str, verdict.frames[:12])) + (" …" if len(verdict.frames) > 12 else "")
        verdict.reason = f"frames {shown} differ (first: {verdict.reason})"
    return verdict


def _animation_problems(expected: Decoded, actual: Decoded) -> list[str]:
    """Frame count, durations and loop flag come before any pixel."""
    problems = []
    if len(expected.frames) != len(actual.frames):
        problems.append(f"{len(actual.frames)} frames, expected {len(expected.frames)}")
    changed = [i for i, (a, b) in enumerate(zip(expected.durations, actual.durations)) if a != b]
    if changed:
        i = changed[0]
        problems.append(f"frame durations differ at frames {', '.join(map(str, changed[:8]))}"
                        f" ({actual.durations[i]} ms, expected {expected.durations[i]} ms)")
    if expected.loop != actual.loop:
        problems.append(f"loop {actual.loop}, expected {expected.loop}")
    return problems


def compare_folders(golden: Path, actual: Path, names: Iterable[str], limits: Limits = LIMITS) -> list[FileVerdict]:
    return [compare_files(golden / name, actual / name, limits) for name in names]


def rendered_names(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if p.suffix.lower() in SUFFIXES) if folder.is_dir() else []


def unused_goldens(golden: Path, produced: Iterable[str]) -> list[str]:
    """Goldens that no scene produces any more."""
    return sorted(set(rendered_names(golden)) - set(produced))


# --------------------------------------------------------------------------- environment


def environment() -> dict[str, str]:
    """The versions that decide what pixels come out (no torch import)."""
    versions = {lib: metadata.version(lib) for lib in DRAWING_LIBRARIES}
    from matplotlib import ft2font

    versions["freetype"] = ft2font.__freetype_version__
    versions["python"] = platform.python_version()
    return versions


def environment_note(golden: Path) -> str:
    """'' when the goldens were made in this environment, else what differs."""
    try:
        stored = json.loads((golden / ENVIRONMENT_FILE).read_text())
    except (OSError, ValueError):
        return f" (no {ENVIRONMENT_FILE} beside the goldens: environment unknown)"
    current = environment()
    changed = [f"{key} {stored.get(key)} → {current.get(key)}" for key in sorted(set(stored) | set(current))
               if stored.get(key) != current.get(key)]
    return f" (environment differs from the goldens': {', '.join(changed)})" if changed else ""


# --------------------------------------------------------------------------- report


def write_report(verdicts: list[FileVerdict], folder: Path) -> Path | None:
    """Expected, actual and amplified-difference PNGs of each failure, and one HTML page."""
    from PIL import Image

    failing = [v for v in verdicts if not v.ok]
    if folder.exists():
        shutil.rmtree(folder)
    if not failing:
        return None
    folder.mkdir(parents=True)
    sections = []
    for verdict in failing:
        rows = []
        frames = verdict.frames or ([0] if verdict.expected and verdict.actual else [])
        for index in frames[:12]:
            want, got = verdict.expected.frames[index], verdict.actual.frames[index]
            stem = f"{Path(verdict.name).stem}" + (f"_frame{index}" if len(verdict.expected.frames) > 1 else "")
            cells = []
            for label, picture in (("expected", want), ("actual", got), ("difference ×8", _difference(want, got))):
                if picture is None:
                    cells.append(f"<td>{label}: sizes differ</td>")
                    continue
                file = f"{stem}_{label.split()[0]}.png"
                Image.fromarray(picture).save(folder / file)
                cells.append(f'<td><div>{label}</div><img src="{file}"></td>')
            caption = f"frame {index}" if len(verdict.expected.frames) > 1 else ""
            rows.append(f"<tr><th>{caption}</th>{''.join(cells)}</tr>")
        sections.append(f"<h2>{html.escape(verdict.name)}</h2><p>{html.escape(verdict.reason)}</p>"
                        f"<table>{''.join(rows)}</table>")
    page = folder / "index.html"
    page.write_text(
        "<!doctype html><meta charset=utf-8><title>golden image failures</title>"
        "<style>body{font-family:sans-serif} img{max-width:32vw;border:1px solid #ccc}"
        "td{vertical-align:top;padding:4px}</style>"
        f"<h1>{len(failing)} golden image failure(s)</h1>" + "".join(sections), encoding="utf-8")
    return page


def _difference(expected: np.ndarray, actual: np.ndarray) -> np.ndarray | None:
    """|expected - actual| × 8, so a one-level change is visible; white where equal."""
    if expected.shape != actual.shape:
        return None
    difference = np.abs(expected.astype(np.int16) - actual.astype(np.int16)).max(axis=-1)
    amplified = np.clip(difference * 8, 0, 255).astype(np.uint8)
    picture = np.full(expected.shape, 255, dtype=np.uint8)
    picture[..., 1] = picture[..., 2] = 255 - amplified  # red where they differ
    return picture


# --------------------------------------------------------------------------- accepting


def accept(actual: Path, golden: Path, names: Iterable[str] | None = None,
           missing_only: bool = False) -> list[str]:
    """Copy rendered files into the golden folder; returns the names accepted."""
    if os.environ.get("CI"):
        raise PermissionError("goldens are never written under CI")
    produced = rendered_names(actual)
    wanted = produced if names is None else [n for n in names]
    unknown = sorted(set(wanted) - set(produced))
    if unknown:
        raise FileNotFoundError(f"not rendered: {', '.join(unknown)} (rendered: {len(produced)} files in {actual})")
    if missing_only:
        wanted = [name for name in wanted if not (golden / name).exists()]
    golden.mkdir(parents=True, exist_ok=True)
    for name in wanted:
        shutil.copyfile(actual / name, golden / name)
    (golden / ENVIRONMENT_FILE).write_text(json.dumps(environment(), indent=2, sort_keys=True) + "\n")
    return wanted


def prune(golden: Path, produced: Iterable[str]) -> list[str]:
    if os.environ.get("CI"):
        raise PermissionError("goldens are never written under CI")
    removed = unused_goldens(golden, produced)
    for name in removed:
        (golden / name).unlink()
    return removed
