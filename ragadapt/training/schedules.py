"""LR schedules as transformers' built-in schedulers (so TRL and accelerate handle them as usual).

  cosine    linear warmup, cosine decay to `min_lr_ratio` x peak (each stage re-warms and re-decays)
  wsd       warmup, constant, then a cooldown over the last `cooldown` fraction down to `min_lr_ratio`:
            the "infinite" schedule; a run can stop after any cooldown without committing to a budget
  constant  warmup, then constant
  linear    warmup, linear decay to 0
"""

from __future__ import annotations

from ragadapt.errors import DataFormatError
from ragadapt.training.config import ScheduleConfig

NAMES = ("cosine", "wsd", "constant", "linear")


def warmup_steps(schedule: ScheduleConfig, total_steps: int) -> int:
    w = schedule.warmup
    return int(round(w * total_steps)) if 0 <= w < 1 else int(w)


def trainer_fields(schedule: ScheduleConfig, total_steps: int) -> dict:
    """TrainingArguments fields (lr_scheduler_type, lr_scheduler_kwargs, warmup_steps) for a schedule."""
    if schedule.name not in NAMES:
        raise DataFormatError(f"unknown schedule {schedule.name!r}; choose one of {NAMES}", field="schedule.name")
    warm = warmup_steps(schedule, total_steps)
    if schedule.name == "cosine":
        return {"lr_scheduler_type": "cosine_with_min_lr", "warmup_steps": warm,
                "lr_scheduler_kwargs": {"min_lr_rate": schedule.min_lr_ratio}}
    if schedule.name == "wsd":
        decay = max(1, int(round(schedule.cooldown * total_steps)))
        return {"lr_scheduler_type": "warmup_stable_decay", "warmup_steps": warm,
                "lr_scheduler_kwargs": {"num_decay_steps": decay, "min_lr_ratio": schedule.min_lr_ratio,
                                        "num_stable_steps": max(0, total_steps - warm - decay)}}
    if schedule.name == "constant":
        return {"lr_scheduler_type": "constant_with_warmup", "warmup_steps": warm}
    return {"lr_scheduler_type": "linear", "warmup_steps": warm}


def lr_curve(schedule: ScheduleConfig, total_steps: int, peak_lr: float = 1.0) -> list[float]:
    """The learning rate at every step, computed by the same transformers scheduler (for tests and plots)."""
    import torch
    from transformers import get_scheduler

    fields = trainer_fields(schedule, total_steps)
    opt = torch.optim.SGD([torch.nn.Parameter(torch.zeros(1))], lr=peak_lr)
    sched = get_scheduler(fields["lr_scheduler_type"], opt, num_warmup_steps=fields["warmup_steps"],
                          num_training_steps=total_steps, scheduler_specific_kwargs=fields.get("lr_scheduler_kwargs"))
    out = []
    for _ in range(total_steps):
        out.append(opt.param_groups[0]["lr"])
        opt.step()
        sched.step()
    return out
