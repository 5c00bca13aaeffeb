"""Step time of ragadapt's SFT / DPO / GRPO wrappers vs the bare TRL trainers on the same model, data
and settings, runs interleaved in one process. Step time = the trainer's own train_runtime / steps
(data preparation and model loading excluded for both). Target: overhead <= 5%.

    python benchmarks/bench_overhead.py [--steps 40] [--repeat 5]
"""

from __future__ import annotations

import argparse
import json
import tempfile
from pathlib import Path

import common  # noqa: F401  (offline environment)
from training_setup import bench_model_dir

COLORS = {"sky": "blue", "grass": "green", "snow": "white", "coal": "black", "blood": "red", "sun": "yellow"}


def write(rows: list[dict]) -> str:
    path = Path(tempfile.mkdtemp()) / "data.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return str(path)


def ours_step_time(result) -> float:
    rows = [json.loads(line) for line in (result.output_dir / "metrics.jsonl").read_text().splitlines()]
    runtime = next(r["train_runtime"] for r in reversed(rows) if "train_runtime" in r)
    return runtime / result.global_step


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--steps", type=int, default=40)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()

    from transformers import AutoModelForCausalLM, AutoTokenizer
    from trl import DPOConfig, DPOTrainer, GRPOConfig, GRPOTrainer, SFTConfig, SFTTrainer

    import datasets
    from ragadapt.training import DPOTrainConfig, LMConfig, RLConfig
    from ragadapt.training.config import from_dict
    from ragadapt.training.dpo import train_dpo
    from ragadapt.training.lm import train_lm
    from ragadapt.training.rewards import REWARDS
    from ragadapt.training.rl import train_rl
    from ragadapt.training.tokenize import tokenize_dataset

    model_dir = bench_model_dir(hidden=128, layers=2, tokenizer="small")
    tok = AutoTokenizer.from_pretrained(model_dir)
    chats = [{"messages": [{"role": "user", "content": f"What color is the {k}? " * (1 + i % 4)},
                           {"role": "assistant", "content": f"The {k} is {v}."}]}
             for i, (k, v) in enumerate(list(COLORS.items()) * 40)]
    pairs = [{"prompt": [{"role": "user", "content": f"What color is the {k}?"}],
              "chosen": [{"role": "assistant", "content": v}], "rejected": [{"role": "assistant", "content": "grey"}]}
             for k, v in list(COLORS.items()) * 40]
    prompts = [{"prompt": [{"role": "user", "content": f"What color is the {k}?"}], "answer": v}
               for k, v in list(COLORS.items()) * 40]
    common_args = {"max_steps": args.steps, "learning_rate": 1e-4, "per_device_train_batch_size": 8,
                   "logging_steps": 5, "save_strategy": "no", "disable_tqdm": True, "report_to": "none",
                   "use_cpu": True, "bf16": False, "seed": 0}
    rl_args = {"num_generations": 4, "max_completion_length": 16, "beta": 0.0}

    def bare_sft():
        rows = tokenize_dataset(datasets.Dataset.from_list(chats), tok, 256)
        t = SFTTrainer(model=AutoModelForCausalLM.from_pretrained(model_dir), processing_class=tok,
                       args=SFTConfig(output_dir=tempfile.mkdtemp(), max_length=256, packing=True,
                                      packing_strategy="bfd", padding_free=True, **common_args), train_dataset=rows)
        return t.train().metrics["train_runtime"] / args.steps

    def ours_sft():
        cfg = from_dict(LMConfig, {"model": model_dir, "output_dir": tempfile.mkdtemp(), "data": [{"path": write(chats)}],
                                   "max_length": 256, "resume": "never", "trainer": dict(common_args)})
        return ours_step_time(train_lm(cfg))

    def bare_dpo():
        t = DPOTrainer(model=AutoModelForCausalLM.from_pretrained(model_dir),
                       ref_model=AutoModelForCausalLM.from_pretrained(model_dir).eval(), processing_class=tok,
                       args=DPOConfig(output_dir=tempfile.mkdtemp(), max_length=256, **common_args),
                       train_dataset=datasets.Dataset.from_list(pairs))
        return t.train().metrics["train_runtime"] / args.steps

    def ours_dpo():
        cfg = from_dict(DPOTrainConfig, {"model": model_dir, "output_dir": tempfile.mkdtemp(), "resume": "never",
                                         "data": [{"path": write(pairs)}], "max_length": 256,
                                         "trainer": dict(common_args)})
        return ours_step_time(train_dpo(cfg))

    def bare_grpo():
        t = GRPOTrainer(model=AutoModelForCausalLM.from_pretrained(model_dir), reward_funcs=[REWARDS["f1"]],
                        processing_class=tok, train_dataset=datasets.Dataset.from_list(prompts),
                        args=GRPOConfig(output_dir=tempfile.mkdtemp(), **common_args, **rl_args))
        return t.train().metrics["train_runtime"] / args.steps

    def ours_grpo():
        cfg = from_dict(RLConfig, {"model": model_dir, "output_dir": tempfile.mkdtemp(), "resume": "never",
                                   "data": [{"path": write(prompts)}], "rewards": ["f1"],
                                   "trainer": {**common_args, **rl_args}})
        return ours_step_time(train_rl(cfg, "grpo"))

    results = {}
    for name, bare, ours in (("sft", bare_sft, ours_sft), ("dpo", bare_dpo, ours_dpo), ("grpo", bare_grpo, ours_grpo)):
        times = {"bare": [], "ours": []}
        for _ in range(args.repeat):
            times["bare"].append(bare())
            times["ours"].append(ours())
        b, o = min(times["bare"]), min(times["ours"])
        results[name] = {"bare_trl_s_per_step": round(b, 4), "ragadapt_s_per_step": round(o, 4),
                         "overhead": round(o / b - 1, 4)}
        print(f"{name}: bare TRL {b * 1000:.1f} ms/step, ragadapt {o * 1000:.1f} ms/step, "
              f"overhead {100 * (o / b - 1):+.1f}% (target <= +5%)", flush=True)
    print(json.dumps(results))


if __name__ == "__main__":
    main()
