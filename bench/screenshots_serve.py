"""The pictures of docs/serving.md: the draw-a-digit page in headless Chromium, at desktop and phone width,
and the page in number mode.

Starts `lenet serve --port 0` (bundled weights), draws a 3 on the pad with pointer events, waits
for the prediction and saves a screenshot per width; then writes 2-0-7 in number mode.

    python bench/screenshots_serve.py [--out docs/img/serve]
"""

from __future__ import annotations

import argparse
import signal
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "tests"))
from browser import chromium, draw, missing_browser, start_server  # noqa: E402

THREE = [[(0.3, 0.26), (0.45, 0.17), (0.62, 0.2), (0.68, 0.3), (0.6, 0.42), (0.47, 0.47), (0.62, 0.52),
          (0.7, 0.64), (0.64, 0.78), (0.48, 0.84), (0.3, 0.78)]]
SIZES = {"page-desktop.png": (1280, 800), "page-phone.png": (390, 1720)}
TWO = [[(0.3, 0.3), (0.45, 0.2), (0.62, 0.25), (0.64, 0.4), (0.5, 0.58), (0.32, 0.78), (0.7, 0.78)]]
ZERO = [[(0.5, 0.2), (0.33, 0.32), (0.3, 0.55), (0.38, 0.76), (0.52, 0.82), (0.66, 0.7), (0.7, 0.45),
         (0.64, 0.26), (0.5, 0.2)]]
SEVEN = [[(0.28, 0.25), (0.5, 0.25), (0.72, 0.25), (0.66, 0.42), (0.57, 0.6), (0.5, 0.78)]]


def write_number(browser, body, out: Path) -> None:
    """Number mode: 2, 0 and 7 side by side, read and boxed."""
    from selenium.webdriver.support.ui import WebDriverWait

    browser.set_window_size(1280, 1080)  # the pad and the reading below it
    browser.find_element("id", "number-mode").click()
    strokes = [[(left + x * 0.3, y) for x, y in stroke] for digit, left in ((TWO, 0.05), (ZERO, 0.36), (SEVEN, 0.66))
               for stroke in digit]
    draw(browser, browser.find_element("id", "pad"), strokes)
    WebDriverWait(browser, 60).until(lambda b: body.get_attribute("data-prediction") and not body.get_attribute("data-busy"))
    browser.save_screenshot(str(out))
    print(f"{out}: read as {body.get_attribute('data-prediction')}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", type=Path, default=REPO / "docs" / "img" / "serve")
    args = parser.parse_args()
    if missing_browser():
        raise SystemExit(missing_browser())
    from selenium.webdriver.support.ui import WebDriverWait

    server, url = start_server()
    try:
        for name, (width, height) in SIZES.items():
            browser = chromium(width, height)
            try:
                browser.get(url)
                body = browser.find_element("tag name", "body")
                WebDriverWait(browser, 30).until(lambda b: body.get_attribute("data-ready"))
                draw(browser, browser.find_element("id", "pad"), THREE)
                WebDriverWait(browser, 60).until(
                    lambda b: body.get_attribute("data-prediction") and not body.get_attribute("data-busy"))
                browser.save_screenshot(str(args.out / name))
                print(f"{args.out / name}: read as {body.get_attribute('data-prediction')}")
                if name == "page-desktop.png":
                    write_number(browser, body, args.out / "page-number.png")
            finally:
                browser.quit()
    finally:
        server.send_signal(signal.SIGTERM)
        server.wait(timeout=60)


if __name__ == "__main__":
    main()
