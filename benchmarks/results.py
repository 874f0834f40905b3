"""Each benchmark records its measured goals here; `make bench` (benchmarks/run_all.py) gathers them into
one table. Run on its own, a benchmark still prints its own report; recording is a no-op then."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path


def record(metric: str, remedy: float, baseline: float | None, goal: str, ok: bool, unit: str = "s") -> None:
    """One row: ``remedy`` and ``baseline`` (measured in the same run; None when the goal is absolute)."""
    path = os.environ.get("BENCH_RESULTS")
    if not path:
        return
    row = {"bench": Path(sys.argv[0]).stem, "metric": metric, "remedy": remedy, "baseline": baseline,
           "ratio": remedy / baseline if baseline else None, "goal": goal, "ok": ok, "unit": unit}
    with open(path, "a", encoding="utf-8") as out:
        out.write(json.dumps(row) + "\n")
