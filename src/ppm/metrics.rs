//! How well predicted scores match the observed ones: the paper's Table 2
//! metrics (RMSE, Spearman ρ) plus R².

use serde::Serialize;

/// Fit quality of predictions against observed targets.
#[derive(Clone, Copy, Debug, PartialEq, Serialize)]
pub struct Metrics {
    /// Root mean squared error, in target units.
    pub rmse: f64,
    /// Coefficient of determination `1 − SS_res/SS_tot` (NaN when the targets are constant).
    pub r2: f64,
    /// Spearman rank correlation, ties given their average rank (NaN when either side is constant).
    pub spearman: f64,
}

impl Metrics {
    /// Metrics of `predicted` against `observed` (same length, at least one row).
    pub fn of(observed: &[f64], predicted: &[f64]) -> Metrics {
        debug_assert_eq!(observed.len(), predicted.len());
        let n = observed.len() as f64;
        let ss_res: f64 = observed.iter().zip(predicted).map(|(y, p)| (y - p) * (y - p)).sum();
        let mean = observed.iter().sum::<f64>() / n;
        let ss_tot: f64 = observed.iter().map(|y| (y - mean) * (y - mean)).sum();
        let r2 = if ss_tot > 0.0 { 1.0 - ss_res / ss_tot } else { f64::NAN };
        Metrics { rmse: (ss_res / n).sqrt(), r2, spearman: spearman(observed, predicted) }
    }

    /// As a JSON object (NaN becomes null).
    pub fn to_json(&self) -> serde_json::Value {
        serde_json::json!({ "rmse": self.rmse, "r2": self.r2, "spearman": self.spearman })
    }
}

/// Spearman's ρ: the Pearson correlation of the (average-tie) ranks.
pub fn spearman(a: &[f64], b: &[f64]) -> f64 {
    pearson(&ranks(a), &ranks(b))
}

/// 1-based ranks, tied values sharing their average rank (scipy `rankdata(method="average")`).
fn ranks(x: &[f64]) -> Vec<f64> {
    let mut order: Vec<usize> = (0..x.len()).collect();
    order.sort_by(|&i, &j| x[i].total_cmp(&x[j]));
    let mut r = vec![0.0; x.len()];
    let mut start = 0;
    while start < order.len() {
        let mut end = start + 1;
        while end < order.len() && x[order[end]] == x[order[start]] {
            end += 1;
        }
        // Positions start..end (0-based) share the mean of ranks start+1..=end.
        let avg = (start + end + 1) as f64 / 2.0;
        for &i in &order[start..end] {
            r[i] = avg;
        }
        start = end;
    }
    r
}

fn pearson(a: &[f64], b: &[f64]) -> f64 {
    let n = a.len() as f64;
    let (ma, mb) = (a.iter().sum::<f64>() / n, b.iter().sum::<f64>() / n);
    let (mut sab, mut saa, mut sbb) = (0.0, 0.0, 0.0);
    for (x, y) in a.iter().zip(b) {
        sab += (x - ma) * (y - mb);
        saa += (x - ma) * (x - ma);
        sbb += (y - mb) * (y - mb);
    }
    if saa == 0.0 || sbb == 0.0 {
        return f64::NAN;
    }
    sab / (saa * sbb).sqrt()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hand_computed_metrics() {
        // observed 1,2,3,4; predicted 1,3,2,4: residuals 0,-1,1,0 → MSE 0.5, SS_tot 5, R² 1 − 2/5.
        let m = Metrics::of(&[1.0, 2.0, 3.0, 4.0], &[1.0, 3.0, 2.0, 4.0]);
        assert!((m.rmse - 0.5f64.sqrt()).abs() < 1e-15);
        assert!((m.r2 - 0.6).abs() < 1e-15);
        // Rank differences 0,1,1,0: ρ = 1 − 6·2/(4·15) = 0.8.
        assert!((m.spearman - 0.8).abs() < 1e-15);
    }

    #[test]
    fn ties_get_average_ranks_and_constants_give_nan() {
        assert_eq!(ranks(&[10.0, 20.0, 10.0, 30.0]), vec![1.5, 3.0, 1.5, 4.0]);
        let m = Metrics::of(&[2.0, 2.0, 2.0], &[1.0, 2.0, 3.0]);
        assert!(m.r2.is_nan() && m.spearman.is_nan());
        assert!((m.rmse - (2.0f64 / 3.0).sqrt()).abs() < 1e-15);
    }
}
