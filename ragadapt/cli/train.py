"""ragadapt train METHOD --config FILE [key=value ...]: the training cores from the command line."""

from __future__ import annotations

HELP = ("train a model: cpt, sft, dpo, grpo, rloo, generator-contextual, retriever-replug, reranker, ra-dit, "
        "bridge, agent "
        "(YAML configs; key=value overrides)")

CONFIG_CLASSES = {"cpt": "LMConfig", "sft": "LMConfig", "dpo": "DPOTrainConfig", "grpo": "RLConfig",
                  "rloo": "RLConfig", "generator-contextual": "ContextualConfig", "retriever-replug": "ReplugConfig",
                  "reranker": "RerankerConfig", "ra-dit": "RADITConfig",
                  "bridge": "BridgeConfig", "agent": "AgentConfig"}


def add_parser(sub) -> None:
    p = sub.add_parser(
        "train", help=HELP, description=HELP + ".",
        epilog="Examples:\n  ragadapt train sft --config configs/train/sft.yaml trainer.max_steps=100\n"
               "  ragadapt train cpt --config configs/train/cpt_replay.yaml replay_ratio=0.05\n"
               "Every field of the TRL config of the method can be set under `trainer:` "
               "(learning_rate, max_steps, save_steps, report_to=tensorboard, ...).\n"
               "Multi-GPU: accelerate launch -m ragadapt.cli.main train sft --config ...",
        formatter_class=__import__("argparse").RawDescriptionHelpFormatter)
    p.add_argument("method", choices=sorted(CONFIG_CLASSES), help="training method")
    p.add_argument("--config", default=None, help="YAML config file (see configs/train/)")
    p.add_argument("overrides", nargs="*", metavar="key=value",
                   help="override config fields, dotted for nesting: trainer.learning_rate=1e-5 lora.r=8")
    p.add_argument("--print-config", action="store_true", help="print the resolved config as YAML and exit")


def run(args) -> int:
    import yaml

    from ragadapt import training
    from ragadapt.training.config import load_config, to_dict

    cfg = load_config(getattr(training, CONFIG_CLASSES[args.method]), args.config, args.overrides)
    if args.print_config:
        print(yaml.safe_dump(to_dict(cfg), sort_keys=False))
        return 0
    _, train = training.methods()[args.method]
    result = train(cfg)
    print(result.summary(args.method))
    return 0
