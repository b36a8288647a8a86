//! TOP050–TOP053: the pod and Service networks, and how they sit beside the nodes'.

use super::Ctx;
use crate::defaults;
use crate::diag::Rule;
use crate::diag::{Diagnostic, Diagnostics, Severity};
use crate::net::Cidr;
use crate::source::Span;
use crate::topology::S;

/// TOP050.
pub const INVALID_CIDR: Rule = Rule {
    code: "TOP050",
    name: "invalid-cidr",
    severity: Severity::Error,
    summary: "podSubnet or serviceSubnet is not a CIDR",
    explain: "\
## What it checks
That `networking.podSubnet` and `networking.serviceSubnet` are networks written as
`address/prefix` (a dual-stack pod subnet is two of them, comma-separated).

## Why it matters
kubeadm passes them to the controller manager and the API server; a malformed one stops
`kubeadm init`.

## Example
```yaml
networking:
  podSubnet: 10.244.0.0       # no /prefix
```

## Fix
Add the prefix length: `10.244.0.0/16`.
",
};

/// TOP051.
pub const OVERLAPPING_NETWORKS: Rule = Rule {
    code: "TOP051",
    name: "overlapping-networks",
    severity: Severity::Error,
    summary: "The pod, Service and node networks overlap",
    explain: "\
## What it checks
That the pod subnet, the Service subnet, the node addresses and the VIP do not overlap.

## Why it matters
Pod and Service addresses are routed inside the cluster. If they overlap each other or
the nodes' network, packets meant for a node or the VIP are captured by kube-proxy or the
CNI and the nodes stop reaching each other, often only after the first Service gets an
address that collides.

## Example
```yaml
networking:
  podSubnet: 192.168.0.0/16      # the nodes are on 192.168.2.0/24
```

## Fix
Choose pod and Service networks that no machine uses: the defaults 10.244.0.0/16 and
10.96.0.0/12 work unless the nodes are in 10.0.0.0/8.
",
};

/// TOP052.
pub const SERVICE_SUBNET_SIZE: Rule = Rule {
    code: "TOP052",
    name: "service-subnet-size",
    severity: Severity::Error,
    summary: "The Service subnet is too small, or larger than kubeadm accepts",
    explain: "\
## What it checks
The size of `networking.serviceSubnet`: at most 20 host bits (a /12 for IPv4, a /108
for IPv6), which kubeadm enforces; at least 4 host bits, because the cluster DNS Service
takes the 10th address; and (a warning) at least 8 host bits, or fewer than 256 Services
fit.

## Why it matters
A subnet outside these bounds makes `kubeadm init` fail, leaves no address for
CoreDNS, or runs out of Service addresses in production.

## Example
```yaml
networking:
  serviceSubnet: 10.96.0.0/29
```

## Fix
Use a /12 to /24 for IPv4 (default 10.96.0.0/12).
",
};

/// TOP053.
pub const POD_SUBNET_TOO_SMALL: Rule = Rule {
    code: "TOP053",
    name: "pod-subnet-too-small",
    severity: Severity::Error,
    summary: "The pod subnet cannot give every node its own /24",
    explain: "\
## What it checks
That the pod subnet holds one node range per node: kube-controller-manager gives each
node a /24 (IPv4) or /64 (IPv6) of it.

## Why it matters
A node that gets no range has no pod addresses: its pods stay in ContainerCreating. A
pod subnet smaller than a node range makes the controller manager refuse to start.

## Example
```yaml
networking:
  podSubnet: 10.244.0.0/24     # room for one node
```

## Fix
Widen the pod subnet: a /16 holds 256 nodes.
",
};

fn subnets<'a>(cx: &'a Ctx<'_>) -> Vec<(&'static str, &'a S<String>)> {
    let Some(net) = cx.spec.networking.as_ref() else {
        return Vec::new();
    };
    let mut v = Vec::new();
    if let Some(p) = &net.pod_subnet {
        v.push(("podSubnet", p));
    }
    if let Some(s) = &net.service_subnet {
        v.push(("serviceSubnet", s));
    }
    v
}

/// The parsed networks with where they are written; defaults have no span.
fn networks(cx: &Ctx<'_>) -> Vec<(&'static str, Cidr, Option<Span>)> {
    let mut v = Vec::new();
    let mut service_given = false;
    for (key, value) in subnets(cx) {
        service_given |= key == "serviceSubnet";
        if let Ok(list) = Cidr::parse_list(value.get()) {
            v.extend(list.into_iter().map(|c| (key, c, Some(value.span()))));
        }
    }
    if !service_given && let Ok(list) = &cx.service_subnets {
        v.extend(list.iter().map(|c| ("serviceSubnet", *c, None)));
    }
    v
}

/// TOP050.
pub fn invalid_cidr(cx: &Ctx<'_>, out: &mut Diagnostics) {
    for (key, value) in subnets(cx) {
        if let Err(why) = Cidr::parse_list(value.get()) {
            out.push(
                Diagnostic::new(&INVALID_CIDR, format!("{key}: {why}"))
                    .at(value.span(), format!("spec.networking.{key}"))
                    .help("write a network as address/prefix, such as 10.244.0.0/16"),
            );
        }
    }
}

/// TOP051.
pub fn overlapping_networks(cx: &Ctx<'_>, out: &mut Diagnostics) {
    let nets = networks(cx);
    let fallback = cx.nodes_span();
    for (i, (key, net, span)) in nets.iter().enumerate() {
        let path = format!("spec.networking.{key}");
        let here = span.unwrap_or(fallback);
        for (other_key, other, other_span) in &nets[..i] {
            if key != other_key && net.overlaps(other) {
                let mut d = Diagnostic::new(
                    &OVERLAPPING_NETWORKS,
                    format!("{key} {net} overlaps {other_key} {other}"),
                )
                .at(here, path.clone())
                .help("choose pod and Service networks that do not overlap");
                if let Some(s) = other_span {
                    d = d.label(*s, format!("{other_key} declared here"));
                }
                out.push(d);
            }
        }
        let inside: Vec<_> = cx
            .nodes
            .iter()
            .filter(|n| {
                n.addr.is_some_and(|a| {
                    net.contains(&a.addr) || a.network().is_some_and(|own| own.overlaps(net))
                })
            })
            .collect();
        if !inside.is_empty() {
            let written = if span.is_some() { "" } else { " (the default)" };
            let names: Vec<&str> = inside.iter().map(|n| n.name()).collect();
            let mut d = Diagnostic::new(
                &OVERLAPPING_NETWORKS,
                format!(
                    "{key} {net}{written} contains the address of {} node{}: {}",
                    inside.len(),
                    if inside.len() == 1 { "" } else { "s" },
                    names.join(", ")
                ),
            )
            .at(here, path.clone())
            .help(format!("choose a {key} that no machine uses"));
            for n in inside {
                d = d.label(n.node.address.span(), "node address");
            }
            out.push(d);
        }
        if let (Some(vip), Some(vip_value)) = (cx.vip, cx.endpoint().and_then(|e| e.vip.as_ref()))
            && net.contains(&vip.addr)
        {
            out.push(
                Diagnostic::new(
                    &OVERLAPPING_NETWORKS,
                    format!("the VIP {} is inside {key} {net}", vip.addr),
                )
                .at(here, path.clone())
                .label(vip_value.span(), "VIP")
                .help(format!("choose a {key} that does not contain the VIP")),
            );
        }
    }
}

/// TOP052.
pub fn service_subnet_size(cx: &Ctx<'_>, out: &mut Diagnostics) {
    for (key, value) in subnets(cx) {
        if key != "serviceSubnet" {
            continue;
        }
        let Ok(list) = Cidr::parse_list(value.get()) else {
            continue;
        };
        for net in list {
            let bits = net.host_bits();
            let (message, severity) = if bits > 20 {
                (
                    format!(
                        "serviceSubnet {net} has {bits} host bits; kubeadm accepts at most 20 (a /{} here)",
                        net.family_bits() - 20
                    ),
                    Severity::Error,
                )
            } else if bits < 4 {
                (
                    format!(
                        "serviceSubnet {net} has {} addresses; the cluster DNS Service needs the 10th",
                        1u32 << bits
                    ),
                    Severity::Error,
                )
            } else if bits < 8 {
                (
                    format!(
                        "serviceSubnet {net} has room for only {} Services",
                        (1u32 << bits) - 2
                    ),
                    Severity::Warning,
                )
            } else {
                continue;
            };
            out.push(
                Diagnostic::new(&SERVICE_SUBNET_SIZE, message)
                    .severity(severity)
                    .at(value.span(), "spec.networking.serviceSubnet")
                    .help("use a /12 to /24 for IPv4, such as 10.96.0.0/12"),
            );
        }
    }
}

/// TOP053.
pub fn pod_subnet_too_small(cx: &Ctx<'_>, out: &mut Diagnostics) {
    let Some(value) = cx
        .spec
        .networking
        .as_ref()
        .and_then(|n| n.pod_subnet.as_ref())
    else {
        return;
    };
    let Ok(list) = Cidr::parse_list(value.get()) else {
        return;
    };
    let nodes = cx.nodes.len() as u128;
    for net in list {
        let mask = if net.addr.is_ipv4() {
            defaults::NODE_CIDR_MASK_V4
        } else {
            defaults::NODE_CIDR_MASK_V6
        };
        let message = if net.prefix > mask {
            format!(
                "podSubnet {net} is smaller than one node's /{mask}; the controller manager will not start"
            )
        } else {
            let ranges = 1u128 << (mask - net.prefix).min(64);
            if ranges >= nodes {
                continue;
            }
            format!(
                "podSubnet {net} holds {ranges} node ranges of /{mask}, but there are {nodes} nodes"
            )
        };
        out.push(
            Diagnostic::new(&POD_SUBNET_TOO_SMALL, message)
                .at(value.span(), "spec.networking.podSubnet")
                .help("widen the pod subnet, such as 10.244.0.0/16 (256 nodes)"),
        );
    }
}

#[cfg(test)]
mod tests {
    use super::super::test_support::*;

    fn net(extra: &str) -> String {
        topology(&format!("networking:\n{extra}"), &THREE_CP)
    }

    #[test]
    fn table() {
        let cases: &[(&str, &[&str])] = &[
            (
                "  podSubnet: 10.244.0.0/16\n  serviceSubnet: 10.96.0.0/12",
                &[],
            ),
            ("  podSubnet: 10.244.0.0", &["TOP050"]),
            ("  podSubnet: 10.244.0.0/16,fd00:10:244::/56", &[]),
            ("  podSubnet: 10.96.0.0/16", &["TOP051"]),
            ("  podSubnet: 10.0.0.0/16", &["TOP051"]),
            ("  serviceSubnet: 10.0.0.0/8", &["TOP051", "TOP052"]),
            ("  serviceSubnet: 172.16.0.0/29", &["TOP052"]),
            ("  serviceSubnet: 172.16.0.0/26", &["TOP052"]),
            (
                "  podSubnet: 10.244.0.0/16,fd00:10:244::/56\n  serviceSubnet: 10.96.0.0/16,fd00:10:96::/112",
                &[],
            ),
            ("  podSubnet: 10.244.0.0/25", &["TOP053"]),
            ("  podSubnet: 10.244.0.0/23", &["TOP053"]),
            ("  podSubnet: 10.244.0.0/22", &[]),
        ];
        for (extra, want) in cases {
            assert_eq!(codes(&net(extra)), *want, "{extra}");
        }
    }

    #[test]
    fn pod_ranges_are_counted() {
        let nodes: Vec<String> = (0..5)
            .map(|i| format!("n{i} 10.0.0.{} control-plane", 11 + i))
            .collect();
        let nodes: Vec<&str> = nodes.iter().map(String::as_str).collect();
        let t = topology("networking:\n  podSubnet: 10.244.0.0/22", &nodes);
        assert!(
            messages(&t, "TOP053")[0].contains("holds 4 node ranges of /24, but there are 5 nodes")
        );
    }
}
