"""Scan forms generated from the scan request models: one form per kind, the request model
the one validation.

Each field of a kind's request (:data:`audit.scans.REQUESTS`, derived from the registry's spec
less what HTTP refuses) becomes one input, named as the field is in a JSON body:

=================================== ===================================================
field type                          input
=================================== ===================================================
``bool``                            checkbox (a hidden ``false`` before it: unticked is
                                    ``false``, not "not given")
``Literal`` (optional or not)       select of its values (optional: "default" first)
``int`` / ``float``                 number
``list[str]``                       text, comma-separated
anything else (text, paths,         text, as the JSON body would take it in text form
``ATTR=VALUE`` references, samples) (``ATTR=VALUE``, ``objects=0.1,records=100``)
=================================== ===================================================

The description is the help text. A field left empty is not sent (its default applies).
Errors come back keyed by field, with messages naming fields, not command-line flags.
"""

from __future__ import annotations

import re
import types
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal, Union, get_args, get_origin

from pydantic import BaseModel, ValidationError

from audit.kinds import as_fields

__all__ = ["FormErrors", "FormField", "body_of", "form_fields", "validation_errors"]

InputType = Literal["checkbox", "select", "number", "text"]


@dataclass(frozen=True)
class FormField:
    """One input of a scan form."""

    name: str
    label: str
    help: str
    input: InputType
    required: bool
    default: str
    choices: tuple[str, ...] = ()
    is_list: bool = False
    step: str = "any"
    placeholder: str = ""


@dataclass
class FormErrors:
    """What is wrong with a submitted form: per field, and about the form as a whole."""

    fields: dict[str, list[str]] = field(default_factory=dict)
    form: list[str] = field(default_factory=list)

    def __bool__(self) -> bool:
        return bool(self.fields or self.form)

    def add(self, message: str, names: Sequence[str]) -> None:
        """File ``message`` under the field it is about (when it starts with or names one in
        parentheses), else under the form."""
        message = as_fields(message)
        for name in names:
            if re.match(rf"{re.escape(name)}\b(?![-.])", message) or f"({name})" in message:
                self.fields.setdefault(name, []).append(message)
                return
        self.form.append(message)


def _strip_none(annotation: Any) -> tuple[Any, bool]:
    """``X | None`` → ``(X, True)``."""
    origin = get_origin(annotation)
    if origin in (Union, types.UnionType):
        args = [a for a in get_args(annotation) if a is not type(None)]
        if len(args) < len(get_args(annotation)):
            return (args[0] if len(args) == 1 else Union[tuple(args)]), True  # noqa: UP007
    return annotation, False


def _shown(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list | tuple):
        return ", ".join(map(str, value))
    if isinstance(value, dict):
        return ",".join(f"{k}={v}" for k, v in value.items())
    return str(value)


def form_fields(model: type[BaseModel]) -> list[FormField]:
    """The inputs of ``model``'s form, in its field order (``kind`` is the form's own)."""
    out = []
    for name, info in model.model_fields.items():
        if name == "kind":
            continue
        annotation, _ = _strip_none(info.annotation)
        default = None if info.is_required() else info.get_default(call_default_factory=True)
        examples = info.examples or []
        common: dict[str, Any] = {
            "name": name,
            "label": name.replace("_", " "),
            "help": info.description or "",
            "required": info.is_required(),
            "default": _shown(default),
            "placeholder": _shown(examples[0]) if examples and default in (None, [], {}) else "",
        }
        if annotation is bool:
            out.append(FormField(input="checkbox", **common))
        elif get_origin(annotation) is Literal:
            choices = tuple(str(c) for c in get_args(annotation))
            out.append(FormField(input="select", choices=choices, **common))
        elif annotation in (int, float):
            step = "1" if annotation is int else "any"
            out.append(FormField(input="number", step=step, **common))
        elif get_origin(annotation) is list:
            out.append(FormField(input="text", is_list=True, **common))
        else:
            out.append(FormField(input="text", **common))
    return out


def body_of(
    kind: str, fields: Sequence[FormField], form: Mapping[str, list[str]]
) -> dict[str, Any]:
    """The JSON body a submitted form stands for: empty inputs left out, lists split at
    commas, checkboxes ``true``/``false``. Values stay text otherwise: the request model
    parses them, as it would a JSON body's."""
    body: dict[str, Any] = {"kind": kind}
    for f in fields:
        values = form.get(f.name) or []
        if not values:
            continue
        value = values[-1].strip()  # a checkbox's "true" comes after its hidden "false"
        if f.input == "checkbox":
            body[f.name] = value == "true"
        elif not value:
            continue
        elif f.is_list:
            body[f.name] = [v.strip() for v in value.split(",") if v.strip()]
        else:
            body[f.name] = value
    return body


def validation_errors(exc: ValidationError, names: Sequence[str]) -> FormErrors:
    """A request model's validation errors, by field."""
    errors = FormErrors()
    for e in exc.errors():
        msg = str(e["msg"]).removeprefix("Value error, ")
        loc = [str(p) for p in e["loc"]]
        if loc and loc[0] in names:
            detail = ".".join(loc[1:])
            errors.fields.setdefault(loc[0], []).append(
                as_fields(f"{detail}: {msg}" if detail else msg)
            )
        elif loc:
            errors.form.append(as_fields(f"{'.'.join(loc)}: {msg}"))
        else:
            for part in msg.split("; "):  # the request's rules across fields, one per part
                errors.add(part, names)
    return errors
