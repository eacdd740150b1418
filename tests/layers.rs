//! The layers of `src/`, each importing only those below it: store → ipld → network →
//! services → http → gateway, cluster and rpc → app → main.rs. The compiler does not enforce this
//! inside one crate, so this test does: a path naming a higher layer (`crate::gateway::…` from
//! `services/`) fails it, with the file and line.

use std::path::{Path, PathBuf};

/// Lowest first; a module may name itself and those before it. `gateway`, `cluster` and `rpc`
/// sit side by side: none names another.
const LAYERS: &[(&str, &[&str])] = &[
    ("store", &[]),
    ("ipld", &["store"]),
    ("network", &["store", "ipld"]),
    ("services", &["store", "ipld", "network"]),
    ("http", &["store", "ipld", "network", "services"]),
    ("gateway", &["store", "ipld", "network", "services", "http"]),
    ("cluster", &["store", "ipld", "network", "services", "http"]),
    ("rpc", &["store", "ipld", "network", "services", "http"]),
    (
        "app",
        &[
            "store", "ipld", "network", "services", "http", "gateway", "cluster", "rpc",
        ],
    ),
];

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// The top-level modules a line names through `crate::`: `crate::a::…` and each item of
/// `crate::{a, b::c}`.
fn named_modules(code: &str) -> Vec<&str> {
    let mut out = Vec::new();
    for (i, _) in code.match_indices("crate::") {
        let rest = &code[i + "crate::".len()..];
        let items: Vec<&str> = match rest.strip_prefix('{') {
            Some(group) => group.split('}').next().unwrap_or("").split(',').collect(),
            None => vec![rest],
        };
        for item in items {
            let name: &str = item
                .trim()
                .split(|c: char| !(c.is_alphanumeric() || c == '_'))
                .next()
                .unwrap_or("");
            if !name.is_empty() {
                out.push(name);
            }
        }
    }
    out
}

#[test]
fn lines_are_read_as_rust_paths() {
    assert_eq!(named_modules("use crate::gateway::Gateway;"), ["gateway"]);
    assert_eq!(
        named_modules("use crate::{http::Body, gateway};"),
        ["http", "gateway"]
    );
    assert_eq!(
        named_modules("let x = crate::store::a(crate::ipld::b, gateway);"),
        ["store", "ipld"]
    );
}

#[test]
fn each_layer_names_only_the_layers_below_it() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let names: Vec<&str> = LAYERS.iter().map(|(name, _)| *name).collect();
    let mut violations = Vec::new();
    let mut files_checked = 0;
    for (layer, allowed) in LAYERS {
        let mut files = Vec::new();
        rust_files(&src.join(layer), &mut files);
        assert!(!files.is_empty(), "no files under src/{layer}");
        for file in files {
            files_checked += 1;
            let text = std::fs::read_to_string(&file).unwrap();
            for (number, line) in text.lines().enumerate() {
                let code = line.split("//").next().unwrap_or("");
                for named in named_modules(code) {
                    if named == *layer || allowed.contains(&named) || !names.contains(&named) {
                        continue;
                    }
                    violations.push(format!(
                        "{}:{}: {layer} names {named}: {}",
                        file.strip_prefix(&src).unwrap().display(),
                        number + 1,
                        line.trim()
                    ));
                }
            }
        }
    }
    assert!(files_checked > 50, "only {files_checked} files read");
    assert!(
        violations.is_empty(),
        "layering broken:\n{}",
        violations.join("\n")
    );
}
