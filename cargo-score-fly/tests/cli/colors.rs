//! Coloring of stderr: `--color` first, then `CARGO_TERM_COLOR`, then the terminal (and
//! `NO_COLOR`). The tests' stderr is a pipe, so "auto" alone means no color;
//! `CLICOLOR_FORCE=1` makes "auto" color a pipe, which lets the tests show that `NO_COLOR`
//! and `--color never` really switch colors off.

use crate::support::{Project, WEB, has_ansi};

/// A workload that prints a warning (memory rounded up) besides the status line.
const WARNS: &str = "\
apiVersion: score.dev/v1b1
metadata:
  name: web
containers:
  main:
    image: nginx
    resources:
      limits:
        memory: 100M
";

/// Runs a successful generate and returns its stderr.
fn stderr_of(args: &[&str], env: &[(&str, &str)]) -> String {
    let project = Project::with_score(WARNS);
    let run = project.generate_ok_env(args, env);
    assert!(run.stderr.contains("Generated"), "{}", run.stderr);
    assert!(run.stderr.contains("warning"), "{}", run.stderr);
    run.stderr
}

#[test]
fn no_color_on_a_pipe_by_default() {
    let stderr = stderr_of(&["generate"], &[]);
    assert!(!has_ansi(&stderr), "{stderr:?}");
}

#[test]
fn color_never_wins_over_everything() {
    let stderr =
        stderr_of(&["generate", "--color", "never"], &[("CLICOLOR_FORCE", "1"), ("CARGO_TERM_COLOR", "always")]);
    assert!(!has_ansi(&stderr), "{stderr:?}");
    assert!(stderr.contains("warning: containers.main.resources: memory"), "{stderr}");
    assert!(stderr.contains("   Generated fly_web.toml (app web)"), "{stderr}");
}

#[test]
fn no_color_variable_switches_auto_colors_off() {
    // Without NO_COLOR, this environment colors a pipe...
    let forced = stderr_of(&["generate"], &[("CLICOLOR_FORCE", "1")]);
    assert!(has_ansi(&forced), "{forced:?}");
    // ...and NO_COLOR=1 turns that off.
    let stderr = stderr_of(&["generate"], &[("CLICOLOR_FORCE", "1"), ("NO_COLOR", "1")]);
    assert!(!has_ansi(&stderr), "{stderr:?}");
    let stderr = stderr_of(&["generate", "--color", "auto"], &[("CLICOLOR_FORCE", "1"), ("NO_COLOR", "1")]);
    assert!(!has_ansi(&stderr), "{stderr:?}");
}

#[test]
fn color_always_colors_status_warnings_and_snippets() {
    let stderr = stderr_of(&["generate", "--color", "always"], &[]);
    assert!(has_ansi(&stderr), "{stderr:?}");
    // Green bold status verb, yellow bold `warning`, blue bold gutter.
    assert!(stderr.contains("\u{1b}[1m\u{1b}[32m   Generated\u{1b}[0m fly_web.toml (app web)"), "{stderr:?}");
    assert!(stderr.contains("\u{1b}[1m\u{1b}[33mwarning\u{1b}[0m: containers.main.resources"), "{stderr:?}");
    assert!(stderr.contains("\u{1b}[1m\u{1b}[34m-->\u{1b}[0m score.yaml:8:7"), "{stderr:?}");
}

#[test]
fn color_always_colors_errors() {
    let project = Project::with_score(&WEB.replace("nginx", "\"\""));
    let run = project.fails(&["generate", "--color", "always"], 3);
    assert!(run.stderr.contains("\u{1b}[1m\u{1b}[31merror\u{1b}[0m: containers.main.image"), "{:?}", run.stderr);
    let run = project.fails(&["generate", "--color", "never"], 3);
    assert!(!has_ansi(&run.stderr), "{:?}", run.stderr);
    run.assert_error_at("containers.main.image: must not be empty", "score.yaml:6:12", "    image: \"\"");
}

#[test]
fn cargo_term_color() {
    let stderr = stderr_of(&["generate"], &[("CARGO_TERM_COLOR", "always")]);
    assert!(has_ansi(&stderr), "{stderr:?}");
    let stderr = stderr_of(&["generate"], &[("CARGO_TERM_COLOR", "never"), ("CLICOLOR_FORCE", "1")]);
    assert!(!has_ansi(&stderr), "{stderr:?}");
    // The flag wins over the variable.
    let stderr = stderr_of(&["generate", "--color", "always"], &[("CARGO_TERM_COLOR", "never")]);
    assert!(has_ansi(&stderr), "{stderr:?}");
}
