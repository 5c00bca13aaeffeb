"""Generator adaptation for contextual use (SFR-RAG / RAG 2.0 style contextual SFT).

Pipeline, each step saved under OUTPUT_DIR so a rerun reuses it:
  1. QA triples from the corpus (template or LLM recipe), split by document -> data/triples_*.jsonl
  2. perturbed contexts (clean, noisy, counterfactual, unanswerable, conflicting) with hard negatives
     from a retriever -> data/train.jsonl (one kind per question), data/test.jsonl (all five per question)
  3. SFT on the chat-formatted contexts, loss on the answer only (training core), general replay optional
     (`sft: false` skips it)
  4. optional DPO: chosen = the faithful answer, rejected = what the model said instead (its parametric answer on
     an edited passage, its answer on an unanswerable one), mirrored on each paired context's clean twin
  5. faithfulness evaluation of the starting and the trained model -> report.json, report.md
"""

from __future__ import annotations

import json
import logging
import random
from dataclasses import asdict, replace
from pathlib import Path

from ragadapt.atomic import atomic_write_text
from ragadapt.corpora.contexts import ABSTAIN, ContextBuilder, ContextExample, retriever_negatives
from ragadapt.corpora.qa_recipes import QATriple, RecipeStats, llm_qa, split_by_document, template_qa
from ragadapt.errors import DataFormatError
from ragadapt.jsonl import write_jsonl
from ragadapt.report import write_report
from ragadapt.prompts import RAGPrompt
from ragadapt.training.config import ContextualConfig, Source, to_dict

log = logging.getLogger(__name__)


def _read_jsonl(path: Path) -> list[dict]:
    from ragadapt.jsonl import iter_jsonl

    return [r for _, r in iter_jsonl(path)]


def corpus_passages(cfg: ContextualConfig):
    """The passages questions are made from: the system's own passages when there is a system (the chunks it
    serves), else lead passages of the corpus documents (the recipes read the first sentences)."""
    from ragadapt.corpora import Chunker, load_corpus

    if cfg.system:
        from ragadapt.training.compose import input_system

        passages, docs = [], set()
        for p in input_system(cfg.system, cfg.corpus).retriever.store.passages:
            if p.doc_id not in docs and cfg.max_documents is not None and len(docs) >= cfg.max_documents:
                continue
            docs.add(p.doc_id)
            passages.append(p)
        return passages
    docs, _ = load_corpus(cfg.corpus, limit=cfg.max_documents)
    chunker = Chunker(chunk_tokens=400, overlap=0)
    return [p for d in docs for p in chunker.chunk(d)]


def negatives_retriever(cfg: ContextualConfig, passages):
    if cfg.system:
        from ragadapt.training.compose import input_system

        return input_system(cfg.system, cfg.corpus).retriever
    from ragadapt.retrievers import BM25Retriever

    return BM25Retriever.build(passages)


# what the training and test contexts depend on: the data is rebuilt when one of them changes
DATA_FIELDS = ("model", "system", "corpus", "recipe", "max_documents", "max_train", "max_test", "test_fraction", "k",
               "max_passage_chars", "ratios", "paired", "seed", "targets", "max_length", "abstain_reply")
# the shape of data/train.jsonl rows: 2 added each context's question and edit (DPO pairs a context with its twin),
# 3 the starting model's own answer (DPO rejects what the model says, not a span it never writes)
# 4 no conflicting held-out pairs at k=1 (ContextBuilder.judged_kinds)
DATA_FORMAT = 4


def served_config(cfg: ContextualConfig):
    """The RAGConfig the system answers with (its k, prompt, answer length), or None without a system."""
    if not cfg.system:
        return None
    from ragadapt.manifest import read_manifest
    from ragadapt.system import RAGConfig

    return RAGConfig.from_dict(read_manifest(cfg.system, "rag-system", verify_hashes=False)["config"])


def served_shape(cfg: ContextualConfig) -> tuple[int, int]:
    """(passages per context, characters per passage): as the system serves them (its k, whole stored passages)
    unless the config says otherwise; 3 and 400 without a system."""
    served = served_config(cfg)
    if served is not None:
        return cfg.k or served.k, cfg.max_passage_chars or 1 << 20
    return cfg.k or 3, cfg.max_passage_chars or 400


def served_prompt(cfg: ContextualConfig) -> RAGPrompt:
    """The system's own prompt (its instructions and prompt budget, within `max_length` minus room for the answer)."""
    budget, served = cfg.max_length - 48, served_config(cfg)
    if served is None:
        return RAGPrompt(max_prompt_tokens=budget)
    return RAGPrompt(system=served.system_prompt, max_prompt_tokens=min(budget, served.max_prompt_tokens))


def own_answers(examples: list[ContextExample], generator, prompt: RAGPrompt, max_new_tokens: int) -> list[str | None]:
    """The starting model's answer to each clean, noisy, counterfactual and unanswerable context, as served (the
    system's prompt and answer length; a reply cut at the limit ends at its last sentence); None for the others."""
    from ragadapt.eval.faithfulness import prompts_for
    from ragadapt.text import end_at_boundary

    todo = [i for i, e in enumerate(examples) if e.kind in ("clean", "noisy", "counterfactual", "unanswerable")]
    texts = generator.generate(prompts_for([examples[i] for i in todo], prompt, generator.count_tokens),
                               max_new_tokens=max_new_tokens, batch_size=8)
    out: list[str | None] = [None] * len(examples)
    for i, text in zip(todo, texts):
        if text and generator.count_tokens(text) >= max_new_tokens - 1:
            text = end_at_boundary(text)
        out[i] = text.strip()
    return out


def own_targets(examples: list[ContextExample], answers: list[str | None]):
    """Self-distilled targets: on a clean, noisy or counterfactual context, the starting model's own answer
    (`own_answers`) replaces the gold span when it holds the right answer (the edited one for a counterfactual,
    without the original), so training teaches what to answer while the model keeps its own phrasing and moves
    less. Returns the examples and the per-kind count of own answers kept."""
    from collections import Counter

    from ragadapt.eval.metrics import answer_contains, is_abstention

    out, kept = list(examples), Counter()
    for i, (e, text) in enumerate(zip(examples, answers)):
        if text is None or e.kind not in ("clean", "noisy", "counterfactual"):
            continue
        right = answer_contains(text, [e.target]) and not is_abstention(text)
        if right and (e.kind != "counterfactual" or not answer_contains(text, [e.original])):
            out[i] = replace(e, target=text)
            kept[e.kind] += 1
    return out, dict(kept)


def make_triples(cfg: ContextualConfig, passages) -> list[QATriple]:
    stats = RecipeStats()
    if cfg.recipe == "template":
        triples = template_qa(passages, stats)
    elif cfg.recipe == "mix" or cfg.recipe.startswith("mix:"):
        from ragadapt.corpora.qa_mix import mixed_qa

        wanted = ((cfg.max_train or 1000) + cfg.max_test) / max(0.05, 1 - cfg.test_fraction)
        from ragadapt.corpora.qa_mix import wants_paraphrase

        generator = None
        if wants_paraphrase(cfg.recipe):  # the model being adapted writes the paraphrases (self-instruct)
            from ragadapt.generation import TransformersGenerator

            generator = TransformersGenerator.from_pretrained(cfg.model)
        triples, _ = mixed_qa(passages, cfg.recipe, cfg.seed, generator=generator, stats=stats, n=int(wanted * 1.2))
    elif cfg.recipe == "llm":
        from ragadapt.generation import TransformersGenerator

        triples = llm_qa(TransformersGenerator.from_pretrained(cfg.model), [p for p in passages if p.id.endswith("#0")],
                         stats=stats)
    else:
        raise DataFormatError(f"unknown recipe {cfg.recipe!r}; choose mix, mix:style=weight,..., template or llm",
                              field="recipe")
    log.info("%s recipe: %d triples (%d answers not in their passage skipped, rejected %s)", cfg.recipe,
             len(triples), stats.answer_not_in_passage, stats.rejected)
    return triples


def chat_row(example: ContextExample, prompt: RAGPrompt, count_tokens=None, own: str | None = None) -> dict:
    """A training row: the chat to learn, plus what the DPO pairs are made from (the question, the original and
    edited answers, and `own`: the starting model's served answer to this context, when asked)."""
    from ragadapt.eval.faithfulness import prompts_for

    messages = prompts_for([example], prompt, count_tokens)[0] + [{"role": "assistant", "content": example.target}]
    return {"messages": messages, "context": [p.text for p in example.passages], "kind": example.kind,
            "question": example.question, "original": example.original, "edited": example.edited, "own": own}


def build_data(cfg: ContextualConfig) -> tuple[Path, Path]:
    """Steps 1-2: data/train.jsonl (chat rows) and data/test.jsonl (ContextExamples). Reused if present."""
    from ragadapt.training import fingerprint

    data = Path(cfg.output_dir) / "data"
    train_path, test_path = data / "train.jsonl", data / "test.jsonl"
    made_by = fingerprint.make({**{k: getattr(cfg, k) for k in DATA_FIELDS}, "format": DATA_FORMAT})
    if train_path.exists() and test_path.exists() and fingerprint.matches(data, made_by):
        log.info("reusing %s and %s (made with these settings)", train_path, test_path)
        return train_path, test_path
    if train_path.exists():
        log.info("%s was made with other settings: building the data again", data)
    passages = corpus_passages(cfg)
    triples = make_triples(cfg, passages)
    train_t, test_t = split_by_document(triples, cfg.test_fraction, cfg.seed)
    from ragadapt.corpora.wiki_qa import decontaminate

    train_t, _ = decontaminate(train_t, lambda t: [t.passage.doc_id])
    rng = random.Random(cfg.seed)
    rng.shuffle(train_t)
    rng.shuffle(test_t)
    train_t, test_t = train_t[: cfg.max_train], test_t[: cfg.max_test]
    retriever = negatives_retriever(cfg, passages)
    k, chars = served_shape(cfg)
    negatives = retriever_negatives(retriever)
    builder = ContextBuilder(negatives, k=k, ratios=cfg.ratios, seed=cfg.seed, max_passage_chars=chars,
                             paired=cfg.paired, abstain=cfg.abstain_reply)
    train = builder.build(train_t)
    test = ContextBuilder(negatives, k=k, seed=cfg.seed + 1, max_passage_chars=chars).build(test_t, all_kinds=True)
    log.info("contexts: train %s, test %d examples (%d questions)", builder.stats.built, len(test), len(test_t))
    # Prompts are fitted to max_length (minus room for the answer) by the documented truncation rule.
    from transformers import AutoTokenizer

    from ragadapt.models import resolve_model

    tokenizer = AutoTokenizer.from_pretrained(resolve_model(cfg.model, kind="generator"))
    prompt = served_prompt(cfg)

    def count(text: str) -> int:
        return len(tokenizer(text, add_special_tokens=False)["input_ids"])

    answers: list[str | None] = [None] * len(train)
    if cfg.targets == "own":
        from ragadapt.generation import TransformersGenerator

        served = served_config(cfg)
        answers = own_answers(train, TransformersGenerator.from_pretrained(cfg.model), prompt,
                              served.max_new_tokens if served is not None else 48)
        train, kept = own_targets(train, answers)
        log.info("targets: the starting model's own answer kept on %s of %s contexts (the gold span elsewhere)",
                 kept, dict(builder.stats.built))
    elif cfg.targets != "span":
        raise DataFormatError(f"targets must be own or span, got {cfg.targets!r}", field="targets")

    write_jsonl(data / "triples_train.jsonl", [t.to_dict() for t in train_t])
    write_jsonl(data / "triples_test.jsonl", [t.to_dict() for t in test_t])
    write_jsonl(test_path, [e.to_dict() for e in test])
    write_jsonl(train_path, [chat_row(e, prompt, count, own) for e, own in zip(train, answers)])
    atomic_write_text(data / fingerprint.FINGERPRINT, json.dumps(made_by, indent=2, default=str))
    return train_path, test_path


def dpo_pairs(train_path: Path, abstain: str = ABSTAIN) -> list[dict]:
    """Preference pairs from the training contexts. On a counterfactual context the edited answer is chosen over the
    parametric one, on an unanswerable context the abstention over an answer. The rejected answer is what the
    starting model itself said there (`targets: own`), when that is the unfaithful reply (the original answer on
    an edited passage, anything but an abstention on an unanswerable one): DPO learns most from pushing down what
    the model actually writes; else the original span. Where such a context has a clean twin (`paired`: the same
    question with its gold passage), the twin gives the mirror pair: its answer chosen over what would be right
    only on the perturbed passage (the abstention, the edited answer). So every preference the model is taught is
    contrasted with its opposite on the same question, and only the passage tells them apart: abstaining is never
    preferred for a question as such (the false abstention that unpaired abstention training brings)."""
    from ragadapt.eval.metrics import answer_contains, is_abstention

    rows = _read_jsonl(train_path)
    twins = {r["question"]: r for r in rows if r["kind"] == "clean" and r.get("question")}

    def pair(messages: list[dict], rejected: str) -> dict:
        return {"prompt": messages[:-1], "chosen": [messages[-1]], "rejected": [{"role": "assistant", "content": rejected}]}

    def unfaithful_own(row: dict) -> str | None:
        own = row.get("own")
        if not own:
            return None
        if row["kind"] == "unanswerable":
            return None if is_abstention(own) else own
        parametric = answer_contains(own, [row["original"]]) and not answer_contains(own, [row.get("edited") or ""])
        return own if parametric else None

    pairs = []
    for row in rows:
        original = row.get("original")
        if row["kind"] not in ("counterfactual", "unanswerable") or not original:
            continue
        pairs.append(pair(row["messages"], unfaithful_own(row) or original))
        twin = twins.get(row.get("question"))
        mirror = abstain if row["kind"] == "unanswerable" else row.get("edited")
        if twin is not None and mirror:
            pairs.append(pair(twin["messages"], mirror))
    return pairs


def load_test(test_path: Path) -> list[ContextExample]:
    """Context examples of a .jsonl (a routine's data/test.jsonl or one of the user's); a bad row is one line
    naming the file, the line and the field."""
    from ragadapt.jsonl import iter_jsonl

    examples = []
    for lineno, row in iter_jsonl(test_path):
        try:
            examples.append(ContextExample.from_dict(row))
        except DataFormatError as e:
            raise DataFormatError(f"not a context example: {e}", path=str(test_path), line=lineno) from e
    if not examples:
        raise DataFormatError("no context examples", path=str(test_path))
    return examples


def general_texts(n: int) -> list[str]:
    """Held-out general text for the forgetting check: the Python docs shipped with Python."""
    from pydoc_data.topics import topics

    texts = [t[:600] for _, t in sorted(topics.items()) if len(t) > 300]
    return texts[:n]


def faithfulness_table(cfg: ContextualConfig, test_path: Path, models: dict[str, str], known: dict | None = None
                       ) -> dict:
    """Each named model on the held-out contexts (with the system's prompt) and, with a system, the system end to
    end on the dev sets with each model as its generator; report.json/report.md, with the gates ("after" against
    "before"). `known`: an earlier report's summaries and served answers of some of the names, reused."""
    from ragadapt.eval.faithfulness import evaluate_faithfulness, markdown_table
    from ragadapt.generation import TransformersGenerator, load_generator
    from ragadapt.provenance import run_info

    examples = load_test(test_path)
    judge = TransformersGenerator.from_pretrained(cfg.judge) if cfg.judge else None
    summaries, served, rows, out = {}, {}, {}, Path(cfg.output_dir)
    for name, model in models.items():
        if known and name in known.get("summaries", {}):
            summaries[name] = known["summaries"][name]
            if name in known.get("served", {}):
                served[name] = known["served"][name]
            if (out / f"predictions_{name}.jsonl").is_file():
                rows[name] = _read_jsonl(out / f"predictions_{name}.jsonl")
            continue
        generator = load_generator(model)  # with the abstention rule stored with it, if any
        summary, rows[name] = evaluate_faithfulness(generator, examples, prompt=served_prompt(cfg),
                                                    judge_generator=judge, general_texts=general_texts(cfg.general_texts))
        summaries[name] = summary
        write_jsonl(out / f"predictions_{name}.jsonl", rows[name])
        log.info("%s: %s", name, summary)
        if cfg.system and cfg.dev_set:
            served[name] = served_answers(cfg, generator, out / "served" / name)
    table = markdown_table(summaries)
    checks = contextual_gates(summaries, served, rows)
    if served:
        from ragadapt.training.retrieval.evaluation import gate_table
        from ragadapt.training.retrieval.evaluation import markdown_table as answers_table

        table += ("\n\nThe system end to end (its retriever and prompt; answers with each generator):\n\n"
                  + answers_table(served) + "\n\n" + gate_table(checks["answers"]))
    table += "\n\n" + contextual_gate_lines(checks)
    inputs = {"test contexts": test_path, "system": Path(cfg.system) / "manifest.json" if cfg.system else None}
    write_report(out, {**summaries, "served": served, "gates": checks}, table, run_info(inputs, config=to_dict(cfg)))
    return {"summaries": summaries, "served": served, "gates": checks, "table": table}


def after_merge(cfg: ContextualConfig, merged_system: Path, unmerged_system: Path) -> None:
    """After `merge:`: the merged generator gets its own abstention rule (`abstain_rate`; merging drops the
    run's, set on other weights), then the report gets it as "after" (what the gates judge), next to the "before"
    rows the run measured. The run's own generator (OUTPUT_DIR/unmerged-system) is not reported: its rows cost
    a quarter of the run, and the merge's dev-select scores at alpha 1 already say how it answers."""
    import json

    from ragadapt.training.merge import component_dir

    out = Path(cfg.output_dir)
    merged_generator, _ = component_dir(merged_system, "generator")
    if cfg.abstain_rate is not None and merged_generator is not None:  # (alpha 0 hands the input's on, no rule)
        calibrate_abstention(cfg, merged_generator)
    if not (cfg.evaluate and (out / "report.json").is_file()):
        return
    earlier = json.loads((out / "report.json").read_text(encoding="utf-8"))
    known = {"summaries": {"before": earlier["before"]} if "before" in earlier else {},
             "served": {k: v for k, v in earlier.get("served", {}).items() if k == "before"}}
    after = str(merged_generator) if merged_generator is not None else cfg.model
    report = faithfulness_table(cfg, out / "data" / "test.jsonl", {"before": cfg.model, "after": after}, known=known)
    print(report["table"])


def served_answers(cfg: ContextualConfig, generator, out_dir: Path) -> dict:
    """{split: summary} of the input system answering the dev sets with `generator`, as it would be served."""
    from ragadapt.training.compose import input_system
    from ragadapt.training.retrieval.evaluation import dev_sets, evaluate_stage

    system = input_system(cfg.system, cfg.corpus)
    return evaluate_stage(system, generator, [], dev_sets(cfg.dev_set), system.config.k, cfg.max_answer_eval,
                          out_dir, max_new_tokens=system.config.max_new_tokens)


def contextual_gates(summaries: dict[str, dict], served: dict[str, dict], rows: dict[str, list] | None = None,
                      tolerance: float = 0.01) -> dict:
    """The issue-18 gates: answers end to end not more than `tolerance` below base on every dev split, false
    abstention on answerable contexts at most 5%, abstention on unanswerable and following edits gained. The
    abstention gate counts only abstentions that read the passage (the question's clean twin is answered): declining
    a question whatever the passage says is not what the gate asks for. With both models' per-example `rows`, each
    held-out rate also gets its paired counts and sign test (a 40-question gain of one example passes the gate, and
    the counts say how little that is)."""
    from ragadapt.eval.faithfulness import paired_outcomes
    from ragadapt.training.retrieval.evaluation import gates

    before, after = summaries.get("before"), summaries.get("after")
    out: dict = {"answers": gates(served, tolerance) if len(served) > 1 else {}}
    if before and after:
        counts = paired_outcomes(rows["before"], rows["after"]) if rows and {"before", "after"} <= set(rows) else {}
        if counts:
            out["held_out_paired"] = counts
        out["false_abstention"] = {"value": after.get("false_abstention"),
                                   "passes": (after.get("false_abstention") or 0.0) <= 0.05}
        for key in ("abstention_reads_passage", "counterfactual_following"):
            b, a = before.get(key), after.get(key)
            out[key] = {"before": b, "after": a, "passes": a is not None and b is not None and a > b,
                        **({"paired": counts[key]} if key in counts else {})}
    return out


def contextual_gate_lines(checks: dict) -> str:
    lines = []
    for split, row in checks.get("answers", {}).get("after", {}).items():
        lines.append(f"- answers on {split}: {100 * row.get('contains', 0):+.1f} vs base "
                     f"({'pass' if row['passes'] else 'FAIL'})")
    if "false_abstention" in checks:
        v = checks["false_abstention"]["value"]
        lines.append(f"- false abstention on answerable contexts: {'-' if v is None else f'{100 * v:.1f}%'} "
                     f"(<= 5%: {'pass' if checks['false_abstention']['passes'] else 'FAIL'})")
    for key, label in (("abstention_reads_passage", "abstention on unanswerable, its clean twin answered"),
                       ("counterfactual_following", "following edits")):
        if key in checks:
            c = checks[key]
            fmt = lambda v: "-" if v is None else f"{100 * v:.1f}"  # noqa: E731
            pair = c.get("paired")
            counts = f"{pair['only_after']} / {pair['only_before']} (p {pair['p']:.2f}); " if pair else ""
            lines.append(f"- {label}: {fmt(c['before'])} -> {fmt(c['after'])} ({counts}gain: "
                         f"{'pass' if c['passes'] else 'FAIL'})")
    paired = checks.get("held_out_paired")
    note = ("\n\nHeld-out contexts, examples counted only after / only before training (sign test p): " + ", ".join(
        f"{label} {paired[key]['only_after']} / {paired[key]['only_before']} ({paired[key]['p']:.2f})"
        for key, label in (("answerable_contains", "answerable"), ("false_abstention", "false abstention"),
                           ("abstention_reads_passage", "abstention reading the passage"),
                           ("counterfactual_following", "following edits")) if key in paired)) if paired else ""
    return ("Gates:\n" + "\n".join(lines) + note) if lines else ""


def calibrate_abstention(cfg: ContextualConfig, final: Path):
    """Set the likelihood-ratio abstention rule of the tuned generator in `final` on the dev-select questions, as
    the system serves them (its retriever, passages and prompt; answers in the served dtype), for `abstain_rate`,
    and store it with the generator (ragadapt.generation.abstain)."""
    from ragadapt.generation import TransformersGenerator
    from ragadapt.generation.abstain import AbstentionRule, calibrate, margins, store_rule
    from ragadapt.generation.base import as_served
    from ragadapt.training.compose import input_system
    from ragadapt.training.retrieval.evaluation import dev_sets

    if not (cfg.system and cfg.dev_select):
        raise DataFormatError("abstain_rate is calibrated on `dev_select` answered through `system`; set both, or "
                              "abstain_rate: null", field="abstain_rate")
    if final == Path(cfg.model) or not (final / "manifest.json").is_file():
        raise DataFormatError(f"abstain_rate: no trained generator to store the rule with ({final})",
                              field="abstain_rate")
    system = input_system(cfg.system, cfg.corpus)
    system.generator = as_served(TransformersGenerator.from_pretrained(str(final)))
    questions = [e.question for split in dev_sets(cfg.dev_select).values() for e in split][: cfg.dev_select_max]
    _, prompts = system.served_prompts(questions, system.candidates(questions))
    answers = system.generator.generate(prompts, max_new_tokens=system.config.max_new_tokens,
                                        batch_size=system.config.batch_size)
    scored = margins(system.generator, prompts, answers, cfg.abstain_reply)
    rule = AbstentionRule(cfg.abstain_reply, calibrate(scored, cfg.abstain_rate))
    store_rule(final, rule)
    log.info("abstention rule: reply %r where its margin over the answer exceeds %.3f (declines %d of %d "
             "dev-select questions; abstain_rate %s); stored in %s", rule.reply, rule.threshold,
             sum(m > rule.threshold for m in scored), len(scored), cfg.abstain_rate, final / "manifest.json")
    return rule


def train_contextual(cfg: ContextualConfig, method: str = "generator-contextual"):
    from ragadapt.training.config import DPOTrainConfig
    from ragadapt.training.dpo import train_dpo
    from ragadapt.training.lm import train_lm

    if not (cfg.sft or cfg.dpo):
        raise DataFormatError("sft: false and dpo: false train nothing; set either", field="sft")
    from ragadapt.eval.metrics import is_abstention

    if not is_abstention(cfg.abstain_reply):  # the report would count the trained abstentions as answers
        raise DataFormatError(f"abstain_reply {cfg.abstain_reply!r} is not recognised as an abstention; use a phrase "
                              "like \"I don't know.\" or \"The passage does not mention it.\"", field="abstain_reply")
    out = Path(cfg.output_dir)
    train_path, test_path = build_data(cfg)
    result, final = None, cfg.model
    if cfg.sft:
        result = train_lm(replace(cfg, output_dir=str(out / "sft"), data=[Source(path=str(train_path))]), "sft")
        final = result.final_dir
    if cfg.dpo:
        pairs_path = out / "data" / "pairs.jsonl"
        pairs = dpo_pairs(train_path, cfg.abstain_reply)
        write_jsonl(pairs_path, pairs)
        log.info("dpo: %d preference pairs (%d chosen abstentions, %d rejected ones)", len(pairs),
                 sum(p["chosen"][0]["content"] == cfg.abstain_reply for p in pairs),
                 sum(p["rejected"][0]["content"] == cfg.abstain_reply for p in pairs))
        # the DPO stage keeps its best dev-select step too (its step 0 is the SFT model, or the start without SFT)
        dpo_cfg = DPOTrainConfig(model=str(final), output_dir=str(out / "dpo"), data=[Source(path=str(pairs_path))],
                                 max_length=cfg.max_length, seed=cfg.seed, resume=cfg.resume,
                                 freeze=cfg.freeze, lora=cfg.lora, trust_remote_code=cfg.trust_remote_code,
                                 trainer=dict(cfg.dpo_trainer), system=cfg.system, dev_select=cfg.dev_select,
                                 dev_select_max=cfg.dev_select_max, dev_select_tolerance=cfg.dev_select_tolerance)
        dpo_result = train_dpo(dpo_cfg)
        final, result = dpo_result.final_dir, result or dpo_result
    result.final_dir = final
    merging = getattr(cfg, "merge", None) is not None
    if cfg.abstain_rate is not None and not merging:  # with `merge:`, after_merge sets it
        result.stats["abstention"] = asdict(calibrate_abstention(cfg, Path(final)))
    if cfg.evaluate:  # with `merge:` the merged generator is the "after" (after_merge), measured once merged
        models = {"before": cfg.model} if merging else {"before": cfg.model, "after": str(final)}
        report = faithfulness_table(cfg, test_path, models)
        print(report["table"])
        result.stats["faithfulness"] = report["summaries"]
        result.stats["input_answers"] = report["served"].get("before", {})  # a merge's alpha 0, answered already
    return result
