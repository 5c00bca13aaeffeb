"""A wider held-out check of generator-contextual runs: contexts for up to 400 more questions, built by the routine's
own data step from all bundled articles, minus every question whose article any of the given runs trained on.

A run's own report measures 40 held-out questions, where one answer is 2.5 points; this gives ~200 questions, all
five kinds each, free of the runs' training articles. Usage (then evaluate the file with `ragadapt eval`):

    python docs/scripts/contextual_wide_heldout.py runs/contextual runs/contextual-passage-lr3
    ragadapt eval runs/wiki --faithfulness --data runs/ctx-wide/heldout.jsonl \
        --generator smollm2-135m-instruct --generator runs/contextual/dpo/final ...
"""

import json
import logging
import sys
from pathlib import Path

from ragadapt.atomic import atomic_write_text
from ragadapt.training import ContextualConfig
from ragadapt.training.config import load_config
from ragadapt.training.contextual import build_data

CONFIG = "configs/train/generator-contextual_wiki.yaml"
OUT = Path("runs/ctx-wide")
KINDS = ("clean", "unanswerable", "counterfactual")  # what the gates read (noisy and conflicting add little at k=1)


def trained_documents(run: Path) -> set[str]:
    """The article of every question the run trained on (data/triples_train.jsonl)."""
    docs = set()
    for line in (run / "data" / "triples_train.jsonl").read_text(encoding="utf-8").splitlines():
        triple = json.loads(line)
        docs.add(triple["passage"]["id"].split("#")[0])
        docs.update(triple.get("doc_ids") or [])
    return docs


def main(runs: list[str]) -> None:
    if not runs:
        sys.exit("name the generator-contextual runs whose training articles to leave out, e.g. runs/contextual")
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s", datefmt="%H:%M:%S")
    cfg = load_config(ContextualConfig, CONFIG, [f"output_dir={OUT}", "max_documents=10000", "max_train=400",
                                                 "max_test=400", "targets=span", "evaluate=false"])
    _, test_path = build_data(cfg)  # targets=span: no generation, only the contexts
    trained = set().union(*(trained_documents(Path(r)) for r in runs))
    rows = [json.loads(line) for line in test_path.read_text(encoding="utf-8").splitlines()]
    kept = [r for r in rows if r["doc_id"] not in trained and r["kind"] in KINDS]
    atomic_write_text(OUT / "heldout.jsonl", "".join(json.dumps(r) + "\n" for r in kept))
    print(f"{OUT / 'heldout.jsonl'}: {len(kept)} contexts, {len({r['question'] for r in kept})} questions, none "
          f"from the {len(trained)} articles {', '.join(runs)} trained on")


if __name__ == "__main__":
    main(sys.argv[1:])
