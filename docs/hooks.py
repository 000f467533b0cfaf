"""MkDocs hook: refill the generated sections of every page from the code at build time."""

from pathlib import Path

from lenet_cli.docgen import render


def on_page_markdown(markdown, page, config, files, **kwargs):  # noqa: ANN001, ARG001 - MkDocs' signature
    return render(markdown, Path(config["docs_dir"]))
