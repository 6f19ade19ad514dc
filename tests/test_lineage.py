"""OpenLineage facets of a release (issue 17), without Airflow: what each column got, dataset naming, the agreement
facet, and that the provider stays off (no listener, no client, no network) when no transport is configured.

The events of real runs (both example agreements through dag.test with the provider's file transport) are asserted
in tests/test_e2e.py, inside its existing runs."""

from __future__ import annotations

import datetime as dt
import json
import os

import pytest
from openlineage.client.event_v2 import Job, Run, RunEvent, RunState
from openlineage.client.serde import Serde

from pactline.lineage import column_transformation, release_lineage
from pactline.lineage.facets import dataset_name
from tests.conftest import populate, raw_values


@pytest.mark.parametrize(("transformation", "subtype", "masking", "words"), [
    ({"kind": "keep"}, "IDENTITY", False, "agreed transformation: keep"),
    ({"kind": "mask", "mode": "keep_last", "n": 4}, "TRANSFORMATION", True, 'mask(mode="keep_last", n=4)'),
    ({"kind": "redact"}, "TRANSFORMATION", True, "redact"),
    ({"kind": "pseudonymise", "normalise": ["strip"], "prefix": "c_"}, "TRANSFORMATION", True,
     'pseudonymise(normalise=["strip"], prefix="c_")'),
    ({"kind": "generalise", "method": "bands", "width": 10}, "TRANSFORMATION", True, "generalise("),
    ({"kind": "date_shift", "max_days": 14}, "TRANSFORMATION", True, "date_shift(max_days=14)"),
])
def test_each_agreed_transformation_as_column_lineage(transformation, subtype, masking, words):
    t = column_transformation(transformation)
    assert (t.type, t.subtype, t.masking) == ("DIRECT", subtype, masking)
    assert words in t.description


def test_dataset_naming_follows_openlineage():
    assert dataset_name("/srv/pactline/data/a/landing/x.csv") == ("file", "/srv/pactline/data/a/landing/x.csv")
    assert dataset_name("file:///srv/data/a/shared/out") == ("file", "/srv/data/a/shared/out")
    assert dataset_name("s3://bucket/prefix/a/shared/out") == ("s3://bucket", "prefix/a/shared/out")


def test_release_lineage_from_a_published_manifest(workspace):
    ctx = populate(workspace)  # ingest, map, protect, publish without Airflow (no checks ran)
    base = f"{ctx.loaded.id}/shared/orders-release"
    (version,) = ctx.root.ls(base)
    lineage = release_lineage(ctx.root, ctx.loaded, "orders", {"manifest": f"{base}/{version}/manifest.json"})
    (source,), (release,) = lineage.inputs, lineage.outputs
    assert f"/{ctx.loaded.id}/landing/orders/" in source.name and source.namespace == "file"
    assert [f.name for f in source.facets["schema"].fields][:3] == ["order_no", "customer_mail", "customer_name"]
    assert source.inputFacets == {}  # no quality check ran: no assertions are made up
    assert release.name.endswith(f"{base}") and release.facets["version"].datasetVersion == version
    fields = release.facets["columnLineage"].fields
    assert "customer_name" not in fields  # dropped
    assert fields["phone"].inputFields[0].field == "tel" and fields["phone"].transformationType == "MASKED"
    assert fields["order_total_eur"].transformationType == "IDENTITY"
    assert release.facets["columnLineage"].dataset == []  # no suppression step in this plan
    agreed = lineage.run_facets["pactline_agreement"]
    assert (agreed.agreementId, agreed.version, agreed.fingerprint, agreed.output) == (
        ctx.loaded.id, "2.1.0", ctx.loaded.fingerprint, "orders-release")

    event = RunEvent(eventType=RunState.COMPLETE, eventTime=dt.datetime.now(dt.UTC).isoformat(),
                     run=Run(runId="01939f4e-0000-7000-8000-000000000000", facets=lineage.run_facets),
                     job=Job(namespace="pactline", name="fraud-detection.orders.publish_orders-release"),
                     producer="https://github.com/pactline/pactline", inputs=lineage.inputs, outputs=lineage.outputs)
    text = Serde.to_json(event)  # the client serialises it as any other event
    assert json.loads(text)["outputs"][0]["facets"]["pactline_agreement"]["fingerprint"] == ctx.loaded.fingerprint
    leaked = [v for v in raw_values(workspace, ctx.loaded, "orders") if v in text]
    assert not leaked, f"{len(leaked)} raw values in the event"


def test_provider_stays_off_without_a_transport(monkeypatch):
    """Installed for the whole suite, the provider must cost nothing when nobody configured a transport: its plugin
    registers no listener, so no task builds a client or opens a connection."""
    for name in [n for n in os.environ if n.startswith(("AIRFLOW__OPENLINEAGE__", "OPENLINEAGE_"))]:
        monkeypatch.delenv(name)
    from airflow.providers.openlineage import conf
    from airflow.providers.openlineage.plugins.listener import OpenLineageListener
    from airflow.providers.openlineage.plugins.openlineage import OpenLineageProviderPlugin
    from airflow.sdk.listener import get_listener_manager

    assert conf.is_disabled()
    assert OpenLineageProviderPlugin.listeners == []
    assert not [p for p in get_listener_manager().pm.get_plugins() if isinstance(p, OpenLineageListener)]


def test_publish_operators_report_lineage_and_others_do_not():
    from operators.steps import IngestOperator, PublishOperator, PublishPartsOperator

    assert callable(PublishOperator.get_openlineage_facets_on_complete)
    assert callable(PublishPartsOperator.get_openlineage_facets_on_complete)
    assert not hasattr(IngestOperator, "get_openlineage_facets_on_complete")
