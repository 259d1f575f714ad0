"""The ``ads`` kind: ad delivery per demographic group against the eligible audience
(:func:`audit.ads.ads_audit`)."""

from __future__ import annotations

import functools
from typing import TYPE_CHECKING, Annotated, Literal, cast

from pydantic import Field

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
    reference,
    resamples,
    seed,
)

if TYPE_CHECKING:
    from audit.results import ResultDocument

__all__ = ["KIND", "AdsSpec"]

_Count = Annotated[int, Cli(metavar="N", group=STATISTICS)]


class AdsSpec(KindSpec):
    """An ad-delivery audit (``socialaudit ads``)."""

    kind: Literal["ads"] = "ads"
    impressions: Annotated[str, File("input"), Cli(metavar="FILE")] = Field(
        description="one row per impression: ad, user"
    )
    audience: Annotated[str, File("input"), Cli(metavar="FILE")] = Field(
        description="eligible users with demographics (add the ad column for per-ad audiences)"
    )
    groups: Annotated[list[str], Cli(metavar="COL[,COL...]", csv=True)] = Field(
        min_length=1,
        description="demographic columns of audience; several give their intersection too",
    )
    ad_col: Annotated[str, Cli(metavar="COL")] = Field("ad_id", description="ad id column")
    user_col: Annotated[str, Cli(metavar="COL")] = Field("user_id", description="user id column")
    reference: Reference = reference("most eligible users")
    resamples: Resamples = resamples("eligible users")
    ci_level: CiLevel = ci_level()
    seed: Seed = seed()
    min_users: _Count = Field(
        30, ge=0, description="fewer eligible users in a group -> insufficient_evidence"
    )
    min_group_size: _Count = Field(
        10, ge=1, description="groups with fewer eligible users are suppressed from the output"
    )


def run(spec: AdsSpec, progress: Progress | None = None) -> ResultDocument:
    """Run the ad-delivery audit ``spec`` describes."""
    from audit.ads import AdsOptions, ads_audit, load_delivery
    from audit.metrics import BootstrapSettings

    delivery = load_delivery(
        spec.impressions,
        spec.audience,
        groups=spec.groups,
        ad_col=spec.ad_col,
        user_col=spec.user_col,
    )
    options = AdsOptions(
        reference=spec.reference,
        min_users=spec.min_users,
        min_group_size=spec.min_group_size,
        bootstrap=BootstrapSettings(spec.resamples, spec.ci_level, spec.seed),
    )
    return cast("ResultDocument", ads_audit(delivery, options))


@functools.cache
def policy_metrics() -> PolicyMetrics:
    """What the pooled group table publishes (:data:`audit.ads.POOLED_TABLE`: the delivery
    metrics of :data:`audit.ads.AD_METRICS`, delivery and reach rates against the reference,
    their impact-ratio summaries), and the lowest delivery impact ratio across ads."""
    from audit.ads import POOLED_TABLE, WORST_AD_SUMMARY

    return PolicyMetrics.of_tables(POOLED_TABLE, summary=(WORST_AD_SUMMARY,))


KIND: AuditKind[AdsSpec] = AuditKind(
    name="ads",
    summary="ad delivery per demographic group against the eligible audience",
    description="Audit ad delivery: each group's share of impressions against its share of "
    "the eligible audience, delivery and reach rates, four-fifths impact ratios, per ad and "
    "pooled.",
    spec=AdsSpec,
    run=run,
    http=HttpRules(),
    policy_metrics=policy_metrics,
    report=ReportProfile("Ad delivery", ("selection_rate", "delivery_share")),
)
