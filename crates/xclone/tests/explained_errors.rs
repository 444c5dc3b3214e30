//! A clone3 the kernel refuses comes back with the errno and the validator's explanation of it.

use xclone::Command;

#[test]
fn taken_pid_is_explained() {
    if !rustix::process::geteuid().is_root() {
        eprintln!(
            "skipped: choosing a PID with set_tid needs CAP_SYS_ADMIN or CAP_CHECKPOINT_RESTORE"
        );
        return;
    }
    // Our own PID is taken at level 0 for as long as this test runs.
    let own = std::process::id() as i32;
    let err = Command::new("true").set_tid(&[own]).status().unwrap_err();
    assert_eq!(
        err.raw_os_error(),
        None,
        "the message should be the explained one: {err}"
    );
    assert_eq!(err.kind(), std::io::ErrorKind::AlreadyExists, "{err}");
    let msg = err.to_string();
    assert!(msg.starts_with("clone3: EEXIST"), "{msg}");
    assert!(
        msg.contains(&own.to_string()),
        "the cause names the PID: {msg}"
    );
    assert!(msg.contains("fix: "), "{msg}");
}

#[test]
fn bad_exit_signal_is_explained() {
    let err = Command::new("true").exit_signal(65).status().unwrap_err();
    assert_eq!(err.kind(), std::io::ErrorKind::InvalidInput, "{err}");
    let msg = err.to_string();
    assert!(msg.starts_with("clone3: EINVAL"), "{msg}");
    assert!(msg.contains("exit_signal is 65"), "{msg}");
    assert!(msg.contains("fix: "), "{msg}");
}
