//! `provisioners add|list|remove`: the `cli.provisioners.yaml` file and the others.
//!
//! Arguments → a [`NewProvisioner`] → [`ops::provisioners`] → the report rendered. `list`
//! never shows a credential: the operation masks http URLs and static secret outputs.

use score_fly_core::ops::{self, provisioners::Added, provisioners::NewProvisioner, provisioners::Runs};

use super::{Failure, Session, open_project};
use crate::cli::{Format, ProvisionerAddArgs, ProvisionersCommand};
use crate::printer::Printer;
use crate::table;

/// Runs a `provisioners` subcommand.
pub fn run(command: &ProvisionersCommand, session: &Session) -> Result<(), Failure> {
    match command {
        ProvisionersCommand::Add(args) => {
            let builtins = score_fly_core::builtin::FlyEnv::default();
            let def = ops::provisioners::definition(&new_provisioner(args)?, &builtins)?;
            let added = ops::provisioners::add(&open_project(session)?, def)?;
            render_added(&session.printer, &added);
        }
        ProvisionersCommand::List(args) => {
            let listed = ops::provisioners::list(&open_project(session)?)?;
            list(&session.printer, &listed, args.format);
        }
        ProvisionersCommand::Remove { id } => {
            let file = ops::provisioners::remove(&open_project(session)?, id)?;
            session.printer.status("Removed", &format!("provisioner `{id}` from {}", file.display()));
        }
    }
    Ok(())
}

/// The provisioner `add`'s arguments describe (the secrets file read: file or stdin).
fn new_provisioner(args: &ProvisionerAddArgs) -> Result<NewProvisioner, Failure> {
    let runs = if let Some(name) = &args.builtin {
        Some(Runs::Builtin(name.clone()))
    } else if let Some(binary) = &args.cmd_binary {
        Some(Runs::Cmd { binary: binary.clone(), args: args.cmd_args.clone() })
    } else if let Some(url) = &args.http_url {
        Some(Runs::Http(url.clone()))
    } else if args.static_json.is_some() || args.static_secrets_file.is_some() {
        let secrets = args.static_secrets_file.as_deref().map(ops::provisioners::read_secrets).transpose()?;
        Some(Runs::Static { values: args.static_json.clone(), secrets })
    } else {
        None
    };
    Ok(NewProvisioner {
        id: args.id.clone(),
        resource_type: args.resource_type.clone(),
        class: args.res_class.clone(),
        resource_id: args.res_id.clone(),
        timeout: args.timeout.clone(),
        runs,
    })
}

fn render_added(printer: &Printer, added: &Added) {
    let def = &added.def;
    for id in &added.replaced {
        printer.status("Replaced", &format!("provisioner `{id}`"));
    }
    let selector = ops::provisioners::selector(def);
    printer.status("Added", &format!("{} provisioner `{}` for {selector} (first in line)", def.kind_name(), def.id));
    for key in &added.secret_looking {
        printer.warning(
            &format!(
                "output `{key}` of provisioner `{}` looks secret, but --static-json makes it a plain output: a variable that reads it is written to fly.toml in plain text; give it in --static-secrets-file instead, and it becomes an app secret",
                def.id
            ),
            "",
        );
    }
    if added.has_secrets {
        printer.warning(
            &format!(
                "{} now holds secret outputs (mode 0600){}: define the provisioners your team shares in another .score-fly/*.provisioners.yaml, and check that git does not track this one already (`git rm --cached`)",
                crate::cargo::relative(&added.file),
                if added.newly_ignored {
                    ", so .score-fly/.gitignore now keeps it out of git"
                } else {
                    " and .score-fly/.gitignore keeps it out of git"
                }
            ),
            "",
        );
    }
}

fn list(printer: &Printer, listed: &[ops::provisioners::Listed], format: Format) {
    if format == Format::Json {
        printer.stdout(&format!("{}\n", serde_json::to_string_pretty(listed).expect("listings serialise")));
        return;
    }
    if listed.is_empty() {
        printer.status("Note", "no provisioners: add one with `cargo score-fly provisioners add`");
        return;
    }
    let any = || "*".to_owned();
    let rows: Vec<Vec<String>> = listed
        .iter()
        .map(|l| {
            let def = &l.def;
            let file = std::path::Path::new(&l.file).file_name().map(|f| f.to_string_lossy().into_owned());
            vec![
                def.id.clone(),
                def.resource_type.clone(),
                def.class.clone().unwrap_or_else(any),
                def.resource_id.clone().unwrap_or_else(any),
                def.kind_name().to_owned(),
                l.runs(),
                file.unwrap_or_default(),
            ]
        })
        .collect();
    printer.stdout(&table::render(&["ID", "TYPE", "CLASS", "RES ID", "KIND", "RUNS", "FILE"], &rows));
}
