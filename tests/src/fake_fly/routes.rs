//! Request routing: authentication, fault injection, the request log, then the Machines API
//! (`/v1/...`) or the flyctl RPC (`/fake/...`).

use std::collections::BTreeMap;

use serde_json::{Value, json};

use super::http::{Request, Response, decode};
use super::state::{ApiError, ApiResult, State, opt_str, req_str};
use super::{AppKind, RequestRecord, Shared, exec};

/// Answers one request.
pub(super) fn handle(shared: &Shared, request: &Request) -> Response {
    let body = if request.body.is_empty() {
        Value::Null
    } else {
        serde_json::from_slice(&request.body)
            .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(&request.body).into_owned()))
    };
    let command =
        request.path.strip_prefix("/fake/").map(|rest| rest.split('/').map(decode).collect::<Vec<_>>().join(" "));
    let (authorized, auth_scheme) = authorize(request, &shared.options.token);
    let fault = if authorized { take_fault(shared, request, command.as_deref()) } else { None };
    let response = if !authorized {
        Response::error(401, "unauthorized")
    } else if let Some(response) = fault {
        response
    } else if !body.is_null() && body.is_string() {
        Response::error(400, "the body is not valid JSON")
    } else if let Some(command) = &command {
        if request.method == "POST" {
            let result = {
                let mut state = shared.lock();
                if command.starts_with("mpg ") {
                    super::mpg::command(&mut state, shared.options.postgres.as_ref(), command, &body)
                } else {
                    fake_command(&mut state, command, &body)
                }
            };
            result.map_or_else(|e| Response::error(e.status, &e.message), |value| Response::json(200, &value))
        } else {
            Response::error(405, "flyctl RPC routes take POST")
        }
    } else if let Some(rest) = request.path.strip_prefix("/v1/") {
        let segments: Vec<String> = rest.split('/').map(decode).collect();
        machines_api(shared, request, &segments, &body)
    } else {
        Response::error(404, &format!("not found: {} {}", request.method, request.path))
    };
    shared.lock().requests.push(RequestRecord {
        method: request.method.clone(),
        path: request.path.clone(),
        query: request.query.clone(),
        authorized,
        auth_scheme,
        command,
        body,
        status: response.status,
        response: response.body.clone(),
    });
    response
}

/// Whether the request carries `Bearer <token>` or `FlyV1 <token>`, and the scheme used.
fn authorize(request: &Request, token: &str) -> (bool, Option<String>) {
    let Some(header) = request.header("authorization") else { return (false, None) };
    let (scheme, given) = header.split_once(' ').unwrap_or((header, ""));
    let expected = token.strip_prefix("FlyV1 ").or_else(|| token.strip_prefix("Bearer ")).unwrap_or(token);
    let ok = (scheme == "Bearer" || scheme == "FlyV1") && given.trim() == expected;
    (ok, Some(scheme.to_owned()))
}

/// Removes and answers the first fault matching this request.
fn take_fault(shared: &Shared, request: &Request, command: Option<&str>) -> Option<Response> {
    let mut state = shared.lock();
    let method_path = format!("{} {}", request.method, request.path);
    let position = state.faults.iter().position(|fault| {
        command.is_some_and(|c| c == fault.key) || fault.key == method_path || fault.key == request.path
    })?;
    let fault = state.faults.remove(position);
    Some(Response::error(fault.status, &fault.message))
}

fn ok_or_error(result: ApiResult, status: u16) -> Response {
    match result {
        Ok(value) => Response::json(status, &value),
        Err(error) => Response::error(error.status, &error.message),
    }
}

/// The Machines API: only the routes score-fly calls (`score_fly_core::flyio::api`): an app
/// (`GET`, `DELETE`), its machines and volumes (`GET`), and `exec` in a machine. Any other
/// route is `404`, as Fly answers an unknown one.
fn machines_api(shared: &Shared, request: &Request, segments: &[String], body: &Value) -> Response {
    let method = request.method.as_str();
    let segs: Vec<&str> = segments.iter().map(String::as_str).collect();
    if let ("POST", ["apps", app, "machines", id, "exec"]) = (method, segs.as_slice()) {
        return exec_route(shared, app, id, body);
    }
    let mut state = shared.lock();
    match (method, segs.as_slice()) {
        (_, ["apps", app, rest @ ..]) => {
            let app_json = match state.api_app(app) {
                Ok(found) => State::app_json(found),
                Err(error) => return Response::error(error.status, &error.message),
            };
            app_routes(&mut state, request, app, rest, &app_json)
        }
        _ => Response::error(404, &format!("not found: {method} {}", request.path)),
    }
}

/// `POST /v1/apps/{app}/machines/{id}/exec`: checked under the lock, run without it (commands
/// may take a while).
fn exec_route(shared: &Shared, app: &str, id: &str, body: &Value) -> Response {
    {
        let state = shared.lock();
        let found = match state.api_app(app) {
            Ok(found) => found,
            Err(error) => return Response::error(error.status, &error.message),
        };
        if !found.machines.iter().any(|m| m.id == id) {
            return Response::error(404, "machine not found");
        }
        if found.kind != AppKind::Postgres {
            return Response::error(
                400,
                "fake fly: exec only runs on the machines of a Postgres cluster (fly postgres create)",
            );
        }
    }
    exec::exec(shared.options.postgres.as_ref(), body)
}

/// Routes under `/v1/apps/{app}` (the app exists and is visible).
fn app_routes(state: &mut State, request: &Request, app: &str, rest: &[&str], app_json: &Value) -> Response {
    let method = request.method.as_str();
    match (method, rest) {
        ("GET", []) => Response::json(200, app_json),
        ("DELETE", []) => match state.destroy_app(app) {
            Ok(()) => Response::empty(202),
            Err(error) => Response::error(error.status, &error.message),
        },
        ("GET", ["machines"]) => {
            let list: Vec<Value> =
                state.apps.get(app).map(|a| a.machines.iter().map(State::machine_json).collect()).unwrap_or_default();
            Response::json(200, &Value::Array(list))
        }
        ("GET", ["volumes"]) => ok_or_error(state.volumes_list(app), 200),
        _ => Response::error(404, &format!("not found: {method} {}", request.path)),
    }
}

/// The flyctl RPC: one route per command.
fn fake_command(state: &mut State, command: &str, body: &Value) -> ApiResult {
    let app = || req_str(body, "app");
    let stage = body.get("stage").and_then(Value::as_bool).unwrap_or(false);
    match command {
        "apps create" => {
            let name = req_str(body, "name")?;
            let org = req_str(body, "org")?;
            let app = state.create_app(&name, &org, opt_str(body, "network"), AppKind::App)?;
            Ok(State::app_json(app))
        }
        // The log buffer from index `after` on, filtered as the log API filters: by instance
        // when one is given, else by region (fly-2026.md §5.2: `-m` drops the region filter).
        "logs" => {
            let found = state.command_app(&app()?)?;
            let after = body.get("after").and_then(Value::as_u64).unwrap_or(0);
            let after = usize::try_from(after).unwrap_or(usize::MAX).min(found.logs.len());
            let instance = opt_str(body, "instance");
            let region = opt_str(body, "region");
            let entries: Vec<Value> = found.logs[after..]
                .iter()
                .filter(|e| match (&instance, &region) {
                    (Some(i), _) => e["instance"].as_str() == Some(i.as_str()),
                    (None, Some(r)) => e["region"].as_str() == Some(r.as_str()),
                    (None, None) => true,
                })
                .cloned()
                .collect();
            Ok(json!({ "entries": entries, "next": found.logs.len() }))
        }
        "apps destroy" => {
            state.destroy_app(&req_str(body, "name")?)?;
            Ok(json!({}))
        }
        "apps list" => {
            let org = opt_str(body, "org");
            if let Some(org) = &org {
                state.org_exists(org)?;
            }
            Ok(state.list_apps(org.as_deref()))
        }
        "status" => {
            let found = state.command_app(&app()?)?.clone();
            let mut value = State::app_json(&found);
            // fly-2026.md §5.6: `image_ref` carries the digest (and labels), `cordoned` is always there.
            let machines = found.machines.iter().map(|m| {
                let mut json = State::machine_json(m);
                let image = m.config.get("image").and_then(Value::as_str).unwrap_or_default();
                let digest = found.releases.iter().rev().find(|r| r.image == image).map(|r| r.digest.clone());
                json["image_ref"]["digest"] = json!(digest.unwrap_or_default());
                json["image_ref"]["labels"] = json!({});
                json["cordoned"] = json!(false);
                json
            });
            value["machines"] = Value::Array(machines.collect());
            value["version"] = json!(found.releases.len());
            value["image"] = json!(found.current_release().map(|r| r.image.clone()));
            value["hostname"] = json!(format!("{}.fly.dev", found.name));
            value["deployed"] = json!(!found.releases.is_empty());
            Ok(value)
        }
        "releases" => Ok(State::releases_json(state.command_app(&app()?)?)),
        "secrets import" | "secrets set" => {
            let app = app()?;
            let values: BTreeMap<String, String> = body
                .get("values")
                .and_then(Value::as_object)
                .map(|m| m.iter().filter_map(|(k, v)| Some((k.clone(), v.as_str()?.to_owned()))).collect())
                .unwrap_or_default();
            let version = state.set_secrets(&app, &values, false)?;
            let message = state.secrets_outcome(&app, stage)?;
            Ok(json!({ "message": message, "version": version }))
        }
        "secrets unset" => {
            let app = app()?;
            let names: Vec<String> = body
                .get("names")
                .and_then(Value::as_array)
                .map(|a| a.iter().filter_map(Value::as_str).map(str::to_owned).collect())
                .unwrap_or_default();
            let version = state.unset_secrets(&app, &names)?;
            let message = state.secrets_outcome(&app, stage)?;
            Ok(json!({ "message": message, "version": version }))
        }
        "secrets list" => Ok(State::secrets_json(state.command_app(&app()?)?)),
        "secrets deploy" => {
            let app = app()?;
            if !state.command_app(&app)?.has_staged_secrets() {
                return Err(ApiError::new(400, "no staged secrets to deploy"));
            }
            let message = state.secrets_outcome(&app, false)?;
            Ok(json!({ "message": message }))
        }
        "deploy" => state.deploy(body),
        "release_command" => state.release_machine(body),
        "postgres create" => state.postgres_create(body),
        "postgres list" => Ok(state.postgres_list()),
        "redis create" => state.redis_create(body),
        "redis status" => state.redis_get(&req_str(body, "name")?),
        "redis destroy" => state.redis_destroy(&req_str(body, "name")?).map(|()| json!({})),
        "redis list" => Ok(state.redis_list()),
        "storage create" => state.storage_create(body),
        "storage list" => Ok(state.storage_list()),
        "storage destroy" => state.storage_destroy(&req_str(body, "name")?).map(|()| json!({})),
        "volumes create" => state.volumes_create(body),
        "volumes list" => state.volumes_list(&app()?),
        "volumes destroy" => state.volume_destroy(&req_str(body, "id")?, opt_str(body, "app").as_deref()),
        "ips allocate-v4" => {
            let shared = body.get("shared").and_then(Value::as_bool).unwrap_or(false);
            state.allocate_ip(&app()?, if shared { "shared_v4" } else { "v4" })
        }
        "ips allocate-v6" => {
            let private = body.get("private").and_then(Value::as_bool).unwrap_or(false);
            state.allocate_ip(&app()?, if private { "private_v6" } else { "v6" })
        }
        "ips list" => {
            let found = state.command_app(&app()?)?;
            Ok(Value::Array(found.ips.iter().map(State::ip_json).collect()))
        }
        other => Err(ApiError::new(404, format!("fake fly: unknown flyctl command {other:?}"))),
    }
}
