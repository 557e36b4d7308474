//! `completions <shell>`: the scripts are produced, name the commands, and complete
//! `cargo score-fly ...` (the way a cargo subcommand is run), not only `cargo-score-fly ...`.

use crate::support::Project;

fn script(shell: &str) -> String {
    let run = Project::new().run(&["completions", shell]);
    run.assert_code(0);
    assert!(run.stderr.is_empty(), "nothing on stderr: {}", run.stderr);
    run.stdout
}

#[test]
fn bash_zsh_and_fish_scripts_name_the_commands_and_hook_into_cargo() {
    for (shell, hooks) in [
        // bash: `cargo` itself is completed, handing `cargo score-fly ...` to ours.
        (
            "bash",
            &["complete -F _cargo__score__fly", "complete -F _cargo_score_fly_cargo -o bashdefault -o default cargo"][..],
        ),
        // zsh: cargo's `_cargo` calls `_cargo-<command>` for an external command.
        ("zsh", &["#compdef cargo-score-fly", "\n_cargo-score-fly() {"][..]),
        // fish: completions of `cargo` once its first argument is `score-fly`.
        ("fish", &["complete -c cargo-score-fly", "complete -c cargo -n __fish_cargo_score_fly_from_cargo"][..]),
    ] {
        let script = script(shell);
        for hook in hooks {
            assert!(script.contains(hook), "the {shell} script has {hook:?}");
        }
        for subcommand in ["generate", "deploy", "provisioners", "get-outputs", "builtin-provisioners", "completions"] {
            assert!(script.contains(subcommand), "the {shell} script completes {subcommand}");
        }
        assert!(script.contains("dry-run"), "the {shell} script completes deploy's flags");
    }
}

#[test]
fn an_unknown_shell_is_a_usage_error() {
    let run = Project::new().run(&["completions", "tcsh"]);
    run.assert_code(2);
    run.assert_stderr_has("invalid value 'tcsh'");
}

/// What the bash script proposes for `line` (the cursor at its end), completed as bash does:
/// the words up to the cursor in `COMP_WORDS`, the function registered for the first word
/// called with the command, the current and the previous word. `_cargo` stands for cargo's
/// own completion.
fn bash_completes(script: &std::path::Path, line: &str) -> Vec<String> {
    let program = format!(
        r#"source {script}
_cargo() {{ COMPREPLY=(cargo-own-completion); }}
COMP_WORDS=({line})
[[ "{line}" == *" " ]] && COMP_WORDS+=("")
COMP_CWORD=$(( ${{#COMP_WORDS[@]}} - 1 ))
function=$(complete -p "${{COMP_WORDS[0]}}" | sed -E 's/.* -F ([^ ]+) .*/\1/')
"$function" "${{COMP_WORDS[0]}}" "${{COMP_WORDS[COMP_CWORD]}}" "${{COMP_WORDS[COMP_CWORD - 1]}}"
printf '%s\n' "${{COMPREPLY[@]}}""#,
        script = script.display()
    );
    let output = std::process::Command::new("bash").arg("--norc").arg("-c").arg(program).output().expect("run bash");
    assert!(output.status.success(), "bash: {}", String::from_utf8_lossy(&output.stderr));
    String::from_utf8(output.stdout).expect("UTF-8").lines().map(str::to_owned).collect()
}

/// The script runs in a real bash: `cargo score-fly` lines complete as `cargo-score-fly`
/// lines do (subcommands, their flags, their values), other `cargo` lines go to cargo's own
/// completion.
#[test]
fn bash_completes_cargo_score_fly_and_leaves_cargo_to_cargo() {
    let project = Project::new();
    let path = project.write("completion.bash", script("bash"));
    for prefix in ["cargo score-fly", "cargo-score-fly"] {
        let has = |line: &str, word: &str| {
            let words = bash_completes(&path, &format!("{prefix} {line}"));
            assert!(words.iter().any(|w| w == word), "`{prefix} {line}<TAB>` proposes {word}: {words:?}");
        };
        has("gen", "generate");
        has("provisioners ", "remove");
        has("resources get", "get-outputs");
        // A subcommand's own flags (clap_complete misspells their state for a hyphenated
        // binary name: https://github.com/clap-rs/clap/issues/6421).
        has("deploy --dry", "--dry-run");
        has("build --builder ", "dockerfile");
        has("completions ", "fish");
    }
    assert_eq!(bash_completes(&path, "cargo bui"), ["cargo-own-completion"], "cargo's commands stay cargo's");
}
