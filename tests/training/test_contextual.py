"""The contextual-SFT routine end to end on the tiny model, and the faithfulness metrics by hand."""

import json
from pathlib import Path

import pytest
import torch

from ragadapt.corpora.contexts import ABSTAIN, ContextExample
from ragadapt.eval.faithfulness import detects_conflict, is_abstention, markdown_table, score, summarize
from ragadapt.types import Passage

P = [Passage(id="p", text="x")]


def ex(kind, answers, original="Seurat", edited=None):
    return ContextExample(kind, "q?", P, answers[0], answers, original, edited)


def test_scores_by_category():
    assert score(ex("clean", ["Seurat"]), "It was Georges Seurat.")["faithful"] is True
    assert score(ex("noisy", ["Seurat"]), "Monet")["faithful"] is False
    assert score(ex("unanswerable", [ABSTAIN]), "I don't know.")["faithful"] is True
    assert score(ex("unanswerable", [ABSTAIN]), "Seurat")["faithful"] is False
    cf = score(ex("counterfactual", ["Monet"], edited="Monet"), "Seurat painted it")
    assert (cf["follows"], cf["parametric"]) == (False, True)
    assert score(ex("counterfactual", ["Monet"], edited="Monet"), "Monet")["follows"] is True
    assert score(ex("conflicting", ["Seurat", "Monet"], edited="Monet"), "Either Seurat or Monet")["faithful"] is True
    assert score(ex("conflicting", ["Seurat", "Monet"], edited="Monet"), "Seurat")["faithful"] is False


def test_abstention_and_conflict_phrases():
    assert is_abstention("The passages do not mention it.") and is_abstention("I do not know")
    assert not is_abstention("It is known as the Bard")
    assert detects_conflict("The passages disagree about it", "a", "b")


def test_summary_and_table():
    rows = [score(ex("clean", ["Paris"]), "Paris"), score(ex("clean", ["Paris"]), "Lyon"), score(ex("unanswerable", [ABSTAIN]), "I don't know"),
            score(ex("counterfactual", ["M"], edited="M"), "M")]
    s = summarize(rows)
    assert (s["answerable_contains"], s["abstention"], s["counterfactual_following"]) == (0.5, 1.0, 1.0)
    assert s["conflict_detection"] is None
    table = markdown_table({"before": s, "after": s})
    assert "| abstention on unanswerable | 100.0 | 100.0 |" in table and "conflict" not in table


def test_abstention_that_reads_the_passage():
    """An abstention counts as reading the passage only when the same question over its clean passage is answered:
    a model that declines a question whatever the passage says gets abstention, not this."""
    def row(question, kind, prediction, answers=("Paris",)):
        e = ContextExample(kind, question, P, answers[0], list(answers), "Paris", None)
        return {"question": question, **score(e, prediction)}

    rows = [row("a?", "clean", "Paris"), row("a?", "unanswerable", "I don't know", [ABSTAIN]),   # reads it
            row("b?", "clean", "I don't know"), row("b?", "unanswerable", "I don't know", [ABSTAIN]),  # declines b
            row("c?", "clean", "Paris"), row("c?", "unanswerable", "Paris", [ABSTAIN]),  # answers from memory
            row("d?", "unanswerable", "I don't know", [ABSTAIN])]  # no clean twin to compare with
    s = summarize(rows)
    assert (s["abstention"], s["abstention_reads_passage"]) == (0.75, 0.25)
    assert "| abstention on unanswerable, its clean twin answered | 25.0 |" in markdown_table({"after": s})


def test_gates_carry_paired_counts_of_the_held_out_examples():
    """Each held-out gate says how many examples moved each way: a one-example gain passes and shows as 1 / 0."""
    from ragadapt.eval.faithfulness import paired_outcomes
    from ragadapt.training.contextual import contextual_gate_lines, contextual_gates

    def row(question, kind, prediction, answers=("Paris",), edited=None):
        e = ContextExample(kind, question, P, answers[0], list(answers), "Paris", edited)
        return {"question": question, **score(e, prediction)}

    before = [row("a?", "clean", "Paris"), row("a?", "unanswerable", "Paris", [ABSTAIN]),
              row("b?", "clean", "Paris"), row("b?", "counterfactual", "Paris", ["Lyon"], edited="Lyon"),
              row("c?", "clean", "Lyon")]
    after = [row("a?", "clean", "Paris"), row("a?", "unanswerable", "I don't know", [ABSTAIN]),
             row("b?", "clean", "Lyon"), row("b?", "counterfactual", "Lyon", ["Lyon"], edited="Lyon"),
             row("c?", "clean", "Lyon")]
    counts = paired_outcomes(before, after)
    assert counts["abstention_reads_passage"] == {"only_after": 1, "only_before": 0, "p": 1.0}
    assert counts["answerable_contains"] == {"only_after": 0, "only_before": 1, "p": 1.0}
    assert counts["counterfactual_following"]["only_after"] == 1
    checks = contextual_gates({"before": summarize(before), "after": summarize(after)}, {},
                              {"before": before, "after": after})
    text = contextual_gate_lines(checks)
    assert "0.0 -> 100.0 (1 / 0 (p 1.00); gain: pass)" in text and "answerable 0 / 1 (1.00)" in text


def test_contextual_routine_end_to_end(tmp_path, tiny_generator_dir, tiny_generator):
    from ragadapt.training import ContextualConfig
    from ragadapt.training.config import from_dict
    from ragadapt.training.contextual import train_contextual

    before = {k: v.clone() for k, v in tiny_generator.model.state_dict().items()}
    cfg = from_dict(ContextualConfig, {
        "model": str(tiny_generator_dir), "system": None, "output_dir": str(tmp_path / "ctx"), "corpus": "wiki",
        "max_documents": 300, "max_train": 48, "max_test": 4, "max_length": 256, "max_passage_chars": 200,
        "freeze": ["model.layers.0.*"], "judge": str(tiny_generator_dir), "general_texts": 4, "dpo": True, "dev_select": None,
        "trainer": {"max_steps": 6, "learning_rate": 3e-3, "logging_steps": 1},
        "dpo_trainer": {"max_steps": 2, "learning_rate": 1e-4}})
    result = train_contextual(cfg)
    data = tmp_path / "ctx" / "data"
    train_rows = [json.loads(l) for l in (data / "train.jsonl").read_text().splitlines()]
    test_rows = [json.loads(l) for l in (data / "test.jsonl").read_text().splitlines()]
    assert len(train_rows) >= 40 and {r["kind"] for r in test_rows} == {"clean", "noisy", "counterfactual",
                                                                          "unanswerable", "conflicting"}
    # no held-out document is seen in training
    train_docs = {json.loads(l)["passage"]["doc_id"] for l in (data / "triples_train.jsonl").read_text().splitlines()}
    assert not train_docs & {r["doc_id"] for r in test_rows}
    sft_losses = [json.loads(l)["loss"] for l in (tmp_path / "ctx" / "sft" / "metrics.jsonl").read_text().splitlines()
                  if "loss" in json.loads(l)]
    assert sft_losses[-1] < sft_losses[0]
    report = json.loads((tmp_path / "ctx" / "report.json").read_text())
    assert {"before", "after"} <= set(report) and not report["served"] and "judge_agreement" in report["after"] and "general_nll" in report["after"]
    assert "| abstention on unanswerable |" in (tmp_path / "ctx" / "report.md").read_text()
    # the trained model loads into a RAGSystem; frozen layers did not move, the others did
    from ragadapt.generation import TransformersGenerator
    from ragadapt.retrievers import BM25Retriever
    from ragadapt.system import RAGSystem

    trained = TransformersGenerator.from_pretrained(str(result.final_dir), device="cpu")
    system = RAGSystem(BM25Retriever.build([Passage(id="p#0", text="Paris is in France.")]), trained)
    assert isinstance(system.answer(["Where is Paris?"])[0].text, str)
    after = trained.model.state_dict()
    assert all(torch.equal(before[k], after[k]) for k in before if k.startswith("model.layers.0."))
    assert any(not torch.equal(before[k], after[k]) for k in before if k.startswith("model.layers.1."))


def test_contextual_on_a_system_reports_it_as_served(tmp_path, tiny_system):
    """With a system: the best dev-select step is kept, and the report answers dev questions end to end with the
    system's own generator and with the tuned one, with the gates."""
    from ragadapt.training import routine
    from ragadapt.training.config import from_dict, ContextualConfig

    cfg = from_dict(ContextualConfig, {
        "system": str(tiny_system), "output_dir": str(tmp_path / "ctx"), "recipe": "template", "max_train": 16,
        "max_test": 2, "max_length": 256, "general_texts": 2, "dev_set": "dev-test", "max_answer_eval": 3,
        "dev_select_max": 2, "trainer": {"max_steps": 4, "save_steps": 2, "learning_rate": 3e-3}})
    result = routine("generator-contextual")(cfg)
    chosen = json.loads((result.final_dir / "manifest.json").read_text())["dev_select"]
    assert set(chosen["scores"]) == {"0", "2", "4"}
    report = json.loads((tmp_path / "ctx" / "report.json").read_text())
    assert set(report["served"]) == {"before", "after"} and report["served"]["after"]["dev-test"]["answered"] == 3
    assert "abstained" in report["served"]["before"]["dev-test"]
    assert "dev-test" in report["gates"]["answers"]["after"] and "false_abstention" in report["gates"]
    assert report["provenance"]["inputs"]["system"]["sha256"]
    text = (tmp_path / "ctx" / "report.md").read_text()
    assert "end to end" in text and "Gates:" in text
    assert json.loads((result.system_dir / "manifest.json").read_text())["components"]["generator"]


def test_contextual_merge_reports_the_merged_generator(tmp_path, tiny_system, monkeypatch):
    """merge: the gates judge the merged generator ("after"); the run's own (unmerged) generator is not answered
    at all, and the "before" rows measured before the merge are reused, not answered again."""
    from ragadapt.eval import faithfulness
    from ragadapt.training import routine
    from ragadapt.training.config import from_dict, ContextualConfig

    judged = []
    real = faithfulness.evaluate_faithfulness

    def counted(generator, examples, **kw):
        judged.append(generator)
        return real(generator, examples, **kw)

    monkeypatch.setattr(faithfulness, "evaluate_faithfulness", counted)
    cfg = from_dict(ContextualConfig, {
        "system": str(tiny_system), "output_dir": str(tmp_path / "ctx"), "recipe": "template", "max_train": 16,
        "max_test": 2, "max_length": 256, "general_texts": 2, "dev_set": "dev-test", "max_answer_eval": 2,
        "dev_select": None, "merge": 0.5, "trainer": {"max_steps": 2, "learning_rate": 3e-3}})
    result = routine("generator-contextual")(cfg)
    out = tmp_path / "ctx"
    assert result.system_dir == out / "system" and json.loads((out / "merge.json").read_text())["alpha"] == 0.5
    report = json.loads((out / "report.json").read_text())
    assert list(report["served"]) == ["before", "after"] and "unmerged" not in report
    assert "after" in report["gates"]["answers"] and "false_abstention" in report["gates"]
    assert len(judged) == 2  # before once, the merged generator once
    assert (out / "served" / "after" / "dev-test" / "predictions.jsonl").is_file()
    text = (out / "report.md").read_text()
    assert "## Merge (WiSE-FT)" in text and "Gates:" in text


def test_merge_auto_takes_alpha_0_from_the_runs_own_before_answers(tmp_path, tiny_system, monkeypatch):
    """Alpha 0 is the input system, which the report answered dev-select with already: the merge scores only the
    other alphas, and records the report's number for alpha 0."""
    from ragadapt.training import merge, routine
    from ragadapt.training.config import from_dict, ContextualConfig

    scored = []
    real = merge.answer_score

    def counted(examples, metric="contains"):
        score = real(examples, metric)

        def spy(system_dir):
            scored.append(system_dir.name)
            return score(system_dir)
        return spy

    monkeypatch.setattr(merge, "answer_score", counted)
    cfg = from_dict(ContextualConfig, {
        "system": str(tiny_system), "output_dir": str(tmp_path / "ctx"), "recipe": "template", "max_train": 16,
        "max_test": 2, "max_length": 256, "general_texts": 2, "dev_set": "dev-select", "max_answer_eval": 2,
        "dev_select": None, "merge": "auto", "merge_dev": "dev-select", "merge_max": 2, "merge_grid": [0.0, 1.0],
        "trainer": {"max_steps": 2, "learning_rate": 3e-3}})
    routine("generator-contextual")(cfg)
    record = json.loads((tmp_path / "ctx" / "merge.json").read_text())
    before = json.loads((tmp_path / "ctx" / "report.json").read_text())["served"]["before"]["dev-select"]
    assert scored == ["alpha-1.0"] and record["dev_scores"]["0.0"] == before["contains"]


def test_eval_faithfulness_cli(tmp_path, tiny_generator_dir, capsys):
    from ragadapt.cli.main import main
    from ragadapt.corpora.contexts import ContextBuilder
    from ragadapt.corpora.qa_recipes import QATriple

    seurat = Passage(id="j#0", doc_id="j", title="Jatte", text="La Grande Jatte is a painting by Georges Seurat.")
    eiffel = Passage(id="e#0", doc_id="e", title="Eiffel", text="The tower was built by Gustave Eiffel.")
    neg = [Passage(id="n#0", doc_id="n", text="Rivers flow to the sea.")]
    triples = [QATriple("Who painted La Grande Jatte?", "Georges Seurat", seurat, "person"),
               QATriple("Who built the tower?", "Gustave Eiffel", eiffel, "person")]
    examples = ContextBuilder(lambda ts, k: [neg for _ in ts], k=2).build(triples, all_kinds=True)
    data = tmp_path / "test.jsonl"
    data.write_text("".join(json.dumps(e.to_dict()) + "\n" for e in examples))
    assert main(["-q", "eval", "--faithfulness", "--data", str(data), "--generator", str(tiny_generator_dir),
                 "--generator", str(tiny_generator_dir), "--general-texts", "2", "--out", str(tmp_path / "rep")]) == 0
    out = capsys.readouterr().out
    assert "| abstention on unanswerable |" in out and "| general-text NLL (forgetting) |" in out
    report = json.loads((tmp_path / "rep" / "report.json").read_text())
    assert len(report["summaries"]) == 1  # same name twice: one column
    assert report["provenance"]["inputs"]["data"]["sha256"]
    rows = [json.loads(line) for line in (tmp_path / "rep" / "predictions.jsonl").read_text().splitlines()]
    assert len(rows) == 2 * len(examples) and {"generator", "kind"} <= set(rows[0])  # every answer, per generator
    assert main(["eval", "--faithfulness"]) == 2


def test_own_targets_keep_the_models_answer_only_when_it_is_right():
    from ragadapt.corpora.contexts import ContextExample
    from ragadapt.prompts import RAGPrompt
    from ragadapt.training.contextual import own_answers, own_targets

    p = Passage(id="t#0", doc_id="t", title="Tower", text="The tower was built by Gustave Eiffel in 1889.")
    base = {"question": "Who built the tower?", "original": "Gustave Eiffel", "doc_id": "t", "passages": [p]}
    examples = [ContextExample("clean", target="Gustave Eiffel", answers=["Gustave Eiffel"], **base),
                ContextExample("noisy", target="Gustave Eiffel", answers=["Gustave Eiffel"], **base),
                ContextExample("counterfactual", target="Ada Lovelace", answers=["Ada Lovelace"], edited="Ada Lovelace",
                               **base),
                ContextExample("counterfactual", target="Ada Lovelace", answers=["Ada Lovelace"], edited="Ada Lovelace",
                               **base),
                ContextExample("unanswerable", target="I don't know.", answers=["I don't know."], **base)]
    replies = iter(["It was built by Gustave Eiffel.", "I don't know.", "Ada Lovelace built it.",
                    "Gustave Eiffel, not Ada Lovelace.", "Gustave Eiffel built it in 1889."])

    class Scripted:
        def count_tokens(self, text):
            return len(text.split())

        def generate(self, prompts, **_):
            return [next(replies) for _ in prompts]

    answers = own_answers(examples, Scripted(), RAGPrompt(), max_new_tokens=48)
    assert answers[4] == "Gustave Eiffel built it in 1889."  # asked on unanswerable contexts too (DPO rejects it)
    out, kept = own_targets(examples, answers)
    assert [e.target for e in out] == ["It was built by Gustave Eiffel.", "Gustave Eiffel", "Ada Lovelace built it.",
                                       "Ada Lovelace", "I don't know."]
    assert kept == {"clean": 1, "counterfactual": 1}


def test_dpo_pairs_mirror_each_perturbed_context_on_its_clean_twin(tmp_path):
    """A paired unanswerable or counterfactual context gives two pairs: the faithful answer over the parametric one
    on the perturbed passage, and the twin's answer over the abstention / the edit on the gold passage."""
    from ragadapt.jsonl import write_jsonl
    from ragadapt.training.contextual import dpo_pairs

    def row(kind, question, target, original="Seurat", edited=None, own=None):
        msgs = [{"role": "user", "content": f"{question} [{kind}]"}, {"role": "assistant", "content": target}]
        return {"messages": msgs, "kind": kind, "question": question, "original": original, "edited": edited,
                "own": own}

    rows = [row("clean", "who painted it?", "Georges Seurat painted it."),
            row("unanswerable", "who painted it?", ABSTAIN, own="It was painted by Monet."),  # own: rejected
            row("clean", "who built it?", "Eiffel built it.", original="Eiffel"),
            row("counterfactual", "who built it?", "Monet", original="Eiffel", edited="Monet",
                own="Monet built it."),  # follows the edit: not what to reject, the original span is
            row("unanswerable", "unpaired?", ABSTAIN, original="Paris", own="I don't know."),
            row("counterfactual", "who wrote it?", "Byron", original="Keats", edited="Byron", own="Keats wrote it."),
            row("noisy", "other?", "Lyon", original="Lyon")]
    path = tmp_path / "train.jsonl"
    write_jsonl(path, rows)
    pairs = {(p["prompt"][0]["content"], p["chosen"][0]["content"], p["rejected"][0]["content"])
             for p in dpo_pairs(path)}
    assert pairs == {
        ("who painted it? [unanswerable]", ABSTAIN, "It was painted by Monet."),
        ("who painted it? [clean]", "Georges Seurat painted it.", ABSTAIN),
        ("who built it? [counterfactual]", "Monet", "Eiffel"),
        ("who built it? [clean]", "Eiffel built it.", "Monet"),
        ("unpaired? [unanswerable]", ABSTAIN, "Paris"),
        ("who wrote it? [counterfactual]", "Byron", "Keats wrote it."),
    }


def test_dpo_alone_from_the_starting_model(tmp_path, tiny_generator_dir):
    """sft: false trains DPO only, from the starting model, towards the configured abstention reply; training nothing
    at all, or an abstention reply the metric would not count, is one line naming the field."""
    import json

    from ragadapt.errors import DataFormatError
    from ragadapt.training import ContextualConfig
    from ragadapt.training.config import from_dict
    from ragadapt.training.contextual import train_contextual

    fields = {"model": str(tiny_generator_dir), "system": None, "output_dir": str(tmp_path / "ctx"), "corpus": "wiki",
              "max_documents": 300, "max_train": 24, "max_test": 2, "max_length": 256, "max_passage_chars": 200,
              "paired": ["unanswerable", "counterfactual"], "general_texts": 2, "dev_select": None, "evaluate": False,
              "sft": False, "dpo": True, "dpo_trainer": {"max_steps": 3, "learning_rate": 1e-4, "logging_steps": 1},
              "abstain_reply": "The passage does not mention it."}
    result = train_contextual(from_dict(ContextualConfig, fields))
    rows = [json.loads(line) for line in (tmp_path / "ctx" / "data" / "train.jsonl").read_text().splitlines()]
    pairs = [json.loads(line) for line in (tmp_path / "ctx" / "data" / "pairs.jsonl").read_text().splitlines()]
    assert {r["messages"][-1]["content"] for r in rows if r["kind"] == "unanswerable"} == {fields["abstain_reply"]}
    assert any(p["chosen"][0]["content"] == fields["abstain_reply"] for p in pairs)
    assert any(p["rejected"][0]["content"] == fields["abstain_reply"] for p in pairs)  # on a clean twin
    assert not (tmp_path / "ctx" / "sft").exists() and result.final_dir == tmp_path / "ctx" / "dpo" / "final"
    manifest = json.loads((result.final_dir / "manifest.json").read_text())
    assert manifest["base_model"] == str(tiny_generator_dir)
    with pytest.raises(DataFormatError, match="sft"):
        train_contextual(from_dict(ContextualConfig, {**fields, "dpo": False}))
    with pytest.raises(DataFormatError, match="abstain_reply"):
        train_contextual(from_dict(ContextualConfig, {**fields, "abstain_reply": "Paris."}))


def test_abstain_rate_calibrates_the_rule_on_dev_select_and_the_system_serves_it(tmp_path, tiny_system):
    """`abstain_rate`: after training, the threshold is set on the dev-select questions as the system serves them so
    that at most that share is declined; it is stored with the tuned generator, so the report's "after" and the
    composed system both answer under it. Without a system to calibrate through it is one line naming the field."""
    from ragadapt.errors import DataFormatError
    from ragadapt.generation import TransformersGenerator
    from ragadapt.generation.abstain import Abstaining, rule_of
    from ragadapt.system import RAGSystem
    from ragadapt.training import routine
    from ragadapt.training.config import ContextualConfig, from_dict

    fields = {"system": str(tiny_system), "output_dir": str(tmp_path / "ctx"), "recipe": "template",
              "max_train": 12, "max_test": 2, "max_length": 256, "general_texts": 0, "dev_set": None,
              "dev_select_max": 4, "sft": False, "dpo": True, "abstain_rate": 0.5, "evaluate": False,
              "dpo_trainer": {"max_steps": 2, "save_steps": 2, "learning_rate": 1e-4}}
    result = routine("generator-contextual")(from_dict(ContextualConfig, fields))
    rule = rule_of(result.final_dir)
    assert rule is not None and rule.reply == "I don't know." and result.stats["abstention"]["threshold"] == \
        rule.threshold
    assert isinstance(TransformersGenerator.load(result.final_dir), Abstaining)
    served = RAGSystem.load(result.system_dir)
    assert isinstance(served.generator, Abstaining) and served.generator.rule == rule
    with pytest.raises(DataFormatError, match="abstain_rate"):
        routine("generator-contextual")(from_dict(ContextualConfig, {**fields, "system": None, "dev_select": None,
                                                                    "output_dir": str(tmp_path / "x")}))


def test_with_merge_the_rule_is_calibrated_on_the_merged_generator(tmp_path, tiny_system):
    """`merge:` with `abstain_rate`: the run's own generator gets no rule (its weights are not what is handed on);
    the merged one gets a rule set on its own dev-select margins, and the system handed on serves it."""
    from ragadapt.generation.abstain import Abstaining, rule_of
    from ragadapt.system import RAGSystem
    from ragadapt.training import routine
    from ragadapt.training.config import ContextualConfig, from_dict
    from ragadapt.training.merge import component_dir

    fields = {"system": str(tiny_system), "output_dir": str(tmp_path / "ctx"), "recipe": "template",
              "max_train": 12, "max_test": 2, "max_length": 256, "general_texts": 0, "dev_set": None,
              "dev_select_max": 4, "sft": False, "dpo": True, "abstain_rate": 0.5, "evaluate": False, "merge": 0.5,
              "dpo_trainer": {"max_steps": 2, "save_steps": 2, "learning_rate": 1e-4}}
    result = routine("generator-contextual")(from_dict(ContextualConfig, fields))
    assert rule_of(result.final_dir) is None and "abstention" not in result.stats
    served = RAGSystem.load(result.system_dir)
    assert Path(result.system_dir) == tmp_path / "ctx" / "system"  # the merged system is what is handed on
    rule = rule_of(component_dir(Path(result.system_dir), "generator")[0])
    assert rule is not None and isinstance(served.generator, Abstaining) and served.generator.rule == rule
