"""The fast trainer for the post's linear model: the C kernel ``pipeline._fastsgd`` and numpy.

``train_linear`` runs the same steps as ``record.train``'s PyTorch loop (one sample per step in
dataset order, ``log_softmax`` + ``nll_loss``, ``torch.optim.SGD`` with momentum, float32), in
the same floating-point order, several hundred times faster. On the machines this project runs
on it gives PyTorch's weights bit for bit; ``tests/test_fast.py`` holds it to the PyTorch loop.

Nothing here imports torch, except ``initial_weights`` for a seed outside 0 ≤ seed < 2**32.
"""
from __future__ import annotations

import hashlib
import math
import time
from pathlib import Path
from typing import Callable, Sequence

import numpy as np

_SOURCE = Path(__file__).with_name("_fastsgd.c")
_REBUILD = "`make venv` (or `pip install --no-deps -e .`) compiles it"


def _load_kernel():
    """The compiled kernel and None, or None and why it cannot be used."""
    try:
        from . import _fastsgd
    except ImportError as error:  # not built: the PyTorch loop stays the trainer
        return None, f"pipeline._fastsgd is not built ({error}); {_REBUILD}"
    if _SOURCE.exists():  # an editable install: the build must be of this very source
        if _fastsgd.SOURCE_SHA256 != hashlib.sha256(_SOURCE.read_bytes()).hexdigest():
            return None, f"pipeline._fastsgd was built from another version of {_SOURCE.name}; {_REBUILD}"
    return _fastsgd, None


_fastsgd, _IMPORT_ERROR = _load_kernel()

IN_FEATURES = 25
OUT_FEATURES = 10
SEED_RANGE = (0, 2**32)
"""Seeds whose initial weights ``initial_weights`` computes without torch (numpy's RandomState
takes exactly these; the recipe is checked against torch over many of them)."""

CHUNK_SECONDS = 0.1
"""With a progress callback, the kernel runs in chunks of about this long."""

Progress = Callable[[int, int], None]


def available() -> bool:
    """Whether the C kernel is importable."""
    return _fastsgd is not None


def import_error() -> str | None:
    """Why the C kernel is not available (None if it is)."""
    return _IMPORT_ERROR


def variant() -> str:
    """The kernel variant that runs on this CPU: "avx2" or "generic" (same results)."""
    if _fastsgd is None:
        raise RuntimeError(_IMPORT_ERROR)
    return _fastsgd.variant()


# --------------------------------------------------------------------------- initial weights


def initial_weights(seed: int) -> np.ndarray:
    """``torch.manual_seed(seed); nn.Linear(25, 10, bias=False).weight``, bit for bit.

    torch seeds an mt19937 exactly as numpy's RandomState does and ``kaiming_uniform_(a=√5)``
    draws one 32-bit number per weight, keeps its low 24 bits as a float in [0, 1) and scales
    it to [-bound, bound] in float32. Seeds outside ``SEED_RANGE`` ask torch itself.
    """
    seed = int(seed)
    if not SEED_RANGE[0] <= seed < SEED_RANGE[1]:
        return _torch_initial_weights(seed)
    count = IN_FEATURES * OUT_FEATURES
    bits = np.random.RandomState(seed).randint(0, 2**32, size=count, dtype=np.uint64)
    unit = (bits & 0xFFFFFF).astype(np.float64) * 2.0**-24
    bound = math.sqrt(3.0) * (math.sqrt(2.0 / 6) / math.sqrt(IN_FEATURES))
    scaled = (unit.astype(np.float32).astype(np.float64) * np.float64(np.float32(2 * bound))
              + np.float64(np.float32(-bound)))
    return scaled.astype(np.float32).reshape(OUT_FEATURES, IN_FEATURES)


def _torch_initial_weights(seed: int) -> np.ndarray:
    import torch
    from torch import nn

    torch.manual_seed(seed)
    return nn.Linear(IN_FEATURES, OUT_FEATURES, bias=False).weight.detach().numpy().copy()


# --------------------------------------------------------------------------- training


def train_linear(weights: np.ndarray, momentum_buffer: np.ndarray | None, data: np.ndarray,
                 targets: np.ndarray, lr: float, momentum: float, epochs: int,
                 snapshot_epochs: Sequence[int], progress: Progress | None = None,
                 variant: str = "auto", chunk: int | None = None):
    """Train ``epochs`` passes from ``weights`` (10, 25) and SGD's ``momentum_buffer``.

    ``snapshot_epochs``: sorted epochs in 0..epochs whose weights to return (0 is ``weights``).
    Returns ``(snapshots (S, 10, 25) float32, epoch_loss (epochs,) float64, final_weights,
    final_momentum)``. ``final_momentum`` is what ``torch.optim.SGD`` would hold: None before
    its first step with momentum, the given buffer untouched when ``momentum == 0``.
    ``progress(done, epochs)`` is called after each chunk of about ``CHUNK_SECONDS`` (or of
    ``chunk`` epochs); chunking does not change any result. ``variant`` forces a kernel variant
    ("avx2", "generic").
    """
    if _fastsgd is None:
        raise RuntimeError(_IMPORT_ERROR)
    w = np.array(weights, dtype=np.float32, order="C", copy=True)
    if w.shape != (OUT_FEATURES, IN_FEATURES):
        raise ValueError(f"weights must be ({OUT_FEATURES}, {IN_FEATURES}), not {w.shape}")
    has_buffer = momentum_buffer is not None
    buf = (np.array(momentum_buffer, dtype=np.float32, order="C", copy=True) if has_buffer
           else np.zeros_like(w))
    if buf.shape != w.shape:
        raise ValueError(f"momentum buffer must be {w.shape}, not {buf.shape}")
    x = np.ascontiguousarray(data, dtype=np.float32).reshape(len(data), -1)
    t = np.ascontiguousarray(targets, dtype=np.int64)
    if x.shape[1] != IN_FEATURES or t.shape != (len(x),):
        raise ValueError(f"data must be (N, {IN_FEATURES}) with N targets, not {x.shape}, {t.shape}")
    epochs = int(epochs)
    wanted = np.array(sorted(int(e) for e in snapshot_epochs), dtype=np.int64)
    if epochs < 0 or (len(wanted) and (wanted[0] < 0 or wanted[-1] > epochs)):
        raise ValueError(f"snapshot epochs must be in 0..{epochs}")

    snapshots = np.empty((len(wanted), OUT_FEATURES, IN_FEATURES), dtype=np.float32)
    snapshots[wanted == 0] = w
    epoch_loss = np.empty(epochs, dtype=np.float64)
    done = 0
    fixed = chunk is not None
    if fixed and int(chunk) < 1:
        raise ValueError("chunk must be >= 1")
    chunk = int(chunk) if fixed else epochs if progress is None else min(epochs, 1000)
    while done < epochs:
        size = min(chunk, epochs - done)
        lo, hi = np.searchsorted(wanted, [done + 1, done + size + 1])
        started = time.perf_counter()
        has_buffer = _fastsgd.train(w, buf, has_buffer, x, t, float(lr), float(momentum), size,
                                    wanted[lo:hi] - done, snapshots[lo:hi], epoch_loss[done:done + size],
                                    variant)
        elapsed = time.perf_counter() - started
        done += size
        if progress is not None:
            progress(done, epochs)
            if not fixed and elapsed > 0:  # aim the next chunk at CHUNK_SECONDS
                chunk = max(1, min(int(size * CHUNK_SECONDS / elapsed), 4 * size))
    return snapshots, epoch_loss, w, (buf if has_buffer else None)


# --------------------------------------------------------------------------- evaluation


def log_softmax_outputs(data: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """``log_softmax(data @ w.T)`` in float32 for one (10, 25) ``weights`` or a stack (S, 10, 25),
    computed as PyTorch's ``model(data)`` (the kernel's ``outputs``; numpy if it is not built)."""
    x = np.ascontiguousarray(data, dtype=np.float32).reshape(len(data), -1)
    w = np.ascontiguousarray(weights, dtype=np.float32)
    if _fastsgd is None:
        return _numpy_log_softmax_outputs(x, w)
    stack = w.reshape(-1, OUT_FEATURES, IN_FEATURES)
    out = np.empty((len(stack), len(x), OUT_FEATURES), dtype=np.float32)
    _fastsgd.outputs(stack, x, out)
    return out.reshape(w.shape[:-2] + (len(x), OUT_FEATURES))


def _numpy_log_softmax_outputs(x: np.ndarray, w: np.ndarray) -> np.ndarray:
    """The same in numpy: equal to PyTorch's within float32 rounding (~1e-6), not bit for bit."""
    z = np.matmul(x, np.swapaxes(w, -1, -2))  # (..., N, 10)
    shifted = z - z.max(axis=-1, keepdims=True)
    exps = np.exp(shifted)
    total = exps[..., 0].copy()
    for j in range(1, exps.shape[-1]):  # in order, as ATen sums a row this short
        total += exps[..., j]
    return (shifted - np.log(total)[..., None]).astype(np.float32)


def nll_loss(outputs: np.ndarray, targets: np.ndarray) -> np.ndarray | float:
    """``F.nll_loss(outputs, targets)`` (mean) in float32 for (N, 10) or a stack (S, N, 10),
    summed in ATen's order: a cascade of 8 partial sums, each level 16 samples wide."""
    outputs = np.asarray(outputs, dtype=np.float32)
    index = np.broadcast_to(np.asarray(targets, dtype=np.int64)[:, None], outputs.shape[:-1] + (1,))
    picked = np.take_along_axis(outputs, index, axis=-1)[..., 0]  # (..., N)
    batch = picked.shape[-1]
    levels = 8
    power = max(4, (batch - 1).bit_length() // levels)  # utils::CeilLog2(batch) / levels
    mask = (1 << power) - 1
    partial = np.zeros((levels,) + picked.shape[:-1], dtype=np.float32)
    for b in range(batch):
        partial[0] = partial[0] - picked[..., b]
        for j in range(levels - 1):
            if b & (mask << (j * power)):
                break
            partial[j + 1] = partial[j + 1] + partial[j]
            partial[j] = 0
    total = np.zeros(picked.shape[:-1], dtype=np.float32)
    for j in range(levels):
        total = total + partial[j]
    loss = (total / np.float32(batch)).astype(np.float64)
    return float(loss) if loss.ndim == 0 else loss


def correct_count(outputs: np.ndarray, targets: np.ndarray) -> np.ndarray | int:
    """How many samples' largest output is at their target (first maximum, as argmax)."""
    hits = (np.asarray(outputs).argmax(axis=-1) == np.asarray(targets)).sum(axis=-1)
    return int(hits) if np.ndim(hits) == 0 else hits.astype(np.int64)
