"""Both example agreements end to end through real Airflow (dag.test on SQLite), real Presidio and spaCy.

The key assertion: no raw value of a column the agreement says must be pseudonymised, redacted,
masked or dropped survives anywhere in the released data.
"""

from __future__ import annotations

import json
from collections import Counter

import pytest

from pactline.agreement import load_agreement
from pactline.store import DataRoot
from tests.conftest import amend, raw_values, releases, run_dag

pytestmark = pytest.mark.slow


def assert_no_raw_values(table, values, what):
    cells = [str(v) for col in table.columns for v in col.to_pylist() if v is not None]
    blob = "\n".join(cells)
    leaked = sorted(v for v in values if v in blob)
    assert not leaked, f"{what}: raw values released: {leaked[:5]}"


def lineage_of(events, task_id):
    """The COMPLETE OpenLineage event of one task of the run (issue 17: the publish steps report their release)."""
    found = [e for e in events if e["eventType"] == "COMPLETE" and e["job"]["name"].endswith(f".{task_id}")]
    assert len(found) == 1, f"{task_id}: {len(found)} COMPLETE events"
    return found[0]


def assert_no_raw_values_in_events(events, workspace, loaded):
    blob = json.dumps(events, ensure_ascii=False)
    for ds in loaded.agreement.datasets:
        leaked = sorted(v for v in raw_values(workspace, loaded, ds.id) if v in blob)
        assert not leaked, f"OpenLineage events hold raw values of {ds.id}: {len(leaked)}"


def test_fraud_agreement_end_to_end(airflow_home, workspace, openlineage_events):
    path = workspace / "agreements" / "fraud.yaml"
    loaded = load_agreement(path)
    run = run_dag(path)
    assert str(run.state) in ("success", "DagRunState.SUCCESS")
    got = releases(loaded.id, run.run_id)
    assert set(got) == {"transactions-release", "transactions-synthetic", "orders-release"}
    for manifest, _ in got.values():  # every release names the signatures it ran under
        signatures = manifest["agreement"]["signatures"]
        assert {s["party"] for s in signatures} == {"nordbank", "shopco", "fraud-lab"}
        assert all(s["version"] == loaded.agreement.metadata.version for s in signatures)

    # the synthetic release: trained on raw data, identifiers faked, gated, and no real identifier in it
    synth_manifest, synthetic = got["transactions-synthetic"]
    check = synth_manifest["steps"]["check_synthetic_transactions-synthetic"]
    assert check["passed"] and check["quality"] >= 0.75 and check["privacy"]["exact_copies"] == 0
    assert check["privacy"]["leaked_identifiers"] == 0 and check["bias"]["passed"]
    assert synthetic.num_rows == 300
    assert_no_raw_values(synthetic, raw_values(workspace, loaded, "transactions"), "synthetic transactions")

    manifest, table = got["transactions-release"]
    assert manifest["agreement"]["fingerprint"] == loaded.fingerprint
    assert manifest["rows"] == {"ingested": 300, "released": 300}
    assert manifest["undeclared_columns"] == {"count": 1, "positions": [11]}  # KANAAL, never by name
    assert manifest["inputs"][0]["sha256"] and len(manifest["inputs"][0]["sha256"]) == 64
    assert manifest["transformations"]["customer_email"]["kind"] == "pseudonymise"
    assert {f["name"] for f in manifest["schema"]} == set(table.column_names)
    text = json.dumps(manifest)
    assert str(workspace) not in text and "/tmp" not in text  # no local paths baked into manifests
    assert_no_raw_values(table, raw_values(workspace, loaded, "transactions"), "transactions")
    assert all(v.startswith("cust_") for v in table["customer_email"].to_pylist())

    orders_manifest, orders = got["orders-release"]
    assert "customer_name" not in orders.column_names
    assert_no_raw_values(orders, raw_values(workspace, loaded, "orders"), "orders")
    # the same customer email pseudonymises to the same token in both datasets: the lab can join
    joined = set(table["customer_email"].to_pylist()) & set(orders["customer_email"].to_pylist())
    assert len(joined) > 10
    # stray PII in the "non-personal" remarks was found by scan_pii and redacted
    assert orders_manifest["steps"]["scan_pii"]["overrides"] == {"remarks": "redact_text"}
    assert any("<PERSON>" in (r or "") or "<PHONE_NUMBER>" in (r or "") for r in orders["remarks"].to_pylist())

    # the ledger holds the run: every step's record, every task's state change, and it verifies
    from pactline.recording import open_ledger

    ledger = open_ledger()
    entries = [e for e in ledger.entries() if (e.payload or {}).get("run_id") == run.run_id]
    events = {e.event for e in entries}
    assert {"agreement.loaded", "data.ingested", "schema.mapped", "pii.scanned", "policy.violation",
            "transform.applied", "release.published", "task.state"} <= events
    states = {(e.payload["task_id"], e.payload["state"]) for e in entries if e.event == "task.state"}
    assert ("orders.publish_orders-release", "success") in states
    assert all(e.fingerprint == loaded.fingerprint for e in entries)
    assert ledger.verify().ok

    # issue 17: each release reported to OpenLineage (file transport): landing copy in, release out, what each
    # column got, the quality assertions, and the agreement version; and not one raw value in any event
    events = openlineage_events()
    event = lineage_of(events, "publish_transactions-release")
    (source,), (release,) = event["inputs"], event["outputs"]
    assert "/fraud-detection/landing/transactions/" in source["name"] and source["namespace"] == "file"
    assert release["name"].endswith("/fraud-detection/shared/transactions-release")
    assert release["facets"]["version"]["datasetVersion"] == manifest["version"]
    assert [f["name"] for f in release["facets"]["schema"]["fields"]] == [f["name"] for f in manifest["schema"]]
    lineage = release["facets"]["columnLineage"]["fields"]
    email = lineage["customer_email"]
    assert email["transformationType"] == "MASKED"
    assert [(i["field"], i["name"]) for i in email["inputFields"]] == [("KLANT_EMAIL", source["name"])]
    (t,) = email["inputFields"][0]["transformations"]
    assert (t["type"], t["subtype"], t["masking"]) == ("DIRECT", "TRANSFORMATION", True)
    assert t["description"].startswith("agreed transformation: pseudonymise(")
    assert lineage["amount_eur"]["transformationType"] == "IDENTITY"
    assert lineage["amount_eur"]["inputFields"][0]["transformations"][0]["subtype"] == "IDENTITY"
    assert {n: f["transformationType"] for n, f in lineage.items() if n in ("iban", "card_number", "age")} == {
        "iban": "MASKED", "card_number": "MASKED", "age": "MASKED"}
    assert {i["field"] for i in release["facets"]["columnLineage"]["dataset"]} == {"LEEFTIJD", "GESLACHT"}  # k
    assertions = source["inputFacets"]["dataQualityAssertions"]["assertions"]
    assert {"assertion": "expect_column_values_to_be_unique", "column": "transaction_id", "success": True,
            "name": "quality_rules[0]"}.items() <= next(a for a in assertions if a["name"] == "quality_rules[0]").items()
    assert all(a["success"] for a in assertions)
    agreed = {"agreementId": loaded.id, "version": loaded.agreement.metadata.version,
              "fingerprint": loaded.fingerprint}
    assert agreed.items() <= event["run"]["facets"]["pactline_agreement"].items()
    assert agreed.items() <= release["facets"]["pactline_agreement"].items()
    orders_lineage = lineage_of(events, "publish_orders-release")["outputs"][0]["facets"]["columnLineage"]["fields"]
    assert "customer_name" not in orders_lineage  # dropped: no output field
    remarks = orders_lineage["remarks"]["inputFields"][0]["transformations"][0]
    assert remarks["masking"] and "redact_text" in remarks["description"]  # scan_pii's override, not the agreed keep
    synthetic = lineage_of(events, "publish_transactions-synthetic")["outputs"][0]["facets"]["columnLineage"]
    assert "synthesizer" in synthetic["fields"]["amount_eur"]["transformationDescription"]
    assert_no_raw_values_in_events(events, workspace, loaded)


def test_readmission_agreement_end_to_end(airflow_home, workspace, openlineage_events):
    path = workspace / "agreements" / "readmission.yaml"
    loaded = load_agreement(path)
    run = run_dag(path, approve=["admissions.approve_admissions-release"])
    assert str(run.state) in ("success", "DagRunState.SUCCESS")
    got = releases(loaded.id, run.run_id)
    assert set(got) == {"admissions-release", "claims-release"}
    adm_manifest, adm = got["admissions-release"]
    _, claims = got["claims-release"]
    assert "full_name" not in adm.column_names
    assert_no_raw_values(adm, raw_values(workspace, loaded, "admissions"), "admissions")
    assert_no_raw_values(claims, raw_values(workspace, loaded, "claims"), "claims")
    # insurance numbers written differently by the two partners join after normalisation
    assert len(set(adm["insurance_id"].to_pylist()) & set(claims["insurance_id"].to_pylist())) > 100
    # issue 14: suppression used to remove the whole `diverse` sex group (every gate still passed); now the search
    # climbs the agreed hierarchies (birth decade -> any) until the group shares classes of k, and it is released
    suppress = adm_manifest["steps"]["suppress"]
    assert suppress["levels"] == {"birth_date": 1, "postcode": 0, "sex": 0}
    assert set(adm["birth_date"].to_pylist()) == {"*"}
    assert all(len(p) == 1 for p in adm["postcode"].to_pylist())
    assert "diverse" in adm["sex"].to_pylist() and suppress["protected_groups"][0]["vanished"] == 0
    # k-anonymity by suppression: every released combination of quasi-identifiers has >= k rows
    k = loaded.agreement.privacy.k_anonymity.k
    counts = Counter(zip(*(adm[c].to_pylist() for c in ("birth_date", "postcode", "sex")), strict=True))
    assert min(counts.values()) >= k
    assert adm_manifest["rows"]["released"] < adm_manifest["rows"]["ingested"]
    assert adm_manifest["steps"]["suppress"]["suppressed"] == adm_manifest["rows"]["ingested"] - adm.num_rows
    # the steward's summary and Data Docs were written, and every gate passed
    root = DataRoot()
    for kind in ("quality", "privacy", "bias"):
        assert adm_manifest["steps"][f"check_{kind}"]["passed"] is True
    # the re-identification risks the agreement bounds were measured on the release, and the representation
    # gate counted every raw sex group
    checks = root.read_json(adm_manifest["steps"]["check_bias"]["summary_json"])["checks"]
    results = {kind: checks[kind]["results"] for kind in ("privacy", "bias")}
    risks = {o["clause"]: o for o in results["privacy"]
             if o["expectation"] == "expect_reidentification_risk_to_be_at_most"}
    assert set(risks) == {f"privacy.reidentification.{f}" for f in ("max_prosecutor_risk", "max_records_at_risk",
                                                                     "max_average_risk")}
    assert risks["privacy.reidentification.max_prosecutor_risk"]["observed"] == 1 / min(counts.values())
    share = next(o for o in results["bias"] if o["expectation"] == "expect_group_shares_to_be_at_least")
    assert share["success"] and share["details"]["vanished"] == [] and "diverse" in share["details"]["groups"]
    summary = adm_manifest["steps"]["check_bias"]["summary"]
    assert "<svg" in root.read_bytes(summary).decode()
    assert b"<svg" not in root.read_raw(summary)  # reports hold data: encrypted at rest like any version

    # issue 17: the OpenLineage events of the run (file transport)
    events = openlineage_events()
    event = lineage_of(events, "publish_admissions-release")
    release = event["outputs"][0]["facets"]
    lineage = release["columnLineage"]["fields"]
    assert "full_name" not in lineage and {f["name"] for f in release["schema"]["fields"]} == set(adm.column_names)
    assert lineage["insurance_id"]["inputFields"][0]["field"] == "Versichertennummer"
    kinds = {n: f["inputFields"][0]["transformations"][0]["description"].split(":", 1)[1].strip().split("(")[0]
             for n, f in lineage.items()}
    assert {n: kinds[n] for n in ("email", "phone", "birth_date", "admission_date", "discharge_note", "race")} == {
        "email": "redact", "phone": "mask", "birth_date": "generalise", "admission_date": "date_shift",
        "discharge_note": "redact_text", "race": "generalise"}
    assert {f["transformationType"] for n, f in lineage.items() if kinds[n] != "keep"} == {"MASKED"}
    assert {i["field"] for i in release["columnLineage"]["dataset"]} == {"Geburtsdatum", "PLZ", "Geschlecht"}
    gates = {a["assertion"] for a in release["dataQualityAssertions"]["assertions"]}  # privacy and bias on the release
    assert {"expect_reidentification_risk_to_be_at_most", "expect_group_shares_to_be_at_least"} <= gates
    assert event["run"]["facets"]["pactline_agreement"]["fingerprint"] == loaded.fingerprint
    assert lineage_of(events, "publish_claims-release")["outputs"][0]["name"].endswith("/shared/claims-release")
    assert_no_raw_values_in_events(events, workspace, loaded)


def test_expired_agreement_publishes_nothing(airflow_home, workspace):
    path = workspace / "agreements" / "fraud.yaml"
    loaded = load_agreement(path)
    run = run_dag(path, as_of="2028-01-15")
    assert "fail" in str(run.state).lower()
    assert releases(loaded.id, run.run_id) == {}
    assert not DataRoot().exists(f"{loaded.id}/shared")


def test_biased_dataset_is_stopped_before_publish(airflow_home, workspace):
    import pandas as pd

    src = workspace / "data" / "fraud" / "transactions.csv"
    df = pd.read_csv(src, sep=";", dtype=str)
    # a provider whose fraud labels single out one gender: disparate impact far below the agreed 0.5
    df["FRAUDE"] = [str(g == "female" and i % 3 == 0) for i, g in enumerate(df["GESLACHT"])]
    df.to_csv(src, sep=";", index=False)
    path = workspace / "agreements" / "fraud.yaml"
    loaded = load_agreement(path)
    run = run_dag(path)
    assert "fail" in str(run.state).lower()
    got = releases(loaded.id, run.run_id)
    assert "transactions-release" not in got and "orders-release" in got  # the clean dataset still ships
    from pactline.recording import open_ledger

    entries = [e for e in open_ledger().entries() if (e.payload or {}).get("run_id") == run.run_id]
    failed = [e.payload for e in entries if e.event == "check.result" and not e.payload["passed"]]
    assert [f["check"] for f in failed] == ["bias"]
    assert any("expect_disparate_impact_to_be_at_least on gender" in f for f in failed[0]["failures"])
    incidents = [e.payload for e in entries if e.event == "incident.opened" and e.payload["kind"] == "gate.bias"]
    assert incidents and incidents[0]["notify_by"] > incidents[0]["opened_at"]


def test_under_anonymised_dataset_is_stopped(airflow_home, workspace):
    path = workspace / "agreements" / "fraud.yaml"
    # exact ages released, and a stricter k: reaching it would need far more suppression than agreed
    text = path.read_text().replace("          kind: generalise\n          method: bands\n          width: 10",
                                    "          kind: keep").replace("k_anonymity: {k: 2,", "k_anonymity: {k: 10,")
    assert "k: 10" in text and "width: 10" not in text
    amend(path, text)
    loaded = load_agreement(path)
    run = run_dag(path)
    assert "fail" in str(run.state).lower()
    assert "transactions-release" not in releases(loaded.id, run.run_id)
    from pactline.recording import open_ledger

    failed = [e.payload for e in open_ledger().entries() if e.event == "step.failed"
              and (e.payload or {}).get("run_id") == run.run_id]
    assert any("privacy.k_anonymity.max_suppressed_rate" in f["error"] for f in failed)
