# Refreshing: a static binary on a distroless base, as a non-root user.
#   docker build -t refreshing .
#   docker run -p 1337:1337 -v refreshing-data:/data --read-only --tmpfs /tmp refreshing
# The root filesystem can be read-only: the database lives in the /data
# volume (or in PostgreSQL: -e REFRESHING_DB=postgres://...).
# cmd/refreshing/docker_test.go checks that the lines below agree (the
# volume's owner, the user, the database path); docs/operations.md says more.
FROM golang:1.27.3 AS build
WORKDIR /src
COPY go.mod go.sum ./
# client/ is a module of its own, which go.mod replaces with ./client.
COPY client/go.mod ./client/
RUN go mod download
COPY . .
# CGO off: SQLite is pure Go (modernc.org/sqlite), so the binary is static.
# -trimpath and the VCS stamp keep `refreshing version` meaningful.
RUN CGO_ENABLED=0 go build -trimpath -ldflags='-s -w' -o /out/refreshing ./cmd/refreshing
# The volume's mount point, made here because the distroless image has no
# shell to make it with.
RUN mkdir -p /out/data

FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /out/refreshing /usr/local/bin/refreshing
# /data must exist in the image, owned by the user the service runs as
# (nonroot, uid and gid 65532): Docker gives a fresh named volume the owner
# and mode of the image's directory it is mounted on. Without this line
# VOLUME would create /data owned by root, and SQLite could not create its
# database there. The database files themselves are created private (0600).
COPY --from=build --chown=65532:65532 /out/data /data
VOLUME /data
ENV REFRESHING_ADDR=:1337 \
    REFRESHING_DB=sqlite:/data/refreshing.db \
    REFRESHING_LOG_FORMAT=json
EXPOSE 1337
USER 65532:65532
ENTRYPOINT ["/usr/local/bin/refreshing"]
CMD ["serve"]
