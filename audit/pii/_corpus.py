"""A labelled PII corpus: presidio-evaluator's templates and identities, filled with Faker.

The raw data comes from the PyPI package ``presidio-evaluator==0.3.2`` (MIT;
``scripts/fetch_pii_corpus.py`` extracts it into ``.cache/samples/pii/``): 209 sentence
templates with ``{{placeholder}}`` slots and 3,000 fake identities, each with a ``Gender`` and a
``NameSet`` (the name culture, 24 of them). Filling the templates records the exact character
span of every planted value, so detection can be scored span by span, and every planted name
carries its identity's name set and gender, so PERSON recall can be broken down by them — a
bias audit of the detector itself.

To resemble stored social posts rather than support-desk messages, a share of the posts is
wrapped in slang, hashtags and emoji, and a share carries no PII at all.

Everything is seeded, and nothing reads the clock: the same raw data, ``n`` and ``seed`` give a
byte-identical corpus on any day. (Faker's own ``date_time()``, ``date_of_birth()``, ``year()``
and ``day_of_week()`` draw up to *now*, so a corpus made with them drifts from one day to the
next; the date slots here are drawn between fixed bounds around :data:`REFERENCE_DATE`.)
"""

from __future__ import annotations

import csv
import json
import random
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Any

from audit.exceptions import DataError

__all__ = [
    "EVAL_ENTITIES",
    "REFERENCE_DATE",
    "Identity",
    "LabelledPost",
    "RawData",
    "Span",
    "card_number",
    "generate_corpus",
    "load_raw_data",
    "read_corpus",
    "write_corpus",
]

#: Entity types the generator labels (and ``pii-eval`` scores).
EVAL_ENTITIES = (
    "PERSON",
    "EMAIL_ADDRESS",
    "PHONE_NUMBER",
    "CREDIT_CARD",
    "IBAN_CODE",
    "IP_ADDRESS",
    "US_SSN",
    "STREET_ADDRESS",
    "LOCATION",
)

_SLOT = re.compile(r"\{\{([a-z_]+)\}\}")
_STREET = "{{building_number}} {{street_name}}"

#: The entity type each labelled slot plants (other slots are filled but not labelled).
_SLOT_TYPES = {
    **dict.fromkeys(
        (
            "person",
            "name",
            "name_female",
            "name_male",
            "first_name",
            "first_name_female",
            "first_name_male",
            "first_name_nonbinary",
            "last_name",
            "last_name_female",
            "last_name_male",
        ),
        "PERSON",
    ),
    "email": "EMAIL_ADDRESS",
    "phone_number": "PHONE_NUMBER",
    "credit_card_number": "CREDIT_CARD",
    "iban": "IBAN_CODE",
    "ip_address": "IP_ADDRESS",
    "ssn": "US_SSN",
    "address": "STREET_ADDRESS",
    "street_address": "STREET_ADDRESS",
    "street_name": "LOCATION",
    "city": "LOCATION",
    "country": "LOCATION",
}

_SLANG = ("omg", "lol", "ngl", "tbh", "smh", "ikr", "fyi", "lmao", "idk", "btw", "ugh", "yo")
_TAGS = ("#mondaymood", "#weekendvibes", "#blessed", "#fail", "#help", "#tbt", "#nofilter")
_EMOJI = ("😂", "🙏", "🔥", "😭", "💯", "🙄", "✨", "👀")
_FILLER = (
    "can't believe it's monday again",
    "this coffee tho",
    "who else is watching the game tonight",
    "gym at 6am, send help",
    "new phone who dis",
    "finally finished that series, no spoilers pls",
    "rain AGAIN. great.",
    "best pizza in town, no contest",
    "Anyone else's wifi down?",
    "Happy Friday everyone!",
    "dm me for the link",
    "That concert last night was unreal",
    "Monday motivation: just survive",
    "my cat knocked the plant over again",
    "Traffic on the bridge is insane rn",
)


@dataclass(frozen=True)
class Span:
    """One planted value: its type, character offsets and, for names, who it belongs to."""

    entity_type: str
    start: int
    end: int
    name_set: str | None = None
    gender: str | None = None


@dataclass(frozen=True)
class LabelledPost:
    """A generated post and the spans of every PII value planted in it."""

    text: str
    spans: tuple[Span, ...] = ()
    template: int | None = None

    def as_dict(self) -> dict[str, Any]:
        return {
            "text": self.text,
            "template": self.template,
            "spans": [{k: v for k, v in s.__dict__.items() if v is not None} for s in self.spans],
        }


@dataclass(frozen=True)
class Identity:
    """One fake person from ``FakeNameGenerator.com_3000.csv``."""

    given: str
    surname: str
    middle: str
    gender: str
    name_set: str
    email: str
    city: str

    @property
    def full(self) -> str:
        return f"{self.given} {self.surname}"


@dataclass
class RawData:
    """The presidio-evaluator raw files, parsed."""

    templates: list[str]
    identities: list[Identity]
    organizations: list[str] = field(default_factory=list)
    nationalities: list[dict[str, str]] = field(default_factory=list)


def load_raw_data(folder: str | Path) -> RawData:
    """Read the raw files extracted by ``scripts/fetch_pii_corpus.py``.

    Raises
    ------
    DataError
        When a file is missing (with the command that fetches it).
    """
    d = Path(folder)
    need = ("templates.txt", "FakeNameGenerator.com_3000.csv")
    for name in need:
        if not (d / name).is_file():
            raise DataError(
                f"missing {name}; run `python scripts/fetch_pii_corpus.py --cache {d}` first",
                file=str(d / name),
            )
    templates = []
    for line in (d / "templates.txt").read_text(encoding="utf-8").splitlines():
        line = line.strip()
        if line:
            # The file writes line breaks inside a template as a literal backslash-n.
            templates.append(line.replace("\\n", "\n").replace("\\,", ","))
    identities = []
    with open(d / "FakeNameGenerator.com_3000.csv", encoding="utf-8-sig", newline="") as fh:
        for row in csv.DictReader(fh):
            identities.append(
                Identity(
                    given=row["GivenName"].strip(),
                    surname=row["Surname"].strip(),
                    middle=row["MiddleInitial"].strip(),
                    gender=row["Gender"].strip().lower(),
                    name_set=row["NameSet"].strip(),
                    email=row["EmailAddress"].strip(),
                    city=row["City"].strip(),
                )
            )
    orgs: list[str] = []
    if (d / "companies_and_organizations.csv").is_file():
        with open(d / "companies_and_organizations.csv", encoding="utf-8-sig", newline="") as fh:
            orgs = [r["organization"].strip() for r in csv.DictReader(fh) if r["organization"]]
    nats: list[dict[str, str]] = []
    if (d / "nationalities.csv").is_file():
        with open(d / "nationalities.csv", encoding="utf-8-sig", newline="") as fh:
            nats = list(csv.DictReader(fh))
    return RawData(templates, identities, orgs, nats)


# --- payment cards --------------------------------------------------------------------------

#: (brand, prefixes, length, grouping) — IIN ranges as published by the card schemes.
_CARD_BRANDS: tuple[tuple[str, tuple[str, ...], int, tuple[int, ...]], ...] = (
    ("visa16", ("4",), 16, (4, 4, 4, 4)),
    ("visa19", ("4",), 19, (4, 4, 4, 4, 3)),
    ("visa13", ("4",), 13, (4, 3, 3, 3)),
    ("mastercard", ("51", "52", "53", "54", "55"), 16, (4, 4, 4, 4)),
    ("mastercard2", ("2221", "2300", "2500", "2720", "2611"), 16, (4, 4, 4, 4)),
    ("amex", ("34", "37"), 15, (4, 6, 5)),
    ("discover", ("6011", "65"), 16, (4, 4, 4, 4)),
    ("maestro12", ("5018", "5020", "5038", "6304", "6759", "6761", "6763"), 12, (4, 4, 4)),
    ("jcb", ("3528", "3589"), 16, (4, 4, 4, 4)),
    ("diners", ("36",), 14, (4, 6, 4)),
)


def _luhn_complete(body: str) -> str:
    total = 0
    for i, ch in enumerate(reversed(body)):
        d = int(ch)
        if i % 2 == 0:
            d *= 2
            if d > 9:
                d -= 9
        total += d
    return body + str((10 - total % 10) % 10)


def card_number(rng: random.Random, brand: str | None = None) -> str:
    """A Luhn-valid card number of ``brand`` (random brand when ``None``), maybe grouped."""
    spec = (
        rng.choice(_CARD_BRANDS)
        if brand is None
        else next(b for b in _CARD_BRANDS if b[0] == brand)
    )
    _, prefixes, length, groups = spec
    prefix = rng.choice(prefixes)
    body = prefix + "".join(str(rng.randrange(10)) for _ in range(length - len(prefix) - 1))
    digits = _luhn_complete(body)
    style = rng.random()
    if style < 0.6:
        return digits
    sep = " " if style < 0.85 else "-"
    parts, i = [], 0
    for g in groups:
        parts.append(digits[i : i + g])
        i += g
    return sep.join(parts)


# --- the generator --------------------------------------------------------------------------


#: The corpus's fixed "today": dates in posts lie between 1 January 1970 and this day, and dates
#: of birth give ages of 18 to 90 on it.
REFERENCE_DATE = date(2025, 1, 1)
_EARLIEST = datetime(1970, 1, 1)


class _Filler:
    """Values for every template slot; knows which slots are labelled and how."""

    def __init__(self, raw: RawData, rng: random.Random, faker_seed: int) -> None:
        from faker import Faker

        self.raw = raw
        self.rng = rng
        self.fakers = {loc: Faker(loc) for loc in ("en_US", "en_GB", "de_DE", "fr_FR", "nl_NL")}
        self.fakers["es_ES"] = Faker("es_ES")
        for i, f in enumerate(self.fakers.values()):
            f.seed_instance(faker_seed * 101 + i)
        self.us = self.fakers["en_US"]
        self.female = [p for p in raw.identities if p.gender == "female"]
        self.male = [p for p in raw.identities if p.gender == "male"]

    def moment(self) -> datetime:
        """A date and time between 1970 and :data:`REFERENCE_DATE` (never the clock)."""
        end = datetime.combine(REFERENCE_DATE, datetime.min.time())
        return self.us.date_time_between(start_date=_EARLIEST, end_date=end)

    def birthday(self) -> date:
        """A date of birth of someone 18 to 90 years old on :data:`REFERENCE_DATE`."""
        ref = REFERENCE_DATE
        return self.us.date_between(
            start_date=ref.replace(year=ref.year - 91), end_date=ref.replace(year=ref.year - 18)
        )

    def person(self, pool: list[Identity] | None = None) -> Identity:
        return self.rng.choice(pool or self.raw.identities)

    def value(self, slot: str) -> tuple[str, str | None, Identity | None]:
        """``(text, entity_type or None, identity for names)``."""
        r = self.rng
        if slot in ("person", "name", "name_female", "name_male"):
            pool = {"name_female": self.female, "name_male": self.male}.get(slot)
            p = self.person(pool)
            full = f"{p.given} {p.middle}. {p.surname}" if r.random() < 0.1 else p.full
            return full, "PERSON", p
        if slot.startswith("first_name"):
            pool = self.female if slot.endswith("female") else None
            pool = self.male if slot.endswith("_male") else pool
            p = self.person(pool)
            return p.given, "PERSON", p
        if slot.startswith("last_name"):
            pool = self.female if slot.endswith("female") else None
            pool = self.male if slot.endswith("_male") else pool
            p = self.person(pool)
            return p.surname, "PERSON", p
        if slot == "prefix_male":
            return r.choice(("Mr.", "Mr", "Dr.")), None, None
        if slot == "prefix_female":
            return r.choice(("Ms.", "Mrs.", "Miss", "Dr.")), None, None
        if slot == "prefix":
            return r.choice(("Mr.", "Ms.", "Dr.", "Mx.")), None, None
        if slot == "email":
            if r.random() < 0.5:
                return self.person().email, "EMAIL_ADDRESS", None
            return self.us.email(), "EMAIL_ADDRESS", None
        if slot == "phone_number":
            loc = "en_US" if r.random() < 0.6 else "en_GB"
            return self.fakers[loc].phone_number(), "PHONE_NUMBER", None
        if slot == "credit_card_number":
            return card_number(r), "CREDIT_CARD", None
        if slot == "iban":
            loc = r.choice(("en_GB", "de_DE", "fr_FR", "nl_NL", "es_ES"))
            iban = self.fakers[loc].iban()
            if r.random() < 0.4:
                iban = " ".join(iban[i : i + 4] for i in range(0, len(iban), 4))
            return iban, "IBAN_CODE", None
        if slot == "ip_address":
            ip = self.us.ipv4_public() if r.random() < 0.7 else self.us.ipv6()
            return ip, "IP_ADDRESS", None
        if slot == "ssn":
            return self.us.ssn(), "US_SSN", None
        if slot == "address":
            addr = self.us.address()
            return (addr if r.random() < 0.3 else addr.replace("\n", ", ")), "STREET_ADDRESS", None
        if slot == "street_address":
            return self.us.street_address(), "STREET_ADDRESS", None
        if slot == "street_name":
            return self.us.street_name(), "LOCATION", None
        if slot == "city":
            city = self.person().city if r.random() < 0.5 else self.us.city()
            return city, "LOCATION", None
        if slot == "country":
            return self.us.country(), "LOCATION", None
        if slot == "organization":
            orgs = self.raw.organizations
            return (r.choice(orgs) if orgs else self.us.company()), None, None
        if slot in ("nationality", "nation_woman", "nation_plural"):
            nats = self.raw.nationalities
            key = {"nationality": "nationality", "nation_woman": "woman"}.get(slot, "plural")
            value = r.choice(nats)[key] if nats else "french"
            return value.capitalize(), None, None
        simple = {
            "building_number": self.us.building_number,
            "secondary_address": self.us.secondary_address,
            "zipcode": self.us.zipcode,
            "postcode": self.fakers["en_GB"].postcode,
            "state_abbr": self.us.state_abbr,
            "url": self.us.url,
            "job": self.us.job,
            "date_time": lambda: self.moment().strftime("%B %d, %Y %H:%M"),
            "date_of_birth": lambda: self.birthday().strftime("%m/%d/%Y"),
            "year": lambda: str(self.moment().year),
            "day_of_week": lambda: self.moment().strftime("%A"),
            "age": lambda: str(r.randint(18, 90)),
            "us_driver_license": lambda: self.us.bothify("?#######").upper(),
        }
        fn = simple.get(slot)
        if fn is None:
            return self.us.word(), None, None
        return fn(), None, None


def _social(text: str, rng: random.Random) -> str:
    before = []
    after = []
    if rng.random() < 0.5:
        before.append(rng.choice(_SLANG))
    if rng.random() < 0.6:
        after.append(rng.choice(_TAGS))
    if rng.random() < 0.5:
        after.append(rng.choice(_EMOJI))
    return " ".join([*before, text, *after]) if before or after else text


def _fill(template: str, filler: _Filler) -> tuple[str, list[Span]]:
    # A building number followed by a street name is one street address.
    template = template.replace(_STREET, "{{street_address}}")
    out: list[str] = []
    spans: list[Span] = []
    pos = 0
    length = 0
    for m in _SLOT.finditer(template):
        literal = template[pos : m.start()]
        out.append(literal)
        length += len(literal)
        value, etype, who = filler.value(m.group(1))
        if etype is not None:
            spans.append(
                Span(
                    etype,
                    length,
                    length + len(value),
                    who.name_set if who else None,
                    who.gender if who else None,
                )
            )
        out.append(value)
        length += len(value)
        pos = m.end()
    out.append(template[pos:])
    return "".join(out), spans


def generate_corpus(
    n: int,
    raw: RawData,
    *,
    seed: int = 0,
    social_share: float = 0.5,
    no_pii_share: float = 0.2,
) -> list[LabelledPost]:
    """Generate ``n`` labelled posts.

    Parameters
    ----------
    n
        Number of posts.
    raw
        Templates and identities (:func:`load_raw_data`).
    seed
        Seeds both the template choice and Faker.
    social_share
        Share of template posts wrapped in slang, hashtags and emoji.
    no_pii_share
        Share of posts with no PII at all (as most real posts are): filler or a template
        without labelled slots.

    Every labelled entity type is equally likely to be the reason a template is picked, so
    rare types (IBAN, IP, SSN) are measured on as many posts as names.

    Returns
    -------
    list of LabelledPost
        Posts with exact character spans of every planted value.

    Examples
    --------
    >>> raw = load_raw_data(".cache/samples/pii")  # doctest: +SKIP
    >>> posts = generate_corpus(100, raw, seed=1)  # doctest: +SKIP
    >>> posts[0].spans[0].entity_type  # doctest: +SKIP
    'PERSON'
    """
    rng = random.Random(seed)
    filler = _Filler(raw, rng, seed)
    by_type: dict[str, list[int]] = {e: [] for e in EVAL_ENTITIES}
    plain: list[int] = []
    for i, tpl in enumerate(raw.templates):
        types = {_SLOT_TYPES.get(m) for m in _SLOT.findall(tpl.replace(_STREET, "{{address}}"))}
        types.discard(None)
        for e in types:
            by_type[str(e)].append(i)
        if not types:
            plain.append(i)
    wanted = [e for e in EVAL_ENTITIES if by_type[e]]
    posts = []
    for _ in range(n):
        if rng.random() < no_pii_share:
            if plain and rng.random() < 0.5:
                text, _spans = _fill(raw.templates[rng.choice(plain)], filler)
            else:
                text = rng.choice(_FILLER)
            posts.append(LabelledPost(_social(text, rng), (), None))
            continue
        # Each labelled type equally often: pick a type, then a template that plants it.
        t = rng.choice(by_type[rng.choice(wanted)])
        text, spans = _fill(raw.templates[t], filler)
        if rng.random() < social_share:
            wrapped = _social(text, rng)
            offset = wrapped.index(text)
            text = wrapped
            spans = [
                Span(s.entity_type, s.start + offset, s.end + offset, s.name_set, s.gender)
                for s in spans
            ]
        posts.append(LabelledPost(text, tuple(spans), t))
    return posts


def write_corpus(posts: Iterable[LabelledPost], path: str | Path) -> Path:
    """Write posts as JSON Lines (``text``, ``template``, ``spans``)."""
    p = Path(path)
    p.parent.mkdir(parents=True, exist_ok=True)
    with open(p, "w", encoding="utf-8") as fh:
        for post in posts:
            fh.write(json.dumps(post.as_dict(), ensure_ascii=False) + "\n")
    return p


def read_corpus(path: str | Path) -> Iterator[LabelledPost]:
    """Read a corpus written by :func:`write_corpus` (or any JSONL with the same keys).

    Raises
    ------
    DataError
        The file is missing or unreadable, not UTF-8, or a line is not a labelled post.
    """
    from audit.inputs import local_path

    p = local_path(path)
    if not p.is_file():
        raise DataError("file not found (check the path)", file=str(path))
    with open(p, "rb") as fh:
        yield from _corpus_lines(fh, str(path))


def _corpus_lines(fh: Any, name: str) -> Iterator[LabelledPost]:
    for i, raw in enumerate(fh, start=1):
        try:
            line = raw.decode("utf-8")
        except UnicodeDecodeError:
            raise DataError(
                "not valid UTF-8; re-save the file as UTF-8", file=name, row=i
            ) from None
        if not line.strip():
            continue
        try:
            obj = json.loads(line)
            spans = tuple(
                Span(
                    s["entity_type"],
                    int(s["start"]),
                    int(s["end"]),
                    s.get("name_set"),
                    s.get("gender"),
                )
                for s in obj.get("spans", [])
            )
            post = LabelledPost(str(obj["text"]), spans, obj.get("template"))
        except (ValueError, KeyError, TypeError) as exc:
            raise DataError(
                f"not a labelled post ({exc}); each line needs text and spans "
                "[{entity_type, start, end}]",
                file=name,
                row=i,
            ) from None
        yield post
