"""Pair scoring: every genuine and impostor comparison of a template set, in bounded memory.

A set of ``n`` templates has ``n (n - 1) / 2`` comparisons: 5 x 10^9 for 100k templates. They
are never held at once. Templates are sorted by (demographic cell, subject) and distances are
computed block by block with one matrix product per block (``|a|^2 + |b|^2 - 2 a.b``), so a
subject's genuine pairs sit next to the block diagonal and every block is a rectangle of a few
(cell, cell) rectangles. Per block we keep only what the audit needs:

* genuine distances (few: ``sum_s n_s (n_s - 1) / 2``), exactly;
* impostor distances as a histogram per (cell, cell) pair, for DET curves;
* the false matches (pairs at or below the threshold) as counts per *subject pair*, which the
  subject-level bootstrap needs, and per (cell, cell) pair, for the FMR matrix;
* while calibrating, the ``k + 1`` smallest impostor distances (``k`` = false matches the
  target FMR allows), from which the threshold follows exactly (see
  :func:`audit.metrics._verification.calibrate_threshold`, the reference definition that the
  tests hold this module to).

When ``k + 1`` is too large to keep (a loose target on a huge set), the threshold is found by
narrowing a window around the ``(k + 1)``-th distance over extra passes, each counting exactly,
so memory stays bounded at the cost of time.
"""

from __future__ import annotations

import contextlib
import os
from collections import deque
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from audit.metrics._verification import (
    allowed_false_matches,
    calibrate_threshold,
    threshold_below,
)

__all__ = [
    "PairStats",
    "SubjectPairs",
    "exact_distances",
    "score_all_pairs",
    "score_listed_pairs",
    "screening_slack",
]

Progress = Callable[[int, int], None]
IntArray = NDArray[np.int64]
_EMPTY: IntArray = np.zeros(0, dtype=np.int64)
_EMPTY_F: NDArray[np.float64] = np.zeros(0)
_Block = tuple[int, int, NDArray[np.float32], IntArray, IntArray]
_FirstPass = tuple[
    IntArray, IntArray, list[tuple[int, int, IntArray]], IntArray, IntArray, NDArray[np.float64]
]

#: Most candidate distances kept while calibrating in one pass (16 bytes each, x2 headroom).
SELECTION_CAP = 8_000_000
#: Most distinct false-matching subject pairs kept for the bootstrap (16 bytes each).
ENTRY_CAP = 20_000_000
#: Budget of (cell, cell, bin) histogram counters.
HIST_BUDGET = 1 << 22


@dataclass(frozen=True)
class SubjectPairs:
    """Counts per unordered pair of subjects (codes ``a``, ``b``)."""

    a: IntArray
    b: IntArray
    count: IntArray

    @classmethod
    def from_keys(cls, keys: IntArray, n_subjects: int) -> SubjectPairs:
        uniq, cnt = np.unique(keys, return_counts=True)
        return cls(uniq // n_subjects, uniq % n_subjects, cnt.astype(np.int64))


@dataclass
class PairStats:
    """Everything the face audit reads from the comparisons, at one threshold.

    Distances are dissimilarities: a pair matches when ``distance <= threshold``.

    Attributes
    ----------
    threshold
        The threshold applied.
    target_fmr, allowed_false_matches
        The calibration target and ``k = floor(target x impostor pairs)``, if calibrated.
    genuine_pairs, false_non_matches
        Per subject (indexed by subject code).
    impostor_pairs, false_matches
        Per pair of cells, shape ``(cells, cells)``, symmetric; the diagonal holds pairs of
        different subjects within one cell.
    fm_by_subject
        False matches per subject pair; ``None`` when there were more than
        :data:`ENTRY_CAP` distinct pairs (intervals on FMR are then not available).
    impostor_by_subject
        Impostor comparisons per subject pair when only listed pairs were compared; ``None``
        when every pair of templates was compared (the counts are then ``n_a x n_b``).
    templates_per_subject
        Templates per subject (all-pairs mode).
    genuine_distances, genuine_subject
        Every genuine distance and its subject.
    edges, impostor_hist
        Histogram bin edges and impostor counts per (cell, cell, bin), upper triangle.
    passes
        Passes over the comparisons (1 unless a loose target needed narrowing).
    """

    threshold: float
    target_fmr: float | None
    allowed_false_matches: int | None
    genuine_pairs: IntArray
    false_non_matches: IntArray
    impostor_pairs: IntArray
    false_matches: IntArray
    fm_by_subject: SubjectPairs | None
    impostor_by_subject: SubjectPairs | None
    templates_per_subject: IntArray | None
    genuine_distances: NDArray[np.float64]
    genuine_subject: IntArray
    edges: NDArray[np.float64]
    impostor_hist: IntArray
    passes: int = 1

    @property
    def n_impostor(self) -> int:
        return int(np.triu(self.impostor_pairs).sum())

    @property
    def n_false_matches(self) -> int:
        return int(np.triu(self.false_matches).sum())


@contextlib.contextmanager
def _one_blas_thread() -> Iterator[None]:
    """Limit BLAS to one thread while our own threads run blocks (threadpoolctl ships with
    scikit-learn; without it, BLAS keeps its default)."""
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:
        yield
        return
    with threadpool_limits(limits=1, user_api="blas"):
        yield


def _bins(n_cells: int, bins: int | None) -> int:
    if bins is not None:
        return bins
    return int(max(128, min(2048, HIST_BUDGET // max(n_cells * n_cells, 1))))


def _symmetric(upper_counts: IntArray, n_cells: int) -> IntArray:
    m = upper_counts.reshape(n_cells, n_cells)
    return m + m.T - np.diag(np.diag(m))


class _Matches:
    """False matches as counts per subject pair (while they fit) and per cell pair."""

    def __init__(self, n_subjects: int, rank_cell: IntArray, n_cells: int) -> None:
        self.S = n_subjects
        self.rank_cell = rank_cell
        self.C = n_cells
        self.cells = np.zeros(n_cells * n_cells, dtype=np.int64)
        self.chunks: list[tuple[IntArray, IntArray]] = []
        self.size = 0
        self.overflow = False

    def add(self, a: IntArray, b: IntArray) -> None:
        """Add matches between subject ranks ``a < b``."""
        if a.size == 0:
            return
        ca, cb = self.rank_cell[a], self.rank_cell[b]
        self.cells += np.bincount(ca * self.C + cb, minlength=self.C * self.C)
        if self.overflow:
            return
        keys, cnt = np.unique(a * self.S + b, return_counts=True)
        self.chunks.append((keys, cnt))
        self.size += keys.size
        if self.size > ENTRY_CAP:
            self._compact()
            if self.size > ENTRY_CAP:
                self.overflow, self.chunks, self.size = True, [], 0

    def _compact(self) -> None:
        if len(self.chunks) <= 1:
            return
        keys = np.concatenate([k for k, _ in self.chunks])
        cnt = np.concatenate([c for _, c in self.chunks])
        uniq, inv = np.unique(keys, return_inverse=True)
        self.chunks = [(uniq, np.bincount(inv, weights=cnt).astype(np.int64))]
        self.size = uniq.size

    def by_subject(self, rank_subject: IntArray) -> SubjectPairs | None:
        if self.overflow:
            return None
        self._compact()
        if not self.chunks:
            empty = np.zeros(0, dtype=np.int64)
            return SubjectPairs(empty, empty, empty)
        keys, cnt = self.chunks[0]
        return SubjectPairs(rank_subject[keys // self.S], rank_subject[keys % self.S], cnt)

    def cell_matrix(self) -> IntArray:
        return _symmetric(self.cells, self.C)


class _Smallest:
    """Candidates for the ``k`` smallest values: every pair whose screening value is within
    ``band`` of the running ``k``-th smallest, with its positions."""

    def __init__(self, k: int, band: float) -> None:
        self.k, self.band = k, band
        self.cutoff = float(np.finfo(np.float32).max)  # never admits the inf (excluded) cells
        self.parts: list[tuple[NDArray[np.float64], IntArray, IntArray]] = []
        self.size = 0
        self.kept = 0

    def add(self, v: NDArray[np.floating], i: IntArray, j: IntArray) -> None:
        if v.size == 0:
            return
        self.parts.append((v.astype(np.float64), i, j))
        self.size += v.size
        if self.size >= 2 * max(self.k, self.kept):
            self._shrink()

    def _shrink(self) -> None:
        v = np.concatenate([p[0] for p in self.parts])
        i = np.concatenate([p[1] for p in self.parts])
        j = np.concatenate([p[2] for p in self.parts])
        if v.size >= self.k:
            kth = float(np.partition(v, self.k - 1)[self.k - 1])
            self.cutoff = min(self.cutoff, kth + self.band)
            keep = v <= self.cutoff
            v, i, j = v[keep], i[keep], j[keep]
        self.parts, self.size, self.kept = [(v, i, j)], v.size, v.size

    def result(self) -> tuple[NDArray[np.float64], IntArray, IntArray]:
        self._shrink()
        return self.parts[0] if self.parts else (np.zeros(0), _EMPTY, _EMPTY)


class _Window:
    """Exact counts below ``lo`` and per sub-interval of ``[lo, hi)`` cut at ``edges``."""

    def __init__(self, lo: float, hi: float, edges: NDArray[np.float64]) -> None:
        self.lo, self.hi, self.edges = lo, hi, edges
        self.below = 0
        self.counts = np.zeros(len(edges) + 1, dtype=np.int64)
        self.vmin, self.vmax = np.inf, -np.inf

    def add(self, dist: NDArray[np.floating]) -> None:
        self.below += int(np.count_nonzero(dist < self.lo))
        w = dist[(dist >= self.lo) & (dist < self.hi)]
        if w.size:
            idx = np.searchsorted(self.edges, w, side="right")
            self.counts += np.bincount(idx, minlength=len(self.edges) + 1)
            self.vmin, self.vmax = min(self.vmin, float(w.min())), max(self.vmax, float(w.max()))


def exact_distances(
    X: NDArray[np.float64], i: IntArray, j: IntArray, chunk: int = 1 << 13
) -> NDArray[np.float64]:
    """``|X[i] - X[j]|`` in float64, computed from the difference (no cancellation)."""
    out = np.empty(len(i))
    for c in range(0, len(i), chunk):
        diff = X[i[c : c + chunk]] - X[j[c : c + chunk]]
        out[c : c + chunk] = np.sqrt(np.einsum("ij,ij->i", diff, diff))
    return out


def screening_slack(dim: int, max_sq_norm: float) -> float:
    """Bound on ``|A - |a - b|^2|`` where ``A`` is the float32 Gram-formula value.

    Rounding ``a, b`` and their squared norms to float32 costs ``u |a|^2``-sized terms; the
    float32 dot product of ``n = dim`` terms errs by at most ``gamma_n |a||b| ~ n u |a||b|``
    in any summation order (Higham 2002, *Accuracy and Stability of Numerical Algorithms*,
    eq. 3.5); the two additions add ``u`` times the magnitude each. With
    ``u = 2^-24`` and every magnitude at most ``4 max|x|^2`` this is below
    ``(2 n + 14) u max|x|^2``; twice that is used.
    """
    return 2.0 * (2 * dim + 16) * 2.0**-24 * max_sq_norm + 1e-12 * max_sq_norm


def score_all_pairs(
    embeddings: NDArray[np.floating],
    subject: NDArray[np.integer],
    subject_cell: NDArray[np.integer],
    *,
    threshold: float | None = None,
    target_fmr: float | None = None,
    block: int = 512,
    bins: int | None = None,
    threads: int | None = None,
    progress: Progress | None = None,
) -> PairStats:
    """Compare every pair of templates, in blocks.

    Blocks are computed in float32 as squared distances (``|a|^2 + |b|^2 - 2 a.b``), which
    halves the matrix products and skips a square root per pair. Every pair that a decision
    depends on (a genuine pair; a pair within :func:`screening_slack` of the threshold or of
    the calibrating order statistic) is then recomputed exactly in float64 from its
    difference, so the threshold and every count equal those of the float64 reference
    definitions; only the DET histograms use the float32 values.

    Parameters
    ----------
    embeddings
        Templates, shape ``(n, d)``; Euclidean distance is the dissimilarity.
    subject
        Subject code of each template, in ``0 .. S-1``.
    subject_cell
        Demographic cell of each subject, shape ``(S,)``, codes ``0 .. C-1``.
    threshold, target_fmr
        Exactly one: a fixed threshold, or a target FMR to calibrate the threshold on all
        impostor pairs (:func:`~audit.metrics._verification.calibrate_threshold`).
    block
        Templates per block side (512 fits a core's L2 cache); memory is about
        ``60 x block^2`` bytes per thread (two blocks in flight each), whatever the number
        of templates.
    bins
        Histogram bins for DET curves (default: up to 2048, fewer with many cells).
    threads
        Threads computing blocks (default: the CPU count, at most 8).
    progress
        Called with ``(blocks_done, blocks_total)``.

    Returns
    -------
    PairStats
    """
    if (threshold is None) == (target_fmr is None):
        raise ValueError("give exactly one of threshold and target_fmr")
    workers = max(1, threads if threads is not None else min(8, os.cpu_count() or 1))
    sub: IntArray = np.asarray(subject, dtype=np.int64)
    sub_cell: IntArray = np.asarray(subject_cell, dtype=np.int64)
    S, C = len(sub_cell), int(sub_cell.max()) + 1 if len(sub_cell) else 1
    cell = sub_cell[sub]
    order = np.lexsort((sub, cell))
    X = np.ascontiguousarray(np.asarray(embeddings, dtype=np.float64)[order])
    subj = sub[order]
    n, dim = X.shape if X.ndim == 2 else (0, 0)
    new = np.ones(n, dtype=bool)
    new[1:] = subj[1:] != subj[:-1]
    rank = np.cumsum(new) - 1  # subjects renumbered in sorted order: non-decreasing
    rank_subject = subj[new]
    rank_cell = sub_cell[rank_subject]
    R = len(rank_subject)
    cel = rank_cell[rank]
    sq = np.einsum("ij,ij->i", X, X)
    X32 = X.astype(np.float32)
    Xm2 = X32 * np.float32(-2.0)  # exact: scaling by a power of two does not round
    sq32 = sq.astype(np.float32)
    max_sq = float(sq.max()) if n else 1.0
    slack = screening_slack(dim, max_sq)

    n_s = np.bincount(sub, minlength=S).astype(np.int64)
    n_c = np.bincount(cell, minlength=C).astype(np.int64)
    imp = np.outer(n_c, n_c)
    within = np.bincount(sub_cell, weights=n_s * (n_s - 1) // 2, minlength=C)
    imp[np.diag_indices(C)] = n_c * (n_c - 1) // 2 - within.astype(np.int64)
    n_imp = int(np.triu(imp).sum())

    # DET histograms of squared distances; reported edges are their square roots.
    nbins = _bins(C, bins)
    top2 = 4.0 * max_sq * (1 + 1e-6) + 1e-12
    inv_w = np.float32(nbins / top2)

    starts = list(range(0, n, block))
    total = len(starts) * (len(starts) + 1) // 2
    state = {"done": 0, "total": total}

    pairs_of_blocks = [(i0, j0) for i0 in starts for j0 in starts[i0 // block :]]

    def compute(i0: int, j0: int) -> _Block:
        """``(i0, j0, A, genuine_i, genuine_j)``: ``A`` holds float32 squared distances, inf
        where the pair is not an impostor pair (same subject, or on/below the diagonal);
        genuine pairs are given by global positions."""
        i1, j1 = min(i0 + block, n), min(j0 + block, n)
        dist = X32[i0:i1] @ Xm2[j0:j1].T
        dist += sq32[i0:i1, None]
        dist += sq32[None, j0:j1]
        gi = gj = _EMPTY
        if i0 == j0 or rank[i1 - 1] >= rank[j0]:
            # Same-subject pairs occur only near the diagonal (rows sorted by subject).
            excl = rank[i0:i1, None] == rank[None, j0:j1]
            if i0 == j0:
                upper = np.arange(i1 - i0)[:, None] < np.arange(j1 - j0)[None, :]
                gi, gj = np.nonzero(excl & upper)
                excl |= ~upper
            else:
                gi, gj = np.nonzero(excl)
            gi, gj = gi + i0, gj + j0
            dist[excl] = np.inf
        return i0, j0, dist, gi, gj

    def tick() -> None:
        state["done"] += 1
        if progress is not None:
            progress(state["done"], state["total"])

    def blocks() -> Iterator[_Block]:
        """Every block in turn (the rare extra passes of a loose calibration)."""
        if state["done"] >= state["total"]:  # a further pass
            state["total"] += total
        for i0, j0 in pairs_of_blocks:
            yield compute(i0, j0)
            tick()

    def segments(lo: int, hi: int) -> list[tuple[int, int, int]]:
        c = cel[lo:hi]
        cuts = (np.flatnonzero(c[1:] != c[:-1]) + 1).tolist()
        b = [0, *cuts, hi - lo]
        return [(b[q], b[q + 1], int(c[b[q]])) for q in range(len(b) - 1)]

    if target_fmr is not None and n_imp == 0:
        raise ValueError("no impostor comparisons: at least two subjects with templates needed")
    k = allowed_false_matches(target_fmr, n_imp) if target_fmr is not None else None
    band = 2.0 * slack
    select = _Smallest(k + 1, band) if k is not None and k + 1 <= SELECTION_CAP else None

    hist = np.zeros((C, C, nbins), dtype=np.int64)
    g_pos: list[tuple[IntArray, IntArray]] = []
    matches = _Matches(R, rank_cell, C)
    screen = None if threshold is None else np.float32(threshold * threshold + slack)
    fixed = float(threshold) if threshold is not None else 0.0

    def first_pass(i0: int, j0: int, cutoff: float) -> _FirstPass:
        """One block's share of the first pass; runs in a worker thread."""
        _, _, dist, gi, gj = compute(i0, j0)
        idx = dist * inv_w
        np.clip(idx, 0, nbins, out=idx)  # inf (excluded) -> the discarded overflow bin
        idx = idx.astype(np.intp)
        i1, j1 = i0 + dist.shape[0], j0 + dist.shape[1]
        parts = []
        for r0, r1, ca in segments(i0, i1):
            for c0, c1, cb in segments(j0, j1):
                if ca <= cb:  # the rest lies below the diagonal: all excluded
                    counts = np.bincount(idx[r0:r1, c0:c1].ravel(), minlength=nbins + 1)
                    parts.append((ca, cb, counts[:nbins]))
        if screen is not None:  # fixed threshold: the matches, decided exactly
            mi, mj = np.nonzero(dist <= screen)
            mi, mj = mi + i0, mj + j0
            hit = exact_distances(X, mi, mj) <= fixed
            return gi, gj, parts, mi[hit], mj[hit], _EMPTY_F
        si, sj = np.nonzero(dist <= cutoff)  # calibration: candidates
        return gi, gj, parts, si + i0, sj + j0, dist[si, sj].astype(np.float64)

    # First pass: genuine pairs, DET histograms, and the matches (fixed threshold) or the
    # candidates for the (k + 1)-th smallest impostor distance (calibration). Blocks run in
    # threads, one BLAS thread each: numpy releases the GIL, the element-wise work is
    # parallel too, and BLAS threads never oversubscribe a busy machine. Results are merged
    # in block order, so the output does not depend on scheduling.
    if select is not None or screen is not None:
        with _one_blas_thread(), ThreadPoolExecutor(max_workers=workers) as pool:
            window: deque[Future[_FirstPass]] = deque()
            todo = iter(pairs_of_blocks)
            while True:
                while len(window) < 2 * workers:
                    nxt = next(todo, None)
                    if nxt is None:
                        break
                    cutoff = select.cutoff if select is not None else 0.0
                    window.append(pool.submit(first_pass, nxt[0], nxt[1], cutoff))
                if not window:
                    break
                gi, gj, parts, pi, pj, vals = window.popleft().result()
                if gi.size:
                    g_pos.append((gi, gj))
                for ca, cb, counts in parts:
                    hist[ca, cb] += counts
                if screen is not None:
                    matches.add(rank[pi], rank[pj])
                elif select is not None:
                    select.add(vals, pi, pj)
                tick()
    else:  # a loose calibration: histograms and genuine pairs now, the threshold later
        for i0, j0 in pairs_of_blocks:
            gi, gj, parts, _, _, _ = first_pass(i0, j0, -np.inf)
            if gi.size:
                g_pos.append((gi, gj))
            for ca, cb, counts in parts:
                hist[ca, cb] += counts
            tick()

    passes = 1
    if k is not None:
        if select is not None:
            v, ci, cj = select.result()
            a_k = float(np.partition(v, k)[k])
            near = v <= a_k + band
            ci, cj = ci[near], cj[near]
            d = exact_distances(X, ci, cj)
            below = 0
        else:
            a_k, extra = _narrow(blocks, k + 1, np.linspace(0.0, top2, nbins + 1))
            ci_l: list[IntArray] = []
            cj_l: list[IntArray] = []
            below = 0
            for i0, j0, dist, _gi, _gj in blocks():
                bi, bj = np.nonzero(dist < a_k - band)
                below += bi.size
                matches.add(rank[bi + i0], rank[bj + j0])
                ni, nj = np.nonzero((dist >= a_k - band) & (dist <= a_k + band))
                ci_l.append(ni + i0)
                cj_l.append(nj + j0)
            ci, cj = np.concatenate(ci_l), np.concatenate(cj_l)
            d = exact_distances(X, ci, cj)
            passes += extra + 1
        # Every pair at or below the (k+1)-th smallest exact distance is among the candidates
        # (or counted in `below`, all certainly smaller): its float32 value is within `slack`.
        r = k - below
        threshold = threshold_below(float(np.partition(d, r)[r]))
        hit = d <= threshold
        matches.add(rank[ci[hit]], rank[cj[hit]])
    assert threshold is not None

    if g_pos:
        gi_all = np.concatenate([p[0] for p in g_pos])
        gj_all = np.concatenate([p[1] for p in g_pos])
        gd = exact_distances(X, gi_all, gj_all)
        gs = rank_subject[rank[gi_all]]
    else:
        gd, gs = np.zeros(0), _EMPTY
    return PairStats(
        threshold=float(threshold),
        target_fmr=target_fmr,
        allowed_false_matches=k,
        genuine_pairs=n_s * (n_s - 1) // 2,
        false_non_matches=np.bincount(gs[gd > threshold], minlength=S).astype(np.int64),
        impostor_pairs=imp,
        false_matches=matches.cell_matrix(),
        fm_by_subject=matches.by_subject(rank_subject),
        impostor_by_subject=None,
        templates_per_subject=n_s,
        genuine_distances=gd,
        genuine_subject=gs,
        edges=np.sqrt(np.linspace(0.0, top2, nbins + 1)),
        impostor_hist=hist,
        passes=passes,
    )


def _narrow(
    blocks: Callable[[], Iterator[_Block]], rank: int, edges: NDArray[np.float64]
) -> tuple[float, int]:
    """The ``rank``-th smallest screening value (1-based) when too many to keep at once.

    Each pass counts, exactly, the values below a window and in each of up to 2048
    sub-intervals of it; the window shrinks to the sub-interval holding the wanted rank until
    that holds few enough values to select from directly (one more pass).
    """
    lo, hi = -np.inf, np.inf
    cuts = edges[1:-1]
    for passes in range(1, 65):
        win = _Window(lo, hi, cuts)
        for _i0, _j0, dist, _gi, _gj in blocks():
            win.add(dist)
        r = rank - win.below
        if win.vmin == win.vmax:  # a tie spanning the wanted rank
            return win.vmin, passes
        cum = np.cumsum(win.counts)
        j = int(np.searchsorted(cum, r))
        new_lo = float(cuts[j - 1]) if j > 0 else lo
        new_hi = float(cuts[j]) if j < len(cuts) else hi
        r_in = r - (int(cum[j - 1]) if j > 0 else 0)
        if win.counts[j] <= SELECTION_CAP:
            vals: list[NDArray[np.floating]] = []
            for _i0, _j0, dist, _gi, _gj in blocks():
                vals.append(dist[(dist >= new_lo) & (dist < new_hi)])
            v = np.concatenate(vals)
            return float(np.partition(v, r_in - 1)[r_in - 1]), passes + 1
        lo, hi = new_lo, new_hi
        a = lo if np.isfinite(lo) else win.vmin
        b = hi if np.isfinite(hi) else win.vmax
        cuts = np.unique(np.linspace(a, b, 2049)[1:-1])
    raise RuntimeError("threshold calibration did not converge")


def score_listed_pairs(
    subject_a: NDArray[np.integer],
    subject_b: NDArray[np.integer],
    distance: NDArray[np.floating],
    subject_cell: NDArray[np.integer],
    *,
    threshold: float | None = None,
    target_fmr: float | None = None,
    bins: int | None = None,
) -> PairStats:
    """Statistics of comparisons listed one by one (the platform's own scores).

    Parameters
    ----------
    subject_a, subject_b
        Subject codes of the two images of each pair; equal codes make a genuine pair.
    distance
        Dissimilarity of each pair (pass ``-similarity`` for similarity scores).
    subject_cell
        Demographic cell of each subject.
    threshold, target_fmr
        Exactly one, as in :func:`score_all_pairs`.
    bins
        Histogram bins for DET curves.
    """
    if (threshold is None) == (target_fmr is None):
        raise ValueError("give exactly one of threshold and target_fmr")
    sa = np.asarray(subject_a, dtype=np.int64)
    sb = np.asarray(subject_b, dtype=np.int64)
    d = np.asarray(distance, dtype=np.float64)
    subject_cell = np.asarray(subject_cell, dtype=np.int64)
    S, C = len(subject_cell), int(subject_cell.max()) + 1 if len(subject_cell) else 1
    gen = sa == sb
    imp = ~gen
    lo_s, hi_s = np.minimum(sa, sb)[imp], np.maximum(sa, sb)[imp]
    d_imp = d[imp]
    k = None
    if target_fmr is not None:
        threshold = calibrate_threshold(d_imp, target_fmr)
        k = allowed_false_matches(target_fmr, d_imp.size)
    assert threshold is not None
    hit = d_imp <= threshold

    ca, cb = subject_cell[lo_s], subject_cell[hi_s]
    c1, c2 = np.minimum(ca, cb), np.maximum(ca, cb)
    key_c = c1 * C + c2
    nbins = _bins(C, bins)
    lo = float(d.min()) if d.size else 0.0
    hi = float(d.max()) if d.size else 1.0
    width = (hi - lo) * (1 + 1e-9) + 1e-12
    edges = np.linspace(lo, lo + width, nbins + 1)
    idx = np.minimum(((d_imp - lo) * (nbins / width)).astype(np.intp), nbins - 1)
    hist = np.bincount(key_c * nbins + idx, minlength=C * C * nbins).reshape(C, C, nbins)

    g_subject = sa[gen]
    g_dist = d[gen]
    return PairStats(
        threshold=float(threshold),
        target_fmr=target_fmr,
        allowed_false_matches=k,
        genuine_pairs=np.bincount(g_subject, minlength=S).astype(np.int64),
        false_non_matches=np.bincount(g_subject[g_dist > threshold], minlength=S).astype(np.int64),
        impostor_pairs=_symmetric(np.bincount(key_c, minlength=C * C), C),
        false_matches=_symmetric(np.bincount(key_c[hit], minlength=C * C), C),
        fm_by_subject=SubjectPairs.from_keys(lo_s[hit] * S + hi_s[hit], S),
        impostor_by_subject=SubjectPairs.from_keys(lo_s * S + hi_s, S),
        templates_per_subject=None,
        genuine_distances=g_dist,
        genuine_subject=g_subject,
        edges=edges,
        impostor_hist=hist.astype(np.int64),
    )
