//! `s3`: a Tigris object storage bucket on Fly (`fly storage create`).
//!
//! - Name: `<prefix>s3-<id>-<hash>` ([`fly_name`]; at most 63 lowercase
//!   letters, digits and `-`, as bucket names must be).
//! - Creation: `fly storage create -n BUCKET -o ORG -y [--public]`, without an app (it runs
//!   in `.score-fly/` without `FLY_APP`), so flyctl prints the bucket's credentials instead
//!   of setting them on an app; they are read from the captured output and the credential
//!   lines are not shown.
//! - Adoption: `fly storage list -j` tells whether the bucket exists. Tigris access keys
//!   cannot be read back (and flyctl has no command to make new ones), so a bucket that
//!   exists is adopted only with the keys kept in the provisioner state; without them (the
//!   state was lost) provisioning fails and says how to recover, rather than make a second
//!   bucket. A bucket deleted behind score-fly's back is made again.
//! - Params: `public` (`true` for a public bucket).
//! - Outputs (score-compose's names): values `bucket`, `endpoint`, `region`; secrets
//!   `access_key_id`, `secret_key`, `aws_access_key_id`, `aws_secret_key`.
//! - Deprovision: `fly storage destroy BUCKET -y` (a bucket already gone is fine). Tigris
//!   refuses to destroy a bucket that still holds objects; empty it first.

use super::{BuiltinError, Call, fly_name, is_not_found};
use crate::provision::protocol::Request;
use crate::provision::protocol::Response;

/// Tigris' S3 endpoint (what flyctl prints as `AWS_ENDPOINT_URL_S3`).
pub const DEFAULT_ENDPOINT: &str = "https://fly.storage.tigris.dev";
/// Tigris' region for S3 clients.
pub const DEFAULT_REGION: &str = "auto";

/// What a bucket's outputs are made of.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Credentials {
    /// `AWS_ACCESS_KEY_ID`.
    pub access_key_id: String,
    /// `AWS_SECRET_ACCESS_KEY`.
    pub secret_key: String,
    /// `AWS_ENDPOINT_URL_S3`.
    pub endpoint: String,
    /// `AWS_REGION`.
    pub region: String,
}

/// `s3` provision.
pub(super) fn provision(call: &Call<'_>) -> Result<Response, BuiltinError> {
    let bucket = bucket_name(call);
    let exists = bucket_exists(call, &bucket)?;
    let known = known_credentials(call, &bucket);
    let credentials = match (exists, known) {
        (true, Some(known)) => {
            call.say(&format!("using the existing Tigris bucket {bucket}"));
            known
        }
        (true, None) => {
            return Err(BuiltinError::S3LostKeys { bucket, uid: call.request.resource_uid.clone() });
        }
        (false, known) => {
            if known.is_some() {
                call.say(&format!("the Tigris bucket {bucket} no longer exists: creating it again (new keys)"));
            }
            create(call, &bucket)?
        }
    };
    call.cx.redactor.add([credentials.access_key_id.as_str(), credentials.secret_key.as_str()]);
    Ok(response(&bucket, &credentials))
}

/// `s3` deprovision.
pub(super) fn deprovision(call: &Call<'_>) -> Result<Option<Response>, BuiltinError> {
    let bucket = bucket_name(call);
    match call.fly(&["storage", "destroy", &bucket, "-y"]) {
        Ok(_) => call.say(&format!("destroyed Tigris bucket {bucket}")),
        Err(e) if is_not_found(&e) => call.say(&format!("Tigris bucket {bucket} does not exist; nothing to destroy")),
        Err(e) => return Err(e.into()),
    }
    Ok(None)
}

/// The bucket: the one in the state (what was made), else the derived name.
fn bucket_name(call: &Call<'_>) -> String {
    call.state_str("bucket").unwrap_or_else(|| derived_name(&call.env.app_prefix, call.request))
}

/// The name this builtin derives for a resource's bucket (see [`super::derived_name`]).
pub(super) fn derived_name(prefix: &str, request: &Request) -> String {
    fly_name(prefix, "s3", request, 63)
}

/// The credentials of `bucket` kept in the provisioner state.
fn known_credentials(call: &Call<'_>, bucket: &str) -> Option<Credentials> {
    if call.state_str("bucket").as_deref() != Some(bucket) {
        return None;
    }
    Some(Credentials {
        access_key_id: call.state_str("access_key_id").filter(|k| !k.is_empty())?,
        secret_key: call.state_str("secret_key").filter(|k| !k.is_empty())?,
        endpoint: call.state_str("endpoint").unwrap_or_else(|| DEFAULT_ENDPOINT.to_owned()),
        region: call.state_str("region").unwrap_or_else(|| DEFAULT_REGION.to_owned()),
    })
}

/// Whether the organisation has the bucket (`fly storage list -j`).
fn bucket_exists(call: &Call<'_>, bucket: &str) -> Result<bool, BuiltinError> {
    let out = call.fly_showing(&["storage", "list", "-j"], &|_| false)?;
    Ok(listed_names(&out.stdout).iter().any(|n| n == bucket))
}

/// The bucket names in `fly storage list` output: JSON (`[{"name": ...}]`; `Name` also
/// read), else the first column of its table.
pub fn listed_names(stdout: &str) -> Vec<String> {
    if let Ok(serde_json::Value::Array(items)) = serde_json::from_str::<serde_json::Value>(stdout) {
        return items
            .iter()
            .filter_map(|i| i.get("name").or_else(|| i.get("Name")).and_then(|n| n.as_str()).map(str::to_owned))
            .collect();
    }
    stdout
        .lines()
        .filter_map(|l| l.split_whitespace().next())
        .filter(|w| !w.eq_ignore_ascii_case("name") && !w.starts_with(['-', '+', '|']))
        .map(str::to_owned)
        .collect()
}

fn create(call: &Call<'_>, bucket: &str) -> Result<Credentials, BuiltinError> {
    let org = call.env.org();
    let public = match call.request.resource_params.get("public") {
        None | Some(serde_json::Value::Null | serde_json::Value::Bool(false)) => false,
        Some(serde_json::Value::Bool(true)) => true,
        Some(_) => return Err(BuiltinError::NotBool { uid: call.request.resource_uid.clone(), param: "public" }),
    };
    call.say(&format!("creating Tigris bucket {bucket} (org {org}{})", if public { ", public" } else { "" }));
    let mut args = vec!["storage", "create", "-n", bucket, "-o", &org, "-y"];
    if public {
        args.push("--public");
    }
    // The credentials come as `AWS_ACCESS_KEY_ID: tid_...` lines, which masking does not
    // recognise as secret: show none of the `NAME: value` lines.
    let out = call.fly_showing(&args, &|line| parse_secret_line(line).is_none())?;
    parse_credentials(&out.stdout).ok_or_else(|| BuiltinError::S3NoCredentials {
        bucket: bucket.to_owned(),
        uid: call.request.resource_uid.clone(),
    })
}

/// `NAME: value` lines flyctl prints for secrets to set (upper-case names).
fn parse_secret_line(line: &str) -> Option<(&str, &str)> {
    let (name, value) = line.trim().split_once(':')?;
    let is_name = !name.is_empty() && name.bytes().all(|b| b.is_ascii_uppercase() || b.is_ascii_digit() || b == b'_');
    is_name.then(|| (name, value.trim()))
}

/// The credentials in `fly storage create` output.
pub fn parse_credentials(stdout: &str) -> Option<Credentials> {
    let mut found = std::collections::BTreeMap::new();
    for line in stdout.lines() {
        if let Some((name, value)) = parse_secret_line(line)
            && !value.is_empty()
        {
            found.insert(name, value);
        }
    }
    Some(Credentials {
        access_key_id: (*found.get("AWS_ACCESS_KEY_ID")?).to_owned(),
        secret_key: (*found.get("AWS_SECRET_ACCESS_KEY")?).to_owned(),
        endpoint: found.get("AWS_ENDPOINT_URL_S3").map_or(DEFAULT_ENDPOINT, |v| v).to_owned(),
        region: found.get("AWS_REGION").map_or(DEFAULT_REGION, |v| v).to_owned(),
    })
}

fn response(bucket: &str, c: &Credentials) -> Response {
    let values = serde_json::json!({ "bucket": bucket, "endpoint": c.endpoint, "region": c.region });
    let secrets = serde_json::json!({
        "access_key_id": c.access_key_id,
        "secret_key": c.secret_key,
        "aws_access_key_id": c.access_key_id,
        "aws_secret_key": c.secret_key,
    });
    let state = serde_json::json!({
        "bucket": bucket,
        "endpoint": c.endpoint,
        "region": c.region,
        "access_key_id": c.access_key_id,
        "secret_key": c.secret_key,
    });
    Response {
        state: state.as_object().cloned(),
        values: values.as_object().cloned().unwrap_or_default(),
        secrets: secrets.as_object().cloned().unwrap_or_default(),
        shared: None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn credentials_are_read_from_storage_create() {
        let out = "Your Tigris Object Storage bucket (b) is ready. See details and next steps with: https://fly.io/docs/tigris/\n\nSet one or more of the following secrets on your target app.\nAWS_ACCESS_KEY_ID: tid_abc\nAWS_ENDPOINT_URL_S3: https://fly.storage.tigris.dev\nAWS_REGION: auto\nAWS_SECRET_ACCESS_KEY: tsec_def\nBUCKET_NAME: b\n";
        let c = parse_credentials(out).unwrap();
        assert_eq!(c.access_key_id, "tid_abc");
        assert_eq!(c.secret_key, "tsec_def");
        assert_eq!(c.endpoint, "https://fly.storage.tigris.dev");
        assert_eq!(c.region, "auto");
        assert!(parse_credentials("Setting the following secrets on app:\nAWS_ACCESS_KEY_ID\n").is_none());
        // Which lines are hidden: the credential block only.
        assert!(parse_secret_line("AWS_ACCESS_KEY_ID: tid_abc").is_some());
        assert!(parse_secret_line("Your Tigris Object Storage bucket (b) is ready. See: x").is_none());
        assert!(parse_secret_line("Set one or more of the following secrets on your target app.").is_none());
    }

    #[test]
    fn bucket_lists_are_read_as_json_or_tables() {
        assert_eq!(listed_names(r#"[{"name":"a","organization":{"slug":"p"}},{"Name":"b"}]"#), ["a", "b"]);
        assert_eq!(listed_names("NAME  ORG\na     personal\nb     personal\n"), ["a", "b"]);
        assert!(listed_names("[]").is_empty());
    }
}
