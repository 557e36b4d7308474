//! Upgrades of deprecated Score forms, as Score's Go library applies them.
//!
//! Before validation ([`legacy_spellings`]): a volume's `read_only` becomes `readOnly`, and a
//! file `content` written as a list of lines is joined with `\n` (neither is accepted by the
//! current schema). After validation ([`list_forms`]): the deprecated list forms of `files`
//! and `volumes` become maps keyed by `target`. Each upgrade leaves a deprecation warning.

use std::collections::HashSet;

use super::Diagnostic;
use super::node::{FieldPath, Key, Node, Value};

fn containers_mut(root: &mut Node) -> Vec<(String, &mut Node)> {
    match root.get_mut("containers").and_then(Node::as_map_mut) {
        Some(entries) => entries.iter_mut().map(|(k, v)| (k.name.clone(), v)).collect(),
        None => Vec::new(),
    }
}

/// Items of a `files`/`volumes` field in either form, with their paths.
fn items_mut<'n>(field: &'n mut Node, path: &FieldPath) -> Vec<(FieldPath, &'n mut Node)> {
    match &mut field.value {
        Value::Seq(items) => items.iter_mut().enumerate().map(|(i, n)| (path.index(i), n)).collect(),
        Value::Map(entries) => entries.iter_mut().map(|(k, n)| (path.key(&k.name), n)).collect(),
        _ => Vec::new(),
    }
}

/// `read_only` → `readOnly`, list `content` → joined text.
pub(super) fn legacy_spellings(root: &mut Node, warnings: &mut Vec<Diagnostic>) {
    for (name, container) in containers_mut(root) {
        let base = FieldPath::root().key("containers").key(&name);
        if let Some(volumes) = container.get_mut("volumes") {
            for (path, volume) in items_mut(volumes, &base.key("volumes")) {
                let Some(entries) = volume.as_map_mut() else { continue };
                let has_new = entries.iter().any(|(k, _)| k.name == "readOnly");
                if let Some((key, _)) = entries.iter_mut().find(|(k, _)| k.name == "read_only")
                    && !has_new
                {
                    warnings.push(Diagnostic {
                        path: path.key("read_only").to_string(),
                        location: key.location,
                        message: "`read_only` is deprecated; write `readOnly`".to_owned(),
                    });
                    "readOnly".clone_into(&mut key.name);
                }
            }
        }
        if let Some(files) = container.get_mut("files") {
            for (path, file) in items_mut(files, &base.key("files")) {
                let Some(content) = file.get_mut("content") else { continue };
                let Value::Seq(lines) = &content.value else { continue };
                let Some(lines) = lines.iter().map(Node::as_str).collect::<Option<Vec<&str>>>() else { continue };
                let joined = lines.join("\n");
                warnings.push(Diagnostic {
                    path: path.key("content").to_string(),
                    location: content.location,
                    message: "a list of lines as `content` is deprecated; write one string (e.g. a `|` block)"
                        .to_owned(),
                });
                content.value = Value::Str(joined);
            }
        }
    }
}

/// List forms of `files`/`volumes` → maps keyed by `target`. Returns errors for items
/// without a target or with a target used twice.
pub(super) fn list_forms(root: &mut Node, warnings: &mut Vec<Diagnostic>) -> Vec<Diagnostic> {
    let mut errors = Vec::new();
    for (name, container) in containers_mut(root) {
        let base = FieldPath::root().key("containers").key(&name);
        for field in ["files", "volumes"] {
            let Some(node) = container.get_mut(field) else { continue };
            let Value::Seq(items) = &mut node.value else { continue };
            let path = base.key(field);
            warnings.push(Diagnostic {
                path: path.to_string(),
                location: node.location,
                message: format!("the list form of `{field}` is deprecated; write a map keyed by target path"),
            });
            let mut entries: Vec<(Key, Node)> = Vec::with_capacity(items.len());
            let mut targets: HashSet<String> = HashSet::with_capacity(items.len());
            for (i, mut item) in std::mem::take(items).into_iter().enumerate() {
                let item_path = path.index(i);
                let target = item.as_map_mut().and_then(|e| {
                    let at = e.iter().position(|(k, _)| k.name == "target")?;
                    Some(e.remove(at))
                });
                match target {
                    Some((key, Node { value: Value::Str(target), location })) => {
                        if targets.insert(target.clone()) {
                            entries.push((Key { name: target, location: key.location }, item));
                        } else {
                            errors.push(Diagnostic {
                                path: item_path.key("target").to_string(),
                                location,
                                message: format!("target `{target}` is used by two {field}"),
                            });
                        }
                    }
                    _ => errors.push(Diagnostic {
                        path: item_path.key("target").to_string(),
                        location: item.location,
                        message: format!("missing `target`: in the list form every item of `{field}` needs one"),
                    }),
                }
            }
            node.value = Value::Map(entries);
        }
    }
    errors
}
