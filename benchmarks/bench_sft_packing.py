"""SFT with packing vs the padded baseline, on RAG-style examples of varied length, side by side.

Same model (a 4-layer Llama from a config, SmolLM2 tokenizer), same examples (half short
instructions, half RAG prompts with 1-6 passages), same loss masking;
only the batching differs: ragadapt's default (best-fit packing, padding-free, attention kept within
each example) vs TRL's padded batches. Targets: non-padding fraction >= 0.95, tokens/s >= 2x padded.

    python benchmarks/bench_sft_packing.py [--examples 240]
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time

import common  # noqa: F401  (offline environment)
from training_setup import CountingCollator, bench_model_dir, rag_sft_examples


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--examples", type=int, default=160)
    parser.add_argument("--max-length", type=int, default=1024)
    args = parser.parse_args()

    from transformers import AutoModelForCausalLM, AutoTokenizer
    from trl import SFTConfig, SFTTrainer

    import datasets
    from ragadapt.training.tokenize import tokenize_dataset

    model_dir = bench_model_dir()
    tokenizer = AutoTokenizer.from_pretrained(model_dir)
    rows = tokenize_dataset(datasets.Dataset.from_list(rag_sft_examples(args.examples)), tokenizer, args.max_length)
    lengths = [len(r) for r in rows["input_ids"]]
    print(f"{len(lengths)} examples, {min(lengths)}-{max(lengths)} tokens (mean {sum(lengths) / len(lengths):.0f})")

    def train(packing: bool) -> dict:
        model = AutoModelForCausalLM.from_pretrained(model_dir)
        batch = 2 if packing else 8  # ~ the same number of real tokens per step
        cfg = SFTConfig(output_dir=tempfile.mkdtemp(), max_length=args.max_length, packing=packing,
                        packing_strategy="bfd", padding_free=packing, per_device_train_batch_size=batch,
                        num_train_epochs=1, learning_rate=1e-4, report_to="none", use_cpu=True, bf16=False,
                        save_strategy="no", logging_steps=1000, disable_tqdm=True, seed=0)
        trainer = SFTTrainer(model=model, args=cfg, train_dataset=rows, processing_class=tokenizer)
        counter = CountingCollator(trainer.data_collator)
        trainer.data_collator = counter
        start = time.perf_counter()
        trainer.train()
        seconds = time.perf_counter() - start
        return {"seconds": round(seconds, 2), "steps": trainer.state.global_step,
                "non_padding_fraction": round(counter.real / counter.total, 4),
                "tokens_per_s": round(counter.real / seconds, 1)}

    padded = train(packing=False)
    packed = train(packing=True)
    ratio = packed["tokens_per_s"] / padded["tokens_per_s"]
    print(f"padded: {padded}\npacked: {packed}")
    print(f"non-padding fraction {packed['non_padding_fraction']:.3f} (target >= 0.95); tokens/s "
          f"{ratio:.2f}x padded (target >= 2x)")
    print(json.dumps({"padded": padded, "packed": packed, "tokens_per_s_ratio": round(ratio, 2)}))


if __name__ == "__main__":
    main()
