//! Checks beyond the schema: placeholders name known roots, declared resources and existing
//! metadata keys; `before` names other containers of the workload and has no cycles.

use super::Diagnostic;
use super::node::{FieldPath, Node, Value};
use crate::placeholder;

/// Runs the semantic checks on a validated, normalised document.
pub(super) fn check(root: &Node, warnings: &mut Vec<Diagnostic>) -> Vec<Diagnostic> {
    let mut errors = Vec::new();
    let metadata = root.get("metadata").map_or(serde_json::Value::Null, Node::to_json);
    let resource_names: Vec<&str> = root
        .get("resources")
        .and_then(Node::as_map)
        .map(|e| e.iter().map(|(k, _)| k.name.as_str()).collect())
        .unwrap_or_default();
    let mut check_text = |node: &Node, path: &FieldPath| {
        let Some(text) = node.as_str() else { return };
        match placeholder::check(text, &metadata, &resource_names) {
            Ok(false) => {}
            Ok(true) => warnings.push(Diagnostic {
                path: path.to_string(),
                location: node.location,
                message: "`${` without a closing `}` is kept as literal text; write `$${` to make that explicit"
                    .to_owned(),
            }),
            Err(e) => {
                errors.push(Diagnostic { path: path.to_string(), location: node.location, message: e.to_string() });
            }
        }
    };

    let containers = root.get("containers").and_then(Node::as_map).unwrap_or_default();
    for (name, container) in containers {
        let base = FieldPath::root().key("containers").key(&name.name);
        if let Some(vars) = container.get("variables").and_then(Node::as_map) {
            for (key, value) in vars {
                check_text(value, &base.key("variables").key(&key.name));
            }
        }
        if let Some(files) = container.get("files").and_then(Node::as_map) {
            for (key, file) in files {
                let expands = !matches!(file.get("noExpand").map(|n| &n.value), Some(Value::Bool(true)));
                if let (Some(content), true) = (file.get("content"), expands) {
                    check_text(content, &base.key("files").key(&key.name).key("content"));
                }
            }
        }
        if let Some(volumes) = container.get("volumes").and_then(Node::as_map) {
            for (key, volume) in volumes {
                if let Some(source) = volume.get("source") {
                    check_text(source, &base.key("volumes").key(&key.name).key("source"));
                }
            }
        }
    }
    if let Some(resources) = root.get("resources").and_then(Node::as_map) {
        for (key, resource) in resources {
            if let Some(params) = resource.get("params") {
                walk_strings(params, &FieldPath::root().key("resources").key(&key.name).key("params"), &mut check_text);
            }
        }
    }

    check_before(containers, &mut errors);
    errors
}

fn walk_strings(node: &Node, path: &FieldPath, f: &mut impl FnMut(&Node, &FieldPath)) {
    match &node.value {
        Value::Str(_) => f(node, path),
        Value::Seq(items) => items.iter().enumerate().for_each(|(i, n)| walk_strings(n, &path.index(i), f)),
        Value::Map(entries) => entries.iter().for_each(|(k, n)| walk_strings(n, &path.key(&k.name), f)),
        _ => {}
    }
}

fn check_before(containers: &[(super::node::Key, Node)], errors: &mut Vec<Diagnostic>) {
    let names: Vec<&str> = containers.iter().map(|(k, _)| k.name.as_str()).collect();
    let mut edges: Vec<(usize, usize)> = Vec::new();
    for (i, (name, container)) in containers.iter().enumerate() {
        let Some(before) = container.get("before").and_then(Node::as_map) else { continue };
        for (other, _) in before {
            let path = FieldPath::root().key("containers").key(&name.name).key("before").key(&other.name);
            match names.iter().position(|n| *n == other.name) {
                Some(j) if j == i => errors.push(Diagnostic {
                    path: path.to_string(),
                    location: other.location,
                    message: format!("container `{}` cannot wait for itself", name.name),
                }),
                Some(j) => edges.push((i, j)),
                None => errors.push(Diagnostic {
                    path: path.to_string(),
                    location: other.location,
                    message: format!("`before` names `{}`, which is not a container of this workload", other.name),
                }),
            }
        }
    }
    // Cycle detection (depth-first, three colours).
    let mut colour = vec![0u8; names.len()];
    fn visit(n: usize, edges: &[(usize, usize)], colour: &mut [u8], stack: &mut Vec<usize>) -> Option<Vec<usize>> {
        colour[n] = 1;
        stack.push(n);
        for &(_, to) in edges.iter().filter(|(from, _)| *from == n) {
            if colour[to] == 1 {
                let start = stack.iter().position(|&s| s == to).unwrap_or(0);
                return Some(stack[start..].to_vec());
            }
            if colour[to] == 0
                && let Some(cycle) = visit(to, edges, colour, stack)
            {
                return Some(cycle);
            }
        }
        stack.pop();
        colour[n] = 2;
        None
    }
    for start in 0..names.len() {
        if colour[start] == 0
            && let Some(cycle) = visit(start, &edges, &mut colour, &mut Vec::new())
        {
            let (key, _) = &containers[cycle[0]];
            let mut chain: Vec<&str> = cycle.iter().map(|&i| names[i]).collect();
            chain.push(names[cycle[0]]);
            errors.push(Diagnostic {
                path: FieldPath::root().key("containers").key(&key.name).key("before").to_string(),
                location: key.location,
                message: format!("`before` forms a cycle: {}", chain.join(" → ")),
            });
            return;
        }
    }
}
