"""Configs of the retriever-alignment routines (loaded like every training config: YAML + key=value)."""

from __future__ import annotations

from dataclasses import dataclass

from ragadapt.training.config import MergeSelection, RunConfig, _help


# Defaults of each routine's trainer; a config's `trainer:` fields are merged over them (not replacing them).
ST_DEFAULTS = {"per_device_train_batch_size": 32, "num_train_epochs": 1, "learning_rate": 2e-5, "warmup_steps": 0.1,
               "logging_steps": 5, "save_steps": 200}
CE_DEFAULTS = {"per_device_train_batch_size": 8, "num_train_epochs": 1, "learning_rate": 5e-5, "warmup_steps": 0.1,
               "logging_steps": 5, "save_steps": 200}
LM_FT_DEFAULTS = {"per_device_train_batch_size": 4, "num_train_epochs": 1, "learning_rate": 2e-5, "logging_steps": 2,
                  "save_steps": 25}


@dataclass
class RetrieverDataConfig(MergeSelection, RunConfig):
    """Questions, candidates and the frozen LM that scores them (shared by REPLUG, RA-DIT, the reranker)."""

    system: str = _help("saved RAG system to adapt (built from `corpus` with the default embedder when the "
                        "directory does not exist)", "runs/wiki")
    corpus: str = _help("corpus used when `system` has to be built", "wiki")
    output_dir: str = _help("data, LM-score cache, checkpoints, the trained system and report.md go here",
                            "runs/retriever-replug")
    scorer: str | None = _help("the frozen generator that scores (answer likelihoods, rewards, the end-to-end "
                               "evaluation); default: the system's own generator", None)
    score_cache: str | None = _help("directory of the LM-score cache; point runs that score with the same LM "
                                    "at one directory to share it (default: OUTPUT_DIR/lm_scores)", None)
    scorer_dtype: str = _help("auto (bf16 where the CPU/GPU has native bf16, else fp32), bf16 or fp32", "auto")
    recipe: str = _help("QA recipe over the corpus: mix (default: entity, template and facts questions by weight; "
                        "mix:entity=0.5,facts=0.5 to set them; see ragadapt.corpora.qa_mix), entity (questions that "
                        "do not name their document), template (questions that name it), `entity,template`, or a "
                        ".jsonl of {question, answers, gold_doc_ids}", "mix")
    max_train: int = _help("training questions", 1200)
    max_test: int = _help("held-out questions (from held-out documents)", 300)
    test_fraction: float = _help("share of documents held out", 0.2)
    dev_set: str | None = _help("hand-written evaluation sets, comma-separated, each its own split in the report: "
                                "dev-select, dev-test (default: both; see ragadapt.corpora.wiki_qa), bundled (the "
                                "first 30 questions) or a .jsonl", "dev-select,dev-test")
    k: int = _help("candidates per question (the retriever's top-k)", 8)
    max_prompt_tokens: int = _help("prompt budget of one (passage, question) scoring prompt", 384)
    score_batch_size: int = _help("pairs per LM forward pass", 8)
    answer_k: int = _help("passages given to the generator in the end-to-end evaluation", 1)
    max_answer_eval: int = _help("held-out questions answered end to end (generation is the slow part)", 200)
    evaluate: bool = _help("evaluate before and after training", True)


@dataclass
class RetrievalSelection:
    """Early stopping of the retriever-side routines (REPLUG's query encoder, the reranker, RA-DIT's R-ft)."""

    dev_select: str | None = _help("early stopping: recall@answer_k (the passages the generator is given) on these "
                                   "questions at step 0 and at every checkpoint of each round, and the best step is "
                                   "kept (ties to the later one); dev-select:1 = the hand-written set's one-hop "
                                   "selection half, or a .jsonl. With encoders=both the index would be re-embedded "
                                   "at every checkpoint: not done, the round's last step is kept. null: the last "
                                   "step", "dev-select:1")
    dev_select_max: int = _help("dev_select questions scored per checkpoint (retrieval only: cheap)", 200)


@dataclass
class ReplugConfig(RetrievalSelection, RetrieverDataConfig):
    """REPLUG LSR (or the contrastive baseline) for the retriever of a RAG system."""

    loss: str = _help("lsr (KL to the LM's preference over the top-k) or contrastive "
                      "(MultipleNegativesRankingLoss on gold passages + the hardest retrieved negative)", "lsr")
    encoders: str = _help("query (train a query-encoder copy; documents and the index stay as built) or both "
                          "(train the shared encoder; the index is re-embedded after every round)", "query")
    tau_r: float = _help("retrieval temperature: softmax(sim / tau_r)", 0.05)
    tau_lm: float = _help("LM temperature: softmax(log P(answer | passage, question) / tau_lm)", 1.0)
    rounds: int = _help("refresh rounds: candidates are re-retrieved with the current retriever (hard "
                        "negatives), LM-scored (cache), trained on; synchronous re-embedding for `both`", 2)
    trainer: dict = _help(f"SentenceTransformerTrainingArguments fields, per round (over {ST_DEFAULTS})",
                          factory=dict)


@dataclass
class RerankerConfig(RetrievalSelection, RetrieverDataConfig):
    """A cross-encoder reranker distilled from the frozen LM's preferences over the retriever's top-k."""

    output_dir: str = _help("data, LM-score cache, checkpoints, the system with its reranker, report.md",
                            "runs/reranker")
    model: str = _help("encoder (or cross-encoder) the reranker starts from; no pretrained cross-encoder ships "
                       "offline, so the default is the bundled MiniLM with a new scoring head", "minilm-l6")
    max_length: int = _help("longest (question, passage) pair in tokens", 256)
    tau_lm: float = _help("LM temperature of the target distribution (ListNet: softmax(labels))", 1.0)
    prior_weight: float = _help("residual reranking: a candidate's score is the cross-encoder's plus prior_weight x "
                                "the retriever's score, and the new scoring head starts at zero, so the untrained "
                                "reranker ranks as the retriever does and training learns a correction (20 = 1 / "
                                "REPLUG's tau_r for cosine scores). 0: a plain cross-encoder from a random head", 20.0)
    head_lr: float | None = _help("learning rate of the scoring head (the encoder keeps the trainer's): a zeroed "
                                  "head has to grow to the size of its corrections. null: the trainer's", 1e-3)
    require_gain: bool = _help("with dev_select: OUTPUT_DIR/system gets the reranker only when its best dev-select "
                               "recall beats the retriever's own (a reranker that only ties adds cost); otherwise "
                               "the system is handed on without it (the trained reranker is still saved in "
                               "OUTPUT_DIR/reranker)", True)
    trainer: dict = _help(f"CrossEncoderTrainingArguments fields (over {CE_DEFAULTS})", factory=dict)


@dataclass
class RADITConfig(ReplugConfig):
    """RA-DIT (Lin et al., 2023): LM-ft (generator SFT on each question paired with each of its top-k
    passages) and R-ft (LSR against the tuned LM), sequential or alternating; either side can be frozen."""

    output_dir: str = _help("stages, LM-score caches, the system after each stage, report.md", "runs/ra-dit")
    generator: str | None = _help("generator to tune (default: the scorer, i.e. the system's own generator)", None)
    schedule: str = _help("sequential (LM-ft then R-ft) or alternating (`cycles` x (LM-ft, R-ft), each side "
                          "seeing the other's latest version)", "sequential")
    cycles: int = _help("LM-ft/R-ft cycles when alternating (the LM-ft questions are split between cycles)", 2)
    train_generator: bool = _help("run LM-ft (false: the generator stays frozen)", True)
    train_retriever: bool = _help("run R-ft (false: the retriever stays frozen)", True)
    lm_k: int = _help("LM-ft: each question becomes one example per top-k passage (the paper's setting)", 3)
    lm_max_train: int = _help("LM-ft questions (generator SFT is the slow part on a CPU)", 200)
    lm_max_length: int = _help("LM-ft: longest example in tokens", 512)
    lm_freeze: list[str] = _help("LM-ft: parameter-name patterns to freeze", factory=list)
    lm_trainer: dict = _help(f"LM-ft: SFTConfig fields (over {LM_FT_DEFAULTS})", factory=dict)
    lm_targets: str = _help("LM-ft targets: span (the gold answer) or own (where the starting generator already "
                            "answers a pair right, its own served answer, so it keeps its phrasing and moves less; "
                            "the gold span elsewhere)", "span")
    lm_dev_select: str | None = _help("LM-ft early stopping: these questions are answered end to end by the system "
                                      "with the generator in training at step 0 and at every checkpoint, and the "
                                      "best step is kept (answer-contains; the start included). null: the last "
                                      "step", "dev-select:1")
    lm_dev_select_max: int = _help("LM-ft: lm_dev_select questions answered per checkpoint (generation is slow)",
                                   40)


@dataclass
class BridgeConfig(RetrieverDataConfig):
    """BGM bridge training: silver sequences from the frozen generator, SFT, then GRPO; retriever and
    generator frozen throughout. `scorer` is the frozen generator (default: the system's own)."""

    output_dir: str = _help("silver sequences, SFT and RL runs, the system with its bridge, report.md", "runs/bridge")
    model: str = _help("the bridge's starting model: a causal LM (default) or a seq2seq directory",
                       "smollm2-135m-instruct")
    k: int = _help("candidates the bridge chooses from (the retriever's top-k)", 5)
    max_prompt_tokens: int = _help("the generator's prompt budget (silver search, rewards, comparison); as "
                                   "RAGConfig, so top-k is not cut shorter here than when the system answers", 1024)
    silver_target: str = _help("what the greedy search maximises: loglik (log P(answer | passages)), or contains, "
                               "em or f1 of the generator's greedy answer", "loglik")
    silver_max_len: int = _help("longest silver sequence", 3)
    silver_min_gain: float = _help("a passage joins the silver sequence only if it raises the score by more than "
                                   "this (nats for loglik): noise-level gains do not lengthen the sequence; "
                                   "below 0 (with an answer metric) a passage that does not hurt is taken too", 0.1)
    silver_rank_margin: float = _help("a candidate ranked lower by the retriever is preferred only if it scores more "
                                      "than this above every higher-ranked one (nats for loglik): below it, the "
                                      "retriever's order decides, so score noise does not teach the bridge to "
                                      "override rank 1", 0.0)
    passage_tokens: int = _help("each candidate is cut to this many tokens in the bridge's prompt", 64)
    max_length: int = _help("longest bridge training example in tokens", 1024)
    freeze: list[str] = _help("bridge parameter-name patterns to freeze", factory=list)
    sft_max_train: int | None = _help("silver examples the SFT stage trains on (default: all)", None)
    sft_first_share: float | None = _help("rebalance SFT: keep every example whose silver sequence does not start with "
                                          "the first candidate, and only enough that do to make this share (default: "
                                          "no rebalancing)", None)
    shuffle_fraction: float = _help("share of SFT examples whose candidates are shown in a random order, so the "
                                    "bridge learns to read them instead of always choosing the first", 0.5)
    sft_trainer: dict = _help("SFTConfig fields of stage 1", factory=dict)
    rl: bool = _help("run stage 2 (GRPO) after the SFT stage", True)
    rl_max_train: int = _help("questions used by the RL stage", 200)
    rl_reward: str = _help("RL: the downstream score of the bridge's selection: loglik (mean log P(answer | "
                           "passages)), or contains, em or f1 of the generator's greedy answer", "loglik")
    rl_skip_hopeless: bool = _help("RL: leave out questions on which no selection the silver search tried earned "
                                   "any reward (answer-metric rl_reward equal to silver_target): all completions "
                                   "would score alike, so GRPO learns nothing from them", True)
    length_penalty: float = _help("RL: reward minus this per passage passed (prefer fewer when they do not help)",
                                  0.05)
    format_weight: float = _help("RL: weight of the format reward (1 when the reply parses)", 0.2)
    rl_trainer: dict = _help("GRPOConfig fields of stage 2", factory=dict)
    compare_reranker: str | None = _help("a system (or reranker) directory whose reranker's top-1 joins the "
                                         "comparison; skipped with a warning when missing", None)
    dev_select: str | None = _help("these questions are answered end to end by the system with each trained bridge "
                                   "(SFT, SFT + RL) and without one; the best goes into OUTPUT_DIR/system (ties to "
                                   "the smaller change: none, then SFT). null: the last stage's bridge",
                                   "dev-select:1")
    dev_select_max: int = _help("dev_select questions answered per candidate", 30)
    require_gain: bool = _help("with dev_select: when no bridge answers better than none, the system is handed on "
                               "without one (the trained bridges stay in OUTPUT_DIR/sft, OUTPUT_DIR/rl)", True)

    def __post_init__(self):
        from ragadapt.errors import DataFormatError

        targets = ("loglik", "contains", "em", "f1")
        for name in ("silver_target", "rl_reward"):
            if getattr(self, name) not in targets:
                raise DataFormatError(f"must be one of {', '.join(targets)}, got {getattr(self, name)!r}", field=name)
