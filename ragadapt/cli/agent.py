"""ragadapt agent: multi-step search over a saved system (ReAct agent, planner/worker, iterative retrieval)."""

from __future__ import annotations

HELP = "answer with an agentic workflow (several searches per question) and show what it did"


def add_parser(sub) -> None:
    from ragadapt.cli.common import add_device

    p = sub.add_parser("agent", help=HELP, description=HELP + (
        ". react: the generator calls search/read/answer tools step by step; planner: sub-questions answered "
        "with retrieval, then composed; iterative: retrieve, draft, retrieve again with the draft."))
    p.add_argument("system", help="directory written by `ragadapt build` (or a training run's system/)")
    p.add_argument("question", nargs="*", help="question(s); each argument is one question")
    p.add_argument("--workflow", choices=("react", "planner", "iterative"), default="react", help="default: react")
    p.add_argument("--policy", default=None,
                   help="the agent's LM (a directory from `ragadapt train agent`); default: the system's generator")
    p.add_argument("-k", type=int, default=None, help="passages per search (default: the system's k)")
    p.add_argument("--max-steps", type=int, default=4, help="react: tool calls before the direct-answer fallback")
    p.add_argument("--rounds", type=int, default=3, help="iterative: retrieval rounds")
    p.add_argument("--show-trajectory", action="store_true", help="print every step, tool call and observation")
    p.add_argument("--save-trajectory", metavar="PATH", default=None, help="write the trajectories as JSONL")
    p.add_argument("--eval", metavar="QA.jsonl", default=None,
                   help="run on a QA file instead (question, answers): accuracy and trajectory statistics")
    p.add_argument("--json", action="store_true", help="print one JSON trajectory per question")
    add_device(p)


def settings(args) -> dict:
    out = {"k": args.k} if args.k else {}
    if args.workflow == "react":
        out["max_steps"] = args.max_steps
    if args.workflow == "iterative":
        out["rounds"] = args.rounds
    return out


def run(args) -> int:
    import json

    from ragadapt.agents import make_agent, save_trajectories
    from ragadapt.errors import DataFormatError
    from ragadapt.system import RAGSystem

    system = RAGSystem.load(args.system, device=args.device)
    if args.policy:
        from ragadapt.generation import TransformersGenerator

        system.generator = TransformersGenerator.from_pretrained(args.policy, device=args.device)
    agent = make_agent(system, args.workflow, **settings(args))
    if args.eval:
        from ragadapt.agents.evaluation import evaluate_agent
        from ragadapt.eval.data import load_qa_jsonl

        summary, trajectories = evaluate_agent(agent, load_qa_jsonl(args.eval))
        print(json.dumps(summary, indent=2))
    elif args.question:
        trajectories = agent.run(args.question)
        for t in trajectories:
            if args.json:
                print(json.dumps(t.to_dict(), ensure_ascii=False))
            elif args.show_trajectory:
                print(t.render() + "\n")
            else:
                print(f"Q: {t.question}\nA: {t.answer}   ({t.stats()['searches']} searches, stop: {t.stop})\n")
    else:
        raise DataFormatError("give a question or --eval QA.jsonl", field="question")
    if args.save_trajectory:
        print(f"trajectories: {save_trajectories(args.save_trajectory, trajectories)}")
    return 0
