"""Sections of the documentation that are generated from the code, so they cannot drift.

A page marks a generated section with a pair of HTML comments::

    <!-- BEGIN GENERATED: commands -->
    ...
    <!-- END GENERATED: commands -->

``render(text)`` refills every such section. The docs build refills them on the fly
(``docs/hooks.py``), the committed pages carry the same text so they read well
unrendered, and a test fails when a committed page is stale. Refresh with::

    python -m lenet_cli.docgen --write docs
"""

from __future__ import annotations

import argparse
import re
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

__all__ = ["Result", "load_results", "sections", "render", "main"]

_REGION = re.compile(
    r"(<!-- BEGIN GENERATED: (?P<name>[a-z-]+) -->\n)(?P<body>.*?)(<!-- END GENERATED: (?P=name) -->)",
    re.DOTALL,
)
_DEFAULT_SUFFIX = re.compile(r"\s*\[(?P<default>[^\[\]]*)\]$")


@dataclass(frozen=True)
class Result:
    """One measured result: what was trained, what it scored, and how to get it again."""

    model: str
    dataset: str
    test_accuracy: float
    epochs: int
    command: str
    machine: str
    seconds: float | None = None
    note: str = ""


def load_results(path: Path) -> list[Result]:
    """Read ``[[result]]`` tables from a TOML file (docs/results.toml)."""
    try:
        import tomllib
    except ModuleNotFoundError:  # Python 3.10
        import tomli as tomllib  # type: ignore[no-redef]
    with open(path, "rb") as fh:
        return [Result(**entry) for entry in tomllib.load(fh).get("result", [])]


def _cell(text: object) -> str:
    """Text safe inside a Markdown table cell."""
    return str(text).replace("|", "\\|").replace("\n", " ")


# ---------------------------------------------------------------- command reference


def command_reference() -> str:
    """Every command's usage, description, arguments and options, read from the Typer app."""
    import typer.main

    from .cli.app import app

    root = typer.main.get_command(app)
    root_ctx = typer.Context(root, info_name="lenet")
    parts = ["Global options (before the command): "
             + ", ".join(f"`{_help_record(p, root_ctx)[0]}`" for p in root.get_params(root_ctx)) + ".", ""]
    commands = {name: root.get_command(root_ctx, name) for name in root.list_commands(root_ctx)}  # type: ignore[attr-defined]
    parts += ["| command | what it does |", "|---|---|"]
    for name, command in commands.items():
        parts.append(f"| [`lenet {name}`](#lenet-{name}) | {_cell(_first_line(command.help))} |")
    for name, command in commands.items():
        ctx = typer.Context(command, info_name=name, parent=root_ctx)
        parts += ["", f"## `lenet {name}`", "", command.help.strip() if command.help else "", ""]
        usage = " ".join(command.collect_usage_pieces(ctx))
        parts += ["```text", f"lenet {name} {usage}".rstrip(), "```"]
        arguments = [p for p in command.get_params(ctx) if p.param_type_name == "argument"]
        options = [p for p in command.get_params(ctx) if p.param_type_name == "option" and not p.hidden]
        if arguments:
            parts += ["", "| argument | description |", "|---|---|"]
            for p in arguments:
                record, description = _help_record(p, ctx)
                parts.append(f"| `{_cell(record)}` | {_cell(description)} |")
        if options:
            parts += ["", "| option | description | default |", "|---|---|---|"]
            for p in options:
                record, description = _help_record(p, ctx)
                description, default = _split_default(description)
                parts.append(f"| `{_cell(record)}` | {_cell(description)} | {_cell(default)} |")
    return "\n".join(parts)


def _help_record(param, ctx) -> tuple[str, str]:  # noqa: ANN001 - click's own types
    record = param.get_help_record(ctx)
    if record is None:  # an argument without help
        return param.human_readable_name, ""
    return record[0], record[1]


def _split_default(description: str) -> tuple[str, str]:
    """Click appends "[default: 5; x>=1]" or "[required]"; give the default its own column."""
    found = _DEFAULT_SUFFIX.search(description)
    if not found:
        return description, ""
    default, constraints = "", []
    for item in found.group("default").split("; "):
        if item.startswith("default: "):
            default = item.removeprefix("default: ")
        elif item == "required":
            default = "required"
        else:
            constraints.append(f"`{item}`")
    description = description[: found.start()].rstrip()
    if constraints:
        description += f" Range: {', '.join(constraints)}."
    return description, default


def _first_line(text: str | None) -> str:
    return text.strip().splitlines()[0] if text and text.strip() else ""


# ---------------------------------------------------------------- models


def model_zoo(results: list[Result]) -> str:
    """The registry as a table, with each model's measured MNIST accuracy and its command."""
    from .models import get_model_spec, list_models

    mnist: dict[str, Result] = {}
    for r in results:  # a model's first plain MNIST run; variants (a note) are for the results table
        if r.dataset == "mnist" and not r.note:
            mnist.setdefault(r.model, r)
    rows = ["| model | what it is | input | parameters | MNIST test accuracy | measured with |", "|---|---|---|---|---|---|"]
    for name in list_models():
        spec = get_model_spec(name)
        shape = "×".join(str(d) for d in spec.input_shape)
        measured = mnist.get(name)
        accuracy = f"{measured.test_accuracy:.2%} ({measured.epochs} epochs)" if measured else "not measured yet"
        command = f"`{measured.command}`" if measured else ""
        rows.append(
            f"| `{name}` | {_cell(spec.description)} | {shape} | {spec.num_params:,} | {accuracy} | {_cell(command)} |")
    return "\n".join(rows)


def all_results(results: list[Result]) -> str:
    """Every measured result, with command, machine and wall time."""
    rows = ["| model | dataset | test accuracy | command | machine | wall time |", "|---|---|---|---|---|---|"]
    for r in results:
        seconds = f"{r.seconds:.0f} s" if r.seconds is not None else ""
        accuracy = f"{r.test_accuracy:.2%}" + (f" ({r.note})" if r.note else "")
        rows.append(f"| `{r.model}` | `{r.dataset}` | {accuracy} | `{_cell(r.command)}` | {_cell(r.machine)} | {seconds} |")
    return "\n".join(rows)


# ---------------------------------------------------------------- datasets, exit codes


def dataset_table() -> str:
    """Every dataset the factory knows, with the files a local copy needs, from its specs."""
    from .data.factory import get_dataset_spec, list_datasets

    rows = ["| name | what | classes | shape | files a local copy needs (.gz optional for IDX) |", "|---|---|---|---|---|"]
    for name in list_datasets():
        spec = get_dataset_spec(name)
        shape = "×".join(str(d) for d in (spec.channels, *spec.size))
        files = ", ".join(f"`{f}`" for split in ("train", "test") for f in spec.files.get(split, ()))
        title = spec.title + (" (bundled)" if spec.bundled else "")
        rows.append(f"| `{name}` | {_cell(title)} | {len(spec.classes)} | {shape} | {files} |")
    return "\n".join(rows)


def export_format_table() -> str:
    """The export registry as a table: file name, contents, who loads it, what it needs."""
    from .export import get_format, list_formats

    rows = ["| format | file | contents | loads with | needs |", "|---|---|---|---|---|"]
    for name in list_formats():
        fmt = get_format(name)
        rows.append(f"| `{name}` | `best{fmt.suffix}` | {_cell(fmt.description)} | {_cell(fmt.consumers)}; "
                    f"`lenet predict --checkpoint best{fmt.suffix}` | {_cell(fmt.needs)} |")
    return "\n".join(rows)


def exit_code_table() -> str:
    """``errors.EXIT_CODES`` as a table."""
    from .errors import EXIT_CODES

    rows = ["| code | meaning |", "|---|---|"]
    rows += [f"| {code} | {_cell(meaning)} |" for code, meaning in EXIT_CODES.items()]
    return "\n".join(rows)


# ---------------------------------------------------------------- rendering


def sections(docs_dir: Path) -> dict[str, Callable[[], str]]:
    """Section name -> a function producing its Markdown."""
    results = docs_dir / "results.toml"
    return {
        "commands": command_reference,
        "model-zoo": lambda: model_zoo(load_results(results)),
        "results": lambda: all_results(load_results(results)),
        "datasets": dataset_table,
        "export-formats": export_format_table,
        "exit-codes": exit_code_table,
    }


def render(text: str, docs_dir: Path) -> str:
    """Refill every generated section of one page; unknown section names are an error."""
    makers = sections(docs_dir)

    def refill(match: re.Match[str]) -> str:
        name = match.group("name")
        if name not in makers:
            raise KeyError(f"unknown generated section {name!r}; known: {', '.join(makers)}")
        return f"{match.group(1)}{makers[name]()}\n{match.group(4)}"

    return _REGION.sub(refill, text)


def main(argv: list[str] | None = None) -> int:
    """``python -m lenet_cli.docgen [--write] DOCS_DIR``: list (or fix) stale pages."""
    parser = argparse.ArgumentParser(prog="python -m lenet_cli.docgen", description=main.__doc__)
    parser.add_argument("docs_dir", type=Path, nargs="?", default=Path("docs"))
    parser.add_argument("--write", action="store_true", help="rewrite stale pages in place")
    args = parser.parse_args(argv)
    stale = []
    for page in sorted(args.docs_dir.rglob("*.md")):
        text = page.read_text(encoding="utf-8")
        fresh = render(text, args.docs_dir)
        if fresh != text:
            stale.append(page)
            if args.write:
                page.write_text(fresh, encoding="utf-8")
    for page in stale:
        print(f"{'updated' if args.write else 'stale'}: {page}", file=sys.stderr)
    return 0 if args.write or not stale else 1


if __name__ == "__main__":
    sys.exit(main())
