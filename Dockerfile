# matd image: build on Debian 12 with the project's own packages, run as an unprivileged user.
FROM debian:12-slim AS build
RUN apt-get update && apt-get install -y --no-install-recommends \
        build-essential cmake pkg-config libevent-dev libpq-dev libjansson-dev libssl-dev \
        libcmocka-dev libinih-dev libcsv-dev libsystemd-dev libxml2-dev libcurl4-openssl-dev \
        zlib1g-dev libbrotli-dev libmimalloc-dev ca-certificates \
    && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY . .
RUN cmake -S . -B /build -DCMAKE_BUILD_TYPE=Release -DBUILD_TESTING=OFF \
    && cmake --build /build -j"$(nproc)" \
    && install -m 0755 /build/matd /build/matctl /usr/local/bin/

FROM debian:12-slim
RUN apt-get update && apt-get install -y --no-install-recommends \
        libevent-2.1-7 libevent-pthreads-2.1-7 libpq5 libjansson4 \
        libssl3 libinih1 libcsv3 libsystemd0 libxml2 libcurl4 zlib1g libbrotli1 libmimalloc2.0 \
        ca-certificates openssl \
    && rm -rf /var/lib/apt/lists/* \
    && useradd --system --home /var/lib/matd --shell /usr/sbin/nologin matd \
    && mkdir -p /etc/matd/tls /var/lib/matd && chown matd:matd /var/lib/matd
COPY --from=build /usr/local/bin/matd /usr/local/bin/matctl /usr/local/bin/
COPY config/matd.conf /etc/matd/matd.conf
COPY scripts/docker-entrypoint.sh /usr/local/bin/docker-entrypoint.sh
USER matd
EXPOSE 8443
HEALTHCHECK --interval=10s --timeout=3s CMD ["/bin/sh", "-c", "exec 3<>/dev/tcp/127.0.0.1/8443"]
ENTRYPOINT ["/usr/local/bin/docker-entrypoint.sh"]
CMD ["matd", "-c", "/etc/matd/matd.conf"]
