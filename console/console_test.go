package console_test

import (
	"net/http"
	"net/url"
	"os"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/ixnstore/ixnstore/api"
	"github.com/ixnstore/ixnstore/internal/auth"
	"github.com/ixnstore/ixnstore/service/catalog"
)

// noRedirects is a client that shows redirects instead of following them.
var noRedirects = &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}

func login(t *testing.T, s *server, token string, header map[string]string) *http.Response {
	t.Helper()
	req, err := http.NewRequest("POST", s.base+"/ui/login", strings.NewReader(url.Values{"token": {token}}.Encode()))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	for k, v := range header {
		req.Header.Set(k, v)
	}
	res, err := noRedirects.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	return res
}

// The login takes a reporting or admin token and sets it as an HttpOnly, SameSite=Strict
// cookie; it refuses other tokens, bad ones and forms from other sites, and sets nothing then.
func TestLogin(t *testing.T) {
	t.Parallel()
	s := newServer(t)

	res := login(t, s, s.tokens[auth.RoleReporting], map[string]string{"Origin": s.base})
	if res.StatusCode != http.StatusSeeOther || res.Header.Get("Location") != "/ui/" {
		t.Fatalf("login: %d to %q", res.StatusCode, res.Header.Get("Location"))
	}
	cookies := res.Cookies()
	if len(cookies) != 1 {
		t.Fatalf("cookies %v", cookies)
	}
	c := cookies[0]
	if c.Name != api.ConsoleCookie || c.Value != s.tokens[auth.RoleReporting] || !c.HttpOnly ||
		c.SameSite != http.SameSiteStrictMode || c.Path != "/" || c.MaxAge != 0 || !c.Expires.IsZero() {
		t.Errorf("cookie %+v: want the token, HttpOnly, SameSite=Strict, for the browser session", c)
	}

	for name, tc := range map[string]struct {
		token, origin string
		want          int
	}{
		"an adapter's token": {s.tokens[auth.RoleAdapter], s.base, http.StatusForbidden},
		"an unknown token":   {auth.Prefix + strings.Repeat("A", 43), s.base, http.StatusUnauthorized},
		"no token":           {"", s.base, http.StatusUnauthorized},
		"another site":       {s.tokens[auth.RoleAdmin], "https://evil.example", http.StatusForbidden},
	} {
		res := login(t, s, tc.token, map[string]string{"Origin": tc.origin})
		if res.StatusCode != tc.want || len(res.Cookies()) != 0 {
			t.Errorf("%s: %d with cookies %v, want %d and none", name, res.StatusCode, res.Cookies(), tc.want)
		}
	}

	// The page itself: to the login without the cookie; with it, the page, under a CSP.
	res, err := noRedirects.Get(s.base + "/ui/")
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusSeeOther || res.Header.Get("Location") != "/ui/login" {
		t.Errorf("/ui/ without a cookie: %d to %q", res.StatusCode, res.Header.Get("Location"))
	}
	req, _ := http.NewRequest("GET", s.base+"/ui/", nil)
	req.AddCookie(c)
	res, err = noRedirects.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusOK || !strings.Contains(res.Header.Get("Content-Security-Policy"), "default-src 'self'") {
		t.Errorf("/ui/ with the cookie: %d, CSP %q", res.StatusCode, res.Header.Get("Content-Security-Policy"))
	}
	res, err = noRedirects.Get(s.base + "/")
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusSeeOther || res.Header.Get("Location") != "/ui/" {
		t.Errorf("/: %d to %q", res.StatusCode, res.Header.Get("Location"))
	}
	// The API is still behind it.
	res, err = http.Get(s.base + "/healthz")
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusOK {
		t.Errorf("/healthz through the console: %d", res.StatusCode)
	}
}

// The stream hears an event only by its name: the console listens for each event of the
// catalog, so the two lists must be the same.
func TestConsoleListensForEveryEvent(t *testing.T) {
	t.Parallel()
	raw, err := os.ReadFile("assets/events.js")
	if err != nil {
		t.Fatal(err)
	}
	var inJS []string
	for _, m := range regexp.MustCompile(`"([a-z.]+)"`).FindAllStringSubmatch(string(raw), -1) {
		inJS = append(inJS, m[1])
	}
	var inCatalog []string
	for _, e := range catalog.All() {
		inCatalog = append(inCatalog, e.Name)
	}
	slices.Sort(inJS)
	slices.Sort(inCatalog)
	if !slices.Equal(inJS, inCatalog) {
		t.Errorf("assets/events.js lists %v, the catalog %v", inJS, inCatalog)
	}
}
