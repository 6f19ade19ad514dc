"""One operator per pipeline step; each is a few lines over the core in pactline.pipeline."""

from __future__ import annotations

from typing import Any

from operators.airflow_env import ledger
from operators.base import PactlineOperator
from pactline.pia.generate import write_pia
from pactline.pipeline.check_bias import check_bias
from pactline.pipeline.check_privacy import check_privacy
from pactline.pipeline.check_quality import check_quality, quality_partition
from pactline.pipeline.check_synthetic import check_synthetic
from pactline.pipeline.combine import combine
from pactline.pipeline.context import RunContext
from pactline.pipeline.holdout import holdout_features
from pactline.pipeline.ingest import ingest, ingest_partition
from pactline.pipeline.k_classes import k_classes
from pactline.pipeline.list_partitions import list_partitions
from pactline.pipeline.map_schema import map_partition, map_schema
from pactline.pipeline.prepare import prepare
from pactline.pipeline.protect import protect, protect_partition
from pactline.pipeline.publish import publish, publish_parts
from pactline.pipeline.release import release_partition
from pactline.pipeline.scan_pii import scan_partition, scan_pii
from pactline.pipeline.suppress import suppress
from pactline.pipeline.synthesize import synthesize, synthesize_sample


class IngestOperator(PactlineOperator):
    step_kind = "ingest"

    def run(self, ctx: RunContext, upstream: dict[str, Any]) -> Any:
        return ingest(ctx, self.dataset_id)


class MapSchemaOperator(PactlineOperator):
    step_kind = "map_schema"

    def run(self, ctx: RunContext, upstream: dict[str, Any]) -> Any:
        return map_schema(ctx, self.dataset_id, upstream["ingest"]["landing"])


class ScanPiiOperator(PactlineOperator):
    step_kind = "scan_pii"
    ui_color = "#fde8e8"

    def run(self, ctx: RunContext, upstream: dict[str, Any]) -> Any:
        return scan_pii(ctx, self.dataset_id, upstream["map_schema"]["staging"], **self.step_params)


class ProtectOperator(PactlineOperator):
    step_kind = "protect"
    ui_color = "#e6f4ea"

    def run(self, ctx: RunContext, upstream: dict[str, Any]) -> Any:
        scan = upstream["scan_pii"]
        return protect(ctx, self.dataset_id, scan["staging"], scan["overrides"])


class SuppressOperator(PactlineOperator):
    step_kind = "suppress"
    ui_color = "#e6f4ea"

    def run(self, ctx: RunContext, upstream: dict[str, Any]) -> Any:
        return suppress(ctx, self.dataset_id, upstream["protect"]["staging"], **self.step_params)


class ReleaseLineage:
    """Publish steps report their release to OpenLineage (called by the provider's listener only when a transport
    is configured): the facets are built by pactline.lineage from the manifest and the plan."""

    def get_openlineage_facets_on_complete(self, task_instance: Any) -> Any:
        from airflow.providers.openlineage.extractors import OperatorLineage

        from pactline.lineage import release_lineage

        ctx, published = self._completed
        lineage = release_lineage(ctx.root, ctx.loaded, self.dataset_id, published)
        return OperatorLineage(inputs=lineage.inputs, outputs=lineage.outputs, run_facets=lineage.run_facets)


class PublishOperator(ReleaseLineage, PactlineOperator):
    step_kind = "publish"
    ui_color = "#fef7e0"

    def run(self, ctx: RunContext, upstream: dict[str, Any]) -> Any:
        output = self.step_params["output"]
        data = upstream[f"synthesize_{output}"] if self.step_params["kind"] == "synthetic" else upstream["released"]
        if self.step_params["kind"] == "evaluation":  # the holdout's features, never its labels (issue 15)
            data = {"staging": holdout_features(ctx, output, upstream["split_holdout"])}
        write_pia(ctx, self.dataset_id, ledger(), trigger=self.task_id)  # every release has its assessment
        return publish(ctx, output, upstream, data["staging"])


class CheckQualityOperator(PactlineOperator):
    step_kind = "check_quality"
    ui_color = "#f3e8fd"

    def run(self, ctx: RunContext, upstream: dict[str, Any]) -> Any:
        return check_quality(ctx, self.dataset_id, upstream["map_schema"]["staging"])


class CheckPrivacyOperator(PactlineOperator):
    step_kind = "check_privacy"
    ui_color = "#f3e8fd"

    def run(self, ctx: RunContext, upstream: dict[str, Any]) -> Any:
        # the mapped and protected tables give the released rows' raw identifiers (feature leakage)
        return check_privacy(ctx, self.dataset_id, upstream["released"]["staging"],
                             mapped=upstream["map_schema"]["staging"], protected=upstream["protect"]["staging"])


class CheckBiasOperator(PactlineOperator):
    step_kind = "check_bias"
    ui_color = "#f3e8fd"

    def run(self, ctx: RunContext, upstream: dict[str, Any]) -> Any:
        return check_bias(ctx, self.dataset_id, upstream["map_schema"]["staging"],
                                      upstream["released"]["staging"])


class SynthesizeOperator(PactlineOperator):
    step_kind = "synthesize"
    ui_color = "#e8f5fd"

    def run(self, ctx: RunContext, upstream: dict[str, Any]) -> Any:
        return synthesize(ctx, self.dataset_id, self.step_params["output"],
                          mapped=upstream["map_schema"]["staging"], released=upstream["released"]["staging"])


class CheckSyntheticOperator(PactlineOperator):
    step_kind = "check_synthetic"
    ui_color = "#f3e8fd"

    def run(self, ctx: RunContext, upstream: dict[str, Any]) -> Any:
        output = self.step_params["output"]
        return check_synthetic(ctx, self.dataset_id, output, upstream[f"synthesize_{output}"],
                               mapped=upstream["map_schema"]["staging"], bias=self.step_params["bias"])


# -- a partitioned dataset: one task per partition where rows are independent, reduces between ---------


class ListPartitionsOperator(PactlineOperator):
    step_kind = "list_partitions"

    def run(self, ctx: RunContext, upstream: dict[str, Any]) -> Any:
        return list_partitions(ctx, self.dataset_id)


class PartitionIngestOperator(PactlineOperator):
    step_kind = "ingest"

    def run(self, ctx: RunContext, upstream: dict[str, Any]) -> Any:
        return ingest_partition(ctx, self.dataset_id, self.partition or {})


class PartitionMapSchemaOperator(PactlineOperator):
    step_kind = "map_schema"

    def run(self, ctx: RunContext, upstream: dict[str, Any]) -> Any:
        return map_partition(ctx, self.dataset_id, upstream["ingest"])


class PartitionScanPiiOperator(PactlineOperator):
    step_kind = "scan_pii"
    ui_color = "#fde8e8"

    def run(self, ctx: RunContext, upstream: dict[str, Any]) -> Any:
        return scan_partition(ctx, self.dataset_id, upstream["map_schema"], **self.step_params)


class PartitionCheckQualityOperator(PactlineOperator):
    step_kind = "check_quality"
    ui_color = "#f3e8fd"

    def run(self, ctx: RunContext, upstream: dict[str, Any]) -> Any:
        return quality_partition(ctx, self.dataset_id, upstream["map_schema"])


class PrepareOperator(PactlineOperator):
    step_kind = "prepare"

    def run(self, ctx: RunContext, upstream: dict[str, Any]) -> Any:
        return prepare(ctx, self.dataset_id, upstream["map_schema"], upstream["scan_pii"],
                                   upstream["check_quality"])


class PartitionProtectOperator(PactlineOperator):
    step_kind = "protect"
    ui_color = "#e6f4ea"

    def run(self, ctx: RunContext, upstream: dict[str, Any]) -> Any:
        return protect_partition(ctx, self.dataset_id, upstream["map_schema"], upstream["prepare"],
                                             **self.step_params)


class KClassesOperator(PactlineOperator):
    step_kind = "k_classes"
    ui_color = "#e6f4ea"

    def run(self, ctx: RunContext, upstream: dict[str, Any]) -> Any:
        return k_classes(ctx, self.dataset_id, upstream["protect"], **self.step_params)


class ReleasePartitionOperator(PactlineOperator):
    step_kind = "release"
    ui_color = "#f3e8fd"

    def run(self, ctx: RunContext, upstream: dict[str, Any]) -> Any:
        return release_partition(ctx, self.dataset_id, upstream["protect"], upstream.get("k_classes"),
                                 mapped=upstream["map_schema"])


class CombineOperator(PactlineOperator):
    step_kind = "combine"
    ui_color = "#f3e8fd"

    def run(self, ctx: RunContext, upstream: dict[str, Any]) -> Any:
        return combine(ctx, self.dataset_id, mapped=upstream["map_schema"], released=upstream["release"],
                                   classes=upstream.get("k_classes"))


class PartitionSynthesizeOperator(PactlineOperator):
    step_kind = "synthesize"
    ui_color = "#e8f5fd"

    def run(self, ctx: RunContext, upstream: dict[str, Any]) -> Any:
        return synthesize_sample(ctx, self.dataset_id, self.step_params["output"],
                                             mapped=upstream["map_schema"], combined=upstream["combine"],
                                             training_rows=self.step_params["training_rows"])


class PartitionCheckSyntheticOperator(PactlineOperator):
    step_kind = "check_synthetic"
    ui_color = "#f3e8fd"

    def run(self, ctx: RunContext, upstream: dict[str, Any]) -> Any:
        output = self.step_params["output"]
        synth = upstream[f"synthesize_{output}"]  # bias drift against the raw sample, not the whole raw dataset
        return check_synthetic(ctx, self.dataset_id, output, synth, mapped=synth["raw_sample"],
                               bias=self.step_params["bias"])


class PublishPartsOperator(ReleaseLineage, PactlineOperator):
    step_kind = "publish"
    ui_color = "#fef7e0"

    def run(self, ctx: RunContext, upstream: dict[str, Any]) -> Any:
        output = self.step_params["output"]
        write_pia(ctx, self.dataset_id, ledger(), trigger=self.task_id)  # every release has its assessment
        if self.step_params["kind"] == "synthetic":  # one file, trained on a sample of the partitions
            lineage = {k: v for k, v in upstream.items()  # the inputs and the reduce steps, not every partition's
                       if k in ("ingest", "map_schema") or (k not in self.mapped_upstream and k != "released")}
            return publish(ctx, output, lineage, upstream[f"synthesize_{output}"]["staging"])
        return publish_parts(ctx, output, upstream, upstream["combine"])
