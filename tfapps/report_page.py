"""The report page across runs: report.html (self-contained), report.md or summary.csv.

Built only from finished run directories (their run.json, CSV tables and PNG plots), which are
the source of truth; `.incomplete` directories are skipped. Needs pandas, not TensorFlow.
"""

from __future__ import annotations

import base64
import html
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from tfapps import run_dirs, runs
from tfapps.progress import figure
from tfapps.summary import SUMMARY_COLUMNS, rebuild_summary

REPORT_FILES = {"html": "report.html", "markdown": "report.md", "csv": runs.SUMMARY_CSV}
# The summary.csv columns worth comparing within one task and dataset.
COMPARISON_COLUMNS = [
    c for c in SUMMARY_COLUMNS if c not in ("task", "dataset", "split", "seconds", "path")
]
ARCHITECTURE_COLUMNS = ["parameters", "value", "train_seconds", "examples_per_second"]


@dataclass
class RunView:
    """What the report page shows of one finished run."""

    run_dir: Path
    record: runs.RunRecord
    metrics: pd.DataFrame | None
    per_class: pd.DataFrame | None
    plots: list[Path]

    @property
    def title(self) -> str:
        record = self.record
        tuned = f" · tuned ({record.tune['trials']} trials)" if record.tune else ""
        return (
            f"{record.task} · {record.dataset.name} · {record.architecture}{tuned} · "
            f"{record.run_id}"
        )


def collect(output_dir: Path) -> tuple[pd.DataFrame, list[RunView]]:
    """Rebuilds summary.csv and returns it with a view of every finished run."""
    summary = pd.read_csv(rebuild_summary(output_dir))
    views = []
    for run_dir in run_dirs.finished_runs(output_dir):
        views.append(
            RunView(
                run_dir=run_dir,
                record=runs.RunRecord.load(run_dir),
                metrics=_read_optional(run_dir / runs.METRICS_CSV),
                per_class=_read_optional(run_dir / runs.PER_CLASS_CSV),
                plots=sorted((run_dir / runs.PLOTS_DIR).glob("*.png")),
            )
        )
    return summary, views


def write_report(output_dir: Path, fmt: str = "html") -> Path:
    """Writes the report page of every finished run under `output_dir`; returns the file.

    Args:
        output_dir: the directory holding `<task>/<dataset>/<run-id>/` runs.
        fmt: `"html"` (report.html, images embedded), `"markdown"` (report.md, images linked
            relatively) or `"csv"` (summary.csv only). Defaults to `"html"`.
    """
    output_dir = Path(output_dir)
    summary, views = collect(output_dir)
    target = output_dir / REPORT_FILES[fmt]
    if fmt == "csv":
        return target
    render = _render_html if fmt == "html" else _render_markdown
    temp = target.with_name(f".{target.name}.tmp")
    temp.write_text(render(output_dir, summary, views), encoding="utf-8")
    temp.replace(target)
    return target


def architecture_table(summary: pd.DataFrame) -> pd.DataFrame:
    """The latest run of each architecture side by side, per task and dataset trained with
    more than one (conv, dense, ngram)."""
    if summary.empty:
        return pd.DataFrame()
    keys = ["task", "dataset", "architecture"]
    latest = summary.sort_values("run_id").drop_duplicates(keys, keep="last").set_index(keys)
    table = latest[ARCHITECTURE_COLUMNS].unstack("architecture")
    table = table[table["value"].notna().sum(axis=1) >= 2].dropna(axis=1, how="all")
    if table.empty:
        return pd.DataFrame()
    table.columns = [f"{name} ({architecture})" for name, architecture in table.columns]
    return table.reset_index()


def _read_optional(path: Path) -> pd.DataFrame | None:
    return pd.read_csv(path) if path.is_file() else None


def _metric_table(metrics: pd.DataFrame) -> pd.DataFrame:
    table = metrics.pivot(index="metric", columns="split", values="value")
    return table.rename_axis(columns=None).reset_index()


def _groups(summary: pd.DataFrame):
    for (task, dataset), group in summary.groupby(["task", "dataset"], sort=True):
        yield f"{task} · {dataset}", group[COMPARISON_COLUMNS]


def _render_html(output_dir: Path, summary: pd.DataFrame, views: list[RunView]) -> str:
    def table(frame: pd.DataFrame) -> str:
        return frame.to_html(index=False, float_format=figure, border=0, classes="data")

    parts = [
        f"<h1>tfapps report</h1><p>{len(views)} finished runs in "
        f"<code>{html.escape(str(output_dir))}</code>, rebuilt from their run directories."
        "</p>"
    ]
    if summary.empty:
        parts.append("<p>No finished runs yet.</p>")
    parts.append("<h2>Comparison</h2>")
    for title, group in _groups(summary):
        parts.append(f"<h3>{html.escape(title)}</h3>{table(group)}")
    architectures = architecture_table(summary)
    if not architectures.empty:
        parts.append(
            "<h2>Architectures side by side</h2><p>Latest run of each architecture: "
            f"parameters, test metric, training seconds, examples/s.</p>"
            f"{table(architectures)}"
        )
    parts.append("<h2>Runs</h2>")
    for view in views:
        parts.append(
            f'<section class="run"><h3>{html.escape(view.title)}</h3>'
            f"<p><code>{html.escape(str(view.run_dir))}</code></p>"
        )
        if view.metrics is not None:
            parts.append(table(_metric_table(view.metrics)))
        if view.per_class is not None:
            parts.append(
                f"<details><summary>per class (test)</summary>{table(view.per_class)}</details>"
            )
        for plot in view.plots:
            data = base64.b64encode(plot.read_bytes()).decode("ascii")
            parts.append(
                f'<figure><img alt="{html.escape(plot.stem)}" '
                f'src="data:image/png;base64,{data}"><figcaption>'
                f"{html.escape(plot.stem.replace('_', ' '))}</figcaption></figure>"
            )
        parts.append("</section>")
    return HTML_PAGE.format(body="\n".join(parts))


def _render_markdown(output_dir: Path, summary: pd.DataFrame, views: list[RunView]) -> str:
    lines = [
        "# tfapps report",
        "",
        f"{len(views)} finished runs in `{output_dir}`.",
        "",
        "## Comparison",
        "",
    ]
    for title, group in _groups(summary):
        lines += [f"### {title}", "", _markdown_table(group), ""]
    architectures = architecture_table(summary)
    if not architectures.empty:
        lines += ["## Architectures side by side", "", _markdown_table(architectures), ""]
    lines += ["## Runs", ""]
    for view in views:
        lines += [f"### {view.title}", ""]
        if view.metrics is not None:
            lines += [_markdown_table(_metric_table(view.metrics)), ""]
        for plot in view.plots:
            lines += [f"![{plot.stem}]({plot.relative_to(output_dir).as_posix()})", ""]
    return "\n".join(lines)


def _markdown_table(frame: pd.DataFrame) -> str:
    def cell(value) -> str:
        text = figure(value) if isinstance(value, float) else str(value)
        return text.replace("|", "\\|")

    rows = [list(frame.columns)] + frame.values.tolist()
    lines = ["| " + " | ".join(cell(v) for v in row) + " |" for row in rows]
    lines.insert(1, "|" + "---|" * len(frame.columns))
    return "\n".join(lines)


HTML_PAGE = """<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>tfapps report</title>
<style>
body {{ font-family: system-ui, sans-serif; margin: 2rem auto; max-width: 72rem; color: #222; }}
table.data {{ border-collapse: collapse; margin: 0.5rem 0 1rem; font-size: 0.9rem; }}
table.data th, table.data td {{ padding: 0.25rem 0.6rem; border-bottom: 1px solid #ddd;
  text-align: right; }}
table.data th {{ background: #f3f3f3; }}
section.run {{ border-top: 2px solid #ccc; margin-top: 1.5rem; }}
figure {{ display: inline-block; margin: 0.5rem; }}
img {{ max-width: 100%; }}
</style></head>
<body>
{body}
</body></html>
"""
