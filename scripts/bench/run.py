"""Run every `bench_*.py` beside this file and write their JSON lines to one report."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent


def main(argv: list[str]) -> int:
    selected = [a for a in argv if not a.startswith("-")]
    scripts = sorted(p for p in HERE.glob("bench_*.py") if not selected or any(s in p.stem for s in selected))
    reports = HERE / "reports"
    reports.mkdir(exist_ok=True)
    out = reports / time.strftime("bench-%Y%m%dT%H%M%S.jsonl")
    failed = []
    with out.open("w") as report:
        for script in scripts:
            print(f"== {script.stem}", file=sys.stderr, flush=True)
            proc = subprocess.run([sys.executable, str(script)], capture_output=True, text=True)
            for line in proc.stdout.splitlines():
                try:
                    record = json.loads(line)
                except json.JSONDecodeError:
                    print(line, file=sys.stderr)
                    continue
                print(line, flush=True)
                report.write(json.dumps(record) + "\n")
            if proc.returncode != 0:
                failed.append(script.stem)
                print(proc.stderr, file=sys.stderr)
    print(f"report: {out}", file=sys.stderr)
    if failed:
        print(f"failed: {', '.join(failed)}", file=sys.stderr)
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
