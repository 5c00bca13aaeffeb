import pytest

from ragadapt.corpora import Chunker, tokenizer_spans
from ragadapt.types import Document

DOC = Document(id="d1", title="T", text="w0 w1 w2 w3 w4 w5 w6 w7 w8 w9", source="s")


def test_word_chunks_with_overlap_exact():
    chunks = Chunker(chunk_tokens=4, overlap=1).chunk(DOC)
    assert [c.text for c in chunks] == ["w0 w1 w2 w3", "w3 w4 w5 w6", "w6 w7 w8 w9"]
    assert [c.id for c in chunks] == ["d1#0", "d1#1", "d1#2"]
    assert all(c.title == "T" and c.doc_id == "d1" and c.source == "s" for c in chunks)
    assert all(DOC.text[c.start:c.end] == c.text for c in chunks)


def test_short_document_is_one_chunk_and_empty_is_none():
    assert [c.text for c in Chunker(chunk_tokens=50, overlap=5).chunk(DOC)] == [DOC.text]
    assert Chunker().chunk(Document(id="e", text="   ")) == []


def test_title_tokens_are_reserved():
    chunks = Chunker(chunk_tokens=6, overlap=0, title_tokens=2).chunk(DOC)
    assert [c.text for c in chunks] == ["w0 w1 w2 w3", "w4 w5 w6 w7", "w8 w9"]


def test_ids_are_stable():
    a = [c.id for c in Chunker(chunk_tokens=3, overlap=1).chunk(DOC)]
    b = [c.id for c in Chunker(chunk_tokens=3, overlap=1).chunk(DOC)]
    assert a == b


@pytest.mark.parametrize("size, overlap", [(0, 0), (4, 4), (4, -1)])
def test_invalid_settings(size, overlap):
    with pytest.raises(ValueError):
        Chunker(chunk_tokens=size, overlap=overlap)


def test_tokenizer_chunks_fit_the_window(tiny_embedder, corpus_docs):
    tok = tiny_embedder.tokenizer
    chunker = Chunker(chunk_tokens=40, overlap=8, spans=tokenizer_spans(tok))
    doc = max(corpus_docs, key=lambda d: len(d.text))
    chunks = chunker.chunk(doc)
    assert len(chunks) > 3
    spans = tokenizer_spans(tok)(doc.text)
    for c in chunks:
        assert doc.text[c.start:c.end] == c.text
        assert sum(1 for s, e in spans if s >= c.start and e <= c.end) <= 40
    # Windows end on word boundaries, so re-tokenising a passage gives the same count; only runs of
    # glued symbols longer than a window (ASCII tables) may be cut inside a "word".
    fits = [len(tok(c.text, add_special_tokens=False)["input_ids"]) <= 40 for c in chunks]
    assert sum(fits) >= 0.9 * len(fits)
    # consecutive chunks overlap in the source text
    assert all(b.start < a.end for a, b in zip(chunks, chunks[1:]))
