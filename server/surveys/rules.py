"""Pure rules of satisfaction surveys (满意度调查): question kinds, states, answers.

No framework, database or settings here.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

SINGLE, MULTIPLE, SCALE, TEXT = "single", "multiple", "scale", "text"
QUESTION_KINDS = (SINGLE, MULTIPLE, SCALE, TEXT)
CHOICE_KINDS = (SINGLE, MULTIPLE)
SCALE_MIN, SCALE_MAX = 1, 5
MAX_OPTIONS = 20
MAX_QUESTIONS = 50
MAX_TEXT = 500

DRAFT, OPEN, CLOSED = "draft", "open", "closed"
STATUSES = (DRAFT, OPEN, CLOSED)
# draft → open → closed; a closed survey may be opened again.
MOVES = {"open": (DRAFT, CLOSED), "close": (OPEN,)}
TARGET_STATUS = {"open": OPEN, "close": CLOSED}

# Answered once per person, or once per room (the household answers together).
PER_PERSON, PER_ROOM = "person", "room"
ANSWER_PER = (PER_PERSON, PER_ROOM)

# Surveys target rooms the way tenant notices do.
SCOPE_ORG, SCOPE_COMMUNITIES, SCOPE_BUILDINGS, SCOPE_ROOMS = (
    "org",
    "communities",
    "buildings",
    "rooms",
)
SCOPES = (SCOPE_ORG, SCOPE_COMMUNITIES, SCOPE_BUILDINGS, SCOPE_ROOMS)


@dataclass(frozen=True)
class Question:
    id: int
    kind: str
    required: bool
    options: Sequence[str]


@dataclass(frozen=True)
class Answer:
    question_id: int
    choices: list[int] | None = None
    scale: int | None = None
    text: str | None = None


def may_move(action: str, status: str) -> bool:
    return status in MOVES[action]


def answer_key(per: str, *, user_id: int, room_id: int) -> str:
    """What one answer is unique by: the person, or the room."""
    return f"user:{user_id}" if per == PER_PERSON else f"room:{room_id}"


def check_answers(
    questions: Sequence[Question], given: Mapping[int, Any]
) -> tuple[list[Answer], dict[str, list[str]]]:
    """Turn `{question_id: value}` into answers; field errors (zh-CN) keyed `answers.<id>`."""
    errors: dict[str, list[str]] = {}
    answers: list[Answer] = []
    known = {q.id for q in questions}
    for qid in given:
        if qid not in known:
            errors[f"answers.{qid}"] = ["问卷中没有这道题"]
    for q in questions:
        value = given.get(q.id)
        field = f"answers.{q.id}"
        if value is None or value == "" or value == []:
            if q.required:
                errors[field] = ["此题必答"]
            continue
        if q.kind == SINGLE:
            if isinstance(value, bool) or not isinstance(value, int):
                errors[field] = ["请选择一个选项"]
            elif not 0 <= value < len(q.options):
                errors[field] = ["选项不存在"]
            else:
                answers.append(Answer(q.id, choices=[value]))
        elif q.kind == MULTIPLE:
            if not isinstance(value, list) or not all(
                isinstance(v, int) and not isinstance(v, bool) for v in value
            ):
                errors[field] = ["请选择选项"]
            elif any(not 0 <= v < len(q.options) for v in value):
                errors[field] = ["选项不存在"]
            else:
                answers.append(Answer(q.id, choices=sorted(set(value))))
        elif q.kind == SCALE:
            if (
                isinstance(value, bool)
                or not isinstance(value, int)
                or not SCALE_MIN <= value <= SCALE_MAX
            ):
                errors[field] = [f"请打 {SCALE_MIN}–{SCALE_MAX} 分"]
            else:
                answers.append(Answer(q.id, scale=value))
        else:
            if not isinstance(value, str):
                errors[field] = ["请填写文字"]
            elif len(value.strip()) > MAX_TEXT:
                errors[field] = [f"最多 {MAX_TEXT} 字"]
            elif value.strip():
                answers.append(Answer(q.id, text=value.strip()))
            elif q.required:
                errors[field] = ["此题必答"]
    return answers, errors


def question_errors(kind: str, options: Sequence[str]) -> list[str]:
    """What is wrong with a question's options for its kind (zh-CN), if anything."""
    if kind in CHOICE_KINDS:
        if len(options) < 2:
            return ["选择题至少需要 2 个选项"]
        if len(options) > MAX_OPTIONS:
            return [f"最多 {MAX_OPTIONS} 个选项"]
        if len(set(options)) != len(options):
            return ["选项不能重复"]
    elif options:
        return ["只有选择题可以设置选项"]
    return []


def room_in_scope(
    scope: str, target_ids: Sequence[int], *, room_id: int, building_id: int, community_id: int
) -> bool:
    """Whether a survey targeting `scope`/`target_ids` reaches this room."""
    if scope == SCOPE_COMMUNITIES:
        return community_id in target_ids
    if scope == SCOPE_BUILDINGS:
        return building_id in target_ids
    if scope == SCOPE_ROOMS:
        return room_id in target_ids
    return True


@dataclass
class QuestionTally:
    """What one question's answers add up to (over all responses, or one place's)."""

    question_id: int
    answered: int = 0
    option_counts: list[int] | None = None
    scale_counts: list[int] | None = None  # index 0 is a score of SCALE_MIN
    scale_sum: int = 0

    @property
    def average(self) -> float | None:
        if not self.scale_counts or not self.answered:
            return None
        return round(self.scale_sum / self.answered, 2)


def empty_tallies(questions: Sequence[Question]) -> dict[int, QuestionTally]:
    return {
        q.id: QuestionTally(
            q.id,
            option_counts=[0] * len(q.options) if q.kind in CHOICE_KINDS else None,
            scale_counts=[0] * (SCALE_MAX - SCALE_MIN + 1) if q.kind == SCALE else None,
        )
        for q in questions
    }


def add_answer(
    tallies: Mapping[int, QuestionTally],
    question_id: int,
    choices: Sequence[int] | None,
    scale: int | None,
) -> None:
    tally = tallies.get(question_id)
    if tally is None:
        return
    tally.answered += 1
    if tally.option_counts is not None:
        for choice in choices or ():
            if 0 <= choice < len(tally.option_counts):
                tally.option_counts[choice] += 1
    if tally.scale_counts is not None and scale is not None:
        tally.scale_counts[scale - SCALE_MIN] += 1
        tally.scale_sum += scale
