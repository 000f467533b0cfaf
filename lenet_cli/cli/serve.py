"""``lenet serve``: predictions over HTTP and the draw-a-digit page (FastAPI + uvicorn, the serve extra)."""

from __future__ import annotations

import errno
import importlib.util
import json
import os
import signal
import socket
from pathlib import Path
from typing import Annotated, Any

import typer

from ..errors import LenetError, UsageError, from_os_error
from .console import print_note
from .options import CheckpointOption, PreprocessOption, ProjectOption

def serve_command(
    checkpoint: CheckpointOption = None,
    host: Annotated[str, typer.Option(help="Address to listen on; 0.0.0.0 opens it to the network.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(min=0, max=65535, help="Port to listen on (0: any free port).")] = 8000,
    workers: Annotated[int, typer.Option(min=1, max=64, help="Worker processes, each with its own model.")] = 1,
    max_upload_mb: Annotated[float, typer.Option(min=0.001, help="Largest request body, in MB (413 above it).")] = 10.0,
    access_log: Annotated[bool, typer.Option("--access-log", help="Log every request to stderr.")] = False,
    preprocess: PreprocessOption = None,
    project: ProjectOption = Path("runs/train"),
) -> None:
    """Serve predictions over HTTP, with a page to draw digits on (Ctrl-C stops; exit 0)."""
    if importlib.util.find_spec("fastapi") is None or importlib.util.find_spec("uvicorn") is None:
        raise LenetError("lenet serve needs FastAPI and uvicorn: pip install 'lenet-cli[serve]'")
    from ..serving.service import load_service

    settings = {"checkpoint": checkpoint, "preprocess": preprocess, "project": str(project),
                "max_bytes": int(max_upload_mb * 1024 * 1024)}
    service = load_service(**{k: v for k, v in settings.items() if k != "max_bytes"})  # bad checkpoints fail here
    sock = _bind(host, port)
    shown = f"[{host}]" if ":" in host else host
    print_note(f"serving {service.predictor.model_name} ({service.source_label}) at "
               f"http://{shown}:{sock.getsockname()[1]}/ with {workers} worker(s); Ctrl-C stops")
    _run(service, settings, sock, workers, access_log)
    print_note("stopped; requests already received were answered first")


def _bind(host: str, port: int) -> socket.socket:
    """The listening socket, bound before anything is printed, so the URL shown is the real one."""
    try:
        family = socket.AF_INET6 if ":" in host else socket.AF_INET
        # IPPROTO_TCP named, not left 0: asyncio turns Nagle off (TCP_NODELAY) only on sockets that say TCP,
        # and with Nagle on every answer waited 40 ms for the client's delayed ACK.
        sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((host, port))
        sock.listen(2048)  # connections wait in the backlog until the server accepts them: the URL works at once
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


def _run(service: Any, settings: dict[str, Any], sock: socket.socket, workers: int, access_log: bool) -> None:
    """Serve until SIGINT or SIGTERM; uvicorn answers the requests in flight first.

    Stopping is how a server ends, so it is a success (exit 0): uvicorn re-raises the signal
    when it is done, and the handlers here take it instead of the CLI's (which would mean 130/143).
    """
    import uvicorn
    from uvicorn.supervisors import Multiprocess

    from ..serving.app import SETTINGS_VARIABLE, create_app

    previous = {sig: signal.signal(sig, lambda _signum, _frame: None) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        if workers == 1:
            config = uvicorn.Config(create_app(service, settings["max_bytes"]), log_level="warning",
                                    access_log=access_log, timeout_graceful_shutdown=10)
            uvicorn.Server(config).run(sockets=[sock])
        else:  # each worker is a new interpreter: it rebuilds the app from the settings
            os.environ[SETTINGS_VARIABLE] = json.dumps(settings)
            config = uvicorn.Config("lenet_cli.serving.app:app_from_environment", factory=True, workers=workers,
                                    log_level="warning", access_log=access_log, timeout_graceful_shutdown=10)
            try:
                supervisor = Multiprocess(config, sockets=[sock])
            except TypeError:  # uvicorn before its supervisor built the servers itself
                supervisor = Multiprocess(config, target=uvicorn.Server(config).run, sockets=[sock])
            supervisor.run()
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
        sock.close()
