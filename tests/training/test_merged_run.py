"""`merge:` on a standalone routine: OUTPUT_DIR/system is the run's system merged towards its input at the alpha
chosen on dev questions, the run's own is kept, the report gains the merged system as a gated stage; a merge
that cannot be honoured stops before training."""

import json
import re

import pytest
import torch


class AnswerSpotter(torch.nn.Module):
    """A frozen 'LM' that prefers passages holding the answer (the tiny random LM's preferences are flat)."""

    def count_tokens(self, text):
        return len(text.split())

    def loglikelihood(self, prompts, targets, batch_size=8):
        return torch.tensor([0.0 if t in p[-1]["content"] else -5.0 for p, t in zip(prompts, targets)])


def _scripted_dev(monkeypatch, by_alpha):
    """The dev-select answer score of a candidate system is by_alpha[its alpha] (read from its folder name)."""
    import ragadapt.training.merge as merge

    def answer_score(examples, metric="contains"):
        return lambda system_dir: by_alpha[float(re.search(r"alpha-([\d.]+)", str(system_dir)).group(1))]

    monkeypatch.setattr(merge, "answer_score", answer_score)


def _replug(tmp_path, system, **extra):
    from ragadapt.training import ReplugConfig
    from ragadapt.training.config import from_dict

    return from_dict(ReplugConfig, {
        "system": str(system), "output_dir": str(tmp_path / "out"), "scorer_dtype": "fp32", "max_train": 24,
        "max_test": 4, "k": 4, "rounds": 1, "max_answer_eval": 0, "dev_set": None, "dev_select": None,
        "trainer": {"num_train_epochs": 2, "per_device_train_batch_size": 8, "learning_rate": 3e-3,
                    "logging_steps": 1, "save_steps": 1000}, **extra})


def _query_weights(system_dir):
    from safetensors.torch import load_file

    files = sorted((system_dir / "retriever").rglob("*.safetensors"))
    query = [f for f in files if "query_encoder" in f.parts] or files
    return load_file(str(query[0]))


def test_replug_merge_auto_hands_on_the_merged_system(tmp_path, tiny_system, tiny_embedder_dir, monkeypatch):
    from ragadapt.training import routine
    from ragadapt.training.retrieval import replug

    monkeypatch.setattr(replug, "load_scorer", lambda name, dtype="auto": AnswerSpotter())
    _scripted_dev(monkeypatch, {0.0: 0.1, 0.5: 0.3, 1.0: 0.2})
    cfg = _replug(tmp_path, tiny_system, merge="auto", merge_grid=[0.0, 0.5, 1.0], merge_max=2)
    result = routine("retriever-replug")(cfg)
    out = tmp_path / "out"
    assert result.system_dir == out / "system" and (out / "unmerged-system" / "manifest.json").is_file()
    record = json.loads((out / "merge.json").read_text())
    assert record["alpha"] == 0.5 and record["components"] == ["retriever"] and len(record["dev_scores"]) == 3
    from safetensors.torch import load_file

    base = load_file(str(tiny_embedder_dir / "model.safetensors"))
    adapted, merged = _query_weights(out / "unmerged-system"), _query_weights(out / "system")
    name = next(k for k in merged if k in base and not torch.equal(base[k], adapted[k]))
    assert torch.allclose(merged[name], torch.lerp(base[name], adapted[name], 0.5))
    parts = [json.loads((d / "manifest.json").read_text())["components"] for d in (tiny_system, out / "system")]
    assert parts[0]["generator"]["checksum"] == parts[1]["generator"]["checksum"]  # carried over
    report = json.loads((out / "report.json").read_text())
    assert "+ merge (alpha 0.50)" in report["stages"] and "+ merge (alpha 0.50)" in report["gates"]
    assert "## Merge (WiSE-FT)" in (out / "report.md").read_text()


def test_a_merge_that_cannot_be_honoured_stops_before_training(tmp_path, tiny_system, monkeypatch):
    from ragadapt.errors import DataFormatError
    from ragadapt.training import RerankerConfig, routine
    from ragadapt.training.config import from_dict
    from ragadapt.training.retrieval import replug

    monkeypatch.setattr(replug, "align_retriever", lambda *a, **k: pytest.fail("trained"))
    with pytest.raises(DataFormatError, match="number in \\[0, 1\\] or auto, got 'half' \\(field 'merge'\\)"):
        routine("retriever-replug")(_replug(tmp_path, tiny_system, merge="half"))
    reranker = from_dict(RerankerConfig, {"system": str(tiny_system), "output_dir": str(tmp_path / "r"), "merge": 0.5})
    with pytest.raises(DataFormatError, match="has no reranker: the run adds one"):
        routine("reranker")(reranker)
    assert not (tmp_path / "r").exists()


def test_a_new_merge_reuses_the_trained_run(tmp_path, tiny_system):
    """The merge fields are not part of the routine's fingerprint: the run is reused, only the merge changes."""
    from ragadapt.training import ReplugConfig
    from ragadapt.training.config import to_dict
    from ragadapt.training.fingerprint import make

    a, b = ReplugConfig(system=str(tiny_system)), ReplugConfig(system=str(tiny_system), merge="auto", merge_max=5)
    assert make(to_dict(a)) == make(to_dict(b))
