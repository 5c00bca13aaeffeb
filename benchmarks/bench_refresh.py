"""Index refresh after the document encoder changed (`DenseRetriever.reembed`, what `retriever-replug
encoders=both` runs after every round) vs building a fresh retriever from the same passages, same
process. Also checks that both give the same vectors.

    python benchmarks/bench_refresh.py [--passages 2000]
"""

from __future__ import annotations

import argparse
import json

import numpy as np

from common import best_of, wiki_retriever


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--passages", type=int, default=2000)
    parser.add_argument("--system", default="runs/wiki", help="saved default system (else the corpus is embedded)")
    args = parser.parse_args()

    from ragadapt.retrievers import DenseRetriever

    full = wiki_retriever(args.system)
    passages = full.store.passages[: args.passages]
    retriever = DenseRetriever.build(passages, full.embedder, show_progress=False)
    fresh = {}
    refresh_s = best_of(retriever.reembed, repeat=1)
    build_s = best_of(lambda: fresh.setdefault("r", DenseRetriever.build(passages, full.embedder, show_progress=False)),
                      repeat=1)
    same = np.allclose(retriever.index.vectors(), fresh["r"].index.vectors(), atol=1e-5)
    print(json.dumps({"passages": len(passages), "refresh s": round(refresh_s, 2), "fresh build s": round(build_s, 2),
                      "refresh / build time": round(refresh_s / build_s, 3), "same vectors": bool(same)}, indent=2))


if __name__ == "__main__":
    main()
