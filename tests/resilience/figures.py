"""Measured figures of the resilience tests, for the README's "Reliability and security" table.

    figures = Figures(path=Path("figures.jsonl"))   # or Figures.from_env(os.environ)
    figures.record("takeover_s", 3.42, case="kill -9", backend="sqlite")
    figures.rows     # every figure recorded in this run, in order

Each figure is one JSON line ``{"figure", "value", "unit", ...labels, "test"}``
appended to the file named by ``LONGRUN_FIGURES`` when it is set; the
conftest prints them all at the end of the run under "longrun resilience figures".
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping

ENV = "LONGRUN_FIGURES"


@dataclass
class Figures:
    path: Path | None = None
    rows: list[dict[str, Any]] = field(default_factory=list)
    test: str = ""

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> "Figures":
        target = env.get(ENV, "").strip()
        return cls(Path(target) if target else None)

    def record(self, figure: str, value: Any, unit: str = "", **labels: Any) -> None:
        if isinstance(value, float):
            value = round(value, 3)
        row = {"figure": figure, "value": value, "unit": unit, **labels, "test": self.test}
        self.rows.append(row)
        if self.path is not None:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            with self.path.open("a", encoding="utf-8") as out:
                out.write(json.dumps(row, default=str, sort_keys=False) + "\n")

    def lines(self) -> list[str]:
        """One readable line per figure: ``takeover_s = 3.42 s  [case=kill -9, backend=sqlite]``."""
        out = []
        for row in self.rows:
            labels = {k: v for k, v in row.items() if k not in ("figure", "value", "unit", "test")}
            label_text = ", ".join(f"{k}={v}" for k, v in labels.items())
            unit = f" {row['unit']}" if row["unit"] else ""
            out.append(f"{row['figure']} = {row['value']}{unit}" + (f"  [{label_text}]" if label_text else ""))
        return out
