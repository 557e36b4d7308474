//! `fly deploy` reading `machine_config` as flyctl does (fly-2026.md §2.1, §2.2, §2.3:
//! `config.ParseConfig`, `containerconfig.ParseContainerConfig`), with flyctl's messages.
//! The strict checks of the JSON itself are the fly.toml checker's (`flytoml`), which
//! every fake deploy runs first.

use std::path::Path;

use base64::Engine as _;
use serde_json::Value;

/// The machine config flyctl would send, with the image container's `image` set to the
/// deployed `image`; `None` without a `machine_config`. `workdir` is flyctl's working
/// directory, against which a `.json` path and `local_path` files are opened.
pub(super) fn resolve(root: &toml::Table, workdir: &Path, image: &str) -> Result<Option<Value>, String> {
    // §2.1: `[experimental] machine_config` wins over the top-level one.
    let experimental = root.get("experimental").and_then(toml::Value::as_table).and_then(|e| e.get("machine_config"));
    let Some(source) = experimental.or_else(|| root.get("machine_config")).and_then(toml::Value::as_str) else {
        return Ok(None);
    };
    let text = if source.starts_with('{') {
        source.to_owned()
    } else if Path::new(source).extension().is_some_and(|e| e == "json") {
        let path = workdir.join(source);
        std::fs::read_to_string(&path).map_err(|e| format!("open {source}: {e}"))?
    } else {
        return Err(format!("invalid machine config source: {source:?}"));
    };
    let mut config: Value =
        serde_json::from_str(&text).map_err(|e| format!("invalid machine config {source:?}: {e}"))?;
    let Some(containers) = config.get_mut("containers").and_then(Value::as_array_mut) else {
        return Ok(Some(config));
    };
    // §2.2: top-level `container`, else `app`, else the first.
    let name_of = |c: &Value| c.get("name").and_then(Value::as_str).unwrap_or_default().to_owned();
    let names: Vec<String> = containers.iter().map(name_of).collect();
    let selected = match root.get("container").and_then(toml::Value::as_str) {
        Some(wanted) => names.iter().position(|n| n == wanted).ok_or(format!("container {wanted:?} not found"))?,
        None => names.iter().position(|n| n == "app").unwrap_or(0),
    };
    for (i, container) in containers.iter_mut().enumerate() {
        if i == selected {
            container["image"] = Value::String(image.to_owned());
        } else if container.get("image").and_then(Value::as_str).is_none_or(str::is_empty) {
            return Err(format!("container {:?} must have an image specified", names[i]));
        }
        // §2.3: `local_path` is read (from the working directory) into base64 `raw_value`.
        for file in container.get_mut("files").and_then(Value::as_array_mut).into_iter().flatten() {
            if let Some(local) = file.as_object_mut().and_then(|f| f.remove("local_path")) {
                let local = local.as_str().unwrap_or_default().to_owned();
                let bytes = std::fs::read(workdir.join(&local)).map_err(|e| format!("open {local}: {e}"))?;
                file["raw_value"] = Value::String(base64::engine::general_purpose::STANDARD.encode(bytes));
            }
        }
    }
    Ok(Some(config))
}
