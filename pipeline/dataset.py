"""The datasets a scene can name. Built in, so a scene never loads anything from outside."""
from __future__ import annotations

import numpy as np

# The post's ten 5×5 digits, row by row exactly as its code writes them; the label is the index.
_VANANGAMUDI_DIGITS = (
    "00111 00101 00101 00101 00111",  # 0
    "00010 00110 00010 00010 00111",  # 1
    "00111 00001 00111 00100 00111",  # 2
    "00111 00001 00011 00001 00111",  # 3
    "00101 00101 00111 00001 00001",  # 4
    "00111 00100 00111 00001 00111",  # 5
    "00111 00100 00111 00101 00111",  # 6
    "00111 00001 00001 00001 00001",  # 7
    "00111 00101 00111 00101 00111",  # 8
    "00111 00101 00111 00001 00111",  # 9
)


def _digits() -> np.ndarray:
    rows = [[[int(c) for c in row] for row in digit.split()] for digit in _VANANGAMUDI_DIGITS]
    return np.array(rows, dtype=np.float32)


DATASETS = {"vanangamudi": _digits}
"""Dataset name → function returning images of shape (N, H, W), float32; labels are 0..N-1."""


def load(name: str) -> tuple[np.ndarray, np.ndarray]:
    """Return (images (N, H, W) float32, labels (N,) int64) of a built-in dataset."""
    images = DATASETS[name]()
    return images, np.arange(len(images), dtype=np.int64)
