"""Run inside .venv-dagster by tests/e2e/test_dagster.py: one tick of each given Dagster schedule.

Usage: python dagster_schedule_once.py DEFINITIONS_FILE SCHEDULE_NAME... (DAGSTER_HOME set).
Loads the code location once, then for each schedule in order evaluates its tick as the Dagster
daemon would and runs each run request of that tick on the schedule's job in this process
(loading the code location again for each step, as the multiprocess executor does, would
double the test's time), and prints ``SUMMARY {...}``: each schedule with why its tick was
skipped (if it was), and every run the instance recorded, oldest first, with its status and the
steps that succeeded.
"""

from __future__ import annotations

import importlib.util
import json
import sys
from pathlib import Path
from typing import Any

from dagster import DagsterEventType, DagsterInstance, Definitions, build_schedule_context


def load_definitions(path: Path) -> Definitions:
    spec = importlib.util.spec_from_file_location("definitions", path)
    assert spec is not None and spec.loader is not None, path
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    defs: Definitions = module.defs
    return defs


def run_one_tick(defs: Definitions, instance: DagsterInstance, name: str) -> dict[str, Any]:
    """Evaluate one tick of schedule ``name`` and run what it requests; the schedule's summary."""
    schedule = defs.get_schedule_def(name)
    job = defs.get_job_def(schedule.job_name)
    with build_schedule_context(instance=instance) as context:
        tick = schedule.evaluate_tick(context)
    for request in tick.run_requests or []:
        job.execute_in_process(
            run_config=request.run_config,
            tags={**request.tags, "dagster/schedule_name": name},
            instance=instance,
            raise_on_error=False,
        )
    return {"job": schedule.job_name, "cron": schedule.cron_schedule, "skipped": tick.skip_message}


def main(definitions_file: str, *schedule_names: str) -> None:
    defs = load_definitions(Path(definitions_file))
    instance = DagsterInstance.get()
    schedules = {name: run_one_tick(defs, instance, name) for name in schedule_names}
    runs = []
    # get_runs() lists the newest run first.
    for run in reversed(instance.get_runs()):
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
    print("SUMMARY " + json.dumps({"schedules": schedules, "runs": runs}), flush=True)


if __name__ == "__main__":
    main(*sys.argv[1:])
