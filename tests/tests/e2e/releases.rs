//! `releases`, `rollback` and `status` end to end: the product against the fake Fly (`fly
//! releases --json` §5.3, `fly status --json` §5.1, `fly deploy --image` resolving images in
//! a real registry §5.4), with images pushed to a real `docker-registry`.

use std::path::{Path, PathBuf};
use std::process::Command;

use score_fly_tests::registry::{Base, Registry, inspect, make_base_with, push_layout, run_tool, unique};
use serde_json::Value;

use crate::deploy::{PREFIX, Run, World};

/// An image in `registry` whose content differs by `marker` (so each has its own digest).
fn push_image(registry: &Registry, work: &Path, marker: &str) -> String {
    let dir = work.join(marker);
    std::fs::create_dir_all(&dir).unwrap();
    let layout = make_base_with(Base::NoLibc, &dir, &|rootfs| std::fs::write(rootfs.join("marker"), marker).unwrap());
    let reference = format!("{}/demo-api:{}", registry.host(), unique(marker));
    push_layout(&layout, &reference, None, false);
    reference
}

/// A workload whose fly.toml carries `greeting` and whose secret `TOKEN` comes from the
/// environment variable `API_TOKEN` (builtin `environment`).
fn write_score(dir: &Path, greeting: &str) {
    std::fs::create_dir_all(dir).unwrap();
    std::fs::write(
        dir.join("api.score.yaml"),
        format!(
            "apiVersion: score.dev/v1b1\nmetadata:\n  name: api\ncontainers:\n  main:\n    image: .\n    variables:\n      GREETING: \"{greeting}\"\n      TOKEN: \"${{resources.env.API_TOKEN}}\"\nresources:\n  env:\n    type: environment\n"
        ),
    )
    .unwrap();
}

struct Project<'w> {
    world: &'w World,
    dir: PathBuf,
}

impl Project<'_> {
    fn run(&self, args: &[&str]) -> Run {
        self.world.run_in(&self.dir, args)
    }

    fn deploy(&self, image: &str, token: &str) -> Run {
        self.world.run_in_env(
            &self.dir,
            &["deploy", "api.score.yaml", "--region", "ams", "--image", image],
            &[("API_TOKEN", token)],
        )
    }

    fn json(&self, args: &[&str]) -> Value {
        let run = self.run(args).ok();
        serde_json::from_str(&run.stdout).unwrap_or_else(|e| panic!("{args:?} printed no JSON ({e}):\n{}", run.stdout))
    }

    fn releases(&self) -> Vec<Value> {
        self.json(&["releases", "--format", "json"])["workloads"][0]["releases"].as_array().cloned().unwrap_or_default()
    }
}

/// Deploy twice (another image, another fly.toml, another secret), then `rollback --yes`:
/// the fake Fly's current release runs the first image with the first fly.toml, the secrets
/// warning is shown, `releases` lists three; `status` shows the machines, the digest the
/// registry gives, and the drift a rollback leaves (fly.toml on disk ≠ deployed). A rollback
/// to a release whose image was deleted from the registry fails clearly and records
/// nothing; without a terminal and without `--yes` it is refused (exit 2).
#[test]
fn rollback_redeploys_the_first_image_with_its_fly_toml_and_says_what_it_cannot_roll_back() {
    let world = World::new();
    let registry = Registry::start();
    let work = tempfile::tempdir().unwrap();
    let first = push_image(&registry, work.path(), "one");
    let second = push_image(&registry, work.path(), "two");
    let p = Project { world: &world, dir: world.dir.path().join("api") };
    write_score(&p.dir, "hello");
    p.run(&["init", "--app-prefix", PREFIX, "--no-sample"]).ok();

    // Nothing deployed yet: no earlier release.
    let early = p.run(&["rollback", "--yes"]);
    assert_eq!(early.code, 3, "{}", early.stderr);
    assert!(early.stderr.contains("the project has no workloads yet"), "{}", early.stderr);

    p.deploy(&first, "token-one").ok();
    let status = p.json(&["status", "--format", "json"]);
    assert_eq!((&status["schema_version"], &status["kind"]), (&Value::from(1), &Value::from("status")));
    let w = &status["workloads"][0];
    assert_eq!(w["drift"]["drifted"], false, "{status:#}");
    assert_eq!(w["drift"]["fly_toml"], "unchanged");

    write_score(&p.dir, "bonjour");
    let run = p.deploy(&second, "token-two").ok();
    assert!(run.stderr.contains("Recorded release 2 of api"), "{}", run.stderr);

    let releases = p.releases();
    assert_eq!(releases.len(), 2);
    assert_eq!((&releases[0]["version"], &releases[0]["current"]), (&Value::from(2), &Value::from(true)));
    assert_eq!(releases[0]["image"], second.as_str());
    assert_eq!((&releases[1]["version"], &releases[1]["current"]), (&Value::from(1), &Value::from(false)));
    assert_ne!(releases[0]["secrets_digest"], releases[1]["secrets_digest"], "the secret changed");
    assert_ne!(releases[0]["config_sha256"], releases[1]["config_sha256"], "the fly.toml changed");
    for release in &releases {
        let digest = release["secrets_digest"].as_str().unwrap();
        for value in ["token-one", "token-two"] {
            let plain = score_fly_core::ops::releases::sha256(format!("demo-api\0TOKEN={value}\n").as_bytes());
            assert_ne!(digest, plain, "the secrets digest is keyed, not a plain hash of the values");
        }
    }

    // Without a terminal and without --yes: refused, nothing deployed.
    let refused = p.run(&["rollback"]);
    assert_eq!(refused.code, 2, "{}", refused.stderr);
    assert!(refused.stderr.contains("there is no terminal to ask on: pass --yes"), "{}", refused.stderr);
    assert_eq!(world.fake.app("demo-api").unwrap().releases.len(), 2);

    // The rollback itself.
    let run = p.run(&["rollback", "--yes", "--format", "json"]).ok();
    assert!(
        run.stderr.contains("secrets are not rolled back: the secrets of demo-api changed since release 1"),
        "{}",
        run.stderr
    );
    assert!(run.stderr.contains("resources are not rolled back: `environment.default#api.env`"), "{}", run.stderr);
    let report: Value = serde_json::from_str(&run.stdout).unwrap();
    assert_eq!(
        (&report["kind"], &report["from"], &report["to"], &report["version"]),
        (&Value::from("rollback"), &Value::from(2), &Value::from(1), &Value::from(3))
    );
    let app = world.fake.app("demo-api").unwrap();
    assert_eq!(app.releases.len(), 3);
    let current = app.current_release().unwrap();
    // By digest (issue 15): the tag given to the first deploy could have moved since.
    let digest = inspect(&first, None, None)["Digest"].as_str().expect("a digest").to_owned();
    let pinned = format!("{}@{digest}", first.rsplit_once(':').expect("a tag").0);
    assert_eq!(current.image, pinned, "the first image runs again, by digest");
    assert_eq!(current.digest, digest);
    assert_eq!(current.config, app.releases[0].config, "with the first fly.toml");
    assert_ne!(current.config, app.releases[1].config);
    assert!(current.config.contains("GREETING = \"hello\""), "{}", current.config);
    let deploy = world.invocations().into_iter().rev().find(|i| i["argv"][0] == "deploy").unwrap();
    let argv: Vec<&str> = deploy["argv"].as_array().unwrap().iter().filter_map(Value::as_str).collect();
    assert_eq!(argv[5..], ["--image", pinned.as_str()], "{argv:?}");
    assert!(argv[2].ends_with(".score-fly/releases/api/1.toml"), "{argv:?}");

    let releases = p.releases();
    assert_eq!(releases.len(), 3, "the rollback is a release");
    assert_eq!((&releases[0]["version"], &releases[0]["rollback_of"]), (&Value::from(3), &Value::from(1)));
    assert_eq!(releases[0]["image"], pinned.as_str());
    assert_eq!(releases[2]["digest"], digest.as_str(), "the tag's digest was recorded at its deploy");
    assert_eq!(releases[0]["config_sha256"], releases[2]["config_sha256"]);
    assert_eq!(releases[0]["secrets_digest"], releases[1]["secrets_digest"], "the current secrets stayed");

    // Status: Fly's machines and digest; the fly.toml on disk is release 2's, not the running one.
    let status = p.json(&["status", "--format", "json"]);
    let schema_path = score_fly_tests::workspace_root().join("docs/schema/status-v1.json");
    let schema: Value = serde_json::from_str(&std::fs::read_to_string(schema_path).unwrap()).unwrap();
    let validator = jsonschema::draft202012::new(&schema).expect("a valid JSON Schema");
    let errors: Vec<String> = validator.iter_errors(&status).map(|e| format!("{e} at {}", e.instance_path())).collect();
    assert!(errors.is_empty(), "the status document follows docs/schema/status-v1.json: {errors:#?}");
    let mut broken = status.clone();
    broken["workloads"][0]["drift"]["fly_toml"] = Value::from("maybe");
    assert!(!validator.is_valid(&broken));
    let w = &status["workloads"][0];
    assert_eq!(w["app"], "demo-api");
    assert_eq!(w["url"], "https://demo-api.fly.dev");
    assert_eq!(w["version"], 3);
    assert_eq!(w["digest"], inspect(&first, None, None)["Digest"], "{status:#}");
    let machines = w["machines"].as_array().unwrap();
    let fake_machines = world.fake.app("demo-api").unwrap().machines;
    assert_eq!(machines.len(), fake_machines.len());
    assert!(!machines.is_empty());
    for (m, fake) in machines.iter().zip(&fake_machines) {
        assert_eq!(
            (m["id"].as_str(), m["region"].as_str(), m["state"].as_str()),
            (Some(fake.id.as_str()), Some("ams"), Some("started"))
        );
    }
    assert_eq!(w["resources"][0]["uid"], "environment.default#api.env");
    assert_eq!(w["resources"][0]["health"], "provisioned");
    assert_eq!((&w["drift"]["fly_toml"], &w["drift"]["drifted"]), (&Value::from("changed"), &Value::from(true)));
    let text = p.run(&["status"]).ok();
    assert!(text.stdout.contains("fly.toml: CHANGED since the last release"), "{}", text.stdout);

    // Editing the Score file shows too.
    write_score(&p.dir, "hola");
    let status = p.json(&["status", "api", "--format", "json"]);
    assert_eq!(status["workloads"][0]["drift"]["score_file"], "changed", "{status:#}");

    // Release 2's image is gone from the registry: a clear error, nothing recorded or deployed.
    let second_digest = inspect(&second, None, None)["Digest"].as_str().expect("a digest").to_owned();
    let second_pinned = format!("{}@{second_digest}", second.rsplit_once(':').expect("a tag").0);
    run_tool(Command::new("skopeo").args(["delete", "--tls-verify=false", &format!("docker://{second}")]));
    let gone = p.run(&["rollback", "--to", "2", "--yes"]);
    assert_eq!(gone.code, 1, "{}", gone.stderr);
    for part in [
        "the image of release 2 of workload `api`",
        second_pinned.as_str(),
        "is no longer in the registry",
        "nothing was deployed or recorded",
        "cargo score-fly releases api",
    ] {
        assert!(gone.stderr.contains(part), "no `{part}` in:\n{}", gone.stderr);
    }
    assert_eq!(p.releases().len(), 3, "nothing recorded");
    assert_eq!(world.fake.app("demo-api").unwrap().releases.len(), 3, "nothing deployed");

    // An unknown version names the recorded ones.
    let unknown = p.run(&["rollback", "--to", "9", "--yes"]);
    assert_eq!(unknown.code, 3);
    assert!(unknown.stderr.contains("no recorded release 9; its releases: 3, 2, 1"), "{}", unknown.stderr);
}
