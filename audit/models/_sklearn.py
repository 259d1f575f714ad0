"""A scikit-learn estimator or pipeline, from a ``.skops`` file or (if trusted) a pickle."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from audit.exceptions import DataError, ModelError
from audit.inputs import file_sha256, is_s3, local_path
from audit.models._batch import texts_of
from audit.models._protocol import check_scores, describe

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["PICKLE_SUFFIXES", "SklearnModel"]

#: File endings loaded with joblib, and only with ``trust_pickle=True``.
PICKLE_SUFFIXES: tuple[str, ...] = (".pkl", ".pickle", ".joblib")


class SklearnModel:
    """A fitted scikit-learn estimator (usually a ``Pipeline``).

    Scores are ``predict_proba(X)[:, 1]`` (the probability of ``classes_[1]``) or, for an
    estimator without ``predict_proba``, its 0/1 ``predict(X)``. ``X`` is the list of texts when
    ``text_column`` is given, else the batch DataFrame itself.

    Build it with :meth:`from_skops` (safe: only trusted types are loaded) or
    :meth:`from_pickle` (runs arbitrary code; opt-in).

    Parameters
    ----------
    estimator
        The fitted estimator.
    identity
        Its provenance record, e.g. ``{"kind": "skops", "path": ..., "sha256": ...}``.
    text_column
        Column whose texts are the estimator's input.

    Examples
    --------
    >>> model = SklearnModel.from_skops("toxicity.skops", text_column="text")  # doctest: +SKIP
    >>> model.identity["sha256"]  # doctest: +SKIP
    '9f2c...'
    """

    def __init__(
        self,
        estimator: Any,
        *,
        identity: dict[str, str],
        text_column: str | None = None,
    ) -> None:
        self.estimator = estimator
        self.text_column = text_column
        self._identity = {**identity, "estimator": type(estimator).__qualname__}
        if not (hasattr(estimator, "predict_proba") or hasattr(estimator, "predict")):
            raise ModelError(
                f"{describe(identity)} holds a {type(estimator).__name__}, which "
                "has neither predict_proba nor predict; save a fitted classifier."
            )

    @classmethod
    def from_skops(
        cls,
        path: str | Path,
        text_column: str | None = None,
        trusted: Iterable[str] | None = None,
    ) -> SklearnModel:
        """Load an estimator saved with ``skops.io.dump``.

        Parameters
        ----------
        path
            The ``.skops`` file.
        text_column
            Column whose texts are the estimator's input.
        trusted
            Type names to load although skops does not trust them by default (the CLI's
            ``--trust-type NAME``). Only name types whose code you trust.

        Raises
        ------
        ModelError
            The file is missing or not a skops file, holds untrusted types, or fails to load.
        """
        import skops.io as sio

        name = str(path)
        path = _existing(path)
        try:
            untrusted = sio.get_untrusted_types(file=path)
        except Exception as exc:
            raise ModelError(
                f"{name} is not a readable .skops file ({type(exc).__name__}: "
                f"{exc}); save the model with skops.io.dump."
            ) from None
        allowed = set(trusted or ())
        refused = [name for name in untrusted if name not in allowed]
        if refused:
            flags = " ".join(f"--trust-type {t}" for t in refused)
            raise ModelError(
                f"{name} contains types skops does not trust: {', '.join(refused)}. Loading "
                "them can run their code. If you know where the file came from and trust "
                f"these types, pass {flags} (trusted_types=[...] in Python)."
            )
        try:
            estimator = sio.load(path, trusted=[n for n in untrusted if n in allowed])
        except Exception as exc:
            raise ModelError(
                f"could not load {name}: {type(exc).__name__}: {exc}. Check the "
                "scikit-learn and skops versions match those that saved it."
            ) from exc
        identity = {"kind": "skops", "path": name, "sha256": file_sha256(path)}
        return cls(estimator, identity=identity, text_column=text_column)

    @classmethod
    def from_pickle(
        cls,
        path: str | Path,
        text_column: str | None = None,
        *,
        trust_pickle: bool = False,
    ) -> SklearnModel:
        """Load a pickled or joblib-dumped estimator, only if ``trust_pickle`` is set.

        Raises
        ------
        ModelError
            The file is missing, ``trust_pickle`` is not set, or loading fails.
        """
        name = str(path)
        path = _existing(path)
        if not trust_pickle:
            raise ModelError(
                f"{name} is a pickle file, and loading a pickle runs arbitrary code from it. "
                "Save the model with skops.io.dump and pass the .skops file instead, or, only "
                "if you trust whoever made this file, pass --trust-pickle "
                "(trust_pickle=True in Python)."
            )
        import joblib

        try:
            estimator = joblib.load(path)
        except Exception as exc:
            raise ModelError(f"could not load {name}: {type(exc).__name__}: {exc}") from exc
        identity = {"kind": "pickle", "path": name, "sha256": file_sha256(path)}
        return cls(estimator, identity=identity, text_column=text_column)

    @property
    def identity(self) -> dict[str, str]:
        return dict(self._identity)

    def predict_scores(self, batch: pd.DataFrame) -> np.ndarray:
        who = describe(self._identity)
        X: Any = texts_of(batch, self.text_column, who) if self.text_column else batch
        proba = hasattr(self.estimator, "predict_proba")
        # A text pipeline given a DataFrame reads its column names as documents.
        hint = "" if self.text_column else " If it was trained on texts, pass --text COLUMN."
        try:
            raw = self.estimator.predict_proba(X) if proba else self.estimator.predict(X)
        except Exception as exc:
            raise ModelError(
                f"{who} failed to predict: {type(exc).__name__}: {exc}.{hint}"
            ) from exc
        raw = np.asarray(raw)
        n = raw.shape[0] if raw.ndim else 1
        if n != len(batch):
            raise ModelError(f"{who} returned {n} scores for {len(batch)} rows.{hint}")
        if proba:
            if raw.ndim != 2 or raw.shape[1] != 2:
                classes = getattr(self.estimator, "classes_", "?")
                raise ModelError(
                    f"{who} is not a binary classifier: predict_proba gave shape "
                    f"{raw.shape} (classes {classes}); the audit needs two classes."
                )
            raw = raw[:, 1]
        elif not np.isin(raw, (0, 1)).all():
            example = raw[~np.isin(raw, (0, 1))].tolist()[0]
            raise ModelError(
                f"{who} has no predict_proba and its predict returned {example!r}, "
                "not 0 or 1; save a classifier of the positive class."
            )
        return check_scores(raw, len(batch), who)

    def __repr__(self) -> str:
        return f"SklearnModel({self._identity!r}, text_column={self.text_column!r})"


def _existing(path: str | Path) -> Path:
    """The model file as a local path (an ``s3://`` model is downloaded first)."""
    if is_s3(path):
        try:
            return local_path(path)
        except DataError as exc:
            raise ModelError(f"model file {path}: {exc}") from None
    p = Path(path)
    if not p.is_file():
        raise ModelError(
            f"model file {path} does not exist"
            if not p.exists()
            else f"model path {path} is not a file"
        )
    return p
