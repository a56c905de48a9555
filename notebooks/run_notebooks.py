"""Execute every notebook headless, as CI does, and check the committed ones.

    python notebooks/run_notebooks.py            # all notebooks
    python notebooks/run_notebooks.py 02 03      # those whose names start so

Checks, in order, each failing with a non-zero exit:
1. every committed notebook is stripped (no outputs, no execution counts);
2. every notebook runs top to bottom (nbclient, its own directory as the
   working directory); executed copies go to out/notebooks/executed/;
3. the reproduction notebook fails, naming the changed number, when one
   committed number is changed (run on a tampered copy of the results).
"""

from __future__ import annotations

import os
import re
import shutil
import sys
import tempfile
import time
from pathlib import Path

import nbformat
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionError

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
EXECUTED = ROOT / "out" / "notebooks" / "executed"
TIMEOUT_PER_CELL = 600


def plain(text: str) -> str:
    """Text without the terminal colour codes of a kernel's traceback."""
    return re.sub(r"\x1b\[[0-9;]*m", "", text)


def unstripped_cells(path: Path) -> list[str]:
    """Cells of a committed notebook that carry outputs or execution counts."""
    notebook = nbformat.read(path, as_version=4)
    return [
        cell.get("id", str(i))
        for i, cell in enumerate(notebook.cells)
        if cell.cell_type == "code" and (cell.outputs or cell.execution_count is not None)
    ]


def execute(path: Path) -> nbformat.NotebookNode:
    """Run a notebook top to bottom in its own directory; raises CellExecutionError.
    The kernel inherits this process's environment."""
    notebook = nbformat.read(path, as_version=4)
    NotebookClient(
        notebook,
        timeout=TIMEOUT_PER_CELL,
        kernel_name="python3",
        resources={"metadata": {"path": str(HERE)}},
    ).execute()
    return notebook


def tampered_copy(destination: Path) -> str:
    """A copy of reports/reproduce with one committed number changed; the number."""
    shutil.copytree(ROOT / "reports" / "reproduce", destination)
    summary = destination / "procurement-mitigated" / "summary.csv"
    lines = summary.read_text().splitlines(keepends=True)
    fields = lines[1].split(",")  # agents_reached,count,n,mean,...
    assert fields[0] == "agents_reached", lines[1]
    fields[3] = f"{float(fields[3]) + 0.001:.6f}"
    lines[1] = ",".join(fields)
    summary.write_text("".join(lines))
    return fields[3]


def check_reproduction_fails_on_tampering(path: Path) -> None:
    with tempfile.TemporaryDirectory() as scratch:
        changed = tampered_copy(Path(scratch) / "reproduce")
        os.environ["CASCADE_REPRODUCE_DIR"] = str(Path(scratch) / "reproduce")
        try:
            execute(path)
        except CellExecutionError as error:
            message = str(error)
            if "AssertionError" in message and "agents_reached" in message and changed in message:
                print(f"  tampered results: fails as it should (names agents_reached, committed {changed})")
                return
            raise SystemExit(f"{path.name}: failed on tampered results, but not naming the change:\n{message}")
        finally:
            del os.environ["CASCADE_REPRODUCE_DIR"]
        raise SystemExit(f"{path.name}: ran to the end on tampered results; it must fail")


def main(prefixes: list[str]) -> None:
    notebooks = sorted(HERE.glob("[0-9][0-9]-*.ipynb"))
    if prefixes:
        notebooks = [nb for nb in notebooks if any(nb.name.startswith(p) for p in prefixes)]
    if not notebooks:
        raise SystemExit("no notebooks matched")
    for path in notebooks:
        cells = unstripped_cells(path)
        if cells:
            raise SystemExit(f"{path.name}: committed with outputs in cells {cells}; strip them (see notebooks/README.md)")
    EXECUTED.mkdir(parents=True, exist_ok=True)
    total = 0.0
    for path in notebooks:
        start = time.monotonic()
        try:
            executed = execute(path)
        except CellExecutionError as error:
            raise SystemExit(f"{path.name}: a cell failed\n{plain(str(error))}")
        took = time.monotonic() - start
        total += took
        nbformat.write(executed, EXECUTED / path.name)
        print(f"{path.name}: ok in {took:.1f} s")
        if path.name.startswith("01-"):
            check_reproduction_fails_on_tampering(path)
    print(f"notebooks: {len(notebooks)} ran in {total:.1f} s (executed copies in {EXECUTED.relative_to(ROOT)})")


if __name__ == "__main__":
    main(sys.argv[1:])
