"""Exact label positions for each masking variant, and attention that never crosses packed examples."""

import pytest
import torch

from ragadapt.training.tokenize import IGNORE, chat_labels, tokenize_dataset

MESSAGES = [
    {"role": "system", "content": "Be brief."},
    {"role": "user", "content": "Passage: Paris is in France. Question: where is Paris?"},
    {"role": "assistant", "content": "In France."},
]


def trained_text(tok, ids, labels):
    return tok.decode([i for i, l in zip(ids, labels) if l != IGNORE])


@pytest.fixture(scope="module")
def tok(tiny_generator):
    return tiny_generator.tokenizer


def test_assistant_masking_trains_on_the_reply_and_its_end_token(tok):
    ids, labels = chat_labels(tok, MESSAGES, "assistant")
    assert trained_text(tok, ids, labels) == "In France.<|im_end|>"
    assert len(ids) == len(labels) and labels[-1] == IGNORE  # the newline after <|im_end|> is template


def test_template_masking_trains_on_all_content_but_not_markup(tok):
    ids, labels = chat_labels(tok, MESSAGES, "template")
    assert trained_text(tok, ids, labels) == ("Be brief.Passage: Paris is in France. Question: where is Paris?"
                                              "In France.<|im_end|>")
    assert "<|im_start|>" not in trained_text(tok, ids, labels)


def test_no_masking_trains_on_everything(tok):
    ids, labels = chat_labels(tok, MESSAGES, "none")
    assert labels == ids


def test_context_and_tool_observations_can_be_masked(tok):
    messages = MESSAGES[:2] + [{"role": "assistant", "content": "Let me search."},
                               {"role": "tool", "content": "result: Paris, France"},
                               {"role": "assistant", "content": "In France."}]
    ids, labels = chat_labels(tok, messages, "template", context=["Paris is in France."], mask_context=True)
    text = trained_text(tok, ids, labels)
    assert "Paris is in France." not in text and "result: Paris" not in text
    assert "Question: where is Paris?" in text and "Let me search.<|im_end|>" in text and text.endswith("In France.<|im_end|>")


def test_unknown_masking(tok):
    from ragadapt.errors import DataFormatError

    with pytest.raises(DataFormatError, match="unknown masking 'all'"):
        chat_labels(tok, MESSAGES, "all")


def test_truncation_rule_is_counted(tok):
    import datasets

    from ragadapt.training.tokenize import PrepareStats

    long_prompt = [{"role": "user", "content": "word " * 200}, {"role": "assistant", "content": "ok"}]
    ds = datasets.Dataset.from_list([{"messages": MESSAGES}, {"messages": long_prompt}])
    stats = PrepareStats()
    fits = len(chat_labels(tok, MESSAGES, "assistant")[0])
    rows = tokenize_dataset(ds, tok, max_length=fits, stats=stats)
    assert (stats.truncated, stats.dropped, len(rows)) == (1, 1, 1)  # cut before the reply: no loss left
    text = datasets.Dataset.from_list([{"text": "word " * 100}])
    rows = tokenize_dataset(text, tok, max_length=48, stats=stats)
    assert all(len(r) <= 48 for r in rows["input_ids"]) and sum(map(len, rows["input_ids"])) > 100


def test_packed_examples_do_not_attend_to_each_other(tiny_generator):
    """Same logits for an example alone and packed after another one, with TRL's padding-free collator."""
    from trl.trainer.sft_trainer import DataCollatorForLanguageModeling

    model = tiny_generator.model
    a, b = list(range(5, 30)), list(range(40, 52))
    collator = DataCollatorForLanguageModeling(pad_token_id=0, padding_free=True)
    batch = collator([{"input_ids": a}, {"input_ids": b}])
    assert batch["position_ids"][0].tolist() == list(range(len(a))) + list(range(len(b)))
    assert "attention_mask" not in batch
    with torch.no_grad():
        packed = model(input_ids=batch["input_ids"], position_ids=batch["position_ids"], use_cache=False).logits[0]
        alone = model(input_ids=torch.tensor([b]), use_cache=False).logits[0]
        leaky = model(input_ids=batch["input_ids"], use_cache=False).logits[0]
    torch.testing.assert_close(packed[len(a):], alone, rtol=1e-4, atol=1e-4)
    assert not torch.allclose(leaky[len(a):], alone, atol=1e-4)  # without restarts, b would see a


def test_packing_fills_rows(tiny_generator):
    """TRL's best-fit packing of our tokenised rows: every row but the last is nearly full."""
    import datasets
    from trl.data_utils import pack_dataset

    rows = datasets.Dataset.from_list([{"input_ids": [1] * n, "labels": [1] * n} for n in [10, 20, 30, 40, 50, 60] * 5])
    packed = pack_dataset(rows, 64, "bfd")
    lengths = sorted((len(r) for r in packed["input_ids"]), reverse=True)
    assert sum(lengths) == sum([10, 20, 30, 40, 50, 60] * 5)
    assert sum(lengths) / (64 * len(lengths)) > 0.9
