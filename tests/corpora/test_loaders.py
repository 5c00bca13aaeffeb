import json

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

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


def test_inputs_that_are_not_text_are_skipped_and_counted_or_refused(tmp_path):
    import json

    from ragadapt.corpora.loaders import LoadReport, load_folder, load_jsonl
    from ragadapt.errors import DataFormatError

    path = tmp_path / "c.jsonl"
    path.write_text("\n".join([json.dumps({"id": "a", "text": "fine text"}), '{"id": "b", "text": "bad \\ud800 here"}'])
                    + "\n")
    report = LoadReport()
    assert [d.id for d in load_jsonl(path, report)] == ["a"] and report.not_utf8 == 1  # skipped and counted
    with pytest.raises(DataFormatError, match=r"c.jsonl:2: not valid UTF-8"):
        list(load_jsonl(path, strict=True))
    for value in (12345, True):  # not a passage's text: malformed, with or without --strict
        (tmp_path / "n.jsonl").write_text(json.dumps({"id": "c", "text": value}) + "\n")
        with pytest.raises(DataFormatError, match=r"n.jsonl:1: expected a string, got (int|bool)"):
            list(load_jsonl(tmp_path / "n.jsonl"))
    folder = tmp_path / "docs"
    folder.mkdir()
    (folder / "a.md").write_text("# A\nhello")
    (folder / "b.pdf").write_bytes(b"%PDF-1.4")
    (folder / "c.json").write_text("{}")
    report = LoadReport()
    assert [d.id for d in load_folder(folder, report)] == ["a.md"]
    assert report.unsupported_files == 2 and "unsupported files" in report.summary()
    with pytest.raises(DataFormatError, match="b.pdf: not a text file"):
        list(load_folder(folder, strict=True))


def test_a_hub_dataset_without_network_is_one_line(monkeypatch):
    from ragadapt.corpora.loaders import load_corpus
    from ragadapt.errors import DataFormatError

    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    with pytest.raises(DataFormatError, match=r"hf:nobody/nothing: could not load the dataset .*save_to_disk"):
        load_corpus("hf:nobody/nothing")


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(lines=st.lists(st.one_of(st.text(max_size=40), st.binary(max_size=20).map(lambda b: b.decode("latin-1")),
                                st.dictionaries(st.sampled_from(["id", "title", "text", "x"]),
                                                st.one_of(st.none(), st.integers(), st.booleans(),
                                                          st.text(max_size=20), st.lists(st.integers(), max_size=2)),
                                                max_size=4).map(lambda d: __import__("json").dumps(d))),
                      min_size=1, max_size=6))
def test_fuzzed_jsonl_corpora_load_or_fail_with_one_named_line(tmp_path, lines):
    from ragadapt.corpora.loaders import load_corpus
    from ragadapt.errors import RagadaptError

    path = tmp_path / "fuzz.jsonl"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8", errors="surrogatepass")
    try:
        docs, _ = load_corpus(str(path))
    except RagadaptError as e:
        assert "fuzz.jsonl" in str(e) and "\n" not in str(e).strip()
    else:
        assert all(isinstance(d.text, str) and d.text.encode("utf-8") for d in docs)
