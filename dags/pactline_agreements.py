"""One Airflow DAG per data sharing agreement (Pactline).

Agreements are read from $PACTLINE_AGREEMENTS (default: include/agreements next to this folder).
Each valid agreement becomes a DAG named by its metadata.id. Broken files are reported by
pactline_agreement_errors.py as that file's import error, so they never disable these DAGs.
"""

from __future__ import annotations

from operators.airflow_env import agreements_folder
from operators.render import build_dags

AGREEMENTS = agreements_folder()

_dags, _errors = build_dags(AGREEMENTS)
globals().update(_dags)
