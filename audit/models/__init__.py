"""Adapters for "the platform's model": one protocol, whatever the model is.

Every audit scores rows through a :class:`ScoreModel`: an object with an ``identity`` (recorded
in the result's provenance) and ``predict_scores(batch) -> scores in [0, 1]``. The adapters here
wrap the usual ways a platform hands over its model:

* :class:`ColumnScores` – scores already in a column of the test set;
* :class:`CallableModel` – a Python function, ``package.module:function``;
* :class:`SklearnModel` – a scikit-learn estimator saved with skops (or, trusted, a pickle);
* :class:`HttpModel` – an HTTP endpoint answering ``{"scores": [...]}``.

:func:`load_model` picks the adapter from the CLI's ``--model`` string, and
:func:`score_dataframe` runs any model over a frame in batches and checks what comes back.
Heavy dependencies (scikit-learn, skops, joblib, httpx, pandas) load only when used.
"""

from __future__ import annotations

from audit.models._batch import Progress, score_dataframe
from audit.models._callable import CallableModel
from audit.models._column import ColumnScores
from audit.models._http import HttpModel
from audit.models._load import load_model
from audit.models._protocol import ScoreModel
from audit.models._sklearn import PICKLE_SUFFIXES, SklearnModel

__all__ = [
    "PICKLE_SUFFIXES",
    "CallableModel",
    "ColumnScores",
    "HttpModel",
    "Progress",
    "ScoreModel",
    "SklearnModel",
    "load_model",
    "score_dataframe",
]
