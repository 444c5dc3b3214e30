//! User namespaces: maps written by the parent while the child waits (the handshake spawn),
//! observed from inside by the program's first look.

use xclone::isolate::{IdMap, IdMaps, IdRange, IsolationError, SetGroups};
use xclone::{CloneFlags, Command};
use xclone_testsupport::{
    assert_inner_passed, inner_done, is_inner, need_root, run_inner, sh, stdout_of,
};

#[test]
fn map_root_user_as_root() {
    need_root!();
    let out = stdout_of(
        sh("id -u; id -g; cat /proc/self/uid_map /proc/self/gid_map /proc/self/setgroups")
            .flags(CloneFlags::NEWUSER)
            .id_maps(IdMaps::root(0, 0)),
    );
    let words: Vec<&str> = out.split_whitespace().collect();
    assert_eq!(
        words,
        ["0", "0", "0", "0", "1", "0", "0", "1", "allow"],
        "{out}"
    );
}

#[test]
fn multi_range_maps_and_setgroups_deny() {
    need_root!();
    let maps = IdMaps {
        uid: IdMap(vec![
            IdRange::single(0, 100000),
            IdRange {
                inside: 1,
                outside: 200001,
                count: 999,
            },
        ]),
        gid: IdMap(vec![IdRange {
            inside: 0,
            outside: 300000,
            count: 1000,
        }]),
        setgroups: Some(SetGroups::Deny),
    };
    let out = stdout_of(
        sh("id -u; cat /proc/self/uid_map; cat /proc/self/gid_map; cat /proc/self/setgroups")
            .flags(CloneFlags::NEWUSER)
            .id_maps(maps),
    );
    let lines: Vec<Vec<&str>> = out
        .lines()
        .map(|l| l.split_whitespace().collect())
        .collect();
    // The child keeps its credentials (root's uid 0 outside), which this map does not
    // cover: inside it shows as the overflow uid.
    let overflow = std::fs::read_to_string("/proc/sys/kernel/overflowuid").unwrap();
    assert_eq!(
        lines,
        [
            vec![overflow.trim()],
            vec!["0", "100000", "1"],
            vec!["1", "200001", "999"],
            vec!["0", "300000", "1000"],
            vec!["deny"],
        ],
        "{out}"
    );
}

#[test]
fn maps_exist_before_exec_even_for_a_program_that_looks_at_once() {
    need_root!();
    // cat's first read of the map happens right after exec: with the handshake the maps
    // are there; without it (no maps) the namespace would show an empty map.
    for _ in 0..20 {
        let out = stdout_of(
            Command::new("cat")
                .arg("/proc/self/uid_map")
                .flags(CloneFlags::NEWUSER)
                .id_maps(IdMaps::user(7, 7, 0, 0)),
        );
        assert_eq!(out.split_whitespace().collect::<Vec<_>>(), ["7", "0", "1"]);
    }
    let empty = stdout_of(
        Command::new("cat")
            .arg("/proc/self/uid_map")
            .flags(CloneFlags::NEWUSER),
    );
    assert_eq!(empty, "");
}

#[test]
fn requests_that_cannot_work_fail_before_the_clone() {
    // Maps without a user namespace.
    let e = Command::new("true")
        .id_maps(IdMaps::root(0, 0))
        .spawn()
        .unwrap_err();
    assert_eq!(e.kind(), std::io::ErrorKind::InvalidInput);
    assert!(e.to_string().contains("CLONE_NEWUSER"), "{e}");
    // Overlapping ranges.
    let mut m = IdMaps::root(0, 0);
    m.uid.push(IdRange::single(0, 5));
    let e = Command::new("true")
        .flags(CloneFlags::NEWUSER)
        .id_maps(m)
        .spawn()
        .unwrap_err();
    let ie = IsolationError::from_io(&e).expect("an IsolationError");
    assert!(ie.cause.contains("overlap"), "{e}");
}

/// A map the kernel refuses only once written (an outside id that the writer's own user
/// namespace does not map, EPERM from map_write): the child is killed and reaped, the error
/// explains.
#[test]
fn kernel_refusal_of_a_map_kills_the_waiting_child() {
    const NAME: &str = "kernel_refusal_of_a_map_kills_the_waiting_child";
    if is_inner(NAME) {
        // Inside a user namespace that maps only uid 0: mapping outside uid 1 is EINVAL.
        let maps = IdMaps {
            uid: IdMap(vec![IdRange::single(0, 0), IdRange::single(1, 1)]),
            ..Default::default()
        };
        let e = Command::new("true")
            .flags(CloneFlags::NEWUSER)
            .id_maps(maps)
            .spawn()
            .unwrap_err();
        let ie = IsolationError::from_io(&e).unwrap_or_else(|| panic!("not explained: {e}"));
        assert_eq!(ie.errno, Some(xclone::Errno::EPERM), "{e}");
        assert!(ie.op.contains("uid_map '0 0 1, 1 1 1'"), "{e}");
        assert!(
            ie.cause
                .contains("outside uid has no mapping in the writer's own user namespace"),
            "{e}"
        );
        // No zombie left behind: this process has no children any more.
        assert_eq!(
            rustix::process::waitpid(None, rustix::process::WaitOptions::NOHANG).unwrap_err(),
            rustix::io::Errno::CHILD
        );
        inner_done(NAME);
        return;
    }
    need_root!();
    let out = run_inner(NAME, |c| {
        c.flags(CloneFlags::NEWUSER)
            .id_maps(IdMaps::root(0, 0))
            .stdout(xclone::Stdio::piped())
            .stderr(xclone::Stdio::piped());
    });
    assert_inner_passed(NAME, &out);
}

#[test]
fn setup_failure_after_the_handshake_is_reported() {
    need_root!();
    let mut cmd = Command::new("true");
    cmd.flags(CloneFlags::NEWUSER)
        .id_maps(IdMaps::root(0, 0))
        .current_dir("/nonexistent-xclone");
    let e = cmd.spawn().unwrap_err();
    assert_eq!(e.raw_os_error(), Some(xclone::Errno::ENOENT.0));
    let se = cmd.last_spawn_error().expect("a SpawnError");
    assert_eq!(se.step(), xclone::Step::Chdir);
    assert_eq!(se.errno(), xclone::Errno::ENOENT);
    let mut cmd = Command::new("xclone-no-such-program");
    cmd.flags(CloneFlags::NEWUSER).id_maps(IdMaps::root(0, 0));
    let e = cmd.spawn().unwrap_err();
    assert_eq!(e.kind(), std::io::ErrorKind::NotFound);
    assert!(cmd.last_spawn_error().unwrap().is_not_found());
}

#[test]
fn many_handshake_spawns_in_threads() {
    need_root!();
    let threads: Vec<_> = (0..4)
        .map(|t| {
            std::thread::spawn(move || {
                for i in 0..25 {
                    let inside = t * 100 + i;
                    let out = stdout_of(
                        Command::new("cat")
                            .arg("/proc/self/uid_map")
                            .flags(CloneFlags::NEWUSER)
                            .id_maps(IdMaps::user(inside, 0, 0, 0)),
                    );
                    assert_eq!(
                        out.split_whitespace().collect::<Vec<_>>(),
                        [inside.to_string(), "0".into(), "1".into()]
                    );
                }
            })
        })
        .collect();
    for t in threads {
        t.join().unwrap();
    }
}
