//! TOP070–TOP071: the Kubernetes version and the kubeadm API it implies.

use super::Ctx;
use crate::defaults::{MAX_MINOR, MIN_MINOR};
use crate::diag::Rule;
use crate::diag::{Diagnostic, Diagnostics, Severity};

/// TOP070.
pub const INVALID_KUBERNETES_VERSION: Rule = Rule {
    code: "TOP070",
    name: "invalid-kubernetes-version",
    severity: Severity::Error,
    summary: "kubernetesVersion is not a version such as v1.31.2",
    explain: "\
## What it checks
That `spec.kubernetesVersion` reads as `v<major>.<minor>[.<patch>]`.

## Why it matters
The version picks the kubeadm API (v1beta3 or v1beta4), the fields that exist, and
version-specific behaviour such as super-admin.conf from 1.29. kubeadm itself rejects
labels such as `latest` in a configuration file.

## Example
```yaml
kubernetesVersion: latest
```

## Fix
Write the exact version to install: `v1.31.2`.
",
};

/// TOP071.
pub const UNSUPPORTED_KUBERNETES_VERSION: Rule = Rule {
    code: "TOP071",
    name: "unsupported-kubernetes-version",
    severity: Severity::Error,
    summary: "kubernetesVersion is outside the range hagen supports (1.28 to 1.36)",
    explain: "\
## What it checks
That the Kubernetes minor version is between 1.28 and 1.36. Older versions are an error;
newer ones a warning.

## Why it matters
hagen writes kubeadm's `v1beta3` API before 1.31 and `v1beta4` from 1.31. Before 1.28
kubeadm lacks fields and defaults hagen relies on; from 1.37 `v1beta3` is gone and the
API may change again, so files for an unchecked version may need review.

## Example
```yaml
kubernetesVersion: v1.25.4
```

## Fix
Use a version from 1.28 to 1.36, such as v1.31.2.
",
};

/// TOP070.
pub fn invalid_kubernetes_version(cx: &Ctx<'_>, out: &mut Diagnostics) {
    let v = &cx.spec.kubernetes_version;
    if let Some(why) = &cx.version_error {
        out.push(
            Diagnostic::new(&INVALID_KUBERNETES_VERSION, why.to_string())
                .at(v.span(), "spec.kubernetesVersion")
                .help("write the exact version, such as v1.31.2"),
        );
    }
}

/// TOP071.
pub fn unsupported_kubernetes_version(cx: &Ctx<'_>, out: &mut Diagnostics) {
    let Some(version) = &cx.version else { return };
    let value = &cx.spec.kubernetes_version;
    let diag = if version.major != 1 || version.minor < MIN_MINOR {
        Diagnostic::new(
            &UNSUPPORTED_KUBERNETES_VERSION,
            format!(
                "Kubernetes {version} is older than 1.{MIN_MINOR}, the oldest version hagen generates for"
            ),
        )
    } else if version.minor > MAX_MINOR {
        Diagnostic::new(
            &UNSUPPORTED_KUBERNETES_VERSION,
            format!(
                "Kubernetes {version} is newer than 1.{MAX_MINOR}, the newest version hagen was checked against; kubeadm.k8s.io/v1beta4 will be written"
            ),
        )
        .severity(Severity::Warning)
    } else {
        return;
    };
    out.push(
        diag.at(value.span(), "spec.kubernetesVersion")
            .help(format!("use a version from 1.{MIN_MINOR} to 1.{MAX_MINOR}")),
    );
}

#[cfg(test)]
mod tests {
    use super::super::test_support::*;
    use crate::diag::Severity;

    #[test]
    fn versions() {
        let with = |v: &str| topology("", &THREE_CP).replace("v1.31.2", v);
        assert_eq!(codes(&with("latest")), vec!["TOP070"]);
        assert_eq!(codes(&with("v1.25.4")), vec!["TOP071"]);
        assert!(codes(&with("v1.28.0")).is_empty());
        assert!(codes(&with("v1.36.1")).is_empty());
        let newer = with("v1.37.0");
        let checked = crate::check(&crate::source::SourceFile::new("t", newer.as_str()));
        let d = checked.diagnostics.iter().next().unwrap();
        assert_eq!((d.rule.code, d.severity), ("TOP071", Severity::Warning));
        assert!(checked.plan.is_some());
    }
}
