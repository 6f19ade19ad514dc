"""The steward pages' data and rendering, without Airflow (the plugin in plugins/ is a thin shell over it).

    html.py         layout, tables, badges, time (escaping and inline SVG charts: pactline.charts)
    agreements.py   agreements: parties, purposes, expiry, fingerprint, column x transformation matrix;
                    invalid files with their located problems
    reviews.py      per run and dataset: PII scan, quality/privacy/bias checks, synthetic scores, Data Docs
    approvals.py    releases waiting for a steward, decisions, the decision form
    pia.py          a run's privacy impact assessment (pactline.pia's document) and whether its file is recorded
    ledger_view.py  verification, latest checkpoint, recent entries, deletion receipts with proofs
    incidents.py    violations and failed gates with the notification deadline counting down, the notices sent,
                    the acknowledgement or its form
    data_docs.py    GX Data Docs offline: their CDN assets from installed packages' files, pages rewritten to use them
    csrf.py         signed double-submit CSRF tokens tied to the user
"""
