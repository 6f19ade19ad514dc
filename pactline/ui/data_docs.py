"""GX Data Docs that render offline: the CSS and JS they take from CDNs are served by the plugin from files an
installed, pinned package ships, and each report's HTML is rewritten to use them.

Great Expectations 1.24 ships its own styles, fonts and images (great_expectations/render/view/static, copied
into every site) but links Bootstrap, jQuery and a few plugins from CDNs. Flower (pinned in constraints.txt; the
Celery provider Pactline deploys with requires it) ships Bootstrap and jQuery. So:

- a CDN asset with a local copy is served from /pactline/static/data-docs/<name>;
- a CDN asset nobody here ships (Bootstrap Table, Font Awesome, the date picker, Vega) is dropped: under the report's
  Content-Security-Policy no script runs anyway, and the tables and text read the same without them;
- any other resource from elsewhere (GX's logo on S3) is replaced by GX's own copy, or dropped.

Nothing in a rewritten report is fetched from another machine. Links (<a href>) stay: they load nothing by themselves.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from importlib import resources

# local name -> (package, file inside it)
ASSETS: dict[str, tuple[str, str]] = {
    "bootstrap.min.css": ("flower", "static/css/bootstrap.min.css"),
    "bootstrap.bundle.min.js": ("flower", "static/js/bootstrap.bundle.min.js"),  # Bootstrap's JS with Popper
    "jquery.min.js": ("flower", "static/js/jquery-3.6.4.min.js"),
    "ge-logo-long.png": ("great_expectations", "render/view/static/images/logo-long.png"),
}
MEDIA = {".css": "text/css; charset=utf-8", ".js": "text/javascript; charset=utf-8", ".png": "image/png"}

# CDN URL -> local name; the first matching pattern wins; None: dropped (no local copy)
CDN: tuple[tuple[re.Pattern[str], str | None], ...] = tuple((re.compile(p), n) for p, n in (
    (r"//(maxcdn|stackpath)\.bootstrapcdn\.com/bootstrap/[^/]+/css/bootstrap(\.min)?\.css$", "bootstrap.min.css"),
    (r"//(maxcdn|stackpath)\.bootstrapcdn\.com/bootstrap/[^/]+/js/bootstrap(\.bundle)?(\.min)?\.js$",
     "bootstrap.bundle.min.js"),
    (r"//code\.jquery\.com/jquery-[0-9.]+(\.min)?\.js$", "jquery.min.js"),
    (r"//great-expectations-web-assets\.[^/]+/full_logo[^/]*\.png$", "ge-logo-long.png"),
    (r"/popper(\.min)?\.js$", None),  # in Bootstrap's bundle
))

# The local Bootstrap is 5; GX writes Bootstrap 4 classes. These few (the ones GX's renderers use) keep their look,
# and Font Awesome's status icons (not shipped here) become characters. Inline, after Bootstrap's stylesheet.
_SPACING = {"m": "margin", "p": "padding"}
BOOTSTRAP4_COMPAT = (
    ".badge-primary{background-color:#0d6efd}.badge-secondary{background-color:#6c757d}"
    ".badge-success{background-color:#198754}.badge-danger{background-color:#dc3545}"
    ".badge-warning{background-color:#ffc107;color:#212529}.badge-info{background-color:#0dcaf0;color:#212529}"
    ".badge-light{background-color:#f8f9fa;color:#212529}.badge-dark{background-color:#212529}"
    ".badge-pill{border-radius:50rem}.float-left{float:left!important}.float-right{float:right!important}"
    + "".join(f".{k}{side[0]}-{n}{{{prop}-{side}:{size}!important}}" for k, prop in _SPACING.items()
              for side in ("left", "right")
              for n, size in enumerate(("0", ".25rem", ".5rem", "1rem", "1.5rem", "3rem")))
    + '.fas{font-style:normal}.fas.fa-check-circle::before{content:"\\2714"}.fas.fa-times::before{content:"\\2716"}'
)

_EXTERNAL = r"(?:https?:)?//[^\"'\s)>]+"
_LINK = re.compile(r"<link\b[^>]*?\bhref\s*=\s*([\"'])(" + _EXTERNAL + r")\1[^>]*>", re.I)
_SCRIPT = re.compile(r"<script\b[^>]*?\bsrc\s*=\s*([\"'])(" + _EXTERNAL + r")\1[^>]*>\s*</script>", re.I)
_SRC = re.compile(r"<(?:img|source|iframe|embed|object)\b[^>]*?\b(?:src|data)\s*=\s*([\"'])(" + _EXTERNAL
                  + r")\1[^>]*>", re.I)
_CSS_URL = re.compile(r"url\(\s*([\"']?)(" + _EXTERNAL + r")\1\s*\)", re.I)
_IMPORT = re.compile(r"@import\s+(?:url\()?\s*([\"'])(" + _EXTERNAL + r")\1\s*\)?[^;]*;", re.I)


def local_name(url: str) -> str | None:
    """The local asset standing in for a CDN URL, or None when nothing here ships it."""
    return next((name for pattern, name in CDN if pattern.search(url)), None)


def rewrite(html: str, asset_url: Callable[[str], str]) -> str:
    """The report with every resource from elsewhere served locally (asset_url(name) gives its URL) or removed."""

    def tag(m: re.Match[str]) -> str:
        name = local_name(m.group(2))
        if name is None:
            return ""
        # a local copy is another file than the CDN's: its integrity hash would not match
        text = re.sub(r"\s(integrity|crossorigin)\s*=\s*([\"'])[^\"']*\2", "", m.group(0), flags=re.I)
        text = text.replace(m.group(2), asset_url(name), 1)
        return text + f"<style>{BOOTSTRAP4_COMPAT}</style>" if name == "bootstrap.min.css" else text

    def css_url(m: re.Match[str]) -> str:
        name = local_name(m.group(2))
        return f"url('{asset_url(name)}')" if name else "none"

    html = _LINK.sub(tag, html)
    html = _SCRIPT.sub(tag, html)
    html = _SRC.sub(tag, html)
    html = _IMPORT.sub(lambda m: "", html)
    return _CSS_URL.sub(css_url, html)


def asset(name: str) -> tuple[bytes, str] | None:
    """(content, media type) of a local asset; None for a name not in ASSETS."""
    if name not in ASSETS:
        return None
    package, path = ASSETS[name]
    data = resources.files(package).joinpath(path).read_bytes()
    return data, MEDIA[name[name.rfind("."):]]


def is_report_page(path: str) -> bool:
    return path.lower().endswith((".html", ".htm"))


__all__ = ["ASSETS", "BOOTSTRAP4_COMPAT", "CDN", "asset", "is_report_page", "local_name", "rewrite"]
