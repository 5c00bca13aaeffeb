"""Agentic multi-step search over a RAGSystem: a tool protocol, three workflows (ReAct search agent,
planner/worker, iterative retrieval) that each return full trajectories, and LangChain adapters."""

from ragadapt.agents.iterative import IterativeRetrieval
from ragadapt.agents.planner import PlannerWorker
from ragadapt.agents.react import ReActAgent
from ragadapt.agents.tools import Observation, Tool, ToolArgumentError, Toolbox, default_tools
from ragadapt.agents.trajectory import Step, Trajectory, load_trajectories, save_trajectories, summarize

WORKFLOWS = {"react": ReActAgent, "planner": PlannerWorker, "iterative": IterativeRetrieval}


def make_agent(system, workflow: str = "react", **kwargs):
    """A workflow over a RAGSystem's retriever and generator (`kwargs`: the workflow's own settings)."""
    if workflow not in WORKFLOWS:
        raise ValueError(f"unknown workflow {workflow!r}; choose from {', '.join(WORKFLOWS)}")
    if system.generator is None:
        raise ValueError("the agent needs the system's generator; load the system with its generator")
    return WORKFLOWS[workflow].over(system, **kwargs)


__all__ = ["WORKFLOWS", "IterativeRetrieval", "Observation", "PlannerWorker", "ReActAgent", "Step", "Tool",
           "ToolArgumentError", "Toolbox", "Trajectory", "default_tools", "load_trajectories", "make_agent",
           "save_trajectories", "summarize"]
