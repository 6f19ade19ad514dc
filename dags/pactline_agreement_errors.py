"""Pactline: broken agreement files as an Airflow DAG import error (this file defines no DAG).

The Airflow UI shows the error of this file naming each broken agreement and every problem with
its YAML line. It lives apart from pactline_agreements.py because Airflow disables every DAG of a
file that has an import error: the valid agreements' DAGs keep running.
"""

from __future__ import annotations

from operators.airflow_env import agreements_folder
from operators.render import raise_agreement_errors

raise_agreement_errors(agreements_folder())
