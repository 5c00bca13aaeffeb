"""`ragadapt train pipeline` on tiny models: every routine, each from the previous stage's system.

Each stage's system holds every component; only the adapted component's checksum changes; the next stage
scores with the previous stage's generator; a moved system loads; a rerun reuses finished stages and reruns a
stage whose config changed (and the stages after it)."""

import json
import shutil
from pathlib import Path

import pytest
import torch


def _components(system_dir):
    return json.loads((system_dir / "manifest.json").read_text())["components"]


def _config(tmp_path, system, tiny_embedder_dir, tiny_generator_dir, bridge_lr=3e-3):
    from ragadapt.training import PipelineConfig
    from ragadapt.training.config import from_dict

    qa = tmp_path / "qa.jsonl"
    qa.write_text(json.dumps({"question": "What is the Sun?", "answers": ["star"]}) + "\n" +
                  json.dumps({"question": "What is water?", "answers": ["liquid"]}) + "\n")
    fast = {"logging_steps": 1, "save_steps": 1000}
    stages = [
        {"name": "contextual", "method": "generator-contextual", "fields": {
            "max_documents": 300, "max_train": 16, "max_test": 2, "max_length": 256, "max_passage_chars": 200,
            "evaluate": False, "trainer": {"max_steps": 2, "learning_rate": 3e-3, **fast}}},
        {"name": "retriever", "method": "retriever-replug", "fields": {
            "max_train": 24, "max_test": 4, "k": 4, "rounds": 1, "max_answer_eval": 0, "dev_set": None,
            "dev_select": None, "scorer_dtype": "fp32", "trainer": {"num_train_epochs": 1, "per_device_train_batch_size": 8,
                                                "learning_rate": 3e-3, **fast}}},
        {"name": "ra-dit", "method": "ra-dit", "fields": {  # LM-ft only here: R-ft is the retriever stage's LSR
            "max_train": 16, "max_test": 2, "k": 4, "train_retriever": False, "lm_k": 2, "lm_max_train": 8,
            "lm_max_length": 256, "lm_dev_select": None, "dev_set": None, "dev_select": None, "max_answer_eval": 0,
            "evaluate": False, "scorer_dtype": "fp32",
            "lm_trainer": {"max_steps": 2, "learning_rate": 3e-3, **fast}}},
        {"name": "reranker", "method": "reranker", "fields": {
            "model": str(tiny_embedder_dir), "max_train": 16, "max_test": 4, "k": 4, "max_answer_eval": 0,
            "dev_set": None, "dev_select": None, "max_length": 96, "scorer_dtype": "fp32", "evaluate": False,
            "trainer": {"num_train_epochs": 1, "per_device_train_batch_size": 4, "learning_rate": 5e-3, **fast}}},
        {"name": "bridge", "method": "bridge", "fields": {
            "model": str(tiny_generator_dir), "max_train": 8, "max_test": 2, "k": 3, "silver_max_len": 1,
            "passage_tokens": 16, "max_length": 384, "max_answer_eval": 2, "dev_set": None, "dev_select": None,
            "rl": False,
            "evaluate": False, "scorer_dtype": "fp32",
            "sft_trainer": {"max_steps": 2, "learning_rate": bridge_lr, **fast}}},
        {"name": "agent", "method": "agent", "fields": {
            # many warm-up questions and wide searches: the tiny random retriever must show some answer, so that
            # expert episodes exist and the warm-up changes the policy
            "recipe": "template", "max_train": 60, "warmup_examples": 56, "max_test": 2, "k": 12, "max_steps": 1,
            "snippet_words": 48, "max_new_tokens": 8, "evaluate": False, "dev_select": None,
            "warmup_trainer": {"max_steps": 2, "learning_rate": 1e-2, **fast},
            # decoupled weight decay moves the policy even when every episode of the random tiny model scores
            # alike (GRPO's advantages are then 0): the test checks the plumbing, not the learning
            "trainer": {"max_steps": 1, "num_generations": 2, "per_device_train_batch_size": 2, "learning_rate": 1e-2,
                        "weight_decay": 0.5, **fast}}},
    ]
    return from_dict(PipelineConfig, {"system": str(system), "output_dir": str(tmp_path / "pipe"), "stages": stages,
                                      "eval_sets": {"qa": str(qa)}, "max_eval": 2, "ks": [1, 2],
                                      "faithfulness_max": 5})


ADAPTS = {"contextual": "generator", "retriever": "retriever", "ra-dit": "generator", "reranker": "reranker",
          "bridge": "bridge", "agent": "generator"}


def test_pipeline_chains_every_routine(tmp_path, tiny_system, tiny_embedder_dir, tiny_generator_dir):
    from ragadapt.system import RAGSystem
    from ragadapt.training.compose import generator_tag
    from ragadapt.training.pipeline import run_pipeline

    cfg = _config(tmp_path, tiny_system, tiny_embedder_dir, tiny_generator_dir)
    result = run_pipeline(cfg)
    pipe = tmp_path / "pipe"
    previous = _components(tiny_system)
    for n, name in enumerate(ADAPTS, start=1):
        system_dir = pipe / f"{n:02d}-{name}" / "system"
        parts = _components(system_dir)
        assert {"retriever", "generator"} <= set(parts)  # nothing is dropped on the way
        for component, part in parts.items():
            if component == ADAPTS[name]:
                assert part["checksum"] != previous.get(component, {}).get("checksum"), (name, component)
                assert part["provenance"]["run"] == str(pipe / f"{n:02d}-{name}")
            else:  # carried over byte for byte
                assert part["checksum"] == previous[component]["checksum"], (name, component)
        previous = parts
    assert set(_components(result.system_dir)) == {"retriever", "reranker", "bridge", "generator"}
    # the retriever stage scored with the contextual stage's generator, not the base one
    report = json.loads((pipe / "02-retriever" / "report.json").read_text())
    assert report["scorer"] == str(pipe / "01-contextual" / "system" / "generator")
    assert generator_tag(report["scorer"]) != generator_tag(str(tiny_system / "generator"))
    comparison = json.loads((pipe / "report.json").read_text())["systems"]
    assert list(comparison) == ["base"] + [f"{n:02d} {name}" for n, name in enumerate(ADAPTS, start=1)]
    assert all(row["qa"]["n"] == 2 and "answerable_contains" in row["faithfulness"] for row in comparison.values())
    assert "| base | qa | 2 |" in (pipe / "report.md").read_text()
    # a system moved elsewhere still loads (no absolute paths inside)
    moved = tmp_path / "moved"
    shutil.copytree(result.system_dir, moved)
    loaded = RAGSystem.load(moved, device="cpu")
    assert loaded.reranker is not None and loaded.bridge is not None and loaded.generator is not None

    # a rerun reuses every finished stage
    cfg.evaluate = False
    again = run_pipeline(cfg)
    assert again.global_step == 0 and again.system_dir == result.system_dir
    # a stage whose config changed runs again, and so do the stages after it; the ones before are reused
    changed = _config(tmp_path, tiny_system, tiny_embedder_dir, tiny_generator_dir, bridge_lr=1e-3)
    changed.evaluate = False
    stamp = {n: (pipe / f"{i:02d}-{n}" / "stage.json").stat().st_mtime_ns for i, n in enumerate(ADAPTS, start=1)}
    third = run_pipeline(changed)
    assert third.global_step > 0
    after = {n: (pipe / f"{i:02d}-{n}" / "stage.json").stat().st_mtime_ns for i, n in enumerate(ADAPTS, start=1)}
    assert [after[n] != stamp[n] for n in ADAPTS] == [False, False, False, False, True, True]


def test_a_stage_can_merge_its_component_with_its_input(tmp_path, tiny_system):
    """`merge` is the routine's own field: a stage sets it in its `fields`, and the stage hands on the merged
    system (OUTPUT_DIR/system; the run's own is OUTPUT_DIR/unmerged-system)."""
    from safetensors.torch import load_file

    from ragadapt.training import PipelineConfig
    from ragadapt.training.config import from_dict
    from ragadapt.training.pipeline import run_pipeline

    stage = {"name": "sft", "method": "sft", "fields": {
        "merge": 0.5, "data": [{"path": "wiki-qa", "limit": 16}], "max_length": 512,
        "trainer": {"max_steps": 2, "learning_rate": 1e-2, "logging_steps": 1}}}
    cfg = from_dict(PipelineConfig, {"system": str(tiny_system), "output_dir": str(tmp_path / "p"), "stages": [stage],
                                     "evaluate": False})
    result = run_pipeline(cfg)
    stage_dir = tmp_path / "p" / "01-sft"
    assert result.system_dir == stage_dir / "system"
    assert json.loads((stage_dir / "merge.json").read_text())["alpha"] == 0.5
    weights = {name: load_file(str(d / "generator" / "model.safetensors")) for name, d in (
        ("base", tiny_system), ("adapted", stage_dir / "unmerged-system"), ("merged", result.system_dir))}
    name = next(k for k in weights["merged"] if not torch.equal(weights["base"][k], weights["adapted"][k]))
    assert torch.equal(weights["merged"][name], torch.lerp(weights["base"][name], weights["adapted"][name], 0.5))
    # a rerun with another merge reuses nothing of the stage: it must hand on another system
    stamp = (stage_dir / "stage.json").stat().st_mtime_ns
    cfg.stages[0].fields["merge"] = 1.0
    run_pipeline(cfg)
    assert (stage_dir / "stage.json").stat().st_mtime_ns != stamp
    bad = from_dict(PipelineConfig, {"system": str(tiny_system), "output_dir": str(tmp_path / "q"), "evaluate": False,
                                     "stages": [{"method": "bridge", "fields": {"merge": 0.5}}]})
    with pytest.raises(Exception, match="nothing to merge it towards"):
        run_pipeline(bad)


def test_the_comparison_reuses_the_results_of_a_system_handed_on_unchanged(tmp_path, tiny_system):
    """A stage that hands on its input (a guard kept step 0, merge chose alpha 0) has the same components: its row
    is the earlier one's, not a second evaluation of the same greedy answers."""
    from ragadapt.training import PipelineConfig
    from ragadapt.training.config import from_dict
    from ragadapt.training.pipeline import compare_systems

    qa = tmp_path / "qa.jsonl"
    qa.write_text(json.dumps({"question": "What is the Sun?", "answers": ["star"]}) + "\n")
    handed_on = tmp_path / "stage" / "system"
    shutil.copytree(tiny_system, handed_on)
    manifest = json.loads((handed_on / "manifest.json").read_text())
    manifest["components"]["generator"]["provenance"] = {"method": "sft", "run": "elsewhere"}  # made by another run
    (handed_on / "manifest.json").write_text(json.dumps(manifest))
    cfg = from_dict(PipelineConfig, {"system": str(tiny_system), "output_dir": str(tmp_path / "p"), "max_eval": 1,
                                     "eval_sets": {"qa": str(qa)}, "ks": [1], "stages": [{"method": "sft"}]})
    report = compare_systems(cfg, {"base": tiny_system, "01 sft": handed_on})
    assert report["01 sft"]["same_as"] == "base" and report["01 sft"]["qa"] == report["base"]["qa"]
    assert report["01 sft"]["system"] == str(handed_on)
    assert not (tmp_path / "p" / "eval" / "01-sft").exists()  # not evaluated a second time
    assert "| 01 sft (= base) | qa | 1 |" in (tmp_path / "p" / "report.md").read_text()


def test_a_stage_that_handed_its_input_on_is_not_merged(tmp_path, tiny_system, monkeypatch):
    """merge: auto on a run whose system is its input's (its guard kept step 0) answers no dev questions."""
    from types import SimpleNamespace

    from ragadapt.training.merged_run import merge_run

    monkeypatch.setattr("ragadapt.training.merge.answer_score", lambda *a, **k: pytest.fail("merged the same weights"))
    handed_on = tmp_path / "01-sft" / "system"
    shutil.copytree(tiny_system, handed_on)
    cfg = SimpleNamespace(output_dir=str(tmp_path / "01-sft"), merge="auto", merge_dev="dev-select", merge_max=2,
                          merge_grid=[0.0, 1.0])
    assert merge_run(cfg, tiny_system, handed_on) == handed_on
    assert "no component differs" in json.loads((tmp_path / "01-sft" / "merge.json").read_text())["skipped"]
    assert not (tmp_path / "01-sft" / "unmerged-system").exists()


def test_a_merge_at_alpha_0_hands_the_input_on(tmp_path, tiny_system):
    """alpha 0 is the input's weights: the merged system has the input's checksums, so the comparison reuses its
    row instead of answering the same questions with a re-saved copy."""
    from ragadapt.training import PipelineConfig
    from ragadapt.training.config import from_dict
    from ragadapt.training.pipeline import run_pipeline

    stage = {"name": "sft", "method": "sft", "fields": {
        "merge": 0.0, "data": [{"path": "wiki-qa", "limit": 8}], "max_length": 512,
        "trainer": {"max_steps": 1, "learning_rate": 1e-2, "logging_steps": 1}}}
    cfg = from_dict(PipelineConfig, {"system": str(tiny_system), "output_dir": str(tmp_path / "p"), "stages": [stage],
                                     "evaluate": False})
    result = run_pipeline(cfg)
    parts = [json.loads((Path(d) / "manifest.json").read_text())["components"] for d in (tiny_system, result.system_dir)]
    assert {n: p.get("checksum") for n, p in parts[0].items()} == {n: p.get("checksum") for n, p in parts[1].items()}
