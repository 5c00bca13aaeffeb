"""On-disk inverted lists against lists in memory, side by side in one run: N synthetic 384-d unit vectors in an
IVF index (`ivf` or `ivfpq`), saved both ways; each saved index is then loaded in a fresh process, which reports
its load seconds, resident memory after the load and after Q queries (and how much of it is anonymous: mapped
file pages are page cache the kernel can drop under memory pressure), queries per second and the hits (the two
must agree). The ratio lines are what the README quotes.

    python benchmarks/bench_ondisk.py [--n 1000000] [--kind ivf] [--queries 256]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_index import clustered  # noqa: E402  (the same synthetic vectors as the index benchmark)

PROBE = r"""
import json, resource, sys, time
import numpy as np
import torch  # noqa: F401  (imported by the load otherwise: its memory is not the index's)
from ragadapt.retrievers import IndexSpec, VectorIndex
from ragadapt.retrievers.faiss_support import import_faiss
import_faiss()

directory, spec, queries = sys.argv[1], IndexSpec.from_dict(json.loads(sys.argv[2])), np.load(sys.argv[3])
def rss_mb(field="VmRSS"):  # RssAnon: memory only this process holds; RssFile: mapped file pages, reclaimable
    with open("/proc/self/status") as f:
        return next(int(line.split()[1]) for line in f if line.startswith(field + ":")) / 1024
before, anon_before = rss_mb(), rss_mb("RssAnon")
start = time.perf_counter()
index = VectorIndex.load(directory, queries.shape[1], spec)
load_s = time.perf_counter() - start
after_load = rss_mb()
qps = []
for _ in range(2):  # the first pass reads the lists it needs (page faults on disk); the second finds them resident
    start = time.perf_counter()
    for i in range(len(queries)):
        index.search(queries[i:i + 1], 10)
    qps.append(round(len(queries) / (time.perf_counter() - start)))
_, rows = index.search(queries, 10)
print(json.dumps({"load_s": round(load_s, 2), "rss_load_mb": round(after_load - before), "rss_queries_mb":
                  round(rss_mb() - before), "anon_queries_mb": round(rss_mb("RssAnon") - anon_before), "qps_first": qps[0], "qps_second": qps[1], "rows": rows.tolist()}))
"""


def probe(directory: Path, spec, queries_file: Path) -> dict:
    """Load and query the saved index in a fresh process: resident memory is that process's alone."""
    out = subprocess.run([sys.executable, "-c", PROBE, str(directory), json.dumps(spec.to_dict()), str(queries_file)],
                         capture_output=True, text=True, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--n", type=int, default=1_000_000)
    parser.add_argument("--kind", default="ivf", choices=["ivf", "ivfpq"])
    parser.add_argument("--queries", type=int, default=256)
    args = parser.parse_args()

    from ragadapt.retrievers import IndexSpec, VectorIndex

    d = 384
    x = clustered(args.n, d, 0)
    q = clustered(args.queries, d, 1)
    spec = IndexSpec(kind=args.kind)
    start = time.perf_counter()
    index = VectorIndex(d, spec)
    index.add(x)
    print(f"built {args.kind} over {args.n:,} vectors in {time.perf_counter() - start:.0f} s", flush=True)
    del x
    rows = {}
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        np.save(tmp / "queries.npy", q)
        for name, on_disk in (("in memory", False), ("on disk", True)):
            saved = IndexSpec.from_dict({**spec.to_dict(), "on_disk": on_disk})
            index._b.spec = saved  # the same trained index, written the one way or the other
            (tmp / name).mkdir()
            index.save(tmp / name)
            files = sum(p.stat().st_size for p in (tmp / name).iterdir())
            rows[name] = {**probe(tmp / name, saved, tmp / "queries.npy"), "files_mb": round(files / 2**20)}
            print(name, {k: v for k, v in rows[name].items() if k != "rows"}, flush=True)
    same = rows["in memory"].pop("rows") == rows["on disk"].pop("rows")
    print(f"\n{args.n:,} vectors of {d} dims, {args.kind}, {args.queries} queries one at a time; same hits: {same}")
    print("| lists | files MB | load s | RSS after load MB | RSS after queries MB (of it anonymous) | "
          "QPS batch 1, first pass | second pass |")
    print("|---|---|---|---|---|---|---|")
    for name, r in rows.items():
        print(f"| {name} | {r['files_mb']:,} | {r['load_s']} | {r['rss_load_mb']:,} | {r['rss_queries_mb']:,} "
              f"({r['anon_queries_mb']:,}) | {r['qps_first']:,} | {r['qps_second']:,} |")
    mem, disk = rows["in memory"], rows["on disk"]
    print(f"ratio on disk / in memory: load time {disk['load_s'] / max(mem['load_s'], 1e-3):.2f}, RSS after "
          f"queries {disk['rss_queries_mb'] / max(mem['rss_queries_mb'], 1):.2f}, QPS "
          f"(second pass) {disk['qps_second'] / max(mem['qps_second'], 1):.2f}")


if __name__ == "__main__":
    main()
