# passcodebot: a static binary (no cgo: the SQLite driver is pure Go) on a
# distroless base that has no shell, running as a non-root user.
#   docker build --build-arg VERSION=$(git describe --always) -t passcodebot .
FROM golang:1.27.3-bookworm AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
ARG VERSION=dev
RUN CGO_ENABLED=0 go build -trimpath -ldflags "-s -w -X github.com/passcodebot/passcodebot/internal/app.Version=${VERSION}" -o /out/passcodebot ./cmd/passcodebot

FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /out/passcodebot /usr/local/bin/passcodebot
# nonroot (65532): the configuration is mounted read-only; the state is in PostgreSQL
# (store: postgres) or a SQLite file on a mounted volume.
USER 65532:65532
EXPOSE 8080 9090
ENTRYPOINT ["/usr/local/bin/passcodebot"]
CMD ["run", "-config", "/etc/passcodebot/config.yaml"]
