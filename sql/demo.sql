-- prefroute demo: run from the repository root with `make demo`, i.e.
--   .venv/cli/bin/duckdb -unsigned -bail -f sql/demo.sql
-- (`-unsigned` because prefroute is not signed by DuckDB; `make demo` builds the extension first).

LOAD 'build/release/prefroute.duckdb_extension';

.print '== The bundled datasets as pref_instances reads them'
SELECT
    name,
    count(*) AS pairs,
    count(*) FILTER (WHERE human_pref = 'A')   AS human_a,
    count(*) FILTER (WHERE human_pref = 'B')   AS human_b,
    count(*) FILTER (WHERE human_pref = 'tie') AS human_tie,
    count(ai_pref)                             AS with_ai_label,
    count(*) FILTER (WHERE human_pref = ai_pref)                               AS ai_agrees,
    round(count(*) FILTER (WHERE human_pref = ai_pref)
          / nullif(count(*) FILTER (WHERE human_pref IS NOT NULL AND ai_pref IS NOT NULL), 0), 3) AS ai_agreement
FROM (
    SELECT 'llmbar' AS name, * FROM pref_instances('examples/data/llmbar.parquet')
    UNION ALL
    SELECT 'pandalm_test', * FROM pref_instances('examples/data/pandalm_test.parquet')
    UNION ALL
    SELECT 'hh_rlhf_harmless_test', * FROM pref_instances('examples/data/hh_rlhf_harmless_test.parquet')
)
GROUP BY name
ORDER BY name;

.print '== LLMBar: human label vs AI-judge (GPT-4) label'
SELECT human_pref, coalesce(ai_pref, 'NULL') AS ai_pref, count(*) AS pairs
FROM pref_instances('examples/data/llmbar.parquet')
GROUP BY ALL
ORDER BY human_pref, ai_pref;

.print '== A few LLMBar pairs where the AI judge disagrees with the humans'
SELECT
    id,
    left(regexp_replace(prompt, '\s+', ' ', 'g'), 50)       AS prompt,
    left(regexp_replace(completion_a, '\s+', ' ', 'g'), 30) AS completion_a,
    left(regexp_replace(completion_b, '\s+', ' ', 'g'), 30) AS completion_b,
    human_pref,
    ai_pref
FROM pref_instances('examples/data/llmbar.parquet')
WHERE human_pref <> ai_pref
LIMIT 5;
