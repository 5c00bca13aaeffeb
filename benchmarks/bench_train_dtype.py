"""Training step time in fp32 vs bf16 mixed precision (autocast over fp32 master weights), side by side in one
process: the bundled SmolLM2-135M with the shipped configs' freeze (top 12 of 30 layers trained), AdamW, batches
of `--batch` x `--tokens` tokens. ragadapt trains in bf16 autocast wherever bf16 is native (`device.native_bf16`:
GPUs with bf16, CPUs with AMX / AVX512-BF16); this prints what that buys on this machine and the loss gap.

    python benchmarks/bench_train_dtype.py [--batch 2] [--tokens 512] [--steps 3] [--repeat 2]
"""

from __future__ import annotations

import argparse
import json
import time

import common  # noqa: F401  (sets the offline environment)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--batch", type=int, default=2)
    parser.add_argument("--tokens", type=int, default=512)
    parser.add_argument("--steps", type=int, default=3, help="timed steps per measurement (after one warm-up)")
    parser.add_argument("--repeat", type=int, default=2, help="fp32 / bf16 measurements, interleaved")
    args = parser.parse_args()

    import torch
    from transformers import AutoModelForCausalLM

    from ragadapt.device import native_bf16
    from ragadapt.models import resolve_model
    from ragadapt.training.freezing import freeze_parameters

    model = AutoModelForCausalLM.from_pretrained(resolve_model("smollm2-135m-instruct", kind="generator"),
                                                 dtype=torch.float32)
    freeze_parameters(model, ["model.embed_tokens.*", "model.layers.[0-9].*", "model.layers.1[0-7].*"])
    optimizer = torch.optim.AdamW([p for p in model.parameters() if p.requires_grad], lr=1e-6)
    ids = torch.randint(0, model.config.vocab_size, (args.batch, args.tokens), generator=torch.Generator().manual_seed(0))

    def step(bf16: bool) -> float:
        with torch.autocast("cpu", dtype=torch.bfloat16, enabled=bf16):
            loss = model(input_ids=ids, labels=ids, use_cache=False).loss
        loss.backward()
        optimizer.step()
        optimizer.zero_grad()
        return float(loss.detach())

    times: dict[str, list[float]] = {"fp32": [], "bf16": []}
    losses: dict[str, float] = {}
    for _ in range(args.repeat):
        for name in times:
            step(name == "bf16")  # warm-up
            start = time.perf_counter()
            losses[name] = [step(name == "bf16") for _ in range(args.steps)][-1]
            times[name].append((time.perf_counter() - start) / args.steps)
    fp32, bf16 = min(times["fp32"]), min(times["bf16"])
    result = {"native_bf16": native_bf16("cpu"), "batch": args.batch, "tokens": args.tokens,
              "fp32_s_per_step": round(fp32, 3), "bf16_s_per_step": round(bf16, 3), "speedup": round(fp32 / bf16, 2),
              "loss_fp32": round(losses["fp32"], 4), "loss_bf16": round(losses["bf16"], 4)}
    print(f"{args.batch} x {args.tokens} tokens: fp32 {fp32:.2f} s/step, bf16 autocast {bf16:.2f} s/step: "
          f"{fp32 / bf16:.2f}x (native bf16 here: {result['native_bf16']})")
    print(json.dumps(result))


if __name__ == "__main__":
    main()
