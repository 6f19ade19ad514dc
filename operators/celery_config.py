"""Celery configuration for Pactline's workers: Airflow's defaults, plus `pactline.warm` preloaded.

    AIRFLOW__CELERY__CELERY_CONFIG_OPTIONS=operators.celery_config.CELERY_CONFIG

Celery imports the modules in `imports` in the worker's main process before it forks its pool, and
Airflow forks one process per task from a pool process, so every task starts with Great Expectations,
the pipeline and the spaCy model already loaded (bench/scale.py measures the difference).
"""

from __future__ import annotations

from airflow.providers.celery.executors.default_celery import DEFAULT_CELERY_CONFIG

CELERY_CONFIG = {**DEFAULT_CELERY_CONFIG,
                 "imports": (*DEFAULT_CELERY_CONFIG.get("imports", ()), "pactline.warm")}
