"""The documentation stays true: generated sections are current, every `lenet` command
in it parses, every page is in the site's navigation, every translation keeps up with its
English page, and the CI recipe works."""

from __future__ import annotations

import json
import os
import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest
import typer
import typer.main
import yaml
from PIL import Image

from conftest import REPO, write_mnist_files
from lenet_cli import docgen
from lenet_cli.cli.app import app
from lenet_cli.data.factory import list_datasets
from lenet_cli.models import list_models

try:  # Typer 0.29 vendors click as typer._click; older releases use click itself
    from typer._click.core import Context
    from typer._click.exceptions import UsageError
except ImportError:  # pragma: no cover
    from click.core import Context
    from click.exceptions import UsageError

DOCS = REPO / "docs"
PAGES = sorted(DOCS.rglob("*.md"))
CONFIG = yaml.safe_load((REPO / "mkdocs.yml").read_text())
# Translations sit beside their English page as NAME.<locale>.md (mkdocs-static-i18n, suffix layout).
LOCALES = sorted(language["locale"] for plugin in CONFIG.get("plugins", []) if isinstance(plugin, dict) and "i18n" in plugin
                 for language in plugin["i18n"]["languages"] if not language.get("default"))
TRANSLATIONS = [page for page in PAGES if any(page.name.endswith(f".{locale}.md") for locale in LOCALES)]
ENGLISH = [page for page in PAGES if page not in TRANSLATIONS]
NOTEBOOKS = sorted(path for path in DOCS.rglob("*.ipynb") if ".ipynb_checkpoints" not in path.parts)  # pages too
FENCE = re.compile(r"^```(?P<lang>[a-z]*)\n(?P<body>.*?)^```", re.DOTALL | re.MULTILINE)
INLINE = re.compile(r"`(lenet [^`]+)`")
SHELL_LANGS = {"bash", "sh", "console", "shell", ""}


def _nav_pages(nav: list) -> list[str]:
    pages = []
    for entry in nav:
        value = next(iter(entry.values())) if isinstance(entry, dict) else entry
        pages += _nav_pages(value) if isinstance(value, list) else [value]
    return pages


def _commands_in(line: str) -> list[str]:
    """The `lenet ...` parts of a shell line (split at pipes, && and ;)."""
    parts = re.split(r"\s*(?:&&|;|\|(?!\|))\s*", line)
    return [part for part in parts if part.startswith("lenet ") or part == "lenet"]


def _commands_of(page: Path) -> list[tuple[str, bool]]:
    """(command line, complete) for every `lenet ...` on one page.

    Code blocks hold complete commands; `lenet eval --json` in running text names a
    command and its options, so only unknown options and commands count there.
    """
    found = []
    text = page.read_text(encoding="utf-8")
    for block in FENCE.finditer(text):
        if block.group("lang") not in SHELL_LANGS:
            continue
        for line in block.group("body").replace("\\\n", " ").splitlines():  # a line continued with \ is one
            line = line.strip().removeprefix("$ ")
            if not _is_synopsis(line):
                found += [(part, True) for part in _commands_in(line)]
    for match in INLINE.finditer(FENCE.sub("", text)):
        if not _is_synopsis(match.group(1)):
            found += [(part, False) for part in _commands_in(match.group(1))]
    return found


def _documented_commands() -> list[tuple[str, str, bool]]:
    """(where, command line, complete) for every `lenet ...` in the docs and README."""
    found = []
    for page in [*PAGES, REPO / "README.md"]:
        where = page.relative_to(REPO).as_posix()
        found += [(where, line, complete) for line, complete in _commands_of(page)]
    for result in docgen.load_results(DOCS / "results.toml"):
        found.append(("docs/results.toml", result.command, True))
    return found


def _is_synopsis(line: str) -> bool:
    """`lenet eval --checkpoint PATH [--topk 5] ...` describes a command; it is not one."""
    return "[-" in line or "..." in line or "…" in line


def _parse(line: str, complete: bool = True) -> None:
    """Parse one command line with the real CLI, without running it."""
    words, skip = [], False
    for word in shlex.split(line, comments=True):  # drop redirections: > file, 2>&1, <file
        if skip:
            skip = False
        elif word in (">", ">>", "2>", "2>>", "<", "&>"):
            skip = True
        elif not re.match(r"^(\d?>>?|<|&>)", word):
            words.append(word)
    root = typer.main.get_command(app)
    args = words[1:]
    if not args or args[0].startswith("-"):  # global options only: --help, --version, completion
        return
    ctx = Context(root, info_name="lenet")
    name, rest = args[0], args[1:]
    command = root.get_command(ctx, name)  # type: ignore[attr-defined]
    if command is None:
        raise UsageError(f"no such command {name!r}")
    if not complete:  # only the names: every option must exist
        known = {"-h", "--help"} | {opt for p in command.params for opt in (*p.opts, *getattr(p, "secondary_opts", ()))}
        unknown = [w.split("=")[0] for w in rest if w.startswith("-") and w != "-" and w.split("=")[0] not in known]
        if unknown:
            raise UsageError(f"no such option {unknown[0]!r} for lenet {name}")
        return
    try:
        command.make_context(name, rest, parent=ctx)
    except typer.Exit:  # --help after the command
        pass


COMMANDS = _documented_commands()


def test_the_docs_show_many_commands() -> None:
    # guards the extraction itself: a broken regex would make the next test vacuous
    assert len(COMMANDS) > 80
    assert {line.split()[1] for _, line, _ in COMMANDS if len(line.split()) > 1} >= {
        "train", "eval", "predict", "summary", "inspect", "export", "models", "datasets"}


@pytest.mark.parametrize("where,line,complete", COMMANDS, ids=[f"{w}:{line[:60]}" for w, line, _ in COMMANDS])
def test_every_documented_command_parses(where: str, line: str, complete: bool) -> None:
    try:
        _parse(line, complete)
    except UsageError as exc:
        pytest.fail(f"{where}: `{line}` does not parse: {exc.format_message()}")


def test_a_wrong_option_would_be_caught() -> None:
    with pytest.raises(UsageError):
        _parse("lenet train --epoch 3")
    with pytest.raises(UsageError):
        _parse("lenet export --json")  # --format is required
    with pytest.raises(UsageError):
        _parse("lenet train --optimizer adamx")
    with pytest.raises(UsageError):
        _parse("lenet eval --jsn", complete=False)
    with pytest.raises(UsageError):
        _parse("lenet evaluate --json", complete=False)


def test_generated_sections_are_current() -> None:
    stale = [p.relative_to(REPO).as_posix() for p in PAGES if docgen.render(p.read_text(), DOCS) != p.read_text()]
    assert not stale, f"stale generated sections in {stale}; run: python -m lenet_cli.docgen --write docs"


def test_generated_sections_exist_and_an_unknown_one_is_an_error() -> None:
    text = "\n".join(p.read_text() for p in PAGES)
    for name in docgen.sections(DOCS):
        assert f"<!-- BEGIN GENERATED: {name} -->" in text, name
    with pytest.raises(KeyError):
        docgen.render("<!-- BEGIN GENERATED: nope -->\n<!-- END GENERATED: nope -->", DOCS)


def test_command_reference_lists_every_command_and_option() -> None:
    reference = docgen.command_reference()
    root = typer.main.get_command(app)
    ctx = Context(root)
    for name in root.list_commands(ctx):  # type: ignore[attr-defined]
        assert f"## `lenet {name}`" in reference
        for param in root.get_command(ctx, name).params:  # type: ignore[attr-defined]
            if param.param_type_name == "option" and not param.hidden:
                assert param.opts[0] in reference, (name, param.opts)


def test_every_page_is_in_the_navigation_and_every_nav_entry_exists() -> None:
    nav = _nav_pages(CONFIG["nav"])
    pages = {p.relative_to(DOCS).as_posix() for p in [*ENGLISH, *NOTEBOOKS]}
    assert set(nav) == pages and NOTEBOOKS
    assert CONFIG["strict"] is True
    for translation in TRANSLATIONS:  # a translation takes its English page's place in the nav
        assert _source_of(translation) in ENGLISH, f"{_rel(translation)} translates no page of the site"


def test_model_zoo_and_results_name_real_models_and_matching_commands() -> None:
    results = docgen.load_results(DOCS / "results.toml")
    zoo = docgen.model_zoo(results)
    for name in list_models():
        assert f"| `{name}` |" in zoo
    for r in results:
        assert r.model in list_models() and r.dataset in list_datasets()
        words = shlex.split(r.command)
        model = words[words.index("--model") + 1] if "--model" in words else "lenet5"
        assert model == r.model, r.command
        assert words[words.index("--dataset") + 1] == r.dataset, r.command
        assert words[words.index("--epochs") + 1] == str(r.epochs), r.command
        assert 0.0 < r.test_accuracy <= 1.0 and r.machine


def test_pictures_referenced_by_the_docs_exist() -> None:
    for page in PAGES:
        for target in re.findall(r"!\[[^\]]*\]\(([^)]+)\)", page.read_text()):
            assert (page.parent / target).is_file(), f"{page.name}: {target}"


def test_github_workflow_example_runs_the_recipe() -> None:
    workflow = yaml.safe_load((REPO / "examples" / "ci" / "github-actions.yml").read_text())
    steps = [step for job in workflow["jobs"].values() for step in job["steps"]]
    runs = " ".join(step.get("run", "") for step in steps)
    assert "examples/ci/train-and-gate.sh" in runs and "pip install" in runs
    assert any("upload-artifact" in step.get("uses", "") for step in steps)


def test_github_workflow_example_passes_zizmor() -> None:
    import shutil

    zizmor = shutil.which("zizmor")
    if zizmor is None:
        pytest.skip("zizmor is not installed (it comes with the dev extra)")
    workflow = REPO / "examples" / "ci" / "github-actions.yml"
    done = subprocess.run([zizmor, "--offline", "--format", "plain", str(workflow)], capture_output=True, text=True)
    assert done.returncode == 0 and "No findings" in done.stdout + done.stderr, done.stdout + done.stderr
    uses = [step["uses"] for job in yaml.safe_load(workflow.read_text())["jobs"].values() for step in job["steps"]
            if "uses" in step]
    assert uses and all(len(use.partition("@")[2]) == 40 for use in uses)  # pinned to commit hashes


def test_ci_recipe_stops_at_the_gate_with_exit_3(tmp_path: Path) -> None:
    data = write_mnist_files(tmp_path / "tiny")
    env = {
        **os.environ,
        "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}",
        "DATASET": f"idx:{data}", "EPOCHS": "1", "GATE": "1.0", "OUT_DIR": str(tmp_path / "out"),
    }
    done = subprocess.run(["bash", str(REPO / "examples" / "ci" / "train-and-gate.sh")],
                          env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 3, done.stderr
    assert "is below 1.0" in done.stderr
    assert not (tmp_path / "out" / "model.onnx").exists()  # nothing exported past a failed gate


def _documented_fields(page: Path = DOCS / "exit-codes.md", optional: bool = False) -> dict[str, set[str]]:
    """`lenet X --json` -> the field names in the first table under its heading in exit-codes.md (with
    ``optional``, only those whose meaning begins "only when": fields some documents leave out)."""
    text = page.read_text()
    fields = {}
    for section in re.split(r"^### ", text, flags=re.MULTILINE)[1:]:
        title = re.match(r"`lenet (\w+(?: --\w+)?) --json`", section)
        if title:
            row = r"^\| `(\w+)` \| \w+ \| only when" if optional else r"^\| `(\w+)` \|"
            fields[title.group(1)] = set(re.findall(row, section, flags=re.MULTILINE))
    return fields


def test_json_documents_have_exactly_the_documented_fields(runner, tmp_path: Path) -> None:
    pytest.importorskip("onnxruntime")
    documented = _documented_fields()
    assert set(documented) == {"train", "eval", "predict", "predict --number", "summary", "inspect", "export",
                               "benchmark", "plot", "runs", "tune", "models", "datasets"}
    data = f"idx:{write_mnist_files(tmp_path / 'data', n_train=64, n_test=32)}"
    image = str(DOCS / "img" / "three.png")

    def run(*args: str) -> str:
        result = runner.invoke(app, [*args, "--json"])
        assert result.exit_code == 0, (args, result.output)
        return result.stdout

    train = json.loads(run("train", "--dataset", data, "--epochs", "1", "--project", str(tmp_path / "runs"),
                           "--threads", "1"))
    checkpoint = train["best_checkpoint"]
    actual = {
        "train": train,
        "eval": json.loads(run("eval", "--checkpoint", checkpoint)),
        "predict": json.loads(run("predict", image).splitlines()[0]),
        "predict --number": json.loads(run("predict", "--number", image).splitlines()[0]),
        "summary": json.loads(run("summary")),
        "inspect": json.loads(run("inspect", image, "--out", str(tmp_path / "inspect.png"))),
        "export": json.loads(run("export", "--format", "onnx", "--checkpoint", checkpoint,
                                 "--out", str(tmp_path / "model.onnx"))),
        "benchmark": json.loads(run("benchmark", "--checkpoint", checkpoint, "-f", "pytorch", "-b", "4",
                                    "--images", "8", "--data-dir", str(tmp_path / "data"))),
        "plot": json.loads(run("plot", str(Path(checkpoint).parent), "--out", str(tmp_path / "runs.png"))),
        "runs": json.loads(run("runs", "--project", str(tmp_path / "runs")))[0],
        "tune": json.loads(run("tune", "--dataset", data, "--trials", "1", "--epochs", "1", "--threads", "1",
                               "--project", str(tmp_path / "tune"))),
        "models": json.loads(run("models"))[0],
        "datasets": json.loads(run("datasets"))[0],
    }
    optional = _documented_fields(optional=True)
    for command, document in actual.items():
        assert set(document) <= documented[command], command
        assert documented[command] - set(document) <= optional[command], command
    blank = tmp_path / "blank.png"
    Image.new("L", (64, 64), 235).save(blank)
    no_digit = json.loads(run("predict", str(blank)).splitlines()[0])
    assert set(no_digit) == documented["predict"] and no_digit["predicted"] is None


# ---------------------------------------------------------------- translations
#
# A translated page (docs/NAME.zh.md) translates the prose of docs/NAME.md and carries its code
# blocks unchanged: commands, their outputs and pictures are the English page's, so a reader of
# either language runs the same lines and sees the same results. These tests fail when the
# English page moves on and the translation stays behind.


def _rel(page: Path) -> str:
    return page.relative_to(REPO).as_posix() if page.is_relative_to(REPO) else str(page)


def _source_of(translation: Path) -> Path:
    """docs/NAME.zh.md -> docs/NAME.md"""
    locale = next(locale for locale in LOCALES if translation.name.endswith(f".{locale}.md"))
    return translation.with_name(translation.name.removesuffix(f".{locale}.md") + ".md")


def _code_blocks(page: Path) -> list[str]:
    return [block.group(0) for block in FENCE.finditer(page.read_text(encoding="utf-8"))]


def _describe(block: str) -> str:
    fence, _, body = block.partition("\n")
    return f"{fence} {body.splitlines()[0][:60] if body.strip() else ''} ..."


def _code_block_drift(source: Path, translation: Path) -> list[str]:
    """What differs between the code blocks of an English page and its translation, in words."""
    theirs, ours = _code_blocks(source), _code_blocks(translation)
    problems = [f"block {i} of {_rel(source)} is not in the translation (changed or added in English): {_describe(b)}"
                for i, b in enumerate(theirs, 1) if b not in ours]
    problems += [f"block {i} of {_rel(translation)} is not in {_rel(source)} (changed or removed there): {_describe(b)}"
                 for i, b in enumerate(ours, 1) if b not in theirs]
    if not problems and ours != theirs:
        problems.append(f"the code blocks of {_rel(translation)} are not in the order of {_rel(source)}")
    return problems


def _heading_ids(page: Path) -> set[str]:
    import markdown

    md = markdown.Markdown(extensions=["toc", "attr_list", "admonition", "tables", "pymdownx.superfences"])
    md.convert(page.read_text(encoding="utf-8"))

    def walk(tokens: list[dict]) -> set[str]:
        return {token["id"] for token in tokens} | {i for token in tokens for i in walk(token["children"])}

    return walk(md.toc_tokens)


def test_the_site_has_translations_to_check() -> None:
    # guards the discovery: with no locale or no NAME.zh.md found, the tests below would check nothing
    assert LOCALES == ["zh"]
    names = {page.name for page in TRANSLATIONS}
    assert {"index.zh.md", "quickstart.zh.md", "tutorial.zh.md", "predict-and-eval.zh.md", "export.zh.md",
            "exit-codes.zh.md"} <= names
    assert all(_code_blocks(page) for page in TRANSLATIONS)


@pytest.mark.parametrize("translation", TRANSLATIONS, ids=[p.name for p in TRANSLATIONS])
def test_a_translation_carries_its_english_pages_code_blocks(translation: Path) -> None:
    source = _source_of(translation)
    problems = _code_block_drift(source, translation)
    assert not problems, (f"{_rel(translation)} is older than {_rel(source)}; copy the English code block and "
                          "translate the prose around it:\n  " + "\n  ".join(problems))


@pytest.mark.parametrize("translation", TRANSLATIONS, ids=[p.name for p in TRANSLATIONS])
def test_a_translation_shows_no_command_its_english_page_does_not(translation: Path) -> None:
    source = _source_of(translation)
    english = {" ".join(line.split()) for line, _ in _commands_of(source)}
    extra = sorted({" ".join(line.split()) for line, _ in _commands_of(translation)} - english)
    assert not extra, f"{_rel(translation)} shows commands that {_rel(source)} does not: {extra}"


@pytest.mark.parametrize("translation", TRANSLATIONS, ids=[p.name for p in TRANSLATIONS])
def test_a_translation_keeps_its_english_pages_anchors(translation: Path) -> None:
    # untranslated pages link to a translated one with the English anchors (tutorial.md#2-evaluate)
    missing = sorted(_heading_ids(_source_of(translation)) - _heading_ids(translation))
    assert not missing, f"{_rel(translation)} lacks the anchors {missing}; give its headings {{#id}} as in English"


def test_translated_json_tables_list_the_same_fields() -> None:
    for translation in TRANSLATIONS:
        if _source_of(translation).name == "exit-codes.md":
            assert _documented_fields(translation) == _documented_fields(), _rel(translation)


def test_the_drift_checks_can_fail(tmp_path: Path) -> None:
    source, translation = DOCS / "quickstart.md", DOCS / "quickstart.zh.md"
    changed = tmp_path / "quickstart.md"
    changed.write_text(source.read_text().replace("lenet models ", "lenet datasets ", 1))
    problems = _code_block_drift(changed, translation)
    assert len(problems) == 2 and "block 2 of" in problems[0] and "lenet predict my-digit.jpg" in problems[0]
    added = tmp_path / "quickstart.zh.md"
    added.write_text(translation.read_text() + "\n`lenet train --epochs 9`\n")
    assert ("lenet train --epochs 9", False) in _commands_of(added)
    assert ("lenet train --epochs 9", False) not in _commands_of(source)


def _hooks():
    import importlib.util

    spec = importlib.util.spec_from_file_location("docs_hooks", DOCS / "hooks.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)  # type: ignore[union-attr]
    return module


def test_an_untranslated_page_of_the_chinese_site_says_so_under_its_title() -> None:
    from types import SimpleNamespace

    mark = _hooks().mark_untranslated
    page = "# Training: `lenet train`\n\nText.\n"
    fallback = mark(page, SimpleNamespace(locale="en", locale_alternate_of="zh"))
    assert fallback.startswith("# Training: `lenet train`\n\n!!! note") and "本页尚未翻译，以下为英文原文" in fallback
    assert fallback.endswith("Text.\n")
    assert mark(page, SimpleNamespace(locale="zh", locale_alternate_of="zh")) == page  # translated
    assert mark(page, SimpleNamespace(locale="en", locale_alternate_of="en")) == page  # the English site
    assert mark(page, SimpleNamespace()) == page  # built without the i18n plugin


@pytest.mark.parametrize("translation", TRANSLATIONS, ids=[p.name for p in TRANSLATIONS])
def test_a_translation_links_the_translated_pages(translation: Path) -> None:
    # the site would map quickstart.md to its twin, but a reader of the files (the README links
    # docs/quickstart.zh.md) would fall out of the language at the first link
    locale = translation.name.split(".")[-2]
    english = [target for target in re.findall(r"\]\(([\w-]+)\.md(?:#[^)]*)?\)", translation.read_text())
               if (DOCS / f"{target}.{locale}.md").is_file()]
    assert not english, f"{_rel(translation)} links {sorted(set(english))}.md; link their .{locale}.md twins"
