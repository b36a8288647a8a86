//! TOP060–TOP068: what each load-balancer type needs, ports and interfaces.

use super::Ctx;
use crate::diag::Rule;
use crate::diag::{Diagnostic, Diagnostics, Severity};
use crate::net::check_interface_name;
use crate::topology::LbType;

/// TOP060.
pub const LOAD_BALANCER_NEEDS_VIP: Rule = Rule {
    code: "TOP060",
    name: "load-balancer-needs-vip",
    severity: Severity::Error,
    summary: "haproxy-keepalived, keepalived and kube-vip need controlPlaneEndpoint.vip",
    explain: "\
## What it checks
That the load-balancer types which hold a virtual IP have one: `haproxy-keepalived`,
`keepalived` and `kube-vip` need `controlPlaneEndpoint.vip`.

## Why it matters
These types exist to move one address between the control planes. Without it there is
nothing to fail over, and no stable endpoint for kubeadm.

## Example
```yaml
controlPlaneEndpoint:
  dns: api.k8s.local
loadBalancer:
  type: keepalived
```

## Fix
Add a free address of the control planes' subnet: `vip: 192.168.2.250/24`.
",
};

/// TOP061.
pub const EXTERNAL_LB_NEEDS_ENDPOINT: Rule = Rule {
    code: "TOP061",
    name: "external-lb-needs-endpoint",
    severity: Severity::Error,
    summary: "An external load balancer needs controlPlaneEndpoint.dns or .vip",
    explain: "\
## What it checks
That `loadBalancer.type: external` comes with the address of that load balancer:
`controlPlaneEndpoint.dns`, `controlPlaneEndpoint.vip`, or both.

## Why it matters
hagen does not manage an external load balancer, so the only way it knows where the API
is reached is the endpoint. kubeadm needs it as `controlPlaneEndpoint`, and the API
server certificate must carry it, or clients will reject the connection.

## Example
```yaml
loadBalancer:
  type: external
```

## Fix
Add the load balancer's name or address: `controlPlaneEndpoint: {dns: api.example.com, port: 6443}`.
",
};

/// TOP062.
pub const VIRTUAL_ROUTER_ID_OUT_OF_RANGE: Rule = Rule {
    code: "TOP062",
    name: "virtual-router-id-out-of-range",
    severity: Severity::Error,
    summary: "virtualRouterId is outside 1..255",
    explain: "\
## What it checks
That `loadBalancer.virtualRouterId` is between 1 and 255.

## Why it matters
VRRP carries the router id in one byte, and keepalived refuses to start with any other
value, so the VIP never comes up.

## Example
```yaml
loadBalancer:
  virtualRouterId: 300
```

## Fix
Choose an id in 1..255 that no other VRRP group on the subnet uses.
",
};

/// TOP063.
pub const ENDPOINT_PORT_COLLIDES_WITH_BIND_PORT: Rule = Rule {
    code: "TOP063",
    name: "endpoint-port-collides-with-bind-port",
    severity: Severity::Error,
    summary: "The proxy on the control planes would listen on the API server's own port",
    explain: "\
## What it checks
For `haproxy-keepalived` and `nginx-local`, where a proxy runs on the control-plane
nodes themselves, that `controlPlaneEndpoint.port` differs from `apiServer.bindPort`.

## Why it matters
The proxy and kube-apiserver would both bind the same port on the same machine. Whichever
starts second fails, usually the API server after a reboot.

## Example
```yaml
controlPlaneEndpoint:
  vip: 192.168.2.250/24
  port: 6443
apiServer:
  bindPort: 6443
loadBalancer:
  type: haproxy-keepalived
```

## Fix
Give the endpoint its own port (8443 is usual) and keep the API servers on 6443.
",
};

/// TOP064.
pub const ENDPOINT_PORT_NOT_BIND_PORT: Rule = Rule {
    code: "TOP064",
    name: "endpoint-port-not-bind-port",
    severity: Severity::Error,
    summary: "With keepalived or kube-vip alone, clients dial the API servers' own port",
    explain: "\
## What it checks
For `keepalived` and `kube-vip`, which move the VIP to an API server without a proxy,
that `controlPlaneEndpoint.port` equals `apiServer.bindPort`.

## Why it matters
Nothing translates ports on the way: a client dialing VIP:8443 reaches the node holding
the VIP on 8443, where nothing listens.

## Example
```yaml
controlPlaneEndpoint:
  vip: 192.168.2.250/24
  port: 8443
loadBalancer:
  type: keepalived
```

## Fix
Use the same port for both (6443), or choose `haproxy-keepalived` to proxy between them.
",
};

/// TOP065.
pub const INVALID_INTERFACE_NAME: Rule = Rule {
    code: "TOP065",
    name: "invalid-interface-name",
    severity: Severity::Error,
    summary: "An interface name is not a valid Linux interface name",
    explain: "\
## What it checks
That `loadBalancer.interface` and `nodes[].interface` are valid Linux interface names:
1 to 15 bytes, without '/', ':' or whitespace.

## Why it matters
keepalived and kube-vip bind the VIP to this interface. An impossible name cannot exist
on the machine, so the VIP is never announced.

## Example
```yaml
loadBalancer:
  interface: \"eth0 \"
```

## Fix
Use the name `ip -br link` shows on the node, such as `eth0` or `ens192`.
",
};

/// TOP066.
pub const MISSING_INTERFACE: Rule = Rule {
    code: "TOP066",
    name: "missing-interface",
    severity: Severity::Error,
    summary: "keepalived or kube-vip has no interface to hold the VIP on",
    explain: "\
## What it checks
That the VIP types (`haproxy-keepalived`, `keepalived`, `kube-vip`) know the interface
of every control plane: `loadBalancer.interface`, or the node's own `interface`.

## Why it matters
keepalived's `vrrp_instance` and kube-vip's `vip_interface` require it; guessing would
put the VIP on the wrong network on multi-homed machines.

## Example
```yaml
loadBalancer:
  type: keepalived     # no interface, and the nodes give none
```

## Fix
Add `interface: eth0` under `loadBalancer` (and per node where it differs).
",
};

/// TOP067.
pub const UNUSED_LOAD_BALANCER_SETTING: Rule = Rule {
    code: "TOP067",
    name: "unused-load-balancer-setting",
    severity: Severity::Warning,
    summary: "A setting that the chosen load-balancer type does not use",
    explain: "\
## What it checks
That `virtualRouterId` and `authPass` are only set for the VRRP types
(`haproxy-keepalived`, `keepalived`), `kubeVipImage` only for `kube-vip`, an `interface`
only for the VIP types, and a `vip` not for `nginx-local`.

## Why it matters
A setting that is ignored usually means the type is not the one intended: a
`virtualRouterId` with `kube-vip` suggests keepalived was meant.

## Example
```yaml
loadBalancer:
  type: nginx-local
  virtualRouterId: 48
```

## Fix
Remove the setting, or choose the type that uses it.
",
};

/// TOP068.
pub const INVALID_PORT: Rule = Rule {
    code: "TOP068",
    name: "invalid-port",
    severity: Severity::Error,
    summary: "A port is outside 1..65535",
    explain: "\
## What it checks
That `controlPlaneEndpoint.port` and `apiServer.bindPort` are between 1 and 65535.

## Why it matters
Nothing can listen on port 0 or above 65535; kubeadm, haproxy and nginx all refuse it.

## Example
```yaml
controlPlaneEndpoint:
  port: 84430
```

## Fix
Use a port in 1..65535: 6443 for the API servers, 8443 for a proxy in front of them.
",
};

/// TOP069.
pub const INVALID_AUTH_PASS: Rule = Rule {
    code: "TOP069",
    name: "invalid-auth-pass",
    severity: Severity::Error,
    summary: "authPass is longer than 8 characters or contains what keepalived cuts",
    explain: "\
## What it checks
That `loadBalancer.authPass` has 1 to 8 characters, without spaces, quotes, `#` or `!`.

## Why it matters
VRRP carries at most 8 characters of password and keepalived silently cuts the rest;
`#` and `!` start a comment even inside a value. Nodes written with different versions of
the file then disagree on the password, reject each other's adverts, and each takes the
VIP: two holders at once.

## Example
```yaml
loadBalancer:
  authPass: k8s-cluster-2024
```

## Fix
Use at most 8 plain characters, or drop `authPass`: it is sent in clear text and adds no
security; hagen's unicast peers already limit who speaks VRRP.
",
};

/// TOP069.
pub fn invalid_auth_pass(cx: &Ctx<'_>, out: &mut Diagnostics) {
    let Some(pass) = &cx.spec.load_balancer.auth_pass else {
        return;
    };
    let text = pass.get();
    let why = if text.is_empty() {
        Some("authPass is empty".to_string())
    } else if text.chars().count() > 8 {
        Some(format!(
            "authPass has {} characters; VRRP keeps only the first 8",
            text.chars().count()
        ))
    } else {
        text.chars()
            .find(|c| matches!(c, '#' | '!' | '"' | '\'') || c.is_whitespace() || c.is_control())
            .map(|c| {
                format!(
                    "authPass contains {c:?}, which keepalived treats as a comment or separator"
                )
            })
    };
    if let Some(why) = why {
        out.push(
            Diagnostic::new(&INVALID_AUTH_PASS, why)
                .at(pass.span(), "spec.loadBalancer.authPass")
                .help("use 1 to 8 letters and digits, or remove authPass"),
        );
    }
}

/// TOP060.
pub fn load_balancer_needs_vip(cx: &Ctx<'_>, out: &mut Diagnostics) {
    let has_vip = cx.endpoint().is_some_and(|e| e.vip.is_some());
    if cx.lb.holds_vip() && !has_vip {
        let kind = &cx.spec.load_balancer.kind;
        out.push(
            Diagnostic::new(
                &LOAD_BALANCER_NEEDS_VIP,
                format!("load balancer `{}` needs controlPlaneEndpoint.vip", cx.lb.as_str()),
            )
            .at(kind.span(), "spec.loadBalancer.type")
            .help("add `controlPlaneEndpoint.vip`, a free address of the control planes' subnet with its prefix: 192.168.2.250/24"),
        );
    }
}

/// TOP061.
pub fn external_lb_needs_endpoint(cx: &Ctx<'_>, out: &mut Diagnostics) {
    let has = cx
        .endpoint()
        .is_some_and(|e| e.vip.is_some() || e.dns.is_some());
    if cx.lb == LbType::External && !has {
        out.push(
            Diagnostic::new(
                &EXTERNAL_LB_NEEDS_ENDPOINT,
                "an external load balancer needs controlPlaneEndpoint.dns or .vip",
            )
            .at(cx.spec.load_balancer.kind.span(), "spec.loadBalancer.type")
            .help(
                "add the load balancer's DNS name (`controlPlaneEndpoint.dns`) or address (`.vip`)",
            ),
        );
    }
}

/// TOP062.
pub fn virtual_router_id_out_of_range(cx: &Ctx<'_>, out: &mut Diagnostics) {
    if let Some(vrid) = &cx.spec.load_balancer.virtual_router_id
        && !(1..=255).contains(vrid.get())
    {
        out.push(
            Diagnostic::new(
                &VIRTUAL_ROUTER_ID_OUT_OF_RANGE,
                format!("virtualRouterId {} is outside 1..255", vrid.get()),
            )
            .at(vrid.span(), "spec.loadBalancer.virtualRouterId")
            .help("choose an id in 1..255 that no other VRRP group on the subnet uses"),
        );
    }
}

fn port_spans<'a>(
    cx: &'a Ctx<'_>,
) -> (
    Option<&'a crate::topology::S<u32>>,
    Option<&'a crate::topology::S<u32>>,
) {
    (
        cx.endpoint().and_then(|e| e.port.as_ref()),
        cx.spec
            .api_server
            .as_ref()
            .and_then(|a| a.bind_port.as_ref()),
    )
}

/// TOP063.
pub fn endpoint_port_collides_with_bind_port(cx: &Ctx<'_>, out: &mut Diagnostics) {
    let proxy_on_cp = matches!(cx.lb, LbType::HaproxyKeepalived | LbType::NginxLocal);
    if !proxy_on_cp || cx.port != cx.bind_port {
        return;
    }
    let (port, bind) = port_spans(cx);
    let mut d = Diagnostic::new(
        &ENDPOINT_PORT_COLLIDES_WITH_BIND_PORT,
        format!(
            "{} on the control planes would listen on port {}, which kube-apiserver already binds",
            if cx.lb == LbType::NginxLocal {
                "nginx"
            } else {
                "haproxy"
            },
            cx.port
        ),
    )
    .help(format!(
        "give the endpoint its own port (such as {}) and keep apiServer.bindPort {}",
        if cx.bind_port == 8443 { 9443 } else { 8443 },
        cx.bind_port
    ));
    d = match (port, bind) {
        (Some(p), _) => d.at(p.span(), "spec.controlPlaneEndpoint.port"),
        (None, Some(b)) => d.at(b.span(), "spec.apiServer.bindPort"),
        (None, None) => d.at(cx.spec.load_balancer.kind.span(), "spec.loadBalancer.type"),
    };
    if let (Some(_), Some(b)) = (port, bind) {
        d = d.label(b.span(), "kube-apiserver's port");
    }
    out.push(d);
}

/// TOP064.
pub fn endpoint_port_not_bind_port(cx: &Ctx<'_>, out: &mut Diagnostics) {
    if !matches!(cx.lb, LbType::Keepalived | LbType::KubeVip) || cx.port == cx.bind_port {
        return;
    }
    let (port, bind) = port_spans(cx);
    let mut d = Diagnostic::new(
        &ENDPOINT_PORT_NOT_BIND_PORT,
        format!(
            "clients would dial the VIP on port {}, but `{}` forwards nothing: the API servers listen on {}",
            cx.port,
            cx.lb.as_str(),
            cx.bind_port
        ),
    )
    .help(format!("set controlPlaneEndpoint.port to {} (or use haproxy-keepalived)", cx.bind_port));
    d = match (port, bind) {
        (Some(p), _) => d.at(p.span(), "spec.controlPlaneEndpoint.port"),
        (None, Some(b)) => d.at(b.span(), "spec.apiServer.bindPort"),
        (None, None) => d,
    };
    out.push(d);
}

/// TOP065.
pub fn invalid_interface_name(cx: &Ctx<'_>, out: &mut Diagnostics) {
    let global = cx
        .spec
        .load_balancer
        .interface
        .as_ref()
        .map(|i| (i, "spec.loadBalancer.interface".to_string()));
    let per_node = cx
        .nodes
        .iter()
        .filter_map(|n| n.node.interface.as_ref().map(|i| (i, n.path("interface"))));
    for (value, path) in global.into_iter().chain(per_node) {
        if let Err(why) = check_interface_name(value.get()) {
            out.push(
                Diagnostic::new(&INVALID_INTERFACE_NAME, format!("interface: {why}"))
                    .at(value.span(), path)
                    .help("use the name `ip -br link` shows on the node, such as eth0"),
            );
        }
    }
}

/// TOP066.
pub fn missing_interface(cx: &Ctx<'_>, out: &mut Diagnostics) {
    if !cx.lb.holds_vip() || cx.spec.load_balancer.interface.is_some() {
        return;
    }
    for cp in cx.control_planes() {
        if cp.node.interface.is_none() {
            out.push(
                Diagnostic::new(
                    &MISSING_INTERFACE,
                    format!(
                        "control plane `{}` has no interface for the VIP (`{}` needs one)",
                        cp.name(),
                        cx.lb.as_str()
                    ),
                )
                .at(cp.node.name.span(), cp.path("name"))
                .help("add `interface: eth0` under spec.loadBalancer, or to this node"),
            );
        }
    }
}

/// TOP067.
pub fn unused_load_balancer_setting(cx: &Ctx<'_>, out: &mut Diagnostics) {
    let lb = &cx.spec.load_balancer;
    let kind = cx.lb.as_str();
    if let Some(v) = lb.auth_pass.as_ref().filter(|_| !cx.lb.uses_vrrp()) {
        out.push(
            Diagnostic::new(
                &UNUSED_LOAD_BALANCER_SETTING,
                format!("`{kind}` does not use VRRP; authPass is ignored"),
            )
            .at(v.span(), "spec.loadBalancer.authPass")
            .help("remove authPass, or use haproxy-keepalived or keepalived"),
        );
    }
    if let Some(v) = lb
        .kube_vip_image
        .as_ref()
        .filter(|_| cx.lb != LbType::KubeVip)
    {
        out.push(
            Diagnostic::new(
                &UNUSED_LOAD_BALANCER_SETTING,
                format!("`{kind}` runs no kube-vip; kubeVipImage is ignored"),
            )
            .at(v.span(), "spec.loadBalancer.kubeVipImage")
            .help("remove kubeVipImage, or use type kube-vip"),
        );
    }
    if let Some(v) = lb.virtual_router_id.as_ref().filter(|_| !cx.lb.uses_vrrp()) {
        out.push(
            Diagnostic::new(
                &UNUSED_LOAD_BALANCER_SETTING,
                format!("`{kind}` does not use VRRP; virtualRouterId is ignored"),
            )
            .at(v.span(), "spec.loadBalancer.virtualRouterId")
            .help("remove virtualRouterId, or use haproxy-keepalived or keepalived"),
        );
    }
    if !cx.lb.holds_vip() {
        let global = lb
            .interface
            .as_ref()
            .map(|i| (i, "spec.loadBalancer.interface".to_string()));
        let per_node = cx
            .nodes
            .iter()
            .filter_map(|n| n.node.interface.as_ref().map(|i| (i, n.path("interface"))));
        for (value, path) in global.into_iter().chain(per_node) {
            out.push(
                Diagnostic::new(&UNUSED_LOAD_BALANCER_SETTING, format!("`{kind}` holds no VIP; the interface is ignored"))
                    .at(value.span(), path)
                    .help("remove the interface, or use a VIP type (haproxy-keepalived, keepalived, kube-vip)"),
            );
        }
    }
    if cx.lb == LbType::NginxLocal
        && let Some(vip) = cx.endpoint().and_then(|e| e.vip.as_ref())
    {
        out.push(
            Diagnostic::new(
                &UNUSED_LOAD_BALANCER_SETTING,
                "`nginx-local` proxies on 127.0.0.1 of every node; the VIP is not held by anything",
            )
            .at(vip.span(), "spec.controlPlaneEndpoint.vip")
            .help("remove the VIP, or use haproxy-keepalived / keepalived / kube-vip to hold it"),
        );
    }
}

/// TOP068.
pub fn invalid_port(cx: &Ctx<'_>, out: &mut Diagnostics) {
    let (port, bind) = port_spans(cx);
    for (value, path) in [
        (port, "spec.controlPlaneEndpoint.port"),
        (bind, "spec.apiServer.bindPort"),
    ] {
        if let Some(v) = value.filter(|v| !(1..=65535).contains(v.get())) {
            out.push(
                Diagnostic::new(
                    &INVALID_PORT,
                    format!("port {} is outside 1..65535", v.get()),
                )
                .at(v.span(), path)
                .help("use a port in 1..65535, such as 6443 or 8443"),
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::test_support::*;

    const EP_VIP: &str = "controlPlaneEndpoint:\n  vip: 10.0.0.100/24\n";

    #[test]
    fn each_type_and_its_needs() {
        let cases: &[(&str, &[&str])] = &[
            (
                "controlPlaneEndpoint:\n  dns: api.k8s.local\n  port: 8443",
                &["TOP060"],
            ),
            (
                "controlPlaneEndpoint:\n  dns: api.k8s.local\nloadBalancer:\n  type: keepalived\n  interface: eth0",
                &["TOP060"],
            ),
            (
                "controlPlaneEndpoint:\n  port: 6443\nloadBalancer:\n  type: external",
                &["TOP061"],
            ),
            (
                "controlPlaneEndpoint:\n  dns: api.k8s.local\nloadBalancer:\n  type: external",
                &[],
            ),
            (
                "controlPlaneEndpoint:\n  port: 8443\nloadBalancer:\n  type: nginx-local",
                &[],
            ),
            (
                "controlPlaneEndpoint:\n  dns: api.k8s.local\n  port: 8443\nloadBalancer:\n  type: nginx-local",
                &[],
            ),
            (
                "controlPlaneEndpoint:\n  vip: 10.0.0.100/24\n  port: 8443\nloadBalancer:\n  type: nginx-local",
                &["TOP067"],
            ),
        ];
        for (spec, want) in cases {
            assert_eq!(codes(&topology(spec, &THREE_CP)), *want, "{spec}");
        }
    }

    #[test]
    fn ports() {
        let cases: &[(&str, &[&str])] = &[
            (
                "controlPlaneEndpoint:\n  vip: 10.0.0.100/24\n  port: 6443",
                &["TOP063"],
            ),
            ("controlPlaneEndpoint:\n  vip: 10.0.0.100/24", &["TOP063"]),
            (
                "controlPlaneEndpoint:\n  vip: 10.0.0.100/24\n  port: 8443\napiServer:\n  bindPort: 8443",
                &["TOP063"],
            ),
            (
                "controlPlaneEndpoint:\n  vip: 10.0.0.100/24\n  port: 8443\nloadBalancer:\n  type: keepalived\n  interface: eth0",
                &["TOP064"],
            ),
            (
                "controlPlaneEndpoint:\n  vip: 10.0.0.100/24\nloadBalancer:\n  type: kube-vip\n  interface: eth0",
                &[],
            ),
            (
                "controlPlaneEndpoint:\n  vip: 10.0.0.100/24\n  port: 84430",
                &["TOP068"],
            ),
        ];
        for (spec, want) in cases {
            assert_eq!(codes(&topology(spec, &THREE_CP)), *want, "{spec}");
        }
    }

    #[test]
    fn vrid_and_interfaces() {
        let cases: &[(&str, &[&str])] = &[
            (
                "loadBalancer:\n  type: haproxy-keepalived\n  interface: eth0\n  virtualRouterId: 300",
                &["TOP062"],
            ),
            (
                "loadBalancer:\n  type: haproxy-keepalived\n  interface: eth0\n  virtualRouterId: 0",
                &["TOP062"],
            ),
            (
                "loadBalancer:\n  type: haproxy-keepalived\n  interface: eth0\n  virtualRouterId: 255",
                &[],
            ),
            (
                "loadBalancer:\n  type: haproxy-keepalived\n  interface: \"eth 0\"",
                &["TOP065"],
            ),
            ("loadBalancer:\n  type: haproxy-keepalived", &["TOP066"]),
            (
                "loadBalancer:\n  type: kube-vip\n  interface: eth0\n  virtualRouterId: 48",
                &["TOP067"],
            ),
        ];
        for (spec, want) in cases {
            let spec = format!("{EP_VIP}  port: 8443\n{spec}");
            let mut got = codes(&topology(&spec, &THREE_CP));
            got.retain(|c| *c != "TOP064");
            assert_eq!(got, *want, "{spec}");
        }
    }
}
