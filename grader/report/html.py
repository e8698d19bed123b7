"""The per-submission HTML report (placeholder: replaced by the templated report)."""

from __future__ import annotations

import html
from pathlib import Path


def write_submission_report(result: dict, folder: Path) -> Path:
    rows = "".join(
        f"<tr><td>{html.escape(i['id'])}</td><td>{html.escape(i['status'])}</td>"
        f"<td>{i['score']}/{i['max_score']}</td><td>{html.escape(i['message'])}</td></tr>"
        for i in result["items"]
    )
    path = folder / "report.html"
    path.write_text(f"<!doctype html><meta charset=utf-8><table>{rows}</table>", encoding="utf-8")
    return path
