//! Chosen PIDs (`set_tid`) with and without a new pid namespace, seen from inside.

use xclone::{CloneFlags, Command, Stdio};
use xclone_testsupport::{free_pid, need_root, sh};

fn spawn_echo_pid(cmd: &mut Command) -> (u32, String) {
    let child = cmd.stdout(Stdio::piped()).spawn().expect("spawn");
    let id = child.id();
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success(), "{:?}", out.status);
    (id, String::from_utf8(out.stdout).unwrap())
}

#[test]
fn set_tid_in_the_callers_namespace() {
    need_root!();
    let want = free_pid(std::process::id() as i32 + 7000);
    let (id, out) = spawn_echo_pid(sh("echo $$").set_tid(&[want]));
    assert_eq!(id as i32, want);
    assert_eq!(out, format!("{want}\n"));
}

#[test]
fn set_tid_with_a_new_pid_namespace_is_1_inside_and_chosen_outside() {
    need_root!();
    let outer = free_pid(std::process::id() as i32 + 9000);
    let (id, out) = spawn_echo_pid(
        sh("echo $$; while read -r k a b; do [ \"$k\" = NSpid: ] && echo $a $b; done < /proc/self/status; true")
            .flags(CloneFlags::NEWPID)
            .set_tid(&[1, outer]),
    );
    assert_eq!(id as i32, outer);
    assert_eq!(out, format!("1\n{outer} 1\n"));
}

#[test]
fn set_tid_refusals_are_explained() {
    need_root!();
    // The first entry of a new pid namespace must be 1.
    let e = Command::new("true")
        .flags(CloneFlags::NEWPID)
        .set_tid(&[5])
        .spawn()
        .unwrap_err();
    assert_eq!(e.kind(), std::io::ErrorKind::InvalidInput, "{e}");
    assert!(e.to_string().contains("EINVAL"), "{e}");
    // A taken PID: our own.
    let e = Command::new("true")
        .set_tid(&[std::process::id() as i32])
        .spawn()
        .unwrap_err();
    assert!(e.to_string().contains("EEXIST"), "{e}");
}
