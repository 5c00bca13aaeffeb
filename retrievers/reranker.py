"""Cross-encoder reranker slot: scores (query, passage) pairs jointly, batched over all pairs."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from ragadapt.atomic import atomic_dir
from ragadapt.errors import UnknownModelError
from ragadapt.manifest import read_manifest, write_manifest
from ragadapt.models import hub_load_hint, resolve_model
from ragadapt.types import Hit

MODEL_SUBDIR = "model"


class CrossEncoderReranker:
    """Wraps a sentence-transformers CrossEncoder. No pretrained cross-encoder ships offline: start one
    from any encoder (e.g. MiniLM) and train it (the LM-distillation routine of the retriever issue).

    `prior_weight` > 0 makes it a residual reranker: a candidate's score is the cross-encoder's plus prior_weight x
    the first-stage retriever's score, so a cross-encoder whose head is zero (`zero_head`) ranks exactly as the
    retriever does, and training learns a correction to it rather than a ranking from scratch."""

    kind = "cross-encoder"

    def __init__(self, model, name: str, batch_size: int = 32, max_length: int = 256, prior_weight: float = 0.0):
        self.model, self.name, self.batch_size, self.max_length = model, name, batch_size, max_length
        self.prior_weight = float(prior_weight)

    @classmethod
    def from_pretrained(cls, name: str, device: str | None = None, max_length: int = 256, num_labels: int = 1,
             trust_remote_code: bool = False, prior_weight: float = 0.0) -> CrossEncoderReranker:
        from sentence_transformers import CrossEncoder

        from ragadapt.device import default_device

        from transformers import AutoConfig

        path = resolve_model(name) if not Path(name).is_dir() else name
        try:
            positions = getattr(AutoConfig.from_pretrained(path), "max_position_embeddings", None)
            max_length = min(max_length, positions) if positions else max_length  # never past the position table
            model = CrossEncoder(path, num_labels=num_labels, max_length=max_length,
                                 device=device or default_device(), trust_remote_code=trust_remote_code)
        except OSError as e:
            raise UnknownModelError(hub_load_hint(name, None)) from e
        return cls(model, name, max_length=max_length, prior_weight=prior_weight)

    def head(self):
        """The scoring head: the model's last Linear with one output."""
        import torch

        heads = [m for m in self.model.modules() if isinstance(m, torch.nn.Linear) and m.out_features == 1]
        if not heads:
            raise ValueError(f"{self.name}: no one-output scoring head")
        return heads[-1]

    def zero_head(self) -> None:
        """Zero the scoring head: the cross-encoder then scores every pair 0, so with a prior the reranker starts as
        the retriever. Only the head gets a gradient at the first step (as a LoRA B initialised to zero), the
        encoder from the second on."""
        import torch

        head = self.head()
        with torch.no_grad():
            head.weight.zero_()
            if head.bias is not None:
                head.bias.zero_()

    @property
    def module(self):
        return self.model

    def rerank(self, queries: Sequence[str], hits: Sequence[Sequence[Hit]], k: int | None = None) -> list[list[Hit]]:
        pairs = [(q, h.passage.contents) for q, hs in zip(queries, hits) for h in hs]
        if not pairs:
            return [[] for _ in queries]
        import torch

        # raw logits, as the training losses see them (predict's default sigmoid would squash a residual's scale)
        scores = self.model.predict(pairs, batch_size=self.batch_size, show_progress_bar=False,
                                    activation_fn=torch.nn.Identity())
        out, i = [], 0
        for hs in hits:
            scored = sorted(((float(s) + self.prior_weight * h.score, h) for s, h in zip(scores[i:i + len(hs)], hs)),
                            key=lambda t: -t[0])
            i += len(hs)
            out.append([Hit(h.passage, float(s), rank) for rank, (s, h) in enumerate(scored[:k])])
        return out

    def save(self, directory: str | Path) -> None:
        with atomic_dir(directory) as tmp:
            self.model.save(str(tmp / MODEL_SUBDIR))
            write_manifest(tmp, self.kind, name=self.name, max_length=self.max_length, prior_weight=self.prior_weight)
        return Path(directory)

    @classmethod
    def load(cls, directory: str | Path, device: str | None = None) -> CrossEncoderReranker:
        """A reranker saved by `save` (checked against its manifest)."""
        m = read_manifest(directory, cls.kind)
        r = cls.from_pretrained(str(Path(directory) / MODEL_SUBDIR), device=device, max_length=m.get("max_length", 256),
                                prior_weight=float(m.get("prior_weight", 0.0)))
        r.name = m["name"]
        return r
