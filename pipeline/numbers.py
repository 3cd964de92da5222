"""The numbers the post prints, from a recording: a readable text and a complete JSON.

Per run: ``correct: N/10, loss: …`` at each snapshot (the post's ``test_and_print``), the mean
training loss of every epoch (what ``train()`` returns), and the output rows of the run's
first snapshot for every sample (the post quotes ``data[4]`` and ``data[1]`` untrained).
"""
from __future__ import annotations

from typing import Any

from .record import EPOCH_CONVENTION, Recording

TEXT_LOSS_LINES = 200
"""The text lists every epoch's mean loss up to this many epochs, then a sample; the JSON has all."""


def quoted(recording: Recording) -> dict[str, Any]:
    """Everything the post quotes about this run, as plain data."""
    first = recording.snapshot(int(recording.epochs[0]))
    return {
        "run": recording.config,
        "epoch_convention": EPOCH_CONVENTION,
        "epoch_offset": recording.meta.get("epoch_offset", 0),
        "snapshots": [
            {"epoch": int(epoch), "correct": int(correct), "total": len(recording.targets),
             "loss": float(loss)}
            for epoch, correct, loss in zip(recording.epochs, recording.correct, recording.loss)
        ],
        "mean_training_loss": [float(loss) for loss in recording.epoch_loss],
        "first_snapshot_outputs": {
            "epoch": first.epoch,
            "rows": {f"data[{i}]": [float(v) for v in row] for i, row in enumerate(first.outputs)},
        },
    }


def quoted_text(recording: Recording) -> str:
    """The same numbers laid out as the post prints them."""
    config = recording.config
    lines = [
        f"run {config['name']}: lr={config['lr']:g}, momentum={config['momentum']:g}, "
        f"epochs={config['epochs']}, seed={config['seed']}"
        + (f", from run {config['from']}" if config.get("from") else ""),
        f"# {EPOCH_CONVENTION}",
        "",
        "## test_and_print at each snapshot",
    ]
    for epoch, correct, loss in zip(recording.epochs, recording.correct, recording.loss):
        lines.append(f"epoch {int(epoch)}: correct: {int(correct)}/{len(recording.targets)}, loss:{float(loss)}")
    lines += ["", "## mean training loss of each epoch (train()'s return value)"]
    lines += _loss_lines(recording)
    first = recording.snapshot(int(recording.epochs[0]))
    lines += ["", f"## output rows at epoch {first.epoch} (model(data[i]))"]
    for i, row in enumerate(first.outputs):
        lines.append(f"data[{i}]: " + " ".join(f"{value:.4f}" for value in row))
    return "\n".join(lines) + "\n"


def _loss_lines(recording: Recording) -> list[str]:
    losses = recording.epoch_loss
    count = len(losses)
    if count == 0:
        return ["(no training epochs)"]
    if count <= TEXT_LOSS_LINES:
        epochs = range(1, count + 1)
        note = []
    else:
        step = count // TEXT_LOSS_LINES
        epochs = sorted(set(range(1, count + 1, step)) | {count} | {int(e) for e in recording.epochs if e > 0})
        note = [f"(every {step}th epoch and each snapshot of {count}; the .json file lists all)"]
    return note + [f"epoch {epoch}: {float(losses[epoch - 1])}" for epoch in epochs]
