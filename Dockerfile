# The ixnstore binary in a small image. Built by docker-compose.yml.
FROM golang:1.26-bookworm AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
RUN CGO_ENABLED=0 go build -trimpath -o /out/ixnstore ./cmd/ixnstore

FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /out/ixnstore /usr/local/bin/ixnstore
EXPOSE 8080
ENTRYPOINT ["/usr/local/bin/ixnstore"]
CMD ["serve", "--addr", "0.0.0.0:8080"]
