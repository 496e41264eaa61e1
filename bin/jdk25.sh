# Sourced by rund's scripts: exports JAVA_HOME pointing at a JDK 25, or fails saying where it looked.
# The JDK's release file says its version without starting a JVM (bin/rund sources this on every CLI call).
jdk25_ok() { [ -x "$1/bin/java" ] && [ -r "$1/release" ] && grep -q '^JAVA_VERSION="25[".]' "$1/release"; }
if [ -n "${JAVA_HOME:-}" ] && jdk25_ok "$JAVA_HOME"; then
  :
else
  JAVA_HOME=""
  for candidate in /usr/lib/jvm/*25* /usr/lib/jvm/*; do
    if jdk25_ok "$candidate"; then JAVA_HOME="$candidate"; break; fi
  done
  if [ -z "$JAVA_HOME" ]; then
    echo "rund needs a JDK 25: set JAVA_HOME, or install one under /usr/lib/jvm" >&2
    exit 1
  fi
fi
export JAVA_HOME
