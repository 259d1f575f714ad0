"""Holm and Bonferroni across a check's interval decisions: what they control, and how well the
normal approximation to a reported interval stands in for the bootstrap it came from."""

from __future__ import annotations

import numpy as np
import pytest

from audit.gate import evaluate
from audit.gate._multiplicity import adjust, one_sided_p
from audit.metrics import BootstrapSettings
from audit.metrics._bootstrap import multinomial_resamples, percentile_interval
from audit.policy import Check
from tests.unit.test_gate import check, est, group, policy, result

Z95 = 1.959963984540054


def floor(decide_on: str = "interval", multiplicity: str = "holm", **kw) -> Check:
    return Check.model_validate(
        check(min=0.8, decide_on=decide_on, multiplicity=multiplicity, **kw)
    )


@pytest.mark.parametrize("decide_on", ["interval", "interval_strict"])
@pytest.mark.parametrize(
    ("value", "lo", "hi"),
    [(0.7, 0.6, 0.79), (0.7, 0.6, 0.81), (0.85, 0.81, 0.9), (0.85, 0.79, 0.9), (0.8, 0.8, 0.8)],
)
def test_one_observation_decides_exactly_as_without_adjustment(decide_on, value, lo, hi):
    doc = result(groups=[group("race", "a", impact=est(value, lo, hi))])
    plain = evaluate(policy(check(min=0.8, decide_on=decide_on)), [doc]).outcomes[0]
    holm = evaluate(
        policy(check(min=0.8, decide_on=decide_on, multiplicity="holm")), [doc]
    ).outcomes[0]
    assert holm.status == plain.status


def test_p_value_matches_the_interval_it_is_fitted_to():
    # a symmetric interval ±1.96 se: p at the interval's edge is the one-sided 2.5 %
    chk = floor()
    assert one_sided_p(chk, 0.7, 0.7 - Z95 * 0.05, 0.7 + Z95 * 0.05, 0.95) == pytest.approx(
        0.5 - 0.4772498680518208,
        abs=1e-12,  # Phi(-2): 0.1 below 0.8 is 2 standard errors
    )
    edge = one_sided_p(chk, 0.7, 0.6, 0.8, 0.95)
    assert edge == pytest.approx(0.025, abs=1e-12)


def test_normal_approximation_agrees_with_the_bootstrap_for_a_rate():
    """A rate of 300 in 1,000 against thresholds near it: the p-value read off the reported
    95 % interval is within a percentage point of the bootstrap's own tail share."""
    rng = np.random.default_rng(0)
    counts = np.array([300, 700])
    boot = multinomial_resamples(counts, BootstrapSettings(20000, 0.95, 0), rng)
    rates = boot[:, 0] / boot.sum(axis=1)
    ci = percentile_interval(0.3, rates, 0.95)
    for t in (0.27, 0.285, 0.315, 0.33):
        # evidence that the rate is above a maximum t: the share of resamples below t (half
        # of those exactly at t: a rate of 1,000 rows moves in steps of 0.001)
        chk = Check.model_validate(check(max=t, decide_on="interval", multiplicity="holm"))
        approx = one_sided_p(chk, 0.3, ci.ci_low, ci.ci_high, 0.95)
        share = (np.mean(rates < t) + np.mean(rates <= t)) / 2
        assert approx == pytest.approx(float(share), abs=0.01), t


def test_family_wise_error_is_controlled_where_single_decisions_are_not():
    """Twenty groups, each truly at the threshold (so compliant): single interval decisions
    block a release about 40 % of the time (1 - 0.975 ** 20); Holm at most 2.5 %."""
    rng = np.random.default_rng(1)
    se, m, runs = 0.03, 20, 3000
    chk_holm, chk_bonf = floor(), floor(multiplicity="bonferroni")
    false_block = {"none": 0, "holm": 0, "bonferroni": 0}
    for _ in range(runs):
        values = 0.8 + se * rng.standard_normal(m)
        family = [(v, v - Z95 * se, v + Z95 * se, 0.95) for v in values]
        false_block["none"] += any(v + Z95 * se < 0.8 for v in values)
        false_block["holm"] += any(a.reject for a in adjust(chk_holm, family))
        false_block["bonferroni"] += any(a.reject for a in adjust(chk_bonf, family))
    rate = {k: v / runs for k, v in false_block.items()}
    assert rate["none"] == pytest.approx(1 - 0.975**20, abs=0.04)
    assert rate["holm"] <= 0.025 + 0.01 and rate["bonferroni"] <= rate["holm"] + 1e-12


def test_holm_still_finds_a_clear_violation_and_rejects_at_least_what_bonferroni_does():
    family = [(0.5, 0.45, 0.55, 0.95)] + [(0.7, 0.64, 0.76, 0.95)] * 4 + [(0.9, 0.85, 0.95, 0.95)]
    holm, bonf = adjust(floor(), family), adjust(floor(multiplicity="bonferroni"), family)
    assert [a.reject for a in holm][:5] == [True] * 5  # 0.1 below by 3+ standard errors each
    assert all(h.reject or not b.reject for h, b in zip(holm, bonf, strict=True))
    assert not holm[5].reject
    assert holm[0].rank == 1 and holm[0].alpha == pytest.approx(0.025 / 6)


def test_strict_family_must_show_every_group_complies():
    chk = floor(decide_on="interval_strict")
    clear = (0.95, 0.92, 0.98, 0.95)
    narrow = (0.85, 0.805, 0.895, 0.95)  # within on its own, not at alpha / 2
    decided = adjust(chk, [narrow, narrow, clear])
    assert [a.reject for a in decided] == [False, False, True]  # rejected = shown to comply
    assert [a.rank for a in decided] == [2, 3, 1]
    assert decided[0].ci_low < 0.8 and not decided[0].stopped
    assert decided[1].stopped  # at alpha / 1 it would comply, but Holm stopped before it
    # alone, the narrow interval does show compliance
    assert adjust(chk, [narrow])[0].reject


def test_multiplicity_needs_an_interval_decision_and_a_bound():
    with pytest.raises(ValueError, match="use it with decide_on: interval"):
        Check.model_validate(check(min=0.8, multiplicity="holm"))
    with pytest.raises(ValueError, match="only a change threshold"):
        Check.model_validate(
            check(
                decide_on="interval",
                multiplicity="holm",
                change={"direction": "higher_is_better", "max_worsening": 0.1},
            )
        )
