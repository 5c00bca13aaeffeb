"""Training configs: dataclasses whose fields carry `help`, loaded from YAML with `key=value` overrides.

A config names the model, the data mixture (or a curriculum of stages), what to freeze or adapt with
LoRA, the LR schedule, and `trainer`: any field of the TRL config of the method (SFTConfig, DPOConfig,
GRPOConfig, RLOOConfig), forwarded as is. Unknown keys are errors that name the key and the file.
"""

from __future__ import annotations

import copy
import dataclasses
import re
import types
import typing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ragadapt.errors import DataFormatError


def _help(text: str, default: Any = dataclasses.MISSING, factory: Any = dataclasses.MISSING):
    kwargs = {"metadata": {"help": text}}
    if factory is not dataclasses.MISSING:
        return field(default_factory=factory, **kwargs)
    return field(default=default, **kwargs)


@dataclass
class Source:
    """One dataset of a mixture, or a weighted group of sources (nested mixtures)."""

    path: str = _help("a .jsonl file, a saved `datasets` folder, hf:NAME, `wiki` (bundled Wikipedia as text), "
                      "`pydoc` (the Python docs shipped with Python, as text), or examples made from the bundled "
                      "corpus: `wiki-qa` (chat), `wiki-qa-pairs` (DPO), `wiki-qa-prompts` (GRPO/RLOO)", "")
    weight: float = _help("sampling weight within its group (in examples)", 1.0)
    split: str = _help("split of a datasets folder / hub dataset", "train")
    limit: int | None = _help("use only the first N examples", None)
    sources: list[Source] = _help("a nested group; then `path` stays empty", factory=list)


@dataclass
class ScheduleConfig:
    name: str = _help("cosine (warmup + cosine to min_lr_ratio), wsd (warmup, constant, cooldown: the "
                      "'infinite' schedule), constant (warmup then constant), linear", "cosine")
    warmup: float = _help("warmup: a fraction of the steps (< 1) or a number of steps", 0.1)
    min_lr_ratio: float = _help("lowest LR as a fraction of the peak LR", 0.1)
    cooldown: float = _help("wsd only: fraction of the steps spent decaying at the end", 0.2)


@dataclass
class LoraSettings:
    r: int = _help("LoRA rank", 16)
    alpha: int = _help("LoRA alpha (scale = alpha / r)", 32)
    dropout: float = _help("dropout on the LoRA input", 0.05)
    target_modules: Any = _help("module names, or 'all-linear'", "all-linear")
    merge: bool = _help("merge the adapters into the weights of the saved final model", True)


@dataclass
class StageConfig:
    """One stage of a curriculum: its own mixture, schedule and trainer overrides; the model carries over."""

    name: str = _help("stage name (its checkpoints go to OUTPUT_DIR/NAME)", "stage")
    data: list[Source] = _help("the stage's mixture", factory=list)
    replay: list[Source] = _help("general data mixed in at `replay_ratio` to limit forgetting", factory=list)
    replay_ratio: float = _help("fraction of examples drawn from `replay`", 0.0)
    schedule: ScheduleConfig | None = _help("the stage's LR schedule (default: the run's)", None)
    trainer: dict = _help("TRL config fields for this stage (override the run's)", factory=dict)


@dataclass
class RunConfig:
    """The base of every routine's config (training cores, adaptation routines, the pipeline): the same four fields
    under the same names. A routine re-states one where it can say more (its own default folder, what its
    `system` is used for); its own fields follow. Naming rule for the rest: `model` is the model a routine trains
    from, `scorer` a frozen generator it scores with, `trainer` its main trainer's overrides and
    `<stage>_trainer` / `<stage>_freeze` those of a routine's other stage (lm_, sft_, rl_, warmup_, dpo_)."""

    system: str | None = _help("a saved RAG system the routine adapts; OUTPUT_DIR/system is written with the adapted "
                               "component in its place, every other component carried over", None)
    output_dir: str = _help("the run's folder", "runs/train")
    seed: int = _help("seed for data splits, mixing, shuffling, sampling and initialisation", 42)
    resume: str = _help("auto (reuse what finished with the same fingerprint and continue from the last complete "
                        "checkpoint), never (start over), or a checkpoint path", "auto")


@dataclass
class MergeSelection:
    """WiSE-FT merge of what a routine adapted with the input system's version (ragadapt.training.merged_run): the
    same four fields on every routine that adapts a system, and on a pipeline stage through its `fields`."""

    merge: Any = _help("interpolate each component the run changed with the input system's (WiSE-FT: theta = "
                       "(1 - alpha) base + alpha adapted): a weight in [0, 1], or auto (the alpha of `merge_grid` "
                       "whose system answers `merge_dev` best; ties to the smaller); OUTPUT_DIR/system is the "
                       "merged system, OUTPUT_DIR/unmerged-system the run's own. null: no merge. Only a component "
                       "the input system has can be merged (a first reranker or bridge has nothing to merge to)",
                       None)
    merge_dev: str = _help("questions that choose `merge: auto`, answered end to end (dev-select: the hand-written "
                           "set's selection half; dev-select:1 its one-hop questions; or a .jsonl)", "dev-select")
    merge_max: int = _help("merge_dev questions answered per candidate alpha", 60)
    merge_grid: list[float] = _help("the alphas `merge: auto` tries", factory=lambda: [0.0, 0.25, 0.5, 0.75, 1.0])
    merge_tolerance: float | None = _help("`merge: auto` rule. null: the alpha answering `merge_dev` best. A number "
                                          "(0.01 = 1 point): the largest alpha answering at most that much below "
                                          "alpha 0, i.e. keep as much of what the run learned as the dev "
                                          "questions allow (for a skill they do not measure, e.g. abstaining)",
                                          None)


@dataclass
class TrainConfig(MergeSelection, RunConfig):
    """Fields every training core (cpt, sft, dpo, grpo, rloo) shares."""

    model: str | None = _help("bundled alias, local directory or hub id of the model to train (default: the "
                              "generator of `system`, else smollm2-135m-instruct)", None)
    system: str | None = _help("a saved RAG system: the model starts from its generator (unless `model` is set) "
                               "and OUTPUT_DIR/system is written with the trained generator in its place, every "
                               "other component carried over", None)
    output_dir: str = _help("checkpoints, metrics.jsonl, loss.png and final/ go here", "runs/train")
    data: list[Source] = _help("the training mixture", factory=list)
    replay: list[Source] = _help("general data mixed in at `replay_ratio` to limit forgetting", factory=list)
    replay_ratio: float = _help("fraction of examples drawn from `replay` (the tutorial's 1%-50%)", 0.0)
    eval_data: list[Source] = _help("held-out data evaluated every `eval_steps` (trainer field)", factory=list)
    stages: list[StageConfig] = _help("a curriculum: stages trained one after the other (replaces `data`)",
                                      factory=list)
    max_length: int = _help("longest sequence in tokens", 1024)
    freeze: list[str] = _help("parameter-name patterns (fnmatch) to freeze, e.g. 'model.embed_tokens.*'",
                              factory=list)
    lora: LoraSettings | None = _help("train LoRA adapters only (the base weights stay frozen)", None)
    schedule: ScheduleConfig = _help("learning-rate schedule", factory=ScheduleConfig)
    trust_remote_code: bool = _help("allow model code from the model directory", False)
    trainer: dict = _help("fields of the TRL config of this method (learning_rate, max_steps, ...)", factory=dict)
    dev_select: str | None = _help("early stopping: these questions (dev-select, the hand-written set's selection "
                                   "half; or a .jsonl) are answered end to end through `system` with the model "
                                   "in training at step 0 and at every checkpoint, and final/ keeps the best "
                                   "step (answer-contains; ties to the later step). null: the last step", None)
    dev_select_max: int = _help("dev_select questions answered per score", 40)
    dev_select_tolerance: float | None = _help("dev_select rule. null: the best step. A number (0.01 = 1 point): the "
                                               "dev questions guard instead of choose, final/ keeps the last step "
                                               "answering at most that much below step 0 (as much training as they "
                                               "allow, for a skill they do not measure, e.g. abstaining); 1 or more keeps the "
                                               "last step, so nothing is scored", None)

    def __post_init__(self):
        from ragadapt.training.compose import model_or_system_generator

        self.model = model_or_system_generator(self.model, self.system)


@dataclass
class LMConfig(TrainConfig):
    """CPT and SFT: next-token loss on text and chat examples, packed, with loss masking."""

    packing: bool = _help("pack examples into rows of max_length (best-fit); attention never crosses examples",
                          True)
    masking: str = _help("loss on chat examples: assistant (only assistant replies; masks the template and "
                         "the instruction/input), template (all content but not the chat-template markup), "
                         "none (every token). Text examples always train on every token", "assistant")
    mask_context: bool = _help("also mask retrieved passages (an example's `context` strings) and tool "
                               "observations (role `tool`) inside prompts", False)


@dataclass
class DPOTrainConfig(TrainConfig):
    ref_model: str | None = _help("reference model (default: a frozen copy of the starting model; none is "
                                  "needed with LoRA)", None)


@dataclass
class RLConfig(TrainConfig):
    rewards: list[str] = _help("reward functions by name: em, f1, contains, format (see ragadapt.training."
                               "rewards) or module:function", factory=lambda: ["f1"])
    reward_weights: list[float] | None = _help("one weight per reward (default: all 1)", None)
    tools: list[str] = _help("tool functions (module:function) the policy may call during rollouts; TRL runs "
                             "the calls and masks their results out of the loss", factory=list)


@dataclass
class ContextualConfig(LMConfig):
    """Contextual SFT of a generator (SFR-RAG style): QA from a corpus, perturbed contexts, SFT (+ DPO)."""

    corpus: str = _help("corpus for the questions and the negatives (`wiki`, .jsonl, folder...)", "wiki")
    system: str | None = _help("the saved RAG system to adapt: its retriever gives the hard negatives, its "
                               "generator is the starting model, and OUTPUT_DIR/system gets the tuned generator "
                               "(built from `corpus` when missing; null: BM25 negatives over the corpus and no "
                               "system written)", "runs/wiki")
    output_dir: str = _help("data, the SFT (and DPO) run, final/, OUTPUT_DIR/system, report.md", "runs/contextual")
    recipe: str = _help("QA recipe: mix (default: entity, template and facts questions by weight; see "
                        "ragadapt.corpora.qa_mix), mix:style=weight,..., template (patterns) or llm (self-instruct "
                        "with the model itself)", "mix")
    max_documents: int | None = _help("documents the questions are made from", 4000)
    max_train: int | None = _help("training questions (one perturbed context each, two for a `paired` kind)", 1200)
    max_test: int = _help("held-out questions; each is evaluated in all five kinds of context", 40)
    test_fraction: float = _help("documents held out for evaluation", 0.2)
    k: int | None = _help("passages per context (default: the system's k, so training looks like serving; else 3)",
                          None)
    max_passage_chars: int | None = _help("passages are cut to this many characters around the answer (default: "
                                          "whole passages as the system's retriever stores them; 400 without a "
                                          "system)", None)
    ratios: dict = _help("share of each context kind in training: clean, noisy, counterfactual, "
                         "unanswerable, conflicting", factory=lambda: {"clean": 0.25, "noisy": 0.2,
                                                                        "counterfactual": 0.2, "unanswerable": 0.2,
                                                                        "conflicting": 0.15})
    paired: list = _help("context kinds (unanswerable, counterfactual, ...) whose training example comes with a clean "
                         "twin: the same question with its gold passage, so only the passage decides whether to "
                         "abstain or follow an edit", factory=list)
    abstain_reply: str = _help("the reply trained on an unanswerable context (and rejected on its paired clean "
                               "twin); any phrase the abstention metric recognises, e.g. \"The passage does not "
                               "mention it.\", which names the passage rather than the asker's knowledge",
                               "I don't know.")
    abstain_rate: float | None = _help("likelihood-ratio abstention (ragadapt.generation.abstain): after training, "
                                       "the tuned generator declines (replies `abstain_reply`) where that reply's "
                                       "mean log-likelihood over its own answer exceeds a threshold, set so that it "
                                       "declines at most this share of the `dev_select` questions answered through "
                                       "`system`; stored in final/manifest.json, so every load serves it (with `merge:`, "
                                       "set on the merged generator in OUTPUT_DIR/system instead). For a "
                                       "model that tells answer-less passages apart but whose answers still outscore "
                                       "the reply. null: greedy answers only", None)
    targets: str = _help("answers trained on: own (on clean, noisy and counterfactual contexts the starting "
                         "model's own served answer when it holds the right answer, so it keeps its phrasing and "
                         "moves less; the gold span otherwise) or span (always the gold span)", "own")
    sft: bool = _help("the SFT stage on the perturbed contexts (false: DPO only, from the starting model)", True)
    dpo: bool = _help("add a DPO stage after SFT: the rejected answer ignores the context (the parametric "
                      "answer on counterfactual and unanswerable items); a `paired` kind's clean twin adds the "
                      "mirror pair (its answer over the abstention or the edit). Keeps its best `dev_select` step "
                      "too", False)
    dpo_trainer: dict = _help("DPOConfig fields for the DPO stage", factory=dict)
    evaluate: bool = _help("evaluate before and after training: faithfulness on the held-out contexts, and the "
                           "system end to end on `dev_set` with its own generator and with the tuned one", True)
    dev_set: str | None = _help("hand-written questions the system answers end to end in the report, comma-"
                                "separated, each its own split (dev-select, dev-test, bundled or a .jsonl)",
                                "dev-select,dev-test")
    max_answer_eval: int = _help("questions per dev split answered in the report (generation is the slow part)", 200)
    dev_select: str | None = _help("early stopping: these questions are answered end to end through `system` with "
                                   "the model in training at step 0 and at every checkpoint, and final/ keeps the "
                                   "best step (ties to the later one). null: the last step", "dev-select")
    judge: str | None = _help("generator used as LLM judge in the evaluation (default: none)", None)
    general_texts: int = _help("held-out general texts (Python docs) for the forgetting check", 40)


# ---- loading -------------------------------------------------------------------------------------

def _hints(cls) -> dict[str, Any]:
    return typing.get_type_hints(cls)


def _build(tp: Any, value: Any, where: str) -> Any:
    origin = typing.get_origin(tp)
    if origin in (typing.Union, types.UnionType):
        args = [a for a in typing.get_args(tp) if a is not type(None)]
        if value is None:
            return None
        return _build(args[0], value, where) if len(args) == 1 else value
    if dataclasses.is_dataclass(tp):
        if tp is Source and isinstance(value, str):  # `data=path.jsonl`: a one-source mixture
            value = {"path": value}
        if not isinstance(value, dict):
            raise DataFormatError(f"expected a mapping for {tp.__name__}, got {type(value).__name__}", field=where)
        return from_dict(tp, value, where)
    if origin is list:
        (item,) = typing.get_args(tp) or (Any,)
        if not isinstance(value, list):
            value = [value]
        return [_build(item, v, f"{where}[{i}]") for i, v in enumerate(value)]
    if tp is float and isinstance(value, (int, float)) and not isinstance(value, bool):
        return float(value)
    if tp in (int, bool, str) and not isinstance(value, tp):
        raise DataFormatError(f"expected {tp.__name__}, got {value!r}", field=where)
    return value


# Keys an earlier version used for a field that now has the common name (see RunConfig's naming rule).
RENAMED = {"base": "model"}


def from_dict(cls, data: dict, where: str = ""):
    """Build dataclass `cls` from a mapping, recursively; unknown keys raise with their dotted path."""
    hints = _hints(cls)
    names = {f.name for f in dataclasses.fields(cls)}
    unknown = sorted(set(data) - names)
    renamed = {k: RENAMED[k] for k in unknown if RENAMED.get(k) in names}
    if renamed:
        old, new = next(iter(renamed.items()))
        raise DataFormatError(f"`{old}` is now called `{new}` (one name per meaning in every routine's config): "
                              f"write {new}: ...", field=f"{where}.{old}".strip("."))
    if unknown:
        raise DataFormatError(f"unknown key(s) {unknown}; {cls.__name__} accepts {sorted(names)}",
                              field=f"{where}.{unknown[0]}".strip("."))
    return cls(**{k: _build(hints[k], v, f"{where}.{k}".strip(".")) for k, v in data.items()})


def _set_dotted(data: dict, dotted: str, value: Any) -> None:
    """Set `a.b.c` (mappings) or `stages.0.name` (a list index) in `data`."""
    keys = dotted.split(".")
    node: Any = data
    for i, key in enumerate(keys):
        last = i == len(keys) - 1
        if isinstance(node, list):
            if not key.isdigit() or int(key) >= len(node):
                raise DataFormatError(f"cannot set {dotted!r}: {key!r} is not an index of a list of {len(node)}",
                                      field=dotted)
            if last:
                node[int(key)] = value
            else:
                node = node[int(key)]
            continue
        if not isinstance(node, dict):
            raise DataFormatError(f"cannot set {dotted!r}: {keys[i - 1]!r} is not a mapping", field=dotted)
        if last:
            node[key] = value
        else:
            node = node.setdefault(key, {})


_FLOAT = re.compile(r"^[-+]?(\d+\.?\d*|\.\d+)[eE][-+]?\d+$")


def _numbers(value: Any) -> Any:
    """YAML 1.1 reads `1e-5` (no dot) as a string; every ML config means a float."""
    if isinstance(value, str) and _FLOAT.match(value):
        return float(value)
    if isinstance(value, dict):
        return {k: _numbers(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_numbers(v) for v in value]
    return value


def merge(base: dict, update: dict) -> dict:
    """`update` over `base`, recursively for mappings (a pipeline stage's fields over its config file)."""
    out = dict(base)
    for key, value in update.items():
        out[key] = merge(out[key], value) if isinstance(value, dict) and isinstance(out.get(key), dict) else value
    return out


def _yaml_loader():
    """yaml.SafeLoader that refuses a key given twice in one mapping (YAML keeps the last one silently)."""
    import yaml

    class StrictLoader(yaml.SafeLoader):
        pass

    def mapping(loader, node, deep=False):
        keys = [loader.construct_object(k, deep=deep) for k, _ in node.value]
        seen = set()
        for key, (knode, _) in zip(keys, node.value):
            if key in seen:
                raise DataFormatError(f"key {key!r} is given twice (line {knode.start_mark.line + 1}); keep one",
                                      line=knode.start_mark.line + 1, field=str(key))
            seen.add(key)
        return loader.construct_mapping(node, deep=deep)

    StrictLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, mapping)
    return StrictLoader


def read_yaml(path: Path) -> dict:
    """A YAML config file as a mapping; every way it can be unreadable is one line naming the file."""
    import yaml

    if not path.is_file():
        raise DataFormatError("no such config file", path=str(path))
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as e:
        raise DataFormatError("not a text file (a YAML config is UTF-8 text)", path=str(path)) from e
    try:
        data = yaml.load(text, Loader=_yaml_loader()) or {}  # noqa: S506 - a SafeLoader subclass
    except DataFormatError as e:
        raise DataFormatError(str(e), path=str(path)) from e
    except yaml.YAMLError as e:
        raise DataFormatError(f"invalid YAML ({str(e).splitlines()[0]})", path=str(path)) from e
    except RecursionError as e:
        raise DataFormatError("the YAML refers to itself (a recursive anchor); write the values out", path=str(path)) from e
    if not isinstance(data, dict):
        raise DataFormatError("the config must be a mapping", path=str(path))
    return data


def _parse_value(raw: str, item: str):
    import yaml

    try:
        return yaml.safe_load(raw)
    except yaml.YAMLError as e:
        raise DataFormatError(f"override {item!r}: the value is not valid YAML ({str(e).splitlines()[0]})") from e


def load_config(cls, path: str | Path | None = None, overrides: list[str] = (), values: dict | None = None):
    """YAML file (optional), then `values` (a mapping merged over it), then `key.sub=value` overrides (values
    parsed as YAML) -> dataclass `cls`. An error in the file names the file; one in an override names the
    override."""
    data: dict = {}
    if path is not None:
        path = Path(path)
        data = read_yaml(path)
    data = merge(data, values or {})
    try:
        base = from_dict(cls, _numbers(data))
    except (DataFormatError, RecursionError) as e:
        raise DataFormatError(str(e) if isinstance(e, DataFormatError) else "the config refers to itself",
                              path=str(path) if path else None) from e
    if not overrides:
        return base
    steps = []  # the config after each override: the first that fails is the one an error blames
    for item in overrides:
        if "=" not in item:
            raise DataFormatError(f"override {item!r} is not key=value")
        key, raw = item.split("=", 1)
        if not key.strip():
            raise DataFormatError(f"override {item!r} has no key")
        data = copy.deepcopy(data)
        _set_dotted(data, key.strip(), _parse_value(raw, item))
        steps.append((item, data))
    try:  # all of them together: their order does not matter (system=... before model=... is fine)
        return from_dict(cls, _numbers(data))
    except DataFormatError as final:
        for item, partial in steps:
            try:
                from_dict(cls, _numbers(partial))
            except DataFormatError as e:
                raise DataFormatError(f"override {item!r}: {e}") from e
        raise DataFormatError(f"overrides {' '.join(overrides)}: {final}") from final


def to_dict(config) -> dict:
    return dataclasses.asdict(config)


@dataclass
class AgentConfig(MergeSelection, RunConfig):
    """`ragadapt train agent`: the search policy of the ReAct agent trained with GRPO on multi-turn episodes
    (Search-R1 style); the retriever and everything else stay frozen."""

    system: str = _help("saved RAG system whose retriever the agent searches (built from `corpus` when missing)",
                        "runs/wiki")
    corpus: str = _help("corpus used when `system` has to be built", "wiki")
    output_dir: str = _help("data, warm-up and RL checkpoints, trajectories, report.md", "runs/agent")
    model: str | None = _help("the policy's starting model (default: the system's generator)", None)
    recipe: str = _help("questions: two-hop (bridge questions from the corpus), comparison (two named articles), "
                        "any QA recipe or mixture (mix:two-hop=0.4,comparison=0.3,facts=0.3: several question "
                        "shapes, each with its expert routine in the warm-up), or a .jsonl", "two-hop")
    max_train: int = _help("training questions", 300)
    max_test: int = _help("held-out questions (from held-out documents)", 100)
    test_fraction: float = _help("share of documents held out", 0.2)
    k: int = _help("passages per search", 2)
    snippet_words: int | None = _help("search results show each passage's first N words (read shows all)", 48)
    max_steps: int = _help("tool calls per episode", 3)
    max_new_tokens: int = _help("tokens per model turn", 48)
    temperature: float = _help("sampling temperature of the rollouts", 1.0)
    answer_metric: str = _help("answer reward: f1 or em of the final answer", "f1")
    format_weight: float = _help("weight of the format reward: the share of the model's turns that held a valid "
                                 "action", 0.2)
    warmup: bool = _help("SFT warm-up on scripted expert episodes before RL (a bridge question: search its quoted "
                         "sentence, then the name found there; a question naming two articles: search each; a "
                         "one-hop question: search it; then answer; observations masked): a 135M model rarely "
                         "emits a valid action on its own, and GRPO learns nothing from groups that all score 0",
                         True)
    warmup_examples: int = _help("training questions used for the warm-up; GRPO gets the rest", 150)
    replay_single_shot: int = _help("warm-up replay: up to this many one-hop training questions answered "
                                    "single-shot (the system's top-k passages, the RAG prompt) by the starting "
                                    "policy, kept where its answer is right, join the warm-up data: the policy "
                                    "becomes the system's generator and must keep answering without search "
                                    "(0: none)", 0)
    max_length: int = _help("warm-up rows: episodes packed into rows of this many tokens", 1280)
    warmup_trainer: dict = _help("SFTConfig fields of the warm-up", factory=dict)
    freeze: list[str] = _help("policy parameter-name patterns to freeze", factory=list)
    lora: LoraSettings | None = _help("train LoRA adapters only", None)
    trainer: dict = _help("GRPOConfig fields (learning_rate, max_steps, num_generations, ...)", factory=dict)
    evaluate: bool = _help("compare single-shot RAG and the workflows before training, the trained policy after",
                           True)
    workflows: list[str] = _help("baselines in the comparison", factory=lambda: ["single-shot", "iterative",
                                                                                  "planner", "react"])
    max_eval: int = _help("held-out questions in the comparison", 100)
    dev_set: str | None = _help("extra evaluation sets, comma-separated: dev-select:2 / dev-test:2 (the hand-written "
                                "two-hop questions), bundled, or a .jsonl of question/answers", None)
    dev_select: str | None = _help("the policy OUTPUT_DIR/system keeps (base, warm-up or RL) is the one whose ReAct "
                                   "answers these questions best (answer contains; ties to the smaller change); null: "
                                   "the last trained policy", "dev-select:2")
    dev_select_single: str | None = _help("the policy becomes the system's generator, so it must also answer these "
                                          "single-shot (one passage search, no agent) at least as well as the base "
                                          "policy to be chosen; null: no such check", "dev-select:1")
    dev_select_max: int = _help("questions of each dev_select set answered per policy", 30)
    require_gain: bool = _help("with dev_select: when no trained policy answers better than the base one, the "
                               "system is handed on with its generator unchanged", True)
    retriever: str | None = _help("URL of a served index (`ragadapt serve SYSTEM`): rollouts, the policy choice and "
                                  "the comparison search it, so every process of an `accelerate launch` run shares "
                                  "one index; the system's own passages still give the questions and the warm-up",
                                  None)
    trust_remote_code: bool = _help("allow model code from the model directory", False)

    def __post_init__(self):
        from ragadapt.training.compose import model_or_system_generator

        if self.retriever is not None:
            from ragadapt.errors import DataFormatError
            from ragadapt.retrievers.remote import is_url

            if not is_url(self.retriever):
                raise DataFormatError(f"retriever must be the URL of `ragadapt serve` (http://host:port), got "
                                      f"{self.retriever!r}", field="retriever")
        self.model = model_or_system_generator(self.model, self.system)
