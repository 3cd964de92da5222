"""The post's notebook, cell by cell as written, as the baseline for `make bench`.

Only what no longer runs on today's libraries is changed: no ``Variable``, ``loss.item()``
for ``loss.data[0]``, an explicit ``dim=1`` for ``log_softmax``, ``.item()`` on counts, and
``show()`` becomes what the notebook's inline backend does: save a tight PNG, then close.
``--long-epochs N`` runs the 100000-epoch cell for N epochs instead (bench.py scales it).
Prints the seconds the long cell spends in ``train()``, the part that grows with its epochs.
"""
from __future__ import annotations

import argparse
import io
import sys
import time

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy  # noqa: E402
import torch  # noqa: E402
import torch.nn.functional as F  # noqa: E402
import torch.optim as optim  # noqa: E402
from mpl_toolkits.axes_grid1 import ImageGrid  # noqa: E402
from PIL import Image  # noqa: E402
from torch import nn  # noqa: E402

DIGITS = [
    "00111 00101 00101 00101 00111", "00010 00110 00010 00010 00111",
    "00111 00001 00111 00100 00111", "00111 00001 00011 00001 00111",
    "00101 00101 00111 00001 00001", "00111 00100 00111 00001 00111",
    "00111 00100 00111 00101 00111", "00111 00001 00001 00001 00001",
    "00111 00101 00111 00101 00111", "00111 00101 00111 00001 00111",
]


def show():
    """What the notebook's inline backend does with each figure."""
    for number in plt.get_fignums():
        plt.figure(number).savefig(io.BytesIO(), format="png", bbox_inches="tight")
    plt.close("all")


class Model(nn.Module):
    def __init__(self):
        super(Model, self).__init__()
        self.output_layer = nn.Linear(5 * 5, 10, bias=False)

    def forward(self, x):
        x = self.output_layer(x)
        return F.log_softmax(x, dim=1)


def trinity(grid, data, weights, output):
    for i, (matrix, title, xlabel) in enumerate(zip((data, weights, output),
                                                    ("DATASET", "MODEL", "OUTPUT"), ("25", "25", "10"))):
        grid[i].matshow(Image.fromarray(matrix))
        grid[i].set_title(title, fontsize=24)
        grid[i].tick_params(axis="both", which="both", length=0, labelsize=0)
        grid[i].set_xlabel(xlabel, fontsize=24)
    grid[0].set_ylabel("10", fontsize=24)


def main(long_epochs: int) -> None:
    torch.manual_seed(0)
    dataset = []
    for label, digit in enumerate(DIGITS):
        image = torch.Tensor([[int(c) for c in row] for row in digit.split()])
        dataset.append((image, torch.Tensor([label])))

    fig = plt.figure(1, (10., 50.))
    grid = ImageGrid(fig, 111, nrows_ncols=(2, 5), axes_pad=0.1)
    for i, (data, target) in enumerate(dataset):
        grid[i].matshow(Image.fromarray(data.numpy()))
        grid[i].tick_params(axis="both", which="both", length=0, labelsize=0)
    show()

    model = Model()
    optimizer = optim.SGD(model.parameters(), lr=1, momentum=0.1)

    fig = plt.figure(1, (16., 16.))
    grid = ImageGrid(fig, 111, nrows_ncols=(1, 3), axes_pad=0.1)
    data = torch.stack([data.view(-1) for data, target in dataset])
    target = torch.stack([target.view(-1) for data, target in dataset]).squeeze()
    output = model(data)
    trinity(grid, data.numpy(), model.output_layer.weight.data.numpy(), output.data.numpy())
    show()

    fig = plt.figure(1, (12., 12.))
    grid = ImageGrid(fig, 111, nrows_ncols=(2, 5), axes_pad=0.1)
    for i, (d, t) in enumerate(dataset):
        grid[i].matshow(Image.fromarray(d.numpy()))
        grid[i].tick_params(axis="both", which="both", length=0, labelsize=0)
    show()
    fig = plt.figure(1, (100., 10.))
    grid = ImageGrid(fig, 111, nrows_ncols=(len(dataset), 1), axes_pad=0.1)
    for i, d in enumerate([data.view(1, -1) for data, target in dataset]):
        grid[i].matshow(Image.fromarray(d.numpy()))
        grid[i].set_ylabel("{}".format(i), fontsize=36)
        grid[i].tick_params(axis="both", which="both", length=0, labelsize=0)
    show()

    def values_figure(model, dataset, decimals, value_size):
        fig = plt.figure(1, (80., 80.))
        grid = ImageGrid(fig, 111, nrows_ncols=(1, 3), axes_pad=0.5)
        data = torch.stack([data.view(-1) for data, target in dataset])
        with torch.no_grad():
            plot_data = [data, model.output_layer.weight.data, model(data).data]
        for i, tobeplotted in enumerate(plot_data):
            grid[i].matshow(Image.fromarray(tobeplotted.numpy()))
            grid[i].tick_params(axis="both", which="both", length=0, labelsize=0)
            for (x, y), val in numpy.ndenumerate(tobeplotted.numpy()):
                if i == 0:
                    spec = "{:d}"
                    val = int(val)
                else:
                    spec = "{:0.%df}" % decimals
                grid[i].text(y, x, spec.format(val), ha="center", va="center", fontsize=value_size,
                             bbox=dict(boxstyle="round", facecolor="white", edgecolor="white"))
        for i, title in enumerate(("DATASET", "MODEL", "OUTPUT")):
            grid[i].set_title(title, fontsize=144)
            grid[i].set_xlabel("25", fontsize=144)
        grid[0].set_ylabel("10", fontsize=144)
        show()

    values_figure(model, dataset, 4, 16)  # "Lets take a closer look"

    def test_and_print(model, dataset, plot=True):
        data = torch.stack([data.view(-1) for data, target in dataset]).squeeze()
        target = torch.stack([target.view(-1) for data, target in dataset]).squeeze()
        with torch.no_grad():
            output = model(data)
        loss = F.nll_loss(output, target.long())
        pred = output.data.max(1)[1]
        correct = pred.eq(target.long()).sum().item()
        print("correct: {}/{}, loss:{}".format(correct, len(dataset), loss.item()), file=sys.stderr)
        images = (data.numpy(), model.output_layer.weight.data.numpy(), output.data.numpy())
        if plot:
            fig = plt.figure(1, (16., 16.))
            grid = ImageGrid(fig, 111, nrows_ncols=(1, 3), axes_pad=0.1)
            trinity(grid, *images)
            show()
        return images

    def train(model, optim, dataset):
        model.train()
        avg_loss = 0
        for i, (data, target) in enumerate(dataset):
            data = data.view(1, -1)
            optimizer.zero_grad()
            output = model(data)
            loss = F.nll_loss(output, target.long())
            loss.backward()
            optimizer.step()
            avg_loss += loss.item()
        return avg_loss / len(dataset)

    test_and_print(model, dataset)
    values_figure(model, dataset, 2, 16)
    for _ in range(2):  # "Train the model once", "train once again"
        train(model, optimizer, dataset)
        test_and_print(model, dataset)
        values_figure(model, dataset, 2, 16)

    training_seconds = [0.0]  # time inside train(), which is what grows with the epochs

    def train_epochs(epochs, model, optim, dataset, print_every=10):
        snaps = []
        for epoch in range(epochs + 1):
            started = time.perf_counter()
            avg_loss = train(model, optim, dataset)
            training_seconds[0] += time.perf_counter() - started
            if not epoch % print_every:
                snaps.append(test_and_print(model, dataset))
        return snaps

    model = Model()
    optimizer = optim.SGD(model.parameters(), lr=0.1, momentum=0.1)
    snaps = train_epochs(20, model, optimizer, dataset, print_every=2)

    fig = plt.figure(1, (16., 16.))
    grid = ImageGrid(fig, 111, nrows_ncols=(len(snaps), 3), axes_pad=0.1)
    for i, snap in enumerate(snaps):
        for j, image in enumerate(snap):
            grid[i * 3 + j].matshow(image)
            grid[i * 3 + j].tick_params(axis="both", which="both", length=0, labelsize=0)
    show()

    training_seconds[0] = 0.0
    snaps = train_epochs(long_epochs, model, optimizer, dataset, print_every=max(1, long_epochs // 5))
    long_training = training_seconds[0]

    test_and_print(model, dataset)
    values_figure(model, dataset, 2, 16)
    _model = model.output_layer.weight.data.numpy()
    for reshaped in (False, True):
        plt.figure(1, (25, 10))
        plt.matshow(_model, vmin=-10, vmax=10)
        plt.tick_params(axis="both", which="both", length=0, labelsize=0)
        show()
        fig = plt.figure(1, (10., 10.))
        grid = ImageGrid(fig, 111, nrows_ncols=(2, 5), axes_pad=0.1)
        rows = _model if reshaped else [d.numpy() for d, t in dataset]
        for i, image in enumerate(rows):
            grid[i].matshow(Image.fromarray(image.reshape(5, 5)), vmin=-10, vmax=10)
            grid[i].tick_params(axis="both", which="both", length=0, labelsize=0)
        show()
    print(f"long_training_seconds={long_training:.3f}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--long-epochs", type=int, default=100000)
    main(parser.parse_args().long_epochs)
