"""The likelihood-ratio abstention rule (ragadapt.generation.abstain) on a generator-contextual run, measured on the
wide held-out contexts: its threshold is calibrated on the run's own served dev-select answers (answerable
hand-written questions) for a chosen false-abstention rate, then the rule is applied to the run's saved greedy
answers on the wide set (clean and unanswerable contexts). Usage:

    python docs/scripts/abstention_rule.py GENERATOR "REPLY" DEV_PREDICTIONS WIDE_PREDICTIONS [RATE]
    python docs/scripts/abstention_rule.py runs/contextual/dpo/final "I don't know." \
        runs/contextual/served/after/dev-select/predictions.jsonl runs/eval/WIDE/predictions.jsonl 0.025

DEV_PREDICTIONS: served/after/dev-select/predictions.jsonl of the run (its questions and answers as served);
WIDE_PREDICTIONS: `ragadapt eval --faithfulness --data runs/ctx-wide/heldout.jsonl --generator GENERATOR` output.
"""

import json
import sys
from pathlib import Path

from ragadapt.eval.faithfulness import prompts_for
from ragadapt.eval.metrics import answer_contains, is_abstention
from ragadapt.generation import load_generator
from ragadapt.generation.abstain import calibrate, margins
from ragadapt.prompts import RAGPrompt
from ragadapt.system import RAGSystem
from ragadapt.training.contextual import load_test

WIDE = Path("runs/ctx-wide/heldout.jsonl")


def read_jsonl(path) -> list[dict]:
    return [json.loads(line) for line in Path(path).read_text(encoding="utf-8").splitlines() if line.strip()]


def dev_margins(generator, reply: str, dev_predictions: str) -> list[float]:
    """The rule's margins on the served dev-select answers, over the same passages the system served."""
    system = RAGSystem.load("runs/wiki", generator=False)
    rows = read_jsonl(dev_predictions)
    questions = [r["question"] for r in rows]
    hits = system.select(questions, system.retrieve(questions))
    for row, h in zip(rows, hits):
        if [x.passage.id for x in h] != row["passages_used"]:
            sys.exit(f"{dev_predictions}: {row['id']} was served other passages than runs/wiki retrieves now")
    prompts = [system.prompt().messages(q, h, generator.count_tokens) for q, h in zip(questions, hits)]
    return margins(generator, prompts, [r["prediction"] for r in rows], reply)


def wide_outcomes(generator, name: str, reply: str, threshold: float, wide_predictions: str) -> dict:
    examples = load_test(WIDE)
    rows = [r for r in read_jsonl(wide_predictions) if r["generator"] == name]
    if len(rows) != len(examples):
        sys.exit(f"{wide_predictions}: {len(rows)} rows of {name}, but {WIDE} has {len(examples)} contexts")
    keep = [i for i, e in enumerate(examples) if e.kind in ("clean", "unanswerable")]
    scored = margins(generator, prompts_for([examples[i] for i in keep], RAGPrompt(), generator.count_tokens),
                     [rows[i]["prediction"] for i in keep], reply)
    replies = {}  # (question, kind) -> (greedy answer, answer under the rule, example)
    for i, m in zip(keep, scored):
        e, raw = examples[i], rows[i]["prediction"]
        replies[(e.question, e.kind)] = (raw, reply if m > threshold else raw, e)
    count = {key: [0, 0] for key in ("answerable", "answerable, rule", "false abstention, rule", "abstention",
                                     "abstention, rule", "abstention reading the passage, rule")}

    def add(key, hit):
        count[key][0] += int(bool(hit))
        count[key][1] += 1

    for (question, kind), (raw, new, e) in replies.items():
        if kind == "clean":
            add("answerable", answer_contains(raw, e.answers))
            add("answerable, rule", answer_contains(new, e.answers))
            add("false abstention, rule", is_abstention(new))
        else:
            add("abstention", is_abstention(raw))
            add("abstention, rule", is_abstention(new))
            twin = replies.get((question, "clean"))
            if twin is not None:
                add("abstention reading the passage, rule", is_abstention(new) and not is_abstention(twin[1]))
    return count


def main(name: str, reply: str, dev_predictions: str, wide_predictions: str, rate: float = 0.025) -> None:
    generator = load_generator(name)
    dev = dev_margins(generator, reply, dev_predictions)
    threshold = calibrate(dev, rate)
    print(f"{name}: threshold {threshold:+.3f} (declines {sum(m > threshold for m in dev)} of {len(dev)} served "
          f"dev-select answers; rate {rate})")
    for key, (hits, n) in wide_outcomes(generator, name, reply, threshold, wide_predictions).items():
        print(f"  {key}: {hits} / {n} ({100 * hits / n:.1f}%)")


if __name__ == "__main__":
    if len(sys.argv) < 5:
        sys.exit(__doc__)
    main(*sys.argv[1:5], *(float(x) for x in sys.argv[5:6]))
