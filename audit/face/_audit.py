"""The face-recognition audit: detection failures and NIST-style FMR/FNMR per demographic group.

The method follows NIST IR 8280 (Grother, Ngan & Hanaoka 2019, *Face Recognition Vendor Test
Part 3: Demographic Effects*): one threshold for everyone, set on all impostor comparisons to a
target false-match rate (or fixed, to audit a default such as face_recognition's 0.6); then,
per demographic group at that one threshold, FMR over impostor pairs whose two subjects are in
the group and FNMR over the group's genuine pairs; the ratio of the highest to the lowest group
FMR; the cross-group impostor FMR matrix on a log10 scale (NIST's "report cards"); and DET
curves per group.

Intervals come from a bootstrap over *subjects*, not pairs: pairs sharing a subject are not
independent, and resampling pairs would give intervals that are far too narrow (Bolle, Ratha &
Pankanti 2004, "Error analysis of pattern recognition systems — the subsets bootstrap",
*Computer Vision and Image Understanding* 93(1)). Subjects are resampled with replacement within
each demographic cell, so group sizes stay fixed. A resampled subject drawn ``w`` times
contributes ``w`` times its genuine pairs, and a pair of distinct subjects ``w_a w_b`` times
their impostor pairs; copies of one subject are never compared with each other. These sums are
computed exactly from per-subject counts, without re-comparing any template.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from numpy.typing import NDArray

from audit.exceptions import ConfigError, DataError
from audit.face._manifest import (
    DETECTION_FAILURES,
    UNREADABLE,
    FaceManifest,
    PairScores,
    Templates,
)
from audit.face._pairs import PairStats, SubjectPairs, score_all_pairs, score_listed_pairs
from audit.metrics._bootstrap import BootstrapSettings, estimate
from audit.metrics._group_report import (
    Compared,
    CrossGroup,
    EvidenceRule,
    GroupRecords,
    GroupTable,
    Reference,
    ReportRules,
    Verdict,
    assess,
    group_label,
    slice_records,
)
from audit.metrics._groups import Partition, Slice
from audit.metrics._verification import (
    DEFINITIONS,
    det_curve,
    false_match_rate,
    false_non_match_rate,
    max_min_ratio,
)
from audit.results import SCHEMA_VERSION, provenance

__all__ = ["DEFAULT_TARGET_FMR", "FaceOptions", "face_audit"]

#: NIST IR 8280's main operating point.
DEFAULT_TARGET_FMR = 1e-4

Progress = Callable[[int, int], None]
Array = NDArray[np.float64]

METRICS = ("fmr", "fnmr", "ftd", "multiple_faces")


@dataclass(frozen=True)
class FaceOptions:
    """Options of a face audit.

    Attributes
    ----------
    target_fmr
        Calibrate the threshold on all impostor pairs to this FMR (default 1e-4 when no
        tolerance is given).
    tolerance
        Or a fixed threshold: match when distance <= tolerance (similarity >= tolerance for
        similarity scores). face_recognition's default is 0.6.
    reference
        Reference group of disparities: ``largest`` (most subjects), ``best`` (lowest rate),
        or ``{attribute: group}``; always a group with sufficient evidence (naming another is
        refused).
    min_genuine_pairs, min_impostor_pairs
        Below either, a group's verdict is ``insufficient_evidence`` and it is left out of
        cross-group summaries. ``min_impostor_pairs`` defaults to the rule of three,
        ``ceil(3 / FMR)`` at the operating FMR (the target, or the FMR the fixed tolerance
        gives overall), at least 30: with fewer pairs, zero false matches would not even
        show that the group's FMR is below the operating point at 95% confidence (Jovanovic &
        Levy 1997, "A look at the rule of three", *The American Statistician* 51(2)).
    min_group_size
        Groups with fewer *subjects* are suppressed: no numbers are published for them.
    band
        Fairness band for group-to-reference ratios.
    bootstrap
        Resamples, level and seed of the subject bootstrap.
    block
        Templates per side of a scoring block (memory ~ 60 x block^2 bytes per CPU).
    det_points
        Most points per DET curve.
    max_listed
        Most bad images / detection failures listed one by one (all are counted).
    """

    target_fmr: float | None = None
    tolerance: float | None = None
    reference: Reference = "largest"
    min_genuine_pairs: int = 30
    min_impostor_pairs: int | None = None
    min_group_size: int = 10
    band: tuple[float, float] = (0.8, 1.25)
    bootstrap: BootstrapSettings = field(default_factory=BootstrapSettings)
    block: int = 512
    det_points: int = 200
    max_listed: int = 1000

    def __post_init__(self) -> None:
        if self.target_fmr is not None and self.tolerance is not None:
            raise ConfigError("give either a target FMR or a tolerance, not both")
        if self.target_fmr is not None and not 0.0 < self.target_fmr < 1.0:
            raise ConfigError(f"target FMR must lie in (0, 1), got {self.target_fmr}")
        if self.tolerance is not None and not math.isfinite(self.tolerance):
            raise ConfigError(f"tolerance must be a finite number, got {self.tolerance}")
        if self.block < 16:
            raise ConfigError(f"block must be at least 16, got {self.block}")

    @property
    def calibrated(self) -> bool:
        return self.tolerance is None

    @property
    def target(self) -> float | None:
        if self.tolerance is not None:
            return None
        return self.target_fmr if self.target_fmr is not None else DEFAULT_TARGET_FMR


# --------------------------------------------------------------------------- subject counts


@dataclass
class _Subjects:
    """Per-subject counts that every rate is a weighted sum of."""

    cell: NDArray[np.int64]
    images: Array
    readable: Array
    no_face: Array
    multiple: Array
    templates: Array
    genuine: Array
    false_non_matches: Array


def _detection_counts(
    manifest: FaceManifest, templates: Templates | None, S: int
) -> tuple[Array, Array, Array, Array, Array]:
    subj = manifest.subject
    images = np.bincount(subj, minlength=S).astype(np.float64)
    if templates is None:
        nan = np.zeros(S)
        return images, nan, nan, nan, nan
    st = templates.status
    readable = ~np.isin(st, UNREADABLE)
    no_face = np.isin(st, ("no_face", "no_template"))
    multi = st == "multiple_faces"
    usable = templates.usable

    def count(mask: NDArray[np.bool_]) -> Array:
        return np.bincount(subj[mask], minlength=S).astype(np.float64)

    return images, count(readable), count(no_face), count(multi), count(usable)


def _pair_sum(W: Array, pairs: SubjectPairs, member: Array) -> Array:
    """``sum_e W[:, a_e] W[:, b_e] count_e`` over pairs with both subjects in each column."""
    out = np.zeros((W.shape[0], member.shape[1]))
    chunk = max(1, 2_000_000 // W.shape[0])  # ~16 MB per temporary
    for e0 in range(0, len(pairs.a), chunk):
        a, b = pairs.a[e0 : e0 + chunk], pairs.b[e0 : e0 + chunk]
        both = member[a] * member[b]  # (E, groups)
        out += (W[:, a] * W[:, b] * pairs.count[e0 : e0 + chunk]) @ both
    return out


def _within(cell_matrix: NDArray[np.int64], cell_member: Array) -> Array:
    """Pairs with both subjects in each group, from a symmetric (cell, cell) count matrix."""
    m = cell_matrix.astype(np.float64)
    full = np.einsum("cg,cd,dg->g", cell_member, m, cell_member)
    return (full + cell_member.T @ np.diag(m)) / 2.0


@dataclass
class _Rates:
    """Rates per group column, shape ``(draws, columns)``; row 0 of the point call."""

    fmr: Array
    fnmr: Array
    ftd: Array
    multiple_faces: Array
    genuine: Array
    impostor: Array
    false_matches: Array
    false_non_matches: Array


def _rates(
    W: Array,
    subj: _Subjects,
    stats: PairStats,
    member: Array,
    cell_member: Array,
    detected: bool,
    *,
    point: bool = False,
) -> _Rates:
    gen = W @ (subj.genuine[:, None] * member)
    fnm = W @ (subj.false_non_matches[:, None] * member)
    if stats.impostor_by_subject is None:
        n = subj.templates[:, None] * member
        t = W @ n
        imp = (t * t - (W * W) @ (n * n)) / 2.0
    else:
        imp = _pair_sum(W, stats.impostor_by_subject, member)
    if stats.fm_by_subject is not None:
        fm = _pair_sum(W, stats.fm_by_subject, member)
    else:  # too many false matches to keep per subject pair: point estimate only
        fm = np.broadcast_to(_within(stats.false_matches, cell_member), imp.shape).copy()
        if not point:
            fm[:] = np.nan
    if detected:
        readable = W @ (subj.readable[:, None] * member)
        ftd = false_non_match_rate(W @ (subj.no_face[:, None] * member), readable)
        multi = false_non_match_rate(W @ (subj.multiple[:, None] * member), readable)
    else:
        ftd = multi = np.full(gen.shape, np.nan)
    return _Rates(
        fmr=false_match_rate(fm, imp),
        fnmr=false_non_match_rate(fnm, gen),
        ftd=ftd,
        multiple_faces=multi,
        genuine=gen,
        impostor=imp,
        false_matches=fm,
        false_non_matches=fnm,
    )


def _resample(
    subj: _Subjects,
    stats: PairStats,
    member: Array,
    cell_member: Array,
    detected: bool,
    settings: BootstrapSettings,
) -> _Rates | None:
    """Stratified subject bootstrap: subjects drawn with replacement within each cell."""
    if settings.resamples == 0:
        return None
    rng = np.random.default_rng(settings.seed)
    S = len(subj.cell)
    cells = [np.flatnonzero(subj.cell == c) for c in np.unique(subj.cell)]
    parts: list[_Rates] = []
    step = max(1, min(64, 4_000_000 // max(S, 1)))
    for b0 in range(0, settings.resamples, step):
        b = min(step, settings.resamples - b0)
        W = np.zeros((b, S))
        for idx in cells:
            W[:, idx] = rng.multinomial(len(idx), np.full(len(idx), 1.0 / len(idx)), size=b)
        parts.append(_rates(W, subj, stats, member, cell_member, detected))
    return _Rates(
        **{k: np.concatenate([getattr(p, k) for p in parts]) for k in _Rates.__dataclass_fields__}
    )


# --------------------------------------------------------------------------- the document


def _nanmax(x: Array) -> Array:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # all-NaN resamples stay NaN
        return np.nanmax(np.asarray(x, dtype=np.float64), axis=-1)


def _unbounded(metric: str) -> Callable[[Sequence[Array], Sequence[Any]], str | None]:
    """Note on a max/min ratio whose lowest group had no error at all: not "no differential"."""

    def note(args: Sequence[Array], included: Sequence[Any]) -> str | None:
        (rates,) = args
        if np.nanmin(rates) == 0 and np.nanmax(rates) > 0:
            low = included[int(np.nanargmin(rates))]
            return (
                f"unbounded: group {low!r} has no {metric.upper()} errors while others do; "
                f"read {metric}_max and the per-group intervals"
            )
        return None

    return note


#: What the face audit reports per group (NIST IR 8280): both error rates are compared with
#: the reference, lower being better; the differentials are summarised as max/min ratios and
#: worst-group rates.
TABLE = GroupTable(
    published=METRICS,
    compared=(Compared("fmr", "lower"), Compared("fnmr", "lower")),
    summaries=(
        CrossGroup("fmr_max_min_ratio", ("fmr",), max_min_ratio, explain=_unbounded("fmr")),
        CrossGroup("fnmr_max_min_ratio", ("fnmr",), max_min_ratio, explain=_unbounded("fnmr")),
        CrossGroup("fmr_max", ("fmr",), _nanmax, min_groups=1),
        CrossGroup("fnmr_max", ("fnmr",), _nanmax, min_groups=1),
    ),
    verdicts=(Verdict("fmr", "fmr", "reference"), Verdict("fnmr", "fnmr", "reference")),
)


def _fmr_matrix(sl: Slice, shown: NDArray[np.bool_], stats: PairStats) -> dict[str, Any]:
    C = stats.false_matches.shape[0]
    onehot = np.zeros((C, len(sl.groups)))
    onehot[np.arange(len(sl.cell_group)), sl.cell_group] = 1.0
    onehot = onehot[:, shown]

    def grouped(m: NDArray[np.int64]) -> Array:
        full = onehot.T @ m.astype(np.float64) @ onehot
        diag = (np.diag(full) + onehot.T @ np.diag(m).astype(np.float64)) / 2.0
        full[np.diag_indices(len(diag))] = diag
        return full

    fm, n = grouped(stats.false_matches), grouped(stats.impostor_pairs)
    fmr = false_match_rate(fm, n)
    with np.errstate(divide="ignore"):
        log = np.where(fmr > 0, np.log10(np.where(fmr > 0, fmr, 1.0)), np.nan)
    return {
        "attribute": sl.attribute,
        "groups": [group_label(g) for g, s in zip(sl.groups, shown, strict=True) if s],
        "log10_fmr": log.tolist(),
        "fmr": fmr.tolist(),
        "false_matches": fm.astype(np.int64).tolist(),
        "impostor_pairs": n.astype(np.int64).tolist(),
    }


def _det(
    stats: PairStats,
    cells: NDArray[np.bool_],
    subject_in: NDArray[np.bool_],
    similarity: bool,
    points: int,
) -> dict[str, list[float]]:
    pair_in = (cells[:, None] & cells[None, :]).astype(np.float64)
    hist = np.einsum("ijk,ij->k", stats.impostor_hist, pair_in)
    gen = stats.genuine_distances[subject_in[stats.genuine_subject]]
    curve = det_curve(gen, hist, stats.edges, max_points=points).as_dict()
    if similarity:
        curve["thresholds"] = [-t for t in curve["thresholds"]]
    return curve


def _listing(
    templates: Templates | None, kinds: tuple[str, ...], cap: int
) -> tuple[list[dict[str, Any]], int]:
    """Rows with one of these statuses, by 1-based manifest row. Paths and subject ids are
    left out on purpose: in real sets they are often people's names."""
    if templates is None:
        return [], 0
    rows = np.flatnonzero(np.isin(templates.status, kinds))
    out = [
        {"row": int(r) + 1, "reason": str(templates.status[r]), "detail": templates.detail[r]}
        for r in rows[:cap]
    ]
    return out, len(rows)


def face_audit(
    manifest: FaceManifest,
    source: Templates | PairScores,
    options: FaceOptions | None = None,
    *,
    progress: Progress | None = None,
) -> dict[str, Any]:
    """Audit a face-verification model for demographic differentials.

    Parameters
    ----------
    manifest
        The validated manifest (images, subjects, demographic columns).
    source
        Templates (from :func:`~audit.face.encode_manifest`, pre-computed embeddings, or the
        synthetic generator), or the platform's own pair scores.
    options
        Threshold, evidence rules, bootstrap.
    progress
        Called with ``(blocks_done, blocks_total)`` while pairs are scored.

    Returns
    -------
    dict
        The result document, ``kind: "face"``. In ``groups``, ``positives`` are genuine pairs
        and ``negatives`` impostor pairs; ``metrics`` hold ``fmr``, ``fnmr``, ``ftd`` and
        ``multiple_faces``. The ``face`` section holds the threshold, the cross-group FMR
        matrices, DET curves, and the bad images and detection failures.

    Raises
    ------
    DataError
        Fewer than two subjects with a usable template (no impostor comparison possible).
    """
    options = options or FaceOptions()
    level = options.bootstrap.level
    partition = Partition(manifest.subject_attributes)
    subject_cell = partition.row_cell.astype(np.int64)
    S, C = len(subject_cell), partition.n_cells
    cols = list(manifest.group_columns)
    slices = [partition.slice((c,)) for c in cols]
    if len(cols) > 1:
        slices.append(partition.slice(tuple(cols)))

    templates = source if isinstance(source, Templates) else None
    similarity = isinstance(source, PairScores) and source.kind == "similarity"
    fixed = options.tolerance
    internal = None if fixed is None else (-fixed if similarity else fixed)
    try:
        if templates is not None:
            if len(templates.status) != len(manifest):
                raise ValueError("templates and manifest differ in length")
            use = templates.usable
            stats = score_all_pairs(
                templates.embeddings[use],
                manifest.subject[use],
                subject_cell,
                threshold=internal,
                target_fmr=options.target,
                block=options.block,
                progress=progress,
            )
        else:
            assert isinstance(source, PairScores)
            stats = score_listed_pairs(
                manifest.subject[source.row_a],
                manifest.subject[source.row_b],
                source.dissimilarity,
                subject_cell,
                threshold=internal,
                target_fmr=options.target,
            )
    except ValueError as exc:
        if "impostor" not in str(exc):
            raise
        raise DataError(
            "no impostor comparisons: fewer than two subjects have a usable image (or no "
            "listed pair compares two different subjects); check the bad images listed with "
            "--out, or the pairs file",
            file=manifest.source,
        ) from None

    images, readable, no_face, multiple, n_templates = _detection_counts(manifest, templates, S)
    subj = _Subjects(
        cell=subject_cell,
        images=images,
        readable=readable,
        no_face=no_face,
        multiple=multiple,
        templates=n_templates if templates is not None else np.zeros(S),
        genuine=stats.genuine_pairs.astype(np.float64),
        false_non_matches=stats.false_non_matches.astype(np.float64),
    )
    detected = templates is not None
    multi_defined = templates is not None and templates.detected

    # Group columns: 0 = everyone, then each slice's groups.
    col_of: list[tuple[int, int]] = [(-1, 0)]
    for k, sl in enumerate(slices):
        col_of += [(k, g) for g in range(len(sl.groups))]
    member = np.zeros((S, len(col_of)))
    cell_member = np.zeros((C, len(col_of)))
    member[:, 0] = 1.0
    cell_member[:, 0] = 1.0
    j = 1
    for sl in slices:
        for g in range(len(sl.groups)):
            in_cell = sl.cell_group == g
            cell_member[:, j] = in_cell
            member[:, j] = in_cell[subject_cell]
            j += 1

    point = _rates(np.ones((1, S)), subj, stats, member, cell_member, detected, point=True)
    boot = _resample(subj, stats, member, cell_member, detected, options.bootstrap)
    if not multi_defined:
        point.multiple_faces[:] = np.nan
        if boot is not None:
            boot.multiple_faces[:] = np.nan

    operating = options.target
    if operating is None:
        operating = stats.n_false_matches / stats.n_impostor if stats.n_impostor else 0.0
    min_imp = options.min_impostor_pairs
    if min_imp is None:
        min_imp = max(30, math.ceil(3.0 / operating)) if operating > 0 else 30
    subjects_per_col = member.sum(axis=0)
    images_per_col = images @ member
    templates_per_col = subj.templates @ member

    def metric_block(c: int) -> dict[str, dict[str, float | None]]:
        return {
            m: estimate(
                float(getattr(point, m)[0, c]),
                None if boot is None else getattr(boot, m)[:, c],
                level,
            )
            for m in METRICS
        }

    rules = ReportRules(options.reference, options.band, level)
    evidence_rules = (
        EvidenceRule("genuine pairs", options.min_genuine_pairs, "--min-genuine-pairs"),
        EvidenceRule("impostor pairs", int(min_imp), "--min-impostor-pairs"),
    )
    records = GroupRecords()
    matrices: list[dict[str, Any]] = []
    dets: list[dict[str, Any]] = []
    j0 = 1
    for sl in slices:
        cs = np.arange(j0, j0 + len(sl.groups))
        j0 += len(sl.groups)
        genuine, impostor = point.genuine[0, cs], point.impostor[0, cs]
        evidence = assess(
            sl,
            subjects_per_col[cs],
            min_group_size=options.min_group_size,
            unit="subjects",
            rules=tuple(zip(evidence_rules, (genuine, impostor), strict=True)),
        )
        records.extend(
            slice_records(
                TABLE,
                rules,
                evidence,
                {m: getattr(point, m)[0, cs] for m in METRICS},
                None if boot is None else {m: getattr(boot, m)[:, cs] for m in METRICS},
                {
                    "n": images_per_col[cs],
                    "subjects": subjects_per_col[cs],
                    "templates": templates_per_col[cs],
                    "positives": genuine,
                    "negatives": impostor,
                    "false_non_matches": point.false_non_matches[0, cs],
                    "false_matches": point.false_matches[0, cs],
                },
            )
        )
        shown = evidence.shown
        matrices.append(_fmr_matrix(sl, shown, stats))
        for g, key in enumerate(sl.groups):
            if shown[g]:
                in_cell = sl.cell_group == g
                dets.append(
                    {
                        "attribute": sl.attribute,
                        "group": group_label(key),
                        **_det(
                            stats, in_cell, in_cell[subject_cell], similarity, options.det_points
                        ),
                    }
                )

    threshold_user = -stats.threshold if similarity else stats.threshold
    score_kind = "similarity" if similarity else "distance"
    rule = (
        f"match when similarity >= {threshold_user!r}"
        if similarity
        else f"match when distance <= {threshold_user!r}"
    )
    bad, n_bad = _listing(templates, UNREADABLE, options.max_listed)
    failures, n_fail = _listing(templates, DETECTION_FAILURES, options.max_listed)
    single: list[int] = []
    if templates is not None:  # the manifest row of each such subject's one usable image
        lonely = subj.templates[manifest.subject] == 1
        single = [int(r) + 1 for r in np.flatnonzero(lonely & templates.usable)]
    status_counts = (
        {s: int(np.sum(templates.status == s)) for s in np.unique(templates.status)}
        if templates is not None
        else {}
    )
    everyone = np.ones(C, dtype=bool)
    overall = {
        "n": len(manifest),
        "subjects": S,
        "templates": int(subj.templates.sum()) if templates is not None else None,
        "positives": int(point.genuine[0, 0]),
        "negatives": int(point.impostor[0, 0]),
        "metrics": metric_block(0),
    }
    settings = {
        "reference": (
            options.reference if isinstance(options.reference, str) else dict(options.reference)
        ),
        "min_positives": options.min_genuine_pairs,
        "min_negatives": int(min_imp),
        "min_group_size": options.min_group_size,
        "band": list(options.band),
        "ci": {
            "method": (
                "percentile bootstrap over subjects: subjects resampled with replacement "
                "within each demographic cell; pairs follow their subjects"
            ),
            "resamples": options.bootstrap.resamples,
            "level": level,
            "seed": options.bootstrap.seed,
        },
        "threshold": threshold_user,
        "target_fmr": options.target,
        "tolerance": options.tolerance,
        "decision_rule": rule,
        "score": score_kind,
        "positives": "genuine pairs: two images of the same subject",
        "negatives": "impostor pairs: images of two different subjects",
        "min_group_size_unit": "subjects",
        "attributes": cols,
        "slices": [list(sl.columns) for sl in slices],
        "subject_column": manifest.subject_column,
        "image_column": manifest.image_column,
    }
    face = {
        "threshold": {
            "value": threshold_user,
            "score": score_kind,
            "rule": rule,
            "mode": "target_fmr" if options.calibrated else "fixed",
            "target_fmr": options.target,
            "allowed_false_matches": stats.allowed_false_matches,
            "achieved_fmr": (
                stats.n_false_matches / stats.n_impostor if stats.n_impostor else None
            ),
            "impostor_pairs": stats.n_impostor,
            "false_matches": stats.n_false_matches,
        },
        "counts": {
            "images": len(manifest),
            "subjects": S,
            "status": status_counts,
            "genuine_pairs": int(point.genuine[0, 0]),
            "impostor_pairs": stats.n_impostor,
            "subjects_with_one_template": len(single),
            "scoring_passes": stats.passes,
        },
        "fmr_matrix": matrices,
        "det": [
            {
                "attribute": None,
                "group": "all",
                **_det(stats, everyone, np.ones(S, dtype=bool), similarity, options.det_points),
            },
            *dets,
        ],
        "bad_images": bad,
        "bad_images_total": n_bad,
        "detection_failures": failures,
        "detection_failures_total": n_fail,
        "single_template_rows": single[: options.max_listed],
        "intervals_note": (
            None
            if stats.fm_by_subject is not None
            else "too many false matches to keep per subject pair: FMR has no interval"
        ),
    }
    if isinstance(source, PairScores):
        face["bad_pairs"] = source.bad_pairs[: options.max_listed]
        face["bad_pairs_total"] = len(source.bad_pairs)
    model = {k: str(v) for k, v in source.model.items()}
    extra = (
        ("face-recognition", "dlib-bin", "dlib", "face_recognition_models")
        if model.get("kind") == "face_recognition"
        else ()
    )
    return {
        "schema_version": SCHEMA_VERSION,
        "kind": "face",
        "settings": settings,
        "overall": overall,
        **records.as_dict(),
        "face": face,
        "metric_definitions": dict(DEFINITIONS),
        "provenance": provenance(
            inputs=[*manifest.inputs, *source.inputs],
            model=model,
            seed=options.bootstrap.seed,
            extra_packages=extra,
        ),
    }
