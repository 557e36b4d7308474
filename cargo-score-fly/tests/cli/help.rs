//! Every command's help as a user reads it: no Markdown left over from the doc comments clap
//! takes it from, and the examples that end each long help (`after_long_help`) are real
//! command lines of that very command, parsed with the real command-line definition, and
//! short enough that clap does not wrap them.

use clap::CommandFactory as _;
use clap::builder::StyledStr;

use crate::support::BIN;

/// The command paths below the root (`["provisioners", "add"]`...), clap's own `help`
/// subcommands left out.
fn command_paths(command: &clap::Command, prefix: &[String], paths: &mut Vec<Vec<String>>) {
    for sub in command.get_subcommands().filter(|sub| sub.get_name() != "help") {
        let mut path = prefix.to_vec();
        path.push(sub.get_name().to_owned());
        paths.push(path.clone());
        command_paths(sub, &path, paths);
    }
}

fn all_paths() -> Vec<Vec<String>> {
    let mut paths = vec![Vec::new()];
    command_paths(&cargo_score_fly::cli::Cli::command(), &[], &mut paths);
    paths
}

/// The command at `path`.
fn command_at(path: &[String]) -> clap::Command {
    let mut command = cargo_score_fly::cli::Cli::command();
    command.build();
    for name in path {
        command = command.find_subcommand(name).unwrap_or_else(|| panic!("no subcommand {name}")).clone();
    }
    command
}

/// The help the binary prints for `cargo score-fly <path> <flag>`.
fn rendered_help(path: &[String], flag: &str) -> String {
    let output = std::process::Command::new(BIN)
        .args(path)
        .arg(flag)
        .env("NO_COLOR", "1")
        .env("COLUMNS", "100")
        .output()
        .expect("run cargo-score-fly");
    assert!(output.status.success(), "`{} {flag}` exits 0", path.join(" "));
    String::from_utf8(output.stdout).expect("help is UTF-8")
}

/// What Markdown leaves in text that clap prints as it is: an intra-doc link
/// (``[`name`]``), a link (`](`), emphasis (`**`), a heading, or an unpaired backtick.
fn markdown_artefacts(text: &str) -> Vec<String> {
    let mut found = Vec::new();
    for artefact in ["[`", "`]", "](", "**", "__", "<code>", "&lt;"] {
        if text.contains(artefact) {
            found.push(format!("{artefact:?}"));
        }
    }
    if text.lines().any(|line| line.trim_start().starts_with("# ")) {
        found.push("a `# ` heading".to_owned());
    }
    if text.matches('`').count() % 2 == 1 {
        found.push("an unpaired backtick".to_owned());
    }
    found
}

fn plain(text: Option<&StyledStr>) -> String {
    text.map(StyledStr::to_string).unwrap_or_default()
}

/// Each text of the definition (about, long about, every argument's help, the examples) is
/// checked whole, so a backtick pair split by wrapping is not mistaken for an unpaired one;
/// the rendered `--help` and `-h` of every command are checked too.
#[test]
fn no_help_carries_markdown_artefacts() {
    let mut problems = Vec::new();
    for path in all_paths() {
        let command = command_at(&path);
        let name = format!("cargo score-fly {}", path.join(" "));
        let mut texts = vec![
            ("about".to_owned(), plain(command.get_about())),
            ("long about".to_owned(), plain(command.get_long_about())),
            ("examples".to_owned(), plain(command.get_after_long_help())),
        ];
        for arg in command.get_arguments() {
            texts.push((format!("--{}", arg.get_id()), plain(arg.get_help())));
            texts.push((format!("--{} (long)", arg.get_id()), plain(arg.get_long_help())));
            for value in arg.get_possible_values() {
                texts.push((format!("--{} {}", arg.get_id(), value.get_name()), plain(value.get_help())));
            }
        }
        for (what, text) in texts {
            for artefact in markdown_artefacts(&text) {
                problems.push(format!("{name}: {what}: {artefact} in {text:?}"));
            }
        }
        for flag in ["--help", "-h"] {
            let help = rendered_help(&path, flag);
            for artefact in ["[`", "`]", "](", "**"] {
                if help.contains(artefact) {
                    problems.push(format!("`{name} {flag}` shows {artefact:?}"));
                }
            }
        }
    }
    assert!(problems.is_empty(), "help with Markdown artefacts:\n{}", problems.join("\n"));
}

/// The words of a shell line: single-quoted words are taken as they are, a redirection
/// (`< file`, `> file`) and what pipes into the command are not arguments.
fn shell_words(line: &str) -> Vec<String> {
    let line = line.rsplit(" | ").next().unwrap_or(line);
    let mut words = Vec::new();
    let mut word = String::new();
    let mut quoted = false;
    let mut started = false;
    for c in line.chars() {
        match c {
            '\'' => {
                quoted = !quoted;
                started = true;
            }
            ' ' if !quoted => {
                if started {
                    words.push(std::mem::take(&mut word));
                    started = false;
                }
            }
            c => {
                word.push(c);
                started = true;
            }
        }
    }
    assert!(!quoted, "unterminated quote in {line:?}");
    if started {
        words.push(word);
    }
    let mut args = Vec::new();
    let mut words = words.into_iter();
    while let Some(word) = words.next() {
        if word == "<" || word == ">" {
            words.next();
        } else {
            args.push(word);
        }
    }
    args
}

/// The command path a parsed line reached (`["resources", "list"]`).
fn parsed_path(matches: &clap::ArgMatches) -> Vec<String> {
    let mut path = Vec::new();
    let mut matches = matches;
    while let Some((name, sub)) = matches.subcommand() {
        path.push(name.to_owned());
        matches = sub;
    }
    path
}

/// The commands whose long help must end with examples: every command that does something.
const WITH_EXAMPLES: &[&str] = &[
    "init",
    "generate",
    "deploy",
    "build",
    "dev",
    "provisioners add",
    "provisioners list",
    "provisioners remove",
    "resources list",
    "resources get-outputs",
    "resources deprovision",
    "status",
    "releases",
    "rollback",
    "builtin-provisioners",
    "completions",
    "destroy",
    "logs",
];

#[test]
fn every_command_ends_its_long_help_with_examples_that_parse() {
    let paths: Vec<String> = all_paths().iter().map(|p| p.join(" ")).collect();
    for name in WITH_EXAMPLES {
        assert!(paths.contains(&(*name).to_owned()), "{name} is a command: {paths:?}");
    }
    // Every leaf command is in the list: a new command gets examples.
    for path in all_paths() {
        if !path.is_empty() && command_at(&path).get_subcommands().next().is_none() {
            assert!(WITH_EXAMPLES.contains(&path.join(" ").as_str()), "`{}` has no examples listed", path.join(" "));
        }
    }
    for name in WITH_EXAMPLES {
        let path: Vec<String> = name.split(' ').map(str::to_owned).collect();
        let examples = plain(command_at(&path).get_after_long_help());
        assert!(examples.starts_with("Examples:\n"), "`{name} --help` ends with an Examples section: {examples:?}");
        let lines: Vec<&str> = examples.lines().filter(|l| l.contains("cargo score-fly ")).collect();
        assert!((2..=3).contains(&lines.len()), "`{name}` has two or three examples: {lines:?}");
        let rendered = rendered_help(&path, "--help");
        let mut runs_itself = false;
        for line in &lines {
            // Shown whole on its own line: clap did not wrap it (the help is 100 columns wide).
            assert!(rendered.lines().any(|l| l == *line), "`{name} --help` wraps or lacks the example {line:?}");
            let command = &line[line.find("cargo score-fly ").expect("found above")..];
            let args: Vec<String> =
                std::iter::once("cargo-score-fly".to_owned()).chain(shell_words(command).into_iter().skip(2)).collect();
            let matches = cargo_score_fly::cli::Cli::command()
                .try_get_matches_from(&args)
                .unwrap_or_else(|e| panic!("the example `{command}` of `{name}` does not parse: {e}"));
            runs_itself |= parsed_path(&matches) == path;
        }
        assert!(runs_itself, "an example of `{name}` runs `{name}`: {lines:?}");
    }
}

#[test]
fn shell_words_reads_quotes_pipes_and_redirections() {
    assert_eq!(
        shell_words(r#"echo '{"a":1}' | cargo score-fly x --json '{"b": 2}' < in.json > out"#),
        ["cargo", "score-fly", "x", "--json", r#"{"b": 2}"#]
    );
}
