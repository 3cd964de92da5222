"""The command line end to end: the post's 36 files, bad input, quiet mode, atomic writes."""
from __future__ import annotations

import json
import os

import numpy as np
import pytest
from click.testing import CliRunner
from PIL import Image

from conftest import invoke
from gif_blocks import read_blocks
from pipeline import write
from pipeline.cli import main, progress_line

POST_FILES = (
    ["output_5_0.png", "output_11_0.png", "output_13_0.png", "output_13_1.png", "output_20_0.png",
     "output_28_1.png", "output_28_2.png", "output_34_1.png", "output_34_2.png", "output_37_1.png",
     "output_37_2.png"]
    + [f"output_43_{i}.png" for i in range(1, 22, 2)]
    + ["output_45_0.png"]
    + [f"output_49_{i}.png" for i in range(1, 12, 2)]
    + ["output_50_1.png", "output_50_2.png", "output_51_1.png", "output_51_2.png", "output_53_1.png",
       "output_53_2.png", "VanangamudiMNIST_training_animation.gif"]
)


@pytest.fixture
def post_render(post_project):
    return post_project


def test_post_scenes_write_all_36_files_under_the_posts_names(post_render):
    folder = post_render / "output" / "vanangamudimnist"
    figures = sorted(p.name for p in folder.iterdir() if p.suffix in (".png", ".gif"))
    assert figures == sorted(POST_FILES)
    for name in POST_FILES:
        with Image.open(folder / name) as image:
            assert max(image.size) <= 2000, (name, image.size)
            assert min(image.size) >= 100, (name, image.size)
    assert not list(folder.glob(".*tmp"))


def test_the_animation_loops_with_one_frame_per_epoch(post_render):
    path = post_render / "output" / "vanangamudimnist" / "VanangamudiMNIST_training_animation.gif"
    with Image.open(path) as gif:
        assert gif.n_frames == 51  # epoch 0 (untrained) to epoch 50
        assert gif.info["loop"] == 0
        durations = set()
        for index in range(gif.n_frames):
            gif.seek(index)
            durations.add(gif.info["duration"])
        assert durations == {200}
    blocks = read_blocks(path.read_bytes())
    assert blocks.frames == 51 and len(blocks.global_palette) == 768
    assert blocks.local_palettes == 0  # one palette for every frame


def test_numbers_files_quote_what_the_post_prints(post_render):
    folder = post_render / "output" / "vanangamudimnist"
    text = (folder / "numbers_A.txt").read_text()
    assert "epoch 0: correct: 1/10, loss:2.4" in text  # the post: 1/10, 2.4236
    assert "data[4]: " in text and "data[1]: " in text
    numbers = json.loads((folder / "numbers_B.json").read_text())
    correct = {s["epoch"]: s["correct"] for s in numbers["snapshots"]}
    assert correct[0] <= 2 and correct[12] == correct[20] == 10
    assert len(numbers["mean_training_loss"]) == 20
    run_a = json.loads((folder / "numbers_A.json").read_text())
    assert 7.0 < run_a["mean_training_loss"][0] < 8.0  # the post: 7.596 after one epoch
    assert set(run_a["first_snapshot_outputs"]["rows"]) == {f"data[{i}]" for i in range(10)}


def test_second_render_trains_and_draws_nothing(post_render):
    result = invoke(post_render, ["render"])
    assert result.exit_code == 0
    assert "0 files drawn, 0 copied from the cache, 44 up to date; runs trained: none" in result.output


def test_list_shows_runs_figures_and_files(post_render):
    result = invoke(post_render, ["list"])
    assert result.exit_code == 0
    assert "B_long: 100000 epochs, lr 0.1, momentum 0.1, from B" in result.output
    assert "output_43_1.png … output_43_21.png (11 files)" in result.output
    assert "VanangamudiMNIST_training_animation.gif" in result.output


BAD_INPUTS = [
    (["render", "scenes/missing.toml"], "scenes/missing.toml: no such scene file"),
    (["render", "--set", "runs.B.lr=0"], "runs.B.lr: expected a number > 0, got 0"),
    (["render", "--set", "runs.B.lrr=0.5"], "runs.B.lrr: unknown key (did you mean 'lr'?)"),
    (["render", "--set", "runs.B.epochs=-1"], "runs.B.epochs: expected an integer >= 0, got -1"),
    (["render", "--set", "figures[3].run=C"], "figures[3].run: no run named 'C' (runs: A, B, B_long)"),
    (["render", "--set", "runs.A.from=B_long", "--set", "runs.B.from=A"], "'from' makes a cycle"),
    (["render", "--set", "figures[1].epochs=3"], "figures[1].epochs: epoch 3 is past the end of run 'A'"),
    (["render", "--set", "runs.Z.lr=1"], "no scene has this key's table"),
    (["render", "--set", "runs.B.lr"], "expected KEY=VALUE"),
    (["list", "--set", "figures[0].cmap=virids"], "(did you mean 'viridis'?)"),
    # found only while drawing: still one line, and nothing written
    (["render", "--set", "figures[1].size=[0.6, 0.6]"],
     "figures[1].size: cannot draw output_11_0.png: figure size (0.6, 0.6) is too small for this figure"),
]


@pytest.mark.parametrize("args, expected", BAD_INPUTS)
def test_bad_input_is_one_line_exit_2_and_output_untouched(post_render, args, expected):
    folder = post_render / "output" / "vanangamudimnist"
    before = {p.name: (p.stat().st_mtime_ns, p.read_bytes()) for p in folder.iterdir()}
    result = invoke(post_render, args)
    assert result.exit_code == 2
    lines = result.output.strip().splitlines()
    assert len(lines) == 1, result.output
    assert expected in lines[0] and "Traceback" not in result.output
    assert {p.name: (p.stat().st_mtime_ns, p.read_bytes()) for p in folder.iterdir()} == before


def test_malformed_scene_names_file_and_line(tmp_path):
    (tmp_path / "scenes").mkdir()
    (tmp_path / "scenes" / "bad.toml").write_text('[runs.A]\nlr = 0.5\nepochs = [1,\n')
    result = invoke(tmp_path, ["render"])
    assert result.exit_code == 2
    assert result.output.startswith("error: scenes/bad.toml: malformed TOML: line 3, at the end of the file")
    assert not (tmp_path / "output").exists()


def test_quiet_prints_nothing_and_default_prints_progress(tmp_path):
    scene = tmp_path / "tiny.toml"
    scene.write_text('[runs.A]\nepochs = 2\n\n[[figures]]\nkind = "trinity"\nrun = "A"\nfile = "t.png"\n')
    quiet = invoke(tmp_path, ["render", "-q", str(scene)])
    assert quiet.exit_code == 0 and quiet.output == ""
    assert (tmp_path / "output" / "tiny" / "t.png").exists()
    loud = invoke(tmp_path, ["render", "--cache", "other-cache", str(scene)])
    assert "training run A: 2 epochs" in loud.output
    assert "3 files drawn, 0 copied from the cache, 0 up to date; runs trained: A" in loud.output


def test_help_shows_examples():
    result = CliRunner().invoke(main, ["render", "--help"])
    assert result.exit_code == 0
    assert "--set runs.B.lr=0.5" in result.output and "-q, --quiet" in result.output


def test_progress_line_shows_epochs_rate_and_time_left():
    line = progress_line("run B_long", 25_000, 100_000, elapsed=5.0)
    assert "25000/100000" in line and "5.0k/s" in line and "15s left" in line


def test_interrupted_write_leaves_the_old_file_and_no_temporary(tmp_path, monkeypatch):
    target = tmp_path / "figure.png"
    target.write_bytes(b"old picture")

    def broken_replace(src, dst):
        raise KeyboardInterrupt  # as if the render were interrupted at the last moment

    monkeypatch.setattr(os, "replace", broken_replace)
    with pytest.raises(KeyboardInterrupt):
        write.write_bytes(target, b"new picture")
    assert target.read_bytes() == b"old picture"
    assert [p.name for p in tmp_path.iterdir()] == ["figure.png"]


def test_same_scene_same_bytes(tmp_path):
    scene = tmp_path / "tiny.toml"
    scene.write_text('[runs.A]\nepochs = 3\n\n[[figures]]\nkind = "values"\nrun = "A"\nfile = "v.png"\n'
                     '\n[[figures]]\nkind = "animation"\nrun = "A"\nfile = "a.gif"\n')
    for out in ("one", "two"):
        assert invoke(tmp_path, ["render", "-q", "--out", out, "--cache", f"cache-{out}", str(scene)]).exit_code == 0
    for name in ("v.png", "a.gif", "numbers_A.json"):
        assert (tmp_path / "one/tiny" / name).read_bytes() == (tmp_path / "two/tiny" / name).read_bytes()
    with Image.open(tmp_path / "one/tiny/v.png") as image:
        assert set(image.info) <= {"dpi"}  # no Software, no timestamps
    assert np.asarray(Image.open(tmp_path / "one/tiny/a.gif").convert("RGB")).std() > 0


class FakeStream:
    def __init__(self, tty: bool):
        self.tty, self.text = tty, ""

    def isatty(self) -> bool:
        return self.tty

    def write(self, text: str) -> None:
        self.text += text

    def flush(self) -> None:
        pass


def test_progress_is_a_live_bar_on_a_terminal_a_few_lines_elsewhere_and_nothing_with_q():
    from pipeline.cli import TerminalReporter

    streams = {"tty": FakeStream(True), "pipe": FakeStream(False), "quiet": FakeStream(True)}
    reporters = {"tty": TerminalReporter(False, streams["tty"]), "pipe": TerminalReporter(False, streams["pipe"]),
                 "quiet": TerminalReporter(True, streams["quiet"])}
    for reporter in reporters.values():
        for done in range(0, 100_001, 500):
            reporter.progress("run B_long", done, 100_000)
    bar = streams["tty"].text
    assert bar.startswith("\rrun B_long  [") and bar.count("\n") == 1 and bar.endswith("\n")
    assert "[" + "#" * 24 + "]  100000/100000" in bar.rsplit("\r", 1)[1]  # redrawn in place, ended once
    lines = streams["pipe"].text.strip().splitlines()
    assert 1 <= len(lines) <= 4 and "\r" not in streams["pipe"].text and lines[-1].startswith("run B_long  [####")
    assert streams["quiet"].text == ""
