//! The committed man pages and shell completions are what the command-line definitions
//! generate now (regenerate with `cargo run -p xclone-cli -- __generate crates/xclone-cli`).

use std::path::Path;

const XCLONE: &str = env!("CARGO_BIN_EXE_xclone");

fn files(dir: &Path) -> Vec<String> {
    let mut v: Vec<String> = ["man", "completions"]
        .iter()
        .flat_map(|sub| {
            std::fs::read_dir(dir.join(sub))
                .map(|rd| {
                    rd.map(|e| format!("{sub}/{}", e.unwrap().file_name().to_string_lossy()))
                        .collect::<Vec<_>>()
                })
                .unwrap_or_default()
        })
        .collect();
    v.sort();
    v
}

#[test]
fn man_pages_and_completions_are_current() {
    let fresh = std::env::temp_dir().join(format!("xclone-generate-{}", std::process::id()));
    let out = std::process::Command::new(XCLONE)
        .arg("__generate")
        .arg(&fresh)
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    let committed = Path::new(env!("CARGO_MANIFEST_DIR"));
    let names = files(&fresh);
    assert!(names.contains(&"man/xclone-run.1".to_string()), "{names:?}");
    assert!(
        names.contains(&"completions/_xclone".to_string()),
        "{names:?}"
    );
    assert_eq!(
        files(committed),
        names,
        "the set of generated files changed"
    );
    for n in &names {
        let want = std::fs::read(fresh.join(n)).unwrap();
        let have = std::fs::read(committed.join(n)).unwrap_or_default();
        assert!(
            want == have,
            "{n} is stale: run `cargo run -p xclone-cli -- __generate crates/xclone-cli`"
        );
    }
    let man = String::from_utf8(std::fs::read(fresh.join("man/xclone-enter.1")).unwrap()).unwrap();
    assert!(man.contains("wdns"), "the enter page documents its options");
    let _ = std::fs::remove_dir_all(&fresh);
}
