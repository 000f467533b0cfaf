"""Several training processes on torch.distributed: the rank context and the ``--nproc`` launcher.

``lenet train`` runs unchanged under ``torchrun``, which sets RANK, WORLD_SIZE,
LOCAL_RANK, MASTER_ADDR and MASTER_PORT; ``lenet train --nproc N`` sets the same
variables for N local processes itself, so exit codes and signals stay lenet's own.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
from dataclasses import dataclass
from typing import Any

__all__ = ["Distributed", "from_environment", "launch", "is_main_process", "launched_as_rank"]


def is_main_process() -> bool:
    """True unless this is a non-zero rank of a distributed run (those stay quiet).

    Read from the environment torchrun and ``--nproc`` set, so it answers before the
    process group exists and without importing torch.
    """
    return os.environ.get("RANK", "0") == "0"


def launched_as_rank() -> bool:
    """True in a process that torchrun or ``--nproc`` started as one rank of several."""
    return int(os.environ.get("WORLD_SIZE", "1")) > 1


@dataclass
class Distributed:
    """Where this process stands in the group; a single process is rank 0 of 1."""

    rank: int = 0
    world_size: int = 1
    local_rank: int = 0

    @property
    def enabled(self) -> bool:
        return self.world_size > 1

    @property
    def is_main(self) -> bool:
        return self.rank == 0

    def any(self, *flags: bool) -> list[bool]:
        """Each flag OR-ed over all ranks, in one collective, so every rank takes the same branch."""
        if not self.enabled:
            return list(flags)
        import torch
        import torch.distributed as dist

        tensor = torch.tensor([float(f) for f in flags], device=self._device())
        dist.all_reduce(tensor, op=dist.ReduceOp.MAX)
        return [bool(v) for v in tensor.tolist()]

    def sum(self, values: list[float]) -> list[float]:
        """Element-wise sums over all ranks (losses, counts)."""
        if not self.enabled:
            return list(values)
        import torch
        import torch.distributed as dist

        tensor = torch.tensor(values, dtype=torch.float64, device=self._device())
        dist.all_reduce(tensor)
        return tensor.tolist()

    def gather(self, obj: Any) -> list[Any]:
        """Every rank's ``obj``, in rank order, on every rank."""
        if not self.enabled:
            return [obj]
        import torch.distributed as dist

        gathered: list[Any] = [None] * self.world_size
        dist.all_gather_object(gathered, obj)
        return gathered

    def broadcast(self, obj: Any) -> Any:
        """Rank 0's ``obj`` on every rank."""
        if not self.enabled:
            return obj
        import torch.distributed as dist

        box = [obj]
        dist.broadcast_object_list(box, src=0)
        return box[0]

    def shutdown(self, in_step: bool = True) -> None:
        """Leave the group. ``in_step``: every rank got here together, so wait for all first.

        Tearing gloo down while a peer is still finishing (rank 0 writes the run
        records last) can abort the process, so the ranks meet at a barrier first.
        """
        if self.enabled:
            import torch.distributed as dist

            if dist.is_initialized():
                if in_step:
                    dist.barrier()
                dist.destroy_process_group()

    def _device(self):
        import torch.distributed as dist

        return f"cuda:{self.local_rank}" if dist.get_backend() == "nccl" else "cpu"


def from_environment(device_type: str) -> Distributed:
    """Join the process group torchrun (or ``--nproc``) described; gloo on CPU, NCCL on CUDA."""
    if not launched_as_rank():
        return Distributed()
    world_size = int(os.environ["WORLD_SIZE"])
    import torch
    import torch.distributed as dist

    context = Distributed(int(os.environ["RANK"]), world_size, int(os.environ.get("LOCAL_RANK", "0")))
    backend = "nccl" if device_type == "cuda" else "gloo"
    if backend == "nccl":
        torch.cuda.set_device(context.local_rank)
    if not dist.is_initialized():
        dist.init_process_group(backend=backend)
    return context


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def launch(nproc: int, argv: list[str]) -> int:
    """Run ``python -m lenet_cli <argv>`` as ``nproc`` local ranks; returns the exit code to use.

    SIGINT and SIGTERM are passed on to every rank (they agree to stop after the
    current step and rank 0 saves last.pt); a second one kills them. The result is
    rank 0's exit code, or the first failing rank's if rank 0 succeeded.
    """
    port = _free_port()
    children = []
    for rank in range(nproc):
        env = {**os.environ, "RANK": str(rank), "LOCAL_RANK": str(rank), "WORLD_SIZE": str(nproc),
               "LOCAL_WORLD_SIZE": str(nproc), "MASTER_ADDR": "127.0.0.1", "MASTER_PORT": str(port)}
        # Share the cores: each rank gets its part unless the user chose.
        env.setdefault("OMP_NUM_THREADS", str(max(1, (os.cpu_count() or 1) // nproc)))
        # A session of their own: a terminal's Ctrl-C reaches only us, and we pass it on once.
        children.append(subprocess.Popen([sys.executable, "-m", "lenet_cli", *argv], env=env,
                                         start_new_session=True))
    received: list[int] = []

    def forward(signum: int, _frame: Any) -> None:
        received.append(signum)
        for child in children:
            if child.poll() is None:
                child.send_signal(signum if len(received) == 1 else signal.SIGKILL)

    previous = {sig: signal.signal(sig, forward) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        codes = [child.wait() for child in children]
        codes = [128 - code if code < 0 else code for code in codes]  # killed by a signal: 128 + its number
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    if len(received) > 1:
        return 130 if received[0] == signal.SIGINT else 143
    failing = [code for code in codes if code != 0]
    return codes[0] if codes[0] != 0 else (failing[0] if failing else 0)
