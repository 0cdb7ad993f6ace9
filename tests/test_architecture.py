"""The house rules on imports, read from the source (AST), so a violation fails the suite.

Layers flow one way: ingest → warehouse → facts → models → run/scorecard → interfaces (cli, api,
web: pages, KPI cards and the HTML report). Every import counts, also the ones inside functions;
only `if TYPE_CHECKING:` imports (type hints, never executed) are left out.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[1] / "src"
PACKAGE = "fairshare"

#: Model areas: they compute, and never reach up into the run, the CLI, the API or the web pages.
MODELS = ("attribution", "contribution", "scoring", "forecast", "reps", "funnel", "economics", "facts",
          "journeys", "notes", "diagnose", "routing", "prospecting")  # fmt: skip
INTERFACES = ("run", "cli", "api", "web")


def _module_name(path: Path) -> str:
    parts = path.relative_to(SRC).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _is_type_checking(node: ast.If) -> bool:
    test = node.test
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def _imports(tree: ast.AST, module: str, is_package: bool) -> Iterator[str]:
    """Names of fairshare modules imported anywhere in `tree` (TYPE_CHECKING blocks excepted)."""
    for node in ast.iter_child_nodes(tree):
        if isinstance(node, ast.If) and _is_type_checking(node):
            yield from (name for child in node.orelse for name in _imports(child, module, is_package))
            continue
        if isinstance(node, ast.Import):
            yield from (a.name for a in node.names if a.name.split(".")[0] == PACKAGE)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = module.split(".") if is_package else module.split(".")[:-1]
                base = base[: len(base) - node.level + 1]
                target = ".".join([*base, node.module] if node.module else base)
            else:
                target = node.module or ""
            if target.split(".")[0] == PACKAGE:
                yield target  # `from pkg import module` imports the module, not pkg: see _graph
                yield from (f"{target}.{a.name}" for a in node.names)
        yield from _imports(node, module, is_package)


def _graph() -> dict[str, set[str]]:
    files = {_module_name(p): p for p in (SRC / PACKAGE).rglob("*.py")}
    graph = {}
    for name, path in files.items():
        tree = ast.parse(path.read_text(encoding="utf-8"))
        found = set(_imports(tree, name, path.name == "__init__.py"))
        # `from fairshare import warehouse` depends on fairshare.warehouse; the package itself
        # counts only when a name in it that is not a module is imported.
        packages = {t for t in found if any(o.startswith(t + ".") for o in found)}
        whole = {t for t in packages if any(o.rpartition(".")[0] == t and o not in files for o in found)}
        graph[name] = {t for t in found if t in files and t != name and (t not in packages or t in whole)}
    return graph


GRAPH = _graph()


def _under(module: str, area: str) -> bool:
    name = f"{PACKAGE}.{area}"
    return module == name or module.startswith(name + ".")


def _violations(sources: tuple[str, ...], forbidden: tuple[str, ...]) -> list[str]:
    return sorted(
        f"{m} imports {t}"
        for m, targets in GRAPH.items()
        if any(_under(m, s) for s in sources)
        for t in targets
        if any(_under(t, f) for f in forbidden)
    )


def _cycles() -> list[list[str]]:
    """Strongly connected components with more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on: set[str] = set()
    out: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on.add(v)
        for w in GRAPH[v]:
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            part = []
            while True:
                w = stack.pop()
                on.discard(w)
                part.append(w)
                if w == v:
                    break
            if len(part) > 1:
                out.append(sorted(part))

    for v in sorted(GRAPH):
        if v not in index:
            visit(v)
    return out


def test_the_graph_is_read():
    assert "fairshare.funnel" in GRAPH and "fairshare.facts" in GRAPH["fairshare.funnel.stages"]


def test_no_import_cycle():
    assert _cycles() == []


@pytest.mark.parametrize("interface", INTERFACES)
def test_models_never_import_an_interface(interface):
    assert _violations(MODELS, (interface,)) == []


def test_api_imports_nothing_from_cli():
    assert _violations(("api",), ("cli",)) == []


def test_web_and_the_report_do_not_import_api_routes():
    assert _violations(("web",), ("api.routes",)) == []


def test_the_report_is_an_interface():
    """The HTML report is built from the web pages' sections, in `web/`, not beside the models."""
    assert "fairshare.web.report" in GRAPH and "fairshare.report" not in GRAPH
