"""ragadapt build: corpus -> chunks -> embeddings -> index (+ BM25) -> saved RAG system."""

from __future__ import annotations

HELP = "build a RAG system from a corpus and save it"


def add_parser(sub) -> None:
    from ragadapt.cli.common import add_device
    from ragadapt.retrievers.vector_index import KINDS

    p = sub.add_parser("build", help=HELP, description=HELP + ".")
    p.add_argument("--corpus", required=True,
                   help="`wiki` (bundled Wikipedia Vital Articles), a .jsonl file of {id,title,text} records, "
                        "a folder of .txt/.md files, a saved `datasets` folder, or hf:NAME")
    p.add_argument("--out", required=True, help="directory to write the system to (written atomically: a kill "
                   "leaves the old system or the new one, never a half)")
    p.add_argument("--overwrite", action="store_true",
                   help="replace the saved system already at --out (a folder that is not a ragadapt system is "
                        "never replaced)")
    p.add_argument("--embedder", default="minilm-l6",
                   help="bundled alias, local sentence-transformers directory, or hub id (default: minilm-l6)")
    p.add_argument("--generator", default="smollm2-135m-instruct",
                   help="bundled alias, local directory or hub id of a causal LM (default: smollm2-135m-instruct)")
    p.add_argument("--index", choices=list(KINDS), default="flat",
                   help="vector index: exact (flat), or approximate: ivf, hnsw, ivfpq (IVF over product-quantised "
                        "codes, 48 bytes a MiniLM vector instead of 1,536: for 10M+ passages), hnswpq (an HNSW "
                        "graph over those codes); an approximate index's recall@10 against exact search is "
                        "measured at build time (default: flat)")
    p.add_argument("--refine", choices=["sq8", "flat"], default=None,
                   help="with --index ivfpq or hnswpq: re-rank the nearest candidates by PQ codes with 8-bit "
                        "(sq8: +1 byte a dimension) or exact (flat: +4 bytes a dimension) copies of the vectors, "
                        "for recall near IVF-Flat's (default: none)")
    p.add_argument("--refine-k", type=int, default=4,
                   help="with --refine: candidates re-ranked per result (refine_k x k; default: 4)")
    p.add_argument("--on-disk", action="store_true",
                   help="with --index ivf or ivfpq: save the inverted lists in their own file (vectors.ivfdata), "
                        "memory-mapped read-only when the system loads, for indexes larger than RAM")
    p.add_argument("--gpu-shard", action="store_true",
                   help="with several GPUs and faiss-gpu: split the vectors between the GPUs (an index larger than "
                        "one GPU's memory) instead of a full copy on each")
    p.add_argument("--bm25", action="store_true", help="also build BM25 and fuse it with dense retrieval (RRF)")
    p.add_argument("--chunk-tokens", type=int, default=200, help="passage length in embedder tokens (default: 200)")
    p.add_argument("--overlap", type=int, default=32, help="tokens shared by consecutive chunks (default: 32)")
    p.add_argument("-k", type=int, default=1, help="passages given to the generator per question (default: 1, the best "
                   "measured for the bundled SmolLM2-135M; larger generators use more)")
    p.add_argument("--limit", type=int, default=None, help="use only the first N documents")
    p.add_argument("--batch-size", type=int, default=None,
                   help="embedding batch size (default: 32, measured fastest on CPU; more pays on a GPU)")
    p.add_argument("--embed-devices", default=None,
                   help="embed in one process per device, comma-separated: cpu,cpu (the cores shared out between "
                        "them) or cuda:0,cuda:1 (sentence-transformers' multi-process pool; default: this process)")
    p.add_argument("--embed-dtype", choices=("auto", "fp32", "bf16"), default="auto",
                   help="dtype the passages are embedded in: auto = bf16 where the CPU/GPU has native bf16 (AVX-512 "
                        "BF16, AMX, Ampere+; ~2x faster on a Zen 4, cosine >= 0.9999 to fp32), else fp32; recorded "
                        "in the manifest (default: auto)")
    p.add_argument("--shard-size", type=int, default=1024,
                   help="passages per embedding shard: each is saved as it finishes, so a killed build run again "
                        "with the same command resumes at the next missing shard (default: 1024)")
    p.add_argument("--strict", action="store_true",
                   help="fail on empty, non-UTF-8 or duplicate-id documents instead of skipping and counting them")
    add_device(p)


def check_out(out, overwrite: bool) -> None:
    """--out must be new or empty, or a saved system that --overwrite allows replacing."""
    import json
    from pathlib import Path

    from ragadapt.errors import DataFormatError

    out = Path(out)
    if out.exists() and not out.is_dir():
        raise DataFormatError(f"--out {out} is a file; choose a directory")
    if not out.is_dir() or not any(out.iterdir()):
        return
    manifest = out / "manifest.json"
    try:
        is_system = json.loads(manifest.read_text(encoding="utf-8")).get("kind") == "rag-system"
    except (OSError, ValueError, AttributeError):
        is_system = False
    if not is_system:
        raise DataFormatError(f"--out {out} holds files that are not a ragadapt system; refusing to replace them "
                              "(choose another --out)")
    if not overwrite:
        raise DataFormatError(f"--out {out} already holds a saved system; pass --overwrite to replace it, or choose "
                              "another --out")
    import sys

    print(f"replacing the system in {out} (--overwrite)", file=sys.stderr)


def run(args) -> int:
    import re
    import shutil
    import time
    from pathlib import Path

    from ragadapt.cli.common import peak_rss_mb
    from ragadapt.models import resolve_model
    from ragadapt.system import RAGConfig, RAGSystem

    from ragadapt.errors import DataFormatError
    from ragadapt.retrievers.vector_index import IVF_KINDS, PQ_KINDS, IndexSpec

    if args.refine and args.index not in PQ_KINDS:
        raise DataFormatError(f"--refine re-ranks product-quantised candidates: use it with --index ivfpq or "
                              f"hnswpq, not --index {args.index}")
    if args.refine_k < 1:
        raise DataFormatError(f"--refine-k must be >= 1, got {args.refine_k}")
    if args.on_disk and args.index not in IVF_KINDS:
        raise DataFormatError(f"--on-disk keeps IVF inverted lists on disk: use it with --index ivf or ivfpq, not "
                              f"--index {args.index}")
    devices = args.embed_devices.split(",") if args.embed_devices else None
    bad = [d for d in devices or [] if not re.fullmatch(r"cpu|cuda(:\d+)?|mps", d.strip())]
    if bad:
        raise DataFormatError(f"--embed-devices: {bad[0]!r} is not a device; give e.g. cpu,cpu or cuda:0,cuda:1")
    index = IndexSpec(kind=args.index, refine=args.refine, refine_k=args.refine_k, on_disk=args.on_disk,
                      gpu_shard=args.gpu_shard)
    resolve_model(args.generator, kind="generator")  # an unknown generator fails now, not at the first question
    check_out(args.out, args.overwrite)  # before the embedding, not after it
    start = time.perf_counter()
    out = Path(args.out)
    shards = out.parent / f".{out.name}.embedding-shards"  # kept until the system is saved: a rerun resumes
    system = RAGSystem.build(
        args.corpus, embedder=args.embedder, generator=None, index=index, bm25=args.bm25,
        chunk_tokens=args.chunk_tokens, overlap=args.overlap, device=args.device, strict=args.strict,
        limit=args.limit, batch_size=args.batch_size, config=RAGConfig(k=args.k), shard_dir=shards,
        shard_size=args.shard_size, embed_devices=[d.strip() for d in devices] if devices else None,
        embed_dtype=args.embed_dtype,
    )
    system.generator_ref = args.generator  # recorded by name; loaded when the system answers
    system.save(out)
    shutil.rmtree(shards, ignore_errors=True)
    print(f"built {len(system.retriever)} passages into {args.out} in {time.perf_counter() - start:.1f} s "
          f"(peak RSS {peak_rss_mb():.0f} MB)")
    return 0
