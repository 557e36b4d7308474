//! The builtin kind plugged into the engine: what the engine asks of it (names, derived
//! names, which builtins run on every run) answered by [`FlyEnv`].

use std::collections::BTreeMap;
use std::path::Path;

use serde_json::json;

use super::{FlyEnv, derived_name};
use crate::provision::testing::{builtin_def, doc, static_def, workloads};
use crate::provision::{NoEvents, Outcome, ProvisionOptions, Provisioning, execute, plan, plan_for};
use crate::state::{ResourceEntry, State};

#[test]
fn a_builtin_that_does_not_exist_is_a_plan_error_naming_the_provisioner() {
    let defs = vec![builtin_def("mine", "cache", "memcached")];
    let w = workloads(&[&doc("aa", "  cc:\n    type: cache\n")]);
    let e = plan(&w, &defs, &FlyEnv::default()).unwrap_err().to_string();
    assert!(
        e.contains("resource `cache.default#aa.cc`: its provisioner `mine` (test.provisioners.yaml) names a builtin that does not exist: there is no builtin provisioner `memcached` (builtins: postgres, "),
        "{e}"
    );
    let e = plan(&w, &defs, &crate::provision::NoBuiltins).unwrap_err().to_string();
    assert!(e.contains("there is no builtin provisioner `memcached` (this program has none)"), "{e}");
    let defs = vec![builtin_def("mine", "cache", "redis")];
    assert!(plan(&w, &defs, &FlyEnv::default()).is_ok());
}

/// Two ids whose `redis` names are equal: the same first 49 characters (all a name keeps
/// of the id after `redis-` and the 6-digit hash, with no prefix) and the same hash of
/// the uid, found the way an attacker would (a birthday search over suffixes).
fn colliding_redis_ids() -> (String, String) {
    let base = "c".repeat(49);
    let mut seen: BTreeMap<String, String> = BTreeMap::new();
    for n in 0.. {
        let id = format!("{base}-{n}");
        let name = derived_name("redis", "", &format!("redis.default#{id}"), &id).unwrap();
        if let Some(first) = seen.insert(name, id.clone()) {
            return (first, id);
        }
    }
    unreachable!()
}

#[test]
fn resources_that_would_derive_the_same_fly_name_are_refused() {
    let mut builtin = static_def("redis", "redis", &json!({}), &json!({}));
    builtin.def.static_ = None;
    builtin.def.builtin = Some("redis".into());
    let defs = vec![builtin];
    let (first, second) = colliding_redis_ids();
    assert_ne!(first, second);
    let w = workloads(&[
        &doc("aa", &format!("  cache:\n    type: redis\n    id: {first}\n")),
        &doc("bb", &format!("  cache:\n    type: redis\n    id: {second}\n")),
    ]);
    let e = plan(&w, &defs, &FlyEnv::default()).unwrap_err().to_string();
    assert!(
        e.contains(&format!("resource `redis.default#{second}` (declared by bb.cache) and resource `redis.default#{first}` (declared by aa.cache) would both be `redis-"))
            && e.contains("give one of them another `id`"),
        "{e}"
    );
    // Alone, either is fine; and a recorded resource counts as taken.
    let only_first = workloads(&[&doc("aa", &format!("  cache:\n    type: redis\n    id: {first}\n"))]);
    let mut state = State::new("");
    state.resources.insert(
        format!("redis.default#{first}"),
        ResourceEntry {
            kind: "redis".into(),
            class: "default".into(),
            id: first.clone(),
            declared_by: vec!["aa.cache".into()],
            provisioner: "redis".into(),
            params: serde_json::Map::new(),
            metadata: serde_json::Map::new(),
            fingerprint: String::new(),
            state: serde_json::Map::new(),
            values: serde_json::Map::new(),
            secrets: serde_json::Map::new(),
        },
    );
    assert!(plan_for(&only_first, &defs, &state, &FlyEnv::default()).is_ok());
    let only_second = workloads(&[&doc("bb", &format!("  cache:\n    type: redis\n    id: {second}\n"))]);
    let e = plan_for(&only_second, &defs, &state, &FlyEnv::default()).unwrap_err().to_string();
    assert!(e.contains("(provisioned earlier for aa.cache)"), "{e}");
}

#[test]
fn the_environment_builtin_is_called_on_every_run() {
    let mut builtin = static_def("env", "environment", &json!({}), &json!({}));
    builtin.def.static_ = None;
    builtin.def.builtin = Some("environment".into());
    let defs = vec![builtin, static_def("pg", "postgres", &json!({"host": "h"}), &json!({}))];
    let w = workloads(&[
        "apiVersion: score.dev/v1b1\nmetadata:\n  name: aa\ncontainers:\n  main:\n    image: nginx\n    variables:\n      TOKEN: ${resources.env.SF_ENGINE_TEST_TOKEN}\nresources:\n  env:\n    type: environment\n  db:\n    type: postgres\n",
    ]);
    let uid = "environment.default#aa.env";
    let fly_env = |token: &str| FlyEnv {
        referenced: BTreeMap::from([(uid.to_owned(), ["SF_ENGINE_TEST_TOKEN".to_owned()].into())]),
        vars: BTreeMap::from([("SF_ENGINE_TEST_TOKEN".to_owned(), crate::secret::Secret::new(token))]),
        ..FlyEnv::default()
    };
    let mut state = State::new("");
    for (token, db_outcome) in [("first-token", Outcome::Provisioned), ("second-token", Outcome::Reused)] {
        let fly = fly_env(token);
        let run = Provisioning {
            defs: &defs,
            workloads: &w,
            options: ProvisionOptions::default(),
            project_root: Path::new("."),
            events: &NoEvents,
            builtins: &fly,
        };
        let report = execute(&plan(&w, &defs, &FlyEnv::default()).unwrap(), run, &mut state, &mut |_| Ok(())).unwrap();
        assert_eq!(report.outcomes[uid], Outcome::Provisioned, "{report:?}");
        assert_eq!(report.outcomes["postgres.default#aa.db"], db_outcome);
        assert_eq!(state.resources[uid].secrets["SF_ENGINE_TEST_TOKEN"], token);
    }
}

#[test]
fn a_dry_run_reads_the_environment_only_when_asked_and_saves_nothing() {
    let mut builtin = static_def("env", "environment", &json!({}), &json!({}));
    builtin.def.static_ = None;
    builtin.def.builtin = Some("environment".into());
    let defs = vec![builtin, static_def("pg", "postgres", &json!({"host": "h"}), &json!({}))];
    let w = workloads(&[
        "apiVersion: score.dev/v1b1\nmetadata:\n  name: aa\ncontainers:\n  main:\n    image: nginx\n    variables:\n      TOKEN: ${resources.env.SF_DRY_TOKEN}\nresources:\n  env:\n    type: environment\n  db:\n    type: postgres\n",
    ]);
    let uid = "environment.default#aa.env";
    let fly = FlyEnv {
        referenced: BTreeMap::from([(uid.to_owned(), ["SF_DRY_TOKEN".to_owned()].into())]),
        vars: BTreeMap::from([("SF_DRY_TOKEN".to_owned(), crate::secret::Secret::new("t"))]),
        ..FlyEnv::default()
    };
    for read in [false, true] {
        let mut state = State::new("");
        let options = ProvisionOptions { dry_run: true, read_in_dry_run: read, ..ProvisionOptions::default() };
        let run = Provisioning {
            defs: &defs,
            workloads: &w,
            options,
            project_root: Path::new("."),
            events: &NoEvents,
            builtins: &fly,
        };
        let mut saves = 0;
        let report = execute(&plan(&w, &defs, &FlyEnv::default()).unwrap(), run, &mut state, &mut |_| {
            saves += 1;
            Ok(())
        })
        .unwrap();
        assert_eq!(saves, 0, "a dry run saves nothing");
        assert_eq!(report.outcomes["postgres.default#aa.db"], Outcome::Pending, "static: not called");
        if read {
            assert_eq!(report.outcomes[uid], Outcome::Provisioned, "{report:?}");
            assert_eq!(state.resources[uid].secrets["SF_DRY_TOKEN"], "t");
        } else {
            assert_eq!(report.outcomes[uid], Outcome::Pending, "{report:?}");
            assert!(state.resources.is_empty());
        }
    }
}
