# One rund node for docker-compose.yml's three-node local cluster (see README, "Cluster").
# Build stage: the JDK 25 and gcc rund's build needs (rund-keeper and the spawn helper are C, built by Maven into the
# jar), then the jar and its runtime dependencies copied beside it: target/classpath.txt names the build machine's
# Maven repository, which the image does not have.
FROM eclipse-temurin:25-jdk AS build
RUN apt-get update && apt-get install -y --no-install-recommends gcc libc6-dev && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY .mvn .mvn
COPY mvnw pom.xml ./
COPY protobuf protobuf
COPY src/main src/main
RUN ./mvnw -B -ntp -DskipTests package dependency:copy-dependencies -DincludeScope=runtime \
        -DoutputDirectory=target/lib

# Run stage: a JRE, the jar, its libraries, the entrypoint and the example PKI (tls/gen.sh's CA, server certificate and
# node1..node3 certificates). The example keys are public: mount your own over /etc/rund/tls for anything that matters.
FROM eclipse-temurin:25-jre
COPY --from=build /src/target/rund.jar /opt/rund/rund.jar
COPY --from=build /src/target/lib /opt/rund/lib
COPY docker/entrypoint.sh /opt/rund/entrypoint.sh
COPY tls/ca.pem tls/server.pem tls/server-key.pem tls/node1.pem tls/node1-key.pem tls/node2.pem tls/node2-key.pem \
     tls/node3.pem tls/node3-key.pem /etc/rund/tls/
# rund refuses a private key that group or others may read.
RUN chmod 600 /etc/rund/tls/*-key.pem && chmod 755 /opt/rund/entrypoint.sh
ENV RUND_STATE_DIR=/var/lib/rund \
    RUND_SERVE_ADDR=:8000 \
    RUND_SERVE_CA=/etc/rund/tls/ca.pem \
    RUND_SERVE_CERT=/etc/rund/tls/server.pem \
    RUND_SERVE_KEY=/etc/rund/tls/server-key.pem \
    RUND_CGROUP_ROOT=/sys/fs/cgroup/rund
VOLUME /var/lib/rund
# 8000: the gRPC API (mutual TLS); 7355: node-to-node (Artery over mutual TLS, node certificates only).
EXPOSE 8000 7355
ENTRYPOINT ["/opt/rund/entrypoint.sh"]
CMD ["serve"]
