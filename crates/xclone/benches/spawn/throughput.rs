//! Spawns per second from one and from two threads of the same process.

use std::sync::Barrier;
use std::time::{Duration, Instant};

/// Makes the per-thread operation (each thread builds its own, since exec arguments hold raw
/// pointers that are not shared between threads).
pub type MakeOp<'a> = dyn Fn() -> Box<dyn FnMut() -> Result<(), String>> + Sync + 'a;

/// Total operations per second of `threads` threads each running the operation back to back
/// for `dur`.
pub fn rate(make: &MakeOp<'_>, threads: usize, dur: Duration) -> Result<f64, String> {
    let start = Barrier::new(threads + 1);
    let counts = std::thread::scope(|s| {
        let handles: Vec<_> = (0..threads)
            .map(|_| {
                s.spawn(|| {
                    let mut op = make();
                    start.wait();
                    let t0 = Instant::now();
                    let mut n = 0u64;
                    while t0.elapsed() < dur {
                        op()?;
                        n += 1;
                    }
                    Ok::<_, String>((n, t0.elapsed()))
                })
            })
            .collect();
        start.wait();
        handles
            .into_iter()
            .map(|h| h.join().unwrap_or_else(|_| Err("thread panicked".into())))
            .collect::<Vec<_>>()
    });
    let mut total = 0.0;
    for c in counts {
        let (n, el) = c?;
        total += n as f64 / el.as_secs_f64();
    }
    Ok(total)
}

/// One mechanism's measurements.
#[derive(Clone, Debug, Default)]
pub struct Row {
    pub label: String,
    pub one: Vec<f64>,
    pub two: Vec<f64>,
    pub error: Option<String>,
}

/// Runs every mechanism at 1 and 2 threads, round by round with the order rotated.
pub fn measure(mechs: &[(String, Box<MakeOp<'_>>)], rounds: usize, dur: Duration) -> Vec<Row> {
    let mut rows: Vec<Row> = mechs
        .iter()
        .map(|(l, _)| Row {
            label: l.clone(),
            ..Default::default()
        })
        .collect();
    let n = mechs.len();
    for r in 0..rounds {
        for k in 0..n {
            let i = (r + k) % n;
            if rows[i].error.is_some() {
                continue;
            }
            let order: [usize; 2] = if r % 2 == 0 { [1, 2] } else { [2, 1] };
            for t in order {
                match rate(mechs[i].1.as_ref(), t, dur) {
                    Ok(v) if t == 1 => rows[i].one.push(v),
                    Ok(v) => rows[i].two.push(v),
                    Err(e) => rows[i].error = Some(e),
                }
            }
        }
    }
    rows
}
