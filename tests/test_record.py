"""The recorder against a plain PyTorch loop written the way the post writes it."""
from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from torch import nn

from pipeline.cache import Store
from pipeline.record import Recording
from pipeline.record import train as record_train
from pipeline.scene import Run
from pipeline.write import write_recording

DIGITS = [
    [[0, 0, 1, 1, 1], [0, 0, 1, 0, 1], [0, 0, 1, 0, 1], [0, 0, 1, 0, 1], [0, 0, 1, 1, 1]],
    [[0, 0, 0, 1, 0], [0, 0, 1, 1, 0], [0, 0, 0, 1, 0], [0, 0, 0, 1, 0], [0, 0, 1, 1, 1]],
    [[0, 0, 1, 1, 1], [0, 0, 0, 0, 1], [0, 0, 1, 1, 1], [0, 0, 1, 0, 0], [0, 0, 1, 1, 1]],
    [[0, 0, 1, 1, 1], [0, 0, 0, 0, 1], [0, 0, 0, 1, 1], [0, 0, 0, 0, 1], [0, 0, 1, 1, 1]],
    [[0, 0, 1, 0, 1], [0, 0, 1, 0, 1], [0, 0, 1, 1, 1], [0, 0, 0, 0, 1], [0, 0, 0, 0, 1]],
    [[0, 0, 1, 1, 1], [0, 0, 1, 0, 0], [0, 0, 1, 1, 1], [0, 0, 0, 0, 1], [0, 0, 1, 1, 1]],
    [[0, 0, 1, 1, 1], [0, 0, 1, 0, 0], [0, 0, 1, 1, 1], [0, 0, 1, 0, 1], [0, 0, 1, 1, 1]],
    [[0, 0, 1, 1, 1], [0, 0, 0, 0, 1], [0, 0, 0, 0, 1], [0, 0, 0, 0, 1], [0, 0, 0, 0, 1]],
    [[0, 0, 1, 1, 1], [0, 0, 1, 0, 1], [0, 0, 1, 1, 1], [0, 0, 1, 0, 1], [0, 0, 1, 1, 1]],
    [[0, 0, 1, 1, 1], [0, 0, 1, 0, 1], [0, 0, 1, 1, 1], [0, 0, 0, 0, 1], [0, 0, 1, 1, 1]],
]


class PostModel(nn.Module):
    def __init__(self):
        super().__init__()
        self.output_layer = nn.Linear(5 * 5, 10, bias=False)

    def forward(self, x):
        return F.log_softmax(self.output_layer(x), dim=1)


def train(run, parent=None):
    """The reference trainer, PyTorch, which these tests hold to the post's own loop."""
    return record_train(run, parent, trainer="torch")


def post_dataset():
    """The post's list of (image, label) tuples, typed in again here on purpose."""
    return [(torch.Tensor(image), torch.Tensor([label])) for label, image in enumerate(DIGITS)]


def post_train(model, optimizer, dataset):
    """The post's train(), with loss.item() for the old loss.data[0]."""
    model.train()
    avg_loss = 0
    for data, target in dataset:
        data = data.view(1, -1)
        optimizer.zero_grad()
        output = model(data)
        loss = F.nll_loss(output, target.long())
        loss.backward()
        optimizer.step()
        avg_loss += loss.item()
    return avg_loss / len(dataset)


def post_test(model, dataset):
    data = torch.stack([d.view(-1) for d, _ in dataset])
    target = torch.stack([t.view(-1) for _, t in dataset]).squeeze().long()
    with torch.no_grad():
        output = model(data)
        loss = F.nll_loss(output, target).item()
    return output.numpy(), loss, int(output.max(1)[1].eq(target).sum())


def run(seed=3, lr=0.1, momentum=0.1, epochs=6, snapshots=None, start=None):
    return Run(name="R", dataset="vanangamudi", model="linear", seed=seed, lr=lr, momentum=momentum,
               epochs=epochs, snapshots=snapshots or tuple(range(epochs + 1)), start=start)


@pytest.mark.parametrize("lr, momentum", [(1.0, 0.1), (0.1, 0.1), (0.3, 0.0)])
def test_recorder_matches_the_posts_loop_epoch_by_epoch(lr, momentum):
    epochs = 8
    recording = train(run(seed=5, lr=lr, momentum=momentum, epochs=epochs))

    torch.manual_seed(5)
    model = PostModel()
    optimizer = torch.optim.SGD(model.parameters(), lr=lr, momentum=momentum)
    dataset = post_dataset()
    for epoch in range(epochs + 1):
        if epoch > 0:
            mean_loss = post_train(model, optimizer, dataset)
            assert recording.epoch_loss[epoch - 1] == pytest.approx(mean_loss, abs=1e-6)
        outputs, loss, correct = post_test(model, dataset)
        snapshot = recording.snapshot(epoch)
        np.testing.assert_allclose(snapshot.weights, model.output_layer.weight.detach().numpy(), atol=1e-6)
        # outputs reach -15 at lr=1: float32 rounding of a reordered sum is ~1e-6 relative
        np.testing.assert_allclose(snapshot.outputs, outputs, atol=1e-6)
        assert snapshot.loss == pytest.approx(loss, abs=1e-6)
        assert snapshot.correct == correct


def test_from_continues_weights_and_momentum_like_one_long_loop():
    first = train(run(seed=2, epochs=5, snapshots=(0, 5)))
    second = train(run(seed=99, epochs=7, snapshots=(0, 7), start="R"), parent=first)

    torch.manual_seed(2)
    model = PostModel()
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.1)
    dataset = post_dataset()
    for _ in range(12):
        post_train(model, optimizer, dataset)
    np.testing.assert_allclose(second.snapshot(0).weights, first.snapshot(5).weights)
    np.testing.assert_allclose(second.snapshot(7).weights, model.output_layer.weight.detach().numpy(), atol=1e-6)
    assert second.meta["epoch_offset"] == 5
    assert [c["seed"] for c in second.chain] == [2, 99]


def test_untrained_snapshot_is_epoch_zero_and_only_asked_epochs_are_kept():
    recording = train(run(epochs=4, snapshots=(0, 4)))
    assert recording.epochs.tolist() == [0, 4]
    assert len(recording.epoch_loss) == 4
    torch.manual_seed(3)
    np.testing.assert_allclose(recording.snapshot(0).weights, PostModel().output_layer.weight.detach().numpy())
    with pytest.raises(KeyError):
        recording.snapshot(2)


def test_recording_describes_itself_and_round_trips(tmp_path):
    recording = train(run(epochs=3))
    path = tmp_path / "r.npz"
    write_recording(path, recording)
    loaded = Recording.load(path)
    for name in Recording.ARRAYS:
        np.testing.assert_array_equal(getattr(loaded, name), getattr(recording, name))
    np.testing.assert_array_equal(loaded.final_momentum, recording.final_momentum)
    assert loaded.config == recording.config and loaded.config["lr"] == 0.1
    assert loaded.meta["libraries"]["torch"] == torch.__version__
    assert len(loaded.meta["code_version"]) == 16 and loaded.meta["trainer"] == "torch"
    # same recording, same bytes
    write_recording(tmp_path / "again.npz", recording)
    assert (tmp_path / "again.npz").read_bytes() == path.read_bytes()


def test_corrupt_cached_recording_is_rejected(tmp_path):
    store = Store(tmp_path)
    store.put_recording("k", train(run(epochs=1)))
    assert store.get_recording("k") is not None
    path = store.recording_path("k")
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0xFF
    path.write_bytes(bytes(data))
    assert store.get_recording("k") is None
    path.write_bytes(b"")
    assert store.get_recording("k") is None
