"""Jobs that keep the loop running without anyone typing a command: retraining, the daily digest, reminders,
lease expiry. Schedules and runs are rows in the application database (`job`, `jobrun`), and one lease row says
which `crowdrank serve` process runs them (see `lease`, `runs`, `runner`).

    schedules  which jobs the campaigns call for, their triggers and next runs
    runs       claiming an occurrence exactly once, recording outcomes
    lease      which process runs the jobs
    runner     the tick: lease, sync, claim, run
    worker     heavy work in a separate process
"""

from __future__ import annotations

from bot.jobs.runner import JobFunction


def job_kinds() -> dict[str, JobFunction]:
    """Job kind → the function that runs it (imported here, once, so the runner knows no job by name)."""
    from bot.digest import digest
    from bot.jobs.housekeeping import send_reminders, sweep_leases
    from bot.jobs.retrain import retrain

    return {"retrain": retrain, "digest": digest, "reminders": send_reminders, "expire-leases": sweep_leases}


__all__ = ["job_kinds"]
