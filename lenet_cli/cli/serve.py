"""``lenet serve``: predictions over HTTP and the draw-a-digit page (FastAPI + uvicorn, the serve extra)."""

from __future__ import annotations

import importlib.util
from pathlib import Path
from typing import Annotated

import typer

from ..errors import LenetError
from .console import print_note
from .options import CheckpointOption, DeviceOption, PreprocessOption, ProjectOption


def serve_command(
    checkpoint: CheckpointOption = None,
    host: Annotated[str, typer.Option(help="Address to listen on; 0.0.0.0 opens it to the network.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(min=0, max=65535, help="Port to listen on (0: any free port).")] = 8000,
    workers: Annotated[int, typer.Option(min=1, max=64, help="Worker processes, each with its own model.")] = 1,
    max_upload_mb: Annotated[float, typer.Option(min=0.001, max=4096, help="Largest request body, in MB (413 above it).")] = 10.0,
    access_log: Annotated[bool, typer.Option("--access-log", help="Log every request to stderr.")] = False,
    preprocess: PreprocessOption = None,
    project: ProjectOption = Path("runs/train"),
    device: DeviceOption = "auto",
) -> None:
    """Serve predictions over HTTP, with a page to draw digits on (Ctrl-C stops; exit 0)."""
    if importlib.util.find_spec("fastapi") is None or importlib.util.find_spec("uvicorn") is None:
        raise LenetError("lenet serve needs FastAPI and uvicorn: pip install 'lenet-cli[serve]'")
    from ..serving.app import app_from_settings, create_app
    from ..serving.server import listen, serve
    from ..serving.service import load_service

    max_bytes = int(max_upload_mb * 1024 * 1024)
    service = load_service(checkpoint, preprocess, str(project), device)  # a bad checkpoint fails here, not in a worker
    sockets = listen(host, port, workers)
    shown = f"[{host}]" if ":" in host else host
    print_note(f"serving {service.predictor.model_name} ({service.source_label}) at "
               f"http://{shown}:{sockets[0].getsockname()[1]}/ with {workers} worker(s); Ctrl-C stops")
    worker_settings = {"checkpoint": checkpoint, "preprocess": preprocess, "project": str(project), "device": device,
                       "max_bytes": max_bytes}  # what each of several worker processes sets itself up from
    serve(create_app(service, max_bytes), sockets, app_from_settings, worker_settings, access_log)
    print_note("stopped; requests already received were answered first")
