import json

import yaml

from ragadapt.cli.main import main


def test_train_sft_from_yaml_with_overrides(tmp_path, tiny_generator_dir, capsys):
    data = tmp_path / "chat.jsonl"
    data.write_text("".join(json.dumps({"prompt": f"Say {w}.", "completion": w}) + "\n" for w in ["yes", "no", "maybe"] * 4))
    config = tmp_path / "sft.yaml"
    config.write_text(yaml.safe_dump({"model": str(tiny_generator_dir), "output_dir": str(tmp_path / "run"),
                                      "data": [{"path": str(data)}], "max_length": 32}))
    assert main(["-q", "train", "sft", "--config", str(config), "trainer.max_steps=3", "trainer.learning_rate=1e-3",
                 "--print-config"]) == 0
    printed = yaml.safe_load(capsys.readouterr().out)
    assert printed["trainer"] == {"max_steps": 3, "learning_rate": 1e-3} and printed["masking"] == "assistant"
    assert main(["-q", "train", "sft", "--config", str(config), "trainer.max_steps=3"]) == 0
    assert "sft: 3 steps; model:" in capsys.readouterr().out
    assert (tmp_path / "run" / "final" / "model.safetensors").exists()
    assert (tmp_path / "run" / "loss.png").exists()


def test_train_errors_are_clean(tmp_path, capsys):
    assert main(["train", "dpo", "--config", str(tmp_path / "missing.yaml")]) == 2
    assert "missing.yaml: no such config file" in capsys.readouterr().err
    assert main(["train", "grpo", "rewards=[bleu]", "data=[{path: x.jsonl}]"]) == 2
