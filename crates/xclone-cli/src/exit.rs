//! The exit statuses of the command line, shared by every subcommand, and its one-line
//! error reports.

use std::io::Write;

/// xclone itself failed (bad options, a setup step, a refused request).
pub const FAILURE: i32 = 125;
/// The program was found but could not be executed.
pub const CANNOT_EXECUTE: i32 = 126;
/// The program was not found.
pub const NOT_FOUND: i32 = 127;

/// The most characters of one echoed path or string in an error line.
pub const ECHO_MAX: usize = 64;

/// Prints one line on stderr and returns [`FAILURE`].
pub fn fail(msg: impl std::fmt::Display) -> i32 {
    line(msg);
    FAILURE
}

/// Prints `xclone: MSG` on stderr. A failing stderr is not reported (there is nowhere to),
/// and never panics as `eprintln!` does.
pub fn line(msg: impl std::fmt::Display) {
    let _ = writeln!(std::io::stderr().lock(), "xclone: {msg}");
}

/// A path or string echoed in an error line, cut to at most [`ECHO_MAX`] characters: its
/// start and its end (where a path names its file) with `…` between, so that the line
/// still fits a terminal line and ends with the cause. Control characters are shown
/// escaped, so the line stays one line.
pub fn clip(s: &str) -> String {
    clip_to(s, ECHO_MAX)
}

/// [`clip`] to at most `max` (at least 3) characters.
pub fn clip_to(s: &str, max: usize) -> String {
    let max = max.max(3);
    let mut shown = String::with_capacity(s.len());
    for c in s.chars() {
        if c.is_control() {
            shown.extend(c.escape_debug());
        } else {
            shown.push(c);
        }
    }
    let n = shown.chars().count();
    if n <= max {
        return shown;
    }
    let head = (max - 1) / 2;
    let tail = max - 1 - head;
    let mut out: String = shown.chars().take(head).collect();
    out.push('…');
    out.extend(shown.chars().skip(n - tail));
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clip_keeps_short_and_cuts_long() {
        assert_eq!(clip("/usr/bin/true"), "/usr/bin/true");
        let long = format!("/{}/prog", "d".repeat(300));
        let c = clip(&long);
        assert_eq!(c.chars().count(), ECHO_MAX);
        assert!(
            c.starts_with("/ddd") && c.ends_with("d/prog") && c.contains('…'),
            "{c}"
        );
        // Multibyte characters are counted, never split.
        let c = clip(&"é".repeat(200));
        assert_eq!(c.chars().count(), ECHO_MAX);
        // A newline cannot break the line.
        assert_eq!(clip("a\nb"), "a\\nb");
        assert_eq!(clip("it's"), "it's");
    }
}
