"""Release-gate policies: ``policies/*.yaml`` → validated :class:`Policy` objects.

A policy is a versioned list of checks. Each check reads one metric out of the result documents
the audits write (``groups[].metrics``, ``groups[].impact_ratio``, ``disparities[]``,
``summary[]``, ``moderation.bias_aucs``) and compares it with a threshold, and optionally with
the same number in a baseline (the last release). :mod:`audit.gate` applies a policy; this
module only defines and loads it.

A policy file that fails to load fails loudly — :class:`~audit.exceptions.ConfigError` naming
the file, the line and the key path — and never falls back to defaults: a gate that silently
checked less than its policy says is worse than no gate. The file's SHA-256 is kept so every
gate decision can say exactly which policy it applied.

Format reference: ``docs/gate.md``.

Examples
--------
>>> policy = load_policy("policies/default.yaml")  # doctest: +SKIP
>>> policy.ref, len(policy.sha256)  # doctest: +SKIP
('default@1.1.0', 64)
"""

from __future__ import annotations

import difflib
import hashlib
import types
import typing
from pathlib import Path
from typing import Annotated, Any, Literal, TypeVar, Union

import yaml
from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    PrivateAttr,
    ValidationError,
    field_validator,
    model_validator,
)

from audit.exceptions import ConfigError
from audit.kinds import KINDS, Aggregation

__all__ = [
    "AGGREGATIONS",
    "BIAS_AUC_BLOCK_METRICS",
    "BIAS_AUC_GROUP_METRICS",
    "KINDS",
    "LANGUAGE",
    "Change",
    "Check",
    "Policy",
    "load_policy",
    "load_yaml_model",
    "unknown_metrics",
]

InsufficientRule = Literal["fail", "warn", "pass"]
DecideOn = Literal["point", "interval", "interval_strict"]
Multiplicity = Literal["none", "holm", "bonferroni"]
NoDecisionRule = Literal["no_decision", "pass", "block"]

AGGREGATIONS: tuple[str, ...] = typing.get_args(Aggregation)

#: ``bias_auc`` metrics read per group from ``moderation.bias_aucs[].groups[]``.
BIAS_AUC_GROUP_METRICS = ("subgroup_auc", "bpsn_auc", "bnsp_auc")
#: ``bias_auc`` metrics read once per attribute from ``moderation.bias_aucs[]``.
BIAS_AUC_BLOCK_METRICS = (
    "overall_auc",
    "final_score",
    *(f"generalized_mean_{m}" for m in BIAS_AUC_GROUP_METRICS),
)

#: In ``attributes``, stands for the result's language column (``settings.language``), whatever
#: the audit called it — so one DSA policy fits every moderation audit.
LANGUAGE = "@language"

_ID = r"^[A-Za-z0-9][A-Za-z0-9_.-]*$"


def _known_kind(kind: str) -> str:
    # The kinds a check may name are the registry's (audit.kinds.KINDS, re-exported here).
    if kind not in KINDS:
        raise ValueError(f"unknown audit kind {kind!r}: one of {', '.join(KINDS)}")
    return kind


#: An audit kind's name, checked against the registry.
Kind = Annotated[str, AfterValidator(_known_kind)]


class Change(BaseModel):
    """A change threshold: how much worse than the baseline the metric may get.

    ``relative: false`` measures the worsening in the metric's own units (0.02 = two points of
    a rate); ``relative: true`` as a fraction of the baseline value (0.05 = 5 % worse).
    """

    model_config = ConfigDict(extra="forbid")

    direction: Literal["higher_is_better", "lower_is_better"]
    max_worsening: float = Field(ge=0, allow_inf_nan=False)
    relative: bool = False


class Check(BaseModel):
    """One check of a policy (see ``docs/gate.md`` for every field)."""

    model_config = ConfigDict(extra="forbid")

    id: str = Field(pattern=_ID)
    description: str = ""
    source: str = Field(min_length=1, description="where the threshold comes from")
    kinds: list[Kind] = Field(min_length=1)
    metric: str = Field(min_length=1)
    aggregation: Aggregation
    attributes: list[str | list[str]] | None = None
    min: float | None = Field(None, allow_inf_nan=False)
    max: float | None = Field(None, allow_inf_nan=False)
    change: Change | None = None
    min_group_size: int = Field(0, ge=0)
    severity: Literal["block", "warn"] = "block"
    decide_on: DecideOn = "point"
    multiplicity: Multiplicity = "none"
    insufficient: InsufficientRule | None = None

    @field_validator("attributes")
    @classmethod
    def _attribute_names(cls, v: list[str | list[str]] | None) -> list[str | list[str]] | None:
        if v is None:
            return v
        if not v:
            raise ValueError("attributes must list at least one attribute (or be left out)")
        for a in v:
            if isinstance(a, str) and a.startswith("@") and a != LANGUAGE:
                raise ValueError(f"unknown attribute placeholder {a!r}; the only one is {LANGUAGE}")
            if isinstance(a, list) and len(a) < 2:
                raise ValueError("an intersection lists two or more attributes, e.g. [race, sex]")
        return v

    @model_validator(mode="after")
    def _consistent(self) -> Check:
        if self.min is None and self.max is None and self.change is None:
            raise ValueError("give a threshold: min, max or change (or several)")
        if self.min is not None and self.max is not None and self.min > self.max:
            raise ValueError(f"min ({self.min}) is above max ({self.max})")
        if self.multiplicity != "none":
            if self.decide_on == "point":
                raise ValueError(
                    f"multiplicity: {self.multiplicity} adjusts interval decisions; "
                    "use it with decide_on: interval or interval_strict"
                )
            if self.min is None and self.max is None:
                raise ValueError(
                    f"multiplicity: {self.multiplicity} adjusts min/max decisions; "
                    "this check has only a change threshold"
                )
        if self.aggregation == "bias_auc":
            known = (*BIAS_AUC_GROUP_METRICS, *BIAS_AUC_BLOCK_METRICS)
            if self.metric not in known:
                raise ValueError(
                    f"aggregation bias_auc reads one of {', '.join(known)}; got {self.metric!r}"
                )
        return self


class Policy(BaseModel):
    """A release-gate policy: an id, a version and its checks.

    ``insufficient`` says how a check that cannot be judged for lack of evidence counts:
    ``fail`` (as a failure of that check, so a ``block`` check blocks), ``warn`` (the default:
    reported, never blocks) or ``pass`` (reported, ignored). A check may override it.

    ``on_no_decision`` says what happens when nothing blocks but no blocking check could be
    judged either (every outcome INSUFFICIENT or skipped): ``no_decision`` (the default: the
    verdict NO DECISION, exit code 3), ``pass`` (exit 0) or ``block`` (exit 1).

    ``custom_metrics`` names the per-group metrics the audits compute with
    ``--metric NAME=module:function`` (classification and moderation): a check may read them
    with ``per_group`` or ``worst_group``. Every other metric name must be one the audits of the
    check's kinds produce for its aggregation (:func:`unknown_metrics`, checked by
    :func:`load_policy`).
    """

    model_config = ConfigDict(extra="forbid")

    id: str = Field(pattern=_ID)
    version: str = Field(min_length=1)
    description: str = ""
    insufficient: InsufficientRule = "warn"
    on_no_decision: NoDecisionRule = "no_decision"
    custom_metrics: list[str] = Field(default_factory=list)
    checks: list[Check] = Field(min_length=1)

    _path: str | None = PrivateAttr(None)
    _sha256: str | None = PrivateAttr(None)

    @field_validator("version", mode="before")
    @classmethod
    def _version_text(cls, v: Any) -> Any:
        if isinstance(v, bool):
            return v
        if isinstance(v, int):
            return str(v)
        if isinstance(v, float):
            raise ValueError(f"write the version in quotes, e.g. '{v}' (YAML reads 1.10 as 1.1)")
        return v

    @model_validator(mode="after")
    def _unique_ids(self) -> Policy:
        seen: set[str] = set()
        for c in self.checks:
            if c.id in seen:
                raise ValueError(f"two checks have the id {c.id!r}; ids must be unique")
            seen.add(c.id)
        return self

    @property
    def ref(self) -> str:
        """``id@version``, as printed next to every check."""
        return f"{self.id}@{self.version}"

    @property
    def sha256(self) -> str | None:
        """SHA-256 of the policy file's bytes (``None`` for a policy built in code)."""
        return self._sha256

    @property
    def path(self) -> str | None:
        """The file the policy was loaded from, as given."""
        return self._path


def load_policy(path: str | Path) -> Policy:
    """Load and validate a policy file.

    Besides the format, every check's metric must be one the audits of its kinds produce for
    its aggregation (:func:`unknown_metrics`): a misspelt metric would otherwise be a check
    that can never be judged.

    Raises
    ------
    ConfigError
        The file is missing, is not YAML, or does not follow the policy format, or a check names
        a metric its audits do not produce; the message names the file, the line and the key
        path of every problem (and, for a metric, the closest known name and the known ones).
    """
    policy, raw = load_yaml_model(path, Policy, "policy")
    problems = unknown_metrics(policy)
    if problems:
        root = yaml.compose(raw.decode("utf-8"), Loader=yaml.SafeLoader)
        lines = []
        for loc, msg in problems:
            line = _walk(root, loc)[0].start_mark.line + 1 if root is not None else 0
            lines.append((line, f"{path}, line {line}: {_key_path(loc)}: {msg}"))
        raise ConfigError("\n".join(text for _, text in sorted(lines)))
    policy._path = str(path)
    policy._sha256 = hashlib.sha256(raw).hexdigest()
    return policy


def _known_names(kind: str, aggregation: Aggregation) -> list[str]:
    from audit.kinds import REGISTRY

    return sorted(REGISTRY[kind].policy_metrics().names(aggregation))


def _produces(kind: str, aggregation: Aggregation, metric: str) -> bool:
    """Whether the audits of ``kind`` produce ``metric`` where ``aggregation`` reads (user
    ``--metric`` ones aside: those a policy declares in ``custom_metrics``)."""
    from dataclasses import replace

    from audit.kinds import REGISTRY

    metrics = replace(REGISTRY[kind].policy_metrics(), custom_group_metrics=False)
    return metrics.accepts(aggregation, metric)


def unknown_metrics(policy: Policy) -> list[tuple[tuple[Any, ...], str]]:
    """Every check whose metric its kinds' audits cannot produce, as ``(key path, message)``.

    The names come from the audit-kind registry (each kind's ``policy_metrics``, derived from
    its engine's metric tables: :data:`audit.metrics.RATES`, ``SUMMARIES``, the ranking, ads,
    face and PII tables), so this list is never typed a second time. A name in the policy's
    ``custom_metrics`` passes for ``per_group``/``worst_group`` checks on kinds that compute
    ``--metric`` ones (classification, moderation).
    """
    from audit.kinds import REGISTRY

    out: list[tuple[tuple[Any, ...], str]] = []
    custom = set(policy.custom_metrics)
    for i, check in enumerate(policy.checks):
        agg, metric = check.aggregation, check.metric
        for kind in check.kinds:
            if _produces(kind, agg, metric):
                continue
            per_group = agg in ("per_group", "worst_group")
            if metric in custom and per_group:
                if REGISTRY[kind].policy_metrics().custom_group_metrics:
                    continue
                out.append(
                    (
                        ("checks", i, "metric"),
                        f"custom metric {metric!r} for {kind}: only the audits of "
                        + ", ".join(
                            k
                            for k, e in REGISTRY.items()
                            if e.policy_metrics().custom_group_metrics
                        )
                        + " compute --metric ones",
                    )
                )
                break
            known = _known_names(kind, agg)
            msg = f"unknown metric {metric!r} for {kind} ({agg.replace('_', ' ')})"
            hint = difflib.get_close_matches(metric, known, n=1, cutoff=0.7)
            elsewhere = [a for a in AGGREGATIONS if a != agg and _produces(kind, a, metric)]  # type: ignore[arg-type]
            if hint:
                msg += f" (did you mean {hint[0]!r}?)"
            elif elsewhere:
                msg += f" (it is read with aggregation: {' or '.join(elsewhere)})"
            elif per_group and REGISTRY[kind].policy_metrics().custom_group_metrics:
                msg += " (a metric of your own from --metric? list it in custom_metrics)"
            msg += f"; known: {', '.join(known) if known else 'none'}"
            out.append((("checks", i, "metric"), msg))
            break  # one message per check
    return out


# --- YAML with line numbers ---------------------------------------------------------------

M = TypeVar("M", bound=BaseModel)


def load_yaml_model(path: str | Path, model: type[M], what: str) -> tuple[M, bytes]:
    """Read a YAML file into ``model``; errors name the file, line and key path.

    Returns the validated model and the file's bytes (for hashing).
    """
    p = Path(path)
    try:
        raw = p.read_bytes()
    except FileNotFoundError:
        raise ConfigError(f"{what} file not found: {path}") from None
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read the {what} file ({exc.strerror})") from None
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise ConfigError(f"{path}: not a {what} file (not UTF-8 text; expected YAML)") from None
    loader = yaml.SafeLoader(text)
    try:
        node = loader.get_single_node()
        data = loader.construct_document(node) if node is not None else None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        problem = getattr(exc, "problem", None) or str(exc)
        where = f", line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        raise ConfigError(f"{path}{where}: not valid YAML: {problem}") from None
    finally:
        loader.dispose()
    if node is None:
        raise ConfigError(f"{path}: the {what} file is empty")
    if not isinstance(data, dict):
        raise ConfigError(
            f"{path}, line {node.start_mark.line + 1}: a {what} file must be a YAML mapping "
            f"of keys (id:, version:, ...), found {type(data).__name__}"
        )
    _reject_duplicate_keys(node, path)
    try:
        return model.model_validate(data), raw
    except ValidationError as exc:
        raise ConfigError(_format_errors(exc, node, path, model)) from None


def _reject_duplicate_keys(node: yaml.Node, path: str | Path) -> None:
    # PyYAML keeps the last of two equal keys without a word; in a policy that silently drops
    # a threshold.
    if isinstance(node, yaml.MappingNode):
        seen: dict[Any, int] = {}
        for key, value in node.value:
            if isinstance(key, yaml.ScalarNode):
                line = key.start_mark.line + 1
                if key.value in seen:
                    raise ConfigError(
                        f"{path}, line {line}: duplicate key {key.value!r} "
                        f"(first given on line {seen[key.value]})"
                    )
                seen[key.value] = line
            _reject_duplicate_keys(value, path)
    elif isinstance(node, yaml.SequenceNode):
        for item in node.value:
            _reject_duplicate_keys(item, path)


def _walk(node: yaml.Node, loc: tuple[Any, ...]) -> tuple[yaml.Node, int]:
    """The deepest node along ``loc`` and how many loc items it consumed."""
    for depth, part in enumerate(loc):
        nxt = None
        if isinstance(node, yaml.MappingNode) and isinstance(part, str):
            pair = next((kv for kv in node.value if getattr(kv[0], "value", None) == part), None)
            if pair is not None and depth == len(loc) - 1:
                return pair[0], depth + 1  # the key's line, even when its value is a block
            nxt = pair[1] if pair is not None else None
        elif isinstance(node, yaml.SequenceNode) and isinstance(part, int):
            nxt = node.value[part] if 0 <= part < len(node.value) else None
        if nxt is None:
            return node, depth
        node = nxt
    return node, len(loc)


def _without_tags(root: yaml.Node, loc: tuple[Any, ...]) -> tuple[Any, ...]:
    """``loc`` less the tags pydantic adds for a union told apart by ``kind``:
    ``audits.0.face.groups`` → ``audits.0.groups``, the path the user wrote."""
    out: list[Any] = []
    node: yaml.Node | None = root
    for part in loc:
        if isinstance(node, yaml.MappingNode) and isinstance(part, str):
            pairs = {getattr(k, "value", None): v for k, v in node.value}
            kind = pairs.get("kind")
            if part not in pairs and isinstance(kind, yaml.ScalarNode) and kind.value == part:
                continue
            node = pairs.get(part)
        elif isinstance(node, yaml.SequenceNode) and isinstance(part, int):
            node = node.value[part] if 0 <= part < len(node.value) else None
        else:
            node = None
        out.append(part)
    return tuple(out)


def _key_path(loc: tuple[Any, ...]) -> str:
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


def _unwrap(annotation: Any) -> list[Any]:
    """The BaseModel / list types inside ``X | None``, ``Annotated[X, ...]`` and friends."""
    origin = typing.get_origin(annotation)
    if origin is Annotated:
        return _unwrap(typing.get_args(annotation)[0])
    if origin in (Union, types.UnionType):
        return [t for a in typing.get_args(annotation) for t in _unwrap(a)]
    return [annotation]


def _tagged(candidates: list[Any], tag: str) -> Any:
    """The member of a union told apart by ``kind`` whose kind is ``tag``, if any."""
    for t in candidates:
        is_model = isinstance(t, type) and issubclass(t, BaseModel)
        if is_model and "kind" in t.model_fields and t.model_fields["kind"].default == tag:
            return t
    return None


def _fields_at(model: type[BaseModel], loc: tuple[Any, ...]) -> list[str] | None:
    """Field names of the model found at ``loc`` (to suggest a fix for an unknown key)."""
    current: Any = model
    for part in loc:
        if isinstance(part, int):
            if typing.get_origin(current) is not list:
                return None
            current = typing.get_args(current)[0]
            continue
        members = _unwrap(current)
        if len(members) > 1 and (member := _tagged(members, part)) is not None:
            current = member  # the tag of a union, not a key
            continue
        current = members[0] if len(members) == 1 else current
        if not (isinstance(current, type) and issubclass(current, BaseModel)):
            return None
        field = current.model_fields.get(part)
        if field is None:
            return None
        candidates = [
            t
            for t in _unwrap(field.annotation)
            if typing.get_origin(t) is list or (isinstance(t, type) and issubclass(t, BaseModel))
        ]
        if not candidates:
            return None
        current = candidates[0]
    if isinstance(current, type) and issubclass(current, BaseModel):
        return list(current.model_fields)
    return None


def _format_errors(
    exc: ValidationError, root: yaml.Node, path: str | Path, model: type[BaseModel]
) -> str:
    lines: list[tuple[int, str]] = []
    for err in exc.errors():
        tagged = tuple(err["loc"])
        loc = _without_tags(root, tagged)
        node, used = _walk(root, loc)
        # Union members add their type name to the loc (``reference.str``); drop what lies
        # below a YAML scalar, it names no key the user wrote.
        if err["type"] != "missing" and used < len(loc) and isinstance(node, yaml.ScalarNode):
            loc = loc[:used]
        line = node.start_mark.line + 1
        key = _key_path(loc)
        msg = err["msg"].removeprefix("Value error, ")
        if err["type"] == "extra_forbidden":
            name = str(loc[-1])
            allowed = _fields_at(model, tagged[:-1]) or []
            hint = difflib.get_close_matches(name, allowed, n=1)
            msg = f"unknown key {name!r}"
            if hint:
                msg += f" (did you mean {hint[0]!r}?)"
            if allowed:
                msg += f"; allowed keys: {', '.join(allowed)}"
        elif err["type"] == "missing":
            msg = f"missing required key {str(loc[-1])!r}"
        elif err["type"] == "union_tag_not_found":
            msg = f"missing required key {err['ctx']['discriminator']}"
        elif err["type"] == "union_tag_invalid":
            ctx = err["ctx"]
            by = str(ctx["discriminator"]).strip("'")
            msg = f"unknown {by} {ctx['tag']!r}: one of {ctx['expected_tags']}"
        elif not isinstance(err.get("input"), dict | list) and "input" in err:
            msg = f"{msg}, got {err['input']!r}"
        lines.append((line, f"{path}, line {line}: {key}: {msg}" if key else f"{path}: {msg}"))
    lines.sort(key=lambda t: t[0])
    return "\n".join(dict.fromkeys(text for _, text in lines))
