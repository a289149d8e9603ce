"""`switchyard up`'s supervisor: a process that dies is restarted (the others keep running), a
restart can be requested (the consumption watchdog's), and Ctrl-C still stops everything."""
from __future__ import annotations

import re
import signal
import sys
import threading

from honcho.printer import Printer

from app.localrun.supervisor import Supervisor
from tests.support import wait_until

SLEEPER = f"{sys.executable} -c 'import time; time.sleep(120)'"
CRASHER = f"{sys.executable} -c 'import sys; sys.exit(3)'"


class Lines:
    def __init__(self) -> None:
        self.text = ""
        self.lock = threading.Lock()

    def write(self, data: str) -> None:
        with self.lock:
            self.text += data

    def flush(self) -> None:
        pass

    def pids(self, name: str) -> list[str]:
        return re.findall(rf"{name} started \(pid=(\d+)\)", self.text)


def test_a_dead_process_is_restarted_a_requested_restart_happens_and_terminate_stops_all():
    out = Lines()
    supervisor = Supervisor(Printer(out), restart_delay=0.1)
    supervisor.add_process("steady", SLEEPER)
    supervisor.add_process("stuck", SLEEPER)
    supervisor.add_process("crasher", CRASHER)
    problems: list[BaseException] = []

    def drive() -> None:
        try:
            wait_until(lambda: supervisor.restarts.get("crasher", 0) >= 2, timeout=30,
                       message="the crashing process to be restarted twice")
            wait_until(lambda: out.pids("stuck"), timeout=30, message="stuck to start")
            supervisor.restart("stuck", "consumption stalled (test)")
            wait_until(lambda: len(out.pids("stuck")) == 2, timeout=30, message="stuck to be restarted")
        except BaseException as exc:  # noqa: BLE001 - reported by the test below
            problems.append(exc)
        finally:
            supervisor.terminate()

    handlers = signal.getsignal(signal.SIGINT), signal.getsignal(signal.SIGTERM)
    driver = threading.Thread(target=drive)
    driver.start()
    try:
        supervisor.loop()  # returns once every process stopped
    finally:
        signal.signal(signal.SIGINT, handlers[0])
        signal.signal(signal.SIGTERM, handlers[1])
        driver.join(30)
    assert not problems, f"{problems[0]}\n{out.text}"
    assert "crasher died (rc=3); restarting it in" in out.text, out.text
    assert "restarting stuck: consumption stalled (test)" in out.text
    assert len(out.pids("steady")) == 1, "a restart elsewhere must not touch the other processes"
    assert all(p["returncode"] is not None for p in supervisor._processes.values()), out.text
    assert out.text.count("steady stopped (rc=") == 1
