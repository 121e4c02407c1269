"""A project's checks as ``show`` prints them: the table (FREE, age, state, where usage came
from) and the JSON. Imports ``cache``, ``answers``, ``words`` and ``sources.quota_names``."""

from __future__ import annotations

from trayapp import answers, cache, words
from trayapp.sources import quota_names

TYPE_CHECKING = False  # typing costs more to import than printing the table takes
if TYPE_CHECKING:
    from typing import Any


def header(snap: cache.Snapshot, project: str, max_age: float, now: float) -> str:
    """``my-project: complete · updated 4 min ago · cycle 3 38/38``."""
    checks = snap.checks(project)
    state = answers.project_state(checks, max_age, now)
    counts = []
    errors = sum(answers.in_error(c) for c in checks)
    pending = sum(c["status"] == "pending" for c in checks)
    if errors:
        counts.append(f"{errors} in error")
    if pending:
        counts.append(f"{pending} pending")
    if state != "complete" and counts:
        state += f" ({', '.join(counts)})"
    age = answers.data_age(checks, now)
    cycle = snap.cycle(project)
    return (
        f"{answers.clean(project)}: {state} · {age} · "
        f"cycle {cycle.get('id')} {cycle.get('done')}/{cycle.get('total')}"
    )


def project_json(
    snap: cache.Snapshot, project: str, rows: list[dict[str, Any]], max_age: float, now: float
) -> dict[str, Any]:
    checks = snap.checks(project)
    updated = answers.updated_at(checks)
    return {
        "state": answers.project_state(checks, max_age, now),
        "updated_at": _iso(updated),
        "age_s": None if updated is None else round(now - updated, 1),
        "warm": snap.is_warm(project, max_age, now),
        "complete": snap.is_complete(project, max_age, now),
        "cycle": snap.cycle(project),
        "checks": [
            {
                **c,
                "service": quota_names.service_of(c),
                "tier": quota_names.tier_of(c),
                "quota": quota_names.check_quota(c),
                "fresh": cache.is_fresh(c, max_age, now),
                "known": answers.known(c),
                "free": answers.free(c),
                "free_at_most": _at_most(c),
                "unlimited": c.get("unlimited") is True,
                "eligibility": c.get("eligibility"),
                **_pool(c),
                "request_url": quota_names.request_url(project, c),
            }
            for c in rows
        ],
    }


def _at_most(check: dict[str, Any]) -> float | None:
    """What FREE prints as a number: the free count, or the limit where usage is unknown
    (printed ``≤ 8``, where ``free`` is null); null when nothing is known or unlimited."""
    bound = answers.free_bound(check)
    return None if bound is None or bound[0] == float("inf") else bound[0]


def _pool(check: dict[str, Any]) -> dict[str, Any]:
    """For Cloud Build C3: ``largest_pool``, the c3-standard machine the quota holds."""
    if quota_names.service_of(check) != "cloudbuild" or check.get("kind") != "c3":
        return {}
    return {"largest_pool": _pool_text(check) or None}


def _pool_text(check: dict[str, Any]) -> str:
    bound = answers.free_bound(check)
    return quota_names.pool_text(check, None if bound is None else bound[0])


def _iso(epoch: float | None) -> str | None:
    if epoch is None:
        return None
    from datetime import UTC, datetime

    return datetime.fromtimestamp(epoch, UTC).isoformat(timespec="milliseconds")


def _status(check: dict[str, Any], max_age: float, now: float) -> str:
    text = words.state_text(check, cache.is_fresh(check, max_age, now))
    pool = _pool_text(check) if answers.known(check) else ""
    text = f"{text} · fits {pool}" if pool.startswith("c3-") else text
    usage = words.usage_text(check, max_age, now)
    text = f"{text} · {usage}" if usage else text
    raise_ = words.eligibility_text(check.get("eligibility"))
    return f"{text} · {raise_}" if raise_ and answers.nothing_free(check) else text


def print_project(
    snap: cache.Snapshot, project: str, rows: list[dict[str, Any]], max_age: float, now: float
) -> None:
    line = header(snap, project, max_age, now)
    default = ("compute", "on-demand")
    if any((quota_names.service_of(c), quota_names.tier_of(c)) != default for c in rows):
        line += f" — {quota_names.quotas_line(rows)}"  # not the default: name which quota was read
    print(line)
    table = [words.COLUMNS]
    for c in rows:
        table.append(
            (
                answers.clean(c["region"], 40),
                answers.clean(words.short_name(str(c["metric"])), 40),
                words.number_cell(c, "limit"),
                words.number_cell(c, "usage"),
                answers.format_free(c),
                words.ago(answers.age_s(c, now)),
                _status(c, max_age, now),
            )
        )
    widths = [max(len(r[i]) for r in table) for i in range(len(table[0]))]
    right = {2, 3, 4}  # numbers line up on the right
    for row in table:
        cells = [
            cell.rjust(w) if i in right else cell.ljust(w)
            for i, (cell, w) in enumerate(zip(row, widths, strict=True))
        ]
        print("  ".join(cells).rstrip())
