#!/usr/bin/env python3
"""Check AWS Well-Architected REL 04 on every workload and save the results.

The baseline rel04d is compared with (benches/baseline.rs): what a team
would write for a nightly cron job instead of running a daemon. It lists the
workloads, reads the REL 04 answer of each one that has the Well-Architected
lens, checks it against "Check: Choices based on sub policies" with all four
best practices required, and writes one row per workload to SQLite.

Plain boto3 with its default retry configuration; credentials, region and
endpoint come from the environment as for any AWS tool
(AWS_ENDPOINT_URL_WELLARCHITECTED points it at the simulator).

    python bench/cron_rel04.py --database rel04.db
"""

import argparse
import datetime
import sqlite3
import sys
import time

import boto3
from botocore.exceptions import BotoCoreError, ClientError

LENS = "wellarchitected"
QUESTION = "prevent-interaction-failure"
NONE_OF_THESE = "rel_prevent_interaction_failure_no"
# The four best practices, all required ("True"), matched by choice id.
REQUIRED = {
    "rel_prevent_interaction_failure_identify": "Identify which kind of distributed system is required",
    "rel_prevent_interaction_failure_loosely_coupled_system": "Implement loosely coupled dependencies",
    "rel_prevent_interaction_failure_idempotent": "Make all responses idempotent",
    "rel_prevent_interaction_failure_constant_work": "Do constant work",
}


def list_workloads(client):
    """Every workload summary, page by page."""
    kwargs = {}
    while True:
        page = client.list_workloads(**kwargs)
        yield from page.get("WorkloadSummaries", [])
        token = page.get("NextToken")
        if not token:
            return
        kwargs = {"NextToken": token}


def evaluate(answer):
    """(state, reason) for one REL 04 answer."""
    if not answer.get("IsApplicable", True):
        return "alarm", "The question is marked as not applicable"
    known = {choice["ChoiceId"] for choice in answer.get("Choices", [])}
    missing = [choice_id for choice_id in REQUIRED if choice_id not in known]
    if missing:
        return "error", "Choices missing from the lens: " + ", ".join(missing)
    selected = set(answer.get("SelectedChoices", []))
    not_selected = [title for choice_id, title in REQUIRED.items() if choice_id not in selected]
    if NONE_OF_THESE in selected:
        return "alarm", '"None of these" is selected'
    if not_selected:
        return "alarm", "Not selected: " + ", ".join(not_selected)
    return "ok", f"{len(REQUIRED)} of {len(REQUIRED)} required best practices selected"


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database", default="rel04.db", help="SQLite file for the results")
    args = parser.parse_args()

    started = time.monotonic()
    client = boto3.client("wellarchitected")
    db = sqlite3.connect(args.database)
    db.execute(
        """CREATE TABLE IF NOT EXISTS rel04_results (
               workload_id   TEXT PRIMARY KEY,
               workload_arn  TEXT NOT NULL,
               workload_name TEXT NOT NULL,
               account_id    TEXT NOT NULL,
               state         TEXT NOT NULL,
               reason        TEXT NOT NULL,
               checked_at    TEXT NOT NULL
           )"""
    )
    counts = {}
    for summary in list_workloads(client):
        if LENS not in summary.get("Lenses", []):
            continue
        try:
            answer = client.get_answer(
                WorkloadId=summary["WorkloadId"], LensAlias=LENS, QuestionId=QUESTION
            )["Answer"]
            state, reason = evaluate(answer)
        except (ClientError, BotoCoreError) as error:
            state, reason = "error", f"Could not read the answer: {error}"
        db.execute(
            "INSERT OR REPLACE INTO rel04_results VALUES (?, ?, ?, ?, ?, ?, ?)",
            (
                summary["WorkloadId"],
                summary["WorkloadArn"],
                summary["WorkloadName"],
                summary.get("Owner", ""),
                state,
                reason,
                datetime.datetime.now(datetime.timezone.utc).isoformat(),
            ),
        )
        counts[state] = counts.get(state, 0) + 1
    db.commit()
    db.close()
    summary = ", ".join(f"{n} {state}" for state, n in sorted(counts.items()))
    print(f"checked {sum(counts.values())} workloads in {time.monotonic() - started:.2f}s: {summary}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
