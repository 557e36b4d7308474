//! The README's command lines (in its `sh` and `yaml` blocks, e.g. the GitHub Actions
//! workflow) parse with the real command-line definition, so the documentation cannot drift
//! from the flags.

use clap::Parser as _;

/// `cargo score-fly ...` lines of the README's `sh` and `yaml` code blocks.
fn documented_commands() -> Vec<String> {
    let readme = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../README.md")).expect("README");
    let mut commands = Vec::new();
    let mut in_block = false;
    // A line ending in `\` goes on on the next one, as in the shell.
    let mut lines = Vec::new();
    let mut pending = String::new();
    for line in readme.lines() {
        match line.strip_suffix('\\') {
            Some(start) => pending.push_str(start),
            None => lines.push(std::mem::take(&mut pending) + line),
        }
    }
    for line in &lines {
        if let Some(fence) = line.trim_start().strip_prefix("```") {
            in_block = !in_block && (fence == "sh" || fence == "yaml");
            continue;
        }
        // Comments (`# ...`) may name commands in prose.
        if !in_block || line.trim_start().starts_with('#') {
            continue;
        }
        let Some(start) = line.find("cargo score-fly ") else { continue };
        let command = &line[start..];
        let command = command.split(" #").next().unwrap_or(command);
        let command = command.split(" &&").next().unwrap_or(command);
        // A redirection (`> file`, `< file`) is the shell's, not an argument.
        let command = command.split(['>', '<']).next().unwrap_or(command);
        commands.push(command.trim().to_owned());
    }
    commands
}

#[test]
fn every_documented_command_line_parses() {
    let commands = documented_commands();
    assert!(
        commands.iter().any(|c| c.starts_with("cargo score-fly deploy --no-ha")),
        "the workflow example is found: {commands:?}"
    );
    for command in &commands {
        // `cargo score-fly X` runs `cargo-score-fly score-fly X`.
        let args: Vec<String> = std::iter::once("cargo-score-fly".to_owned())
            .chain(command.split_whitespace().skip(2).map(str::to_owned))
            .collect();
        if let Err(e) = cargo_score_fly::cli::Cli::try_parse_from(&args) {
            // `--help` and `--version` "fail" by printing; anything else is a broken line.
            assert!(
                matches!(e.kind(), clap::error::ErrorKind::DisplayHelp | clap::error::ErrorKind::DisplayVersion),
                "README line `{command}` does not parse: {e}"
            );
        }
    }
}

/// The README's "Limits" table lists every limit of `score_fly_core::limits::ALL`, with its
/// value as the library has it, and nothing else.
#[test]
fn the_limits_section_lists_every_limit() {
    use score_fly_core::limits;
    let readme = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../README.md")).expect("README");
    let section = readme.split("\n## Limits\n").nth(1).expect("a `## Limits` section").split("\n## ").next().unwrap();
    let rows: Vec<(String, String)> = section
        .lines()
        .filter_map(|line| {
            let cells: Vec<&str> = line.split('|').map(str::trim).collect();
            let name = cells.get(1)?.strip_prefix('`')?.strip_suffix('`')?;
            name.starts_with("MAX_").then(|| (name.to_owned(), cells[2].to_owned()))
        })
        .collect();
    let expected: Vec<(String, String)> = limits::ALL.iter().map(|l| (l.name.to_owned(), l.human())).collect();
    assert_eq!(rows, expected, "the README's Limits table and score_fly_core::limits::ALL differ");
}
