package api

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/labstack/echo/v4"

	"github.com/ixnstore/ixnstore/internal/auth"
	"github.com/ixnstore/ixnstore/internal/testdb"
)

// What the access check adds to a routing node's write once its token and its session's
// owner are cached: the token's hash, a map read, the token bucket, the owner at the epoch.
// Compare the two: go test -run XXX -bench Access -benchmem ./api
func BenchmarkAccessNodeWrite(b *testing.B) {
	pool := testdb.Pool(b)
	ctx := context.Background()
	secret, _, err := auth.NewStore(pool).Create(ctx, auth.NewToken{Role: auth.RoleNode, NodeID: "n1"})
	if err != nil {
		b.Fatal(err)
	}
	if _, err := pool.Exec(ctx, `INSERT INTO sessions (session_id, owner_node, lease_epoch) VALUES ('s1', 'n1', 1)`); err != nil {
		b.Fatal(err)
	}
	const route = "/v1/sessions/:sid/interactions/:iid/parties/:pid"
	for _, on := range []bool{false, true} {
		name := "off"
		if on {
			name = "on"
		}
		b.Run(name, func(b *testing.B) {
			e := echo.New()
			if on {
				a := &Access{Verifier: auth.NewVerifier(auth.VerifierConfig{Pool: pool}), Limiter: auth.NewLimiter(nil, 0)}
				e.Use(a.middleware())
			}
			e.PATCH(route, func(c echo.Context) error { return c.NoContent(http.StatusOK) })
			send := func() int {
				req := httptest.NewRequest("PATCH", "/v1/sessions/s1/interactions/i1/parties/p1", strings.NewReader(`{"state":"held"}`))
				req.Header.Set("Authorization", "Bearer "+secret)
				req.Header.Set(EpochHeader, "1")
				rec := httptest.NewRecorder()
				e.ServeHTTP(rec, req)
				return rec.Code
			}
			if code := send(); code != http.StatusOK { // fills the caches
				b.Fatalf("status %d", code)
			}
			b.ReportAllocs()
			b.ResetTimer()
			for b.Loop() {
				send()
			}
		})
	}
}
