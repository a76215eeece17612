//! Budgets end to end: parsing a user value, resolving it against the data
//! size, and routing exactly that many instances with every strategy.

use prefroute::ppm::{Form, Model};
use prefroute::route::synthetic::{random_model, synthetic_tags};
use prefroute::route::{route, Budget, Strategy};

#[test]
fn every_strategy_routes_the_resolved_budget() {
    let tags = synthetic_tags(885, 21);
    let quadratic = random_model(Form::Quadratic, 50.0, 2);
    let prior = Model::paper_prior().dense();
    let strategies = [Strategy::TopK, Strategy::Simulated { n_simulations: 20, seed: 1 }, Strategy::Optimize];
    // 0.37 × 885 = 327.45 → 327; 0.5 × 885 = 442.5 → 443 (half away from zero); 1 → all.
    for (value, want) in [(0.37, 327), (0.5, 443), (1.0, 885), (0.0, 0), (2.0, 2), (600.0, 600)] {
        let budget = Budget::parse(value).unwrap();
        for strategy in strategies {
            for model in [&prior, &quadratic] {
                let r = route(&tags, model, budget, strategy, 2).unwrap();
                assert_eq!(r.n_human(), want, "{value} {strategy:?}");
                assert_eq!(r.human.len(), 885);
                let mut ranks = r.rank.clone();
                ranks.sort_unstable();
                assert_eq!(ranks, (1..=885).collect::<Vec<_>>(), "ranks are a permutation");
                assert!(r.human.iter().zip(&r.rank).all(|(h, k)| *h == (*k <= want)), "rank ≤ k ⟺ routed");
                assert_eq!(r.predicted, model.predict(&r.counts));
            }
        }
    }
}

#[test]
fn budgets_the_data_cannot_satisfy_are_errors() {
    let tags = synthetic_tags(100, 1);
    let model = Model::paper_prior().dense();
    let e =
        route(&tags, &model, Budget::parse(101.0).unwrap(), Strategy::Optimize, 1).unwrap_err().to_string();
    assert!(e.contains("101") && e.contains("100"), "{e}");
    for v in [f64::NAN, -0.5, 2.5, f64::INFINITY] {
        assert!(Budget::parse(v).is_err(), "{v}");
    }
}
