"""`pactline incidents notify|escalate`: send the incident notices due now (or `--as-of`), as the scheduled
`pactline_incidents` DAG does: first notices to every contact, then one escalation at half the notification
deadline and one past it while nobody acknowledged the incident. Each notice sent is a ledger entry, so running
again sends nothing twice. Mail and Slack go through Airflow's connections (operators/incident_notify.py)."""

from __future__ import annotations

import argparse
import datetime as dt
import json


def as_of(text: str) -> dt.datetime:
    """YYYY-MM-DD or an ISO date-time; UTC unless it names its zone."""
    try:
        parsed = dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a date (YYYY-MM-DD) or ISO date-time") from None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=dt.UTC)


def _run(args: argparse.Namespace) -> int:
    from operators.incident_notify import SLACK_CHANNEL, check_incidents
    from pactline.retention.run import agreement_paths

    now = args.as_of or dt.datetime.now(dt.UTC)
    report = check_incidents(now, agreements=agreement_paths([args.agreements] if args.agreements else None)[0],
                             actor=f"cli:incidents.{args.action}", notify=args.action == "notify",
                             escalate=args.action == "escalate", smtp_conn_id=args.smtp_conn_id,
                             slack_channel=args.slack_channel or SLACK_CHANNEL)
    if args.json:
        print(json.dumps(report.to_dict(), indent=2))
    else:
        for s in report.sent:
            print(f"sent      incident #{s['incident_index']:<6} {s['stage']:<16} to {s['recipients']} contact(s) "
                  f"by {', '.join(s['channels'])}")
        for f in report.failed:
            print(f"NOT SENT  incident #{f['incident_index']:<6} {f['stage']:<16} {f['error']} (the next run retries)")
        if not report.sent and not report.failed:
            print(f"nothing to {args.action} as of {now.isoformat()}")
    return 1 if report.failed else 0


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("incidents", help="send incident notices and escalations to the agreements' contacts")
    actions = p.add_subparsers(dest="action", required=True, metavar="ACTION")
    for name, text in (("notify", "the first notice of every incident not notified yet"),
                       ("escalate", "one escalation at half the deadline and one past it, while unacknowledged")):
        a = actions.add_parser(name, help=text)
        a.add_argument("--as-of", type=as_of, metavar="WHEN", help="YYYY-MM-DD or ISO date-time (UTC); default now")
        a.add_argument("--agreements", metavar="FOLDER", help="default $PACTLINE_AGREEMENTS (current contacts)")
        a.add_argument("--smtp-conn-id", metavar="ID", help="default Airflow's [email] email_conn_id (smtp_default)")
        a.add_argument("--slack-channel", metavar="CHANNEL", help="where the Slack connection exists (default #pactline-incidents)")
        a.add_argument("--json", action="store_true")
        a.set_defaults(func=_run)
