//! The committed example incidents under `examples/incidents/` must be exactly what the
//! seeded generator produces: regenerate with
//! `cargo run -p faultline --example gen_incidents -- examples/incidents` after changing it.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use faultline::synth::{generate, SynthConfig, EXAMPLES};

fn examples_dir() -> PathBuf {
    Path::new(&std::env::var("CARGO_MANIFEST_DIR").expect("cargo test sets CARGO_MANIFEST_DIR"))
        .join("../../examples/incidents")
}

fn files_under(root: &Path, dir: &Path, out: &mut BTreeSet<String>) {
    let entries = std::fs::read_dir(dir).unwrap_or_else(|e| panic!("reading {}: {e}", dir.display()));
    for entry in entries {
        let path = entry.expect("directory entry").path();
        if path.is_dir() {
            files_under(root, &path, out);
        } else {
            let rel = path.strip_prefix(root).expect("under root");
            out.insert(rel.to_string_lossy().replace('\\', "/"));
        }
    }
}

#[test]
fn committed_example_bundles_match_the_generator() {
    let cfg = SynthConfig::default();
    for (dir, scenario) in EXAMPLES {
        let root = examples_dir().join(dir);
        let bundle = generate(scenario, &cfg);
        let mut on_disk = BTreeSet::new();
        files_under(&root, &root, &mut on_disk);
        let expected: BTreeSet<String> = bundle.files.keys().cloned().collect();
        assert_eq!(
            on_disk, expected,
            "{dir}: file set differs; regenerate the examples"
        );
        for (name, contents) in &bundle.files {
            let committed = std::fs::read_to_string(root.join(name)).expect("committed file is UTF-8");
            assert!(
                &committed == contents,
                "{dir}/{name} drifted from the generator; run \
                 `cargo run -p faultline --example gen_incidents -- examples/incidents`"
            );
        }
    }
}

#[test]
fn committed_example_bundles_are_small() {
    for (dir, _) in EXAMPLES {
        let root = examples_dir().join(dir);
        let mut files = BTreeSet::new();
        files_under(&root, &root, &mut files);
        let total: u64 = files
            .iter()
            .map(|f| std::fs::metadata(root.join(f)).map(|m| m.len()).unwrap_or(0))
            .sum();
        assert!(total < 1_000_000, "{dir} is {total} bytes");
    }
}
