"""MkDocs hook: refill the generated sections of every page from the code at build time, and
mark the pages of a translated build that are still the English original."""

import copy
import logging
import os
import re
from copy import deepcopy
from pathlib import Path
from urllib.parse import urlsplit

from mkdocs.plugins import event_priority

from lenet_cli.docgen import render

# What a page built for another language says when it has no translation yet (the English text
# follows it). Keyed by the locale of the build (mkdocs.yml, plugins: i18n: languages).
UNTRANSLATED = {
    "zh": '!!! note "尚未翻译"\n\n    本页尚未翻译，以下为英文原文。',
}
_TITLE = re.compile(r"\A\s*# [^\n]*\n")

# The search plugin cuts Chinese text into words with jieba, which reports on stderr that it
# loaded its dictionary; a --quiet build stays quiet.
logging.getLogger("jieba").setLevel(logging.WARNING)


@event_priority(-110)  # after the i18n plugin (-100) has rebuilt the files of the language being built
def on_files(files, config, **kwargs):  # noqa: ANN001, ARG001 - MkDocs' signature
    """Keep the notebooks pages, in every language.

    mkdocs-jupyter makes a notebook (.ipynb) a page; the i18n plugin then rebuilds every file as a plain MkDocs
    File, which counts only Markdown as pages, and so treats the notebook as an asset shared by the languages:
    copied as it is (JSON in place of the page), and written by each language's build to the same place. Here
    it is a page again, in its language's folder (zh/notebooks/...) like the Markdown pages beside it.
    """
    i18n = config.plugins.get("i18n")
    folder = "" if i18n is None or i18n.current_language == i18n.default_language else i18n.current_language
    for file in files:
        if not file.src_uri.endswith(".ipynb"):
            continue
        file.is_documentation_page = lambda: True
        if folder and not file.dest_uri.startswith(f"{folder}/"):
            # the language switch links the default language's page, which is this file as it was
            file.alternates = {**getattr(file, "alternates", {}), i18n.default_language: copy.copy(file)}
            file.dest_uri = f"{folder}/{file.dest_uri}"
            file.abs_dest_path = os.path.normpath(os.path.join(config.site_dir, file.dest_uri))
            file.url = file._get_url(config.use_directory_urls)
    return files


def on_page_markdown(markdown, page, config, files, **kwargs):  # noqa: ANN001, ARG001 - MkDocs' signature
    return mark_untranslated(render(markdown, Path(config["docs_dir"])), page.file)


@event_priority(-100)  # after the i18n plugin has set the links for this page
def on_page_context(context, page, config, nav, **kwargs):  # noqa: ANN001, ARG001 - MkDocs' signature
    """Make the language switch's links relative to the site, so that they work wherever it is served.

    The i18n plugin links the home pages' twins from the server's root ("/", "/zh/") unless
    site_url says where the site lives; a site opened from disk or served under a path would
    lose them. The theme's ``url`` filter turns a site-relative link into one relative to the page.
    """
    base = urlsplit(config.get("site_url") or "").path.rstrip("/") + "/"
    # the plugin sets config.extra.alternate as an attribute, which is what the theme reads
    for alternate in getattr(config.extra, "alternate", None) or []:
        link = alternate.get("link", "")
        if link.startswith(base) and not link.startswith("//"):
            alternate["link"] = link[len(base):] or "."
    return context


def on_template_context(context, template_name, config, **kwargs):  # noqa: ANN001, ARG001 - MkDocs' signature
    """The 404 page offers the languages' home pages, not the twins of whichever page was built last."""
    i18n = config.plugins.get("i18n")
    if template_name == "404.html" and getattr(i18n, "extra_alternate", None):
        config.extra.alternate = deepcopy(i18n.extra_alternate)
    return context


def mark_untranslated(markdown: str, file) -> str:  # noqa: ANN001 - an mkdocs File, as the i18n plugin left it
    """Put the build language's "not translated yet" note under the title of a fallback page.

    The i18n plugin builds each language from its own files (NAME.zh.md) and, where there is
    none, from the English one; such a file keeps locale "en" while the build it belongs to
    (``locale_alternate_of``) is another language.
    """
    build = getattr(file, "locale_alternate_of", None)
    note = UNTRANSLATED.get(build)
    if note is None or getattr(file, "locale", build) == build:
        return markdown
    title = _TITLE.match(markdown)
    at = title.end() if title else 0
    return f"{markdown[:at]}\n{note}\n\n{markdown[at:]}"
