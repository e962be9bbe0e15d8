"""A helper for the tests (not a test module): ``mockproget serve`` in a child process."""

from __future__ import annotations

import os
import subprocess
import sys

__all__ = ["ServeProcess"]


class ServeProcess:
    """``mockproget serve`` in a child process, stopped with SIGTERM."""

    def __init__(self, *args: str) -> None:
        env = {**os.environ, "PYTHONUNBUFFERED": "1"}
        self.proc = subprocess.Popen([sys.executable, "-m", "mockproget", "serve", "--port", "0", *args],
                                     stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
        self.lines: list[str] = []
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            self.lines.append(line)
            if "press Ctrl+C" in line:
                break
        self.url = next(line.split("listening on ")[1].strip() for line in self.lines if "listening on" in line)
        self.admin_key = next(line.split(": ")[-1].strip() for line in self.lines if "admin API key" in line)

    def stop(self) -> str:
        self.proc.terminate()
        _, err = self.proc.communicate(timeout=10)
        return err
