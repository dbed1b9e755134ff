// Command media-adapter is an example media side built on the ixnstore client: it follows
// the pending action requests and answers each, as a telephony adapter would once the
// switch has done the work.
//
//	go run ./examples/media-adapter --url http://127.0.0.1:8080 --token "$TOKEN" --media voice
package main

import (
	"context"
	"errors"
	"flag"
	"log"
	"os"
	"os/signal"
	"syscall"

	"github.com/ixnstore/ixnstore/client"
)

func main() {
	url := flag.String("url", envOr("IXNSTORE_URL", "http://127.0.0.1:8080"), "the server")
	token := flag.String("token", os.Getenv("IXNSTORE_TOKEN"), "a bearer token (admin, or a media token)")
	media := flag.String("media", "voice", "the media this adapter serves")
	flag.Parse()
	log.SetFlags(0)
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	c, err := client.New(*url, client.Config{Token: *token})
	if err != nil {
		log.Fatal(err)
	}
	log.Printf("media-adapter: answering %s requests", *media)
	err = c.Adapter(client.AdapterOptions{Media: *media}).Run(ctx, func(ctx context.Context, r client.Request) client.RequestOutcome {
		log.Printf("media-adapter: %s %s on %s in %s: done", r.Action, r.RequestID, r.InteractionID, r.SessionID)
		out := client.Done()
		switch r.Action {
		case "redirect", "singlesteptransfer", "singlestepconference":
			// The party that joined at the destination.
			out.Party = &client.RequestOutcome_Party{PartyID: r.RequestID + "-party"}
		}
		return out
	})
	if err != nil && !errors.Is(err, context.Canceled) {
		log.Fatal(err)
	}
}

func envOr(name, def string) string {
	if v := os.Getenv(name); v != "" {
		return v
	}
	return def
}
