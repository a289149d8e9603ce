"""honcho's process manager for `switchyard up`, except that a process that exits while the run
goes on is started again (honcho stops everything), and a process can be restarted on request
(the consumption watchdog does this for a stuck pool). Every restart is logged with its reason."""
from __future__ import annotations

import multiprocessing
import queue
import signal
import time
from typing import Any

from honcho import manager as honcho_manager
from honcho.manager import Manager

# A process that keeps dying right after its start waits longer each time, up to this.
MAX_RESTART_DELAY_SECONDS = 30.0
HEALTHY_AFTER_SECONDS = 30.0  # a process that ran this long restarts without delay


class Supervisor(Manager):
    def __init__(self, printer: Any = None, *, restart_delay: float = 1.0) -> None:
        super().__init__(printer)
        self.restart_delay = restart_delay
        self._requests: queue.SimpleQueue[tuple[str, str]] = queue.SimpleQueue()
        self._restart_at: dict[str, float] = {}  # name -> monotonic time to start it again
        self._delays: dict[str, float] = {}
        self._started_at: dict[str, float] = {}
        self._killing: dict[str, float] = {}  # name -> when SIGTERM was sent by a restart request
        self.restarts: dict[str, int] = {}

    @property
    def terminating(self) -> bool:
        return self._terminating

    def restart(self, name: str, reason: str) -> None:
        """Ask for `name` to be stopped and started again (thread-safe)."""
        self._requests.put((name, reason))

    def say(self, text: str) -> None:
        self._system_print(text.rstrip("\n") + "\n")

    # --- the loop -----------------------------------------------------------
    def loop(self) -> None:
        def _terminate(signum: int, _frame: Any) -> None:
            self._system_print("%s received\n" % honcho_manager.SIGNALS[signum]["name"])
            self.returncode = honcho_manager.SIGNALS[signum]["rc"]
            self.terminate()

        signal.signal(signal.SIGTERM, _terminate)
        signal.signal(signal.SIGINT, _terminate)
        for name in self._processes:
            self._spawn(name)
        terminate_started: float | None = None
        while True:
            try:
                msg = self.events.get(timeout=0.1)
            except queue.Empty:
                msg = None
            if msg is not None:
                self._handle(msg)
            if self._terminating:
                if terminate_started is None:
                    terminate_started = time.monotonic()
                    self._restart_at.clear()
                if self._all_stopped():
                    break
                if time.monotonic() - terminate_started > honcho_manager.KILL_WAIT:
                    self.kill()
                continue
            self._serve_requests()
            self._start_due()

    def _handle(self, msg: Any) -> None:
        if msg.type == "line":
            self._printer.write(msg)
        elif msg.type == "start":
            self._processes[msg.name]["pid"] = msg.data["pid"]
            self._system_print("%s started (pid=%s)\n" % (msg.name, msg.data["pid"]))
            if self._terminating:  # started while the run was stopping
                self._procmgr.terminate(msg.data["pid"])
        elif msg.type == "stop":
            rc = msg.data["returncode"]
            self._processes[msg.name]["returncode"] = rc
            self._system_print("%s stopped (rc=%s)\n" % (msg.name, rc))
            if not self._terminating:
                self._schedule_restart(msg.name, rc)

    def _schedule_restart(self, name: str, rc: int) -> None:
        requested = self._killing.pop(name, None) is not None
        ran_for = time.monotonic() - self._started_at.get(name, 0.0)
        if requested or ran_for >= HEALTHY_AFTER_SECONDS:
            delay = self.restart_delay if not requested else 0.0
        else:
            delay = min(MAX_RESTART_DELAY_SECONDS, max(self.restart_delay, 2 * self._delays.get(name, 0.0)))
        self._delays[name] = delay
        self._restart_at[name] = time.monotonic() + delay
        if not requested:
            self.say(f"{name} died (rc={rc}); restarting it in {delay:.0f} s (the rest keeps running)")

    def _serve_requests(self) -> None:
        while True:
            try:
                name, reason = self._requests.get_nowait()
            except queue.Empty:
                break
            process = self._processes.get(name)
            if process is None or name in self._killing or "returncode" in process or "pid" not in process:
                continue
            self.say(f"restarting {name}: {reason}")
            self._killing[name] = time.monotonic()
            self._procmgr.terminate(process["pid"])
        for name, since in list(self._killing.items()):
            process = self._processes[name]
            if "returncode" not in process and time.monotonic() - since > honcho_manager.KILL_WAIT:
                self.say(f"{name} did not stop within {honcho_manager.KILL_WAIT} s; sending SIGKILL")
                self._procmgr.kill(process["pid"])
                self._killing[name] = float("inf")  # once

    def _start_due(self) -> None:
        now = time.monotonic()
        for name, at in list(self._restart_at.items()):
            if at <= now:
                del self._restart_at[name]
                self.restarts[name] = self.restarts.get(name, 0) + 1
                self._spawn(name)

    def _spawn(self, name: str) -> None:
        entry = self._processes[name]
        entry.pop("pid", None)
        entry.pop("returncode", None)
        self._started_at[name] = time.monotonic()
        entry["process"] = multiprocessing.Process(name=name, target=entry["obj"].run, args=(self.events, True))
        entry["process"].start()

    def _all_stopped(self) -> bool:
        # A process waiting for its restart has exited; one being spawned has not started its child yet.
        return all(p.get("returncode") is not None or (p.get("pid") is None and not p["process"].is_alive())
                   for p in self._processes.values())

    def _killall(self, force: bool = False) -> None:
        for name, entry in self._processes.items():
            if "returncode" in entry or "pid" not in entry:
                continue
            signame = "SIGKILL" if force else "SIGTERM"
            self._system_print("sending %s to %s (pid %s)\n" % (signame, name, entry["pid"]))
            if force:
                self._procmgr.kill(entry["pid"])
            else:
                self._procmgr.terminate(entry["pid"])
