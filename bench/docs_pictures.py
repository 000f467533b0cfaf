"""Regenerate every picture in docs/img that lenet draws, by running the commands the docs show.

    python bench/docs_pictures.py [--work DIR] [--skip-classic]

Runs the tutorial's commands in a fresh work directory (real MNIST, seed 0), copies each
picture into docs/img under the name the docs use, and keeps what every command printed in
WORK/transcripts/ for the transcripts in the docs. About 3 minutes on a 2-core CPU, plus
about 4 for the 20-epoch lenet5-classic run of reproduction.md and inspect.md
(``--skip-classic`` leaves those two pictures alone; ``--reuse`` with the same ``--work`` redraws
only the pictures deleted from it, without training again). The serve page's screenshots come from
bench/screenshots_serve.py, the docs site's from bench/screenshots_docs.py.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
IMG = REPO / "docs" / "img"

# (command as the docs show it, {picture the command leaves in the work dir: where it goes under docs/img})
TUTORIAL = [
    ("lenet train --dataset mnist --seed 0", {"runs/train/exp/curves.png": "tutorial/curves-lenet5-3-epochs.png"}),
    ("lenet train --dataset mnist --epochs 20 --seed 0 --threads 1 --name lenet5-20 \\\n"
     "    --json | python -m json.tool",
     {"runs/train/lenet5-20/curves.png": "tutorial/curves-lenet5-20-epochs.png"}),
    ("lenet plot runs/train/exp runs/train/lenet5-20 --out compare.png", {"compare.png": "tutorial/compare.png"}),
    ("lenet eval --checkpoint runs/train/exp/best.pt --plot plots",
     {"plots/confusion.png": "tutorial/confusion.png", "plots/mistakes.png": "tutorial/mistakes.png"}),
    ("lenet predict docs/img/handwriting/ --checkpoint runs/train/exp/best.pt \\\n    --save-preprocessed seen",
     {"seen/00000-00000.png": "tutorial/seen-00000.png"}),
    ("lenet inspect docs/img/handwriting/00000.jpg \\\n    --checkpoint runs/train/exp/best.pt --out inspect-4.png",
     {"inspect-4.png": "tutorial/inspect-four.png"}),
]
CLASSIC = [
    ("lenet train --model lenet5-classic --dataset mnist --epochs 20 --seed 0 \\\n    --val-split 0 --batch-size 128 --lr 0.01 --amp none --augment none --name classic",
     {"runs/train/classic/curves.png": "curves-lenet5-classic.png"}),
    ("lenet inspect docs/img/three.png --checkpoint runs/train/classic/last.pt \\\n    --out inspect-classic.png",
     {"inspect-classic.png": "inspect-lenet5-classic-three.png"}),
]


def run(command: str, work: Path, transcripts: Path, index: int) -> None:
    """Run one documented command in bash in ``work``, as a reader would type it, and keep its output.

    ``lenet`` is this environment's console script; ``docs/`` in ``work`` is the repository's.
    """
    started = time.perf_counter()
    path = f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}"
    result = subprocess.run(["bash", "-c", f"set -o pipefail; {command}"], cwd=work, capture_output=True, text=True,
                            env={**os.environ, "PATH": path, "COLUMNS": "80"})
    seconds = time.perf_counter() - started
    (transcripts / f"{index:02d}.txt").write_text(f"$ {command}\n# exit {result.returncode}, {seconds:.1f} s\n"
                                                  f"# stdout\n{result.stdout}# stderr\n{result.stderr}")
    print(f"{command}  -> exit {result.returncode} in {seconds:.1f} s", flush=True)
    if result.returncode != 0:
        raise SystemExit(f"failed: {command}\n{result.stderr}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--work", type=Path, default=None, help="work directory (default: a new temporary one)")
    parser.add_argument("--skip-classic", action="store_true", help="leave the lenet5-classic pictures alone")
    parser.add_argument("--reuse", action="store_true",
                        help="skip a command whose pictures the work directory already holds (after a change to "
                             "how pictures are drawn: delete those to redraw, keep the trained runs)")
    options = parser.parse_args()
    work = options.work or Path(tempfile.mkdtemp(prefix="lenet-docs-"))
    transcripts = work / "transcripts"
    transcripts.mkdir(parents=True, exist_ok=True)
    if not (work / "docs").exists():
        (work / "docs").symlink_to(REPO / "docs")
    steps = TUTORIAL + ([] if options.skip_classic else CLASSIC)
    for index, (command, pictures) in enumerate(steps):
        if not (options.reuse and all((work / made).exists() for made in pictures)):
            run(command, work, transcripts, index)
        for made, target in pictures.items():
            shutil.copyfile(work / made, IMG / target)
            print(f"  {made} -> docs/img/{target}")
    print(f"transcripts in {transcripts}")


if __name__ == "__main__":
    main()
