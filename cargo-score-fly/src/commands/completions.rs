//! `completions <shell>`: the shell completion script, for `cargo score-fly` and `cargo-score-fly`.
//!
//! `clap_complete` writes the script for the binary, `cargo-score-fly`. Run as `cargo score-fly`,
//! the shell completes `cargo`, whose completion must hand the words after `score-fly` over:
//! - zsh: cargo's `_cargo` calls `_cargo-<command>` for an external command, which is the
//!   function `clap_complete` names `_cargo-score-fly`: nothing to add;
//! - bash: cargo's completion completes file names after an external command, so the script
//!   also completes `cargo`: `cargo score-fly ...` as `cargo-score-fly ...`, anything else
//!   with cargo's own `_cargo` (loaded on demand by bash-completion);
//! - fish: cargo's completion knows no external command, so the script adds completions to
//!   `cargo` when its first argument is `score-fly`: those of `cargo-score-fly` for the rest.

use clap::CommandFactory as _;

use super::{Failure, Session};
use crate::cli::{Cli, CompletionsArgs, Shell};

/// The binary's name: what `clap_complete` writes the script for.
const BIN: &str = "cargo-score-fly";

/// Bash: `cargo score-fly ...` completes as `cargo-score-fly ...` (`clap_complete`'s function
/// `_cargo__score__fly`), any other `cargo` line with cargo's own completion.
const BASH_CARGO: &str = r#"
# `cargo score-fly ...`: cargo's completion does not complete external commands' arguments,
# so `cargo` is completed here: after `score-fly` as `cargo-score-fly`, otherwise by cargo's
# own `_cargo` (loaded first if bash-completion has not loaded it yet).
_cargo_score_fly_cargo() {
    if [[ ${COMP_CWORD} -ge 2 && ${COMP_WORDS[1]} == score-fly ]]; then
        local -a COMP_WORDS=(cargo-score-fly "${COMP_WORDS[@]:2}")
        local COMP_CWORD=$((COMP_CWORD - 1))
        _cargo__score__fly cargo-score-fly "${COMP_WORDS[COMP_CWORD]}" "${COMP_WORDS[COMP_CWORD - 1]}"
        return
    fi
    if ! declare -F _cargo >/dev/null && declare -F _completion_loader >/dev/null; then
        _completion_loader cargo
        # Loading cargo's completion registered `_cargo` for `cargo`: take `cargo` back.
        complete -F _cargo_score_fly_cargo -o bashdefault -o default cargo
    fi
    if declare -F _cargo >/dev/null; then
        _cargo "$@"
    fi
}
complete -F _cargo_score_fly_cargo -o bashdefault -o default cargo
"#;

/// Fish: after `cargo score-fly`, the completions of `cargo-score-fly` for the rest of the line.
const FISH_CARGO: &str = r"
# `cargo score-fly ...`: cargo's completion does not complete external commands' arguments,
# so `cargo` gets the completions of `cargo-score-fly` for the words after `score-fly`.
function __fish_cargo_score_fly_from_cargo
    set -l words (commandline -opc)
    test (count $words) -ge 2; and test $words[2] = score-fly
end
function __fish_cargo_score_fly_complete_from_cargo
    set -l words (commandline -opc)
    set -e words[1..2]
    complete -C (string join ' ' -- cargo-score-fly (string escape -- $words) (string escape -- (commandline -ct)))
end
complete -c cargo -n __fish_cargo_score_fly_from_cargo -f -a '(__fish_cargo_score_fly_complete_from_cargo)'
";

/// Prints the completion script of `args.shell` on stdout.
pub fn run(args: &CompletionsArgs, session: &Session) -> Result<(), Failure> {
    session.printer.stdout(&script(args.shell));
    Ok(())
}

/// The completion script for `shell`: `clap_complete`'s for `cargo-score-fly`, and what makes
/// `cargo score-fly` complete the same way.
pub fn script(shell: Shell) -> String {
    let mut command = Cli::command().bin_name(BIN).display_name(BIN);
    let (generator, cargo_glue) = match shell {
        Shell::Bash => (clap_complete::Shell::Bash, BASH_CARGO),
        Shell::Zsh => (clap_complete::Shell::Zsh, ""),
        Shell::Fish => (clap_complete::Shell::Fish, FISH_CARGO),
    };
    let mut out = Vec::new();
    clap_complete::generate(generator, &mut command, BIN, &mut out);
    let mut script = String::from_utf8(out).expect("clap_complete writes UTF-8");
    if shell == Shell::Bash {
        // `clap_complete`'s bash script spells a subcommand's state `cargo__score__fly__subcmd__deploy`
        // where it walks the words but `cargo__subcmd__score__subcmd__fly__subcmd__deploy` in
        // the arms matching it, when the binary's name has a hyphen
        // (https://github.com/clap-rs/clap/issues/6421): no subcommand's options would complete.
        script = script.replace("cargo__subcmd__score__subcmd__fly__subcmd__", "cargo__score__fly__subcmd__");
    }
    script.push_str(cargo_glue);
    script
}
