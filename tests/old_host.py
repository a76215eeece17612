#!/usr/bin/env python3
"""An older DuckDB must refuse prefroute with an error, not crash.

usage: python3 tests/old_host.py --python .venv/duckdb-1.5.2/bin/python \\
           --extension build/prefroute.duckdb_extension

prefroute's footer says C API v1.5.6 (see README, "Packaging"). A host older than that (Python duckdb
1.5.2 here) must reject the file at LOAD with a message naming the C API version, keep running, and
keep the connection usable. The LOAD runs in a subprocess, so a crash of the old host is reported as
a failure naming the signal instead of taking this script down.
"""

import argparse
import json
import signal
import subprocess
import sys

# Runs inside the old host. Prints one JSON line: the host version, the LOAD error (or None), and
# whether the connection still answers a query afterwards.
PROBE = r"""
import json, sys
import duckdb
con = duckdb.connect(config={"allow_unsigned_extensions": "true"})
error = None
try:
    con.execute("LOAD '" + sys.argv[1].replace("'", "''") + "'")
except Exception as e:
    error = str(e)
after = con.execute("SELECT 40 + 2").fetchone()[0]
print(json.dumps({"version": duckdb.__version__, "error": error, "after": after}))
"""


def main() -> int:
    ap = argparse.ArgumentParser(description="check that an old DuckDB host refuses prefroute cleanly")
    ap.add_argument("--python", required=True, help="interpreter with the old duckdb package")
    ap.add_argument("--extension", required=True, help="path of prefroute.duckdb_extension")
    args = ap.parse_args()
    proc = subprocess.run([args.python, "-c", PROBE, args.extension], capture_output=True, text=True, timeout=300)
    if proc.returncode < 0:
        try:
            name = signal.Signals(-proc.returncode).name
        except ValueError:
            name = f"signal {-proc.returncode}"
        print(f"FAIL  old host crashed ({name}) loading {args.extension}\n{proc.stderr[-2000:]}")
        return 1
    if proc.returncode != 0:
        print(f"FAIL  old host exited with status {proc.returncode}\n{proc.stderr[-2000:]}")
        return 1
    try:
        result = json.loads(proc.stdout.strip().splitlines()[-1])
    except (ValueError, IndexError):
        print(f"FAIL  unexpected output from the old host:\n{proc.stdout}\n{proc.stderr[-2000:]}")
        return 1
    version, error, after = result["version"], result["error"], result["after"]
    problems = []
    if error is None:
        problems.append("the extension loaded, but a host older than C API v1.5.6 must refuse it")
    else:
        for needle in ("C API version", "v1.5.6"):
            if needle not in error:
                problems.append(f"the error does not mention {needle!r}: {error}")
    if after != 42:
        problems.append(f"the connection answered {after!r} to SELECT 40 + 2 after the failed LOAD")
    if problems:
        print(f"FAIL  duckdb {version}: " + "; ".join(problems))
        return 1
    print(f"PASS  duckdb {version} refuses the extension: {error}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
