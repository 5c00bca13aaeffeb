"""The embedded defaults for real: MiniLM over a few hundred bundled Wikipedia articles, SmolLM2 answering."""

import pytest

from ragadapt.corpora.wiki import load_wiki
from ragadapt.system import RAGSystem

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def wiki_system():
    keep = {"A Sunday Afternoon on the Island of La Grande Jatte", "Taj Mahal"}
    docs = [d for i, d in enumerate(load_wiki()) if i < 300 or d.id in keep]
    return RAGSystem.build(docs, device="cpu", show_progress=False)


def test_real_models_retrieve_and_answer(wiki_system, tmp_path):
    questions = ["Who painted A Sunday Afternoon on the Island of La Grande Jatte?",
                 "Which Mughal emperor commissioned the Taj Mahal?"]
    hits = wiki_system.retrieve(questions, 3)
    assert hits[0][0].passage.doc_id == "A Sunday Afternoon on the Island of La Grande Jatte"
    assert hits[1][0].passage.doc_id == "Taj Mahal"
    answers = wiki_system.answer(questions)
    assert "Seurat" in answers[0].text
    assert all(a.text for a in answers)
    wiki_system.save(tmp_path / "wiki")
    loaded = RAGSystem.load(tmp_path / "wiki", device="cpu")
    assert loaded.answer(questions[:1])[0].text == answers[0].text


def test_demo_command_builds_then_reuses(tmp_path, capsys):
    from ragadapt.cli.main import main

    args = ["-q", "demo", "--out", str(tmp_path / "demo"), "--limit", "40", "--question", "What is the 20th century?"]
    assert main(args) == 0
    assert main(args) == 0
    out = capsys.readouterr().out
    assert out.count("Q: What is the 20th century?") == 2 and "peak RSS" in out
