//! Property tests: no input, however broken, makes parse + check panic, and every
//! span a finding carries lies inside the text on character boundaries.

use hagen_tests::{fixtures, rel};
use proptest::prelude::*;

fn assert_sane(bytes: &[u8]) {
    let (source, checked) = hagen_core::check_bytes("fuzz.yaml", bytes);
    for d in &checked.diagnostics {
        if let Some(span) = d.span {
            assert!(
                span.start <= span.end && span.end <= source.text.len(),
                "span {span:?} outside {} bytes",
                source.text.len()
            );
            assert!(
                source.text.is_char_boundary(span.start) && source.text.is_char_boundary(span.end)
            );
        }
    }
    // Rendering never panics either.
    let _ = hagen_core::diag::text::render(
        std::slice::from_ref(&source),
        &checked.diagnostics,
        hagen_core::diag::text::Style { color: false },
    );
    let _ = hagen_core::diag::sarif::report(
        &[source],
        &checked.diagnostics,
        hagen_core::registry::all(),
    );
    // Errors and a plan exclude each other: a topology the rules accept always plans
    // (a value that cannot be planned must be a rule's error, never a silent `None`).
    assert_eq!(
        checked.diagnostics.has_errors(),
        checked.plan.is_none(),
        "{:?}",
        checked.diagnostics
    );
}

fn seeds() -> &'static [String] {
    static SEEDS: std::sync::OnceLock<Vec<String>> = std::sync::OnceLock::new();
    SEEDS.get_or_init(|| {
        [
            "topologies/valid",
            "topologies/invalid",
            "topologies/warning",
        ]
        .iter()
        .flat_map(|d| fixtures(d))
        .filter_map(|p| std::fs::read_to_string(&p).map_err(|_| rel(&p)).ok())
        .collect()
    })
}

/// YAML-shaped noise: keys of the real model, odd scalars, nesting and flow syntax.
fn yamlish() -> impl Strategy<Value = String> {
    let key = prop::sample::select(vec![
        "apiVersion",
        "kind",
        "metadata",
        "name",
        "spec",
        "kubernetesVersion",
        "controlPlaneEndpoint",
        "vip",
        "dns",
        "port",
        "loadBalancer",
        "type",
        "interface",
        "virtualRouterId",
        "etcd",
        "networking",
        "podSubnet",
        "nodes",
        "address",
        "zone",
        "roles",
        "pki",
        "certSANs",
        "apiServer",
        "bindPort",
        "x",
    ]);
    let scalar = prop::sample::select(vec![
        "hagen/v1alpha1",
        "Topology",
        "v1.31.2",
        "1.31",
        "192.168.2.250/24",
        "192.168.2.250.250",
        "::1",
        "8443",
        "-1",
        "99999999999999999999",
        "~",
        "null",
        "true",
        "[control-plane]",
        "[]",
        "{}",
        "\"q",
        "'",
        "&a x",
        "*a",
        "!!str 5",
        "haproxy-keepalived",
        "kube-vip",
        "external",
        "stacked",
        "10.244.0.0/16",
        "é",
        "\t",
        "- a",
    ]);
    let line = (0usize..4, key, prop::option::of(scalar), any::<bool>()).prop_map(
        |(indent, k, v, dash)| {
            let pad = "  ".repeat(indent);
            let dash = if dash { "- " } else { "" };
            match v {
                Some(v) => format!("{pad}{dash}{k}: {v}"),
                None => format!("{pad}{dash}{k}:"),
            }
        },
    );
    prop::collection::vec(line, 0..40).prop_map(|lines| lines.join("\n"))
}

proptest! {
    #![proptest_config(crate::fuzz_config(512))]

    #[test]
    fn arbitrary_bytes_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..512)) {
        assert_sane(&bytes);
    }

    #[test]
    fn arbitrary_yaml_never_panics(text in yamlish()) {
        assert_sane(text.as_bytes());
    }

    #[test]
    fn mutated_fixtures_never_panic(pick in any::<prop::sample::Index>(), cuts in prop::collection::vec((any::<prop::sample::Index>(), 0u8..5, any::<u8>()), 1..6)) {
        let seeds = seeds();
        let mut bytes = seeds[pick.index(seeds.len())].clone().into_bytes();
        for (at, op, b) in cuts {
            if bytes.is_empty() { break; }
            let i = at.index(bytes.len());
            match op {
                0 => { bytes.remove(i); }
                1 => bytes.insert(i, b),
                2 => bytes[i] = b,
                3 => { let tail = bytes.split_off(i); bytes.extend(tail.iter().rev()); }
                _ => { let line: Vec<u8> = bytes[i..].iter().take_while(|c| **c != b'\n').copied().collect(); bytes.splice(i..i, line); }
            }
        }
        assert_sane(&bytes);
    }
}
