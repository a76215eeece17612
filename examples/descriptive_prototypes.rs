//! Experiment: do nearest-prototype tags from a sentence-embedding model beat the
//! rule-based descriptive tagger on `subject_of_expertise` and `safety_concern`?
//!
//! One short description per subject and per safety level (written from the
//! vocabulary names, before looking at any tagger output) is embedded with the
//! model; each prompt of the hand-labelled sample `tests/data/descriptive_labels.tsv`
//! is embedded too (`EmbeddingModel::embed_sentences`, 256 tokens). Rules, fixed
//! before measuring:
//! * subject: the nearest description (top-1); the predicted set adds every subject
//!   within [`SUBJECT_MARGIN`] cosine of the best, at most 3 (as the rule tagger);
//! * safety: the nearest of the four level descriptions.
//!
//! Metrics against the hand labels, for both taggers: subject top-1 accuracy (the
//! first predicted subject is in the labelled set), mean per-prompt set F1; safety
//! exact-level accuracy and binary (level ≥ moderate) precision / recall / F1.
//! Figures and the decision (not adopted): README, "Measured figures".
//!
//! ```text
//! cargo run --example descriptive_prototypes -- .cache/models/all-MiniLM-L6-v2
//! ```

use arrow::array::{Array, AsArray};
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
use prefroute::embed::{Batching, EmbeddingModel};
use prefroute::tags::descriptive::describe;
use prefroute::tags::descriptive::vocab::{SAFETY_LEVELS, SUBJECTS};
use std::collections::{BTreeMap, HashMap};
use std::path::PathBuf;

/// Subjects within this cosine of the best one join the predicted set.
const SUBJECT_MARGIN: f64 = 0.03;

/// One description per subject, in `SUBJECTS` order.
const SUBJECT_TEXT: [&str; 46] = [
    "Anthropology: human cultures, customs, kinship, ethnography and how societies differ around the world.",
    "History: past events, historical periods, wars, empires, revolutions and historical figures.",
    "Linguistics and language: grammar, words, meaning, spelling, rewriting or paraphrasing sentences, \
     translation and foreign languages.",
    "Philosophy: ethics, morality, what is right or wrong, the meaning of life, arguments and reasoning about values.",
    "Religion: faiths, churches, God, scriptures, religious beliefs and practices.",
    "Economics: markets, prices, wages, employment, inflation, trade and the economy.",
    "Geography: countries, cities, places, maps, regions, travel destinations and landscapes.",
    "Political science: governments, elections, political parties, policy debates, ideologies and politics.",
    "Psychology: the mind, emotions, behaviour, relationships, motivation and mental health advice.",
    "Sociology: society, social groups, race, gender, identity, communities and social issues.",
    "Biology: living things, animals, plants, cells, genetics and the body's biological processes.",
    "Chemistry: chemicals, substances, reactions, compounds, elements and their properties.",
    "Earth sciences: geology, oceans, tides, weather, climate, earthquakes and the planet Earth.",
    "Physics: forces, energy, motion, light, electricity, matter and the laws of nature.",
    "Space sciences: astronomy, planets, the sun and moon, stars, space travel and rockets.",
    "Computer sciences: programming, code, software, algorithms, computers, the internet and data.",
    "Logic: puzzles, riddles, deductive reasoning, brain teasers and logical problems.",
    "System science: complex systems, systems thinking, feedback, control and modelling of systems.",
    "Agriculture: farming, crops, livestock, soil, gardening and food production.",
    "Architecture and design: buildings, interior design, houses, graphic and product design.",
    "Business: companies, marketing, sales, management, jobs, careers, products and workplace writing.",
    "Divinity: theology, the study of sacred texts, ministry and spiritual doctrine.",
    "Education: schools, teaching, learning, students, courses and studying.",
    "Chemical engineering: industrial chemical processes, plants, reactors and production of chemicals.",
    "Civil engineering: bridges, roads, construction, infrastructure and structural engineering.",
    "Electrical engineering: circuits, electronics, power systems, signals and electrical devices.",
    "Materials science and engineering: metals, polymers, ceramics, material properties and manufacturing.",
    "Mechanical engineering: machines, engines, mechanics, vehicles' parts and mechanical design.",
    "Environmental studies and forestry: the environment, pollution, renewable energy, conservation and forests.",
    "Family and consumer science: home, household tasks, cleaning, personal finance, shopping, clothing, \
     fashion and family life.",
    "Human physical performance and recreation: sports, fitness, exercise, games, hobbies and outdoor recreation.",
    "Journalism: news, reporting, press releases, articles, interviews and news writing.",
    "Media studies and communication: television, film, social media, advertising, public communication \
     and entertainment.",
    "Law: laws, crimes, legal rights, courts, police, contracts and what is legal or illegal.",
    "Library and museum studies: libraries, archives, museums, collections and cataloguing.",
    "Medicine and health: diseases, symptoms, medical treatment, drugs, doctors, hospitals and health.",
    "Military sciences: armies, weapons, warfare, military strategy and soldiers.",
    "Social work: helping vulnerable people, welfare services, counselling and community support.",
    "Transportation: cars, trains, planes, buses, traffic, roads and getting from one place to another.",
    "Culinary arts: cooking, recipes, food, dishes, ingredients, restaurants and drinks.",
    "Literature: novels, poems, stories, creative writing, books and authors.",
    "Performing arts: music, songs, theatre, dance, actors, concerts and film performances.",
    "Visual arts: painting, drawing, photography, sculpture, art and artists.",
    "Mathematics: numbers, arithmetic, equations, algebra, geometry, sequences and calculation.",
    "Public administration: government agencies, public services, public policy implementation and bureaucracy.",
    "Others: casual chit-chat, small talk and requests that need no particular field of knowledge.",
];

/// One description per safety level, in `SAFETY_LEVELS` order (safe, low, moderate, high).
const SAFETY_TEXT: [&str; 4] = [
    "A harmless, ordinary request for information, writing or help with an everyday task.",
    "A question touching a sensitive or controversial topic, such as drugs, abortion or war, asked without \
     any intent to cause harm.",
    "A request for something unethical or mildly illegal, offensive or sexually explicit, such as invading \
     someone's privacy, insulting or harassing people, or cheating.",
    "A request for help to seriously harm people: to kill, poison or injure someone, make weapons or \
     explosives, commit violent crimes, fraud or spread hate.",
];

/// One hand-labelled prompt.
struct Labelled {
    file: String,
    prompt: String,
    subjects: Vec<String>,
    safety: String,
}

/// Predictions of one tagger for one prompt.
struct Prediction {
    subjects: Vec<String>,
    safety: String,
}

fn main() {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let model_dir = std::env::args().nth(1).map(PathBuf::from).unwrap_or_else(|| {
        eprintln!("usage: cargo run --example descriptive_prototypes -- <model_dir>");
        std::process::exit(2);
    });
    let model = EmbeddingModel::load(&model_dir).unwrap_or_else(|e| panic!("{e}"));
    let sample = labelled(&root);
    let batching = Batching::default();
    let embed = |texts: &[&str]| model.embed_sentences(texts, &batching).unwrap_or_else(|e| panic!("{e}"));
    let subject_protos = embed(&SUBJECT_TEXT);
    let safety_protos = embed(&SAFETY_TEXT);
    let prompts: Vec<&str> = sample.iter().map(|l| l.prompt.as_str()).collect();
    let prompt_vecs = embed(&prompts);

    let rules: Vec<Prediction> = sample
        .iter()
        .map(|l| {
            let d = describe(&l.prompt);
            Prediction { subjects: d.subject_of_expertise, safety: d.safety_concern.unwrap_or_default() }
        })
        .collect();
    let protos: Vec<Prediction> =
        prompt_vecs.iter().map(|v| nearest_prototype(v, &subject_protos, &safety_protos)).collect();

    println!(
        "{} hand-labelled prompts (tests/data/descriptive_labels.tsv); model {}",
        sample.len(),
        model_dir.display()
    );
    println!("{:<44} {:>10} {:>10}", "metric", "rules", "prototype");
    let all: Vec<usize> = (0..sample.len()).collect();
    report(&sample, &rules, &protos, &all, "all");
    for file in ["llmbar", "pandalm_test", "hh_rlhf_harmless_test"] {
        let rows: Vec<usize> = (0..sample.len()).filter(|i| sample[*i].file == file).collect();
        report(&sample, &rules, &protos, &rows, file);
    }
    // Paired view of the main metric: prompts only one tagger gets right (McNemar's discordant pairs).
    let right = |p: &Prediction, l: &Labelled| p.subjects.first().is_some_and(|s| l.subjects.contains(s));
    let only = |a: &[Prediction], b: &[Prediction]| {
        sample.iter().enumerate().filter(|(i, l)| right(&a[*i], l) && !right(&b[*i], l)).count()
    };
    println!(
        "subject top-1, discordant prompts: rules only right {}, prototype only right {}",
        only(&rules, &protos),
        only(&protos, &rules)
    );
    if std::env::args().any(|a| a == "--rows") {
        for (l, (r, p)) in sample.iter().zip(rules.iter().zip(&protos)) {
            println!(
                "{:<14} label {:?}/{} | rules {:?}/{} | proto {:?}/{}",
                l.file, l.subjects, l.safety, r.subjects, r.safety, p.subjects, p.safety
            );
        }
    }
}

/// Nearest subject description (plus those within the margin) and nearest safety level.
fn nearest_prototype(v: &[f64], subjects: &[Vec<f64>], safety: &[Vec<f64>]) -> Prediction {
    let dot = |p: &Vec<f64>| v.iter().zip(p).map(|(x, y)| x * y).sum::<f64>();
    let mut scored: Vec<(f64, usize)> = subjects.iter().map(dot).zip(0..).collect();
    // Best first; ties by vocabulary order, so the result is deterministic.
    scored.sort_by(|a, b| b.0.total_cmp(&a.0).then(a.1.cmp(&b.1)));
    let best = scored[0].0;
    let chosen = scored.iter().take(3).filter(|(s, _)| *s >= best - SUBJECT_MARGIN);
    let level =
        safety.iter().map(dot).zip(0..).fold((f64::NEG_INFINITY, 0), |b, x| if x.0 > b.0 { x } else { b }).1;
    Prediction {
        subjects: chosen.map(|(_, i)| SUBJECTS[*i].to_string()).collect(),
        safety: SAFETY_LEVELS[level].to_string(),
    }
}

/// Prints the metrics of both taggers over the rows `idx` of the sample.
fn report(sample: &[Labelled], rules: &[Prediction], protos: &[Prediction], idx: &[usize], name: &str) {
    let mut lines: BTreeMap<usize, (String, f64, f64)> = BTreeMap::new();
    for (col, preds) in [rules, protos].into_iter().enumerate() {
        let m = metrics(sample, preds, idx);
        for (k, (label, value)) in m.into_iter().enumerate() {
            let e = lines.entry(k).or_insert((label, 0.0, 0.0));
            if col == 0 {
                e.1 = value
            } else {
                e.2 = value
            }
        }
    }
    let serious = idx.iter().filter(|i| matches!(sample[**i].safety.as_str(), "moderate" | "high")).count();
    println!("-- {name} (n = {}, {serious} labelled >= moderate)", idx.len());
    for (label, r, p) in lines.values() {
        let cell = |v: f64| match () {
            _ if v.is_nan() => "n/a".to_string(),
            _ if label.ends_with("(count)") => format!("{v:.0}"),
            _ => format!("{v:.3}"),
        };
        println!("{label:<44} {:>10} {:>10}", cell(*r), cell(*p));
    }
}

fn metrics(sample: &[Labelled], preds: &[Prediction], idx: &[usize]) -> Vec<(String, f64)> {
    let n = idx.len().max(1) as f64;
    let (mut top1, mut f1_sum, mut exact) = (0.0, 0.0, 0.0);
    let (mut tp, mut fp, mut fn_) = (0.0, 0.0, 0.0);
    let level = |s: &str| SAFETY_LEVELS.iter().position(|l| *l == s).unwrap_or(0);
    for &i in idx {
        let (l, p) = (&sample[i], &preds[i]);
        if p.subjects.first().is_some_and(|s| l.subjects.contains(s)) {
            top1 += 1.0;
        }
        let hit = p.subjects.iter().filter(|s| l.subjects.contains(s)).count() as f64;
        if hit > 0.0 {
            let (prec, rec) = (hit / p.subjects.len() as f64, hit / l.subjects.len() as f64);
            f1_sum += 2.0 * prec * rec / (prec + rec);
        }
        if p.safety == l.safety {
            exact += 1.0;
        }
        match (level(&p.safety) >= 2, level(&l.safety) >= 2) {
            (true, true) => tp += 1.0,
            (true, false) => fp += 1.0,
            (false, true) => fn_ += 1.0,
            (false, false) => {}
        }
    }
    // 0/0 (no prompt flagged, or none labelled ≥ moderate) is undefined: NaN, printed "n/a".
    let ratio = |a: f64, b: f64| if b > 0.0 { a / b } else { f64::NAN };
    let (prec, rec) = (ratio(tp, tp + fp), ratio(tp, tp + fn_));
    vec![
        ("subject top-1 accuracy".into(), top1 / n),
        ("subject set F1 (mean per prompt)".into(), f1_sum / n),
        ("safety exact-level accuracy".into(), exact / n),
        ("safety >= moderate precision".into(), prec),
        ("safety >= moderate recall".into(), rec),
        ("safety >= moderate F1".into(), ratio(2.0 * prec * rec, prec + rec)),
        ("prompts flagged >= moderate (count)".into(), tp + fp),
    ]
}

/// The hand-labelled rows with their prompts from the bundled Parquet files.
fn labelled(root: &std::path::Path) -> Vec<Labelled> {
    let path = root.join("tests/data/descriptive_labels.tsv");
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let mut prompts: HashMap<String, HashMap<String, String>> = HashMap::new();
    let mut out = Vec::new();
    for line in text.lines().filter(|l| !l.starts_with('#')).skip(1) {
        let f: Vec<&str> = line.split('\t').collect();
        assert_eq!(f.len(), 4, "bad line: {line}");
        let by_id = prompts.entry(f[0].to_string()).or_insert_with(|| {
            let p = root.join(format!("examples/data/{}.parquet", f[0]));
            id_to_prompt(&p)
        });
        let prompt = by_id.get(f[1]).unwrap_or_else(|| panic!("{}: no id {}", f[0], f[1])).clone();
        out.push(Labelled {
            file: f[0].to_string(),
            prompt,
            subjects: f[2].split(';').map(str::to_string).collect(),
            safety: f[3].to_string(),
        });
    }
    out
}

fn id_to_prompt(path: &std::path::Path) -> HashMap<String, String> {
    let file = std::fs::File::open(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let reader = ParquetRecordBatchReaderBuilder::try_new(file)
        .and_then(|b| b.build())
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let mut out = HashMap::new();
    for batch in reader {
        let batch = batch.unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        let col = |n: &str| {
            batch.column_by_name(n).unwrap_or_else(|| panic!("no column {n}")).as_string::<i32>().clone()
        };
        let (ids, prompts) = (col("id"), col("prompt"));
        for i in 0..ids.len() {
            if !ids.is_null(i) && !prompts.is_null(i) {
                out.insert(ids.value(i).to_string(), prompts.value(i).to_string());
            }
        }
    }
    out
}
