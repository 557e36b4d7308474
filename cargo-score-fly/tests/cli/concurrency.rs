//! Two runs on one project: the second waits for the first's lock (saying whose), then works
//! from the state the first saved; with `--lock-timeout 0` it gives up at once.

use std::process::Child;
use std::time::Duration;

use crate::fixtures::{CALLS, FAILURE, finish, wait_until};
use crate::support::{Project, Run};

/// Long enough for any run of these tests; a hang fails instead of blocking the suite.
const LIMIT: Duration = Duration::from_mins(1);

/// A provisioner taking about 200 ms, logging its calls.
const SLOW: &str = r#"req=$(cat)
uid=$(printf '%s' "$req" | sed -n 's/.*"resource_uid":"\([^"]*\)".*/\1/p')
sleep 0.2
echo "provision $uid" >> calls.log
printf '{"values":{"host":"h"},"secrets":{"password":"p-%s"}}\n' "$uid"
"#;

/// An initialised project (so the lock records its holder) whose workload `api` has three
/// resources served by [`SLOW`].
fn slow_project() -> Project {
    let project = Project::new();
    project.run(&["init", "--no-sample"]).assert_code(0);
    project.script("slow.sh", SLOW);
    project.provisioners_file("local.provisioners.yaml", "- {id: slow, type: slow, cmd: {binary: ./slow.sh}}\n");
    project.write(
        "score.yaml",
        "apiVersion: score.dev/v1b1\nmetadata:\n  name: api\ncontainers:\n  main:\n    image: nginx\n    variables:\n      A: ${resources.ra.host}\nresources:\n  ra:\n    type: slow\n  rb:\n    type: slow\n  rc:\n    type: slow\n",
    );
    project
}

/// Waits until `.score-fly/lock` names the run `child` (it holds the lock).
fn wait_for_lock(project: &Project, child: &mut Child) {
    let pid = child.id();
    wait_until(&format!("pid {pid} holds the lock"), LIMIT, || {
        assert!(child.try_wait().expect("poll").is_none(), "the run ended before it was seen holding the lock");
        project.lines(".score-fly/lock").first().is_some_and(|l| *l == pid.to_string())
    });
}

fn assert_intact(project: &Project) {
    let state = project.state();
    assert_eq!(state.resources.len(), 3, "{state:?}");
    assert!(state.workloads.contains_key("api"));
    assert_eq!(project.lines(CALLS).len(), 3, "each resource provisioned once: the second run reused them");
    project.check_every_fly_toml();
    assert!(!project.exists(".score-fly/lock"), "the pid file goes with the lock");
}

#[test]
fn the_second_run_waits_for_the_lock_and_reuses_what_the_first_made() {
    let project = slow_project();
    let mut first = project.spawn(&["generate"]);
    let holder = first.id();
    wait_for_lock(&project, &mut first);
    let second = project.spawn(&["generate"]);
    let (first, second) = (finish(first, LIMIT), finish(second, LIMIT));
    first.assert_code(0);
    second.assert_code(0);
    second.assert_line(&format!("    Blocking waiting for the project lock held by pid {holder}"));
    assert!(!first.stderr.contains("Blocking"), "{}", first.stderr);
    assert!(!second.stderr.contains("Provisioning"), "the second run found everything provisioned\n{}", second.stderr);
    assert_intact(&project);
}

#[test]
fn with_lock_timeout_0_the_second_run_gives_up_at_once() {
    let project = slow_project();
    let mut first = project.spawn(&["generate"]);
    let holder = first.id();
    wait_for_lock(&project, &mut first);
    let second = project.run(&["generate", "--lock-timeout", "0"]);
    second.assert_code(FAILURE);
    let error = second.errors().join("\n");
    assert!(error.starts_with(&format!("error: state is locked by pid {holder}")), "{}", second.stderr);
    assert!(!second.stderr.contains("Blocking"), "{}", second.stderr);
    finish(first, LIMIT).assert_code(0);
    assert_intact(&project);
}

/// Starts two runs at the same moment; returns them with their pids.
fn race(project: &Project) -> [(u32, Run); 2] {
    let a = project.spawn(&["generate"]);
    let b = project.spawn(&["generate"]);
    let (pa, pb) = (a.id(), b.id());
    [(pa, finish(a, LIMIT)), (pb, finish(b, LIMIT))]
}

#[test]
fn two_runs_started_together_both_succeed() {
    let project = slow_project();
    let runs = race(&project);
    for (_, run) in &runs {
        run.assert_code(0);
    }
    let blocked: Vec<&Run> = runs.iter().map(|(_, r)| r).filter(|r| r.stderr.contains("Blocking")).collect();
    assert_eq!(blocked.len(), 1, "exactly one waited\n{runs:?}");
    assert!(blocked[0].stderr.contains("waiting for the project lock held by"), "{}", blocked[0].stderr);
    assert_intact(&project);
}

#[test]
fn two_runs_started_together_name_the_holder() {
    for round in 0..10 {
        let project = slow_project();
        let [(pa, a), (pb, b)] = race(&project);
        a.assert_code(0);
        b.assert_code(0);
        let (waiter, holder) = if b.stderr.contains("Blocking") { (&b, pa) } else { (&a, pb) };
        assert!(
            waiter.stderr.contains(&format!("Blocking waiting for the project lock held by pid {holder}")),
            "round {round}:\n{}",
            waiter.stderr
        );
    }
}
