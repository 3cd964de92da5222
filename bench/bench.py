"""`make bench`: the pipeline against the post's own loop and notebook, measured in one run.

(a) sample steps per second: the post's PyTorch loop vs the fast path, on run B's settings
(b) a cold render of the whole post (empty cache, environment installed) vs the notebook
(c) a render with nothing changed
(d) regenerating the GIF after an lr change
(e) peak memory of each

Everything runs here, now, on this machine; wall times are medians of a few runs. The
notebook's 100000-epoch cell runs for LONG_EPOCHS epochs and is scaled linearly, as printed.
"""
from __future__ import annotations

import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
NNFIG = [sys.executable, "-m", "pipeline.cli"]
LONG_EPOCHS = 2000
POST_LONG_EPOCHS = 100_000
REPEATS = 3


# Runs a command and prints the peak RSS (KiB) of the largest process in its tree on stderr's last line.
_WRAPPER = ("import resource, subprocess, sys; code = subprocess.call(sys.argv[1:]); "
            "print(f'peak_kib={resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss}', file=sys.stderr); "
            "sys.exit(code)")


def timed(command: list[str], cwd: Path | None = None) -> tuple[float, float, str]:
    """(seconds, peak RSS in MiB of its largest process, its output) of one command."""
    started = time.perf_counter()
    result = subprocess.run([sys.executable, "-c", _WRAPPER, *command], cwd=cwd,
                            capture_output=True, text=True)
    elapsed = time.perf_counter() - started
    if result.returncode != 0:
        raise SystemExit(f"bench: {' '.join(command)} failed:\n{result.stderr}")
    peak = int(re.search(r"peak_kib=(\d+)", result.stderr)[1]) / 1024
    return elapsed, peak, result.stdout + result.stderr


def steps_per_second() -> tuple[float, float, int, int]:
    sys.path.insert(0, str(ROOT))
    from pipeline import fast
    from pipeline.record import train
    from pipeline.scene import Run

    def run_b(epochs: int) -> Run:
        return Run(name="B", dataset="vanangamudi", model="linear", seed=15, lr=0.1, momentum=0.1,
                   epochs=epochs, snapshots=(0, epochs))

    torch_epochs, fast_epochs = 2000, 100_000
    train(run_b(5), trainer="torch")  # import torch and warm up outside the timing
    train(run_b(5), trainer="fast-c")
    started = time.perf_counter()
    train(run_b(torch_epochs), trainer="torch")
    torch_rate = torch_epochs * 10 / (time.perf_counter() - started)
    if not fast.available():
        return torch_rate, float("nan"), torch_epochs, fast_epochs
    started = time.perf_counter()
    train(run_b(fast_epochs), trainer="fast-c")
    fast_rate = fast_epochs * 10 / (time.perf_counter() - started)
    return torch_rate, fast_rate, torch_epochs, fast_epochs


def project_copy(base: Path) -> Path:
    project = base / "project"
    shutil.copytree(ROOT / "scenes", project / "scenes")
    return project


def median_of(runs: list[tuple[float, float, str]]) -> tuple[float, float]:
    return statistics.median(r[0] for r in runs), max(r[1] for r in runs)


def main() -> None:
    print(f"bench on {os.cpu_count()} cores, python {sys.version.split()[0]}; medians of {REPEATS} runs\n")
    torch_rate, fast_rate, torch_epochs, fast_epochs = steps_per_second()
    print("(a) sample steps per second, run B (lr 0.1, momentum 0.1)")
    print(f"    post's PyTorch loop  {torch_rate:>12,.0f} /s   ({torch_epochs} epochs, "
          f"{1e6 / torch_rate:.1f} µs a step)")
    print(f"    fast path (C)        {fast_rate:>12,.0f} /s   ({fast_epochs} epochs, "
          f"{1e6 / fast_rate:.2f} µs a step)")
    print(f"    ratio                {fast_rate / torch_rate:>12,.0f} ×\n")

    with tempfile.TemporaryDirectory() as scratch:
        base = Path(scratch)
        cold, noop, gif = [], [], []
        for repeat in range(REPEATS):
            project = project_copy(base / f"r{repeat}")
            cold.append(timed([*NNFIG, "render", "-q"], project))
            noop.append(timed([*NNFIG, "render", "-q"], project))
            gif.append(timed([*NNFIG, "render", "-q", "--set", f"runs.anim.lr={0.2 + repeat / 10}"], project))
        explained = timed([*NNFIG, "render", "--set", "runs.anim.lr=0.9"], project)[2]
        explained = [line for line in explained.splitlines() if line.startswith("done in")][0]

        notebook_measured, notebook_peak, output = timed(
            [sys.executable, str(ROOT / "bench" / "post_notebook.py"), "--long-epochs", str(LONG_EPOCHS)])
        long_training = float(re.search(r"long_training_seconds=([\d.]+)", output)[1])
        scale = (POST_LONG_EPOCHS + 1) / (LONG_EPOCHS + 1)  # train_epochs(n) runs n + 1 passes
        notebook = notebook_measured - long_training + long_training * scale

    cold_s, cold_mib = median_of(cold)
    print("(b) the whole post, cold (empty cache, environment installed)")
    print(f"    nnfig render         {cold_s:>8.2f} s   peak {cold_mib:,.0f} MiB (largest process)")
    print(f"    the post's notebook  {notebook:>8.2f} s   peak {notebook_peak:,.0f} MiB   "
          f"(measured {notebook_measured:.1f} s with its 100000-epoch cell cut to {LONG_EPOCHS} epochs;")
    print(f"                         that cell's {long_training:.2f} s of training scaled ×{scale:.1f} "
          f"to {long_training * scale:.1f} s, its plots as measured)")
    print(f"    ratio                {notebook / cold_s:>8.1f} ×\n")
    noop_s, noop_mib = median_of(noop)
    print(f"(c) no-op rerun          {noop_s:>8.2f} s   peak {noop_mib:,.0f} MiB\n")
    gif_s, gif_mib = median_of(gif)
    print(f"(d) GIF after an lr change {gif_s:>6.2f} s   peak {gif_mib:,.0f} MiB")
    print(f"    (one more, not quiet: {explained})\n")
    print(f"(e) peak memory: {max(cold_mib, gif_mib):,.0f} MiB for nnfig (any one process), "
          f"{notebook_peak:,.0f} MiB for the notebook")


if __name__ == "__main__":
    main()
