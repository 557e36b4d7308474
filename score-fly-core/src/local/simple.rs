//! The local builtins that start nothing: `volume` (a folder), `dns`, `route` and
//! `service-port` (`localhost` and the local ports `dev` gives in
//! [`LocalOptions::workload_ports`](super::LocalOptions::workload_ports)).

use super::{LocalEnv, LocalError};
use crate::builtin::Call;
use crate::provision::protocol::Response;

/// `volume`: the folder `.score-fly/dev/volumes/<id>_<hash>/`. Outputs: `source` (the name
/// the Fly builtin gives the volume) and `type` as on Fly, plus `path`, the folder. Container
/// paths are not rewritten: the service finds the folder through `path`.
pub(super) fn volume(env: &LocalEnv, call: &Call<'_>) -> Result<Response, LocalError> {
    let name = crate::builtin::derived_name("volume", "", &call.request.resource_uid, &call.request.resource_id)
        .unwrap_or_else(|| super::resource_folder(call.request));
    let path = env.folder(&["volumes", &name])?;
    call.say(&format!("volume folder {}", path.display()));
    let values = serde_json::json!({ "source": name, "type": "volume", "path": path.to_string_lossy() });
    Ok(Response { values: object(values), ..Response::default() })
}

/// `dns`: `localhost`.
pub(super) fn dns(call: &Call<'_>) -> Result<Response, LocalError> {
    call.workload()
        .map_err(|e| LocalError::Workload { uid: call.request.resource_uid.clone(), problem: e.to_string() })?;
    Ok(Response { values: object(serde_json::json!({ "host": "localhost" })), ..Response::default() })
}

/// `route` (params `host`, `port`, `path`): `localhost`, the local port of the declaring
/// workload's service port `port` (its number or name), and the path (default `/`).
pub(super) fn route(env: &LocalEnv, call: &Call<'_>) -> Result<Response, LocalError> {
    let uid = call.request.resource_uid.clone();
    let workload = call.workload().map_err(|e| LocalError::Workload { uid: uid.clone(), problem: e.to_string() })?;
    let Some(wanted) = call.param("port") else {
        return Err(port_error(env, &uid, format!("route has no `port` param (a service port of {workload})")));
    };
    let port = local_port(env, &uid, &workload, &wanted)?;
    let path = call.param("path").unwrap_or_else(|| "/".to_owned());
    if !path.starts_with('/') {
        return Err(port_error(env, &uid, format!("route path `{path}` must start with `/`")));
    }
    let values = serde_json::json!({ "host": "localhost", "port": port, "path": path });
    Ok(Response { values: object(values), ..Response::default() })
}

/// `service-port` (params `workload`, `port`): `localhost` and that workload's local port.
pub(super) fn service_port(env: &LocalEnv, call: &Call<'_>) -> Result<Response, LocalError> {
    let uid = call.request.resource_uid.clone();
    let Some(target) = call.param("workload") else {
        return Err(port_error(env, &uid, "service-port has no `workload` param".to_owned()));
    };
    let Some(wanted) = call.param("port") else {
        return Err(port_error(env, &uid, format!("service-port has no `port` param (a service port of {target})")));
    };
    let port = local_port(env, &uid, &target, &wanted)?;
    let values = serde_json::json!({ "hostname": "localhost", "port": port });
    Ok(Response { values: object(values), ..Response::default() })
}

/// The local port of `workload`'s service port `wanted` (its name, or its `port` number as
/// declared).
fn local_port(env: &LocalEnv, uid: &str, workload: &str, wanted: &str) -> Result<u16, LocalError> {
    let locals = env.options.workload_ports.get(workload);
    if let Some(port) = locals.and_then(|ports| ports.get(wanted)) {
        return Ok(*port);
    }
    let by_number = wanted.parse::<u16>().ok().and_then(|number| {
        let declared = env.options.service_ports.get(workload)?;
        let name = declared.iter().find(|(_, p)| **p == number).map(|(name, _)| name)?;
        locals?.get(name).copied()
    });
    by_number.ok_or_else(|| {
        port_error(env, uid, format!("no local port is known for port `{wanted}` of workload `{workload}`"))
    })
}

fn port_error(env: &LocalEnv, uid: &str, problem: String) -> LocalError {
    LocalError::Port { uid: uid.to_owned(), problem, known: env.options.workload_ports.clone() }
}

fn object(value: serde_json::Value) -> serde_json::Map<String, serde_json::Value> {
    match value {
        serde_json::Value::Object(map) => map,
        _ => serde_json::Map::new(),
    }
}
