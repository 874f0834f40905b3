"""`make bench`: every benchmark in turn (each prints its own report), then one table of every goal —
metric, remedy, baseline, ratio, goal — and a non-zero exit if any goal was missed or a benchmark broke."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
BENCHMARKS = ("ack_latency", "jira_actions", "team_actions", "compliance", "analysis", "bulk", "digest",
              "workflow")


def _value(number: float | None, unit: str) -> str:
    if number is None:
        return "—"
    return f"{number:.2f} {unit}" if unit else f"{number:,.2f}"


def table(rows: list[dict[str, object]]) -> str:
    head = ("benchmark", "metric", "remedy", "baseline", "ratio", "goal", "")
    lines = [head] + [(str(r["bench"]), str(r["metric"]), _value(r["remedy"], str(r["unit"])),  # type: ignore[arg-type]
                       _value(r["baseline"], str(r["unit"])),  # type: ignore[arg-type]
                       f"{r['ratio']:.2f}×" if r["ratio"] is not None else "—", str(r["goal"]),
                       "PASS" if r["ok"] else "FAIL") for r in rows]
    widths = [max(len(line[i]) for line in lines) for i in range(len(head))]
    return "\n".join("  ".join(cell.ljust(w) for cell, w in zip(line, widths, strict=True)).rstrip()
                     for line in lines)


def main() -> int:
    chosen = os.environ.get("BENCH_ONLY", "").split() or list(BENCHMARKS)  # e.g. BENCH_ONLY="bulk digest"
    broken: list[str] = []
    with tempfile.NamedTemporaryFile("r", suffix=".jsonl") as results:
        for name in chosen:
            print(f"== benchmarks/{name}.py", flush=True)
            done = subprocess.run([sys.executable, str(HERE / f"{name}.py")], check=False,
                                  env={**os.environ, "BENCH_RESULTS": results.name})
            if done.returncode != 0:
                broken.append(name)
        rows = [json.loads(line) for line in Path(results.name).read_text(encoding="utf-8").splitlines() if line]
    print("\n" + table(rows))
    missed = [f"{r['bench']}: {r['metric']}" for r in rows if not r["ok"]]
    silent = [b for b in broken if not any(r["bench"] == b and not r["ok"] for r in rows)]
    if missed or silent:
        print("\nMISSED: " + "; ".join(missed + [f"{b} failed to run" for b in silent]))
        return 1
    print(f"\nall {len(rows)} goals of {len(chosen)} benchmarks met")
    return 0


if __name__ == "__main__":
    sys.exit(main())
