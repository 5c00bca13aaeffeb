"""QA datasets as JSONL: one `{"question", "answers" | "answer", "gold_ids"?, "gold_doc_ids"?}` per line."""

from __future__ import annotations

from pathlib import Path

from ragadapt.errors import DataFormatError
from ragadapt.jsonl import iter_jsonl
from ragadapt.types import QAExample


def _str_list(record: dict, key: str, path: Path, lineno: int) -> list[str]:
    value = record.get(key, [])
    if isinstance(value, str):
        return [value]
    if not isinstance(value, list) or not all(isinstance(v, (str, int, float)) for v in value):
        raise DataFormatError("expected a string or a list of strings", path=str(path), line=lineno, field=key)
    return [str(v) for v in value]


def load_qa_jsonl(path: str | Path) -> list[QAExample]:
    path = Path(path)
    examples = []
    for lineno, record in iter_jsonl(path):
        question = record.get("question")
        if not isinstance(question, str) or not question.strip():
            raise DataFormatError("missing or empty question", path=str(path), line=lineno, field="question")
        answers = _str_list(record, "answers", path, lineno) or _str_list(record, "answer", path, lineno)
        if not answers:
            raise DataFormatError("no reference answer (give 'answers' or 'answer')", path=str(path),
                                  line=lineno, field="answers")
        examples.append(QAExample(
            question=question, answers=answers, id=str(record.get("id", f"{path.name}:{lineno}")),
            gold_ids=_str_list(record, "gold_ids", path, lineno),
            gold_doc_ids=_str_list(record, "gold_doc_ids", path, lineno),
            meta={**(record["meta"] if isinstance(record.get("meta"), dict) else {}),  # QAExample.to_dict round trip
                  **{k: v for k, v in record.items() if k not in
                     ("question", "answers", "answer", "id", "gold_ids", "gold_doc_ids", "meta")}},
        ))
    if not examples:
        raise DataFormatError("no examples", path=str(path))
    return examples
