# Mercantile server image: a static binary on distroless, running as nonroot.
#   docker build -t mercantile .
#   docker run -p 8080:8080 mercantile                      # embedded default (SQLite)
#   docker run -p 8080:8080 -e DATABASE_URL=postgres://... -e REDIS_URL=redis://... mercantile

# go.mod asks for Go 1.26.8; the image keeps GOTOOLCHAIN=local, so its 1.26.x must be at
# least that (the floating 1.26 tag is).
FROM golang:1.26 AS build
WORKDIR /src

# Dependencies first: this layer is reused until go.mod or go.sum change.
COPY go.mod go.sum ./
RUN go mod download

COPY . .
RUN CGO_ENABLED=0 go build -trimpath -ldflags "-s -w" -o /out/mercantile ./cmd/mercantile

FROM gcr.io/distroless/static-debian12:nonroot
# CA certificates and /etc/passwd (nonroot, uid 65532) come with the base image.
COPY --from=build /out/mercantile /mercantile
# The embedded default keeps its SQLite file under ./var: start in nonroot's own home,
# which it can write (mount a volume at /home/nonroot/var to keep the data).
WORKDIR /home/nonroot
USER nonroot:nonroot
EXPOSE 8080
ENTRYPOINT ["/mercantile"]
CMD ["serve"]
