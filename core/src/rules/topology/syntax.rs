//! TOP000–TOP002: the file is a readable topology of the right kind.

use super::Ctx;
use crate::diag::Rule;
use crate::diag::{Diagnostic, Diagnostics, Severity};

/// TOP002: apiVersion or kind is not the one hagen reads.
pub const WRONG_API_VERSION: Rule = Rule {
    code: "TOP002",
    name: "wrong-api-version",
    severity: Severity::Error,
    summary: "apiVersion is not hagen/v1alpha1, or kind is not Topology",
    explain: "\
## What it checks
That the file starts with `apiVersion: hagen/v1alpha1` and `kind: Topology`.

## Why it matters
The version says which meaning every key has. A file written for another version, or a
kubeadm configuration passed by mistake, must not be read as if it were this one.

## Example
```yaml
apiVersion: kubeadm.k8s.io/v1beta4
kind: ClusterConfiguration
```

## Fix
Write `apiVersion: hagen/v1alpha1` and `kind: Topology`. To check an existing kubeadm
file, use `hagen lint` instead.
",
};

/// TOP000 and TOP001 are reported while parsing; a parsed topology has none.
pub fn reported_by_parser(_: &Ctx<'_>, _: &mut Diagnostics) {}

/// TOP002.
pub fn wrong_api_version(cx: &Ctx<'_>, out: &mut Diagnostics) {
    let t = cx.topology;
    if t.api_version.get() != "hagen/v1alpha1" {
        out.push(
            Diagnostic::new(
                &WRONG_API_VERSION,
                format!(
                    "apiVersion is `{}`; hagen reads `hagen/v1alpha1`",
                    t.api_version.get()
                ),
            )
            .at(t.api_version.span(), "apiVersion")
            .help("write `apiVersion: hagen/v1alpha1` (to check a kubeadm file, use `hagen lint`)"),
        );
    }
    if t.kind.get() != "Topology" {
        out.push(
            Diagnostic::new(
                &WRONG_API_VERSION,
                format!("kind is `{}`; hagen reads `Topology`", t.kind.get()),
            )
            .at(t.kind.span(), "kind")
            .help("write `kind: Topology`"),
        );
    }
}

#[cfg(test)]
mod tests {
    use super::super::test_support::*;

    #[test]
    fn wrong_api_version_and_kind() {
        let good = topology("", &THREE_CP);
        assert!(codes(&good).is_empty(), "{:?}", codes(&good));
        let bad = good
            .replace("hagen/v1alpha1", "hagen/v1")
            .replace("kind: Topology", "kind: Cluster");
        assert_eq!(messages(&bad, "TOP002").len(), 2);
    }

    #[test]
    fn unknown_key_suggests() {
        let bad = topology("", &THREE_CP).replace("    port: 8443", "    prot: 8443");
        let checked = crate::check(&crate::source::SourceFile::new("t", bad.as_str()));
        let d = checked.diagnostics.iter().next().unwrap();
        assert_eq!(d.rule.code, "TOP001");
        assert!(
            d.help.as_deref().unwrap().contains("did you mean `port`"),
            "{:?}",
            d.help
        );
        assert_eq!(&bad[d.span.unwrap().start..d.span.unwrap().end], "prot");
    }
}
