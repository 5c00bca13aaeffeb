"""`ragadapt train agent`: RL for the ReAct search policy (Search-R1, Jin et al., 2025), retriever frozen.

1. questions: two-hop bridge questions from the system's corpus (or any recipe or mixture: comparisons that
   name two articles, one-hop questions), held out by document
2. warm-up (optional, default on): SFT on scripted expert episodes, one routine per question shape (a bridge
   question: search its quoted sentence, then the entity found there; a question naming two articles: search
   each; a one-hop question: search it; then answer) with the real observations in between, loss on the
   model's turns only; optionally mixed with the starting policy's own right single-shot answers
   (`replay_single_shot`), because the policy becomes the system's generator. A 135M model almost never emits
   a valid action on its own, and GRPO cannot learn from groups whose episodes all score 0.
3. GRPO (training core, TRL `rollout_func`): episodes played with the policy being trained, observation
   tokens masked out of the loss; reward = F1 (or EM) of the final answer + format_weight x the share of
   turns that held a valid action
4. comparison on held-out questions: single-shot RAG, iterative, planner, ReAct with the base policy, after
   the warm-up and after RL; answer accuracy and trajectory statistics
"""

from __future__ import annotations

import logging
import re
from pathlib import Path

from ragadapt.jsonl import write_jsonl
from ragadapt.training.config import AgentConfig, to_dict
from ragadapt.types import QAExample

log = logging.getLogger(__name__)


def workflow_settings(name: str, cfg: AgentConfig) -> dict:
    """The agent config's settings of each workflow, for ragadapt.agents.make_agent."""
    settings = {"react": {"k": cfg.k, "snippet_words": cfg.snippet_words, "max_steps": cfg.max_steps,
                          "max_new_tokens": cfg.max_new_tokens, "fallback_k": 3},
                "iterative": {"k": cfg.k, "rounds": cfg.max_steps}, "planner": {"k": cfg.k}}
    if name not in settings:
        raise ValueError(f"unknown workflow {name!r}; choose from single-shot, iterative, planner, react")
    return settings[name]


def react_agent(generator, retriever, cfg: AgentConfig):
    """The ReAct policy being trained: `generator` searching `retriever` (make_agent over a system of the two)."""
    from ragadapt.agents import make_agent
    from ragadapt.system import RAGSystem

    return make_agent(RAGSystem(retriever, generator), "react", **workflow_settings("react", cfg))


_QUOTE = re.compile(r'"([^"]+)"')


def opening_query(question: str, words: int = 8) -> str:
    """The expert's first search: the opening words of the sentence a two-hop question quotes (up to the
    left-out X) name the article it comes from, and a short model turn can copy them; else the question."""
    quoted = _QUOTE.search(question)
    if not quoted:
        return question
    opening = []
    for word in quoted.group(1).split()[:words]:
        if word.strip(".,;:'()") == "X":
            break
        opening.append(word)
    return " ".join(opening) or question


_YEAR = re.compile(r"\b1[0-9]{3}\b|\b20[0-2][0-9]\b")


def expert_queries(example: QAExample, titles: dict[str, str]) -> tuple[list[str], str]:
    """The expert's searches for a question, and how they chain: "bridge" (the quoted sentence's opening words
    find the first article, whose text names the one to search next), "named" (the question names every article
    it needs: search each by its title) or "one-hop" (search the question)."""
    if _QUOTE.search(example.question):
        return [opening_query(example.question)] + [titles[d] for d in example.gold_doc_ids[1:] if titles.get(d)], \
            "bridge"
    if len(example.gold_doc_ids) > 1:
        return [titles[d] for d in example.gold_doc_ids if titles.get(d)], "named"
    return [example.question], "one-hop"


def expert_episodes(retriever, examples: list[QAExample], cfg: AgentConfig, agent) -> tuple[list[dict], dict]:
    """Chat examples of the intended behaviour, with real observations (one routine per question shape:
    `expert_queries`). An example is kept only when the expert's path works: a bridge search shows the next
    name, a named search shows its article with a year in it (comparisons read years), and the answer of a
    bridge or one-hop question is in what was seen."""
    titles: dict[str, str] = {}
    for p in retriever.store.passages:
        titles.setdefault(p.doc_id, p.title)
    from ragadapt.agents.tools import snippet

    def shown(hit) -> str:
        return snippet(hit.passage.text, cfg.snippet_words) if cfg.snippet_words else hit.passage.text

    tools = agent.tools
    skipped = {"bridge not in the first results": 0, "named article not found": 0, "answer not in the results": 0}
    rows, shapes = [], {}
    for e in examples:
        messages = agent.first_messages(e.question)
        queries, shape = expert_queries(e, titles)
        seen, failed = "", None
        for n, query in enumerate(queries):
            obs = tools.call("search", {"query": query})
            seen += obs.text
            if shape == "bridge" and n + 1 < len(queries) and queries[n + 1] not in obs.text:
                failed = "bridge not in the first results"
            if shape == "named" and not any(h.passage.doc_id == e.gold_doc_ids[n] and _YEAR.search(shown(h))
                                            for h in obs.hits):
                failed = "named article not found"
            if failed:
                break
            messages += [{"role": "assistant", "content": f"<search>{query}</search>"},
                         {"role": "user", "content": f"<information>{obs.text}</information>"}]
        answer = e.answers[0] if shape == "named" else next((a for a in e.answers if a.lower() in seen.lower()), None)
        if not failed and answer is None:
            failed = "answer not in the results"
        if failed:
            skipped[failed] += 1
            continue
        shapes[shape] = shapes.get(shape, 0) + 1
        rows.append({"messages": messages + [{"role": "assistant", "content": f"<answer>{answer}</answer>"}]})
    return rows, {"skipped": skipped, "kept": shapes}


def single_shot_replay(system, generator, examples: list[QAExample], limit: int) -> tuple[list[dict], int]:
    """Up to `limit` one-hop questions answered single-shot, as the system answers without an agent (its top-k,
    the RAG prompt), by the starting policy; the rows whose answer is right (its own words, self-distilled) go
    into the warm-up so that the policy, which becomes the system's generator, keeps answering that way.
    Returns the rows and how many questions were tried."""
    from ragadapt.eval.metrics import answer_contains, is_abstention
    from ragadapt.prompts import RAGPrompt

    one_hop = [e for e in examples if len(e.gold_doc_ids) <= 1 and not _QUOTE.search(e.question)][:limit]
    if not one_hop:
        return [], 0
    prompt = RAGPrompt()  # single-shot's prompt (ragadapt.agents.common.answer_with_passages)
    hits = system.retriever.search([e.question for e in one_hop], system.config.k)
    messages = [prompt.messages(e.question, hs, generator.count_tokens) for e, hs in zip(one_hop, hits)]
    answers = generator.generate(messages, max_new_tokens=32, batch_size=8)
    rows = [{"messages": m + [{"role": "assistant", "content": a.strip()}]}
            for e, m, a in zip(one_hop, messages, answers) if answer_contains(a, e.answers) and not is_abstention(a)]
    return rows, len(one_hop)


def agent_rewards(cfg: AgentConfig):
    """Reward callables over the rollout's `agent_answer`, `agent_turns`, `agent_format_errors` fields."""
    from ragadapt.eval.metrics import exact_match, f1_score
    from ragadapt.training.rewards import gold_answers

    metric = {"f1": f1_score, "em": exact_match}[cfg.answer_metric]

    def answer(prompts, completions, agent_answer, **columns):
        return [metric(a, g) if a else 0.0 for a, g in zip(agent_answer, gold_answers(columns, len(completions)))]

    def well_formed(prompts, completions, agent_turns, agent_format_errors, **_):
        """Share of the model's turns that held a valid action (partial credit: a signal before answers come)."""
        return [1.0 - f / t if t else 0.0 for t, f in zip(agent_turns, agent_format_errors)]

    answer.__name__, well_formed.__name__ = f"answer_{cfg.answer_metric}", "format"
    return [answer, well_formed], [1.0, cfg.format_weight]


def strategy(name: str, system, generator, cfg: AgentConfig):
    """A workflow of ragadapt.agents over `system`'s retriever answering with `generator`; single-shot is one
    round of iterative retrieval at the system's own k (what the system does without an agent)."""
    from dataclasses import replace

    from ragadapt.agents import make_agent
    from ragadapt.system import RAGSystem

    view = RAGSystem(system.retriever, generator, config=replace(system.config))
    if name == "single-shot":
        flow = make_agent(view, "iterative", k=system.config.k, rounds=1)
        flow.workflow = "single-shot"
        return flow
    return make_agent(view, name, **workflow_settings(name, cfg))


def _percent(value: float | None) -> str:
    return "-" if value is None else f"{100 * value:.1f}%"


def _kind_cell(scores: dict) -> str:
    if "contains" not in scores:
        return "-"
    return f"{100 * scores['contains']:.1f} / {100 * scores['strict']:.1f}"


def compare(system, runs: dict[str, tuple[str, object]], examples: list[QAExample], cfg: AgentConfig,
            out: Path) -> dict:
    """{row name: scores + trajectory statistics}; trajectories under out/trajectories/, report.md."""
    from ragadapt.agents import save_trajectories
    from ragadapt.agents.evaluation import evaluate_agent

    report = {}
    for row, (workflow, generator) in runs.items():
        summary, trajectories = evaluate_agent(strategy(workflow, system, generator, cfg), examples)
        save_trajectories(out / "trajectories" / f"{row.replace(' ', '_').replace('/', '-')}.jsonl", trajectories)
        report[row] = summary
        log.info("%s: %s", row, summary)
    lines = ["| workflow | n | answer contains | strict | EM | F1 | gold articles retrieved | searches / q | "
             "format errors / q | fallback share |", "|---|---|---|---|---|---|---|---|---|---|"]
    lines += [f"| {row} | {r['n']} | {100 * r['contains']:.1f} | {100 * r['strict']:.1f} | {100 * r['em']:.1f} | "
              f"{100 * r['f1']:.1f} | "
              f"{_percent(r.get('gold_doc_recall'))} | {r['searches']:.2f} | {r['format_errors']:.2f} | "
              f"{r.get('stop_fallback', 0.0):.2f} |" for row, r in report.items()]
    kinds = sorted({k for r in report.values() for k in r.get("by_kind", {})})
    if kinds:  # answer contains / strict per kind of question (n in the header)
        counts = next(r["by_kind"] for r in report.values() if "by_kind" in r)
        lines += ["", "answer contains / strict (a reply naming every option of a which-of question, or saying "
                  "both yes and no, is not strictly right) per kind of question:", "",
                  "| workflow | " + " | ".join(f"{k} ({counts.get(k, {}).get('n', 0)})" for k in kinds) + " |",
                  "|---|" + "---|" * len(kinds)]
        lines += [f"| {row} | " + " | ".join(_kind_cell(r.get("by_kind", {}).get(k, {})) for k in kinds) + " |"
                  for row, r in report.items()]
    from ragadapt.provenance import run_info
    from ragadapt.report import write_report

    write_report(out, report, "\n".join(lines), run_info({"system": Path(cfg.system) / "manifest.json"},
                                                         config=to_dict(cfg)))
    print("\n".join(lines))
    return report


def train_agent(cfg: AgentConfig):
    from ragadapt.agents.rollout import ReActRollout
    from ragadapt.generation import TransformersGenerator
    from ragadapt.training.config import LMConfig, RLConfig, Source
    from ragadapt.training.lm import train_lm
    from ragadapt.training.retrieval.data import load_or_build_system, routine_questions
    from ragadapt.training.rl import train_rl
    from ragadapt.training.runner import finish

    out = Path(cfg.output_dir)
    system = load_or_build_system(cfg.system, cfg.corpus, dense_only=False)  # any retriever: it stays frozen
    train, test = routine_questions(cfg, system, out)
    passages = system.retriever  # the questions came from its passages; the warm-up's titles do too
    if cfg.retriever:  # every search from here on goes to the shared index
        from ragadapt.retrievers.remote import RemoteRetriever

        system.retriever = RemoteRetriever(cfg.retriever)
        log.info("searching the index served at %s (%d passages)", cfg.retriever, len(system.retriever))
    base = TransformersGenerator.from_pretrained(cfg.model, trust_remote_code=cfg.trust_remote_code)
    agent = react_agent(base, system.retriever, cfg)
    start, step, policies = cfg.model, 0, {}
    warm, rl_questions = (train[: cfg.warmup_examples], train[cfg.warmup_examples:]) if cfg.warmup else ([], train)
    rl_questions = rl_questions or train  # too few questions to keep the stages apart
    rows, counts = expert_episodes(passages, warm, cfg, agent) if cfg.warmup else ([], {})
    if cfg.warmup:
        log.info("warm-up: %d expert episodes from %d questions (%s)", len(rows), len(warm), counts)
    if rows and cfg.replay_single_shot:
        replay, tried = single_shot_replay(system, base, train, cfg.replay_single_shot)
        log.info("warm-up replay: %d single-shot answers of the starting policy kept (right) of %d one-hop questions",
                 len(replay), tried)
        rows = [r for pair in zip(rows, replay) for r in pair] + rows[len(replay):] + replay[len(rows):]
    if rows:
        data = out / "data" / "warmup.jsonl"
        write_jsonl(data, rows)
        sft = train_lm(LMConfig(model=cfg.model, output_dir=str(out / "warmup"), data=[Source(path=str(data))],
                                max_length=cfg.max_length, freeze=list(cfg.freeze), lora=cfg.lora, seed=cfg.seed,
                                resume=cfg.resume, trust_remote_code=cfg.trust_remote_code,
                                trainer={"learning_rate": 5e-5, "num_train_epochs": 1, "per_device_train_batch_size": 1,
                                         "logging_steps": 5, **cfg.warmup_trainer}), "sft")
        start, step = str(sft.final_dir), sft.global_step
        policies["react (warm-up SFT)"] = start
    prompts = out / "data" / "rl.jsonl"
    write_jsonl(prompts, ({"prompt": agent.first_messages(e.question), "answers": e.answers} for e in rl_questions))
    funcs, weights = agent_rewards(cfg)
    rollout = ReActRollout(agent, temperature=cfg.temperature)
    rl = train_rl(RLConfig(model=start, output_dir=str(out / "rl"), data=[Source(path=str(prompts))], rewards=[],
                           reward_weights=weights, freeze=list(cfg.freeze), lora=cfg.lora, seed=cfg.seed,
                           resume=cfg.resume, trust_remote_code=cfg.trust_remote_code,
                           trainer={"max_completion_length": cfg.max_steps * (cfg.max_new_tokens + 400),
                                    "logging_steps": 1, **cfg.trainer}),
                  "grpo", reward_funcs=funcs, rollout_func=rollout)
    step += rl.global_step
    policies["react (RL)" if not cfg.warmup else "react (warm-up SFT + RL)"] = str(rl.final_dir)
    chosen, choice = choose_policy(system, base, policies, cfg)
    final, system_dir = Path(chosen or rl.final_dir), None
    if chosen is None and cfg.require_gain and cfg.system:
        from ragadapt.training.compose import SYSTEM, input_system

        system_dir = out / SYSTEM  # no trained policy answered dev-select better: the system as it came in
        input_system(cfg.system, cfg.corpus).save(system_dir)
    report = {}
    if cfg.evaluate and test:
        examples = test[: cfg.max_eval]
        runs = {name: (name, base) for name in cfg.workflows}
        runs = {(f"{k} (base policy)" if k == "react" else k): v for k, v in runs.items()}
        for row, path in policies.items():
            runs[row] = ("react", TransformersGenerator.from_pretrained(path))
        report = {"held-out": compare(system, runs, examples, cfg, out)}
        if cfg.dev_set:
            from ragadapt.training.retrieval.evaluation import dev_sets

            for name, examples in dev_sets(cfg.dev_set).items():
                report[name] = compare(system, runs, examples, cfg, out / name)
    return finish(out, final, step, {"report": report, **({"dev_select": choice} if choice else {})},
                  system_dir=system_dir)


def choose_policy(system, base, policies: dict[str, str], cfg: AgentConfig) -> tuple[str | None, dict]:
    """(the directory of the policy the system keeps, or None for the base policy; the scores), chosen on the
    hand-written dev-select questions. A trained policy becomes the system's generator, so it answers two ways:
    it is eligible only if its single-shot answers on `dev_select_single` are at least the base policy's, and of
    the eligible the best ReAct answers on `dev_select` win; the first of equal scores (base, warm-up, RL) wins,
    so a policy has to answer more right than the one it came from. Without dev_select: the last policy."""
    if not cfg.dev_select:
        return list(policies.values())[-1], {}
    from ragadapt.agents.evaluation import evaluate_agent
    from ragadapt.generation import TransformersGenerator
    from ragadapt.training.retrieval.evaluation import dev_examples

    sets = {"react": ("react", dev_examples(cfg.dev_select)[: cfg.dev_select_max])}
    if cfg.dev_select_single:
        sets["single-shot"] = ("single-shot", dev_examples(cfg.dev_select_single)[: cfg.dev_select_max])
    scores = {}
    for name, path in [("base policy", None), *policies.items()]:
        generator = base if path is None else TransformersGenerator.from_pretrained(path)
        scores[name] = {key: evaluate_agent(strategy(flow, system, generator, cfg), examples,
                                            show_progress=False)[0]["contains"]
                        for key, (flow, examples) in sets.items()}
    floor = scores["base policy"].get("single-shot", 0.0)
    eligible = [name for name, s in scores.items() if s.get("single-shot", 0.0) >= floor]
    best = max(eligible, key=lambda name: scores[name]["react"])  # max keeps the first of equal scores
    log.info("policy choice on %s (ReAct) and %s (single-shot), answer contains: %s -> %s", cfg.dev_select,
             cfg.dev_select_single, scores, best)
    return policies.get(best), {"metric": f"{cfg.dev_select} contains", "scores": scores, "chosen": best}
