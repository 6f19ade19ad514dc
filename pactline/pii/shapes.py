"""Whole-value shapes beyond Presidio's defaults, and art. 9 value dictionaries.

Each shape is a full-match regex over one stripped value, with a checksum where the identifier has
one (a checksum-proved match scores 1.0, a shape-only match less). `hint_only` shapes are too
plain to mean anything on their own (five digits, three digits) and count only when the column's
name names that entity. National ids of the parties' jurisdictions:

- DE Steuer-ID: 11 digits, ISO 7064 MOD 11,10 check digit, first digit not 0;
- NL BSN: 9 digits, 11-check (9a + 8b + ... + 2h - i divisible by 11);
- FR NIR: 13 digits + 2-digit key (97 - n mod 97), Corsica 2A/2B folded as the rule says;
- UK NINO: two prefix letters (not D F I Q U V, second not O), 6 digits, suffix A-D (NINO-shaped
  values with other letters score lower but count);
- ES DNI / NIE: 8 digits (NIE: X/Y/Z + 7) + the mod-23 control letter;
- US SSN-shaped: 3-2-4 digits with separators, kept even when Presidio's validity rules reject it
  (invalid area numbers are still someone's identifier in test or legacy data).
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import regex
import yaml

from pactline.pii.recognizers import luhn_ok


@dataclass(frozen=True)
class Shape:
    entity: str
    rx: re.Pattern[str] | regex.Pattern[str]
    score: float  # shape only; a checksum that passes makes it 1.0
    check: Callable[[str], bool] | None = None  # False drops the match
    hint_only: bool = False


def _digits(text: str) -> str:
    return re.sub(r"\D", "", text)


def steuer_id_ok(value: str) -> bool:
    d = _digits(value)
    if len(d) != 11 or d[0] == "0":
        return False
    counts = Counter(d[:10])
    if not (max(counts.values()) in (2, 3) and len(counts) in (8, 9)):  # one digit twice or thrice
        return False
    product = 10
    for ch in d[:10]:
        total = (int(ch) + product) % 10 or 10
        product = (total * 2) % 11
    check = (11 - product) % 10
    return check == int(d[10])


def bsn_ok(value: str) -> bool:
    d = _digits(value)
    if len(d) != 9 or d == "000000000":
        return False
    total = sum(int(c) * w for c, w in zip(d[:8], range(9, 1, -1), strict=True)) - int(d[8])
    return total % 11 == 0


def nir_ok(value: str) -> bool:
    v = re.sub(r"[\s.-]", "", value).upper()
    if len(v) != 15 or v[0] not in "12378":
        return False
    body = v[:13].replace("2A", "19").replace("2B", "18")
    if not (body.isdigit() and v[13:].isdigit()):
        return False
    return 97 - int(body) % 97 == int(v[13:])


_DNI_LETTERS = "TRWAGMYFPDXBNJZSQVHLCKE"


def dni_ok(value: str) -> bool:
    v = re.sub(r"[\s.-]", "", value).upper()
    if len(v) != 9:
        return False
    body = {"X": "0", "Y": "1", "Z": "2"}.get(v[0], v[0]) + v[1:8]
    return body.isdigit() and _DNI_LETTERS[int(body) % 23] == v[8]


def imei_ok(value: str) -> bool:
    d = _digits(value)
    return len(d) == 15 and luhn_ok(d) and d[:2] not in ("34", "37")  # 15-digit 34/37 is an Amex card


_VIN_WEIGHTS = (8, 7, 6, 5, 4, 3, 2, 10, 0, 9, 8, 7, 6, 5, 4, 3, 2)
_VIN_VALUES = {**{str(i): i for i in range(10)},
               **dict(zip("ABCDEFGH", range(1, 9), strict=True)), **dict(zip("JKLMN", range(1, 6), strict=True)),
               "P": 7, "R": 9, **dict(zip("STUVWXYZ", range(2, 10), strict=True))}


def vin_ok(value: str) -> bool:
    """A 17-character VIN with letters and digits (a North American check digit is not required:
    European VINs carry none)."""
    v = value.upper()
    return sum(c.isdigit() for c in v) >= 3 and sum(c.isalpha() for c in v) >= 2


def vin_check_digit(value: str) -> bool:
    v = value.upper()
    total = sum(_VIN_VALUES[c] * w for c, w in zip(v, _VIN_WEIGHTS, strict=True))
    return "0123456789X"[total % 11] == v[8]


def _coordinate_pair(value: str) -> bool:
    m = _PAIR.fullmatch(value)
    if not m:
        return False
    lat, lon = float(m.group(1)), float(m.group(2))
    return -90 <= lat <= 90 and -180 <= lon <= 180


def entropy_bits(value: str) -> float:
    """Shannon entropy per character."""
    n = len(value)
    return -sum(c / n * math.log2(c / n) for c in Counter(value).values()) if n else 0.0


def _secret(value: str) -> bool:
    """A long token mixing letters and digits at high entropy: an API key, a session token, a hash."""
    if len(value) < 20 or len(value) > 512 or "://" in value or _HEX.fullmatch(value):
        return False  # a URL; a hex digest (a checksum is not a secret unless the name says so)
    has_digit = any(c.isdigit() for c in value)
    has_alpha = any(c.isalpha() for c in value)
    return has_digit and has_alpha and entropy_bits(value) >= 3.6


_HEX = re.compile(r"[0-9a-fA-F]+")
_PAIR = re.compile(r"\(?\s*(-?\d{1,2}\.\d{3,})\s*[,;/ ]\s*(-?\d{1,3}\.\d{3,})\s*\)?")
# USPS Publication 28 street suffixes (the list Faker's en_US addresses draw from) and abbreviations
_STREET_EN = (
    r"expressway|extensions|throughway|trafficway|crossroad|extension|junctions|mountains|stravenue|"
    r"underpass|causeway|crescent|crossing|junction|motorway|mountain|overpass|parkways|turnpike|"
    r"villages|centers|circles|commons|corners|estates|freeway|gardens|gateway|harbors|heights|"
    r"highway|islands|landing|meadows|mission|orchard|parkway|passage|prairie|springs|squares|station|"
    r"streets|terrace|valleys|viaduct|village|avenue|branch|bridge|brooks|bypass|canyon|center|centre|"
    r"circle|cliffs|common|corner|course|courts|divide|drives|estate|fields|forest|forges|garden|"
    r"greens|groves|harbor|hollow|island|knolls|lights|manors|meadow|plains|points|radial|rapids|"
    r"ridges|shoals|shores|skyway|spring|square|stream|street|summit|tunnel|unions|valley|alley|brook|"
    r"burgs|cliff|close|court|coves|creek|crest|curve|drive|falls|ferry|field|flats|fords|forge|forks|"
    r"glens|green|grove|haven|hills|inlet|knoll|lakes|light|locks|lodge|manor|mills|mount|parks|pines|"
    r"place|plain|plaza|point|ports|ranch|rapid|ridge|river|roads|route|shoal|shore|spurs|trace|track|"
    r"trail|union|views|ville|vista|walks|wells|blvd|burg|camp|cape|club|cove|cres|dale|fall|flat|"
    r"ford|fork|fort|glen|hill|isle|keys|lake|land|lane|loaf|lock|loop|mall|mews|mill|neck|oval|park|"
    r"pass|path|pike|pine|pkwy|port|ramp|rest|road|spur|view|walk|wall|ways|well|ave|cir|dam|hwy|key|"
    r"row|rue|run|ter|trl|via|way|av|ct|dr|ln|pl|rd|sq|st"
)
_STREET_LEADING = (r"rue|avenue|av|bd|boulevard|chemin|impasse|allee|allée|place|quai|route|cours|passage|"
                   r"calle|c/|avenida|avda|paseo|plaza|pza|carrera|camino|ronda|travesia|travesía|carretera|"
                   r"via|viale|piazza|corso|largo|rua|praça|travessa|ulica|ul\.")
_STREET_SUFFIX = (r"strasse|straße|str\.|weg|gasse|allee|platz|ring|damm|ufer|chaussee|steig|pfad|"
                  r"straat|laan|plein|gracht|kade|singel|dijk|dreef|hof|pad|steeg|markt|boulevard|baan|kanaal|"
                  r"park|veld|pleintje|wal|"
                  r"vej|veien|vegen|vägen|gatan|gata|gade|katu|tie|kuja")
_N = r"\d{1,6}\s?[A-Za-z]?(?:[-/]\d{1,4}[A-Za-z]?)?"
_STREET = regex.compile(
    # 10932 Bigge Rd / 77763 Tony Village Suite 690 / 12, rue de la Paix / 3 bis avenue Foch
    rf"(?:{_N}(?:\s?(?:bis|ter))?,?\s+(?:(?:{_STREET_LEADING})\b\.?\s*(?:[\p{{L}}'\u2019.\-]+\s?){{1,5}}"
    rf"|(?:[\p{{L}}'\u2019.\-]+\s+){{1,4}}(?:{_STREET_EN})\b\.?(?:\s+(?:apt\.?|suite|unit|#)\s*\w+)?)"
    rf"(?:\s*[,\n]\s*.{{2,80}})?"
    # Calle Mayor, 5 / C/ Gran Vía 12, 3º B / Avenida de la Constitución 24
    rf"|(?:(?:{_STREET_LEADING})\b|c/)\.?\s*(?:[\p{{L}}'\u2019.\-]+\s?){{1,6}},?\s*(?:n[º°o]\.?\s*)?{_N}(?:[,\s].{{0,12}})?"
    # Hauptstraße 5 / Baumallee 7-1 / Kerkstraat 12a / Duuksingel 6 / Am Markt 3
    rf"|(?:[\p{{L}}'\u2019.\-]+\s){{0,3}}[\p{{L}}'\u2019.\-]*(?:{_STREET_SUFFIX})\s*{_N}(?:\s*[,\n]\s*.{{2,80}})?"
    # Studio 63g / Flat 2 / Apartment 4 (UK address first lines)
    rf"|(?:studio|flat|apartment|unit)\s+\d{{1,4}}[a-z]?(?:\s.{{0,40}})?"
    rf"|(?:PSC|Unit|CMR)\s+\d{{3,5}},?\s+Box\s+\d{{3,5}}|(?:USNS|USNV|USS|USCGC)\s+\p{{Lu}}\p{{L}}+)",
    regex.IGNORECASE,
)

SHAPES: tuple[Shape, ...] = (
    Shape("UUID", re.compile(r"\{?[0-9a-f]{8}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{12}\}?", re.I), 0.95),
    Shape("MAC_ADDRESS", re.compile(r"[0-9a-f]{2}(?:([:-])[0-9a-f]{2}(?:\1[0-9a-f]{2}){4}|"
                                    r"[0-9a-f]{2}\.[0-9a-f]{4}\.[0-9a-f]{4})", re.I), 0.95),
    Shape("US_SSN", re.compile(r"\d{3}([- .])\d{2}\1\d{4}"), 0.85),
    Shape("US_SSN", re.compile(r"\d{9}"), 0.6, hint_only=True),
    Shape("UK_NINO", re.compile(r"[A-CEGHJ-PR-TW-Z][A-CEGHJ-NPR-TW-Z] ?\d{2} ?\d{2} ?\d{2} ?[A-D]", re.I), 0.9),
    # NINO-shaped with any suffix letter (test and legacy data): still someone's number
    Shape("UK_NINO", re.compile(r"[A-Z]{2} ?\d{2} ?\d{2} ?\d{2} ?[A-Z]", re.I), 0.75),
    Shape("ES_NIF", re.compile(r"[XYZ]?\d{7,8}[- ]?[A-Z]", re.I), 0.5, check=dni_ok),
    Shape("FR_NIR", re.compile(r"[12378] ?\d{2} ?\d{2} ?(?:\d{2}|2A|2B) ?\d{3} ?\d{3} ?\d{2}", re.I), 0.5, check=nir_ok),
    Shape("DE_TAX_ID", re.compile(r"[1-9]\d(?: ?\d{3}){3}"), 0.4, check=steuer_id_ok),
    Shape("NL_BSN", re.compile(r"\d{4}\.?\d{2}\.?\d{3}|\d{3}[ .-]?\d{3}[ .-]?\d{3}"), 0.4, check=bsn_ok),
    Shape("IMEI", re.compile(r"\d{2}[ -]?\d{6}[ -]?\d{6}[ -]?\d|\d{15}"), 0.5, check=imei_ok),
    Shape("VIN", re.compile(r"[A-HJ-NPR-Z0-9]{17}", re.I), 0.85, check=vin_ok),
    Shape("COORDINATE", _PAIR, 0.9, check=_coordinate_pair),
    Shape("COORDINATE", re.compile(r"-?\d{1,3}\.\d{4,}"), 0.7, hint_only=True),
    Shape("LOCATION", _STREET, 0.85),
    Shape("ZIP_CODE", re.compile(r"\d{5}(?:-\d{4})?|\d{4} ?[A-Z]{2}|[A-Z]{1,2}\d[A-Z\d]? ?\d[A-Z]{2}|\d{4}|"
                                 r"[A-Z]-?\d{4,5}|\d{2}-\d{3}|\d{3} ?\d{2}", re.I), 0.7, hint_only=True),
    Shape("CARD_SECURITY_CODE", re.compile(r"\d{3,4}"), 0.7, hint_only=True),
    Shape("CARD_EXPIRY", re.compile(r"(?:0[1-9]|1[0-2]) ?[/-] ?(?:\d{2}|20\d{2})|20\d{2}-(?:0[1-9]|1[0-2])"), 0.7,
          hint_only=True),
    Shape("BANK_ACCOUNT", re.compile(r"[A-Z]{0,4}\d[\d -]{5,30}\d", re.I), 0.6, hint_only=True),
    Shape("TRACKING_NUMBER", re.compile(r"1Z[0-9A-Z]{16}|[A-Z]{2}\d{9}[A-Z]{2}|\d{12,22}|[A-Z0-9]{10,30}", re.I), 0.7,
          hint_only=True),
    Shape("LICENSE_PLATE", re.compile(r"[A-Z0-9]{1,4}(?:[ -][A-Z0-9]{1,4}){1,3}|[A-Z]{2,3}\d{2,4}[A-Z]{0,3}", re.I),
          0.6, hint_only=True),
    Shape("SECRET", re.compile(r"[A-Za-z0-9+/=_\-.:$]{20,512}"), 0.75, check=_secret),
)

# GDPR art. 9 values: blood types and ICD-10 codes by shape, the rest from values.yaml (compared folded).
BLOOD_TYPE = re.compile(r"(?:a|b|ab|o|0)\s?(?:\+|-|pos|neg|positive|negative|rh\s?[+-]|rh\s?(?:pos|neg)\w*)"
                        r"|(?:blood\s?(?:type|group)\s)?(?:a|b|ab|o)\s?(?:rh)?[+-]", re.I)
BLOOD_TYPE_BARE = re.compile(r"a|b|ab|o|0", re.I)  # only under a blood-type name
ICD10 = re.compile(r"[A-TV-Z]\d{2}(?:\.[0-9A-Z]{1,4})?")  # upper case only: v10.2 is a version
ICD10_DOTTED = re.compile(r"[A-TV-Z]\d{2}\.[0-9A-Z]{1,4}")
GENDER_LETTERS = frozenset({"m", "f", "w", "v", "h", "x", "d"})
_VALUES = yaml.safe_load(Path(__file__).with_name("values.yaml").read_text(encoding="utf-8"))
MEDICATIONS = frozenset(_VALUES["medication"])
CONDITIONS = frozenset(_VALUES["health_condition"])
ETHNICITY = frozenset(_VALUES["ethnicity"])
ETHNICITY_DISTINCTIVE = ETHNICITY - frozenset(_VALUES["ethnicity_common"])
RELIGION = frozenset(_VALUES["religion"])
SEXUAL_ORIENTATION = frozenset(_VALUES["sexual_orientation"])
GENDER_WORDS = frozenset(_VALUES["gender"])
SPECIAL_ENTITIES = {"HEALTH", "BLOOD_TYPE", "ICD10_CODE", "MEDICATION", "ETHNICITY", "RELIGION",
                    "SEXUAL_ORIENTATION", "BIOMETRIC", "TRADE_UNION", "POLITICAL_OPINION"}


def fold_value(value: str) -> str:
    from pactline.pii.headers import fold

    return fold(value)


def shape_of(value: str, hinted: str | None) -> tuple[str, float] | None:
    """The best shape a stripped value has, or None; `hinted` lets that entity's hint-only shapes count."""
    for shape in SHAPES:
        if shape.hint_only and shape.entity != hinted:
            continue
        if not shape.rx.fullmatch(value):
            continue
        if shape.check is None:
            return shape.entity, shape.score
        ok = shape.check(value)
        if ok:
            proved = shape.check not in (vin_ok, _secret, _coordinate_pair)
            if shape.entity == "VIN":
                proved = vin_check_digit(value)
            return shape.entity, 1.0 if proved else shape.score
    return None


def special_of(value: str, hinted: str | None) -> str | None:
    """The art. 9 entity a value belongs to by the dictionaries above, or None."""
    v = value.strip()
    if len(v) > 60:
        return None
    if BLOOD_TYPE.fullmatch(v) or (hinted == "HEALTH" and BLOOD_TYPE_BARE.fullmatch(v)):
        return "BLOOD_TYPE"
    if ICD10_DOTTED.fullmatch(v) or (hinted == "HEALTH" and ICD10.fullmatch(v)):
        return "ICD10_CODE"
    words = [fold_value(w) for w in re.split(r"[\s,/;()]+", v) if w]
    if not words:
        return None
    joined = "".join(words)
    if words[0] in MEDICATIONS:
        return "MEDICATION"
    if joined in CONDITIONS or words[0] in CONDITIONS:
        return "HEALTH"
    if joined in ETHNICITY:
        return "ETHNICITY"
    if joined in RELIGION or words[0] in RELIGION:
        return "RELIGION"
    if joined in SEXUAL_ORIENTATION:
        return "SEXUAL_ORIENTATION"
    if joined in GENDER_WORDS or (hinted == "GENDER" and joined in GENDER_LETTERS):
        return "GENDER"
    return None


def ethnicity_is_distinctive(values: list[str]) -> bool:
    return any(fold_value(v) in ETHNICITY_DISTINCTIVE for v in values)
