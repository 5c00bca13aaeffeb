"""ragadapt system show DIR: what a saved system holds, where each component came from, its checksum."""

from __future__ import annotations

HELP = "inspect a saved system (`ragadapt system show DIR`)"


def add_parser(sub) -> None:
    p = sub.add_parser("system", help=HELP, description="Inspect a saved RAG system.")
    actions = p.add_subparsers(dest="action", metavar="ACTION", required=True)
    show = actions.add_parser("show", help="list the components, their provenance (run, method) and checksums")
    show.add_argument("system", help="a saved system directory")
    show.add_argument("--json", action="store_true", help="print the manifest's components as JSON")
    show.add_argument("--verify", action="store_true", help="also check every file against its checksum")


def run(args) -> int:
    import json

    from ragadapt.manifest import read_manifest
    from ragadapt.system import KIND, describe

    manifest = read_manifest(args.system, KIND, verify_hashes=True if args.verify else False)
    if args.json:
        print(json.dumps({"config": manifest["config"], "components": manifest["components"]}, indent=2))
    else:
        print(describe(args.system))
        if args.verify:
            print(f"  all {len(manifest['files'])} files match their checksums")
    return 0
