"""The bridge comparison: every strategy answers the same questions from the same candidates, the reranker
row reorders before taking one, bridge fallbacks are counted per split."""

from ragadapt.bridges import BGMBridge
from ragadapt.prompts import RAGPrompt
from ragadapt.training.bridge_eval import compare, load_reranker, strategies
from ragadapt.types import Hit, Passage, QAExample


class EchoGenerator:
    """Answers with the title of the first passage in the prompt ("none" without passages)."""

    def count_tokens(self, text):
        return len(text.split())

    def generate(self, prompts, max_new_tokens=24, batch_size=8, **kw):
        out = []
        for messages in prompts:
            user = messages[-1]["content"]
            out.append(user.split("[1] ", 1)[1].split("\n", 1)[0] if "[1] " in user else "none")
        return out


class ReverseReranker:
    def rerank(self, queries, hits, k=None):
        return [[Hit(h.passage, h.score, r) for r, h in enumerate(reversed(hs))] for hs in hits]


class Scripted(EchoGenerator):
    def __init__(self, replies):
        self.replies = list(replies)

    def generate(self, prompts, max_new_tokens=16, batch_size=8, **kw):
        return [self.replies.pop(0) for _ in prompts]


def candidates(names):
    return [Hit(Passage(id=n, title=n, text=f"{n} text"), 1.0, i) for i, n in enumerate(names)]


def test_compare_rows_on_the_same_candidates(tmp_path):
    examples = [QAExample("q1", ["Rome"]), QAExample("q2", ["Oslo"])]
    hits = [candidates(["Oslo", "Rome", "Lima"]), candidates(["Oslo", "Rome", "Lima"])]
    bridge = BGMBridge(Scripted(["Rome", "garbage"]), fallback_k=1)
    selectors = strategies(3, {"bridge": bridge}, ReverseReranker())
    assert list(selectors) == ["top-1", "top-3", "reranker (top-1)", "bridge"]
    report = compare(EchoGenerator(), RAGPrompt(), {"held-out": (examples, hits)}, selectors, {"bridge": bridge},
                     tmp_path)
    rows = report["held-out"]
    assert rows["top-1"]["contains"] == 0.5 and rows["top-1"]["passages"] == 1.0  # answers "Oslo" twice
    assert rows["top-3"]["passages"] == 3.0
    assert rows["reranker (top-1)"]["contains"] == 0.0  # "Lima" first after reversing
    assert rows["bridge"]["contains"] == 1.0 and rows["bridge"]["fallbacks"] == 1  # "Rome", then the fallback "Oslo"
    assert rows["top-1"]["not_top1_first"] == 0.0 and rows["reranker (top-1)"]["not_top1_first"] == 1.0
    assert rows["bridge"]["not_top1_first"] == 0.5  # overrode the retriever on q1 only
    assert "| held-out | bridge | 2 | 100.0 |" in (tmp_path / "report.md").read_text()
    assert rows["bridge"]["vs"]["top-1"] == {"only_a": 1, "only_b": 0, "p": 1.0}  # q1 right only with the bridge
    assert "| held-out | bridge | top-1 | 1 | 0 | 1.00 |" in (tmp_path / "report.md").read_text()
    lines = (tmp_path / "predictions.jsonl").read_text().splitlines()
    assert len(lines) == 8 and '"strategy": "bridge"' in lines[-1] and '"passages": ["Oslo"]' in lines[-1]


def test_paired_sign_test():
    from ragadapt.eval.metrics import paired

    right, wrong = {"contains": 1.0}, {"contains": 0.0}
    assert paired([right] * 3, [wrong] * 3) == {"only_a": 3, "only_b": 0, "p": 0.25}  # 2 * (1/2)^3
    assert paired([right, wrong], [wrong, right])["p"] == 1.0 and paired([], [])["p"] == 1.0
    assert paired([right] * 10, [wrong] * 10)["p"] < 0.01


def test_missing_reranker_is_skipped(tmp_path, caplog):
    assert load_reranker(None) is None
    assert load_reranker(str(tmp_path / "nowhere")) is None
    assert "reranker row skipped" in caplog.text
