//! Helpers for tests of the engine and of what plugs into it (the builtins).

use std::collections::BTreeMap;

use super::definition::{Located, ProvisionerDef, StaticDef};
use crate::spec::{self, Workload};

pub(crate) fn static_def(id: &str, ty: &str, values: &serde_json::Value, secrets: &serde_json::Value) -> Located {
    Located {
        def: ProvisionerDef {
            id: id.into(),
            resource_type: ty.into(),
            class: None,
            resource_id: None,
            cmd: None,
            http: None,
            static_: Some(StaticDef {
                values: values.as_object().unwrap().clone(),
                secrets: secrets.as_object().unwrap().clone(),
            }),
            builtin: None,
        },
        file: "test.provisioners.yaml".into(),
    }
}

pub(crate) fn workloads(docs: &[&str]) -> BTreeMap<String, Workload> {
    docs.iter()
        .map(|d| {
            let w = spec::load_str("score.yaml", d).unwrap().workload;
            (w.name().to_owned(), w)
        })
        .collect()
}

pub(crate) fn doc(name: &str, resources: &str) -> String {
    format!(
        "apiVersion: score.dev/v1b1\nmetadata:\n  name: {name}\ncontainers:\n  main:\n    image: nginx\nresources:\n{resources}"
    )
}

/// A `builtin: <name>` provisioner `id` for resources of type `ty`.
pub(crate) fn builtin_def(id: &str, ty: &str, name: &str) -> Located {
    let mut located = static_def(id, ty, &serde_json::json!({}), &serde_json::json!({}));
    located.def.static_ = None;
    located.def.builtin = Some(name.into());
    located
}
