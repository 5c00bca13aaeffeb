"""kill -9 at the renames of a build: what is on disk is the old result or the new one,
never a half; the next load or rerun works and leaves no temporary folders behind (issue 16)."""

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path


# Runs the CLI with os.replace counted; at the KILL_AT-th rename the process SIGKILLs itself (before it).
WRAPPER = """
import atexit, os, signal, sys
kill_at, count, real = int(os.environ.get("KILL_AT", "0")), [0], os.replace
def replace(a, b):
    count[0] += 1
    if count[0] == kill_at:
        os.kill(os.getpid(), signal.SIGKILL)
    return real(a, b)
os.replace = replace
atexit.register(lambda: open(os.environ["COUNT_FILE"], "w").write(str(count[0])))
from ragadapt.cli.main import main
sys.exit(main(sys.argv[1:]))
"""


def run_cli(tmp_path, args, kill_at=0, quiet=True):
    script = tmp_path / "wrapper.py"
    script.write_text(WRAPPER)
    env = {**os.environ, "KILL_AT": str(kill_at), "COUNT_FILE": str(tmp_path / "count"), "HF_HUB_OFFLINE": "1",
           "OMP_NUM_THREADS": "1", "RAGADAPT_VERIFY": "1"}
    proc = subprocess.run([sys.executable, str(script), *(["-q"] if quiet else []), *args], env=env, capture_output=True, text=True,
                          timeout=300)
    count = int((tmp_path / "count").read_text()) if proc.returncode != -9 else None
    return proc, count


def leftovers(directory):
    return sorted(p.name for p in directory.iterdir() if ".tmp-" in p.name or ".old-" in p.name)


def test_a_build_killed_at_any_rename_leaves_the_old_system_or_the_new(tmp_path, jsonl_corpus, tiny_embedder_dir):
    from ragadapt.system import RAGSystem

    out = tmp_path / "runs" / "sys"
    build = ["build", "--corpus", str(jsonl_corpus), "--out", str(out), "--embedder", str(tiny_embedder_dir),
             "--device", "cpu", "--overwrite", "--shard-size", "100000"]
    proc, _ = run_cli(tmp_path, [*build, "-k", "1"])
    assert proc.returncode == 0, proc.stderr
    proc, renames = run_cli(tmp_path, [*build, "-k", "1"])  # the renames of a build over an existing system
    assert proc.returncode == 0 and renames >= 2, proc.stderr
    previous = 1
    # the first rename, one in the middle (inside the temporary folder) and the last two (the files of the new
    # system, then the swap of the old system and the new one); each kill rebuilds with another k over what the
    # last kill left
    for kill_at in sorted({1, renames // 2, renames - 1, renames}):
        shutil.rmtree(out.parent / ".sys.embedding-shards", ignore_errors=True)  # a resumed embedding renames less
        proc, _ = run_cli(tmp_path, [*build, "-k", str(kill_at + 1)], kill_at)
        assert proc.returncode == -9
        system = RAGSystem.load(out, generator=False)  # a save killed between its two renames is recovered
        assert system.config.k in (previous, kill_at + 1) and system.retriever.search(["Paris"], 1)[0]
        previous = system.config.k
    proc, _ = run_cli(tmp_path, [*build, "-k", "9"])
    assert proc.returncode == 0, proc.stderr
    assert RAGSystem.load(out, generator=False).config.k == 9 and not leftovers(out.parent), leftovers(out.parent)


def test_a_killed_sharded_build_resumes_with_the_same_vectors(tmp_path, jsonl_corpus, tiny_embedder_dir):
    """kill -9 after some embedding shards were saved: the rerun embeds only the rest, and the system is the
    same, file for file, as one built without interruption."""
    out, other = tmp_path / "runs" / "sys", tmp_path / "runs" / "uninterrupted"
    build = ["build", "--corpus", str(jsonl_corpus), "--embedder", str(tiny_embedder_dir), "--device", "cpu",
             "--shard-size", "64"]  # 1,611 passages
    proc, _ = run_cli(tmp_path, [*build, "--out", str(other)])
    assert proc.returncode == 0, proc.stderr
    proc, _ = run_cli(tmp_path, [*build, "--out", str(out)], kill_at=3)  # after 2 of the 26 shards
    assert proc.returncode == -9 and not out.exists()
    shards = sorted((out.parent / ".sys.embedding-shards").glob("shard-*.npy"))
    assert len(shards) == 2
    proc, _ = run_cli(tmp_path, [*build, "--out", str(out)], quiet=False)
    assert proc.returncode == 0, proc.stderr
    assert "2 of 26 shards already" in proc.stderr
    files = {p.relative_to(out): p.read_bytes() for p in out.rglob("*") if p.is_file()}
    same = {p.relative_to(other): p.read_bytes() for p in other.rglob("*") if p.is_file()}
    assert files.keys() == same.keys()
    assert [f for f in files if files[f] != same[f] and f.name != "manifest.json"] == []  # vectors, index, passages
    manifests = [json.loads(files[Path("retriever") / "manifest.json"]), json.loads(same[Path("retriever") / "manifest.json"])]
    assert manifests[0]["files"] == manifests[1]["files"]
    assert not leftovers(out.parent)


def test_an_eval_killed_at_any_rename_keeps_the_old_results(tmp_path, tiny_system):
    """`ragadapt eval --overwrite` killed at each of its renames: the out folder holds the old results (the
    report and the predictions of one run together) or the new ones, and the next run leaves no leftovers."""
    out = tmp_path / "eval"
    data = tmp_path / "qa.jsonl"
    data.write_text("".join(json.dumps({"question": q, "answers": [a]}) + "\n"
                            for q, a in [("What is Paris?", "capital"), ("Who wrote Hamlet?", "Shakespeare")]))
    evaluate = ["eval", str(tiny_system), "--data", str(data), "--out", str(out), "--overwrite", "--device", "cpu"]
    proc, _ = run_cli(tmp_path, [*evaluate, "--limit", "1"])
    assert proc.returncode == 0, proc.stderr
    proc, renames = run_cli(tmp_path, [*evaluate, "--limit", "1"])  # the renames of an eval over earlier results
    assert proc.returncode == 0, proc.stderr
    for kill_at in range(1, renames + 1):
        proc, _ = run_cli(tmp_path, evaluate, kill_at)  # the new run answers 2 questions, the old one 1
        assert proc.returncode == -9
        report = json.loads((out / "report.json").read_text())
        predictions = (out / "predictions.jsonl").read_text().splitlines()
        assert report["n"] == len(predictions) in (1, 2)
    proc, _ = run_cli(tmp_path, evaluate)
    assert proc.returncode == 0 and json.loads((out / "report.json").read_text())["n"] == 2
    assert not leftovers(out.parent)
