"""Importing this module loads what Pactline's tasks need: Great Expectations with Pactline's
expectations, the pipeline steps, and the PII engine with its spaCy model.

A task process that starts from a process which imported it starts warm: Airflow's Celery worker
forks one process per task (from its pool process), so the few seconds of GX import and spaCy load
are paid once per worker instead of once per task. Two ways to use it:

- a Celery worker: `[celery] celery_config_options = operators.celery_config.CELERY_CONFIG`, which
  adds this module to Celery's `imports` (loaded in the worker before it forks its pool);
- any fork server: `multiprocessing` forkserver preload `["pactline.warm"]` (bench/scale.py).

It loads models only from installed packages (no download), as every Pactline task does.
"""

from __future__ import annotations

import importlib
import pkgutil

import pactline.checks.runner  # GX, its expectation registry and Pactline's expectations
import pactline.pipeline
import pactline.protect
from pactline.pii.engine import get_engine

for _step in pkgutil.iter_modules(pactline.pipeline.__path__):  # every step module, whatever steps there are
    importlib.import_module(f"pactline.pipeline.{_step.name}")
get_engine()
