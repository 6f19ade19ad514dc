"""Imported by bench/scale.py's fork server: what a warm Celery worker holds before it forks a task
(Pactline, Great Expectations, the PII engine with its spaCy model), so each task's fresh process
starts from it as an Airflow task process starts from its worker."""

import great_expectations  # noqa: F401

import pactline.checks.check
import pactline.pipeline.partitioned  # noqa: F401
from pactline.pii.engine import get_engine

get_engine()
