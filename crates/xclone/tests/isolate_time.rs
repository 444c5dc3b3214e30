//! Time-namespace offsets: the program's first clock reading is already shifted.

use xclone::isolate::{ClockOffset, IdMaps, TimeOffsets};
use xclone::{CloneFlags, Command};
use xclone_testsupport::{clocks, need_probe, need_root, stdout_of};

/// The probe's (monotonic, boottime) readings in nanoseconds, with the parent's readings of
/// both clocks just before the spawn and just after the child ended.
fn shifted_readings(cmd: &mut Command) -> ([i128; 2], [i128; 2], [i128; 2]) {
    let before = clocks();
    let out = stdout_of(cmd);
    let after = clocks();
    let f: Vec<i128> = out.split_whitespace().map(|x| x.parse().unwrap()).collect();
    (
        before,
        [f[0] * 1_000_000_000 + f[1], f[2] * 1_000_000_000 + f[3]],
        after,
    )
}

/// Child reading minus offset must fall between the parent's readings before and after
/// (give or take a millisecond): the clocks are the same clocks, shifted.
fn assert_shift(name: &str, before: i128, child: i128, after: i128, offset: ClockOffset) {
    const MS: i128 = 1_000_000;
    let unshifted = child - offset.as_nanos();
    assert!(
        before - MS <= unshifted && unshifted <= after + MS,
        "{name}: child {child} - offset {offset} = {unshifted}, not within [{before}, {after}] ± 1 ms"
    );
}

/// Whether a spawned child can write its own offsets here (Linux 6.2+); else the spawn's
/// refusal is checked and the caller skips the rest, naming the kernel.
fn child_writes_offsets() -> bool {
    if xclone::isolate::vm_child_enters_time_ns_at_exec() != Some(false) {
        return true;
    }
    let e = Command::new("true")
        .flags(CloneFlags::NEWTIME)
        .time_offsets(TimeOffsets {
            monotonic: Some("1".parse().unwrap()),
            boottime: None,
        })
        .spawn()
        .unwrap_err();
    let text = e.to_string();
    assert!(
        text.contains("before 6.2") && text.contains("enter_new_time_namespace"),
        "{e}"
    );
    eprintln!(
        "skipped: Linux {} puts a CLONE_VM child into its new time namespace at creation \
         (until 6.2), so a spawn cannot set offsets; its refusal was checked",
        rustix::system::uname().release().to_string_lossy()
    );
    false
}

/// The probe against util-linux: after `unshare --time`, execve moves the process into the
/// new time namespace exactly on the kernels (6.2+, 2b5f9dad32ed) where a CLONE_VM child
/// enters it at execve and not at creation — the same change.
#[test]
fn the_probe_agrees_with_unshare() {
    need_root!();
    if !xclone_testsupport::have_unshare() {
        eprintln!("skipped: util-linux unshare(1) not found");
        return;
    }
    // readlink itself is the exec'd process (a shell would fork, or vfork, which before 6.2
    // is refused after unshare(CLONE_NEWTIME)).
    let out = std::process::Command::new("unshare")
        .args([
            "--time",
            "readlink",
            "/proc/self/ns/time",
            "/proc/self/ns/time_for_children",
        ])
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    let text = String::from_utf8(out.stdout).unwrap();
    let links: Vec<&str> = text.lines().collect();
    assert_eq!(links.len(), 2, "{text}");
    let switched_at_exec = links[0] == links[1];
    assert_eq!(
        xclone::isolate::vm_child_enters_time_ns_at_exec(),
        Some(switched_at_exec),
        "{text}"
    );
}

#[test]
fn monotonic_and_boottime_offsets_seen_by_the_first_instruction() {
    need_root!();
    let probe = need_probe!();
    if !child_writes_offsets() {
        return;
    }
    let mono: ClockOffset = "86400.25".parse().unwrap();
    let boot: ClockOffset = "-3.5".parse().unwrap();
    let (b, c, a) = shifted_readings(
        Command::new(probe)
            .arg("time")
            .flags(CloneFlags::NEWTIME)
            .time_offsets(TimeOffsets {
                monotonic: Some(mono),
                boottime: Some(boot),
            }),
    );
    assert_shift("CLOCK_MONOTONIC", b[0], c[0], a[0], mono);
    assert_shift("CLOCK_BOOTTIME", b[1], c[1], a[1], boot);
}

#[test]
fn offsets_with_a_user_namespace_and_only_one_clock() {
    need_root!();
    let probe = need_probe!();
    if !child_writes_offsets() {
        return;
    }
    let mono: ClockOffset = "-1.000000001".parse().unwrap();
    let (b, c, a) = shifted_readings(
        Command::new(probe)
            .arg("time")
            .flags(CloneFlags::NEWTIME | CloneFlags::NEWUSER)
            .id_maps(IdMaps::root(0, 0))
            .time_offsets(TimeOffsets {
                monotonic: Some(mono),
                boottime: None,
            }),
    );
    assert_shift("CLOCK_MONOTONIC", b[0], c[0], a[0], mono);
    assert_shift("CLOCK_BOOTTIME", b[1], c[1], a[1], ClockOffset::ZERO);
}

#[test]
fn a_new_time_namespace_without_offsets_is_unshifted_and_bad_offsets_are_explained() {
    need_root!();
    let probe = need_probe!();
    let (b, c, a) = shifted_readings(Command::new(probe).arg("time").flags(CloneFlags::NEWTIME));
    assert_shift("CLOCK_MONOTONIC", b[0], c[0], a[0], ClockOffset::ZERO);
    if !child_writes_offsets() {
        return;
    }
    // Far below zero: the kernel refuses (ERANGE), the child reports the step.
    let mut cmd = Command::new(probe);
    cmd.arg("time")
        .flags(CloneFlags::NEWTIME)
        .time_offsets(TimeOffsets {
            monotonic: Some("-100000000".parse().unwrap()),
            boottime: None,
        });
    let e = cmd.spawn().unwrap_err();
    assert_eq!(e.raw_os_error(), Some(xclone::Errno::ERANGE.0));
    let se = cmd.last_spawn_error().expect("a SpawnError");
    assert_eq!(se.step(), xclone::Step::TimeOffsets);
    assert_eq!(se.errno(), xclone::Errno::ERANGE);
    assert!(se.to_string().contains("monotonic -100000000 0"), "{se}");
    // Offsets without the namespace: refused before the clone.
    let e = Command::new("true")
        .time_offsets(TimeOffsets {
            monotonic: Some("1".parse().unwrap()),
            boottime: None,
        })
        .spawn()
        .unwrap_err();
    assert!(e.to_string().contains("CLONE_NEWTIME"), "{e}");
}
