//! Awaiting many concurrent children with the async API: `xclone::tokio` (each child a pidfd
//! in tokio's reactor) against `tokio::process` (tokio's own child reaping), the same program
//! and the same count, each run in a fresh worker process of this bench so that its peak RSS
//! is its own. Rounds alternate the two (order flipped every round) and ratios are paired by
//! round.

use std::fmt::Write as _;
use std::path::Path;
use std::time::Instant;

/// Children awaited at once in a full run.
pub const FULL: usize = 10_000;
/// ... and in a quick one.
pub const QUICK: usize = 500;

/// What one worker measured.
struct Sample {
    ms: f64,
    peak_rss_kib: f64,
}

/// The worker side (`--async-worker KIND N TARGET`): spawn N children of TARGET at once with
/// KIND's async API on a current-thread runtime, await every one (each must exit 0), then
/// print the elapsed milliseconds and this process's peak RSS in KiB, and exit.
pub fn worker(kind: &str, n: usize, target: &Path) -> ! {
    let code = match run_worker(kind, n, target) {
        Ok(s) => {
            println!("{:.3} {:.0}", s.ms, s.peak_rss_kib);
            0
        }
        Err(e) => {
            println!("error {e}");
            1
        }
    };
    std::process::exit(code)
}

fn run_worker(kind: &str, n: usize, target: &Path) -> Result<Sample, String> {
    raise_nofile(n)?;
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| format!("runtime: {e}"))?;
    let start = Instant::now();
    rt.block_on(async {
        let mut set = tokio::task::JoinSet::new();
        match kind {
            "xclone" => {
                for _ in 0..n {
                    let mut c = xclone::tokio::Command::new(target)
                        .spawn()
                        .map_err(|e| format!("xclone spawn: {e}"))?;
                    set.spawn(async move { c.wait().await.map(|s| s.success()) });
                }
            }
            "tokio" => {
                for _ in 0..n {
                    let mut c = tokio::process::Command::new(target)
                        .spawn()
                        .map_err(|e| format!("tokio spawn: {e}"))?;
                    set.spawn(async move { c.wait().await.map(|s| s.success()) });
                }
            }
            other => return Err(format!("unknown worker kind {other}")),
        }
        while let Some(done) = set.join_next().await {
            match done {
                Ok(Ok(true)) => {}
                Ok(Ok(false)) => return Err("a child did not exit 0".into()),
                Ok(Err(e)) => return Err(format!("wait: {e}")),
                Err(e) => return Err(format!("task: {e}")),
            }
        }
        Ok(())
    })?;
    let ms = start.elapsed().as_secs_f64() * 1000.0;
    Ok(Sample {
        ms,
        peak_rss_kib: peak_rss_kib(),
    })
}

/// One descriptor per child (a pidfd, or tokio's own per-child state) must fit.
fn raise_nofile(n: usize) -> Result<(), String> {
    use rustix::process::{getrlimit, setrlimit, Resource};
    let mut lim = getrlimit(Resource::Nofile);
    let want = (n as u64 + 256).max(lim.current.unwrap_or(0));
    if lim.maximum.is_some_and(|m| m < want) {
        return Err(format!("RLIMIT_NOFILE hard limit below {want}"));
    }
    lim.current = Some(want);
    setrlimit(Resource::Nofile, lim).map_err(|e| format!("setrlimit NOFILE: {e}"))
}

fn peak_rss_kib() -> f64 {
    // VmHWM: the peak resident set of this process, as the kernel counts it.
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find_map(|l| l.strip_prefix("VmHWM:"))
                .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        })
        .unwrap_or(f64::NAN)
}

fn run_one(kind: &str, n: usize, target: &Path) -> Result<Sample, String> {
    let me = std::env::current_exe().map_err(|e| format!("current_exe: {e}"))?;
    let out = std::process::Command::new(me)
        .arg("--async-worker")
        .arg(kind)
        .arg(n.to_string())
        .arg(target)
        .output()
        .map_err(|e| format!("worker: {e}"))?;
    let text = String::from_utf8_lossy(&out.stdout);
    let mut it = text.split_whitespace();
    match (it.next(), it.next()) {
        (Some(ms), Some(kib)) if out.status.success() => Ok(Sample {
            ms: ms.parse().map_err(|_| format!("worker said {text:?}"))?,
            peak_rss_kib: kib.parse().map_err(|_| format!("worker said {text:?}"))?,
        }),
        _ => Err(format!("worker failed: {}", text.trim())),
    }
}

fn median(v: &mut [f64]) -> f64 {
    v.sort_by(f64::total_cmp);
    match v.len() {
        0 => f64::NAN,
        n if n % 2 == 1 => v[n / 2],
        n => (v[n / 2 - 1] + v[n / 2]) / 2.0,
    }
}

/// The measured figures: the two rows' samples, paired by round.
pub struct AsyncResult {
    pub n: usize,
    pub rounds: usize,
    xclone: Vec<Sample>,
    tokio: Vec<Sample>,
    pub error: Option<String>,
}

impl AsyncResult {
    /// Median over rounds of xclone's time / tokio's in the same round.
    pub fn paired_time(&self) -> f64 {
        let mut r: Vec<f64> = self
            .xclone
            .iter()
            .zip(&self.tokio)
            .map(|(a, b)| a.ms / b.ms)
            .collect();
        median(&mut r)
    }

    /// Median over rounds of xclone's peak RSS / tokio's in the same round.
    pub fn paired_rss(&self) -> f64 {
        let mut r: Vec<f64> = self
            .xclone
            .iter()
            .zip(&self.tokio)
            .map(|(a, b)| a.peak_rss_kib / b.peak_rss_kib)
            .collect();
        median(&mut r)
    }
}

/// Measures `rounds` rounds of both rows, alternating which goes first.
pub fn measure(n: usize, rounds: usize, target: &Path) -> AsyncResult {
    let mut r = AsyncResult {
        n,
        rounds,
        xclone: Vec::new(),
        tokio: Vec::new(),
        error: None,
    };
    // One unmeasured run of each first (page cache, the runtime's first allocations).
    for kind in ["xclone", "tokio"] {
        if let Err(e) = run_one(kind, n.min(QUICK), target) {
            r.error = Some(format!("{kind}: {e}"));
            return r;
        }
    }
    for round in 0..rounds {
        let order = if round % 2 == 0 {
            ["xclone", "tokio"]
        } else {
            ["tokio", "xclone"]
        };
        for kind in order {
            match run_one(kind, n, target) {
                Ok(s) if kind == "xclone" => r.xclone.push(s),
                Ok(s) => r.tokio.push(s),
                Err(e) => {
                    r.error = Some(format!("{kind}: {e}"));
                    return r;
                }
            }
        }
    }
    r
}

/// The section of BENCHMARKS.md.
pub fn render(out: &mut String, r: &AsyncResult) {
    let _ = writeln!(out, "## 6. Async: awaiting {} concurrent children\n", r.n);
    let _ = writeln!(
        out,
        "Each round starts a fresh worker process per row, which spawns {} children of \
         `exit0-nolibc` at once on a current-thread tokio runtime, awaits every one (each must \
         exit 0) and reports the elapsed time and its own peak RSS (`VmHWM`). `xclone::tokio` \
         waits on each child's pidfd in the reactor; `tokio::process` uses tokio's own child \
         reaping. {} rounds, the order of the two rows flipped every round; ratios are paired \
         by round.\n",
        r.n, r.rounds
    );
    if let Some(e) = &r.error {
        let _ = writeln!(out, "Not measured: {e}\n");
        return;
    }
    let _ = writeln!(
        out,
        "| | median ms | min–max ms | median peak RSS MiB | paired × time | paired × RSS |"
    );
    let _ = writeln!(out, "|---|---:|---:|---:|---:|---:|");
    for (label, s) in [
        ("`xclone::tokio`", &r.xclone),
        ("`tokio::process`", &r.tokio),
    ] {
        let mut ms: Vec<f64> = s.iter().map(|x| x.ms).collect();
        let mut rss: Vec<f64> = s.iter().map(|x| x.peak_rss_kib / 1024.0).collect();
        let lo = ms.iter().cloned().fold(f64::INFINITY, f64::min);
        let hi = ms.iter().cloned().fold(f64::NEG_INFINITY, f64::max);
        let (pt, pr) = if label.contains("xclone") {
            (
                format!("{:.2}", r.paired_time()),
                format!("{:.2}", r.paired_rss()),
            )
        } else {
            ("1.00".into(), "1.00".into())
        };
        let _ = writeln!(
            out,
            "| {label} | {:.0} | {lo:.0}–{hi:.0} | {:.1} | {pt} | {pr} |",
            median(&mut ms),
            median(&mut rss)
        );
    }
    out.push('\n');
}
