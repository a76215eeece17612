-- prefroute demo, the project's main job: `make demo` builds the extension and runs
--   .venv/cli/bin/duckdb -unsigned -bail -f sql/demo.sql
-- from the repository root. It routes the bundled LLMBar pairs at a budget of 37 % with the
-- embedded default model ('paper-prior'), prints what went where and why, shows the budget
-- curve, and writes the hybrid preference dataset to build/demo/llmbar_hybrid.parquet.

LOAD 'build/release/prefroute.duckdb_extension';
.mode box

.print ''
.print '== 1. The data: examples/data/llmbar.parquet as prefroute reads it'
SELECT count(*) AS pairs,
       count(human_pref) AS with_human_label,
       count(ai_pref) AS with_ai_label,
       round(avg((human_pref = ai_pref)::INT), 3) AS ai_agrees_with_humans
FROM pref_instances('examples/data/llmbar.parquet');

.print ''
.print '== 2. Route 37 % of the pairs to humans (strategy auto = optimize, model paper-prior)'
CREATE TEMP TABLE routed AS
SELECT * FROM route_instances('examples/data/llmbar.parquet', 0.37);
SELECT route, count(*) AS instances FROM routed GROUP BY route ORDER BY route DESC;

.print ''
.print '== 3. Predicted score of this routing vs all-AI and all-human (RewardBench Overall, paper-prior)'
COPY (SELECT p.id, p.prompt, p.completion_a, p.completion_b, p.human_pref, p.ai_pref,
             r.route = 'human' AS routed
      FROM read_parquet('examples/data/llmbar.parquet') p JOIN routed r USING (id)
      ORDER BY r.rank)
  TO 'build/demo/llmbar_routed.parquet' (FORMAT parquet);
SELECT routing, n_human, round(predicted_score, 6) AS predicted_score
FROM ppm_score('build/demo/llmbar_routed.parquet', routed := 'routed');

.print ''
.print '== 4. The tags most often routed to humans'
SELECT tag,
       count(*) AS with_tag,
       count(*) FILTER (WHERE route = 'human') AS to_humans,
       round(100.0 * count(*) FILTER (WHERE route = 'human') / count(*), 1) AS pct_to_humans
FROM (SELECT r.route, unnest(t.tags) AS tag
      FROM routed r JOIN tag_instances('examples/data/llmbar.parquet', tfidf := false) t USING (id))
GROUP BY tag
HAVING count(*) >= 20
ORDER BY pct_to_humans DESC, tag
LIMIT 8;

.print ''
.print '== 5. The budget curve (★ = the budget with the highest predicted score)'
SELECT budget, n_human, round(predicted_score, 6) AS predicted_score,
       bar(predicted_score, min(predicted_score) OVER (), max(predicted_score) OVER () + 1e-12, 40) AS curve,
       CASE WHEN best THEN '★' ELSE '' END AS best
FROM budget_curve('examples/data/llmbar.parquet', steps := 10)
ORDER BY budget;

.print ''
.print '== 6. The hybrid dataset: human label where routed, AI label elsewhere, ties dropped'
COPY (SELECT * FROM hybrid_dataset('examples/data/llmbar.parquet', 0.37))
  TO 'build/demo/llmbar_hybrid.parquet' (FORMAT parquet);
SELECT 'build/demo/llmbar_hybrid.parquet' AS written_to, count(*) AS pairs,
       count(*) FILTER (WHERE label_source = 'human') AS human_labels,
       count(*) FILTER (WHERE label_source = 'ai') AS ai_labels
FROM read_parquet('build/demo/llmbar_hybrid.parquet');
