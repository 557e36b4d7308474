//! Crash consistency: `generate` killed with SIGKILL at arbitrary moments (before, during and
//! after provisioning and the state and fly.toml writes) never leaves a half-written state or
//! fly.toml, and a normal run afterwards succeeds from whatever was left.

use std::collections::BTreeMap;
use std::path::Path;
use std::process::Stdio;
use std::time::{Duration, Instant};

use score_fly_core::state::State;

use crate::fixtures::STATE;
use crate::support::Project;

/// A provisioner that takes a few tens of ms and answers with outputs derived from the id.
const SLOW: &str = r#"req=$(cat)
id=$(printf '%s' "$req" | sed -n 's/.*"resource_id":"\([^"]*\)".*/\1/p')
sleep 0.02
printf '{"values":{"host":"%s.internal","n":42},"secrets":{"password":"pw-%s"},"state":{"id":"%s"}}\n' "$id" "$id" "$id"
"#;

/// A workload with three resources: a chain of two (`rb` reads `ra`'s host) and an
/// independent one, all read by variables (one a secret).
fn workload(name: &str) -> String {
    format!(
        "apiVersion: score.dev/v1b1
metadata:
  name: {name}
containers:
  main:
    image: nginx
    variables:
      RA_HOST: ${{resources.ra.host}}
      RB_HOST: ${{resources.rb.host}}
      RC_HOST: ${{resources.rc.host}}
      SECRET: ${{resources.ra.password}}
resources:
  ra:
    type: slow
  rb:
    type: slow
    params:
      up: ${{resources.ra.host}}
  rc:
    type: slow
"
    )
}

/// `SplitMix64`: a small deterministic generator, one stream per iteration.
fn splitmix(seed: u64) -> u64 {
    let mut z = seed.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

const OUTPUTS: [&str; 2] = ["fly_alpha.toml", "fly_beta.toml"];

/// Checks what a killed run left: the state absent or complete (every entry with the outputs
/// its provisioner gave), each fly.toml absent or exactly the complete file.
fn check_consistent(project: &Project, reference: &BTreeMap<&str, Vec<u8>>, iteration: u64, delay_ms: u64) {
    let context = format!("iteration {iteration}, killed after {delay_ms} ms");
    let path = project.path().join(STATE);
    match std::fs::read_to_string(&path) {
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => panic!("{context}: cannot read the state: {e}"),
        Ok(text) => {
            let state = State::parse(Path::new(STATE), &text)
                .unwrap_or_else(|e| panic!("{context}: the state is not complete: {e}\n{text}"));
            assert_eq!(state.version, 1, "{context}");
            for (uid, entry) in &state.resources {
                let id = &entry.id;
                assert_eq!(entry.kind, "slow", "{context}: {uid}");
                assert_eq!(entry.provisioner, "slow", "{context}: {uid}");
                assert_eq!(entry.values.get("host"), Some(&format!("{id}.internal").into()), "{context}: {uid}");
                assert_eq!(entry.values.get("n"), Some(&42.into()), "{context}: {uid}");
                assert_eq!(entry.secrets.get("password"), Some(&format!("pw-{id}").into()), "{context}: {uid}");
                assert_eq!(entry.state.get("id"), Some(&id.as_str().into()), "{context}: {uid}");
                assert_eq!(entry.fingerprint.len(), 64, "{context}: {uid}");
            }
        }
    }
    for name in OUTPUTS {
        match std::fs::read(project.path().join(name)) {
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => panic!("{context}: cannot read {name}: {e}"),
            Ok(bytes) => {
                score_fly_tests::flytoml::assert_valid(std::str::from_utf8(&bytes).expect("UTF-8"));
                assert_eq!(&bytes, &reference[name], "{context}: {name} is not the complete file");
            }
        }
    }
}

#[test]
fn generate_killed_at_random_moments_leaves_a_consistent_project() {
    let project = Project::new();
    project.script("slow.sh", SLOW);
    project.provisioners_file("local.provisioners.yaml", "- {id: slow, type: slow, cmd: {binary: ./slow.sh}}\n");
    project.write("alpha.yaml", workload("alpha"));
    project.write("beta.yaml", workload("beta"));
    let args = ["generate", "alpha.yaml", "beta.yaml", "-j", "4", "--reprovision", "-q"];

    // A complete run first: the files every killed run may leave, if anything.
    project.generate_ok(&args);
    let reference: BTreeMap<&str, Vec<u8>> = OUTPUTS.iter().map(|n| (*n, project.read(n))).collect();
    assert_eq!(project.state().resources.len(), 6);

    let started = Instant::now();
    let mut outcomes = [0u32; 2]; // [killed, finished before the kill]
    // For the killed runs: (resources in the state if any, fly.toml files written) → count.
    let mut left_temporaries = Vec::new();
    let mut landed: BTreeMap<(Option<usize>, usize), u32> = BTreeMap::new();
    for iteration in 0..60u64 {
        // fly.toml files present after the kill were written by this run; every third
        // iteration also starts without a state.
        for name in OUTPUTS {
            let _ = std::fs::remove_file(project.path().join(name));
        }
        if iteration % 3 == 0 {
            let _ = std::fs::remove_file(project.path().join(STATE));
        }
        let delay_ms = splitmix(iteration) % 301;
        let mut child =
            project.command(args).stdout(Stdio::null()).stderr(Stdio::null()).spawn().expect("start cargo-score-fly");
        std::thread::sleep(Duration::from_millis(delay_ms));
        let finished = child.try_wait().expect("poll").is_some();
        child.kill().expect("SIGKILL");
        let status = child.wait().expect("reap");
        outcomes[usize::from(finished)] += 1;
        assert!(finished || status.code().is_none() || status.success(), "iteration {iteration}: {status}");
        check_consistent(&project, &reference, iteration, delay_ms);
        if !finished {
            let resources = if project.exists(STATE) { Some(project.state().resources.len()) } else { None };
            let tomls = OUTPUTS.iter().filter(|n| project.exists(n)).count();
            *landed.entry((resources, tomls)).or_insert(0u32) += 1;
        }
        for entry in std::fs::read_dir(project.path()).expect("list") {
            let name = entry.expect("entry").file_name().to_string_lossy().into_owned();
            if Path::new(&name).extension().is_some_and(|e| e == "tmp") {
                left_temporaries.push(format!("iteration {iteration}: {name}"));
            }
        }
        assert!(started.elapsed() < Duration::from_mins(2), "the kill loop hangs");
    }
    // Runs killed within 40 ms cannot have finished (the chain alone sleeps 2 × 20 ms).
    let surely_killed = (0..60).filter(|&i| splitmix(i) % 301 < 40).count();
    assert!(surely_killed >= 10, "the delays cover the start of a run");
    assert!(outcomes[0] as usize >= surely_killed, "runs killed / finished first: {outcomes:?}");
    eprintln!("killed/finished: {outcomes:?}; killed runs left (resources in the state, fly.toml files): {landed:?}");

    // A normal run continues from whatever was left and produces the complete files.
    let run = project.generate_ok(&["generate", "alpha.yaml", "beta.yaml"]);
    run.assert_code(0);
    for name in OUTPUTS {
        assert_eq!(project.read(name), reference[name], "{name}");
    }
    let state = project.state();
    assert_eq!(state.resources.len(), 6);
    assert_eq!(state.workloads.keys().collect::<Vec<_>>(), ["alpha", "beta"]);
    // Temporary files of fly.toml writes a kill interrupted (hidden `.fly_*.toml.<pid>.tmp`
    // beside the output) are not the output itself; they are reported, not failed on.
    if !left_temporaries.is_empty() {
        eprintln!("temporary files left by killed runs: {left_temporaries:?}");
    }
}
