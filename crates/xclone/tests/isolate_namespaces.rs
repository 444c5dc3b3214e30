//! Every namespace flag creates the child inside a new namespace, all of them in one clone3
//! call: observed from inside through `/proc/self/ns/*`.

use xclone::isolate::IdMaps;
use xclone::{CloneFlags, Command};
use xclone_testsupport::{need_root, own_ns, sh, stdout_of};

const NAMESPACES: [(&str, CloneFlags); 8] = [
    ("user", CloneFlags::NEWUSER),
    ("mnt", CloneFlags::NEWNS),
    ("uts", CloneFlags::NEWUTS),
    ("ipc", CloneFlags::NEWIPC),
    ("net", CloneFlags::NEWNET),
    ("pid", CloneFlags::NEWPID),
    ("cgroup", CloneFlags::NEWCGROUP),
    ("time", CloneFlags::NEWTIME),
];

/// The child's view of all its namespace links, by name.
fn child_namespaces(cmd: &mut Command) -> Vec<(String, String)> {
    let names: Vec<&str> = NAMESPACES.iter().map(|(n, _)| *n).collect();
    let script = names
        .iter()
        .map(|n| format!("echo {n} $(readlink /proc/self/ns/{n})"))
        .collect::<Vec<_>>()
        .join("; ");
    let out = stdout_of(cmd.arg("-c").arg(script));
    out.lines()
        .map(|l| {
            let (n, v) = l.split_once(' ').unwrap();
            (n.to_string(), v.to_string())
        })
        .collect()
}

#[test]
fn each_namespace_flag_alone() {
    need_root!();
    for (name, flag) in NAMESPACES {
        let mut cmd = Command::new("sh");
        cmd.flags(flag);
        for (n, inside) in child_namespaces(&mut cmd) {
            let outside = own_ns(&n);
            if n == name {
                assert_ne!(
                    inside, outside,
                    "{name}: the child is not in a new namespace"
                );
            } else {
                assert_eq!(inside, outside, "{name} alone changed the {n} namespace");
            }
        }
    }
}

#[test]
fn all_namespaces_in_one_call() {
    need_root!();
    let all = NAMESPACES
        .iter()
        .fold(CloneFlags::empty(), |a, (_, f)| a | *f);
    let mut cmd = Command::new("sh");
    cmd.flags(all).id_maps(IdMaps::root(0, 0));
    let seen = child_namespaces(&mut cmd);
    assert_eq!(seen.len(), 8);
    for (n, inside) in seen {
        assert_ne!(inside, own_ns(&n), "{n} not new");
    }
    // The request was one clone3 call without CLONE_VFORK (the maps handshake).
    let args = cmd.get_clone_args();
    assert!(args
        .get_flags()
        .contains(all | CloneFlags::VM | CloneFlags::PIDFD));
    assert!(!args.get_flags().contains(CloneFlags::VFORK));
}

#[test]
fn pid_namespace_child_is_pid_1_and_others_see_it_outside() {
    need_root!();
    // The shell reads its own status (a builtin loop: grep would be another process).
    let mut cmd = sh(
        "echo $$; while read -r k a b; do [ \"$k\" = NSpid: ] && echo $k $a $b; done < /proc/self/status",
    );
    cmd.flags(CloneFlags::NEWPID).stdout(xclone::Stdio::piped());
    let child = cmd.spawn().unwrap();
    let outside = child.id();
    let out = child.wait_with_output().unwrap();
    let text = String::from_utf8(out.stdout).unwrap();
    let mut lines = text.lines();
    assert_eq!(lines.next(), Some("1"));
    // /proc here is the parent's: NSpid lists the PID there, then inside.
    assert_eq!(
        lines.next().unwrap().split_whitespace().collect::<Vec<_>>(),
        ["NSpid:", &outside.to_string(), "1"]
    );
}
