"""REPLUG LM-supervised retrieval (Shi et al., 2023): the retriever's distribution over its top-k should
match how much each passage helps the frozen LM produce the answer.

    P_R(d_i | q)  = softmax_i( sim(q, d_i) / tau_r )
    Q_LM(d_i | q) = softmax_i( log P_LM(y | d_i, q) / tau_lm )
    loss          = KL( Q_LM || P_R ), averaged over queries; gradients flow into P_R only.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor, nn

# Labels of the sentence-transformers loss: [B, 2, k] = (LM log-likelihoods, index rows of the candidates);
# NaN LM scores mark padding (a query with fewer than k candidates).
LM_ROW, INDEX_ROW = 0, 1


def lsr_loss(retrieval_scores: Tensor, lm_scores: Tensor, tau_r: float = 0.05, tau_lm: float = 1.0,
             mask: Tensor | None = None) -> Tensor:
    """KL(Q_LM || P_R) per query, averaged.

    retrieval_scores: [B, k] similarities sim(q, d_i) (cosine for normalised embeddings)
    lm_scores:        [B, k] log P_LM(answer | d_i, q); no gradient flows into them
    mask:             [B, k] True for real candidates (default: all); a query needs >= 1
    """
    if mask is None:
        mask = torch.ones_like(lm_scores, dtype=torch.bool)
    neg_inf = torch.finfo(retrieval_scores.dtype).min
    log_p_r = torch.log_softmax((retrieval_scores / tau_r).masked_fill(~mask, neg_inf), dim=-1)      # [B, k]
    log_q_lm = torch.log_softmax((lm_scores.detach().float() / tau_lm).masked_fill(~mask, neg_inf), dim=-1)
    q_lm = log_q_lm.exp()                                                                                # [B, k]
    kl = torch.where(mask, q_lm * (log_q_lm - log_p_r.float()), torch.zeros_like(q_lm)).sum(-1)          # [B]
    return kl.mean()


class LSRLoss(nn.Module):
    """sentence-transformers loss for LSR. Columns: `query` (+ `p0`..`p{k-1}` passage texts when the
    document encoder is trained); label [2, k] per row (see LM_ROW / INDEX_ROW).

    With `doc_vectors` ([N, d], the frozen index's vectors) only the query encoder is trained and the
    candidates' embeddings are looked up by index row: no document forward pass at all.
    """

    def __init__(self, model, tau_r: float = 0.05, tau_lm: float = 1.0, doc_vectors: Tensor | None = None):
        super().__init__()
        self.model, self.tau_r, self.tau_lm = model, tau_r, tau_lm
        self.doc_vectors = doc_vectors

    def _embed(self, features: dict) -> Tensor:
        return F.normalize(self.model(features)["sentence_embedding"], dim=-1)

    def forward(self, sentence_features, labels: Tensor) -> Tensor:
        lm = labels[:, LM_ROW]                                                  # [B, k]
        mask = ~torch.isnan(lm)
        q = self._embed(sentence_features[0])                                   # [B, d]
        if self.doc_vectors is not None:
            rows = labels[:, INDEX_ROW].nan_to_num(0).long().clamp(min=0)        # [B, k]
            docs = self.doc_vectors.to(q.device)[rows]                          # [B, k, d]
        else:
            docs = torch.stack([self._embed(f) for f in sentence_features[1:]], dim=1)  # [B, k, d]
        scores = torch.einsum("bd,bkd->bk", q, docs.to(q.dtype))                 # [B, k] cosine
        return lsr_loss(scores, lm.nan_to_num(0.0), self.tau_r, self.tau_lm, mask)

    def get_config_dict(self) -> dict:
        return {"tau_r": self.tau_r, "tau_lm": self.tau_lm, "query_encoder_only": self.doc_vectors is not None}
