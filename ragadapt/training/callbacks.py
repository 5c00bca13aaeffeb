"""Trainer callbacks: metrics to JSONL, and a guard that stops on a NaN/inf loss before it is saved."""

from __future__ import annotations

import json
import math
from pathlib import Path

from transformers import TrainerCallback


class JsonlMetrics(TrainerCallback):
    """Appends every log record (step, loss, lr, rewards, ...) to OUTPUT_DIR/metrics.jsonl."""

    def __init__(self, path: str | Path, stage: str | None = None):
        self.path, self.stage = Path(path), stage

    def on_log(self, args, state, control, logs=None, **kwargs):
        if not state.is_world_process_zero or not logs:
            return
        self.path.parent.mkdir(parents=True, exist_ok=True)
        record = {"step": state.global_step, **({"stage": self.stage} if self.stage else {}), **logs}
        with open(self.path, "a", encoding="utf-8") as f:
            f.write(json.dumps(record, default=float) + "\n")


class NanGuard(TrainerCallback):
    """Stops training at the first non-finite loss and blocks any later checkpoint, so the last
    checkpoint on disk is the last good one."""

    def __init__(self):
        self.bad_step: int | None = None

    def on_log(self, args, state, control, logs=None, **kwargs):
        loss = (logs or {}).get("loss")
        if loss is not None and not math.isfinite(float(loss)) and self.bad_step is None:
            self.bad_step = state.global_step
            control.should_training_stop = True
            control.should_save = False

    def on_step_end(self, args, state, control, **kwargs):
        if self.bad_step is not None:
            control.should_save = False
            control.should_training_stop = True
