"""The prefroute job, two ways: on Ray Data (`run_ray`) and in one DuckDB process (`run_local`, the reference).

Tagging needs two things from the whole input (length percentiles and TF-IDF document frequencies), held by
the mergeable aggregate `pref_stats`. So the Ray job makes two passes over the same slices of the input:

1. every slice → `pref_stats(...)` on a worker; the driver folds the values with `pref_stats_merge`, which
   is exact (the merged value is byte-identical to the statistics of the whole input, for any split);
2. every slice → `pref_tags(..., merged stats [, model_dir])` and, with a judge-error model,
   `risk_score(model, tags, ai_pref, ...)` on a worker, written as one Parquet part per slice;

then one DuckDB query on the driver puts the parts in input order and, for `route`, makes the budget cut
(the k likeliest judge errors, ties to the earlier row: route_instances' rule). A slice is a run of rows
of one row group of one file, so every row keeps its global input position (`row_idx`) whatever worker
tags it: the output does not depend on the number of slices, actors or retries.

Output files (in `out_dir`): `tags.parquet` (id, then tag_instances' columns, then `p` when scored) and,
for `route`, `routing.parquet` (id, p, route = 'human' | 'ai'), both in input order.
"""

from __future__ import annotations

import glob
import json
import math
import os
import shutil
import socket
import tempfile
import time
import warnings
from dataclasses import dataclass, field

EXTENSION_NAME = "prefroute.duckdb_extension"
TEXT_COLUMNS = ("id", "prompt", "completion_a", "completion_b")
JUDGE_COLUMNS = ("ai_pref", "ai_pref_alt", "ai_confidence")
# pref_tags' STRUCT has two fields tag_instances has not (the judge-error model reads them).
EXTRA_TAG_FIELDS = ("chars_a", "chars_b")
# The files a sentence-transformers directory must hold for the embedding measures.
MODEL_FILES = ("config.json", "tokenizer.json")


class JobError(Exception):
    """A problem with what the job was given: says what is wrong and how to fix it."""


@dataclass
class JobSpec:
    inputs: list  # Parquet files or globs
    extension: str  # path of prefroute.duckdb_extension
    out_dir: str
    model_dir: str | None = None  # sentence-transformers dir: embedding measures
    risk_model: str | None = None  # prefroute-risk JSON text or a path to it: P(judge wrong)
    budget: float | None = None  # route: fraction in [0, 1] or a count > 1
    tokenizer: str = "cl100k_base"
    tfidf: bool = True
    slice_rows: int = 20_000  # at most this many rows per slice (a slice never spans row groups)
    # filled by prepare()
    files: list = field(default_factory=list)
    model_json: str | None = None
    judge_columns: tuple = ()


# ---------------------------------------------------------------------------------------------- checks


def prepare(spec: JobSpec) -> JobSpec:
    """Checks everything the job needs on the driver, before any worker starts. Raises JobError."""
    ext = os.path.abspath(spec.extension)
    if not os.path.isfile(ext):
        raise JobError(f"the extension file {spec.extension!r} does not exist; build it with `make build` "
                       f"(debug) or `make release`, or pass --extension with its path")
    if os.path.basename(ext) != EXTENSION_NAME:
        raise JobError(f"the extension file must be named {EXTENSION_NAME} (DuckDB derives its entry point "
                       f"from the name), not {os.path.basename(ext)!r}")
    spec.extension = ext
    if spec.model_dir is not None:
        md = os.path.abspath(spec.model_dir)
        if not os.path.isdir(md):
            raise JobError(f"the model directory {spec.model_dir!r} does not exist; make it with "
                           f"`scripts/setup_python.sh model` or pass --model-dir with a sentence-transformers "
                           f"directory")
        missing = [f for f in MODEL_FILES if not os.path.isfile(os.path.join(md, f))]
        if missing:
            raise JobError(f"the model directory {spec.model_dir!r} has no {', '.join(missing)}: it is not a "
                           f"sentence-transformers model directory")
        spec.model_dir = md
    files = []
    for pattern in spec.inputs:
        hits = sorted(glob.glob(pattern)) if any(c in pattern for c in "*?[") else [pattern]
        if not hits:
            raise JobError(f"no file matches {pattern!r}")
        for h in hits:
            if not os.path.isfile(h):
                raise JobError(f"the input file {h!r} does not exist")
            files.append(os.path.abspath(h))
    if not files:
        raise JobError("no input file given")
    spec.files = files
    import pyarrow.parquet as pq

    have = None
    for f in files:
        try:
            names = set(pq.ParquetFile(f).schema_arrow.names)
        except Exception as e:  # noqa: BLE001 - the reader's own message says what is wrong
            raise JobError(f"cannot read {f!r} as Parquet: {e}") from e
        missing = [c for c in TEXT_COLUMNS if c not in names]
        if missing:
            raise JobError(f"{f!r} has no column {', '.join(missing)}; the job reads id, prompt, "
                           f"completion_a, completion_b (and ai_pref, ai_pref_alt, ai_confidence with a model)")
        have = names if have is None else have & names
    if spec.risk_model is not None:
        text = spec.risk_model
        if not text.lstrip().startswith("{"):
            if not os.path.isfile(text):
                raise JobError(f"the judge-error model file {text!r} does not exist; write one with "
                               f"risk_fit(..., save := 'risk.json') or risk_model(...)")
            with open(text, encoding="utf-8") as fh:
                text = fh.read()
        try:
            m = json.loads(text)
        except json.JSONDecodeError as e:
            raise JobError(f"the judge-error model is not JSON ({e}); give risk_fit's saved file") from e
        if not str(m.get("format", "")).startswith("prefroute-risk/"):
            raise JobError(f"the judge-error model's format is {m.get('format')!r}, not prefroute-risk/…; "
                           f"give the file risk_fit(..., save := …) wrote or risk_model's JSON")
        spec.model_json = text
        if "ai_pref" not in have:
            raise JobError("scoring with a judge-error model needs an ai_pref column in every input file")
        spec.judge_columns = tuple(c for c in JUDGE_COLUMNS if c in have)
    if spec.budget is not None:
        if spec.model_json is None:
            raise JobError("routing needs a judge-error model (--risk-model)")
        if not (spec.budget >= 0) or (spec.budget > 1 and spec.budget != int(spec.budget)):
            raise JobError(f"the budget {spec.budget} is neither a fraction in [0, 1] nor a whole count")
    if spec.slice_rows < 1:
        raise JobError("slice_rows must be at least 1")
    return spec


def resolve_budget(budget: float, n: int) -> int:
    """route_instances' rule: a fraction f in [0, 1] → round(f × n), half away from zero; a count > 1 as is."""
    if budget <= 1:
        x = budget * n
        fl = math.floor(x)
        return min(n, fl + (1 if x - fl >= 0.5 else 0))
    if budget > n:
        raise JobError(f"the budget of {int(budget)} instances is more than the {n} instances in the data")
    return int(budget)


def plan_slices(spec: JobSpec) -> list:
    """The slices of the input in order: (file, row group, first row in it, rows, global row_idx of the first)."""
    import pyarrow.parquet as pq

    slices, offset = [], 0
    for path in spec.files:
        meta = pq.ParquetFile(path).metadata
        for rg in range(meta.num_row_groups):
            n = meta.row_group(rg).num_rows
            for start in range(0, n, spec.slice_rows):
                rows = min(spec.slice_rows, n - start)
                slices.append({"slice": len(slices), "path": path, "row_group": rg, "start": start,
                               "rows": rows, "row_idx": offset + start})
            offset += n
    return slices


# ---------------------------------------------------------------------------------------------- SQL


def options_sql(spec: JobSpec, model_dir: str | None) -> str:
    fields = [f"'tfidf': {'true' if spec.tfidf else 'false'}", f"'model_dir': {sql_str(model_dir or '')}"]
    return "{" + ", ".join(fields) + "}"


def sql_str(s: str) -> str:
    return "'" + s.replace("'", "''") + "'"


def tagged_sql(src: str, stats_sql: str, opts: str, model_sql: str | None, judge_columns: tuple) -> str:
    """Every row of `src` (id, row_idx, texts, judge columns) tagged, and scored with a model."""
    score = ""
    if model_sql is not None:
        args = ", ".join(judge_columns)
        score = f", risk_score({model_sql}, t, {args}) AS p"
    return f"""
        SELECT id, row_idx, t{score}
        FROM (SELECT *, pref_tags(prompt, completion_a, completion_b, {stats_sql}, {opts}) AS t FROM {src})"""


def unpacked(rel: str, scored: bool) -> str:
    """tag_instances' columns from a tagged relation (id, row_idx, t [, p])."""
    extra = ", p" if scored else ""
    return f"SELECT id, row_idx, t.* EXCLUDE ({', '.join(EXTRA_TAG_FIELDS)}){extra} FROM {rel}"


def finish(con, parts_sql: str, spec: JobSpec, out_dir: str) -> dict:
    """The driver's last query: input order, the budget cut, the output files. Returns a summary."""
    scored = spec.model_json is not None
    os.makedirs(out_dir, exist_ok=True)
    con.execute(f"CREATE OR REPLACE TEMP TABLE prefroute_all AS {parts_sql}")
    n = con.execute("SELECT count(*) FROM prefroute_all").fetchone()[0]
    tags_file = os.path.join(out_dir, "tags.parquet")
    con.execute(f"COPY (SELECT * EXCLUDE (row_idx) FROM prefroute_all ORDER BY row_idx) TO {sql_str(tags_file)}"
                f" (FORMAT parquet)")
    summary = {"rows": n, "tags": tags_file}
    if spec.budget is not None and scored:
        k = resolve_budget(spec.budget, n)
        routing_file = os.path.join(out_dir, "routing.parquet")
        con.execute(f"""COPY (
            SELECT id, p, CASE WHEN row_number() OVER (ORDER BY p DESC, row_idx) <= {k}
                               THEN 'human' ELSE 'ai' END AS route
            FROM prefroute_all ORDER BY row_idx) TO {sql_str(routing_file)} (FORMAT parquet)""")
        summary.update(routing=routing_file, human=k)
    return summary


def connect(extension: str, threads: int):
    import duckdb

    con = duckdb.connect(config={"allow_unsigned_extensions": "true", "threads": max(1, int(threads))})
    con.execute(f"LOAD {sql_str(extension)}")
    return con


def load_checked(extension: str, threads: int = 2):
    import duckdb

    try:
        return connect(extension, threads)
    except duckdb.Error as e:
        raise JobError(f"DuckDB {duckdb.__version__} cannot load {extension!r}: {e}") from e


def input_sql(spec: JobSpec) -> str:
    """All input rows with their global row_idx, for one DuckDB process."""
    cols = ", ".join(TEXT_COLUMNS + spec.judge_columns)
    files = ", ".join(sql_str(f) for f in spec.files)
    return f"""(SELECT {cols}, o.off + file_row_number AS row_idx
        FROM read_parquet([{files}], file_row_number := true, filename := true) r
        JOIN (SELECT unnest([{files}]) AS fname, unnest(?::BIGINT[]) AS off) o ON r.filename = o.fname)"""


def run_local(spec: JobSpec, threads: int = 2) -> dict:
    """The same job in one DuckDB process: the reference the Ray job must equal, byte for byte."""
    import pyarrow.parquet as pq

    prepare(spec)
    t0 = time.monotonic()
    offs, acc = [], 0
    for f in spec.files:
        offs.append(acc)
        acc += pq.ParquetFile(f).metadata.num_rows
    con = load_checked(spec.extension, threads)
    con.execute(f"CREATE TEMP TABLE src AS SELECT * FROM {input_sql(spec)}", [offs])
    con.execute("CREATE TEMP TABLE s AS SELECT pref_stats(prompt, completion_a, completion_b, "
                f"{sql_str(spec.tokenizer)}) AS stats FROM src")
    model_sql = sql_str(spec.model_json) if spec.model_json is not None else None
    tagged = tagged_sql("src", "(SELECT stats FROM s)", options_sql(spec, spec.model_dir), model_sql,
                        spec.judge_columns)
    summary = finish(con, unpacked(f"({tagged})", model_sql is not None), spec, spec.out_dir)
    summary["seconds"] = time.monotonic() - t0
    summary["peak_rss_mb"] = maxrss_kb() // 1024
    con.close()
    return summary


# ---------------------------------------------------------------------------------------------- Ray


def maxrss_kb() -> int:
    """This process's peak resident memory, in KiB (Linux)."""
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss


class _SliceWorker:
    """One DuckDB connection per actor, the extension loaded once; reads its slices from the input files."""

    def __init__(self, extension: str, threads: int, columns: list):
        import pyarrow  # noqa: F401 - fail here, not in the first batch

        ext = os.path.abspath(extension)
        if not os.path.isfile(ext):
            raise JobError(f"prefroute_ray worker on {socket.gethostname()}: the extension file {ext!r} does not "
                           f"exist on this node; ship it (--ship working_dir) or put it on shared storage")
        self.con = connect(ext, threads)
        self.columns = columns
        self._cached = (None, None)

    def read(self, d: dict):
        import pyarrow as pa
        import pyarrow.parquet as pq

        key = (d["path"], d["row_group"])
        if self._cached[0] != key:
            self._cached = (key, pq.ParquetFile(d["path"]).read_row_group(d["row_group"], columns=self.columns))
        t = self._cached[1].slice(d["start"], d["rows"])
        return t.append_column("row_idx", pa.array(range(d["row_idx"], d["row_idx"] + d["rows"]), pa.int64()))

    def slices(self, batch):
        return batch.to_pylist()


class StatsPass(_SliceWorker):
    """Pass 1: the statistics of each slice."""

    def __init__(self, extension, threads, columns, tokenizer):
        super().__init__(extension, threads, columns)
        self.tokenizer = tokenizer

    def __call__(self, batch):
        import pyarrow as pa

        ids, blobs, secs = [], [], []
        for d in self.slices(batch):
            t = time.monotonic()
            self.con.register("batch", self.read(d))
            blobs.append(self.con.execute("SELECT pref_stats(prompt, completion_a, completion_b, ?) FROM batch",
                                          [self.tokenizer]).fetchone()[0])
            self.con.unregister("batch")
            ids.append(d["slice"])
            secs.append(time.monotonic() - t)
        return pa.table({"slice": pa.array(ids, pa.int64()), "stats": pa.array(blobs, pa.binary()),
                         "seconds": pa.array(secs, pa.float64()), "maxrss_kb": pa.array([maxrss_kb()] * len(ids))})


class TagPass(_SliceWorker):
    """Pass 2: each slice tagged with the merged statistics (and scored), written as one Parquet part."""

    def __init__(self, extension, threads, columns, stats, options, model_json, judge_columns, parts_dir):
        super().__init__(extension, threads, columns)
        self.con.execute("CREATE TEMP TABLE s AS SELECT ?::BLOB AS stats", [stats])
        model_sql = sql_str(model_json) if model_json is not None else None
        self.query = unpacked(f"({tagged_sql('batch', '(SELECT stats FROM s)', options, model_sql, judge_columns)})",
                              model_sql is not None)
        self.parts_dir = parts_dir

    def __call__(self, batch):
        import pyarrow as pa

        ids, rows, pids, secs = [], [], [], []
        for d in self.slices(batch):
            t = time.monotonic()
            self.con.register("batch", self.read(d))
            part = os.path.join(self.parts_dir, f"part-{d['slice']:06d}.parquet")
            tmp = f"{part}.{os.getpid()}.tmp"
            # A retried slice rewrites its part; the rename makes a part whole or absent.
            self.con.execute(f"COPY ({self.query}) TO {sql_str(tmp)} (FORMAT parquet)")
            self.con.unregister("batch")
            os.replace(tmp, part)
            ids.append(d["slice"])
            rows.append(d["rows"])
            pids.append(os.getpid())
            secs.append(time.monotonic() - t)
        return pa.table({"slice": pa.array(ids, pa.int64()), "rows": pa.array(rows, pa.int64()),
                         "pid": pa.array(pids, pa.int64()), "seconds": pa.array(secs, pa.float64()),
                         "maxrss_kb": pa.array([maxrss_kb()] * len(ids))})


@dataclass
class RayOptions:
    address: str | None = None  # None: start a local cluster; 'auto' or 'ray://…' or host:port: join one
    num_cpus: int | None = None  # local cluster size (default: this machine's cores)
    workers: int | None = None  # actors per pass (default: the cluster's CPUs)
    cpus_per_worker: float | None = None  # default: min(1, CPUs / (workers + 1)); DuckDB threads = max(1, ⌊·⌋)
    ship: str = "working_dir"  # 'working_dir': upload extension (and model) with runtime_env; 'shared': same paths
    progress: bool = True
    max_restarts: int = 3  # per actor, when its process dies
    temp_dir: str | None = None  # Ray's session files for a local cluster (default: a fresh dir under /tmp)


def _stage(spec: JobSpec, into: str) -> None:
    """The working_dir Ray uploads: the extension file and the model directory, hard-linked when possible."""
    def put(src, dst):
        try:
            os.link(src, dst)
        except OSError:
            shutil.copy2(src, dst)

    put(spec.extension, os.path.join(into, EXTENSION_NAME))
    if spec.model_dir:
        shutil.copytree(spec.model_dir, os.path.join(into, "model"), copy_function=put,
                        ignore=shutil.ignore_patterns(".stamp"))


def init_ray(opts: RayOptions, runtime_env: dict | None):
    """Joins `opts.address`, or starts a local cluster whose files stay under a temp dir (not ~/.ray)."""
    os.environ.setdefault("RAY_AUTH_MODE", "disabled")
    os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")
    import ray

    kwargs = {"include_dashboard": False, "log_to_driver": opts.progress, "runtime_env": runtime_env}
    if opts.address:
        ray.init(address=opts.address, **kwargs)
        return None
    # Short: Ray's socket paths below it must stay within the 107 bytes of a Unix socket name.
    temp = opts.temp_dir or tempfile.mkdtemp(prefix="prr-", dir="/tmp")
    ray.init(num_cpus=opts.num_cpus or os.cpu_count(), _temp_dir=temp, **kwargs)
    return None if opts.temp_dir else temp


def run_ray(spec: JobSpec, opts: RayOptions, on_pass=None) -> dict:
    """The job on Ray Data. Uses the Ray session already started in this process if there is one (and leaves it
    running), else starts or joins one as `opts` says and shuts it down at the end. `on_pass(name, parts_dir)`
    is called as each pass starts (the tests watch it)."""
    prepare(spec)
    if opts.ship not in ("working_dir", "shared"):
        raise JobError(f"ship must be 'working_dir' or 'shared', not {opts.ship!r}")
    import ray

    if ray.is_initialized() and opts.ship == "working_dir":
        raise JobError("a Ray session is already running in this process, and Ray takes a working_dir only when a "
                       "session starts: use ship='shared' (the extension at the same path on every node), or let "
                       "run_ray start the session")
    t0 = time.monotonic()
    # The driver's DuckDB (the merge and the final query) loads the extension first: a file that is not a
    # loadable extension for this DuckDB fails here, before any worker starts.
    driver = load_checked(spec.extension)
    slices = plan_slices(spec)
    n_rows = sum(d["rows"] for d in slices)
    out_dir = os.path.abspath(spec.out_dir)
    parts_dir = os.path.join(out_dir, "_parts")
    shutil.rmtree(parts_dir, ignore_errors=True)
    os.makedirs(parts_dir)
    stage = None
    if opts.ship == "working_dir":
        stage = tempfile.mkdtemp(prefix="prefroute-ray-stage-")
        _stage(spec, stage)
        ext_w, model_w = EXTENSION_NAME, ("model" if spec.model_dir else None)
        # Ray zips the directory, uploads it once (named by its content hash) and unpacks it as each worker's
        # current directory. Only a new session takes a local directory (not an actor's options).
        runtime_env = {"working_dir": stage}
    else:
        ext_w, model_w, runtime_env = spec.extension, spec.model_dir, None
    import ray

    owned = not ray.is_initialized()
    session_dir = init_ray(opts, runtime_env) if owned else None
    timings = {"init": time.monotonic() - t0}
    try:
        from ray.data import ActorPoolStrategy, DataContext

        ctx = DataContext.get_current()
        ctx.enable_progress_bars = opts.progress
        ctx.execution_options.preserve_order = True
        cpus = ray.cluster_resources().get("CPU", 1)
        k = opts.workers or max(1, int(cpus))
        share = opts.cpus_per_worker or min(1.0, cpus / (k + 1))
        threads = max(1, int(share))
        columns = list(TEXT_COLUMNS + spec.judge_columns)
        # Finite, unlike Ray Data's default (-1, forever): a row that kills its worker every time must fail
        # the job, not retry it for ever.
        remote = {"max_restarts": opts.max_restarts, "max_task_retries": opts.max_restarts}
        ds = ray.data.from_items(slices, override_num_blocks=len(slices))

        def run_pass(name, cls, ctor):
            if on_pass:
                on_pass(name, parts_dir)
            t = time.monotonic()
            with warnings.catch_warnings():
                # ray 2.60 names max_restarts/max_task_retries only through **ray_remote_args, which warns.
                warnings.filterwarnings("ignore", message=".*ray_remote_args.*deprecated")
                mapped = ds.map_batches(cls, batch_size=1, batch_format="pyarrow", fn_constructor_kwargs=ctor,
                                        compute=ActorPoolStrategy(size=k), num_cpus=share, **remote)
            out = mapped.take_all()
            timings[name] = time.monotonic() - t
            return out

        work = {}  # seconds the workers spent in each pass's slices, summed over slices
        peak = {}
        got = run_pass("stats", StatsPass, {"extension": ext_w, "threads": threads, "columns": columns,
                                            "tokenizer": spec.tokenizer})
        if sorted(r["slice"] for r in got) != list(range(len(slices))):
            raise JobError(f"pass 1 returned {len(got)} statistics for {len(slices)} slices")
        work["stats"] = sum(r["seconds"] for r in got)
        peak["stats"] = max(r["maxrss_kb"] for r in got)
        t = time.monotonic()
        merged = None
        for r in sorted(got, key=lambda r: r["slice"]):
            merged = r["stats"] if merged is None else driver.execute(
                "SELECT pref_stats_merge(?::BLOB, ?::BLOB)", [merged, r["stats"]]).fetchone()[0]
        timings["merge"] = time.monotonic() - t
        got = run_pass("tags", TagPass, {
            "extension": ext_w, "threads": threads, "columns": columns, "stats": merged,
            "options": options_sql(spec, model_w), "model_json": spec.model_json,
            "judge_columns": spec.judge_columns, "parts_dir": parts_dir})
        work["tags"] = sum(r["seconds"] for r in got)
        peak["tags"] = max(r["maxrss_kb"] for r in got)
        done = sorted(r["slice"] for r in got)
        if done != list(range(len(slices))) or sum(r["rows"] for r in got) != n_rows:
            raise JobError(f"pass 2 finished {len(set(done))} of {len(slices)} slices")
        t = time.monotonic()
        parts = os.path.join(parts_dir, "part-*.parquet")
        summary = finish(driver, f"SELECT * FROM read_parquet({sql_str(parts)})", spec, out_dir)
        if summary["rows"] != n_rows:
            raise JobError(f"the parts hold {summary['rows']} rows, the input {n_rows}")
        timings["finish"] = time.monotonic() - t
        driver.close()
        shutil.rmtree(parts_dir)
        summary.update(seconds=time.monotonic() - t0, timings=timings, slices=len(slices), workers=k,
                       cpus_per_worker=share, threads_per_worker=threads, stats_bytes=len(merged),
                       worker_pids=sorted({r["pid"] for r in got}), worker_seconds=work,
                       worker_peak_rss_mb={k: v // 1024 for k, v in peak.items()},
                       driver_peak_rss_mb=maxrss_kb() // 1024)
        return summary
    finally:
        if owned:
            ray.shutdown()
        if session_dir:
            shutil.rmtree(session_dir, ignore_errors=True)
        if stage:
            shutil.rmtree(stage, ignore_errors=True)
