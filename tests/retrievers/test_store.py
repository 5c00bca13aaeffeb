"""The memory-mapped passage store returns what the in-memory one does, by row and by id."""

import pytest

from ragadapt.errors import ManifestError
from ragadapt.retrievers.store import MappedPassageStore, PassageStore
from ragadapt.types import Passage


def passages(n=300):
    return [Passage(id=f"doc{i // 3}#{i % 3}", text=f"passage {i} · ünïcode \u2028 line", title=f"Doc {i // 3}",
                    doc_id=f"doc{i // 3}", start=i, end=i + 5, source="t") for i in range(n)]


def test_mapped_store_matches_the_in_memory_one(tmp_path):
    memory = PassageStore(passages())
    memory.save(tmp_path)
    mapped = PassageStore.load(tmp_path)
    assert isinstance(mapped, MappedPassageStore) and len(mapped) == len(memory)
    assert list(mapped.passages) == memory.passages and mapped.passages == memory.passages
    assert mapped[-1] == memory[-1] and mapped.passages[5:8] == memory.passages[5:8]
    assert all(mapped.get(p.id) == p for p in memory.passages[::7])
    assert mapped.rows(["doc3#1", "doc0#0"]) == memory.rows(["doc3#1", "doc0#0"])
    assert "doc1#2" in mapped and "nope" not in mapped
    with pytest.raises(KeyError, match="no passage with id"):
        mapped.get("nope")
    with pytest.raises(IndexError):
        mapped[len(memory)]


def test_hash_collisions_are_resolved_by_the_id(tmp_path, monkeypatch):
    monkeypatch.setattr("ragadapt.retrievers.store.id_hash", lambda passage_id: 7)  # every id collides
    PassageStore(passages(40)).save(tmp_path)
    mapped = PassageStore.load(tmp_path)
    assert [mapped.get(p.id).id for p in passages(40)] == [p.id for p in passages(40)]


def test_a_mapped_store_grows_in_memory_and_saves_again(tmp_path):
    PassageStore(passages(30)).save(tmp_path / "a")
    mapped = PassageStore.load(tmp_path / "a")
    mapped.extend([Passage(id="new#0", text="new")])
    assert len(mapped) == 31 and mapped.get("new#0").text == "new"
    with pytest.raises(Exception, match="duplicate"):
        mapped.extend([Passage(id="doc0#0", text="again")])
    mapped.save(tmp_path / "b")
    assert PassageStore.load(tmp_path / "b").passages == mapped.passages


def test_tables_that_do_not_match_the_passages_are_refused(tmp_path):
    PassageStore(passages(30)).save(tmp_path)
    with open(tmp_path / "passages.jsonl", "a", encoding="utf-8") as f:
        f.write('{"id": "extra", "text": "x"}\n')
    with pytest.raises(ManifestError, match="do not match"):
        PassageStore.load(tmp_path)
