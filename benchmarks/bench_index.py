"""Vector indexes at scale, side by side in one process: N synthetic 384-d unit vectors (clusters in a 32-d latent
space, like sentence embeddings), indexed as flat, IVF, HNSW, IVF-PQ and HNSW-PQ presets of
`ragadapt.retrievers.VectorIndex` (PQ kinds with and without re-ranking): build seconds,
index bytes per vector, resident memory the index adds to the process (RSS after the build minus before, the
build's temporaries freed), queries per second one at a time and in batches of 256, recall@10 against flat; then
the extrapolation to a 21M-passage corpus (the DPR Wikipedia split) from bytes per vector and build time per
vector measured here.

    python benchmarks/bench_index.py [--n 1000000] [--queries 256]
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path

import numpy as np


def clustered(n: int, d: int, seed: int, centers: int = 2000, latent: int = 32) -> np.ndarray:
    """Unit vectors shaped like sentence embeddings: clusters in a low-dimensional latent space projected into `d`
    dimensions, plus a little isotropic noise (embeddings of real text have a low intrinsic dimension; uniform
    noise in 384 dimensions would make every neighbour nearly equidistant and any index look poor)."""
    rng = np.random.default_rng(0)  # the same clusters and projection for the base vectors and the queries
    c = rng.standard_normal((centers, latent)).astype(np.float32)
    w = rng.standard_normal((latent, d)).astype(np.float32) / np.sqrt(latent)
    rng = np.random.default_rng(seed + 1)
    out = np.empty((n, d), np.float32)
    for start in range(0, n, 100_000):  # in blocks: bounded temporary memory
        m = min(100_000, n - start)
        z = c[rng.integers(0, centers, m)] + 0.5 * rng.standard_normal((m, latent)).astype(np.float32)
        x = z @ w + 0.05 * rng.standard_normal((m, d)).astype(np.float32)
        out[start:start + m] = x / np.linalg.norm(x, axis=1, keepdims=True)
    return out


def rss_mb() -> float:
    """Current resident memory of this process (Linux /proc), in MB."""
    import os

    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


def release_memory() -> None:
    import ctypes
    import gc

    gc.collect()
    try:
        ctypes.CDLL("libc.so.6").malloc_trim(0)  # glibc keeps freed arenas otherwise
    except OSError:
        pass


def exact_neighbours(x: np.ndarray, q: np.ndarray, k: int) -> np.ndarray:
    """Ids of the k nearest of `x` to each query by exact search (the recall reference when flat is not run)."""
    from ragadapt.retrievers import VectorIndex

    index = VectorIndex(x.shape[1], "flat")
    index.add(x)
    return index.search(q, k)[1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--n", type=int, default=1_000_000)
    parser.add_argument("--queries", type=int, default=256)
    parser.add_argument("--kinds", default="flat,ivf,hnsw,ivfpq,ivfpq+sq8,hnswpq,hnswpq+sq8",
                        help="comma-separated index kinds (flat, ivf, hnsw, ivfpq, hnswpq); KIND+sq8 / KIND+flat "
                             "add the re-ranking stage to a PQ kind")
    args = parser.parse_args()

    from ragadapt.retrievers import IndexSpec, VectorIndex

    d = 384
    x = clustered(args.n, d, 0)
    q = clustered(args.queries, d, 1)
    rows, truth = {}, None
    warm = VectorIndex(d, "flat")  # the libraries' own start-up memory is not counted as the first index's
    warm.add(q)
    warm.search(q[:1], 10)
    del warm
    release_memory()
    for kind in args.kinds.split(","):
        base, _, refine = kind.partition("+")  # ivfpq+sq8: PQ candidates re-ranked with 8-bit vectors
        before = rss_mb()
        index = VectorIndex(d, IndexSpec(kind=base, refine=refine or None))
        start = time.perf_counter()
        index.add(x)
        build = time.perf_counter() - start
        resident = rss_mb() - before
        with tempfile.TemporaryDirectory() as tmp:
            size = (Path(tmp) / index.save(tmp)).stat().st_size
        start = time.perf_counter()
        for i in range(min(64, len(q))):
            index.search(q[i:i + 1], 10)
        qps1 = min(64, len(q)) / (time.perf_counter() - start)
        start = time.perf_counter()
        _, found = index.search(q, 10)
        qps256 = len(q) / (time.perf_counter() - start)
        if truth is None:
            truth = found if kind == "flat" else exact_neighbours(x, q, 10)
        recall = float(np.mean([len(set(a) & set(b)) / 10 for a, b in zip(found.tolist(), truth.tolist())]))
        rows[kind] = {"build_s": round(build, 1), "bytes_per_vector": round(size / args.n, 1),
                      "index_rss_mb": round(resident), "qps_batch1": round(qps1),
                      "qps_batch256": round(qps256), "recall@10": round(recall, 3)}
        print(kind, rows[kind], flush=True)
        del index
        release_memory()  # the next kind's RSS delta starts from what this one gave back
    flat = rows.get("flat")
    print(f"\n{args.n:,} vectors of {d} dims")
    print("| index | build s | bytes/vector | index RSS MB | QPS batch 1 | QPS batch 256 | recall@10 vs flat | "
          "21M: index GB | 21M: build h (linear) |")
    print("|---|---|---|---|---|---|---|---|---|")
    for kind, r in rows.items():
        scale = 21_000_000 / args.n
        print(f"| {kind} | {r['build_s']} | {r['bytes_per_vector']} | {r['index_rss_mb']:,} | {r['qps_batch1']:,} | {r['qps_batch256']:,} | "
              f"{r['recall@10']} | {r['bytes_per_vector'] * 21e6 / 2**30:.1f} | {r['build_s'] * scale / 3600:.2f} |")
    if flat:
        print("\nflat search time grows linearly with N: at 21M, QPS batch 1 ~", round(flat["qps_batch1"] / scale, 2))
    print(json.dumps({"n": args.n, "rows": rows}))


if __name__ == "__main__":
    main()
