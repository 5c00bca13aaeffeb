"""The retrieval server against in-process search, in one process: questions per second and p50/p99 latency of
`RemoteRetriever.search([q], k)` with 1, 8 and 32 concurrent loopback clients (threads, one request per
question), next to in-process `retriever.search([q], k)` one question at a time and in one batch. The server
groups concurrent requests into one index call, so its throughput should rise with the number of clients.

    python benchmarks/bench_server.py [--system runs/wiki] [--questions 256] [--k 5]
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from concurrent.futures import ThreadPoolExecutor

from common import best_of  # noqa: F401  (sets the offline environment)


def percentile(values, q):
    values = sorted(values)
    return values[min(len(values) - 1, int(round(q * (len(values) - 1))))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--system", default="runs/wiki")
    parser.add_argument("--questions", type=int, default=256)
    parser.add_argument("--k", type=int, default=5)
    args = parser.parse_args()

    from ragadapt.retrievers.remote import RemoteRetriever
    from ragadapt.server import serve_in_thread
    from ragadapt.system import RAGSystem
    from ragadapt.training.retrieval.evaluation import dev_examples

    retriever = RAGSystem.load(args.system, generator=False, device="cpu").retriever
    questions = [e.question for e in dev_examples("dev-select") + dev_examples("dev-test")]
    questions = (questions * (args.questions // len(questions) + 1))[: args.questions]
    retriever.search(questions[:8], args.k)  # warm-up

    url = serve_in_thread(retriever).url

    rows = {}
    start = time.perf_counter()
    retriever.search(questions, args.k)
    rows["in-process, one batch"] = {"qps": len(questions) / (time.perf_counter() - start)}
    latencies = []
    start = time.perf_counter()
    for q in questions:
        t = time.perf_counter()
        retriever.search([q], args.k)
        latencies.append(time.perf_counter() - t)
    rows["in-process, one at a time"] = {"qps": len(questions) / (time.perf_counter() - start),
                                         "p50_ms": 1000 * statistics.median(latencies),
                                         "p99_ms": 1000 * percentile(latencies, 0.99)}
    for clients in (1, 8, 32):
        remotes = [RemoteRetriever(url) for _ in range(clients)]
        remotes[0].search(questions[:1], args.k)
        latencies = []

        def one(i: int) -> None:
            t = time.perf_counter()
            remotes[i % clients].search([questions[i]], args.k)
            latencies.append(time.perf_counter() - t)

        before = remotes[0].health()
        start = time.perf_counter()
        with ThreadPoolExecutor(max_workers=clients) as pool:
            list(pool.map(one, range(len(questions))))
        elapsed = time.perf_counter() - start
        after = remotes[0].health()
        batches = after["batches"] - before["batches"]
        rows[f"server, {clients} clients"] = {"qps": len(questions) / elapsed,
                                              "p50_ms": 1000 * statistics.median(latencies),
                                              "p99_ms": 1000 * percentile(latencies, 0.99),
                                              "questions_per_index_call": len(questions) / max(1, batches)}
    server.should_exit = True
    base = rows["in-process, one at a time"]["qps"]
    print(f"{len(questions)} questions, k={args.k}, {len(retriever)} passages ({retriever.kind})")
    print("| path | questions/s | vs in-process one at a time | p50 ms | p99 ms | questions per index call |")
    print("|---|---|---|---|---|---|")
    for name, r in rows.items():
        print(f"| {name} | {r['qps']:.1f} | {r['qps'] / base:.2f}x | {r.get('p50_ms', float('nan')):.1f} | "
              f"{r.get('p99_ms', float('nan')):.1f} | {r.get('questions_per_index_call', float('nan')):.1f} |")
    print(json.dumps(rows))


if __name__ == "__main__":
    main()
