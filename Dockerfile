# Refreshing: a static binary on a distroless base, as a non-root user.
#   docker build -t refreshing .
#   docker run -p 1337:1337 -v refreshing-data:/data --read-only --tmpfs /tmp refreshing
# The root filesystem can be read-only: the database lives in the /data
# volume (or in PostgreSQL: -e REFRESHING_DB=postgres://...).
FROM golang:1.27.3 AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
# CGO off: SQLite is pure Go (modernc.org/sqlite), so the binary is static.
# -trimpath and the VCS stamp keep `refreshing version` meaningful.
RUN CGO_ENABLED=0 go build -trimpath -ldflags='-s -w' -o /out/refreshing ./cmd/refreshing

FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /out/refreshing /usr/local/bin/refreshing
# The only writable place: the SQLite database (unused with a postgres:// DSN).
VOLUME /data
ENV REFRESHING_ADDR=:1337 \
    REFRESHING_DB=sqlite:/data/refreshing.db \
    REFRESHING_LOG_FORMAT=json
EXPOSE 1337
USER nonroot:nonroot
ENTRYPOINT ["/usr/local/bin/refreshing"]
CMD ["serve"]
