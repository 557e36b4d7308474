//! `provisioners add|list|remove` and provisioner files: where definitions are written, their
//! matching order, replacement, errors naming the file, and a binary that does not exist.

use std::path::Path;

use score_fly_core::provision::definition::{self, ProvisionerDef};

use crate::fixtures::{API, CLI_FILE, FAILURE, INVALID, PROVISIONER, STATE, uid, with_db};
use crate::support::Project;

/// The definitions in `.score-fly/cli.provisioners.yaml`, read with the product's reader.
fn cli_defs(project: &Project) -> Vec<ProvisionerDef> {
    definition::read_file(&project.path().join(CLI_FILE)).expect("a valid provisioner file")
}

fn ids(defs: &[ProvisionerDef]) -> Vec<&str> {
    defs.iter().map(|d| d.id.as_str()).collect()
}

/// The `provisioners list --format json` items as (id, file name).
fn listed(project: &Project) -> Vec<(String, String)> {
    let run = project.run(&["provisioners", "list", "--format", "json"]);
    run.assert_code(0);
    let items: Vec<serde_json::Value> = serde_json::from_str(&run.stdout).expect("JSON list");
    items
        .iter()
        .map(|i| {
            let file = Path::new(i["file"].as_str().expect("file")).file_name().expect("name");
            (i["id"].as_str().expect("id").to_owned(), file.to_string_lossy().into_owned())
        })
        .collect()
}

#[test]
fn add_writes_the_cli_file_with_arguments_kept_literally() {
    let project = Project::new();
    let run = project.run(&[
        "provisioners",
        "add",
        "pg",
        "postgres",
        "--cmd-binary",
        "./pg.sh",
        "--cmd-args",
        "$SCORE_PROVISIONER_MODE,--size,small",
        "--res-class",
        "large",
        "--res-id",
        "main-db",
        "--timeout",
        "30s",
    ]);
    run.assert_code(0).assert_line(
        "       Added cmd provisioner `pg` for type `postgres`, class `large`, id `main-db` (first in line)",
    );
    let text = String::from_utf8(project.read(CLI_FILE)).expect("UTF-8");
    assert!(text.contains("$SCORE_PROVISIONER_MODE"), "the mode variable is kept for each call to replace\n{text}");
    assert_eq!(project.mode(CLI_FILE), 0o600, "static provisioners may hold secrets");
    let defs = cli_defs(&project);
    assert_eq!(defs.len(), 1);
    let def = &defs[0];
    assert_eq!((def.id.as_str(), def.resource_type.as_str()), ("pg", "postgres"));
    assert_eq!((def.class.as_deref(), def.resource_id.as_deref()), (Some("large"), Some("main-db")));
    let cmd = def.cmd.as_ref().expect("a cmd provisioner");
    assert_eq!(cmd.binary, "./pg.sh");
    assert_eq!(cmd.args, ["$SCORE_PROVISIONER_MODE", "--size", "small"]);
    assert_eq!(cmd.timeout.as_deref(), Some("30s"));
    assert_eq!(def.timeout(), std::time::Duration::from_secs(30));
    assert!(!project.exists(STATE), "adding a provisioner creates no state");

    project
        .run(&["provisioners", "add", "hooks", "webhook", "--http-url", "https://prov.example.com/x"])
        .assert_code(0);
    project
        .run(&["provisioners", "add", "dns", "dns", "--static-json", r#"{"host":"example.com","port":53}"#])
        .assert_code(0);
    let defs = cli_defs(&project);
    assert_eq!(ids(&defs), ["dns", "hooks", "pg"], "each new one goes first");
    assert_eq!(defs[1].http.as_ref().expect("http").url, "https://prov.example.com/x");
    let values = &defs[0].static_.as_ref().expect("static").values;
    assert_eq!(serde_json::Value::Object(values.clone()), serde_json::json!({"host": "example.com", "port": 53}));
}

#[test]
fn the_mode_and_arguments_reach_the_program() {
    let project = Project::with_score(&with_db("api"));
    project.script("args.sh", "cat > /dev/null\nprintf '%s|' \"$SCORE_PROVISIONER_MODE\" \"$@\" >> args.log\necho >> args.log\necho '{\"values\":{\"host\":\"h\"}}'\n");
    project
        .run(&[
            "provisioners",
            "add",
            "pg",
            "postgres",
            "--cmd-binary",
            "./args.sh",
            "--cmd-args",
            "$SCORE_PROVISIONER_MODE,--flag,two words",
        ])
        .assert_code(0);
    project.generate_ok(&["generate"]);
    project.run(&["resources", "deprovision", &uid("postgres", "api", "db")]).assert_code(0);
    assert_eq!(
        project.lines("args.log"),
        ["provision|provision|--flag|two words|", "deprovision|deprovision|--flag|two words|"]
    );
}

#[test]
fn same_id_or_same_selector_replaces() {
    let project = Project::new();
    let add = |args: &[&str]| {
        let mut all = vec!["provisioners", "add"];
        all.extend_from_slice(args);
        project.run(&all)
    };
    add(&["a", "redis", "--static-json", "{}"]).assert_code(0);
    add(&["b", "postgres", "--static-json", "{}"]).assert_code(0);
    add(&["c", "postgres", "--res-class", "large", "--static-json", "{}"]).assert_code(0);
    assert_eq!(ids(&cli_defs(&project)), ["c", "b", "a"]);

    // Same id: the old one goes, the new one is first, whatever it serves.
    add(&["a", "mysql", "--cmd-binary", "./my.sh"]).assert_code(0).assert_line("    Replaced provisioner `a`");
    let defs = cli_defs(&project);
    assert_eq!(ids(&defs), ["a", "c", "b"]);
    assert_eq!(defs[0].resource_type, "mysql");

    // Same type/class/id under another id: replaced too. Class `large` is another selector.
    add(&["b2", "postgres", "--static-json", r#"{"v":2}"#]).assert_code(0).assert_line("    Replaced provisioner `b`");
    assert_eq!(ids(&cli_defs(&project)), ["b2", "a", "c"]);
}

#[test]
fn an_id_taken_by_a_user_file_is_refused() {
    let project = Project::new();
    project.provisioners_file("team.provisioners.yaml", "- {id: pg, type: postgres, static: {}}\n");
    let run = project.fails(&["provisioners", "add", "pg", "postgres", "--static-json", "{}"], INVALID);
    run.assert_stderr_has("provisioner `pg` is defined in .score-fly/team.provisioners.yaml");
}

#[test]
fn bad_add_arguments() {
    let project = Project::new();
    project
        .fails(&["provisioners", "add", "x", "redis", "--static-json", "[1]"], INVALID)
        .assert_stderr_has("JSON object");
    project
        .fails(&["provisioners", "add", "x", "redis", "--static-json", "{"], INVALID)
        .assert_stderr_has("not valid JSON");
    project.fails(&["provisioners", "add", "bad id", "redis", "--static-json", "{}"], INVALID);
    project
        .fails(&["provisioners", "add", "x", "redis", "--http-url", "ftp://x"], INVALID)
        .assert_stderr_has("http://");
    project.fails(&["provisioners", "add", "x", "redis", "--cmd-binary", "./x", "--timeout", "soon"], INVALID);
    project.fails(&["provisioners", "add", "x", "redis"], 2);
    project.fails(&["provisioners", "add", "x", "redis", "--cmd-args", "a"], 2);
}

#[test]
fn list_shows_the_matching_order_and_masks_static_secrets() {
    let project = Project::new();
    project.provisioners_file("default.provisioners.yaml", "- {id: d1, type: postgres, static: {}}\n");
    project.provisioners_file("b.provisioners.yaml", "- {id: b1, type: redis, static: {}}\n");
    project.provisioners_file(
        "a.provisioners.yaml",
        "- id: a1\n  type: redis\n  static:\n    values: {host: r.internal}\n    secrets: {password: hunter2-static}\n- {id: a2, type: s3, http: {url: 'https://p.example.com'}}\n",
    );
    project.provisioners_file("notes.yaml", "not a provisioner file\n");
    project.run(&["provisioners", "add", "c1", "postgres", "--cmd-binary", "./pg.sh"]).assert_code(0);
    project.run(&["provisioners", "add", "c2", "redis", "--static-json", "{}"]).assert_code(0);

    let expected = [
        ("c2", "cli.provisioners.yaml"),
        ("c1", "cli.provisioners.yaml"),
        ("a1", "a.provisioners.yaml"),
        ("a2", "a.provisioners.yaml"),
        ("b1", "b.provisioners.yaml"),
        ("d1", "default.provisioners.yaml"),
    ];
    let expected: Vec<(String, String)> = expected.iter().map(|(i, f)| ((*i).to_owned(), (*f).to_owned())).collect();
    assert_eq!(listed(&project), expected);

    let run = project.run(&["provisioners", "list", "--format", "json"]);
    assert!(!run.stdout.contains("hunter2-static"), "{}", run.stdout);
    let items: Vec<serde_json::Value> = serde_json::from_str(&run.stdout).expect("JSON");
    assert_eq!(items[2]["static"]["secrets"]["password"], "********");
    assert_eq!(items[2]["static"]["values"]["host"], "r.internal");

    let run = project.run(&["provisioners", "list"]);
    run.assert_code(0);
    assert!(!run.stdout.contains("hunter2-static"), "{}", run.stdout);
    let lines: Vec<&str> = run.stdout.lines().collect();
    assert!(lines[0].starts_with("ID ") && lines[0].contains("FILE"), "{}", run.stdout);
    let table_ids: Vec<&str> = lines[1..].iter().map(|l| l.split_whitespace().next().expect("id")).collect();
    assert_eq!(table_ids, ["c2", "c1", "a1", "a2", "b1", "d1"], "the same order as JSON\n{}", run.stdout);
    assert!(lines[3].contains("password (secret)"), "{}", run.stdout);

    // The order is the matching order: a resource goes to the first provisioner that serves it.
    project.write("score.yaml", "apiVersion: score.dev/v1b1\nmetadata:\n  name: web\ncontainers:\n  main:\n    image: nginx\nresources:\n  cache:\n    type: redis\n");
    project.generate_ok(&["generate"]);
    assert_eq!(project.state().resources[&uid("redis", "web", "cache")].provisioner, "c2");
}

#[test]
fn list_without_provisioners() {
    let project = Project::new();
    let run = project.run(&["provisioners", "list"]);
    run.assert_code(0).assert_stderr_has("no provisioners");
    assert_eq!(run.stdout, "");
    let run = project.run(&["provisioners", "list", "--format", "json"]);
    assert_eq!(serde_json::from_str::<serde_json::Value>(&run.stdout).expect("JSON"), serde_json::json!([]));
    assert!(project.entries().is_empty(), "listing creates nothing");
}

#[test]
fn remove_from_the_cli_and_default_files_only() {
    let project = Project::new();
    project.provisioners_file(
        "default.provisioners.yaml",
        "- {id: d1, type: postgres, static: {}}\n- {id: d2, type: redis, static: {}}\n",
    );
    project.provisioners_file("team.provisioners.yaml", "- {id: t1, type: s3, static: {}}\n");
    project.run(&["provisioners", "add", "c1", "postgres", "--static-json", "{}"]).assert_code(0);
    project.run(&["provisioners", "add", "c2", "redis", "--static-json", "{}"]).assert_code(0);

    project
        .run(&["provisioners", "remove", "c1"])
        .assert_code(0)
        .assert_line("     Removed provisioner `c1` from .score-fly/cli.provisioners.yaml");
    assert_eq!(ids(&cli_defs(&project)), ["c2"]);
    project.run(&["provisioners", "remove", "d1"]).assert_code(0);
    let defaults = definition::read_file(&project.path().join(".score-fly/default.provisioners.yaml")).expect("valid");
    assert_eq!(ids(&defaults), ["d2"]);

    let team = project.read(".score-fly/team.provisioners.yaml");
    let run = project.fails(&["provisioners", "remove", "t1"], INVALID);
    run.assert_stderr_has("provisioner `t1` is defined in your file .score-fly/team.provisioners.yaml");
    assert_eq!(project.read(".score-fly/team.provisioners.yaml"), team);

    let run = project.fails(&["provisioners", "remove", "nope"], INVALID);
    run.assert_line("error: no provisioner `nope` (defined: c2, t1, d2)");
    let ids_left: Vec<String> = listed(&project).into_iter().map(|(i, _)| i).collect();
    assert_eq!(ids_left, ["c2", "t1", "d2"]);
}

#[test]
fn a_builtin_that_does_not_exist_is_refused_when_added_and_when_generating() {
    let project = Project::with_score(&with_db("api"));
    project
        .fails(&["provisioners", "add", "x", "postgres", "--builtin", "mysql"], INVALID)
        .assert_stderr_has("there is no builtin provisioner `mysql` (builtins: postgres, postgres-instance, redis");
    project.provisioners_file("a.provisioners.yaml", "- {id: mine, type: postgres, builtin: mysql}\n");
    project.fails(&["generate"], INVALID).assert_stderr_has(
        "its provisioner `mine` (.score-fly/a.provisioners.yaml) names a builtin that does not exist: there is no builtin provisioner `mysql`",
    );
}

#[test]
fn an_id_defined_twice_names_both_files() {
    let project = Project::with_score(&with_db("api"));
    project.provisioners_file("a.provisioners.yaml", "- {id: pg, type: postgres, static: {values: {host: a}}}\n");
    project.provisioners_file("b.provisioners.yaml", "- {id: pg, type: redis, static: {}}\n");
    let message = "error: provisioner id `pg` is defined twice: in .score-fly/a.provisioners.yaml and in .score-fly/b.provisioners.yaml; ids must be unique";
    project.fails(&["provisioners", "list"], INVALID).assert_line(message);
    project.fails(&["generate"], INVALID).assert_line(message);
}

#[test]
fn a_malformed_file_names_the_file_and_the_item() {
    for (text, fragment) in [
        (
            "- {id: ok, type: redis, static: {}}\n- {id: bad, type: redis}\n",
            "item 2: provisioner `bad` needs exactly one of `cmd`, `http`, `static` or `builtin`",
        ),
        ("- {id: ok, type: redis, static: {}, colour: red}\n", "item 1: unknown field `colour`"),
        ("id: x\n", "the file must be a YAML list of provisioners"),
        ("- [unclosed\n", ""),
    ] {
        let project = Project::with_score(&with_db("api"));
        project.provisioners_file("team.provisioners.yaml", text);
        for args in [&["provisioners", "list"][..], &["generate"]] {
            let run = project.fails(args, INVALID);
            let error = run.errors().join("\n");
            assert!(
                error.contains("invalid provisioner file .score-fly/team.provisioners.yaml")
                    && error.contains(fragment),
                "{text:?} with `{}`: {error}",
                args.join(" ")
            );
        }
    }
}

#[test]
fn a_binary_that_does_not_exist_fails_generate_and_keeps_what_succeeded() {
    let project = Project::with_score(API);
    project.script("prov.sh", PROVISIONER);
    project.provisioners_file(
        "local.provisioners.yaml",
        "- {id: pg, type: postgres, cmd: {binary: ./no-such-provisioner}}\n- {id: dns, type: dns, cmd: {binary: ./prov.sh}}\n",
    );
    let run = project.run(&["generate"]);
    run.assert_code(FAILURE);
    let db = uid("postgres", "api", "db");
    let error = run.errors().join("\n");
    assert!(
        error.contains(&format!("failed to provision `{db}`")) && error.contains("./no-such-provisioner"),
        "{error}"
    );
    run.assert_stderr_has("1 of 2 resources are ready and kept in the project state");
    assert!(!project.exists("fly_api.toml"), "no fly.toml while a resource is missing");
    let state = project.state();
    assert_eq!(state.resources.keys().collect::<Vec<_>>(), [&uid("dns", "api", "dns")]);

    // Fixed: only the missing resource is provisioned.
    project.provisioners_file(
        "local.provisioners.yaml",
        "- {id: pg, type: postgres, cmd: {binary: ./prov.sh}}\n- {id: dns, type: dns, cmd: {binary: ./prov.sh}}\n",
    );
    project.generate_ok(&["generate"]);
    assert_eq!(
        project.lines("calls.log"),
        [format!("provision {}", uid("dns", "api", "dns")), format!("provision {db}")]
    );
    project.fly_toml("fly_api.toml");
}
