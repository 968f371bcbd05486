# syntax=docker/dockerfile:1
#
# rizzler in a container.
#
#   docker build -t rizzler .
#   docker run --rm --security-opt seccomp=scripts/seccomp-io_uring.json -p 6379:6379 rizzler
#
# Docker Engine 25+ blocks io_uring_setup/enter/register in its default
# seccomp profile. scripts/seccomp-io_uring.json is that default profile
# (moby/profiles seccomp/default.json) with exactly those three syscalls
# allowed again. Run without it and rizzler still serves: io_uring_setup
# fails with EPERM, rizzler logs one warning naming the cause and this
# option, and falls back to epoll (INFO server then shows io_backend:epoll).
# `--io uring` instead of the default `--io auto` refuses to start there.

FROM rust:1-bookworm AS build
WORKDIR /src
COPY . .
RUN --mount=type=cache,target=/usr/local/cargo/registry \
    --mount=type=cache,target=/src/target \
    cargo build --release --locked --bin rizzler \
    && cp target/release/rizzler /usr/local/bin/rizzler

FROM debian:bookworm-slim
RUN useradd --system --uid 10001 --no-create-home --shell /usr/sbin/nologin rizzler \
    && mkdir /data && chown rizzler:rizzler /data
COPY --from=build /usr/local/bin/rizzler /usr/local/bin/rizzler
USER rizzler
# Snapshots (db.json, or dump.rdb) and the AOF go to the working directory,
# as in Redis's image: mount a volume here to keep them.
VOLUME /data
WORKDIR /data
EXPOSE 6379
# SIGTERM (docker stop) closes every connection and exits 0.
STOPSIGNAL SIGTERM
ENTRYPOINT ["/usr/local/bin/rizzler"]
# Protected mode refuses clients from outside loopback while `default` has
# no password, and in a container every client is outside. As Redis's own
# image does, the default command turns it off; set a password (or mount a
# config file) before exposing the port beyond a private network.
CMD ["--bind", "0.0.0.0", "--port", "6379", "--protected-mode", "no"]
