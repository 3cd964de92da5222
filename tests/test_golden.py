"""Every file of the post against its golden, and the comparison itself put to the test.

The goldens in tests/golden/ were looked at before they were accepted (`make golden`);
tests never write them. A failure writes expected, actual and difference images and an HTML
page to tests/failures/ and names that page in its line.
"""
from __future__ import annotations

import io
import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from conftest import ROOT, invoke
from pipeline import golden

GOLDEN = ROOT / "tests" / "golden" / "vanangamudimnist"
REPORT = ROOT / "tests" / "failures"
GIF = "VanangamudiMNIST_training_animation.gif"


def rendered(project: Path) -> Path:
    return project / "output" / "vanangamudimnist"


def test_every_post_file_matches_its_golden(post_project):
    names = golden.rendered_names(rendered(post_project))
    assert len(names) == 36
    verdicts = golden.compare_folders(GOLDEN, rendered(post_project), names)
    failing = [v for v in verdicts if not v.ok]
    page = golden.write_report(failing, REPORT / "vanangamudimnist")
    note = golden.environment_note(GOLDEN) if failing else ""
    if failing:  # one line per failing file, nothing else
        pytest.fail("\n".join(v.line(page, note) for v in failing), pytrace=False)
    assert len(verdicts) == 36 and all(v.ok and v.reason == "" for v in verdicts)


def test_no_golden_is_orphaned_and_the_environment_is_recorded(post_project):
    assert golden.unused_goldens(GOLDEN, golden.rendered_names(rendered(post_project))) == []
    recorded = json.loads((GOLDEN / golden.ENVIRONMENT_FILE).read_text())
    assert set(recorded) == set(golden.DRAWING_LIBRARIES) | {"freetype", "python"}


def test_a_failure_under_another_environment_says_so(tmp_path):
    (tmp_path / golden.ENVIRONMENT_FILE).write_text(json.dumps({**golden.environment(), "matplotlib": "3.9.0"}))
    note = golden.environment_note(tmp_path)
    assert note.startswith(" (environment differs from the goldens': matplotlib 3.9.0 → ")
    assert golden.environment_note(tmp_path / "nowhere").startswith(" (no ENVIRONMENT.json")


def test_the_golden_set_is_small():
    total = sum(p.stat().st_size for p in GOLDEN.iterdir())
    assert total < 5 * 2**20, f"{total / 2**20:.1f} MiB"


# --------------------------------------------------------------------------- deliberate changes


def mutated(project: Path, tmp_path: Path, name: str, *overrides: str, scene: str | None = None) -> golden.FileVerdict:
    """Render with overrides into a fresh folder; compare ``name`` with its golden."""
    args = ["render", "-q", "--out", str(tmp_path)] + [a for o in overrides for a in ("--set", o)]
    if scene:
        args.append(f"scenes/{scene}")
    result = invoke(project, args)
    assert result.exit_code == 0, result.output
    return golden.compare_files(GOLDEN / name, tmp_path / "vanangamudimnist" / name)


def test_a_different_colour_map_fails(post_project, tmp_path):
    verdict = mutated(post_project, tmp_path, "output_11_0.png", "figures[1].cmap=magma")
    assert not verdict.ok and "pixels differ" in verdict.reason
    untouched = golden.compare_files(GOLDEN / "output_5_0.png", tmp_path / "vanangamudimnist" / "output_5_0.png")
    assert untouched.ok


def test_a_missing_title_fails(post_project, tmp_path):
    verdict = mutated(post_project, tmp_path, "output_11_0.png", 'figures[1].titles=["", "MODEL", "OUTPUT"]')
    assert not verdict.ok and "pixels differ" in verdict.reason


def test_a_shifted_value_range_fails(post_project, tmp_path):
    verdict = mutated(post_project, tmp_path, "output_51_1.png", "figures[16].range=[-9, 11]")
    assert not verdict.ok


def test_a_different_size_fails_naming_both_sizes(post_project, tmp_path):
    verdict = mutated(post_project, tmp_path, "output_11_0.png", "figures[1].size=[8, 3]")
    assert not verdict.ok
    with Image.open(GOLDEN / "output_11_0.png") as image:
        width, height = image.size
    assert f"expected {width}×{height}" in verdict.reason and verdict.reason.startswith("size ")


def test_a_changed_frame_duration_fails(post_project, tmp_path):
    verdict = mutated(post_project, tmp_path, GIF, "figures[0].frame_ms=150", scene="vanangamudimnist_animation.toml")
    assert not verdict.ok
    assert "frame durations differ at frames 0, 1" in verdict.reason and "(150 ms, expected 200 ms)" in verdict.reason


def reencoded_gif(path: Path, change_frame: int | None = None) -> bytes:
    """The GIF's own frames, re-encoded on its own palette, one frame optionally scribbled on."""
    with Image.open(path) as gif:
        palette = Image.new("P", (1, 1))
        palette.putpalette(gif.getpalette())
        frames, durations = [], []
        for index in range(gif.n_frames):
            gif.seek(index)
            rgb = np.asarray(gif.convert("RGB")).copy()
            if index == change_frame:
                rgb[40:80, 600:700] = rgb[0, 0] ^ 0xFF  # a block of another colour
            frames.append(Image.fromarray(rgb).quantize(palette=palette, dither=Image.Dither.NONE))
            durations.append(gif.info["duration"])
        loop = gif.info["loop"]
    buffer = io.BytesIO()
    frames[0].save(buffer, format="GIF", save_all=True, append_images=frames[1:], duration=durations,
                   loop=loop, palette=bytes(palette.getpalette()), optimize=False)
    return buffer.getvalue()


def test_one_changed_gif_frame_fails_naming_that_frame(tmp_path):
    same, changed = tmp_path / "same" / GIF, tmp_path / "changed" / GIF
    for path, frame in ((same, None), (changed, 17)):
        path.parent.mkdir()
        path.write_bytes(reencoded_gif(GOLDEN / GIF, frame))
    assert golden.compare_files(GOLDEN / GIF, same).ok  # the re-encoding alone changes nothing
    verdict = golden.compare_files(GOLDEN / GIF, changed)
    assert not verdict.ok and verdict.frames == [17]
    assert verdict.reason.startswith("frames 17 differ (first: ") and "pixels differ" in verdict.reason


# --------------------------------------------------------------------------- the limits and the report


def test_limits_allow_noise_but_not_a_change():
    rng = np.random.default_rng(1)
    expected = rng.integers(0, 256, (200, 300, 3), dtype=np.uint8)
    assert golden.compare_pixels(expected, expected.copy()).exact
    noisy = expected.copy()
    noisy[::7, ::7] = np.clip(noisy[::7, ::7].astype(int) + 3, 0, 255)  # below the threshold
    assert golden.compare_pixels(expected, noisy).ok
    few = expected.copy()
    few[:2, :10] ^= 0x80  # 20 pixels: within the cap of 30 (0.05% of 60000)
    verdict = golden.compare_pixels(expected, few)
    assert verdict.ok and not verdict.exact and verdict.differing == 20
    many = expected.copy()
    many[:4, :10] ^= 0x80  # 40 pixels: over the cap
    verdict = golden.compare_pixels(expected, many)
    assert not verdict.ok and verdict.differing == 40 and verdict.largest == 128
    one_big = expected.copy()
    one_big[0, 0] = expected[0, 0] ^ 0xFF  # a single pixel, but far off
    assert not golden.compare_pixels(expected, one_big).ok


def test_a_failure_explains_itself_in_one_folder_and_one_page(tmp_path):
    expected = np.full((40, 60, 3), 200, dtype=np.uint8)
    actual = expected.copy()
    actual[10:30, 10:30] = 0
    (tmp_path / "golden").mkdir()
    (tmp_path / "actual").mkdir()
    Image.fromarray(expected).save(tmp_path / "golden" / "f.png")
    Image.fromarray(actual).save(tmp_path / "actual" / "f.png")
    Image.fromarray(expected).save(tmp_path / "golden" / "g.png")
    Image.fromarray(expected).save(tmp_path / "actual" / "g.png")
    verdicts = golden.compare_folders(tmp_path / "golden", tmp_path / "actual", ["f.png", "g.png"])
    page = golden.write_report(verdicts, tmp_path / "report")
    assert [v.ok for v in verdicts] == [False, True]
    assert sorted(p.name for p in (tmp_path / "report").iterdir()) == [
        "f_actual.png", "f_difference.png", "f_expected.png", "index.html"]
    text = page.read_text()
    assert "f.png" in text and "g.png" not in text and 'src="f_difference.png"' in text
    line = verdicts[0].line(page)
    assert line == f"f.png: 400 of 2400 pixels differ by more than 8 (16.667%), largest difference 200; see {page}"
    difference = np.asarray(Image.open(tmp_path / "report" / "f_difference.png"))
    assert (difference[15, 15] == [255, 0, 0]).all() and (difference[0, 0] == 255).all()


def test_accepting_goldens_is_refused_under_ci(tmp_path, monkeypatch):
    (tmp_path / "actual").mkdir()
    Image.fromarray(np.zeros((4, 4, 3), dtype=np.uint8)).save(tmp_path / "actual" / "a.png")
    monkeypatch.setenv("CI", "true")
    with pytest.raises(PermissionError):
        golden.accept(tmp_path / "actual", tmp_path / "golden")
    monkeypatch.delenv("CI")
    assert golden.accept(tmp_path / "actual", tmp_path / "golden", missing_only=True) == ["a.png"]
    assert golden.accept(tmp_path / "actual", tmp_path / "golden", missing_only=True) == []
    assert golden.prune(tmp_path / "golden", []) == ["a.png"]


def test_same_scenes_same_code_same_bytes(post_project, tmp_path):
    """A second, cold render (its own cache, so everything is trained and drawn again)."""
    result = invoke(post_project, ["render", "-q", "--out", str(tmp_path / "out"), "--cache", str(tmp_path / "cache")])
    assert result.exit_code == 0, result.output
    first, second = rendered(post_project), tmp_path / "out" / "vanangamudimnist"
    names = sorted(p.name for p in first.iterdir())
    assert names == sorted(p.name for p in second.iterdir()) and len(names) == 44
    different = [name for name in names if (first / name).read_bytes() != (second / name).read_bytes()]
    assert different == []
    with Image.open(first / "output_11_0.png") as image:
        assert set(image.info) <= {"dpi"}  # no Software, no timestamp
