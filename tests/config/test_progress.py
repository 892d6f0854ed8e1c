"""Long commands say how far they are: a bar on a terminal, plain lines in logs."""

import io

from config import progress
from config.progress import Progress, plain_line


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_a_plain_line_gives_done_total_rate_and_time_left():
    line = plain_line(label="verify", done=1200, total=5000, unit="claims", seconds=2.0)

    assert line == "verify: 1,200/5,000 claims (600/s, about 6 s left)"


def test_in_a_log_it_writes_a_line_at_most_every_few_seconds_and_one_at_the_end(monkeypatch):
    clock = iter([0.0, 1.0, 6.0, 6.0, 7.0, 8.0])  # start, then each reading of the clock
    monkeypatch.setattr(progress.time, "monotonic", lambda: next(clock))
    log = io.StringIO()

    bar = Progress(label="import", total=30, stream=log)  # started at 0, shown never
    for done in (10, 20, 30):
        bar.advance_to(done)
    bar.close()

    assert log.getvalue().splitlines() == [
        "import: 20/30 rows (3/s, about 3 s left)", "import: 30/30 rows (4/s)"]


def test_on_a_terminal_it_draws_a_live_bar():
    screen = Terminal()

    bar = Progress(label="export", total=4, stream=screen)
    bar.advance_to(4)
    bar.close()

    assert "export: 100%" in screen.getvalue() and "4/4" in screen.getvalue()


def test_with_no_stream_it_stays_silent():
    bar = Progress(label="import", total=3, stream=None)
    bar.advance_to(3)
    bar.close()

    assert bar.done == 3
