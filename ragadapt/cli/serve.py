"""ragadapt serve: a saved system's retriever over HTTP, for many processes at once (see ragadapt.server)."""

from __future__ import annotations

HELP = "serve a saved system's retriever over HTTP (search and passage lookup, batched)"


def add_parser(sub) -> None:
    from ragadapt.cli.common import add_device

    p = sub.add_parser("serve", help=HELP, description=HELP + ". Endpoints: GET /health, POST /search "
                       '{"queries": [...], "k": 5}, POST /passages {"ids": [...]}; JSON answers, 4xx with the reason '
                       "for a bad request. Clients: `--retriever http://HOST:PORT` on ask/eval/agent, or "
                       "ragadapt.retrievers.remote.RemoteRetriever.")
    p.add_argument("system", help="a saved system directory (its retriever is served; the generator is not loaded)")
    p.add_argument("--host", default="127.0.0.1", help="address to listen on (default: 127.0.0.1, this machine "
                   "only; 0.0.0.0 for other machines)")
    p.add_argument("--port", type=int, default=8000, help="port (default: 8000)")
    add_device(p)


def run(args) -> int:
    from ragadapt.errors import DataFormatError
    from ragadapt.system import RAGSystem

    try:
        from ragadapt.server import serve
    except ImportError as e:
        raise DataFormatError(f"ragadapt serve needs FastAPI and uvicorn ({e}); pip install 'ragadapt[serve]'") from e
    system = RAGSystem.load(args.system, generator=False, device=args.device)
    print(f"serving {len(system.retriever)} passages of {args.system} on http://{args.host}:{args.port}", flush=True)
    serve(system.retriever, host=args.host, port=args.port)
    return 0
