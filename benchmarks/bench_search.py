"""Search speed and quality on real MiniLM embeddings of the bundled corpus (~10.5k passages).

1. Flat: ragadapt's VectorIndex.search (+ turning rows into Hits) vs raw faiss IndexFlatIP.search,
   same query vectors, same process. Target: ratio >= 0.9.
2. IVF / HNSW presets vs flat: recall@10 (overlap with the exact top 10) and QPS ratio.
   Target: recall@10 >= 0.95 at >= 5x the flat QPS.
Both are measured with queries one at a time (online serving) and in one batch of all queries.

    python benchmarks/bench_search.py [--system runs/wiki] [--queries 2000]
"""

from __future__ import annotations

import argparse
import json

import numpy as np
from common import best_of, wiki_queries, wiki_retriever


def qps(search, queries: np.ndarray, batch: bool) -> float:
    if batch:
        seconds = best_of(lambda: search(queries), repeat=5)
    else:
        seconds = best_of(lambda: [search(queries[i:i + 1]) for i in range(len(queries))], repeat=3)
    return len(queries) / seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--system", default="runs/wiki", help="saved default system to reuse (default: runs/wiki)")
    parser.add_argument("--queries", type=int, default=2000)
    parser.add_argument("--k", type=int, default=10)
    args = parser.parse_args()

    import faiss

    from ragadapt.retrievers import IndexSpec, VectorIndex
    from ragadapt.retrievers.dense import hits_from_rows

    retriever = wiki_retriever(args.system)
    vectors = retriever.index.vectors()
    queries = retriever.embedder.encode_queries(wiki_queries(args.queries), batch_size=128)
    k, n = args.k, len(vectors)
    print(f"{n} passages, {len(queries)} queries, dim {vectors.shape[1]}, faiss threads {faiss.omp_get_max_threads()}")

    raw = faiss.IndexFlatIP(vectors.shape[1])
    raw.add(vectors)
    ours = VectorIndex(vectors.shape[1], "flat", device="cpu")
    ours.add(vectors)
    store = retriever.store

    def ours_search(q):
        return hits_from_rows(store, *ours.search(q, k))

    results = {"passages": n, "queries": len(queries)}
    for batch in (False, True):
        mode = "batch" if batch else "single"
        raw_qps, ours_qps = qps(lambda q: raw.search(q, k), queries, batch), qps(ours_search, queries, batch)
        results[f"flat_{mode}"] = {"raw_faiss_qps": round(raw_qps), "ragadapt_qps": round(ours_qps),
                                   "ratio": round(ours_qps / raw_qps, 3)}
        print(f"flat [{mode}]: raw faiss {raw_qps:,.0f} q/s, ragadapt {ours_qps:,.0f} q/s, "
              f"ratio {ours_qps / raw_qps:.2f} (target >= 0.9)")

    truth = raw.search(queries, k)[1]
    for spec in (IndexSpec(kind="ivf"), IndexSpec(kind="hnsw")):
        index = VectorIndex(vectors.shape[1], spec, device="cpu")
        index.add(vectors)
        rows = index.search(queries, k)[1]
        recall = float(np.mean([len(set(a) & set(b)) / k for a, b in zip(rows, truth)]))
        entry = {"preset": spec.to_dict(), f"recall@{k}_vs_flat": round(recall, 4)}
        for batch in (False, True):
            mode = "batch" if batch else "single"
            flat_qps = results[f"flat_{mode}"]["raw_faiss_qps"]
            q = qps(lambda x: index.search(x, k), queries, batch)
            entry[f"{mode}_qps"], entry[f"{mode}_speedup_vs_flat"] = round(q), round(q / flat_qps, 2)
            print(f"{spec.kind} [{mode}]: recall@{k} {recall:.3f} of flat, {q:,.0f} q/s = {q / flat_qps:.1f}x flat "
                  f"(target: recall >= 0.95 at >= 5x)")
        results[spec.kind] = entry
    print(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
