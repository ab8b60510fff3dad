"""Follow-up answers from the knowledge base."""

from __future__ import annotations


def test_clear_question_gets_a_confident_answer_from_the_right_entry(retriever):
    result = retriever.ask("how do I stop gradients from exploding in my LSTM, should I clip them?")
    assert result.confident
    assert result.results[0].question_id in ("8.3.46.1", "8.3.46.2")
    assert result.results[0].question_id in result.answer
    assert len(result.results) == 3


def test_off_topic_question_is_not_confident_and_offers_topics(retriever):
    result = retriever.ask("what's the best pizza topping in naples?")
    assert not result.confident
    assert "not sure" in result.answer
    assert result.results[0].question_id in result.answer


def test_the_open_question_is_favoured(retriever):
    plain = retriever.ask("why does this matter?", k=5)
    favoured = retriever.ask("why does this matter?", k=5, context_id="8.3.65")
    assert favoured.results[0].question_id == "8.3.65"
    assert plain.results[0].question_id != "8.3.65"
    # a specific question about another topic still goes to that topic
    other = retriever.ask("how does layer norm differ from batch norm?", context_id="8.3.65")
    assert other.results[0].question_id == "8.3.54"


def test_answer_quotes_the_relevant_part_and_suggests_a_demo(retriever):
    result = retriever.ask("how does inverted dropout scale activations at training time?")
    assert result.confident
    assert result.results[0].question_id == "8.3.43.2"
    assert "demo run dropout" in result.answer


def test_a_follow_up_stays_on_its_question_when_it_is_about_it(retriever):
    from bot.retrieval.retriever import FOLLOW_UP_MARGIN

    query = "what does the backward pass through the shortcut look like?"  # on skip connections
    boosted = retriever.ask(query, context_id="8.3.45")
    assert boosted.results[0].question_id != "8.3.45"  # "backward pass" pulls elsewhere
    follow = retriever.ask(query, context_id="8.3.45", context_margin=FOLLOW_UP_MARGIN)
    assert follow.results[0].question_id == "8.3.45" and follow.confident
    assert follow.answer.startswith("From 8.3.45")


def test_a_follow_up_its_question_does_not_cover_says_so(retriever):
    from bot.retrieval.retriever import FOLLOW_UP_MARGIN

    query = "does that also help with sparse gradients?"  # replying on skip connections
    boosted = retriever.ask(query, context_id="8.3.45")
    assert boosted.results[0].question_id == "8.3.59"
    assert "8.3.45" not in boosted.answer  # the old answer: Adagrad, as if that was asked
    follow = retriever.ask(query, context_id="8.3.45", context_margin=FOLLOW_UP_MARGIN)
    assert follow.answer.startswith("The notes on 8.3.45 don't cover that; 8.3.59 does.")
    off = retriever.ask("what's the best pizza topping in naples?", context_id="8.3.45",
                        context_margin=FOLLOW_UP_MARGIN)
    assert not off.confident and "not sure" in off.answer
