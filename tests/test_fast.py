"""The fast trainer (pipeline.fast + the C kernel) against the PyTorch loop it replaces."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from torch import nn

from pipeline import fast
from pipeline.record import Recording, dataset_tensors, train, trainer_for
from pipeline.scene import Run

ROOT = Path(__file__).resolve().parent.parent
needs_kernel = pytest.mark.skipif(not fast.available(), reason=f"{fast.import_error()}")


def run(seed=15, lr=0.1, momentum=0.1, epochs=20, snapshots=None, start=None, name="R", model="linear"):
    return Run(name=name, dataset="vanangamudi", model=model, seed=seed, lr=lr, momentum=momentum,
               epochs=epochs, snapshots=tuple(range(epochs + 1)) if snapshots is None else snapshots,
               start=start)


def assert_same_recording(a: Recording, b: Recording) -> None:
    for name in Recording.ARRAYS:
        np.testing.assert_array_equal(getattr(a, name), getattr(b, name), err_msg=name)
    if a.final_momentum is None or b.final_momentum is None:
        assert a.final_momentum is None and b.final_momentum is None
    else:
        np.testing.assert_array_equal(a.final_momentum, b.final_momentum)


def test_kernel_is_built():
    """`make venv` (pip install -e .) compiles pipeline/_fastsgd.c; without it runs fall back to torch."""
    assert fast.available(), fast.import_error()


# --------------------------------------------------------------------------- against torch


@needs_kernel
@pytest.mark.parametrize("lr, momentum", [(0.1, 0.1), (1.0, 0.1), (0.1, 0.0)])
def test_fast_trains_like_the_torch_loop_for_1000_epochs(lr, momentum):
    spec = run(seed=15, lr=lr, momentum=momentum, epochs=1000, snapshots=tuple(range(0, 1001, 50)))
    reference = train(spec, trainer="torch")
    quick = train(spec, trainer="fast-c")
    assert quick.meta["trainer"] == "fast-c" and reference.meta["trainer"] == "torch"
    np.testing.assert_array_equal(quick.epochs, reference.epochs)
    np.testing.assert_allclose(quick.weights, reference.weights, rtol=0, atol=1e-5)
    np.testing.assert_allclose(quick.final_weights, reference.final_weights, rtol=0, atol=1e-5)
    np.testing.assert_array_equal(quick.correct, reference.correct)
    np.testing.assert_allclose(quick.epoch_loss, reference.epoch_loss, rtol=1e-5, atol=1e-12)
    np.testing.assert_allclose(quick.outputs, reference.outputs, rtol=0, atol=1e-5)
    np.testing.assert_allclose(quick.loss, reference.loss, rtol=1e-5)
    if momentum:
        np.testing.assert_allclose(quick.final_momentum, reference.final_momentum, rtol=0, atol=1e-6)
    else:
        assert quick.final_momentum is None and reference.final_momentum is None


def _torch_sums_like_the_kernel() -> bool:
    """Whether this machine's torch (MKL) adds a product's terms in the order the kernel has."""
    rng = np.random.default_rng(0)
    data = rng.standard_normal((10, 25)).astype(np.float32)
    weights = rng.standard_normal((10, 25)).astype(np.float32)
    layer = nn.Linear(25, 10, bias=False)
    with torch.no_grad():
        layer.weight.copy_(torch.from_numpy(weights))
        expected = torch.log_softmax(layer(torch.from_numpy(data)), dim=1).numpy()
    return np.array_equal(fast.log_softmax_outputs(data, weights), expected)


@needs_kernel
def test_recordings_are_bit_identical_to_torch_where_torch_sums_in_the_measured_order():
    exact = _torch_sums_like_the_kernel()  # else this machine's MKL sums in another order
    for spec in (run(seed=37, lr=1.0, momentum=0.1, epochs=150),
                 run(seed=3, lr=0.3, momentum=0.0, epochs=150, snapshots=(0, 150))):
        quick, reference = train(spec, trainer="fast-c"), train(spec, trainer="torch")
        if exact:
            assert_same_recording(quick, reference)
        else:  # equal within float32 rounding of a reordered sum
            np.testing.assert_allclose(quick.weights, reference.weights, rtol=1e-5, atol=1e-5)
            np.testing.assert_array_equal(quick.correct, reference.correct)


# --------------------------------------------------------------------------- from, chunks, variants


@needs_kernel
def test_from_continues_weights_and_momentum_like_one_long_run():
    first = train(run(seed=2, epochs=20, snapshots=(0, 20), name="B"))
    second = train(run(seed=99, epochs=30, snapshots=(0, 30), start="B", name="C"), parent=first)
    whole = train(run(seed=2, epochs=50, snapshots=(0, 20, 50)))
    assert first.meta["trainer"] == second.meta["trainer"] == "fast-c"
    np.testing.assert_array_equal(second.snapshot(0).weights, first.final_weights)
    np.testing.assert_array_equal(second.final_weights, whole.final_weights)
    np.testing.assert_array_equal(second.final_momentum, whole.final_momentum)
    np.testing.assert_array_equal(np.concatenate([first.epoch_loss, second.epoch_loss]), whole.epoch_loss)
    assert second.meta["epoch_offset"] == 20 and [c["seed"] for c in second.chain] == [2, 99]
    # and the torch trainer continues the same way
    reference = train(run(seed=99, epochs=30, snapshots=(0, 30), start="B", name="C"),
                      parent=train(run(seed=2, epochs=20, snapshots=(0, 20), name="B"), trainer="torch"),
                      trainer="torch")
    np.testing.assert_allclose(second.final_weights, reference.final_weights, rtol=0, atol=1e-5)


@needs_kernel
def test_momentum_zero_leaves_the_parents_buffer_as_torch_does():
    parent = train(run(epochs=5, snapshots=(0, 5), name="B"))
    child = run(momentum=0.0, epochs=5, snapshots=(0, 5), start="B", name="C")
    quick, reference = train(child, parent, trainer="fast-c"), train(child, parent, trainer="torch")
    np.testing.assert_array_equal(quick.final_momentum, parent.final_momentum)
    np.testing.assert_array_equal(reference.final_momentum, parent.final_momentum)
    assert train(run(momentum=0.0, epochs=3)).final_momentum is None


@needs_kernel
def test_zero_epochs_is_the_initial_state():
    quick, reference = (train(run(epochs=0), trainer=t) for t in ("fast-c", "torch"))
    assert quick.epochs.tolist() == [0] and len(quick.epoch_loss) == 0 and quick.final_momentum is None
    np.testing.assert_array_equal(quick.final_weights, reference.final_weights)
    np.testing.assert_allclose(quick.outputs, reference.outputs, rtol=0, atol=1e-6)


@needs_kernel
def test_chunks_and_progress_change_nothing():
    data, targets = dataset_tensors("vanangamudi")
    start = fast.initial_weights(15)
    wanted = [0, 1, 7, 8, 20, 21, 299, 300]
    whole = fast.train_linear(start, None, data, targets, 0.1, 0.1, 300, wanted)
    calls: list[tuple[int, int]] = []
    chunked = fast.train_linear(start, None, data, targets, 0.1, 0.1, 300, wanted,
                                progress=lambda done, total: calls.append((done, total)), chunk=7)
    for a, b in zip(whole, chunked):
        np.testing.assert_array_equal(a, b)
    assert calls[-1] == (300, 300) and len(calls) == 43
    assert [d for d, _ in calls] == sorted(d for d, _ in calls)
    # the automatic chunking (first chunk 1000 epochs, then ~CHUNK_SECONDS) too
    calls.clear()
    automatic = fast.train_linear(start, None, data, targets, 0.1, 0.1, 5000, [0, 5000],
                                  progress=lambda done, total: calls.append((done, total)))
    plain = fast.train_linear(start, None, data, targets, 0.1, 0.1, 5000, [0, 5000])
    for a, b in zip(automatic, plain):
        np.testing.assert_array_equal(a, b)
    assert calls[0][0] == 1000 and calls[-1] == (5000, 5000)


@needs_kernel
def test_record_train_reports_progress_up_to_the_total():
    seen: list[tuple[int, int]] = []
    train(run(epochs=40), progress=lambda done, total: seen.append((done, total)))
    assert seen and seen[-1] == (40, 40)


@needs_kernel
@pytest.mark.skipif(not fast.available() or fast.variant() != "avx2", reason="no AVX2+FMA variant here")
def test_the_avx2_and_generic_kernels_agree_bit_for_bit():
    """Also guards -ffp-contract=off: a compiler-fused a*b+c would differ between them."""
    data, targets = dataset_tensors("vanangamudi")
    for lr, momentum in ((0.1, 0.1), (1.0, 0.9), (0.5, 0.0)):
        runs = [fast.train_linear(fast.initial_weights(4), None, data, targets, lr, momentum, 200,
                                  range(0, 201, 20), variant=variant) for variant in ("avx2", "generic")]
        for a, b in zip(*runs):
            np.testing.assert_array_equal(a, b)


# --------------------------------------------------------------------------- pieces


def test_initial_weights_are_torchs_over_many_seeds():
    seeds = [*range(2001), 2**31 - 1, 2**31, 2**32 - 1, 123456789, 3_000_000_019]
    for seed in seeds:
        torch.manual_seed(seed)
        expected = nn.Linear(25, 10, bias=False).weight.detach().numpy()
        np.testing.assert_array_equal(fast.initial_weights(seed), expected, err_msg=f"seed {seed}")
    for seed in (2**32, 2**40 + 3):  # outside numpy's seeds: torch does it
        torch.manual_seed(seed)
        expected = nn.Linear(25, 10, bias=False).weight.detach().numpy().copy()
        np.testing.assert_array_equal(fast.initial_weights(seed), expected, err_msg=f"seed {seed}")


@needs_kernel
def test_eval_matches_torch_for_any_weights_and_data():
    rng = np.random.default_rng(1)
    targets = rng.permutation(10)
    for scale in (0.1, 1.0, 30.0):
        data = rng.standard_normal((10, 25)).astype(np.float32)
        stack = (scale * rng.standard_normal((4, 10, 25))).astype(np.float32)
        outputs = fast.log_softmax_outputs(data, stack)
        for weights, out in zip(stack, outputs):
            layer = nn.Linear(25, 10, bias=False)
            with torch.no_grad():
                layer.weight.copy_(torch.from_numpy(weights))
                expected = torch.log_softmax(layer(torch.from_numpy(data)), dim=1)
            np.testing.assert_allclose(out, expected.numpy(), rtol=1e-6, atol=1e-6)
            loss = torch.nn.functional.nll_loss(expected, torch.from_numpy(targets)).item()
            assert fast.nll_loss(out, targets) == pytest.approx(loss, rel=1e-6)
            assert fast.correct_count(out, targets) == int((expected.argmax(1).numpy() == targets).sum())


def test_trainer_choice():
    assert trainer_for(run()) == ("fast-c" if fast.available() else "torch")
    assert trainer_for(run(model="not-linear")) == "torch"
    assert train(run(epochs=2), trainer="torch").meta["trainer"] == "torch"
    with pytest.raises(ValueError, match="unknown trainer"):
        train(run(epochs=2), trainer="jax")


@needs_kernel
def test_kernel_rejects_bad_input():
    data, targets = dataset_tensors("vanangamudi")
    bad = targets.copy()
    bad[3] = 10
    with pytest.raises(ValueError, match="targets"):
        fast.train_linear(fast.initial_weights(0), None, data, bad, 0.1, 0.1, 2, [2])
    with pytest.raises(ValueError, match="snapshot"):
        fast.train_linear(fast.initial_weights(0), None, data, targets, 0.1, 0.1, 2, [3])


def test_a_build_of_another_source_is_not_used(tmp_path, monkeypatch):
    other = tmp_path / "_fastsgd.c"
    other.write_text("/* not the source the module was built from */\n")
    monkeypatch.setattr(fast, "_SOURCE", other)
    kernel, error = fast._load_kernel()
    if fast.available():
        assert kernel is None and "another version" in error


@needs_kernel
def test_the_fast_path_never_imports_torch():
    code = (
        "import sys\n"
        "from pipeline.record import train, trainer_for\n"
        "from pipeline.scene import Run\n"
        "b = Run(name='B', dataset='vanangamudi', model='linear', seed=15, lr=0.1, momentum=0.1,"
        " epochs=20, snapshots=(0, 10, 20))\n"
        "c = Run(name='C', dataset='vanangamudi', model='linear', seed=15, lr=0.1, momentum=0.1,"
        " epochs=100, snapshots=(0, 100), start='B')\n"
        "assert trainer_for(b) == trainer_for(c) == 'fast-c'\n"
        "first = train(b)\n"
        "second = train(c, first)\n"
        "assert second.meta['trainer'] == 'fast-c' and second.meta['libraries']['torch']\n"
        "print('torch' in sys.modules)\n"
    )
    result = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "False"
