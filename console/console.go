// Package console is the web console served at /ui/: pages for supervisors and operators
// (overview, interactions, one interaction, one session, reports) that read the API from
// the browser. The pages are plain HTML, CSS and JavaScript modules embedded in the binary;
// nothing is built and no Node.js runs. The server side is only the login: it checks a token
// and keeps it in an HttpOnly, SameSite=Strict cookie that the API takes
// (api.ConsoleCookie), so that no token is ever in a URL or in reach of the page's scripts.
package console

import (
	"embed"
	"errors"
	"html/template"
	"io/fs"
	"net/http"
	"net/url"
	"slices"
	"strings"

	"github.com/ixnstore/ixnstore/api"
	"github.com/ixnstore/ixnstore/internal/auth"
	"github.com/ixnstore/ixnstore/internal/fault"
)

//go:embed assets
var assets embed.FS

// Config sets up the console.
type Config struct {
	// Verifier checks the token given at the login; nil: access is off (serve --auth=off)
	// and the console opens without one.
	Verifier *auth.Verifier
	// Secure marks the cookie Secure: the server speaks TLS.
	Secure bool
}

// Roles may open the console: its pages read every node and session.
var Roles = []auth.Role{auth.RoleReporting, auth.RoleAdmin}

// maxLoginBody bounds the login form: a token and nothing else.
const maxLoginBody = 4 << 10

// New returns a handler that serves the console under /ui/ (and sends / there) and passes
// every other request to next, the API.
func New(next http.Handler, cfg Config) http.Handler {
	files, err := fs.Sub(assets, "assets")
	if err != nil {
		panic(err) // the embedded tree is part of the binary: it is there
	}
	c := &console{cfg: cfg, fs: files, files: http.FileServerFS(files),
		login: template.Must(template.ParseFS(assets, "assets/login.html"))}
	mux := http.NewServeMux()
	mux.Handle("/", next)
	mux.HandleFunc("GET /{$}", redirect("/ui/"))
	mux.HandleFunc("GET /ui", redirect("/ui/"))
	mux.HandleFunc("GET /ui/{$}", c.index)
	mux.HandleFunc("GET /ui/login", c.showLogin)
	mux.HandleFunc("POST /ui/login", c.doLogin)
	mux.HandleFunc("POST /ui/logout", c.logout)
	mux.Handle("GET /ui/", http.StripPrefix("/ui/", pageHeaders(c.files)))
	return mux
}

type console struct {
	cfg   Config
	fs    fs.FS
	files http.Handler
	login *template.Template
}

func redirect(to string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) { http.Redirect(w, r, to, http.StatusSeeOther) }
}

// pageHeaders: the console's pages load nothing from elsewhere, run no inline script and may
// not be framed (clickjacking); they are read fresh after an upgrade.
func pageHeaders(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		setPageHeaders(w.Header())
		next.ServeHTTP(w, r)
	})
}

func setPageHeaders(h http.Header) {
	h.Set("Content-Security-Policy", "default-src 'self'; img-src 'self' data:; frame-ancestors 'none'; base-uri 'none'; form-action 'self'")
	h.Set("X-Content-Type-Options", "nosniff")
	// same-origin, not no-referrer: under no-referrer a browser posts the login form with
	// Origin: null, and the login could not tell its own form from another site's.
	h.Set("Referrer-Policy", "same-origin")
	h.Set("Cache-Control", "no-cache")
}

// index is the console's one page (the others are views of it): to the login first when the
// browser has no valid token.
func (c *console) index(w http.ResponseWriter, r *http.Request) {
	if c.cfg.Verifier != nil {
		ck, err := r.Cookie(api.ConsoleCookie)
		if err != nil {
			http.Redirect(w, r, "/ui/login", http.StatusSeeOther)
			return
		}
		if _, err := c.principal(r, ck.Value); err != nil {
			http.Redirect(w, r, "/ui/login", http.StatusSeeOther)
			return
		}
	}
	setPageHeaders(w.Header())
	http.ServeFileFS(w, r, c.fs, "index.html")
}

// principal checks a token and its role.
func (c *console) principal(r *http.Request, token string) (auth.Principal, error) {
	p, err := c.cfg.Verifier.Verify(r.Context(), token)
	if err != nil {
		return p, err
	}
	if !slices.Contains(Roles, p.Role) {
		return p, fault.Errorf(fault.ErrForbidden, "the console needs a reporting or admin token, not a %s token", p.Role)
	}
	return p, nil
}

type loginPage struct {
	Message string
	AuthOff bool
}

func (c *console) showLogin(w http.ResponseWriter, r *http.Request) {
	c.renderLogin(w, http.StatusOK, loginPage{AuthOff: c.cfg.Verifier == nil})
}

func (c *console) renderLogin(w http.ResponseWriter, status int, page loginPage) {
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	setPageHeaders(w.Header())
	w.WriteHeader(status)
	_ = c.login.Execute(w, page)
}

// doLogin takes the token from the form and, when it is a valid reporting or admin token,
// sets the cookie. A form posted from another site is refused (login CSRF: it would log the
// browser in as someone else).
func (c *console) doLogin(w http.ResponseWriter, r *http.Request) {
	if !sameOrigin(r) {
		c.renderLogin(w, http.StatusForbidden, loginPage{Message: "This form must be sent from the console's own page."})
		return
	}
	if c.cfg.Verifier == nil {
		http.Redirect(w, r, "/ui/", http.StatusSeeOther)
		return
	}
	r.Body = http.MaxBytesReader(w, r.Body, maxLoginBody)
	if err := r.ParseForm(); err != nil {
		c.renderLogin(w, http.StatusBadRequest, loginPage{Message: "The form could not be read."})
		return
	}
	token := strings.TrimSpace(r.PostForm.Get("token"))
	if _, err := c.principal(r, token); err != nil {
		status, msg := http.StatusUnauthorized, "That token is not valid: "+err.Error()+"."
		switch {
		case errors.Is(err, fault.ErrForbidden):
			status, msg = http.StatusForbidden, err.Error()+"."
		case !errors.Is(err, fault.ErrUnauthenticated):
			status, msg = http.StatusServiceUnavailable, "The token could not be checked now; try again."
		}
		c.renderLogin(w, status, loginPage{Message: msg})
		return
	}
	http.SetCookie(w, c.cookie(token, 0))
	http.Redirect(w, r, "/ui/", http.StatusSeeOther)
}

// logout forgets the cookie. Another site cannot send it (same origin required) to log a
// supervisor out.
func (c *console) logout(w http.ResponseWriter, r *http.Request) {
	if !sameOrigin(r) {
		http.Error(w, "this must be sent from the console's own page", http.StatusForbidden)
		return
	}
	http.SetCookie(w, c.cookie("", -1))
	http.Redirect(w, r, "/ui/login", http.StatusSeeOther)
}

// cookie holds the token for the browser session only (no expiry: it goes when the browser
// closes); maxAge -1 deletes it.
func (c *console) cookie(value string, maxAge int) *http.Cookie {
	return &http.Cookie{Name: api.ConsoleCookie, Value: value, Path: "/", MaxAge: maxAge,
		HttpOnly: true, SameSite: http.SameSiteStrictMode, Secure: c.cfg.Secure}
}

// sameOrigin: the request's Origin (or, without one, its Referer) is this server. Browsers
// send Origin on every POST; a request with neither is not from a browser's page of another
// site.
func sameOrigin(r *http.Request) bool {
	from := r.Header.Get("Origin")
	if from == "" {
		from = r.Header.Get("Referer")
	}
	if from == "" {
		return true
	}
	u, err := url.Parse(from)
	return err == nil && u.Host == r.Host
}
