"""Every CLI command, end to end, with the tiny models (passed as local directories)."""

import json
import subprocess
import sys

import pytest

from ragadapt.cli.main import main


@pytest.fixture
def built(tmp_path, jsonl_corpus, tiny_embedder_dir, tiny_generator_dir):
    out = tmp_path / "sys"
    rc = main(["-q", "build", "--corpus", str(jsonl_corpus), "--out", str(out), "--embedder", str(tiny_embedder_dir),
               "--generator", str(tiny_generator_dir), "--chunk-tokens", "60", "--bm25", "--limit", "10", "-k", "3",
               "--device", "cpu"])
    assert rc == 0
    return out


def test_help_is_fast_and_explains():
    # heavy libraries must not be imported just to print help
    code = "import sys; from ragadapt.cli.main import make_parser; make_parser(); print(sorted(m for m in ('torch', 'transformers', 'faiss', 'sentence_transformers') if m in sys.modules))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"
    with pytest.raises(SystemExit):
        main(["build", "--help"])


def test_build_ask_eval(built, tmp_path, capsys):
    manifest = json.loads((built / "manifest.json").read_text())
    assert manifest["components"]["retriever"]["dir"] == "retriever"
    assert manifest["components"]["retriever"]["kind"] == "hybrid"
    capsys.readouterr()
    assert main(["-q", "ask", str(built), "what is a for loop?", "--json", "--max-new-tokens", "4"]) == 0
    answer = json.loads(capsys.readouterr().out.strip())
    assert answer["question"] == "what is a for loop?" and len(answer["passages"]) == 3
    assert main(["-q", "ask", str(built), "-k", "1", "--json", "--max-new-tokens", "4", "what is a for loop?"]) == 0
    answer = json.loads(capsys.readouterr().out.strip())  # the question may also follow the options
    assert answer["question"] == "what is a for loop?" and len(answer["passages"]) == 1
    qa = tmp_path / "qa.jsonl"
    qa.write_text(json.dumps({"question": "what is assert?", "answers": ["assert"], "gold_doc_ids": ["assert"]}) + "\n")
    assert main(["-q", "eval", str(built), "--data", str(qa), "--out", str(tmp_path / "rep"), "--ks", "1", "3"]) == 0
    report = json.loads((tmp_path / "rep" / "report.json").read_text())
    assert report["n"] == 1 and {"em", "f1", "contains", "recall@1", "recall@3", "mrr", "ndcg@3"} <= set(report)


def test_ask_interactive_reads_stdin(built, monkeypatch, capsys):
    import io

    monkeypatch.setattr("sys.stdin", io.StringIO("what is a class?\n\nquit\n"))
    assert main(["-q", "ask", str(built), "--no-passages", "--max-new-tokens", "3"]) == 0
    assert capsys.readouterr().out.count("Q: what is a class?") == 1


def test_eval_retrieval_only(built, tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    qa = tmp_path / "qa.jsonl"
    qa.write_text(json.dumps({"question": "assert", "answer": "assert"}) + "\n" +
                  json.dumps({"question": "classes", "answer": "class", "gold_doc_ids": ["class"]}) + "\n")
    assert main(["-q", "eval", str(built), "--data", str(qa), "--retrieval-only"]) == 0
    assert not (built / "eval").exists()  # results live outside the system, which a rebuild replaces
    (out,) = (tmp_path / "runs" / "eval").iterdir()
    report = json.loads((out / "report.json").read_text())
    assert "em" not in report and report["relevance"] == "1 by gold ids, 1 by answer containment"
    assert report["provenance"]["inputs"]["data"]["sha256"] and report["provenance"]["settings"]["k"] == 3
    assert main(["-q", "eval", str(built), "--data", str(qa), "--retrieval-only", "--out", str(out)]) == 2
    assert "already holds results" in capsys.readouterr().err and (out / "report.json").exists()
    assert main(["-q", "eval", str(built), "--data", str(qa), "--retrieval-only", "--out", str(out),
                 "--overwrite"]) == 0
    # a hand-written set by name: its questions, the file it comes from in the provenance
    assert main(["-q", "eval", str(built), "--data", "dev-test:2", "--retrieval-only", "--out", str(tmp_path / "d"),
                 "--limit", "3"]) == 0
    report = json.loads((tmp_path / "d" / "report.json").read_text())
    assert report["n"] == 3 and report["provenance"]["settings"]["data"] == "dev-test:2"
    assert report["provenance"]["inputs"]["data"]["path"].endswith("wiki_handwritten.jsonl")


def test_try_another_generator_and_show_the_system(built, tmp_path, tiny_generator_dir, capsys):
    import torch

    from ragadapt.generation import TransformersGenerator

    other = TransformersGenerator.from_pretrained(str(tiny_generator_dir), device="cpu")
    with torch.no_grad():
        next(other.model.parameters()).add_(1.0)
    other.save(tmp_path / "other")
    capsys.readouterr()
    assert main(["-q", "ask", str(built), "what is a class?", "--json", "--max-new-tokens", "3",
                 "--generator", str(tmp_path / "other")]) == 0
    assert json.loads(capsys.readouterr().out)["question"] == "what is a class?"
    assert main(["system", "show", str(built), "--verify"]) == 0
    shown = capsys.readouterr().out
    assert "retriever" in shown and "generator" in shown and "files match their checksums" in shown
    with pytest.raises(SystemExit):
        main(["--version"])
    assert capsys.readouterr().out.startswith("ragadapt ")


def test_errors_are_one_clean_line(tmp_path, capsys, tiny_embedder_dir):
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"text": "fine"}\n{oops\n')
    assert main(["build", "--corpus", str(bad), "--out", str(tmp_path / "o"), "--embedder", str(tiny_embedder_dir)]) == 2
    err = capsys.readouterr().err
    assert "bad.jsonl:2: invalid JSON" in err and "Traceback" not in err
    assert not (tmp_path / "o").exists()
    assert main(["ask", str(tmp_path / "nowhere"), "q"]) == 2
    assert "no such directory" in capsys.readouterr().err
    assert main(["build", "--corpus", str(tmp_path / "c.jsonl"), "--out", str(tmp_path / "o"),
                 "--embedder", "no-such-embedder"]) == 2
    assert "no such file" in capsys.readouterr().err
    assert main(["build", "--corpus", str(bad), "--out", str(tmp_path / "o"), "--generator", "gpt-17"]) == 2
    assert "unknown model 'gpt-17'" in capsys.readouterr().err


def test_agent_command_each_workflow(built, tmp_path, capsys):
    for workflow in ("react", "planner", "iterative"):
        saved = tmp_path / f"{workflow}.jsonl"
        assert main(["-q", "agent", str(built), "what is a for loop?", "--workflow", workflow, "--max-steps", "2",
                     "--rounds", "2", "-k", "2", "--show-trajectory", "--save-trajectory", str(saved)]) == 0
        out = capsys.readouterr().out
        assert out.startswith(f"Question: what is a for loop?   [{workflow}]") and "\nAnswer: " in out
        row = json.loads(saved.read_text())
        assert row["workflow"] == workflow and row["stats"]["steps"] >= 2
    qa = tmp_path / "qa.jsonl"
    qa.write_text(json.dumps({"question": "what is a for loop?", "answers": ["loop"]}) + "\n")
    assert main(["-q", "agent", str(built), "--workflow", "iterative", "--rounds", "2", "--eval", str(qa)]) == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["n"] == 1 and "searches" in summary and "format_errors" in summary
