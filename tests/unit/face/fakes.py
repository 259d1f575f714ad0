"""A fake face model for tests: "faces" are solid colour squares on a white background.

Each face is a square of one colour; its template is the colour (scaled to [0, 1]) with the
square's side appended, so images of one subject (one colour, small per-image shifts) are close
and different subjects far apart. Picklable, so it also runs in spawned worker processes.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image

from audit.face import Faces


@dataclass(frozen=True)
class SquareEncoder:
    """Finds solid squares of any non-white colour; counts calls in ``calls_file`` if set."""

    calls_file: str | None = None

    def identity(self) -> dict[str, str]:
        return {"kind": "fake-squares", "version": "1"}

    def encode(self, image: np.ndarray) -> Faces:
        if self.calls_file:
            with open(self.calls_file, "a") as fh:
                fh.write(f"{os.getpid()}\n")
        ink = (image < 250).any(axis=2)
        colours = {tuple(c) for c in image[ink].reshape(-1, 3).tolist()}
        boxes, encodings = [], []
        for c in sorted(colours):
            ys, xs = np.nonzero((image == np.array(c, dtype=np.uint8)).all(axis=2))
            boxes.append((ys.min(), xs.max(), ys.max(), xs.min()))
            encodings.append([*(np.array(c) / 255.0), (xs.max() - xs.min()) / 100.0])
        return Faces(
            np.array(boxes, dtype=np.float64).reshape(-1, 4), np.array(encodings).reshape(-1, 4)
        )


def draw(path: Path, colours: list[tuple[int, int, int]], size: int = 20) -> Path:
    """An image with one ``size`` px square per colour."""
    img = Image.new("RGB", (40 + 40 * len(colours), 60), "white")
    for k, c in enumerate(colours):
        img.paste(Image.new("RGB", (size, size), c), (20 + 40 * k, 20))
    img.save(path)
    return path
