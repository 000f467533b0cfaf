"""A live `lenet serve`, Debian's Chromium through Selenium, and drawing on its page with pointer events
(tests, benchmarks and docs pictures)."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

__all__ = ["chromium", "draw", "missing_browser", "start_server"]

REPO = Path(__file__).resolve().parents[1]


def start_server(*options: str) -> tuple[subprocess.Popen, str]:
    """`lenet serve --port 0 OPTIONS` as a user starts it, and the URL it printed (it is live at once)."""
    proc = subprocess.Popen([sys.executable, "-m", "lenet_cli", "serve", "--port", "0", *options],
                            cwd=REPO, stderr=subprocess.PIPE, text=True)
    first = proc.stderr.readline()
    found = re.search(r"http://127\.0\.0\.1:\d+/", first)
    if not found:
        proc.kill()
        raise RuntimeError(f"lenet serve did not start: {first}{proc.stderr.read()}")
    return proc, found.group(0)


def missing_browser() -> str | None:
    """Why no browser can be driven here, or None when one can."""
    try:
        import selenium  # noqa: F401
    except ImportError:
        return "selenium is not installed (it is in the dev extra)"
    if not shutil.which("chromium") or not shutil.which("chromedriver"):
        return "no chromium/chromedriver here; .ci/run installs Debian's chromium and chromium-driver"
    return None


def chromium(width: int = 1280, height: int = 900) -> Any:
    """A headless Chromium window of that size (the caller quits it)."""
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = shutil.which("chromium")
    for argument in ("--headless=new", "--no-sandbox", "--disable-gpu", f"--window-size={width},{height}",
                     "--hide-scrollbars"):
        options.add_argument(argument)
    browser = webdriver.Chrome(service=Service(shutil.which("chromedriver")), options=options)
    if width < 500:  # narrower than a desktop window can be: a phone's screen, emulated
        browser.execute_cdp_cmd("Emulation.setDeviceMetricsOverride",
                                {"width": width, "height": height, "deviceScaleFactor": 1, "mobile": True})
    return browser


def draw(browser: Any, element: Any, strokes: list[list[tuple[float, float]]], kind: str = "mouse") -> None:
    """Pointer events along each stroke over ``element``; points in 0..1 of its width and height.

    ``kind`` is "mouse", "pen" or "touch", as the page sees them in PointerEvent.pointerType.
    """
    from selenium.webdriver.common.actions.action_builder import ActionBuilder
    from selenium.webdriver.common.actions.pointer_input import PointerInput

    box = element.rect
    actions = ActionBuilder(browser, mouse=PointerInput(kind, f"{kind}-drawer"))  # one name per kind of pointer
    for stroke in strokes:
        at = [(round((x - 0.5) * box["width"]), round((y - 0.5) * box["height"])) for x, y in stroke]
        actions.pointer_action.move_to(element, *at[0]).pointer_down()
        for point in at[1:]:
            actions.pointer_action.move_to(element, *point)
        actions.pointer_action.pointer_up()
    actions.perform()
