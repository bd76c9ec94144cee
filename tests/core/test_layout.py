"""The house layout holds: a concern that outgrew one module is a package with a docstring, not a row of
prefixed modules, and no two packages import each other except the one documented pair."""

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
APPS = ["config", "core", "incidents", "diversion", "grids", "mediation"]
# The one deliberate pair (documented at the top of both modules): a divert issues a slip, a slip's return,
# close or reopening moves its call.
ALLOWED_CYCLES = [{"diversion.services", "incidents.services"}]


def _modules() -> dict[str, tuple[Path, bool]]:
    """Dotted name → (file, is a package), migrations left out."""
    found = {}
    for app in APPS:
        for path in (ROOT / app).rglob("*.py"):
            if "migrations" in path.parts:
                continue
            parts = list(path.relative_to(ROOT).with_suffix("").parts)
            is_package = parts[-1] == "__init__"
            found[".".join(parts[:-1] if is_package else parts)] = (path, is_package)
    return found


def _import_graph(modules) -> dict[str, set[str]]:
    """Module → the project modules it imports, at the top or inside a function alike."""

    def resolve(name):
        while name and name not in modules:
            name = name.rpartition(".")[0]
        return name or None

    graph = {name: set() for name in modules}
    for name, (path, is_package) in modules.items():
        package = name if is_package else name.rpartition(".")[0]
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                targets = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom):
                base = node.module or ""
                if node.level:
                    anchor = package.split(".")[: len(package.split(".")) - (node.level - 1)]
                    base = ".".join(anchor + ([node.module] if node.module else []))
                targets = [f"{base}.{a.name}" if f"{base}.{a.name}" in modules else base for a in node.names]
            else:
                continue
            graph[name] |= {t for t in map(resolve, targets) if t and t != name}
    return graph


def _cycles(graph) -> list[set[str]]:
    """Strongly connected components of more than one module (Tarjan, iterative)."""
    index, low, stack, on_stack, found, counter = {}, {}, [], set(), [], 0
    for root in graph:
        if root in index:
            continue
        work = [(root, iter(sorted(graph[root])))]
        index[root] = low[root] = counter
        counter += 1
        stack.append(root)
        on_stack.add(root)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = counter
                    counter += 1
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(graph[child]))))
                elif child in on_stack:
                    low[node] = min(low[node], index[child])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[node])
            if low[node] == index[node]:
                component = set()
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.add(member)
                    if member == node:
                        break
                if len(component) > 1:
                    found.append(component)
    return found


def _package_of(name: str, modules) -> str:
    return name if modules[name][1] else name.rpartition(".")[0]


def test_no_two_packages_import_each_other_but_the_documented_pair():
    modules = _modules()
    across = [c for c in _cycles(_import_graph(modules)) if len({_package_of(m, modules) for m in c}) > 1]

    assert [c for c in across if c not in ALLOWED_CYCLES] == []


def test_the_cycle_check_finds_a_cycle_when_there_is_one():
    graph = {"a.x": {"b.y"}, "b.y": {"a.x"}, "c.z": {"a.x"}}

    assert _cycles(graph) == [{"a.x", "b.y"}]


@pytest.mark.parametrize("app", ["incidents", "diversion"])
def test_no_prefixed_modules_stand_where_a_package_belongs(app):
    prefixed = sorted(p.name for p in (ROOT / app).glob("*.py")
                      if p.name.startswith(("review_", "supervision_")) or p.name in {"review.py", "supervision.py"})

    assert prefixed == []
    assert not (ROOT / "diversion" / "learning.py").exists()


@pytest.mark.parametrize("package", ["diversion.supervision", "incidents.review", "diversion.routing",
                                     "diversion.docking", "diversion.open311"])
def test_every_package_says_what_it_holds_and_what_it_may_import(package):
    path = ROOT.joinpath(*package.split("."), "__init__.py")
    docstring = ast.get_docstring(ast.parse(path.read_text(encoding="utf-8"))) or ""

    assert "import" in docstring, f"{package}/__init__.py should say what it may import"
    assert len(docstring.splitlines()) >= 3


def test_each_app_owns_its_demo_data_and_seed_demo_only_runs_them():
    command = ROOT / "core" / "management" / "commands" / "seed_demo.py"

    assert [app for app in APPS[1:] if not (ROOT / app / "demo.py").exists()] == []
    assert len(command.read_text(encoding="utf-8").splitlines()) < 150
