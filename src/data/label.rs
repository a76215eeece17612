//! Preference labels: which completion is better, normalised from the many
//! vocabularies real datasets use.

/// A pairwise preference: completion A is better, B is better, or a tie.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Label {
    A,
    B,
    Tie,
}

impl Label {
    /// The normalised SQL spelling: `'A'`, `'B'` or `'tie'`.
    pub fn as_str(self) -> &'static str {
        match self {
            Label::A => "A",
            Label::B => "B",
            Label::Tie => "tie",
        }
    }

    /// Parses a label string, case-insensitively: `A`/`B`/`tie`, MultiPref's
    /// five-way labels (`A-is-clearly-better`, `A-is-slightly-better`, `Tie`, …),
    /// `A-is-better`, and the integers `-1`/`0`/`1` written as text (−1 = A).
    /// Surrounding whitespace is ignored. `None` means the value is not a label.
    pub fn parse(s: &str) -> Option<Label> {
        let s = s.trim().to_ascii_lowercase();
        match s.as_str() {
            "a" | "a-is-clearly-better" | "a-is-slightly-better" | "a-is-better" | "-1" => Some(Label::A),
            "b" | "b-is-clearly-better" | "b-is-slightly-better" | "b-is-better" | "1" | "+1" => {
                Some(Label::B)
            }
            "tie" | "0" => Some(Label::Tie),
            _ => None,
        }
    }

    /// Parses the integer encoding: −1 = A preferred, 0 = tie, +1 = B preferred.
    pub fn from_int(v: i64) -> Option<Label> {
        match v {
            -1 => Some(Label::A),
            0 => Some(Label::Tie),
            1 => Some(Label::B),
            _ => None,
        }
    }

    /// The label of the same judgement with A and B swapped.
    pub fn swapped(self) -> Label {
        match self {
            Label::A => Label::B,
            Label::B => Label::A,
            Label::Tie => Label::Tie,
        }
    }
}

/// The accepted spellings, for error hints.
pub const LABEL_HINT: &str = "labels must be 'A', 'B' or 'tie' (any case), MultiPref's five-way labels \
     ('A-is-clearly-better', 'A-is-slightly-better', 'Tie', 'B-is-slightly-better', 'B-is-clearly-better'), \
     or the integers -1 (A), 0 (tie), 1 (B); NULL means no label";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_every_vocabulary() {
        for (s, l) in [
            ("A", Label::A),
            ("a", Label::A),
            (" B ", Label::B),
            ("TIE", Label::Tie),
            ("Tie", Label::Tie),
            ("A-is-clearly-better", Label::A),
            ("a-is-slightly-better", Label::A),
            ("B-is-slightly-better", Label::B),
            ("B-IS-CLEARLY-BETTER", Label::B),
            ("b-is-better", Label::B),
            ("-1", Label::A),
            ("0", Label::Tie),
            ("1", Label::B),
        ] {
            assert_eq!(Label::parse(s), Some(l), "{s}");
        }
        for s in ["", "C", "maybe", "2", "A-is-much-better"] {
            assert_eq!(Label::parse(s), None, "{s}");
        }
        assert_eq!(Label::from_int(-1), Some(Label::A));
        assert_eq!(Label::from_int(0), Some(Label::Tie));
        assert_eq!(Label::from_int(1), Some(Label::B));
        assert_eq!(Label::from_int(2), None);
        assert_eq!(Label::A.swapped(), Label::B);
    }
}
