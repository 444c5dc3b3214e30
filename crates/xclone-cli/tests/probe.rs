//! `xclone probe` end to end: the JSON is valid for python3's json.tool, its keys say what the
//! library finds, and the table names every feature.

use std::io::Write;
use std::process::{Command, Stdio};
use xclone::{probe::Availability, probe::Features, FLAG_INFO};

fn xclone(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_xclone"))
        .args(args)
        .output()
        .expect("run xclone")
}

#[test]
fn json_passes_python_json_tool_and_matches_the_library() {
    let out = xclone(&["probe", "--json"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );

    match Command::new("python3")
        .args(["-m", "json.tool"])
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
    {
        Ok(mut py) => {
            py.stdin.take().unwrap().write_all(&out.stdout).unwrap();
            let res = py.wait_with_output().unwrap();
            assert!(
                res.status.success(),
                "json.tool refused the output: {}",
                String::from_utf8_lossy(&res.stderr)
            );
        }
        Err(e) => eprintln!("skipped the json.tool half: python3 not runnable: {e}"),
    }

    let j: serde_json::Value = serde_json::from_slice(&out.stdout).expect("one JSON object");
    let f = Features::probe();
    assert_eq!(j["format"], 1);
    assert_eq!(j["kernel_release"], f.kernel_release.as_str());
    let c3 = &j["features"]["clone3"];
    assert_eq!(c3["available"], f.clone3.usable());
    assert_eq!(
        c3["state"],
        match f.clone3 {
            Availability::Yes => "yes",
            Availability::Missing => "missing",
            Availability::Filtered(_) => "filtered",
            other => panic!("a clone3 state this test does not know: {other:?}"),
        }
    );
    assert_eq!(j["features"]["set_tid"]["available"], f.set_tid);
    assert_eq!(j["features"]["into_cgroup"]["available"], f.into_cgroup);
    assert_eq!(j["clone_args_max_size"], f.clone_args_max_size);
    for key in [
        "clone3",
        "set_tid",
        "into_cgroup",
        "clear_sighand",
        "newtime_clone3",
        "clone_pidfd",
        "pidfd_open",
        "pidfd_send_signal",
        "pidfd_getfd",
        "waitid_pidfd",
        "setns_pidfd",
        "time_namespaces",
        "cgroup2",
        "user_namespaces",
    ] {
        let line = &j["features"][key];
        assert!(line["available"].is_boolean(), "{key}: {line}");
        assert!(line["why"].as_str().is_some_and(|w| !w.is_empty()), "{key}");
    }
    // One entry per named flag, each saying whether this kernel knows it.
    let flags = j["flags"].as_array().expect("flags array");
    assert_eq!(flags.len(), FLAG_INFO.len());
    for (line, info) in flags.iter().zip(FLAG_INFO) {
        assert_eq!(line["name"], info.name);
        assert_eq!(line["bit"], info.bit());
        assert_eq!(
            line["known"],
            f.clone3_flags.contains(info.flag),
            "{}",
            info.name
        );
    }
    assert_eq!(
        j["cgroup2_mount"].as_str(),
        f.cgroup2_mount.as_deref().and_then(|p| p.to_str())
    );
    assert!(j["capabilities"]["relevant"]
        .as_array()
        .unwrap()
        .iter()
        .any(|c| c["name"] == "CAP_SYS_ADMIN"));
}

#[test]
fn table_names_every_feature_and_flag() {
    let out = xclone(&["probe"]);
    assert!(out.status.success());
    let text = String::from_utf8(out.stdout).unwrap();
    let f = Features::probe();
    assert!(text.contains(&format!("Kernel: Linux {}", f.kernel_release)));
    let clone3_row = text
        .lines()
        .find(|l| l.starts_with("clone3(2)"))
        .expect("a clone3 row");
    assert!(clone3_row.contains(if f.clone3.usable() { " yes " } else { " no" }));
    for info in FLAG_INFO {
        assert!(text.contains(info.name), "{} missing", info.name);
    }
    assert!(text.contains("CAP_SYS_ADMIN"));
}
