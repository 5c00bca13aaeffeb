import json

import pytest
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


CORE_CONFIGS = ["sft.yaml", "sft_lora.yaml", "sft_tiny.yaml", "cpt_replay.yaml", "cpt_llama_fin.yaml", "dpo.yaml",
                "grpo.yaml", "rloo.yaml"]


@pytest.mark.parametrize("name", CORE_CONFIGS)
def test_shipped_core_configs_run_as_shipped(name, tmp_path, tiny_generator_dir, capsys):
    """Every core config runs from a fresh clone with the data it names (made from the bundled corpus);
    only the model (a tiny one), the output folder and the length of the run are overridden."""
    from pathlib import Path

    config = Path(__file__).resolve().parents[2] / "configs" / "train" / name
    method = name.split("_")[0].removesuffix(".yaml")
    extra = ["trainer.max_completion_length=8", "trainer.num_generations=2",
             "trainer.per_device_train_batch_size=2"] if method in ("grpo", "rloo") else []
    rc = main(["-q", "train", method, "--config", str(config), f"model={tiny_generator_dir}",
               f"output_dir={tmp_path / 'run'}", "trainer.max_steps=1", "max_length=256", "freeze=[]", *extra])
    assert rc == 0, capsys.readouterr().err
    assert (tmp_path / "run" / "final" / "manifest.json").exists()
    assert not (tmp_path / "run" / "README.md").exists()  # TRL's model card goes with the model, in final/


def test_a_rerun_with_another_config_refuses_and_resume_never_retrains(tmp_path, tiny_generator_dir, capsys):
    config = ["--config", str(Path_configs() / "sft_tiny.yaml"), f"model={tiny_generator_dir}", "freeze=[]",
              f"output_dir={tmp_path / 'run'}", "trainer.max_steps=2", "trainer.save_steps=1", "max_length=256"]
    assert main(["-q", "train", "sft", *config]) == 0
    capsys.readouterr()
    assert main(["-q", "train", "sft", *config, "trainer.learning_rate=1e-3"]) == 2
    err = capsys.readouterr().err
    assert "made with other settings (config.trainer.learning_rate 5e-05 -> 0.001)" in err and "resume=never" in err
    assert main(["-q", "train", "sft", *config, "trainer.learning_rate=1e-3", "resume=never"]) == 0
    manifest = json.loads((tmp_path / "run" / "final" / "manifest.json").read_text())
    assert manifest["config"]["trainer"]["learning_rate"] == 1e-3  # the manifest says what trained
    fingerprint = json.loads((tmp_path / "run" / "fingerprint.json").read_text())
    assert fingerprint["config"]["trainer"]["learning_rate"] == 1e-3


def Path_configs():
    from pathlib import Path

    return Path(__file__).resolve().parents[2] / "configs" / "train"


def test_resume_skips_a_checkpoint_killed_while_being_written(tmp_path):
    from ragadapt.training.fingerprint import last_complete_checkpoint

    for step in (3, 6):
        (tmp_path / f"checkpoint-{step}").mkdir()
    (tmp_path / "checkpoint-3" / "trainer_state.json").write_text(json.dumps({"global_step": 3}))
    (tmp_path / "checkpoint-6" / "model.safetensors").write_bytes(b"torn")  # killed before trainer_state.json
    assert last_complete_checkpoint(tmp_path) == str(tmp_path / "checkpoint-3")


@pytest.mark.parametrize("text,message", [
    ("a: 1\na: 2\n", "key 'a' is given twice"),
    ("a: &x [*x]\n", "refers to itself"),
    ("\x00\x01binary", "invalid YAML"),
    ("- 1\n- 2\n", "must be a mapping"),
])
def test_bad_yaml_is_one_line(tmp_path, capsys, text, message):
    path = tmp_path / "c.yaml"
    path.write_text(text)
    assert main(["train", "sft", "--config", str(path)]) == 2
    err = capsys.readouterr().err
    assert message in err and "c.yaml" in err and "Traceback" not in err


def test_override_errors_blame_the_override_and_data_takes_a_path(tmp_path, capsys):
    config = tmp_path / "c.yaml"
    config.write_text("max_length: 64\n")
    assert main(["train", "sft", "--config", str(config), "max_length=long", "--print-config"]) == 2
    err = capsys.readouterr().err
    assert "override 'max_length=long'" in err and "c.yaml" not in err
    assert main(["train", "sft", "--config", str(config), f"data={tmp_path / 'x.jsonl'}", "--print-config"]) == 0
    assert yaml.safe_load(capsys.readouterr().out)["data"][0]["path"] == str(tmp_path / "x.jsonl")
    assert main(["train", "pipeline", "--config", str(Path_configs() / "pipeline_wiki.yaml"),
                 "stages.1.fields.k=4", "--print-config"]) == 0
    assert yaml.safe_load(capsys.readouterr().out)["stages"][1]["fields"]["k"] == 4


def test_trainer_typos_are_caught_before_the_model_loads(capsys):
    assert main(["train", "sft", "--config", str(Path_configs() / "sft_tiny.yaml"), "trainer.learnin_rate=1e-5"]) == 2
    assert "did you mean 'learning_rate'" in capsys.readouterr().err
    assert main(["train", "sft", "--config", str(Path_configs() / "sft_tiny.yaml"), "trainer.max_steps=abc"]) == 2
    assert "expected int, got 'abc' (field 'trainer.max_steps')" in capsys.readouterr().err
    assert main(["train", "pipeline", "--config", str(Path_configs() / "pipeline_wiki.yaml"),
                 "stages.2.fields.sft_trainer.lr=1", "--print-config"]) == 2
    assert "stage 3 (bridge): SFTConfig has no field 'lr'" in capsys.readouterr().err


def test_mixed_row_shapes_name_the_file(tmp_path, tiny_generator_dir, capsys):
    data = tmp_path / "mixed.jsonl"
    data.write_text(json.dumps({"messages": [{"role": "user", "content": "hi"}, {"role": "assistant", "content": "yo"}]})
                    + "\n" + json.dumps({"prompt": "Say yes.", "completion": "yes"}) + "\n")
    assert main(["-q", "train", "sft", f"model={tiny_generator_dir}", f"data={data}",
                 f"output_dir={tmp_path / 'r'}", "trainer.max_steps=1"]) == 2
    err = capsys.readouterr().err
    assert "mixed.jsonl" in err and "neither `messages` nor both `prompt` and `completion`" in err
