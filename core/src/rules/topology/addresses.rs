//! TOP040–TOP046: node names and addresses, and the VIP among them.

use super::Ctx;
use crate::diag::Rule;
use crate::diag::{Diagnostic, Diagnostics, Severity};
use crate::net::check_dns1123_subdomain;

/// TOP040.
pub const INVALID_IP_ADDRESS: Rule = Rule {
    code: "TOP040",
    name: "invalid-ip-address",
    severity: Severity::Error,
    summary: "A node address or the VIP is not an IP address",
    explain: "\
## What it checks
That every `nodes[].address` and `controlPlaneEndpoint.vip` is an IPv4 or IPv6 address,
optionally followed by `/prefix`.

## Why it matters
The address goes into haproxy backends, keepalived peers, etcd URLs and certificate
SANs. A typo there is only noticed when failover is needed and does not happen.

## Example
```yaml
controlPlaneEndpoint:
  vip: 192.168.2.250.250      # five parts
```

## Fix
Write the address as four numbers 0..255 separated by dots (or an IPv6 address), and
the VIP with its prefix length: `192.168.2.250/24`.
",
};

/// TOP041.
pub const DUPLICATE_NODE_NAME: Rule = Rule {
    code: "TOP041",
    name: "duplicate-node-name",
    severity: Severity::Error,
    summary: "Two nodes have the same name",
    explain: "\
## What it checks
That node names are unique.

## Why it matters
The name is the Kubernetes Node object, the etcd member name, the certificate CN and the
bundle folder. Two nodes with one name overwrite each other's files and fight over one
Node object.

## Example
Two entries with `name: k8s-m1`.

## Fix
Rename one of the nodes (usually after its hostname).
",
};

/// TOP042.
pub const DUPLICATE_NODE_ADDRESS: Rule = Rule {
    code: "TOP042",
    name: "duplicate-node-address",
    severity: Severity::Error,
    summary: "Two nodes have the same address",
    explain: "\
## What it checks
That node addresses are unique.

## Why it matters
Each address is a backend, an etcd peer, a VRRP peer. A copied address means one
machine is listed twice and another not at all: the load balancer and etcd silently
have one member fewer than the file shows.

## Example
```yaml
  - {name: k8s-m2, address: 192.168.2.141, roles: [control-plane]}
  - {name: k8s-m3, address: 192.168.2.141, roles: [control-plane]}
```

## Fix
Give each node its own address.
",
};

/// TOP043.
pub const INVALID_NODE_NAME: Rule = Rule {
    code: "TOP043",
    name: "invalid-node-name",
    severity: Severity::Error,
    summary: "A node name is not a lowercase RFC 1123 name",
    explain: "\
## What it checks
That node names are lowercase RFC 1123 subdomains: letters a-z, digits, '-' and '.',
each label starting and ending with a letter or digit.

## Why it matters
kubeadm uses the name as the Node name, which Kubernetes validates; `kubeadm init`
fails on `K8s_M1` after half the setup has run.

## Example
```yaml
  - {name: K8S_M1, address: 10.0.0.11, roles: [control-plane]}
```

## Fix
Use the lowercase hostname, with '-' instead of '_': `k8s-m1`.
",
};

/// TOP044.
pub const INVALID_CLUSTER_NAME: Rule = Rule {
    code: "TOP044",
    name: "invalid-cluster-name",
    severity: Severity::Error,
    summary: "metadata.name is not a lowercase RFC 1123 name",
    explain: "\
## What it checks
That `metadata.name` is a lowercase RFC 1123 name.

## Why it matters
It becomes kubeadm's `clusterName`, the cluster entry in every kubeconfig and a flag of
the controller manager; odd characters break the tools that read those.

## Example
```yaml
metadata:
  name: Prod East
```

## Fix
Use lowercase letters, digits and '-': `prod-east`.
",
};

/// TOP045.
pub const VIP_IS_NODE_ADDRESS: Rule = Rule {
    code: "TOP045",
    name: "vip-is-node-address",
    severity: Severity::Error,
    summary: "The VIP is the address of a node",
    explain: "\
## What it checks
That the virtual IP is not also a node's own address.

## Why it matters
A VIP must be a free address that moves between nodes. If it is a node's address it
never moves: when that node fails, the endpoint fails with it, and VRRP or kube-vip
announce an address another machine already owns.

## Example
```yaml
controlPlaneEndpoint:
  vip: 192.168.2.140/24
nodes:
  - {name: k8s-m1, address: 192.168.2.140, roles: [control-plane]}
```

## Fix
Pick an unused address in the control planes' subnet for the VIP.
",
};

/// TOP046.
pub const VIP_OUTSIDE_NODE_SUBNET: Rule = Rule {
    code: "TOP046",
    name: "vip-outside-node-subnet",
    severity: Severity::Error,
    summary: "The VIP is not in the subnet of the control-plane nodes that hold it",
    explain: "\
## What it checks
For keepalived and kube-vip, that the VIP lies in the same subnet as every control-plane
node (the subnet is the VIP's prefix length, or the nodes' own where they give one).

## Why it matters
VRRP and ARP announce the VIP on the local network segment. A node outside the VIP's
subnet can take the VIP, but nobody can reach it there: failover \"works\" and the API
is still down.

## Example
```yaml
controlPlaneEndpoint:
  vip: 192.168.2.250/24
nodes:
  - {name: k8s-m3, address: 192.168.3.142, roles: [control-plane]}
```

## Fix
Choose a VIP in the control planes' subnet, correct its prefix length, or keep every
control plane on one L2 segment.
",
};

/// TOP047.
pub const LOOPBACK_ADDRESS: Rule = Rule {
    code: "TOP047",
    name: "loopback-address",
    severity: Severity::Warning,
    summary: "A node address or the VIP is a loopback, link-local or unspecified address",
    explain: "\
## What it checks
That node addresses and the VIP are not loopback (`127.0.0.0/8`, `::1`), link-local
(`169.254.0.0/16`, `fe80::/10`) or unspecified (`0.0.0.0`, `::`).

## Why it matters
Other machines cannot reach these addresses: etcd peers, haproxy backends and kubelets
would all dial themselves. Such a topology only works inside one machine (a test rig).

## Example
```yaml
nodes:
  - {name: k8s-m1, address: 127.0.0.1, roles: [control-plane]}
```

## Fix
Use each machine's address on the network the nodes share.
",
};

fn unroutable(ip: &std::net::IpAddr) -> Option<&'static str> {
    match ip {
        std::net::IpAddr::V4(a) if a.is_loopback() => Some("a loopback address"),
        std::net::IpAddr::V4(a) if a.is_link_local() => Some("a link-local address"),
        std::net::IpAddr::V4(a) if a.is_unspecified() => Some("the unspecified address"),
        std::net::IpAddr::V6(a) if a.is_loopback() => Some("a loopback address"),
        std::net::IpAddr::V6(a) if a.is_unspecified() => Some("the unspecified address"),
        std::net::IpAddr::V6(a) if (a.segments()[0] & 0xffc0) == 0xfe80 => {
            Some("a link-local address")
        }
        _ => None,
    }
}

/// TOP047.
pub fn loopback_address(cx: &Ctx<'_>, out: &mut Diagnostics) {
    for n in &cx.nodes {
        if let Some(what) = n.addr.and_then(|a| unroutable(&a.addr)) {
            out.push(
                Diagnostic::new(
                    &LOOPBACK_ADDRESS,
                    format!(
                        "node `{}` has {what}; other nodes cannot reach it",
                        n.name()
                    ),
                )
                .at(n.node.address.span(), n.path("address"))
                .help("use the machine's address on the network the nodes share"),
            );
        }
    }
    if let (Some(vip), Some(value)) = (cx.vip, cx.endpoint().and_then(|e| e.vip.as_ref()))
        && let Some(what) = unroutable(&vip.addr)
    {
        out.push(
            Diagnostic::new(
                &LOOPBACK_ADDRESS,
                format!("the VIP is {what}; clients on other machines cannot reach it"),
            )
            .at(value.span(), "spec.controlPlaneEndpoint.vip")
            .help("pick a free address in the control planes' subnet"),
        );
    }
}

/// TOP040.
pub fn invalid_ip_address(cx: &Ctx<'_>, out: &mut Diagnostics) {
    for n in &cx.nodes {
        if let Some(why) = &n.addr_error {
            out.push(
                Diagnostic::new(&INVALID_IP_ADDRESS, format!("node `{}`: {why}", n.name()))
                    .at(n.node.address.span(), n.path("address"))
                    .help("write an IPv4 or IPv6 address, such as 192.168.2.140"),
            );
        }
    }
    if let Some(vip) = cx.endpoint().and_then(|e| e.vip.as_ref())
        && let Some(why) = &cx.vip_error
    {
        out.push(
            Diagnostic::new(&INVALID_IP_ADDRESS, format!("VIP: {why}"))
                .at(vip.span(), "spec.controlPlaneEndpoint.vip")
                .help("write the VIP with its prefix length, such as 192.168.2.250/24"),
        );
    }
}

/// TOP041.
pub fn duplicate_node_name(cx: &Ctx<'_>, out: &mut Diagnostics) {
    for (i, n) in cx.nodes.iter().enumerate() {
        if let Some(first) = cx.nodes[..i].iter().find(|m| m.name() == n.name()) {
            out.push(
                Diagnostic::new(
                    &DUPLICATE_NODE_NAME,
                    format!("node name `{}` is used twice", n.name()),
                )
                .at(n.node.name.span(), n.path("name"))
                .label(first.node.name.span(), "first used here")
                .help("give every node its own name"),
            );
        }
    }
}

/// TOP042.
pub fn duplicate_node_address(cx: &Ctx<'_>, out: &mut Diagnostics) {
    for (i, n) in cx.nodes.iter().enumerate() {
        let Some(addr) = n.addr else { continue };
        if let Some(first) = cx.nodes[..i]
            .iter()
            .find(|m| m.addr.is_some_and(|a| a.addr == addr.addr))
        {
            out.push(
                Diagnostic::new(
                    &DUPLICATE_NODE_ADDRESS,
                    format!(
                        "node `{}` has address {}, already used by `{}`",
                        n.name(),
                        addr.addr,
                        first.name()
                    ),
                )
                .at(n.node.address.span(), n.path("address"))
                .label(first.node.address.span(), "first used here")
                .help("give every node its own address"),
            );
        }
    }
}

/// TOP043.
pub fn invalid_node_name(cx: &Ctx<'_>, out: &mut Diagnostics) {
    for n in &cx.nodes {
        if let Err(why) = check_dns1123_subdomain(n.name()) {
            out.push(
                Diagnostic::new(&INVALID_NODE_NAME, format!("node name: {why}"))
                    .at(n.node.name.span(), n.path("name"))
                    .help("use the lowercase hostname, such as k8s-m1"),
            );
        }
    }
}

/// TOP044.
pub fn invalid_cluster_name(cx: &Ctx<'_>, out: &mut Diagnostics) {
    let name = &cx.topology.metadata.name;
    if let Err(why) = check_dns1123_subdomain(name.get()) {
        out.push(
            Diagnostic::new(&INVALID_CLUSTER_NAME, format!("cluster name: {why}"))
                .at(name.span(), "metadata.name")
                .help("use lowercase letters, digits and '-', such as prod-east"),
        );
    }
}

/// TOP045.
pub fn vip_is_node_address(cx: &Ctx<'_>, out: &mut Diagnostics) {
    let (Some(vip), Some(vip_value)) = (cx.vip, cx.endpoint().and_then(|e| e.vip.as_ref())) else {
        return;
    };
    for n in &cx.nodes {
        if n.addr.is_some_and(|a| a.addr == vip.addr) {
            out.push(
                Diagnostic::new(
                    &VIP_IS_NODE_ADDRESS,
                    format!("the VIP {} is the address of node `{}`", vip.addr, n.name()),
                )
                .at(vip_value.span(), "spec.controlPlaneEndpoint.vip")
                .label(n.node.address.span(), "node address")
                .help("pick an unused address in the control planes' subnet for the VIP"),
            );
        }
    }
}

/// TOP046.
pub fn vip_outside_node_subnet(cx: &Ctx<'_>, out: &mut Diagnostics) {
    if !cx.lb.holds_vip() {
        return;
    }
    let (Some(vip), Some(vip_value)) = (cx.vip, cx.endpoint().and_then(|e| e.vip.as_ref())) else {
        return;
    };
    // The VIP's prefix says which subnet it is announced on; a node's own prefix says
    // which subnet the node is on. Either one outside the other is unreachable.
    let outside: Vec<_> = cx
        .control_planes()
        .filter_map(|cp| {
            let addr = cp.addr?;
            let nets = [
                vip.network().map(|net| (net, addr.addr)),
                addr.network().map(|net| (net, vip.addr)),
            ];
            let (net, _) = nets
                .into_iter()
                .flatten()
                .find(|(net, ip)| !net.contains(ip))?;
            Some((cp, addr, net))
        })
        .collect();
    let Some((_, _, net)) = outside.first() else {
        return;
    };
    let listed: Vec<String> = outside
        .iter()
        .map(|(cp, addr, _)| format!("{} ({})", cp.name(), addr.addr))
        .collect();
    let mut d = Diagnostic::new(
        &VIP_OUTSIDE_NODE_SUBNET,
        format!(
            "the VIP {vip} is not in one subnet ({net}) with {} of the {} control planes: {}",
            outside.len(),
            cx.control_planes().count(),
            listed.join(", ")
        ),
    )
    .at(vip_value.span(), "spec.controlPlaneEndpoint.vip")
    .help("choose a VIP in the control planes' subnet, or fix its prefix length");
    for (cp, _, _) in &outside {
        d = d.label(
            cp.node.address.span(),
            "would hold the VIP, outside its subnet",
        );
    }
    out.push(d);
}

#[cfg(test)]
mod tests {
    use super::super::test_support::*;

    #[test]
    fn the_seed_typo_is_caught() {
        let t = topology("", &THREE_CP).replace("10.0.0.100/24", "192.168.2.250.250");
        let m = messages(&t, "TOP040");
        assert_eq!(m.len(), 1);
        assert!(
            m[0].contains(
                "`192.168.2.250.250` is not an IP address: an IPv4 address has 4 parts, this has 5"
            ),
            "{}",
            m[0]
        );
        let t = topology(
            "",
            &[
                "cp1 10.0.0.311 control-plane",
                "cp2 10.0.0.12 control-plane",
                "cp3 10.0.0.13 control-plane",
            ],
        );
        assert_eq!(codes(&t), vec!["TOP040"]);
    }

    #[test]
    fn duplicates_and_names() {
        let t = topology(
            "",
            &[
                "cp1 10.0.0.11 control-plane",
                "cp1 10.0.0.12 control-plane",
                "cp3 10.0.0.12 control-plane",
            ],
        );
        assert_eq!(codes(&t), vec!["TOP041", "TOP042"]);
        let t = topology(
            "",
            &[
                "CP_1 10.0.0.11 control-plane",
                "cp2 10.0.0.12 control-plane",
                "cp3 10.0.0.13 control-plane",
            ],
        );
        assert_eq!(codes(&t), vec!["TOP043"]);
        let t = topology("", &THREE_CP).replace("name: test", "name: Prod East");
        assert_eq!(codes(&t), vec!["TOP044"]);
    }

    #[test]
    fn loopback_is_a_warning() {
        let t = topology(
            "",
            &[
                "cp1 127.0.0.11 control-plane",
                "cp2 10.0.0.12 control-plane",
                "cp3 10.0.0.13 control-plane",
            ],
        )
        .replace("10.0.0.100/24", "10.0.0.100");
        assert_eq!(codes(&t), vec!["TOP047"]);
    }

    #[test]
    fn vip_placement() {
        let t = topology("", &THREE_CP).replace("10.0.0.100/24", "10.0.0.11/24");
        assert_eq!(codes(&t), vec!["TOP045"]);
        let t = topology(
            "",
            &[
                "cp1 10.0.0.11 control-plane",
                "cp2 10.0.0.12 control-plane",
                "cp3 10.0.1.13 control-plane",
            ],
        );
        assert_eq!(codes(&t), vec!["TOP046"]);
        // A node's own prefix is honoured when the VIP has none.
        let t = topology(
            "",
            &[
                "cp1 10.0.0.11/24 control-plane",
                "cp2 10.0.0.12 control-plane",
                "cp3 10.0.0.13 control-plane",
            ],
        )
        .replace("10.0.0.100/24", "10.0.5.100");
        assert_eq!(codes(&t), vec!["TOP046"]);
        // An external LB's VIP lives on the LB, not on the nodes.
        let ext = topology(
            "loadBalancer:\n  type: external",
            &[
                "cp1 10.0.0.11 control-plane",
                "cp2 10.0.0.12 control-plane",
                "cp3 10.0.1.13 control-plane",
            ],
        );
        assert!(codes(&ext).is_empty(), "{:?}", codes(&ext));
    }
}
