// The restore-manifest oracle, shared by the libFuzzer target (fuzz/fuzz_targets/manifest.rs)
// and the stable test (crates/xclone/tests/fuzz_manifest.rs) through `include!`.

/// Whatever the bytes: parsing answers `Ok` or a non-empty list of errors, each located (a
/// JSON path from `$`, or a line and column) and printable as one line, without panicking;
/// an accepted manifest prints as JSON that parses back to the same manifest, and the
/// whole-tree check answers it (accepted, or with located errors) for a few pid limits and
/// nesting depths.
pub fn manifest_case(data: &[u8]) {
    use xclone::restore::{check, Limits, Manifest};
    let Ok(text) = std::str::from_utf8(data) else {
        // `xclone restore` reads the manifest as UTF-8 text and refuses anything else.
        return;
    };
    let errors_are_located = |errs: &[xclone::restore::ManifestError]| {
        assert!(!errs.is_empty(), "a refusal without an error");
        for e in errs {
            assert!(e.path.starts_with('$'), "unlocated error: {e:?}");
            let line = e.to_string();
            assert!(
                !line.contains('\n'),
                "error on more than one line: {line:?}"
            );
        }
    };
    match Manifest::parse(text) {
        Err(errs) => errors_are_located(&errs),
        Ok(m) => {
            let printed = m.to_json_pretty();
            let again = Manifest::parse(&printed)
                .unwrap_or_else(|e| panic!("the printed manifest does not parse: {e:?}"));
            assert_eq!(again, m, "the printed manifest parses to another one");
            for (pid_max, restorer_level) in [(4_194_304, 0), (32_768, 3), (300, 31), (2, 0)] {
                let limits = Limits {
                    pid_max,
                    restorer_level,
                };
                if let Err(errs) = check(&m, &limits) {
                    errors_are_located(&errs);
                }
            }
        }
    }
}
