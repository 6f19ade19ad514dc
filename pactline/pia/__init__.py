"""The privacy impact assessment (PIA) of one run of one dataset, for the privacy officer who signs the release.

    document.py   the assessment as data: facts, sections of paragraphs, headings and tables (both renderings
                  lay out the same document, so the stored file and the steward page cannot disagree)
    evidence.py   what the run left: gate results, PII scan, synthetic scores, and the agreement's ledger entries
    declared.py   the agreement's side: parties, purposes, categories and legal bases, transfers, every column's
                  transformation (as the plan carries it out), retention and access
    measured.py   the run's side: privacy risks (every privacy outcome), PII findings, synthetic scores, epsilon
                  spent, bias, other gates, open incidents
    build.py      both, in reading order
    markdown.py   the Markdown file
    generate.py   writing it under the run's reports (encrypted) with a pia.generated ledger entry; finding it

It sits above the plan (it shows each column's transformation as pactline.plan lays it out) and below the faces:
the approval and publish operators write it, the steward pages (pactline.ui.pia) show it.
"""
