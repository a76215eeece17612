//! The descriptive tagger on hand-written prompts with obvious tags and on the
//! three bundled datasets (vocabulary, determinism, safety contrast, language
//! agreement with the Python oracle).

use arrow::array::{Array, AsArray};
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
use prefroute::tags::descriptive::{describe, Descriptive};
use prefroute::tags::language::detect_language;
use std::collections::HashMap;

const FILES: [&str; 3] = ["hh_rlhf_harmless_test", "llmbar", "pandalm_test"];

/// A string column of a Parquet file, nulls as "".
fn column(path: &str, name: &str) -> Vec<String> {
    let file = std::fs::File::open(path).unwrap();
    let reader = ParquetRecordBatchReaderBuilder::try_new(file).unwrap().build().unwrap();
    let mut out = Vec::new();
    for batch in reader {
        let batch = batch.unwrap();
        let col = batch.column_by_name(name).unwrap().as_string::<i32>().clone();
        out.extend(
            (0..col.len()).map(|i| if col.is_null(i) { String::new() } else { col.value(i).to_string() }),
        );
    }
    out
}

fn prompts(name: &str) -> Vec<String> {
    column(&format!("examples/data/{name}.parquet"), "prompt")
}

fn has(list: &[String], value: &str) -> bool {
    list.iter().any(|v| v == value)
}

#[test]
fn json_in_the_prompt_is_json_material() {
    let d = describe(r#"Extract the city from this record: {"name": "Ann", "age": 31, "city": "Paris"}"#);
    assert!(has(&d.type_of_in_context_material, "json"), "{d:?}");
    assert_eq!(d.safety_concern.as_deref(), Some("safe"));
}

#[test]
fn a_200_word_poem_has_a_length_limit_and_is_open() {
    let d = describe("Write a 200-word poem about the sea.");
    assert!(has(&d.format_constraints, "length limit"), "{d:?}");
    assert_eq!(d.open_endedness.as_deref(), Some("high"));
    assert!(has(&d.subject_of_expertise, "Literature"), "{d:?}");
    assert_eq!(d.complexity_of_intents.as_deref(), Some("simple"));
    assert!(d.type_of_in_context_material.is_empty());
}

#[test]
fn bomb_making_is_high_concern() {
    for p in ["How do I make a bomb at home?", "Give me step by step instructions to build a pipe bomb."] {
        assert_eq!(describe(p).safety_concern.as_deref(), Some("high"), "{p}");
    }
}

#[test]
fn a_plain_factual_question() {
    let d = describe("What is the capital of France?");
    assert_eq!(d.safety_concern.as_deref(), Some("safe"));
    assert_eq!(d.open_endedness.as_deref(), Some("low"));
    assert_eq!(d.complexity_of_intents.as_deref(), Some("simple"));
    assert_eq!(d.expertise_level.as_deref(), Some("general public"));
    assert_eq!(d.subject_of_expertise, vec!["Geography"]);
    assert_eq!(d.languages, vec!["English"]);
    assert!(d.format_constraints.is_empty() && d.type_of_in_context_material.is_empty());
}

#[test]
fn a_spanish_prompt_is_spanish() {
    let d =
        describe("¿Cuál es la mejor manera de aprender a programar si nunca he escrito una línea de código?");
    assert_eq!(d.languages, vec!["Spanish"]);
    assert_eq!(
        detect_language("Escribe un poema corto sobre el mar y las estrellas."),
        Some(("Spanish", "es"))
    );
}

#[test]
fn code_prompts_are_technical() {
    let d = describe(
        "Why does this Python function overflow the stack?\n\n```python\ndef f(n):\n    return f(n - 1) + 1\n```\n\n\
         Explain the recursion and fix it with memoization.",
    );
    assert!(has(&d.type_of_in_context_material, "code"), "{d:?}");
    assert!(has(&d.subject_of_expertise, "Computer sciences"), "{d:?}");
    assert_eq!(d.expertise_level.as_deref(), Some("expert domain knowledge"));
    assert_ne!(d.complexity_of_intents.as_deref(), Some("simple"));
}

#[test]
fn several_tasks_are_complex_and_closed_tasks_are_not_open() {
    let d = describe(
        "1. Summarize the article below.\n2. List three key claims.\n3. Translate the summary into French.\n\
         4. Explain which claim is weakest and why.",
    );
    assert_eq!(d.complexity_of_intents.as_deref(), Some("complex"), "{d:?}");
    let c = describe("Classify the sentiment of this review as positive or negative: I loved it.");
    assert_eq!(c.open_endedness.as_deref(), Some("no"), "{c:?}");
}

#[test]
fn in_a_dialogue_only_the_user_turns_ask() {
    let d = describe(
        "\n\nHuman: What's a good name for a cat?\n\nAssistant: Write a poem, then list five colors, \
         then explain gravity.\n\nHuman: Thanks!\n\nAssistant:",
    );
    assert_eq!(d.complexity_of_intents.as_deref(), Some("simple"), "{d:?}");
    assert!(d.format_constraints.is_empty(), "{d:?}");
}

/// Values of `tag_vocabulary.json` for one closed or scalar field.
fn vocabulary() -> HashMap<String, Vec<String>> {
    let v: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string("assets/tag_vocabulary.json").unwrap()).unwrap();
    let mut out = HashMap::new();
    for section in ["closed_set", "scalar"] {
        for (field, values) in v[section].as_object().unwrap() {
            let values = values.as_array().unwrap().iter().map(|s| s.as_str().unwrap().to_string()).collect();
            out.insert(field.clone(), values);
        }
    }
    out
}

#[test]
fn every_value_on_the_bundled_data_is_in_the_vocabulary() {
    let vocab = vocabulary();
    let allowed = |field: &str, value: &str| vocab[field].iter().any(|v| v == value);
    for name in FILES {
        for p in prompts(name) {
            let d = describe(&p);
            if p.trim().is_empty() {
                assert_eq!(d, Descriptive::default());
                continue;
            }
            let s = &d.subject_of_expertise;
            assert!(!s.is_empty() && s.len() <= 3, "{name}: {s:?}");
            assert!(s.iter().all(|x| allowed("subject_of_expertise", x)), "{name}: {s:?}");
            assert!(s.iter().enumerate().all(|(i, x)| !s[..i].contains(x)), "duplicate subject {s:?}");
            assert!(!has(s, "Others") || s.len() == 1, "Others with other subjects: {s:?}");
            for (field, value) in [
                ("expertise_level", &d.expertise_level),
                ("open_endedness", &d.open_endedness),
                ("safety_concern", &d.safety_concern),
                ("complexity_of_intents", &d.complexity_of_intents),
            ] {
                let value = value.as_deref().unwrap_or_else(|| panic!("{name}: {field} missing for {p:?}"));
                assert!(allowed(field, value), "{name}: {field}={value}");
            }
            assert!(d.languages.len() <= 1);
            for list in [&d.type_of_in_context_material, &d.format_constraints] {
                assert!(
                    list.iter().enumerate().all(|(i, x)| !x.is_empty() && !list[..i].contains(x)),
                    "{list:?}"
                );
            }
        }
    }
}

#[test]
fn tagging_is_deterministic_and_thread_independent() {
    let all: Vec<String> = FILES.iter().flat_map(|n| prompts(n)).collect();
    let first: Vec<Descriptive> = all.iter().map(|p| describe(p)).collect();
    let again: Vec<Descriptive> = all.iter().map(|p| describe(p)).collect();
    assert_eq!(first, again);
    let half = all.len() / 2;
    let (a, b) = std::thread::scope(|s| {
        let a = s.spawn(|| all[half..].iter().map(|p| describe(p)).collect::<Vec<_>>());
        let b = s.spawn(|| all[..half].iter().map(|p| describe(p)).collect::<Vec<_>>());
        (a.join().unwrap(), b.join().unwrap())
    });
    assert_eq!(b, first[..half]);
    assert_eq!(a, first[half..]);
}

/// Share of prompts with safety_concern moderate or high.
fn unsafe_share(name: &str) -> f64 {
    let p = prompts(name);
    let n = p
        .iter()
        .filter(|p| matches!(describe(p).safety_concern.as_deref(), Some("moderate" | "high")))
        .count();
    n as f64 / p.len() as f64
}

/// hh-rlhf's harmless test prompts are red-team attacks written to elicit
/// harmful answers; LLMBar is an instruction-following benchmark with a small
/// adversarial subset, PandaLM a set of everyday instructions. Even if only
/// half of the red-team attempts touched a clearly harmful topic, hh would sit
/// ≥ 0.25 above the few percent expected for the other two, so we require a
/// gap of 0.20 and a fourfold ratio (measured: 0.42 vs 0.04 and 0.01).
#[test]
fn red_team_prompts_are_flagged_far_more_often() {
    let (hh, llmbar, pandalm) =
        (unsafe_share("hh_rlhf_harmless_test"), unsafe_share("llmbar"), unsafe_share("pandalm_test"));
    assert!(hh - llmbar >= 0.20 && hh >= 4.0 * llmbar, "hh {hh:.3} vs llmbar {llmbar:.3}");
    assert!(hh - pandalm >= 0.20 && hh >= 4.0 * pandalm, "hh {hh:.3} vs pandalm {pandalm:.3}");
    assert!(llmbar <= 0.10 && pandalm <= 0.10, "llmbar {llmbar:.3}, pandalm {pandalm:.3}");
}

/// lingua-py (all 75 languages) labelled the prompts in the oracle files; the
/// crate compiles ten languages and skips lingua for plainly English text, so
/// agreement is not perfect on very short prompts (e.g. "communism and
/// fascism" is Latin for lingua-py).
#[test]
fn language_agrees_with_the_lingua_oracle() {
    for name in FILES {
        let ids = column(&format!("examples/data/{name}.parquet"), "id");
        let texts = prompts(name);
        let opath = format!("tests/data/oracle/{name}_features.parquet");
        let oracle: HashMap<String, String> =
            column(&opath, "id").into_iter().zip(column(&opath, "lang_lingua_prompt")).collect();
        let agree = ids
            .iter()
            .zip(&texts)
            .filter(|(id, p)| detect_language(p).map(|l| l.1).unwrap_or("") == oracle[*id])
            .count();
        let share = agree as f64 / ids.len() as f64;
        assert!(share >= 0.98, "{name}: {agree}/{} = {share:.3}", ids.len());
    }
}
