"""A survey answered twice at once counts once (real parallel clients, committed rows)."""

from __future__ import annotations

from tests.notices.races import race

QUESTIONS = [{"kind": "scale", "text": "总体评分"}]


def test_a_survey_answered_twice_at_once_counts_once(estate):
    org = estate(rooms=1)
    created = race(
        [
            org.post(
                "/api/v1/admin/surveys",
                {"title": "满意度", "scope": "org", "questions": QUESTIONS},
                org.desk,
            )
        ]
    )[0].body
    survey_id = created["id"]
    opened = race([org.post(f"/api/v1/admin/surveys/{survey_id}/open", {}, org.desk)])
    assert opened[0].status == 200
    question_id = created["questions"][0]["id"]
    tenant = org.tenants[0]
    answers = race(
        [
            org.post(
                f"/api/v1/tenant/surveys/{survey_id}/answers",
                {"answers": [{"question_id": question_id, "scale": score}]},
                tenant,
            )
            for score in (1, 2, 3, 4, 5, 5)
        ]
    )
    statuses = sorted(a.status for a in answers)
    assert statuses == [201, 409, 409, 409, 409, 409], answers
    assert {a.body["error"] for a in answers if a.status == 409} == {"already_answered"}
    assert org.scalar("SELECT count(*) FROM survey_responses WHERE org_id = :org_id") == 1
    assert org.scalar("SELECT count(*) FROM survey_answers WHERE org_id = :org_id") == 1
