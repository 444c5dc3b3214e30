//! Clap's usage errors as one line: the error, then where to read more.
//!
//! Clap prints four lines or more (`error: …`, a blank line, `Usage: …`, `For more
//! information, try '--help'.`); xclone reports each of its own failures in one line on
//! stderr, so this keeps the error (its listed items joined onto it) and points at the
//! `--help` of the subcommand that was parsed.

use crate::exit;

/// Reports a parse failure of the command line and returns the exit status: 0 after help or
/// the version (printed on stdout as clap prints them), [`exit::FAILURE`] after one line on
/// stderr for a usage error.
/// `subcommand` is the one the command line named, if any (clap's rendering names it only
/// in some errors).
pub fn report(e: &clap::Error, subcommand: Option<&str>) -> i32 {
    if !e.use_stderr() {
        return match e.print() {
            Ok(()) => 0,
            Err(err) => crate::out::write_failed(&err),
        };
    }
    let mut line = one_line(&e.render().to_string());
    if let Some(sub) = subcommand {
        line = line.replace(
            "(see 'xclone --help')",
            &format!("(see 'xclone {sub} --help')"),
        );
    }
    exit::fail(line)
}

/// [`one_line`] of a clap error, without the subcommand pointer's refinement.
pub fn one_line_of(e: &clap::Error) -> String {
    one_line(&e.render().to_string())
}

/// The most characters of one word of a usage error: clap echoes a bad value, and the value
/// parser's message often once more.
const WORD_MAX: usize = 32;

/// The rendered error as `MESSAGE (see 'xclone SUBCOMMAND --help')`, each echoed word cut
/// to [`WORD_MAX`] characters.
fn one_line(rendered: &str) -> String {
    let mut message = Vec::new();
    let mut command = None;
    let mut in_message = true;
    for line in rendered.lines() {
        let t = line.trim();
        if let Some(u) = t.strip_prefix("Usage:") {
            command = Some(command_path(u));
            in_message = false;
        } else if t.is_empty() {
            in_message = false;
        } else if in_message {
            message.push(t.strip_prefix("error:").unwrap_or(t).trim().to_string());
        }
    }
    let mut msg = String::new();
    for (i, part) in message.iter().enumerate() {
        if i > 0 {
            msg.push_str(if msg.ends_with(':') { " " } else { ", " });
        }
        msg.push_str(part);
    }
    let msg: Vec<String> = msg.split(' ').map(|w| exit::clip_to(w, WORD_MAX)).collect();
    let command = command.unwrap_or_else(|| "xclone".to_string());
    format!("{} (see '{command} --help')", msg.join(" "))
}

/// `xclone run` from `xclone run [OPTIONS] <PROGRAM [ARGS]...>`.
fn command_path(usage: &str) -> String {
    usage
        .split_whitespace()
        .take_while(|w| !w.starts_with(['[', '<', '-']))
        .collect::<Vec<_>>()
        .join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn four_lines_become_one() {
        let r = "error: the following required arguments were not provided:\n  \
                 <PROGRAM [ARGS]...>...\n\nUsage: xclone run <PROGRAM [ARGS]...>...\n\n\
                 For more information, try '--help'.\n";
        assert_eq!(
            one_line(r),
            "the following required arguments were not provided: <PROGRAM [ARGS]...>... \
             (see 'xclone run --help')"
        );
        let r = "error: unexpected argument '--x' found\n\n  tip: to pass '--x' as a value, \
                 use '-- --x'\n\nUsage: xclone explain [OPTIONS]\n\nFor more information, \
                 try '--help'.\n";
        assert_eq!(
            one_line(r),
            "unexpected argument '--x' found (see 'xclone explain --help')"
        );
        let long = "z".repeat(500);
        let r = format!("error: invalid value '{long}' for '--wd <DIR>'\n");
        let l = one_line(&r);
        assert!(
            l.len() < 140 && l.ends_with("for '--wd <DIR>' (see 'xclone --help')"),
            "{l}"
        );
    }
}
