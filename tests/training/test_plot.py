"""Training curves: the running mean drawn over noisy per-step rewards, and the PNG itself."""

import json

from ragadapt.training.plot import plot_metrics, running_mean


def test_running_mean_averages_the_last_window():
    assert running_mean([2.0, 4.0, 6.0, 8.0], 2) == [2.0, 3.0, 5.0, 7.0]
    assert running_mean([1.0] * 5, 10) == [1.0] * 5 and running_mean([], 3) == []


def test_long_noisy_reward_curve_is_plotted(tmp_path):
    metrics = tmp_path / "run" / "metrics.jsonl"
    metrics.parent.mkdir()
    metrics.write_text("".join(json.dumps({"step": i, "loss": 1 / (i + 1), "reward": float(i % 3)}) + "\n"
                               for i in range(40)))
    out = plot_metrics(metrics, tmp_path / "curve.png")
    assert out is not None and out.stat().st_size > 1000
