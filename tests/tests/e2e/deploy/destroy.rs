//! `destroy` (issue 15 point 4) against the fake Fly and the real `PostgreSQL` behind its
//! Managed Postgres: shared resources outlive the first of their workloads, a failure midway
//! is finished by a rerun, nothing happens without a confirmation.

use super::*;

/// Two workloads (`api`, `worker`) sharing one Managed Postgres database (`id: shared-db`),
/// and `cache`, a Redis only `api` declares, deployed.
fn deployed_pair() -> (World, PathBuf) {
    let world = World::new();
    let dir = world.dir.path().join("files");
    std::fs::create_dir_all(&dir).unwrap();
    for name in ["api", "worker"] {
        let cache = if name == "api" { "      CACHE: ${resources.cache.url}\n" } else { "" };
        let cache_resource = if name == "api" { "  cache:\n    type: redis\n" } else { "" };
        std::fs::write(
            dir.join(format!("{name}.score.yaml")),
            format!(
                "apiVersion: score.dev/v1b1\nmetadata:\n  name: {name}\ncontainers:\n  main:\n    image: nginx:stable\n    variables:\n      DB_PASSWORD: ${{resources.db.password}}\n{cache}resources:\n  db:\n    type: postgres\n    id: shared-db\n{cache_resource}"
            ),
        )
        .unwrap();
    }
    world.run_in(&dir, &["init", "--app-prefix", PREFIX, "--no-sample"]).ok();
    world.run_in(&dir, &["deploy", "api.score.yaml", "worker.score.yaml", "--region", "ams"]).ok();
    assert_eq!(world.score_fly_databases().len(), 1);
    assert_eq!(world.fake.redis().len(), 1);
    (world, dir)
}

fn state(dir: &Path) -> Value {
    serde_json::from_str(&std::fs::read_to_string(dir.join(".score-fly/state.json")).unwrap()).unwrap()
}

fn app_names(world: &World) -> Vec<String> {
    world.fake.apps().into_iter().map(|a| a.name).collect()
}

#[test]
fn destroying_one_workload_keeps_what_the_other_uses_and_the_last_one_takes_everything() {
    let (world, dir) = deployed_pair();
    let kept_copies = |workload: &str| {
        std::fs::read_dir(dir.join(".score-fly/releases").join(workload)).map_or(0, |d| d.flatten().count())
    };
    assert_eq!(kept_copies("api"), 1, "the deploy kept its fly.toml");
    let run = world.run_in(&dir, &["destroy", "api", "--yes"]).ok();
    assert_eq!(kept_copies("api"), 0, "the release copies go with the workload");
    assert_eq!(kept_copies("worker"), 1);
    assert_eq!(app_names(&world), ["demo-worker"], "{}", run.stderr);
    assert!(run.stderr.contains("Keeping postgres.default#shared-db (still declared by worker)"), "{}", run.stderr);
    assert!(world.fake.redis().is_empty(), "api's own Redis went: {}", run.stderr);
    assert_eq!(world.score_fly_databases().len(), 1, "the shared database stays");
    let after = state(&dir);
    assert!(after["workloads"].get("api").is_none() && after["workloads"].get("worker").is_some(), "{after:#}");
    assert_eq!(after["resources"]["postgres.default#shared-db"]["declared_by"], json!(["worker.db"]));

    let run = world.run_in(&dir, &["destroy", "--yes", "--format", "json"]).ok();
    let report: Value = serde_json::from_str(&run.stdout).expect("a JSON report");
    assert_eq!(report["kind"], "destroy-report");
    assert_eq!(report["destroyed_apps"], json!(["demo-worker"]));
    assert_eq!(report["deprovisioned"], json!(["postgres.default#shared-db"]));
    assert!(app_names(&world).is_empty());
    assert!(world.fake.mpg_clusters().is_empty(), "the last user took the cluster");
    assert!(world.score_fly_databases().is_empty(), "and its database, in the real PostgreSQL");
    let after = state(&dir);
    assert_eq!((after["workloads"].clone(), after["resources"].clone()), (json!({}), json!({})), "{after:#}");
}

#[test]
fn a_destroy_that_fails_midway_is_finished_by_a_rerun() {
    let (world, dir) = deployed_pair();
    world.fake.fail_next("mpg users delete", 500, "injected failure: the platform is having a bad day");
    let run = world.run_in(&dir, &["destroy", "--yes"]);
    assert_ne!(run.code, 0);
    assert!(run.stderr.contains("injected failure"), "{}", run.stderr);
    assert!(run.stderr.contains("run destroy again"), "{}", run.stderr);
    assert!(app_names(&world).is_empty(), "the apps went first");
    let midway = state(&dir);
    assert!(midway["resources"].get("postgres.default#shared-db").is_some(), "not forgotten early: {midway:#}");

    let run = world.run_in(&dir, &["destroy", "--yes"]).ok();
    assert!(
        !world.commands().iter().any(|c| c == "apps destroy") || run.stderr.contains("Destroyed"),
        "{}",
        run.stderr
    );
    assert!(app_names(&world).is_empty());
    assert!(world.fake.mpg_clusters().is_empty());
    assert!(world.fake.redis().is_empty());
    assert!(world.score_fly_databases().is_empty());
    let after = state(&dir);
    assert_eq!((after["workloads"].clone(), after["resources"].clone()), (json!({}), json!({})), "{after:#}");
    // The rerun destroyed no app twice: flyctl fails on an app that is gone (fly-2026.md §5.5).
    let destroys = world.commands().iter().filter(|c| *c == "apps destroy").count();
    assert_eq!(destroys, 2, "{:?}", world.commands());
}

#[test]
fn destroy_asks_first_refuses_without_a_terminal_and_its_dry_run_changes_nothing() {
    let (world, dir) = deployed_pair();
    let before = std::fs::read_to_string(dir.join(".score-fly/state.json")).unwrap();
    let run = world.run_in(&dir, &["destroy"]);
    assert_eq!(run.code, 2, "{}", run.stderr);
    assert!(run.stderr.contains("there is no terminal to ask on: pass --yes to confirm"), "{}", run.stderr);
    let run = world.run_in(&dir, &["destroy", "--dry-run", "--format", "json"]).ok();
    let plan: Value = serde_json::from_str(&run.stdout).expect("a JSON plan");
    assert_eq!(plan["kind"], "destroy-plan");
    assert_eq!(plan["apps"][0], json!({"workload": "api", "app": "demo-api", "status": "exists"}));
    // Redis first would be as good; the order is reverse dependency, ties by uid, reversed.
    let dropped: Vec<&str> = plan["resources"].as_array().unwrap().iter().map(|r| r["uid"].as_str().unwrap()).collect();
    assert_eq!(dropped, ["redis.default#api.cache", "postgres.default#shared-db"]);
    let run = world.run_in(&dir, &["destroy", "worker", "--dry-run", "--keep-resources"]).ok();
    assert!(run.stderr.contains("Would destroy app demo-worker (workload worker)"), "{}", run.stderr);
    assert!(run.stderr.contains("Keeping postgres.default#shared-db (--keep-resources)"), "{}", run.stderr);
    let run = world.run_in(&dir, &["destroy", "nope", "--yes"]);
    assert_eq!(run.code, 3, "invalid input");
    assert!(run.stderr.contains("no workload `nope` in the project (its workloads: api, worker)"), "{}", run.stderr);
    assert_eq!(std::fs::read_to_string(dir.join(".score-fly/state.json")).unwrap(), before, "nothing changed");
    assert_eq!(app_names(&world), ["demo-api", "demo-worker"]);

    let run = world.run_in(&dir, &["destroy", "worker", "--yes", "--keep-resources"]).ok();
    assert_eq!(app_names(&world), ["demo-api"], "{}", run.stderr);
    assert_eq!(world.score_fly_databases().len(), 1, "kept");
}
