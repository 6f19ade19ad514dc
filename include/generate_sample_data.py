"""Seeded sample data for the example agreements, with the partners' own column names and real mess.

    python include/generate_sample_data.py [--rows 500] [--out include/data] [--seed 7]

Writes include/data/readmission/{admissions.csv, claims.parquet} and
include/data/fraud/{transactions.csv, orders.csv}. The mess is deliberate: nulls,
phone numbers in mixed formats, emails with stray case and whitespace, one extra
column the agreements do not declare (it must be dropped), and stray PII (names,
phones, emails) inside free-text columns the agreements declare non-personal.
"""

from __future__ import annotations

import argparse
import random
from datetime import date, datetime, timedelta
from pathlib import Path

import pandas as pd
from faker import Faker

ICD10 = ["I50.9", "J44.1", "E11.9", "N18.3", "I21.4", "J18.9", "K70.3", "F10.2", "C34.1", "A41.9"]
MCC = ["5411", "5812", "5999", "4829", "7995", "5732", "5311"]

# What each generated column holds, as a human reviewer categorises it (the example agreements' categories, with
# free-text columns as free text and the undeclared columns by what they hold): the ground truth bench/draft.py
# scores `pactline draft` against. The generator made every value, so it knows.
COLUMN_CATEGORIES = {
    "readmission/admissions.csv": {
        "Fallnummer": "quasi_identifier", "Patientenname": "direct_identifier", "EMail": "direct_identifier",
        "Telefon": "direct_identifier", "Versichertennummer": "direct_identifier", "Geburtsdatum": "quasi_identifier",
        "PLZ": "quasi_identifier", "Geschlecht": "protected_attribute", "Ethnie": "protected_attribute",
        "ICD10": "sensitive", "Aufnahmedatum": "quasi_identifier", "Verweildauer": "non_personal",
        "Entlassbrief": "free_text", "Bemerkung": "free_text", "Wiederaufnahme30": "label",
        "Stationsarzt": "direct_identifier"},
    "readmission/claims.parquet": {
        "MEMBER_NO": "direct_identifier", "MEMBER_EMAIL": "direct_identifier", "PLAN": "non_personal",
        "ZIP": "quasi_identifier", "CLAIMS_12M": "sensitive", "PAID_USD_12M": "sensitive", "PRIOR_ADMITS": "sensitive",
        "SSN": "direct_identifier"},
    "fraud/transactions.csv": {
        "TXN_ID": "non_personal", "KLANT_EMAIL": "direct_identifier", "IBAN": "direct_identifier",
        "KAARTNUMMER": "direct_identifier", "BEDRAG_EUR": "non_personal", "MCC": "non_personal",
        "TIJDSTIP": "quasi_identifier", "LEEFTIJD": "quasi_identifier", "GESLACHT": "protected_attribute",
        "FRAUDE": "label", "KANAAL": "non_personal"},
    "fraud/orders.csv": {
        "order_no": "non_personal", "customer_mail": "direct_identifier", "customer_name": "direct_identifier",
        "tel": "direct_identifier", "ship_zip": "quasi_identifier", "total": "non_personal",
        "pay_method": "non_personal", "ip": "direct_identifier", "remarks": "free_text", "chargeback": "label"},
}


def _messy_email(fake: Faker, rng: random.Random, email: str) -> str:
    r = rng.random()
    if r < 0.15:
        return email.upper()
    if r < 0.3:
        return f"  {email} "
    return email


def _messy_phone(rng: random.Random, country: str) -> str:
    digits = "".join(str(rng.randint(0, 9)) for _ in range(9))
    if country == "DE":
        forms = [f"+49 40 {digits[:7]}", f"040/{digits[:7]}", f"0049-40-{digits[:3]}-{digits[3:7]}", f"(040) {digits[:7]}"]
    else:
        forms = [f"+1 ({digits[:3]}) {digits[3:6]}-{digits[6:9]}0", f"{digits[:3]}.{digits[3:6]}.{digits[6:9]}0",
                 f"{digits[:3]}-{digits[3:6]}-{digits[6:9]}0", f"+31 6 {digits[:8]}"]
    return rng.choice(forms)


def _stray_pii_comment(fake: Faker, rng: random.Random) -> str | None:
    r = rng.random()
    if r < 0.35:
        return None
    if r < 0.5:
        return f"Please call back {fake.name()} on {fake.phone_number()} about the invoice."
    if r < 0.6:
        return f"Copy sent to {fake.email()} as requested."
    return rng.choice([
        "Coding checked, no issues.", "Second opinion requested for the main diagnosis.",
        "Transferred from another ward.", "Delivery left with neighbour.", "Customer asked for faster shipping.",
        "Item returned unopened.", "Follow-up appointment scheduled.",
    ])


def _hamburg_area_postcode(rng: random.Random) -> str:
    """Most patients of a Hamburg hospital live in the 20xxx-25xxx area; a few come from anywhere."""
    if rng.random() < 0.96:
        return f"{rng.choice([20, 21, 22, 22, 22, 23, 24, 25])}{rng.randint(0, 999):03d}"
    return f"{rng.randint(1067, 99998):05d}"


def readmission(rows: int, rng: random.Random, fake: Faker) -> tuple[pd.DataFrame, pd.DataFrame]:
    fake_de = Faker("de_DE")
    fake_de.seed_instance(rng.randint(0, 2**31))
    members = [f"{rng.choice('ABCDEFGHKLMN')}{rng.randint(100000000, 999999999)}" for _ in range(rows)]
    adm = []
    for i in range(rows):
        name = fake_de.name()
        sex = rng.choices(["female", "male", "diverse"], [0.49, 0.49, 0.02])[0]
        race = rng.choices(["white", "black", "asian", "mixed", "other", "pacific_islander"], [0.7, 0.1, 0.1, 0.05, 0.04, 0.01])[0]
        birth = date(1930, 1, 1) + timedelta(days=rng.randint(0, 365 * 75))
        admitted = date(2024, 1, 1) + timedelta(days=rng.randint(0, 700))
        stay = max(1, int(rng.expovariate(1 / 6)))
        age = (admitted - birth).days / 365.25
        p = 0.08 + 0.002 * max(0, age - 50) + 0.01 * min(stay, 15) + (0.05 if sex == "male" else 0)
        readmit = rng.random() < min(p, 0.9)
        ins = members[i]
        member_form = rng.choice([ins, ins.lower(), f"{ins[:1]} {ins[1:5]} {ins[5:]}", f"{ins[:1]}-{ins[1:]}"])
        note = (f"Patient {name} (born {birth:%d.%m.%Y}) was admitted with {rng.choice(ICD10)}. "
                f"Discharged after {stay} days. Contact: {fake_de.phone_number()}.")
        if rng.random() < 0.3:
            note += f" GP Dr. {fake_de.last_name()} informed by email {fake_de.email()}."
        adm.append({
            "Fallnummer": f"FN-{2024000 + i}",
            "Patientenname": name,
            "EMail": _messy_email(fake_de, rng, fake_de.email()) if rng.random() > 0.1 else None,
            "Telefon": _messy_phone(rng, "DE") if rng.random() > 0.05 else None,
            "Versichertennummer": member_form,
            "Geburtsdatum": birth.isoformat(),
            "PLZ": _hamburg_area_postcode(rng),
            "Geschlecht": sex,
            "Ethnie": race,
            "ICD10": rng.choice(ICD10) if rng.random() > 0.02 else "unknown",
            "Aufnahmedatum": admitted.isoformat(),
            "Verweildauer": stay,
            "Entlassbrief": note,
            "Bemerkung": _stray_pii_comment(fake_de, rng),
            "Wiederaufnahme30": readmit,
            "Stationsarzt": fake_de.name(),  # not declared: must be dropped at schema mapping
        })
    claims = []
    for ins in members:
        if rng.random() < 0.15:
            continue  # not every patient is a member with claims
        claims.append({
            "MEMBER_NO": ins,
            "MEMBER_EMAIL": fake.email() if rng.random() > 0.05 else None,
            "PLAN": rng.choice(["basic", "plus", "premium"]),
            "ZIP": fake.zipcode(),
            "CLAIMS_12M": rng.randint(0, 40),
            "PAID_USD_12M": round(rng.lognormvariate(7.5, 1.2), 2),
            "PRIOR_ADMITS": rng.choice([0, 0, 0, 1, 1, 2, 3]),
            "SSN": fake.ssn(),  # not declared: must be dropped at schema mapping
        })
    return pd.DataFrame(adm), pd.DataFrame(claims)


def _luhn_card(rng: random.Random) -> str:
    digits = [4] + [rng.randint(0, 9) for _ in range(14)]
    total = 0
    for i, d in enumerate(reversed(digits)):
        d = d * 2 if i % 2 == 0 else d
        total += d - 9 if d > 9 else d
    digits.append((10 - total % 10) % 10)
    s = "".join(map(str, digits))
    return rng.choice([s, f"{s[:4]} {s[4:8]} {s[8:12]} {s[12:]}", f"{s[:4]}-{s[4:8]}-{s[8:12]}-{s[12:]}"])


def fraud(rows: int, rng: random.Random, fake: Faker) -> tuple[pd.DataFrame, pd.DataFrame]:
    fake_nl = Faker("nl_NL")
    fake_nl.seed_instance(rng.randint(0, 2**31))
    customers = [(fake_nl.name(), fake_nl.email(), fake_nl.iban(), rng.randint(18, 90),
                  rng.choices(["female", "male", "x"], [0.49, 0.49, 0.02])[0]) for _ in range(max(10, rows // 3))]
    txns = []
    for i in range(rows):
        name, email, iban, age, gender = rng.choice(customers)
        amount = round(rng.lognormvariate(3.5, 1.1), 2)
        fraud_flag = rng.random() < (0.03 + (0.1 if amount > 300 else 0))
        txns.append({
            "TXN_ID": f"T{900000 + i}",
            "KLANT_EMAIL": _messy_email(fake_nl, rng, email),
            "IBAN": iban if rng.random() > 0.05 else None,
            "KAARTNUMMER": _luhn_card(rng),
            "BEDRAG_EUR": amount,
            "MCC": rng.choice(MCC),
            "TIJDSTIP": (datetime(2026, 1, 1) + timedelta(seconds=rng.randint(0, 86400 * 300))).isoformat(sep=" "),
            "LEEFTIJD": age if rng.random() > 0.03 else None,
            "GESLACHT": gender,
            "FRAUDE": fraud_flag,
            "KANAAL": rng.choice(["web", "app", "pos"]),  # not declared: must be dropped
        })
    orders = []
    for i in range(rows):
        name, email, _iban, _age, _gender = rng.choice(customers)
        orders.append({
            "order_no": f"SO-{i:06d}",
            "customer_mail": _messy_email(fake_nl, rng, email),
            "customer_name": name,
            "tel": _messy_phone(rng, "NL") if rng.random() > 0.1 else None,
            "ship_zip": f"{rng.randint(1000, 9999)} {rng.choice('ABCDEFGHJKLMNPRSTVWXZ')}{rng.choice('ABCDEFGHJKLMNPRSTVWXZ')}",
            "total": round(rng.lognormvariate(4, 0.8), 2),
            "pay_method": rng.choice(["card", "paypal", "ideal", "invoice"]),
            "ip": fake.ipv4_public(),
            "remarks": _stray_pii_comment(fake_nl, rng),
            "chargeback": rng.random() < 0.05,
        })
    return pd.DataFrame(txns), pd.DataFrame(orders)


def generate(out: Path, rows: int = 500, seed: int = 7) -> list[Path]:
    rng = random.Random(seed)  # noqa: S311 - seeded sample data, not security
    fake = Faker("en_US")
    fake.seed_instance(seed)
    Faker.seed(seed)
    written = []
    adm, claims = readmission(rows, rng, fake)
    txns, orders = fraud(rows, rng, fake)
    (out / "readmission").mkdir(parents=True, exist_ok=True)
    (out / "fraud").mkdir(parents=True, exist_ok=True)
    for df, path, kw in (
        (adm, out / "readmission" / "admissions.csv", {}),
        (txns, out / "fraud" / "transactions.csv", {"sep": ";"}),
        (orders, out / "fraud" / "orders.csv", {}),
    ):
        df.to_csv(path, index=False, **kw)
        written.append(path)
    claims.to_parquet(out / "readmission" / "claims.parquet", index=False)
    written.append(out / "readmission" / "claims.parquet")
    return written


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, default=500)
    parser.add_argument("--out", type=Path, default=Path(__file__).resolve().parent / "data")
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    for path in generate(args.out, args.rows, args.seed):
        print(path)


if __name__ == "__main__":
    main()
