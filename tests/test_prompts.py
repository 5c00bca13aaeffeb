from ragadapt.prompts import RAGPrompt
from ragadapt.types import Hit, Passage


def count_words(text):
    return len(text.split())


def hits(*texts):
    return [Hit(Passage(id=str(i), text=t, title=f"T{i}"), 0.0, i) for i, t in enumerate(texts)]


def test_passages_are_numbered_in_rank_order():
    msgs = RAGPrompt(system="S").messages("Q?", hits("first", "second"))
    assert msgs[0] == {"role": "system", "content": "S"}
    assert msgs[1]["content"] == "Passages:\n[1] T0\nfirst\n\n[2] T1\nsecond\n\nQuestion: Q?"


def test_no_passages():
    assert RAGPrompt().messages("Q?", [])[1]["content"] == "Question: Q?"


def test_fit_shortens_then_drops_lowest_ranked_first():
    prompt = RAGPrompt(system="s", max_prompt_tokens=17 + 40)  # budget: 40 words after system + markup
    long = " ".join(["w"] * 30)
    q, kept = prompt.fit("Q?", [("A", long), ("B", long), ("C", long)], count_words)
    assert [t for t, _ in kept] == ["A"]  # B and C could not keep 16 words: dropped
    assert kept[0][1] == long  # the top passage fits whole
    q, kept = prompt.fit("Q?", [("A", long + " " + long)], count_words)
    assert len(kept) == 1 and 0 < count_words(kept[0][1]) < 60  # the top passage is cut, never dropped
    assert count_words(prompt.user_message(q, kept)) <= 40


def test_fit_cuts_an_overlong_question():
    prompt = RAGPrompt(system="s", max_prompt_tokens=17 + 40)
    q, kept = prompt.fit(" ".join(["q"] * 100), [("A", "short passage")], count_words)
    assert count_words(q) == 20
    assert count_words(prompt.user_message(q, kept)) <= 40


def test_a_reply_cut_by_the_token_limit_ends_at_a_boundary():
    from ragadapt.text import end_at_boundary

    assert end_at_boundary("Paris is the capital. It lies on the Se") == "Paris is the capital."
    assert end_at_boundary("The painter Georges Seu") == "The painter Georges…"
