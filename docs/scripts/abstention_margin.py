"""Does a generator tell an answer-less passage from an answering one at all, even where it does not abstain?

Greedy answers show abstention only once the abstention reply outscores every answer. This measures the signal
underneath: for each held-out question with both an unanswerable context and its clean twin, the log-likelihood of
the abstention reply over each, and how often it is higher over the answer-less passage (a paired ranking accuracy:
0.5 = the passage makes no difference to how likely the model is to decline). Usage:

    python docs/scripts/abstention_margin.py runs/ctx-wide/heldout.jsonl smollm2-135m-instruct runs/contextual/dpo/final
"""

import json
import sys
from pathlib import Path

from ragadapt.eval.faithfulness import prompts_for
from ragadapt.generation import load_generator
from ragadapt.prompts import RAGPrompt
from ragadapt.training.contextual import load_test

REPLIES = ("I don't know.", "The passage does not mention it.")


def twins(examples):
    """(unanswerable, clean) examples of the same question, in file order."""
    by_question = {}
    for e in examples:
        by_question.setdefault(e.question, {})[e.kind] = e
    return [(k["unanswerable"], k["clean"]) for k in by_question.values() if "unanswerable" in k and "clean" in k]


def margins(generator, pairs, reply: str) -> list[float]:
    """log P(reply | answer-less passage) - log P(reply | answering passage), per question."""
    prompt = RAGPrompt()
    unanswerable = prompts_for([u for u, _ in pairs], prompt, generator.count_tokens)
    clean = prompts_for([c for _, c in pairs], prompt, generator.count_tokens)
    lp_u = generator.loglikelihood(unanswerable, [reply] * len(pairs))
    lp_c = generator.loglikelihood(clean, [reply] * len(pairs))
    return (lp_u - lp_c).tolist()


def main(data: str, names: list[str]) -> None:
    pairs = twins(load_test(Path(data)))
    print(f"{len(pairs)} questions with an unanswerable context and its clean twin ({data})")
    print("| generator | reply | higher over the answer-less passage | mean margin (nats) |")
    print("|---|---|---|---|")
    for name in names:
        generator = load_generator(name)
        for reply in REPLIES:
            m = margins(generator, pairs, reply)
            wins = sum(x > 0 for x in m)
            print(f"| {name} | {reply} | {wins} / {len(m)} ({100 * wins / len(m):.1f}%) | "
                  f"{sum(m) / len(m):+.2f} |", flush=True)
            print(json.dumps({"generator": name, "reply": reply, "higher": wins, "n": len(m),
                              "mean_margin": round(sum(m) / len(m), 4)}), file=sys.stderr)


if __name__ == "__main__":
    if len(sys.argv) < 3:
        sys.exit(__doc__)
    main(sys.argv[1], sys.argv[2:])
