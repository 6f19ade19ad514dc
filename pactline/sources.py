"""Where partner files may be read from: the source root configured for each provider party.

An agreement is untrusted input, so its `source.uri` is only a name inside a root the deployment
chose, never a path or URL of the agreement's own choosing:

- `PACTLINE_SOURCE_ROOT_<PARTY>` (party id upper-cased, other characters as '_'), else
  `PACTLINE_SOURCE_ROOT` for every party, else (the embedded default) the folder `data` beside the
  agreement's folder (include/data for include/agreements: where the sample data is generated).
- A local root: the URI is relative to the agreement file and must stay inside the root; absolute
  paths, `..` that leaves the root, symlinks out of it and anything but a regular file are refused.
- A remote root (`s3://bucket/prefix`, any fsspec URL): the URI is that scheme's URL under the root,
  or relative to the root; no `..`. Schemes no root names (http, ...) are refused.
- Every landing copy stops at `PACTLINE_MAX_SOURCE_BYTES` (default 64 GiB), nothing kept.
"""

from __future__ import annotations

import os
import posixpath
import re
import stat
from dataclasses import dataclass
from pathlib import Path

from pactline.agreement import LoadedAgreement
from pactline.errors import PactlineError, PolicyViolation

ENV_ROOT = "PACTLINE_SOURCE_ROOT"
ENV_MAX_BYTES = "PACTLINE_MAX_SOURCE_BYTES"
DEFAULT_MAX_BYTES = 64 << 30
_SCHEME = re.compile(r"^([A-Za-z][A-Za-z0-9+.-]*)://")


class SourceRefused(PolicyViolation):
    """A dataset's source names something outside its provider's source root."""


def env_name(party: str) -> str:
    return f"{ENV_ROOT}_{re.sub(r'[^A-Za-z0-9]', '_', party).upper()}"


def max_source_bytes() -> int:
    text = os.environ.get(ENV_MAX_BYTES)
    if not text:
        return DEFAULT_MAX_BYTES
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise PactlineError(f"{ENV_MAX_BYTES} must be a positive number of bytes, e.g. 10737418240 for 10 GiB")
    return value


def _is_glob(text: str) -> bool:
    return any(c in text for c in "*?[")


@dataclass(frozen=True)
class SourceRoot:
    party: str
    url: str  # a resolved local folder, or scheme://... without a trailing '/'
    configured_by: str  # which setting chose it, for messages

    @property
    def scheme(self) -> str | None:
        m = _SCHEME.match(self.url)
        return m.group(1).lower() if m else None

    def _refuse(self, clause: str, uri: str, why: str) -> SourceRefused:
        return SourceRefused(clause, f"source {uri!r} is refused: {why}. Sources of {self.party} are read only "
                                     f"inside its source root {self.url} ({self.configured_by})")

    def locate(self, uri: str, agreement_dir: Path, clause: str) -> str:
        """Where the agreement's `uri` points, once it is known to stay inside this root."""
        m = _SCHEME.match(uri)
        scheme = m.group(1).lower() if m else None
        if self.scheme is None:  # a local root
            if scheme is not None:
                raise self._refuse(clause, uri, f"scheme {scheme}:// is not a configured source root")
            if Path(uri).is_absolute() or uri.startswith("~"):
                raise self._refuse(clause, uri, "absolute paths are not allowed; give the path relative to the "
                                                "agreement file")
            path = os.path.normpath(os.path.join(agreement_dir.resolve(), uri))
            if not _inside(path, self.url):
                raise self._refuse(clause, uri, "it leaves the source root")
            fixed = path if not _is_glob(path) else (glob_base(path) or "/")
            real = os.path.realpath(fixed)  # a symlink out of the root is refused here and again at open
            if os.path.exists(fixed) and not _inside(real, os.path.realpath(self.url)):
                raise self._refuse(clause, uri, "it is (or lies under) a symlink out of the source root")
            return path + ("/" if uri.endswith("/") else "")
        if scheme is None:
            rel = uri
        elif scheme != self.scheme:
            raise self._refuse(clause, uri, f"scheme {scheme}:// is not this party's source root")
        elif not (uri + "/").startswith(self.url + "/"):
            raise self._refuse(clause, uri, "it is not under the source root")
        else:
            rel = uri[len(self.url):].lstrip("/")
        if Path(rel).is_absolute() or ".." in rel.split("/"):
            raise self._refuse(clause, uri, "'..' and absolute paths are not allowed")
        return self.url + "/" + posixpath.normpath(rel) + ("/" if uri.endswith("/") else "")

    def check_file(self, path: str, clause: str) -> None:
        """Right before a local file is opened: it is a regular file whose real path is inside the root."""
        if self.scheme is not None:  # object stores have no symlinks: the URL must be under the root
            if not (path + "/").startswith(self.url + "/") or ".." in path.split("/"):
                raise self._refuse(clause, path, "it is not under the source root")
            return
        if _SCHEME.match(path):
            raise self._refuse(clause, path, "a URL is not a file of a local source root")
        real = os.path.realpath(path)
        if not _inside(real, os.path.realpath(self.url)):
            raise self._refuse(clause, path, "it is a symlink out of the source root")
        try:
            mode = os.stat(real).st_mode
        except FileNotFoundError:
            return  # the caller reports a missing file in its own words
        if not stat.S_ISREG(mode):
            raise self._refuse(clause, path, "it is not a regular file (a device, pipe or folder)")


def _inside(path: str, root: str) -> bool:
    return path == root or path.startswith(root.rstrip("/") + "/")


def glob_base(path: str) -> str:
    """The folder part of a glob before its first wildcard ('' when there is none)."""
    cut = min((i for i, c in enumerate(path) if c in "*?["), default=len(path))
    return path[:cut].rsplit("/", 1)[0] if "/" in path[:cut] else ""


def source_root(loaded: LoadedAgreement, party: str) -> SourceRoot:
    for name in (env_name(party), ENV_ROOT):
        value = os.environ.get(name)
        if value:
            return _root(party, value.strip(), name)
    default = loaded.base_dir.parent / "data"
    return _root(party, str(default), f"the embedded default: the folder 'data' beside the agreements' folder; "
                                      f"set {env_name(party)} or {ENV_ROOT}")


def _root(party: str, value: str, configured_by: str) -> SourceRoot:
    if _SCHEME.match(value) and not value.lower().startswith("file://"):
        return SourceRoot(party, value.rstrip("/"), configured_by)
    local = value[len("file://"):] if value.lower().startswith("file://") else value
    if not Path(local).is_absolute():
        raise PactlineError(f"{configured_by}: the source root {value!r} must be an absolute folder or a URL")
    return SourceRoot(party, os.path.normpath(local), configured_by)


def locate_source(loaded: LoadedAgreement, dataset_id: str) -> tuple[SourceRoot, str]:
    """(the provider's root, the dataset's source inside it) or SourceRefused."""
    ds = loaded.agreement.dataset(dataset_id)
    root = source_root(loaded, ds.provider)
    return root, root.locate(ds.source.uri, loaded.base_dir, f"datasets[{dataset_id}].source.uri")


def source_problems(loaded: LoadedAgreement) -> list[tuple[str, str]]:
    """(YAML path, message) for each dataset whose source leaves its provider's root (validate, plan)."""
    out = []
    for ds in loaded.agreement.datasets:
        try:
            locate_source(loaded, ds.id)
        except PactlineError as e:
            out.append((f"datasets[{ds.id}].source.uri", str(e)))
    return out
