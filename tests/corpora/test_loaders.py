import json

import pytest

from ragadapt.corpora import LoadReport, load_corpus, load_folder, load_hf_dataset, load_jsonl
from ragadapt.errors import DataFormatError, EmptyCorpusError


def write_lines(path, lines):
    path.write_bytes(b"".join(l if isinstance(l, bytes) else (l + "\n").encode() for l in lines))
    return path


def test_jsonl_loads_records_and_defaults_ids(tmp_path):
    p = write_lines(tmp_path / "c.jsonl", [json.dumps({"id": "a", "title": "A", "text": "alpha"}),
                                          "", json.dumps({"text": "beta"})])
    docs = list(load_jsonl(p))
    assert [(d.id, d.title, d.text) for d in docs] == [("a", "A", "alpha"), ("c.jsonl:3", "", "beta")]


def test_jsonl_malformed_line_names_file_and_line(tmp_path):
    p = write_lines(tmp_path / "c.jsonl", [json.dumps({"text": "ok"}), "{not json"])
    with pytest.raises(DataFormatError, match=r"c\.jsonl:2: invalid JSON"):
        list(load_jsonl(p))


def test_jsonl_missing_or_wrong_field_is_named(tmp_path):
    p = write_lines(tmp_path / "c.jsonl", [json.dumps({"id": "x", "body": "no text"})])
    with pytest.raises(DataFormatError, match=r"c\.jsonl:1: missing required field.*'text'"):
        list(load_jsonl(p))
    p = write_lines(tmp_path / "d.jsonl", [json.dumps({"text": ["a", "list"]})])
    with pytest.raises(DataFormatError, match=r"d\.jsonl:1: expected a string.*'text'"):
        list(load_jsonl(p))


def test_jsonl_skips_and_counts_bad_documents(tmp_path):
    p = write_lines(tmp_path / "c.jsonl", [
        json.dumps({"id": "a", "text": "alpha"}),
        json.dumps({"id": "b", "text": "   "}),  # empty
        b'{"id": "c", "text": "caf\xe9"}\n',  # latin-1 byte: not UTF-8
        json.dumps({"id": "a", "text": "again"}),  # duplicate id
        json.dumps({"id": "d", "text": "delta"}),
    ])
    report = LoadReport()
    docs = list(load_jsonl(p, report=report))
    assert [d.id for d in docs] == ["a", "d"]
    assert (report.loaded, report.empty, report.not_utf8, report.duplicate_ids) == (2, 1, 1, 1)
    assert "skipped 1 empty" in report.summary()


@pytest.mark.parametrize("line, match", [
    (json.dumps({"id": "b", "text": ""}), "empty document"),
    (b'{"id": "c", "text": "caf\xe9"}', "not valid UTF-8"),
    (json.dumps({"id": "a", "text": "dup"}), "duplicate id"),
])
def test_jsonl_strict_fails_on_first_bad_document(tmp_path, line, match):
    p = write_lines(tmp_path / "c.jsonl", [json.dumps({"id": "a", "text": "alpha"}), line])
    with pytest.raises(DataFormatError, match=rf"c\.jsonl:2: {match}"):
        list(load_jsonl(p, strict=True))


def test_folder_reads_txt_and_md_with_titles(tmp_path):
    (tmp_path / "sub").mkdir()
    (tmp_path / "a_note.txt").write_text("plain text")
    (tmp_path / "sub" / "b.md").write_text("# Heading B\n\nbody")
    (tmp_path / "skip.bin").write_bytes(b"\x00\x01")
    (tmp_path / "bad.txt").write_bytes(b"\xff\xfe bad")
    report = LoadReport()
    docs = list(load_folder(tmp_path, report=report))
    assert [(d.id, d.title) for d in docs] == [("a_note.txt", "a note"), ("sub/b.md", "Heading B")]
    assert report.not_utf8 == 1


def test_hf_dataset_from_disk(tmp_path):
    import datasets

    datasets.Dataset.from_dict({"id": [1, 2], "title": ["T1", "T2"], "text": ["one", "two"]}).save_to_disk(
        tmp_path / "ds")
    docs, report = load_corpus(str(tmp_path / "ds"))
    assert [(d.id, d.title, d.text) for d in docs] == [("1", "T1", "one"), ("2", "T2", "two")]
    with pytest.raises(DataFormatError, match="missing text column.*'body'"):
        list(load_hf_dataset(str(tmp_path / "ds"), text_field="body"))


def test_load_corpus_errors(tmp_path):
    with pytest.raises(DataFormatError, match="no such file"):
        load_corpus(str(tmp_path / "missing.jsonl"))
    empty = write_lines(tmp_path / "e.jsonl", [json.dumps({"text": " "})])
    with pytest.raises(EmptyCorpusError, match="no usable document.*skipped 1 empty"):
        load_corpus(str(empty))


def test_load_corpus_limit(jsonl_corpus):
    docs, _ = load_corpus(str(jsonl_corpus), limit=3)
    assert len(docs) == 3
