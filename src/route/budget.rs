//! The routing budget: how many instances go to human annotators.
//!
//! A budget is given as one number, with the paper's convention (SPEC §4):
//! a value in `[0, 1]` is a fraction of the instances, an integer greater
//! than 1 is an absolute count. A literal `1` therefore means *all*
//! instances, not one instance.

use crate::error::{Error, Result};

/// Largest count accepted: every integer up to 2^53 is exact in an `f64`.
const MAX_EXACT_COUNT: f64 = 9_007_199_254_740_992.0;

const BUDGET_HINT: &str = "give a fraction of the instances in [0, 1] (0.37 = 37%, 1 = all) \
     or a whole number of instances greater than 1 (500)";

/// How many instances to route to humans.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Budget {
    /// A fraction of the instances, in `[0, 1]`.
    Fraction(f64),
    /// An absolute number of instances.
    Count(u64),
}

impl Budget {
    /// Reads a user-given budget: `[0, 1]` → fraction, an integer > 1 → count.
    pub fn parse(value: f64) -> Result<Budget> {
        if value.is_nan() {
            return Err(Error::argument("the budget is NaN", BUDGET_HINT));
        }
        if value.is_infinite() {
            return Err(Error::argument(format!("the budget is {value}"), BUDGET_HINT));
        }
        if value < 0.0 {
            return Err(Error::argument(format!("the budget {value} is negative"), BUDGET_HINT));
        }
        if value <= 1.0 {
            // -0.0 compares equal to 0.0 and lands here; normalise it.
            return Ok(Budget::Fraction(value.max(0.0)));
        }
        if value.fract() != 0.0 {
            return Err(Error::argument(
                format!("the budget {value} is greater than 1 but not a whole number of instances"),
                BUDGET_HINT,
            ));
        }
        if value > MAX_EXACT_COUNT {
            return Err(Error::argument(
                format!("the budget {value} is too large to be a count"),
                BUDGET_HINT,
            ));
        }
        Ok(Budget::Count(value as u64))
    }

    /// The number of instances to route among `n_instances`.
    ///
    /// A fraction `f` gives `round(f × n)`, rounding half away from zero
    /// (`0.37 × 885 = 327.45 → 327`, `0.5 × 885 = 442.5 → 443`). The product
    /// is computed in `f64`. The paper's code uses `int(N*b)`, i.e. the floor
    /// (`442` in the second example), which also turns float noise such as
    /// `0.29 × 100 = 28.999999999999996` into `28`; rounding avoids that. The
    /// two rules differ by at most one instance. A count larger than
    /// `n_instances` is an error.
    pub fn resolve(&self, n_instances: usize) -> Result<usize> {
        match *self {
            Budget::Fraction(f) => {
                if !(0.0..=1.0).contains(&f) {
                    return Err(Error::argument(
                        format!("the budget fraction {f} is outside [0, 1]"),
                        BUDGET_HINT,
                    ));
                }
                let k = (f * n_instances as f64).round();
                // f ≤ 1 keeps k ≤ n; the min guards against any float surprise.
                Ok((k as usize).min(n_instances))
            }
            Budget::Count(c) => {
                if c > n_instances as u64 {
                    Err(Error::argument(
                        format!("the budget of {c} instances is more than the {n_instances} instances in the data"),
                        format!("give at most {n_instances}, or a fraction such as 0.5"),
                    ))
                } else {
                    Ok(c as usize)
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fractions_and_counts_follow_the_papers_convention() {
        assert_eq!(Budget::parse(0.0).unwrap(), Budget::Fraction(0.0));
        assert_eq!(Budget::parse(-0.0).unwrap(), Budget::Fraction(0.0));
        assert_eq!(Budget::parse(0.37).unwrap(), Budget::Fraction(0.37));
        assert_eq!(Budget::parse(1.0).unwrap(), Budget::Fraction(1.0), "1 means 100%");
        assert_eq!(Budget::parse(2.0).unwrap(), Budget::Count(2));
        assert_eq!(Budget::parse(500.0).unwrap(), Budget::Count(500));
    }

    #[test]
    fn invalid_budgets_are_errors_with_a_hint() {
        for v in [f64::NAN, f64::INFINITY, f64::NEG_INFINITY, -0.1, -3.0, 1.5, 100.25, 1e300] {
            let e = Budget::parse(v).unwrap_err().to_string();
            assert!(e.contains("Hint: give a fraction"), "{v}: {e}");
        }
        assert!(Budget::parse(1.5).unwrap_err().to_string().contains("not a whole number"));
        assert!(Budget::parse(-1.0).unwrap_err().to_string().contains("negative"));
    }

    #[test]
    fn fractions_round_half_away_from_zero() {
        // 0.37 × 885 = 327.45 (the acceptance case); floor agrees here.
        assert_eq!(Budget::Fraction(0.37).resolve(885).unwrap(), 327);
        // 0.5 × 885 = 442.5: rounding gives 443 where the paper's int() gives 442.
        assert_eq!(Budget::Fraction(0.5).resolve(885).unwrap(), 443);
        // 0.29 × 100 is 28.999999999999996 in f64: int() would give 28.
        assert_eq!(Budget::Fraction(0.29).resolve(100).unwrap(), 29);
        assert_eq!(Budget::Fraction(1.0).resolve(885).unwrap(), 885);
        assert_eq!(Budget::Fraction(0.0).resolve(885).unwrap(), 0);
        assert_eq!(Budget::Fraction(0.0004).resolve(885).unwrap(), 0); // 0.354
        assert_eq!(Budget::Fraction(0.3).resolve(0).unwrap(), 0);
        assert!(Budget::Fraction(1.2).resolve(10).is_err());
    }

    #[test]
    fn counts_above_the_data_size_name_both_numbers() {
        assert_eq!(Budget::Count(885).resolve(885).unwrap(), 885);
        assert_eq!(Budget::Count(0).resolve(3).unwrap(), 0);
        let e = Budget::Count(900).resolve(885).unwrap_err().to_string();
        assert!(e.contains("900") && e.contains("885"), "{e}");
    }
}
