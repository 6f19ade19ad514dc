"""The steps of an agreement's pipeline, Airflow-free. Operators are thin shells over these."""
