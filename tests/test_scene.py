"""Scene parsing: defaults, types, the post's scenes, and one clear error for each kind of bad input."""
from __future__ import annotations

import textwrap
import tomllib
from pathlib import Path

import pytest

from pipeline.build import load_scenes
from pipeline.colormaps import COLORMAPS
from pipeline.scene import SceneError, load_scene, parse_override_key, parse_override_value

ROOT = Path(__file__).resolve().parent.parent
POST = ROOT / "scenes" / "vanangamudimnist.toml"

MINIMAL = """
[runs.A]
seed = 1
lr = 0.5
momentum = 0.1
epochs = 4
snapshots = { every = 2 }

[runs.B]
from = "A"
epochs = 3

[[figures]]
kind = "trinity"
run = "A"
epochs = "all"
files = ["a0.png", "a2.png", "a4.png"]

[[figures]]
kind = "animation"
run = "B"
file = "b.gif"
"""


def write(tmp_path: Path, text: str, name: str = "scene.toml") -> Path:
    path = tmp_path / name
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return path


def error_of(tmp_path: Path, text: str, overrides=()) -> str:
    path = write(tmp_path, text)
    with pytest.raises(SceneError) as caught:
        load_scene(path, overrides)
    message = str(caught.value)
    assert "\n" not in message
    assert message.startswith(str(path))
    return message


def test_minimal_scene_parses_with_defaults_and_inheritance(tmp_path):
    scene = load_scene(write(tmp_path, MINIMAL))
    a, b = scene.runs["A"], scene.runs["B"]
    assert a.snapshots == (0, 2, 4)
    assert (a.dataset, a.model) == ("vanangamudi", "linear")
    # a continued run keeps its parent's optimizer settings unless it sets its own
    assert (b.lr, b.momentum, b.start, b.snapshots) == (0.5, 0.1, "A", (0, 1, 2, 3))
    trinity, animation = scene.figures
    assert trinity.epochs == (0, 2, 4) and trinity.files == ("a0.png", "a2.png", "a4.png")
    assert trinity.titles == ("DATASET", "MODEL", "OUTPUT") and trinity.layout == "row"
    assert animation.epochs == (0, 1, 2, 3) and animation.frame_ms == 200
    assert "{epoch}" in animation.caption
    assert scene.output == "scene" and scene.dpi == 100
    assert [r.name for r in scene.run_chain("B")] == ["A", "B"]


def test_post_scenes_write_the_posts_36_files():
    scenes = load_scenes(sorted((ROOT / "scenes").glob("*.toml")))
    files = [f for scene in scenes for f in scene.files()]
    assert len(files) == len(set(files)) == 36
    assert sum(f.endswith(".png") for f in files) == 35
    assert "VanangamudiMNIST_training_animation.gif" in files
    assert {scene.output for scene in scenes} == {"vanangamudimnist"}


def test_snapshot_forms(tmp_path):
    base = MINIMAL.replace("snapshots = { every = 2 }", "snapshots = {}")
    for spec, expected in [('"each"', (0, 1, 2, 3, 4)), ('"ends"', (0, 4)), ("[4, 1]", (1, 4)),
                           ("{ every = 3 }", (0, 3, 4))]:
        text = MINIMAL.replace("{ every = 2 }", spec).replace('epochs = "all"\nfiles = ["a0.png", "a2.png", "a4.png"]',
                                                              'epochs = "last"\nfile = "a.png"')
        assert load_scene(write(tmp_path, text)).runs["A"].snapshots == expected
    assert "expected { every = N }" in error_of(tmp_path, base)


@pytest.mark.parametrize("change, key, expected", [
    (("lr = 0.5", "lr = 0"), "runs.A.lr", "expected a number > 0, got 0"),
    (("lr = 0.5", "lr = -1"), "runs.A.lr", "expected a number > 0"),
    (("lr = 0.5", 'lr = "fast"'), "runs.A.lr", "expected a number, got a string 'fast'"),
    (("epochs = 4", "epochs = -3"), "runs.A.epochs", "expected an integer >= 0, got -3"),
    (("epochs = 4", "epochs = 2.5"), "runs.A.epochs", "expected an integer, got a number 2.5"),
    (("momentum = 0.1", "momentum = 1.0"), "runs.A.momentum", "expected a number < 1"),
    (("seed = 1", "seed = true"), "runs.A.seed", "expected an integer, got a boolean True"),
    (("seed = 1", "sed = 1"), "runs.A.sed", "unknown key (did you mean 'seed'?)"),
    (('run = "A"\nepochs', 'run = "C"\nepochs'), "figures[0].run", "no run named 'C' (runs: A, B)"),
    (('kind = "trinity"', 'kind = "trinty"'), "figures[0].kind", "(did you mean 'trinity'?)"),
    (('from = "A"', 'from = "Z"'), "runs.B.from", "no run named 'Z' (runs: A, B)"),
    (('epochs = "all"', "epochs = [0, 2, 6]"), "figures[0].epochs", "epoch 6 is past the end of run 'A' (epochs 0..4)"),
    (('epochs = "all"', "epochs = [0, 1, 2]"), "figures[0].epochs", "epoch 1 is not a snapshot of run 'A'"),
    (('files = ["a0.png", "a2.png", "a4.png"]', 'files = ["a0.png"]'), "figures[0].files", "expected one file per selected epoch (3), got 1"),
    (('file = "b.gif"', 'file = "b.png"'), "figures[1].file", "ending in .gif"),
    (('file = "b.gif"', 'file = "../b.gif"'), "figures[1].file", "plain file name"),
    (('file = "b.gif"', 'file = "b.gif"\ncmap = "viridiss"'), "figures[1].cmap", "(did you mean 'viridis'?)"),
    (('file = "b.gif"', 'file = "b.gif"\nrange = [3, 1]'), "figures[1].range", "low < high"),
    (('file = "b.gif"', 'file = "b.gif"\nrange = { weights = "fixed" }'), "figures[1].range.weights", 'expected "auto", "shared" or [low, high]'),
    (('file = "b.gif"', 'file = "b.gif"\ncaption = "{epok}"'), "figures[1].caption", "unknown field {epok}"),
    (('file = "b.gif"', 'file = "b.gif"\nsize = [100, 2]'), "figures[1].size", "inches between 0.5 and 40"),
    (('file = "b.gif"', 'file = "b.gif"\nframe_ms = 0'), "figures[1].frame_ms", "expected an integer >= 10"),
    (('run = "A"\nepochs', 'frame_ms = 100\nrun = "A"\nepochs'), "figures[0].frame_ms",
     "a trinity figure has no 'frame_ms' (it is a key of animation); keys of trinity: "),
    (('file = "b.gif"', 'file = "b.gif"\ndecimals = 3'), "figures[1].decimals", "(it is a key of values)"),
])
def test_each_bad_value_names_file_key_and_expectation(tmp_path, change, key, expected):
    old, new = change
    assert old in MINIMAL
    text = MINIMAL.replace(old, new, 1)
    message = error_of(tmp_path, text)
    assert f": {key}: " in message
    assert expected in message


def test_from_cycle_is_an_error(tmp_path):
    text = MINIMAL.replace("[runs.A]\n", '[runs.A]\nfrom = "B"\n')
    message = error_of(tmp_path, text)
    assert "runs.A.from: 'from' makes a cycle: A -> B -> A" in message


def test_malformed_toml_names_its_line(tmp_path):
    message = error_of(tmp_path, "[runs.A]\nlr = 0.5\nepochs = = 3\n")
    assert "malformed TOML: line 3" in message


def test_missing_scene_file(tmp_path):
    with pytest.raises(SceneError, match="no such scene file"):
        load_scene(tmp_path / "nope.toml")


def test_duplicate_output_file_is_an_error(tmp_path):
    text = MINIMAL.replace('file = "b.gif"', 'file = "b.gif"') + '\n[[figures]]\nkind = "grid"\nrun = "A"\nfile = "a0.png"\n'
    assert "'a0.png' is also written by figures[0]" in error_of(tmp_path, text)


def test_overrides_go_through_the_same_validation(tmp_path):
    path = write(tmp_path, MINIMAL)
    scene = load_scene(path, ["runs.A.lr=0.25", "figures[0].cmap=magma", "figures.1.range=[-1, 1]"])
    assert scene.runs["A"].lr == 0.25 and scene.runs["B"].lr == 0.25  # B inherits
    assert scene.figures[0].cmap == "magma"
    assert scene.figures[1].ranges == ((-1.0, 1.0),) * 3
    for override, expected in [("runs.A.lr=0", "runs.A.lr: expected a number > 0"),
                               ("runs.A.lrr=1", "runs.A.lrr: unknown key (did you mean 'lr'?)"),
                               ("runs.A.epochs=ten", "runs.A.epochs: expected an integer, got a string 'ten'")]:
        message = error_of(tmp_path, MINIMAL, [override])
        assert f"--set {override}" in message and expected in message
    for override, expected in [("runs.C.lr=1", "runs.C: not in"), ("runs.A.lr", "expected KEY=VALUE"),
                               ("figures[7].cmap=magma", "figures[7]: ")]:
        with pytest.raises(SceneError, match=expected.replace("[", r"\[").replace("]", r"\]")):
            load_scene(path, [override])


def test_override_parsing():
    assert parse_override_key("runs.B.lr") == ["runs", "B", "lr"]
    assert parse_override_key("figures[3].cmap") == ["figures", 3, "cmap"]
    assert parse_override_key("figures.3.range.weights") == ["figures", 3, "range", "weights"]
    assert parse_override_value("0.5") == 0.5 and parse_override_value("[-10, 10]") == [-10, 10]
    assert parse_override_value("magma") == "magma" and parse_override_value("true") is True


def test_colormap_list_matches_matplotlib():
    import matplotlib

    assert set(COLORMAPS) == set(matplotlib.colormaps)


def test_the_readme_scene_is_valid_and_its_reference_lists_every_key():
    readme = (ROOT / "README.md").read_text()
    block = readme.split("## A complete small scene", 1)[1].split("```toml", 1)[1].split("```", 1)[0]
    scene = load_scene(ROOT / "scenes" / "tiny.toml", raw=tomllib.loads(block))
    assert [f.kind for f in scene.figures] == ["trinity", "values", "animation"]
    assert scene.runs["fast"].snapshots == (0, 10, 20, 30)
    from pipeline.scene import FIGURE_DEFAULTS, KINDS, RUN_DEFAULTS, SCENE_DEFAULTS

    reference = readme.split("## Scene reference", 1)[1]
    for key in [*SCENE_DEFAULTS, *RUN_DEFAULTS, *FIGURE_DEFAULTS, *KINDS]:
        assert f"`{key}`" in reference, key
