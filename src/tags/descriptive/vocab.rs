//! The values each descriptive field may take. The closed and scalar sets are
//! the paper's (`assets/tag_vocabulary.json`, checked by a test); the open sets
//! are ours, since the paper's analyzer wrote free text there.

/// `subject_of_expertise` values, in the paper's PPM order; "Others" is the fallback.
pub const SUBJECTS: [&str; 46] = [
    "Anthropology",
    "History",
    "Linguistics and language",
    "Philosophy",
    "Religion",
    "Economics",
    "Geography",
    "Political science",
    "Psychology",
    "Sociology",
    "Biology",
    "Chemistry",
    "Earth sciences",
    "Physics",
    "Space sciences",
    "Computer sciences",
    "Logic",
    "System science",
    "Agriculture",
    "Architecture and design",
    "Business",
    "Divinity",
    "Education",
    "Chemical engineering",
    "Civil engineering",
    "Electrical engineering",
    "Materials science and engineering",
    "Mechanical engineering",
    "Environmental studies and forestry",
    "Family and consumer science",
    "Human physical performance and recreation",
    "Journalism",
    "Media studies and communication",
    "Law",
    "Library and museum studies",
    "Medicine and health",
    "Military sciences",
    "Social work",
    "Transportation",
    "Culinary arts",
    "Literature",
    "Performing arts",
    "Visual arts",
    "Mathematics",
    "Public administration",
    "Others",
];

/// Index of "Others" in [`SUBJECTS`].
pub const OTHERS: usize = 45;

/// `expertise_level` values, lowest first.
pub const EXPERTISE_LEVELS: [&str; 3] =
    ["general public", "basic domain knowledge", "expert domain knowledge"];

/// `open_endedness` values, lowest first.
pub const OPEN_ENDEDNESS: [&str; 4] = ["no", "low", "moderate", "high"];

/// `safety_concern` values, lowest first.
pub const SAFETY_LEVELS: [&str; 4] = ["safe", "low", "moderate", "high"];

/// `complexity_of_intents` values, lowest first.
pub const COMPLEXITY_LEVELS: [&str; 3] = ["simple", "moderate", "complex"];

/// Harm categories of the safety lexicon (`harm.txt` section names).
pub const HARM_CATEGORIES: [&str; 10] = [
    "violence",
    "self-harm",
    "drugs",
    "hacking",
    "fraud",
    "sexual",
    "hate",
    "extremism",
    "privacy",
    "dangerous-chemistry",
];

/// `format_constraints` values we emit, in output order.
pub const FORMAT_NAMES: [&str; 17] = [
    "length limit",
    "item count",
    "list",
    "table",
    "json",
    "code",
    "style",
    "language",
    "markdown",
    "structure",
    "keywords",
    "case",
    "answer only",
    "csv",
    "yaml",
    "xml",
    "html",
];

/// Positions in [`FORMAT_NAMES`] of the constraints found by rules rather than phrases.
pub(crate) const F_LENGTH: usize = 0;
pub(crate) const F_ITEM_COUNT: usize = 1;
pub(crate) const F_LIST: usize = 2;
pub(crate) const F_CODE: usize = 5;

/// `type_of_in_context_material` values we emit, in output order.
pub const MATERIAL_NAMES: [&str; 11] =
    ["code", "json", "html", "xml", "table", "csv", "url", "options", "math", "quoted document", "text"];

#[cfg(test)]
mod tests {
    use super::*;

    fn json_list(v: &serde_json::Value, section: &str, field: &str) -> Vec<String> {
        v[section][field].as_array().unwrap().iter().map(|s| s.as_str().unwrap().to_string()).collect()
    }

    #[test]
    fn closed_and_scalar_sets_equal_the_paper_vocabulary_file() {
        let v: serde_json::Value =
            serde_json::from_str(include_str!("../../../assets/tag_vocabulary.json")).unwrap();
        assert_eq!(json_list(&v, "closed_set", "subject_of_expertise"), SUBJECTS);
        assert_eq!(SUBJECTS[OTHERS], "Others");
        assert_eq!(json_list(&v, "scalar", "expertise_level"), EXPERTISE_LEVELS);
        assert_eq!(json_list(&v, "scalar", "open_endedness"), OPEN_ENDEDNESS);
        assert_eq!(json_list(&v, "scalar", "safety_concern"), SAFETY_LEVELS);
        assert_eq!(json_list(&v, "scalar", "complexity_of_intents"), COMPLEXITY_LEVELS);
        assert_eq!(json_list(&v, "closed_set", "languages"), ["English"]);
    }

    #[test]
    fn rule_based_format_positions_name_the_right_constraint() {
        assert_eq!(FORMAT_NAMES[F_LENGTH], "length limit");
        assert_eq!(FORMAT_NAMES[F_ITEM_COUNT], "item count");
        assert_eq!(FORMAT_NAMES[F_LIST], "list");
        assert_eq!(FORMAT_NAMES[F_CODE], "code");
    }
}
