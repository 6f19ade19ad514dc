"""PII-column precision and recall on labelled columns: Pactline vs presidio-structured.

    python bench/scan_columns.py [--rows 200] [--seed 0] [--labels] [--baseline-sample N]

Tables: one per locale (en_US, en_GB, de_DE, nl_NL, fr_FR, es_ES), headers in that locale's
language and case style, values from Faker in that locale; plus one table of hand-written messy
headers and values that trip naive detectors (version strings, product codes, amounts as text,
timestamps, hashes, barcodes, colours, weights, surnames, integer zips, SSN-shaped ids Presidio
rejects, control numbers, blood types).

Labels: `True` is what a privacy officer must flag before the table leaves the organisation: a
direct identifier (name, address, contact, account, card, credential, device, vehicle, national or
customer id, exact coordinates), a quasi-identifier (birth date, age, zip, city, gender) or a GDPR
art. 9 special category (health, ethnicity, religion, sexual orientation, union membership).
`False` is a column that says nothing about who a row is: amounts, prices, product and catalogue
codes, event timestamps, versions, statuses, colours of products, weights of parcels. Each
column's reason is in its spec below (`--labels` prints them); they were written before running
either detector and are not adjusted to either.

A column counts as flagged by Pactline when its verdict is `flagged` (a personal category, an
identifier candidate or PII spans in free text), and by the baseline when
`PandasAnalysisBuilder.generate_analysis` maps it to any entity. Both see the same tables; the
baseline analyses `--baseline-sample` rows per column (default: all rows, as Pactline samples all).
Models are loaded before timing; times are classification only.
"""

from __future__ import annotations

import argparse
import random
import string
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
import pyarrow as pa
from faker import Faker

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from pactline.pii.classify import classify_table
from pactline.pii.engine import get_engine, vanilla_analyzer

Gen = Callable[[Faker, random.Random, int], list]


@dataclass(frozen=True)
class Col:
    header: str
    pii: bool
    why: str
    gen: Gen


def each(f: Callable[[Faker, random.Random], object]) -> Gen:
    return lambda fake, rng, n: [f(fake, rng) for _ in range(n)]


def pool(values: list) -> Gen:
    return lambda fake, rng, n: [rng.choice(values) for _ in range(n)]


# --- value generators Faker lacks (written from the published rules, not from pactline's code) ---

def steuer_id(rng: random.Random) -> str:
    """German tax id: 10 digits where exactly one digit appears twice, ISO 7064 MOD 11,10 check digit."""
    while True:
        digits = rng.sample("0123456789", 9)
        if digits[0] == "0":
            continue
        digits.insert(rng.randrange(1, 10), rng.choice(digits))
        body = "".join(digits[:10])
        product = 10
        for ch in body:
            total = (int(ch) + product) % 10 or 10
            product = (total * 2) % 11
        return body + str((11 - product) % 10)


def imei(rng: random.Random) -> str:
    body = rng.choice(["35", "86", "01", "99"]) + "".join(rng.choice(string.digits) for _ in range(12))
    for d in string.digits:
        cand = body + d
        total = sum((int(c) * 2 - 9 if int(c) * 2 > 9 else int(c) * 2) if i % 2 else int(c)
                    for i, c in enumerate(reversed(cand)))
        if total % 10 == 0:
            return cand
    raise AssertionError


def invalid_ssn(rng: random.Random) -> str:
    """SSN-shaped but outside the issued ranges (area 000, 666 or 9xx): Presidio's validator rejects them."""
    return f"{rng.choice(['000', '666', str(rng.randint(900, 999))])}-{rng.randint(1, 99):02d}-{rng.randint(1, 9999):04d}"


def mtcn(rng: random.Random) -> str:
    return "".join(rng.choice(string.digits) for _ in range(10))


def version(rng: random.Random) -> str:
    return f"{rng.randint(1, 12)}.{rng.randint(0, 30)}.{rng.randint(0, 99)}"


def product_code(rng: random.Random) -> str:
    return f"PRD-{rng.randint(100, 999):05d}-{rng.choice(['XS', 'S', 'M', 'L', 'XL'])}"


BLOOD = ["A+", "A-", "B+", "B-", "AB+", "AB-", "O+", "O-"]
ICD10 = ["E11.9", "I10", "J45.909", "F32.1", "M54.5", "K21.0", "E78.5", "N39.0", "G43.909", "C50.911", "Z00.00"]
MEDS = ["Metformin 500 mg", "Atorvastatin 20 mg", "Lisinopril 10 mg", "Sertraline 50 mg", "Omeprazole 20 mg",
        "Levothyroxine 75 mcg", "Amlodipine 5 mg", "Salbutamol inhaler", "Insulin glargine", "Ibuprofen 400 mg"]
ETHNIC_EN = ["White", "Black", "Asian", "Hispanic", "Mixed", "Pacific Islander", "Native American", "Other"]
RELIGION_EN = ["Christian", "Muslim", "Jewish", "Hindu", "Buddhist", "Sikh", "Atheist", "None"]
ORIENTATION = ["heterosexual", "gay", "lesbian", "bisexual", "asexual", "prefer not to say"]
COLOURS = ["white", "black", "red", "blue", "green", "silver", "grey", "navy", "beige", "yellow"]
CURRENCIES = ["EUR", "USD", "GBP", "CHF", "SEK"]
STATUSES = ["pending", "shipped", "delivered", "returned", "cancelled"]


def money(rng: random.Random) -> float:
    return round(rng.lognormvariate(3.5, 1.0), 2)


def ts(rng: random.Random) -> str:
    return f"2025-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}T{rng.randint(0, 23):02d}:{rng.randint(0, 59):02d}:" \
           f"{rng.randint(0, 59):02d}Z"


def non_personal(lang: dict[str, str]) -> list[Col]:
    """Columns every table has that a privacy officer leaves alone; headers in the table's language."""
    h = {**{k: k for k in ("amount", "price", "currency", "quantity", "sku", "product", "status", "created_at",
                           "app_version", "colour", "weight", "rating", "discount")}, **lang}
    return [
        Col(h["amount"], False, "order amount: a number about a purchase, not a person", each(lambda f, r: money(r))),
        Col(h["price"], False, "unit price of a catalogue item", each(lambda f, r: round(r.uniform(1, 500), 2))),
        Col(h["currency"], False, "ISO currency code", pool(CURRENCIES)),
        Col(h["quantity"], False, "items ordered", each(lambda f, r: r.randint(1, 12))),
        Col(h["sku"], False, "catalogue code shared by every buyer of the product",
            pool([product_code(random.Random(i)) for i in range(40)])),
        Col(h["product"], False, "product name from a catalogue",
            pool([f"{w} {n}" for w in ("Lamp", "Chair", "Desk", "Kettle", "Router") for n in ("Pro", "Mini", "XL")])),
        Col(h["status"], False, "order status word", pool(STATUSES)),
        Col(h["created_at"], False, "when the order was placed: an event time, not a birth date", each(lambda f, r: ts(r))),
        Col(h["app_version"], False, "version string of the shop app (looks like a date or an IP to naive detectors)",
            each(lambda f, r: version(r))),
        Col(h["colour"], False, "colour of the product (white/black are also ethnicity words)", pool(COLOURS)),
        Col(h["weight"], False, "parcel weight in pounds (looks like a phone digit run to some detectors)",
            each(lambda f, r: r.randint(100, 260))),
        Col(h["rating"], False, "product rating 1-5", each(lambda f, r: r.randint(1, 5))),
    ]


def locale_table(locale: str, h: dict[str, str], special: list[Col], np_lang: dict[str, str]) -> list[Col]:
    """The personal columns of one locale's customer table, with that locale's headers."""
    cols = [
        Col(h["first"], True, "first name", each(lambda f, r: f.first_name())),
        Col(h["last"], True, "surname (White, Borden: single words NER does not know)", each(lambda f, r: f.last_name())),
        Col(h["street"], True, "street and house number", each(lambda f, r: f.street_address())),
        Col(h["city"], True, "city of residence: a quasi-identifier", each(lambda f, r: f.city())),
        Col(h["zip"], True, "postcode: a quasi-identifier", each(lambda f, r: f.postcode())),
        Col(h["dob"], True, "date of birth", each(lambda f, r: f.date_of_birth(minimum_age=18, maximum_age=90).isoformat())),
        Col(h["email"], True, "e-mail address", each(lambda f, r: f.email())),
        Col(h["phone"], True, "phone number", each(lambda f, r: f.phone_number())),
        Col(h["iban"], True, "bank account (IBAN)", each(lambda f, r: f.iban())),
        Col(h["national"], True, "national id of the locale", h["national_gen"]),
        Col(h["user"], True, "login name", each(lambda f, r: f.user_name())),
        Col(h["customer"], True, "the customer's key in the provider's systems",
            each(lambda f, r: r.randint(10_000_000, 99_999_999))),
    ]
    return cols + special + non_personal(np_lang)


LOCALES: dict[str, tuple[dict, list[Col], dict]] = {
    "en_US": (
        {"first": "first_name", "last": "last_name", "street": "address1", "city": "city", "zip": "zip",
         "dob": "dob", "email": "email", "phone": "phone", "iban": "iban", "national": "ssn",
         "national_gen": each(lambda f, r: f.ssn()), "user": "username", "customer": "customer_id"},
        [Col("cvv", True, "card security code", each(lambda f, r: f.credit_card_security_code())),
         Col("card_number", True, "payment card number", each(lambda f, r: f.credit_card_number())),
         Col("ip_address", True, "device IP address", each(lambda f, r: f.ipv4_public())),
         Col("blood_type", True, "health data (art. 9)", pool(BLOOD)),
         Col("religion", True, "religion (art. 9)", pool(RELIGION_EN))],
        {},
    ),
    "en_GB": (
        {"first": "Forename", "last": "Surname", "street": "AddressLine1", "city": "Town", "zip": "Postcode",
         "dob": "DateOfBirth", "email": "EmailAddress", "phone": "TelephoneNumber", "iban": "IBAN",
         "national": "NINumber", "national_gen": each(lambda f, r: f.ssn()), "user": "Login",
         "customer": "CustomerNo"},
        [Col("Ethnicity", True, "ethnic origin (art. 9)", pool(ETHNIC_EN)),
         Col("SexualOrientation", True, "sexual orientation (art. 9)", pool(ORIENTATION)),
         Col("UnionMember", True, "trade-union membership (art. 9)", pool(["yes", "no"])),
         Col("Gender", True, "gender: a quasi-identifier", pool(["female", "male", "non-binary"])),
         Col("MothersMaidenName", True, "mother's maiden name (a security answer)", each(lambda f, r: f.last_name()))],
        {"amount": "OrderValue", "price": "UnitPrice", "currency": "Currency", "quantity": "Qty", "sku": "SKU",
         "product": "ProductName", "status": "OrderStatus", "created_at": "CreatedAt", "app_version": "AppVersion",
         "colour": "Colour", "weight": "WeightLbs", "rating": "Rating"},
    ),
    "de_DE": (
        {"first": "Vorname", "last": "Nachname", "street": "Straße", "city": "Wohnort", "zip": "PLZ",
         "dob": "Geburtsdatum", "email": "E-Mail", "phone": "Telefonnummer", "iban": "IBAN",
         "national": "Steuer-ID", "national_gen": each(lambda f, r: steuer_id(r)), "user": "Benutzername",
         "customer": "Kundennummer"},
        [Col("Blutgruppe", True, "blood group (art. 9)", pool(BLOOD)),
         Col("Konfession", True, "religion (art. 9)", pool(["katholisch", "evangelisch", "muslimisch", "jüdisch",
                                                           "konfessionslos"])),
         Col("Geschlecht", True, "gender: a quasi-identifier", pool(["männlich", "weiblich", "divers"])),
         Col("Kfz-Kennzeichen", True, "licence plate", each(lambda f, r: f.license_plate())),
         Col("Alter", True, "age: a quasi-identifier", each(lambda f, r: r.randint(18, 90)))],
        {"amount": "Betrag", "price": "Stückpreis", "currency": "Währung", "quantity": "Menge", "sku": "Artikelnummer",
         "product": "Produktname", "status": "Bestellstatus", "created_at": "Bestelldatum", "app_version": "Version",
         "colour": "Farbe", "weight": "Gewicht", "rating": "Bewertung"},
    ),
    "nl_NL": (
        {"first": "voornaam", "last": "achternaam", "street": "adres", "city": "woonplaats", "zip": "postcode",
         "dob": "geboortedatum", "email": "emailadres", "phone": "telefoonnummer", "iban": "rekeningnummer",
         "national": "bsn", "national_gen": each(lambda f, r: f.ssn()), "user": "gebruikersnaam",
         "customer": "klantnummer"},
        [Col("bloedgroep", True, "blood group (art. 9)", pool(BLOOD)),
         Col("geslacht", True, "gender: a quasi-identifier", pool(["man", "vrouw", "anders"])),
         Col("kenteken", True, "licence plate", each(lambda f, r: f.license_plate())),
         Col("leeftijd", True, "age: a quasi-identifier", each(lambda f, r: r.randint(18, 90))),
         Col("medicatie", True, "medication (health, art. 9)", pool(MEDS))],
        {"amount": "bedrag", "price": "stukprijs", "currency": "valuta", "quantity": "aantal", "sku": "artikelcode",
         "product": "productnaam", "status": "bestelstatus", "created_at": "besteldatum", "app_version": "versie",
         "colour": "kleur", "weight": "gewicht", "rating": "beoordeling"},
    ),
    "fr_FR": (
        {"first": "prenom", "last": "nom_de_famille", "street": "adresse", "city": "ville", "zip": "code_postal",
         "dob": "date_de_naissance", "email": "courriel", "phone": "telephone", "iban": "iban",
         "national": "numero_securite_sociale", "national_gen": each(lambda f, r: f.ssn()), "user": "identifiant",
         "customer": "numero_client"},
        [Col("groupe_sanguin", True, "blood group (art. 9)", pool(BLOOD)),
         Col("diagnostic_cim10", True, "ICD-10 diagnosis codes (art. 9)", pool(ICD10)),
         Col("sexe", True, "gender: a quasi-identifier", pool(["homme", "femme"])),
         Col("immatriculation", True, "licence plate", each(lambda f, r: f.license_plate())),
         Col("mot_de_passe", True, "password", each(lambda f, r: f.password()))],
        {"amount": "montant", "price": "prix_unitaire", "currency": "devise", "quantity": "quantite",
         "sku": "reference_article", "product": "nom_produit", "status": "statut_commande",
         "created_at": "date_commande", "app_version": "version_appli", "colour": "couleur", "weight": "poids",
         "rating": "note"},
    ),
    "es_ES": (
        {"first": "nombre", "last": "apellidos", "street": "direccion", "city": "ciudad", "zip": "codigo_postal",
         "dob": "fecha_nacimiento", "email": "correo_electronico", "phone": "telefono", "iban": "iban",
         "national": "dni", "national_gen": each(lambda f, r: f.nif()), "user": "usuario",
         "customer": "id_cliente"},
        [Col("grupo_sanguineo", True, "blood group (art. 9)", pool(BLOOD)),
         Col("medicamento", True, "medication (health, art. 9)", pool(MEDS)),
         Col("sexo", True, "gender: a quasi-identifier", pool(["hombre", "mujer"])),
         Col("matricula", True, "licence plate", each(lambda f, r: f.license_plate())),
         Col("edad", True, "age: a quasi-identifier", each(lambda f, r: r.randint(18, 90)))],
        {"amount": "importe", "price": "precio_unitario", "currency": "moneda", "quantity": "cantidad",
         "sku": "codigo_articulo", "product": "nombre_producto", "status": "estado_pedido",
         "created_at": "fecha_pedido", "app_version": "version_app", "colour": "color", "weight": "peso",
         "rating": "valoracion"},
    ),
}

MESSY: list[Col] = [
    Col("Cust. Surname", True, "surnames only, messy header", each(lambda f, r: f.last_name())),
    Col("MAIDEN_NM", True, "mother's maiden name, abbreviated header", each(lambda f, r: f.last_name())),
    Col("addr", True, "US street address ('10932 Bigge Rd')", each(lambda f, r: f.street_address())),
    Col("ZIP_CD", True, "zip held as an integer (leading zeros lost)", each(lambda f, r: int(f.zipcode()))),
    Col("CC_CVV", True, "card security code", each(lambda f, r: r.randint(100, 999))),
    Col("cc_exp", True, "card expiry MM/YY",
        each(lambda f, r: f.credit_card_expire())),
    Col("natl_id", True, "SSN-shaped ids Presidio's validity rules reject", each(lambda f, r: invalid_ssn(r))),
    Col("pwd", True, "passwords", each(lambda f, r: f.password(length=12))),
    Col("api_token", True, "a secret token per customer", each(lambda f, r: "sk_live_" + f.pystr(24, 24))),
    Col("GUID", True, "per-customer GUID", each(lambda f, r: str(f.uuid4()))),
    Col("MTCN", True, "money-transfer control number", each(lambda f, r: mtcn(r))),
    Col("Lat", True, "latitude with 6 decimals", each(lambda f, r: float(f.latitude()))),
    Col("Lon", True, "longitude with 6 decimals", each(lambda f, r: float(f.longitude()))),
    Col("geo", True, "'lat, lon' pairs as text", each(lambda f, r: f"{float(f.latitude()):.6f}, {float(f.longitude()):.6f}")),
    Col("hw_addr", True, "device MAC address", each(lambda f, r: f.mac_address())),
    Col("handset", True, "device IMEI (Luhn)", each(lambda f, r: imei(r))),
    Col("chassis", True, "vehicle VIN", each(lambda f, r: f.vin())),
    Col("track_no", True, "parcel tracking numbers (lead to a delivery address)",
        each(lambda f, r: "1Z" + "".join(r.choice(string.ascii_uppercase + string.digits) for _ in range(16)))),
    Col("BloodType", True, "blood type (art. 9), CamelCase header", pool(BLOOD)),
    Col("ver", False, "version strings", each(lambda f, r: "v" + version(r))),
    Col("prod_code", False, "product codes", pool([product_code(random.Random(i)) for i in range(60)])),
    Col("amt_txt", False, "amounts as text with a thousands separator",
        each(lambda f, r: f"{r.randint(1, 9)}.{r.randint(100, 999)},{r.randint(0, 99):02d}")),
    Col("ts", False, "event timestamps as ISO text", each(lambda f, r: ts(r))),
    Col("build_sha", False, "git commit of the build that served the page (a checksum, not a secret)",
        pool([Faker().sha1() for _ in range(8)])),
    Col("ean", False, "product barcodes", pool([Faker().ean13() for _ in range(30)])),
    Col("isbn", False, "book ISBNs", pool([Faker().isbn13() for _ in range(30)])),
    Col("Color", False, "product colour", pool(COLOURS)),
    Col("weight_lbs", False, "parcel weight", each(lambda f, r: r.randint(100, 260))),
    Col("http_status", False, "HTTP status of the request", pool([200, 201, 301, 404, 500])),
    Col("err_code", False, "application error codes", pool(["E1001", "E1002", "E2001", "W3004"])),
    Col("fx_rate", False, "exchange rate", each(lambda f, r: round(r.uniform(0.8, 1.3), 5))),
    Col("store_id", False, "shop branch (30 branches)", pool([f"ST{i:03d}" for i in range(30)])),
    Col("channel", False, "sales channel", pool(["web", "app", "pos", "phone"])),
    Col("discount_pct", False, "discount in percent", each(lambda f, r: r.choice([0, 5, 10, 15, 20]))),
]


def build(rows: int, seed: int) -> list[tuple[str, pd.DataFrame, dict[str, Col]]]:
    tables = []
    for i, (locale, (h, special, np_lang)) in enumerate(LOCALES.items()):
        fake = Faker(locale)
        fake.seed_instance(seed + i)
        rng = random.Random(seed + i)
        cols = locale_table(locale, h, special, np_lang)
        tables.append((locale, pd.DataFrame({c.header: c.gen(fake, rng, rows) for c in cols}),
                       {c.header: c for c in cols}))
    fake = Faker("en_US")
    fake.seed_instance(seed + 99)
    rng = random.Random(seed + 99)
    tables.append(("messy", pd.DataFrame({c.header: c.gen(fake, rng, rows) for c in MESSY}),
                   {c.header: c for c in MESSY}))
    return tables


def baseline(df: pd.DataFrame, analyzer, n: int | None) -> set[str]:
    from presidio_structured import PandasAnalysisBuilder

    analysis = PandasAnalysisBuilder(analyzer=analyzer).generate_analysis(df.astype(str), n=n)
    return {c for c, e in analysis.entity_mapping.items() if e}


def scores(flagged: set[str], truth: set[str], all_cols: int) -> tuple[float, float, int, int]:
    tp = len(flagged & truth)
    precision = tp / len(flagged) if flagged else 1.0
    recall = tp / len(truth) if truth else 1.0
    return precision, recall, len(flagged - truth), len(truth - flagged)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rows", type=int, default=200)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--baseline-sample", type=int, default=None)
    ap.add_argument("--labels", action="store_true", help="print every column's label and reason, then exit")
    ap.add_argument("--no-baseline", action="store_true")
    args = ap.parse_args(argv)

    tables = build(args.rows, args.seed)
    n_cols = sum(len(specs) for _, _, specs in tables)
    if args.labels:
        for name, _, specs in tables:
            for c in specs.values():
                print(f"{name:<6} {c.header:<26} {'PII' if c.pii else '-':<4} {c.why}")
        print(f"{n_cols} columns")
        return 0
    print(f"{len(tables)} tables, {n_cols} labelled columns ({sum(c.pii for _, _, s in tables for c in s.values())} PII), "
          f"{args.rows} rows each")
    engine = get_engine()
    analyzer = None if args.no_baseline else vanilla_analyzer()

    ours: set[str] = set()
    theirs: set[str] = set()
    truth: set[str] = set()
    ours_s = base_s = 0.0
    details = []
    for name, df, specs in tables:
        truth |= {f"{name}.{h}" for h, c in specs.items() if c.pii}
        table = pa.Table.from_pandas(df, preserve_index=False)
        t = time.perf_counter()
        report = classify_table(table, sample_size=args.rows, analyzer=engine, seed=args.seed)
        ours_s += time.perf_counter() - t
        ours |= {f"{name}.{c.name}" for c in report.columns if c.flagged}
        for c in report.columns:
            details.append((f"{name}.{c.name}", specs[c.name].pii, c))
        if analyzer is not None:
            t = time.perf_counter()
            theirs |= {f"{name}.{c}" for c in baseline(df, analyzer, args.baseline_sample)}
            base_s += time.perf_counter() - t

    wrong = [(k, pii, c) for k, pii, c in details if pii != c.flagged]
    if wrong:
        print("\nPactline's misses and false alarms (column names only):")
        for k, pii, c in wrong:
            print(f"  {'MISS ' if pii else 'FALSE'} {k:<34} entity={c.entity} category={c.category} "
                  f"rule={c.evidence.get('rule')} share={c.share}")
    p, r, fp, fn = scores(ours, truth, n_cols)
    print(f"\npactline : precision {p:.3f}  recall {r:.3f}  ({fp} false alarms, {fn} misses)  {ours_s:7.2f}s")
    if analyzer is not None:
        bp, br, bfp, bfn = scores(theirs, truth, n_cols)
        print(f"baseline : precision {bp:.3f}  recall {br:.3f}  ({bfp} false alarms, {bfn} misses)  {base_s:7.2f}s"
              f"  (presidio-structured PandasAnalysisBuilder, stock AnalyzerEngine, same spaCy model)")
        print(f"speed-up : {base_s / ours_s:.1f}x")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
