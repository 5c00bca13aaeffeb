"""Can a small LM learn to point at the passage that answers a question? The gold article is placed among the
retriever's top-k in a shuffled order; the model is trained for one epoch to name it, either by its number
("3") or by its title ("Ski jumping"), and scored on held-out questions by which candidate it ranks highest.
This is why the BGM bridge replies with titles (bridges/bgm.py).

    python scripts/bridge_pointing_probe.py runs/bridge --reply number
    python scripts/bridge_pointing_probe.py runs/bridge --reply title
"""

from __future__ import annotations

import argparse
import json
import random
import time
from pathlib import Path

NUMBER_INSTRUCTION = "Which passages help answer the question? Reply with their numbers, most useful first."


def load_rows(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def main() -> None:
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    from ragadapt.bridges.bgm import INSTRUCTION, bridge_messages, candidate_labels
    from ragadapt.models import resolve_model
    from ragadapt.system import RAGSystem

    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("run", help="a `ragadapt train bridge` output directory (its data/train.jsonl, data/test.jsonl)")
    p.add_argument("--system", default="runs/wiki", help="the system whose retriever gives the candidates")
    p.add_argument("--model", default="smollm2-135m-instruct")
    p.add_argument("--reply", choices=["number", "title"], default="title")
    p.add_argument("-k", type=int, default=5)
    p.add_argument("--train", type=int, default=300, help="training questions (one epoch)")
    p.add_argument("--test", type=int, default=200, help="held-out questions")
    p.add_argument("--train-layers", type=int, default=8, help="top decoder layers trained, the rest frozen")
    p.add_argument("--lr", type=float, default=5e-5)
    p.add_argument("--passage-tokens", type=int, default=40)
    p.add_argument("--seed", type=int, default=0)
    args = p.parse_args()
    torch.manual_seed(args.seed)
    rng = random.Random(args.seed)

    system = RAGSystem.load(args.system, generator=False)
    path = resolve_model(args.model)
    tok = AutoTokenizer.from_pretrained(path)
    model = AutoModelForCausalLM.from_pretrained(path, dtype=torch.float32)

    def count(text: str) -> int:
        return len(tok(text, add_special_tokens=False)["input_ids"])

    def examples(rows: list[dict]) -> list[tuple[list[int], int, list[list[int]]]]:
        """(prompt ids, gold position, reply ids of every candidate) for questions whose gold article was retrieved."""
        out = []
        for row, hits in zip(rows, system.retrieve([r["question"] for r in rows], args.k)):
            hits = list(hits)
            rng.shuffle(hits)
            gold = [i for i, h in enumerate(hits) if h.passage.id.split("#")[0] in row["gold_doc_ids"]]
            if not gold:
                continue
            messages = bridge_messages(row["question"], hits, count, args.k, args.passage_tokens)
            if args.reply == "number":
                messages[0]["content"] = messages[0]["content"].replace(INSTRUCTION, NUMBER_INSTRUCTION)
            text = tok.apply_chat_template(messages, add_generation_prompt=True, tokenize=False)
            labels = candidate_labels([h.passage.title for h in hits]) if args.reply == "title" else \
                [str(i + 1) for i in range(len(hits))]
            replies = [tok(label + tok.eos_token, add_special_tokens=False)["input_ids"] for label in labels]
            out.append((tok(text, add_special_tokens=False)["input_ids"], gold[0], replies))
        return out

    train = examples(load_rows(Path(args.run) / "data" / "train.jsonl")[: args.train])
    test = examples(load_rows(Path(args.run) / "data" / "test.jsonl")[: args.test])

    def reply_logprobs(ids: list[int], replies: list[list[int]]) -> torch.Tensor:
        seqs = [ids + r for r in replies]
        width = max(map(len, seqs))
        x = torch.tensor([s + [0] * (width - len(s)) for s in seqs])
        mask = torch.tensor([[1] * len(s) + [0] * (width - len(s)) for s in seqs])
        logp = torch.log_softmax(model(x, attention_mask=mask).logits.float(), -1)
        return torch.stack([logp[j, len(ids) - 1 + torch.arange(len(r)), torch.tensor(r)].sum()
                            for j, r in enumerate(replies)])

    @torch.no_grad()
    def accuracy() -> float:
        model.eval()
        hits = sum(int(reply_logprobs(ids, replies).argmax()) == gold for ids, gold, replies in test)
        model.train()
        return 100 * hits / max(1, len(test))

    for param in model.parameters():
        param.requires_grad = False
    for module in [*model.model.layers[-args.train_layers:], model.model.norm]:
        for param in module.parameters():
            param.requires_grad = True
    print(f"{len(train)} training / {len(test)} held-out questions with the gold article among the top-{args.k}; "
          f"chance {100 / args.k:.0f}%", flush=True)
    print(f"before training: {accuracy():.1f}% pick the gold article (reply by {args.reply})", flush=True)
    opt = torch.optim.AdamW([q for q in model.parameters() if q.requires_grad], lr=args.lr)
    start, losses = time.time(), []
    rng.shuffle(train)
    for step, (ids, gold, replies) in enumerate(train, 1):
        x = torch.tensor([ids + replies[gold]])
        logits = model(x).logits[0, len(ids) - 1:-1]
        loss = torch.nn.functional.cross_entropy(logits, torch.tensor(replies[gold]))
        (loss / 4).backward()
        losses.append(loss.item())
        if step % 4 == 0 or step == len(train):
            opt.step()
            opt.zero_grad()
        if step % 50 == 0:
            print(f"step {step}: loss {sum(losses[-50:]) / 50:.3f} ({time.time() - start:.0f} s)", flush=True)
    print(f"after one epoch: {accuracy():.1f}% pick the gold article (reply by {args.reply})", flush=True)


if __name__ == "__main__":
    main()
