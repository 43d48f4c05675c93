# Portico image: portico-controller and portico-dataplane on debian:12-slim.
#   docker build -t portico .
#   docker run --rm -p 8080:8080 -v $PWD/docs:/snap:ro portico \
#     portico-dataplane --snapshot=/snap/snapshot-example.json --http-listen=0.0.0.0:8080
# The build stage uses the same script and cmake commands as `make build` and CI,
# so a dependency added there reaches the image without editing this file.
# scripts/check-dockerfile.sh (ctest: dockerfile_check) keeps the runtime package
# list in step with what the binaries link.

FROM debian:12 AS build
WORKDIR /src
# Dependencies first: this layer is reused until install-deps.sh changes.
COPY scripts/install-deps.sh scripts/install-deps.sh
RUN scripts/install-deps.sh build && rm -rf /var/lib/apt/lists/*
COPY . .
RUN cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=Release \
 && cmake --build build --target portico-controller portico-dataplane \
 && strip build/bin/portico-controller build/bin/portico-dataplane

FROM debian:12-slim
# Runtime libraries only: the Debian packages that own what `ldd build/bin/portico-*`
# lists (libc6 is Essential and always present). ca-certificates is for the
# Kubernetes API client's HTTPS to come.
RUN apt-get update \
 && apt-get install -y --no-install-recommends \
      ca-certificates \
      libabsl20220623 \
      libbrotli1 \
      libc-ares2 \
      libcrypt1 \
      libcpp-httplib0.11 \
      libev4 \
      libgcc-s1 \
      libgrpc++1.51 \
      libgrpc29 \
      libjemalloc2 \
      libnghttp2-14 \
      libprotobuf32 \
      libre2-9 \
      libssl3 \
      libstdc++6 \
      liburiparser1 \
      libyaml-cpp0.7 \
      zlib1g \
 && rm -rf /var/lib/apt/lists/*

# uid/gid 65532 is the "nonroot" convention of distroless images; Kubernetes
# manifests can set runAsNonRoot and runAsUser: 65532 against it.
RUN groupadd --gid 65532 portico \
 && useradd --uid 65532 --gid 65532 --no-create-home --home-dir /nonexistent \
      --shell /usr/sbin/nologin portico \
 && install -d -o 65532 -g 65532 -m 0700 /var/lib/portico

COPY --from=build /src/build/bin/portico-controller /src/build/bin/portico-dataplane /usr/local/bin/
COPY deploy/docker/healthcheck.sh /usr/local/bin/portico-healthcheck

USER 65532:65532
WORKDIR /var/lib/portico

# 8080/8443 data plane HTTP/HTTPS, 10254 data plane admin, 10255 controller admin,
# 18000 controller snapshot stream (gRPC, mTLS).
EXPOSE 8080 8443 10254 10255 18000

# curl is not in debian:12-slim and pulling it in (with libcurl and its TLS and
# LDAP dependencies) for one probe is not worth the size and CVE surface: the
# probe is bash's /dev/tcp (bash is Essential in Debian). Docker only: Kubernetes
# ignores HEALTHCHECK and the Helm chart uses httpGet probes. For the controller
# set PORTICO_ADMIN_PORT=10255. Both binaries bind admin to 127.0.0.1 by default,
# which this probe reaches from inside the container.
ENV PORTICO_ADMIN_PORT=10254
HEALTHCHECK --interval=10s --timeout=3s --start-period=10s --retries=3 \
  CMD ["/usr/local/bin/portico-healthcheck"]

# The image holds both binaries; pick one with the command (the chart does).
CMD ["/usr/local/bin/portico-dataplane", "--help"]
