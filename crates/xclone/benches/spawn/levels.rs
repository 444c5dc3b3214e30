//! The parent-RSS levels of the spawn section, each held by a worker process of its own, and
//! measured in the same rounds.
//!
//! A process has one resident set, so a level used to be measured after the previous one
//! had finished: minutes apart. This VM's speed drifts by up to 2× over minutes (a whole
//! table slower than the last, every row alike), and the targets that compare levels (the
//! pre_exec and handshake rows at 4 GiB against 10 MiB) compared those minutes rather than the
//! memory. Now every level is a copy of this bench (`--worker-level N`) that fills its own
//! memory and waits on a pipe; for each table the coordinator has every worker calibrate,
//! then runs round 1 in each worker in turn (in a new random order every round), then
//! round 2, and so on, so that drift falls on every level alike. Only one worker runs at a
//! time: the others are blocked reading their pipe.
//!
//! Protocol, one line per message (worker → coordinator after start: `ready RSS_KIB
//! ANON_HUGE_KIB` or `skip REASON`):
//!
//! - `table TARGET_INDEX any|CPU` → `ok` or `error REASON` (sets the placement, calibrates)
//! - `round` → `ok`
//! - `finish` → one JSON object: `{"series": [...], "missing": [[label, why], ...]}`

use crate::memory::{self, Ballast, Level};
use crate::report::{LevelInfo, Placement};
use crate::stats::{Alternation, Rounds, Series};
use crate::targets::Target;
use std::io::{BufRead, BufReader, Write};
use std::process::{Child, ChildStdin, ChildStdout, Command, Stdio};

/// What a worker measured for one table (sent back as one JSON line).
#[derive(serde::Serialize, serde::Deserialize)]
pub struct Measured {
    pub series: Vec<Series>,
    pub missing: Vec<(String, String)>,
}

/// The worker's side: never returns.
pub fn serve(level: Level, targets: &[Target], cfg: Rounds) -> ! {
    let ballast = match Ballast::fill(level) {
        Ok(b) => b,
        Err(e) => {
            println!("skip {}", one_line(&e));
            std::process::exit(0);
        }
    };
    println!(
        "ready {} {}",
        memory::read_status_kib("VmRSS:").unwrap_or(0),
        memory::anon_huge_kib().unwrap_or(0)
    );
    let all = crate::affinity();
    let stdin = std::io::stdin();
    let mut lines = stdin.lock().lines();
    while let Some(Ok(line)) = lines.next() {
        let mut words = line.split_whitespace();
        if words.next() != Some("table") {
            reply(&format!("error expected a table command, got {line:?}"));
            continue;
        }
        let target = words
            .next()
            .and_then(|w| w.parse::<usize>().ok())
            .and_then(|i| targets.get(i));
        let place = match words.next() {
            Some("any") => Some(Placement::AnyCpu),
            Some(c) => c.parse().ok().map(Placement::OneCpu),
            None => None,
        };
        let (Some(target), Some(place)) = (target, place) else {
            reply(&format!("error bad table command {line:?}"));
            continue;
        };
        if let Placement::OneCpu(c) = place {
            if let Err(e) = crate::set_affinity(&crate::only_cpu(c)) {
                reply(&format!("error pinning to CPU {c}: {}", one_line(&e)));
                continue;
            }
        }
        let exe = crate::mech::Exe::new(&target.path);
        let (mut cs, missing) = crate::spawn_contenders(&exe, &target.path);
        let mut a = Alternation::start(&mut cs, cfg);
        reply("ok");
        // Rounds until `finish`.
        while let Some(Ok(cmd)) = lines.next() {
            match cmd.trim() {
                "round" => {
                    a.round(&mut cs);
                    reply("ok");
                }
                "finish" => break,
                other => reply(&format!("error expected round or finish, got {other:?}")),
            }
        }
        let done = Measured {
            series: a.finish(),
            missing,
        };
        reply(&serde_json::to_string(&done).expect("series serialise"));
        if let Err(e) = crate::set_affinity(&all) {
            eprintln!("worker: restoring the CPU affinity: {e}");
            std::process::exit(1);
        }
    }
    drop(ballast);
    std::process::exit(0)
}

fn reply(s: &str) {
    let mut out = std::io::stdout().lock();
    // The coordinator reads line by line; a failed write means it is gone.
    if writeln!(out, "{s}").and_then(|_| out.flush()).is_err() {
        std::process::exit(1);
    }
}

/// A message on one protocol line.
pub(crate) fn one_line(s: &str) -> String {
    s.replace('\n', " ")
}

/// One worker process, holding one level.
pub struct Worker {
    pub info: LevelInfo,
    child: Child,
    /// `None` once closed (which ends the worker).
    to: Option<ChildStdin>,
    from: BufReader<ChildStdout>,
}

impl Worker {
    fn send(&mut self, line: &str) -> Result<String, String> {
        let to = self
            .to
            .as_mut()
            .ok_or_else(|| format!("worker at {} closed", self.info.level))?;
        writeln!(to, "{line}")
            .and_then(|_| to.flush())
            .map_err(|e| format!("worker at {}: {e}", self.info.level))?;
        let mut answer = String::new();
        match self.from.read_line(&mut answer) {
            Ok(0) => Err(format!("worker at {} ended", self.info.level)),
            Ok(_) => Ok(answer.trim_end().to_string()),
            Err(e) => Err(format!("worker at {}: {e}", self.info.level)),
        }
    }

    fn expect_ok(&mut self, line: &str) -> Result<(), String> {
        let a = self.send(line)?;
        match a.as_str() {
            "ok" => Ok(()),
            _ => Err(a.strip_prefix("error ").unwrap_or(&a).to_string()),
        }
    }
}

impl Drop for Worker {
    fn drop(&mut self) {
        // End of input ends the worker; wait so that its memory is gone before the next
        // section measures anything.
        drop(self.to.take());
        let _ = self.child.wait();
    }
}

/// Starts one worker per level (each fills its memory) and waits until all are ready.
/// Levels a worker could not fill come back as notes.
pub fn start(levels: &[Level], quick: bool) -> (Vec<Worker>, Vec<String>) {
    let exe = std::env::current_exe().expect("current_exe");
    let mut starting = Vec::new();
    let mut notes = Vec::new();
    // All levels are held at once: a level that would not fit in the memory available now
    // (less a margin for the children and the rest of the machine) is skipped with a note
    // instead of pushing the machine into reclaim or the OOM killer mid-measurement.
    let mut budget = memory::available_bytes()
        .map(|b| b.saturating_sub(512 * memory::MIB as u64))
        .unwrap_or(u64::MAX);
    for (i, &level) in levels.iter().enumerate() {
        let need = level.rss as u64;
        if need > budget {
            notes.push(format!(
                "level {level} skipped: not enough free memory to hold it beside the other \
                 levels ({} available)",
                memory::fmt_bytes(budget)
            ));
            continue;
        }
        budget -= need;
        eprintln!("spawn: starting the worker that holds {level}");
        let mut cmd = Command::new(&exe);
        cmd.arg("--worker-level").arg(i.to_string());
        if quick {
            cmd.arg("--quick");
        }
        match cmd.stdin(Stdio::piped()).stdout(Stdio::piped()).spawn() {
            Ok(child) => starting.push((level, child)),
            Err(e) => notes.push(format!("level {level} skipped: starting its worker: {e}")),
        }
    }
    let mut workers = Vec::new();
    for (level, mut child) in starting {
        let to = child.stdin.take().expect("piped");
        let mut from = BufReader::new(child.stdout.take().expect("piped"));
        let mut first = String::new();
        let _ = from.read_line(&mut first);
        let mut words = first.split_whitespace();
        match words.next() {
            Some("ready") => {
                let mut num = || words.next().and_then(|w| w.parse().ok()).unwrap_or(0);
                let info = LevelInfo {
                    level,
                    rss_kib: num(),
                    anon_huge_kib: num(),
                };
                workers.push(Worker {
                    info,
                    child,
                    to: Some(to),
                    from,
                });
            }
            _ => {
                let why = first
                    .trim()
                    .strip_prefix("skip ")
                    .unwrap_or("the worker ended");
                notes.push(format!("level {level} skipped: {why}"));
                drop(to);
                let _ = child.wait();
            }
        }
    }
    (workers, notes)
}

/// Measures one table (target, placement) at every level, the levels' rounds interleaved.
/// Returns, per worker, what it measured or why it could not.
pub fn measure(
    workers: &mut [Worker],
    target_index: usize,
    place: Placement,
    cfg: Rounds,
) -> Vec<Result<Measured, String>> {
    let place_word = match place {
        Placement::AnyCpu => "any".to_string(),
        Placement::OneCpu(c) => c.to_string(),
    };
    let table = format!("table {target_index} {place_word}");
    let mut state: Vec<Result<(), String>> =
        workers.iter_mut().map(|w| w.expect_ok(&table)).collect();
    let mut rng = crate::stats::XorShift(0x2545_f491_4f6c_dd1d ^ target_index as u64);
    let mut order: Vec<usize> = (0..workers.len()).collect();
    for _ in 0..cfg.rounds {
        rng.shuffle(&mut order);
        for &i in &order {
            if state[i].is_ok() {
                state[i] = workers[i].expect_ok("round");
            }
        }
    }
    workers
        .iter_mut()
        .zip(state)
        .map(|(w, st)| {
            st?;
            let line = w.send("finish")?;
            serde_json::from_str(&line)
                .map_err(|e| format!("worker at {}: bad result ({e}): {line}", w.info.level))
        })
        .collect()
}
