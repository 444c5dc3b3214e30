//! `xclone tree`: print the manifest of a running process tree.
//!
//! With `--json` the output is a manifest that `xclone restore` takes; without it, an indented
//! tree for people. Things the manifest cannot capture exactly are warnings on stderr; the exit
//! status is 0 when the tree was read, 125 when not.

use crate::exit;
use xclone::restore::{read_tree, Manifest, ReadOptions};

#[derive(clap::Args, Debug)]
#[command(after_help = "Examples:\n  xclone tree $$\n  xclone tree --json 1234 > t.json")]
pub struct TreeArgs {
    /// The root of the tree (a PID in this pid namespace).
    #[arg(value_name = "PID")]
    pub pid: i32,
    /// Print the restore manifest (JSON) instead of an indented tree.
    #[arg(long)]
    pub json: bool,
    /// Include each process's environment (it may hold secrets; without it, restored
    /// processes get the restorer's environment).
    #[arg(long)]
    pub env: bool,
}

pub fn run(args: TreeArgs) -> i32 {
    let mut options = ReadOptions::default();
    options.env = args.env;
    let read = match read_tree(args.pid, &options) {
        Ok(r) => r,
        Err(e) => return exit::fail(format!("tree: {e}")),
    };
    for w in &read.warnings {
        exit::line(format!("tree: warning: {w}"));
    }
    let text = if args.json {
        read.manifest.to_json_pretty() + "\n"
    } else {
        human(&read.manifest)
    };
    crate::out::print_status(&text, 0)
}

/// One line per process, children indented under their parent:
/// `PIDS [new pid namespace] sid=… pgid=… PROGRAM: ARGV`, PIDs outermost first.
fn human(m: &Manifest) -> String {
    fn walk(m: &Manifest, i: usize, depth: usize, out: &mut String) {
        let p = &m.processes[i];
        let pids: Vec<String> = p.pids.iter().map(|x| x.to_string()).collect();
        let or_parent = |v: Option<i32>| v.map_or("(parent's)".to_string(), |x| x.to_string());
        out.push_str(&format!(
            "{}{}{}  sid={} pgid={}  {}: {}\n",
            "  ".repeat(depth),
            pids.join("/"),
            if p.new_pid_ns {
                " [new pid namespace]"
            } else {
                ""
            },
            or_parent(p.sid),
            or_parent(p.pgid),
            p.program.as_deref().unwrap_or("?"),
            p.argv.join(" ")
        ));
        for (k, c) in m.processes.iter().enumerate() {
            if c.parent.as_deref() == Some(p.id.as_str()) {
                walk(m, k, depth + 1, out);
            }
        }
    }
    let mut out = String::new();
    if let Some(root) = m.processes.iter().position(|p| p.parent.is_none()) {
        walk(m, root, 0, &mut out);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn human_output_indents_children() {
        let m = Manifest::parse(
            r#"{"version": 1, "processes": [
            {"id": "1", "pids": [10], "sid": 10, "program": "/bin/sh", "argv": ["sh"]},
            {"id": "2", "parent": "1", "pids": [11, 1], "new_pid_ns": true, "argv": ["cat"]}]}"#,
        )
        .unwrap();
        assert_eq!(
            human(&m),
            "10  sid=10 pgid=(parent's)  /bin/sh: sh\n  11/1 [new pid namespace]  \
             sid=(parent's) pgid=(parent's)  ?: cat\n"
        );
    }
}
