"""The ``recommendation`` kind: quality per user group and exposure per provider group.

Either the platform's ranked lists (``recommendations`` + ``truth``), or a recommender
(``model``: ``popularity``, ``itemknn``, ``puresvd`` or ``package.module:name``) trained and
asked for top-k lists on a time split of ``interactions``. :func:`run` builds the engine's
options from the spec and runs :func:`audit.recommendation.recommendation_audit`.
"""

from __future__ import annotations

import functools
from typing import TYPE_CHECKING, Annotated, Any, Literal, Self, cast

from pydantic import Field, ValidationInfo, model_validator

from audit.kinds._entry import AuditKind, HttpRules, PolicyMetrics, ReportProfile
from audit.kinds._spec import (
    STATISTICS,
    CiLevel,
    Cli,
    File,
    KindSpec,
    Progress,
    Reference,
    Resamples,
    Seed,
    ci_level,
    namer,
    reference,
    resamples,
    seed,
    stage,
)

if TYPE_CHECKING:
    from audit.results import ResultDocument

__all__ = ["BUILT_IN_RECOMMENDERS", "KIND", "RecommendationSpec"]

#: What ``model`` has built in (``BUILTIN_RECOMMENDERS`` in :mod:`audit.recommenders`, which
#: loads SciPy; a test keeps the two equal). Over HTTP ``model`` must be one of them.
BUILT_IN_RECOMMENDERS = ("popularity", "itemknn", "puresvd")

_SOURCE = "what is audited (lists, or a model)"
_PEOPLE = "people and items"
_COLUMNS = "column names"
_RELEVANCE = "relevance"

_InputFile = Annotated[str | None, File("input"), Cli(metavar="FILE", group=_SOURCE)]
_Column = Annotated[str, Cli(metavar="COL", group=_COLUMNS)]
_Count = Annotated[int, Cli(metavar="N", group=STATISTICS)]


class RecommendationSpec(KindSpec):
    """A recommendation audit (``socialaudit recommendation``)."""

    kind: Literal["recommendation"] = "recommendation"
    recommendations: _InputFile = Field(
        None, description="ranked lists: user, item, rank (1 = top)"
    )
    truth: _InputFile = Field(None, description="held-out judgments: user, item[, rating]")
    model: Annotated[str | None, Cli(aliases=("--recommender",), metavar="SPEC", group=_SOURCE)] = (
        Field(
            None,
            description="recommender to train: " + ", ".join(BUILT_IN_RECOMMENDERS) + " or "
            "package.module:name",
        )
    )
    interactions: _InputFile = Field(
        None, description="full interaction log (user, item, timestamp[, rating]) for model"
    )
    holdout: Annotated[int, Cli(metavar="N", group=_SOURCE)] = Field(
        1, ge=1, description="with model: each user's last N interactions are held out"
    )
    batch_size: Annotated[int, Cli(metavar="N", group=_SOURCE)] = Field(
        1024, ge=1, description="users per call of the recommender"
    )
    users: Annotated[str, File("input"), Cli(metavar="FILE", group=_PEOPLE)] = Field(
        description="user ids and attributes"
    )
    user_groups: Annotated[list[str], Cli(metavar="COL[,COL...]", group=_PEOPLE, csv=True)] = Field(
        min_length=1,
        description="user attribute columns; several give their intersection too",
    )
    items: Annotated[str | None, File("input"), Cli(metavar="FILE", group=_PEOPLE)] = Field(
        None, description="item ids and provider attributes"
    )
    creator_group: Annotated[list[str], Cli(metavar="COL[,COL...]", group=_PEOPLE, csv=True)] = (
        Field(
            default_factory=list,
            description="provider (creator) group columns of items; popularity_tier is always "
            "added",
        )
    )
    popularity_col: Annotated[str | None, Cli(metavar="COL", group=_PEOPLE)] = Field(
        None,
        description="with recommendations: items column of interaction counts (ARP, long tail)",
    )
    user_col: _Column = Field("user_id", description="user id column")
    item_col: _Column = Field("item_id", description="item id column")
    rank_col: _Column = Field("rank", description="rank column of recommendations")
    rating_col: _Column = Field("rating", description="rating column")
    time_col: _Column = Field("timestamp", description="time column of interactions")
    k: Annotated[int, Cli(metavar="K", group=_RELEVANCE)] = Field(
        10, ge=1, description="list length"
    )
    relevance_threshold: Annotated[float | None, Cli(metavar="R", group=_RELEVANCE)] = Field(
        None,
        allow_inf_nan=False,
        description="held-out items rated >= R are relevant (default: every held-out item)",
    )
    graded: Annotated[bool, Cli(group=_RELEVANCE)] = Field(
        False, description="graded NDCG: gain = rating (default binary)"
    )
    reference: Reference = reference("most users")
    resamples: Resamples = resamples("users")
    ci_level: CiLevel = ci_level()
    seed: Seed = seed()
    min_users: _Count = Field(
        30, ge=0, description="fewer users in a group -> insufficient_evidence"
    )
    min_group_size: _Count = Field(
        10, ge=1, description="groups with fewer users are suppressed from the output"
    )
    min_positives: _Count = Field(
        30,
        ge=0,
        description="fewer relevant held-out judgments in a group -> insufficient_evidence",
    )

    @model_validator(mode="after")
    def _one_way_in(self, info: ValidationInfo) -> Self:
        """The platform's lists or a model, each with its other half."""
        name = namer(info)
        given = {
            k for k in ("recommendations", "truth", "model", "interactions") if getattr(self, k)
        }
        recs, truth, model, log = map(name, ("recommendations", "truth", "model", "interactions"))
        lists = bool(given & {"recommendations", "truth"})
        trained = bool(given & {"model", "interactions"})
        if lists and trained:
            raise ValueError(f"give either {recs} and {truth}, or {model} and {log}")
        if not lists and not trained:
            raise ValueError(
                f"nothing to audit: give {recs} and {truth} (the platform's lists), or {model} "
                f"and {log}"
            )
        if lists and not {"recommendations", "truth"} <= given:
            raise ValueError(f"{recs} and {truth} go together")
        if trained and not {"model", "interactions"} <= given:
            raise ValueError(f"{model} and {log} go together")
        if self.popularity_col and trained:
            raise ValueError(
                f"{name('popularity_col')} is for {recs}; with {model} popularity is counted "
                "from the training split"
            )
        return self


def run(spec: RecommendationSpec, progress: Progress | None = None) -> ResultDocument:
    """Run the recommendation audit ``spec`` describes.

    Raises
    ------
    ConfigError
        A bad setting.
    DataError
        A file or column cannot be used.
    ModelError
        ``model`` cannot be loaded.
    """
    from audit.metrics import BootstrapSettings
    from audit.recommendation import (
        Columns,
        RecommendationOptions,
        Relevance,
        evaluation_from_lists,
        evaluation_from_model,
        load_recommender,
        recommendation_audit,
    )

    options = RecommendationOptions(
        k=spec.k,
        reference=spec.reference,
        min_users=spec.min_users,
        min_positives=spec.min_positives,
        min_group_size=spec.min_group_size,
        bootstrap=BootstrapSettings(spec.resamples, spec.ci_level, spec.seed),
    )
    common: dict[str, Any] = {
        "user_groups": list(spec.user_groups),
        "items": spec.items,
        "creator_groups": list(spec.creator_group),
        "columns": Columns(
            spec.user_col, spec.item_col, spec.rank_col, spec.rating_col, spec.time_col
        ),
        "relevance": Relevance(spec.relevance_threshold, spec.graded),
        "k": spec.k,
    }
    if spec.recommendations and spec.truth:
        ev = evaluation_from_lists(
            spec.recommendations,
            spec.truth,
            spec.users,
            popularity_column=spec.popularity_col,
            **common,
        )
    else:
        assert spec.model and spec.interactions  # the spec's validator
        ev = evaluation_from_model(
            load_recommender(spec.model, seed=spec.seed),
            spec.interactions,
            spec.users,
            holdout=spec.holdout,
            batch_size=spec.batch_size,
            progress=stage(progress, "recommending"),
            **common,
        )
    return cast("ResultDocument", recommendation_audit(ev, options))


@functools.cache
def policy_metrics() -> PolicyMetrics:
    """What the user-side and provider-side group tables publish
    (:data:`audit.recommendation.USER_TABLE`, :data:`~audit.recommendation.PROVIDER_TABLE`),
    and the catalogue-level summaries (:data:`audit.recommendation.CATALOGUE_SUMMARIES`)."""
    from audit.recommendation import CATALOGUE_SUMMARIES, PROVIDER_TABLE, USER_TABLE

    return PolicyMetrics.of_tables(USER_TABLE, PROVIDER_TABLE, summary=CATALOGUE_SUMMARIES)


def _built_in_only(request: Any) -> None:
    if request.model is not None and request.model not in BUILT_IN_RECOMMENDERS:
        raise ValueError(
            f"model must be one of {', '.join(BUILT_IN_RECOMMENDERS)} over HTTP "
            "(package.module:name would run code on the server); to audit another "
            "model, give its ranked lists as recommendations and truth"
        )


KIND: AuditKind[RecommendationSpec] = AuditKind(
    name="recommendation",
    summary="recommendation quality per user group, exposure per provider group",
    description="Audit a recommender: NDCG/recall/precision/hit rate at k per user group "
    "and intersection, exposure of provider groups against their catalogue and relevance "
    "shares, Gini of exposure, coverage and popularity bias. Give the platform's ranked "
    "lists (recommendations + truth) or a model and an interaction log (model + "
    "interactions), which is split per user by time.",
    spec=RecommendationSpec,
    run=run,
    http=HttpRules(check=_built_in_only),
    policy_metrics=policy_metrics,
    report=ReportProfile("Recommendation", ("ndcg", "recall")),
)
