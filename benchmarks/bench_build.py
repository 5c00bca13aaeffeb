"""Index build throughput: `RAGSystem.build` end to end (load corpus documents, chunk, embed, index)
vs raw `SentenceTransformer.encode` + `faiss.IndexFlatIP.add` on the very same passages, in one
process, runs interleaved. Target: ragadapt >= 0.9x raw passages/s.

    python benchmarks/bench_build.py [--docs 1500] [--repeat 2]
"""

from __future__ import annotations

import argparse
import json
import time

from common import best_of  # noqa: F401  (sets the offline environment)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--docs", type=int, default=1500)
    parser.add_argument("--repeat", type=int, default=2)
    args = parser.parse_args()

    import faiss
    import numpy as np
    from sentence_transformers import SentenceTransformer

    from ragadapt.corpora.wiki import load_wiki
    from ragadapt.models import resolve_model
    from ragadapt.system import RAGSystem

    docs = list(load_wiki(limit=args.docs))
    system = RAGSystem.build(docs, generator=None, device="cpu", show_progress=False)  # warm-up + the passages
    texts = [p.contents for p in system.retriever.store.passages]
    path = resolve_model("minilm-l6")

    def raw() -> None:
        model = SentenceTransformer(path, device="cpu")
        vectors = model.encode(texts, batch_size=64, normalize_embeddings=True, convert_to_numpy=True)
        index = faiss.IndexFlatIP(vectors.shape[1])
        index.add(np.ascontiguousarray(vectors, dtype=np.float32))

    def ours() -> None:
        RAGSystem.build(docs, generator=None, device="cpu", show_progress=False)

    times = {"raw": [], "ragadapt": []}
    for _ in range(args.repeat):
        for name, fn in (("raw", raw), ("ragadapt", ours)):
            start = time.perf_counter()
            fn()
            times[name].append(time.perf_counter() - start)
    raw_s, ours_s = min(times["raw"]), min(times["ragadapt"])
    result = {"documents": len(docs), "passages": len(texts), "raw_passages_per_s": round(len(texts) / raw_s, 1),
              "ragadapt_passages_per_s": round(len(texts) / ours_s, 1), "ratio": round(raw_s / ours_s, 3)}
    print(f"{len(texts)} passages: raw encode+add {len(texts) / raw_s:.1f}/s, ragadapt build "
          f"{len(texts) / ours_s:.1f}/s, ratio {raw_s / ours_s:.2f} (target >= 0.9)")
    print(json.dumps(result))


if __name__ == "__main__":
    main()
