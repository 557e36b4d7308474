//! Planning and running provisioning (see the module docs of [`crate::provision`]).

use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::path::Path;
use std::sync::{Arc, Mutex, mpsc};

use sha2::{Digest as _, Sha256};

use super::definition::{Kind, Located, find_match};
use super::protocol::{Mode, Request, Response, depth, map_depth, merge_patch};
use super::{Builtins, CallContext, CallFailed, Events, Redactor, call};
use crate::limits;
use crate::placeholder::{self, Context, ResourceOutputs};
use crate::spec::Workload;
use crate::state::{ResourceEntry, State, StateError};

/// How many provisioners run at once by default. Provisioners mostly wait on the network,
/// so this is not tied to the number of CPUs.
pub const DEFAULT_JOBS: usize = 16;

/// Options of a provisioning run.
#[derive(Debug, Clone, Copy)]
pub struct ProvisionOptions {
    /// Provisioners running at once (at least 1).
    pub jobs: usize,
    /// Call provisioners even for resources whose inputs did not change.
    pub reprovision: bool,
    /// Call no provisioner: resources that would need one end `Outcome::Pending`.
    pub dry_run: bool,
    /// In a dry run, still call the provisioners that only read (`environment`, see
    /// [`Builtins::always_call`]; they create nothing), so their outputs are known:
    /// `generate --check` compares what would be written with them.
    pub read_in_dry_run: bool,
}

impl Default for ProvisionOptions {
    fn default() -> Self {
        ProvisionOptions { jobs: DEFAULT_JOBS, reprovision: false, dry_run: false, read_in_dry_run: false }
    }
}

/// One resource to provision.
#[derive(Debug, Clone, PartialEq)]
pub struct Planned {
    /// `type.class#id`.
    pub uid: String,
    /// Type.
    pub kind: String,
    /// Class.
    pub class: String,
    /// Id.
    pub id: String,
    /// Params as written (placeholders not expanded yet).
    pub params: serde_json::Map<String, serde_json::Value>,
    /// Metadata.
    pub metadata: serde_json::Map<String, serde_json::Value>,
    /// `workload.resource-name` of every declaration.
    pub declared_by: Vec<String>,
    /// The workload whose names and metadata resolve the params (the first declaring one).
    pub context: String,
    /// Index of the provisioner (in the definitions given to [`plan`]).
    pub provisioner: usize,
    /// Indexes of the resources whose outputs the params read.
    pub deps: Vec<usize>,
}

/// The resources of a set of workloads, in an order where dependencies come first.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Plan {
    /// The resources.
    pub resources: Vec<Planned>,
}

/// One reason a resource cannot be provisioned as declared.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlanProblem {
    /// The (first) workload declaring the resource.
    pub workload: String,
    /// The resource's name in that workload.
    pub resource: String,
    /// What is wrong and what to do.
    pub message: String,
}

/// Why resources cannot be provisioned as declared (every problem found).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{}", .problems.iter().map(|p| p.message.as_str()).collect::<Vec<_>>().join("\n"))]
pub struct PlanError {
    /// The problems.
    pub problems: Vec<PlanProblem>,
}

struct Declaration<'w> {
    workload: &'w str,
    name: &'w str,
    /// Declared with `id` (shared); else the id is the private `workload.name`.
    explicit: bool,
    params: serde_json::Map<String, serde_json::Value>,
    metadata: serde_json::Map<String, serde_json::Value>,
    kind: String,
    class: String,
    id: String,
    /// uids of referenced resources.
    refs: Vec<String>,
}

impl Declaration<'_> {
    /// `workload.resource-name`, as `declared_by` records it.
    fn label(&self) -> String {
        format!("{}.{}", self.workload, self.name)
    }
}

/// Plans the resources of `workloads` with provisioners `defs`, as for a project with no
/// recorded resources. A project's runs use [`plan_for`], which also checks the resources
/// its state recorded. `builtins` answers for `builtin:` provisioners (which names exist,
/// what each names on Fly).
pub fn plan(
    workloads: &BTreeMap<String, Workload>,
    defs: &[Located],
    builtins: &dyn Builtins,
) -> Result<Plan, PlanError> {
    plan_checked(workloads, defs, &BTreeMap::new(), "", builtins)
}

/// Plans the resources of `workloads` with provisioners `defs` in a project whose state
/// recorded `state.resources` in earlier runs.
///
/// Besides the checks of [`plan`], a declaration may not take over a recorded resource that
/// belonged to another declaration's private identity: an explicit `id` naming the private
/// resource of a declaration that no longer exists, or a private resource whose uid an
/// explicit `id` of other declarations provisioned.
pub fn plan_for(
    workloads: &BTreeMap<String, Workload>,
    defs: &[Located],
    state: &State,
    builtins: &dyn Builtins,
) -> Result<Plan, PlanError> {
    plan_checked(workloads, defs, &state.resources, &state.app_prefix, builtins)
}

/// Identity on Fly: two resources served by the same builtin must not derive the same name
/// for what it creates ([`Builtins::derived_name`]: ids that differ only in punctuation
/// or past the name's length, with the same short hash). The second would adopt the first's
/// database or bucket, and its password. Resources an earlier run recorded count too.
fn name_problems(
    resources: &[Planned],
    defs: &[Located],
    recorded: &BTreeMap<String, ResourceEntry>,
    prefix: &str,
    by_uid: &BTreeMap<String, Vec<Declaration<'_>>>,
    builtins: &dyn Builtins,
) -> Vec<PlanProblem> {
    let builtin_of = |def: &super::ProvisionerDef| match def.kind() {
        Kind::Builtin(name) => Some(name),
        _ => None,
    };
    // (builtin, name) → the uid that derives it first, and who declares it.
    let mut taken: BTreeMap<(String, String), (String, String)> = BTreeMap::new();
    for entry_uid in recorded.keys().filter(|uid| !by_uid.contains_key(*uid)) {
        let entry = &recorded[entry_uid];
        let Some(builtin) = defs.iter().find(|l| l.def.id == entry.provisioner).and_then(|l| builtin_of(&l.def)) else {
            continue;
        };
        if let Some(name) = builtins.derived_name(&builtin, prefix, entry_uid, &entry.id) {
            let who = format!("provisioned earlier for {}", entry.declared_by.join(", "));
            taken.insert((builtin, name), (entry_uid.clone(), who));
        }
    }
    let mut problems = Vec::new();
    for r in resources {
        let Some(builtin) = builtin_of(&defs[r.provisioner].def) else { continue };
        let Some(name) = builtins.derived_name(&builtin, prefix, &r.uid, &r.id) else { continue };
        let who = format!("declared by {}", r.declared_by.join(", "));
        match taken.entry((builtin.clone(), name.clone())) {
            std::collections::btree_map::Entry::Vacant(slot) => {
                slot.insert((r.uid.clone(), who));
            }
            std::collections::btree_map::Entry::Occupied(first) => {
                let (first_uid, first_who) = first.get();
                let first_declaration = &by_uid[&r.uid][0];
                problems.push(PlanProblem {
                    workload: first_declaration.workload.to_owned(),
                    resource: first_declaration.name.to_owned(),
                    message: format!(
                        "resource `{}` ({who}) and resource `{first_uid}` ({first_who}) would both be `{name}` for the `{builtin}` provisioner, so one would take over the other's; give one of them another `id`",
                        r.uid
                    ),
                });
            }
        }
    }
    problems
}

/// Identity: explicit ids and private uids (`type.class#workload.name`) are one namespace
/// (the uid format is score-flyio's), so a clash is an error naming both declarations. A
/// private uid belongs to its one declaration: no explicit `id`, of another workload or of
/// the same one, may join it.
fn identity_problems(uid: &str, declarations: &[Declaration<'_>]) -> Vec<PlanProblem> {
    let Some(private) = declarations.iter().find(|d| !d.explicit) else { return Vec::new() };
    let owner = private.label();
    declarations
        .iter()
        .filter(|d| d.explicit)
        .map(|d| PlanProblem {
            workload: d.workload.to_owned(),
            resource: d.name.to_owned(),
            message: format!(
                "resource `{uid}`: `{}` sets `id: {}`, which is the private id of `{owner}` (declared without an `id` in workload `{}`); an explicit id must not name another resource's private identity: give `{}` another id, or give both the same explicit `id` if they are meant to share one resource",
                d.label(),
                d.id,
                private.workload,
                d.label()
            ),
        })
        .collect()
}

/// Identity against the state: declarations that would take over a resource an earlier run
/// provisioned for another declaration's private identity (see [`plan_for`]).
fn recorded_identity_problems(uid: &str, declarations: &[Declaration<'_>], entry: &ResourceEntry) -> Vec<PlanProblem> {
    if entry.declared_by.is_empty() {
        return Vec::new();
    }
    let current: Vec<String> = declarations.iter().map(Declaration::label).collect();
    // Recorded for the declaration whose private id it has (`web.db` for `…#web.db`), which
    // no longer declares it.
    let gone_owner = entry.declared_by.iter().find(|d| **d == entry.id && !current.contains(d));
    let recorded = entry.declared_by.iter().map(|d| format!("`{d}`")).collect::<Vec<_>>().join(", ");
    let mut problems = Vec::new();
    for d in declarations {
        let label = d.label();
        if entry.declared_by.contains(&label) {
            continue; // It had this resource already.
        }
        let message = if !d.explicit {
            format!(
                "resource `{uid}` of `{label}` (declared without an `id`) is recorded in the project state as provisioned for {recorded}, which declared `id: {}`; it is not `{label}`'s own: deprovision it first (`cargo score-fly resources deprovision {uid}`), or rename the resource `{label}`",
                entry.id
            )
        } else if let Some(owner) = gone_owner {
            format!(
                "resource `{uid}`: `{label}` sets `id: {}`, but the project state records `{uid}` as the private resource of `{owner}` (declared without an `id` in an earlier run); an explicit id must not take over another resource's private identity: give `{label}` another id, or deprovision it first (`cargo score-fly resources deprovision {uid}`) if `{owner}` no longer needs it",
                d.id
            )
        } else {
            continue;
        };
        problems.push(PlanProblem { workload: d.workload.to_owned(), resource: d.name.to_owned(), message });
    }
    problems
}

fn plan_checked(
    workloads: &BTreeMap<String, Workload>,
    defs: &[Located],
    recorded: &BTreeMap<String, ResourceEntry>,
    prefix: &str,
    builtins: &dyn Builtins,
) -> Result<Plan, PlanError> {
    let mut problems = Vec::new();
    let mut by_uid: BTreeMap<String, Vec<Declaration<'_>>> = BTreeMap::new();
    for (workload_name, workload) in workloads {
        let referenced = referenced_names(workload);
        for (name, resource) in &workload.resources {
            let uid = resource.uid(workload_name, name);
            let params = resource.params.clone().unwrap_or_default();
            let mut refs = Vec::new();
            for name_ref in referenced.get(name.as_str()).into_iter().flatten() {
                match workload.resources.get(name_ref) {
                    Some(r) => refs.push(r.uid(workload_name, name_ref)),
                    None => problems.push(PlanProblem {
                        workload: workload_name.clone(),
                        resource: name.clone(),
                        message: format!(
                            "resource `{uid}`: its params refer to `{name_ref}`, which is not a resource of workload `{workload_name}`"
                        ),
                    }),
                }
            }
            refs.sort();
            refs.dedup();
            by_uid.entry(uid.clone()).or_default().push(Declaration {
                workload: workload_name,
                name,
                explicit: resource.id.is_some(),
                params,
                metadata: resource.metadata.clone().unwrap_or_default(),
                kind: resource.kind.clone(),
                class: resource.class().to_owned(),
                id: resource.id_in(workload_name, name),
                refs,
            });
        }
    }

    let mut resources = Vec::with_capacity(by_uid.len());
    for (uid, declarations) in &by_uid {
        let clashes = identity_problems(uid, declarations);
        if !clashes.is_empty() {
            problems.extend(clashes);
            continue;
        }
        if let Some(entry) = recorded.get(uid) {
            problems.extend(recorded_identity_problems(uid, declarations, entry));
        }
        let first = &declarations[0];
        for other in &declarations[1..] {
            let message = if other.params != first.params {
                format!(
                    "shared resource `{uid}` is declared with different params by `{}.{}` and `{}.{}`; a shared resource has one set of params",
                    first.workload, first.name, other.workload, other.name
                )
            } else if other.refs != first.refs {
                format!(
                    "shared resource `{uid}`: its params refer to different resources in `{}.{}` and `{}.{}`",
                    first.workload, first.name, other.workload, other.name
                )
            } else {
                continue;
            };
            problems.push(PlanProblem {
                workload: other.workload.to_owned(),
                resource: other.name.to_owned(),
                message,
            });
        }
        let Some(provisioner) = find_match(defs, &first.kind, &first.class, &first.id) else {
            let who: Vec<String> = declarations.iter().map(|d| format!("{}.{}", d.workload, d.name)).collect();
            problems.push(PlanProblem {
                workload: first.workload.to_owned(),
                resource: first.name.to_owned(),
                message: format!(
                    "no provisioner for resource `{uid}` (declared by {}); add one with `cargo score-fly provisioners add` or a *.provisioners.yaml file",
                    who.join(", ")
                ),
            });
            continue;
        };
        if let Kind::Builtin(name) = provisioner.def.kind()
            && !builtins.names().contains(&name.as_str())
        {
            problems.push(PlanProblem {
                workload: first.workload.to_owned(),
                resource: first.name.to_owned(),
                message: format!(
                    "resource `{uid}`: its provisioner `{}` ({}) names a builtin that does not exist: {}",
                    provisioner.def.id,
                    provisioner.file.display(),
                    super::no_builtin(builtins, &name)
                ),
            });
            continue;
        }
        let provisioner = defs.iter().position(|d| std::ptr::eq(d, provisioner)).expect("from defs");
        resources.push(Planned {
            uid: uid.clone(),
            kind: first.kind.clone(),
            class: first.class.clone(),
            id: first.id.clone(),
            params: first.params.clone(),
            metadata: first.metadata.clone(),
            declared_by: declarations.iter().map(|d| format!("{}.{}", d.workload, d.name)).collect(),
            context: first.workload.to_owned(),
            provisioner,
            deps: Vec::new(),
        });
    }
    // Dependencies as indexes into `resources` (which holds only matched resources).
    let index_of: BTreeMap<String, usize> = resources.iter().enumerate().map(|(i, r)| (r.uid.clone(), i)).collect();
    for r in &mut resources {
        r.deps = by_uid[&r.uid][0].refs.iter().filter_map(|d| index_of.get(d).copied()).collect();
    }
    if let Some(cycle) = find_cycle(&resources) {
        let mut names: Vec<&str> = cycle.iter().map(|&i| resources[i].uid.as_str()).collect();
        names.push(resources[cycle[0]].uid.as_str());
        let first = &by_uid[&resources[cycle[0]].uid][0];
        problems.push(PlanProblem {
            workload: first.workload.to_owned(),
            resource: first.name.to_owned(),
            message: format!("resource params form a cycle: {}", names.join(" → ")),
        });
    }
    problems.extend(name_problems(&resources, defs, recorded, prefix, &by_uid, builtins));
    if problems.is_empty() { Ok(Plan { resources }) } else { Err(PlanError { problems }) }
}

/// For each resource of `workload`, the names of the resources its params reference
/// (`${resources.<name>...}`), sorted.
fn referenced_names(workload: &Workload) -> BTreeMap<String, BTreeSet<String>> {
    let mut names: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for site in crate::spec::sites::placeholder_sites(workload) {
        let Some(resource) = site.resource() else { continue };
        for reference in placeholder::resource_references(&site.text) {
            if let Some(name) = reference.into_iter().next() {
                names.entry(resource.to_owned()).or_default().insert(name);
            }
        }
    }
    names
}

fn find_cycle(resources: &[Planned]) -> Option<Vec<usize>> {
    fn visit(n: usize, resources: &[Planned], colour: &mut [u8], stack: &mut Vec<usize>) -> Option<Vec<usize>> {
        colour[n] = 1;
        stack.push(n);
        for &d in &resources[n].deps {
            if colour[d] == 1 {
                let start = stack.iter().position(|&s| s == d).unwrap_or(0);
                return Some(stack[start..].to_vec());
            }
            if colour[d] == 0
                && let Some(c) = visit(d, resources, colour, stack)
            {
                return Some(c);
            }
        }
        stack.pop();
        colour[n] = 2;
        None
    }
    let mut colour = vec![0u8; resources.len()];
    (0..resources.len())
        .find_map(|i| if colour[i] == 0 { visit(i, resources, &mut colour, &mut Vec::new()) } else { None })
}

/// How one resource ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// A provisioner was called and answered.
    Provisioned,
    /// Nothing changed since the last run: stored outputs reused, no call.
    Reused,
    /// The provisioner failed.
    Failed(String),
    /// Not attempted because a resource it depends on failed.
    Skipped(String),
    /// A dry run found it needs provisioning (it is new, or its inputs changed).
    Pending,
}

/// The result of [`execute`].
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Report {
    /// Outcome per uid.
    pub outcomes: BTreeMap<String, Outcome>,
}

impl Report {
    /// The failures (failed and skipped), as `uid: message` lines.
    pub fn failures(&self) -> Vec<String> {
        self.outcomes
            .iter()
            .filter_map(|(uid, o)| match o {
                Outcome::Failed(m) => Some(format!("failed to provision `{uid}`: {m}")),
                Outcome::Skipped(m) => Some(format!("`{uid}` was not provisioned: {m}")),
                _ => None,
            })
            .collect()
    }

    /// The resources a dry run found needing provisioning.
    pub fn pending(&self) -> Vec<&str> {
        self.outcomes.iter().filter(|(_, o)| **o == Outcome::Pending).map(|(uid, _)| uid.as_str()).collect()
    }

    /// How many provisioner calls were made.
    pub fn provisioned(&self) -> usize {
        self.outcomes.values().filter(|o| **o == Outcome::Provisioned).count()
    }
}

/// The outputs a workload's placeholders see, by resource name.
pub fn outputs_for(workload_name: &str, workload: &Workload, state: &State) -> BTreeMap<String, ResourceOutputs> {
    let mut outputs = BTreeMap::new();
    for (name, resource) in &workload.resources {
        let uid = resource.uid(workload_name, name);
        if let Some(entry) = state.resources.get(&uid) {
            outputs.insert(
                name.clone(),
                ResourceOutputs { uid, values: entry.values.clone(), secrets: entry.secrets.clone() },
            );
        }
    }
    outputs
}

struct Job {
    index: usize,
    request: Request,
    fingerprint: String,
}

/// Where and how a plan is provisioned.
#[derive(Clone, Copy)]
pub struct Provisioning<'a> {
    /// The provisioners the plan was made with.
    pub defs: &'a [Located],
    /// The workloads the plan was made from (their metadata and names resolve params).
    pub workloads: &'a BTreeMap<String, Workload>,
    /// Concurrency and reuse.
    pub options: ProvisionOptions,
    /// Where cmd provisioners run.
    pub project_root: &'a Path,
    /// Where progress goes.
    pub events: &'a dyn Events,
    /// The builtin provisioners (`builtin::FlyEnv`: where they create things on Fly).
    pub builtins: &'a dyn Builtins,
}

/// Provisions a plan. Results go into `state`; `persist` is called after every provisioner
/// that may have created something, and once at the end. Provisioner failures are in the
/// report; only a failure to save the state is an `Err`.
pub fn execute(
    plan: &Plan,
    run: Provisioning<'_>,
    state: &mut State,
    persist: &mut dyn FnMut(&State) -> Result<(), StateError>,
) -> Result<Report, StateError> {
    execute_with(plan, run, state, persist, &call)
}

/// How a worker calls a provisioner ([`call`], or a stand-in in tests).
type Caller<'c> = dyn Fn(&super::ProvisionerDef, Mode, &Request, &CallContext<'_>) -> Result<Option<Response>, CallFailed>
    + Sync
    + 'c;

/// Why a resource failed to provision. Its message is what [`Outcome::Failed`] holds; the
/// run's secrets are hidden from it ([`CallFailed`], panic messages redacted).
#[derive(Debug, thiserror::Error)]
pub enum ResourceError {
    /// Its provisioner failed.
    #[error(transparent)]
    Call(#[from] CallFailed),
    /// Its provisioner panicked.
    #[error("provisioner `{provisioner}` panicked: {message} (this is a bug in score-fly: please report it)")]
    Panicked {
        /// The provisioner's id.
        provisioner: String,
        /// The panic's message (redacted).
        message: String,
    },
    /// Its worker stopped without an answer.
    #[error(
        "the thread calling its provisioner stopped before it answered (this is a bug in score-fly: please report it)"
    )]
    Lost,
    /// No worker could be started to call its provisioner.
    #[error(
        "no thread could be started to call its provisioner ({why}); the system is short of threads or memory: try fewer jobs with -j"
    )]
    NoThread {
        /// Why (the system's message).
        why: String,
    },
    /// A placeholder in its params cannot be expanded.
    #[error("its params cannot be expanded: {0}")]
    Params(#[source] placeholder::PlaceholderError),
    /// Its params or metadata are nested too deep to be recorded.
    #[error("its {field} are nested deeper than {limit} levels (limits::MAX_DEPTH); flatten them")]
    InputDepth {
        /// `params` or `metadata`.
        field: &'static str,
        /// [`limits::MAX_DEPTH`].
        limit: usize,
    },
    /// Its provisioner answered with a field nested too deep to be recorded.
    #[error(
        "its provisioner answered with `{field}` nested deeper than {limit} levels (limits::MAX_DEPTH); flatten it"
    )]
    ResponseDepth {
        /// `state`, `values`, `secrets` or `shared`.
        field: &'static str,
        /// [`limits::MAX_DEPTH`].
        limit: usize,
    },
}

/// What a worker sends back for a job.
struct Done {
    index: usize,
    /// The job (`None` when it never ran or its worker died).
    job: Option<Job>,
    result: Result<Option<Response>, ResourceError>,
}

/// The promise of an answer for one job: it is sent by [`Ticket::answer`], or by the
/// ticket's `Drop` when the job is dropped unanswered: by a worker that panicked while
/// holding it, or with the queue when the last worker is gone. So every job sent to the
/// workers gets exactly one answer, and the coordinator can never wait for a job nobody
/// holds.
struct Ticket {
    index: usize,
    done: mpsc::Sender<Done>,
    failure: Option<ResourceError>,
}

impl Ticket {
    fn answer(mut self, job: Job, result: Result<Option<Response>, ResourceError>) -> bool {
        self.failure = None;
        self.done.send(Done { index: self.index, job: Some(job), result }).is_ok()
    }

    /// Drops the ticket with this failure as its answer.
    fn fail(mut self, why: ResourceError) {
        self.failure = Some(why);
    }
}

impl Drop for Ticket {
    fn drop(&mut self) {
        if let Some(why) = self.failure.take() {
            let _ = self.done.send(Done { index: self.index, job: None, result: Err(why) });
        }
    }
}

/// A job and its ticket, on the way to a worker.
struct Work {
    job: Job,
    ticket: Ticket,
}

/// The text of a panic's payload.
fn panic_text(payload: &(dyn std::any::Any + Send)) -> &str {
    payload
        .downcast_ref::<&str>()
        .copied()
        .or_else(|| payload.downcast_ref::<String>().map(String::as_str))
        .unwrap_or("no message")
}

/// [`execute`] with the provisioner calls made by `caller`.
fn execute_with(
    plan: &Plan,
    run: Provisioning<'_>,
    state: &mut State,
    persist: &mut dyn FnMut(&State) -> Result<(), StateError>,
    caller: &Caller<'_>,
) -> Result<Report, StateError> {
    let Provisioning { defs, workloads, options, project_root, events, builtins } = run;
    let n = plan.resources.len();
    let mut report = Report::default();
    let mut waiting: Vec<usize> = plan.resources.iter().map(|r| r.deps.len()).collect();
    let mut dependents: Vec<Vec<usize>> = vec![Vec::new(); n];
    for (i, r) in plan.resources.iter().enumerate() {
        for &d in &r.deps {
            dependents[d].push(i);
        }
    }
    let mut ready: VecDeque<usize> = (0..n).filter(|&i| waiting[i] == 0).collect();
    let redactor = run_redactor(state, builtins);
    let jobs = options.jobs.max(1);
    // A dry run still calls the provisioners that only read (`environment`): what they read
    // is an input like any other, so `generate --check` compares what would be written.
    let reads_only =
        |i: usize| options.read_in_dry_run && !outputs_reusable(&defs[plan.resources[i].provisioner].def, builtins);
    let workers = if options.dry_run { usize::from((0..n).any(reads_only)) } else { jobs.min(n) };

    std::thread::scope(|scope| -> Result<(), StateError> {
        let (work_tx, work_rx) = mpsc::channel::<Work>();
        let (done_tx, done_rx) = mpsc::channel::<Done>();
        let redactor = &redactor;
        let work_rx = Arc::new(Mutex::new(work_rx));
        let mut no_thread = None;
        for worker in 0..workers {
            let work_rx = Arc::clone(&work_rx);
            let spawned =
                std::thread::Builder::new().name(format!("provisioner-{worker}")).spawn_scoped(scope, move || {
                    loop {
                        let next = work_rx.lock().unwrap_or_else(std::sync::PoisonError::into_inner).recv();
                        let Ok(Work { job, ticket }) = next else { return };
                        let planned = &plan.resources[job.index];
                        let def = &defs[planned.provisioner].def;
                        let cx = CallContext {
                            uid: &planned.uid,
                            project_root,
                            redactor,
                            events,
                            builtins,
                            declared_by: &planned.declared_by,
                        };
                        // A panic is a failed resource, not a dead worker (its ticket would still
                        // answer, but the other jobs need this thread).
                        let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                            events.started(&planned.uid, &def.id, Mode::Provision);
                            caller(def, Mode::Provision, &job.request, &cx).map_err(ResourceError::Call)
                        }))
                        .unwrap_or_else(|payload| {
                            Err(ResourceError::Panicked {
                                provisioner: def.id.clone(),
                                // The message may hold anything the code was handling.
                                message: redactor.redact(panic_text(payload.as_ref())),
                            })
                        });
                        if !ticket.answer(job, result) {
                            return;
                        }
                    }
                });
            if let Err(e) = spawned {
                // Fewer workers is fine; none at all fails each job below with this reason.
                no_thread = Some(e.to_string());
                break;
            }
        }
        // Only workers hold the queue: when the last one is gone, queued work is dropped and
        // its tickets answer, and sending more fails.
        drop(work_rx);

        let mut finished = 0;
        let mut in_flight = 0;
        while finished < n {
            while in_flight < jobs {
                let Some(i) = ready.pop_front() else { break };
                let planned = &plan.resources[i];
                if report.outcomes.contains_key(&planned.uid) {
                    continue; // Skipped already: another of its dependencies failed.
                }
                match prepare(i, planned, defs, workloads, state) {
                    Err(message) => {
                        finished += 1 + fail(i, &message, plan, &dependents, &mut report, events);
                    }
                    Ok(job) => {
                        let def = &defs[planned.provisioner].def;
                        let reusable = outputs_reusable(def, builtins)
                            && state
                                .resources
                                .get(&planned.uid)
                                .is_some_and(|e| e.fingerprint == job.fingerprint && e.provisioner == def.id);
                        if reusable && !options.reprovision {
                            report.outcomes.insert(planned.uid.clone(), Outcome::Reused);
                            events.finished(&planned.uid, &Outcome::Reused);
                            finished += 1;
                            release(i, &dependents, &mut waiting, &mut ready);
                        } else if options.dry_run && !reads_only(i) {
                            finished += 1 + mark_pending(i, plan, &dependents, &mut report);
                        } else {
                            in_flight += 1;
                            let ticket = Ticket { index: i, done: done_tx.clone(), failure: Some(ResourceError::Lost) };
                            if let Err(mpsc::SendError(work)) = work_tx.send(Work { job, ticket }) {
                                work.ticket.fail(ResourceError::NoThread {
                                    why: no_thread.clone().unwrap_or_else(|| "every worker stopped".to_owned()),
                                });
                            }
                        }
                    }
                }
            }
            if in_flight == 0 {
                if finished < n && ready.is_empty() {
                    break; // Everything left was skipped.
                }
                continue;
            }
            // Every job in flight has a ticket that answers (see `Ticket`), and this thread
            // holds a sender: this returns.
            let Ok(Done { index, job, result }) = done_rx.recv() else { break };
            in_flight -= 1;
            finished += 1;
            let planned = &plan.resources[index];
            match (job, result) {
                (Some(_), Ok(Some(response))) if let Err(message) = check_depth(&response) => {
                    finished += fail(index, &message, plan, &dependents, &mut report, events);
                }
                (Some(job), Ok(response)) => {
                    if let Some(r) = &response {
                        // Later provisioners' output must not show these either.
                        redactor.add_json(&serde_json::Value::Object(r.secrets.clone()));
                    }
                    let def = &defs[planned.provisioner].def;
                    record(planned, def.id.clone(), job, response.unwrap_or_default(), state);
                    report.outcomes.insert(planned.uid.clone(), Outcome::Provisioned);
                    events.finished(&planned.uid, &Outcome::Provisioned);
                    if !matches!(def.kind(), Kind::Static(_)) && !options.dry_run {
                        persist(state)?;
                    }
                    release(index, &dependents, &mut waiting, &mut ready);
                }
                (None, Ok(_)) => {
                    finished += fail(index, &ResourceError::Lost, plan, &dependents, &mut report, events);
                }
                (_, Err(message)) => {
                    finished += fail(index, &message, plan, &dependents, &mut report, events);
                }
            }
        }
        drop(work_tx);
        Ok(())
    })?;
    move_laundered(state, &redactor, events);
    if !options.dry_run {
        persist(state)?;
    }
    Ok(report)
}

/// The secrets a run knows from its start: every secret output in the state and the Fly
/// token and whatever else the builtins' environment holds ([`Builtins::secrets`]).
fn run_redactor(state: &State, builtins: &dyn Builtins) -> Redactor {
    let redactor = Redactor::for_state(state);
    for secret in builtins.secrets() {
        redactor.add_token(secret.expose());
    }
    redactor
}

/// Moves every plain output (`values`) of every resource in `state` that holds a secret
/// `known` recognises (or a secret output of any resource of the state) to the secret
/// outputs, reporting each (see [laundered secrets](crate::provision#laundered-secrets)).
/// A secret output of the same name wins over the plain one.
fn move_laundered(state: &mut State, known: &Redactor, events: &dyn Events) {
    // Every secret now in the state, whichever resource returned it first.
    for entry in state.resources.values() {
        known.add_json(&serde_json::Value::Object(entry.secrets.clone()));
    }
    for (uid, entry) in &mut state.resources {
        let laundered: Vec<String> = entry
            .values
            .iter()
            .filter(|(_, value)| {
                let mut strings = Vec::new();
                super::collect_strings(value, &mut strings);
                strings.iter().any(|s| known.finds(s))
            })
            .map(|(key, _)| key.clone())
            .collect();
        for key in laundered {
            if let Some(value) = entry.values.remove(&key) {
                entry.secrets.entry(key.clone()).or_insert(value);
            }
            events.laundered(uid, &entry.provisioner, &key);
        }
    }
}

/// Whether a response can be recorded: every field at most [`limits::MAX_DEPTH`] deep, so
/// the state that holds it can be read back (cmd and http responses were checked when they
/// were read; this holds for every kind).
fn check_depth(response: &Response) -> Result<(), ResourceError> {
    let fields = [
        ("state", response.state.as_ref().map_or(0, map_depth)),
        ("values", map_depth(&response.values)),
        ("secrets", map_depth(&response.secrets)),
        ("shared", response.shared.as_ref().map_or(0, depth)),
    ];
    for (field, levels) in fields {
        if levels > limits::MAX_DEPTH {
            return Err(ResourceError::ResponseDepth { field, limit: limits::MAX_DEPTH });
        }
    }
    Ok(())
}

/// Whether unchanged inputs mean unchanged outputs for this provisioner, so its last outputs
/// can be reused. Not for a builtin that reads more than its inputs (`environment` reads the
/// deploying environment): it is called on every run.
fn outputs_reusable(def: &super::ProvisionerDef, builtins: &dyn Builtins) -> bool {
    !matches!(def.kind(), Kind::Builtin(name) if builtins.always_call(&name))
}

/// Expands params and builds the request; the fingerprint covers every input.
fn prepare(
    index: usize,
    planned: &Planned,
    defs: &[Located],
    workloads: &BTreeMap<String, Workload>,
    state: &State,
) -> Result<Job, ResourceError> {
    let workload = &workloads[&planned.context];
    let outputs = outputs_for(&planned.context, workload, state);
    let metadata = workload.metadata_json();
    let context = Context { metadata: &metadata, resources: &outputs };
    let params =
        expand_value(&serde_json::Value::Object(planned.params.clone()), &context).map_err(ResourceError::Params)?;
    let serde_json::Value::Object(params) = params else { unreachable!("objects expand to objects") };
    // What is sent is recorded in the state, which must stay readable.
    for (field, value) in [("params", &params), ("metadata", &planned.metadata)] {
        if map_depth(value) > limits::MAX_DEPTH {
            return Err(ResourceError::InputDepth { field, limit: limits::MAX_DEPTH });
        }
    }
    let def = &defs[planned.provisioner].def;
    let previous = state.resources.get(&planned.uid);
    let request = Request {
        resource_uid: planned.uid.clone(),
        resource_type: planned.kind.clone(),
        resource_class: planned.class.clone(),
        resource_id: planned.id.clone(),
        state: previous.map(|e| e.state.clone()).unwrap_or_default(),
        shared: state.shared.clone(),
        resource_params: params,
        resource_metadata: planned.metadata.clone(),
    };
    let fingerprint = fingerprint(def, &request);
    Ok(Job { index, request, fingerprint })
}

fn expand_value(
    value: &serde_json::Value,
    context: &Context<'_>,
) -> Result<serde_json::Value, placeholder::PlaceholderError> {
    Ok(match value {
        serde_json::Value::String(s) => serde_json::Value::String(placeholder::expand(s, context)?.value),
        serde_json::Value::Array(items) => {
            serde_json::Value::Array(items.iter().map(|v| expand_value(v, context)).collect::<Result<_, _>>()?)
        }
        serde_json::Value::Object(map) => serde_json::Value::Object(
            map.iter().map(|(k, v)| Ok((k.clone(), expand_value(v, context)?))).collect::<Result<_, _>>()?,
        ),
        other => other.clone(),
    })
}

fn fingerprint(def: &super::ProvisionerDef, request: &Request) -> String {
    let input = serde_json::json!({
        "provisioner": def,
        "type": request.resource_type,
        "class": request.resource_class,
        "id": request.resource_id,
        "params": request.resource_params,
        "metadata": request.resource_metadata,
    });
    crate::encoding::hex(&Sha256::digest(input.to_string().as_bytes()))
}

fn record(planned: &Planned, provisioner: String, job: Job, response: Response, state: &mut State) {
    let previous_state = job.request.state;
    if let Some(patch) = &response.shared {
        merge_patch(&mut state.shared, patch);
    }
    state.resources.insert(
        planned.uid.clone(),
        ResourceEntry {
            kind: planned.kind.clone(),
            class: planned.class.clone(),
            id: planned.id.clone(),
            declared_by: planned.declared_by.clone(),
            provisioner,
            params: job.request.resource_params,
            metadata: job.request.resource_metadata,
            fingerprint: job.fingerprint,
            state: response.state.unwrap_or(previous_state),
            values: response.values,
            secrets: response.secrets,
        },
    );
}

fn release(i: usize, dependents: &[Vec<usize>], waiting: &mut [usize], ready: &mut VecDeque<usize>) {
    for &d in &dependents[i] {
        waiting[d] -= 1;
        if waiting[d] == 0 {
            ready.push_back(d);
        }
    }
}

/// Marks `i` and its dependents (transitively) pending; returns how many dependents.
fn mark_pending(i: usize, plan: &Plan, dependents: &[Vec<usize>], report: &mut Report) -> usize {
    report.outcomes.insert(plan.resources[i].uid.clone(), Outcome::Pending);
    let mut marked = 0;
    let mut queue: VecDeque<usize> = dependents[i].iter().copied().collect();
    while let Some(d) = queue.pop_front() {
        if report.outcomes.contains_key(&plan.resources[d].uid) {
            continue;
        }
        report.outcomes.insert(plan.resources[d].uid.clone(), Outcome::Pending);
        marked += 1;
        queue.extend(dependents[d].iter().copied());
    }
    marked
}

/// Marks `i` failed and its dependents (transitively) skipped; returns how many were skipped.
fn fail(
    i: usize,
    error: &ResourceError,
    plan: &Plan,
    dependents: &[Vec<usize>],
    report: &mut Report,
    events: &dyn Events,
) -> usize {
    let uid = &plan.resources[i].uid;
    let outcome = Outcome::Failed(error.to_string());
    events.finished(uid, &outcome);
    report.outcomes.insert(uid.clone(), outcome);
    let mut skipped = 0;
    let mut queue: VecDeque<usize> = dependents[i].iter().copied().collect();
    while let Some(d) = queue.pop_front() {
        let dep_uid = &plan.resources[d].uid;
        if report.outcomes.contains_key(dep_uid) {
            continue;
        }
        let outcome = Outcome::Skipped(format!("it needs the outputs of `{uid}`, which failed"));
        events.finished(dep_uid, &outcome);
        report.outcomes.insert(dep_uid.clone(), outcome);
        skipped += 1;
        queue.extend(dependents[d].iter().copied());
    }
    skipped
}

/// Errors of [`deprovision`].
#[derive(Debug, thiserror::Error)]
pub enum DeprovisionError {
    /// The uid is not in the state.
    #[error("no resource `{0}` in the project state (see `cargo score-fly resources list`)")]
    Unknown(String),
    /// Its provisioner is gone.
    #[error(
        "resource `{uid}` was provisioned by `{provisioner}`, which is no longer defined; add it back to deprovision"
    )]
    MissingProvisioner {
        /// The uid.
        uid: String,
        /// The provisioner id.
        provisioner: String,
    },
    /// The provisioner failed.
    #[error("failed to deprovision `{uid}`: {error}")]
    Failed {
        /// The uid.
        uid: String,
        /// Why (its message redacted).
        error: CallFailed,
    },
}

/// Deprovisions one resource and removes it from `state` (the caller saves it).
pub fn deprovision(
    uid: &str,
    state: &mut State,
    defs: &[Located],
    project_root: &Path,
    builtins: &dyn Builtins,
    events: &dyn Events,
) -> Result<(), DeprovisionError> {
    let entry = state.resources.get(uid).ok_or_else(|| DeprovisionError::Unknown(uid.to_owned()))?;
    let def = defs.iter().find(|l| l.def.id == entry.provisioner).ok_or_else(|| {
        DeprovisionError::MissingProvisioner { uid: uid.to_owned(), provisioner: entry.provisioner.clone() }
    })?;
    let request = Request {
        resource_uid: uid.to_owned(),
        resource_type: entry.kind.clone(),
        resource_class: entry.class.clone(),
        resource_id: entry.id.clone(),
        state: entry.state.clone(),
        shared: state.shared.clone(),
        resource_params: entry.params.clone(),
        resource_metadata: entry.metadata.clone(),
    };
    let redactor = run_redactor(state, builtins);
    let declared_by = entry.declared_by.clone();
    let cx = CallContext { uid, project_root, redactor: &redactor, events, builtins, declared_by: &declared_by };
    events.started(uid, &def.def.id, Mode::Deprovision);
    let response = call(&def.def, Mode::Deprovision, &request, &cx)
        .map_err(|error| DeprovisionError::Failed { uid: uid.to_owned(), error })?;
    if let Some(patch) = response.and_then(|r| r.shared) {
        merge_patch(&mut state.shared, &patch);
    }
    state.resources.remove(uid);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::provision::definition::ProvisionerDef;
    use crate::provision::testing::{doc, static_def, workloads};
    use crate::provision::{NoBuiltins, NoEvents};
    use serde_json::json;
    use std::sync::Mutex;

    /// Builtins that know nothing but hold a Fly token (what the run's redactor hides).
    struct Token(&'static str);

    impl Builtins for Token {
        fn names(&self) -> &[&'static str] {
            &[]
        }

        fn call(&self, name: &str, _: Mode, _: &Request, _: &CallContext<'_>) -> crate::provision::BuiltinResult {
            Err(Box::new(crate::provision::no_builtin(self, name)))
        }

        fn secrets(&self) -> Vec<crate::secret::Secret> {
            vec![crate::secret::Secret::new(self.0)]
        }
    }

    fn run(w: &BTreeMap<String, Workload>, defs: &[Located], state: &mut State) -> Report {
        let plan = plan(w, defs, &NoBuiltins).unwrap();
        let mut saves = 0;
        let run = Provisioning {
            defs,
            workloads: w,
            options: ProvisionOptions::default(),
            project_root: Path::new("."),
            events: &NoEvents,
            builtins: &NoBuiltins,
        };
        execute(&plan, run, state, &mut |_| {
            saves += 1;
            Ok(())
        })
        .unwrap()
    }

    #[test]
    fn params_are_expanded_in_dependency_order_and_shared_resources_provisioned_once() {
        let defs = vec![
            static_def("pg", "postgres", &json!({"host": "db.internal"}), &json!({"password": "s3cret!"})),
            static_def("ep", "endpoint", &json!({}), &json!({})),
        ];
        let a = doc(
            "aa",
            "  db:\n    type: postgres\n  api:\n    type: endpoint\n    params:\n      url: \"postgres://${resources.db.host}\"\n  shared:\n    type: postgres\n    id: common\n",
        );
        let b = doc("bb", "  shared:\n    type: postgres\n    id: common\n");
        let w = workloads(&[&a, &b]);
        let mut state = State::new("");
        let report = run(&w, &defs, &mut state);
        assert!(report.failures().is_empty(), "{:?}", report.failures());
        assert_eq!(state.resources.len(), 3, "the shared resource exists once");
        let api = &state.resources["endpoint.default#aa.api"];
        assert_eq!(api.params["url"], "postgres://db.internal");
        assert_eq!(state.resources["postgres.default#common"].declared_by, ["aa.shared", "bb.shared"]);
        let outputs = outputs_for("aa", &w["aa"], &state);
        assert_eq!(outputs["db"].secrets["password"], "s3cret!");
        // Nothing changed: everything is reused.
        let report = run(&w, &defs, &mut state);
        assert!(report.outcomes.values().all(|o| *o == Outcome::Reused), "{report:?}");
    }

    #[test]
    fn plan_problems_are_all_reported() {
        let defs = vec![static_def("pg", "postgres", &json!({}), &json!({}))];
        let a = doc(
            "aa",
            "  one:\n    type: postgres\n    params: {x: \"${resources.two.host}\"}\n  two:\n    type: postgres\n    params: {x: \"${resources.one.host}\"}\n  cache:\n    type: redis\n  ss:\n    type: postgres\n    id: common\n    params: {size: 1}\n",
        );
        let b = doc("bb", "  ss:\n    type: postgres\n    id: common\n    params: {size: 2}\n");
        let e = plan(&workloads(&[&a, &b]), &defs, &NoBuiltins).unwrap_err().to_string();
        assert!(e.contains("no provisioner for resource `redis.default#aa.cache` (declared by aa.cache)"), "{e}");
        assert!(
            e.contains("`postgres.default#common` is declared with different params by `aa.ss` and `bb.ss`"),
            "{e}"
        );
        assert!(
            e.contains("cycle: postgres.default#aa.one → postgres.default#aa.two → postgres.default#aa.one"),
            "{e}"
        );
    }

    #[test]
    fn explicit_ids_and_private_uids_do_not_meet() {
        let defs = vec![static_def("pg", "postgres", &json!({}), &json!({"password": "p"}))];
        let web = doc("web", "  db:\n    type: postgres\n");
        let api = doc("api", "  db:\n    type: postgres\n    id: web.db\n");
        let e = plan(&workloads(&[&web, &api]), &defs, &NoBuiltins).unwrap_err();
        assert_eq!(e.problems.len(), 1, "{e}");
        assert_eq!((e.problems[0].workload.as_str(), e.problems[0].resource.as_str()), ("api", "db"));
        assert!(
            e.problems[0].message.contains("`api.db` sets `id: web.db`, which is the private id of `web.db`"),
            "{e}"
        );
        // Another type or class is another uid: no clash.
        let api_redis = doc("api", "  db:\n    type: postgres\n    class: big\n    id: web.db\n");
        let defs_any = vec![static_def("pg", "postgres", &json!({}), &json!({}))];
        assert!(plan(&workloads(&[&web, &api_redis]), &defs_any, &NoBuiltins).is_ok());
        // web naming its own id explicitly opts in to sharing it.
        let web_explicit = doc("web", "  db:\n    type: postgres\n    id: web.db\n");
        let shared = plan(&workloads(&[&web_explicit, &api]), &defs, &NoBuiltins).unwrap();
        assert_eq!(shared.resources[0].declared_by, ["api.db", "web.db"]);

        // The state remembers web's private resource after web stopped declaring it.
        let mut state = State::new("");
        run(&workloads(&[&web]), &defs, &mut state);
        let e = plan_for(&workloads(&[&api]), &defs, &state, &NoBuiltins).unwrap_err();
        assert!(e.to_string().contains("records `postgres.default#web.db` as the private resource of `web.db`"), "{e}");
        assert!(
            plan(&workloads(&[&api]), &defs, &NoBuiltins).is_ok(),
            "without the state there is nothing to take over"
        );
        // A declaration that had the resource keeps it.
        assert!(plan_for(&workloads(&[&web]), &defs, &state, &NoBuiltins).is_ok());
        assert!(plan_for(&workloads(&[&web_explicit, &api]), &defs, &state, &NoBuiltins).is_ok());
    }

    #[test]
    fn changed_params_reprovision_and_failures_skip_dependents() {
        let defs = vec![static_def("pg", "postgres", &json!({"host": "h"}), &json!({}))];
        let w = workloads(&[&doc("aa", "  db:\n    type: postgres\n    params: {size: 1}\n")]);
        let mut state = State::new("");
        run(&w, &defs, &mut state);
        let w2 = workloads(&[&doc("aa", "  db:\n    type: postgres\n    params: {size: 2}\n")]);
        let report = run(&w2, &defs, &mut state);
        assert_eq!(report.outcomes["postgres.default#aa.db"], Outcome::Provisioned);
        assert_eq!(state.resources["postgres.default#aa.db"].params["size"], 2);

        // A placeholder reading a missing output fails the resource; its dependent is skipped.
        let w3 = workloads(&[&doc(
            "aa",
            "  db:\n    type: postgres\n    params: {x: \"${resources.db2.nope}\"}\n  db2:\n    type: postgres\n  db3:\n    type: postgres\n    params: {x: \"${resources.db.host}\"}\n",
        )]);
        let report = run(&w3, &defs, &mut State::new(""));
        assert!(
            matches!(&report.outcomes["postgres.default#aa.db"], Outcome::Failed(m) if m.contains("key `nope` not found")),
            "{report:?}"
        );
        assert!(matches!(report.outcomes["postgres.default#aa.db3"], Outcome::Skipped(_)));
        assert_eq!(report.outcomes["postgres.default#aa.db2"], Outcome::Provisioned);
    }

    /// Records `laundered` events.
    #[derive(Default)]
    struct Laundered(Mutex<Vec<String>>);

    impl Events for Laundered {
        fn laundered(&self, uid: &str, provisioner: &str, key: &str) {
            self.0.lock().unwrap().push(format!("{provisioner} {uid} {key}"));
        }
    }

    #[test]
    fn plain_outputs_holding_a_known_secret_become_secret_outputs() {
        let password = "pa\"ss\nword-1234";
        let token = "fm2_engine-test-token";
        let defs = vec![
            static_def("pg", "postgres", &json!({"host": "db"}), &json!({"password": password, "user": "keep"})),
            static_def(
                "copy",
                "copy",
                &json!({
                    "same": password,
                    "url": format!("postgres://app:{password}@db/app"),
                    "escaped": serde_json::to_string(password).unwrap(),
                    "nested": {"deep": [format!("x{password}")]},
                    "user": password,
                    "token": token,
                    "host": "db",
                    "short": "pa",
                }),
                &json!({"user": "the-secret-one"}),
            ),
        ];
        // Two independent resources: whichever finishes first, the result is the same.
        let w = workloads(&[&doc("aa", "  db:\n    type: postgres\n  cp:\n    type: copy\n")]);
        let fly = Token(token);
        for jobs in [1, 2] {
            let events = Laundered::default();
            let mut state = State::new("");
            let run = Provisioning {
                defs: &defs,
                workloads: &w,
                options: ProvisionOptions { jobs, ..ProvisionOptions::default() },
                project_root: Path::new("."),
                events: &events,
                builtins: &fly,
            };
            let report = execute(&plan(&w, &defs, &NoBuiltins).unwrap(), run, &mut state, &mut |_| Ok(())).unwrap();
            assert!(report.failures().is_empty(), "{report:?}");
            let entry = &state.resources["copy.default#aa.cp"];
            assert_eq!(
                entry.values,
                *json!({"host": "db", "short": "pa"}).as_object().unwrap(),
                "what holds no secret stays plain"
            );
            let moved: Vec<&str> = entry.secrets.keys().map(String::as_str).collect();
            assert_eq!(moved, ["escaped", "nested", "same", "token", "url", "user"]);
            assert_eq!(entry.secrets["user"], "the-secret-one", "a secret output of the same name wins");
            assert_eq!(entry.secrets["same"], password);
            let mut seen = events.0.lock().unwrap().clone();
            seen.sort();
            assert_eq!(
                seen,
                ["escaped", "nested", "same", "token", "url", "user"].map(|k| format!("copy copy.default#aa.cp {k}")),
                "one warning per key, naming the provisioner, never the value"
            );
            // The secret's own resource is untouched (its `user` holds no secret).
            assert_eq!(state.resources["postgres.default#aa.db"].values, *json!({"host": "db"}).as_object().unwrap());

            // Reused on the next run: nothing moves again, nothing is reported.
            let again = Laundered::default();
            let run = Provisioning { events: &again, ..run };
            execute(&plan(&w, &defs, &NoBuiltins).unwrap(), run, &mut state, &mut |_| Ok(())).unwrap();
            assert!(again.0.into_inner().unwrap().is_empty());
        }
    }

    /// Runs `plan` with `caller` standing in for the provisioners.
    fn run_with(
        w: &BTreeMap<String, Workload>,
        defs: &[Located],
        state: &mut State,
        persist: &mut dyn FnMut(&State) -> Result<(), StateError>,
        caller: &Caller<'_>,
    ) -> Report {
        let plan = plan(w, defs, &NoBuiltins).unwrap();
        let run = Provisioning {
            defs,
            workloads: w,
            options: ProvisionOptions { jobs: 4, ..ProvisionOptions::default() },
            project_root: Path::new("."),
            events: &NoEvents,
            builtins: &NoBuiltins,
        };
        execute_with(&plan, run, state, persist, caller).unwrap()
    }

    fn many(n: usize) -> BTreeMap<String, Workload> {
        let resources: String =
            (0..n).flat_map(|i| ["  r".to_owned(), i.to_string(), ":\n    type: postgres\n".to_owned()]).collect();
        workloads(&[&doc("aa", &resources)])
    }

    #[test]
    fn a_provisioner_that_panics_fails_its_resource_and_the_run_goes_on() {
        let defs = vec![static_def("pg", "postgres", &json!({}), &json!({}))];
        let w = many(12);
        let mut state = State::new("");
        let caller = |_: &ProvisionerDef, _: Mode, request: &Request, _: &CallContext<'_>| {
            assert!(!request.resource_uid.ends_with("r3") && !request.resource_uid.ends_with("r7"), "boom");
            Ok(Some(Response { values: json!({"host": "h"}).as_object().unwrap().clone(), ..Response::default() }))
        };
        let report = run_with(&w, &defs, &mut state, &mut |_| Ok(()), &caller);
        for i in 0..12 {
            let outcome = &report.outcomes[&format!("postgres.default#aa.r{i}")];
            if i == 3 || i == 7 {
                assert!(
                    matches!(outcome, Outcome::Failed(m) if m.starts_with("provisioner `pg` panicked: boom (this is a bug in score-fly")),
                    "{outcome:?}"
                );
            } else {
                assert_eq!(*outcome, Outcome::Provisioned);
            }
        }
        assert_eq!(state.resources.len(), 10);
    }

    /// Why a resource failed, one per line, as the report and `generate` show it.
    #[test]
    fn resource_errors_are_the_report_lines() {
        let errors = [
            ResourceError::Panicked { provisioner: "pg".into(), message: "boom".into() },
            ResourceError::Lost,
            ResourceError::NoThread { why: "out of memory".into() },
            ResourceError::InputDepth { field: "params", limit: 64 },
            ResourceError::ResponseDepth { field: "shared", limit: 64 },
        ];
        let messages: Vec<String> = errors.iter().map(ToString::to_string).collect();
        assert_eq!(
            messages.join("\n"),
            "provisioner `pg` panicked: boom (this is a bug in score-fly: please report it)
the thread calling its provisioner stopped before it answered (this is a bug in score-fly: please report it)
no thread could be started to call its provisioner (out of memory); the system is short of threads or memory: try fewer jobs with -j
its params are nested deeper than 64 levels (limits::MAX_DEPTH); flatten them
its provisioner answered with `shared` nested deeper than 64 levels (limits::MAX_DEPTH); flatten it"
        );
        let e = DeprovisionError::Failed {
            uid: "t.default#w.r".into(),
            error: CallFailed::new(
                super::super::CallError::Builtin(Box::new(super::super::no_builtin(&NoBuiltins, "x"))),
                &Redactor::default(),
            ),
        };
        assert_eq!(
            e.to_string(),
            "failed to deprovision `t.default#w.r`: there is no builtin provisioner `x` (this program has none)"
        );
    }

    #[test]
    fn every_ticket_answers_even_when_its_job_is_dropped() {
        let (done_tx, done_rx) = mpsc::channel();
        // Dropped by a worker that died holding it.
        drop(Ticket { index: 4, done: done_tx.clone(), failure: Some(ResourceError::Lost) });
        let Done { index, job, result } = done_rx.try_recv().unwrap();
        assert!(matches!((index, job.is_none(), result), (4, true, Err(ResourceError::Lost))));
        // Queued when the last worker went away: dropping the queue answers for it.
        let (work_tx, work_rx) = mpsc::channel::<Work>();
        let job = Job {
            index: 5,
            request: serde_json::from_value(
                json!({"resource_uid": "u", "resource_type": "t", "resource_class": "c", "resource_id": "i"}),
            )
            .unwrap(),
            fingerprint: String::new(),
        };
        work_tx
            .send(Work { job, ticket: Ticket { index: 5, done: done_tx.clone(), failure: Some(ResourceError::Lost) } })
            .unwrap();
        drop(work_rx);
        assert_eq!(done_rx.try_recv().unwrap().index, 5);
        // Sending to no worker at all: the ticket answers with the reason.
        let job = Job {
            index: 6,
            request: serde_json::from_value(
                json!({"resource_uid": "u", "resource_type": "t", "resource_class": "c", "resource_id": "i"}),
            )
            .unwrap(),
            fingerprint: String::new(),
        };
        let Err(mpsc::SendError(work)) =
            work_tx.send(Work { job, ticket: Ticket { index: 6, done: done_tx, failure: Some(ResourceError::Lost) } })
        else {
            panic!("nobody receives")
        };
        work.ticket.fail(ResourceError::NoThread { why: "no thread".to_owned() });
        let done = done_rx.try_recv().unwrap();
        assert!(matches!((done.index, done.result), (6, Err(ResourceError::NoThread { why })) if why == "no thread"));
        assert!(done_rx.try_recv().is_err(), "exactly one answer per ticket");
    }

    #[test]
    fn inputs_and_answers_deeper_than_max_depth_are_not_recorded() {
        let defs = vec![static_def("pg", "postgres", &json!({}), &json!({}))];
        let nested = |levels: usize| -> serde_json::Value {
            let mut v = json!(1);
            for _ in 0..levels {
                v = json!([v]);
            }
            v
        };
        let mut w = many(3);
        let r0 = w.get_mut("aa").unwrap().resources.get_mut("r0").unwrap();
        r0.metadata = Some(json!({"deep": nested(limits::MAX_DEPTH)}).as_object().unwrap().clone());
        let r1 = w.get_mut("aa").unwrap().resources.get_mut("r1").unwrap();
        r1.params = Some(json!({"deep": nested(limits::MAX_DEPTH - 1)}).as_object().unwrap().clone());
        let caller = |_: &ProvisionerDef, _: Mode, request: &Request, _: &CallContext<'_>| {
            let deep = request.resource_uid.ends_with("r2");
            let shared = if deep { nested(limits::MAX_DEPTH + 1) } else { json!({"ok": 1}) };
            Ok(Some(Response { shared: Some(shared), ..Response::default() }))
        };
        let mut state = State::new("");
        let report = run_with(&w, &defs, &mut state, &mut |_| Ok(()), &caller);
        assert!(
            matches!(&report.outcomes["postgres.default#aa.r0"], Outcome::Failed(m) if m == "its metadata are nested deeper than 64 levels (limits::MAX_DEPTH); flatten them"),
            "{report:?}"
        );
        assert_eq!(report.outcomes["postgres.default#aa.r1"], Outcome::Provisioned, "params exactly MAX_DEPTH deep");
        assert!(
            matches!(&report.outcomes["postgres.default#aa.r2"], Outcome::Failed(m) if m.contains("answered with `shared` nested deeper than 64 levels")),
            "{report:?}"
        );
        assert_eq!(state.shared, json!({"ok": 1}));
    }

    mod round_trip {
        use super::*;
        use proptest::prelude::*;

        fn scalar() -> impl Strategy<Value = serde_json::Value> {
            prop_oneof![
                Just(serde_json::Value::Null),
                any::<bool>().prop_map(serde_json::Value::from),
                any::<i64>().prop_map(serde_json::Value::from),
                any::<u64>().prop_map(serde_json::Value::from),
                any::<f64>()
                    .prop_filter("JSON numbers are finite", |f| f.is_finite())
                    .prop_map(serde_json::Value::from),
                proptest::collection::vec(any::<char>(), 0..8)
                    .prop_map(|c| serde_json::Value::from(c.into_iter().collect::<String>())),
            ]
        }

        /// A value exactly `levels` deep (a scalar for 0): a chain of lists and maps, each
        /// with a few scalar siblings.
        fn nested(levels: usize) -> impl Strategy<Value = serde_json::Value> {
            let level = (
                any::<bool>(),
                proptest::collection::vec(any::<char>(), 0..4),
                proptest::collection::vec(scalar(), 0..3),
            );
            (proptest::collection::vec(level, levels), scalar()).prop_map(|(levels, leaf)| {
                let mut value = leaf;
                for (is_list, key, siblings) in levels {
                    let key: String = key.into_iter().collect();
                    value = if is_list {
                        let mut items = siblings;
                        items.insert(items.len() / 2, value);
                        serde_json::Value::Array(items)
                    } else {
                        let mut map: serde_json::Map<String, serde_json::Value> =
                            siblings.into_iter().enumerate().map(|(i, v)| (format!("s{i}"), v)).collect();
                        map.insert(format!("k{key}"), value);
                        serde_json::Value::Object(map)
                    };
                }
                value
            })
        }

        /// A map whose deepest value makes it `levels` deep (at least 1).
        fn map(levels: usize) -> impl Strategy<Value = serde_json::Map<String, serde_json::Value>> {
            nested(levels.saturating_sub(1)).prop_map(|v| [("v".to_owned(), v)].into_iter().collect())
        }

        /// Depths around the limit: most within it, some past it.
        fn levels() -> impl Strategy<Value = usize> {
            prop_oneof![3 => 1..=limits::MAX_DEPTH, 1 => limits::MAX_DEPTH + 1..=limits::MAX_DEPTH + 70]
        }

        #[derive(Debug, Clone)]
        struct Case {
            params: serde_json::Map<String, serde_json::Value>,
            metadata: serde_json::Map<String, serde_json::Value>,
            state: serde_json::Map<String, serde_json::Value>,
            values: serde_json::Map<String, serde_json::Value>,
            secrets: serde_json::Map<String, serde_json::Value>,
            shared: serde_json::Value,
        }

        fn case() -> impl Strategy<Value = Case> {
            (levels(), levels(), levels(), levels(), levels(), levels()).prop_flat_map(|(p, m, st, v, se, sh)| {
                (map(p), map(m), map(st), map(v), map(se), nested(sh)).prop_map(
                    |(params, metadata, state, values, secrets, shared)| Case {
                        params,
                        metadata,
                        state,
                        values,
                        secrets,
                        shared,
                    },
                )
            })
        }

        proptest! {
            #![proptest_config(ProptestConfig { cases: 48, ..ProptestConfig::default() })]

            /// Whatever the engine accepts and records, the real save path writes and
            /// `Project::load` reads back equal: nothing accepted can make a later read fail.
            #[test]
            fn accepted_values_round_trip_through_the_state_file(cases in proptest::collection::vec(case(), 1..4)) {
                let defs = vec![static_def("pg", "postgres", &json!({}), &json!({}))];
                let mut w = many(cases.len());
                for (i, c) in cases.iter().enumerate() {
                    let r = w.get_mut("aa").unwrap().resources.get_mut(&format!("r{i}")).unwrap();
                    r.params = Some(c.params.clone());
                    r.metadata = Some(c.metadata.clone());
                }
                // The answer goes through the wire format and the real response reader.
                let caller = |_: &ProvisionerDef, _: Mode, request: &Request, _: &CallContext<'_>| {
                    let i: usize = request.resource_uid.rsplit('r').next().unwrap().parse().unwrap();
                    let c = &cases[i];
                    let body = json!({"state": c.state, "values": c.values, "secrets": c.secrets, "shared": c.shared});
                    super::super::super::protocol::parse_response(body.to_string().as_bytes()).map_err(|e| {
                        CallFailed::new(crate::provision::CallError::Builtin(Box::new(e)), &Redactor::default())
                    })
                };
                let dir = tempfile::tempdir().unwrap();
                let project = crate::state::Project::open(dir.path(), crate::state::LockWait { timeout: std::time::Duration::ZERO }, &mut |_| {}).unwrap();
                let mut state = State::new("demo-");
                let mut saves = Vec::new();
                let report = run_with(&w, &defs, &mut state, &mut |s| {
                    let saved = project.save(s);
                    saves.push(saved.as_ref().map_err(ToString::to_string).err());
                    saved
                }, &caller);
                prop_assert!(saves.iter().all(Option::is_none), "a save of accepted values failed: {saves:?}");
                let loaded = project.load().unwrap().unwrap();
                prop_assert_eq!(&loaded, &state);
                for (i, c) in cases.iter().enumerate() {
                    let uid = format!("postgres.default#aa.r{i}");
                    let inputs_fit = map_depth(&c.params) <= limits::MAX_DEPTH && map_depth(&c.metadata) <= limits::MAX_DEPTH;
                    let answer_fits = [map_depth(&c.state), map_depth(&c.values), map_depth(&c.secrets), depth(&c.shared)]
                        .iter()
                        .all(|d| *d <= limits::MAX_DEPTH);
                    let params_expand = c.params.values().all(|v| { let mut s = Vec::new(); crate::provision::collect_strings(v, &mut s); s.iter().all(|t| !t.contains('$')) });
                    if inputs_fit && answer_fits && params_expand {
                        prop_assert_eq!(&report.outcomes[&uid], &Outcome::Provisioned);
                        let entry = &loaded.resources[&uid];
                        // Plain outputs holding a known secret move to the secret outputs
                        // (laundering, where a secret output of the same name wins); every
                        // output is still recorded, plain or secret.
                        for (key, value) in &c.values {
                            if let Some(kept) = entry.values.get(key) {
                                prop_assert_eq!(kept, value);
                            } else {
                                prop_assert_eq!(&entry.secrets[key], c.secrets.get(key).unwrap_or(value));
                            }
                        }
                        prop_assert!(entry.values.keys().all(|k| c.values.contains_key(k)));
                        for (key, value) in &c.secrets {
                            prop_assert_eq!(&entry.secrets[key], value);
                        }
                        prop_assert!(entry.secrets.keys().all(|k| c.secrets.contains_key(k) || c.values.contains_key(k)));
                        prop_assert_eq!(&entry.metadata, &c.metadata);
                        prop_assert_eq!(&entry.params, &c.params);
                    } else if !(inputs_fit && answer_fits) {
                        prop_assert!(matches!(&report.outcomes[&uid], Outcome::Failed(m) if m.contains("nested deeper than 64 levels")), "{:?}", report.outcomes[&uid]);
                        prop_assert!(!loaded.resources.contains_key(&uid));
                    }
                }
            }
        }
    }
}
