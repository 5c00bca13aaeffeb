"""A loss-curve PNG from metrics.jsonl (matplotlib, headless)."""

from __future__ import annotations

import json
from pathlib import Path


def cumulative_steps(rows: list[dict]) -> tuple[list[int], list[int]]:
    """Steps continued across stages (each stage's trainer counts from 0), and where each later stage starts."""
    steps, boundaries, offset, last, stage = [], [], 0, 0, None
    for i, r in enumerate(rows):
        if i and r.get("stage") != stage:
            offset = last
            boundaries.append(offset)
        stage = r.get("stage")
        last = max(last, offset + int(r.get("step", 0)))
        steps.append(offset + int(r.get("step", 0)))
    return steps, boundaries


def running_mean(values: list[float], window: int) -> list[float]:
    """Mean of the last `window` values at each point (fewer at the start): RL rewards come from a few prompts
    a step, so the raw curve is mostly which prompts were drawn; the running mean shows the trend."""
    out, total = [], 0.0
    for i, v in enumerate(values):
        total += v - (values[i - window] if i >= window else 0.0)
        out.append(total / min(i + 1, window))
    return out


def plot_metrics(metrics: str | Path, out: str | Path, keys: tuple[str, ...] = ("loss", "reward")) -> Path | None:
    """Plot each of `keys` present in the log against the step; returns the PNG path (None if nothing)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    rows = [json.loads(line) for line in Path(metrics).read_text().splitlines() if line.strip()]
    steps, boundaries = cumulative_steps(rows)
    series = {k: [(x, r[k]) for x, r in zip(steps, rows) if isinstance(r.get(k), (int, float))] for k in keys}
    series = {k: v for k, v in series.items() if v}
    if not series:
        return None
    fig, axes = plt.subplots(1, len(series), figsize=(5 * len(series), 3.5), squeeze=False)
    for ax, (key, points) in zip(axes[0], series.items()):
        xs, ys = [s for s, _ in points], [v for _, v in points]
        ax.plot(xs, ys, marker="." if len(points) < 50 else None, alpha=0.5 if len(points) >= 20 else 1.0)
        if len(points) >= 20:
            window = max(5, len(points) // 10)
            ax.plot(xs, running_mean(ys, window), linewidth=2, label=f"running mean of {window}")
            ax.legend(loc="best", fontsize=8)
        for x in boundaries:
            ax.axvline(x, color="grey", linestyle=":", linewidth=1)
        ax.set_xlabel("step" + (" (stages / rounds separated by dotted lines)" if boundaries else ""))
        ax.set_ylabel(key)
        ax.grid(alpha=0.3)
    fig.suptitle(Path(metrics).parent.name)
    fig.tight_layout()
    fig.savefig(out, dpi=100)
    plt.close(fig)
    return Path(out)
