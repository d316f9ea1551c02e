"""Run inside .venv-dagster by tests/e2e/test_dagster.py: one tick of a Dagster schedule.

Usage: python run_schedule_once.py DEFINITIONS_FILE SCHEDULE_NAME (DAGSTER_HOME set). Loads the
code location once, evaluates the schedule's tick as the Dagster daemon would, runs each run
request of that tick on the schedule's job in this process (loading the code location again
for each step, as the multiprocess executor does, would double the test's time) and prints
``SUMMARY {...}``: the schedule, why its tick was skipped (if it was), and every run the
instance recorded with its status and the steps that succeeded.
"""

from __future__ import annotations

import importlib.util
import json
import sys
from pathlib import Path

from dagster import DagsterEventType, DagsterInstance, Definitions, build_schedule_context


def load_definitions(path: Path) -> Definitions:
    spec = importlib.util.spec_from_file_location("definitions", path)
    assert spec is not None and spec.loader is not None, path
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    defs: Definitions = module.defs
    return defs


def main(definitions_file: str, schedule_name: str) -> None:
    defs = load_definitions(Path(definitions_file))
    schedule = defs.get_schedule_def(schedule_name)
    job = defs.get_job_def(schedule.job_name)
    instance = DagsterInstance.get()
    with build_schedule_context(instance=instance) as context:
        tick = schedule.evaluate_tick(context)
    for request in tick.run_requests or []:
        job.execute_in_process(
            run_config=request.run_config,
            tags={**request.tags, "dagster/schedule_name": schedule_name},
            instance=instance,
            raise_on_error=False,
        )
    runs = []
    for run in instance.get_runs():
        succeeded = instance.get_records_for_run(
            run.run_id, of_type=DagsterEventType.STEP_SUCCESS
        ).records
        runs.append(
            {
                "job": run.job_name,
                "status": run.status.value,
                "schedule": run.tags.get("dagster/schedule_name"),
                "steps_succeeded": sorted(
                    str(record.event_log_entry.step_key) for record in succeeded
                ),
            }
        )
    summary = {
        "schedule": {"job": schedule.job_name, "cron": schedule.cron_schedule},
        "skipped": tick.skip_message,
        "runs": runs,
    }
    print("SUMMARY " + json.dumps(summary), flush=True)


if __name__ == "__main__":
    main(*sys.argv[1:])
