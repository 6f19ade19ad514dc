"""HTML building blocks for the steward pages: layout, tables, badges, time (escaping and the inline SVG charts
are pactline.charts, shared with the checks' summary report).

Everything returns `Html` (a str that is already safe). Any other value put into a page goes
through `e()`, which escapes it; so text from an agreement, a report or the ledger can never add
markup. Pages need no JavaScript and load nothing from elsewhere: CSS is inline, charts are SVG.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterable, Sequence
from typing import Any
from urllib.parse import quote

from pactline.charts import Html, e
from pactline.checks.result import fmt as check_fmt


def join(parts: Iterable[Any], sep: str = "") -> Html:
    return Html(e(sep).join(e(p) for p in parts))


def url(*segments: Any, query: dict[str, Any] | None = None) -> str:
    """A path from segments, each percent-encoded (a run id's ':' and '+' included); optional query."""
    path = "/".join(quote(str(s), safe="") for s in segments)
    if query:
        from urllib.parse import urlencode

        path += "?" + urlencode({k: v for k, v in query.items() if v not in (None, "")})
    return path


def a(href: str, text: Any, **attrs: Any) -> Html:
    extra = "".join(f' {k.rstrip("_").replace("_", "-")}="{e(v)}"' for k, v in attrs.items() if v is not None)
    return Html(f'<a href="{e(href)}"{extra}>{e(text)}</a>')


def code(value: Any) -> Html:
    return Html(f"<code>{e(value)}</code>")


def short(fingerprint: str | None, n: int = 12) -> Html:
    """A fingerprint or hash shortened for reading, the full value in the tooltip."""
    if not fingerprint:
        return Html("-")
    return Html(f'<code title="{e(fingerprint)}">{e(fingerprint[:n])}</code>')


def badge(ok: bool | None, yes: str = "PASS", no: str = "FAIL", unknown: str = "n/a") -> Html:
    if ok is None:
        return Html(f'<span class="badge muted">{e(unknown)}</span>')
    return Html(f'<span class="badge {"pass" if ok else "fail"}">{e(yes if ok else no)}</span>')


def fmt(value: Any) -> str:
    """Short human text for an observed value or a threshold ("-" for nothing, yes/no for booleans)."""
    return check_fmt(value, none="-", yes_no=True)


def table(headers: Sequence[Any], rows: Iterable[Sequence[Any]], *, cls: str = "") -> Html:
    head = "".join(f"<th>{e(h)}</th>" for h in headers)
    body = "".join("<tr>" + "".join(f"<td>{e(c)}</td>" for c in row) + "</tr>" for row in rows)
    return Html(f'<table class="{e(cls)}"><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>')


def details(summary: Any, content: Any) -> Html:
    return Html(f"<details><summary>{e(summary)}</summary>{e(content)}</details>")


def json_block(value: Any, limit: int = 20000) -> Html:
    text = json.dumps(value, indent=1, ensure_ascii=False, sort_keys=True, default=str)
    if len(text) > limit:
        text = text[:limit] + "\n..."
    return Html(f"<pre>{e(text)}</pre>")


def section(title: Any, content: Any, *, id_: str | None = None, level: int = 2) -> Html:
    anchor = f' id="{e(id_)}"' if id_ else ""
    return Html(f"<section{anchor}><h{level}>{e(title)}</h{level}>{e(content)}</section>")


def notice(text: Any, kind: str = "info") -> Html:
    return Html(f'<p class="notice {e(kind)}" role="status">{e(text)}</p>')


# -- time ----------------------------------------------------------------------------------------

def parse_time(value: Any) -> dt.datetime | None:
    """An aware datetime from an ISO string (a trailing Z included) or a datetime; None if unreadable."""
    if isinstance(value, dt.datetime):
        return value if value.tzinfo else value.replace(tzinfo=dt.UTC)
    if not isinstance(value, str) or not value:
        return None
    try:
        parsed = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=dt.UTC)


def duration(seconds: float) -> str:
    """'3 d 4 h', '5 h 12 min', '40 min', '< 1 min'."""
    seconds = abs(int(seconds))
    days, rest = divmod(seconds, 86400)
    hours, rest = divmod(rest, 3600)
    minutes = rest // 60
    if days:
        return f"{days} d {hours} h"
    if hours:
        return f"{hours} h {minutes} min"
    return f"{minutes} min" if minutes else "< 1 min"


def countdown(target: dt.datetime | None, now: dt.datetime) -> tuple[str, float | None]:
    """('2 d 5 h left' or 'overdue by 3 h', seconds left); ('unknown', None) without a target."""
    if target is None:
        return "unknown", None
    left = (target - now).total_seconds()
    return (f"{duration(left)} left" if left >= 0 else f"overdue by {duration(left)}"), left


def when(value: Any) -> Html:
    """A timestamp as <time>, shown in UTC to the minute."""
    parsed = parse_time(value)
    if parsed is None:
        return e(value or "-")
    utc = parsed.astimezone(dt.UTC)
    return Html(f'<time datetime="{e(utc.isoformat())}">{e(utc.strftime("%Y-%m-%d %H:%M UTC"))}</time>')


# -- page ------------------------------------------------------------------------------------------

CSS = """
*{box-sizing:border-box}
body{font-family:system-ui,-apple-system,"Segoe UI",sans-serif;margin:0;color:#1d2430;line-height:1.4;background:#fff}
header.top{background:#1d2430;color:#fff;padding:.5rem 1rem;display:flex;gap:1.2rem;align-items:center;flex-wrap:wrap}
header.top a{color:#dfe6f0;text-decoration:none;padding:.2rem .4rem;border-radius:.3rem}
header.top a.active{background:#2f6db5;color:#fff}header.top .brand{font-weight:700;color:#fff}
header.top .user{margin-left:auto;color:#b8c2d0;font-size:.9rem}
main{padding:1rem 1.5rem;max-width:96rem}
h1{font-size:1.45rem;margin:.4rem 0 .6rem}h2{font-size:1.2rem;margin-top:1.8rem;border-bottom:1px solid #d5dbe5}
h3{font-size:1.05rem;margin-top:1.3rem}h4{margin:.8rem 0 .3rem}
table{border-collapse:collapse;width:100%;margin:.5rem 0 1rem;font-size:.88rem}
th,td{border:1px solid #d5dbe5;padding:.28rem .45rem;text-align:left;vertical-align:top}
th{background:#f1f4f8}td time{white-space:nowrap}table.matrix td,table.matrix th{text-align:center}table.matrix td:first-child{text-align:left}
table.matrix td.params{min-width:12rem;text-align:left;font-size:.78rem;color:#55606f;word-break:break-word}
td.allowed{background:#e6f4ea;font-weight:700;color:#17692f}td.forbidden{background:#fde8e8;color:#b3261e}
td.denied{color:#a0a8b5}
.badge{display:inline-block;padding:.08rem .5rem;border-radius:.7rem;color:#fff;font-weight:600;font-size:.8rem}
.badge.pass{background:#17692f}.badge.fail{background:#b3261e}.badge.muted{background:#8c96a8}
.badge.warn{background:#a15c00}
.meta{color:#55606f;font-size:.88rem}code,pre{font-family:ui-monospace,monospace;font-size:.82rem}
pre{white-space:pre-wrap;word-break:break-all;margin:.3rem 0;max-height:22rem;overflow:auto;background:#f7f8fa;padding:.4rem}
.card{border:1px solid #d5dbe5;border-radius:.4rem;padding:.6rem .9rem;margin:.8rem 0}
.card.invalid{border-color:#b3261e;background:#fff8f7}.card.pending{border-color:#a15c00;background:#fffaf2}
.notice{padding:.5rem .8rem;border-radius:.3rem;background:#e8f0fe}.notice.error{background:#fde8e8}
.notice.ok{background:#e6f4ea}.overdue{color:#b3261e;font-weight:700}.soon{color:#a15c00;font-weight:700}
form.decision{display:grid;gap:.5rem;max-width:40rem}
form.decision textarea{width:100%;min-height:4rem;font:inherit}
form.decision .buttons{display:flex;gap:.6rem}
button{font:inherit;padding:.35rem 1rem;border-radius:.3rem;border:1px solid #55606f;cursor:pointer}
button.approve{background:#17692f;color:#fff;border-color:#17692f}
button.reject{background:#b3261e;color:#fff;border-color:#b3261e}
dl.facts{display:grid;grid-template-columns:max-content 1fr;gap:.15rem 1rem;margin:.4rem 0}dl.facts dt{color:#55606f}
dl.facts dd{margin:0}svg.chart{max-width:100%;height:auto}figure{margin:.6rem 0}
figcaption{font-size:.85rem;color:#55606f}nav.sub a{margin-right:.8rem}
p.countdown{font-size:1.15rem}div.scroll{overflow-x:auto}p.countdown .due{font-weight:700}
"""

NAV = (("agreements", "Agreements"), ("reviews", "Reviews"), ("ledger", "Ledger"), ("incidents", "Incidents"))


def page(title: str, body: Any, *, base: str, active: str = "", user: str | None = None,
         refresh_seconds: int | None = None) -> str:
    """A whole HTML document with the Pactline navigation."""
    active_attr = ' class="active" aria-current="page"'
    links = "".join(f'<a href="{e(base)}/{e(slug)}"{active_attr if slug == active else ""}>{e(label)}</a>'
                    for slug, label in NAV)
    who = f'<span class="user">signed in as {e(user)}</span>' if user else ""
    meta_refresh = f'<meta http-equiv="refresh" content="{int(refresh_seconds)}">' if refresh_seconds else ""
    return (
        '<!DOCTYPE html><html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"{meta_refresh}<title>{e(title)} - Pactline</title><style>{CSS}</style></head><body>"
        f'<header class="top"><span class="brand">Pactline</span><nav>{links}</nav>{who}</header>'
        f"<main><h1>{e(title)}</h1>{e(body)}</main></body></html>"
    )


def error_page(title: str, message: str, *, base: str, user: str | None = None) -> str:
    return page(title, notice(message, "error"), base=base, user=user)
