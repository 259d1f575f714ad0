"""Masked samples keep the shape of a value, never the value; the detector finds nothing in them."""

from __future__ import annotations

import pytest

from audit.pii import mask_value

CASES = [
    ("EMAIL_ADDRESS", "jane.doe@example.com", "j***@e***.com"),
    ("PERSON", "Jane Doe", "J*** D***"),
    ("CREDIT_CARD", "4111 1111 1111 1111", "4*** **** **** ****"),
    ("US_SSN", "363-56-5181", "3**-**-****"),
    ("IP_ADDRESS", "192.168.10.20", "1**.***.**.**"),
    ("IBAN_CODE", "GB96 TUGR 7784 0801 6097 53", "G*** T*** 7*** 0*** 6*** 5***"),
    (
        "STREET_ADDRESS",
        "489 Kyle Stream\nPort Gabriellafort, OH 13700",
        "4*** K*** S*** P*** G***, O*** 1***",
    ),
]


@pytest.mark.parametrize(("etype", "value", "masked"), CASES)
def test_mask_value(etype, value, masked):
    assert mask_value(etype, value) == masked


def test_masked_samples_are_not_pii(detector):
    masked = [mask_value(e, v) for e, v, _ in CASES]
    assert detector.detect(masked) == [[] for _ in masked]
    # ...while the raw values are found.
    raw = [v for _, v, _ in CASES]
    assert all(detector.detect(raw))
