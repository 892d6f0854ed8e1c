"""`python manage.py demo`: a local chain, demo data, a Celery worker and the web server."""

import os
import signal
import subprocess
import sys
import time
from contextlib import ExitStack

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from config.queues import queue_names
from devtools.chain import ANVIL_CHAIN_ID, ChainToolError, anvil_start, free_port, port_is_free
from devtools.demo import GENESIS_TIMESTAMP, SLUG, demo_seed
from devtools.demo_dashboard import demo_crowd_clear, demo_crowd_seed, demo_decide_and_publish
from devtools.moderation_demo import moderation_demo_seed
from incidents.models import Evidence, EvidenceKind, Report, ReportStatus
from verification.selectors import worker_seen_since
from verification.tasks import record_heartbeat_task


class Command(BaseCommand):
    help = "Run the demo: anvil with real demo transfers, seeded data, a worker and the web server."

    def add_arguments(self, parser):
        parser.add_argument("--smoke", action="store_true",
                            help="stop once the demo data is in place and the worker answered")
        parser.add_argument("--port", type=int, default=8000, help="web server port (default 8000)")
        parser.add_argument("--chain-port", type=int, default=8545, help="anvil port (default 8545)")

    def handle(self, *args, smoke: bool, port: int, chain_port: int, **options):
        if not smoke and not port_is_free(port):
            raise CommandError(f"port {port} is taken; stop what runs there or pass --port")
        call_command("migrate", verbosity=0, interactive=False)
        with ExitStack() as stack:
            node = self._chain(chain_port)
            stack.callback(node.stop)
            os.environ["CHAIN_RPC_URLS"] = f"eip155:{ANVIL_CHAIN_ID}={node.url}"
            demo_crowd_clear()  # a second `make demo` starts on a new chain
            accounts = demo_seed(node=node)
            sign_ins = moderation_demo_seed(node=node)
            journalist = demo_crowd_seed(node=node)
            logs = settings.VAR_DIR / "log"
            logs.mkdir(parents=True, exist_ok=True)
            worker = stack.enter_context(self._process(_worker_command(), logs / "worker.log"))
            self._wait_for_worker(worker)
            self._wait_for_verification(worker)
            self._publish(journalist)
            if smoke:
                self.stdout.write(self.style.SUCCESS("Demo data in place and verified by the worker."))
                return
            server = stack.enter_context(self._process(_server_command(port), None))
            self._banner(port, node.url, accounts, logs)
            self._moderation_banner(port, sign_ins)
            self._wait(worker, server)

    def _chain(self, chain_port: int):
        if not port_is_free(chain_port):
            self.stderr.write(f"Port {chain_port} is taken; the demo chain uses a free port instead.")
            chain_port = free_port()
        try:
            return anvil_start(port=chain_port, genesis_timestamp=GENESIS_TIMESTAMP)
        except ChainToolError as exc:
            raise CommandError(str(exc)) from None

    def _process(self, command: list[str], log_path):
        log = open(log_path, "ab") if log_path else None  # noqa: SIM115 - closed by ManagedProcess
        process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT if log else None,
                                   cwd=settings.BASE_DIR, start_new_session=True)
        return ManagedProcess(process, log)

    def _wait_for_worker(self, worker: subprocess.Popen, timeout: float = 90.0) -> None:
        """Send a real task through the broker and wait until the worker has run it."""
        started = timezone.now()
        record_heartbeat_task.delay()
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if worker.poll() is not None:
                raise CommandError("the Celery worker exited; see var/log/worker.log")
            if worker_seen_since(started):
                return
            time.sleep(0.5)
        raise CommandError(f"the Celery worker did not answer within {timeout:.0f} s; see var/log/worker.log")

    def _wait_for_verification(self, worker: subprocess.Popen, timeout: float = 120.0) -> None:
        """Wait until the worker has checked every demo report and support mail, then show what it found."""
        reports = Report.objects.filter(incident__slug=SLUG)
        mails = Evidence.objects.filter(report__incident__slug=SLUG, kind=EvidenceKind.SUPPORT_EMAIL)
        deadline = time.monotonic() + timeout
        while (reports.filter(status__in=[ReportStatus.SUBMITTED, ReportStatus.CHECKING]).exists()
               or mails.filter(check_results__isnull=True).exists()):
            if worker.poll() is not None or time.monotonic() > deadline:
                raise CommandError("the demo reports were not verified; see var/log/worker.log")
            time.sleep(0.5)
        for report in reports.order_by("id"):
            flags = ", ".join(report.flags) or "no flags"
            self.stdout.write(f"  report {report.pk}: {report.tier}, {report.get_status_display().lower()}, "
                              f"verified {report.verified_loss_usd} USD, {flags}")

    def _publish(self, journalist) -> None:
        release = demo_decide_and_publish()
        self.stdout.write(f"Published release {release.number} of {SLUG}: {release.report_count} reports, "
                          f"manifest sha256 {release.manifest_sha256}")
        self.stdout.write(f"  journalist (embargoed preview): email {journalist.email}  "
                          f"password {journalist.password}")

    def _banner(self, port: int, chain_url: str, accounts, logs) -> None:
        lines = [
            "",
            f"Lossproof demo: http://127.0.0.1:{port}/",
            f"  admin:              http://127.0.0.1:{port}/admin/  email admin@demo.lossproof.test  "
            f"password {accounts.admin_password}",
            f"  reporter:           http://127.0.0.1:{port}/accounts/login/  email "
            f"{accounts.reporter_email}  password {accounts.reporter_password}",
            f"  local chain:        {chain_url} (chain id {ANVIL_CHAIN_ID})",
            f"  worker log:         {logs / 'worker.log'}",
            "Press Ctrl-C to stop everything the demo started.",
            "",
        ]
        self.stdout.write("\n".join(lines))

    def _moderation_banner(self, port: int, sign_ins) -> None:
        """Print the admin's and moderators' second factors: the two-person rule needs two people."""
        admin, *moderators = sign_ins
        lines = [f"  admin's TOTP secret: {admin.totp_secret}",
                 f"  review queue:       http://127.0.0.1:{port}/moderation/ (moderators only)"]
        for moderator in moderators:
            lines.append(f"  moderator:          email {moderator.email}  password {moderator.password}  "
                         f"TOTP secret {moderator.totp_secret}")
        lines += ["  Add a TOTP secret to an authenticator app (or: oathtool --totp -b SECRET) and type its "
                  "code after the password.", ""]
        self.stdout.write("\n".join(lines))

    def _wait(self, *processes: subprocess.Popen) -> None:
        signal.signal(signal.SIGTERM, lambda *_: (_ for _ in ()).throw(KeyboardInterrupt))
        try:
            while all(p.poll() is None for p in processes):
                time.sleep(0.5)
            raise CommandError("a demo process exited unexpectedly; see var/log/")
        except KeyboardInterrupt:
            # A second Ctrl-C must not cut the clean-up short and leave processes behind.
            signal.signal(signal.SIGINT, signal.SIG_IGN)
            self.stdout.write("Stopping the demo…")


class ManagedProcess:
    """A child process that is stopped, with its whole process group, on exit."""

    def __init__(self, process: subprocess.Popen, log):
        self.process, self.log = process, log

    def __enter__(self) -> subprocess.Popen:
        return self.process

    def __exit__(self, *exc_info) -> None:
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait()
        if self.log:
            self.log.close()


def _worker_command() -> list[str]:
    beat_schedule = settings.VAR_DIR / "celerybeat-schedule"
    return [sys.executable, "-m", "celery", "-A", "config", "worker", "--loglevel=INFO",
            "--concurrency=1", "--without-gossip", "--without-mingle", "--without-heartbeat",
            "-Q", ",".join(queue_names(settings.CELERY_TASK_DEFAULT_QUEUE)), "-n", "demo@%h",
            "--beat", "--schedule", str(beat_schedule)]


def _server_command(port: int) -> list[str]:
    return [sys.executable, "manage.py", "runserver", f"127.0.0.1:{port}", "--noreload"]
