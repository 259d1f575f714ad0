"""Recommendation audit: quality per user group, exposure per provider group, popularity bias.

Two ways in:

* **Ranked lists** the platform already produced (``user, item, rank``) with held-out relevance
  judgments (``user, item[, rating]``): :func:`evaluation_from_lists`.
* **A model** meeting :class:`TopKRecommender` and a full interaction log: the audit splits the
  log per user by time (the last ``n`` interactions held out), fits the model on the rest and
  asks it for top-k lists: :func:`evaluation_from_model`.

Either gives an :class:`Evaluation`; :func:`recommendation_audit` turns it into a result
document:

* **User side** — NDCG@k, recall@k, precision@k and hit rate per user group and intersection
  (means over the group's users), percentile-bootstrap intervals resampling users,
  differences and ratios against a reference group, min-group-size suppression.
* **Provider side** — for each provider (creator) group of items: its share of exposure
  (position weight ``1 / log2(1 + rank)``), of the catalogue and of held-out relevance, and the
  exposure-to-relevance ratio (Singh & Joachims 2018). Gini of item exposure, catalogue
  coverage, ARP and long-tail share (Abdollahpouri et al. 2019) go in ``summary``.

Every metric is defined once, in :mod:`audit.metrics._ranking`.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Hashable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

import numpy as np
import pandas as pd
from numpy.typing import NDArray

from audit.data import file_sha256, read_table
from audit.exceptions import AuditError, ConfigError, DataError, ModelError
from audit.metrics._bootstrap import BootstrapSettings, estimate
from audit.metrics._disparity import min_over_max, spread
from audit.metrics._group_report import (
    AttributeGroups,
    Compared,
    CrossGroup,
    EvidenceRule,
    GroupRecords,
    GroupTable,
    Reference,
    ReportRules,
    Verdict,
    assess,
    slice_records,
)
from audit.metrics._groups import MISSING, Partition
from audit.metrics._ranking import (
    RANKING_METRICS,
    average_recommendation_popularity,
    catalogue_coverage,
    cell_sums,
    gains_at_k,
    gini,
    ideal_dcg,
    ideal_dcg_binary,
    item_exposure,
    long_tail_items,
    long_tail_share,
    position_weight,
    resampled_unit_sums,
    user_metrics,
)
from audit.results import SCHEMA_VERSION, provenance

__all__ = [
    "Columns",
    "Evaluation",
    "RecommendationOptions",
    "Relevance",
    "TopKRecommender",
    "evaluation_from_lists",
    "evaluation_from_model",
    "leave_last_out",
    "load_recommender",
    "recommendation_audit",
]

Progress = Callable[[int, int], None]

#: Name of the provider attribute derived from training popularity (short head / long tail).
POPULARITY_TIER = "popularity_tier"


# --------------------------------------------------------------------------- the model contract


@runtime_checkable
class TopKRecommender(Protocol):
    """A recommender the audit can train on the training split and ask for top-k lists.

    Any object with these members is a recommender: the samples in :mod:`audit.recommenders`,
    or a wrapper around the platform's own model.

    Attributes
    ----------
    identity
        What the model is, recorded in the result's provenance, e.g.
        ``{"kind": "builtin", "name": "itemknn"}``.
    """

    @property
    def identity(self) -> dict[str, str]: ...

    def fit(self, interactions: pd.DataFrame) -> object:
        """Train on the training split.

        Parameters
        ----------
        interactions
            One row per interaction, columns ``user_id``, ``item_id``, ``timestamp`` and
            ``rating`` (when the log has ratings), ids as they appear in the files.
        """
        ...

    def recommend(self, users: Sequence[Hashable], k: int) -> Sequence[Sequence[Hashable]]:
        """Top-``k`` item ids for each user, best first, at most ``k`` and no repeats.

        Returns one list per user, in the order of ``users`` (an empty list is allowed).
        Ids are matched to the files' ids as text, so ``7`` and ``"7"`` are the same item.
        """
        ...


def load_recommender(spec: str, seed: int = 0) -> TopKRecommender:
    """The recommender named by ``--model``.

    Parameters
    ----------
    spec
        ``popularity``, ``itemknn`` or ``puresvd`` for the samples in
        :mod:`audit.recommenders`, or ``package.module:name`` where ``name`` is a recommender
        object, or a class / zero-argument function returning one.
    seed
        Seed given to the samples that use randomness.
    """
    from audit.recommenders import BUILTIN_RECOMMENDERS, PureSVDRecommender

    if spec in BUILTIN_RECOMMENDERS:
        cls = BUILTIN_RECOMMENDERS[spec]
        return PureSVDRecommender(seed=seed) if cls is PureSVDRecommender else cls()
    module, sep, name = spec.partition(":")
    if not sep or not module or not name:
        raise ConfigError(
            f"--model {spec!r}: use {', '.join(BUILTIN_RECOMMENDERS)} or package.module:name"
        )
    try:
        obj = getattr(importlib.import_module(module), name)
    except (ImportError, AttributeError) as exc:
        raise ModelError(f"--model {spec!r} cannot be loaded: {exc}") from None
    if not isinstance(obj, TopKRecommender) and callable(obj):
        try:
            obj = obj()
        except Exception as exc:
            raise ModelError(f"--model {spec!r}: calling {name}() failed: {exc}") from None
    if not isinstance(obj, TopKRecommender):
        raise ModelError(
            f"--model {spec!r} is not a recommender: it needs an identity property and "
            "fit(interactions) and recommend(users, k) methods (see "
            "audit.recommendation.TopKRecommender)"
        )
    return obj


# --------------------------------------------------------------------------- options


@dataclass(frozen=True)
class Columns:
    """Column names in the input files (the CLI's ``--user-col`` etc.)."""

    user: str = "user_id"
    item: str = "item_id"
    rank: str = "rank"
    rating: str = "rating"
    time: str = "timestamp"


@dataclass(frozen=True)
class Relevance:
    """Which held-out judgments count as relevant, and how much.

    Attributes
    ----------
    threshold
        A judgment is relevant when its rating is at least this; ``None``: every held-out
        judgment is relevant (the rating column is then not needed).
    graded
        Gain = the rating (linear gain, as scikit-learn's ``ndcg_score``) instead of 1.
    """

    threshold: float | None = None
    graded: bool = False

    def describe(self) -> dict[str, Any]:
        return {
            "kind": "graded" if self.graded else "binary",
            "threshold": self.threshold,
            "gain": "rating" if self.graded else "1 per relevant item",
            "relevant": "every held-out item"
            if self.threshold is None
            else f"held-out items with rating >= {self.threshold:g}",
        }

    @property
    def needs_rating(self) -> bool:
        return self.graded or self.threshold is not None


@dataclass(frozen=True)
class RecommendationOptions:
    """Settings of a recommendation audit.

    Attributes
    ----------
    k
        List length evaluated (ranks above ``k`` are ignored).
    reference
        Reference user group for disparities: ``largest`` (most users), ``best`` (best value of
        each metric) or ``{attribute: group}``; always a group with sufficient evidence (naming
        another is refused).
    min_users
        A user group needs this many evaluated users for a verdict (else
        ``insufficient_evidence``); it cannot be the reference and is left out of summaries.
    min_positives
        ... and this many relevant held-out judgments. For a provider group: this many relevant
        judgments on its items.
    min_group_size
        Groups with fewer users (provider groups: fewer catalogue items) are suppressed.
    band
        Fairness band for ratios (Aequitas' tau rule).
    long_tail_head_share
        Share of the catalogue (most popular first) forming the short head.
    bootstrap
        Intervals.
    """

    k: int = 10
    reference: Reference = "largest"
    min_users: int = 30
    min_positives: int = 30
    min_group_size: int = 10
    band: tuple[float, float] = (0.8, 1.25)
    long_tail_head_share: float = 0.2
    bootstrap: BootstrapSettings = field(default_factory=BootstrapSettings)

    def __post_init__(self) -> None:
        if self.k < 1:
            raise ConfigError(f"--k must be at least 1, got {self.k}")
        if not 0.0 < self.long_tail_head_share < 1.0:
            raise ConfigError("the short-head share must lie in (0, 1)")
        if isinstance(self.reference, str) and self.reference not in ("largest", "best"):
            raise ConfigError("--reference must be largest, best or ATTR=VALUE")


# --------------------------------------------------------------------------- reading inputs


def _first_row(mask: NDArray[np.bool_] | pd.Series) -> int:
    return int(np.flatnonzero(np.asarray(mask))[0]) + 1


def _require(df: pd.DataFrame, column: str, file: str, flag: str) -> None:
    if column not in df.columns:
        cols = ", ".join(map(str, df.columns[:20]))
        raise DataError(
            f"no column {column!r} (named by {flag}); the file has: {cols}",
            file=file,
            column=column,
        )


def _ids(s: pd.Series, file: str, column: str) -> pd.Series:
    """Ids as text, so that 7, 7.0 and "7" match across files."""
    if s.isna().any():
        raise DataError("missing id", file=file, column=column, row=_first_row(s.isna()))
    if s.dtype.kind == "f" and bool((s == np.round(s)).all()):
        s = s.astype(np.int64)
    return s.astype(str).str.strip()


def _numbers(s: pd.Series, file: str, column: str, what: str) -> NDArray[np.float64]:
    num = pd.to_numeric(s, errors="coerce")
    bad = num.isna() | ~np.isfinite(num.to_numpy(np.float64, na_value=np.nan))
    if bad.any():
        row = _first_row(bad)
        raise DataError(
            f"{what} must be a number, found {s.iloc[row - 1]!r}",
            file=file,
            column=column,
            row=row,
        )
    return num.to_numpy(np.float64)


def _duplicates(keys: pd.DataFrame, file: str, column: str, what: str) -> None:
    dup = keys.duplicated()
    if dup.any():
        row = _first_row(dup)
        first = keys.iloc[row - 1].tolist()
        raise DataError(
            f"{int(dup.sum())} duplicate {what}; the first is {first} (each must appear once)",
            file=file,
            column=column,
            row=row,
        )


def _input(role: str, path: str | Path) -> dict[str, str]:
    return {"role": role, "path": str(path), "sha256": file_sha256(path)}


def _read_people(
    path: str | Path, id_col: str, columns: Sequence[str], flag: str, role: str
) -> pd.DataFrame:
    """A users or items file: unique ids (index, as text) and the named attribute columns."""
    name = str(path)
    df = read_table(path)
    _require(df, id_col, name, "--user-col" if role == "users" else "--item-col")
    for col in columns:
        _require(df, col, name, flag)
    ids = _ids(df[id_col], name, id_col)
    _duplicates(ids.to_frame(), name, id_col, f"{role[:-1]} id")
    out = df[list(columns)].copy()
    out.index = pd.Index(ids, name="id")
    return out


def _relevance_gain(
    df: pd.DataFrame, name: str, columns: Columns, relevance: Relevance
) -> NDArray[np.float64]:
    if not relevance.needs_rating:
        return np.ones(len(df))
    _require(df, columns.rating, name, "--rating-col")
    rating = _numbers(df[columns.rating], name, columns.rating, "rating")
    if relevance.graded and (rating < 0).any():
        row = _first_row(rating < 0)
        raise DataError(
            f"graded relevance needs ratings >= 0, found {rating[row - 1]:g}",
            file=name,
            column=columns.rating,
            row=row,
        )
    relevant = rating >= (relevance.threshold if relevance.threshold is not None else 0.0)
    if relevance.graded:
        relevant &= rating > 0
    return np.where(relevant, rating if relevance.graded else 1.0, 0.0)


def _read_lists(path: str | Path, columns: Columns, k: int) -> pd.DataFrame:
    name = str(path)
    df = read_table(path)
    for col, flag in ((columns.user, "--user-col"), (columns.item, "--item-col")):
        _require(df, col, name, flag)
    _require(df, columns.rank, name, "--rank-col")
    rank = _numbers(df[columns.rank], name, columns.rank, "rank")
    bad = (rank < 1) | (rank != np.round(rank))
    if bad.any():
        row = _first_row(bad)
        raise DataError(
            f"rank must be a whole number >= 1 (1 = top), found {rank[row - 1]:g}",
            file=name,
            column=columns.rank,
            row=row,
        )
    out = pd.DataFrame(
        {
            "user": _ids(df[columns.user], name, columns.user),
            "item": _ids(df[columns.item], name, columns.item),
            "rank": rank.astype(np.int64),
        }
    )
    _duplicates(out[["user", "rank"]], name, columns.rank, "(user, rank) pairs")
    _duplicates(out[["user", "item"]], name, columns.item, "(user, item) pairs")
    return out[out["rank"] <= k].reset_index(drop=True)


def _read_judgments(path: str | Path, columns: Columns, relevance: Relevance) -> pd.DataFrame:
    name = str(path)
    df = read_table(path)
    for col, flag in ((columns.user, "--user-col"), (columns.item, "--item-col")):
        _require(df, col, name, flag)
    out = pd.DataFrame(
        {
            "user": _ids(df[columns.user], name, columns.user),
            "item": _ids(df[columns.item], name, columns.item),
            "gain": _relevance_gain(df, name, columns, relevance),
        }
    )
    _duplicates(out[["user", "item"]], name, columns.item, "(user, item) judgments")
    return out


def _read_interactions(
    path: str | Path, columns: Columns, relevance: Relevance
) -> tuple[pd.DataFrame, int]:
    """The interaction log: (canonical frame, number of repeated (user, item) rows dropped)."""
    name = str(path)
    df = read_table(path)
    for col, flag in (
        (columns.user, "--user-col"),
        (columns.item, "--item-col"),
        (columns.time, "--time-col"),
    ):
        _require(df, col, name, flag)
    t = df[columns.time]
    if t.dtype.kind in "biuf":
        time = _numbers(t, name, columns.time, "timestamp")
    else:
        parsed = pd.to_datetime(t, errors="coerce", utc=True)
        if parsed.isna().any():
            row = _first_row(parsed.isna())
            raise DataError(
                f"timestamp must be a number or a date-time, found {t.iloc[row - 1]!r}",
                file=name,
                column=columns.time,
                row=row,
            )
        time = parsed.astype("int64").to_numpy(np.float64)
    out = pd.DataFrame(
        {
            "user": _ids(df[columns.user], name, columns.user),
            "item": _ids(df[columns.item], name, columns.item),
            "time": time,
            "gain": _relevance_gain(df, name, columns, relevance),
            "raw_user": df[columns.user].to_numpy(),
            "raw_item": df[columns.item].to_numpy(),
        }
    )
    if columns.rating in df.columns:
        out["rating"] = pd.to_numeric(df[columns.rating], errors="coerce").to_numpy()
    # A repeated (user, item) interaction (a re-watch) keeps its latest occurrence.
    out = out.sort_values(["user", "time"], kind="stable")
    repeated = out.duplicated(["user", "item"], keep="last")
    return out[~repeated].reset_index(drop=True), int(repeated.sum())


def leave_last_out(log: pd.DataFrame, n: int) -> tuple[pd.DataFrame, pd.DataFrame, int]:
    """Per-user temporal split: each user's last ``n`` interactions are held out.

    Parameters
    ----------
    log
        Columns ``user``, ``item``, ``time`` (sorted or not).
    n
        Interactions held out per user. Users with ``n`` or fewer interactions stay entirely in
        training (they would have nothing to learn from) and are not evaluated.

    Returns
    -------
    train, heldout, users_too_short
        Ties in time are broken by the row order of the file.
    """
    if n < 1:
        raise ConfigError(f"--holdout must be at least 1, got {n}")
    ordered = log.sort_values(["user", "time"], kind="stable")
    from_end = ordered.groupby("user", sort=False).cumcount(ascending=False)
    size = ordered.groupby("user", sort=False)["item"].transform("size")
    held = (from_end < n) & (size > n)
    short = int(ordered.loc[size <= n, "user"].nunique())
    return ordered[~held].reset_index(drop=True), ordered[held].reset_index(drop=True), short


# --------------------------------------------------------------------------- the evaluation set


@dataclass
class Evaluation:
    """Ranked lists, held-out judgments and attributes, indexed and validated.

    Users are the rows of the users file; items are the catalogue (the items file, or every
    item seen when there is none) followed by any other item a list or judgment mentions.

    Attributes
    ----------
    user_ids
        User ids (text), position = user index.
    user_attributes
        The user-group columns, one row per user.
    item_ids
        Item ids (text), position = item index.
    in_catalogue
        Whether each item index belongs to the catalogue.
    item_attributes
        The provider-group columns, one row per item index (missing outside the catalogue).
    recs
        Shape ``(users, k)``: item index at rank ``r`` in column ``r - 1``, ``-1`` when empty.
    has_list
        Whether each user received a list.
    judged_user, judged_item, judged_gain
        Held-out judgments of known users (gain 0 = judged not relevant).
    popularity
        Interactions per item index (ARP, long tail), from :attr:`popularity_source`.
    """

    user_ids: pd.Index
    user_attributes: pd.DataFrame
    item_ids: pd.Index
    in_catalogue: NDArray[np.bool_]
    item_attributes: pd.DataFrame
    recs: NDArray[np.int64]
    has_list: NDArray[np.bool_]
    judged_user: NDArray[np.int64]
    judged_item: NDArray[np.int64]
    judged_gain: NDArray[np.float64]
    popularity: NDArray[np.float64]
    popularity_source: str
    relevance: Relevance
    mode: dict[str, Any]
    model: dict[str, str]
    inputs: list[dict[str, str]]
    data_quality: dict[str, int] = field(default_factory=dict)
    messages: list[str] = field(default_factory=list)

    @property
    def k(self) -> int:
        return int(self.recs.shape[1])


def _build(
    lists: pd.DataFrame,
    judgments: pd.DataFrame,
    users: pd.DataFrame,
    items: pd.DataFrame | None,
    k: int,
    popularity: pd.Series | None,
    popularity_source: str,
    quality: dict[str, int],
    messages: list[str],
    **meta: Any,
) -> Evaluation:
    """Index canonical frames (``user, item, rank`` / ``user, item, gain``) into an Evaluation."""
    user_index = users.index
    # Unknown users are counted and dropped: their groups are unknown.
    for frame, what, key in (
        (lists, "recommendation", "recommendation_rows_unknown_user"),
        (judgments, "held-out judgment", "judgment_rows_unknown_user"),
    ):
        unknown = ~frame["user"].isin(user_index)
        quality[key] = int(unknown.sum())
        if unknown.any():
            messages.append(
                f"{int(unknown.sum())} {what} rows name {frame.loc[unknown, 'user'].nunique()} "
                f"users absent from the users file (e.g. {frame.loc[unknown, 'user'].iloc[0]!r});"
                " they were left out"
            )
    lists = lists[lists["user"].isin(user_index)]
    judgments = judgments[judgments["user"].isin(user_index)]

    catalogue = (
        items.index
        if items is not None
        else pd.Index(sorted(set(lists["item"]) | set(judgments["item"])))
    )
    extra = pd.Index(sorted((set(lists["item"]) | set(judgments["item"])) - set(catalogue)))
    item_index = catalogue.append(extra)
    unknown_items = lists["item"].isin(extra)
    quality["recommendation_rows_unknown_item"] = int(unknown_items.sum())
    if unknown_items.any():
        messages.append(
            f"{int(unknown_items.sum())} recommendation rows name "
            f"{lists.loc[unknown_items, 'item'].nunique()} items absent from the items file "
            f"(e.g. {lists.loc[unknown_items, 'item'].iloc[0]!r}); they count for the users "
            "but not for any provider group"
        )
    in_catalogue = np.zeros(len(item_index), dtype=bool)
    in_catalogue[: len(catalogue)] = True

    u = user_index.get_indexer(lists["user"])
    i = item_index.get_indexer(lists["item"])
    recs = np.full((len(user_index), k), -1, dtype=np.int64)
    recs[u, lists["rank"].to_numpy(np.int64) - 1] = i
    has_list = np.zeros(len(user_index), dtype=bool)
    has_list[u] = True

    ju = user_index.get_indexer(judgments["user"]).astype(np.int64)
    ji = item_index.get_indexer(judgments["item"]).astype(np.int64)
    gain = judgments["gain"].to_numpy(np.float64)

    relevant_users = np.zeros(len(user_index), dtype=bool)
    relevant_users[ju[gain > 0]] = True
    judged_users = np.zeros(len(user_index), dtype=bool)
    judged_users[ju] = True
    quality["users"] = len(user_index)
    quality["users_with_list"] = int(has_list.sum())
    quality["users_evaluated"] = int(relevant_users.sum())
    quality["users_with_list_but_no_heldout"] = int((has_list & ~judged_users).sum())
    quality["users_with_only_nonrelevant_heldout"] = int((judged_users & ~relevant_users).sum())
    quality["users_evaluated_without_list"] = int((relevant_users & ~has_list).sum())
    if quality["users_with_list_but_no_heldout"]:
        messages.append(
            f"{quality['users_with_list_but_no_heldout']} users have a list but no held-out "
            "items: their lists count for exposure, not for quality metrics"
        )
    if quality["users_with_only_nonrelevant_heldout"]:
        messages.append(
            f"{quality['users_with_only_nonrelevant_heldout']} users have held-out items but "
            "none relevant: they are not evaluated"
        )
    if quality["users_evaluated_without_list"]:
        messages.append(
            f"{quality['users_evaluated_without_list']} evaluated users received no list: they "
            "score 0 on every quality metric"
        )
    if not relevant_users.any():
        raise DataError(
            "no user has a relevant held-out item: nothing to evaluate (check the user ids "
            "match the users file and the relevance threshold)"
        )

    pop = np.zeros(len(item_index))
    if popularity is not None:
        known = item_index.get_indexer(popularity.index)
        ok = known >= 0
        pop[known[ok]] = popularity.to_numpy(np.float64)[ok]

    item_attrs = items.reindex(item_index) if items is not None else pd.DataFrame(index=item_index)
    return Evaluation(
        user_ids=user_index,
        user_attributes=users.reset_index(drop=True),
        item_ids=item_index,
        in_catalogue=in_catalogue,
        item_attributes=item_attrs.reset_index(drop=True),
        recs=recs,
        has_list=has_list,
        judged_user=ju,
        judged_item=ji,
        judged_gain=gain,
        popularity=pop,
        popularity_source=popularity_source,
        data_quality=quality,
        messages=messages,
        **meta,
    )


def evaluation_from_lists(
    recommendations: str | Path,
    truth: str | Path,
    users: str | Path,
    *,
    user_groups: Sequence[str],
    items: str | Path | None = None,
    creator_groups: Sequence[str] = (),
    columns: Columns | None = None,
    relevance: Relevance | None = None,
    k: int = 10,
    popularity_column: str | None = None,
) -> Evaluation:
    """Read the platform's ranked lists and held-out judgments.

    Parameters
    ----------
    recommendations
        ``user, item, rank`` rows (rank 1 = top); ranks above ``k`` are ignored.
    truth
        Held-out judgments ``user, item[, rating]``.
    users
        User ids and the ``user_groups`` columns.
    user_groups
        User attribute columns to audit (demographics).
    items
        Item ids and the ``creator_groups`` columns (and ``popularity_column``).
    creator_groups
        Provider attribute columns of items.
    columns
        Column names.
    relevance
        Which judgments are relevant.
    k
        List length.
    popularity_column
        Items column holding each item's interaction count; without it popularity is counted
        from the judgments file (a rough proxy: say so when reporting ARP).
    """
    columns = columns or Columns()
    relevance = relevance or Relevance()
    if not user_groups:
        raise ConfigError("name at least one user attribute with --user-groups")
    if creator_groups and items is None:
        raise ConfigError("--creator-group needs --items (the file with the item attributes)")
    if popularity_column and items is None:
        raise ConfigError("--popularity-col needs --items")
    u = _read_people(users, columns.user, user_groups, "--user-groups", "users")
    it = None
    inputs = [
        _input("recommendations", recommendations),
        _input("truth", truth),
        _input("users", users),
    ]
    pop_cols = [popularity_column] if popularity_column else []
    if items is not None:
        it = _read_people(
            items, columns.item, [*creator_groups, *pop_cols], "--creator-group", "items"
        )
        inputs.append(_input("items", items))
    lists = _read_lists(recommendations, columns, k)
    judgments = _read_judgments(truth, columns, relevance)
    if popularity_column and it is not None:
        popularity = pd.Series(
            _numbers(it[popularity_column], str(items), popularity_column, "popularity"),
            index=it.index,
        )
        source = f"items column {popularity_column!r}"
        it = it.drop(columns=[popularity_column])
    else:
        popularity = judgments.groupby("item").size().astype(np.float64)
        source = "number of held-out judgments per item (no training log given)"
    return _build(
        lists,
        judgments,
        u,
        it,
        k,
        popularity,
        source,
        {},
        [],
        relevance=relevance,
        mode={"kind": "ranked_lists"},
        model={"kind": "ranked_lists", "path": str(recommendations)},
        inputs=inputs,
    )


def evaluation_from_model(
    model: TopKRecommender,
    interactions: str | Path,
    users: str | Path,
    *,
    user_groups: Sequence[str],
    items: str | Path | None = None,
    creator_groups: Sequence[str] = (),
    columns: Columns | None = None,
    relevance: Relevance | None = None,
    k: int = 10,
    holdout: int = 1,
    batch_size: int = 1024,
    progress: Progress | None = None,
) -> Evaluation:
    """Split an interaction log by time, train ``model`` on the past, audit its top-k lists.

    Each user's last ``holdout`` interactions are held out (:func:`leave_last_out`); the model
    is fitted on the rest and asked for ``k`` items for every user in the training split.
    Popularity (ARP, long tail) is the number of training interactions per item.

    Parameters
    ----------
    model
        The recommender.
    interactions
        ``user, item, timestamp[, rating]`` rows.
    users, user_groups, items, creator_groups, columns, relevance, k
        As in :func:`evaluation_from_lists`.
    holdout
        Interactions held out per user.
    batch_size
        Users per ``recommend`` call.
    progress
        Called with ``(users_done, users_total)``.
    """
    columns = columns or Columns()
    relevance = relevance or Relevance()
    if not user_groups:
        raise ConfigError("name at least one user attribute with --user-groups")
    if creator_groups and items is None:
        raise ConfigError("--creator-group needs --items (the file with the item attributes)")
    u = _read_people(users, columns.user, user_groups, "--user-groups", "users")
    inputs = [_input("interactions", interactions), _input("users", users)]
    it = None
    if items is not None:
        it = _read_people(items, columns.item, list(creator_groups), "--creator-group", "items")
        inputs.append(_input("items", items))
    log, repeated = _read_interactions(interactions, columns, relevance)
    quality = {"interaction_rows_repeated_dropped": repeated}
    messages = []
    if repeated:
        messages.append(
            f"{repeated} repeated (user, item) interactions: only the latest of each was kept"
        )
    unknown = ~log["user"].isin(u.index)
    quality["interaction_rows_unknown_user"] = int(unknown.sum())
    if unknown.any():
        messages.append(
            f"{int(unknown.sum())} interactions of {log.loc[unknown, 'user'].nunique()} users "
            "absent from the users file were left out"
        )
    log = log[~unknown]
    if it is not None:
        outside = ~log["item"].isin(it.index)
        quality["interaction_rows_unknown_item"] = int(outside.sum())
        if outside.any():
            messages.append(
                f"{int(outside.sum())} interactions with items absent from the items file "
                "were left out"
            )
        log = log[~outside]
    train, held, short = leave_last_out(log, holdout)
    quality["users_too_few_interactions"] = short
    if short:
        messages.append(
            f"{short} users have {holdout} or fewer interactions: nothing held out, not evaluated"
        )

    fit_frame = pd.DataFrame(
        {
            "user_id": train["raw_user"].to_numpy(),
            "item_id": train["raw_item"].to_numpy(),
            "timestamp": train["time"].to_numpy(),
        }
    )
    if "rating" in train.columns:
        fit_frame["rating"] = train["rating"].to_numpy()
    who = model.identity.get("name", model.identity.get("kind", "model"))
    try:
        model.fit(fit_frame)
    except AuditError:
        raise
    except Exception as exc:
        raise ModelError(f"model {who}: fit() failed: {type(exc).__name__}: {exc}") from None

    first = train.drop_duplicates("user")
    lists = _recommend_all(
        model, who, first["raw_user"].tolist(), first["user"].tolist(), k, batch_size, progress
    )
    popularity = train.groupby("item").size().astype(np.float64)
    judgments = held[["user", "item", "gain"]]
    return _build(
        lists,
        judgments,
        u,
        it,
        k,
        popularity,
        "number of training interactions per item",
        quality,
        messages,
        relevance=relevance,
        mode={
            "kind": "leave_last_n_out",
            "holdout": holdout,
            "split": "per user by timestamp; ties by file order",
            "train_interactions": len(train),
            "heldout_interactions": len(held),
        },
        model=dict(model.identity),
        inputs=inputs,
    )


def _recommend_all(
    model: TopKRecommender,
    who: str,
    raw_users: list[Hashable],
    users: list[str],
    k: int,
    batch_size: int,
    progress: Progress | None,
) -> pd.DataFrame:
    out_user: list[str] = []
    out_item: list[str] = []
    out_rank: list[int] = []
    for start in range(0, len(users), batch_size):
        batch = raw_users[start : start + batch_size]
        try:
            got = model.recommend(batch, k)
        except Exception as exc:
            raise ModelError(
                f"model {who}: recommend() failed: {type(exc).__name__}: {exc}"
            ) from None
        if len(got) != len(batch):
            raise ModelError(
                f"model {who}: recommend() returned {len(got)} lists for {len(batch)} users; "
                "return one list per user, in order"
            )
        for j, items in enumerate(got):
            ids = [str(x) for x in list(items)[:k]]
            if len(set(ids)) != len(ids):
                raise ModelError(
                    f"model {who}: the list for user {batch[j]!r} repeats an item; "
                    "each list must hold distinct items"
                )
            out_user += [users[start + j]] * len(ids)
            out_item += ids
            out_rank += list(range(1, len(ids) + 1))
        if progress is not None:
            progress(min(start + batch_size, len(users)), len(users))
    return pd.DataFrame({"user": out_user, "item": out_item, "rank": out_rank})


# --------------------------------------------------------------------------- the audit


def _slices(columns: Sequence[str]) -> list[tuple[str, ...]]:
    out: list[tuple[str, ...]] = [(c,) for c in columns]
    if len(columns) > 1:
        out.append(tuple(columns))
    return out


def _ratio(a: Any, b: Any) -> Any:
    with np.errstate(all="ignore"):
        return np.where(b > 0, a / np.where(b > 0, b, 1.0), np.nan)


#: What the user side reports per user group: every ranking metric, compared with the
#: reference group and summarised as its spread (difference) and min/max ratio.
USER_TABLE = GroupTable(
    published=tuple(RANKING_METRICS),
    compared=tuple(Compared(name, m.better) for name, m in RANKING_METRICS.items()),
    summaries=tuple(
        CrossGroup(f"{name}_{suffix}", (name,), fn)
        for name in RANKING_METRICS
        for suffix, fn in (("difference", spread), ("ratio", min_over_max))
    ),
    verdicts=(Verdict("ndcg_vs_reference", "ndcg", "reference", on_reference="within_band"),),
    tags={"side": "user"},
)

#: Catalogue-level summaries (``attribute: catalogue``): Gini of item exposure, coverage, ARP
#: and APLT (see :data:`METRIC_DEFINITIONS`).
CATALOGUE_SUMMARIES = ("gini_exposure", "coverage", "arp", "aplt")

#: What the provider side reports per provider group (Singh & Joachims 2018).
PROVIDER_TABLE = GroupTable(
    published=(
        "exposure_share",
        "catalogue_share",
        "relevance_share",
        "exposure_to_relevance_ratio",
        "exposure_to_catalogue_ratio",
    ),
    summaries=(
        CrossGroup(
            "exposure_to_relevance_ratio_min_over_max",
            ("exposure_to_relevance_ratio",),
            min_over_max,
        ),
    ),
    verdicts=(Verdict("exposure_vs_relevance", "exposure_to_relevance_ratio", "band"),),
    tags={"side": "provider"},
)


def _rules(options: RecommendationOptions) -> ReportRules:
    return ReportRules(options.reference, options.band, options.bootstrap.level)


def _user_side(
    ev: Evaluation, options: RecommendationOptions, rng: np.random.Generator
) -> dict[str, Any]:
    k = ev.k
    n_users = len(ev.user_ids)
    relevant = ev.judged_gain > 0
    n_rel = np.bincount(ev.judged_user[relevant], minlength=n_users)
    n_nonrel = np.bincount(ev.judged_user[~relevant], minlength=n_users)
    if ev.relevance.graded:
        idcg = ideal_dcg(ev.judged_user[relevant], ev.judged_gain[relevant], n_users, k)
    else:
        idcg = ideal_dcg_binary(n_rel, k)
    evaluated = n_rel > 0
    # Judgments of evaluated users, re-indexed to rows of recs[evaluated].
    keep = evaluated[ev.judged_user]
    gains = gains_at_k(
        ev.recs[evaluated],
        (np.cumsum(evaluated) - 1)[ev.judged_user[keep]],
        ev.judged_item[keep],
        ev.judged_gain[keep],
    )
    per_user = user_metrics(gains, idcg[evaluated], n_rel[evaluated], k)
    names = list(RANKING_METRICS)
    values = np.column_stack([per_user[m] for m in names])
    counts = np.column_stack([n_rel[evaluated], n_nonrel[evaluated]]).astype(np.float64)

    attrs = ev.user_attributes.loc[evaluated]
    partition = Partition(attrs)
    cells = partition.row_cell
    sums = cell_sums(values, cells, partition.n_cells)
    judged = cell_sums(counts, cells, partition.n_cells)[:, 1:]
    resampled = resampled_unit_sums(values, cells, partition.n_cells, options.bootstrap, rng)
    boot = None if resampled is None else resampled.sums
    level = options.bootstrap.level

    def means(s: NDArray[np.float64]) -> NDArray[np.float64]:
        return _ratio(s[..., 1:], s[..., :1])

    total = sums.sum(axis=0)
    total_boot = None if boot is None else boot.sum(axis=1)
    overall_mean = means(total)
    overall_boot = None if total_boot is None else means(total_boot)
    overall = {
        "n": int(evaluated.sum()),
        "positives": int(judged[:, 0].sum()),
        "negatives": int(judged[:, 1].sum()),
        "metrics": {
            m: estimate(
                overall_mean[j], None if overall_boot is None else overall_boot[:, j], level
            )
            for j, m in enumerate(names)
        },
    }

    records = GroupRecords()
    for cols in _slices(list(attrs.columns)):
        sl = partition.slice(cols)
        agg = sl.aggregate(sums)  # (G, 1 + m)
        agg_judged = sl.aggregate(judged)
        agg_boot = None if boot is None else sl.aggregate(boot)  # (B, G, 1 + m)
        n = agg[:, 0]
        mean = means(agg)
        mean_boot = None if agg_boot is None else means(agg_boot)
        evidence = assess(
            sl,
            n,
            min_group_size=options.min_group_size,
            unit="evaluated users",
            rules=(
                (EvidenceRule("evaluated users", options.min_users, "--min-users"), n),
                (
                    EvidenceRule(
                        "relevant held-out judgments", options.min_positives, "--min-positives"
                    ),
                    agg_judged[:, 0],
                ),
            ),
        )
        records.extend(
            slice_records(
                USER_TABLE,
                _rules(options),
                evidence,
                {m: mean[:, j] for j, m in enumerate(names)},
                None if mean_boot is None else {m: mean_boot[:, :, j] for j, m in enumerate(names)},
                {"n": n, "positives": agg_judged[:, 0], "negatives": agg_judged[:, 1]},
            )
        )
    return {
        "overall": overall,
        **records.as_dict(),
        "bootstrap": "none" if resampled is None else resampled.method,
    }


def _provider_groups(ev: Evaluation, tail: NDArray[np.bool_]) -> dict[str, pd.Series]:
    """Provider attribute → group label per item index (None outside the catalogue)."""
    out: dict[str, pd.Series] = {}
    for col in ev.item_attributes.columns:
        labels = ev.item_attributes[col].astype("object")
        labels = labels.where(labels.notna(), MISSING).astype(str)
        out[str(col)] = labels.where(pd.Series(ev.in_catalogue), None)
    tier = np.where(tail, "long_tail", "short_head")
    out[POPULARITY_TIER] = pd.Series(tier, dtype="object").where(pd.Series(ev.in_catalogue), None)
    return out


def _provider_side(
    ev: Evaluation, options: RecommendationOptions, rng: np.random.Generator
) -> dict[str, Any]:
    level = options.bootstrap.level
    n_items = len(ev.item_ids)
    tail_cat = long_tail_items(ev.popularity[ev.in_catalogue], options.long_tail_head_share)
    tail = np.zeros(n_items, dtype=bool)
    tail[np.flatnonzero(ev.in_catalogue)] = tail_cat

    units = ev.has_list | (np.bincount(ev.judged_user, minlength=len(ev.user_ids)) > 0)
    unit_index = np.cumsum(units) - 1
    n_units = int(units.sum())
    recs = ev.recs[units]
    filled = recs >= 0
    weight = np.broadcast_to(position_weight(np.arange(1, ev.k + 1)), recs.shape)
    rel = ev.judged_gain > 0

    records = GroupRecords()
    methods: set[str] = set()
    for attr, labels in _provider_groups(ev, tail).items():
        known = labels.notna().to_numpy()
        names = sorted(set(labels[known]))
        code = np.full(n_items, -1, dtype=np.int64)
        code[known] = pd.Index(names).get_indexer(labels[known])
        p = len(names)
        # Per-unit exposure and relevance of each provider group: the bootstrap resamples users.
        g_rec = np.where(filled, code[np.maximum(recs, 0)], -1)
        ok = g_rec >= 0
        rows = np.broadcast_to(np.arange(n_units)[:, None], recs.shape)
        expo = np.bincount(
            rows[ok] * p + g_rec[ok], weights=weight[ok], minlength=n_units * p
        ).reshape(n_units, p)
        g_j = code[ev.judged_item]
        ok_j = rel & (g_j >= 0)
        relv = np.bincount(
            unit_index[ev.judged_user[ok_j]] * p + g_j[ok_j],
            weights=ev.judged_gain[ok_j],
            minlength=n_units * p,
        ).reshape(n_units, p)
        values = np.hstack([expo, relv])
        point = values.sum(axis=0)
        boot = resampled_unit_sums(
            values, np.zeros(n_units, dtype=np.int64), 1, options.bootstrap, rng
        )
        methods.add("none" if boot is None else boot.method)
        b = None if boot is None else boot.sums[:, 0, 1:]

        def shares(
            v: NDArray[np.float64], p: int = p
        ) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
            e, r = v[..., :p], v[..., p:]
            return (
                _ratio(e, e.sum(axis=-1, keepdims=True)),
                _ratio(r, r.sum(axis=-1, keepdims=True)),
            )

        n_cat = np.bincount(code[known], minlength=p).astype(np.float64)
        c_share = n_cat / n_cat.sum()

        def provider_metrics(
            v: NDArray[np.float64], c_share: NDArray[np.float64] = c_share
        ) -> dict[str, NDArray[np.float64]]:
            e_share, r_share = shares(v)
            with np.errstate(all="ignore"):
                return {
                    "exposure_share": e_share,
                    "relevance_share": r_share,
                    "exposure_to_relevance_ratio": _ratio(e_share, r_share),
                    "exposure_to_catalogue_ratio": e_share / c_share,
                }

        pos = np.bincount(g_j[rel & (g_j >= 0)], minlength=p)
        neg = np.bincount(g_j[~rel & (g_j >= 0)], minlength=p)
        evidence = assess(
            AttributeGroups(attr, tuple(names)),
            n_cat,
            min_group_size=options.min_group_size,
            unit="catalogue items",
            rules=(
                (
                    EvidenceRule(
                        "relevant held-out judgments on its items",
                        options.min_positives,
                        "--min-positives",
                    ),
                    pos,
                ),
            ),
        )
        records.extend(
            slice_records(
                PROVIDER_TABLE,
                _rules(options),
                evidence,
                {**provider_metrics(point), "catalogue_share": c_share},
                None if b is None else provider_metrics(b),  # the catalogue is not resampled
                {"n": n_cat, "positives": pos, "negatives": neg},
            )
        )

    summary = records.summary
    # Catalogue-wide popularity and concentration measures, over every user with a list.
    listed = ev.recs[ev.has_list]
    exposure = item_exposure(listed, n_items)[ev.in_catalogue]
    arp_u = average_recommendation_popularity(listed, ev.popularity)
    aplt_u = long_tail_share(listed, tail)
    ok_u = np.isfinite(arp_u)
    pop_vals = np.column_stack([arp_u[ok_u], aplt_u[ok_u]])
    pop_boot = resampled_unit_sums(
        pop_vals, np.zeros(len(pop_vals), dtype=np.int64), 1, options.bootstrap, rng
    )
    pop_point = pop_vals.mean(axis=0) if len(pop_vals) else np.full(2, np.nan)
    pop_b = None if pop_boot is None else _ratio(pop_boot.sums[:, 0, 1:], pop_boot.sums[:, 0, :1])
    methods.add("none" if pop_boot is None else pop_boot.method)
    no_ci = (
        "no interval: a bootstrap over users draws fewer distinct users than the data has, "
        "which biases this catalogue-level measure; it is a census of the lists given"
    )
    gini_name, coverage_name, arp_name, aplt_name = CATALOGUE_SUMMARIES
    for metric, value, b_vals, note in (
        (gini_name, gini(exposure), None, no_ci),
        (coverage_name, catalogue_coverage(listed, ev.in_catalogue), None, no_ci),
        (arp_name, pop_point[0], None if pop_b is None else pop_b[:, 0], None),
        (aplt_name, pop_point[1], None if pop_b is None else pop_b[:, 1], None),
    ):
        rec: dict[str, Any] = {
            "attribute": "catalogue",
            "metric": metric,
            **estimate(value, b_vals, level),
            "groups_included": [],
        }
        if note:
            rec["note"] = note
        summary.append(rec)
    return {
        "groups": records.groups,
        "suppressed_groups": records.suppressed_groups,
        "summary": summary,
        "bootstrap": methods,
        "provider": {
            "attributes": [*map(str, ev.item_attributes.columns), POPULARITY_TIER],
            "catalogue_items": int(ev.in_catalogue.sum()),
            "items_recommended": int(np.count_nonzero(exposure)),
            "short_head_items": int((~tail_cat).sum()),
            "users_with_list": int(ev.has_list.sum()),
        },
    }


METRIC_DEFINITIONS: dict[str, str] = {
    **{name: m.definition for name, m in RANKING_METRICS.items()},
    "exposure_share": "Share of all position-weighted exposure, w(r) = 1/log2(1 + r), landing "
    "on the group's items (Singh & Joachims 2018, 'Fairness of Exposure in Rankings').",
    "catalogue_share": "Share of catalogue items belonging to the group (no interval: a count "
    "of the catalogue).",
    "relevance_share": "Share of held-out relevance (sum of gains of relevant judgments) on the "
    "group's items: the group's merit in Singh & Joachims' sense.",
    "exposure_to_relevance_ratio": "exposure_share / relevance_share: 1 when exposure is "
    "proportional to merit; below 1 the group is under-exposed for its relevance.",
    "exposure_to_catalogue_ratio": "exposure_share / catalogue_share: 1 when every group gets "
    "exposure in proportion to its number of items.",
    "gini_exposure": "Gini coefficient of item exposure over the whole catalogue (0 = equal, "
    "1 = one item gets everything).",
    "coverage": "Share of catalogue items recommended to at least one user (Ge et al. 2010).",
    "arp": "Average Recommendation Popularity: mean over users of the mean training popularity "
    "of their list (Abdollahpouri, Burke & Mobasher 2019).",
    "aplt": "Average Percentage of Long-Tail items: mean over users of the share of their list "
    "outside the short head (top 20% of items by popularity) (Abdollahpouri et al. 2019).",
}


def _ci_method(methods: set[str]) -> str:
    text = (
        "percentile bootstrap; users resampled with replacement, drawn as multinomial counts "
        "over distinct (group, per-user values) rows"
    )
    if "buckets" in methods:
        text += (
            "; where there were more than 50,000 distinct rows, over 50,000 random buckets of "
            "users within each group (random-group bootstrap)"
        )
    return text


def recommendation_audit(
    ev: Evaluation, options: RecommendationOptions | None = None
) -> dict[str, Any]:
    """Audit ranked lists: quality per user group and exposure per provider group.

    Parameters
    ----------
    ev
        Lists, judgments and attributes from :func:`evaluation_from_lists` or
        :func:`evaluation_from_model`.
    options
        k is taken from ``ev``; the rest from here.

    Returns
    -------
    dict
        The result document (``kind`` ``recommendation``). ``groups`` holds one record per user
        group (``side: user``; ``positives`` / ``negatives`` = relevant / non-relevant held-out
        judgments of its users) and per provider group (``side: provider``; ``n`` = catalogue
        items, ``positives`` / ``negatives`` = relevant / non-relevant judgments on its items).
    """
    options = options or RecommendationOptions(k=ev.k)
    rng = np.random.default_rng(options.bootstrap.seed)
    users = _user_side(ev, options, rng)
    providers = _provider_side(ev, options, rng)
    bs = options.bootstrap
    reference = options.reference if isinstance(options.reference, str) else dict(options.reference)
    doc: dict[str, Any] = {
        "schema_version": SCHEMA_VERSION,
        "kind": "recommendation",
        "settings": {
            "reference": reference,
            "min_users": options.min_users,
            "min_positives": options.min_positives,
            "min_negatives": 0,
            "min_group_size": options.min_group_size,
            "band": list(options.band),
            "ci": {
                "method": _ci_method({users["bootstrap"], *providers["bootstrap"]}),
                "resamples": bs.resamples,
                "level": bs.level,
                "seed": bs.seed,
            },
            "k": ev.k,
            "relevance": ev.relevance.describe(),
            "evaluation": ev.mode,
            "evidence_rule": (
                f"a user group needs >= {options.min_users} evaluated users and >= "
                f"{options.min_positives} relevant held-out judgments; a provider group >= "
                f"{options.min_positives} relevant judgments on its items; non-relevant "
                "judgments (negatives) are reported but not required"
            ),
            "user_attributes": [str(c) for c in ev.user_attributes.columns],
            "provider_attributes": providers["provider"]["attributes"],
            "slices": [list(s) for s in _slices([str(c) for c in ev.user_attributes.columns])],
            "position_weight": "1 / log2(1 + rank)",
            "long_tail_head_share": options.long_tail_head_share,
            "popularity_source": ev.popularity_source,
        },
        "overall": users["overall"],
        "groups": users["groups"] + providers["groups"],
        "suppressed_groups": users["suppressed_groups"] + providers["suppressed_groups"],
        "disparities": users["disparities"],
        "summary": users["summary"] + providers["summary"],
        "provider": providers["provider"],
        "data_quality": {**ev.data_quality, "messages": list(ev.messages)},
        "metric_definitions": METRIC_DEFINITIONS,
    }
    doc["provenance"] = provenance(inputs=ev.inputs, model=ev.model, seed=bs.seed)
    return doc
