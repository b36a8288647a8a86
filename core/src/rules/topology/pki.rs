//! TOP090: certificate lifetimes.

use super::Ctx;
use crate::diag::Rule;
use crate::diag::{Diagnostic, Diagnostics, Severity};

/// TOP090.
pub const INVALID_CERTIFICATE_VALIDITY: Rule = Rule {
    code: "TOP090",
    name: "invalid-certificate-validity",
    severity: Severity::Error,
    summary: "A certificate lifetime is zero, or leaves outlive their CA",
    explain: "\
## What it checks
That `pki.certValidityDays` and `pki.caValidityDays` are at least 1, and that leaf
certificates do not outlive the CAs that sign them.

## Why it matters
A certificate is only trusted while its CA is valid. A 10-year leaf under a 1-year CA
stops working after one year, with an error that names the leaf, not the CA.

## Example
```yaml
pki:
  certValidityDays: 3650
  caValidityDays: 365
```

## Fix
Keep leaves shorter than the CA: 365 days for leaves, 3650 for CAs (kubeadm's defaults).
",
};

/// TOP090.
pub fn invalid_certificate_validity(cx: &Ctx<'_>, out: &mut Diagnostics) {
    let Some(pki) = &cx.spec.pki else { return };
    for (value, path) in [
        (&pki.cert_validity_days, "spec.pki.certValidityDays"),
        (&pki.ca_validity_days, "spec.pki.caValidityDays"),
    ] {
        if let Some(v) = value.as_ref().filter(|v| *v.get() == 0) {
            out.push(
                Diagnostic::new(
                    &INVALID_CERTIFICATE_VALIDITY,
                    "a certificate lifetime of 0 days",
                )
                .at(v.span(), path)
                .help("use at least 1 day (defaults: 365 for leaves, 3650 for CAs)"),
            );
        }
    }
    let (leaf, ca) = (cx.cert_validity_days, cx.ca_validity_days);
    if ca > 0 && leaf > ca {
        let (span, path) = match (&pki.cert_validity_days, &pki.ca_validity_days) {
            (Some(l), _) => (l.span(), "spec.pki.certValidityDays"),
            (None, Some(c)) => (c.span(), "spec.pki.caValidityDays"),
            (None, None) => return,
        };
        out.push(
            Diagnostic::new(
                &INVALID_CERTIFICATE_VALIDITY,
                format!("leaf certificates valid {leaf} days would outlive their CAs ({ca} days)"),
            )
            .at(span, path)
            .help("make certValidityDays shorter than caValidityDays"),
        );
    }
}

#[cfg(test)]
mod tests {
    use super::super::test_support::*;

    #[test]
    fn lifetimes() {
        let pki = |s: &str| topology(&format!("pki:\n{s}"), &THREE_CP);
        assert!(codes(&pki("  certValidityDays: 365\n  caValidityDays: 3650")).is_empty());
        assert_eq!(codes(&pki("  certValidityDays: 0")), vec!["TOP090"]);
        assert_eq!(
            codes(&pki("  certValidityDays: 3650\n  caValidityDays: 365")),
            vec!["TOP090"]
        );
        assert_eq!(codes(&pki("  caValidityDays: 100")), vec!["TOP090"]);
    }
}
