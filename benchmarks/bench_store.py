"""The memory-mapped passage store against the in-memory one, in one process: seconds to open a saved store of N
synthetic passages, anonymous resident memory after opening and after 10,000 random lookups by id, and lookups per second.

    python benchmarks/bench_store.py [--passages 1000000]
"""

from __future__ import annotations

import argparse
import gc
import json
import random
import tempfile
import time
from pathlib import Path


def rss_mb() -> float:
    """Anonymous resident memory (what the process itself holds; pages of a mapped file are the kernel's page
    cache, shared and reclaimable, and are left out)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("RssAnon:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--passages", type=int, default=1_000_000)
    parser.add_argument("--lookups", type=int, default=10_000)
    args = parser.parse_args()

    from ragadapt.retrievers.store import MappedPassageStore, PassageStore, save_passages
    from ragadapt.types import Passage

    words = "the of and to in a is that for it as was with be by on not he this are or his from at which".split()
    rng = random.Random(0)
    with tempfile.TemporaryDirectory() as tmp:
        directory = Path(tmp)
        start = time.perf_counter()
        save_passages(directory, (Passage(id=f"doc{i // 4}#{i % 4}", title=f"Document {i // 4}", doc_id=f"doc{i // 4}",
                                          text=" ".join(rng.choices(words, k=120))) for i in range(args.passages)))
        print(f"wrote {args.passages:,} passages ({(directory / 'passages.jsonl').stat().st_size / 2**20:.0f} MiB) "
              f"in {time.perf_counter() - start:.1f} s")
        ids = [f"doc{(i := rng.randrange(args.passages)) // 4}#{i % 4}" for _ in range(args.lookups)]
        rows = {}
        for name, opener in (("memory-mapped", MappedPassageStore), ("in memory (JSONL parsed)", None)):
            gc.collect()
            before = rss_mb()
            start = time.perf_counter()
            if opener is None:
                (directory / "passages.offsets.npy").rename(directory / "offsets.bak")  # force the old path
                store = PassageStore.load(directory)
                (directory / "offsets.bak").rename(directory / "passages.offsets.npy")
            else:
                store = opener(directory)
            opened = time.perf_counter() - start
            after_open = rss_mb() - before
            start = time.perf_counter()
            for passage_id in ids:
                store.get(passage_id)
            lookups = args.lookups / (time.perf_counter() - start)
            rows[name] = {"open_s": round(opened, 3), "rss_after_open_mb": round(after_open, 1),
                          "rss_after_lookups_mb": round(rss_mb() - before, 1), "lookups_per_s": round(lookups)}
            del store
        print("| store | open s | RSS after open MB | RSS after lookups MB | lookups/s |")
        print("|---|---|---|---|---|")
        for name, r in rows.items():
            print(f"| {name} | {r['open_s']} | {r['rss_after_open_mb']} | {r['rss_after_lookups_mb']} | "
                  f"{r['lookups_per_s']:,} |")
        print(json.dumps(rows))


if __name__ == "__main__":
    main()
