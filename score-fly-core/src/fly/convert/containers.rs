//! Several Score containers → one Fly Machine: the top-level `container` key and the inline
//! `machine_config` JSON (fly-2026.md §2), and the rule for which container receives the
//! built or `--image` image.

use std::collections::BTreeSet;

use base64::Engine as _;

use super::{Converter, file_secret_name, path_of};
use crate::fly::annotations::parse_duration;
use crate::fly::config::FlyConfig;
use crate::fly::machine::{
    ContainerConfig, ContainerFile, ContainerRestart, DependsOn, ExecHealthcheck, Healthcheck, HttpHeader,
    HttpHealthcheck, MachineConfig,
};
use crate::spec::node::FieldPath;
use crate::spec::{Container, FileContent, Readiness};

/// Check timings when no annotation sets them, in seconds (the fly.toml defaults).
const DEFAULT_INTERVAL_SECS: u64 = 15;
const DEFAULT_TIMEOUT_SECS: u64 = 10;
const DEFAULT_GRACE_SECS: u64 = 10;

fn base64(bytes: &[u8]) -> String {
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

/// A Go duration rounded up to whole seconds (container healthchecks count in seconds).
fn seconds(text: Option<&str>, default: u64) -> u64 {
    text.and_then(|t| parse_duration(t).ok())
        .map_or(default, |d| d.as_secs().saturating_add(u64::from(d.subsec_nanos() > 0)))
}

fn has_probe(container: &Container) -> bool {
    container.liveness_probe.is_some() || container.readiness_probe.is_some()
}

impl Converter<'_> {
    /// The container that receives the built or `--image` image: the one the annotation
    /// `score-fly/image-container` names; else the only container; else the one whose image
    /// is `.`; else the one with a probe on a port the service targets; else a problem
    /// asking for the annotation.
    pub(super) fn image_container(&mut self) -> Option<String> {
        let containers = &self.workload.containers;
        let names = || containers.keys().map(String::as_str).collect::<Vec<_>>().join(", ");
        if let Some(name) = self.annotations.image_container.clone() {
            if containers.contains_key(&name) {
                return Some(name);
            }
            self.problem(
                &self.annotations.path("image-container"),
                format!("`{name}` is not a container of this workload (its containers: {})", names()),
            );
            return None;
        }
        if containers.len() <= 1 {
            return containers.keys().next().cloned();
        }
        let dots: Vec<&String> = containers.iter().filter(|(_, c)| c.image == ".").map(|(n, _)| n).collect();
        match dots.as_slice() {
            [one] => return Some((*one).clone()),
            [] => {}
            several => {
                let list = several.iter().map(|n| format!("`{n}`")).collect::<Vec<_>>().join(", ");
                self.problem(
                    &FieldPath::root().key("containers"),
                    format!(
                        "containers {list} all have image `.`, but a Fly Machine gives the built image to one container only; give the others an image reference"
                    ),
                );
                return None;
            }
        }
        let targets: BTreeSet<u16> =
            self.workload.service.iter().flat_map(|s| s.ports.values().map(crate::spec::ServicePort::target)).collect();
        let listening: Vec<&String> = containers
            .iter()
            .filter(|(_, c)| {
                [&c.liveness_probe, &c.readiness_probe]
                    .into_iter()
                    .flatten()
                    .filter_map(|p| p.http_get.as_ref())
                    .any(|h| targets.contains(&h.port))
            })
            .map(|(n, _)| n)
            .collect();
        if let [one] = listening.as_slice() {
            return Some((*one).clone());
        }
        self.problem(
            &FieldPath::root().key("containers"),
            format!(
                "this workload has {} containers ({}) and none has image `.`, nor is exactly one probed on a port the service targets, so score-fly cannot tell which container receives the deployed image: set the annotation `score-fly/image-container` to its name",
                containers.len(),
                names()
            ),
        );
        None
    }

    /// Sets `container` and `machine_config` of `config`: one entry per container.
    pub(super) fn machine(&mut self, primary: &str, config: &mut FlyConfig) {
        let workload = self.workload;
        let mut machine = MachineConfig::default();
        for (name, container) in &workload.containers {
            let base = path_of(&["containers", name]);
            let is_primary = name == primary;
            if container.command.is_some() || container.args.is_some() {
                self.check_arguments(container, &base);
            }
            let place = format!("the env of container `{name}` in machine_config of fly.toml");
            let env = self.variables(name, container, &base, &place);
            let files = self.container_files(name, container, &base);
            let depends_on = self.depends_on(container, &base);
            let healthchecks = self.healthchecks(container, &base);
            self.container_checks |= !healthchecks.is_empty();
            if !is_primary {
                // fly.toml's [[mounts]] go to the machine; which container of a
                // machine_config gets a Fly Volume is unconfirmed (fly-2026.md §2.3).
                for (target, volume) in &container.volumes {
                    self.problem(
                        &base.key("volumes").key(target),
                        format!(
                            "container `{name}` mounts volume `{}` at `{target}`, but score-fly mounts a Fly volume only into the container that receives the deployed image (`{primary}`); mount it there, or set `score-fly/image-container: {name}`",
                            volume.source
                        ),
                    );
                }
            }
            let image = if is_primary {
                None
            } else if container.image == "." {
                self.problem(
                    &base.key("image"),
                    format!(
                        "container `{name}` has image `.`, but the built image goes to container `{primary}`; give `{name}` an image reference"
                    ),
                );
                None
            } else if container.image.chars().any(|c| c.is_whitespace() || c.is_control()) {
                self.problem(
                    &base.key("image"),
                    format!(
                        "image `{}` is not an image reference (it contains whitespace)",
                        container.image.escape_debug()
                    ),
                );
                None
            } else {
                Some(container.image.clone())
            };
            // A container others wait on to complete runs once: an exit 0 is final.
            let one_shot = workload
                .containers
                .values()
                .any(|c| c.before.get(name).is_some_and(|b| b.ready == Readiness::Complete));
            machine.containers.push(ContainerConfig {
                name: name.clone(),
                image,
                entrypoint: container.command.clone(),
                cmd: container.args.clone(),
                env,
                files,
                depends_on,
                healthchecks,
                restart: one_shot.then(|| ContainerRestart { policy: "on-failure".to_owned() }),
            });
        }
        config.container = Some(primary.to_owned());
        config.machine_config = Some(machine.to_json());
    }

    /// Score `before` → `depends_on` (`complete` → `exited_successfully`).
    fn depends_on(&mut self, container: &Container, base: &FieldPath) -> Vec<DependsOn> {
        let mut out = Vec::new();
        for (other, before) in &container.before {
            let condition = match before.ready {
                Readiness::Started => "started",
                Readiness::Healthy => "healthy",
                Readiness::Complete => "exited_successfully",
            };
            if before.ready == Readiness::Healthy && !self.workload.containers.get(other).is_some_and(has_probe) {
                self.problem(
                    &base.key("before").key(other).key("ready"),
                    format!(
                        "`healthy` waits for the healthchecks of container `{other}`, which has none: give it a livenessProbe or readinessProbe, or wait for `started`"
                    ),
                );
            }
            out.push(DependsOn { name: other.clone(), condition: condition.to_owned() });
        }
        out
    }

    /// Probes → healthchecks, timed by the check annotations in whole seconds.
    fn healthchecks(&mut self, container: &Container, base: &FieldPath) -> Vec<Healthcheck> {
        let interval = seconds(self.annotations.check_interval.as_deref(), DEFAULT_INTERVAL_SECS).max(1);
        let timeout = seconds(self.annotations.check_timeout.as_deref(), DEFAULT_TIMEOUT_SECS).max(1);
        let grace_period = seconds(self.annotations.check_grace_period.as_deref(), DEFAULT_GRACE_SECS);
        let check = |name: String, kind: &str| Healthcheck {
            name,
            kind: kind.to_owned(),
            interval,
            timeout,
            grace_period,
            http: None,
            exec: None,
        };
        let mut out = Vec::new();
        for (field, kind, probe) in [
            ("livenessProbe", "liveness", &container.liveness_probe),
            ("readinessProbe", "readiness", &container.readiness_probe),
        ] {
            let Some(probe) = probe else { continue };
            let path = base.key(field);
            if let Some(http) = &probe.http_get
                && let Some(request) = self.http_probe(http, &path.key("httpGet"))
            {
                let https = request.protocol == "https";
                out.push(Healthcheck {
                    http: Some(HttpHealthcheck {
                        port: http.port,
                        method: "GET".to_owned(),
                        path: request.path,
                        scheme: request.protocol,
                        headers: request
                            .headers
                            .into_iter()
                            .map(|(name, value)| HttpHeader { name, values: vec![value] })
                            .collect(),
                        tls_skip_verify: https.then_some(true),
                        tls_server_name: request.tls_server_name,
                    }),
                    ..check(kind.to_owned(), kind)
                });
            }
            if let Some(exec) = &probe.exec {
                let command = path.key("exec").key("command");
                if exec.command.is_empty() {
                    self.problem(&command, "an exec probe needs a command");
                    continue;
                }
                if exec.command.iter().any(|a| a.contains('\0')) {
                    self.problem(&command, "the command holds a NUL character, which no program argument can carry");
                    continue;
                }
                let name = if probe.http_get.is_some() { format!("{kind}-exec") } else { kind.to_owned() };
                out.push(Healthcheck {
                    exec: Some(ExecHealthcheck { command: exec.command.clone() }),
                    ..check(name, kind)
                });
            }
        }
        out
    }

    /// Score files → the container's `files`, content as base64 `raw_value` (or an app
    /// secret holding base64 when it read a secret output), `mode` as an integer.
    fn container_files(&mut self, name: &str, container: &Container, base: &FieldPath) -> Vec<ContainerFile> {
        let mut out = Vec::new();
        for (target, file) in &container.files {
            let path = base.key("files").key(target);
            if !target.starts_with('/') || target.contains('\0') {
                self.problem(
                    &path,
                    format!("file target `{}` must be an absolute path without NUL characters", target.escape_debug()),
                );
                continue;
            }
            // The schema allows `^0?[0-7]{3}$` only.
            let mode = file.mode.as_deref().and_then(|m| u32::from_str_radix(m, 8).ok());
            let what = format!("file `{target}` of container `{name}` is written to machine_config of fly.toml");
            let (text, site) = match file.content() {
                FileContent::Inline(text) => (text.to_owned(), path.key("content")),
                FileContent::Binary(encoded) => {
                    match base64::engine::general_purpose::STANDARD.decode(encoded) {
                        Ok(bytes) if self.spend(bytes.len(), &path.key("binaryContent")) => {
                            out.push(ContainerFile {
                                guest_path: target.clone(),
                                raw_value: Some(base64(&bytes)),
                                mode,
                                ..ContainerFile::default()
                            });
                        }
                        Ok(_) => {}
                        Err(e) => self.problem(
                            &path.key("binaryContent"),
                            format!("binaryContent of `{target}` is not valid standard base64: {e}"),
                        ),
                    }
                    continue;
                }
                FileContent::Source(source) => {
                    let bytes = match crate::fly::read_source(
                        self.files,
                        &self.options.sources,
                        &self.options.score_dir,
                        source,
                    ) {
                        Ok(bytes) => bytes,
                        Err(e) => {
                            self.problem(
                                &path.key("source"),
                                format!("cannot read source file {} for `{target}`: {}", e.path.display(), e.reason),
                            );
                            continue;
                        }
                    };
                    let source_site = path.key("source");
                    if self.sites.contains(&source_site)
                        && let Ok(text) = std::str::from_utf8(&bytes)
                    {
                        (text.to_owned(), source_site)
                    } else {
                        // Not expanded, or not text: byte-exact.
                        if self.spend(bytes.len(), &source_site) {
                            out.push(ContainerFile {
                                guest_path: target.clone(),
                                raw_value: Some(base64(&bytes)),
                                mode,
                                ..ContainerFile::default()
                            });
                        }
                        continue;
                    }
                }
            };
            let Some(expanded) = self.resolve(&text, &site) else { continue };
            if expanded.secret {
                let secret = file_secret_name(target);
                self.add_file_secret(secret.clone(), base64(expanded.value.as_bytes()), target, &path);
                out.push(ContainerFile {
                    guest_path: target.clone(),
                    secret_name: Some(secret),
                    mode,
                    ..ContainerFile::default()
                });
            } else {
                if self.sites.contains(&site) {
                    self.warn_plain_secrets(&text, &site, &what);
                }
                out.push(ContainerFile {
                    guest_path: target.clone(),
                    raw_value: Some(base64(expanded.value.as_bytes())),
                    mode,
                    ..ContainerFile::default()
                });
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::super::convert;
    use crate::fly::{ConvertOptions, NoFiles};

    const HEAD: &str = "apiVersion: score.dev/v1b1\nmetadata:\n  name: web\n";

    fn load(doc: &str) -> crate::spec::Workload {
        crate::spec::load_str("score.yaml", doc).expect("a valid Score file").workload
    }

    /// The converted fly.toml as a table and its `machine_config` as JSON.
    fn converted(doc: &str, options: &ConvertOptions) -> (crate::fly::Conversion, toml::Table, serde_json::Value) {
        let c = convert(&load(doc), options, &NoFiles).expect("converts");
        let table: toml::Table = c.to_toml().parse().expect("fly.toml parses");
        let json = table.get("machine_config").and_then(|v| v.as_str()).expect("machine_config").to_owned();
        assert!(json.starts_with('{'), "flyctl reads inline JSON only when `{{` comes first: {json}");
        (c, table, serde_json::from_str(&json).expect("machine_config is JSON"))
    }

    fn container<'j>(json: &'j serde_json::Value, name: &str) -> &'j serde_json::Value {
        json["containers"].as_array().unwrap().iter().find(|c| c["name"] == name).expect(name)
    }

    fn problems(doc: &str) -> Vec<String> {
        match convert(&load(doc), &ConvertOptions::new("demo-"), &NoFiles) {
            Ok(_) => Vec::new(),
            Err(e) => e.problems.iter().map(|p| format!("{}: {}", p.path, p.message)).collect(),
        }
    }

    fn built() -> ConvertOptions {
        let mut options = ConvertOptions::new("demo-");
        options.built = Some(crate::fly::Built::Image("registry.fly.io/demo-web:1".into()));
        options
    }

    #[test]
    fn each_container_field_lands_in_its_container() {
        let doc = format!(
            "{HEAD}containers:\n  app:\n    image: .\n    command: [/bin/app]\n    args: [serve, --port, '8080']\n    variables: {{MODE: prod}}\n    readinessProbe:\n      httpGet: {{port: 8080, path: /ready, httpHeaders: [{{name: X-A, value: '1'}}]}}\n  proxy:\n    image: nginx:1.27\n    files:\n      /etc/nginx/conf.d/default.conf:\n        content: \"listen 8081;\"\n        mode: '0600'\n    livenessProbe:\n      exec: {{command: [pgrep, nginx]}}\n    before:\n      app: {{ready: healthy}}\n"
        );
        let (c, table, json) = converted(&doc, &built());
        assert_eq!(table["container"].as_str(), Some("app"), "top-level container key");
        assert!(table.get("experimental").is_none() && table.get("env").is_none() && table.get("files").is_none());
        assert_eq!(table["build"]["image"].as_str(), Some("registry.fly.io/demo-web:1"));
        let app = container(&json, "app");
        assert!(app.get("image").is_none(), "flyctl fills the image container's image: {app}");
        assert_eq!(app["entrypoint"], serde_json::json!(["/bin/app"]));
        assert_eq!(app["cmd"], serde_json::json!(["serve", "--port", "8080"]));
        assert_eq!(app["env"], serde_json::json!({"MODE": "prod"}));
        assert_eq!(
            app["healthchecks"],
            serde_json::json!([{"name": "readiness", "kind": "readiness", "interval": 15, "timeout": 10, "grace_period": 10,
                "http": {"port": 8080, "method": "GET", "path": "/ready", "scheme": "http", "headers": [{"name": "X-A", "values": ["1"]}]}}])
        );
        let proxy = container(&json, "proxy");
        assert_eq!(proxy["image"], "nginx:1.27");
        assert_eq!(
            proxy["files"],
            serde_json::json!([{"guest_path": "/etc/nginx/conf.d/default.conf", "raw_value": "bGlzdGVuIDgwODE7", "mode": 384}]),
            "raw_value is base64 in machine_config"
        );
        assert_eq!(proxy["depends_on"], serde_json::json!([{"name": "app", "condition": "healthy"}]));
        assert_eq!(proxy["healthchecks"][0]["exec"], serde_json::json!({"command": ["pgrep", "nginx"]}));
        assert!(c.warnings.is_empty(), "{:?}", c.warnings);
    }

    #[test]
    fn before_maps_to_depends_on_and_one_shot_containers_are_not_restarted() {
        let doc = format!(
            "{HEAD}containers:\n  web:\n    image: .\n    before:\n      init: {{ready: complete}}\n      cache: {{ready: started}}\n  cache:\n    image: redis:7\n  init:\n    image: busybox\n    args: [migrate]\n"
        );
        let (_, _, json) = converted(&doc, &built());
        assert_eq!(
            container(&json, "web")["depends_on"],
            serde_json::json!([{"name": "cache", "condition": "started"}, {"name": "init", "condition": "exited_successfully"}])
        );
        assert_eq!(container(&json, "init")["restart"], serde_json::json!({"policy": "on-failure"}));
        assert!(container(&json, "cache").get("restart").is_none());
        let healthy = format!(
            "{HEAD}containers:\n  web:\n    image: .\n    before:\n      db: {{ready: healthy}}\n  db:\n    image: postgres\n"
        );
        let problems = problems(
            &healthy
                .replace("name: web\n", "name: web\n  annotations:\n    score-fly/image-container: web\n")
                .replace("image: .", "image: busybox"),
        );
        assert_eq!(problems.len(), 1, "{problems:?}");
        assert!(
            problems[0].starts_with(
                "containers.web.before.db.ready: `healthy` waits for the healthchecks of container `db`, which has none"
            ),
            "{problems:?}"
        );
    }

    #[test]
    fn the_image_container_rule() {
        // 1. the container whose image is `.`
        let dot = format!("{HEAD}containers:\n  aa:\n    image: busybox\n  zz:\n    image: .\n");
        assert_eq!(converted(&dot, &built()).1["container"].as_str(), Some("zz"));
        // 2. else the one probed on a port the service targets
        let port = format!(
            "{HEAD}service:\n  ports:\n    www: {{port: 80, targetPort: 8080}}\ncontainers:\n  aa:\n    image: busybox\n    livenessProbe: {{httpGet: {{port: 9000, path: /}}}}\n  zz:\n    image: nginx\n    readinessProbe: {{httpGet: {{port: 8080, path: /}}}}\n"
        );
        let (_, table, json) = converted(&port, &ConvertOptions::new("demo-"));
        assert_eq!(table["container"].as_str(), Some("zz"));
        assert_eq!(table["build"]["image"].as_str(), Some("nginx"), "the image container's image is the deployed one");
        assert_eq!(container(&json, "aa")["image"], "busybox");
        // 3. else the annotation, which also wins over the rules above
        let named = dot.replace("name: web\n", "name: web\n  annotations:\n    score-fly/image-container: aa\n");
        let (_, table, json) = converted(&named.replace("image: .", "image: alpine"), &built());
        assert_eq!(table["container"].as_str(), Some("aa"));
        assert_eq!(container(&json, "zz")["image"], "alpine");
        // otherwise an error asking for the annotation
        let neither = format!("{HEAD}containers:\n  aa:\n    image: busybox\n  zz:\n    image: nginx\n");
        let p = problems(&neither);
        assert_eq!(p.len(), 1, "{p:?}");
        assert!(p[0].starts_with("containers: this workload has 2 containers (aa, zz)"), "{p:?}");
        assert!(p[0].contains("set the annotation `score-fly/image-container`"), "{p:?}");
        // an annotation naming no container, and two `.` images
        let wrong = neither.replace("name: web\n", "name: web\n  annotations:\n    score-fly/image-container: nope\n");
        let p = problems(&wrong);
        assert!(
            p.len() == 1 && p[0].contains("`nope` is not a container of this workload (its containers: aa, zz)"),
            "{p:?}"
        );
        let two = format!("{HEAD}containers:\n  aa:\n    image: .\n  zz:\n    image: .\n");
        let p = problems(&two);
        assert!(p[0].starts_with("containers: containers `aa`, `zz` all have image `.`"), "{p:?}");
    }

    #[test]
    fn resources_are_summed_into_one_vm() {
        let doc = format!(
            "{HEAD}containers:\n  app:\n    image: .\n    resources: {{limits: {{cpu: '1', memory: 512Mi}}}}\n  side:\n    image: nginx\n    resources: {{requests: {{memory: 512Mi}}, limits: {{cpu: 500m}}}}\n"
        );
        let (_, table, _) = converted(&doc, &built());
        let vm = &table["vm"][0];
        assert_eq!(vm["memory"].as_str(), Some("1024mb"), "{vm}");
        assert_eq!(vm["size"].as_str(), Some("shared-cpu-2x"), "1.5 CPUs need two: {vm}");
    }

    #[test]
    fn binary_and_secret_files_are_base64() {
        let doc = format!(
            "{HEAD}containers:\n  app:\n    image: .\n  side:\n    image: nginx\n    files:\n      /bin.dat: {{binaryContent: AAEC}}\n      /etc/pw: {{content: 'pw=${{resources.db.password}}'}}\nresources:\n  db:\n    type: postgres\n"
        );
        let mut options = built();
        options.resources.insert(
            "db".into(),
            crate::placeholder::ResourceOutputs {
                uid: "postgres.default#web.db".into(),
                values: serde_json::Map::new(),
                secrets: serde_json::json!({"password": "s3cr3t"}).as_object().cloned().unwrap(),
            },
        );
        let (c, table, json) = converted(&doc, &options);
        assert_eq!(
            container(&json, "side")["files"],
            serde_json::json!([{"guest_path": "/bin.dat", "raw_value": "AAEC"}, {"guest_path": "/etc/pw", "secret_name": "SCORE_FILE_ETC_PW"}])
        );
        assert_eq!(c.secrets["SCORE_FILE_ETC_PW"].expose(), "cHc9czNjcjN0", "base64 of pw=s3cr3t");
        assert!(!table.to_string().contains("s3cr3t"));
    }

    #[test]
    fn one_secret_name_with_different_values_in_two_containers_is_warned_about() {
        let doc = format!(
            "{HEAD}containers:\n  app:\n    image: .\n    variables: {{PASSWORD: '${{resources.aa.password}}'}}\n  side:\n    image: nginx\n    variables: {{PASSWORD: '${{resources.bb.password}}'}}\n  same:\n    image: nginx\n    variables: {{PASSWORD: '${{resources.aa.password}}'}}\nresources:\n  aa:\n    type: postgres\n  bb:\n    type: postgres\n"
        );
        let mut options = built();
        for (name, value) in [("aa", "one"), ("bb", "two")] {
            options.resources.insert(
                name.into(),
                crate::placeholder::ResourceOutputs {
                    uid: format!("postgres.default#web.{name}"),
                    values: serde_json::Map::new(),
                    secrets: serde_json::json!({"password": value}).as_object().cloned().unwrap(),
                },
            );
        }
        let (c, _, _) = converted(&doc, &options);
        let warnings: Vec<String> = c.warnings.iter().map(ToString::to_string).collect();
        assert_eq!(warnings.len(), 1, "{warnings:?}");
        assert!(
            warnings[0].starts_with("containers.side.variables.PASSWORD: containers `app` and `side` both set `PASSWORD` from a secret output, with different values"),
            "{warnings:?}"
        );
        assert!(!warnings[0].contains("one") || !warnings[0].contains("two"));
        assert_eq!(c.secrets["PASSWORD"].expose(), "one");
    }

    #[test]
    fn volumes_of_other_containers_are_explained() {
        let doc = format!(
            "{HEAD}containers:\n  app:\n    image: .\n  side:\n    image: nginx\n    volumes:\n      /data: {{source: data_vol}}\n"
        );
        let p = problems(
            &doc.replace("image: .", "image: busybox\n    readinessProbe: {httpGet: {port: 80, path: /}}")
                .replace("containers:", "service:\n  ports:\n    www: {port: 80}\ncontainers:"),
        );
        assert_eq!(p.len(), 1, "{p:?}");
        assert!(
            p[0].starts_with("containers.side.volumes[\"/data\"]: container `side` mounts volume `data_vol` at `/data`, but score-fly mounts a Fly volume only into the container that receives the deployed image (`app`)"),
            "{p:?}"
        );
    }
}
