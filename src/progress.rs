//! A progress line on stderr for long work: which stage a function is in, how
//! many rows of how many are done, the rate and the time left.
//!
//! DuckDB draws its own progress bar only for work it can see, and the C API an
//! extension like this one is built on cannot feed it (DuckDB issue #25199): an
//! hour of embedding inside one table function would be silent. So prefroute
//! draws its own line, on stderr only (stdout is the query's result in the CLI
//! and in scripts), and only when asked: `progress := true` on a function, or
//! `PREFROUTE_PROGRESS=1` in the environment for every function.
//!
//! ```text
//! prefroute tag_instances: pass 2 tags 1,536/8,790 rows (17 %), 12.3 rows/s, ETA 9m49s
//! ```
//!
//! On a terminal the line is redrawn in place (at most ten times a second) and
//! ends with a newline when the stage ends; anywhere else (a log file, a pipe, a
//! notebook's captured stderr) one line is written per 10 % of the stage, so a
//! log gets at most eleven lines a stage, never one per chunk.
//!
//! [`Progress`] is a cheap handle: clones share one line, and the disabled
//! handle ([`Progress::off`], the default) does nothing at all. The core reports
//! through it without knowing who watches; the DuckDB adapter decides whether a
//! query's handle is on. Values computed never depend on it.

use std::io::{IsTerminal, Write};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// Environment variable that turns the progress line on for every function ("1" or "true").
pub const PROGRESS_ENV: &str = "PREFROUTE_PROGRESS";

/// Shortest time between two redraws on a terminal.
const REDRAW: Duration = Duration::from_millis(100);

/// A progress line, or nothing ([`Progress::off`]). Clones report to the same line.
#[derive(Clone, Default)]
pub struct Progress {
    line: Option<Arc<Mutex<Line>>>,
}

impl std::fmt::Debug for Progress {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(if self.line.is_some() { "Progress(on)" } else { "Progress(off)" })
    }
}

struct Line {
    function: String,
    stage: String,
    /// What the stage counts ("rows", "requests").
    unit: &'static str,
    total: Option<u64>,
    done: u64,
    /// Of `done`, units that cost nothing (replies from the response cache): left out of the rate.
    free: u64,
    started: Instant,
    last_draw: Option<Instant>,
    /// Tenths of the stage already reported (not a terminal).
    deciles: u64,
    /// Rows done when the line was last drawn.
    drawn: Option<u64>,
    /// A line is drawn in place and not yet ended with a newline.
    open: bool,
    tty: bool,
    out: Box<dyn Write + Send>,
}

impl Progress {
    /// No progress line.
    pub fn off() -> Progress {
        Progress { line: None }
    }

    /// Whether `progress := flag` (when given) or else the environment asks for a line.
    pub fn wanted(flag: Option<bool>) -> bool {
        flag.unwrap_or_else(|| {
            std::env::var(PROGRESS_ENV).is_ok_and(|v| matches!(v.trim(), "1" | "true" | "TRUE" | "on"))
        })
    }

    /// A line on stderr for `function`, redrawn in place when stderr is a terminal.
    pub fn stderr(function: &str) -> Progress {
        Progress::to(function, std::io::stderr().is_terminal(), Box::new(std::io::stderr()))
    }

    /// A line written to `out`, drawn as on a terminal when `tty` (for tests).
    pub fn to(function: &str, tty: bool, out: Box<dyn Write + Send>) -> Progress {
        let line = Line {
            function: function.to_string(),
            stage: String::new(),
            unit: "rows",
            total: None,
            done: 0,
            free: 0,
            started: Instant::now(),
            last_draw: None,
            deciles: 0,
            drawn: None,
            open: false,
            tty,
            out,
        };
        Progress { line: Some(Arc::new(Mutex::new(line))) }
    }

    /// Whether anything is reported.
    pub fn is_on(&self) -> bool {
        self.line.is_some()
    }

    /// Starts a stage of `total` rows (when known), ending the previous one.
    pub fn stage(&self, stage: &str, total: Option<u64>) {
        self.stage_counting(stage, total, "rows");
    }

    /// Starts a stage of `total` `unit`s ("requests"), ending the previous one.
    pub fn stage_counting(&self, stage: &str, total: Option<u64>, unit: &'static str) {
        self.with(|l| {
            l.end();
            l.stage = stage.to_string();
            l.unit = unit;
            l.total = total;
            l.done = 0;
            l.free = 0;
            l.started = Instant::now();
            l.last_draw = None;
            l.deciles = 0;
            l.drawn = None;
            l.draw(false);
        });
    }

    /// `rows` more rows of the current stage are done.
    pub fn advance(&self, rows: u64) {
        self.add(rows, 0);
    }

    /// `units` more units are done at no cost (answered from a cache): they count towards the
    /// total, are shown as "… from cache", and are left out of the rate and the ETA.
    pub fn advance_cached(&self, units: u64) {
        self.add(units, units);
    }

    fn add(&self, done: u64, free: u64) {
        self.with(|l| {
            l.done += done;
            l.free += free;
            l.draw(false);
        });
    }

    /// Ends the current stage's line (the last figures, then a newline on a terminal).
    pub fn finish(&self) {
        self.with(Line::end);
    }

    fn with(&self, f: impl FnOnce(&mut Line)) {
        if let Some(line) = &self.line {
            // A panic elsewhere while drawing leaves the line usable: it holds only figures.
            f(&mut line.lock().unwrap_or_else(|e| e.into_inner()));
        }
    }
}

impl Drop for Line {
    /// A query that ends early (an error, an interrupt) still ends its line.
    fn drop(&mut self) {
        self.end();
    }
}

impl Line {
    /// Draws the line if it is due: on a terminal after [`REDRAW`] (or when `force`),
    /// otherwise when the stage crosses the next tenth.
    fn draw(&mut self, force: bool) {
        let now = Instant::now();
        if self.tty {
            if !force && self.last_draw.is_some_and(|t| now.duration_since(t) < REDRAW) {
                return;
            }
            let text = self.text(now);
            // \r and "erase to end of line": the line is redrawn in place.
            let _ = write!(self.out, "\r{text}\x1b[K");
            self.open = true;
        } else {
            let tenth = match self.total {
                Some(t) if t > 0 => (self.done.min(t) * 10) / t,
                _ => 0,
            };
            let first = self.last_draw.is_none();
            if !(force || first || tenth > self.deciles) {
                return;
            }
            self.deciles = tenth;
            let text = self.text(now);
            let _ = writeln!(self.out, "{text}");
        }
        let _ = self.out.flush();
        self.last_draw = Some(now);
        self.drawn = Some(self.done);
    }

    /// Writes the stage's last figures (if not written yet) and ends a terminal line.
    fn end(&mut self) {
        if self.stage.is_empty() {
            return;
        }
        if self.tty {
            self.draw(true);
            if self.open {
                let _ = writeln!(self.out);
                let _ = self.out.flush();
                self.open = false;
            }
        } else if self.drawn != Some(self.done) {
            self.draw(true);
        }
        self.stage.clear();
    }

    fn text(&self, now: Instant) -> String {
        let secs = now.duration_since(self.started).as_secs_f64();
        let paid = self.done - self.free;
        let rate = if secs > 0.0 { paid as f64 / secs } else { 0.0 };
        let mut s = format!("prefroute {}: {} {}", self.function, self.stage, thousands(self.done));
        match self.total {
            Some(t) => {
                let pct = (self.done.min(t) * 100).checked_div(t).unwrap_or(100);
                s += &format!("/{} {} ({pct} %)", thousands(t), self.unit);
            }
            None => s += &format!(" {}", self.unit),
        }
        if self.free > 0 {
            s += &format!(", {} from cache", thousands(self.free));
        }
        if paid > 0 && secs > 0.0 {
            s += &format!(", {} {}/s", rate_text(rate), self.unit);
            if let Some(t) = self.total.filter(|t| *t > self.done) {
                s += &format!(", ETA {}", duration_text((t - self.done) as f64 / rate));
            }
        }
        s
    }
}

/// 1234567 → "1,234,567".
fn thousands(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(c);
    }
    out
}

fn rate_text(rate: f64) -> String {
    if rate >= 100.0 {
        thousands(rate.round() as u64)
    } else {
        format!("{rate:.1}")
    }
}

/// Seconds as "42s", "9m49s" or "2h05m".
fn duration_text(secs: f64) -> String {
    if !secs.is_finite() {
        return "?".into();
    }
    let s = secs.ceil() as u64;
    match s {
        0..=59 => format!("{s}s"),
        60..=3599 => format!("{}m{:02}s", s / 60, s % 60),
        _ => format!("{}h{:02}m", s / 3600, (s % 3600) / 60),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A writer whose bytes the test can read afterwards.
    #[derive(Clone, Default)]
    struct Shared(Arc<Mutex<Vec<u8>>>);

    impl Write for Shared {
        fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(b);
            Ok(b.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    impl Shared {
        fn text(&self) -> String {
            String::from_utf8(self.0.lock().unwrap().clone()).unwrap()
        }
    }

    #[test]
    fn off_reports_nothing_and_costs_nothing() {
        let p = Progress::off();
        p.stage("pass 1 lengths", Some(10));
        p.advance(5);
        p.finish();
        assert!(!p.is_on());
    }

    #[test]
    fn not_a_terminal_one_line_per_tenth() {
        let out = Shared::default();
        let p = Progress::to("tag_instances", false, Box::new(out.clone()));
        p.stage("pass 1 lengths", Some(1000));
        for _ in 0..1000 {
            p.advance(1);
        }
        p.finish();
        let text = out.text();
        let lines: Vec<&str> = text.lines().collect();
        // The start, then 10 %, 20 %, … 100 %: eleven lines, no carriage returns.
        assert_eq!(lines.len(), 11, "{text}");
        assert!(!text.contains('\r'));
        assert!(lines[0].starts_with("prefroute tag_instances: pass 1 lengths 0/1,000 rows (0 %)"), "{text}");
        assert!(lines[5].contains("500/1,000 rows (50 %)") && lines[5].contains("ETA"), "{text}");
        assert!(lines[10].contains("1,000/1,000 rows (100 %)") && !lines[10].contains("ETA"), "{text}");
    }

    #[test]
    fn cached_units_count_towards_the_total_but_not_the_rate() {
        let out = Shared::default();
        let p = Progress::to("judge_pairs", false, Box::new(out.clone()));
        p.stage_counting("requests", Some(100), "requests");
        p.advance_cached(50);
        std::thread::sleep(Duration::from_millis(5));
        p.advance(10);
        p.finish();
        let text = out.text();
        let lines: Vec<&str> = text.lines().collect();
        // Half the stage answered from the cache in no time: no rate and no ETA from it.
        assert!(lines[1].contains("50/100 requests (50 %), 50 from cache"), "{text}");
        assert!(!lines[1].contains("/s") && !lines[1].contains("ETA"), "{text}");
        // Ten real requests in ≥ 5 ms: the rate is theirs alone (≤ 10 / 0.005 s).
        let last = lines.last().unwrap();
        assert!(last.contains("60/100 requests (60 %), 50 from cache, ") && last.contains("ETA"), "{text}");
        let rate: f64 =
            last.split(", ").nth(2).unwrap().split(' ').next().unwrap().replace(',', "").parse().unwrap();
        assert!(rate <= 2000.0, "{text}");
    }

    #[test]
    fn big_steps_still_one_line_per_step_at_most() {
        let out = Shared::default();
        let p = Progress::to("route_instances", false, Box::new(out.clone()));
        p.stage("pass 2 tags", Some(100));
        p.advance(100); // one step covers every tenth: one line
        p.stage("routing", None);
        p.finish();
        let text = out.text();
        assert_eq!(text.lines().count(), 3, "{text}");
        assert!(text.contains("pass 2 tags 100/100 rows (100 %)"), "{text}");
        assert!(text.lines().last().unwrap().contains("routing 0 rows"), "{text}");
    }

    #[test]
    fn a_terminal_redraws_in_place_and_ends_each_stage_with_a_newline() {
        let out = Shared::default();
        let p = Progress::to("tag_instances", true, Box::new(out.clone()));
        p.stage("pass 1 lengths", Some(4));
        p.advance(2);
        p.stage("pass 2 tags", Some(4));
        p.advance(4);
        p.finish();
        let text = out.text();
        assert_eq!(text.matches('\n').count(), 2, "{text:?}");
        assert!(
            text.starts_with("\rprefroute tag_instances: pass 1 lengths 0/4 rows (0 %)\x1b[K"),
            "{text:?}"
        );
        assert!(text.contains("pass 2 tags 4/4 rows (100 %)"), "{text:?}");
        assert!(text.ends_with("\x1b[K\n"), "{text:?}");
    }

    #[test]
    fn figures_read_well() {
        assert_eq!(thousands(0), "0");
        assert_eq!(thousands(1234567), "1,234,567");
        assert_eq!(duration_text(5.2), "6s");
        assert_eq!(duration_text(589.0), "9m49s");
        assert_eq!(duration_text(7500.0), "2h05m");
        assert_eq!(rate_text(12.34), "12.3");
        assert_eq!(rate_text(17467.2), "17,467");
    }
}
