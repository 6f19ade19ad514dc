"""The model DAGs of every agreement with model_evaluation (Pactline, issue 15), on the deployment that provides the
evaluated datasets (the embedded default: every agreement):

<agreement>__evaluate_models  every 10 minutes: each new predictions file on the exchange
                              (<agreement>/predictions/<purpose>/<model type>/<model version>.csv|.parquet) is
                              checked and scored against the provider-held holdout labels (model.evaluated/refused)
<agreement>__promote_model    triggered with purpose and model_version: a passed evaluation, then the steward's
                              Airflow HITL decision (model.promoted / model.rejected)

Broken agreement files are reported by pactline_agreement_errors.py.
"""

from __future__ import annotations

from operators.airflow_env import agreements_folder
from operators.models import model_dags

globals().update(model_dags(agreements_folder()))
