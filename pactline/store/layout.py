"""Where everything lives under the data root: the one place the storage layout is spelled out.

    <agreement>/landing/<dataset>/<sha256 of the partner's bytes>/   content-addressed copies of sources
    <agreement>/staging/<dataset>/<run folder>/                      what a run derives (mapped, protected, ...)
    <agreement>/reports/<dataset>/<run folder>/                      what a run reports (scans, checks, Data Docs)
    <agreement>/shared/<output>/<version>/                           releases, each with its MANIFEST

Each of those folders is one version (catalog row, data key); `version_base` says which a path belongs to.
"""

from __future__ import annotations

MANIFEST = "manifest.json"  # a version's clear-text description (hashes, lineage, signatures); never data
# a run's reports folder holds the PII scan, and under CHECKS_DIR each gate's result, the steward summary
# (rebuilt from every result of the run) and the GX Data Docs
PII_SCAN = "pii_scan.json"
CHECKS_DIR = "checks"
SUMMARY_JSON = "summary.json"
SUMMARY_HTML = "summary.html"
# beside them: each synthetic output's scores (synthetic_<output>.json), and the run's privacy impact assessment
# (Markdown, fingerprinted; its sha256 goes to the ledger as pia.generated)
SYNTHETIC_PREFIX = "synthetic_"
PIA = "pia.md"
# a dataset with an evaluation output (issue 15): the run splits off its holdout; the holdout's labels and protected
# attributes stay with the provider in the run's reports (HOLDOUT_LABELS); each model evaluation writes its report
# under its own folder of the dataset's reports (evaluation_folder)
HOLDOUT_TRAINING = "training.parquet"
HOLDOUT_FEATURES = "holdout/features.parquet"
HOLDOUT_LABELS = "holdout_labels.parquet"
EVALUATION_REPORT = "evaluation.json"
# where a recipient hands over a model's holdout predictions: <exchange>/<agreement>/predictions/<purpose>/
# <model type>/<model version>.csv|.parquet (the evaluation DAG polls it)
PREDICTIONS_DIR = "predictions"
# top-level folder -> the retention zone its versions count under (shared: the output's zone)
AREA_ZONES = {"landing": "landing", "staging": "staging", "reports": "staging"}
AREAS = ("landing", "staging", "reports", "shared")


def safe_run_id(run_id: str) -> str:
    """Airflow run ids hold ':' and '+'; keep paths portable across file systems and object stores."""
    return "".join(c if c.isalnum() or c in "-_." else "_" for c in run_id)


def landing(agreement_id: str, dataset: str, sha: str) -> str:
    return f"{agreement_id}/landing/{dataset}/{sha}"


def staging(agreement_id: str, dataset: str, run_id: str, name: str) -> str:
    return f"{agreement_id}/staging/{dataset}/{safe_run_id(run_id)}/{name}"


def reports_folder(agreement_id: str, dataset: str, run_folder: str | None = None) -> str:
    """A dataset's reports; with `run_folder` (already safe) one run's."""
    base = f"{agreement_id}/reports/{dataset}"
    return f"{base}/{run_folder}" if run_folder is not None else base


def reports(agreement_id: str, dataset: str, run_id: str, name: str) -> str:
    return f"{reports_folder(agreement_id, dataset, safe_run_id(run_id))}/{name}"


def shared(agreement_id: str, output: str, version: str) -> str:
    return f"{agreement_id}/shared/{output}/{version}"


RESULT_PREFIX = "result_"


def check_result(kind: str) -> str:
    """A gate's result file in CHECKS_DIR (quality, privacy, bias, bias_<output>, ...)."""
    return f"{RESULT_PREFIX}{kind}.json"


def manifest(version_base: str) -> str:
    return f"{version_base}/{MANIFEST}"


def incoming(agreement_id: str, dataset: str, tag: str) -> str:
    """A landing copy being written: named by its hash only once the hash is known."""
    return f"{agreement_id}/landing/{dataset}/.incoming-{tag}"


def version_base(agreement_id: str, rel: str) -> tuple[str, str, str] | None:
    """(area, name, base folder) of a file in a version folder of this agreement; None for anything else
    (a manifest, a path outside the zones). Raises ValueError for a path inside a zone that fits no version."""
    parts = rel.split("/")
    if len(parts) < 2 or parts[0] != agreement_id or parts[1] not in AREAS:
        return None
    if parts[-1] == MANIFEST:
        return None
    if len(parts) < 5 or any(not p or p.startswith(".") for p in parts[2:4]):
        raise ValueError(rel)
    return parts[1], parts[2], "/".join(parts[:4])


def evaluation_folder(purpose: str, model_version: str) -> str:
    """The run folder (already safe) of one model version's evaluation in its dataset's reports."""
    return safe_run_id(f"evaluation__{purpose}__{model_version}")


def predictions_inbox(agreement_id: str, purpose: str | None = None) -> str:
    """The exchange folder a recipient puts holdout predictions in (one purpose's, or every purpose's)."""
    base = f"{agreement_id}/{PREDICTIONS_DIR}"
    return f"{base}/{purpose}" if purpose is not None else base
