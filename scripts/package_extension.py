#!/usr/bin/env python3
"""Turns the built shared library into a loadable DuckDB extension file by
appending DuckDB's 534-byte metadata footer (see README, "Packaging").

usage: package_extension.py <libprefroute.so> <out/prefroute.duckdb_extension> <version>
"""
import os
import sys

ABI_TYPE = "C_STRUCT"          # C API v1: "at least this C API version"
C_API_VERSION = "v1.5.6"       # must equal min_duckdb_version in src/duckdb/mod.rs
PLATFORM = "linux_amd64"


def field(text: str) -> bytes:
    raw = text.encode("ascii")
    if len(raw) > 32:
        raise SystemExit(f"footer field too long: {text!r}")
    return raw + b"\0" * (32 - len(raw))


def footer(version: str) -> bytes:
    # A WebAssembly custom-section header that native hosts ignore, then
    # 3 unused fields, then ABI type, extension version, C API version,
    # platform, magic "4", and a 256-byte (empty) signature.
    start = b"\x00\x93\x04\x10" + b"duckdb_signature" + b"\x80\x04"
    fields = [field("")] * 3 + [field(ABI_TYPE), field(version), field(C_API_VERSION), field(PLATFORM), field("4")]
    out = start + b"".join(fields) + b"\0" * 256
    assert len(out) == 534, len(out)
    return out


def main() -> None:
    if len(sys.argv) != 4:
        raise SystemExit(__doc__)
    lib, dest, version = sys.argv[1:]
    with open(lib, "rb") as f:
        data = f.read()
    os.makedirs(os.path.dirname(dest) or ".", exist_ok=True)
    tmp = dest + ".tmp"
    with open(tmp, "wb") as f:
        f.write(data + footer(version if version.startswith("v") else "v" + version))
    os.replace(tmp, dest)  # never leave a half-written extension behind
    print(f"wrote {dest} ({len(data) + 534} bytes)")


if __name__ == "__main__":
    main()
