"""Index build throughput: `RAGSystem.build` end to end (load corpus documents, chunk, embed, index)
vs raw `SentenceTransformer.encode` + `faiss.IndexFlatIP.add` on the very same passages, in one
process, runs interleaved. Target: ragadapt >= 0.9x raw passages/s. `--processes N` adds a build that embeds in
N processes (`embed_devices=["cpu"] * N`, the cores shared out between them) and prints its ratio to the
in-process build and how far its vectors are from the in-process ones.

    python benchmarks/bench_build.py [--docs 1500] [--repeat 2] [--processes 2]
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
    parser.add_argument("--processes", type=int, default=0, help="also build with this many embedding processes")
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

    built = {}

    def ours() -> None:
        built["ragadapt"] = RAGSystem.build(docs, generator=None, device="cpu", show_progress=False)

    def processes() -> None:
        built["processes"] = RAGSystem.build(docs, generator=None, device="cpu", show_progress=False,
                                             embed_devices=["cpu"] * args.processes)

    runs = [("raw", raw), ("ragadapt", ours)] + ([("processes", processes)] if args.processes > 1 else [])
    times = {name: [] for name, _ in runs}
    for _ in range(args.repeat):
        for name, fn in runs:
            start = time.perf_counter()
            fn()
            times[name].append(time.perf_counter() - start)
    raw_s, ours_s = min(times["raw"]), min(times["ragadapt"])
    result = {"documents": len(docs), "passages": len(texts), "raw_passages_per_s": round(len(texts) / raw_s, 1),
              "ragadapt_passages_per_s": round(len(texts) / ours_s, 1), "ratio": round(raw_s / ours_s, 3)}
    print(f"{len(texts)} passages: raw encode+add {len(texts) / raw_s:.1f}/s, ragadapt build "
          f"{len(texts) / ours_s:.1f}/s, ratio {raw_s / ours_s:.2f} (target >= 0.9)")
    if "processes" in times:
        proc_s = min(times["processes"])
        a, b = built["ragadapt"].retriever.index.vectors(), built["processes"].retriever.index.vectors()
        cosine = float(np.min(np.sum(a * b, axis=1)))
        result.update({"processes": args.processes, "processes_passages_per_s": round(len(texts) / proc_s, 1),
                       "processes_ratio": round(ours_s / proc_s, 3), "min_cosine_vs_in_process": round(cosine, 6)})
        print(f"{args.processes} embedding processes: {len(texts) / proc_s:.1f}/s, {ours_s / proc_s:.2f}x the "
              f"in-process build; vectors agree to cosine >= {cosine:.6f}")
    print(json.dumps(result))


if __name__ == "__main__":
    main()
