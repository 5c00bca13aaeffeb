"""Retriever alignment with a frozen LM: REPLUG LM-supervised retrieval (LSR), the contrastive baseline,
RA-DIT dual instruction tuning and LM-distilled rerankers."""
