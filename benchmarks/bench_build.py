"""Index build throughput: `RAGSystem.build` end to end (load corpus documents, chunk, embed, index)
vs raw `SentenceTransformer.encode` + `faiss.IndexFlatIP.add` on the very same passages, in one
process, runs interleaved. Target: ragadapt (fp32, like raw) >= 0.9x raw passages/s. The default build
(`embed_dtype: auto`: bf16 documents where the CPU has native bf16, batches of 32) against the fp32 build at the same
batch and against the build as it was before (fp32, batches of 64: `--before`), with the lowest cosine between the
default's vectors and fp32 ones and how many hand-written dev questions (dev-select + dev-test) get the same top-1
passage and the gold one. Target: the default corpus (`--docs 0`) in <= 1/2 of the time before. `--processes N`
adds a build that embeds in N processes (`embed_devices=["cpu"] * N`, the cores shared out between them) and
prints its ratio to the in-process build and how far its vectors are from the in-process ones.

    python benchmarks/bench_build.py [--docs 1500 | --docs 0 (all)] [--repeat 2] [--processes 2] [--no-before]
"""

from __future__ import annotations

import argparse
import json
import time

from common import best_of  # noqa: F401  (sets the offline environment)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--docs", type=int, default=1500, help="documents of the bundled corpus (0: all)")
    parser.add_argument("--repeat", type=int, default=2)
    parser.add_argument("--processes", type=int, default=0, help="also build with this many embedding processes")
    parser.add_argument("--batch-size", type=int, default=None, help="embedding batch (default: ragadapt's, 32)")
    parser.add_argument("--no-before", dest="before", action="store_false",
                        help="skip the build as it was before (fp32, batches of 64)")
    args = parser.parse_args()

    import faiss
    import numpy as np
    from sentence_transformers import SentenceTransformer

    from ragadapt.corpora.wiki import load_wiki
    from ragadapt.models import resolve_model
    from ragadapt.retrievers.embedder import EMBED_BATCH_SIZE
    from ragadapt.system import RAGSystem

    docs = list(load_wiki(limit=args.docs or None))
    system = RAGSystem.build(docs[:50], generator=None, device="cpu", show_progress=False)  # warm-up
    from ragadapt.corpora import Chunker, tokenizer_spans

    chunker = Chunker(chunk_tokens=200, overlap=32, spans=tokenizer_spans(system.retriever.embedder.tokenizer),
                      title_tokens=16)  # the passages RAGSystem.build makes
    passages = list(chunker.chunk_all(docs))
    texts = [p.contents for p in passages]
    path = resolve_model("minilm-l6")
    batch = args.batch_size or EMBED_BATCH_SIZE

    def raw() -> None:
        model = SentenceTransformer(path, device="cpu")
        vectors = model.encode(texts, batch_size=batch, normalize_embeddings=True, convert_to_numpy=True)
        index = faiss.IndexFlatIP(vectors.shape[1])
        index.add(np.ascontiguousarray(vectors, dtype=np.float32))

    built = {}

    def ours() -> None:
        built["ragadapt"] = RAGSystem.build(docs, generator=None, device="cpu", show_progress=False,
                                            embed_dtype="fp32", batch_size=batch)

    def before() -> None:  # the path when the target was set: fp32 documents in batches of 64
        RAGSystem.build(docs, generator=None, device="cpu", show_progress=False, embed_dtype="fp32", batch_size=64)

    def default() -> None:
        built["default"] = RAGSystem.build(docs, generator=None, device="cpu", show_progress=False, batch_size=batch)

    def processes() -> None:
        built["processes"] = RAGSystem.build(docs, generator=None, device="cpu", show_progress=False,
                                             embed_devices=["cpu"] * args.processes, batch_size=batch)

    runs = [("raw", raw), ("ragadapt", ours), ("default", default)] + ([("before", before)] if args.before else []) + (
        [("processes", processes)] if args.processes > 1 else [])
    times = {name: [] for name, _ in runs}
    for _ in range(args.repeat):
        for name, fn in runs:
            start = time.perf_counter()
            fn()
            times[name].append(time.perf_counter() - start)
    raw_s, ours_s = min(times["raw"]), min(times["ragadapt"])
    result = {"documents": len(docs), "passages": len(texts), "batch_size": batch,
              "raw_passages_per_s": round(len(texts) / raw_s, 1),
              "ragadapt_passages_per_s": round(len(texts) / ours_s, 1), "ratio": round(raw_s / ours_s, 3)}
    print(f"{len(texts)} passages: raw encode+add {len(texts) / raw_s:.1f}/s, ragadapt build "
          f"{len(texts) / ours_s:.1f}/s, ratio {raw_s / ours_s:.2f} (target >= 0.9)")
    default_s = min(times["default"])
    dtype = built["default"].retriever.embedder.doc_dtype
    a, b = built["ragadapt"].retriever.index.vectors(), built["default"].retriever.index.vectors()
    same_top1, gold = top1_agreement(built["ragadapt"].retriever, built["default"].retriever)
    result.update({"default_doc_dtype": dtype, "default_passages_per_s": round(len(texts) / default_s, 1),
                   "default_time_vs_fp32": round(default_s / ours_s, 3),
                   "min_cosine_vs_fp32": round(float(np.min(np.sum(a * b, axis=1))), 6),
                   "dev_same_top1": same_top1, "dev_gold_top1_fp32_default": gold})
    print(f"default build (documents in {dtype}, batches of {batch}): {len(texts) / default_s:.1f}/s, "
          f"{default_s / ours_s:.2f}x the fp32 build's time at the same batch; cosine to fp32 >= "
          f"{result['min_cosine_vs_fp32']}; dev questions with the same top-1 {same_top1[0]} / {same_top1[1]}, gold "
          f"top-1 fp32 {gold[0]} vs default {gold[1]}")
    if "before" in times:
        before_s = min(times["before"])
        result.update({"before_passages_per_s": round(len(texts) / before_s, 1),
                       "default_time_vs_before": round(default_s / before_s, 3)})
        print(f"before (fp32, batches of 64): {len(texts) / before_s:.1f}/s; the default build takes "
              f"{default_s / before_s:.2f}x its time (target <= 0.5)")
    if "processes" in times:
        proc_s = min(times["processes"])
        a, b = built["ragadapt"].retriever.index.vectors(), built["processes"].retriever.index.vectors()
        cosine = float(np.min(np.sum(a * b, axis=1)))
        result.update({"processes": args.processes, "processes_passages_per_s": round(len(texts) / proc_s, 1),
                       "processes_ratio": round(ours_s / proc_s, 3), "min_cosine_vs_in_process": round(cosine, 6)})
        print(f"{args.processes} embedding processes: {len(texts) / proc_s:.1f}/s, {ours_s / proc_s:.2f}x the "
              f"in-process build; vectors agree to cosine >= {cosine:.6f}")
    print(json.dumps(result))


def top1_agreement(fp32, default) -> tuple[list[int], list[int]]:
    """([same top-1, questions], [gold top-1 with fp32, with default]) on the hand-written dev questions whose gold
    article is in the built corpus."""
    from ragadapt.corpora.wiki_qa import parse_name

    docs = {p.doc_id for p in fp32.store.passages}
    examples = [e for name in ("dev-select", "dev-test") for e in parse_name(name)
                if set(e.gold_doc_ids or ()) & docs]
    questions = [e.question for e in examples]
    top = [[hs[0].passage for hs in r.search(questions, 1)] for r in (fp32, default)]
    same = sum(x.id == y.id for x, y in zip(*top))
    gold = [sum(p.doc_id in (e.gold_doc_ids or ()) for p, e in zip(t, examples)) for t in top]
    return [same, len(examples)], gold


if __name__ == "__main__":
    main()
