"""Fakes for agent tests: a word-overlap retriever over a few passages and a generator whose replies are
scripted per prompt, so every trajectory is known exactly."""

import pytest

from ragadapt.types import Hit, Passage

PASSAGES = [
    Passage("p1", "Mona Lisa is a portrait painting by Leonardo da Vinci.", "Mona Lisa"),
    Passage("p2", "Leonardo da Vinci was an Italian polymath born in Vinci.", "Leonardo da Vinci"),
    Passage("p3", "Vinci is a town in Tuscany, Italy.", "Vinci"),
    Passage("p4", "The telephone was invented by Alexander Graham Bell.", "Telephone"),
]


class WordRetriever:
    def __init__(self, passages=PASSAGES):
        self.passages = list(passages)
        self.queries = []

    def __len__(self):
        return len(self.passages)

    def get(self, passage_id):
        for p in self.passages:
            if p.id == passage_id:
                return p
        raise KeyError(passage_id)

    def search(self, queries, k):
        self.queries += list(queries)
        out = []
        for q in queries:
            words = set(q.lower().replace("?", "").split())
            scored = sorted(self.passages, key=lambda p: -len(words & set(p.contents.lower().replace(".", "").split())))
            out.append([Hit(p, 1.0, r) for r, p in enumerate(scored[:k])])
        return out


class ScriptedGenerator:
    """`reply(messages) -> str` decides each completion; prompts and calls are recorded."""

    name = "scripted"

    def __init__(self, reply):
        self.reply = reply
        self.calls = []

    def count_tokens(self, text):
        return len(text.split())

    def generate(self, prompts, max_new_tokens=64, temperature=0.0, top_p=1.0, batch_size=8, stop=None):
        self.calls.append(list(prompts))
        return [self.reply(p) for p in prompts]


@pytest.fixture
def retriever():
    return WordRetriever()


@pytest.fixture
def scripted():
    """The ScriptedGenerator class (a factory: scripted(reply_fn))."""
    return ScriptedGenerator
