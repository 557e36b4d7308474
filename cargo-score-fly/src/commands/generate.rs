//! `generate`: adds Score workloads to the project, provisions their resources, and writes
//! one `fly_<name>.toml` per workload of the project ([`ops::generate`]); `--check` changes
//! nothing and reports what is out of date; `--deploy` is `deploy` on the same workloads
//! ([`super::deploy::from_generate`]).

use score_fly_core::ops::{self, generate::GenerateOptions, generate::GenerateReport, generate::SecretsOutput};

use super::{Failure, Session};
use crate::cli::{Format, GenerateArgs};
use crate::sources;

/// Runs `generate`.
pub fn run(args: &GenerateArgs, session: &Session) -> Result<(), Failure> {
    if args.deploy {
        return super::deploy::from_generate(args, session);
    }
    let printer = &session.printer;
    let reporter = session.reporter();
    let w = &args.workloads;
    let found = sources::find(w, None, printer)?;
    let secrets = args.secrets_file.as_deref().map(SecretsOutput::from_arg);
    if let Some(output) = secrets.as_ref().and_then(SecretsOutput::stand_in) {
        found.sources.check(&[output])?;
    }
    let mut opened = ops::project::open(found.sources, session.lock_timeout, &reporter)?;
    if opened.prefix_unchosen {
        printer.warning(&format!("this project has no app prefix: {}", opened.unchosen_prefix_advice()), "");
    }
    let options = GenerateOptions { jobs: w.jobs, reprovision: w.reprovision, check: args.check, secrets };
    let report = ops::generate::generate(&mut opened, &options, &reporter)?;
    let json = args.format == Some(Format::Json);
    if let Some(stale) = &report.out_of_date {
        if json {
            print_json(session, &report);
        }
        if !stale.is_empty() {
            return Err(Failure::OutOfDate(stale.clone()));
        }
        printer.status("Checked", &format!("{} fly.toml file(s) are up to date", report.workloads.len()));
        return Ok(());
    }
    for w in &report.workloads {
        let shown = crate::cargo::relative(&opened.root.join(&w.output));
        printer.status("Generated", &format!("{shown} (app {})", w.app));
    }
    if let Some(text) = &report.secrets_text {
        printer.stdout(text);
    } else if json {
        print_json(session, &report);
    }
    if args.secrets_file.is_none() {
        for w in report.workloads.iter().filter(|w| !w.secrets.is_empty()) {
            let (app, names) = (&w.app, &w.secrets);
            printer.warning(
                &format!(
                    "app {app} needs {} secret{} that fly.toml does not hold ({}): write them with --secrets-file and import them with `fly secrets import -a {app} < FILE`, or deploy with `cargo score-fly deploy`",
                    names.len(),
                    if names.len() == 1 { "" } else { "s" },
                    names.join(", ")
                ),
                "",
            );
        }
    }
    Ok(())
}

fn print_json(session: &Session, report: &GenerateReport) {
    session.printer.stdout(&format!("{}\n", serde_json::to_string_pretty(report).expect("reports serialise")));
}
