//! What an unprivileged process can do once a new user namespace comes first: every other
//! namespace, a root map of its own uid, a host name, a fresh proc, time offsets — run as
//! uid 65534 (this test binary started again under that uid).

use xclone::isolate::{IdMaps, Propagation, TimeOffsets};
use xclone::{CloneFlags, Command};
use xclone_testsupport::{
    assert_inner_passed, inner_done, is_inner, need_root, own_ns, run_inner, sh, stdout_of,
};

const NOBODY: u32 = 65534;

fn as_nobody(c: &mut Command) {
    c.uid(NOBODY)
        .gid(NOBODY)
        .groups(&[])
        .stdout(xclone::Stdio::piped())
        .stderr(xclone::Stdio::piped());
}

fn all_namespaces() -> CloneFlags {
    CloneFlags::NEWUSER
        | CloneFlags::NEWNS
        | CloneFlags::NEWUTS
        | CloneFlags::NEWIPC
        | CloneFlags::NEWNET
        | CloneFlags::NEWPID
        | CloneFlags::NEWCGROUP
        | CloneFlags::NEWTIME
}

#[test]
fn user_namespace_first_then_everything() {
    const NAME: &str = "user_namespace_first_then_everything";
    if is_inner(NAME) {
        assert_eq!(rustix::process::geteuid().as_raw(), NOBODY);
        let names = ["user", "mnt", "uts", "ipc", "net", "pid", "cgroup", "time"];
        let script = format!(
            "id -u; id -g; cat /proc/self/uid_map /proc/self/gid_map /proc/self/setgroups; \
             hostname; ps -e -o pid=,comm=; echo ---; for n in {}; do readlink /proc/self/ns/$n; done",
            names.join(" ")
        );
        let out = stdout_of(
            sh(&script)
                .flags(all_namespaces())
                .id_maps(IdMaps::root(NOBODY, NOBODY))
                .hostname("unpriv-box")
                .mount_propagation(Propagation::Private)
                .mount_proc("/proc"),
        );
        let (head, links) = out.split_once("---\n").unwrap();
        let words: Vec<&str> = head.split_whitespace().collect();
        assert_eq!(
            words[..10],
            [
                "0",
                "0",
                "0",
                "65534",
                "1",
                "0",
                "65534",
                "1",
                "deny",
                "unpriv-box"
            ],
            "{out}"
        );
        // The fresh proc shows only the child's tree: sh as PID 1 and its ps.
        assert_eq!(words.len(), 14, "{out}");
        assert_eq!(
            [words[10], words[11], words[13]],
            ["1", "sh", "ps"],
            "{out}"
        );
        for (n, link) in names.iter().zip(links.lines()) {
            assert_ne!(link, own_ns(n), "{n}");
        }
        // Time offsets need CAP_SYS_TIME over the new time namespace: the child has it in
        // its own user namespace.
        if let Ok(release) = std::env::var(NO_SPAWN_OFFSETS) {
            eprintln!(
                "(time offsets part skipped: Linux {release} puts a CLONE_VM child into its new \
                 time namespace at creation, until 6.2)"
            );
        } else if let Ok(probe) = std::env::var("XCLONE_PROBE") {
            let out = stdout_of(
                Command::new(probe)
                    .arg("time")
                    .flags(CloneFlags::NEWUSER | CloneFlags::NEWTIME)
                    .id_maps(IdMaps::root(NOBODY, NOBODY))
                    .time_offsets(TimeOffsets {
                        monotonic: Some("86400".parse().unwrap()),
                        boottime: None,
                    }),
            );
            let mono: i64 = out.split_whitespace().next().unwrap().parse().unwrap();
            let now = rustix::time::clock_gettime(rustix::time::ClockId::Monotonic).tv_sec;
            assert!(
                mono >= now + 86400 - 1 && mono <= now + 86400 + 1,
                "{out} vs {now}"
            );
        } else {
            eprintln!("(time offsets part skipped: no static probe program)");
        }
        // set_tid of PID 1 alone is allowed in one's own new pid namespace.
        let out = stdout_of(
            sh("echo $$")
                .flags(CloneFlags::NEWUSER | CloneFlags::NEWPID)
                .id_maps(IdMaps::root(NOBODY, NOBODY))
                .set_tid(&[1]),
        );
        assert_eq!(out, "1\n");
        inner_done(NAME);
        return;
    }
    need_root!();
    // Asked as root: uid 65534 could not ask.
    let old_kernel = xclone::isolate::vm_child_enters_time_ns_at_exec() == Some(false);
    let out = run_inner(NAME, |c| {
        as_nobody(c);
        if old_kernel {
            c.env(
                NO_SPAWN_OFFSETS,
                rustix::system::uname().release().to_string_lossy().as_ref(),
            );
        }
    });
    assert_inner_passed(NAME, &out);
    if old_kernel {
        eprintln!(
            "skipped the time offsets part: Linux {} puts a CLONE_VM child into its new time \
             namespace at creation (until 6.2)",
            rustix::system::uname().release().to_string_lossy()
        );
    }
}

/// Set for the inner run on kernels where a spawn cannot give time offsets (before 6.2).
const NO_SPAWN_OFFSETS: &str = "XCLONE_TEST_NO_SPAWN_OFFSETS";

#[test]
fn without_a_user_namespace_the_kernel_refuses_with_an_explanation() {
    const NAME: &str = "without_a_user_namespace_the_kernel_refuses_with_an_explanation";
    if is_inner(NAME) {
        let e = Command::new("true")
            .flags(CloneFlags::NEWUTS)
            .spawn()
            .unwrap_err();
        assert_eq!(e.kind(), std::io::ErrorKind::PermissionDenied, "{e}");
        assert!(e.to_string().contains("CAP_SYS_ADMIN"), "{e}");
        // A multi-range map without newuidmap on PATH: refused before the clone.
        let mut maps = IdMaps::root(NOBODY, NOBODY);
        maps.uid.push(xclone::isolate::IdRange {
            inside: 1,
            outside: 100000,
            count: 10,
        });
        std::env::set_var("PATH", "/nonexistent");
        let e = Command::new("/bin/true")
            .flags(CloneFlags::NEWUSER)
            .id_maps(maps)
            .spawn()
            .unwrap_err();
        assert!(e.to_string().contains("newuidmap is not on PATH"), "{e}");
        inner_done(NAME);
        return;
    }
    need_root!();
    let out = run_inner(NAME, as_nobody);
    assert_inner_passed(NAME, &out);
}
