"""Content checks over the whole curriculum: a learner cannot pass by position, by length or by
echoed wording, so the role-plays and questions are passed by reading them.

* the best option's place, as learners see it (the builder's fixed shuffle), is spread: no place
  holds it at more than 40 % of the role-play decisions and single-choice questions;
* the best role-play choice is the longest (or tied longest) at 40 % of decisions at most, and a
  single-choice key the longest at 40 % of those questions at most;
* in a matching question no item shares a content word with its own answer (the first four
  letters of each word of four or more letters, a plural's s dropped, common words left out).
"""

from __future__ import annotations

import re
from collections import Counter

import pytest

from curriculum.builder import load_modules, presented_choices, presented_options
from curriculum.roleplay import winning_path

LIMIT = 0.40
COMMON = set("""the and for you your with that are can not all our their they them when what how who from this has have
its was were will would one out any but her his she him whether into about there than then also each every more most
other some such only own same make makes made does did being been very just what which while where after before
even still sure city""".split())


@pytest.fixture(scope="module")
def modules():
    return load_modules()


def decisions(modules):
    """(where, [(text, is best), ...] in the order shown) for every role-play decision."""
    for m in modules:
        for rp in m.roleplays:
            for step in rp.steps:
                yield f"{m.id} {rp.id} step {step.id}", [(c.text, c.quality == "best") for c in presented_choices(rp, step)]


def single_keys(modules):
    for m in modules:
        for q in m.questions:
            if q.kind == "single":
                yield f"{m.id} {q.id}", [(o.text, o.id == q.answer[0]) for o in presented_options(q)]


def test_the_best_option_is_in_no_place_more_than_40_percent_of_the_time(modules):
    places = Counter()
    total = 0
    for _where, shown in [*decisions(modules), *single_keys(modules)]:
        for place, (_text, best) in enumerate(shown):
            places[place] += best
        total += sum(best for _t, best in shown)
    assert total >= 40  # every decision and question is counted
    assert {p: round(n / total, 2) for p, n in places.items() if n / total > LIMIT} == {}


def longest_share(items) -> tuple[float, list[str]]:
    items = list(items)
    hits = [where for where, shown in items
            if max(len(t) for t, best in shown if best) >= max(len(t) for t, _ in shown)]
    return len(hits) / len(items), hits


def test_the_best_role_play_choice_is_the_longest_at_40_percent_of_decisions_at_most(modules):
    share, hits = longest_share(decisions(modules))
    assert share <= LIMIT, f"{len(hits)} decisions: {hits}"


def test_a_single_choice_key_is_the_longest_at_40_percent_of_questions_at_most(modules):
    share, hits = longest_share(single_keys(modules))
    assert share <= LIMIT, f"{len(hits)} questions: {hits}"


def stems(text: str) -> set[str]:
    out = set()
    for word in re.findall(r"[a-z]+", text.lower()):
        if len(word) > 3 and word.endswith("s") and not word.endswith("ss"):
            word = word[:-1]
        if len(word) >= 4 and word not in COMMON:
            out.add(word[:4])
    return out


def test_the_stems_rule_by_hand():
    assert stems("Asks a teammate for help") == {"teamm"[:4], "help"} and "ask" not in stems("asks")
    assert stems("Service") & stems("We serve with a spirit") == {"serv"}
    assert stems("public records requests") & stems("comparable request") == {"requ"}


def test_no_matching_item_repeats_its_own_answers_wording(modules):
    echoes = []
    for m in modules:
        for q in m.questions:
            if q.kind != "matching":
                continue
            texts = {o.id: o.text for o in q.options}
            for item, key in zip(q.items, q.answer):
                shared = stems(item.text) & stems(texts[key])
                if shared:
                    echoes.append(f"{m.id} {q.id} item '{item.id}': {sorted(shared)}")
    assert echoes == []


def test_a_scored_role_play_names_its_choices_by_what_they_do_not_by_letter(modules):
    # the released notebook shows choice ids; ids a, b, c in the author's order would tell
    # which choice was written first (often the best): a scored play's ids must not be letters
    lettered = [f"{m.id} {rp.id} step {s.id}" for m in modules for rp in m.roleplays if rp.scoring == "path"
                for s in rp.steps if any(re.fullmatch(r"[a-z]", c.id) for c in s.choices)]
    assert lettered == []


def test_at_least_half_the_role_plays_have_three_or_more_decisions_on_their_best_path(modules):
    # issue 14: "at least half with three or more decisions whose earlier choices carry forward"
    def carries(rp):  # some later step, reaction, choice or branch depends on an earlier choice
        return any(s.variants or any(c.when or c.reactions or c.branches for c in s.choices) for s in rp.steps)
    plays = [(f"{m.id} {rp.id}", len(winning_path(rp)[0]), carries(rp)) for m in modules for rp in m.roleplays]
    long_ones = [where for where, decisions, carries in plays if decisions >= 3 and carries]
    assert len(long_ones) * 2 >= len(plays), f"only {len(long_ones)} of {len(plays)}: {long_ones}"
