#!/bin/sh
# Makes the EXAMPLE certificates rund's tests and walkthrough use: P-521 keys, SHA-512 signatures (and one P-256
# server certificate for clients that cannot verify P-521).
# Never serve real jobs with these keys: the private keys are checked into the repository.
#
#   ca.pem / ca-key.pem                 root CA the server trusts
#   server.pem / server-key.pem         SANs DNS:localhost, IP:127.0.0.1, IP:::1
#   server-p256.pem / server-p256-key.pem   the same SANs with a P-256 key (signed by the same CA): rund presents it
#                                       to BoringSSL-based clients (grpcio wheel, gRPC C++/Ruby/PHP), which offer no
#                                       P-521 signature scheme
#   alice, bob                          share the SAN URI:spiffe://rund/team-a (each also has its own DNS name)
#   carol                               DNS:carol.example only (disjoint from alice and bob)
#   admin                               DNS:admin.example (configure it in rund.admin-sans)
#   expired                             signed by ca.pem, valid only in 2020
#   untrusted-ca, untrusted-client      a second CA the server must NOT trust, and a client it signed
#                                       that claims alice's SANs
#   client.pem / client-key.pem         the CLI's default identity: a copy of alice
#   node1, node2, node3                 cluster node certificates (URI:spiffe://rund/node/nodeN, DNS nodeN and
#                                       localhost, IP 127.0.0.1 and 10.77.0.N for the namespace tests), EKU
#                                       serverAuth and clientAuth: each node is both ends of node-to-node TLS
#
# Keys are unencrypted PKCS#8 PEM. Usage: tls/gen.sh [DIR]   (default: the directory of this script)
set -eu

DIR=${1:-$(cd "$(dirname "$0")" && pwd)}
DAYS=3650
CURVE=secp521r1
cd "$DIR"
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT

# Private keys are owner-only from their first byte (umask 077; chmod for a file that already existed): rund refuses
# a key that group or others may read. Only this script needs ca-key.pem; rund itself never reads it.
new_key() { # FILE [CURVE]
    (umask 077 && openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:${2:-$CURVE} -pkeyopt ec_param_enc:named_curve -out "$1")
    chmod 600 "$1"
}

serial() { echo "0x$(openssl rand -hex 16)"; }

self_signed_ca() { # NAME CN
    new_key "$1-key.pem"
    openssl req -x509 -new -sha512 -key "$1-key.pem" -days $DAYS -subj "/O=rund example/CN=$2" \
        -addext "basicConstraints=critical,CA:TRUE,pathlen:0" \
        -addext "keyUsage=critical,keyCertSign,cRLSign" \
        -addext "subjectKeyIdentifier=hash" \
        -set_serial "$(serial)" -out "$1.pem"
}

leaf() { # NAME CN SANS EKU CA [CURVE]
    new_key "$1-key.pem" "${6:-$CURVE}"
    openssl req -new -sha512 -key "$1-key.pem" -subj "/O=rund example/CN=$2" -out "$WORK/$1.csr"
    cat > "$WORK/$1.ext" <<EXT
basicConstraints=critical,CA:FALSE
keyUsage=critical,digitalSignature
extendedKeyUsage=$4
subjectAltName=$3
subjectKeyIdentifier=hash
authorityKeyIdentifier=keyid
EXT
    openssl x509 -req -sha512 -in "$WORK/$1.csr" -CA "$5.pem" -CAkey "$5-key.pem" -set_serial "$(serial)" \
        -days $DAYS -extfile "$WORK/$1.ext" -out "$1.pem"
}

# openssl 3.0's `x509 -req` cannot back-date a certificate; `ca` can, with -startdate/-enddate.
expired_leaf() { # NAME CN SANS
    new_key "$1-key.pem"
    openssl req -new -sha512 -key "$1-key.pem" -subj "/O=rund example/CN=$2" -out "$WORK/$1.csr"
    mkdir -p "$WORK/ca/new"
    : > "$WORK/ca/index.txt"
    openssl rand -hex 16 > "$WORK/ca/serial"
    cat > "$WORK/ca.cnf" <<CNF
[ca]
default_ca = expired_ca
[expired_ca]
database = $WORK/ca/index.txt
new_certs_dir = $WORK/ca/new
serial = $WORK/ca/serial
certificate = $DIR/ca.pem
private_key = $DIR/ca-key.pem
default_md = sha512
policy = any_name
unique_subject = no
copy_extensions = none
[any_name]
organizationName = optional
commonName = supplied
[client]
basicConstraints=critical,CA:FALSE
keyUsage=critical,digitalSignature
extendedKeyUsage=clientAuth
subjectAltName=$3
subjectKeyIdentifier=hash
authorityKeyIdentifier=keyid
CNF
    openssl ca -batch -notext -config "$WORK/ca.cnf" -extensions client -in "$WORK/$1.csr" \
        -startdate 20200101000000Z -enddate 20201231235959Z -out "$1.pem" 2>"$WORK/ca.err" || { cat "$WORK/ca.err" >&2; exit 1; }
}

node_leaf() { # N
    leaf "node$1" "node$1" "URI:spiffe://rund/node/node$1,DNS:node$1,DNS:localhost,IP:127.0.0.1,IP:10.77.0.$1" \
        serverAuth,clientAuth ca
}
# RUND_GEN_NODES_ONLY=1: only the node certificates, signed by the ca.pem already there (the rest left unchanged)
if [ "${RUND_GEN_NODES_ONLY:-}" = 1 ]; then
    for n in 1 2 3; do node_leaf $n; done
    echo "node certificates written to $DIR"
    exit 0
fi

self_signed_ca ca "rund example root CA"
leaf server  "localhost"     "DNS:localhost,IP:127.0.0.1,IP:::1"                 serverAuth ca
leaf server-p256 "localhost" "DNS:localhost,IP:127.0.0.1,IP:::1"                 serverAuth ca prime256v1
leaf alice   "alice"         "DNS:alice.example,URI:spiffe://rund/team-a"        clientAuth ca
leaf bob     "bob"           "DNS:bob.example,URI:spiffe://rund/team-a"          clientAuth ca
leaf carol   "carol"         "DNS:carol.example"                                 clientAuth ca
leaf admin   "admin"         "DNS:admin.example"                                 clientAuth ca
expired_leaf expired "expired" "DNS:expired.example"
self_signed_ca untrusted-ca "rund UNTRUSTED example CA"
leaf untrusted-client "alice" "DNS:alice.example,URI:spiffe://rund/team-a"      clientAuth untrusted-ca
for n in 1 2 3; do node_leaf $n; done

cp alice.pem client.pem
cp alice-key.pem client-key.pem
chmod 600 client-key.pem
echo "example certificates written to $DIR"
