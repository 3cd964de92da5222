"""The content-hash cache: what a change retrains and redraws, and what it leaves alone."""
from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

from conftest import invoke
from pipeline.cache import Store

GIF = "VanangamudiMNIST_training_animation.gif"


def summary(output: str) -> tuple[int, int, int, str]:
    """(drawn, copied, up to date, runs trained) from render's last line."""
    match = re.search(r"(\d+) files drawn, (\d+) copied from the cache, (\d+) up to date; runs trained: (.*)", output)
    assert match, output
    return int(match[1]), int(match[2]), int(match[3]), match[4].strip()


def drawn_files(project: Path, args: list[str]) -> list[str]:
    """The files a render would draw (from --dry-run), by name."""
    result = invoke(project, ["render", "--dry-run", *args])
    assert result.exit_code == 0, result.output
    return sorted(Path(line.split(":")[0].split()[-1]).name for line in result.output.splitlines()
                  if line.startswith("draw "))


def test_noop_rerun_trains_nothing_draws_nothing_and_imports_neither_torch_nor_matplotlib(post_project):
    code = (
        "import sys\n"
        "from pipeline.cli import main\n"
        "sys.argv = ['nnfig', 'render']\n"
        "try:\n    main()\nexcept SystemExit as exit:\n    assert not exit.code, exit.code\n"
        "print('imported:', sorted(m for m in ('torch', 'matplotlib') if m in sys.modules))\n"
    )
    result = subprocess.run([sys.executable, "-c", code], cwd=post_project, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert "imported: []" in result.stdout
    assert summary(result.stderr) == (0, 0, 44, "none")


def test_lr_change_on_the_animation_retrains_that_run_and_redraws_the_gif_only(post_project, tmp_path):
    plan = drawn_files(post_project, ["--set", "runs.anim.lr=0.5"])
    assert plan == sorted([GIF, "numbers_anim.json", "numbers_anim.txt"])
    dry = invoke(post_project, ["render", "--dry-run", "--set", "runs.anim.lr=0.5"]).output
    assert "train anim" in dry and "run lr 0.1 → 0.5" in dry
    out = tmp_path / "out"
    result = invoke(post_project, ["render", "--set", "runs.anim.lr=0.5", "--out", str(out)])
    drawn, copied, fresh, trained = summary(result.output)
    assert (drawn, trained) == (3, "anim")
    assert copied == 41  # every other file comes out of the cache into the new folder
    assert json.loads((out / "vanangamudimnist" / "numbers_anim.json").read_text())["run"]["lr"] == 0.5


def test_cmap_change_redraws_only_the_figures_that_use_it_and_retrains_nothing(post_project, tmp_path):
    args = ["--set", "figures[16].cmap=magma", "--set", "figures[18].cmap=magma"]
    assert drawn_files(post_project, args) == ["output_51_1.png", "output_53_1.png"]
    dry = invoke(post_project, ["render", "--dry-run", *args]).output
    assert "cmap 'viridis' → 'magma'" in dry and "train " not in dry
    result = invoke(post_project, ["render", *args, "--out", str(tmp_path)])
    assert summary(result.output)[0] == 2 and summary(result.output)[3] == "none"


def test_dry_run_changes_nothing_and_force_redoes_everything(post_project, tmp_path):
    out = tmp_path / "forced"
    first = invoke(post_project, ["render", "--dry-run", "--out", str(out)])
    assert "44 of 44 files stale" in first.output and "missing from output" in first.output
    assert not out.exists()
    forced = invoke(post_project, ["render", "--dry-run", "--force"])
    assert "train B_long" in forced.output and "--force" in forced.output


def cache_entry(project: Path, name: str) -> Path:
    """The cache file behind output/vanangamudimnist/NAME, found through the cache's state."""
    store = Store(project / ".cache")
    state = store.get_state(project / "output" / "vanangamudimnist")
    return store.file_path(state[name]["key"], Path(name).suffix)


def test_corrupt_or_truncated_cache_entries_are_rebuilt_never_used(post_project, tmp_path):
    cache = post_project / ".cache"
    gif_entry = cache_entry(post_project, GIF)
    gif_entry.write_bytes(gif_entry.read_bytes()[:1000])  # truncated
    png_entry = cache_entry(post_project, "output_11_0.png")
    png = bytearray(png_entry.read_bytes())
    png[len(png) // 2] ^= 0xFF  # one flipped byte
    png_entry.write_bytes(bytes(png))
    recording = next(p for p in (cache / "recordings").glob("*.npz")
                     if json.loads(p.with_suffix(".json").read_text())["config"]["name"] == "A")
    data = bytearray(recording.read_bytes())
    data[-100] ^= 0xFF
    recording.write_bytes(bytes(data))

    dry = invoke(post_project, ["render", "--dry-run"]).output
    assert f"draw  output/vanangamudimnist/{GIF}" in dry and "train A" in dry
    out = tmp_path / "out"
    result = invoke(post_project, ["render", "--out", str(out)])
    drawn, copied, fresh, trained = summary(result.output)
    assert (drawn, trained) == (2, "A")
    for name in (GIF, "output_11_0.png"):  # rebuilt, the same bytes as before, and stored again
        rebuilt = (out / "vanangamudimnist" / name).read_bytes()
        assert rebuilt == (post_project / "output" / "vanangamudimnist" / name).read_bytes()
        assert cache_entry(post_project, name).read_bytes() == rebuilt


def test_two_renders_at_once_leave_cache_and_output_whole(post_project, tmp_path):
    scene = tmp_path / "twice.toml"
    scene.write_text('[runs.A]\nepochs = 30\n\n[[figures]]\nkind = "animation"\nrun = "A"\nfile = "a.gif"\n'
                     '\n[[figures]]\nkind = "values"\nrun = "A"\nfile = "v.png"\n')
    command = [sys.executable, "-m", "pipeline.cli", "render", "-q", str(scene)]
    processes = [subprocess.Popen(command, cwd=tmp_path) for _ in range(2)]
    assert [p.wait(timeout=120) for p in processes] == [0, 0]
    again = invoke(tmp_path, ["render", str(scene)])
    assert summary(again.output) == (0, 0, 4, "none")  # both agree, and every entry verifies
    from PIL import Image

    with Image.open(tmp_path / "output" / "twice" / "a.gif") as gif:
        assert gif.n_frames == 31


def test_drawing_in_one_process_or_several_gives_the_same_bytes(post_project, tmp_path):
    """The animation's frames are split across processes with -j 2; -j 1 draws them in one."""
    out = tmp_path / "serial"
    result = invoke(post_project, ["render", "-q", "-j", "1", "--out", str(out), "--cache", str(tmp_path / "cache"),
                                   "scenes/vanangamudimnist_animation.toml"])
    assert result.exit_code == 0, result.output
    parallel = invoke(post_project, ["render", "-q", "-j", "2", "--force", "--out", str(tmp_path / "parallel"),
                                     "--cache", str(tmp_path / "cache2"), "scenes/vanangamudimnist_animation.toml"])
    assert parallel.exit_code == 0, parallel.output
    for folder in (out, tmp_path / "parallel"):
        assert (folder / "vanangamudimnist" / GIF).read_bytes() == (
            post_project / "output" / "vanangamudimnist" / GIF).read_bytes()
