//! The **legacy** path of `postgres` (a database and role per resource on one shared Fly
//! Postgres cluster per project) and `postgres-instance` (a dedicated cluster per resource):
//! "Fly Postgres (Unmanaged)", outside Fly's support. Taken only by explicit choice, the
//! resource class `legacy` (or a resource this path provisioned before), with a warning; the
//! default is Managed Postgres ([`super::mpg`]).
//!
//! Clusters are made with `fly postgres create` (no `--password`: flyctl picks the
//! superuser's, and it is never needed here) and adopted when they exist. Databases and
//! roles are made by running `psql` inside a started machine of the cluster through the
//! Machines API `exec` endpoint, connected as `postgres` with the `OPERATOR_PASSWORD` the
//! cluster's machines carry (as score-flyio does). The SQL is idempotent: a database that
//! exists is kept, a role that exists gets its password set again. The password is sent as a
//! SCRAM-SHA-256 verifier computed here, so the clear password never leaves this machine
//! except as the resource's secret output.
//!
//! Every database score-fly creates carries the comment `score-fly:<uid>`; the shared
//! cluster is deleted when the last of them is dropped, whatever the local state knows.

use base64::Engine as _;
use sha2::{Digest as _, Sha256};

use super::{BuiltinError, Call, fly_name, pg_name, random_bytes, random_password};
use crate::flyio::api::{AppLookup, MachinesApi};
use crate::provision::protocol::Request;
use crate::provision::protocol::Response;

/// The shared-state key of the shared cluster: `{"app": NAME, "databases": {DB: UID}}`.
pub const SHARED_KEY: &str = "score-fly-postgres";
/// Port of Fly Postgres through its proxy (flycast).
const PORT: u16 = 5432;
/// Iterations of the SCRAM verifier (the default of `PostgreSQL`).
const SCRAM_ITERATIONS: u32 = 4096;
/// The comment marking databases score-fly made.
const MARK: &str = "score-fly:";

/// The shell script `exec` runs: the SQL (`$1`) into psql on database `$2`. `PG*` variables
/// the machine sets win over the defaults (Fly Postgres: `postgres` on the local proxy with
/// `OPERATOR_PASSWORD`).
const SCRIPT: &str = r#"printf '%s\n' "$1" | PGPASSWORD="${PGPASSWORD:-$OPERATOR_PASSWORD}" psql -X -q -A -t -v ON_ERROR_STOP=1 -h "${PGHOST:-localhost}" -p "${PGPORT:-5432}" -U "${PGUSER:-postgres}" -d "$2""#;

/// The resource class that chooses this legacy path.
pub const LEGACY_CLASS: &str = "legacy";

/// Whether a call takes the legacy path: class `legacy`, or (to deprovision) a resource this
/// path provisioned (its state names a cluster but is not `managed`). Provisioning says why
/// it is discouraged.
pub(super) fn legacy(call: &Call<'_>, mode: crate::provision::protocol::Mode) -> bool {
    let chosen = call.request.resource_class == LEGACY_CLASS;
    if chosen && mode == crate::provision::protocol::Mode::Provision {
        call.say(&format!(
            "warning: `{}` uses unmanaged Fly Postgres (`fly postgres create`, class `{LEGACY_CLASS}`), which Fly no longer supports; drop the class to get Managed Postgres",
            call.request.resource_uid
        ));
    }
    let made_here = call.request.state.contains_key("cluster") && !call.request.state.contains_key("managed");
    chosen || (mode == crate::provision::protocol::Mode::Deprovision && made_here)
}

/// The `postgres-instance` cluster of a call: the one in the state, else the derived name.
pub(super) fn instance_cluster(call: &Call<'_>) -> String {
    call.state_str("cluster").unwrap_or_else(|| instance_cluster_name(&call.env.app_prefix, call.request))
}

/// The shared cluster's name: the `cluster` param, else `<prefix>pg`.
pub(super) fn shared_cluster(call: &Call<'_>) -> Result<String, BuiltinError> {
    if let Some(name) = call.param("cluster") {
        crate::fly::check_app_name(&name).map_err(BuiltinError::ClusterParam)?;
        return Ok(name);
    }
    if call.env.app_prefix.is_empty() {
        return Err(BuiltinError::NoPrefixForCluster { uid: call.request.resource_uid.clone() });
    }
    Ok(format!("{}pg", call.env.app_prefix))
}

/// `postgres` provision: the shared cluster (made or adopted), then this resource's
/// database and role.
pub(super) fn provision_shared(call: &Call<'_>) -> Result<Response, BuiltinError> {
    let cluster = shared_cluster(call)?;
    let api = call.api()?;
    ensure_cluster(call, &api, &cluster)?;
    let name = database_name(call.request);
    let password = ensure_database(call, &api, &cluster, &name, false)?;
    let mut databases = serde_json::Map::new();
    databases.insert(name.clone(), serde_json::json!(call.request.resource_uid));
    let shared = serde_json::json!({ SHARED_KEY: { "app": cluster, "databases": databases } });
    Ok(response(&cluster, &name, &password, Some(shared)))
}

/// `postgres` deprovision: drops the database and role; the cluster goes with the last
/// score-fly database on it.
pub(super) fn deprovision_shared(call: &Call<'_>) -> Result<Option<Response>, BuiltinError> {
    let cluster = call
        .state_str("cluster")
        .or_else(|| call.request.shared[SHARED_KEY]["app"].as_str().map(str::to_owned))
        .map_or_else(|| shared_cluster(call), Ok)?;
    let api = call.api()?;
    if !matches!(api.app(&cluster)?, AppLookup::Exists { .. }) {
        call.say(&format!("cluster {cluster} does not exist; nothing to drop"));
        return Ok(Some(Response { shared: Some(serde_json::json!({ SHARED_KEY: null })), ..Response::default() }));
    }
    let name = call.state_str("database").unwrap_or_else(|| database_name(call.request));
    let machine = started_machine(&api, &cluster)?;
    let drop = format!("DROP DATABASE IF EXISTS {} WITH (FORCE);\nDROP ROLE IF EXISTS {};", ident(&name), ident(&name));
    run_sql(call, &api, &cluster, &machine, &drop, "postgres", "")?;
    call.say(&format!("dropped database and role {name} on {cluster}"));
    let remaining = run_sql(
        call,
        &api,
        &cluster,
        &machine,
        &format!("SELECT count(*) FROM pg_database WHERE shobj_description(oid, 'pg_database') LIKE '{MARK}%';"),
        "postgres",
        "",
    )?;
    if remaining.trim() == "0" {
        call.say(&format!("{name} was the last score-fly database on {cluster}: deleting the cluster"));
        api.delete_app(&cluster)?;
        return Ok(Some(Response { shared: Some(serde_json::json!({ SHARED_KEY: null })), ..Response::default() }));
    }
    Ok(Some(Response {
        shared: Some(serde_json::json!({ SHARED_KEY: { "databases": { name: null } } })),
        ..Response::default()
    }))
}

/// The name `postgres-instance` derives for a resource's cluster (see
/// [`super::derived_name`]).
pub(super) fn instance_cluster_name(prefix: &str, request: &Request) -> String {
    fly_name(prefix, "pg", request, 63)
}

/// The name `postgres` derives for a resource's database and role in the shared cluster (see
/// [`super::derived_name`]).
pub(super) fn database_name(request: &Request) -> String {
    pg_name(request, 63)
}

/// `postgres-instance` provision: a dedicated cluster, with a role that owns its own
/// database and may create databases and roles (Fly's `postgres` superuser stays Fly's).
pub(super) fn provision_instance(call: &Call<'_>) -> Result<Response, BuiltinError> {
    let cluster = instance_cluster(call);
    let api = call.api()?;
    ensure_cluster(call, &api, &cluster)?;
    let name = pg_name(call.request, 63);
    let password = ensure_database(call, &api, &cluster, &name, true)?;
    Ok(response(&cluster, &name, &password, None))
}

/// `postgres-instance` deprovision: deletes the cluster.
pub(super) fn deprovision_instance(call: &Call<'_>) -> Result<Option<Response>, BuiltinError> {
    let cluster = instance_cluster(call);
    let api = call.api()?;
    api.delete_app(&cluster)?;
    call.say(&format!("deleted cluster {cluster}"));
    Ok(None)
}

fn response(cluster: &str, name: &str, password: &str, shared: Option<serde_json::Value>) -> Response {
    let host = format!("{cluster}.flycast");
    let uri = format!("postgres://{name}:{}@{host}:{PORT}/{name}", crate::encoding::percent_encode(password, b"-._~"));
    let values = serde_json::json!({
        "host": host,
        "port": PORT,
        "name": name,
        "database": name,
        "username": name,
    });
    let state = serde_json::json!({ "cluster": cluster, "database": name, "username": name, "password": password });
    Response {
        state: state.as_object().cloned(),
        values: values.as_object().cloned().unwrap_or_default(),
        // The same keys as Managed Postgres (`builtin::output_keys`): Fly Postgres' proxy has
        // no separate pooled host, so both URIs are the flycast one.
        secrets: serde_json::json!({ "password": password, "uri": uri, "direct_uri": uri })
            .as_object()
            .cloned()
            .unwrap_or_default(),
        shared,
    }
}

/// Makes the cluster app unless it exists (then it is adopted).
///
/// Resources sharing the cluster are provisioned concurrently: the check-then-create runs
/// under a lock so exactly one of them creates it and the others adopt it. (Other
/// processes on the same project wait on the project lock; anyone else creating the same
/// name in between makes `postgres create` fail, and the cluster is then adopted.)
fn ensure_cluster(call: &Call<'_>, api: &MachinesApi, cluster: &str) -> Result<(), BuiltinError> {
    let _one_at_a_time = super::creating();
    match api.app(cluster)? {
        AppLookup::Exists { .. } => {
            call.say(&format!("using the existing Postgres cluster {cluster}"));
            Ok(())
        }
        AppLookup::TakenElsewhere => Err(BuiltinError::ClusterTakenElsewhere {
            cluster: cluster.to_owned(),
            uid: call.request.resource_uid.clone(),
        }),
        AppLookup::Missing => {
            let region = call.region()?;
            let org = call.env.org();
            let vm_size = call.param("vm_size").unwrap_or_else(|| "shared-cpu-1x".to_owned());
            let volume_size = call.param("volume_size").unwrap_or_else(|| "10".to_owned());
            call.say(&format!("creating Postgres cluster {cluster} in {region} (org {org})"));
            // No --password: it would show in the process list. flyctl generates one.
            let created = call.fly(&[
                "postgres",
                "create",
                "--name",
                cluster,
                "--org",
                &org,
                "--region",
                &region,
                "--vm-size",
                &vm_size,
                "--volume-size",
                &volume_size,
                "--initial-cluster-size",
                "1",
                "--autostart",
            ]);
            match created {
                Ok(_) => Ok(()),
                // Made by someone else meanwhile: adopt it.
                Err(e) if matches!(api.app(cluster), Ok(AppLookup::Exists { .. })) => {
                    call.say(&format!("{cluster} appeared while it was being created; using it ({e})"));
                    Ok(())
                }
                Err(e) => Err(e.into()),
            }
        }
    }
}

/// Makes (or adopts) database and role `name`, owned by the role; returns its password
/// (the known one when the state has it, else a new one: a role that exists is rotated).
fn ensure_database(
    call: &Call<'_>,
    api: &MachinesApi,
    cluster: &str,
    name: &str,
    admin: bool,
) -> Result<String, BuiltinError> {
    let known = call.state_str("password").filter(|_| {
        call.state_str("database").as_deref() == Some(name) && call.state_str("cluster").as_deref() == Some(cluster)
    });
    let password = match known {
        Some(p) => p,
        None => random_password()?,
    };
    call.cx.redactor.add([password.as_str()]);
    let verifier = scram_verifier(&password, &random_bytes(16)?);
    let role = ident(name);
    let options = if admin { "LOGIN CREATEDB CREATEROLE" } else { "LOGIN" };
    let comment = format!("{MARK}{}", call.request.resource_uid);
    let sql = format!(
        "DO $sf$ BEGIN\n  IF EXISTS (SELECT FROM pg_roles WHERE rolname = {lit}) THEN\n    ALTER ROLE {role} WITH {options} PASSWORD {secret};\n  ELSE\n    CREATE ROLE {role} WITH {options} PASSWORD {secret};\n  END IF;\nEND $sf$;\n\
         SELECT format('CREATE DATABASE %I OWNER %I', {lit}, {lit}) WHERE NOT EXISTS (SELECT FROM pg_database WHERE datname = {lit})\\gexec\n\
         ALTER DATABASE {role} OWNER TO {role};\n\
         COMMENT ON DATABASE {role} IS {mark};\n",
        lit = literal(name),
        secret = literal(&verifier),
        mark = literal(&comment),
    );
    let machine = started_machine(api, cluster)?;
    run_sql(call, api, cluster, &machine, &sql, "postgres", &verifier)?;
    if call.state_str("password").is_none() {
        call.say(&format!("database {name} and its role are ready on {cluster} (new password)"));
    } else {
        call.say(&format!("database {name} and its role are ready on {cluster}"));
    }
    Ok(password)
}

/// A started machine of the cluster.
fn started_machine(api: &MachinesApi, cluster: &str) -> Result<String, BuiltinError> {
    let machines = api.machines(cluster)?;
    machines.iter().find(|m| m.state == "started").map(|m| m.id.clone()).ok_or_else(|| {
        if machines.is_empty() {
            BuiltinError::NoMachine { cluster: cluster.to_owned() }
        } else {
            BuiltinError::NoStartedMachine {
                cluster: cluster.to_owned(),
                machines: machines.iter().map(|m| (m.id.clone(), m.state.clone())).collect(),
            }
        }
    })
}

/// Runs SQL with psql inside the machine; returns what it printed. `hide` is masked in errors.
fn run_sql(
    call: &Call<'_>,
    api: &MachinesApi,
    cluster: &str,
    machine: &str,
    sql: &str,
    database: &str,
    hide: &str,
) -> Result<String, BuiltinError> {
    let command: Vec<String> = ["sh", "-c", SCRIPT, "sh", sql, database].iter().map(|s| (*s).to_owned()).collect();
    let out = api.exec(cluster, machine, &command, 60)?;
    if out.exit_code != 0 {
        let mut detail = out.stderr.trim().to_owned();
        if !hide.is_empty() {
            detail = detail.replace(hide, "********");
        }
        return Err(BuiltinError::Psql {
            machine: machine.to_owned(),
            cluster: cluster.to_owned(),
            code: out.exit_code,
            stderr: call.cx.redactor.redact(&detail),
        });
    }
    Ok(out.stdout)
}

/// A quoted SQL identifier.
fn ident(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

/// A quoted SQL string literal.
fn literal(text: &str) -> String {
    format!("'{}'", text.replace('\'', "''"))
}

/// The SCRAM-SHA-256 password verifier of `PostgreSQL` (`SCRAM-SHA-256$<iter>:<salt>$<StoredKey>:<ServerKey>`),
/// accepted by `CREATE ROLE ... PASSWORD` in place of the password (RFC 5802, RFC 7677).
pub fn scram_verifier(password: &str, salt: &[u8]) -> String {
    let salted = pbkdf2_sha256(password.as_bytes(), salt, SCRAM_ITERATIONS);
    let client_key = hmac_sha256(&salted, b"Client Key");
    let stored_key = Sha256::digest(client_key);
    let server_key = hmac_sha256(&salted, b"Server Key");
    let b64 = base64::engine::general_purpose::STANDARD;
    format!(
        "SCRAM-SHA-256${SCRAM_ITERATIONS}:{}${}:{}",
        b64.encode(salt),
        b64.encode(stored_key),
        b64.encode(server_key)
    )
}

/// HMAC-SHA256 (RFC 2104): SCRAM's proofs here, the release secrets digest in `ops::releases`.
pub(crate) fn hmac_sha256(key: &[u8], message: &[u8]) -> [u8; 32] {
    const BLOCK: usize = 64;
    let mut block = [0u8; BLOCK];
    if key.len() > BLOCK {
        block[..32].copy_from_slice(&Sha256::digest(key));
    } else {
        block[..key.len()].copy_from_slice(key);
    }
    let mut inner = Sha256::new();
    inner.update(block.map(|b| b ^ 0x36));
    inner.update(message);
    let mut outer = Sha256::new();
    outer.update(block.map(|b| b ^ 0x5c));
    outer.update(inner.finalize());
    outer.finalize().into()
}

fn pbkdf2_sha256(password: &[u8], salt: &[u8], iterations: u32) -> [u8; 32] {
    let mut first = salt.to_vec();
    first.extend_from_slice(&1u32.to_be_bytes());
    let mut u = hmac_sha256(password, &first);
    let mut result = u;
    for _ in 1..iterations {
        u = hmac_sha256(password, &u);
        for (r, x) in result.iter_mut().zip(u) {
            *r ^= x;
        }
    }
    result
}

#[cfg(test)]
mod tests {
    use super::*;

    use crate::encoding::hex;

    #[test]
    fn hmac_matches_rfc_4231() {
        // Test case 2.
        assert_eq!(
            hex(&hmac_sha256(b"Jefe", b"what do ya want for nothing?")),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
    }

    #[test]
    fn pbkdf2_matches_published_vectors() {
        // PBKDF2-HMAC-SHA256, "password"/"salt", 1 and 4096 iterations.
        assert_eq!(
            hex(&pbkdf2_sha256(b"password", b"salt", 1)),
            "120fb6cffcf8b32c43e7225256c4f837a86548c92ccc35480805987cb70be17b"
        );
        assert_eq!(
            hex(&pbkdf2_sha256(b"password", b"salt", 4096)),
            "c5e478d59288c841aa530db6845c4c8d962893a001ce4e11a4963873aa98134a"
        );
    }

    #[test]
    fn scram_verifier_matches_rfc_7677() {
        // RFC 7677's example: user "user", password "pencil", salt W22ZaJ0SNY7soEsUEjb6gQ==.
        let salt = base64::engine::general_purpose::STANDARD.decode("W22ZaJ0SNY7soEsUEjb6gQ==").unwrap();
        let verifier = scram_verifier("pencil", &salt);
        // StoredKey = H(ClientKey); ServerKey from the RFC's server signature derivation.
        assert!(verifier.starts_with("SCRAM-SHA-256$4096:W22ZaJ0SNY7soEsUEjb6gQ==$"), "{verifier}");
        let salted = pbkdf2_sha256(b"pencil", &salt, 4096);
        assert_eq!(
            base64::engine::general_purpose::STANDARD.encode(hmac_sha256(&salted, b"Client Key")),
            // ClientProof = ClientKey XOR ClientSignature; the RFC lists the proof, so check
            // the key through it.
            client_key_from_rfc()
        );
    }

    fn client_key_from_rfc() -> String {
        // From RFC 7677: ClientProof = "dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ=" and the
        // AuthMessage below; ClientKey = ClientProof XOR HMAC(StoredKey, AuthMessage).
        let b64 = base64::engine::general_purpose::STANDARD;
        let auth = "n=user,r=rOprNGfwEbeRWgbNEkqO,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096,c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0";
        let proof = b64.decode("dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ=").unwrap();
        let salt = b64.decode("W22ZaJ0SNY7soEsUEjb6gQ==").unwrap();
        let salted = pbkdf2_sha256(b"pencil", &salt, 4096);
        let stored: [u8; 32] = Sha256::digest(hmac_sha256(&salted, b"Client Key")).into();
        let signature = hmac_sha256(&stored, auth.as_bytes());
        let key: Vec<u8> = proof.iter().zip(signature).map(|(p, s)| p ^ s).collect();
        b64.encode(key)
    }

    #[test]
    fn identifiers_and_literals_are_quoted() {
        assert_eq!(ident("a\"b"), "\"a\"\"b\"");
        assert_eq!(literal("it's"), "'it''s'");
    }
}
