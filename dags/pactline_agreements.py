"""One Airflow DAG per data sharing agreement (Pactline).

Agreements are read from $PACTLINE_AGREEMENTS (default: include/agreements next to this folder).
Each valid agreement becomes a DAG named by its metadata.id; broken ones are reported as an
import error of this file, naming each file and its problems, while the others still load.
"""

from __future__ import annotations

import os
from pathlib import Path

from operators.render import build_dags

AGREEMENTS = Path(os.environ.get("PACTLINE_AGREEMENTS", Path(__file__).resolve().parent.parent / "include" / "agreements"))

globals().update(build_dags(AGREEMENTS))
