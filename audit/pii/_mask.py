"""Masked samples: enough of a value to recognise its shape, never the value.

Macie shows up to a few occurrences of each finding; we show masked ones only. Every letter
and digit is replaced by ``*`` except the first character of each word (and, for e-mail, of
the local part and of the domain, keeping the top-level domain), so ``jane.doe@example.com``
becomes ``j***@e***.com`` and ``4111 1111 1111 1111`` becomes ``4*** **** **** ****``. A
masked sample carries at most one real character per word: a test runs the detector over every
output and finds nothing.
"""

from __future__ import annotations

import re

__all__ = ["mask_value"]

_WORDISH = re.compile(r"[^\W_]+")


def _stars(word: str) -> str:
    return word[:1] + "*" * 3 if len(word) > 1 else word


def mask_value(entity_type: str, value: str) -> str:
    """Mask a detected value for display.

    Parameters
    ----------
    entity_type
        The detected type; e-mail addresses keep their shape (``j***@e***.com``).
    value
        The raw value. It is not stored anywhere by this function.

    Returns
    -------
    str
        The masked sample.

    Examples
    --------
    >>> mask_value("EMAIL_ADDRESS", "jane.doe@example.com")
    'j***@e***.com'
    >>> mask_value("PERSON", "Jane Doe")
    'J*** D***'
    >>> mask_value("CREDIT_CARD", "4111 1111 1111 1111")
    '4*** **** **** ****'
    """
    if entity_type == "EMAIL_ADDRESS" and "@" in value:
        local, _, domain = value.rpartition("@")
        labels = domain.split(".")
        tld = labels[-1] if len(labels) > 1 and labels[-1].isalpha() else ""
        masked_domain = _stars(labels[0]) + (f".{tld}" if tld else "")
        return f"{_stars(local)}@{masked_domain}"
    if any(ch.isdigit() for ch in value) and not any(ch.isalpha() for ch in value):
        # Numbers: keep the first digit and the grouping, star every other digit.
        first = True
        out = []
        for ch in value:
            if ch.isdigit():
                out.append(ch if first else "*")
                first = False
            else:
                out.append(ch)
        return "".join(out)
    masked = _WORDISH.sub(lambda m: _stars(m.group(0)), value)
    return masked.replace("\n", " ")
