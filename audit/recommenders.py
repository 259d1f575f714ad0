"""Two sample recommenders to audit: most-popular and a collaborative model (numpy/scikit-learn).

They exist so that the recommendation audit has something real to compare on MovieLens — a
non-personalised baseline and personalised collaborative filtering — not as production models.
Both meet :class:`audit.recommendation.TopKRecommender`: ``fit(interactions)`` then
``recommend(users, k)``; neither recommends an item the user already interacted with.

* :class:`PopularityRecommender` — every user gets the most-interacted items they have not
  seen (the "MostPop" baseline of Cremonesi, Koren & Turrin 2010).

Every list is best first, and equal scores — also two items tied for the last place of a
top-``k`` list — are ordered by item id (ascending, as sorted when fitting): the same data
always gives the same lists (:func:`top_k`).
* :class:`ItemKNNRecommender` — item-based collaborative filtering with cosine similarity
  between items' user vectors, keeping each item's ``neighbours`` nearest items (Sarwar et al.
  2001, "Item-based collaborative filtering recommendation algorithms"; Deshpande & Karypis
  2004, "Item-based top-N recommendation algorithms").
* :class:`PureSVDRecommender` — matrix factorisation by truncated SVD of the user-item matrix,
  scores ``x_u Q Qᵀ`` (Cremonesi, Koren & Turrin 2010, "PureSVD"), via
  :class:`sklearn.decomposition.TruncatedSVD`.
"""

from __future__ import annotations

from collections.abc import Hashable, Sequence
from typing import Any

import numpy as np
import pandas as pd
from numpy.typing import NDArray
from scipy import sparse

__all__ = [
    "BUILTIN_RECOMMENDERS",
    "ItemKNNRecommender",
    "PopularityRecommender",
    "PureSVDRecommender",
    "top_k",
]


def top_k(scores: NDArray[np.float64], k: int) -> NDArray[np.int64]:
    """Column indices of each row's ``k`` highest scores, best first; ties — also at rank
    ``k`` — go to the lower column (the earlier item id), so lists are reproducible.

    :func:`numpy.argpartition` alone picks arbitrarily among items tied at rank ``k``; rows
    where such a tie crosses the cut are sorted in full instead.
    """
    if k <= 0:
        return np.zeros((scores.shape[0], 0), dtype=np.int64)
    top = np.argpartition(-scores, k - 1, axis=1)[:, :k]
    top_scores = np.take_along_axis(scores, top, axis=1)
    edge = top_scores.min(axis=1, keepdims=True)  # the score at rank k
    crosses = (scores == edge).sum(axis=1) > (top_scores == edge).sum(axis=1)
    for row in np.flatnonzero(crosses):
        top[row] = np.lexsort((np.arange(scores.shape[1]), -scores[row]))[:k]
        top_scores[row] = scores[row, top[row]]
    order = np.lexsort((top, -top_scores), axis=1)
    return np.take_along_axis(top, order, axis=1).astype(np.int64)


class _MatrixRecommender:
    """Shared plumbing: id indexing, the seen-items matrix, batched top-k of a score matrix."""

    name = "base"

    def __init__(self) -> None:
        self._users: pd.Index = pd.Index([])
        self._items: NDArray[Any] = np.array([])
        self._seen: sparse.csr_matrix | None = None

    @property
    def identity(self) -> dict[str, str]:
        return {"kind": "builtin", "name": self.name, **self._params()}

    def _params(self) -> dict[str, str]:
        return {}

    def fit(self, interactions: pd.DataFrame) -> _MatrixRecommender:
        """Learn from interactions with columns ``user_id`` and ``item_id`` (others ignored)."""
        u_codes, users = pd.factorize(interactions["user_id"], sort=True)
        i_codes, items = pd.factorize(interactions["item_id"], sort=True)
        self._users = pd.Index(users)
        self._items = np.asarray(items)
        ones = np.ones(len(u_codes), dtype=np.float64)
        x = sparse.csr_matrix((ones, (u_codes, i_codes)), shape=(len(users), len(items)))
        x.data[:] = 1.0  # repeated interactions count once
        self._seen = x
        self._fit_matrix(x)
        return self

    def _fit_matrix(self, x: sparse.csr_matrix) -> None:
        raise NotImplementedError

    def _scores(self, rows: NDArray[np.int64]) -> NDArray[np.float64]:
        raise NotImplementedError

    def recommend(self, users: Sequence[Hashable], k: int) -> list[list[Hashable]]:
        """Top-``k`` unseen items for each user, best first; ``[]`` for a user never seen."""
        if self._seen is None:
            raise RuntimeError("call fit() before recommend()")
        rows = self._users.get_indexer(pd.Index(users))
        out: list[list[Hashable]] = [[] for _ in rows]
        known = np.flatnonzero(rows >= 0)
        if len(known) == 0:
            return out
        r = rows[known].astype(np.int64)
        scores = self._scores(r)
        seen = self._seen[r].toarray() > 0
        scores = np.where(seen, -np.inf, scores)
        top = top_k(scores, min(k, scores.shape[1]))
        ok = np.isfinite(np.take_along_axis(scores, top, axis=1))
        for j, idx in enumerate(known):
            out[idx] = self._items[top[j][ok[j]]].tolist()
        return out


class PopularityRecommender(_MatrixRecommender):
    """Most-popular baseline: items ranked by their number of distinct users in training."""

    name = "popularity"

    def _fit_matrix(self, x: sparse.csr_matrix) -> None:
        self._popularity = np.asarray(x.sum(axis=0)).ravel()

    def _scores(self, rows: NDArray[np.int64]) -> NDArray[np.float64]:
        return np.broadcast_to(self._popularity, (len(rows), len(self._popularity))).astype(
            np.float64
        )


class ItemKNNRecommender(_MatrixRecommender):
    """Item-based kNN: ``score(u, i) = sum_{j seen by u} sim_k(j, i)``.

    ``sim_k`` is the cosine similarity of items' binary user vectors, keeping for each item only
    its ``neighbours`` most similar other items.

    Parameters
    ----------
    neighbours
        Neighbourhood size per item.
    """

    name = "itemknn"

    def __init__(self, neighbours: int = 50) -> None:
        super().__init__()
        self.neighbours = neighbours

    def _params(self) -> dict[str, str]:
        return {"neighbours": str(self.neighbours), "similarity": "cosine"}

    def _fit_matrix(self, x: sparse.csr_matrix) -> None:
        from sklearn.metrics.pairwise import cosine_similarity

        sim = cosine_similarity(x.T.tocsr(), dense_output=True)
        np.fill_diagonal(sim, 0.0)
        n = sim.shape[0]
        keep = min(self.neighbours, n - 1)
        if 0 < keep < n:
            # Zero all but each row's `keep` largest similarities.
            drop = np.argpartition(-sim, keep - 1, axis=1)[:, keep:]
            np.put_along_axis(sim, drop, 0.0, axis=1)
        self._sim = sparse.csr_matrix(sim)

    def _scores(self, rows: NDArray[np.int64]) -> NDArray[np.float64]:
        assert self._seen is not None
        return np.asarray((self._seen[rows] @ self._sim).todense(), dtype=np.float64)


class PureSVDRecommender(_MatrixRecommender):
    """PureSVD: project the user's binary interaction row on the top item factors.

    ``score(u, ·) = x_u Q Qᵀ`` where ``Q`` holds the ``factors`` leading right singular vectors of
    the user-item matrix (Cremonesi, Koren & Turrin 2010).

    Parameters
    ----------
    factors
        Number of latent factors.
    seed
        Seed of the randomised SVD solver.
    """

    name = "puresvd"

    def __init__(self, factors: int = 32, seed: int = 0) -> None:
        super().__init__()
        self.factors = factors
        self.seed = seed

    def _params(self) -> dict[str, str]:
        return {"factors": str(self.factors), "seed": str(self.seed)}

    def _fit_matrix(self, x: sparse.csr_matrix) -> None:
        from sklearn.decomposition import TruncatedSVD

        n = max(1, min(self.factors, min(x.shape) - 1))
        self._q = TruncatedSVD(n_components=n, random_state=self.seed).fit(x).components_.T

    def _scores(self, rows: NDArray[np.int64]) -> NDArray[np.float64]:
        assert self._seen is not None
        return np.asarray(self._seen[rows] @ self._q @ self._q.T, dtype=np.float64)


#: Names accepted by ``--model`` for the sample recommenders.
BUILTIN_RECOMMENDERS: dict[str, type[_MatrixRecommender]] = {
    "popularity": PopularityRecommender,
    "itemknn": ItemKNNRecommender,
    "puresvd": PureSVDRecommender,
}
