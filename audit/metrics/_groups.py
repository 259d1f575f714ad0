"""Group partitions and confusion counts.

Rows are partitioned once into *cells*: the finest combination of every sensitive attribute
in play. Every slice the audit reports (one attribute, or an intersection of several) is a
coarsening of those cells, so group counts are sums of cell counts. That lets a bootstrap
resample the cell counts once and read every slice off the same resample.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from numpy.typing import NDArray

__all__ = ["MISSING", "Partition", "Slice", "confusion_index"]

#: Group label used for rows whose attribute value is missing.
MISSING = "<missing>"

GroupKey = str | tuple[str, ...]


def confusion_index(y_true: NDArray[np.integer], y_pred: NDArray[np.integer]) -> NDArray[np.int64]:
    """Index into ``[tp, fp, fn, tn]`` for each row (labels and decisions are 0/1)."""
    y = np.asarray(y_true, dtype=np.int64)
    d = np.asarray(y_pred, dtype=np.int64)
    return (1 - d) * 2 + (1 - y)


@dataclass(frozen=True)
class Slice:
    """One way of grouping rows: a single attribute or an intersection.

    Attributes
    ----------
    columns
        The attribute columns; one for a plain attribute, several for an intersection.
    groups
        Group labels, in a stable sorted order (tuples for intersections).
    cell_group
        For each cell of the partition, the index of its group in :attr:`groups`.
    """

    columns: tuple[str, ...]
    groups: tuple[GroupKey, ...]
    cell_group: NDArray[np.int64]

    @property
    def attribute(self) -> str | list[str]:
        """The attribute as written in result documents: a name, or a list for intersections."""
        return self.columns[0] if len(self.columns) == 1 else list(self.columns)

    @property
    def name(self) -> str:
        """Display name, e.g. ``race`` or ``race & sex``."""
        return " & ".join(self.columns)

    def aggregate(self, cell_values: NDArray[np.number]) -> NDArray[np.float64]:
        """Sum per-cell values shaped ``(..., cells, k)`` into ``(..., groups, k)``."""
        onehot = np.zeros((len(self.cell_group), len(self.groups)), dtype=np.float64)
        onehot[np.arange(len(self.cell_group)), self.cell_group] = 1.0
        return np.einsum("...ck,cg->...gk", np.asarray(cell_values, dtype=np.float64), onehot)


class Partition:
    """The finest partition of rows by every attribute column.

    Parameters
    ----------
    attributes
        One column per sensitive attribute (and the language column, if any). Values are
        compared as strings; missing values form their own group, :data:`MISSING`.
    """

    def __init__(self, attributes: pd.DataFrame) -> None:
        if attributes.shape[1] == 0:
            raise ValueError("at least one attribute column is needed")
        frame = attributes.astype("object").where(attributes.notna(), MISSING).astype(str)
        codes = frame.groupby(list(frame.columns), sort=True).ngroup().to_numpy(np.int64)
        self.frame = frame
        self.row_cell = codes
        self.cells = (
            frame.assign(_cell=codes).drop_duplicates("_cell").sort_values("_cell")
        ).reset_index(drop=True)
        self.n_cells = len(self.cells)

    def slice(self, columns: tuple[str, ...]) -> Slice:
        """The slice grouping rows by ``columns``."""
        keys = self.cells[list(columns)]
        labels = [tuple(r) for r in keys.itertuples(index=False, name=None)]
        uniq = sorted(set(labels))
        index = {k: i for i, k in enumerate(uniq)}
        cell_group = np.array([index[k] for k in labels], dtype=np.int64)
        groups: tuple[GroupKey, ...] = tuple(k[0] if len(columns) == 1 else k for k in uniq)
        return Slice(columns=columns, groups=groups, cell_group=cell_group)

    def confusion_counts(
        self, y_true: NDArray[np.integer], y_pred: NDArray[np.integer]
    ) -> NDArray[np.int64]:
        """Confusion counts per cell, shape ``(cells, 4)`` in ``[tp, fp, fn, tn]`` order."""
        flat = self.row_cell * 4 + confusion_index(y_true, y_pred)
        return np.bincount(flat, minlength=self.n_cells * 4).reshape(self.n_cells, 4)

    def row_groups(self, sl: Slice) -> NDArray[np.int64]:
        """Index of each row's group in ``sl.groups``."""
        return sl.cell_group[self.row_cell]
