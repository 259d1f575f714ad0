"""Who and what a report is about: the cover's facts, from ``socialaudit report --meta FILE``.

An audit result knows the model, the data and the numbers; it does not know the organisation,
the system's name and version, the reporting period, who audited it or who signed it off. Those
come from a small YAML file validated like every other config (pydantic, ``extra="forbid"``;
:func:`audit.policy.load_yaml_model`: errors name the file, the line and the key). Without one
the cover says plainly that these facts were not given; nothing is invented.

Example file: ``reports/meta.example.yaml``; fields: ``docs/reports.md``.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from audit.exceptions import ConfigError

__all__ = ["Auditor", "Period", "ReportMeta", "SignOff", "cover", "load_meta", "meta_model"]

_STRICT = ConfigDict(extra="forbid", frozen=True, str_strip_whitespace=True)


class Period(BaseModel):
    """The reporting period the audit covers (inclusive dates)."""

    model_config = _STRICT

    start: dt.date = Field(description="first day covered, YYYY-MM-DD")
    end: dt.date = Field(description="last day covered, YYYY-MM-DD")

    @model_validator(mode="after")
    def _ordered(self) -> Period:
        if self.end < self.start:
            raise ValueError(f"end {self.end} is before start {self.start}")
        return self


class Auditor(BaseModel):
    """Who ran the audit."""

    model_config = _STRICT

    name: str = Field(min_length=1)
    organisation: str | None = None
    contact: str | None = None


class SignOff(BaseModel):
    """Who approved the report, in which role, on which day."""

    model_config = _STRICT

    name: str = Field(min_length=1)
    role: str = Field(min_length=1)
    date: dt.date


class ReportMeta(BaseModel):
    """The cover of a transparency report.

    Attributes
    ----------
    organisation
        The provider whose systems were audited (the DSA's "provider of an online platform").
    system
        The audited system(s), in the provider's words.
    version
        The system's version or release (quote it in YAML: ``"2026.03"``).
    period
        The reporting period: ``start`` and ``end`` dates.
    auditor
        Who ran the audit: ``name``, optional ``organisation`` and ``contact``.
    sign_off
        Who approved the report: ``name``, ``role``, ``date``. Leave it out for a draft: the
        cover then says the report is not signed off.
    title
        The report's title (``--title`` overrides it).
    """

    model_config = _STRICT

    organisation: str = Field(min_length=1)
    system: str = Field(min_length=1)
    version: str = Field(min_length=1)
    period: Period
    auditor: Auditor
    sign_off: SignOff | None = None
    title: str | None = None


def load_meta(path: str | Path) -> ReportMeta:
    """Read and validate a report meta file.

    Raises
    ------
    audit.exceptions.ConfigError
        The file is missing, not YAML, or not a valid report meta; the message names the file,
        the line and the key.
    """
    from audit.policy import load_yaml_model

    meta, _ = load_yaml_model(path, ReportMeta, "report meta")
    return meta


def meta_model(meta: ReportMeta | Mapping[str, Any] | None) -> ReportMeta | None:
    """``meta`` as a :class:`ReportMeta` (a mapping is validated; errors raise ConfigError)."""
    if meta is None or isinstance(meta, ReportMeta):
        return meta
    try:
        return ReportMeta.model_validate(dict(meta))
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(x) for x in first["loc"])
        raise ConfigError(f"report meta: {where}: {first['msg']}") from None


#: The cover's rows when no meta was given: said, not guessed.
MISSING = "not stated (no --meta file was given)"


def cover(meta: ReportMeta | None) -> dict[str, Any]:
    """The cover block of the report model: one ``{label, value}`` row per fact.

    ``given`` says whether a meta file was supplied; ``signed`` whether it has a sign-off.
    """
    if meta is None:
        return {
            "given": False,
            "signed": False,
            "rows": [
                {"label": label, "value": MISSING}
                for label in ("organisation", "system", "version", "period", "auditor")
            ]
            + [{"label": "sign-off", "value": "not signed off"}],
            "note": "No report metadata was given: the organisation, the audited system and "
            "its version, the reporting period, the auditor and the sign-off are not stated. "
            "Pass them with socialaudit report --meta report.yaml.",
        }
    a = meta.auditor
    auditor = a.name + (f", {a.organisation}" if a.organisation else "")
    auditor += f" ({a.contact})" if a.contact else ""
    so = meta.sign_off
    return {
        "given": True,
        "signed": so is not None,
        "rows": [
            {"label": "organisation", "value": meta.organisation},
            {"label": "system", "value": meta.system},
            {"label": "version", "value": meta.version},
            {
                "label": "period",
                "value": f"{meta.period.start.isoformat()} to {meta.period.end.isoformat()}",
            },
            {"label": "auditor", "value": auditor},
            {
                "label": "sign-off",
                "value": f"{so.name}, {so.role}, {so.date.isoformat()}"
                if so
                else "not signed off (draft)",
            },
        ],
        "note": None,
    }
