//! The only way this program prints: status lines, warnings and errors on stderr in cargo's
//! style, machine output on stdout. Colors follow `--color`, then `CARGO_TERM_COLOR`, then
//! the terminal (and `NO_COLOR`).

use std::io::Write as _;

use anstyle::{AnsiColor, Style};

use crate::cli::{ColorChoice, GlobalArgs};

const STATUS: Style = AnsiColor::Green.on_default().bold();
const WARNING: Style = AnsiColor::Yellow.on_default().bold();
const ERROR: Style = AnsiColor::Red.on_default().bold();
/// Style of source-location gutters.
pub const NOTE: Style = AnsiColor::Blue.on_default().bold();

/// Prints to the terminal.
#[derive(Debug, Clone)]
pub struct Printer {
    color: anstream::ColorChoice,
    quiet: bool,
    verbose: u8,
}

impl Printer {
    /// A printer for the global options.
    pub fn new(global: &GlobalArgs) -> Self {
        let choice = global.color.or_else(|| match std::env::var("CARGO_TERM_COLOR").ok().as_deref() {
            Some("always") => Some(ColorChoice::Always),
            Some("never") => Some(ColorChoice::Never),
            _ => None,
        });
        let color = match choice {
            Some(ColorChoice::Always) => anstream::ColorChoice::Always,
            Some(ColorChoice::Never) => anstream::ColorChoice::Never,
            Some(ColorChoice::Auto) | None => anstream::ColorChoice::Auto,
        };
        Printer { color, quiet: global.quiet, verbose: global.verbose }
    }

    fn stderr(&self) -> anstream::AutoStream<std::io::Stderr> {
        anstream::AutoStream::new(std::io::stderr(), self.color)
    }

    /// Whether `-q` was given.
    pub fn is_quiet(&self) -> bool {
        self.quiet
    }

    /// Whether stderr is a terminal (progress bars only make sense there).
    pub fn is_terminal(&self) -> bool {
        std::io::IsTerminal::is_terminal(&std::io::stderr())
    }

    /// Asks `question` on the terminal and reads the answer: `Some(true)` for `y`/`yes`,
    /// `Some(false)` for anything else (or the end of input), `None` when stdin or stderr is
    /// not a terminal (CI, a pipe): there is nobody to ask, and the caller must say which flag
    /// confirms instead. Asked even with `-q`: a question is not progress.
    pub fn confirm(&self, question: &str) -> Option<bool> {
        if !std::io::IsTerminal::is_terminal(&std::io::stdin()) || !self.is_terminal() {
            return None;
        }
        let _ = write!(self.stderr(), "{question} [y/N] ");
        let mut answer = String::new();
        if std::io::stdin().read_line(&mut answer).is_err() {
            return Some(false);
        }
        Some(matches!(answer.trim().to_ascii_lowercase().as_str(), "y" | "yes"))
    }

    /// Whether `-v` was given (and not `-q`).
    pub fn is_verbose(&self) -> bool {
        self.verbose > 0 && !self.quiet
    }

    /// Whether colors are used on stderr.
    pub fn styled(&self) -> bool {
        !matches!(self.stderr().current_choice(), anstream::ColorChoice::Never)
    }

    /// `   Generated fly_x.toml` (hidden with `-q`).
    pub fn status(&self, verb: &str, message: &str) {
        if !self.quiet {
            let _ = writeln!(self.stderr(), "{STATUS}{verb:>12}{STATUS:#} {message}");
        }
    }

    /// A line of a tool's output (provisioner stderr), dimmed; hidden with `-q`.
    pub fn detail(&self, message: &str) {
        if !self.quiet {
            let dim = Style::new().dimmed();
            let _ = writeln!(self.stderr(), "{dim}{:>12} {message}{dim:#}", "");
        }
    }

    /// A line of a unified diff, indented under the status column and coloured like git's
    /// (`+` green, `-` red, `@@` cyan); hidden with `-q`.
    pub fn diff_line(&self, line: &str) {
        if self.quiet {
            return;
        }
        let style = match line.as_bytes().first() {
            Some(b'+') if !line.starts_with("+++") => Style::new().fg_color(Some(anstyle::AnsiColor::Green.into())),
            Some(b'-') if !line.starts_with("---") => Style::new().fg_color(Some(anstyle::AnsiColor::Red.into())),
            Some(b'@') => Style::new().fg_color(Some(anstyle::AnsiColor::Cyan.into())),
            _ => Style::new(),
        };
        let _ = writeln!(self.stderr(), "{:>12} {style}{line}{style:#}", "");
    }

    /// Extra detail, shown with `-v`.
    pub fn verbose(&self, message: &str) {
        if self.verbose > 0 && !self.quiet {
            let _ = writeln!(self.stderr(), "{NOTE}{:>12}{NOTE:#} {message}", "Note");
        }
    }

    /// `warning: ...` with optional detail lines (hidden with `-q`).
    pub fn warning(&self, message: &str, detail: &str) {
        if !self.quiet {
            let _ = writeln!(self.stderr(), "{WARNING}warning{WARNING:#}: {message}{detail}");
        }
    }

    /// `error: ...` with optional detail lines (always shown).
    pub fn error(&self, message: &str, detail: &str) {
        let _ = writeln!(self.stderr(), "{ERROR}error{ERROR:#}: {message}{detail}");
    }

    /// A line a service run by `dev --workspace` wrote, as `<workload> | <line>` on the
    /// stream it wrote it to (shown with `-q` too: it is the service's output).
    pub fn service_line(&self, workload: &str, line: &str, stderr: bool) {
        let dim = Style::new().dimmed();
        let text = format!("{dim}{workload} |{dim:#} {line}\n");
        if stderr {
            let _ = self.stderr().write_all(text.as_bytes());
        } else {
            let _ = anstream::AutoStream::new(std::io::stdout(), self.color).write_all(text.as_bytes());
        }
    }

    /// Writes machine-readable output to stdout.
    pub fn stdout(&self, text: &str) {
        let mut out = anstream::AutoStream::new(std::io::stdout(), self.color);
        let _ = out.write_all(text.as_bytes());
    }
}
