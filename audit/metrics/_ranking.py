"""Ranking, exposure and popularity metrics for recommendation audits: one definition each.

Ranked lists are held as a dense matrix ``recs`` of shape ``(users, k)``: ``recs[u, r - 1]`` is
the index of the item user ``u`` saw at rank ``r`` (1-based), ``-1`` for an empty slot. Every
per-user metric is computed for all users at once from that matrix and a matching ``gains``
matrix; group values are means of the per-user values, and their intervals come from
:func:`resampled_unit_sums` (users resampled with replacement).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal, NamedTuple

import numpy as np
from numpy.typing import NDArray

from audit.metrics._bootstrap import BootstrapSettings, multinomial_resamples

__all__ = [
    "RANKING_METRICS",
    "RankingMetric",
    "Resampled",
    "average_recommendation_popularity",
    "catalogue_coverage",
    "cell_sums",
    "dcg",
    "exposure_share",
    "gains_at_k",
    "gini",
    "hit_rate",
    "ideal_dcg",
    "ideal_dcg_binary",
    "item_exposure",
    "long_tail_items",
    "long_tail_share",
    "ndcg",
    "position_weight",
    "precision_at_k",
    "recall_at_k",
    "resampled_unit_sums",
    "user_metrics",
]

Array = NDArray[np.float64]
IntArray = NDArray[np.int64]


# --------------------------------------------------------------------------- position weight


def position_weight(rank: IntArray | int) -> Array:
    """Attention paid to rank ``r`` (1-based): ``1 / log2(1 + r)``.

    The logarithmic position discount of DCG (Järvelin & Kekäläinen 2002, "Cumulated gain-based
    evaluation of IR techniques", ACM TOIS 20(4)), used both as the gain discount of NDCG and as
    the exposure of a ranked position (Singh & Joachims 2018, "Fairness of Exposure in
    Rankings", KDD, sec. 3: ``v_j = 1 / log(1 + j)``). Rank 1 has weight 1, rank 3 has 0.5.

    Examples
    --------
    >>> position_weight(np.array([1, 3])).tolist()
    [1.0, 0.5]
    """
    return 1.0 / np.log2(1.0 + np.asarray(rank, dtype=np.float64))


def _weights(k: int) -> Array:
    return position_weight(np.arange(1, k + 1))


# --------------------------------------------------------------------------- user side


def gains_at_k(
    recs: IntArray,
    judged_user: IntArray,
    judged_item: IntArray,
    judged_gain: Array,
    chunk: int = 1 << 18,
) -> Array:
    """The gain of every recommended slot: the judged relevance of that (user, item), else 0.

    Each judgment is compared with its user's k slots at once (a ``(judgments, k)`` equality
    test in chunks), so the cost is ``judgments x k`` vector operations and no sort.

    Parameters
    ----------
    recs
        Item indices, shape ``(users, k)``; ``-1`` for an empty slot.
    judged_user, judged_item, judged_gain
        Held-out judgments as parallel arrays (user index, item index, gain); each
        (user, item) pair at most once. Gains are ``1`` for binary relevance, the grade for
        graded relevance, ``0`` for a judged non-relevant item.
    chunk
        Judgments compared per step (bounds memory to ``chunk x k`` items).

    Returns
    -------
    numpy.ndarray
        Shape ``(users, k)``.
    """
    gains = np.zeros(recs.shape, dtype=np.float64)
    # Narrow item indices halve the memory traffic of the gather below.
    small = recs.size == 0 or int(recs.max()) < np.iinfo(np.int32).max
    lists = recs.astype(np.int32) if small else recs
    ju = np.asarray(judged_user, dtype=np.int64)
    ji = np.asarray(judged_item, dtype=lists.dtype)
    jg = np.asarray(judged_gain, dtype=np.float64)
    for start in range(0, len(ju), chunk):
        u, i = ju[start : start + chunk], ji[start : start + chunk]
        row, slot = np.nonzero(lists[u] == i[:, None])
        gains[u[row], slot] = jg[start : start + chunk][row]
    return gains


def dcg(gains: Array) -> Array:
    """Discounted cumulative gain at k of each row.

    ``DCG@k = sum_{r=1..k} g_r / log2(1 + r)`` where ``g_r`` is the gain of the item at rank
    ``r`` (Järvelin & Kekäläinen 2002), with the linear gain of scikit-learn's ``dcg_score``.

    Parameters
    ----------
    gains
        Shape ``(users, k)``, column ``r - 1`` holding the gain at rank ``r``.
    """
    return np.asarray(gains, dtype=np.float64) @ _weights(gains.shape[1])


def ideal_dcg_binary(n_relevant: IntArray, k: int) -> Array:
    """IDCG@k with binary relevance: ``sum_{r=1..min(k, R)} 1 / log2(1 + r)``.

    ``R`` is the user's number of relevant held-out items: the best possible list puts
    ``min(k, R)`` relevant items at the top.
    """
    table = np.concatenate([[0.0], np.cumsum(_weights(k))])
    return table[np.minimum(np.asarray(n_relevant, dtype=np.int64), k)]


def ideal_dcg(judged_user: IntArray, judged_gain: Array, n_users: int, k: int) -> Array:
    """IDCG@k with graded relevance: the DCG of the user's judged gains sorted best first.

    Only the ``min(k, R)`` largest gains count. Computed for all users with one sort.

    Parameters
    ----------
    judged_user, judged_gain
        Held-out judgments (user index, gain).
    n_users, k
        Number of users (output length) and list length.
    """
    u = np.asarray(judged_user, dtype=np.int64)
    g = np.asarray(judged_gain, dtype=np.float64)
    order = np.lexsort((-g, u))
    u, g = u[order], g[order]
    start = np.searchsorted(u, u, side="left")
    position = np.arange(len(u)) - start  # 0-based position within the user's sorted gains
    keep = position < k
    return np.bincount(
        u[keep], weights=g[keep] * _weights(k)[position[keep]], minlength=n_users
    ).astype(np.float64)


def ndcg(gains: Array, idcg: Array) -> Array:
    """Normalised DCG at k: ``DCG@k / IDCG@k``, in [0, 1].

    Järvelin & Kekäläinen 2002. 1 means the list is as good as the best possible ordering of
    the user's held-out items; undefined (NaN) for a user with no relevant item.
    """
    with np.errstate(all="ignore"):
        return np.where(idcg > 0, dcg(gains) / np.where(idcg > 0, idcg, 1.0), np.nan)


def recall_at_k(n_hits: Array, n_relevant: Array) -> Array:
    """Recall at k: ``|relevant ∩ top-k| / |relevant|``.

    The share of the user's relevant held-out items that the top-k list contains
    (e.g. Cremonesi, Koren & Turrin 2010, "Performance of recommender algorithms on top-N
    recommendation tasks"). Undefined for a user with no relevant item.
    """
    with np.errstate(all="ignore"):
        return np.where(n_relevant > 0, n_hits / np.where(n_relevant > 0, n_relevant, 1), np.nan)


def precision_at_k(n_hits: Array, k: int) -> Array:
    """Precision at k: ``|relevant ∩ top-k| / k``.

    The share of the k slots filled with a relevant item; an empty slot counts as a miss, so a
    list shorter than k cannot score higher by being short.
    """
    return np.asarray(n_hits, dtype=np.float64) / k


def hit_rate(n_hits: Array) -> Array:
    """Hit rate at k: 1 if the top-k list contains at least one relevant item, else 0.

    Its mean over users is the "HR@k" of leave-one-out evaluation (with one held-out item per
    user it equals recall at k).
    """
    return (np.asarray(n_hits) > 0).astype(np.float64)


def user_metrics(gains: Array, idcg: Array, n_relevant: NDArray[Any], k: int) -> dict[str, Array]:
    """Every per-user quality metric, for all users at once.

    Parameters
    ----------
    gains
        Shape ``(users, k)`` from :func:`gains_at_k`.
    idcg
        Ideal DCG per user (:func:`ideal_dcg_binary` or :func:`ideal_dcg`).
    n_relevant
        Number of relevant (gain > 0) held-out items per user.
    k
        List length.

    Returns
    -------
    dict
        ``{name: values}`` in the order of :data:`RANKING_METRICS`.
    """
    n_hits = (gains > 0).sum(axis=1).astype(np.float64)
    return {
        "ndcg": ndcg(gains, idcg),
        "recall": recall_at_k(n_hits, np.asarray(n_relevant, dtype=np.float64)),
        "precision": precision_at_k(n_hits, k),
        "hit_rate": hit_rate(n_hits),
    }


@dataclass(frozen=True)
class RankingMetric:
    """A per-user quality metric; group values are means over the group's users.

    ``better`` is the direction that serves the user (``reference: best`` follows it).
    """

    name: str
    definition: str
    better: Literal["higher", "lower"] = "higher"


RANKING_METRICS: dict[str, RankingMetric] = {
    m.name: m
    for m in (
        RankingMetric(
            "ndcg",
            "NDCG@k = DCG@k / IDCG@k, DCG@k = sum_r g_r / log2(1 + r), IDCG over the best "
            "min(k, R) held-out gains; mean over users (Järvelin & Kekäläinen 2002).",
        ),
        RankingMetric("recall", "Recall@k = |relevant ∩ top-k| / |relevant|; mean over users."),
        RankingMetric(
            "precision",
            "Precision@k = |relevant ∩ top-k| / k (empty slots are misses); mean over users.",
        ),
        RankingMetric(
            "hit_rate", "HR@k = 1 if the top-k holds a relevant item, else 0; mean over users."
        ),
    )
}


# --------------------------------------------------------------------------- provider side


def item_exposure(recs: IntArray, n_items: int) -> Array:
    """Total exposure of each item over all lists: ``E_i = sum_u sum_r [recs_ur = i] w(r)``.

    ``w(r) = 1 / log2(1 + r)`` (:func:`position_weight`), the position-based exposure of
    Singh & Joachims 2018 ("Fairness of Exposure in Rankings", KDD), summed over users.

    Parameters
    ----------
    recs
        Shape ``(users, k)``, ``-1`` for an empty slot.
    n_items
        Length of the output.
    """
    w = np.broadcast_to(_weights(recs.shape[1]), recs.shape)
    filled = recs >= 0
    return np.bincount(recs[filled], weights=w[filled], minlength=n_items).astype(np.float64)


def exposure_share(exposure: Array, item_group: IntArray, n_groups: int) -> Array:
    """Share of all exposure that lands on each provider group: ``E_G / sum_i E_i``.

    Singh & Joachims 2018 compare this with the group's share of merit (relevance):
    "disparate treatment" when exposure is not proportional to relevance. Items with group
    index ``-1`` (not in the catalogue) are left out of numerator and denominator.
    """
    keep = item_group >= 0
    per_group = np.bincount(item_group[keep], weights=exposure[keep], minlength=n_groups)
    total = per_group.sum()
    return per_group / total if total > 0 else np.full(n_groups, np.nan)


def gini(values: Array) -> float:
    """Gini coefficient of non-negative values: 0 when all are equal, → 1 when one has all.

    ``G = sum_i (2i - n - 1) x_(i) / (n sum_i x_i)`` with ``x_(1) <= ... <= x_(n)`` sorted
    ascending. Applied to item exposure over the whole catalogue (zero-exposure items
    included) it measures how concentrated recommendations are (Fleder & Hosanagar 2009,
    "Blockbuster Culture's Next Rise or Fall", Management Science 55(5); Adomavicius & Kwon
    2012, "Improving aggregate recommendation diversity using ranking-based techniques").
    """
    x = np.sort(np.asarray(values, dtype=np.float64))
    n, total = len(x), x.sum()
    if n == 0 or total <= 0:
        return float("nan")
    i = np.arange(1, n + 1)
    return float(((2 * i - n - 1) * x).sum() / (n * total))


def catalogue_coverage(recs: IntArray, in_catalogue: NDArray[np.bool_]) -> float:
    """Catalogue coverage: the share of catalogue items recommended to at least one user.

    ``|∪_u L_u ∩ I| / |I|`` (Ge, Delgado-Battenfeld & Jannach 2010, "Beyond accuracy:
    evaluating recommender systems by coverage and serendipity", RecSys). Low coverage means
    most of the catalogue is never shown.

    Parameters
    ----------
    recs
        Shape ``(users, k)``, ``-1`` for an empty slot.
    in_catalogue
        Per item index, whether it belongs to the catalogue.
    """
    shown = np.zeros(len(in_catalogue), dtype=bool)
    shown[recs[recs >= 0]] = True
    n = int(in_catalogue.sum())
    return float((shown & in_catalogue).sum() / n) if n else float("nan")


def long_tail_items(popularity: Array, head_share: float = 0.2) -> NDArray[np.bool_]:
    """The long tail: every item outside the short head of the most popular items.

    The short head is the ``ceil(head_share * n)`` items with the most training interactions
    (ties by item index); the rest is the long tail ``Γ`` (Abdollahpouri, Burke & Mobasher
    2019, "Managing Popularity Bias in Recommender Systems with Personalized Re-ranking",
    FLAIRS-32: top 20% of items = short head).
    """
    pop = np.asarray(popularity, dtype=np.float64)
    n_head = int(np.ceil(head_share * len(pop)))
    order = np.lexsort((np.arange(len(pop)), -pop))
    tail = np.ones(len(pop), dtype=bool)
    tail[order[:n_head]] = False
    return tail


def average_recommendation_popularity(recs: IntArray, popularity: Array) -> Array:
    """Per-user recommendation popularity: ``sum_{i in L_u} φ(i) / |L_u|``.

    ``φ(i)`` is the number of training interactions of item ``i``. The mean over users is ARP,
    Average Recommendation Popularity (Abdollahpouri, Burke & Mobasher 2019); NaN for an
    empty list.
    """
    filled = recs >= 0
    pop = np.where(filled, np.asarray(popularity, dtype=np.float64)[np.maximum(recs, 0)], 0.0)
    n = filled.sum(axis=1)
    with np.errstate(all="ignore"):
        return np.where(n > 0, pop.sum(axis=1) / np.maximum(n, 1), np.nan)


def long_tail_share(recs: IntArray, tail: NDArray[np.bool_]) -> Array:
    """Per-user share of long-tail items in the list: ``|L_u ∩ Γ| / |L_u|``.

    The mean over users is APLT, Average Percentage of Long Tail items (Abdollahpouri, Burke &
    Mobasher 2019); NaN for an empty list.
    """
    filled = recs >= 0
    in_tail = filled & tail[np.maximum(recs, 0)]
    n = filled.sum(axis=1)
    with np.errstate(all="ignore"):
        return np.where(n > 0, in_tail.sum(axis=1) / np.maximum(n, 1), np.nan)


# --------------------------------------------------------------------------- bootstrap


def cell_sums(values: NDArray[Any], cell: IntArray, n_cells: int) -> Array:
    """Per-cell unit counts and value sums, shape ``(n_cells, 1 + m)`` (the point estimate
    matching :func:`resampled_unit_sums`)."""
    vals = np.asarray(values, dtype=np.float64).reshape(len(cell), -1)
    return np.column_stack(
        [np.bincount(cell, minlength=n_cells)]
        + [np.bincount(cell, weights=vals[:, j], minlength=n_cells) for j in range(vals.shape[1])]
    ).astype(np.float64)


class Resampled(NamedTuple):
    """Bootstrap resamples of per-cell sums and how they were drawn."""

    sums: Array
    """Shape ``(resamples, cells, 1 + m)``: units drawn per cell, then the sums of each value."""
    method: str
    """``exact`` (multinomial over distinct rows) or ``buckets`` (random-group bootstrap)."""


def _mix(x: NDArray[np.uint64]) -> NDArray[np.uint64]:
    """The splitmix64 finaliser: every input bit affects every output bit."""
    with np.errstate(over="ignore"):
        x = (x ^ (x >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
        x = (x ^ (x >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
        return x ^ (x >> np.uint64(31))


def _distinct_rows(table: Array) -> tuple[Array, IntArray]:
    """Distinct rows of a float table and their multiplicities (hash first, then verify)."""
    bits = np.ascontiguousarray(table).view(np.uint64)
    h = np.zeros(len(table), dtype=np.uint64)
    for j in range(bits.shape[1]):
        h = _mix(h ^ _mix(bits[:, j] + np.uint64(j + 1)))
    order = np.argsort(h, kind="stable")
    hs, rows = h[order], table[order]
    new = np.concatenate([[True], hs[1:] != hs[:-1]])
    if not (rows[1:][~new[1:]] == rows[:-1][~new[1:]]).all():  # a hash collision
        atoms, counts = np.unique(table, axis=0, return_counts=True)
        return atoms, counts.astype(np.int64)
    starts = np.flatnonzero(new)
    return rows[starts], np.diff(np.append(starts, len(rows))).astype(np.int64)


def resampled_unit_sums(
    values: NDArray[Any],
    cell: IntArray,
    n_cells: int,
    settings: BootstrapSettings,
    rng: np.random.Generator,
    max_atoms: int = 50_000,
    max_block: int = 1 << 24,
) -> Resampled | None:
    """Bootstrap resamples of per-cell unit counts and sums of per-unit values.

    Resampling ``N`` units (users) with replacement only changes how many copies of each
    distinct ``(cell, values)`` row are drawn; those copy counts are multinomial with the
    observed shares as probabilities. Drawing them over the distinct rows ("atoms") gives
    exactly the distribution of resampling the units, at a cost that grows with the number of
    atoms, not of units — the idea of :func:`audit.metrics._bootstrap.multinomial_resamples`
    applied to per-unit metric values (Efron & Tibshirani 1993, ch. 6).

    When there are more than ``max_atoms`` distinct rows (continuous values over very many
    users), units are shuffled into ``max_atoms`` random buckets within their cell and the
    buckets are resampled instead (the random-group bootstrap used for massive data, e.g.
    Chamandy et al. 2012, "Estimating uncertainty for massive data streams"): a resampled sum
    of random buckets has the variance of a resampled sum of units, and intervals differ from
    the exact bootstrap by far less than the Monte Carlo error of 1,000 resamples.

    Parameters
    ----------
    values
        Shape ``(N, m)``, the per-unit values to sum (no NaN).
    cell
        Shape ``(N,)``, each unit's cell (finest group) index.
    n_cells
        Number of cells.
    settings
        Number of resamples.
    rng
        Random generator.
    max_atoms
        Largest number of rows drawn over; above it, buckets.
    max_block
        Upper bound on resamples x atoms held in memory at once.

    Returns
    -------
    Resampled or None
        ``None`` when ``settings.resamples`` is 0.
    """
    from scipy import sparse

    if settings.resamples == 0:
        return None
    vals = np.asarray(values, dtype=np.float64).reshape(len(cell), -1)
    cell = np.asarray(cell, dtype=np.int64)
    m = vals.shape[1]
    if len(cell) == 0:
        return Resampled(np.zeros((settings.resamples, n_cells, 1 + m)), "exact")
    atoms, counts = _distinct_rows(np.column_stack([cell.astype(np.float64), vals]))
    atom_cell = atoms[:, 0].astype(np.int64)
    weights = np.column_stack([np.ones(len(atoms)), atoms[:, 1:]])
    method = "exact"
    if len(atoms) > max_atoms:
        method = "buckets"
        size = np.bincount(cell, minlength=n_cells)
        per_cell = np.maximum(1, np.round(max_atoms * size / len(cell))).astype(np.int64)
        offset = np.concatenate([[0], np.cumsum(per_cell)[:-1]])
        # A random position within the cell, then round-robin over the cell's buckets.
        order = np.lexsort((rng.random(len(cell)), cell))
        rank = np.empty(len(cell), dtype=np.int64)
        rank[order] = np.arange(len(cell)) - np.searchsorted(cell[order], cell[order])
        bucket = offset[cell] + rank % per_cell[cell]
        n_b = int(per_cell.sum())
        weights = np.column_stack(
            [np.bincount(bucket, minlength=n_b)]
            + [np.bincount(bucket, weights=vals[:, j], minlength=n_b) for j in range(m)]
        ).astype(np.float64)
        atom_cell = np.repeat(np.arange(n_cells), per_cell)
        counts = np.ones(n_b, dtype=np.int64)
    n_atoms = len(counts)
    cols = (atom_cell[:, None] * (1 + m) + np.arange(1 + m)[None, :]).ravel()
    rows = np.repeat(np.arange(n_atoms), 1 + m)
    design_t = sparse.csr_matrix(
        (weights.ravel(), (rows, cols)), shape=(n_atoms, n_cells * (1 + m))
    ).T.tocsr()
    out = np.empty((settings.resamples, n_cells * (1 + m)))
    step = max(1, max_block // n_atoms)
    for start in range(0, settings.resamples, step):
        size_ = min(step, settings.resamples - start)
        draws = multinomial_resamples(counts, BootstrapSettings(size_), rng).astype(np.float64)
        out[start : start + size_] = (design_t @ draws.T).T
    return Resampled(out.reshape(settings.resamples, n_cells, 1 + m), method)
