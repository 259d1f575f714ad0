"""Scan requests: one pydantic model per kind, validated once, at the boundary (``POST /scans``).

An audit kind's request is derived from its registry entry (:mod:`audit.kinds`): the kind's
spec, less the fields HTTP refuses (running code or writing files on the server), with the
HTTP limits, plus ``policy``. A request is valid exactly when the spec it runs is: the spec's
cross-field rules are applied by building it (:meth:`AuditRequest.to_spec`). ``inventory`` is a
scan-only kind (a dry run of the fan-out), declared here.

Fields that name files are marked on the spec (:class:`audit.kinds.File`): :func:`input_files`,
:func:`server_files` and :func:`output_places` list them for the checks at submit.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Mapping
from typing import TYPE_CHECKING, Annotated, Any, ClassVar, Literal, Protocol, Self, Union

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    TypeAdapter,
    ValidationError,
    create_model,
    model_validator,
)
from pydantic.fields import FieldInfo

from audit.exceptions import ConfigError
from audit.kinds import (
    MAX_RESAMPLES,
    REGISTRY,
    AuditKind,
    File,
    KindSpec,
    Registry,
    file_fields,
    format_validation_error,
)
from audit.kinds._wording import http_description
from audit.kinds.recommendation import BUILT_IN_RECOMMENDERS
from audit.scans._examples import field_example

__all__ = [
    "HTTP_RECOMMENDERS",
    "KINDS",
    "MAX_RESAMPLES",
    "REQUESTS",
    "AuditRequest",
    "InventoryScan",
    "PiiScan",
    "ScanBase",
    "ScanRequest",
    "input_files",
    "output_places",
    "parse_request",
    "request_model",
    "request_models",
    "request_union",
    "server_files",
]

#: Longest a source URI, a file path or a policy may be in a request; other text (column
#: names, names); most items in a list or mapping field (columns, reference).
_MAX_URI = 2048
_MAX_NAME = 256
_MAX_ITEMS = 32

#: The recommenders ``model`` may name over HTTP.
HTTP_RECOMMENDERS = BUILT_IN_RECOMMENDERS

#: Why ``out`` is refused for every kind.
_STORED = "the result is stored with the scan"


class ScanBase(BaseModel):
    """What every scan request has: its kind, an optional name and policy."""

    model_config = ConfigDict(extra="forbid")

    kind: str
    name: str | None = Field(
        default=None,
        max_length=_MAX_NAME,
        description="name of the scan (shown in the scan list; filter on it with ?name=)",
        examples=["weekly audit"],
    )
    policy: Annotated[str | None, File("config")] = Field(
        default=None,
        max_length=_MAX_URI,
        description="release-gate policy to apply to the result (a file shipped with the app)",
        examples=["policies/default.yaml"],
    )


class InventoryScan(ScanBase):
    """Count what a source holds — records, bytes, text lengths, unreadable lines.

    A cheap dry run before a PII scan, and the kind the fan-out is tested with.
    """

    kind: Literal["inventory"]
    source: Annotated[str, File("input")] = Field(
        min_length=1,
        max_length=_MAX_URI,
        description="s3://bucket/prefix/ (or a local file or folder in local mode)",
        examples=["/srv/socialaudit/data/posts/"],
    )
    text_field: str = Field(
        "text",
        min_length=1,
        max_length=_MAX_NAME,
        description="record field (dotted path)",
        examples=["text"],
    )


class _SourceScan(Protocol):
    """What the fan-out plans from: a source of records (``inventory``, ``pii``)."""

    @property
    def source(self) -> str: ...

    @property
    def text_field(self) -> str: ...


def _strings(value: Any) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, list | tuple):
        return [s for v in value for s in _strings(v)]
    if isinstance(value, dict):
        return [s for kv in value.items() for v in kv for s in _strings(v)]
    return []


class AuditRequest(ScanBase):
    """A scan that runs an audit kind: its spec's fields, less those HTTP refuses."""

    #: The kind the request runs (set on each derived model).
    audit_kind: ClassVar[AuditKind[Any]]
    #: Field → why HTTP refuses it.
    refused: ClassVar[Mapping[str, str]] = {}

    @model_validator(mode="before")
    @classmethod
    def _refuse(cls, data: Any) -> Any:
        # Named and explained, rather than "extra inputs are not permitted".
        if isinstance(data, dict):
            for key, why in cls.refused.items():
                if key in data:
                    raise ValueError(f"{key} is not accepted over HTTP: {why}")
        return data

    @model_validator(mode="after")
    def _fits(self) -> Self:
        files = {*file_fields(type(self), "input"), *file_fields(type(self), "config")}
        for name in type(self).model_fields:
            value = getattr(self, name)
            if isinstance(value, list | dict) and len(value) > _MAX_ITEMS:
                raise ValueError(f"{name}: at most {_MAX_ITEMS} items over HTTP")
            limit = _MAX_URI if name in files else _MAX_NAME
            if any(len(s) > limit for s in _strings(value)):
                raise ValueError(f"{name}: at most {limit} characters over HTTP")
        check = self.audit_kind.http.check
        if check is not None:
            check(self)
        try:
            self.to_spec()
        except ValidationError as exc:  # a rule across fields (the fields are checked above)
            problems = []
            for e in exc.errors():
                msg = e["msg"].removeprefix("Value error, ")
                problems.append(f"{'.'.join(map(str, e['loc']))}: {msg}" if e["loc"] else msg)
            raise ValueError("; ".join(problems)) from None
        return self

    def to_spec(self) -> KindSpec:
        """The spec this request runs: its fields, and the refused ones fixed or defaulted."""
        values = self.model_dump(exclude={"policy"})
        values.update(self.audit_kind.http.fixed)
        return self.audit_kind.spec.model_validate(values)


def _camel(name: str) -> str:
    return "".join(part.capitalize() for part in re.split(r"[_\W]+", name) if part)


def request_model(entry: AuditKind[Any]) -> type[AuditRequest]:
    """The scan request of ``entry``'s kind, derived from its spec and HTTP rules."""
    rules = entry.http
    refused = {"out": _STORED, **rules.refused}
    fields: dict[str, Any] = {}
    for name, info in entry.spec.model_fields.items():
        if name in refused or (name in ScanBase.model_fields and name != "kind"):
            continue
        extra: dict[str, Any] = dict(rules.limits.get(name, {}))
        if name == "resamples":
            extra.setdefault("le", rules.max_resamples)
        # Issue 16: described and exemplified for HTTP (fields, not flags, in the wording).
        text = rules.described.get(name, info.description or "")
        extra["description"] = http_description(name, info, text)
        default = None if info.is_required() else info.get_default(call_default_factory=True)
        example = field_example(entry.name, name, default)
        if example is not None:
            extra["examples"] = [example]
        if extra:
            info = FieldInfo.merge_field_infos(info, Field(**extra))
        annotation: Any = info.annotation
        if name in rules.field_checks:
            annotation = Annotated[annotation, AfterValidator(rules.field_checks[name])]
        fields[name] = (annotation, info)
    notes = "".join(f"\n* ``{k}``: {why}" for k, why in refused.items())
    model = create_model(
        f"{_camel(entry.name)}Scan",
        __base__=AuditRequest,
        __module__=__name__,
        __doc__=f"{entry.description}\n\nNot accepted over HTTP:{notes}",
        **fields,
    )
    model.audit_kind = entry
    model.refused = refused
    return model


def request_models(registry: Registry = REGISTRY) -> dict[str, type[ScanBase]]:
    """Scan kind → request model: ``inventory`` and every audit kind of ``registry``."""
    return {"inventory": InventoryScan, **{n: request_model(e) for n, e in registry.items()}}


def request_union(models: Mapping[str, type[ScanBase]]) -> Any:
    """The body of ``POST /scans``: one of ``models``, chosen by ``kind``."""
    return Annotated[Union[tuple(models.values())], Field(discriminator="kind")]  # noqa: UP007


#: Scan kind → its request model.
REQUESTS: Mapping[str, type[ScanBase]] = request_models()
#: Kinds a scan can be: ``inventory`` and the audit kinds (:data:`audit.kinds.KINDS`).
KINDS: tuple[str, ...] = tuple(REQUESTS)

if TYPE_CHECKING:
    ScanRequest = ScanBase
    # The PII fan-out reads the spec's fields off its request.
    from audit.kinds.pii import PiiSpec as PiiScan
else:
    ScanRequest = request_union(REQUESTS)
    PiiScan = REQUESTS["pii"]


@functools.cache
def _request_adapter() -> TypeAdapter[ScanBase]:
    # Built on first use, not at import: the API's cold start does not need it.
    return TypeAdapter(ScanRequest)


def parse_request(body: Any) -> ScanBase:
    """Validate a scan request (a dict as sent to ``POST /scans``).

    Raises
    ------
    ConfigError
        One line per problem, naming the field.
    """
    try:
        return _request_adapter().validate_python(body)
    except ValidationError as exc:
        raise ConfigError(format_validation_error(exc, "request")) from None


def _named(request: ScanBase, role: Literal["input", "output", "config"]) -> list[tuple[str, str]]:
    out = []
    for name in file_fields(type(request), role):
        value = getattr(request, name, None)
        if value:
            out.append((name, str(value)))
    return out


def input_files(request: ScanBase) -> list[tuple[str, str]]:
    """``(field, path or URI)`` of every input a request names (HTTP(S) models excluded)."""
    return [
        (n, v) for n, v in _named(request, "input") if not v.startswith(("http://", "https://"))
    ]


def server_files(request: ScanBase) -> list[tuple[str, str]]:
    """``(field, path)`` of the files on the server a request names (policy, PII config)."""
    return _named(request, "config")


def output_places(request: ScanBase) -> list[tuple[str, str]]:
    """``(field, folder or URI)`` of every place a request's scan writes besides its result."""
    return _named(request, "output")
