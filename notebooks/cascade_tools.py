"""Plumbing shared by the notebooks: find the repository and the `cascade`
binary, run it, and load what it writes.

Nothing here models anything: every number comes from the binary's CSV
files. The notebooks keep their analysis in their own cells so a reader
sees it; this module only saves them from repeating the plumbing.
"""

from __future__ import annotations

import json
import os
import shlex
import subprocess
from pathlib import Path

import pandas as pd


def repo_root() -> Path:
    """The repository root: the nearest directory up from here with Cargo.toml."""
    for directory in [Path.cwd(), *Path.cwd().parents]:
        if (directory / "Cargo.toml").is_file() and (directory / "scenarios").is_dir():
            return directory
    raise RuntimeError(f"no cascade repository above {Path.cwd()}: start Jupyter inside the repository")


ROOT = repo_root()
OUT = ROOT / "out" / "notebooks"


def cascade_binary() -> Path:
    """`$CASCADE_BIN`, else target/release/cascade, built with cargo if missing."""
    explicit = os.environ.get("CASCADE_BIN")
    if explicit:
        binary = Path(explicit)
        if not binary.is_file():
            raise RuntimeError(f"CASCADE_BIN={explicit} is not a file")
        return binary
    binary = ROOT / "target" / "release" / "cascade"
    if not binary.is_file():
        print("building cascade (cargo build --release), once ...", flush=True)
        subprocess.run(["cargo", "build", "--release", "--quiet"], cwd=ROOT, check=True)
    return binary


def cascade(*args: str) -> str:
    """Run `cascade ARGS` in the repository root; its stdout, or an error with its stderr."""
    command = [str(cascade_binary()), *map(str, args)]
    done = subprocess.run(command, cwd=ROOT, capture_output=True, text=True)
    if done.returncode != 0:
        shown = " ".join(shlex.quote(a) for a in ["cascade", *command[1:]])
        raise RuntimeError(f"`{shown}` exited {done.returncode}: {done.stderr.strip()}")
    return done.stdout


def manifest(directory: Path) -> dict:
    """An output directory's manifest.json."""
    return json.loads((Path(directory) / "manifest.json").read_text())


def summary_wide(summary: pd.DataFrame, keys: list[str]) -> pd.DataFrame:
    """summary.csv (one row per point and metric) as one row per point, with
    `METRIC` (the mean), `METRIC_lo` and `METRIC_hi` (its 95% CI) columns."""
    index = ["point", *keys]
    wide = summary.pivot(index=index, columns="metric", values=["mean", "ci95_low", "ci95_high"])
    wide.columns = [m if stat == "mean" else f"{m}_{'lo' if stat == 'ci95_low' else 'hi'}" for stat, m in wide.columns]
    return wide.reset_index()


def pareto_front(frame: pd.DataFrame, cost: str, harm: str) -> pd.Series:
    """True for the rows no other row beats: none has both a lower-or-equal
    cost and a lower-or-equal harm with at least one strictly lower."""
    costs, harms = frame[cost].to_numpy(), frame[harm].to_numpy()
    front = []
    for c, h in zip(costs, harms):
        dominated = ((costs <= c) & (harms <= h) & ((costs < c) | (harms < h))).any()
        front.append(not dominated)
    return pd.Series(front, index=frame.index)


def seconds(duration: str) -> float:
    """A scenario duration ("250ms", "30s", "5m", "2h") in seconds."""
    units = {"us": 1e-6, "ms": 1e-3, "s": 1.0, "m": 60.0, "h": 3600.0, "d": 86400.0}
    text = str(duration).strip()
    for unit in sorted(units, key=len, reverse=True):
        if text.endswith(unit) and text[: -len(unit)].replace(".", "", 1).isdigit():
            return float(text[: -len(unit)]) * units[unit]
    raise ValueError(f"not a duration: {duration!r}")
