"""The agreement model and its loader: valid examples, every malformed case located by path and line."""

from __future__ import annotations

import json
import re

import pytest

from pactline.agreement import load_agreement, load_text
from pactline.agreement.schema import json_schema_text
from pactline.cli.main import main
from pactline.errors import AgreementError
from tests.conftest import AGREEMENTS, REPO


def problems(text: str) -> list:
    with pytest.raises(AgreementError) as info:
        load_text(text, "test.yaml")
    return info.value.problems


def line_of(text: str, needle: str) -> int:
    return text[: text.index(needle)].count("\n") + 1


@pytest.mark.parametrize("name", ["readmission", "fraud"])
def test_examples_are_valid_and_fingerprinted(name):
    loaded = load_agreement(AGREEMENTS / f"{name}.yaml")
    assert re.fullmatch(r"[0-9a-f]{64}", loaded.fingerprint)
    assert len(loaded.agreement.datasets) == 2


def test_fingerprint_ignores_layout_but_not_meaning(example_text):
    text = example_text()
    base = load_text(text).fingerprint
    relaid = "# a new comment\n" + text.replace("version: \"1.0.0\"", "version: '1.0.0'")
    assert load_text(relaid).fingerprint == base
    changed = text.replace("min_count: 5", "min_count: 6")
    assert load_text(changed).fingerprint != base


def test_unknown_field_rejected_with_line(example_text):
    text = example_text().replace("      EMail: email\n", "      EMail: email\n", 1)
    text = text.replace("        pii_entity: EMAIL_ADDRESS\n", "        pii_entity: EMAIL_ADDRESS\n        colour: red\n", 1)
    [p] = problems(text)
    assert p.path == "datasets[0].columns.email.colour"
    assert p.line == line_of(text, "colour: red")
    assert "unknown field 'colour'" in p.message


def test_unknown_transformation(example_text):
    text = example_text().replace("transformation: {kind: redact}", "transformation: {kind: hash}", 1)
    [p] = problems(text)
    assert p.path == "datasets[0].columns.email.transformation"
    assert p.line == line_of(text, "{kind: hash}")
    assert "'hash'" in p.message and "pseudonymise" in p.message


def test_expiry_before_effective(example_text):
    text = example_text().replace("expires: 2028-12-31", "expires: 2025-06-30")
    [p] = problems(text)
    assert p.path == "metadata.expires"
    assert "expires (2025-06-30) must be after effective (2026-01-01)" in p.message
    assert p.line == line_of(text, "expires: 2025-06-30")


def test_dataset_names_undeclared_party(example_text):
    text = example_text().replace("    provider: atlantic-health\n", "    provider: nobody-inc\n")
    [p] = problems(text)
    assert p.path == "datasets[1].provider"
    assert p.line == line_of(text, "provider: nobody-inc")
    assert "'nobody-inc' is not a declared party" in p.message


def test_duplicate_key(example_text):
    text = example_text().replace("  title: Readmission", "  version: \"9.9.9\"\n  title: Readmission", 1)
    [p] = problems(text)
    assert "duplicate key 'version'" in p.message and "first at line" in p.message
    assert p.line == line_of(text, 'version: "9.9.9"')


def test_every_problem_reported_at_once(example_text):
    text = example_text().replace("kind: DataSharingAgreement", "kind: Contract")
    text = text.replace("jurisdiction: US", "jurisdiction: usa")
    found = problems(text)
    assert {p.path for p in found} == {"kind", "parties[1].jurisdiction"}
    assert all(p.line for p in found)


@pytest.mark.parametrize(("text", "expected"), [
    ("", "empty"),
    ("   \n# only a comment\n", "empty"),
    ("- just\n- a list\n", "must be a YAML mapping"),
    ("42\n", "must be a YAML mapping"),
    ("apiVersion: pactline/v1\n  bad: indentation: here\n", "not valid YAML"),
    ("a: [1, 2\n", "not valid YAML"),
])
def test_malformed_documents(text, expected):
    assert any(expected in p.message for p in problems(text))


def test_alias_bomb_refused_fast():
    lines = ['a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
    for i in range(1, 10):
        prev = chr(ord("a") + i - 1)
        cur = chr(ord("a") + i)
        lines.append(f"{cur}: &{cur} [*{prev},*{prev},*{prev},*{prev},*{prev},*{prev},*{prev},*{prev},*{prev}]")
    [p] = problems("\n".join(lines))
    assert "anchors" in p.message or "aliases" in p.message
    assert p.line == 1


def test_deep_nesting_refused():
    assert "nesting" in problems("a: " + "[" * 5000 + "]" * 5000)[0].message


def test_huge_file_refused_before_parsing(tmp_path):
    big = tmp_path / "big.yaml"
    with big.open("w") as fh:
        fh.write("apiVersion: pactline/v1\nnotes: |\n")
        line = "  " + "x" * 98 + "\n"
        for _ in range(20 * 1024 * 1024 // len(line)):
            fh.write(line)
    with pytest.raises(AgreementError) as info:
        load_agreement(big)
    assert "at most 2 MiB" in info.value.problems[0].message


def test_binary_junk_and_non_utf8(tmp_path):
    junk = tmp_path / "junk.yaml"
    junk.write_bytes(bytes(range(256)) * 10)
    with pytest.raises(AgreementError) as info:
        load_agreement(junk)
    assert "not UTF-8" in str(info.value) or "NUL" in str(info.value)
    latin = tmp_path / "latin.yaml"
    latin.write_bytes("metadata:\n  title: Caf\xe9\n".encode("latin-1"))
    with pytest.raises(AgreementError) as info:
        load_agreement(latin)
    assert info.value.problems[0].line == 2 and "not UTF-8" in info.value.problems[0].message


def test_restricted_transformation_refused(example_text):
    text = example_text().replace(
        "        pii_entity: PERSON\n        transformation: {kind: drop}",
        "        pii_entity: PERSON\n        transformation: {kind: encrypt}")
    text = text.replace("  pseudonymisation: readmission_pseudonym_key", "  pseudonymisation: readmission_pseudonym_key\n  encryption: readmission_enc_key")
    [p] = problems(text)
    assert p.path == "datasets[0].columns.full_name.transformation.kind"
    assert "forbidden by restrictions[0] (no-reidentification)" in p.message


def test_key_without_secret(example_text):
    text = example_text().replace("keys:\n  pseudonymisation: readmission_pseudonym_key\n", "")
    found = problems(text)
    assert found and all("keys.pseudonymisation names no secret" in p.message for p in found)


def test_cli_validate_exit_codes(tmp_path, capsys, example_text):
    assert main(["validate", str(AGREEMENTS / "readmission.yaml"), str(AGREEMENTS / "fraud.yaml")]) == 0
    assert "valid (readmission-risk" in capsys.readouterr().out
    bad = tmp_path / "bad.yaml"
    bad.write_text(example_text().replace("transformation: {kind: redact}", "transformation: {kind: hash}", 1))
    assert main(["validate", str(bad)]) == 2
    err = capsys.readouterr().err
    assert f"{bad}:{line_of(bad.read_text(), '{kind: hash}')}: datasets[0].columns.email.transformation" in err
    assert main(["validate", "--json", str(bad)]) == 2
    [result] = json.loads(capsys.readouterr().out)
    assert result["valid"] is False and result["problems"][0]["line"]


def test_json_schema_in_sync():
    assert (REPO / "include" / "agreement.schema.json").read_text() == json_schema_text(), (
        "run: pactline schema --write include/agreement.schema.json")


def test_json_schema_accepts_examples():
    import jsonschema
    import yaml

    schema = json.loads(json_schema_text())
    for path in AGREEMENTS.glob("*.yaml"):
        data = json.loads(json.dumps(yaml.safe_load(path.read_text()), default=str))
        jsonschema.validate(data, schema)


@pytest.mark.parametrize(("old", "new", "where"), [
    ("id: readmission-risk", "id: readmission__risk", "metadata.id"),
    ("id: readmission-risk", "id: pactline-internal", "metadata.id"),
    ("pseudonymisation: readmission_pseudonym_key", "pseudonymisation: readmission__key", "keys.pseudonymisation"),
    ("pseudonymisation: readmission_pseudonym_key", "pseudonymisation: pactline_kek", "keys.pseudonymisation"),
    ("pseudonymisation: readmission_pseudonym_key", "pseudonymisation: Fraud-Key", "keys.pseudonymisation"),
])
def test_names_that_could_reach_another_namespace_are_refused(example_text, old, new, where):
    """Secrets resolve as <agreement id>__<name>: neither part may hold '__' or be one of Pactline's own."""
    text = example_text()
    assert text.count(old) == 1
    with pytest.raises(AgreementError) as err:
        load_text(text.replace(old, new))
    assert [p.path for p in err.value.problems] == [where] and err.value.problems[0].line


@pytest.mark.parametrize(("old", "new", "where"), [
    ("id: readmission-risk", 'id: "readmission-risk\\n"', "metadata.id"),  # `$` let a trailing newline through
    ("id: admissions\n", 'id: "admissions\\n"\n', "datasets[0].id"),
    ("forbidden_transformations: [keep, encrypt]", "forbidden_transformations: [keep, encrpyt]",
     "restrictions[0].forbidden_transformations[1]"),
])
def test_values_that_used_to_slip_through_are_refused(example_text, old, new, where):
    text = example_text()
    assert text.count(old) == 1
    with pytest.raises(AgreementError) as err:
        load_text(text.replace(old, new))
    assert where in [p.path for p in err.value.problems] and all(p.line for p in err.value.problems)


def test_an_empty_or_control_character_column_name_is_refused(example_text):
    text = example_text()
    for name in ('""', '"bad\\tname"', '"  "'):
        with pytest.raises(AgreementError, match="column names must be 1-128 characters"):
            load_text(text.replace("      comments:", f"      {name}:", 1))


def test_mapping_keys_are_the_text_as_written(example_text):
    """YAML 1.1 reads `010` as 8 and `no` as False; partner columns called 010 and no must stay '010' and 'no'."""
    text = example_text()
    assert text.count("      Fallnummer: case_id\n") == 1 and text.count("      PLZ: postcode\n") == 1
    text = text.replace("      Fallnummer: case_id\n", "      010: case_id\n").replace(
        "      PLZ: postcode\n", "      no: postcode\n")
    mapping = load_text(text).agreement.datasets[0].schema_mapping
    assert mapping["010"] == "case_id" and mapping["no"] == "postcode"
    assert "8" not in mapping and "False" not in mapping


def test_a_huge_integer_is_a_located_problem_not_a_traceback(example_text):
    with pytest.raises(AgreementError) as err:
        load_text(example_text().replace("k: 5,", "k: " + "9" * 5000 + ",", 1))
    assert err.value.problems[0].line and "write a shorter value" in err.value.problems[0].message

