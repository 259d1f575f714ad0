"""Reading and validating labelled test sets.

Validation happens once, here, at the boundary: every later stage trusts a
:class:`LabelledSet`. Problems raise :class:`~audit.exceptions.DataError` naming the file, the
column and the first bad row (1-based, header not counted).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from audit.exceptions import ConfigError, DataError
from audit.inputs import FORMATS, file_sha256, local_path

__all__ = ["LabelledSet", "file_sha256", "load_labelled_set", "read_table"]

_READERS = {**FORMATS, ".txt": "csv"}


def _first_undecodable_line(path: Path, encoding: str) -> int:
    with open(path, "rb") as fh:
        for i, line in enumerate(fh, start=1):
            try:
                line.decode(encoding)
            except UnicodeDecodeError:
                return i
    return 0


def read_table(path: str | Path, *, encoding: str = "utf-8") -> pd.DataFrame:
    """Read a CSV, TSV, Parquet or JSON Lines file into a DataFrame.

    Parameters
    ----------
    path
        Local file or ``s3://bucket/key`` object; the format follows the extension.
    encoding
        Text encoding of CSV/TSV/JSONL files.

    Raises
    ------
    DataError
        The file is missing, empty, of an unknown type, not decodable or not parseable.
    """
    name = str(path)
    p = local_path(path)
    if not p.is_file():
        raise DataError("file not found (check the path)", file=name)
    kind = _READERS.get(p.suffix.lower())
    if kind is None:
        raise DataError(
            f"unknown file type {p.suffix!r}; use .csv, .tsv, .parquet or .jsonl", file=name
        )
    if p.stat().st_size == 0:
        raise DataError("file is empty", file=name)
    try:
        if kind == "parquet":
            df = pd.read_parquet(p)
        elif kind == "jsonl":
            df = _read_jsonl(p, name, encoding)
        else:
            df = pd.read_csv(
                p, sep="\t" if kind == "tsv" else ",", encoding=encoding, low_memory=False
            )
    except UnicodeDecodeError:
        line = _first_undecodable_line(p, encoding)
        raise DataError(
            f"bytes on line {line} are not valid {encoding}; re-save the file as {encoding}",
            file=name,
        ) from None
    except pd.errors.EmptyDataError:
        raise DataError("file has no header and no rows", file=name) from None
    except pd.errors.ParserError as exc:
        raise DataError(f"cannot parse the file: {exc}", file=name) from None
    except (OSError, ValueError) as exc:  # pyarrow raises ArrowInvalid (a ValueError)
        raise DataError(f"cannot read the file: {exc}", file=name) from None
    if len(df) == 0:
        raise DataError("file has a header but no rows", file=name)
    return df


def _read_jsonl(p: Path, name: str, encoding: str) -> pd.DataFrame:
    records = []
    with open(p, encoding=encoding) as fh:
        for i, line in enumerate(fh, start=1):
            if not line.strip():
                continue
            try:
                rec = json.loads(line)
            except json.JSONDecodeError as exc:
                raise DataError(f"line {i} is not valid JSON ({exc.msg})", file=name) from None
            if not isinstance(rec, dict):
                raise DataError(f"line {i} is not a JSON object", file=name)
            records.append(rec)
    return pd.DataFrame.from_records(records)


@dataclass
class LabelledSet:
    """A validated labelled test set.

    Attributes
    ----------
    frame
        The rows, with the columns named in :attr:`columns`.
    y_true
        Ground truth, 0/1.
    scores
        The model's scores in ``[0, 1]``, if a score column was given (or later filled in by
        a model adapter).
    decisions
        The model's 0/1 decisions, if a decision column was given.
    group_columns
        Sensitive-attribute columns (values as strings).
    language_column, text_column, id_column
        Optional columns.
    inputs
        Every input file read, with its role and SHA-256, for provenance.
    """

    frame: pd.DataFrame
    y_true: np.ndarray
    group_columns: list[str]
    scores: np.ndarray | None = None
    decisions: np.ndarray | None = None
    language_column: str | None = None
    text_column: str | None = None
    id_column: str | None = None
    inputs: list[dict[str, str]] = field(default_factory=list)

    @property
    def attributes(self) -> pd.DataFrame:
        """The sensitive-attribute columns."""
        return self.frame[self.group_columns]


def _require(df: pd.DataFrame, column: str, file: str, flag: str) -> None:
    if column not in df.columns:
        cols = ", ".join(map(str, df.columns[:20]))
        raise DataError(
            f"no column {column!r} (named by {flag}); the file has: {cols}",
            file=file,
            column=column,
        )


def _show(value: object) -> str:
    """A cell value as the user wrote it (numpy scalars unwrapped)."""
    item = getattr(value, "item", None)
    return repr(item() if callable(item) else value)


def _first_bad(mask: np.ndarray | pd.Series) -> int:
    return int(np.flatnonzero(np.asarray(mask))[0]) + 1


def _binary_labels(s: pd.Series, file: str, column: str, positive: str | None) -> np.ndarray:
    if positive is not None:
        if s.isna().any():
            raise DataError("missing label", file=file, column=column, row=_first_bad(s.isna()))
        return (s.astype(str) == str(positive)).to_numpy(np.int8)
    if s.dtype == bool:
        return s.to_numpy(np.int8)
    num = pd.to_numeric(s, errors="coerce")
    bad = num.isna() | ~num.isin([0, 1])
    if bad.any():
        row = _first_bad(bad)
        raw = s.iloc[row - 1]
        if pd.isna(raw):
            raise DataError("label is missing", file=file, column=column, row=row)
        raise DataError(
            f"label must be 0 or 1, found {_show(raw)}; for text labels name "
            "the positive value with --positive-label",
            file=file,
            column=column,
            row=row,
        )
    return num.to_numpy(np.int8)


def _scores(s: pd.Series, file: str, column: str) -> np.ndarray:
    num = pd.to_numeric(s, errors="coerce")
    bad = num.isna()
    if bad.any():
        row = _first_bad(bad)
        raw = s.iloc[row - 1]
        what = "is missing" if pd.isna(raw) else f"must be a number, found {_show(raw)}"
        raise DataError(f"score {what}", file=file, column=column, row=row)
    arr = num.to_numpy(np.float64)
    out = (arr < 0) | (arr > 1) | ~np.isfinite(arr)
    if out.any():
        row = _first_bad(out)
        raise DataError(
            f"score must lie in [0, 1], found {_show(arr[row - 1])}; "
            "rescale scores to probabilities",
            file=file,
            column=column,
            row=row,
        )
    return arr


def load_labelled_set(
    data: str | Path,
    *,
    label: str,
    groups: Sequence[str],
    score: str | None = None,
    decision: str | None = None,
    id_column: str | None = None,
    groups_file: str | Path | None = None,
    language: str | None = None,
    text: str | None = None,
    positive_label: str | None = None,
) -> LabelledSet:
    """Read and validate a labelled test set.

    Parameters
    ----------
    data
        CSV, TSV, Parquet or JSONL file with one row per scored item.
    label
        Ground-truth column (0/1, or any value with ``positive_label``).
    groups
        Sensitive-attribute columns; they may live in ``groups_file`` instead.
    score
        Column of model scores in ``[0, 1]``.
    decision
        Column of model decisions (0/1).
    id_column
        Unique row id; required with ``groups_file``.
    groups_file
        A separate file with ``id_column`` and the attribute columns, joined on the id, so the
        model's data never has to carry sensitive attributes.
    language, text
        Optional language and text columns.
    positive_label
        Label value meaning "positive" (e.g. ``toxic``) when labels are not 0/1.
    """
    name = str(data)
    df = read_table(data)
    inputs = [{"role": "data", "path": name, "sha256": file_sha256(data)}]
    if not groups:
        raise ConfigError("name at least one sensitive-attribute column with --groups")

    _require(df, label, name, "--label")
    for col, flag in (
        (score, "--score"),
        (decision, "--decision"),
        (id_column, "--id"),
        (language, "--language"),
        (text, "--text"),
    ):
        if col is not None:
            _require(df, col, name, flag)

    if id_column is not None:
        dup = df[id_column].duplicated()
        if dup.any():
            row = _first_bad(dup)
            raise DataError(
                f"duplicate id {_show(df[id_column].iloc[row - 1])}; ids must be unique",
                file=name,
                column=id_column,
                row=row,
            )

    if groups_file is not None:
        if id_column is None:
            raise ConfigError("--groups-file needs --id to join on")
        gname = str(groups_file)
        gdf = read_table(groups_file)
        inputs.append({"role": "groups", "path": gname, "sha256": file_sha256(groups_file)})
        _require(gdf, id_column, gname, "--id")
        for col in groups:
            _require(gdf, col, gname, "--groups")
        gdup = gdf[id_column].duplicated()
        if gdup.any():
            row = _first_bad(gdup)
            raise DataError(
                f"duplicate id {_show(gdf[id_column].iloc[row - 1])}",
                file=gname,
                column=id_column,
                row=row,
            )
        clash = [c for c in groups if c in df.columns]
        df = df.drop(columns=clash)
        key_d = df[id_column].astype(str)
        key_g = gdf[id_column].astype(str)
        missing = ~key_d.isin(set(key_g))
        if missing.any():
            row = _first_bad(missing)
            raise DataError(
                f"id {_show(df[id_column].iloc[row - 1])} has no row in {gname}; every scored row "
                "needs its groups",
                file=name,
                column=id_column,
                row=row,
            )
        attrs = gdf.assign(_key=key_g).set_index("_key")[list(groups)]
        df = df.assign(**{c: key_d.map(attrs[c]).to_numpy() for c in groups})
    else:
        for col in groups:
            _require(df, col, name, "--groups")

    y = _binary_labels(df[label], name, label, positive_label)
    scores = _scores(df[score], name, score) if score is not None else None
    decisions = _binary_labels(df[decision], name, decision, None) if decision else None
    if language is not None:
        df[language] = df[language].astype("object").where(df[language].notna(), "<missing>")
    return LabelledSet(
        frame=df.reset_index(drop=True),
        y_true=y,
        group_columns=list(groups),
        scores=scores,
        decisions=decisions,
        language_column=language,
        text_column=text,
        id_column=id_column,
        inputs=inputs,
    )
