//! Golden bundles: every valid topology renders to exactly the committed files under
//! `fixtures/expected/<name>/` (MANIFEST included, so a new, lost or re-moded file
//! fails too). Join material is fixed (seeded token and certificate key, a constant CA
//! hash), so the files are byte-stable; the PKI is tested in `pki.rs`.

use hagen_core::pki::{JoinMaterial, SeededEntropy, bootstrap_token, certificate_key};
use hagen_core::render::{Input, render};
use hagen_tests::{fixtures, golden, rel, root};
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

/// The join material of every golden bundle.
pub fn test_join() -> JoinMaterial {
    let mut entropy = SeededEntropy::new(2026);
    JoinMaterial {
        token: bootstrap_token(&mut entropy),
        certificate_key: certificate_key(&mut entropy),
        ca_cert_hash: format!("sha256:{}", "0123456789abcdef".repeat(4)),
    }
}

/// Renders a topology file the way the golden bundles are made.
pub fn render_fixture(path: &Path) -> hagen_core::bundle::Bundle {
    let text = std::fs::read_to_string(path).unwrap();
    let checked = hagen_core::check(&hagen_core::source::SourceFile::new(rel(path), text));
    let plan = checked
        .plan
        .unwrap_or_else(|| panic!("{} is invalid", rel(path)));
    let what_if = checked.what_if.unwrap_or_default();
    let mut bundle = render(&Input {
        plan: &plan,
        join: &test_join(),
        what_if: &what_if,
    })
    .expect("renders");
    bundle.seal();
    bundle
}

/// Every golden bundle directory, with the topology it comes from.
pub fn golden_bundles() -> Vec<(PathBuf, PathBuf)> {
    fixtures("topologies/valid")
        .into_iter()
        .map(|t| {
            let name = t.file_stem().unwrap().to_string_lossy().into_owned();
            (t, root().join("fixtures/expected").join(name))
        })
        .collect()
}

fn files_under(dir: &Path) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        let Ok(entries) = std::fs::read_dir(&d) else {
            continue;
        };
        for e in entries.flatten() {
            let p = e.path();
            if p.is_dir() {
                stack.push(p);
            } else {
                out.insert(
                    p.strip_prefix(dir)
                        .unwrap()
                        .to_string_lossy()
                        .replace('\\', "/"),
                );
            }
        }
    }
    out
}

#[test]
fn every_valid_topology_matches_its_golden_bundle() {
    let bless = std::env::var_os("HAGEN_BLESS").is_some();
    let mut failures = Vec::new();
    for (topology, dir) in golden_bundles() {
        let bundle = render_fixture(&topology);
        let rendered: BTreeSet<String> = bundle.iter().map(|(p, _)| p.clone()).collect();
        if bless {
            let _ = std::fs::remove_dir_all(&dir);
        }
        let on_disk = files_under(&dir);
        if !bless && on_disk != rendered {
            failures.push(format!(
                "{}: file list differs\n  only rendered: {:?}\n  only golden: {:?}",
                rel(&dir),
                rendered.difference(&on_disk).collect::<Vec<_>>(),
                on_disk.difference(&rendered).collect::<Vec<_>>()
            ));
            continue;
        }
        for (path, file) in bundle.iter() {
            let target = dir.join(path);
            if bless {
                std::fs::create_dir_all(target.parent().unwrap()).unwrap();
            }
            let text = String::from_utf8(file.bytes.clone()).expect("rendered files are text");
            if let Err(e) = golden(&target, &text) {
                failures.push(e);
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}

#[test]
fn rendering_is_deterministic() {
    for (topology, _) in golden_bundles() {
        assert_eq!(
            render_fixture(&topology),
            render_fixture(&topology),
            "{}",
            rel(&topology)
        );
    }
}

/// The bundle zip opens with Python's zipfile (an independent reader) with every path,
/// content and unix mode intact.
#[test]
fn bundle_zip_round_trips_through_an_independent_reader() {
    let (topology, _) = golden_bundles().into_iter().next().unwrap();
    let bundle = render_fixture(&topology);
    let zip = hagen_core::zip::bundle_zip(&bundle, "bundle", &[]);
    let path = std::env::temp_dir().join(format!("hagen-zip-{}.zip", std::process::id()));
    std::fs::write(&path, &zip).unwrap();
    let out = std::process::Command::new("python3")
        .args(["-c", "import sys, zipfile, json\nz = zipfile.ZipFile(sys.argv[1])\nassert z.testzip() is None\nprint(json.dumps({i.filename: [oct(i.external_attr >> 16 & 0o777), z.read(i).decode()] for i in z.infolist()}))"])
        .arg(&path)
        .output()
        .unwrap();
    let _ = std::fs::remove_file(&path);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let listed: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let listed = listed.as_object().unwrap();
    let dirs: Vec<&String> = listed.keys().filter(|k| k.ends_with('/')).collect();
    assert_eq!(listed.len() - dirs.len(), bundle.len());
    for d in &dirs {
        let rel = d.trim_start_matches("bundle").trim_matches('/');
        let want = if rel.is_empty() {
            0o755
        } else {
            bundle.dir_mode(rel)
        };
        assert_eq!(listed[*d][0], format!("0o{want:o}"), "{d}");
    }
    assert!(dirs.len() > 3, "directory entries: {dirs:?}");
    for (p, f) in bundle.iter() {
        let entry = &listed[&format!("bundle/{p}")];
        assert_eq!(entry[0], format!("0o{:o}", f.mode), "{p}");
        assert_eq!(
            entry[1].as_str().unwrap().as_bytes(),
            f.bytes.as_slice(),
            "{p}"
        );
    }
}

/// What a user does with the wizard's download: `unzip` (Info-ZIP) it. Every file comes
/// out with its bytes and mode, and every directory with the mode `hagen render` gives
/// it: the `pki` directories 0700.
#[test]
fn bundle_zip_unzips_with_the_render_modes() {
    let (topology, _) = golden_bundles().into_iter().next().unwrap();
    let text = std::fs::read_to_string(&topology).unwrap();
    let source = hagen_core::source::SourceFile::new(rel(&topology), text);
    let checked = hagen_core::check(&source);
    let plan = checked.plan.expect("valid");
    let pki = hagen_core::pki::generate(
        &plan,
        &hagen_core::pki::Existing::none(),
        &mut SeededEntropy::new(5),
        1_780_272_000,
    )
    .unwrap();
    let bundle =
        hagen_core::assemble(&source, &plan, &checked.what_if.unwrap_or_default(), &pki).unwrap();
    let scratch = std::env::temp_dir().join(format!("hagen-unzip-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&scratch);
    std::fs::create_dir_all(&scratch).unwrap();
    struct Cleanup(PathBuf);
    impl Drop for Cleanup {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }
    let _cleanup = Cleanup(scratch.clone());
    let zip = scratch.join("bundle.zip");
    std::fs::write(&zip, hagen_core::zip::bundle_zip(&bundle, "b", &[])).unwrap();
    let out = std::process::Command::new("unzip")
        .arg("-q")
        .arg(&zip)
        .arg("-d")
        .arg(&scratch)
        .output()
        .expect("unzip (apt package unzip) runs");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    use std::os::unix::fs::PermissionsExt;
    let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
    let root = scratch.join("b");
    let mut private_dirs = 0;
    for (p, f) in bundle.iter() {
        let on_disk = root.join(p);
        assert_eq!(std::fs::read(&on_disk).unwrap(), f.bytes, "{p}");
        assert_eq!(mode(&on_disk), f.mode, "{p}");
        let mut dir = Path::new(p.as_str()).parent();
        while let Some(d) = dir.filter(|d| !d.as_os_str().is_empty()) {
            let want = bundle.dir_mode(&d.to_string_lossy());
            assert_eq!(mode(&root.join(d)), want, "{}/", d.display());
            private_dirs += usize::from(want == 0o700);
            dir = d.parent();
        }
    }
    assert!(private_dirs > 0, "no 0700 directory was checked");
}
