"""Answering throughput with the real SmolLM2: batched generation vs one question at a time, same
questions, same retrieved passages, same process (greedy decoding, so the answers are compared too).

    python benchmarks/bench_generate.py [--questions 16] [--batch-size 8] [-k 1]
"""

from __future__ import annotations

import argparse
import json

from common import best_of


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--questions", type=int, default=16)
    parser.add_argument("--batch-size", type=int, default=8)
    parser.add_argument("-k", type=int, default=1, help="passages per question")
    args = parser.parse_args()

    from ragadapt.corpora.wiki import load_wiki
    from ragadapt.corpora.wiki_qa import default_qa_path
    from ragadapt.eval import load_qa_jsonl
    from ragadapt.system import RAGConfig, RAGSystem

    examples = load_qa_jsonl(default_qa_path())[: args.questions]
    gold = {d for e in examples for d in e.gold_doc_ids}
    docs = [d for i, d in enumerate(load_wiki()) if d.id in gold or i < 200]
    system = RAGSystem.build(docs, device="cpu", show_progress=False, config=RAGConfig(k=args.k))
    questions = [e.question for e in examples]
    hits = system.retrieve(questions, args.k)

    outputs = {}

    def run(batch_size: int):
        system.config.batch_size = batch_size
        outputs[batch_size] = [a.text for a in system.answer_from_hits(questions, hits)]

    single = best_of(lambda: run(1), repeat=1)
    batched = best_of(lambda: run(args.batch_size), repeat=1)
    same = sum(a == b for a, b in zip(outputs[1], outputs[args.batch_size]))
    result = {"questions": len(questions), "one_at_a_time_q_per_s": round(len(questions) / single, 3),
              "batched_q_per_s": round(len(questions) / batched, 3), "speedup": round(single / batched, 2),
              "batch_size": args.batch_size, "identical_answers": same}
    print(f"{len(questions)} questions: one at a time {len(questions) / single:.2f} q/s, batched (batch "
          f"{args.batch_size}) {len(questions) / batched:.2f} q/s, speed-up {single / batched:.2f}x; "
          f"{same}/{len(questions)} answers identical")
    print(json.dumps(result))


if __name__ == "__main__":
    main()
