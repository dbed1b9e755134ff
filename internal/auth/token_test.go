package auth

import (
	"testing"
	"time"
)

func TestNewSecretLooksLikeATokenAndHashesToItsHash(t *testing.T) {
	a, hashA, err := newSecret()
	if err != nil {
		t.Fatal(err)
	}
	b, _, _ := newSecret()
	if !IsToken(a) || a == b || string(hashOf(a)) != string(hashA) {
		t.Fatalf("%q %q", a, b)
	}
	for _, s := range []string{"", "ixn_", a[:len(a)-1], "Bearer " + a, "xyz_" + a[4:]} {
		if IsToken(s) {
			t.Errorf("%q is taken for a token", s)
		}
	}
}

func TestTokenState(t *testing.T) {
	now := time.Now()
	past, future := now.Add(-time.Second), now.Add(time.Second)
	tests := []struct {
		tok  Token
		want string
	}{
		{Token{}, "active"},
		{Token{ExpiresAt: &future}, "active"},
		{Token{ExpiresAt: &now}, "expired"},
		{Token{ExpiresAt: &past}, "expired"},
		{Token{RevokedAt: &past, ExpiresAt: &future}, "revoked"},
	}
	for i, tc := range tests {
		if got := tc.tok.State(now); got != tc.want {
			t.Errorf("%d: %s, want %s", i, got, tc.want)
		}
	}
}

func TestParseRates(t *testing.T) {
	got, err := ParseRates("node=100:10, reporting=5")
	if err != nil {
		t.Fatal(err)
	}
	want := map[Role]Rate{RoleNode: {100, 10}, RoleReporting: {5, 10},
		RoleAdapter: DefaultRates[RoleAdapter], RoleAdmin: DefaultRates[RoleAdmin]}
	for r, w := range want {
		if got[r] != w {
			t.Errorf("%s: %+v, want %+v", r, got[r], w)
		}
	}
	for _, bad := range []string{"node", "node=0", "node=-1", "node=5:0", "node=5:x", "robot=5"} {
		if _, err := ParseRates(bad); err == nil {
			t.Errorf("%q is taken", bad)
		}
	}
}

func TestLimiterHoldsEachTokenToItsRoleAndStreams(t *testing.T) {
	l := NewLimiter(map[Role]Rate{RoleReporting: {PerSecond: 0.001, Burst: 2}}, 1)
	a, b := Principal{TokenID: 1, Role: RoleReporting}, Principal{TokenID: 2, Role: RoleReporting}
	for i := range 2 {
		if ok, _ := l.Allow(a); !ok {
			t.Fatalf("request %d within the burst refused", i)
		}
	}
	if ok, wait := l.Allow(a); ok || wait <= 0 {
		t.Fatalf("past the burst: %v, wait %v", ok, wait)
	}
	if ok, _ := l.Allow(b); !ok {
		t.Fatal("another token shares the first one's bucket")
	}
	release, ok := l.OpenStream(a)
	if !ok {
		t.Fatal("the first stream was refused")
	}
	if _, ok := l.OpenStream(a); ok {
		t.Fatal("a second stream was let open")
	}
	release()
	release() // twice is once
	if r, ok := l.OpenStream(a); !ok {
		t.Fatal("a stream after the first ended was refused")
	} else {
		r()
	}
}
