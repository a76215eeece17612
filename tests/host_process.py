"""Running a DuckDB host in a subprocess for the live tests (interrupt.py, stress.py).

The host runs a probe script; a crash (a signal) or a non-zero exit is a failure whose text names
the signal or status and ends with the host's stderr.
"""
import signal
import subprocess


def run_host(cmd: list[str], timeout: float) -> tuple[subprocess.CompletedProcess | None, str | None]:
    """Runs `cmd`; returns (the finished process, None), or (None, the failure to print)."""
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)
    if proc.returncode < 0:
        try:
            name = signal.Signals(-proc.returncode).name
        except ValueError:
            name = f"signal {-proc.returncode}"
        return None, f"FAIL  the host crashed ({name})\n{proc.stderr[-3000:]}"
    if proc.returncode != 0:
        return None, f"FAIL  the host exited with status {proc.returncode}\n{proc.stderr[-3000:]}"
    return proc, None
