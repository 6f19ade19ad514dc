"""Post-training audit, Airflow-free: the subject-disjoint holdout split (split), the metrics of a model's scores on
it (metrics, with Fairlearn's MetricFrame and scikit-learn), one verdict function per target (verdicts), and the
evaluation report (report). The steps that read and write the store are in pactline.pipeline.holdout and
pactline.pipeline.evaluate_model."""
