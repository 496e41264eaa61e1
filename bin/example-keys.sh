# Sourced by rund's scripts: makes the EXAMPLE private keys in the checkout's tls/ readable by their owner only.
# git cannot store mode 0600, so a fresh clone has them at 0644, and rund (as OpenSSH does) refuses a private key
# that group or others may read. Keys anywhere else are the operator's to protect; rund names the fix.
# Usage: protect_example_keys ROOT
protect_example_keys() { chmod 600 "$1"/tls/*-key.pem 2>/dev/null || true; }
