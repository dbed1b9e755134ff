# The ixnstore binary in a small image. Built by docker-compose.yml.
FROM golang:1.26-bookworm AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
RUN CGO_ENABLED=0 go build -trimpath -o /out/ixnstore ./cmd/ixnstore
# Where the bootstrap admin token is kept (a volume in docker-compose.yml), writable by nonroot.
RUN mkdir -p /out/state

FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /out/ixnstore /usr/local/bin/ixnstore
COPY --from=build --chown=65532:65532 /out/state /var/lib/ixnstore
EXPOSE 8080
ENTRYPOINT ["/usr/local/bin/ixnstore"]
CMD ["serve", "--addr", "0.0.0.0:8080"]
