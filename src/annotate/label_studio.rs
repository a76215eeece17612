//! Label Studio: the import shape of a task and the reader of a JSON export.
//!
//! **Tasks.** One task per routed instance, in the shape Label Studio's import
//! takes as is (`POST /api/projects/{id}/import`, or a `tasks.json` file):
//! `{"data": {"id", "prompt", "completion_a", "completion_b"}, "predictions":
//! [{"model_version", "score", "result": [<a choices result>]}]}`. The
//! prediction is the judge's label on the shipped config's `preference`
//! choices (`A`, `B` or `tie`); an instance without an AI label gets no
//! prediction. `data.id` is the dataset's id: it survives the round trip and
//! is how labels find their instance again.
//!
//! **Exports.** [`parse_export`] reads `exportType=JSON` (a list of tasks, each
//! with `data` and `annotations`). A preference result is found by its `type`,
//! whatever the control is called:
//! * `choices` (the shipped config): `value.choices` is `["A"]`, `["B"]` or
//!   `["tie"]` (any case, as [`Label::parse`] reads labels);
//! * `pairwise` (Label Studio's own "Human Preference collection" template):
//!   `value.selected` is `left` (= A, the first Text of `toName`, which must
//!   show `$completion_a`) or `right` (= B). That control has no tie.
//!
//! Results of other types (a comment box, a rating) beside one preference
//! result are ignored. An annotation is *skipped* when it was cancelled
//! (`was_cancelled`, the Skip button) or has no result at all; skipped
//! annotations are counted in `n_skipped` and are not labels. Several
//! labelled annotations of one task become the **majority** label; when the
//! most-voted labels are equally frequent (1 A and 1 B, or 1 A and 1 tie), the
//! task's label is `tie`: the annotators did not agree on a preference, and a
//! tie is not a training pair (the hybrid dataset drops it). `agreement` is
//! the share of labelled annotations equal to that label. A task without a
//! labelled annotation is still a row, with no label (`human_pref` NULL).
//!
//! Errors, each naming the file, the task (by `data.id`, or Label Studio's
//! task id when that is missing), the offending value and a hint: a file that
//! is not a JSON list of tasks, a task without `data.id`, two tasks with the
//! same `data.id`, an annotation with no preference result or with two that
//! disagree, a choice or selection that is not a label.

use crate::data::Label;
use crate::error::{Error, Result};
use serde_json::Value;

/// The labelling config the tasks are made for (`assets/label_studio/pairwise.xml`).
pub const CONFIG_XML: &str = include_str!("../../assets/label_studio/pairwise.xml");

/// The `from_name` of the shipped config's preference control.
pub const FROM_NAME: &str = "preference";
/// The `to_name` of the shipped config's preference control.
pub const TO_NAME: &str = "prompt";

/// One task to import: a routed instance and the judge's label on it.
#[derive(Clone, Debug, PartialEq)]
pub struct Task {
    pub id: String,
    pub prompt: Option<String>,
    pub completion_a: Option<String>,
    pub completion_b: Option<String>,
    /// The judge's label as a pre-annotation; `None` when the instance has no AI label.
    pub prediction: Option<Prediction>,
}

/// The judge's label as Label Studio's `predictions[0]`.
#[derive(Clone, Debug, PartialEq)]
pub struct Prediction {
    /// Names the judge (Label Studio shows it beside the prediction).
    pub model_version: String,
    /// The judge's confidence in its label, 0–1; `None` when unknown.
    pub score: Option<f64>,
    /// The choice: `"A"`, `"B"` or `"tie"`.
    pub choice: &'static str,
}

impl Task {
    /// A task for one instance. `ai_confidence` must be within 0–1 (an error
    /// naming the row id otherwise); it is only used when there is an AI label.
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        id: String,
        prompt: Option<String>,
        completion_a: Option<String>,
        completion_b: Option<String>,
        ai_pref: Option<Label>,
        ai_confidence: Option<f64>,
        model_version: &str,
        source: (&str, &str),
    ) -> Result<Task> {
        if let Some(c) = ai_confidence {
            if !(0.0..=1.0).contains(&c) {
                return Err(Error::Value {
                    path: source.0.to_string(),
                    column: source.1.to_string(),
                    id,
                    value: c.to_string(),
                    message: "a confidence must be between 0 and 1".into(),
                    hint: "scale the column to 0–1 in SQL and write a new file".into(),
                });
            }
        }
        let prediction = ai_pref.map(|l| Prediction {
            model_version: model_version.to_string(),
            score: ai_confidence,
            choice: l.as_str(),
        });
        Ok(Task { id, prompt, completion_a, completion_b, prediction })
    }

    /// The task as Label Studio's import JSON (what `COPY … (FORMAT json)` writes for its row).
    pub fn to_json(&self) -> Value {
        let predictions: Vec<Value> = self
            .prediction
            .iter()
            .map(|p| {
                serde_json::json!({
                    "model_version": p.model_version,
                    "score": p.score,
                    "result": [{
                        "from_name": FROM_NAME,
                        "to_name": TO_NAME,
                        "type": "choices",
                        "value": {"choices": [p.choice]},
                    }],
                })
            })
            .collect();
        serde_json::json!({
            "data": {
                "id": self.id,
                "prompt": self.prompt,
                "completion_a": self.completion_a,
                "completion_b": self.completion_b,
            },
            "predictions": predictions,
        })
    }
}

/// The human label of one task of an export.
#[derive(Clone, Debug, PartialEq)]
pub struct TaskLabel {
    /// The dataset id (`data.id`).
    pub id: String,
    /// Label Studio's own task id, when the export has it.
    pub task_id: Option<i64>,
    /// The majority label; `None` when no annotation labelled the task.
    pub human_pref: Option<Label>,
    /// Who labelled it (`completed_by`), in export order, without repeats.
    pub annotators: Vec<String>,
    /// Labelled annotations (skipped ones not counted).
    pub n_annotations: usize,
    /// Skipped annotations: cancelled, or with an empty result.
    pub n_skipped: usize,
    /// Seconds spent on the labelled annotations (sum of `lead_time`); `None` when none reported one.
    pub lead_time: Option<f64>,
    /// Share of labelled annotations equal to `human_pref`; `None` without any.
    pub agreement: Option<f64>,
}

/// Reads a Label Studio JSON export (`exportType=JSON`); `path` is for messages.
/// One [`TaskLabel`] per task, in export order.
pub fn parse_export(text: &str, path: &str) -> Result<Vec<TaskLabel>> {
    let root: Value = serde_json::from_str(text).map_err(|e| {
        Error::file(
            path,
            format!("is not JSON: {e}"),
            "export the project with exportType=JSON (Export > JSON in the UI)",
        )
    })?;
    let Value::Array(tasks) = root else {
        return Err(Error::file(
            path,
            format!("is JSON but not a list of tasks (it is {})", kind(&root)),
            "export the project with exportType=JSON, which writes a list of tasks",
        ));
    };
    let mut labels: Vec<TaskLabel> = Vec::with_capacity(tasks.len());
    let mut seen: std::collections::HashMap<String, usize> = std::collections::HashMap::new();
    for (n, task) in tasks.iter().enumerate() {
        let label = parse_task(task, n, path)?;
        if let Some(&first) = seen.get(&label.id) {
            return Err(Error::Value {
                path: path.to_string(),
                column: "data.id".into(),
                id: label.id.clone(),
                value: format!(
                    "tasks {} and {}",
                    task_name(labels[first].task_id, first),
                    task_name(label.task_id, n)
                ),
                message: "two tasks have the same data.id".into(),
                hint:
                    "import each instance once per project (or remove the duplicate task in Label Studio), \
                       then export again"
                        .into(),
            });
        }
        seen.insert(label.id.clone(), labels.len());
        labels.push(label);
    }
    Ok(labels)
}

fn kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "a list",
        Value::Object(_) => "an object",
    }
}

/// How a task is named when its `data.id` is unknown: Label Studio's id, else its position.
fn task_name(task_id: Option<i64>, position: usize) -> String {
    match task_id {
        Some(t) => format!("#{t}"),
        None => format!("at position {position}"),
    }
}

/// A short rendering of a JSON value for messages.
fn shown(v: &Value) -> String {
    let s = v.to_string();
    if s.chars().count() > 80 {
        format!("{}…", s.chars().take(80).collect::<String>())
    } else {
        s
    }
}

fn parse_task(task: &Value, position: usize, path: &str) -> Result<TaskLabel> {
    let task_id = task.get("id").and_then(Value::as_i64);
    let name = task_name(task_id, position);
    let err = |column: &str, id: &str, value: String, message: &str, hint: &str| Error::Value {
        path: path.to_string(),
        column: column.to_string(),
        id: id.to_string(),
        value,
        message: message.to_string(),
        hint: hint.to_string(),
    };
    let Value::Object(_) = task else {
        return Err(err(
            "task",
            &format!("task {name}"),
            shown(task),
            "a task must be a JSON object",
            "export the project with exportType=JSON",
        ));
    };
    let id = match task.get("data").and_then(|d| d.get("id")) {
        Some(Value::String(s)) if !s.is_empty() => s.clone(),
        Some(Value::Number(x)) => x.to_string(),
        other => {
            return Err(err(
                "data.id",
                &format!("task {name}"),
                other.map_or("missing".to_string(), shown),
                "the task has no dataset id",
                "import tasks written by label_studio_tasks(), which puts the dataset id in data.id; \
                 exportType=JSON_MIN replaces it with Label Studio's task id: use exportType=JSON",
            ))
        }
    };
    let annotations = match task.get("annotations") {
        Some(Value::Array(a)) => a.as_slice(),
        other => {
            return Err(err(
                "annotations",
                &id,
                other.map_or("missing".to_string(), shown),
                "the task has no list of annotations",
                "export the project with exportType=JSON (JSON_MIN and CSV have no annotation lists)",
            ))
        }
    };
    let mut votes: Vec<Label> = Vec::new();
    let mut annotators: Vec<String> = Vec::new();
    let mut lead_time: Option<f64> = None;
    let mut n_skipped = 0;
    for (k, a) in annotations.iter().enumerate() {
        let column = format!("annotations[{k}]");
        let cancelled = a.get("was_cancelled").and_then(Value::as_bool).unwrap_or(false);
        let result = match a.get("result") {
            Some(Value::Array(r)) => r.as_slice(),
            None | Some(Value::Null) => &[],
            Some(other) => {
                return Err(err(
                    &format!("{column}.result"),
                    &id,
                    shown(other),
                    "an annotation's result must be a list",
                    "export the project with exportType=JSON",
                ))
            }
        };
        if cancelled || result.is_empty() {
            n_skipped += 1;
            continue;
        }
        let mut label: Option<Label> = None;
        let mut types: Vec<String> = Vec::new();
        for (r, item) in result.iter().enumerate() {
            let rcol = format!("{column}.result[{r}]");
            let ty = item.get("type").and_then(Value::as_str).unwrap_or("");
            types.push(format!("'{ty}'"));
            let this = match ty {
                "choices" => {
                    let choices = item.get("value").and_then(|v| v.get("choices"));
                    match choices.and_then(Value::as_array).map(Vec::as_slice) {
                        Some([Value::String(c)]) => Label::parse(c).ok_or_else(|| {
                            err(
                                &format!("{rcol}.value.choices"),
                                &id,
                                format!("'{c}'"),
                                "the choice is not a preference label",
                                "use the shipped config (assets/label_studio/pairwise.xml), whose choices \
                                 are A, B and tie",
                            )
                        })?,
                        _ => return Err(err(
                            &format!("{rcol}.value.choices"),
                            &id,
                            choices.map_or("missing".to_string(), shown),
                            "a preference needs exactly one choice",
                            "make the Choices control single-choice (choice=\"single-radio\"), as in the \
                                 shipped config",
                        )),
                    }
                }
                "pairwise" => {
                    let selected = item.get("value").and_then(|v| v.get("selected"));
                    match selected.and_then(Value::as_str) {
                        Some("left") => Label::A,
                        Some("right") => Label::B,
                        _ => return Err(err(
                            &format!("{rcol}.value.selected"),
                            &id,
                            selected.map_or("missing".to_string(), shown),
                            "a pairwise result must select 'left' or 'right'",
                            "export a project labelled with the Pairwise control, or use the shipped config",
                        )),
                    }
                }
                _ => continue,
            };
            match label {
                Some(l) if l != this => {
                    return Err(err(
                        &rcol,
                        &id,
                        format!("{} and {}", l.as_str(), this.as_str()),
                        "one annotation holds two preference results that disagree",
                        "keep one preference control in the labelling config",
                    ))
                }
                _ => label = Some(this),
            }
        }
        let Some(label) = label else {
            return Err(err(
                &format!("{column}.result"),
                &id,
                format!("result types {}", types.join(", ")),
                "the annotation has no preference result (of type 'choices' or 'pairwise')",
                "label with the shipped config (assets/label_studio/pairwise.xml) or Label Studio's Pairwise \
                 template",
            ));
        };
        votes.push(label);
        if let Some(who) = annotator(a.get("completed_by")) {
            if !annotators.contains(&who) {
                annotators.push(who);
            }
        }
        if let Some(t) = a.get("lead_time").and_then(Value::as_f64) {
            *lead_time.get_or_insert(0.0) += t;
        }
    }
    let (human_pref, agreement) = majority(&votes);
    Ok(TaskLabel {
        id,
        task_id,
        human_pref,
        annotators,
        n_annotations: votes.len(),
        n_skipped,
        lead_time,
        agreement,
    })
}

/// `completed_by` as text: a user id, or (in some exports) an object with an email or id.
fn annotator(v: Option<&Value>) -> Option<String> {
    match v? {
        Value::Number(n) => Some(n.to_string()),
        Value::String(s) => Some(s.clone()),
        Value::Object(o) => o
            .get("email")
            .and_then(Value::as_str)
            .map(str::to_string)
            .or_else(|| o.get("id").map(|i| i.to_string())),
        _ => None,
    }
}

/// The majority label and the share of votes equal to it; `tie` when the
/// most-voted labels are equally frequent.
pub fn majority(votes: &[Label]) -> (Option<Label>, Option<f64>) {
    if votes.is_empty() {
        return (None, None);
    }
    let count = |l: Label| votes.iter().filter(|v| **v == l).count();
    let counts = [(Label::A, count(Label::A)), (Label::B, count(Label::B)), (Label::Tie, count(Label::Tie))];
    let top = counts.iter().map(|c| c.1).max().unwrap_or(0);
    let leaders: Vec<Label> = counts.iter().filter(|c| c.1 == top).map(|c| c.0).collect();
    let label = if leaders.len() == 1 { leaders[0] } else { Label::Tie };
    (Some(label), Some(count(label) as f64 / votes.len() as f64))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn one(text: &str) -> Result<Vec<TaskLabel>> {
        parse_export(text, "export.json")
    }

    fn choice(c: &str) -> String {
        format!(
            r#"{{"from_name":"preference","to_name":"prompt","type":"choices","value":{{"choices":["{c}"]}}}}"#
        )
    }

    #[test]
    fn majority_and_its_ties() {
        use Label::*;
        assert_eq!(majority(&[]), (None, None));
        assert_eq!(majority(&[A]), (Some(A), Some(1.0)));
        assert_eq!(majority(&[A, B, A]), (Some(A), Some(2.0 / 3.0)));
        assert_eq!(majority(&[A, B]), (Some(Tie), Some(0.0)));
        assert_eq!(majority(&[A, Tie]), (Some(Tie), Some(0.5)));
        assert_eq!(majority(&[Tie, Tie, B]), (Some(Tie), Some(2.0 / 3.0)));
    }

    #[test]
    fn reads_choices_pairwise_skips_and_annotators() {
        let text = format!(
            r#"[{{"id": 7, "data": {{"id": "x1"}}, "annotations": [
                 {{"completed_by": 1, "lead_time": 2.5, "was_cancelled": false, "result": [{a}]}},
                 {{"completed_by": 2, "lead_time": 1.5, "result": [{{"type":"pairwise","value":{{"selected":"left"}}}}]}},
                 {{"completed_by": 3, "was_cancelled": true, "result": []}},
                 {{"completed_by": 1, "result": [{b}, {{"type":"textarea","value":{{"text":["meh"]}}}}]}}]}},
               {{"id": 8, "data": {{"id": 42}}, "annotations": [{{"completed_by": 4, "was_cancelled": true, "result": []}}]}}]"#,
            a = choice("A"),
            b = choice("b")
        );
        let got = one(&text).unwrap();
        assert_eq!(got.len(), 2);
        let t = &got[0];
        assert_eq!((t.id.as_str(), t.task_id, t.human_pref), ("x1", Some(7), Some(Label::A)));
        assert_eq!((t.n_annotations, t.n_skipped, t.lead_time), (3, 1, Some(4.0)));
        assert_eq!(t.annotators, vec!["1", "2"]);
        assert_eq!(t.agreement, Some(2.0 / 3.0));
        let t = &got[1];
        assert_eq!((t.id.as_str(), t.human_pref, t.n_annotations, t.n_skipped), ("42", None, 0, 1));
        assert_eq!((t.lead_time, t.agreement), (None, None));
    }

    #[test]
    fn bad_exports_are_errors_naming_the_task() {
        let cases: Vec<(String, &str)> = vec![
            ("{}".into(), "not a list of tasks (it is an object)"),
            ("[1".into(), "is not JSON"),
            (r#"[{"id": 3, "data": {}, "annotations": []}]"#.into(), "row id 'task #3'"),
            (r#"[{"data": {"id": "a"}}]"#.into(), "no list of annotations"),
            (
                r#"[{"id":1,"data":{"id":"a"},"annotations":[]},{"id":2,"data":{"id":"a"},"annotations":[]}]"#.into(),
                "two tasks have the same data.id (value: tasks #1 and #2)",
            ),
            (
                format!(r#"[{{"data":{{"id":"a"}},"annotations":[{{"result":[{}]}}]}}]"#, choice("maybe")),
                "row id 'a': the choice is not a preference label (value: 'maybe')",
            ),
            (
                r#"[{"data":{"id":"a"},"annotations":[{"result":[{"type":"rating","value":{"rating":3}}]}]}]"#
                    .into(),
                "no preference result (of type 'choices' or 'pairwise') (value: result types 'rating')",
            ),
            (
                r#"[{"data":{"id":"a"},"annotations":[{"result":[{"type":"pairwise","value":{"selected":"up"}}]}]}]"#
                    .into(),
                "must select 'left' or 'right' (value: \"up\")",
            ),
            (
                format!(r#"[{{"data":{{"id":"a"}},"annotations":[{{"result":[{},{}]}}]}}]"#, choice("A"), choice("B")),
                "two preference results that disagree",
            ),
        ];
        for (text, want) in cases {
            let e = one(&text).unwrap_err().to_string();
            assert!(e.contains(want) && e.contains("export.json"), "{text}\n→ {e}");
        }
    }

    #[test]
    fn tasks_carry_the_judge_label_and_reject_bad_confidence() {
        let t = Task::new(
            "i1".into(),
            Some("p".into()),
            Some("a".into()),
            Some("b".into()),
            Some(Label::B),
            Some(0.75),
            "gpt-4",
            ("f.parquet", "ai_confidence"),
        )
        .unwrap();
        let j = t.to_json();
        assert_eq!(j["data"]["id"], "i1");
        assert_eq!(j["predictions"][0]["result"][0]["value"]["choices"][0], "B");
        assert_eq!(j["predictions"][0]["score"], 0.75);
        assert_eq!(j["predictions"][0]["model_version"], "gpt-4");
        let none = Task::new("i2".into(), None, None, None, None, Some(0.5), "j", ("f", "c")).unwrap();
        assert_eq!(none.to_json()["predictions"], serde_json::json!([]));
        let e =
            Task::new("i3".into(), None, None, None, Some(Label::A), Some(1.5), "j", ("f.parquet", "conf"))
                .unwrap_err()
                .to_string();
        assert!(e.contains("column 'conf', row id 'i3'") && e.contains("between 0 and 1"), "{e}");
    }

    #[test]
    fn the_shipped_config_has_the_names_the_tasks_use() {
        for needle in [
            r#"name="preference""#,
            r#"toName="prompt""#,
            r#"value="$prompt""#,
            r#"value="$completion_a""#,
            r#"value="$completion_b""#,
            r#"<Choice value="A""#,
            r#"<Choice value="B""#,
            r#"<Choice value="tie""#,
        ] {
            assert!(CONFIG_XML.contains(needle), "{needle}");
        }
        // A tie from the UI reads back as a tie.
        let text = format!(r#"[{{"data":{{"id":"a"}},"annotations":[{{"result":[{}]}}]}}]"#, choice("tie"));
        assert_eq!(one(&text).unwrap()[0].human_pref, Some(Label::Tie));
    }
}
