//! Checks beyond the schema: placeholders name known roots, declared resources and existing
//! metadata keys; `before` names other containers of the workload and has no cycles.

use std::collections::{BTreeSet, HashMap};

use super::Diagnostic;
use super::node::{FieldPath, Node};
use super::sites::{self, SiteKind};
use crate::placeholder;

/// Runs the semantic checks on a validated, normalised document.
pub(super) fn check(root: &Node, warnings: &mut Vec<Diagnostic>) -> Vec<Diagnostic> {
    let mut errors = Vec::new();
    let metadata = root.get("metadata").map_or(serde_json::Value::Null, Node::to_json);
    let resource_names: BTreeSet<&str> = root
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

    sites::visit(root, &mut |site| {
        // A `source` file's content is read by the conversion, which checks it there.
        if site.kind != SiteKind::FileSource {
            check_text(site.node, site.path);
        }
    });

    let containers = root.get("containers").and_then(Node::as_map).unwrap_or_default();
    check_before(containers, &mut errors);
    errors
}

fn check_before(containers: &[(super::node::Key, Node)], errors: &mut Vec<Diagnostic>) {
    let names: Vec<&str> = containers.iter().map(|(k, _)| k.name.as_str()).collect();
    let index: HashMap<&str, usize> = names.iter().enumerate().map(|(i, n)| (*n, i)).collect();
    let mut edges: Vec<Vec<usize>> = vec![Vec::new(); names.len()];
    for (i, (name, container)) in containers.iter().enumerate() {
        let Some(before) = container.get("before").and_then(Node::as_map) else { continue };
        for (other, _) in before {
            let path = FieldPath::root().key("containers").key(&name.name).key("before").key(&other.name);
            match index.get(other.name.as_str()) {
                Some(&j) if j == i => errors.push(Diagnostic {
                    path: path.to_string(),
                    location: other.location,
                    message: format!("container `{}` cannot wait for itself", name.name),
                }),
                Some(&j) => edges[i].push(j),
                None => errors.push(Diagnostic {
                    path: path.to_string(),
                    location: other.location,
                    message: format!("`before` names `{}`, which is not a container of this workload", other.name),
                }),
            }
        }
    }
    // Cycle detection: depth-first with three colours, on an explicit stack (a chain of
    // many containers must not become a deep recursion).
    let mut colour = vec![0u8; names.len()];
    for start in 0..names.len() {
        if colour[start] != 0 {
            continue;
        }
        colour[start] = 1;
        let mut stack: Vec<(usize, usize)> = vec![(start, 0)];
        while let Some((node, next)) = stack.last_mut() {
            let Some(&to) = edges[*node].get(*next) else {
                colour[*node] = 2;
                stack.pop();
                continue;
            };
            *next += 1;
            match colour[to] {
                0 => {
                    colour[to] = 1;
                    stack.push((to, 0));
                }
                1 => {
                    let from = stack.iter().position(|&(s, _)| s == to).unwrap_or(0);
                    let cycle: Vec<usize> = stack[from..].iter().map(|&(s, _)| s).collect();
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
                _ => {}
            }
        }
    }
}
