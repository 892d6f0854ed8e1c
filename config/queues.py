"""Queues by kind of work, so that a long export or a mail backlog never starves verification.

Every queue name starts with CELERY_TASK_DEFAULT_QUEUE (read at routing time, so a deployment
or a test session sharing a broker keeps its own set); see docs/scaling.md for which worker
hosts should consume which queues.
"""

CHAIN, EVIDENCE, EXPORTS, MAIL = "chain", "evidence", "exports", "mail"
KINDS = (CHAIN, EVIDENCE, EXPORTS, MAIL)

# Task name -> kind of work; anything unlisted (heartbeats, sweeps, purges) stays on the base queue.
ROUTES = {
    "verification.tasks.verify_report_task": CHAIN,
    "verification.tasks.verify_reports_task": CHAIN,
    "verification.tasks.recheck_claims_task": CHAIN,
    "verification.tasks.verify_evidence_task": EVIDENCE,
    "registry.tasks.publish_release_task": EXPORTS,
    "accounts.tasks.send_mail_task": MAIL,
}


def queue_name(base: str, kind: str | None) -> str:
    """Return the queue of one kind of work under ``base`` (the base queue itself for None)."""
    return f"{base}.{kind}" if kind else base


def queue_names(base: str) -> list[str]:
    """Every queue of a deployment: what a worker that does everything consumes (-Q)."""
    return [base, *(queue_name(base, kind) for kind in KINDS)]


def route_task(name, args, kwargs, options, task=None, **kw):
    """Celery router: send each task to the queue of its kind of work."""
    if name not in ROUTES:
        return None  # the default queue
    base = (task.app if task is not None else _app()).conf.task_default_queue
    return {"queue": queue_name(base, ROUTES[name])}


def _app():
    from config.celery import app

    return app
