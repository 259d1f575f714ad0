"""A Python function as the model: ``package.module:function``."""

from __future__ import annotations

import importlib
import re
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from audit.exceptions import ModelError
from audit.models._batch import records_of, texts_of
from audit.models._protocol import check_scores, describe

if TYPE_CHECKING:
    import numpy as np
    import pandas as pd

__all__ = ["CallableModel", "is_callable_spec"]

_SPEC = re.compile(r"^[A-Za-z_][\w.]*:[A-Za-z_][\w.]*$")


def is_callable_spec(spec: str) -> bool:
    """Whether ``spec`` reads as ``package.module:function``."""
    return bool(_SPEC.match(spec))


class CallableModel:
    """Call ``package.module:function`` on each batch.

    Parameters
    ----------
    spec
        ``package.module:function``; the module must be importable (installed, or on
        ``PYTHONPATH``). ``function`` may be dotted, e.g. ``mod:model.score``.
    text_column
        If given, the function receives the texts of this column as ``list[str]``; otherwise
        it receives the rows as ``list[dict]`` (plain Python values, missing ones ``None``).

    Notes
    -----
    The function returns one score per input, a probability of the positive class: a list,
    a 1-D array, or a 2-D ``predict_proba``-style array whose column 1 is used.

    Examples
    --------
    >>> model = CallableModel("mymodels.toxicity:score", text_column="text")  # doctest: +SKIP
    >>> score_dataframe(model, frame)  # doctest: +SKIP
    array([0.03, 0.91, ...])
    """

    def __init__(self, spec: str, text_column: str | None = None) -> None:
        self.spec = spec
        self.text_column = text_column
        self.function = _resolve(spec)

    @property
    def identity(self) -> dict[str, str]:
        return {"kind": "callable", "name": self.spec}

    def predict_scores(self, batch: pd.DataFrame) -> np.ndarray:
        who = describe(self.identity)
        inputs: list[Any] = (
            texts_of(batch, self.text_column, who) if self.text_column else records_of(batch)
        )
        try:
            raw = self.function(inputs)
        except Exception as exc:
            raise ModelError(f"{who} raised {type(exc).__name__}: {exc}") from exc
        return check_scores(raw, len(batch), who)

    def __repr__(self) -> str:
        return f"CallableModel({self.spec!r}, text_column={self.text_column!r})"


def _resolve(spec: str) -> Callable[[list[Any]], Any]:
    if not is_callable_spec(spec):
        raise ModelError(f"model {spec!r} is not of the form package.module:function")
    module_name, _, attr_path = spec.partition(":")
    try:
        module = importlib.import_module(module_name)
    except ModuleNotFoundError as exc:
        missing = exc.name or module_name
        ours = missing == module_name or module_name.startswith(missing + ".")
        where = "" if ours else f" (it imports {missing!r}, which is not installed)"
        raise ModelError(
            f"cannot import module {module_name!r} for model {spec!r}{where}. "
            "Install it, or run from the directory that contains it "
            "(or add that directory to PYTHONPATH)."
        ) from None
    except Exception as exc:
        raise ModelError(
            f"importing module {module_name!r} for model {spec!r} failed: "
            f"{type(exc).__name__}: {exc}"
        ) from exc
    obj: Any = module
    for part in attr_path.split("."):
        try:
            obj = getattr(obj, part)
        except AttributeError:
            raise ModelError(
                f"module {module_name!r} has no {attr_path!r} (model {spec!r}); "
                "check the name after the colon."
            ) from None
    if not callable(obj):
        raise ModelError(
            f"{attr_path!r} in module {module_name!r} is a "
            f"{type(obj).__name__}, not a function (model {spec!r})"
        )
    return obj
