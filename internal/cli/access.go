package cli

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"sync"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/ixnstore/ixnstore/api"
	"github.com/ixnstore/ixnstore/internal/auth"
)

// adminTokenFileName is the bootstrap token's file in the embedded data directory, or in the
// working directory with --database-url.
const adminTokenFileName = "ixnstore-admin.token"

// accessFlags are serve's flags about who may call: tokens, limits and TLS.
type accessFlags struct {
	mode                         string
	tokenFile                    string
	rates                        string
	streams                      int
	tlsCert, tlsKey, tlsClientCA string

	parsedRates map[auth.Role]auth.Rate
}

func (a *accessFlags) register(f *Flags) {
	f.EnvString(&a.mode, "auth", "IXNSTORE_AUTH", "on",
		"on: every /v1 request needs a bearer token (ixnstore token --help); off: anyone who reaches the port may do anything (experiments only)")
	f.EnvString(&a.tokenFile, "admin-token-file", "IXNSTORE_ADMIN_TOKEN_FILE", "",
		"where the first start writes the bootstrap admin token (mode 0600) when the database has no token (default: "+
			adminTokenFileName+" in --data-dir with the embedded PostgreSQL, else in the working directory)")
	f.EnvString(&a.rates, "token-rates", "IXNSTORE_TOKEN_RATES", "",
		"requests a second per token by role, over the defaults node=20000,adapter=20000,reporting=2000,admin=20000 (role=rate[:burst],...); past it: 429 with Retry-After")
	f.EnvInt(&a.streams, "token-streams", "IXNSTORE_TOKEN_STREAMS", auth.DefaultStreams,
		"event and request streams one token may hold open at once")
	f.EnvString(&a.tlsCert, "tls-cert", "IXNSTORE_TLS_CERT", "", "PEM certificate (chain) to serve HTTPS with; needs --tls-key")
	f.EnvString(&a.tlsKey, "tls-key", "IXNSTORE_TLS_KEY", "", "PEM private key of --tls-cert")
	f.EnvString(&a.tlsClientCA, "tls-client-ca", "IXNSTORE_TLS_CLIENT_CA", "",
		"PEM CA certificates; when set, clients must present a certificate they signed (mutual TLS), besides their token")
}

func (a *accessFlags) validate() error {
	if a.mode != "on" && a.mode != "off" {
		return fmt.Errorf("--auth must be on or off, not %q", a.mode)
	}
	if (a.tlsCert == "") != (a.tlsKey == "") {
		return fmt.Errorf("--tls-cert and --tls-key go together")
	}
	if a.tlsClientCA != "" && a.tlsCert == "" {
		return fmt.Errorf("--tls-client-ca needs --tls-cert and --tls-key")
	}
	if a.streams < 1 {
		return fmt.Errorf("--token-streams must be 1 or more")
	}
	rates, err := auth.ParseRates(a.rates)
	if err != nil {
		return fmt.Errorf("--token-rates: %w", err)
	}
	a.parsedRates = rates
	return nil
}

// start makes the bootstrap token when the database has none and starts the verifier's
// revocation listener on background. nil: access is off.
func (a *accessFlags) start(ctx context.Context, pool *pgxpool.Pool, embeddedDir string, logger *slog.Logger,
	stderr io.Writer, background *sync.WaitGroup) (*api.Access, error) {
	if a.mode == "off" {
		logger.Warn("access control is off (--auth=off): anyone who reaches the port may do anything; for experiments only")
		return nil, nil
	}
	path := a.tokenFile
	if path == "" {
		path = filepath.Join(embeddedDir, adminTokenFileName)
	}
	// A token already in the file is the operator's (a secret mounted into a container, or
	// one kept from a database since reset): it becomes the bootstrap token as it is.
	given, err := readSecretFile(path)
	if err != nil {
		return nil, fmt.Errorf("--admin-token-file: %w", err)
	}
	made, err := auth.NewStore(pool).Bootstrap(ctx, "bootstrap-admin", given, func(secret string) error {
		if given != "" {
			fmt.Fprintf(stderr, "The database had no token: the token in %s is its admin token now.\n", path)
			return nil
		}
		if err := writeSecretFile(path, secret); err != nil {
			return err
		}
		fmt.Fprintf(stderr, "\nThe database had no token: made the admin token below. It is shown this once and kept in %s\n"+
			"(mode 0600). Send it as 'Authorization: Bearer <token>'; make more with 'ixnstore token create'.\n\n    %s\n\n", path, secret)
		return nil
	})
	if err != nil {
		return nil, err
	}
	if made {
		logger.Info("bootstrap admin token made", "file", path)
	}
	verifier := auth.NewVerifier(auth.VerifierConfig{Pool: pool, Logger: logger.With("part", "tokens")})
	background.Go(func() { verifier.Run(ctx) })
	return &api.Access{Verifier: verifier, Limiter: auth.NewLimiter(a.parsedRates, a.streams)}, nil
}

// serve serves HTTP, or HTTPS with --tls-cert, on listener.
func (a *accessFlags) serve(server *http.Server, listener net.Listener) error {
	if a.tlsCert == "" {
		return server.Serve(listener)
	}
	cfg := &tls.Config{MinVersion: tls.VersionTLS12}
	if a.tlsClientCA != "" {
		pem, err := os.ReadFile(a.tlsClientCA)
		if err != nil {
			return fmt.Errorf("--tls-client-ca: %w", err)
		}
		cas := x509.NewCertPool()
		if !cas.AppendCertsFromPEM(pem) {
			return fmt.Errorf("--tls-client-ca: no PEM certificate in %s", a.tlsClientCA)
		}
		cfg.ClientCAs = cas
		cfg.ClientAuth = tls.RequireAndVerifyClientCert
	}
	server.TLSConfig = cfg
	return server.ServeTLS(listener, a.tlsCert, a.tlsKey)
}
