"""The shape of the package: no import cycles, small folders, short functions."""

from __future__ import annotations

import ast
from collections import Counter
from pathlib import Path

from conftest import REPO

PACKAGE = REPO / "lenet_cli"
MAX_MODULES_PER_FOLDER = 12
MAX_FUNCTION_LINES = 60


def _module_name(path: Path) -> str:
    parts = path.relative_to(REPO).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


MODULES = {_module_name(p): p for p in PACKAGE.rglob("*.py")}


def _is_type_checking(node: ast.If) -> bool:
    return isinstance(node.test, ast.Name) and node.test.id == "TYPE_CHECKING"


def _imports(tree: ast.Module) -> list[ast.Import | ast.ImportFrom]:
    """Every import that can run: at module level and deferred ones inside functions, not under TYPE_CHECKING."""
    found, pending = [], list(ast.iter_child_nodes(tree))
    while pending:
        node = pending.pop()
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            found.append(node)
        elif not (isinstance(node, ast.If) and _is_type_checking(node)):
            pending += ast.iter_child_nodes(node)
    return found


def _targets(module: str, node: ast.Import | ast.ImportFrom) -> set[str]:
    """The lenet_cli modules an import statement loads."""
    is_package = MODULES[module].name == "__init__.py"
    if isinstance(node, ast.Import):
        names = {alias.name for alias in node.names}
    else:
        base = module.split(".")
        if node.level:
            base = base[: len(base) - node.level + (1 if is_package else 0)]
            base = base + node.module.split(".") if node.module else base
        else:
            base = node.module.split(".")
        prefix = ".".join(base)
        names = {prefix} | {f"{prefix}.{alias.name}" for alias in node.names}
    loaded = set()
    for name in names:
        parts = name.split(".")
        # importing a.b.c also runs a/__init__ and a/b/__init__; a module's own ancestors are already running
        loaded |= {".".join(parts[:i]) for i in range(1, len(parts) + 1)}
    own_ancestors = {".".join(module.split(".")[:i]) for i in range(1, module.count(".") + 1)}
    return {name for name in loaded if name in MODULES and name not in own_ancestors and name != module}


def _graph() -> dict[str, set[str]]:
    graph = {}
    for module, path in MODULES.items():
        tree = ast.parse(path.read_text(encoding="utf-8"))
        graph[module] = set().union(*(_targets(module, node) for node in _imports(tree)))
    return graph


def _find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    state: dict[str, int] = {}  # 1: on the current path, 2: done
    path: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        path.append(node)
        for target in sorted(graph[node]):
            if state.get(target) == 1:
                return path[path.index(target):] + [target]
            if target not in state and (cycle := visit(target)):
                return cycle
        state[node] = 2
        path.pop()
        return None

    for node in sorted(graph):
        if node not in state and (cycle := visit(node)):
            return cycle
    return None


def test_the_import_graph_sees_real_edges() -> None:
    graph = _graph()
    assert {"lenet_cli.training.config", "lenet_cli.cli.options"} <= graph["lenet_cli.cli.train"]
    assert "lenet_cli.export" in graph["lenet_cli.inference.loading"]  # the package __init__ runs too
    assert "lenet_cli.cli.train" in graph["lenet_cli.cli.app"]  # the app registers the commands...
    # ...not they it: only the entry point (late) and the docs generator load the app
    assert {m for m, targets in graph.items() if "lenet_cli.cli.app" in targets} == {"lenet_cli.cli.main", "lenet_cli.docgen"}


def test_the_import_graph_counts_deferred_imports() -> None:
    """``import torch`` inside a function is still an edge: the checkpoint loader builds models lazily."""
    assert "lenet_cli.models" in _graph()["lenet_cli.checkpoint"]


def test_no_import_cycle_inside_the_package() -> None:
    assert _find_cycle(_graph()) is None, " -> ".join(_find_cycle(_graph()) or [])


# The layers below training, the CLI and serving: they never import those, deferred imports included.
LOWER_LAYERS = ("data", "reading", "models", "export", "inference", "evaluation", "checkpoint", "files", "device",
                "errors", "registry", "numbers", "_lazy", "stopping", "display")
UPPER_LAYERS = ("training", "api", "cli", "serving")


def _layer(module: str) -> str:
    return module.split(".")[1] if module.count(".") else ""


def test_lower_layers_never_import_training_the_cli_or_serving() -> None:
    upward = sorted(f"{module} -> {target}" for module, targets in _graph().items() for target in targets
                    if _layer(module) in LOWER_LAYERS and _layer(target) in UPPER_LAYERS)
    assert not upward, upward


def test_the_console_prints_json_without_the_checkpoint_format() -> None:
    assert "lenet_cli.checkpoint" not in _graph()["lenet_cli.cli.console"]


def test_the_cycle_finder_finds_a_cycle() -> None:
    assert _find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]


CLI_HELPERS = {"__init__", "main", "guard", "app", "options", "console", "progress", "predict_run"}


def test_no_folder_holds_more_than_12_modules() -> None:
    """cli/ is the exception: one small module per command grows with the commands (see the next test)."""
    counts = Counter(path.parent.relative_to(REPO).as_posix() for path in PACKAGE.rglob("*.py"))
    crowded = {folder: n for folder, n in counts.items() if n > MAX_MODULES_PER_FOLDER and folder != "lenet_cli/cli"}
    assert not crowded, crowded


def test_cli_holds_the_app_its_helpers_and_command_modules_only() -> None:
    from lenet_cli.cli.app import COMMANDS

    command_modules = {command.__module__.rpartition(".")[2] for command in COMMANDS.values()}
    modules = {path.stem for path in (PACKAGE / "cli").glob("*.py")}
    assert modules - CLI_HELPERS == command_modules, modules - CLI_HELPERS ^ command_modules


def test_no_function_body_is_longer_than_60_lines() -> None:
    """Counted from the first statement of the body (docstring included), so a command's long list of
    declared options does not count; a long function is a list of phases waiting for names."""
    long = []
    for path in PACKAGE.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                lines = node.end_lineno - node.body[0].lineno + 1
                if lines > MAX_FUNCTION_LINES:
                    long.append(f"{path.relative_to(REPO)}:{node.lineno} {node.name} ({lines} lines)")
    assert not long, long


def test_the_api_sits_between_the_cli_and_the_library() -> None:
    """Commands call the Python API (one path); the API never imports the CLI, and training never the API."""
    graph = _graph()
    assert {"lenet_cli.api.model"} <= graph["lenet_cli.cli.predict_run"] and \
        {"lenet_cli.api.training"} <= graph["lenet_cli.cli.train"]
    wrong = sorted(f"{module} -> {target}" for module, targets in graph.items() for target in targets
                   if (_layer(module) == "api" and _layer(target) in ("cli", "serving"))
                   or (_layer(module) == "training" and _layer(target) == "api"))
    assert not wrong, wrong


def test_importing_the_package_loads_no_torch() -> None:
    import subprocess
    import sys

    code = "import sys, lenet_cli\nlenet_cli.load, lenet_cli.train, lenet_cli.runs\nprint('torch' in sys.modules)"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=REPO)
    assert done.returncode == 0 and done.stdout.strip() == "False", done.stderr
