"""Weight-space merging: alpha 0 is the base and alpha 1 the adapted component, bit for bit; a merged system
carries the other components over; auto picks the best alpha on a scripted dev metric."""

import json

import pytest
import torch


@pytest.fixture
def two_systems(tmp_path, corpus_docs, tiny_embedder_dir, tiny_generator_dir):
    from ragadapt.system import RAGSystem

    base = RAGSystem.build(corpus_docs[:6], embedder=str(tiny_embedder_dir), generator=str(tiny_generator_dir),
                           chunk_tokens=60, device="cpu", show_progress=False)
    base.save(tmp_path / "base")
    adapted = RAGSystem.load(tmp_path / "base", device="cpu")
    with torch.no_grad():
        for p in adapted.generator.model.parameters():
            p.add_(0.25)
    adapted.replace("generator", adapted.generator, provenance={"method": "test"})
    adapted.save(tmp_path / "adapted")
    return tmp_path / "base", tmp_path / "adapted"


def _weights(system_dir):
    from safetensors.torch import load_file

    return load_file(str(system_dir / "generator" / "model.safetensors"))


@pytest.mark.parametrize("alpha", [0.0, 1.0, 0.5])
def test_merge_interpolates_and_carries_the_rest(tmp_path, two_systems, alpha):
    from ragadapt.system import RAGSystem
    from ragadapt.training.merge import merge_systems

    base, adapted = two_systems
    out = merge_systems(base, adapted, "generator", alpha, tmp_path / f"m{alpha}")
    merged, b, a = _weights(out), _weights(base), _weights(adapted)
    for name, tensor in merged.items():
        expected = b[name] if alpha == 0 else a[name] if alpha == 1 else torch.lerp(b[name], a[name], alpha)
        assert torch.equal(tensor, expected), name  # bitwise at 0 and 1
    parts = json.loads((out / "manifest.json").read_text())["components"]
    assert parts["retriever"]["checksum"] == json.loads((adapted / "manifest.json").read_text())["components"][
        "retriever"]["checksum"]
    assert parts["generator"]["provenance"]["merge"]["alpha"] == alpha
    from ragadapt.system import describe

    assert f"merged back at alpha {alpha} towards {base}'s" in describe(out)  # `ragadapt system show` says so
    assert RAGSystem.load(out, device="cpu").generator is not None  # verified against its manifest, loads


@pytest.mark.parametrize("alpha", [0.5, 1.0])
def test_an_abstention_rule_is_carried_only_to_the_same_weights(tmp_path, two_systems, alpha):
    """A likelihood-ratio threshold belongs to the weights it was set on: alpha 1 keeps them (and the rule), any
    other alpha makes new weights, which get no rule until one is calibrated for them."""
    from ragadapt.generation.abstain import AbstentionRule, rule_of, store_rule
    from ragadapt.system import RAGSystem
    from ragadapt.training.merge import merge_systems

    base, adapted = two_systems
    rule = AbstentionRule("I don't know.", threshold=0.5)
    store_rule(adapted / "generator", rule)
    out = merge_systems(base, adapted, "generator", alpha, tmp_path / "merged")
    assert rule_of(out / "generator") == (rule if alpha == 1.0 else None)
    RAGSystem.load(out, device="cpu")  # its files still match its manifests


def test_auto_alpha_picks_the_best_dev_select_score_and_ties_go_to_the_base():
    from ragadapt.training.merge import choose_alpha

    scripted = {0.0: 0.40, 0.25: 0.52, 0.5: 0.55, 0.75: 0.55, 1.0: 0.30}
    assert choose_alpha(scripted.__getitem__)[0] == 0.5
    assert choose_alpha(lambda a: 0.5)[0] == 0.0
    # with a tolerance: the most of the adaptation that stays within it of alpha 0
    falling = {0.0: 0.60, 0.25: 0.62, 0.5: 0.595, 0.75: 0.58, 1.0: 0.50}
    assert choose_alpha(falling.__getitem__, tolerance=0.01)[0] == 0.5
    assert choose_alpha(falling.__getitem__, tolerance=0.0)[0] == 0.25
    with pytest.raises(Exception, match="put 0 in merge_grid"):
        choose_alpha(falling.__getitem__, grid=[0.5, 1.0], tolerance=0.01)


def test_merge_cli_with_a_fixed_alpha(tmp_path, two_systems, capsys):
    from ragadapt.cli.main import main

    base, adapted = two_systems
    assert main(["system", "merge", str(base), str(adapted), "--component", "generator", "--alpha", "0.25",
                 "--out", str(tmp_path / "cli")]) == 0
    assert "merged generator at alpha 0.25" in capsys.readouterr().out
    assert main(["system", "merge", str(base), str(adapted), "--component", "generator", "--alpha", "0.25",
                 "--out", str(tmp_path / "cli")]) == 2  # an existing system is not replaced unless asked
    assert main(["system", "merge", str(base), str(adapted), "--component", "bridge", "--alpha", "0.5",
                 "--out", str(tmp_path / "none")]) == 2


def test_merge_cli_names_a_directory_that_is_not_a_system(tmp_path, two_systems, capsys):
    from ragadapt.cli.main import main

    base, _ = two_systems
    for args in ([str(base), str(tmp_path / "missing")], [str(tmp_path / "missing"), str(base)]):
        assert main(["system", "merge", *args, "--component", "retriever", "--alpha", "auto",
                     "--out", str(tmp_path / "out")]) == 2
        err = capsys.readouterr().err
        assert "missing is not a saved system (no manifest.json)" in err and "Traceback" not in err
    assert not (tmp_path / "out").exists()


def test_merge_cli_tolerance_keeps_the_most_that_does_not_lose(tmp_path, two_systems, capsys, monkeypatch):
    import re

    import ragadapt.training.merge as merge
    from ragadapt.cli.main import main

    falling = {0.0: 0.60, 0.25: 0.62, 0.5: 0.595, 0.75: 0.58, 1.0: 0.50}  # by the candidate's folder name
    monkeypatch.setattr(merge, "answer_score", lambda examples, metric="contains": lambda d: falling[
        float(re.search(r"a([\d.]+)$", str(d)).group(1))])
    base, adapted = two_systems
    args = ["system", "merge", str(base), str(adapted), "--component", "generator", "--limit", "1"]
    assert main(args + ["--out", str(tmp_path / "best")]) == 0
    assert "merged generator at alpha 0.25" in capsys.readouterr().out
    assert main(args + ["--tolerance", "0.01", "--out", str(tmp_path / "tol")]) == 0
    assert "merged generator at alpha 0.5" in capsys.readouterr().out
