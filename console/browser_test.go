package console_test

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/browser"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"

	"github.com/ixnstore/ixnstore/internal/auth"
)

// liveWithin is how soon a change written through the API must show on an open page.
const liveWithin = 2 * time.Second

// chromiumPath finds Debian's Chromium (or another Chrome). Without one the browser tests
// are skipped with a message, and fail under CI=true, where .ci/run installs it.
func chromiumPath(t *testing.T) string {
	t.Helper()
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome", "google-chrome-stable"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	msg := "no Chromium on PATH: the console's browser tests need it (apt-get install chromium)"
	if os.Getenv("CI") == "true" {
		t.Fatal(msg)
	}
	t.Skip(msg)
	return ""
}

// screenshotDir is where the tests leave a PNG of each page: $IXNSTORE_CONSOLE_SCREENSHOTS,
// else ixnstore-console-screenshots in the temporary directory. Never in the repository.
func screenshotDir(t *testing.T) string {
	t.Helper()
	dir := os.Getenv("IXNSTORE_CONSOLE_SCREENSHOTS")
	if dir == "" {
		dir = filepath.Join(os.TempDir(), "ixnstore-console-screenshots")
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	return dir
}

// browse starts a headless Chromium for the test, bounded by limit in all.
func browse(t *testing.T, limit time.Duration) context.Context {
	t.Helper()
	path := chromiumPath(t)
	opts := append(chromedp.DefaultExecAllocatorOptions[:], chromedp.ExecPath(path),
		chromedp.NoSandbox, // root in CI containers: Chromium refuses its sandbox there
		chromedp.DisableGPU, chromedp.WindowSize(1400, 1000), chromedp.Flag("disable-dev-shm-usage", true))
	bounded, cancelLimit := context.WithTimeout(context.Background(), limit)
	actx, cancelAlloc := chromedp.NewExecAllocator(bounded, opts...)
	ctx, cancelTab := chromedp.NewContext(actx)
	t.Cleanup(func() {
		cancelTab()
		cancelAlloc()
		cancelLimit()
	})
	if err := chromedp.Do(ctx); err != nil {
		t.Fatalf("starting %s: %v", path, err)
	}
	return ctx
}

// page is the test's view of the console in the browser.
type page struct {
	t     *testing.T
	ctx   context.Context
	shots string
}

// stepLimit bounds each step, so that a page that never shows what a step waits for fails
// the test in seconds, with what the page showed instead.
const stepLimit = 20 * time.Second

func (p *page) do(what string, steps ...chromedp.Action[chromedp.Void]) {
	p.t.Helper()
	ctx, cancel := context.WithTimeout(p.ctx, stepLimit)
	defer cancel()
	if err := chromedp.Do(ctx, steps...); err != nil {
		p.fail(what, err)
	}
}

// fail ends the test with the page's address and text, and a screenshot of it.
func (p *page) fail(what string, err error) {
	p.t.Helper()
	ctx, cancel := context.WithTimeout(p.ctx, 5*time.Second)
	defer cancel()
	state, _ := chromedp.Run(ctx, chromedp.Evaluate[string](`location.href + "\n" + document.body.innerText.slice(0, 2000)`))
	if png, shotErr := chromedp.Run(ctx, chromedp.CaptureScreenshot()); shotErr == nil {
		_ = os.WriteFile(filepath.Join(p.shots, "failed.png"), png, 0o644)
	}
	p.t.Fatalf("%s: %v\nthe page: %s", what, err, state)
}

// waitFor polls a JavaScript condition until it holds, for at most within; it returns how
// long that took.
func (p *page) waitFor(what, cond string, within time.Duration) time.Duration {
	p.t.Helper()
	start := time.Now()
	if _, err := chromedp.Run(p.ctx, chromedp.Poll[chromedp.Void](cond,
		chromedp.WithPollingTimeout(within), chromedp.WithPollingInterval(20*time.Millisecond))); err != nil {
		p.fail(fmt.Sprintf("%s: not within %s", what, within), err)
	}
	return time.Since(start)
}

func (p *page) eval(expr string) string {
	p.t.Helper()
	v, err := chromedp.Run(p.ctx, chromedp.Evaluate[string](expr))
	if err != nil {
		p.t.Fatalf("%s: %v", expr, err)
	}
	return v
}

func (p *page) screenshot(name string) {
	p.t.Helper()
	png, err := chromedp.Run(p.ctx, chromedp.CaptureScreenshot())
	if err != nil {
		p.t.Fatalf("screenshot %s: %v", name, err)
	}
	file := filepath.Join(p.shots, name+".png")
	if err := os.WriteFile(file, png, 0o644); err != nil {
		p.t.Fatal(err)
	}
	p.t.Logf("screenshot: %s", file)
}

// The console in a real browser: sign in; an interaction written through the API shows on
// the overview and in the list within 2 s, without a reload; its page shows its parties and
// a timeline that grows as more is written; its session's page; a report, and its CSV.
func TestConsoleInABrowser(t *testing.T) {
	s := newServer(t)
	ctx := browse(t, 3*time.Minute)
	p := &page{t: t, ctx: ctx, shots: screenshotDir(t)}
	downloads := t.TempDir()
	s.call("POST", "/v1/nodes", `{"node_id":"node-a","capacity":100,"lease":"10m"}`, http.StatusOK)
	s.call("POST", "/v1/sessions", `{"session_id":"s1","owner_node":"node-a"}`, http.StatusCreated)

	// Sign in: the page sends to the login; the token goes in a form, never in a URL.
	p.do("open the login", chromedp.Navigate(s.base+"/ui/"), chromedp.WaitVisible(chromedp.CSS("#token")))
	p.screenshot("login")
	p.do("sign in", chromedp.SendKeys(chromedp.CSS("#token"), s.tokens[auth.RoleReporting]),
		chromedp.Submit(chromedp.CSS("#token")), chromedp.WaitVisible(chromedp.CSS("#ov-interactions")))
	cookies, err := chromedp.Call(ctx, network.GetCookies, network.GetCookiesParams{URLs: []string{s.base}})
	if err != nil {
		t.Fatal(err)
	}
	if len(cookies.Cookies) != 1 || !cookies.Cookies[0].HTTPOnly || cookies.Cookies[0].SameSite != network.CookieSameSiteStrict {
		t.Fatalf("cookies after the login: %+v", cookies.Cookies)
	}
	if got := p.eval("document.cookie + '|' + location.href"); strings.Contains(got, "ixn_") {
		t.Errorf("the token is in reach of the page's scripts or in its URL: %s", got)
	}

	// The overview: an interaction added through the API is counted without a reload.
	p.waitFor("the overview read", `document.getElementById("tile-active").textContent === "1"`, 10*time.Second)
	s.call("POST", "/v1/sessions/s1/interactions", `{"interaction_id":"call-1","media":"voice","type":"inbound",
		"parties":[{"party_id":"p1","resource":"+15550001","state":"alerting","role":"customer"}],"udata":{"lang":"en"}}`, http.StatusCreated)
	took := p.waitFor("call-1 on the overview", `document.getElementById("ov-voice-added")?.textContent === "1"`, liveWithin)
	t.Logf("the overview counted call-1 %s after it was written", took.Round(time.Millisecond))
	p.waitFor("node-a's load", `document.querySelector('#ov-nodes tr[data-node="node-a"] td:nth-child(4)')?.textContent === "1 / 100"`, liveWithin)
	p.screenshot("overview")

	// The list: call-1 from the reports; call-2, written once the page is open, arrives by
	// the event stream.
	p.do("open the list", chromedp.Click(chromedp.CSS(`nav a[data-nav="interactions"]`)),
		chromedp.WaitVisible(chromedp.CSS(`#interactions tr[data-iid="call-1"]`)))
	p.waitFor("the stream open", `document.getElementById("live").textContent === "live"`, 10*time.Second)
	marker := p.eval(`(window.notReloaded = "yes", window.notReloaded)`)
	s.call("POST", "/v1/sessions/s1/interactions", `{"interaction_id":"call-2","media":"voice","type":"inbound",
		"parties":[{"party_id":"p1","resource":"+15550002","state":"alerting","role":"customer"}],"udata":{"queue":"sales"}}`, http.StatusCreated)
	took = p.waitFor("call-2 in the list", `document.querySelector('#arrivals tr[data-iid="call-2"]') !== null`, liveWithin)
	t.Logf("the list showed call-2 %s after it was written", took.Round(time.Millisecond))
	if p.eval(`window.notReloaded || "reloaded"`) != marker {
		t.Fatal("the page reloaded")
	}
	p.screenshot("interactions")

	// One interaction: its parties and timeline, which grows as the test writes.
	p.do("open call-2", chromedp.Click(chromedp.CSS(`#arrivals tr[data-iid="call-2"] td:first-child a`)),
		chromedp.WaitVisible(chromedp.CSS(`#parties tr[data-k="s1/p1"]`)))
	p.waitFor("call-2's first event", `document.querySelectorAll("#timeline tbody tr").length === 1`, 10*time.Second)
	if got := p.eval(`document.querySelector("#timeline tbody tr td:nth-child(3)").textContent`); got != "interaction.added" {
		t.Errorf("first event %q", got)
	}
	s.call("POST", "/v1/sessions/s1/interactions/call-2/parties", `{"party_id":"p2","resource":"7001","state":"alerting","role":"agent"}`, http.StatusCreated)
	took = p.waitFor("p2 on call-2's page", `document.querySelector('#parties tr[data-k="s1/p2"] td:nth-child(4)')?.textContent === "alerting"`, liveWithin)
	p.waitFor("the timeline with partyadded", `document.querySelectorAll("#timeline tbody tr").length === 2`, liveWithin)
	t.Logf("call-2's page showed p2 %s after it was written", took.Round(time.Millisecond))
	s.call("PATCH", "/v1/sessions/s1/interactions/call-2/parties/p2", `{"state":"established"}`, http.StatusOK)
	s.call("PATCH", "/v1/sessions/s1/interactions/call-2/udata", `{"origin":"media","data":{"vip":true}}`, http.StatusOK)
	p.waitFor("the timeline grown", `[...document.querySelectorAll("#timeline tbody tr td:nth-child(3)")].map(td => td.textContent).join() ===
		"interaction.added,interaction.partyadded,interaction.partystatechanged,interaction.udata.changed"`, liveWithin)
	p.waitFor("p2 established and vip set", `document.querySelector('#parties tr[data-k="s1/p2"] td:nth-child(4)').textContent === "established" &&
		document.querySelector('#udata tr[data-k="s1/vip"]') !== null`, liveWithin)
	p.screenshot("interaction")

	// Its session: interactions, a pending request, the owner.
	s.call("POST", "/v1/sessions/s1/requests", `{"request_id":"r1","action":"accept","interaction_id":"call-1","timeout":"1h"}`, http.StatusAccepted)
	p.do("open the session", chromedp.Click(chromedp.CSS(`#summary dd[data-field="session"] a`)),
		chromedp.WaitVisible(chromedp.CSS("#owners")))
	p.waitFor("the session's page", `document.querySelectorAll("#session-interactions tbody tr").length === 2 &&
		document.querySelector("#requests tbody tr td")?.textContent === "r1" &&
		document.querySelector("#owners tbody tr td:nth-child(2)")?.textContent === "node-a"`, 10*time.Second)
	p.screenshot("session")

	// A report, and its CSV downloaded.
	if _, err := chromedp.Call(ctx, browser.SetDownloadBehavior, browser.SetDownloadBehaviorParams{
		Behavior: browser.SetDownloadBehaviorBehaviorAllow, DownloadPath: downloads}); err != nil {
		t.Fatal(err)
	}
	p.do("open the reports", chromedp.Click(chromedp.CSS(`nav a[data-nav="reports"]`)),
		chromedp.WaitVisible(chromedp.CSS(`#aggregates tr[data-group="voice"]`)))
	if got := p.eval(`document.querySelector('#aggregates tr[data-group="voice"] td:nth-child(2)').textContent`); got != "2" {
		t.Errorf("voice total %q, want 2", got)
	}
	p.waitFor("the charts", `document.querySelectorAll("#chart-volume svg rect").length > 0 &&
		document.querySelectorAll("#chart-abandoned svg rect").length > 0 && document.querySelectorAll("#chart-handle svg rect").length > 0`, 10*time.Second)
	p.screenshot("reports")
	p.do("download the CSV", chromedp.Click(chromedp.CSS("#csv")))
	csv := waitForFile(t, downloads, ".csv", 10*time.Second)
	if !strings.HasPrefix(csv, "group,total,") || !strings.Contains(csv, "\nvoice,2,2,") {
		t.Errorf("the CSV:\n%s", csv)
	}
}

// waitForFile returns the content of the first file in dir whose name ends with suffix,
// once the download is whole (Chromium writes it under another name until then).
func waitForFile(t *testing.T, dir, suffix string, within time.Duration) string {
	t.Helper()
	deadline := time.Now().Add(within)
	for {
		entries, err := os.ReadDir(dir)
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range entries {
			if strings.HasSuffix(e.Name(), suffix) {
				raw, err := os.ReadFile(filepath.Join(dir, e.Name()))
				if err != nil {
					t.Fatal(err)
				}
				return string(raw)
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("no %s file downloaded into %s within %s (%v)", suffix, dir, within, names(entries))
		}
		time.Sleep(20 * time.Millisecond) // a file in a directory sends no signal to wait on
	}
}

func names(entries []os.DirEntry) string {
	var out []string
	for _, e := range entries {
		out = append(out, e.Name())
	}
	return fmt.Sprint(out)
}
