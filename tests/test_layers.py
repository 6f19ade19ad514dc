"""The import graph keeps DESIGN.md's layers: nothing imports from a layer above it, and there are no import
circles (issue 16).

Every .py file under pactline/, operators/, dags/, plugins/ and expectations/ is parsed with `ast` (nothing is
imported, so Airflow, GX and SDV stay unloaded) and every import of our own packages is collected, including
imports inside functions and under `if TYPE_CHECKING:`.

Two checks:

- layers: every import (wherever it sits: module level, inside a function, under TYPE_CHECKING) goes to the
  importer's own layer or one below it. A lazy import inside a function is still a dependency on the layer it
  names; hiding an upward import in a function does not make it go away.
- cycles: the graph of modules with an edge for EVERY import (module level, inside functions, under
  TYPE_CHECKING), plus the implicit import of each package `__init__` on the way to a submodule when the
  importer sits outside that package (importing `a.b.c` runs `a/b/__init__.py` first), has no strongly
  connected component of more than one module. This is stricter than the minimum (module-level imports only):
  a circle closed by a lazy import inside a function or a TYPE_CHECKING import is still a circle between
  two modules, usually hidden that way on purpose. Each circle found is reported with whether it also
  closes at import time (module-level imports only), which is the kind that breaks `import`.

Modules in dags/ and plugins/ are named `dags.<file>` / `plugins.<file>`; Airflow puts both folders on sys.path,
so a bare `import pactline_web` from one of them means `plugins.pactline_web`.
"""

from __future__ import annotations

import ast
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
ROOTS = ("pactline", "operators", "dags", "plugins", "expectations")
SYS_PATH_FOLDERS = ("dags", "plugins")  # Airflow puts these on sys.path: their files import each other bare

# DESIGN.md "Layers", bottom to top, made exact. A module belongs to the layer of its longest matching prefix
# (a prefix matches the module itself and everything under it; a name starting with "=" matches that module
# only). Same-layer imports are allowed (the cycle check still applies to them); an import into a higher
# layer fails.
LAYERS: Sequence[tuple[str, tuple[str, ...]]] = (
    # 0. Leaves that import nothing of ours: typed errors; withheld (value-free messages); charts (safe
    #    markup and inline-SVG charts, drawn by both the checks' report and the steward pages); db_urls
    #    (database URLs shared by the store's tables and the ledger); comments (a steward's comment as stored). `=pactline` is the top-level package's
    #    own __init__, which every `import pactline.x` runs first (it holds no imports).
    ("base", ("=pactline", "pactline.errors", "pactline.withheld", "pactline.charts", "pactline.db_urls",
              "pactline.comments")),
    # 1. The agreement model and loader, and the policy read straight off it.
    ("agreement", ("pactline.agreement", "pactline.policy")),
    # 2. Key storage (secrets, pactline_home).
    ("keys", ("pactline.keys",)),
    # 3. Where data lives: layout, data root, keyring, catalog, exchange, SQL access; reading a source.
    ("store", ("pactline.store", "pactline.sources")),
    # 4. The ledger (over the store: witnessing reads the exchange).
    ("ledger", ("pactline.ledger",)),
    # 5. Over the ledger: the recorder, the parties (keys, signatures, consent history) and access grants.
    ("parties", ("pactline.recording", "pactline.parties", "pactline.access")),
    # 6. Engines: PII, protection, synthesis, partitions, and the GX-free part of checks (metrics, one verdict
    #    function per rule, outcome wording, results). partition reduces per-partition aggregates with the
    #    checks' metrics and must not import pactline.pipeline.
    #    evaluation (issue 15): the holdout split, a model's holdout metrics, their verdicts and report, and the
    #    model versions the ledger records; over the agreement, checks' Verdict and the ledger's entries.
    ("engines", ("pactline.pii", "pactline.protect", "pactline.synth", "pactline.partition", "pactline.checks",
                 "pactline.evaluation")),
    # 7. expectations/ (GX custom expectations and suite builders) sits beside checks, split so the two
    #    packages do not import each other: expectations uses the engines' verdicts and metrics
    #    (pactline.checks.metrics/verdicts/outcomes), and the checks that run GX (the three modules below, and
    #    the pactline.checks package whose lazy exports name them) build and register their suites from it.
    ("expectations", ("expectations",)),
    # 8. The checks that run GX suites and write the steward's summary (the same engine family, one step up).
    ("check runs", ("=pactline.checks", "pactline.checks.check", "pactline.checks.runner", "pactline.checks.report")),
    # 9. Retention (due dates, purges, erasure, receipts): over store, ledger and engines (erasure rewrites with
    #    protect); below pipeline (map_schema reads its erasure register) and never imports it.
    ("retention", ("pactline.retention",)),
    # 10. Delivery (export, fetch, key release, attestations): over store, ledger, parties and retention
    #    (attestations fall due with the version's retention); below the pipeline's publish step.
    ("delivery", ("pactline.delivery",)),
    # 11. Pipeline steps.
    ("pipeline", ("pactline.pipeline",)),
    # 12. The plan (pure data built from the agreement; the steps never see it).
    ("plan", ("pactline.plan",)),
    # 13. The privacy impact assessment: the agreement, its plan (each column's transformation), a run's reports and
    #     the ledger, written by the approval and publish operators and shown by the steward pages.
    #     Beside it, the other views of an agreement and its runs for the outside world (issue 17): OpenLineage facets
    #     of a release (lineage), ODCS contracts out and in (odcs), and a draft dataset block from a partner's file
    #     (draft: the PII scan's classification and a profile of the data).
    ("assessment", ("pactline.pia", "pactline.lineage", "pactline.odcs", "pactline.draft")),
    # 13b. Incident notices and escalation (issue 17): over the ledger and the assessment's reading of
    #     acknowledgements; sent by the operators' Airflow notifiers, acknowledged on the steward pages.
    ("incidents", ("pactline.incidents",)),
    # 14. The faces: Airflow operators, the CLI, the steward pages' data and HTML. (The CLI's `pactline run`
    #     imports operators.render inside a function: same layer.)
    ("faces", ("operators", "pactline.cli", "pactline.ui")),
    # 15. Entry points: DAG files, the Airflow plugin, the worker preload module.
    ("entry points", ("dags", "plugins", "pactline.warm")),
)

# Imports that break the rules today in files this issue may not edit (another engineer or the lead owns them).
# Each is (importer, imported module); the lead empties this set as those files are reworked. An entry that no
# longer occurs fails the test, so the set can only shrink.
KNOWN_EXCEPTIONS: frozenset[tuple[str, str]] = frozenset()


@dataclass(frozen=True)
class Import:
    importer: str  # module name, e.g. pactline.checks.report
    target: str  # the imported module (a submodule when `from pkg import submodule`)
    line: int
    runs_on_import: bool  # module level (not under TYPE_CHECKING): runs when the importer is imported
    path: str

    def __str__(self) -> str:
        where = "module level" if self.runs_on_import else "inside a function or TYPE_CHECKING"
        return f"{self.path}:{self.line}: {self.importer} imports {self.target} ({where})"


def module_name(path: Path, repo: Path) -> str:
    parts = list(path.relative_to(repo).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def is_ours(name: str, bare: Mapping[str, str]) -> bool:
    return name.split(".")[0] in ROOTS or name.split(".")[0] in bare


class _Collector(ast.NodeVisitor):
    def __init__(self, importer: str, is_package: bool, modules: set[str], bare: Mapping[str, str], path: str):
        self.importer, self.is_package, self.modules, self.bare, self.path = importer, is_package, modules, bare, path
        self.depth = 0  # inside a function (or lambda): the import runs later, if at all
        self.type_checking = 0
        self.found: list[Import] = []

    def _add(self, target: str, node: ast.AST) -> None:
        head, _, rest = target.partition(".")
        if head in self.bare:
            target = self.bare[head] + (f".{rest}" if rest else "")
        if not is_ours(target, self.bare):
            return
        self.found.append(Import(self.importer, target, node.lineno, self.depth == 0 and not self.type_checking,
                                 self.path))

    def visit_FunctionDef(self, node: ast.AST) -> None:
        self.depth += 1
        self.generic_visit(node)
        self.depth -= 1

    visit_AsyncFunctionDef = visit_FunctionDef
    visit_Lambda = visit_FunctionDef

    def visit_If(self, node: ast.If) -> None:
        test = ast.unparse(node.test)
        if test in ("TYPE_CHECKING", "typing.TYPE_CHECKING"):
            self.type_checking += 1
            for child in node.body:
                self.visit(child)
            self.type_checking -= 1
            for child in node.orelse:
                self.visit(child)
        else:
            self.generic_visit(node)

    def visit_Import(self, node: ast.Import) -> None:
        for alias in node.names:
            self._add(alias.name, node)

    def visit_ImportFrom(self, node: ast.ImportFrom) -> None:
        if node.level:
            package = self.importer.split(".") if self.is_package else self.importer.split(".")[:-1]
            package = package[: len(package) - (node.level - 1)]
            base = ".".join([*package, *([node.module] if node.module else [])])
        else:
            base = node.module or ""
        for alias in node.names:
            submodule = f"{base}.{alias.name}"
            self._add(submodule if submodule in self.modules else base, node)


def collect_imports(repo: Path = REPO, roots: Iterable[str] = ROOTS) -> list[Import]:
    files = [path for root in roots for path in sorted((repo / root).rglob("*.py"))
             if ".venv" not in path.parts and "__pycache__" not in path.parts]
    modules = {module_name(path, repo) for path in files}
    bare = {name.rpartition(".")[2]: name for name in modules
            if name.count(".") == 1 and name.split(".")[0] in SYS_PATH_FOLDERS}
    found: list[Import] = []
    for path in files:
        rel = str(path.relative_to(repo))
        collector = _Collector(module_name(path, repo), path.name == "__init__.py", modules, bare, rel)
        collector.visit(ast.parse(path.read_text(), filename=rel))
        found += collector.found
    return found


def layer_of(module: str, layers: Sequence[tuple[str, tuple[str, ...]]] = LAYERS) -> tuple[int, str]:
    best: tuple[int, int, str] | None = None  # (prefix length, rank, layer name)
    for rank, (name, prefixes) in enumerate(layers):
        for prefix in prefixes:
            if prefix.startswith("="):
                prefix = prefix[1:]
                matches = module == prefix
            else:
                matches = module == prefix or module.startswith(prefix + ".")
            if matches and (best is None or len(prefix) > best[0]):
                best = (len(prefix), rank, name)
    if best is None:
        raise LookupError(f"{module} is in no layer: add it to LAYERS in tests/test_layers.py")
    return best[1], best[2]


def upward_imports(imports: Iterable[Import], layers: Sequence[tuple[str, tuple[str, ...]]] = LAYERS
                   ) -> list[tuple[Import, str]]:
    """Every import into a layer above the importer's, with a sentence naming both layers."""
    upward = []
    for imp in imports:
        (own, own_name), (their, their_name) = layer_of(imp.importer, layers), layer_of(imp.target, layers)
        if their > own:
            upward.append((imp, f"{imp}: layer {own_name!r} imports from {their_name!r} above it"))
    return upward


def import_edges(imports: Iterable[Import], *, load_time_only: bool = False) -> dict[str, set[str]]:
    """importer -> modules it imports and, for each, the package __init__s on the way that the importer is not
    itself inside. With load_time_only, only the imports that run when the importer is imported."""
    edges: dict[str, set[str]] = {}
    for imp in imports:
        if load_time_only and not imp.runs_on_import:
            continue
        targets = edges.setdefault(imp.importer, set())
        parts = imp.target.split(".")
        for i in range(1, len(parts) + 1):
            name = ".".join(parts[:i])
            if name != imp.importer and not (imp.importer + ".").startswith(name + "."):
                targets.add(name)
    return edges


def find_cycles(edges: Mapping[str, Iterable[str]]) -> list[list[str]]:
    """One concrete circle (a, b, ..., a) per strongly connected component of more than one module (Tarjan)."""
    graph = {node: sorted(set(targets)) for node, targets in edges.items()}
    for targets in list(graph.values()):
        for target in targets:
            graph.setdefault(target, [])
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    components: list[list[str]] = []

    def strongconnect(node: str) -> None:  # iterative would be longer; the graph is a few hundred modules deep
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for target in graph[node]:
            if target not in index:
                strongconnect(target)
                low[node] = min(low[node], low[target])
            elif target in on_stack:
                low[node] = min(low[node], index[target])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1 or node in graph[node]:
                components.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            strongconnect(node)

    cycles = []
    for component in components:  # a shortest path back to the start, inside the component
        members, start = set(component), component[0]
        paths = {start: [start]}
        queue = [start]
        circle: list[str] | None = None
        while queue and circle is None:
            node = queue.pop(0)
            for target in graph[node]:
                if target == start:
                    circle = [*paths[node], start]
                    break
                if target in members and target not in paths:
                    paths[target] = [*paths[node], target]
                    queue.append(target)
        cycles.append(circle or component)
    return sorted(cycles)


# --- the checker on a synthetic graph: it can fail ---------------------------------------------------------------

TOY_LAYERS = (("low", ("app.low",)), ("mid", ("app.mid",)), ("high", ("app.high",)))


def _imp(importer: str, target: str, runs_on_import: bool = True) -> Import:
    return Import(importer, target, 1, runs_on_import, importer.replace(".", "/") + ".py")


def test_checker_finds_an_upward_import_even_inside_a_function():
    imports = [_imp("app.high.page", "app.mid.engine"), _imp("app.mid.engine", "app.low.base"),
               _imp("app.mid.engine", "app.high.page", runs_on_import=False)]
    found = upward_imports(imports, TOY_LAYERS)
    assert [message for _, message in found] == [
        "app/mid/engine.py:1: app.mid.engine imports app.high.page (inside a function or TYPE_CHECKING): "
        "layer 'mid' imports from 'high' above it"]


def test_checker_finds_a_cycle_also_through_a_function_level_import():
    imports = [_imp("app.mid.a", "app.mid.b"), _imp("app.mid.b", "app.mid.c"), _imp("app.mid.c", "app.mid.a"),
               _imp("app.mid.x", "app.mid.y"), _imp("app.mid.y", "app.mid.x", runs_on_import=False)]
    assert find_cycles(import_edges(imports)) == [["app.mid.a", "app.mid.b", "app.mid.c", "app.mid.a"],
                                                  ["app.mid.x", "app.mid.y", "app.mid.x"]]
    assert find_cycles(import_edges(imports, load_time_only=True)) == [
        ["app.mid.a", "app.mid.b", "app.mid.c", "app.mid.a"]]
    assert find_cycles(import_edges(imports[:2])) == []


def test_checker_counts_a_package_init_on_the_way_to_a_submodule():
    # app.mid.x imports app.low.leaf, which runs app/low/__init__.py, which imports app.mid.x: a circle.
    imports = [_imp("app.mid.x", "app.low.leaf"), _imp("app.low", "app.mid.x")]
    assert find_cycles(import_edges(imports)) == [["app.low", "app.mid.x", "app.low"]]
    # A submodule importing its own package's sibling does not import its own package's __init__.
    assert import_edges([_imp("app.low.a", "app.low.b")]) == {"app.low.a": {"app.low.b"}}


def test_collector_reads_relative_function_level_and_type_checking_imports(tmp_path):
    (tmp_path / "pactline" / "eng").mkdir(parents=True)
    (tmp_path / "plugins").mkdir()
    (tmp_path / "pactline" / "__init__.py").write_text("")
    (tmp_path / "pactline" / "eng" / "__init__.py").write_text("from . import core\n")
    (tmp_path / "pactline" / "eng" / "core.py").write_text(
        "from typing import TYPE_CHECKING\nimport json\nfrom ..errors import E\n"
        "if TYPE_CHECKING:\n    from pactline.ui import page\n"
        "def f():\n    from pactline.plan import build\n")
    (tmp_path / "plugins" / "web.py").write_text("import pactline_helper\n")
    (tmp_path / "plugins" / "pactline_helper.py").write_text("")
    found = {(i.importer, i.target, i.runs_on_import) for i in collect_imports(tmp_path, ("pactline", "plugins"))}
    assert found == {("pactline.eng", "pactline.eng.core", True),
                     ("pactline.eng.core", "pactline.errors", True),
                     ("pactline.eng.core", "pactline.ui", False),
                     ("pactline.eng.core", "pactline.plan", False),
                     ("plugins.web", "plugins.pactline_helper", True)}


# --- the project itself -------------------------------------------------------------------------------------------

def test_every_module_has_a_layer():
    modules = {module_name(path, REPO) for root in ROOTS for path in (REPO / root).rglob("*.py")}
    missing = []
    for module in sorted(modules):
        try:
            layer_of(module)
        except LookupError as error:
            missing.append(str(error))
    assert not missing, "\n".join(missing)


def test_nothing_imports_from_a_layer_above_it():
    found = upward_imports(collect_imports())
    unexpected = [message for imp, message in found if (imp.importer, imp.target) not in KNOWN_EXCEPTIONS]
    assert not unexpected, "imports from a layer above:\n" + "\n".join(unexpected)
    stale = KNOWN_EXCEPTIONS - {(imp.importer, imp.target) for imp, _ in found}
    assert not stale, f"KNOWN_EXCEPTIONS no longer needed (remove them): {sorted(stale)}"


def test_no_import_circles():
    imports = collect_imports()
    cycles = find_cycles(import_edges(imports))
    at_import_time = {module for cycle in find_cycles(import_edges(imports, load_time_only=True)) for module in cycle}
    lines = [" -> ".join(cycle) + ("  (closes at import time)" if set(cycle) & at_import_time
                                   else "  (closed by a function-level or TYPE_CHECKING import)") for cycle in cycles]
    assert not cycles, "import circles:\n" + "\n".join(lines)


def test_test_modules_share_helpers_through_conftest_only():
    """A helper two test modules need lives in tests/conftest.py; no test module imports another one."""
    found = []
    for path in sorted((REPO / "tests").glob("test_*.py")):
        for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
            names = ([a.name for a in node.names] if isinstance(node, ast.Import)
                     else [node.module or ""] if isinstance(node, ast.ImportFrom) and not node.level else [])
            found += [f"tests/{path.name}:{node.lineno} imports {name}" for name in names
                      if name.startswith("tests.test_") or name.startswith("test_")]
    assert not found, "import shared helpers from tests.conftest instead:\n" + "\n".join(found)
