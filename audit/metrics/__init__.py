"""The metric engine shared by every audit.

Each metric is defined once: confusion rates in :data:`RATES`, cross-group disparities in
:data:`SUMMARIES`, threshold-free bias AUCs in :mod:`audit.metrics._auc`. What every audit kind
does with its per-group numbers — suppression, the evidence rule, the reference group,
disparities and cross-group summaries — is written once, in
:mod:`audit.metrics._group_report`.
"""

from audit.metrics._bootstrap import BootstrapSettings, Interval, percentile_interval
from audit.metrics._disparity import SUMMARIES, Summary
from audit.metrics._engine import EngineSettings, GroupReport, analyse_groups
from audit.metrics._group_report import group_label
from audit.metrics._groups import MISSING, Partition, Slice
from audit.metrics._rates import OUTCOMES, RATES, Rate, rate_values

__all__ = [
    "MISSING",
    "OUTCOMES",
    "RATES",
    "SUMMARIES",
    "BootstrapSettings",
    "EngineSettings",
    "GroupReport",
    "Interval",
    "Partition",
    "Rate",
    "Slice",
    "Summary",
    "analyse_groups",
    "group_label",
    "percentile_interval",
    "rate_values",
]
