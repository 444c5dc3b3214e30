//! The spawn benchmark suite of issue 8: what a spawn costs with xclone compared with glibc
//! `posix_spawn`, `fork`, `vfork` and std, at several parent RSS levels, in throughput, with
//! isolation features, and for whole commands against util-linux.
//!
//! `bench/run.sh` runs it and writes BENCHMARKS.md; directly:
//!
//! ```text
//! cargo bench -p xclone --bench spawn -- [--quick] [--write FILE] [--only SECTIONS]
//!                                        [--xclone-bin PATH] [--xclone-dynamic-bin PATH]
//! ```
//!
//! SECTIONS is a comma list of `spawn`, `throughput`, `isolation`, `commands`, `api`, `async`
//! (the last needs the `tokio` feature: bench/run.sh passes it), `restore`.
//! (`--async-worker KIND N TARGET` is internal too: one async-section measurement.)
//! (`--worker-level N` is internal: the spawn section starts copies of this program with it,
//! one per parent-RSS level, see `levels`.)
//!
//! The spawn tables are measured twice: with the scheduler free to place parent and child on
//! any CPU (what a program sees), and with the bench pinned to one CPU, which takes the
//! cross-CPU wake-ups (the same for every mechanism) out of the numbers.

#[cfg(feature = "tokio")]
mod asyncwait;
mod cgroup;
mod commands;
mod floor;
mod isolation;
mod levels;
mod machine;
mod mech;
mod memory;
mod report;
mod restoring;
mod stats;
mod targets;
mod throughput;
mod xrows;

use memory::{Level, Pages, GIB, MIB};
use report::{Placement, Results, Table, Unit};
use stats::{alternate, Contender, Rounds};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

const SECTIONS: &[&str] = &[
    "spawn",
    "throughput",
    "isolation",
    "commands",
    "api",
    "restore",
    "async",
];

struct Opts {
    quick: bool,
    write: Option<PathBuf>,
    only: Vec<String>,
    xclone_bin: Option<PathBuf>,
    xclone_dynamic_bin: Option<PathBuf>,
    /// Set in the spawn section's worker processes (see `levels`): the level it holds.
    worker_level: Option<usize>,
}

fn usage() -> ! {
    eprintln!(
        "usage: spawn [--quick] [--write FILE] [--only {}] [--xclone-bin PATH] \
         [--xclone-dynamic-bin PATH]",
        SECTIONS.join(",")
    );
    std::process::exit(2)
}

fn parse_opts() -> Opts {
    let mut o = Opts {
        quick: false,
        write: None,
        only: SECTIONS.iter().map(|s| s.to_string()).collect(),
        xclone_bin: None,
        xclone_dynamic_bin: None,
        worker_level: None,
    };
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        match a.as_str() {
            // `cargo bench` passes --bench to harness = false targets.
            "--bench" => {}
            "--quick" => o.quick = true,
            "--write" => o.write = Some(args.next().unwrap_or_else(|| usage()).into()),
            "--xclone-bin" => o.xclone_bin = Some(args.next().unwrap_or_else(|| usage()).into()),
            "--xclone-dynamic-bin" => {
                o.xclone_dynamic_bin = Some(args.next().unwrap_or_else(|| usage()).into())
            }
            "--only" => {
                let list = args.next().unwrap_or_else(|| usage());
                o.only = list.split(',').map(str::to_string).collect();
                if let Some(bad) = o.only.iter().find(|s| !SECTIONS.contains(&s.as_str())) {
                    eprintln!("unknown section {bad:?}");
                    usage();
                }
            }
            "--worker-level" => {
                o.worker_level = args.next().and_then(|n| n.parse().ok());
                if o.worker_level.is_none() {
                    usage();
                }
            }
            "-h" | "--help" => usage(),
            _ => {
                eprintln!("unknown argument {a:?}");
                usage();
            }
        }
    }
    o
}

struct Plan {
    rounds: Rounds,
    levels: Vec<Level>,
    throughput_rounds: usize,
    throughput_dur: Duration,
    api_batch: usize,
    /// The async section's small size (a quick run).
    quick_async: bool,
}

fn plan(quick: bool) -> Plan {
    if quick {
        Plan {
            rounds: Rounds {
                rounds: 3,
                max_per_round: 8,
                min_per_round: 1,
                budget: Duration::from_millis(10),
            },
            levels: vec![
                Level {
                    rss: 10 * MIB,
                    pages: Pages::Small,
                },
                Level {
                    rss: 256 * MIB,
                    pages: Pages::Small,
                },
                Level {
                    rss: 256 * MIB,
                    pages: Pages::Huge,
                },
            ],
            throughput_rounds: 2,
            throughput_dur: Duration::from_millis(200),
            api_batch: 100,
            quick_async: true,
        }
    } else {
        Plan {
            rounds: Rounds {
                // Short batches, many rounds: on this kind of machine the cost of a spawn
                // shifts with CPU placement over seconds, so fine interleaving matters more
                // than long batches.
                rounds: 40,
                max_per_round: 10,
                min_per_round: 1,
                budget: Duration::from_millis(20),
            },
            levels: vec![
                Level {
                    rss: 10 * MIB,
                    pages: Pages::Small,
                },
                Level {
                    rss: GIB,
                    pages: Pages::Small,
                },
                Level {
                    rss: 4 * GIB,
                    pages: Pages::Small,
                },
                Level {
                    rss: 4 * GIB,
                    pages: Pages::Huge,
                },
            ],
            throughput_rounds: 10,
            throughput_dur: Duration::from_millis(500),
            api_batch: 1000,
            quick_async: false,
        }
    }
}

/// The rows of a spawn table: the yardsticks, then xclone's rows (and those of xclone's
/// rows that cannot be measured here, with the reason).
pub(crate) fn spawn_contenders<'a>(
    exe: &'a mech::Exe,
    path: &'a Path,
) -> (Vec<Contender<'a>>, Vec<(String, String)>) {
    let mut cs = vec![
        Contender::new("posix_spawn", || mech::posix_spawn(exe)),
        Contender::new("fork+execve", || mech::fork_exec(exe)),
        Contender::new("vfork+execve", || mech::vfork_exec(exe)),
        Contender::new("std Command", || mech::std_status(path)),
        Contender::new("std Command + pre_exec", || mech::std_pre_exec(path)),
    ];
    let mut missing = Vec::new();
    match xrows::spawn(path) {
        Ok(rows) => cs.extend(rows),
        Err(m) => missing.extend(m.rows()),
    }
    (cs, missing)
}

/// The spawn tables: every level held by its own worker process (see `levels`), the levels'
/// rounds interleaved.
fn run_spawn(r: &mut Results, p: &Plan, quick: bool) {
    let all = affinity();
    let pinned_cpu = (0..libc::CPU_SETSIZE as usize)
        .rev()
        // SAFETY: reading a bit of a cpu_set_t filled by sched_getaffinity.
        .find(|&c| unsafe { libc::CPU_ISSET(c, &all) });
    let mut places = vec![Placement::AnyCpu];
    match pinned_cpu {
        Some(c) if all_count(&all) > 1 => places.push(Placement::OneCpu(c)),
        _ => r
            .notes
            .push("Only one CPU is available: the pinned spawn tables are not measured.".into()),
    }
    let (mut workers, notes) = levels::start(&p.levels, quick);
    r.notes.extend(notes);
    r.levels = workers.iter().map(|w| w.info).collect();
    let mut tables = Vec::new();
    for &place in &places {
        for (ti, t) in r.targets.iter().enumerate() {
            eprintln!(
                "spawn: {} at every level, {}, rounds interleaved",
                t.name,
                place.describe()
            );
            let measured = levels::measure(&mut workers, ti, place, p.rounds);
            for (w, m) in workers.iter().zip(measured) {
                let level = w.info.level;
                let mut table = Table::new(
                    report::spawn_key(t.name, level, place),
                    format!("`{}` at parent RSS {level}, {}", t.name, place.describe()),
                    Unit::Us,
                );
                match m {
                    Ok(m) => {
                        table.series = m.series;
                        table.missing = m.missing;
                    }
                    Err(e) => r.notes.push(format!(
                        "`{}` at {level}, {}: not measured: {e}",
                        t.name,
                        place.describe()
                    )),
                }
                tables.push((level.rss, level.pages == memory::Pages::Huge, table));
            }
        }
    }
    drop(workers);
    // Tables in level order, as before: by level, then placement, then target.
    tables.sort_by_key(|(rss, huge, _)| (*rss, *huge));
    r.spawn = tables.into_iter().map(|(_, _, t)| t).collect();
    r.places = places;
}

fn all_count(set: &libc::cpu_set_t) -> usize {
    // SAFETY: reading a cpu_set_t filled by sched_getaffinity.
    unsafe { libc::CPU_COUNT(set) as usize }
}

fn run_throughput(r: &mut Results, p: &Plan, target: &Path) {
    let t = target.to_path_buf();
    let mut mechs: Vec<(String, Box<throughput::MakeOp<'_>>)> = vec![
        (
            "posix_spawn".into(),
            Box::new(|| {
                let exe = mech::Exe::new(&t);
                Box::new(move || mech::posix_spawn(&exe))
            }),
        ),
        (
            "std Command".into(),
            Box::new(|| {
                let t = t.clone();
                Box::new(move || mech::std_status(&t))
            }),
        ),
    ];
    match xrows::throughput_op(target) {
        Ok(op) => mechs.push((xrows::SPAWN.into(), op)),
        Err(m) => r.throughput.push(throughput::Row {
            label: xrows::SPAWN.into(),
            error: Some(m.why),
            ..Default::default()
        }),
    }
    eprintln!("throughput: {} rows", mechs.len());
    let mut rows = throughput::measure(&mechs, p.throughput_rounds, p.throughput_dur);
    rows.append(&mut r.throughput);
    r.throughput = rows;
    r.throughput_secs = p.throughput_dur.as_secs_f64();
}

fn run_isolation(r: &mut Results, p: &Plan, target: &Path) {
    if !r.machine.root {
        r.notes
            .push("Isolation rows skipped: they need root (namespaces, cgroup, set_tid).".into());
        return;
    }
    eprintln!("isolation: namespaces");
    r.isolation.push(isolation::namespaces(target, p.rounds));
    eprintln!("isolation: cgroup placement");
    match cgroup::TestCgroup::create() {
        Ok(cg) => r
            .isolation
            .push(isolation::cgroup_placement(target, &cg, p.rounds)),
        Err(e) => r.notes.push(format!("cgroup rows skipped: {e}")),
    }
    eprintln!("isolation: set_tid and time");
    r.isolation
        .push(isolation::set_tid_and_time(target, p.rounds));
}

fn xclone_bin(o: &Opts) -> Option<PathBuf> {
    if let Some(p) = &o.xclone_bin {
        return Some(p.clone());
    }
    let p = targets::out_dir().parent()?.join("xclone");
    p.is_file().then_some(p)
}

fn run_commands(r: &mut Results, p: &Plan, o: &Opts, target: &Path) {
    if !r.machine.root {
        r.notes
            .push("Whole-command rows skipped: they need root (namespaces).".into());
        return;
    }
    let x = xclone_bin(o);
    if x.is_none() {
        r.notes.push(
            "the release xclone was not found: build it (bench/run.sh does) for the \
             `xclone run`/`xclone enter` rows."
                .into(),
        );
    }
    // The same code linked dynamically (bench/run.sh makes it in target/dynamic): what the
    // static default saves at start-up.
    let xs = o.xclone_dynamic_bin.clone().or_else(|| {
        let profile = targets::out_dir().parent()?.to_path_buf();
        let root = profile
            .ancestors()
            .find(|a| a.file_name() == Some("target".as_ref()))?;
        let rel = profile.strip_prefix(root).ok()?;
        let p = root.join("dynamic").join(rel).join("xclone");
        p.is_file().then_some(p)
    });
    eprintln!("commands: xclone run vs unshare");
    r.commands.push(commands::run_vs_unshare(
        x.as_deref(),
        xs.as_deref(),
        target,
        p.rounds,
    ));
    eprintln!("commands: xclone run vs bwrap (sandbox)");
    r.commands
        .push(commands::run_vs_bwrap(x.as_deref(), target, p.rounds));
    eprintln!("commands: xclone enter vs nsenter");
    r.commands.push(commands::enter_vs_nsenter(
        x.as_deref(),
        xs.as_deref(),
        target,
        p.rounds,
    ));
}

fn run_api(r: &mut Results, p: &Plan) {
    let mut t = Table::new(
        "api/per-call",
        "Cached probe and validation, per call",
        Unit::Ns,
    );
    t.reference = None;
    t.intro = format!(
        "Each operation is a batch of {} calls; the table shows time per call.",
        p.api_batch
    );
    let mut cs: Vec<Contender<'static>> = Vec::new();
    for rows in [xrows::probe(p.api_batch), xrows::validate(p.api_batch)] {
        match rows {
            Ok(v) => cs.extend(v),
            Err(m) => t.add_missing(m),
        }
    }
    let mut series = alternate(&mut cs, p.rounds);
    let per_call = 1000.0 / p.api_batch as f64; // µs per batch → ns per call
    for s in &mut series {
        s.samples.iter_mut().for_each(|v| *v *= per_call);
        s.round_medians.iter_mut().for_each(|v| *v *= per_call);
    }
    t.series = series;
    r.api.push(t);

    let mut t = Table::new(
        "api/uncached",
        "The whole probe, and validation reading the caller",
        Unit::Us,
    );
    t.reference = None;
    t.intro = "What the first `Features::probe()` of a process pays, and `validate_current()`, \
               which reads the caller from /proc on every call."
        .into();
    let mut cs: Vec<Contender<'static>> = Vec::new();
    for rows in [xrows::probe_uncached(), xrows::validate_current()] {
        match rows {
            Ok(v) => cs.extend(v),
            Err(m) => t.add_missing(m),
        }
    }
    t.series = alternate(&mut cs, p.rounds);
    r.api.push(t);
}

/// Restoring trees of 10,000 processes (1,000 in a quick run), per process: once with a
/// program without a C library (judged), once with `sleep`.
fn run_restore(r: &mut Results, quick: bool) {
    let n = if quick { 1_000 } else { 10_000 };
    r.restore_n = n;
    let pause = targets::build_pause();
    let programs: [(&str, &str, Result<restoring::Program, String>); 2] = [
        (
            "restore/per-process",
            "`pause-nolibc` (a bare `_start` waiting in pause(2), no C library, built like \
             `exit0-nolibc`), so that what is timed is the restorer's work",
            pause.map(|t| restoring::Program {
                path: t.path.display().to_string(),
                args: Vec::new(),
            }),
        ),
        (
            "restore/per-process-sleep",
            "`/bin/sleep 1000` (not judged: each process then also runs glibc's start-up, \
             about 0.7 ms of CPU on this machine, where its `cpuid` probing traps to the \
             hypervisor, see Findings; the programs already started share the two CPUs with \
             the execs still to come: the programs' cost, not the restorer's)",
            Ok(restoring::Program::sleep()),
        ),
    ];
    for (id, what, prog) in programs {
        let mut t = Table::new(
            id,
            format!(
                "Restoring a tree of {n} processes, per process: {}",
                id_program(id)
            ),
            Unit::Us,
        );
        t.reference = Some(restoring::STD_ROW.into());
        t.intro = format!(
            "One operation creates {n} processes running {what}; what is timed ends when \
             every one runs it (`restore` returns; for std, the last `spawn` returns); \
             choosing PIDs (again, when one was taken meanwhile) and killing the processes \
             afterwards are not timed. The table shows the operation's time divided by {n}. \
             `restore` chooses every PID (clone3 `set_tid`) and builds the tree top-down, each \
             process creating its own children: flat (all children of the root), deep (a \
             chain) and bushy (four children each). Issue 18's target: 10,000 processes of \
             any shape in under 5 s, i.e. at most 500 µs per process (judged in the targets \
             table above on the `pause-nolibc` table)."
        );
        let rounds = stats::Rounds {
            rounds: if quick { 2 } else { 5 },
            max_per_round: 1,
            min_per_round: 1,
            budget: Duration::from_secs(60),
        };
        let cs = prog.map_err(|why| xrows::Missing {
            labels: std::iter::once(restoring::STD_ROW)
                .chain(restoring::SHAPE_ROWS)
                .map(String::from)
                .collect(),
            why,
        });
        match cs.and_then(|p| restoring::contenders(n, p)) {
            Ok(mut cs) => {
                let mut series = alternate(&mut cs, rounds);
                let per = 1.0 / n as f64;
                for s in &mut series {
                    s.samples.iter_mut().for_each(|v| *v *= per);
                    s.round_medians.iter_mut().for_each(|v| *v *= per);
                }
                t.series = series;
            }
            Err(m) => t.add_missing(m),
        }
        r.restore.push(t);
    }
}

fn id_program(id: &str) -> &'static str {
    if id.ends_with("-sleep") {
        "`sleep`"
    } else {
        "`pause-nolibc`"
    }
}

/// A worker of the async section (see `asyncwait`): never returns.
fn async_worker(args: &[String]) -> ! {
    #[cfg(feature = "tokio")]
    if let [kind, n, target] = args {
        asyncwait::worker(kind, n.parse().unwrap_or(0), Path::new(target));
    }
    let _ = args;
    println!("error usage: --async-worker KIND N TARGET (with the tokio feature)");
    std::process::exit(2)
}

/// The async section, rendered: `xclone::tokio` against `tokio::process`.
fn run_async(p: &Plan, target: &Path) -> String {
    let mut out = String::new();
    #[cfg(feature = "tokio")]
    {
        let (n, rounds) = if p.quick_async {
            (asyncwait::QUICK, 2)
        } else {
            (asyncwait::FULL, 8)
        };
        asyncwait::render(&mut out, &asyncwait::measure(n, rounds, target));
    }
    #[cfg(not(feature = "tokio"))]
    {
        let _ = (p.quick_async, target);
        out.push_str(
            "## 6. Async: awaiting concurrent children\n\nNot measured: the bench was built \
             without the `tokio` feature (bench/run.sh passes it).\n\n",
        );
    }
    out
}

/// The CPUs this process may run on.
fn affinity() -> libc::cpu_set_t {
    // SAFETY: cpu_set_t is plain data; sched_getaffinity fills it for this process.
    unsafe {
        let mut set: libc::cpu_set_t = std::mem::zeroed();
        libc::sched_getaffinity(0, std::mem::size_of_val(&set), &mut set);
        set
    }
}

fn set_affinity(set: &libc::cpu_set_t) -> Result<(), String> {
    // SAFETY: a valid cpu_set_t of the size passed.
    if unsafe { libc::sched_setaffinity(0, std::mem::size_of_val(set), set) } != 0 {
        return Err(format!(
            "sched_setaffinity: {}",
            std::io::Error::last_os_error()
        ));
    }
    Ok(())
}

fn only_cpu(n: usize) -> libc::cpu_set_t {
    // SAFETY: plain data manipulated with the libc macros.
    unsafe {
        let mut set: libc::cpu_set_t = std::mem::zeroed();
        libc::CPU_SET(n, &mut set);
        set
    }
}

fn main() {
    let argv: Vec<String> = std::env::args().collect();
    if argv.get(1).map(String::as_str) == Some("--async-worker") {
        async_worker(&argv[2..]);
    }
    let o = parse_opts();
    let p = plan(o.quick);
    if let Some(n) = o.worker_level {
        let Some(&level) = p.levels.get(n) else {
            eprintln!("no level {n} in this plan");
            std::process::exit(2);
        };
        match targets::build_all() {
            Ok(t) => levels::serve(level, &t, p.rounds),
            Err(e) => {
                println!("skip building the targets: {}", levels::one_line(&e));
                std::process::exit(0);
            }
        }
    }
    let started = Instant::now();
    let mut r = Results {
        machine: machine::Machine::collect(),
        quick: o.quick,
        rounds: Some(p.rounds),
        ..Default::default()
    };
    r.targets = match targets::build_all() {
        Ok(t) => t,
        Err(e) => {
            eprintln!("bench set-up failed: {e}");
            std::process::exit(1);
        }
    };
    let small = r.targets[0].path.clone();
    if !o.quick {
        eprintln!("waiting for the machine to become quiet (at most 60 s)");
        let (busy, waited) = machine::wait_quiet(Duration::from_secs(60));
        r.machine.busy_before = busy;
        r.machine.waited_secs = waited;
        r.machine.load_before = machine::loadavg();
    }
    if r.machine.busy_before.is_some_and(|b| b >= 0.05) {
        r.notes.push(format!(
            "The machine was not quiet when measuring started (other work used {:.0} % of the \
             CPU time): absolute numbers are noisy; ratios within a table are more robust \
             since rows alternate.",
            r.machine.busy_before.unwrap_or(0.0) * 100.0
        ));
    }
    let on = |s: &str| o.only.iter().any(|x| x == s);
    if on("api") {
        run_api(&mut r, &p);
    }
    if on("spawn") {
        run_spawn(&mut r, &p, o.quick);
    }
    if on("throughput") {
        run_throughput(&mut r, &p, &small);
    }
    if on("isolation") {
        run_isolation(&mut r, &p, &small);
    }
    if on("commands") {
        run_commands(&mut r, &p, &o, &small);
    }
    if on("restore") {
        run_restore(&mut r, o.quick);
    }
    if on("async") {
        r.asyncwait = Some(run_async(&p, &small));
    }
    r.machine.load_after = machine::loadavg();
    r.elapsed_secs = started.elapsed().as_secs_f64();
    let md = report::render(&r);
    match &o.write {
        Some(path) => {
            if let Err(e) = std::fs::write(path, &md) {
                eprintln!("writing {}: {e}", path.display());
                std::process::exit(1);
            }
            eprintln!("wrote {}", path.display());
        }
        None => print!("{md}"),
    }
}
