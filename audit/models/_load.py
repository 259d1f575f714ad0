"""From the ``--model`` string to a :class:`ScoreModel`."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from audit.exceptions import ConfigError, ModelError
from audit.models._callable import CallableModel, is_callable_spec
from audit.models._http import HttpModel
from audit.models._protocol import ScoreModel
from audit.models._sklearn import PICKLE_SUFFIXES, SklearnModel

__all__ = ["load_model"]


def load_model(
    spec: str,
    *,
    text_column: str | None = None,
    trust_pickle: bool = False,
    trusted_types: Iterable[str] = (),
    http_options: Mapping[str, Any] | None = None,
) -> ScoreModel:
    """Open the platform's model named by ``spec``.

    ========================================  ==============================================
    ``spec``                                  model
    ========================================  ==============================================
    ``http://...`` or ``https://...``         :class:`HttpModel`
    ``*.skops``                               :meth:`SklearnModel.from_skops`
    ``*.pkl``, ``*.pickle``, ``*.joblib``     :meth:`SklearnModel.from_pickle` (needs trust)
    ``package.module:function``               :class:`CallableModel`
    ========================================  ==============================================

    Parameters
    ----------
    spec
        What the CLI's ``--model`` received.
    text_column
        Give the model the texts of this column instead of whole rows.
    trust_pickle
        Allow loading a pickle, which runs arbitrary code (``--trust-pickle``).
    trusted_types
        Types a ``.skops`` file may load although skops does not trust them (``--trust-type``).
    http_options
        Keyword arguments of :class:`HttpModel` (``timeout``, ``retries``, ``backoff``,
        ``concurrency``, ``batch_size``, ``headers``).

    Returns
    -------
    ScoreModel
        Ready to pass to :func:`score_dataframe` or an audit.

    Raises
    ------
    ModelError
        The file does not exist, is refused as untrusted, fails to load, or the function
        cannot be imported.

    Examples
    --------
    >>> load_model("http://127.0.0.1:8080/score", text_column="text").identity
    {'kind': 'http', 'url': 'http://127.0.0.1:8080/score'}
    """
    spec = spec.strip()
    if spec.lower().startswith(("http://", "https://")):
        options = dict(http_options or {})
        unknown = set(options) - _HTTP_OPTIONS
        if unknown:
            raise ConfigError(
                f"unknown HTTP model option(s) {', '.join(sorted(unknown))}; "
                f"known are {', '.join(sorted(_HTTP_OPTIONS))}"
            )
        return HttpModel(spec, text_column, **options)
    suffix = Path(spec).suffix.lower()
    if suffix == ".skops":
        return SklearnModel.from_skops(spec, text_column, trusted=trusted_types)
    if suffix in PICKLE_SUFFIXES:
        return SklearnModel.from_pickle(spec, text_column, trust_pickle=trust_pickle)
    if is_callable_spec(spec):
        return CallableModel(spec, text_column)
    if Path(spec).exists():
        raise ModelError(
            f"model file {spec} has an unsupported type; give a .skops file, a "
            f"{'/'.join(PICKLE_SUFFIXES)} file (with --trust-pickle), "
            "package.module:function or an http(s):// URL"
        )
    raise ModelError(
        f"model {spec} not found: there is no such file, and it is not an "
        "http(s):// URL or package.module:function"
    )


_HTTP_OPTIONS = frozenset({"timeout", "retries", "backoff", "concurrency", "batch_size", "headers"})
