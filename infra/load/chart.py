"""The latency histogram PNG of a load report, drawn with matplotlib (imported only when a report is written)."""
from __future__ import annotations

from pathlib import Path

BINS = 60


def latency_histogram(values_ms: list[float], marks_ms: dict[str, float], path: Path, title: str) -> None:
    """Deliveries per latency bin (linear ms), with a dashed line and legend entry per mark (p50, p95, p99)."""
    from matplotlib.figure import Figure

    figure = Figure(figsize=(9, 4.5), dpi=100, layout="constrained")
    axes = figure.subplots()
    axes.hist(values_ms or [0.0], bins=BINS, color="#4a6fc4")
    for (name, value), colour in zip(marks_ms.items(), ("#2a9d4b", "#e08a00", "#c8282d"), strict=False):
        axes.axvline(value, color=colour, linestyle="--", linewidth=1.2, label=f"{name} {value:,.0f} ms")
    axes.set_xlabel("send → delivery latency (ms)")
    axes.set_ylabel("deliveries")
    axes.set_title(title)
    axes.set_xlim(left=0)
    axes.grid(axis="y", alpha=0.3)
    if marks_ms:
        axes.legend()
    figure.savefig(path)
