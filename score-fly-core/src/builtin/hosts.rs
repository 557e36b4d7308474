//! Host names: `dns`, `route` and `service-port`.
//!
//! - `dns`: the public host of the declaring workload's app, `<prefix><workload>.fly.dev`
//!   (output `host`). Nothing is created: Fly gives every app that name. A `dns` resource
//!   shared by several workloads is an error (it would name one of them at random).
//! - `route` (score-compose's params `host`, `port`, `path`): Fly routes a host to one app,
//!   every path of it, so the route is checked rather than made. `host` must be the
//!   declaring workload's `<prefix><workload>.fly.dev` (typically `${resources.dns.host}`);
//!   custom domains are not automated and fail with what to do (`fly certs add`). `port` is
//!   required and must be one of the workload's service ports; `path` defaults to `/` and
//!   must start with `/` (a path other than `/` is accepted and noted: the whole host reaches
//!   the app, which must route paths itself). Outputs: values `host`, `port`, `path`.
//! - `service-port` (params `workload`, a workload of the project, and `port`, the name of
//!   one of its service ports, or its number): the private address of that port,
//!   `<prefix><workload>.flycast` and the port's `port` (outputs `hostname`, `port`).
//!   Flycast needs a private IPv6 address on the target app: one is allocated (`fly ips
//!   allocate-v6 --private`) unless `fly ips list` shows one, and the app is created first
//!   when it does not exist yet. Deprovision leaves the address (other resources may use it).

use super::{BuiltinError, Call};
use crate::provision::protocol::Response;

/// `dns` provision.
pub(super) fn provision_dns(call: &Call<'_>) -> Result<Response, BuiltinError> {
    let workload = call.workload()?;
    let host = format!("{}.fly.dev", call.env.app(&workload));
    Ok(values(serde_json::json!({ "host": host })))
}

/// `route` provision.
pub(super) fn provision_route(call: &Call<'_>) -> Result<Response, BuiltinError> {
    let uid = call.request.resource_uid.clone();
    let workload = call.workload()?;
    let app = call.env.app(&workload);
    let own = format!("{app}.fly.dev");
    let Some(host) = call.param("host") else {
        return Err(BuiltinError::RouteNoHost { uid, own });
    };
    let host = host.trim_end_matches('.').to_ascii_lowercase();
    if host != own {
        return Err(match host.strip_suffix(".fly.dev").and_then(|a| a.strip_prefix(&call.env.app_prefix)) {
            Some(other) if call.env.ports.contains_key(other) => {
                let other = other.to_owned();
                BuiltinError::RouteOtherWorkload { uid, workload, host, other, own }
            }
            Some(_) | None if host.ends_with(".fly.dev") => BuiltinError::RouteNotOwnHost { uid, host, workload, own },
            _ => BuiltinError::RouteCustomDomain { uid, host, app, own },
        });
    }
    let Some(port) = port_param(call, "port")? else {
        return Err(BuiltinError::RouteNoPort { uid });
    };
    if let Some(ports) = call.env.ports.get(&workload)
        && !ports.values().any(|p| *p == port)
    {
        return Err(BuiltinError::RouteNotServicePort { uid, port, workload, ports: ports.clone() });
    }
    let path = call.param("path").unwrap_or_else(|| "/".to_owned());
    if !path.starts_with('/') {
        return Err(BuiltinError::RoutePath { uid, path });
    }
    if path != "/" {
        call.say(&format!(
            "Fly sends every path of {host} to {app}; the app itself must serve {path} (path routing is not done by Fly)"
        ));
    }
    Ok(values(serde_json::json!({ "host": host, "port": port, "path": path })))
}

/// `service-port` provision.
pub(super) fn provision_service_port(call: &Call<'_>) -> Result<Response, BuiltinError> {
    let uid = || call.request.resource_uid.clone();
    let known = || call.env.ports.keys().cloned().collect::<Vec<_>>();
    let target = call.param("workload").ok_or_else(|| BuiltinError::NoTargetWorkload { uid: uid(), known: known() })?;
    let Some(ports) = call.env.ports.get(&target) else {
        return Err(BuiltinError::NotAWorkload { uid: uid(), target, known: known() });
    };
    let Some(wanted) = call.param("port") else {
        return Err(BuiltinError::NoTargetPort { uid: uid(), target, ports: ports.clone() });
    };
    let port = ports.get(&wanted).copied().or_else(|| {
        let number: u16 = wanted.parse().ok()?;
        ports.values().any(|p| *p == number).then_some(number)
    });
    let Some(port) = port else {
        return Err(BuiltinError::NotAServicePort { uid: uid(), wanted, target, ports: ports.clone() });
    };
    let app = call.env.app(&target);
    let api = call.api()?;
    call.ensure_app(&api, &app)?;
    let _one_at_a_time = super::creating();
    let listed = call.fly_showing(&["ips", "list", "-a", &app, "-j"], &|_| false)?;
    if has_private_v6(&listed.stdout) {
        call.say(&format!("{app} has a private IPv6 address (Flycast)"));
    } else {
        call.say(&format!("allocating a private IPv6 address (Flycast) to {app}"));
        call.fly(&["ips", "allocate-v6", "--private", "-a", &app])?;
    }
    Ok(values(serde_json::json!({ "hostname": format!("{app}.flycast"), "port": port })))
}

/// A `port`-like param as a port number.
fn port_param(call: &Call<'_>, key: &'static str) -> Result<Option<u16>, BuiltinError> {
    let Some(text) = call.param(key) else { return Ok(None) };
    match text.parse::<u16>() {
        Ok(p) if p > 0 => Ok(Some(p)),
        _ => Err(BuiltinError::NotPort { uid: call.request.resource_uid.clone(), param: key, text }),
    }
}

/// Whether `fly ips list -j` output holds a private IPv6 address (`type`, or `Type` as
/// flyctl's untagged Go struct renders it, is `private_v6`).
pub fn has_private_v6(stdout: &str) -> bool {
    let Ok(serde_json::Value::Array(items)) = serde_json::from_str::<serde_json::Value>(stdout) else {
        return false;
    };
    items.iter().any(|i| {
        i.get("type")
            .or_else(|| i.get("Type"))
            .and_then(|t| t.as_str())
            .is_some_and(|t| t.eq_ignore_ascii_case("private_v6"))
    })
}

fn values(values: serde_json::Value) -> Response {
    let serde_json::Value::Object(values) = values else { unreachable!("called with JSON objects") };
    Response { values, ..Response::default() }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn private_addresses_are_recognised() {
        assert!(has_private_v6(r#"[{"ip":"fdaa::3","type":"private_v6"}]"#));
        assert!(has_private_v6(r#"[{"Address":"fdaa::3","Type":"private_v6"}]"#));
        assert!(!has_private_v6(r#"[{"ip":"66.241.124.1","type":"shared_v4"}]"#));
        assert!(!has_private_v6("[]"));
        assert!(!has_private_v6("VERSION IP TYPE"));
    }
}
