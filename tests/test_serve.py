"""lenet serve: a real uvicorn server on 127.0.0.1, its JSON API, its errors, its shutdown, and its page in Chromium."""

from __future__ import annotations

import io
import json
import signal
import socket
import subprocess
import urllib.error
import urllib.request
import uuid
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from browser import chromium, draw, missing_browser, start_server
from conftest import NetworkAccessInTest
from lenet_cli.cli.app import app
from lenet_cli.data.search import BUNDLED_DIR
from lenet_cli.inference.loading import BUNDLED_ONNX
from photo_digits import load_mnist_test

pytest.importorskip("fastapi", reason="lenet serve needs the serve extra (included in dev)")

SEVEN = [[(0.28, 0.25), (0.5, 0.25), (0.72, 0.25), (0.66, 0.42), (0.57, 0.6), (0.5, 0.78)]]  # strokes, 0..1 of the pad
ONE = [[(0.5, 0.2), (0.5, 0.5), (0.5, 0.8)]]


class Server:
    """`lenet serve` in a subprocess, listening on a free port it reports itself (--port 0)."""

    def __init__(self, *args: str) -> None:
        self.proc, self.url = start_server(*args)

    def stop(self, sig: int = signal.SIGTERM) -> tuple[int, str]:
        self.proc.send_signal(sig)
        try:
            rest = self.proc.communicate(timeout=30)[1]
        except subprocess.TimeoutExpired:
            self.proc.kill()
            raise
        return self.proc.returncode, rest


def call(url: str, data: bytes | None = None, headers: dict | None = None) -> tuple[int, dict]:
    request = urllib.request.Request(url, data=data, headers=headers or {}, method="POST" if data is not None else "GET")
    try:
        with urllib.request.urlopen(request, timeout=60) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read())


def multipart(files: dict[str, bytes]) -> tuple[bytes, dict]:
    """A multipart/form-data body with one file field per entry, as browsers and curl -F send it."""
    boundary = uuid.uuid4().hex
    parts = [f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="{name}"\r\n'
             f"Content-Type: application/octet-stream\r\n\r\n".encode() + data + b"\r\n" for name, data in files.items()]
    return b"".join(parts) + f"--{boundary}--\r\n".encode(), {"Content-Type": f"multipart/form-data; boundary={boundary}"}


def png(array: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(array).save(buffer, format="PNG")
    return buffer.getvalue()


@pytest.fixture(scope="module")
def mnist() -> tuple[np.ndarray, np.ndarray]:
    return load_mnist_test(BUNDLED_DIR / "mnist")


@pytest.fixture(scope="module")
def server():
    running = Server("--max-upload-mb", "1")
    yield running
    running.stop()


def test_health_and_the_model_card(server: Server) -> None:
    assert call(server.url + "healthz") == (200, {"status": "ok"})
    status, card = call(server.url + "model")
    assert status == 200
    assert card["model"] == "lenet5" and card["classes"] == [str(k) for k in range(10)]
    assert card["test_accuracy"] > 0.99 and card["input_size"] == [28, 28] and card["feature_maps"] is True
    assert card["source"] == "bundled weights"


def test_predict_answers_with_the_fields_of_predict_json(server: Server, mnist, runner, tmp_path: Path) -> None:
    images, labels = mnist
    files = {f"digit{k}.png": png(255 - images[k]) for k in range(8)}  # dark ink on white, as on paper
    status, answer = call(server.url + "predict?topk=2", *multipart(files))
    assert status == 200, answer
    rows = answer["predictions"]
    assert [row["path"] for row in rows] == list(files)
    assert [row["predicted"] for row in rows] == [int(v) for v in labels[:8]]
    for name, data in files.items():
        (tmp_path / name).write_bytes(data)
    result = runner.invoke(app, ["predict", *(str(tmp_path / n) for n in files), "--json", "--topk", "2"])
    assert result.exit_code == 0, result.output
    local = [json.loads(line) for line in result.stdout.splitlines()]
    for row, expected in zip(rows, local):
        assert set(row) == set(expected)
        assert row["predicted"] == expected["predicted"] and row["probability"] == pytest.approx(expected["probability"], abs=1e-6)


def test_a_raw_body_and_a_whole_number(server: Server, mnist) -> None:
    images, labels = mnist
    status, answer = call(server.url + "predict", png(images[1]), {"Content-Type": "image/png"})
    assert status == 200 and answer["predictions"][0]["predicted"] == int(labels[1])
    row = np.full((40, 4 * 40), 0, np.uint8)
    for k in range(4):  # four digits side by side, apart
        row[6:34, k * 40 + 6 : k * 40 + 34] = images[k]
    status, answer = call(server.url + "predict?number=1", png(row))
    assert status == 200, answer
    (reading,) = answer["predictions"]
    assert reading["number"] == "".join(str(v) for v in labels[:4])
    assert [d["predicted"] for d in reading["digits"]] == [int(v) for v in labels[:4]]
    assert all(len(d["box"]) == 4 for d in reading["digits"])


def test_inspect_gives_probabilities_the_input_and_c1_c3_maps(server: Server, mnist) -> None:
    images, labels = mnist
    status, answer = call(server.url + "inspect", png(images[2]))
    assert status == 200, answer
    assert answer["prediction"]["predicted"] == int(labels[2])
    assert sum(answer["probabilities"]) == pytest.approx(1.0, abs=1e-6)
    assert int(np.argmax(answer["probabilities"])) == int(labels[2])
    seen = np.array(answer["input"])
    assert seen.shape == (28, 28) and seen.max() > 200
    assert [(m["label"], m["shape"]) for m in answer["maps"]] == [("C1", [6, 28, 28]), ("C3", [16, 10, 10])]
    assert np.array(answer["maps"][1]["maps"]).shape == (16, 10, 10)


@pytest.mark.parametrize("body, headers, status, words", [
    (b"", {}, 400, "empty"),
    (b"GIF89a but not really", {"Content-Type": "image/gif"}, 415, "not an image"),
    (b"x" * (1024 * 1024 + 1), {}, 413, "over the limit"),
    (None, {}, 413, "too large"),  # a small PNG of 64 million pixels: the pixel limit predict uses
    (b"--nothing--", {"Content-Type": "multipart/form-data; boundary=zz"}, 400, "not a readable multipart form"),
    (b'--zz\r\nContent-Disposition: form-data; name="a"\r\n\r\nb\r\n--zz--\r\n',
     {"Content-Type": "multipart/form-data; boundary=zz"}, 400, "no file"),
])
def test_bad_requests_get_a_json_error_and_the_server_keeps_serving(server: Server, body, headers, status, words) -> None:
    if body is None:
        buffer = io.BytesIO()
        Image.new("1", (8000, 8000)).save(buffer, format="PNG")
        body = buffer.getvalue()
        assert len(body) < 1024 * 1024
    code, answer = call(server.url + "predict", body, headers)
    assert code == status, answer
    assert set(answer) == {"error"} and words in answer["error"]
    assert "Traceback" not in answer["error"]
    assert call(server.url + "healthz")[0] == 200


def test_a_client_that_sends_a_too_large_body_to_the_end_still_reads_the_413(server: Server) -> None:
    """The server reads (and drops) a refused body up to 4x the limit: a client still sending it after the
    server decided, as urllib and requests do, must get the answer, not a broken pipe."""
    import http.client
    import time
    from urllib.parse import urlsplit

    where = urlsplit(server.url)
    connection = http.client.HTTPConnection(where.hostname, where.port, timeout=30)
    size, piece = 3 * 1024 * 1024, 256 * 1024  # three times the test server's 1 MB limit
    connection.putrequest("POST", "/predict")
    connection.putheader("Content-Length", str(size))
    connection.putheader("Connection", "close")  # as urllib sends: the server closes once it has answered
    connection.endheaders()
    for k in range(size // piece):
        connection.send(b"x" * piece)
        if k == 0:
            time.sleep(0.5)  # the server has seen the headers and decided; the body keeps coming
    response = connection.getresponse()
    assert response.status == 413 and "over the limit" in json.loads(response.read())["error"]
    connection.close()
    assert call(server.url + "healthz")[0] == 200


def test_a_client_that_leaves_mid_upload_is_not_an_internal_error() -> None:
    """A client that closes its connection half-way through a body (a closed tab, a lost phone signal) is
    nobody's bug: no "internal error" line, no traceback, and the server keeps answering."""
    import time
    from urllib.parse import urlsplit

    running = Server()
    try:
        where = urlsplit(running.url)
        for route in ("predict", "inspect"):
            with socket.create_connection((where.hostname, where.port), timeout=30) as client:
                client.sendall(f"POST /{route} HTTP/1.1\r\nHost: {where.netloc}\r\nContent-Type: image/png\r\n"
                               "Content-Length: 500000\r\n\r\n".encode() + b"\x89PNG" + b"x" * 20000)
                time.sleep(0.3)  # the server is reading the body when the client goes
        time.sleep(0.5)  # the server has seen both connections close
        assert call(running.url + "healthz") == (200, {"status": "ok"})
    finally:
        code, stderr = running.stop()
    assert code == 0, stderr
    assert "Traceback" not in stderr and "internal error" not in stderr and "Exception" not in stderr, stderr


def test_unknown_routes_and_bad_parameters_are_json_errors(server: Server) -> None:
    assert call(server.url + "nothing-here") == (404, {"error": "Not Found"})
    code, answer = call(server.url + "predict?topk=many", b"x")
    assert code == 422 and "topk" in answer["error"]


def test_the_page_and_the_openapi_docs_are_served(server: Server) -> None:
    with urllib.request.urlopen(server.url, timeout=30) as response:
        page = response.read().decode()
    assert '<canvas id="pad"' in page and '"predict?number=true" : "inspect"' in page  # a digit inspected, a number read
    assert "http://" not in page.replace("http://www.w3.org", "") and "https://" not in page  # no CDN: works offline
    assert call(server.url + "openapi.json")[1]["paths"].keys() >= {"/predict", "/model", "/healthz"}


def test_an_onnx_export_serves_predictions_without_maps(mnist) -> None:
    images, labels = mnist
    running = Server("-c", str(BUNDLED_ONNX))
    try:
        card = call(running.url + "model")[1]
        assert card["feature_maps"] is False and card["backend"] == "onnx"
        status, answer = call(running.url + "inspect", png(images[3]))
        assert status == 200 and answer["maps"] == [] and answer["prediction"]["predicted"] == int(labels[3])
    finally:
        code, stderr = running.stop(signal.SIGINT)
    assert code == 0, stderr
    assert "stopped" in stderr


def test_two_workers_serve_and_sigterm_stops_them_with_exit_0(mnist) -> None:
    images, labels = mnist
    running = Server("--workers", "2")
    try:
        for k in range(4):
            status, answer = call(running.url + "predict", png(images[k]))
            assert status == 200 and answer["predictions"][0]["predicted"] == int(labels[k])
    finally:
        code, stderr = running.stop(signal.SIGTERM)
    assert code == 0, stderr
    assert "error" not in stderr


def test_a_port_in_use_and_missing_extras_are_one_line_errors(runner, monkeypatch: pytest.MonkeyPatch) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = runner.invoke(app, ["serve", "--port", str(port)])
    assert result.exit_code == 1 and f"Port {port} on 127.0.0.1 is in use" in result.stderr
    import importlib.util

    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name == "uvicorn" else real(name, *a))
    result = runner.invoke(app, ["serve"])
    assert result.exit_code == 1 and "pip install 'lenet-cli[serve]'" in result.stderr


def test_tests_may_reach_loopback_only() -> None:
    with pytest.raises(NetworkAccessInTest):
        socket.create_connection(("192.0.2.1", 80), timeout=1)  # TEST-NET-1: refused before any packet


@pytest.fixture
def page(server: Server):
    """The served page open in headless Chromium, ready to draw on (skipped where no browser can run)."""
    if missing_browser():
        pytest.skip(missing_browser())
    from selenium.webdriver.support.ui import WebDriverWait

    browser = chromium()
    try:
        browser.get(server.url)
        WebDriverWait(browser, 30).until(lambda b: b.find_element("tag name", "body").get_attribute("data-ready"))
        yield browser
    finally:
        browser.quit()


def _answered(browser):
    """The page's body, once the answer to the last stroke is shown."""
    from selenium.webdriver.support.ui import WebDriverWait

    body = browser.find_element("tag name", "body")
    WebDriverWait(browser, 30).until(lambda b: not body.get_attribute("data-busy"))
    return body


def test_a_digit_drawn_on_the_page_in_chromium_is_read(page) -> None:
    pad = page.find_element("id", "pad")
    draw(page, pad, SEVEN, "mouse")
    body = _answered(page)
    assert body.get_attribute("data-prediction") == "7"
    assert page.find_element("id", "digit").text == "7"
    assert len(page.find_elements("css selector", "#c1 canvas")) == 6
    assert len(page.find_elements("css selector", "#c3 canvas")) == 16
    page.find_element("id", "clear").click()
    assert body.get_attribute("data-prediction") == ""
    draw(page, pad, ONE, "touch")
    assert _answered(page).get_attribute("data-prediction") == "1"


def _placed(strokes: list[list[tuple[float, float]]], left: float, width: float) -> list[list[tuple[float, float]]]:
    """``strokes`` (0..1 of a square pad) squeezed into the columns left..left+width of a wide pad."""
    return [[(left + x * width, y) for x, y in stroke] for stroke in strokes]


def test_a_number_written_on_the_page_in_chromium_is_read_and_boxed(page) -> None:
    page.find_element("id", "number-mode").click()
    pad = page.find_element("id", "pad")
    assert pad.get_attribute("width") == "840" and pad.rect["width"] > 2.5 * pad.rect["height"]
    draw(page, pad, _placed(ONE, 0.05, 0.3) + _placed(SEVEN, 0.35, 0.33) + _placed(ONE, 0.62, 0.3), "mouse")
    body = _answered(page)
    assert body.get_attribute("data-prediction") == "171"
    assert body.get_attribute("data-boxes") == "3"
    assert page.find_element("id", "digit").text == "171"
    boxes = page.execute_script(
        "const c = document.getElementById('boxes'); const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;"
        "let n = 0; for (let i = 3; i < d.length; i += 4) if (d[i] > 0) n++; return n;")
    assert boxes > 500  # the three boxes are drawn over the pad
    page.find_element("id", "clear").click()
    assert body.get_attribute("data-prediction") == ""
