"""The documentation site in headless Chromium at desktop and phone width: screenshots, and what does not fit.

    python bench/screenshots_docs.py [--out /tmp/lenet-docs-shots] [--pages index quickstart tutorial]

Builds the site (mkdocs build --strict) into a temporary directory, serves it on 127.0.0.1, and
for each page and width saves a screenshot of the first screen and of the whole page, and
lists what does not fit: on the desktop every code block that needs horizontal scrolling (its
text is clipped) and every image shown at less than 60 % of its size (its text gets hard to
read); on the phone the commands to type (bash blocks) that need scrolling (output and pictures
are left to scroll and zoom there). Exits 1 when something does not fit.
"""

from __future__ import annotations

import argparse
import functools
import http.server
import subprocess
import sys
import tempfile
import threading
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "tests"))
from browser import chromium, missing_browser  # noqa: E402

WIDTHS = {"desktop": (1280, 900), "phone": (390, 844)}
# Code blocks wider than their box, and images drawn much smaller than they are, in the page's main text.
MEASURE = """
const clipped = [...document.querySelectorAll(arguments[0] ? 'article pre > code' : 'article div.language-bash pre > code')]
  .filter(c => c.scrollWidth > c.clientWidth + 1)
  .map(c => c.innerText.split('\\n').find(l => l.length > 0).slice(0, 70));
const shrunk = [...document.querySelectorAll(arguments[0] ? 'article img' : 'nothing')]
  .filter(i => i.naturalWidth > 0 && i.clientWidth / i.naturalWidth < 0.6)
  .map(i => `${i.getAttribute('src')} at ${Math.round(100 * i.clientWidth / i.naturalWidth)} %`);
return {clipped, shrunk, height: document.documentElement.scrollHeight};
"""


def build_site(target: Path) -> None:
    subprocess.run([sys.executable, "-m", "mkdocs", "build", "--strict", "--quiet", "--site-dir", str(target)],
                   cwd=REPO, check=True, env={**__import__("os").environ, "NO_MKDOCS_2_WARNING": "1"})


def serve(directory: Path) -> tuple[http.server.ThreadingHTTPServer, str]:
    handler = functools.partial(_QuietHandler, directory=str(directory))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, f"http://127.0.0.1:{server.server_address[1]}/"


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args: object) -> None:
        pass


def check_page(url: str, page: str, width_name: str, out: Path) -> list[str]:
    """Screenshots of one page at one width; returns what does not fit."""
    width, height = WIDTHS[width_name]
    browser = chromium(width, height)
    try:
        browser.get(url + ("" if page == "index" else f"{page}/"))
        found = browser.execute_script(MEASURE, width_name == "desktop")
        browser.save_screenshot(str(out / f"{page}-{width_name}.png"))
        browser.set_window_size(width, min(found["height"], 16000))
        if width < 500:
            browser.execute_cdp_cmd("Emulation.setDeviceMetricsOverride", {
                "width": width, "height": min(found["height"], 16000), "deviceScaleFactor": 1, "mobile": True})
        browser.save_screenshot(str(out / f"{page}-{width_name}-full.png"))
    finally:
        browser.quit()
    return ([f"{page} ({width_name}): code block needs scrolling: {line}" for line in found["clipped"]]
            + [f"{page} ({width_name}): image shrunk: {image}" for image in found["shrunk"]])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", type=Path, default=Path(tempfile.gettempdir()) / "lenet-docs-shots")
    parser.add_argument("--pages", nargs="+", default=["index", "quickstart", "tutorial"])
    args = parser.parse_args()
    if missing_browser():
        raise SystemExit(missing_browser())
    args.out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as site:
        build_site(Path(site))
        server, url = serve(Path(site))
        try:
            problems = [p for page in args.pages for name in WIDTHS for p in check_page(url, page, name, args.out)]
        finally:
            server.shutdown()
    print(f"screenshots in {args.out}")
    print("\n".join(problems) if problems else "every code block and image fits")
    raise SystemExit(1 if problems else 0)


if __name__ == "__main__":
    main()
