//! The commented starter topology that `hagen init` writes. It must validate cleanly
//! (a test checks it), and it is the layout most users copy by hand today: three
//! control planes with stacked etcd behind haproxy + keepalived.

/// The file `hagen init` writes; `SCHEMA` is replaced by the schema reference.
const STARTER: &str = "\
# yaml-language-server: $schema=SCHEMA
#
# hagen topology: one file that describes a highly available control plane.
#   hagen validate topology.yaml        check it (exit 0 when there is no error)
#   hagen render topology.yaml -o out/  write every file for every node
#   hagen explain RULE                  what a finding means and how to fix it
apiVersion: hagen/v1alpha1
kind: Topology
metadata:
  name: prod-east                  # kubeadm clusterName
spec:
  kubernetesVersion: v1.31.2       # v1beta4 kubeadm files from 1.31, v1beta3 before
  controlPlaneEndpoint:
    vip: 192.168.2.250/24          # a FREE address in the control planes' subnet, with its prefix
    dns: api.k8s.local             # optional; goes into every API server certificate
    port: 8443                     # what clients dial; haproxy listens here
  apiServer:
    bindPort: 6443                 # kube-apiserver on every control plane
    certSANs: [k8s.example.com]    # extra names; hagen adds the VIP, dns and node addresses itself
  loadBalancer:
    type: haproxy-keepalived       # haproxy-keepalived | keepalived | nginx-local | kube-vip | external
    interface: eth0                # where keepalived holds the VIP (a node may override it)
    virtualRouterId: 48            # 1..255, unique among VRRP groups on the subnet
  etcd:
    type: stacked                  # stacked (one member per control plane) | external (etcd nodes)
  networking:
    podSubnet: 10.244.0.0/16       # must not overlap the nodes' network
    serviceSubnet: 10.96.0.0/12
    dnsDomain: cluster.local
  pki:
    keyAlgorithm: ecdsa-p256       # ecdsa-p256 | rsa-2048 | rsa-3072 | rsa-4096
    certValidityDays: 365
    caValidityDays: 3650
  nodes:                           # an odd number of etcd members: 3, 5 or 7
    - name: k8s-m1                 # the first control plane runs `kubeadm init`
      address: 192.168.2.140
      roles: [control-plane]
    - name: k8s-m2
      address: 192.168.2.141
      roles: [control-plane]
    - name: k8s-m3
      address: 192.168.2.142
      roles: [control-plane]
    - name: k8s-w1
      address: 192.168.2.150
      roles: [worker]
";

/// The starter topology, with its `$schema` line pointing at `schema`.
pub fn starter_topology(schema: &str) -> String {
    STARTER.replacen("SCHEMA", schema, 1)
}

#[cfg(test)]
mod tests {
    #[test]
    fn starter_validates_cleanly() {
        let text = super::starter_topology("./topology.schema.json");
        assert!(text.starts_with("# yaml-language-server: $schema=./topology.schema.json\n"));
        let checked = crate::check(&crate::source::SourceFile::new("topology.yaml", text));
        assert!(checked.diagnostics.is_empty(), "{:?}", checked.diagnostics);
        assert!(checked.plan.is_some());
    }
}
