"""Pattern recognizers: Presidio's own where they are sound, ours where they miss or misfire.

Each recognizer is wrapped with a cheap *trigger* (a regex over characters the entity cannot do
without, e.g. '@' for email, a run of digits for a card) so text that cannot hold the entity
never reaches the recognizer, and with *context words* that raise a weak match above the
threshold when they appear just before it (Presidio's context idea, without needing lemmas).

Left out on purpose: Presidio's US bank number, driver licence, ITIN, passport, medical licence,
NHS, crypto, MAC and UUID recognizers. They match bare digit runs at very low scores and are what
labelled an income column US_DRIVER_LICENSE and notes US_BANK_NUMBER.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import NamedTuple

import regex
from presidio_analyzer import EntityRecognizer, LocalRecognizer, RecognizerResult
from presidio_analyzer.predefined_recognizers import (
    DateRecognizer,
    EmailRecognizer,
    IbanRecognizer,
    IpRecognizer,
    PhoneRecognizer,
    UrlRecognizer,
    UsSsnRecognizer,
)

from pactline.pii.offline import offline_tld_extractor

CONTEXT_BOOST = 0.35  # Presidio's context_similarity_factor
CONTEXT_FLOOR = 0.4  # Presidio's min_score_with_context_similarity
CONTEXT_WINDOW = 6  # words before a match that may hold a context word


class Hit(NamedTuple):
    start: int
    end: int
    entity: str
    score: float


def luhn_ok(digits: str) -> bool:
    total = 0
    for i, ch in enumerate(reversed(digits)):
        d = ord(ch) - 48
        if i % 2:
            d = d * 2 - 9 if d > 4 else d * 2
        total += d
    return total % 10 == 0


class RegexRecognizer(LocalRecognizer):
    """A Presidio LocalRecognizer over `regex` patterns; a named group `v` narrows the span.

    `validate(text) -> True | False | None` follows Presidio: True means checksum-proved (score
    1.0), False drops the match, None keeps the pattern's score.
    """

    def __init__(
        self,
        entity: str,
        patterns: list[tuple[str, str, float]],
        *,
        context: list[str] | None = None,
        validate: Callable[[str], bool | None] | None = None,
        flags: int = regex.IGNORECASE | regex.MULTILINE,
    ):
        self._patterns = [(n, regex.compile(p, flags), s) for n, p, s in patterns]
        self._validate = validate
        super().__init__(supported_entities=[entity], name=f"Pactline{entity.title().replace('_', '')}",
                         context=context or [])

    def load(self) -> None:
        pass

    def analyze(self, text: str, entities: list[str], nlp_artifacts: object = None) -> list[RecognizerResult]:
        out: list[RecognizerResult] = []
        entity = self.supported_entities[0]
        for _name, rx, score in self._patterns:
            for m in rx.finditer(text):
                start, end = m.span("v") if "v" in rx.groupindex else m.span()
                if start < 0 or end <= start:
                    continue
                s = score
                if self._validate is not None:
                    ok = self._validate(text[start:end])
                    if ok is False:
                        continue
                    if ok is True:
                        s = EntityRecognizer.MAX_SCORE
                out.append(RecognizerResult(entity, start, end, s))
        return EntityRecognizer.remove_duplicates(out)


class PhoneCandidates(LocalRecognizer):
    """Presidio's PhoneRecognizer (python-phonenumbers, several regions) run only on digit groups
    that could be phone numbers, not on the whole text.

    The matcher's cost grows with text length and regions; cutting candidates first makes it
    several times cheaper. Long unbroken digit runs (12+, no leading + or 00) are card or account
    numbers, not phones, and are skipped.
    """

    _CANDIDATE = regex.compile(
        r"(?<![\w+])(?:\+|00)?\(?\d[\d ().\-/]{5,22}\d(?:[ ]?(?:x|ext\.?)[ ]?\d{1,6})?(?!\w)",
        regex.IGNORECASE,
    )

    def __init__(self, inner: PhoneRecognizer | None = None):
        self.inner = inner or PhoneRecognizer()
        super().__init__(supported_entities=["PHONE_NUMBER"], name="PactlinePhoneCandidates",
                         context=self.inner.context)

    def load(self) -> None:
        pass

    def analyze(self, text: str, entities: list[str], nlp_artifacts: object = None) -> list[RecognizerResult]:
        out: list[RecognizerResult] = []
        for m in self._CANDIDATE.finditer(text):
            cand = m.group()
            digits = phone_digits(cand)
            if not 7 <= digits <= 15 or (cand.isdigit() and len(cand) >= 12):
                continue
            for r in self.inner.analyze(cand, entities, None):
                out.append(RecognizerResult(r.entity_type, m.start() + r.start, m.start() + r.end, r.score))
        return EntityRecognizer.remove_duplicates(out)


class OfflineEmailRecognizer(EmailRecognizer):
    """Presidio's email recognizer, validating the domain against the bundled suffix snapshot."""

    def validate_result(self, pattern_text: str) -> bool:
        return offline_tld_extractor()(pattern_text).fqdn != ""


def _card_validate(text: str) -> bool:
    digits = re.sub(r"\D", "", text)
    return 12 <= len(digits) <= 19 and luhn_ok(digits)


_EXTENSION = re.compile(r"\s?(?:x|ext\.?)\s?\d{1,6}$", re.IGNORECASE)


def phone_digits(text: str) -> int:
    """Digits of a phone number, not counting an extension (x123, ext. 45)."""
    return sum(c.isdigit() for c in _EXTENSION.sub("", text))


def _phone_invalid(text: str) -> bool | None:
    return None if 7 <= phone_digits(text) <= 15 else False


_STREET_WORDS = (
    r"street|st|avenue|ave|road|rd|lane|ln|drive|dr|boulevard|blvd|court|ct|place|pl|way|square|sq|"
    r"terrace|parkway|pkwy|highway|hwy|circle|cir|trail|crescent|close|gardens|grove|row|walk|"
    r"alley|plaza|mews|hill|park|bypass|causeway|center|centre|cove|creek|expressway|freeway|"
    r"heights|junction|loop|manor|meadows|mount|pass|path|pike|point|port|ridge|route|run|spur|"
    r"station|summit|throughway|track|turnpike|valley|view|villas|ville|vista|wells|fork|radial|"
    r"pines|springs|shore|shores|stream|estates|field|fields|flats|green|harbor|haven|island|"
    r"isle|key|landing|light|mill|mills|orchard|oval|pine|plains|prairie|ranch|rapids|rest|"
    r"river|skyway|square|squares|trafficway|tunnel|underpass|union|wall|well"
)
# Street-name endings used in the Nordic, German, Dutch, Baltic and Finnish address formats.
_STREET_SUFFIX = (
    r"\p{L}+(?:vej|veien|vegen|vägen|gatan|gata|gade|katu|tie|kuja|polku|tori|kaari|rinne|"
    r"strasse|straße|str\.|weg|gasse|allee|platz|laan|straat|plein|gracht|kade|"
    r"terrasse|stien|bakken|haugen|lia|tún|braut|stígur|vegur|gata|gränd|torget|plan)"
)
_NUM = r"\d{1,6}[A-Za-z]?"
_UNIT = r"(?:apt\.?|apartment|suite|ste\.?|unit|flat|floor|fl\.?|room|box|#)\s*\d+[A-Za-z]?"
_WORD = r"[\p{Lu}\d][\p{L}'\u2019.\-]*"
_LC_WORD = r"[\p{L}][\p{L}'\u2019.\-]*"
_STREET_CORE = (
    # 74 Diakou Street / 24 Clarke Avenue / 1987 74 Diakou Street
    rf"{_NUM}(?:[ ]+{_NUM})?[ ]+(?:{_LC_WORD}[ ]+){{0,3}}(?:{_STREET_WORDS})\b\.?"
    # 6750 Koskikatu 25 / 2274 Via delle Coste 41 / 35108 ul. Zamkowa 33
    rf"|{_NUM}[ ]+(?:{_WORD}|ul\.|via|rue)(?:[ ]+{_LC_WORD}){{0,3}}[ ]+\d{{1,5}}[A-Za-z]?\b\.?"
    # Vesterskovvej 79 / Harjukuja 54
    rf"|\b{_STREET_SUFFIX}[ ]+\d{{1,5}}[A-Za-z]?\b"
    # PSC 3294, Box 9168 / Unit 8524 Box 0979 / USS Lorenzen
    rf"|\b(?:PSC|Unit|CMR)[ ]+\d{{3,5}},?[ ]+Box[ ]+\d{{3,5}}"
    rf"|\b(?:USS|USNS|USNV|USCGC)[ ]+\p{{Lu}}\p{{L}}+"
)
# After a street: units, then up to four short lines or comma parts of city/region/country/zip.
_ADDR_TAIL = (
    rf"(?:[ ]*,?[ ]*(?:\n[ >]*)?{_UNIT})?"
    rf"(?:(?:[ ]*,[ ]*|[ ]*\n[ >]*(?:,[ ]*)?)"
    rf"(?:(?:[AFD]PO[ ]+A[AEP][ ]+\d{{5}})|(?:{_WORD}(?:[ \-]{_LC_WORD}){{0,2}}(?:[ ]+\d{{3,6}}(?:-\d{{3,4}})?)?)"
    rf"|(?:\p{{Lu}}{{2}}(?:[ ]+\d{{3,6}})?)|(?:\d{{4,6}}(?:-\d{{3,4}})?))){{0,4}}"
)
_ADDRESS = (
    rf"(?:the[ ]+corner[ ]+of[ ]+.{{3,40}}?[ ]+and[ ]+\p{{Lu}}\p{{L}}+(?:[ ]+\p{{Lu}}\p{{L}}+){{0,2}})"
    rf"|(?:(?:{_STREET_CORE}){_ADDR_TAIL})"
)

_HONORIFIC = r"\b(?:mr|mrs|ms|miss|mx|dr|prof|sir|dame|rev|lady|lord|madam)\b\.?"


class _Triggered(NamedTuple):
    impl: EntityRecognizer
    trigger: re.Pattern[str] | None


@dataclass(frozen=True)
class Recognizer:
    """One entity's recognizer with its trigger and context words."""

    entity: str
    impl: EntityRecognizer
    trigger: re.Pattern[str] | None = None
    context: tuple[str, ...] = ()
    in_columns: bool = True  # also used to classify whole column values

    def find(self, text: str, extra_context: Iterable[str] = ()) -> list[Hit]:
        if self.trigger is not None and not self.trigger.search(text):
            return []
        results = self.impl.analyze(text, [self.entity], None)
        if not results:
            return []
        extra = {w.lower() for w in extra_context}
        hits = []
        for r in results:
            if r.entity_type != self.entity:
                continue
            score = r.score
            if self.context and score < 1.0 and (
                extra & set(self.context) or _context_before(text, r.start, self.context)
            ):
                score = max(min(1.0, score + CONTEXT_BOOST), CONTEXT_FLOOR)
            hits.append(Hit(r.start, r.end, self.entity, score))
        return hits


_WORD_RX = re.compile(r"[a-z0-9#]+")


def _context_before(text: str, start: int, context: tuple[str, ...]) -> bool:
    window = text[max(0, start - 60):start].lower()
    words = _WORD_RX.findall(window)[-CONTEXT_WINDOW:]
    return any(w.startswith(c) if len(c) > 3 else w == c for w in words for c in context)


def _rx(pattern: str) -> re.Pattern[str]:
    return re.compile(pattern, re.IGNORECASE)


def default_recognizers() -> list[Recognizer]:
    digits7 = _rx(r"(?:\d[^\d\n]{0,3}){7}")
    return [
        Recognizer("EMAIL_ADDRESS", OfflineEmailRecognizer(), _rx("@"), ("email", "e-mail", "mail")),
        Recognizer(
            "CREDIT_CARD",
            RegexRecognizer(
                "CREDIT_CARD",
                [("card", r"(?<![\w.-])(?:\d[ -]?){11,18}\d(?![\w-]|\.\d)", 0.3)],
                validate=_card_validate,
            ),
            _rx(r"\d{4}"),
            ("credit", "card", "visa", "mastercard", "cc", "amex", "discover", "jcb", "maestro"),
        ),
        Recognizer("IBAN_CODE", IbanRecognizer(), _rx(r"[a-z]{2}\d{2}"), ("iban", "bank", "transaction")),
        Recognizer("US_SSN", UsSsnRecognizer(), _rx(r"\d{3}[- .]?\d{2}[- .]?\d{4}"),
                   ("social", "security", "ssn", "ssns")),
        Recognizer("IP_ADDRESS", IpRecognizer(), _rx(r"\d\.\d|[0-9a-f]:[0-9a-f]|::"), ("ip", "ipv4", "ipv6")),
        Recognizer("PHONE_NUMBER", PhoneCandidates(), digits7,
                   ("phone", "telephone", "cell", "cellphone", "mobile", "call", "tel", "fax")),
        Recognizer(
            "PHONE_NUMBER",
            RegexRecognizer(
                "PHONE_NUMBER",
                [("phone", r"(?<![\w+\-.])(?:\+|00)?(?:\d{1,3}[ .-]?)?(?:\(\d{1,5}\)[ .-]?)?\d{2,12}"
                           r"(?:[ .-]\d{2,8}){0,4}(?:[ ]?(?:x|ext\.?)[ ]?\d{1,5})?(?![\w-]|\.\d)", 0.1)],
                validate=_phone_invalid,
            ),
            digits7,
            ("phone", "telephone", "cell", "mobile", "call", "tel", "fax", "answering", "messages",
             "text", "reach", "contact", "number", "whatsapp", "sms"),
        ),
        # In free text, a run of 9+ digits broken by '-', ' ' or '()', or led by + / 00, is a phone or an
        # account number whatever its national format: redacting it is right either way.
        Recognizer(
            "PHONE_NUMBER",
            RegexRecognizer(
                "PHONE_NUMBER",
                [("digit-groups", r"(?<![\w+\-.,/])(?:(?:\+|00)\d[\d ()-]{7,20}\d"
                                  r"|\(?\d{2,5}\)?(?:[ -]+\(?\d{2,8}\)?){1,4})(?![\w-]|[.,]\d)", 0.45)],
                validate=lambda t: None if 9 <= phone_digits(t) <= 15 else False,
            ),
            digits7,
            in_columns=False,
        ),
        # A name right after words that introduce a person ("call back X", "spoke with X"): NER misses
        # names it has not seen (Dutch, German, ...), the phrase does not.
        Recognizer(
            "PERSON",
            RegexRecognizer(
                "PERSON",
                [("introduced", r"(?i:\b(?:call(?:ed)?[ ]back|spoke[ ](?:to|with)|talked[ ](?:to|with)|contacted|"
                                r"ask(?:ed)?[ ]for|on[ ]behalf[ ]of|attn\.?|attention|signed[ ]by|patient|"
                                r"colleague|neighbour|neighbor|husband|wife|son|daughter|mother|father)[ ]+)"
                                r"(?P<v>\p{Lu}[\p{L}'\u2019]+(?:[ -](?:(?:van|der|den|de|von|zu|ten|ter|da|di|du|la|le)[ ])*"
                                r"\p{Lu}[\p{L}'\u2019]+){0,3})", 0.6)],
                flags=regex.MULTILINE,  # case matters: a name starts with a capital
            ),
            _rx(r"call|spoke|talked|contacted|ask|behalf|attn|attention|signed|patient|colleague|neighbo|"
                r"husband|wife|son|daughter|mother|father"),
            in_columns=False,
        ),
        Recognizer("DATE_TIME", DateRecognizer(), _rx(r"\d"), ("date", "birthday", "born", "dob")),
        Recognizer("URL", UrlRecognizer(), _rx(r"://|www\.|\w\.[a-z]{2,}"), ("url", "website", "link", "site")),
        Recognizer(
            "LOCATION",
            RegexRecognizer("LOCATION", [("address", _ADDRESS, 0.9)]),
            _rx(r"\d|corner|uss "),
            ("address", "live", "lives", "located", "moved", "ship", "send"),
            in_columns=False,
        ),
        Recognizer(
            "TITLE",
            RegexRecognizer("TITLE", [("honorific", _HONORIFIC + r"(?=[ ]+\p{Lu}|[ ]*[.,;?!]?[ ]*$)", 0.6)],
                            flags=regex.IGNORECASE | regex.MULTILINE),
            _rx(r"\b(?:mr|mrs|ms|miss|mx|dr|prof|sir|dame|rev|lady|lord|madam)\b"),
            in_columns=False,
        ),
        Recognizer(
            "AGE",
            RegexRecognizer(
                "AGE",
                [
                    ("age-context", r"\b(?:turned|turn|turning|age[ ]of|aged|is[ ]a|was[ ]a|am|i'm|he's|she's"
                                    r"|when[ ]he[ ]was|when[ ]she[ ]was|when[ ]i[ ]was)[ ]+(?P<v>\d{1,3})\b"
                                    r"(?![ ]*(?:%|percent|dollars|euros|pounds|times|am|pm|:))", 0.45),
                    ("years-old", r"\b(?P<v>\d{1,3})[ -]*(?:years?|yrs?)[ -]*old\b", 0.7),
                ],
            ),
            _rx(r"\d"),
            in_columns=False,
        ),
        Recognizer(
            "ZIP_CODE",
            RegexRecognizer(
                "ZIP_CODE",
                [("zip", r"\b(?:zip|zip[ ]code|postcode|postal[ ]code|post[ ]code)\b\W{0,3}(?:is[ ]+)?"
                         r"(?P<v>[A-Z0-9]{2,5}(?:[ -][A-Z0-9]{3,4})?)\b", 0.6)],
            ),
            _rx(r"zip|post"),
            in_columns=False,
        ),
    ]


def from_presidio_registry(analyzer: object) -> list[Recognizer]:
    """Wrap the pattern recognizers of a caller's Presidio AnalyzerEngine (no triggers)."""
    from presidio_analyzer import AnalyzerEngine
    from presidio_analyzer.predefined_recognizers import SpacyRecognizer

    assert isinstance(analyzer, AnalyzerEngine)
    out = []
    for rec in analyzer.registry.get_recognizers(language="en", all_fields=True):
        if isinstance(rec, SpacyRecognizer) or not isinstance(rec, LocalRecognizer):
            continue
        if type(rec) is EmailRecognizer:
            rec = OfflineEmailRecognizer()
        for entity in rec.supported_entities:
            out.append(Recognizer(entity, rec, None, tuple(c.lower() for c in (rec.context or []))))
    return out
