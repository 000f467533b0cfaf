"""Load on `lenet serve`: single-image POST /predict requests from concurrent clients on 127.0.0.1.

Starts the server as a user would (`lenet serve --port 0`, bundled weights unless -c is given),
sends --requests requests from --clients keep-alive connections, each a real MNIST test digit as a
28x28 PNG (dark ink on white), checks every answer's label against the truth, and reports
requests/s, p50/p99 latency and errors. The clients run in this process, on the same cores.

    python bench/bench_serve.py [--requests 2000] [--clients 32] [--workers 1] [-- extra serve options]
"""

from __future__ import annotations

import argparse
import gzip
import http.client
import io
import json
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np
from PIL import Image

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "tests"))
import browser  # noqa: E402

MNIST = REPO / "lenet_cli" / "data" / "bundled" / "mnist"


def digits(count: int) -> list[tuple[bytes, int]]:
    """The first ``count`` MNIST test digits as PNG bytes, with their labels."""
    images = np.frombuffer(gzip.decompress((MNIST / "t10k-images-idx3-ubyte.gz").read_bytes()), np.uint8, offset=16)
    labels = np.frombuffer(gzip.decompress((MNIST / "t10k-labels-idx1-ubyte.gz").read_bytes()), np.uint8, offset=8)
    out = []
    for image, label in zip(images.reshape(-1, 28, 28)[:count], labels[:count]):
        buffer = io.BytesIO()
        Image.fromarray(255 - image).save(buffer, format="PNG")
        out.append((buffer.getvalue(), int(label)))
    return out


def start_server(options: list[str]) -> tuple[subprocess.Popen, int]:
    proc, url = browser.start_server(*options)
    return proc, int(url.rstrip("/").rsplit(":", 1)[1])


def client(port: int, work: list[tuple[bytes, int]], latencies: list[float], errors: list[str]) -> None:
    """One keep-alive connection sending its share of the requests, one after another."""
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    for body, label in work:
        start = time.perf_counter()
        try:
            connection.request("POST", "/predict", body, {"Content-Type": "image/png"})
            response = connection.getresponse()
            answer = json.loads(response.read())
            latencies.append(time.perf_counter() - start)
            if response.status != 200:
                errors.append(f"HTTP {response.status}: {answer}")
            elif answer["predictions"][0]["label"] != label:
                errors.append("wrong label")  # counted apart: a misread digit is not a server error
        except (OSError, http.client.HTTPException, ValueError) as exc:
            errors.append(f"{type(exc).__name__}: {exc}")
            connection.close()
            connection = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    connection.close()


def run(port: int, total: int, clients: int) -> dict:
    samples = digits(min(total, 10_000))
    work = [samples[k % len(samples)] for k in range(total)]
    latencies: list[float] = []
    errors: list[str] = []
    for body, _ in work[:20]:  # warm-up: the first requests pay for lazy set-up
        client(port, [(body, -1)], [], [])
    threads = [threading.Thread(target=client, args=(port, work[k::clients], latencies, errors)) for k in range(clients)]
    start, cpu = time.perf_counter(), time.process_time()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    seconds, client_cpu = time.perf_counter() - start, time.process_time() - cpu
    wrong = errors.count("wrong label")
    failures = [e for e in errors if e != "wrong label"]
    ms = np.array(latencies) * 1000
    return {"requests": total, "clients": clients, "seconds": round(seconds, 2),
            "requests_per_s": round(total / seconds, 1), "p50_ms": round(float(np.percentile(ms, 50)), 1),
            "p99_ms": round(float(np.percentile(ms, 99)), 1), "errors": len(failures),
            "accuracy": round(1 - wrong / max(1, len(latencies)), 4),
            "client_cpu_share": round(client_cpu / seconds / (os.cpu_count() or 1), 3), "first_error": failures[0] if failures else None}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--requests", type=int, default=2000)
    parser.add_argument("--clients", type=int, default=32)
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("serve_options", nargs="*", help="passed to lenet serve (after --)")
    args = parser.parse_args()
    proc, port = start_server(["--workers", str(args.workers), *args.serve_options])
    try:
        result = run(port, args.requests, args.clients)
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=60)
    print(json.dumps({"workers": args.workers, **result, "server_exit": proc.returncode}))


if __name__ == "__main__":
    main()
