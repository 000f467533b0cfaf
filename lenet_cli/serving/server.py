"""Running the app: listening sockets, uvicorn in this process or in one worker process per socket.

Several workers each get a socket of their own on the same port (SO_REUSEPORT), so the
kernel spreads connections across them. With one shared socket, asyncio's accept loop
lets whichever worker wakes first take every waiting connection: 32 keep-alive clients
could all land on one worker while the others idle (docs/benchmarks.md has the measurement).
"""

from __future__ import annotations

import errno
import signal
import socket
import threading
import time
from typing import Any, Callable

from ..errors import LenetError, UsageError, from_os_error

__all__ = ["listen", "serve"]

_UVICORN = {"log_level": "warning", "timeout_graceful_shutdown": 10}


def listen(host: str, port: int, count: int = 1) -> list[socket.socket]:
    """``count`` listening sockets on ``host:port`` (0: a free port), ready before any URL is printed."""
    sockets = [_listening_socket(host, port, reuse_port=count > 1)]
    port = sockets[0].getsockname()[1]  # the others share the port the first one got
    sockets += [_listening_socket(host, port, reuse_port=True) for _ in range(count - 1)]
    return sockets


def _listening_socket(host: str, port: int, reuse_port: bool) -> socket.socket:
    try:
        family = socket.AF_INET6 if ":" in host else socket.AF_INET
        # IPPROTO_TCP named, not left 0: asyncio turns Nagle off (TCP_NODELAY) only on sockets that say TCP,
        # and with Nagle on every answer waited for the client's delayed ACK.
        sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        if reuse_port:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
        sock.bind((host, port))
        sock.listen(2048)  # connections wait here until a server accepts them: the URL works at once
    except socket.gaierror as exc:
        raise UsageError(f"--host {host!r} is not an address of this machine ({exc.strerror})") from None
    except OSError as exc:
        if exc.errno == errno.EADDRINUSE:
            raise LenetError(f"Port {port} on {host} is in use; pick another with --port (0: any free port)") from None
        if exc.errno == errno.EADDRNOTAVAIL:
            raise UsageError(f"--host {host!r} is not an address of this machine") from None
        raise from_os_error(exc, f"Cannot listen on {host}:{port}") from None
    sock.set_inheritable(True)
    return sock


def serve(app: Any, sockets: list[socket.socket], build_app: Callable[[dict[str, Any]], Any],
          settings: dict[str, Any], access_log: bool = False) -> None:
    """Serve until SIGINT or SIGTERM, answering the requests in flight first.

    One socket: ``app`` in this process. Several: one worker process per socket, each building its
    own app with ``build_app(settings)`` (a module-level function: it travels to the worker by name).
    Stopping is how a server ends, so it returns normally (the CLI exits 0).
    """
    previous = {sig: signal.signal(sig, signal.SIG_IGN) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        if len(sockets) == 1:
            _run_uvicorn(app, sockets[0], access_log)
        else:
            _supervise(sockets, (build_app, settings, access_log))
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
        for sock in sockets:
            sock.close()


def _run_uvicorn(app: Any, sock: socket.socket, access_log: bool) -> None:
    """uvicorn on ``sock`` in this process. It catches SIGINT/SIGTERM while it runs, drains, then re-raises
    the signal: the handlers around it (ignore) take it, not the CLI's, which would mean exit 130/143."""
    import uvicorn

    uvicorn.Server(uvicorn.Config(app, access_log=access_log, **_UVICORN)).run(sockets=[sock])


def _worker(sock: socket.socket, build_app: Callable[[dict[str, Any]], Any], settings: dict[str, Any],
            access_log: bool) -> None:
    """One worker process: its own app, built from ``settings``, served on its own socket."""
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, signal.SIG_IGN)  # uvicorn's own handlers take over while it runs
    _run_uvicorn(build_app(settings), sock, access_log)


def _supervise(sockets: list[socket.socket], worker_args: tuple[Any, ...]) -> None:
    """A worker process per socket until a signal; a worker that dies is replaced (at most once a second)."""
    import multiprocessing

    context = multiprocessing.get_context("spawn")  # a fresh interpreter: nothing of this one's threads
    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda _signum, _frame: stop.set())

    def start(sock: socket.socket) -> Any:
        process = context.Process(target=_worker, args=(sock, *worker_args), daemon=True)
        process.start()
        return process

    workers = [start(sock) for sock in sockets]
    while not stop.wait(1.0):
        workers = [w if w.is_alive() else start(sock) for w, sock in zip(workers, sockets)]
    for process in workers:
        process.terminate()  # SIGTERM: uvicorn drains its open requests
    deadline = time.monotonic() + _UVICORN["timeout_graceful_shutdown"] + 5
    for process in workers:
        process.join(max(0.1, deadline - time.monotonic()))
        if process.is_alive():
            process.kill()
