"""Training runs and their recordings.

A run trains exactly as the post does: one sample at a time in dataset order, ``nll_loss`` on
``log_softmax``, ``torch.optim.SGD`` with momentum. While it trains it takes *snapshots*.

Two trainers run that loop. ``"torch"`` is the post's code on PyTorch, the reference, at about
100 µs a step. ``"fast-c"`` (``fast.py`` and the C kernel ``_fastsgd.c``) does the same float32
operations in the same order, several hundred times faster and without importing torch; it
trains every run of the linear model when the kernel is built (``trainer_for``).

Epoch convention, used everywhere: snapshot *epoch k* is the state after k full passes over
the dataset; epoch 0 is the model before any training (for a run with ``from``, the state its
parent ended in). ``epoch_loss[k - 1]`` is the mean training loss of pass k, what the post's
``train()`` returns.

A ``Recording`` holds the snapshots and describes itself: the run's config, its whole ``from``
chain, the library versions and the training code's version, so that any figure can be redrawn
without retraining. ``Recording.load`` reads one back; ``write.write_recording`` saves one.
"""
from __future__ import annotations

import hashlib
import json
import platform
import sys
from importlib import metadata
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

import numpy as np

from . import dataset as datasets
from .scene import Run

FORMAT = 1
EPOCH_CONVENTION = "epoch k = state after k full passes; epoch 0 = before training (or the parent's final state)"

Progress = Callable[[int, int], None]
"""Called as progress(epochs_done, epochs_total) while a run trains."""


TRAINERS = ("fast-c", "torch")

_HERE = Path(__file__).resolve().parent
_CODE = ("record.py", "dataset.py", "fast.py", "_fastsgd.c")
"""The files that determine a recording: the two trainers and the datasets."""


def code_version() -> str:
    """A hash of the code that determines a recording (``_CODE``)."""
    digest = hashlib.sha256()
    for name in _CODE:
        path = _HERE / name
        digest.update(name.encode() + b"\0")
        if path.exists():  # _fastsgd.c is not shipped in a wheel
            digest.update(path.read_bytes())
    return digest.hexdigest()[:16]


@dataclass(frozen=True)
class Snapshot:
    """The state of a run at one epoch: the arrays a renderer draws."""

    epoch: int
    data: np.ndarray      # (10, 25) flattened images, one row per sample
    weights: np.ndarray   # (10, 25) the Linear layer's weight
    outputs: np.ndarray   # (10, 10) log_softmax(data @ weights.T)
    loss: float           # nll_loss over the whole dataset
    correct: int
    total: int

    def matrix(self, name: str) -> np.ndarray:
        return {"data": self.data, "weights": self.weights, "outputs": self.outputs}[name]


@dataclass
class Recording:
    config: dict[str, Any]
    chain: list[dict[str, Any]]
    """The configs of the ``from`` ancestors, root first, then this run's."""
    epochs: np.ndarray        # (S,) int64
    weights: np.ndarray       # (S, 10, 25) float32
    outputs: np.ndarray       # (S, 10, 10) float32
    loss: np.ndarray          # (S,) float64
    correct: np.ndarray       # (S,) int64
    epoch_loss: np.ndarray    # (E,) float64, pass k at index k - 1
    data: np.ndarray          # (10, 25) float32
    targets: np.ndarray       # (10,) int64
    final_weights: np.ndarray          # (10, 25) after the last pass
    final_momentum: np.ndarray | None  # SGD's momentum buffer after the last pass (None before any step)
    meta: dict[str, Any] = field(default_factory=dict)

    ARRAYS = ("epochs", "weights", "outputs", "loss", "correct", "epoch_loss", "data", "targets",
              "final_weights")

    def snapshot(self, epoch: int) -> Snapshot:
        index = int(np.searchsorted(self.epochs, epoch))
        if index >= len(self.epochs) or self.epochs[index] != epoch:
            raise KeyError(f"run '{self.config['name']}' has no snapshot at epoch {epoch}")
        return Snapshot(epoch=epoch, data=self.data, weights=self.weights[index],
                        outputs=self.outputs[index], loss=float(self.loss[index]),
                        correct=int(self.correct[index]), total=len(self.targets))

    def arrays(self) -> dict[str, np.ndarray]:
        arrays = {name: getattr(self, name) for name in self.ARRAYS}
        if self.final_momentum is not None:
            arrays["final_momentum"] = self.final_momentum
        return arrays

    def manifest(self) -> dict[str, Any]:
        return {"format": FORMAT, "config": self.config, "chain": self.chain,
                "epoch_convention": EPOCH_CONVENTION, **self.meta}

    @classmethod
    def load(cls, npz_path: Path) -> "Recording":
        """Read a recording written by ``write.write_recording`` (``X.npz`` + ``X.json``)."""
        manifest = json.loads(npz_path.with_suffix(".json").read_text(encoding="utf-8"))
        with np.load(npz_path, allow_pickle=False) as arrays:
            values = {name: arrays[name] for name in cls.ARRAYS}
            momentum = arrays["final_momentum"] if "final_momentum" in arrays else None
        meta = {k: v for k, v in manifest.items()
                if k not in ("format", "config", "chain", "epoch_convention")}
        return cls(config=manifest["config"], chain=manifest["chain"], final_momentum=momentum,
                   meta=meta, **values)


def library_versions() -> dict[str, str]:
    """Without importing torch: the fast trainer never loads it."""
    torch = sys.modules.get("torch")
    return {"python": platform.python_version(),
            "torch": torch.__version__ if torch is not None else metadata.version("torch"),
            "numpy": np.__version__}


# --------------------------------------------------------------------------- training


def _model_class():
    """The post's model, verbatim but for the explicit ``dim`` that old PyTorch implied."""
    from torch import nn
    import torch.nn.functional as F

    class Model(nn.Module):
        def __init__(self):
            super().__init__()
            self.output_layer = nn.Linear(5 * 5, 10, bias=False)

        def forward(self, x):
            return F.log_softmax(self.output_layer(x), dim=1)

    return Model


def dataset_tensors(name: str):
    images, labels = datasets.load(name)
    return images.reshape(len(images), -1), labels


def trainer_for(run: Run) -> str:
    """The trainer ``train`` picks for ``run``: "fast-c" when the C kernel covers it, else "torch"."""
    return "fast-c" if _fast_covers(run) else "torch"


def _fast_covers(run: Run) -> bool:
    from . import fast

    if run.model != "linear" or not fast.available():
        return False
    data, targets = dataset_tensors(run.dataset)
    return (data.ndim == 2 and data.shape[1] == fast.IN_FEATURES and len(targets) > 0
            and int(targets.min()) >= 0 and int(targets.max()) < fast.OUT_FEATURES)


def train(run: Run, parent: Recording | None = None, progress: Progress | None = None,
          trainer: str | None = None) -> Recording:
    """Train one run (its parent already trained) and return its recording.

    ``trainer``: "fast-c" or "torch" to force one (tests compare them); None picks with
    ``trainer_for``.
    """
    trainer = trainer_for(run) if trainer is None else trainer
    if trainer == "fast-c":
        return _train_fast(run, parent, progress)
    if trainer != "torch":
        raise ValueError(f"unknown trainer {trainer!r}; trainers: {', '.join(TRAINERS)}")
    return _train_torch(run, parent, progress)


def _train_fast(run: Run, parent: Recording | None, progress: Progress | None) -> Recording:
    """The fast trainer: the same steps as ``_train_torch``, no torch import."""
    from . import fast

    if not fast.available():
        raise RuntimeError(fast.import_error())
    data_np, targets_np = dataset_tensors(run.dataset)
    if parent is None:
        weights, momentum = fast.initial_weights(run.seed), None
    else:  # the parent's final weights and SGD momentum buffer, as _continue_from
        weights, momentum = parent.final_weights, parent.final_momentum
    epochs = [e for e in run.snapshots if 0 <= e <= run.epochs]
    snapshots, epoch_loss, final_weights, final_momentum = fast.train_linear(
        weights, momentum, data_np, targets_np, run.lr, run.momentum, run.epochs, epochs, progress)
    outputs = fast.log_softmax_outputs(data_np, snapshots)
    return Recording(
        config=run.config(),
        chain=(parent.chain if parent is not None else []) + [run.config()],
        epochs=np.array(epochs, dtype=np.int64),
        weights=snapshots,
        outputs=outputs,
        loss=np.asarray(fast.nll_loss(outputs, targets_np), dtype=np.float64).reshape(len(epochs)),
        correct=np.asarray(fast.correct_count(outputs, targets_np), dtype=np.int64).reshape(len(epochs)),
        epoch_loss=epoch_loss,
        data=data_np.astype(np.float32),
        targets=targets_np.astype(np.int64),
        final_weights=final_weights,
        final_momentum=final_momentum,
        meta={"trainer": "fast-c", "code_version": code_version(), "libraries": library_versions(),
              "epoch_offset": _offset(parent)},
    )


def _train_torch(run: Run, parent: Recording | None, progress: Progress | None) -> Recording:
    """The reference: the post's loop on PyTorch."""
    import torch
    import torch.nn.functional as F

    torch.set_num_threads(1)  # 10×25 matrices: threads cost more than they give, and vary results
    data_np, targets_np = dataset_tensors(run.dataset)
    data, targets = torch.from_numpy(data_np), torch.from_numpy(targets_np)
    # One tensor per sample, as the post's list of images: a row view of one big tensor is
    # laid out differently in memory, and BLAS kernels then round differently.
    samples = [(row.clone().view(1, -1), label.clone().view(1)) for row, label in zip(data, targets)]

    torch.manual_seed(run.seed)
    model = _model_class()()
    optimizer = torch.optim.SGD(model.parameters(), lr=run.lr, momentum=run.momentum)
    if parent is not None:
        _continue_from(model, optimizer, parent)

    snapshots = set(run.snapshots)
    taken: list[tuple[int, np.ndarray, np.ndarray, float, int]] = []
    epoch_loss = np.zeros(run.epochs, dtype=np.float64)

    def take(epoch: int) -> None:
        model.eval()
        with torch.no_grad():
            outputs = model(data)
            loss = F.nll_loss(outputs, targets).item()
            correct = int((outputs.argmax(1) == targets).sum())
        taken.append((epoch, model.output_layer.weight.detach().numpy().copy(),
                      outputs.numpy().copy(), loss, correct))

    if 0 in snapshots:
        take(0)
    for epoch in range(1, run.epochs + 1):
        epoch_loss[epoch - 1] = _train_epoch(model, optimizer, samples)
        if epoch in snapshots:
            take(epoch)
        if progress is not None:
            progress(epoch, run.epochs)

    weight = model.output_layer.weight
    momentum = optimizer.state.get(weight, {}).get("momentum_buffer")
    return Recording(
        config=run.config(),
        chain=(parent.chain if parent is not None else []) + [run.config()],
        epochs=np.array([t[0] for t in taken], dtype=np.int64),
        weights=np.stack([t[1] for t in taken]).astype(np.float32),
        outputs=np.stack([t[2] for t in taken]).astype(np.float32),
        loss=np.array([t[3] for t in taken], dtype=np.float64),
        correct=np.array([t[4] for t in taken], dtype=np.int64),
        epoch_loss=epoch_loss,
        data=data_np.astype(np.float32),
        targets=targets_np.astype(np.int64),
        final_weights=weight.detach().numpy().copy(),
        final_momentum=None if momentum is None else momentum.numpy().copy(),
        meta={"trainer": "torch", "code_version": code_version(), "libraries": library_versions(),
              "epoch_offset": _offset(parent)},
    )


def _train_epoch(model, optimizer, samples) -> float:
    """One pass in dataset order, one sample a step: the post's ``train()``."""
    import torch.nn.functional as F

    model.train()
    total = 0.0
    for sample, target in samples:
        optimizer.zero_grad()
        output = model(sample)
        loss = F.nll_loss(output, target)
        loss.backward()
        optimizer.step()
        total += loss.item()
    return total / len(samples)


def _continue_from(model, optimizer, parent: Recording) -> None:
    """Load the parent's final weights and SGD momentum buffer: the post keeps its optimizer."""
    import torch

    weight = model.output_layer.weight
    with torch.no_grad():
        weight.copy_(torch.from_numpy(parent.final_weights))
    if parent.final_momentum is not None:
        optimizer.state[weight]["momentum_buffer"] = torch.from_numpy(parent.final_momentum.copy())


def _offset(parent: Recording | None) -> int:
    """The global epoch of this run's epoch 0 (the passes its ancestors made)."""
    if parent is None:
        return 0
    return int(parent.meta.get("epoch_offset", 0)) + int(parent.config["epochs"])
