//! Round-robin measurement and the statistics reported for it.
//!
//! Every contender of a group runs in every round, a few spawns at a time, with the starting
//! contender rotated each round, so that a burst of machine noise (another compile on this
//! box, a kworker) lands on all contenders alike instead of on whichever ran during it.

use std::time::{Duration, Instant};

/// One thing being timed: a closure that does one complete operation (spawn + exec + wait) and
/// says whether it worked.
pub struct Contender<'a> {
    pub label: String,
    /// One operation; `Some(µs)` when it timed itself (see [`Contender::self_timed`]).
    pub run: Box<dyn FnMut() -> Result<Option<f64>, String> + 'a>,
    /// Untimed time before each operation (to measure a cost as an idle machine sees it).
    pub idle_before: Option<Duration>,
    /// At most this many operations per round (for rows with `idle_before`).
    pub cap: Option<usize>,
}

impl<'a> Contender<'a> {
    pub fn new(label: impl Into<String>, mut run: impl FnMut() -> Result<(), String> + 'a) -> Self {
        Contender {
            label: label.into(),
            run: Box::new(move || run().map(|()| None)),
            idle_before: None,
            cap: None,
        }
    }

    /// An operation that times its measured part itself and returns it in µs: set-up it
    /// must redo (choosing free PIDs again after one was taken meanwhile) and clean-up
    /// (killing what it created) stay out of the measurement.
    pub fn self_timed(
        label: impl Into<String>,
        mut run: impl FnMut() -> Result<f64, String> + 'a,
    ) -> Self {
        Contender {
            label: label.into(),
            run: Box::new(move || run().map(Some)),
            idle_before: None,
            cap: None,
        }
    }

    /// The same operation, each one preceded by `idle` of untimed sleep, one per round.
    pub fn after_idle(mut self, idle: Duration) -> Self {
        self.idle_before = Some(idle);
        self.cap = Some(1);
        self
    }
}

/// How long a group is measured.
#[derive(Clone, Copy, Debug)]
pub struct Rounds {
    pub rounds: usize,
    /// Upper bound of operations per contender per round.
    pub max_per_round: usize,
    /// Lower bound, so that slow contenders (fork at 4 GiB) still get several samples.
    pub min_per_round: usize,
    /// Time one contender may take per round; sets its operations per round between the bounds.
    pub budget: Duration,
}

/// The samples of one contender, in microseconds.
#[derive(Clone, Debug, Default, serde::Serialize, serde::Deserialize)]
pub struct Series {
    pub label: String,
    pub samples: Vec<f64>,
    pub round_medians: Vec<f64>,
    /// Set when the operation failed; the contender is not run again after that.
    pub error: Option<String>,
}

/// What the tables show for one series.
#[derive(Clone, Copy, Debug)]
pub struct Summary {
    pub median: f64,
    pub p90: f64,
    pub spread_lo: f64,
    pub spread_hi: f64,
    pub n: usize,
}

/// Nearest-rank percentile of sorted data (`q` in 0..=1).
pub fn percentile(sorted: &[f64], q: f64) -> f64 {
    assert!(!sorted.is_empty());
    let rank = (q * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

pub fn median(data: &[f64]) -> f64 {
    let mut v = data.to_vec();
    v.sort_by(f64::total_cmp);
    let n = v.len();
    if n % 2 == 1 {
        v[n / 2]
    } else {
        (v[n / 2 - 1] + v[n / 2]) / 2.0
    }
}

impl Series {
    pub fn summary(&self) -> Option<Summary> {
        if self.samples.is_empty() {
            return None;
        }
        let mut v = self.samples.clone();
        v.sort_by(f64::total_cmp);
        let lo = self
            .round_medians
            .iter()
            .copied()
            .fold(f64::INFINITY, f64::min);
        let hi = self
            .round_medians
            .iter()
            .copied()
            .fold(f64::NEG_INFINITY, f64::max);
        Some(Summary {
            median: median(&v),
            p90: percentile(&v, 0.9),
            spread_lo: lo,
            spread_hi: hi,
            n: v.len(),
        })
    }
}

fn time_one(c: &mut Contender<'_>) -> Result<f64, String> {
    if let Some(idle) = c.idle_before {
        std::thread::sleep(idle);
    }
    let t = Instant::now();
    let own = (c.run)()?;
    Ok(own.unwrap_or_else(|| t.elapsed().as_secs_f64() * 1e6))
}

/// Measures a group of contenders round by round, in a new random order every round (so no
/// row always follows the same neighbour). Each contender first runs twice unmeasured (page
/// cache, lazy binding, first-touch of the stack) and is then timed once to choose how many
/// operations it does per round.
pub fn alternate(contenders: &mut [Contender<'_>], cfg: Rounds) -> Vec<Series> {
    let mut a = Alternation::start(contenders, cfg);
    for _ in 0..cfg.rounds {
        a.round(contenders);
    }
    a.finish()
}

/// [`alternate`] one round at a time, for a caller that interleaves its rounds with other
/// work (the spawn section runs the rounds of every parent-RSS level, each in its own
/// process, in turn).
pub struct Alternation {
    series: Vec<Series>,
    per_round: Vec<usize>,
    warm: Vec<bool>,
    rng: XorShift,
    order: Vec<usize>,
}

impl Alternation {
    /// Warms up and calibrates every contender (see [`alternate`]).
    pub fn start(contenders: &mut [Contender<'_>], cfg: Rounds) -> Alternation {
        let n = contenders.len();
        let mut series: Vec<Series> = contenders
            .iter()
            .map(|c| Series {
                label: c.label.clone(),
                ..Default::default()
            })
            .collect();
        let mut per_round = vec![cfg.min_per_round; n];
        // Rows slower than the budget (fork at GiBs of RSS) skip the per-round warm-up: their
        // own cost dwarfs what a neighbour leaves behind, and it would double their run time.
        let mut warm = vec![false; n];
        for (i, c) in contenders.iter_mut().enumerate() {
            match time_one(c).and_then(|_| time_one(c)) {
                Ok(us) => {
                    let fit = (cfg.budget.as_secs_f64() * 1e6 / us.max(1.0)) as usize;
                    per_round[i] = fit.clamp(cfg.min_per_round, cfg.max_per_round);
                    warm[i] = fit >= 2 && c.idle_before.is_none();
                    if let Some(cap) = c.cap {
                        per_round[i] = per_round[i].min(cap);
                    }
                }
                Err(e) => series[i].error = Some(e),
            }
        }
        Alternation {
            series,
            per_round,
            warm,
            rng: XorShift(0x9e37_79b9_7f4a_7c15),
            order: (0..n).collect(),
        }
    }

    /// One round: every contender's batch, in a fresh random order.
    pub fn round(&mut self, contenders: &mut [Contender<'_>]) {
        self.rng.shuffle(&mut self.order);
        for &i in &self.order {
            let series = &mut self.series[i];
            if series.error.is_some() {
                continue;
            }
            // One untimed operation first: what the previous row left behind (a forked
            // child's page tables being freed by RCU callbacks, cold caches) is not this
            // row's cost.
            if self.warm[i] {
                if let Err(e) = (contenders[i].run)() {
                    series.error = Some(e);
                    continue;
                }
            }
            let mut this_round = Vec::with_capacity(self.per_round[i]);
            for _ in 0..self.per_round[i] {
                match time_one(&mut contenders[i]) {
                    Ok(us) => this_round.push(us),
                    Err(e) => {
                        series.error = Some(e);
                        break;
                    }
                }
            }
            if series.error.is_none() && !this_round.is_empty() {
                series.round_medians.push(median(&this_round));
                series.samples.extend(this_round);
            }
        }
    }

    pub fn finish(self) -> Vec<Series> {
        self.series
    }
}

/// A small deterministic PRNG for the round order (xorshift64).
pub struct XorShift(pub u64);

impl XorShift {
    fn next(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        self.0 = x;
        x
    }

    /// Fisher–Yates.
    pub fn shuffle(&mut self, v: &mut [usize]) {
        for i in (1..v.len()).rev() {
            let j = (self.next() % (i as u64 + 1)) as usize;
            v.swap(i, j);
        }
    }
}
