//! The restore manifest: a versioned JSON description of a process tree (see [`Manifest`]).

#[cfg(feature = "serde")]
use serde_json::{Map, Value};
use std::fmt;

/// The manifest format version this library reads and writes.
pub const MANIFEST_VERSION: u32 = 1;

/// The largest manifest [`Manifest::read_text`] takes, in bytes: 64 MiB, room for more than
/// 100,000 processes with their environments. A larger input (`/dev/zero`, a wrong file) is
/// refused instead of read until memory runs out.
pub const MAX_MANIFEST_BYTES: usize = 64 << 20;

/// A process tree to create: exactly one process has no parent. In JSON, a versioned
/// document (schema: `docs/restore-manifest.schema.json` of the project, semantics:
/// `docs/restore.md`).
///
/// Parsing reports every problem with where it is: syntax errors by line and column (from
/// serde_json), everything else by JSON path (`$.processes[3].pids[1]`), because the document is
/// first read as a `serde_json::Value` and then converted field by field.
#[derive(Clone, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
pub struct Manifest {
    /// Always [`MANIFEST_VERSION`].
    pub version: u32,
    /// Every process of the tree, each naming its parent by `id`; exactly one has none.
    pub processes: Vec<ProcessSpec>,
}

/// One process of a [`Manifest`].
#[derive(Clone, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
pub struct ProcessSpec {
    /// Unique name within the manifest; `parent` refers to it.
    pub id: String,
    /// The `id` of the process that creates this one; `None` for the root, which the
    /// restorer creates.
    #[cfg_attr(feature = "serde", serde(skip_serializing_if = "Option::is_none"))]
    pub parent: Option<String>,
    /// The PID in every pid namespace the process lives in, **outermost first**: `pids[0]` is
    /// its PID in the restorer's pid namespace, the last one its PID in its own namespace
    /// (the order of `NSpid:` in `/proc/PID/status`; the reverse of clone3's `set_tid`).
    pub pids: Vec<i32>,
    /// The process starts a new pid namespace (`CLONE_NEWPID`) and is its PID 1.
    #[cfg_attr(feature = "serde", serde(skip_serializing_if = "is_false"))]
    pub new_pid_ns: bool,
    /// Session: `pids[0]` of the session leader, as seen in the restorer's namespace. Its own
    /// `pids[0]` makes it a session leader (`setsid`). `None` keeps the parent's session.
    #[cfg_attr(feature = "serde", serde(skip_serializing_if = "Option::is_none"))]
    pub sid: Option<i32>,
    /// Process group: `pids[0]` of the group leader, as seen in the restorer's namespace. Its
    /// own `pids[0]` makes it a group leader. `None` keeps the parent's group.
    #[cfg_attr(feature = "serde", serde(skip_serializing_if = "Option::is_none"))]
    pub pgid: Option<i32>,
    /// The executable. Absent: `argv[0]`. Without a `/` it is looked up in `PATH`.
    #[cfg_attr(feature = "serde", serde(skip_serializing_if = "Option::is_none"))]
    pub program: Option<String>,
    /// The argument vector, `argv[0]` included.
    pub argv: Vec<String>,
    /// The environment as `NAME=value` strings. Absent: the restorer's environment.
    #[cfg_attr(feature = "serde", serde(skip_serializing_if = "Option::is_none"))]
    pub env: Option<Vec<String>>,
    /// Working directory. Absent: the restorer's.
    #[cfg_attr(feature = "serde", serde(skip_serializing_if = "Option::is_none"))]
    pub cwd: Option<String>,
}

#[cfg(feature = "serde")]
fn is_false(b: &bool) -> bool {
    !*b
}

/// A problem in a manifest, located by JSON path or, for syntax errors, by line and column.
#[derive(Clone, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
#[non_exhaustive]
pub struct ManifestError {
    /// JSON path of the offending value (`$` for the document, `$.processes[3].pids[1]`).
    pub path: String,
    /// Line and column (1-based) for syntax errors.
    #[cfg_attr(feature = "serde", serde(skip_serializing_if = "Option::is_none"))]
    pub line_column: Option<(usize, usize)>,
    /// What is wrong, in words.
    pub message: String,
}

impl ManifestError {
    /// An error about the value at JSON path `path` (no line and column).
    pub fn at(path: impl Into<String>, message: impl Into<String>) -> Self {
        ManifestError {
            path: path.into(),
            line_column: None,
            message: message.into(),
        }
    }
}

impl fmt::Display for ManifestError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.line_column {
            Some((l, c)) => write!(f, "line {l}, column {c}: {}", self.message),
            None => write!(f, "{}: {}", self.path, self.message),
        }
    }
}

impl Manifest {
    /// Reads a manifest's text from `r` (a file, standard input), at most
    /// [`MAX_MANIFEST_BYTES`]: more is an `InvalidData` error that says so, as is text that is
    /// not UTF-8.
    pub fn read_text(r: impl std::io::Read) -> std::io::Result<String> {
        use std::io::Read;
        let mut buf = Vec::new();
        r.take(MAX_MANIFEST_BYTES as u64 + 1)
            .read_to_end(&mut buf)?;
        if buf.len() > MAX_MANIFEST_BYTES {
            return Err(std::io::Error::new(
                std::io::ErrorKind::InvalidData,
                format!(
                    "larger than {} MiB, the limit for a manifest \
                     (xclone::restore::MAX_MANIFEST_BYTES)",
                    MAX_MANIFEST_BYTES >> 20
                ),
            ));
        }
        String::from_utf8(buf)
            .map_err(|_| std::io::Error::new(std::io::ErrorKind::InvalidData, "not UTF-8 text"))
    }

    #[cfg(feature = "serde")]
    /// Parses a manifest, reporting every structural problem found (see the module docs).
    /// Whole-tree rules (parents, PIDs, sessions) are [`super::check()`]'s job.
    pub fn parse(text: &str) -> Result<Manifest, Vec<ManifestError>> {
        let value: Value = serde_json::from_str(text).map_err(|e| {
            vec![ManifestError {
                path: "$".into(),
                line_column: Some((e.line(), e.column())),
                message: format!("not valid JSON: {}", strip_position(&e.to_string())),
            }]
        })?;
        Self::from_value(&value)
    }

    #[cfg(feature = "serde")]
    /// Converts an already parsed JSON document.
    pub fn from_value(value: &Value) -> Result<Manifest, Vec<ManifestError>> {
        let mut errs = Vec::new();
        let manifest = convert_manifest(value, &mut errs);
        match manifest {
            Some(m) if errs.is_empty() => Ok(m),
            _ => Err(errs),
        }
    }

    #[cfg(feature = "serde")]
    /// The manifest as pretty-printed JSON (what `xclone tree --json` prints).
    pub fn to_json_pretty(&self) -> String {
        serde_json::to_string_pretty(self).expect("a manifest always serializes")
    }

    /// The process with this id.
    pub fn process(&self, id: &str) -> Option<&ProcessSpec> {
        self.processes.iter().find(|p| p.id == id)
    }
}

#[cfg(feature = "serde")]
fn strip_position(msg: &str) -> String {
    match msg.rfind(" at line ") {
        Some(i) => msg[..i].to_string(),
        None => msg.to_string(),
    }
}

#[cfg(feature = "serde")]
fn type_name(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

#[cfg(feature = "serde")]
/// `PATH.key`, or `PATH["key"]` (JSON-escaped) for a key that is not a plain name: an error
/// stays one line whatever the document holds.
fn key_path(path: &str, key: &str) -> String {
    let plain = !key.is_empty()
        && key
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-');
    if plain {
        format!("{path}.{key}")
    } else {
        format!("{path}[{}]", Value::String(key.to_string()))
    }
}

#[cfg(feature = "serde")]
fn check_keys(obj: &Map<String, Value>, path: &str, known: &[&str], errs: &mut Vec<ManifestError>) {
    for key in obj.keys() {
        if !known.contains(&key.as_str()) {
            errs.push(ManifestError::at(
                key_path(path, key),
                format!("unknown field (known: {})", known.join(", ")),
            ));
        }
    }
}

#[cfg(feature = "serde")]
fn convert_manifest(v: &Value, errs: &mut Vec<ManifestError>) -> Option<Manifest> {
    let Some(obj) = v.as_object() else {
        errs.push(ManifestError::at(
            "$",
            format!("a manifest is a JSON object, found {}", type_name(v)),
        ));
        return None;
    };
    check_keys(obj, "$", &["$schema", "version", "processes"], errs);
    if let Some(s) = obj.get("$schema") {
        if !s.is_string() {
            errs.push(ManifestError::at("$.$schema", "must be a string"));
        }
    }
    match obj.get("version") {
        None => errs.push(ManifestError::at(
            "$",
            format!("missing field `version` (this xclone reads version {MANIFEST_VERSION})"),
        )),
        Some(v) if v.as_u64() == Some(MANIFEST_VERSION as u64) => {}
        Some(v) => errs.push(ManifestError::at(
            "$.version",
            format!(
                "unsupported manifest version {v}; this xclone reads version {MANIFEST_VERSION}"
            ),
        )),
    }
    let processes = match obj.get("processes") {
        None => {
            errs.push(ManifestError::at("$", "missing field `processes`"));
            return None;
        }
        Some(Value::Array(a)) if a.is_empty() => {
            errs.push(ManifestError::at(
                "$.processes",
                "must list at least one process (the root)",
            ));
            return None;
        }
        Some(Value::Array(a)) => a,
        Some(other) => {
            errs.push(ManifestError::at(
                "$.processes",
                format!("must be an array, found {}", type_name(other)),
            ));
            return None;
        }
    };
    let procs: Vec<Option<ProcessSpec>> = processes
        .iter()
        .enumerate()
        .map(|(i, p)| convert_process(p, &format!("$.processes[{i}]"), errs))
        .collect();
    let procs: Option<Vec<ProcessSpec>> = procs.into_iter().collect();
    Some(Manifest {
        version: MANIFEST_VERSION,
        processes: procs?,
    })
}

#[cfg(feature = "serde")]
const PROCESS_FIELDS: &[&str] = &[
    "id",
    "parent",
    "pids",
    "new_pid_ns",
    "sid",
    "pgid",
    "program",
    "argv",
    "env",
    "cwd",
];

#[cfg(feature = "serde")]
fn convert_process(v: &Value, path: &str, errs: &mut Vec<ManifestError>) -> Option<ProcessSpec> {
    let Some(obj) = v.as_object() else {
        errs.push(ManifestError::at(
            path,
            format!("a process is a JSON object, found {}", type_name(v)),
        ));
        return None;
    };
    let before = errs.len();
    check_keys(obj, path, PROCESS_FIELDS, errs);
    let id = required(obj, path, "id", errs).and_then(|v| string(v, &format!("{path}.id"), errs));
    if id.as_deref() == Some("") {
        errs.push(ManifestError::at(format!("{path}.id"), "must not be empty"));
    }
    let parent = optional(obj, "parent").and_then(|v| string(v, &format!("{path}.parent"), errs));
    let pids = required(obj, path, "pids", errs).and_then(|v| {
        let p = format!("{path}.pids");
        let a = array(v, &p, errs)?;
        if a.is_empty() {
            errs.push(ManifestError::at(
                &p,
                "must hold at least one PID (the one in the restorer's pid namespace)",
            ));
        }
        let pids: Vec<Option<i32>> = a
            .iter()
            .enumerate()
            .map(|(k, x)| pid(x, &format!("{p}[{k}]"), errs))
            .collect();
        pids.into_iter().collect::<Option<Vec<i32>>>()
    });
    let new_pid_ns = match optional(obj, "new_pid_ns") {
        None => false,
        Some(Value::Bool(b)) => *b,
        Some(other) => {
            errs.push(ManifestError::at(
                format!("{path}.new_pid_ns"),
                format!("must be true or false, found {}", type_name(other)),
            ));
            false
        }
    };
    let sid = optional(obj, "sid").and_then(|v| pid(v, &format!("{path}.sid"), errs));
    let pgid = optional(obj, "pgid").and_then(|v| pid(v, &format!("{path}.pgid"), errs));
    let program =
        optional(obj, "program").and_then(|v| c_string(v, &format!("{path}.program"), errs));
    let argv = required(obj, path, "argv", errs).and_then(|v| {
        let p = format!("{path}.argv");
        let a = array(v, &p, errs)?;
        if a.is_empty() {
            errs.push(ManifestError::at(
                &p,
                "must hold at least argv[0] (the program's name)",
            ));
        }
        strings(a, &p, errs)
    });
    let env = optional(obj, "env").and_then(|v| {
        let p = format!("{path}.env");
        let a = array(v, &p, errs)?;
        let env = strings(a, &p, errs)?;
        for (k, e) in env.iter().enumerate() {
            if !e.contains('=') {
                errs.push(ManifestError::at(
                    format!("{p}[{k}]"),
                    "an environment entry has the form NAME=value",
                ));
            }
        }
        Some(env)
    });
    let cwd = optional(obj, "cwd").and_then(|v| c_string(v, &format!("{path}.cwd"), errs));
    if errs.len() > before {
        return None;
    }
    Some(ProcessSpec {
        id: id?,
        parent,
        pids: pids?,
        new_pid_ns,
        sid,
        pgid,
        program,
        argv: argv?,
        env,
        cwd,
    })
}

#[cfg(feature = "serde")]
fn required<'a>(
    obj: &'a Map<String, Value>,
    path: &str,
    key: &str,
    errs: &mut Vec<ManifestError>,
) -> Option<&'a Value> {
    match obj.get(key) {
        None | Some(Value::Null) => {
            errs.push(ManifestError::at(path, format!("missing field `{key}`")));
            None
        }
        Some(v) => Some(v),
    }
}

/// An absent field and an explicit `null` mean the same.
#[cfg(feature = "serde")]
fn optional<'a>(obj: &'a Map<String, Value>, key: &str) -> Option<&'a Value> {
    obj.get(key).filter(|v| !v.is_null())
}

#[cfg(feature = "serde")]
fn string(v: &Value, path: &str, errs: &mut Vec<ManifestError>) -> Option<String> {
    match v {
        Value::String(s) => Some(s.clone()),
        other => {
            errs.push(ManifestError::at(
                path,
                format!("must be a string, found {}", type_name(other)),
            ));
            None
        }
    }
}

/// A string that becomes a C string: no NUL bytes, not empty.
#[cfg(feature = "serde")]
fn c_string(v: &Value, path: &str, errs: &mut Vec<ManifestError>) -> Option<String> {
    let s = string(v, path, errs)?;
    if s.is_empty() {
        errs.push(ManifestError::at(path, "must not be empty"));
        return None;
    }
    if s.contains('\0') {
        errs.push(ManifestError::at(
            path,
            "contains a NUL byte, which a C string cannot hold",
        ));
        return None;
    }
    Some(s)
}

#[cfg(feature = "serde")]
fn array<'a>(v: &'a Value, path: &str, errs: &mut Vec<ManifestError>) -> Option<&'a Vec<Value>> {
    match v {
        Value::Array(a) => Some(a),
        other => {
            errs.push(ManifestError::at(
                path,
                format!("must be an array, found {}", type_name(other)),
            ));
            None
        }
    }
}

#[cfg(feature = "serde")]
fn strings(a: &[Value], path: &str, errs: &mut Vec<ManifestError>) -> Option<Vec<String>> {
    let before = errs.len();
    let out: Vec<String> = a
        .iter()
        .enumerate()
        .filter_map(|(k, x)| {
            let p = format!("{path}[{k}]");
            let s = string(x, &p, errs)?;
            if s.contains('\0') {
                errs.push(ManifestError::at(
                    p,
                    "contains a NUL byte, which a C string cannot hold",
                ));
            }
            Some(s)
        })
        .collect();
    (errs.len() == before).then_some(out)
}

#[cfg(feature = "serde")]
fn pid(v: &Value, path: &str, errs: &mut Vec<ManifestError>) -> Option<i32> {
    match v.as_i64() {
        Some(n) if (1..=i32::MAX as i64).contains(&n) => Some(n as i32),
        Some(n) => {
            errs.push(ManifestError::at(
                path,
                format!("{n} is not a PID (PIDs are 1 or more)"),
            ));
            None
        }
        None => {
            errs.push(ManifestError::at(
                path,
                format!("must be an integer PID, found {}", describe(v)),
            ));
            None
        }
    }
}

#[cfg(feature = "serde")]
fn describe(v: &Value) -> String {
    match v {
        Value::Number(n) => format!("the number {n}"),
        Value::String(s) => format!("the string {s:?}"),
        other => type_name(other).to_string(),
    }
}

#[cfg(all(test, feature = "serde"))]
mod tests {
    use super::*;

    #[test]
    fn odd_unknown_keys_stay_on_one_line() {
        let errs = Manifest::parse(r#"{"version": 1, "processes": [], "a\nb": 1, "ok_key": 2}"#)
            .unwrap_err();
        let paths: Vec<&str> = errs.iter().map(|e| e.path.as_str()).collect();
        assert!(paths.contains(&"$[\"a\\nb\"]"), "{paths:?}");
        assert!(paths.contains(&"$.ok_key"), "{paths:?}");
        assert!(errs.iter().all(|e| !e.to_string().contains('\n')));
    }

    const GOOD: &str = r#"{
        "version": 1,
        "processes": [
            {"id": "root", "pids": [30000], "sid": 30000, "program": "/bin/sleep", "argv": ["sleep", "100"]},
            {"id": "ns", "parent": "root", "pids": [30001, 1], "new_pid_ns": true, "argv": ["cat"],
             "env": ["A=b"], "cwd": "/", "pgid": null}
        ]
    }"#;

    #[test]
    fn parses_a_good_manifest() {
        let m = Manifest::parse(GOOD).unwrap();
        assert_eq!(m.processes.len(), 2);
        let ns = m.process("ns").unwrap();
        assert_eq!(ns.parent.as_deref(), Some("root"));
        assert_eq!(ns.pids, vec![30001, 1]);
        assert!(ns.new_pid_ns);
        assert_eq!(ns.pgid, None);
        assert_eq!(ns.env.as_deref(), Some(&["A=b".to_string()][..]));
        assert_eq!(m.processes[0].sid, Some(30000));
        assert_eq!(m.processes[0].program.as_deref(), Some("/bin/sleep"));
    }

    #[test]
    fn round_trips_through_json() {
        let m = Manifest::parse(GOOD).unwrap();
        let again = Manifest::parse(&m.to_json_pretty()).unwrap();
        assert_eq!(m, again);
        // Defaults are left out of the output.
        assert!(!m.to_json_pretty().contains("new_pid_ns\": false"));
    }

    #[test]
    fn syntax_errors_have_line_and_column() {
        let errs = Manifest::parse("{\n  \"version\": 1,\n  \"processes\": [,]\n}").unwrap_err();
        assert_eq!(errs.len(), 1);
        assert_eq!(errs[0].line_column, Some((3, 17)));
        let shown = errs[0].to_string();
        assert!(
            shown.starts_with("line 3, column 17: not valid JSON"),
            "{shown}"
        );
    }

    #[test]
    fn type_errors_have_json_paths() {
        let text = r#"{"version": 1, "processes": [
            {"id": "a", "pids": [1], "argv": ["x"]},
            {"id": "b", "parent": "a", "pids": [5, "7"], "argv": "x", "colour": 1}
        ]}"#;
        let errs = Manifest::parse(text).unwrap_err();
        let paths: Vec<&str> = errs.iter().map(|e| e.path.as_str()).collect();
        assert!(paths.contains(&"$.processes[1].pids[1]"), "{paths:?}");
        assert!(paths.contains(&"$.processes[1].argv"), "{paths:?}");
        assert!(paths.contains(&"$.processes[1].colour"), "{paths:?}");
        let pid_err = errs
            .iter()
            .find(|e| e.path == "$.processes[1].pids[1]")
            .unwrap();
        assert!(pid_err.message.contains("\"7\""), "{}", pid_err.message);
    }

    #[test]
    fn version_and_shape_are_checked() {
        let errs = Manifest::parse(r#"{"version": 2, "processes": []}"#).unwrap_err();
        assert_eq!(errs[0].path, "$.version");
        assert!(errs[0].message.contains("version 2"));
        assert_eq!(errs[1].path, "$.processes");
        let errs = Manifest::parse("[]").unwrap_err();
        assert_eq!(errs[0].path, "$");
        let errs =
            Manifest::parse(r#"{"processes": [{"pids": [0, -3], "argv": []}]}"#).unwrap_err();
        let shown: Vec<String> = errs.iter().map(|e| e.to_string()).collect();
        assert!(shown
            .iter()
            .any(|s| s.starts_with("$: missing field `version`")));
        assert!(shown
            .iter()
            .any(|s| s.starts_with("$.processes[0]: missing field `id`")));
        assert!(shown
            .iter()
            .any(|s| s.starts_with("$.processes[0].pids[0]: 0 is not a PID")));
        assert!(shown
            .iter()
            .any(|s| s.starts_with("$.processes[0].pids[1]")));
        assert!(shown
            .iter()
            .any(|s| s.starts_with("$.processes[0].argv: must hold")));
    }

    #[test]
    fn strings_must_suit_c() {
        let text = r#"{"version": 1, "processes": [
            {"id": "a", "pids": [9], "argv": ["x\u0000y"], "env": ["NOEQUALS"], "program": ""}]}"#;
        let errs = Manifest::parse(text).unwrap_err();
        let paths: Vec<&str> = errs.iter().map(|e| e.path.as_str()).collect();
        assert_eq!(
            paths,
            vec![
                "$.processes[0].program",
                "$.processes[0].argv[0]",
                "$.processes[0].env[0]"
            ]
        );
    }

    #[test]
    fn the_schema_file_describes_these_fields() {
        let schema: Value = serde_json::from_str(include_str!(
            "../../../../docs/restore-manifest.schema.json"
        ))
        .unwrap();
        assert_eq!(schema["properties"]["version"]["const"], MANIFEST_VERSION);
        let mut documented: Vec<&str> = schema["$defs"]["process"]["properties"]
            .as_object()
            .unwrap()
            .keys()
            .map(String::as_str)
            .collect();
        let mut known = PROCESS_FIELDS.to_vec();
        documented.sort_unstable();
        known.sort_unstable();
        assert_eq!(documented, known);
    }
}
