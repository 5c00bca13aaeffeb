"""Fuzzed inputs a user hands in: QA files, context files and `key=value` overrides either load or fail with one
line that names the file (and line) or the override; none raises anything else (issue 16)."""

import json

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ragadapt.errors import RagadaptError

VALUES = st.one_of(st.none(), st.integers(), st.booleans(), st.text(max_size=12),
                   st.lists(st.one_of(st.text(max_size=6), st.integers()), max_size=3),
                   st.dictionaries(st.text(max_size=4), st.integers(), max_size=2))
RECORD_KEYS = ["question", "answers", "answer", "id", "gold_ids", "gold_doc_ids", "meta", "kind", "passages",
               "target", "original", "edited", "x"]
LINES = st.lists(st.one_of(st.text(max_size=30),
                           st.dictionaries(st.sampled_from(RECORD_KEYS), VALUES, max_size=6).map(json.dumps)),
                 min_size=1, max_size=5)
FUZZ = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])


def load_or_one_line(tmp_path, name: str, lines: list[str], load):
    """`load` the file made of `lines`: its result, or None after checking the error is one line naming the file."""
    path = tmp_path / name
    path.write_text("\n".join(lines) + "\n", encoding="utf-8", errors="surrogatepass")
    try:
        return load(path)
    except RagadaptError as e:
        assert name in str(e) and "\n" not in str(e).strip(), e
        return None


@FUZZ
@given(lines=LINES)
def test_fuzzed_qa_files_load_or_fail_with_one_named_line(tmp_path, lines):
    from ragadapt.eval.data import load_qa_jsonl

    examples = load_or_one_line(tmp_path, "qa.jsonl", lines, load_qa_jsonl) or []
    assert all(isinstance(e.question, str) and e.answers and all(isinstance(a, str) for a in e.answers)
               for e in examples)


@FUZZ
@given(lines=LINES)
def test_fuzzed_context_files_load_or_fail_with_one_named_line(tmp_path, lines):
    from ragadapt.training.contextual import load_test

    examples = load_or_one_line(tmp_path, "contexts.jsonl", lines, load_test) or []
    assert all(isinstance(e.question, str) and all(isinstance(p.text, str) for p in e.passages) for e in examples)


@FUZZ
@given(key=st.sampled_from(["trainer.learning_rate", "max_length", "seed", "data", "freeze", "lora.r", "stages.0.x",
                            "nope", "trainer", "replay.1.path", "schedule.name", ""]),
       value=st.one_of(st.text(max_size=12), st.integers().map(str), st.just("[1, 2"), st.just("{a: 1}"),
                       st.just("null"), st.just("- x")))
def test_fuzzed_overrides_apply_or_blame_the_override(key, value):
    from ragadapt.training import LMConfig, load_config

    item = f"{key}={value}"
    try:
        load_config(LMConfig, None, [item])
    except RagadaptError as e:
        assert "\n" not in str(e).strip() and (item in str(e) or key.split(".")[0] in str(e)), e


WORDS = ["build", "ask", "eval", "train", "system", "serve", "agent", "show", "merge", "sft", "pipeline", "--corpus",
         "--out", "--data", "-k", "--limit", "--index", "--generator", "--retriever", "--config", "--overwrite",
         "--faithfulness", "--alpha", "--component", "-0", "0", "-3", "abc", "x=1", "trainer.max_steps=abc",
         "missing-dir", "missing.jsonl", "http://", "\u00e9", "", "--", "hnsw", "flat"]


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(argv=st.lists(st.sampled_from(WORDS), min_size=1, max_size=6))
def test_fuzzed_command_lines_end_in_a_usage_error_or_one_line(argv, capsys, tmp_path, monkeypatch):
    """Any command line over paths that do not exist: argparse's usage error (exit 2) or one `ragadapt: error:`
    line with exit 2, never a traceback."""
    from ragadapt.cli.main import main

    monkeypatch.chdir(tmp_path)  # nothing is written into the repository, and no runs/wiki is found there
    capsys.readouterr()  # the fixture is shared by every example: start from an empty capture
    try:
        rc = main(argv)
    except SystemExit as e:
        rc = e.code
    err = capsys.readouterr().err
    assert rc in (0, 2), (argv, rc, err)
    assert "Traceback" not in err, (argv, err)


MESSAGE = st.fixed_dictionaries({"role": st.sampled_from(["user", "assistant", "system", 3]),
                                 "content": st.one_of(st.text(max_size=8), st.integers())})
PAIR_VALUES = st.one_of(st.none(), st.integers(), st.text(max_size=10), st.lists(MESSAGE, max_size=2),
                        st.lists(st.text(max_size=4), max_size=2))
PAIR_LINES = st.lists(st.one_of(st.text(max_size=20),
                                st.dictionaries(st.sampled_from(["prompt", "chosen", "rejected", "x"]), PAIR_VALUES,
                                                max_size=4).map(json.dumps)),
                      min_size=1, max_size=4)


@FUZZ
@given(lines=PAIR_LINES)
def test_fuzzed_preference_files_load_or_fail_with_one_named_line(tmp_path, lines):
    from ragadapt.training.config import Source
    from ragadapt.training.data import mixture
    from ragadapt.training.dpo import prepare_pairs

    pairs = load_or_one_line(tmp_path, "pairs.jsonl", lines,
                             lambda p: mixture([Source(path=str(p))], prepare=prepare_pairs)) or []
    for row in pairs:  # what loads is what the DPO trainer takes: all text or all messages
        kinds = {type(row[f]) for f in ("prompt", "chosen", "rejected")}
        assert len(kinds) == 1 and kinds <= {str, list}
