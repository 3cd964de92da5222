"""The command line: a thin layer that turns arguments into calls of ``pipeline.build``."""
from __future__ import annotations

import contextlib
import sys
import tempfile
import time
from pathlib import Path

import click

from . import build
from .cache import Store
from .record import trainer_for
from .scene import SceneError

EPILOG = """\b
Examples:
  nnfig render                              every scene in scenes/ into output/
  nnfig render scenes/vanangamudimnist.toml one scene
  nnfig render --set runs.B.lr=0.5 --out /tmp/try
  nnfig render --set 'figures[3].cmap=magma' -q
  nnfig render --dry-run --set runs.anim.lr=0.5   what would be redone, and why
  nnfig render --force -j 1                 redo everything, in one process
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
              type=click.Path(file_okay=False, path_type=Path), help="The content-hash cache of recordings and drawn files.")
@_set_option
@click.option("-j", "--jobs", type=click.IntRange(1, 64), default=None,
              help="Processes that draw in parallel  [default: the number of cores]")
@click.option("--dry-run", is_flag=True, help="Only list what is stale and why; change nothing.")
@click.option("--force", is_flag=True, help="Ignore the cache: retrain every run, redraw every file.")
@click.option("-q", "--quiet", is_flag=True, help="Print nothing but errors.")
def render(scenes: tuple[str, ...], out: Path, cache: Path, overrides: tuple[str, ...],
           jobs: int | None, dry_run: bool, force: bool, quiet: bool) -> None:
    """Train and draw what is stale, and write every file of SCENES (default: scenes/*.toml)."""
    reporter = TerminalReporter(quiet)
    try:
        loaded = build.load_scenes(build.find_scenes(scenes), overrides)
    except SceneError as error:
        _fail(error)
    if dry_run:
        plan = build.make_plan(loaded, out, Store(cache), force)
        for line in build.explain(plan):
            click.echo(line)
        return
    started = time.perf_counter()
    try:
        result = build.render_scenes(loaded, out, cache, reporter, jobs=jobs, force=force)
    except SceneError as error:  # found only while drawing; nothing was written to the output
        _fail(error)
    trained = ", ".join(result.trained) or "none"
    reporter.info(f"done in {time.perf_counter() - started:.1f} s: {result.drawn} files drawn, "
                  f"{result.copied} copied from the cache, {result.fresh} up to date; runs trained: {trained}")


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
                       f"{start}; {len(run.snapshots)} snapshots; trainer {trainer_for(run)}")
        click.echo("  figures:")
        for figure in scene.figures:
            epochs = ", ".join(map(str, figure.epochs)) if len(figure.epochs) <= 6 else \
                f"{figure.epochs[0]}..{figure.epochs[-1]} ({len(figure.epochs)})"
            files = ", ".join(figure.files) if len(figure.files) <= 3 else \
                f"{figure.files[0]} … {figure.files[-1]} ({len(figure.files)} files)"
            click.echo(f"    [{figure.index}] {figure.kind} of run {figure.run} at epoch {epochs}: {files}")
        click.echo("  numbers: " + ", ".join(f"numbers_{name}.txt/.json" for name in scene.runs))


DEFAULT_GOLDEN = Path("tests/golden")
DEFAULT_REPORT = Path("tests/failures")


@contextlib.contextmanager
def _render_to_temporary(scenes: tuple[str, ...], cache: Path, quiet: bool):
    """Render the scenes (through the cache) into a temporary folder; yields (scenes, folder)."""
    try:
        loaded = build.load_scenes(build.find_scenes(scenes))
    except SceneError as error:
        _fail(error)
    with tempfile.TemporaryDirectory(prefix="nnfig-golden-") as folder:
        try:
            build.render_scenes(loaded, Path(folder), cache, TerminalReporter(quiet))
        except SceneError as error:
            _fail(error)
        yield loaded, Path(folder)


@main.group()
def golden() -> None:
    """Golden images: compare the scenes' files with references, or accept new references.

    Goldens live in tests/golden/<scene output folder>/, with ENVIRONMENT.json (the versions
    that drew them). Only `golden accept` writes them, and never when CI is set.
    """


_golden_options = [
    click.option("--scene", "scenes", multiple=True, type=click.Path(dir_okay=False, path_type=str),
                 help="Scene files (repeatable; default: scenes/*.toml)."),
    click.option("--golden", "golden_dir", default=str(DEFAULT_GOLDEN), show_default=True,
                 type=click.Path(file_okay=False, path_type=Path)),
    click.option("--cache", "cache", default=str(build.DEFAULT_CACHE), show_default=True,
                 type=click.Path(file_okay=False, path_type=Path)),
    click.option("-q", "--quiet", is_flag=True, help="Print nothing but the result."),
]


def _with_golden_options(command):
    for option in reversed(_golden_options):
        command = option(command)
    return command


@golden.command()
@click.argument("names", nargs=-1)
@click.option("--missing", is_flag=True, help="Accept only files that have no golden yet.")
@click.option("--prune", is_flag=True, help="Also remove goldens that no scene produces any more.")
@_with_golden_options
def accept(names: tuple[str, ...], missing: bool, prune: bool, scenes: tuple[str, ...],
           golden_dir: Path, cache: Path, quiet: bool) -> None:
    """Render the scenes and copy NAMES (default: every file) into the goldens.

    Look at every image you accept: a golden is a reference someone has seen.
    """
    from . import golden as goldens

    with _render_to_temporary(scenes, cache, quiet) as (loaded, folder):
        for output in sorted({scene.output for scene in loaded}):
            produced = goldens.rendered_names(folder / output)
            wanted = [n for n in names if n in produced] if names else None
            try:
                accepted = goldens.accept(folder / output, golden_dir / output, wanted, missing)
                removed = goldens.prune(golden_dir / output, produced) if prune else []
            except (PermissionError, FileNotFoundError) as error:
                click.echo(f"error: {error}", err=True)
                sys.exit(2)
            click.echo(f"{golden_dir / output}: accepted {len(accepted)}: {', '.join(accepted) or 'none'}")
            if removed:
                click.echo(f"{golden_dir / output}: removed {len(removed)} unused: {', '.join(removed)}")
            unused = goldens.unused_goldens(golden_dir / output, produced)
            if unused:
                click.echo(f"{golden_dir / output}: {len(unused)} goldens no scene produces "
                           f"(remove with --prune): {', '.join(unused)}")
        unknown = sorted(set(names) - {n for o in {s.output for s in loaded}
                                       for n in goldens.rendered_names(folder / o)})
        if unknown:
            click.echo(f"error: no scene produces {', '.join(unknown)}", err=True)
            sys.exit(2)


@golden.command()
@click.option("--report", "report_dir", default=str(DEFAULT_REPORT), show_default=True,
              type=click.Path(file_okay=False, path_type=Path), help="Where failures are explained.")
@_with_golden_options
def check(report_dir: Path, scenes: tuple[str, ...], golden_dir: Path, cache: Path, quiet: bool) -> None:
    """Render the scenes and compare every file with its golden; exit 1 on any difference."""
    from . import golden as goldens

    failures = []
    with _render_to_temporary(scenes, cache, quiet) as (loaded, folder):
        for output in sorted({scene.output for scene in loaded}):
            names = goldens.rendered_names(folder / output)
            verdicts = goldens.compare_folders(golden_dir / output, folder / output, names)
            failing = [v for v in verdicts if not v.ok]
            page = goldens.write_report(failing, report_dir / output)
            note = goldens.environment_note(golden_dir / output) if failing else ""
            failures += [v.line(page, note) for v in failing]
            unused = goldens.unused_goldens(golden_dir / output, names)
            failures += [f"{name}: golden that no scene produces (remove: nnfig golden accept --prune)"
                         for name in unused]
            click.echo(f"{golden_dir / output}: {len(verdicts) - len(failing)} of {len(verdicts)} match")
    for line in failures:
        click.echo(line)
    sys.exit(1 if failures else 0)


if __name__ == "__main__":
    main()
