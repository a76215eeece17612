-- prefroute demo, the project's main job: `make demo` builds the extension and runs
--   .venv/cli/bin/duckdb -unsigned -bail -f sql/demo.sql
-- from the repository root. On the bundled LLMBar pairs (885, each with a human label and the
-- AI judge's label in both completion orders) it walks the five-step workflow of routing with a
-- judge-error model: judge everything, send a random seed to humans, learn where the judge is
-- wrong from the seed, route the rest under a budget, build the hybrid dataset; and it ends on what a
-- routing can promise (the accuracy it keeps with 90 % confidence and the human share that costs, or
-- that the seed is too small to promise it) and on the honest measure of every router: how much of the
-- possible gain over random routing each captures.

LOAD 'build/release/prefroute.duckdb_extension';
.mode box

.print ''
.print '== 1. The data: examples/data/llmbar.parquet. The AI judge (GPT-4) labelled every pair twice,'
.print '   once with the completions swapped (ai_pref_alt); humans labelled them too (the reference).'
SELECT count(*) AS pairs,
       count(human_pref) AS with_human_label,
       count(ai_pref) AS with_ai_label,
       round(avg((human_pref = ai_pref)::INT), 3) AS ai_agrees_with_humans,
       round(avg((ai_pref = ai_pref_alt)::INT), 3) AS judge_consistent_when_swapped
FROM read_parquet('examples/data/llmbar.parquet');

.print ''
.print '   The embedding measures (cosine_sim, bertscore, bertscore_length), computed once with the local'
.print '   model (make model) and kept beside the pairs in build/demo/llmbar_measured.parquet:'
COPY (SELECT p.*, t.cosine_sim, t.bertscore, t.bertscore_length
      FROM read_parquet('examples/data/llmbar.parquet') p
      JOIN tag_instances('examples/data/llmbar.parquet', model_dir := '.cache/models/all-MiniLM-L6-v2',
                         tfidf := false) t USING (id)
      ORDER BY p.id)
  TO 'build/demo/llmbar_measured.parquet' (FORMAT parquet);
SELECT count(*) AS pairs, round(avg(cosine_sim), 3) AS mean_cosine_sim, round(avg(bertscore), 3) AS mean_bertscore
FROM read_parquet('build/demo/llmbar_measured.parquet');

.print ''
.print '== 2. Send a random 20 % seed to humans (strategy random: a seeded hash of the id, the same for any'
.print '   thread count or row order). The rest waits for routing.'
CREATE TEMP TABLE seed AS
SELECT id FROM route_instances('build/demo/llmbar_measured.parquet', 0.2, strategy := 'random', seed := 1)
WHERE route = 'human';
COPY (SELECT * FROM read_parquet('build/demo/llmbar_measured.parquet') WHERE id IN (SELECT id FROM seed))
  TO 'build/demo/llmbar_seed.parquet' (FORMAT parquet);
COPY (SELECT * FROM read_parquet('build/demo/llmbar_measured.parquet') WHERE id NOT IN (SELECT id FROM seed) ORDER BY id)
  TO 'build/demo/llmbar_rest.parquet' (FORMAT parquet);
SELECT (SELECT count(*) FROM read_parquet('build/demo/llmbar_seed.parquet')) AS seed_to_humans,
       (SELECT count(*) FROM read_parquet('build/demo/llmbar_rest.parquet')) AS rest_to_route;

.print ''
.print '== 3. Learn where the judge is wrong from the seed: risk_fit (5-fold cross-fitted figures, then the'
.print '   model fitted on the whole seed, saved to build/demo/risk.json)'
SELECT n, n_disagree, len(features) AS features, round(auc, 3) AS auc, round(brier, 3) AS brier,
       round(ece, 3) AS ece, saved_to
FROM risk_fit('build/demo/llmbar_seed.parquet', save := 'build/demo/risk.json');

.print ''
.print '== 4. Route the rest: 25 % of it to humans, the likeliest judge errors first'
CREATE TEMP TABLE routed AS
SELECT * FROM route_instances('build/demo/llmbar_rest.parquet', 0.25, model := 'build/demo/risk.json');
SELECT route, count(*) AS instances,
       round(avg(gain) * (SELECT count(*) FROM routed), 3) AS mean_p_judge_wrong
FROM routed GROUP BY route ORDER BY route DESC;
.print '   Expected label accuracy of the hybrid data (1 - mean P(judge wrong) over the AI-labelled rows): an'
.print '   estimate that takes the model at its word, not a promise (see the end).'
COPY (SELECT p.*, r.route = 'human' AS routed
      FROM read_parquet('build/demo/llmbar_rest.parquet') p JOIN routed r USING (id) ORDER BY r.rank)
  TO 'build/demo/llmbar_routed.parquet' (FORMAT parquet);
SELECT routing, n_human, round(predicted_score, 4) AS expected_accuracy
FROM ppm_score('build/demo/llmbar_routed.parquet', model := 'build/demo/risk.json', routed := 'routed');
.print '   Which instances went to humans (readable tags, by share routed):'
SELECT tag_label(tag) AS tag, count(*) AS with_tag,
       round(100.0 * count(*) FILTER (WHERE route = 'human') / count(*), 1) AS pct_to_humans
FROM (SELECT r.route, unnest(t.tags) AS tag
      FROM routed r JOIN tag_instances('build/demo/llmbar_rest.parquet', tfidf := false) t USING (id))
GROUP BY tag HAVING count(*) >= 30
ORDER BY pct_to_humans DESC, tag LIMIT 6;

.print ''
.print '== 5. The hybrid dataset: the human label where routed, the AI label elsewhere, ties dropped'
COPY (SELECT * FROM hybrid_dataset('build/demo/llmbar_rest.parquet', 0.25, model := 'build/demo/risk.json'))
  TO 'build/demo/llmbar_hybrid.parquet' (FORMAT parquet);
SELECT 'build/demo/llmbar_hybrid.parquet' AS written_to, count(*) AS pairs,
       count(*) FILTER (WHERE label_source = 'human') AS human_labels,
       count(*) FILTER (WHERE label_source = 'ai') AS ai_labels
FROM read_parquet('build/demo/llmbar_hybrid.parquet');

.print ''
.print '== What can the routing promise? target_accuracy alone routes the fewest humans whose EXPECTED accuracy'
.print '   reaches the target (an estimate). With confidence := 0.9 it routes the fewest humans that keep the'
.print '   target with probability >= 0.9: an exact test on the cross-fitted predictions of the seed (stored in'
.print '   risk.json), valid when the seed was a random sample of the same pairs, as here. The price of the'
.print '   promise is the difference in human_share.'
CREATE TEMP TABLE promises AS
SELECT * FROM route_summary('build/demo/llmbar_rest.parquet', NULL, model := 'build/demo/risk.json', target_accuracy := 0.85)
UNION ALL
SELECT * FROM route_summary('build/demo/llmbar_rest.parquet', NULL, model := 'build/demo/risk.json', target_accuracy := 0.85,
                            confidence := 0.9)
UNION ALL
SELECT * FROM route_summary('build/demo/llmbar_rest.parquet', NULL, model := 'build/demo/risk.json', target_accuracy := 0.9)
UNION ALL
SELECT * FROM route_summary('build/demo/llmbar_rest.parquet', NULL, model := 'build/demo/risk.json', target_accuracy := 0.9,
                            confidence := 0.9)
UNION ALL
SELECT * FROM route_summary('build/demo/llmbar_rest.parquet', NULL, model := 'build/demo/risk.json', target_accuracy := 0.95)
UNION ALL
SELECT * FROM route_summary('build/demo/llmbar_rest.parquet', NULL, model := 'build/demo/risk.json', target_accuracy := 0.95,
                            confidence := 0.9);
SELECT target_accuracy AS target, basis, n_human, round(human_share, 3) AS human_share,
       round(expected_accuracy, 4) AS expected_accuracy, round(promised_accuracy, 4) AS promised_at_least
FROM promises ORDER BY target_accuracy, basis;
.print '   When the seed is too small to promise a target (only routing every pair to humans would):'
SELECT coalesce(string_agg(note, chr(10)), 'every target above can be promised with this seed') AS note
FROM promises WHERE basis = 'cannot promise';

.print ''
.print '== How good is each router? Human labels as the reference; captured = (accuracy - random) /'
.print '   (oracle - random). paper-prior: the embedded PPM prior; random: a seeded random routing; risk:'
.print '   a judge-error model cross-fitted on the file (never scoring a row it was fitted on).'
SELECT model, budget, n_human, round(accuracy, 4) AS accuracy, round(random, 4) AS random,
       round(oracle, 4) AS oracle, round(captured, 3) AS captured
FROM route_eval('build/demo/llmbar_measured.parquet', model := ['paper-prior', 'random', 'risk'])
ORDER BY budget, model;
