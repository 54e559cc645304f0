# groupbuyd on Debian 12 with the same packages the Makefile builds with.
FROM debian:12 AS build
RUN apt-get update \
 && apt-get install -y --no-install-recommends make gcc libc6-dev pkg-config \
      libevent-dev libpq-dev libcjson-dev libssl-dev libcurl4-openssl-dev libidn2-dev zlib1g-dev \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY Makefile ./
COPY server ./server
COPY tests/fuzz/fuzz.mk ./tests/fuzz/fuzz.mk
RUN make build/groupbuyd

FROM debian:12
RUN apt-get update \
 && apt-get install -y --no-install-recommends libevent-2.1-7 libevent-pthreads-2.1-7 \
      libpq5 libcjson1 libssl3 libcurl4 libidn2-0 zlib1g curl ca-certificates \
 && rm -rf /var/lib/apt/lists/* \
 && useradd --system --home /app groupbuyd
WORKDIR /app
COPY --from=build /src/build/groupbuyd /usr/local/bin/groupbuyd
COPY schema ./schema
COPY config ./config
COPY docs/openapi.json ./docs/openapi.json
USER groupbuyd
ENV GROUPBUYD_LISTEN=0.0.0.0:8080
EXPOSE 8080
HEALTHCHECK --interval=10s --timeout=3s --retries=3 \
  CMD curl -fsS http://127.0.0.1:8080/healthz || exit 1
# Migrate (a no-op when nothing is pending, safe with several replicas:
# it holds an advisory lock), then serve.
CMD ["sh", "-c", "groupbuyd migrate && exec groupbuyd serve"]
