#!/usr/bin/env bash
# The PKI of fixtures/bench/3cp-2w.yaml made by hand with the openssl command line, the
# way the seeds' runbooks do it: every key ECDSA P-256, every certificate with kubeadm's
# CN, O, SANs, usages and validity (Kubernetes 1.31), the kubeconfigs with their
# certificates embedded. Workers get nothing (they join with a bootstrap token).
# It is the baseline `bench/compare.sh` times `hagen render` against.
# Usage: bench/openssl-pki.sh OUT_DIR
set -euo pipefail
out=${1:?usage: openssl-pki.sh OUT_DIR}
rm -rf "$out"
mkdir -p "$out/shared/etcd"
cd "$out"

VIP=10.20.0.250 DNS=k8s-api.bench.local PORT=8443 SVC_IP=10.96.0.1 CLUSTER=bench-5
CPS=(cp1 cp2 cp3)
declare -A ADDR=([cp1]=10.20.1.1 [cp2]=10.20.1.2 [cp3]=10.20.1.3)

key() { openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$1" 2>/dev/null; }

# ca NAME CN: a self-signed CA for 10 years.
ca() {
  key "shared/$1.key"
  openssl req -x509 -new -key "shared/$1.key" -subj "/CN=$2" -days 3650 -sha256 \
    -addext "basicConstraints=critical,CA:TRUE" \
    -addext "keyUsage=critical,digitalSignature,keyEncipherment,keyCertSign" \
    -addext "subjectAltName=DNS:$2" -out "shared/$1.crt"
}

# leaf CA OUT SUBJ EKU [SANS]: a key, a CSR and a certificate signed by CA for a year.
leaf() {
  local ca=$1 out=$2 subj=$3 eku=$4 sans=${5:-}
  key "$out.key"
  openssl req -new -key "$out.key" -subj "$subj" -out "$out.csr"
  {
    echo "basicConstraints=critical,CA:FALSE"
    echo "keyUsage=critical,digitalSignature,keyEncipherment"
    echo "extendedKeyUsage=$eku"
    echo "authorityKeyIdentifier=keyid"
    [ -n "$sans" ] && echo "subjectAltName=$sans"
  } >"$out.ext"
  openssl x509 -req -in "$out.csr" -CA "shared/$ca.crt" -CAkey "shared/$ca.key" \
    -set_serial "0x$(openssl rand -hex 16)" -days 365 -sha256 -extfile "$out.ext" \
    -out "$out.crt" 2>/dev/null
  rm -f "$out.csr" "$out.ext"
}

# kubeconfig NODE FILE CN O SERVER
kubeconfig() {
  local node=$1 file=$2 cn=$3 org=$4 server=$5 dir="$1/etc/kubernetes"
  local subj="/CN=$cn"
  [ -n "$org" ] && subj="/O=$org/CN=$cn"
  leaf ca "$dir/$file.client" "$subj" clientAuth
  cat >"$dir/$file" <<KC
apiVersion: v1
kind: Config
clusters:
- cluster:
    certificate-authority-data: $(base64 -w0 shared/ca.crt)
    server: $server
  name: $CLUSTER
contexts:
- context:
    cluster: $CLUSTER
    user: $cn
  name: $cn@$CLUSTER
current-context: $cn@$CLUSTER
users:
- name: $cn
  user:
    client-certificate-data: $(base64 -w0 "$dir/$file.client.crt")
    client-key-data: $(base64 -w0 "$dir/$file.client.key")
KC
  rm -f "$dir/$file.client.crt" "$dir/$file.client.key"
}

ca ca kubernetes
ca front-proxy-ca front-proxy-ca
ca etcd/ca etcd-ca
key shared/sa.key
openssl pkey -in shared/sa.key -pubout -out shared/sa.pub

first=1
for n in "${CPS[@]}"; do
  ip=${ADDR[$n]} pki="$n/etc/kubernetes/pki"
  mkdir -p "$pki/etcd"
  for f in ca.crt ca.key front-proxy-ca.crt front-proxy-ca.key etcd/ca.crt etcd/ca.key sa.key sa.pub; do
    cp "shared/$f" "$pki/$f"
  done
  leaf ca "$pki/apiserver" "/CN=kube-apiserver" serverAuth \
    "DNS:$DNS,DNS:kubernetes,DNS:kubernetes.default,DNS:kubernetes.default.svc,DNS:kubernetes.default.svc.cluster.local,DNS:$n,IP:$SVC_IP,IP:$VIP,IP:$ip"
  leaf ca "$pki/apiserver-kubelet-client" "/O=kubeadm:cluster-admins/CN=kube-apiserver-kubelet-client" clientAuth
  leaf front-proxy-ca "$pki/front-proxy-client" "/CN=front-proxy-client" clientAuth
  etcd_sans="DNS:$n,DNS:localhost,IP:$ip,IP:127.0.0.1,IP:::1"
  leaf etcd/ca "$pki/etcd/server" "/CN=$n" serverAuth,clientAuth "$etcd_sans"
  leaf etcd/ca "$pki/etcd/peer" "/CN=$n" serverAuth,clientAuth "$etcd_sans"
  leaf etcd/ca "$pki/etcd/healthcheck-client" "/CN=kube-etcd-healthcheck-client" clientAuth
  leaf etcd/ca "$pki/apiserver-etcd-client" "/CN=kube-apiserver-etcd-client" clientAuth
  kubeconfig "$n" admin.conf kubernetes-admin kubeadm:cluster-admins "https://$DNS:$PORT"
  if [ "$first" = 1 ]; then
    kubeconfig "$n" super-admin.conf kubernetes-super-admin system:masters "https://$DNS:$PORT"
    first=0
  fi
  kubeconfig "$n" controller-manager.conf system:kube-controller-manager "" "https://$ip:6443"
  kubeconfig "$n" scheduler.conf system:kube-scheduler "" "https://$ip:6443"
done
rm -rf shared
