"""LM scoring throughput (the teacher signal of LSR, RA-DIT's R-ft and the reranker): passages scored per
second by `Generator.loglikelihood` batched, vs one pair at a time, vs the usual hand-written version
(right padding, full-vocabulary log-softmax over every position), in fp32 and in the scoring dtype the
routines pick (bf16 where the CPU/GPU has native bf16). Same pairs, same process; scores are compared.

    python benchmarks/bench_lm_scoring.py [--questions 8] [-k 8] [--batch-size 8]
"""

from __future__ import annotations

import argparse
import json

import torch

from common import best_of, wiki_retriever


def naive_loglikelihood(generator, prompts, targets, batch_size: int):
    """The baseline: right-padded batches, logits for every position, log-softmax over the full vocab."""
    tok = generator.tokenizer
    out = []
    for start in range(0, len(prompts), batch_size):
        pairs = [(tok(generator.render(p), add_special_tokens=False)["input_ids"],
                  tok(t, add_special_tokens=False)["input_ids"]) for p, t in
                 zip(prompts[start:start + batch_size], targets[start:start + batch_size])]
        width = max(len(c) + len(t) for c, t in pairs)
        ids = torch.full((len(pairs), width), tok.pad_token_id)
        mask = torch.zeros_like(ids)
        for row, (c, t) in enumerate(pairs):
            ids[row, :len(c) + len(t)] = torch.tensor(c + t)
            mask[row, :len(c) + len(t)] = 1
        with torch.no_grad():
            logprobs = torch.log_softmax(generator.model(input_ids=ids, attention_mask=mask).logits.float(), -1)
        for row, (c, t) in enumerate(pairs):
            pos = torch.arange(len(c) - 1, len(c) + len(t) - 1)
            out.append(float(logprobs[row, pos, torch.tensor(t)].sum()))
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--questions", type=int, default=8)
    parser.add_argument("-k", type=int, default=8, help="candidates per question")
    parser.add_argument("--batch-size", type=int, default=8)
    parser.add_argument("--system", default="runs/wiki", help="saved default system (else the corpus is embedded)")
    args = parser.parse_args()

    from ragadapt.corpora.qa_recipes import entity_qa
    from ragadapt.device import scoring_dtype
    from ragadapt.generation import TransformersGenerator
    from ragadapt.prompts import RAGPrompt

    retriever = wiki_retriever(args.system)
    triples = entity_qa(retriever.store.passages)[: args.questions]
    hits = retriever.search([t.question for t in triples], args.k)
    prompt = RAGPrompt(max_prompt_tokens=384)
    results = {"pairs": len(triples) * args.k}
    reference = None
    for dtype in dict.fromkeys([torch.float32, scoring_dtype("cpu")]):
        gen = TransformersGenerator.from_pretrained("smollm2-135m-instruct", device="cpu", dtype=dtype)
        prompts = [prompt.messages(t.question, [h], gen.count_tokens) for t, hs in zip(triples, hits) for h in hs]
        targets = [t.answer for t, hs in zip(triples, hits) for _ in hs]
        name = str(dtype).replace("torch.", "")
        scores = {}
        runs = {"batched": lambda: gen.loglikelihood(prompts, targets, batch_size=args.batch_size).tolist(),
                "one at a time": lambda: gen.loglikelihood(prompts, targets, batch_size=1).tolist(),
                "naive batched": lambda: naive_loglikelihood(gen, prompts, targets, args.batch_size)}
        for label, fn in runs.items():
            seconds = best_of(lambda: scores.__setitem__(label, fn()), repeat=1)
            results[f"{name} {label} pairs/s"] = round(len(prompts) / seconds, 2)
        reference = reference or scores["naive batched"]
        results[f"{name} max |score - fp32 naive|"] = round(max(abs(a - b) for a, b in zip(scores["batched"], reference)), 3)
    best = max(v for k, v in results.items() if k.endswith("batched pairs/s") and "naive" not in k)
    results["batched (best dtype) / fp32 one at a time"] = round(best / results["float32 one at a time pairs/s"], 2)
    results["batched (best dtype) / fp32 naive batched"] = round(best / results["float32 naive batched pairs/s"], 2)
    print(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
