//! The shape of the core, read from its imports: no cycle among `core/src`'s top-level
//! modules (outside tests), and the flow parse → rules → plan → render/pki with the
//! diagnostic model at the bottom. A cycle is where a change in one stage starts to need
//! a change in another; this test names the modules and the edge that closes it.

use hagen_tests::root;
use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

/// Top-level module → the top-level modules its non-test code names as `crate::…`.
fn imports() -> BTreeMap<String, BTreeSet<String>> {
    let src = root().join("core/src");
    let mut files = Vec::new();
    collect(&src, &mut files);
    let mut graph: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for file in &files {
        let rel = file.strip_prefix(&src).unwrap();
        let first = rel
            .components()
            .next()
            .unwrap()
            .as_os_str()
            .to_string_lossy();
        let module = first.trim_end_matches(".rs").to_string();
        if module == "lib" {
            continue;
        }
        let text = std::fs::read_to_string(file).unwrap();
        // Test modules come last in every file; what they import is not the shape.
        let code = text.split("#[cfg(test)]").next().unwrap_or("");
        let deps = graph.entry(module.clone()).or_default();
        for line in code.lines() {
            let line = line.split("//").next().unwrap_or("");
            for (i, _) in line.match_indices("crate::") {
                let rest = &line[i + "crate::".len()..];
                let names: Vec<&str> = match rest.strip_prefix('{') {
                    Some(group) => group
                        .split([',', '}'])
                        .map(|n| n.trim().split("::").next().unwrap_or(""))
                        .collect(),
                    None => vec![
                        rest.split(|c: char| !c.is_alphanumeric() && c != '_')
                            .next()
                            .unwrap_or(""),
                    ],
                };
                for n in names {
                    if !n.is_empty()
                        && n != module
                        && n.chars().all(|c| c.is_ascii_lowercase() || c == '_')
                    {
                        deps.insert(n.to_string());
                    }
                }
            }
        }
    }
    let modules: BTreeSet<String> = graph.keys().cloned().collect();
    for deps in graph.values_mut() {
        deps.retain(|d| modules.contains(d));
    }
    graph
}

fn collect(dir: &Path, out: &mut Vec<std::path::PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            collect(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// A path `from` → … → `to` in the graph, if there is one.
fn path(graph: &BTreeMap<String, BTreeSet<String>>, from: &str, to: &str) -> Option<Vec<String>> {
    let mut seen = BTreeSet::new();
    let mut stack = vec![vec![from.to_string()]];
    while let Some(p) = stack.pop() {
        let last = p.last().unwrap().clone();
        for next in graph.get(&last).into_iter().flatten() {
            if next == to {
                let mut found = p.clone();
                found.push(next.clone());
                return Some(found);
            }
            if seen.insert(next.clone()) {
                let mut longer = p.clone();
                longer.push(next.clone());
                stack.push(longer);
            }
        }
    }
    None
}

#[test]
fn no_import_cycle_among_core_modules() {
    let graph = imports();
    assert!(graph.len() > 10, "core/src has its modules: {graph:?}");
    let mut cycles = Vec::new();
    for (module, deps) in &graph {
        for dep in deps {
            if let Some(back) = path(&graph, dep, module) {
                cycles.push(format!("{module} -> {}", back.join(" -> ")));
            }
        }
    }
    assert!(cycles.is_empty(), "import cycles:\n{}", cycles.join("\n"));
}

#[test]
fn stages_import_only_earlier_stages() {
    let graph = imports();
    // (module, modules it must never reach, directly or not)
    let later: &[(&str, &[&str])] = &[
        ("diag", &["parse", "rules", "plan", "lint", "render", "pki"]),
        ("parse", &["rules", "plan", "lint", "render", "pki"]),
        ("rules", &["lint", "render", "pki", "registry"]),
        ("plan", &["lint", "render", "pki"]),
        ("pki", &["lint", "render"]),
        ("render", &["lint"]),
    ];
    let mut wrong = Vec::new();
    for (module, never) in later {
        for target in *never {
            if let Some(p) = path(&graph, module, target) {
                wrong.push(p.join(" -> "));
            }
        }
    }
    assert!(
        wrong.is_empty(),
        "a stage reaches a later one:\n{}",
        wrong.join("\n")
    );
}

/// The reader itself: a module that names another through `crate::` is seen.
#[test]
fn the_import_reader_sees_imports() {
    let graph = imports();
    assert!(graph["lint"].contains("diag"), "{:?}", graph["lint"]);
    assert!(graph["parse"].contains("yaml"), "{:?}", graph["parse"]);
}
