"""How much can any passage choice gain over the retriever's top-1? Answer-contains of the frozen generator given
no passage, each single candidate rank, and the per-question oracle over them, on a bridge run's held-out
questions. A bridge can only beat top-1 inside this headroom.

    python scripts/bridge_headroom.py runs/bridge --system runs/wiki -k 5 -n 200
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path


def main() -> None:
    from ragadapt.eval.data import load_qa_jsonl
    from ragadapt.eval.metrics import answer_contains
    from ragadapt.prompts import RAGPrompt
    from ragadapt.system import RAGSystem
    from ragadapt.training.retrieval.replug import load_scorer

    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("run", help="a `ragadapt train bridge` output directory (its data/test.jsonl)")
    p.add_argument("--system", default="runs/wiki", help="the system whose retriever gives the candidates")
    p.add_argument("--generator", default="smollm2-135m-instruct", help="the frozen generator")
    p.add_argument("-k", type=int, default=5, help="candidates per question")
    p.add_argument("-n", type=int, default=200, help="held-out questions")
    p.add_argument("--max-prompt-tokens", type=int, default=1024)
    args = p.parse_args()

    test = load_qa_jsonl(str(Path(args.run) / "data" / "test.jsonl"))[: args.n]
    system = RAGSystem.load(args.system, generator=False)
    generator = load_scorer(args.generator)
    prompt = RAGPrompt(max_prompt_tokens=args.max_prompt_tokens)
    hits = system.retrieve([e.question for e in test], args.k)
    correct: dict[str, list[bool]] = {}
    for rank in [None, *range(args.k)]:
        chosen = [[] if rank is None else list(h[rank:rank + 1]) for h in hits]
        messages = [prompt.messages(e.question, c, generator.count_tokens) for e, c in zip(test, chosen)]
        answers = generator.generate(messages, max_new_tokens=24, batch_size=8)
        name = "no passage" if rank is None else f"rank {rank + 1} alone"
        correct[name] = [answer_contains(a, e.answers) for a, e in zip(answers, test)]
        print(f"{name}: {100 * sum(correct[name]) / len(test):.1f}", flush=True)
    oracle = [any(c[i] for c in correct.values()) for i in range(len(test))]
    report = {name: sum(c) / len(test) for name, c in correct.items()}
    report["oracle (best choice per question)"] = sum(oracle) / len(test)
    print(f"oracle (best choice per question): {100 * report['oracle (best choice per question)']:.1f}")
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
