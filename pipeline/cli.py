"""The command line: a thin layer that turns arguments into calls of ``pipeline.build``."""
from __future__ import annotations

import sys
import time
from pathlib import Path

import click

from . import build
from .scene import SceneError

EPILOG = """\b
Examples:
  nnfig render                              every scene in scenes/ into output/
  nnfig render scenes/vanangamudimnist.toml one scene
  nnfig render --set runs.B.lr=0.5 --out /tmp/try
  nnfig render --set 'figures[3].cmap=magma' -q
  nnfig list                                scenes, runs, figures and their files
"""


class TerminalReporter(build.Reporter):
    """Progress for people: a live bar on a terminal, a few plain lines elsewhere, none with -q."""

    LINE_STEPS = 4  # a non-terminal gets a line at each quarter of a long run

    def __init__(self, quiet: bool, stream=None):
        self.quiet = quiet
        self.stream = stream or sys.stderr
        self.tty = self.stream.isatty()
        self.started: dict[str, float] = {}
        self.last_draw = 0.0
        self.last_step: dict[str, int] = {}
        self.bar_open = False  # a live bar is on the current line

    def info(self, message: str) -> None:
        if not self.quiet:
            if self.bar_open:
                self.stream.write("\n")
                self.bar_open = False
            print(message, file=self.stream, flush=True)

    def progress(self, label: str, done: int, total: int) -> None:
        if self.quiet or total <= 0:
            return
        now = time.perf_counter()
        start = self.started.setdefault(label, now)
        if self.tty:
            if done < total and now - self.last_draw < 0.1:
                return
            self.last_draw = now
            self.stream.write("\r" + progress_line(label, done, total, now - start))
            self.stream.flush()
            self.bar_open = done < total
            if done >= total:
                self.stream.write("\n")
                self.started.pop(label, None)
        elif total >= 1000:  # short work stays quiet off a terminal
            step = done * self.LINE_STEPS // total
            if step > self.last_step.get(label, 0):
                self.last_step[label] = step
                print(progress_line(label, done, total, now - start).strip(), file=self.stream, flush=True)


def progress_line(label: str, done: int, total: int, elapsed: float, width: int = 24) -> str:
    """``run B  [######      ]  40000/100000  9.8k/s  6s left``."""
    filled = width * done // total
    rate = done / elapsed if elapsed > 0 else 0.0
    left = (total - done) / rate if rate > 0 else 0.0
    rate_text = f"{rate / 1000:.1f}k/s" if rate >= 1000 else f"{rate:.0f}/s"
    return (f"{label}  [{'#' * filled}{' ' * (width - filled)}]  {done}/{total}  "
            f"{rate_text}  {left:.0f}s left ")


def _fail(error: SceneError) -> None:
    click.echo(f"error: {error}", err=True)
    sys.exit(2)


@click.group(epilog=EPILOG, context_settings={"help_option_names": ["-h", "--help"]})
def main() -> None:
    """Render the figures of an explanatory neural-network post from declarative scenes.

    A scene (TOML) names training runs and the figures drawn from them; see README.md for
    every key and figure kind.
    """


_set_option = click.option(
    "--set", "overrides", multiple=True, metavar="KEY=VALUE",
    help="Override a scene key, e.g. runs.B.lr=0.5 or 'figures[3].cmap=magma' (repeatable); "
         "checked exactly like the file.")


@main.command(epilog=EPILOG)
@click.argument("scenes", nargs=-1, type=click.Path(dir_okay=False, path_type=str))
@click.option("--out", "out", default=str(build.DEFAULT_OUTPUT), show_default=True,
              type=click.Path(file_okay=False, path_type=Path), help="Folder the scenes' folders go in.")
@click.option("--cache", "cache", default=str(build.DEFAULT_CACHE), show_default=True,
              type=click.Path(file_okay=False, path_type=Path), help="Where recordings are kept.")
@_set_option
@click.option("-q", "--quiet", is_flag=True, help="Print nothing but errors.")
def render(scenes: tuple[str, ...], out: Path, cache: Path, overrides: tuple[str, ...], quiet: bool) -> None:
    """Train what is needed and write every figure of SCENES (default: scenes/*.toml)."""
    reporter = TerminalReporter(quiet)
    try:
        loaded = build.load_scenes(build.find_scenes(scenes), overrides)
    except SceneError as error:
        _fail(error)
    started = time.perf_counter()
    result = build.render_scenes(loaded, out, cache, reporter)
    reporter.info(f"done in {time.perf_counter() - started:.1f} s: {len(result.written)} files written, "
                  f"{len(result.trained)} runs trained, {len(result.reused)} reused from {cache}")


@main.command(name="list", epilog=EPILOG)
@click.argument("scenes", nargs=-1, type=click.Path(dir_okay=False, path_type=str))
@click.option("--out", "out", default=str(build.DEFAULT_OUTPUT), show_default=True,
              type=click.Path(file_okay=False, path_type=Path))
@_set_option
def list_(scenes: tuple[str, ...], out: Path, overrides: tuple[str, ...]) -> None:
    """Show the scenes, their runs and figures, and the files they write."""
    try:
        loaded = build.load_scenes(build.find_scenes(scenes), overrides)
    except SceneError as error:
        _fail(error)
    for scene in loaded:
        click.echo(f"{scene.path}  →  {out / scene.output}/")
        click.echo("  runs:")
        for run in scene.runs.values():
            start = f", from {run.start}" if run.start else f", seed {run.seed}"
            click.echo(f"    {run.name}: {run.epochs} epochs, lr {run.lr:g}, momentum {run.momentum:g}"
                       f"{start}; {len(run.snapshots)} snapshots; trainer torch")
        click.echo("  figures:")
        for figure in scene.figures:
            epochs = ", ".join(map(str, figure.epochs)) if len(figure.epochs) <= 6 else \
                f"{figure.epochs[0]}..{figure.epochs[-1]} ({len(figure.epochs)})"
            files = ", ".join(figure.files) if len(figure.files) <= 3 else \
                f"{figure.files[0]} … {figure.files[-1]} ({len(figure.files)} files)"
            click.echo(f"    [{figure.index}] {figure.kind} of run {figure.run} at epoch {epochs}: {files}")
        click.echo(f"  numbers: " + ", ".join(f"numbers_{name}.txt/.json" for name in scene.runs))


if __name__ == "__main__":
    main()
