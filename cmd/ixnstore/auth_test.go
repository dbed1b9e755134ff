package main_test

import (
	"encoding/json"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/ixnstore/ixnstore/internal/testdb"
)

// ixnstore runs a command of the binary and returns its standard output.
func ixnstore(t *testing.T, args ...string) string {
	t.Helper()
	cmd := exec.Command(binary, args...)
	cmd.Env = append(os.Environ(), "DATABASE_URL=")
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("ixnstore %s: %v\n%s", strings.Join(args, " "), err, stderr.String())
	}
	return string(out)
}

// send makes one request with the given token ("" for none) and returns status, body and the
// WWW-Authenticate header.
func send(t *testing.T, method, url, token, body string, header ...string) (int, string, string) {
	t.Helper()
	req, err := http.NewRequest(method, url, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	res, err := (&http.Client{Transport: plainTransport, Timeout: 10 * time.Second}).Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	raw, _ := io.ReadAll(res.Body)
	return res.StatusCode, string(raw), res.Header.Get("WWW-Authenticate")
}

// The first start on a database without tokens makes the admin token, shows it once and keeps
// it in a 0600 file; the token commands make a node token that works as its node only, and
// revoke it.
func TestFirstStartMakesTheAdminTokenAndTokensWorkEndToEnd(t *testing.T) {
	t.Parallel()
	url := testdb.URL(t)
	file := filepath.Join(t.TempDir(), "admin.token")
	p := start(t, "--database-url", url, "--admin-token-file", file)

	kept, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	st, _ := os.Stat(file)
	if st.Mode().Perm() != 0o600 {
		t.Errorf("the token file's mode is %v, want 0600", st.Mode().Perm())
	}
	admin := strings.TrimSpace(string(kept))
	if !strings.HasPrefix(admin, "ixn_") || strings.Count(p.log.String(), admin) != 1 {
		t.Fatalf("the admin token %q is not shown once in the log:\n%s", admin, p.log.String())
	}

	status, body, challenge := send(t, "GET", p.base+"/v1/nodes", "", "")
	if status != 401 || !strings.Contains(body, `"unauthenticated"`) || !strings.HasPrefix(challenge, "Bearer") {
		t.Fatalf("no token: %d %q %s", status, challenge, body)
	}
	if status, body, _ := send(t, "GET", p.base+"/readyz", "", ""); status != 200 || !strings.Contains(body, `"auth":"on"`) {
		t.Fatalf("readyz: %d %s", status, body)
	}
	if status, body, _ := send(t, "GET", p.base+"/v1/nodes", admin, ""); status != 200 {
		t.Fatalf("admin: %d %s", status, body)
	}

	node := strings.TrimSpace(ixnstore(t, "token", "create", "--role", "node", "--node", "n1", "--name", "n1-key", "--database-url", url))
	if status, body, _ := send(t, "POST", p.base+"/v1/nodes", node, `{"node_id":"n1"}`); status != 200 {
		t.Fatalf("register: %d %s", status, body)
	}
	if status, body, _ := send(t, "POST", p.base+"/v1/nodes/n2/heartbeat", node, ""); status != 403 {
		t.Fatalf("heartbeat as another node: %d %s", status, body)
	}
	status, body, _ = send(t, "POST", p.base+"/v1/sessions", node, `{"session_id":"s1","owner_node":"n1"}`)
	var s struct {
		LeaseEpoch int64 `json:"lease_epoch"`
	}
	if status != 201 || json.Unmarshal([]byte(body), &s) != nil {
		t.Fatalf("create: %d %s", status, body)
	}
	epoch := strconv.FormatInt(s.LeaseEpoch, 10)
	ixn := `{"interaction_id":"i1","media":"voice","type":"inbound"}`
	if status, body, _ := send(t, "POST", p.base+"/v1/sessions/s1/interactions", node, ixn); status != 428 || !strings.Contains(body, "epoch_required") {
		t.Fatalf("write without epoch: %d %s", status, body)
	}
	if status, body, _ := send(t, "POST", p.base+"/v1/sessions/s1/interactions", node, ixn, "X-Lease-Epoch", epoch); status != 201 {
		t.Fatalf("write with epoch: %d %s", status, body)
	}

	list := ixnstore(t, "token", "list", "--database-url", url)
	if !strings.Contains(list, "n1-key") || !strings.Contains(list, "bootstrap-admin") || strings.Contains(list, node) {
		t.Fatalf("token list:\n%s", list)
	}
	ixnstore(t, "token", "revoke", "n1-key", "--database-url", url)
	// The instance's listener hears the revocation at once; 5 s is the promise.
	deadline := time.Now().Add(5 * time.Second)
	for {
		status, body, _ := send(t, "GET", p.base+"/v1/sessions/s1", node, "")
		if status == 401 && strings.Contains(body, "revoked") {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the revoked token is still let in after 5 s: %d %s", status, body)
		}
		time.Sleep(20 * time.Millisecond)
	}
	var listed []struct{ Name, Role string }
	if err := json.Unmarshal([]byte(ixnstore(t, "token", "list", "--json", "--database-url", url)), &listed); err != nil || len(listed) != 2 {
		t.Fatalf("token list --json: %v %v", listed, err)
	}
}
