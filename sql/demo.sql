-- prefroute demo, the project's main job: `make demo` builds the extension and runs
--   .venv/cli/bin/duckdb -unsigned -bail -f sql/demo.sql
-- from the repository root. It computes the embedding measures of the bundled LLMBar pairs once
-- (cosine_sim, bertscore, bertscore_length with all-MiniLM-L6-v2, fetched by `make model`) and
-- keeps them beside the pairs, routes the pairs at a budget of 37 % with the embedded default
-- model ('paper-prior'), prints what went where and why, shows the budget curve, and writes the
-- hybrid preference dataset to build/demo/llmbar_hybrid.parquet.

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
.print '== 2. The embedding measures, computed once with the local model and kept beside the pairs'
.print '   (every later function reads them from build/demo/llmbar_measured.parquet instead of recomputing)'
COPY (SELECT p.*, t.cosine_sim, t.bertscore, t.bertscore_length
      FROM read_parquet('examples/data/llmbar.parquet') p
      JOIN tag_instances('examples/data/llmbar.parquet', model_dir := '.cache/models/all-MiniLM-L6-v2',
                         tfidf := false) t USING (id)
      ORDER BY p.id)
  TO 'build/demo/llmbar_measured.parquet' (FORMAT parquet);
SELECT count(*) AS pairs,
       round(avg(cosine_sim), 3) AS mean_cosine_sim,
       round(avg(bertscore), 3) AS mean_bertscore,
       count(*) FILTER (WHERE bertscore >= 0.33 AND bertscore < 0.67) AS with_bertscore_mid_bin
FROM read_parquet('build/demo/llmbar_measured.parquet');

.print ''
.print '== 3. Route 37 % of the pairs to humans (strategy auto = optimize, model paper-prior)'
CREATE TEMP TABLE routed AS
SELECT * FROM route_instances('build/demo/llmbar_measured.parquet', 0.37);
SELECT route, count(*) AS instances FROM routed GROUP BY route ORDER BY route DESC;

.print ''
.print '== 4. Predicted score of this routing vs all-AI and all-human (RewardBench Overall, paper-prior)'
COPY (SELECT p.*, r.route = 'human' AS routed
      FROM read_parquet('build/demo/llmbar_measured.parquet') p JOIN routed r USING (id)
      ORDER BY r.rank)
  TO 'build/demo/llmbar_routed.parquet' (FORMAT parquet);
SELECT routing, n_human, round(predicted_score, 6) AS predicted_score
FROM ppm_score('build/demo/llmbar_routed.parquet', routed := 'routed');

.print ''
.print '== 5. The tags most often routed to humans'
SELECT tag,
       count(*) AS with_tag,
       count(*) FILTER (WHERE route = 'human') AS to_humans,
       round(100.0 * count(*) FILTER (WHERE route = 'human') / count(*), 1) AS pct_to_humans
FROM (SELECT r.route, unnest(t.tags) AS tag
      FROM routed r JOIN tag_instances('build/demo/llmbar_measured.parquet', tfidf := false) t USING (id))
GROUP BY tag
HAVING count(*) >= 20
ORDER BY pct_to_humans DESC, tag
LIMIT 8;

.print ''
.print '== 6. The budget curve (★ = the budget with the highest predicted score)'
SELECT budget, n_human, round(predicted_score, 6) AS predicted_score,
       bar(predicted_score, min(predicted_score) OVER (), max(predicted_score) OVER () + 1e-12, 40) AS curve,
       CASE WHEN best THEN '★' ELSE '' END AS best
FROM budget_curve('build/demo/llmbar_measured.parquet', steps := 10)
ORDER BY budget;

.print ''
.print '== 7. The hybrid dataset: human label where routed, AI label elsewhere, ties dropped'
COPY (SELECT * FROM hybrid_dataset('build/demo/llmbar_measured.parquet', 0.37))
  TO 'build/demo/llmbar_hybrid.parquet' (FORMAT parquet);
SELECT 'build/demo/llmbar_hybrid.parquet' AS written_to, count(*) AS pairs,
       count(*) FILTER (WHERE label_source = 'human') AS human_labels,
       count(*) FILTER (WHERE label_source = 'ai') AS ai_labels
FROM read_parquet('build/demo/llmbar_hybrid.parquet');
