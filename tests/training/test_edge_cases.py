"""Bad input and environments: no chat template, empty data, accelerate launch, GPU bf16."""

import json
import os
import shutil
import subprocess
import sys

import pytest

from ragadapt.training.tokenize import IGNORE, chat_labels


def test_tokenizer_without_chat_template_falls_back(tiny_generator_dir):
    from transformers import AutoTokenizer

    tok = AutoTokenizer.from_pretrained(tiny_generator_dir)
    tok.chat_template = None
    messages = [{"role": "user", "content": "Where is Paris?"}, {"role": "assistant", "content": "In France."}]
    ids, labels = chat_labels(tok, messages, "assistant")
    assert tok.decode(ids).startswith("User: Where is Paris?")
    assert tok.decode([i for i, l in zip(ids, labels) if l != IGNORE]).strip() == "In France.<|im_end|>"


def test_empty_and_malformed_data(tmp_path, tiny_generator_dir):
    from ragadapt.errors import DataFormatError, EmptyCorpusError
    from ragadapt.training import LMConfig
    from ragadapt.training.config import from_dict
    from ragadapt.training.lm import train_lm

    empty = tmp_path / "empty.jsonl"
    empty.write_text("\n")
    cfg = from_dict(LMConfig, {"model": str(tiny_generator_dir), "output_dir": str(tmp_path / "r"),
                               "data": [{"path": str(empty)}]})
    with pytest.raises(EmptyCorpusError, match="empty.jsonl: no examples"):
        train_lm(cfg)
    broken = tmp_path / "broken.jsonl"
    broken.write_text(json.dumps({"text": "ok"}) + "\n{nope\n")
    cfg.data[0].path = str(broken)
    with pytest.raises(DataFormatError, match=r"broken\.jsonl:2: invalid JSON"):
        train_lm(cfg)
    cfg.data = []
    with pytest.raises(DataFormatError, match="no training data"):
        train_lm(cfg)


@pytest.mark.slow
def test_accelerate_launch_single_process(tmp_path, tiny_generator_dir):
    """The documented multi-GPU command, run with one CPU process."""
    accelerate = shutil.which("accelerate", path=os.path.dirname(sys.executable))
    data = tmp_path / "d.jsonl"
    data.write_text("".join(json.dumps({"prompt": f"Say {w}.", "completion": w}) + "\n" for w in ["a", "b"] * 8))
    cmd = [accelerate, "launch", "--num_processes", "1", "--num_machines", "1", "--mixed_precision", "no",
           "--dynamo_backend", "no", "-m", "ragadapt.cli.main", "-q", "train", "sft",
           f"model={tiny_generator_dir}", f"output_dir={tmp_path / 'run'}", f"data=[{{path: {data}}}]",
           "max_length=32", "trainer.max_steps=2"]
    env = {**os.environ, "ACCELERATE_USE_CPU": "true", "OMP_NUM_THREADS": "1"}
    out = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=300)
    assert out.returncode == 0, out.stderr[-2000:]
    assert (tmp_path / "run" / "final" / "model.safetensors").exists()


@pytest.mark.slow
def test_grpo_rollouts_in_two_accelerate_processes_share_a_served_index(tmp_path, tiny_embedder_dir,
                                                                        tiny_generator_dir):
    """Search-R1-style RL across processes: two `accelerate launch` CPU processes play their GRPO rollouts against
    one index served by this process (`retriever=URL`), instead of each loading its own."""
    pytest.importorskip("fastapi")
    from ragadapt.retrievers.remote import RemoteRetriever
    from ragadapt.server import serve_in_thread
    from ragadapt.system import RAGSystem

    system_dir = tmp_path / "system"
    RAGSystem.build("wiki", embedder=str(tiny_embedder_dir), generator=None, limit=300, device="cpu", bm25=True,
                    show_progress=False).save(system_dir)
    accelerate = shutil.which("accelerate", path=os.path.dirname(sys.executable))
    with serve_in_thread(RAGSystem.load(system_dir, generator=False).retriever) as served:
        cmd = [accelerate, "launch", "--num_processes", "2", "--num_machines", "1", "--mixed_precision", "no",
               "--dynamo_backend", "no", "-m", "ragadapt.cli.main", "-q", "train", "agent",
               f"system={system_dir}", f"model={tiny_generator_dir}", f"output_dir={tmp_path / 'agent'}",
               f"retriever={served.url}", "recipe=template", "max_train=24", "max_test=2", "k=1", "max_steps=1",
               "max_new_tokens=8", "snippet_words=12", "evaluate=false", "dev_select=null",
               # the warm-up teaches the random tiny model the action tags, so its rollouts search
               "warmup_trainer.max_steps=40", "warmup_trainer.learning_rate=1e-2",
               "trainer.max_steps=2", "trainer.num_generations=2", "trainer.per_device_train_batch_size=2",
               "trainer.logging_steps=1"]
        env = {**os.environ, "ACCELERATE_USE_CPU": "true", "OMP_NUM_THREADS": "1"}
        out = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=600)
        assert out.returncode == 0, out.stderr[-3000:]
        requests = RemoteRetriever(served.url).health()["requests"]
    assert (tmp_path / "agent" / "rl" / "final" / "model.safetensors").exists()
    assert requests > 0  # searched the served index (the warm-up's expert episodes; the rollouts too when the tiny
    # policy emits an action: this test does not tell the two apart)


@pytest.mark.gpu
def test_gpu_trains_in_bf16(tmp_path, tiny_generator_dir):
    torch = pytest.importorskip("torch")
    if not torch.cuda.is_available():
        pytest.skip("no CUDA device")
    from ragadapt.training import LMConfig
    from ragadapt.training.config import from_dict
    from ragadapt.training.lm import train_lm
    from ragadapt.training.runner import load_model

    data = tmp_path / "d.jsonl"
    data.write_text("".join(json.dumps({"text": "the sky is blue. " * 5}) + "\n" for _ in range(16)))
    model, _, _ = load_model(str(tiny_generator_dir))
    assert next(model.parameters()).dtype == (torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float32)
    cfg = from_dict(LMConfig, {"model": str(tiny_generator_dir), "output_dir": str(tmp_path / "r"),
                               "data": [{"path": str(data)}], "max_length": 32,
                               "trainer": {"max_steps": 4, "learning_rate": 1e-3}})
    result = train_lm(cfg, "cpt")
    assert result.losses[-1] < result.losses[0]


def test_a_field_of_two_types_names_its_line_and_pairs_are_checked_before_the_model_loads(tmp_path):
    import json

    import pytest

    from ragadapt.errors import DataFormatError
    from ragadapt.training.config import Source
    from ragadapt.training.data import mixture
    from ragadapt.training.dpo import prepare_pairs

    path = tmp_path / "pairs.jsonl"
    rows = [{"prompt": "q1", "chosen": "a", "rejected": "b"}, {"prompt": "q2", "chosen": ["a"], "rejected": "b"}]
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    with pytest.raises(DataFormatError, match=r"pairs.jsonl:2: field `chosen` is a list of strings here but a "
                                              r"string on line 1"):
        mixture([Source(path=str(path))], prepare=prepare_pairs)
    rows[1] = {"prompt": [{"role": "user", "content": "q2"}], "chosen": "a", "rejected": "b"}
    path.write_text("".join(json.dumps(r) + "\n" for r in rows[1:]))
    with pytest.raises(DataFormatError, match=r"example 0: `prompt`, `chosen` and `rejected` mix plain text and "
                                              r"messages"):
        mixture([Source(path=str(path))], prepare=prepare_pairs)
