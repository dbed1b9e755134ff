package benchcli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"sync/atomic"
	"time"

	"github.com/ixnstore/ixnstore/internal/cli"
)

const otlpSinkSynopsis = `An OTLP/HTTP endpoint that takes trace exports and throws them away: to measure what
tracing costs serve with its exporter at work (encoding, batching, sending), not only the spans.

  ixnstore-bench otlp-sink --addr 127.0.0.1:4318 &
  OTEL_EXPORTER_OTLP_ENDPOINT=http://127.0.0.1:4318 ixnstore serve --tracing=auto ...

It answers every POST with 200 and an empty body, and, when stopped (SIGINT or SIGTERM),
prints the exports and bytes it took.`

func runOTLPSink(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	f := cli.NewFlags("ixnstore-bench otlp-sink [flags]", otlpSinkSynopsis, stderr)
	var addr string
	f.StringVar(&addr, "addr", "127.0.0.1:4318", "HOST:PORT to listen on")
	if err := f.ParseArgs(args); err != nil {
		return err
	}
	l, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("--addr: %w", err)
	}
	var exports, bytes atomic.Int64
	srv := &http.Server{ReadHeaderTimeout: 10 * time.Second, Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodPost {
			http.Error(w, "POST only", http.StatusMethodNotAllowed)
			return
		}
		n, _ := io.Copy(io.Discard, r.Body)
		exports.Add(1)
		bytes.Add(n)
		w.Header().Set("Content-Type", r.Header.Get("Content-Type"))
	})}
	fmt.Fprintf(stdout, "otlp-sink: listening on http://%s\n", l.Addr())
	go func() {
		<-ctx.Done()
		shutdownCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), time.Second)
		defer cancel()
		_ = srv.Shutdown(shutdownCtx)
	}()
	if err := srv.Serve(l); err != nil && !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	fmt.Fprintf(stdout, "otlp-sink: %d exports, %d bytes\n", exports.Load(), bytes.Load())
	return nil
}
