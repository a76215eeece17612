//! Tests of the model file format: exact round trips, atomic saves, the cache,
//! and one clear error per kind of bad file.

use super::*;
use crate::tags::Counts;

fn scratch_dir(test: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("prefroute-ppm-{test}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// A quadratic model over 3 tags in non-canonical order, with awkward floats.
fn sample_model() -> Model {
    Model {
        name: "sample".into(),
        form: Form::Quadratic,
        tags: vec![56, 0, 89],
        intercept: 1.0 / 3.0,
        linear: vec![-2.5e-300, 0.1 + 0.2, 7e22],
        quadratic: vec![(0, 0, 1e-17), (0, 2, -4.0), (1, 2, std::f64::consts::PI)],
        meta: serde_json::json!({ "source": "unit test", "n": 3 }),
    }
}

/// The JSON text of a valid linear model over two tags, with `edit` applied to the object.
fn linear_text(edit: impl FnOnce(&mut Map<String, Value>)) -> String {
    let mut v = serde_json::json!({
        "format": FORMAT, "form": "linear", "tags": [TAG_NAMES[3], TAG_NAMES[40]],
        "intercept": 0.6, "linear": [0.001, -0.002], "meta": {}
    });
    edit(v.as_object_mut().unwrap());
    v.to_string()
}

fn parse_err(text: &str) -> String {
    let e = Model::from_json(text, "m.json").unwrap_err();
    assert!(matches!(e, Error::Model { .. }), "{e:?}");
    e.to_string()
}

#[test]
fn round_trip_is_exact_and_keeps_column_order() {
    let m = sample_model();
    let text = m.to_json().unwrap();
    let back = Model::from_json(&text, "sample").unwrap();
    assert_eq!(back, m);
    let prior = Model::paper_prior();
    assert_eq!(Model::from_json(&prior.to_json().unwrap(), "paper-prior").unwrap(), prior);
    // Column k of the file is tag tags[k]: 0.5 + … with c56 = 2, c0 = 3, c89 = 0 by hand.
    let mut c: Counts = [0.0; N_TAGS];
    c[56] = 2.0;
    c[0] = 3.0;
    let want = 1.0 / 3.0 + (-2.5e-300 * 2.0) + (0.1 + 0.2) * 3.0 + 1e-17 * 4.0;
    assert!((back.predict(&c) - want).abs() < 1e-15);
    assert!(text.starts_with("{\n  \"format\": \"prefroute-ppm/1\""));
}

#[test]
fn save_is_atomic_and_overwrites() {
    let dir = scratch_dir("save");
    let path = dir.join("model.json");
    let mut m = sample_model();
    m.save_atomic(&path).unwrap();
    m.intercept = 0.25;
    m.save_atomic(&path).unwrap();
    let back = Model::load(&path).unwrap();
    assert_eq!(back.intercept, 0.25);
    let files: Vec<_> = std::fs::read_dir(&dir).unwrap().map(|e| e.unwrap().file_name()).collect();
    assert_eq!(files, vec![std::ffi::OsString::from("model.json")], "no temporary file left behind");
    assert!(matches!(m.save_atomic(dir.join("no/such/dir/m.json")), Err(Error::File { .. })));
    // A model that cannot be read back is not written at all.
    m.linear[1] = f64::NAN;
    assert!(matches!(m.save_atomic(dir.join("nan.json")), Err(Error::Model { .. })));
    assert!(!dir.join("nan.json").exists());
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn resolve_caches_and_reloads_on_change() {
    let dir = scratch_dir("resolve");
    let path = dir.join("m.json");
    let p = path.to_str().unwrap();
    let prior = resolve_model(PAPER_PRIOR).unwrap();
    assert_eq!(prior.name, "paper-prior");
    sample_model().save_atomic(&path).unwrap();
    let a = resolve_model(p).unwrap();
    let b = resolve_model(p).unwrap();
    assert!(Arc::ptr_eq(&a, &b), "second resolve is served from the cache");
    let mut m = sample_model();
    m.meta = serde_json::json!({ "a much longer note": "so that the file size changes" });
    m.save_atomic(&path).unwrap();
    let c = resolve_model(p).unwrap();
    assert!(!Arc::ptr_eq(&a, &c) && c.meta == m.meta, "a changed file is reloaded");
    std::fs::remove_file(&path).unwrap();
    assert!(resolve_model(p).unwrap_err().to_string().contains("cannot read the model file"));
    assert!(resolve_model("").is_err());
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn missing_and_truncated_files() {
    let e = Model::load("/nonexistent/prefroute/model.json").unwrap_err().to_string();
    assert!(e.contains("cannot read the model file") && e.contains("paper-prior"), "{e}");
    let text = sample_model().to_json().unwrap();
    let e = parse_err(&text[..text.len() / 2]);
    assert!(e.contains("ends early") && e.contains("truncated"), "{e}");
    assert!(parse_err("").contains("ends early"));
    assert!(parse_err("[1, 2]").contains("not an object"));
}

#[test]
fn format_version_and_fields() {
    let e = parse_err(&linear_text(|o| {
        o.insert("format".into(), "prefroute-ppm/2".into());
    }));
    assert!(e.contains("unknown model format version 'prefroute-ppm/2'") && e.contains("upgrade"), "{e}");
    assert!(parse_err(&linear_text(|o| {
        o.remove("format");
    }))
    .contains("no 'format' field"));
    assert!(parse_err(&linear_text(|o| {
        o.insert("format".into(), "sklearn".into());
    }))
    .contains("not a prefroute model file"));
    let e = parse_err(&linear_text(|o| {
        o.insert("quadratics".into(), Value::Array(vec![]));
    }));
    assert!(e.contains("unknown field(s) 'quadratics'"), "{e}");
    assert!(parse_err(&linear_text(|o| {
        o.insert("form".into(), "cubic".into());
    }))
    .contains("\"linear\" or \"quadratic\""));
    assert!(parse_err(&linear_text(|o| {
        o.insert("meta".into(), 3.into());
    }))
    .contains("'meta' must be a JSON object"));
    // Minimal valid file: no quadratic, no meta.
    let m = Model::from_json(
        &linear_text(|o| {
            o.remove("meta");
        }),
        "m",
    )
    .unwrap();
    assert_eq!((m.tags.clone(), m.linear.len(), m.quadratic.len()), (vec![3, 40], 2, 0));
}

#[test]
fn non_finite_coefficients() {
    // Python's json.dump writes these tokens for non-finite floats.
    for token in ["NaN", "Infinity", "-Infinity", "1e999"] {
        let text = linear_text(|_| {}).replace("-0.002", token);
        let e = parse_err(&text);
        assert!(e.contains("NaN or infinite") && e.contains("finite"), "{token}: {e}");
    }
    let e = parse_err(&linear_text(|o| {
        o.insert("intercept".into(), Value::Null);
    }));
    assert!(e.contains("intercept is null"), "{e}");
    assert!(parse_err(&linear_text(|o| {
        o.insert("linear".into(), serde_json::json!([0.1, "x"]));
    }))
    .contains("linear[1] must be a number"));
}

#[test]
fn wrong_shapes_and_indices() {
    let e = parse_err(&linear_text(|o| {
        o.insert("linear".into(), serde_json::json!([0.1, 0.2, 0.3]));
    }));
    assert!(e.contains("wrong number of linear coefficients: 3 for 2 tags"), "{e}");
    let quad = |q: Value| {
        linear_text(|o| {
            o.insert("form".into(), "quadratic".into());
            o.insert("quadratic".into(), q);
        })
    };
    assert!(parse_err(&quad(serde_json::json!([[1, 0, 0.5]]))).contains("has i > j"));
    let e = parse_err(&quad(serde_json::json!([[0, 2, 0.5]])));
    assert!(e.contains("indexes column 2, but there are only 2 tags"), "{e}");
    assert!(parse_err(&quad(serde_json::json!([[0, -1, 0.5]]))).contains("non-negative integers"));
    assert!(parse_err(&quad(serde_json::json!([[0, 1]]))).contains("not an [i, j, coef] triple"));
    assert!(parse_err(&quad(serde_json::json!([[0, 1, 0.5], [0, 1, 0.1]]))).contains("listed twice"));
    assert!(parse_err(&quad(serde_json::json!([[0, 1, null]]))).contains("is null"));
    let m = Model::from_json(&quad(serde_json::json!([[0, 1, 0.5], [1, 1, 0.1]])), "q").unwrap();
    assert_eq!(m.quadratic, vec![(0, 1, 0.5), (1, 1, 0.1)]);
    let e = parse_err(&linear_text(|o| {
        o.insert("quadratic".into(), serde_json::json!([[0, 1, 0.5]]));
    }));
    assert!(e.contains("a linear model with 1 quadratic terms"), "{e}");
}

#[test]
fn unknown_and_duplicate_tags() {
    let e = parse_err(&linear_text(|o| {
        o.insert(
            "tags".into(),
            serde_json::json!(["rouge::min_val=0.0|max_val=0.5", TAG_NAMES[1], "Chemistry"]),
        );
        o.insert("linear".into(), serde_json::json!([0.1, 0.2, 0.3]));
    }));
    assert!(e.contains("2 unknown tag name(s): 'rouge::min_val=0.0|max_val=0.5', 'Chemistry'"), "{e}");
    assert!(e.contains("canonical names"), "{e}");
    let e = parse_err(&linear_text(|o| {
        o.insert("tags".into(), serde_json::json!([TAG_NAMES[1], TAG_NAMES[1]]));
    }));
    assert!(e.contains("listed twice in 'tags'"), "{e}");
    assert!(parse_err(&linear_text(|o| {
        o.insert("tags".into(), serde_json::json!([1, 2]));
    }))
    .contains("not a tag name"));
}
