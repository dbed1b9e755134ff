package cli

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// pki is a CA with a server certificate for 127.0.0.1 and a client certificate, as PEM files.
type pki struct {
	caFile, certFile, keyFile string
	ca                        *x509.CertPool
	client                    tls.Certificate
}

func newPKI(t *testing.T) pki {
	t.Helper()
	dir := t.TempDir()
	caKey, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	caTmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "test CA"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign}
	caDER, err := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, &caKey.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	caCert, _ := x509.ParseCertificate(caDER)
	issue := func(serial int64, usage x509.ExtKeyUsage, ips []net.IP) ([]byte, *ecdsa.PrivateKey) {
		key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		tmpl := &x509.Certificate{SerialNumber: big.NewInt(serial), Subject: pkix.Name{CommonName: "test"},
			NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
			ExtKeyUsage: []x509.ExtKeyUsage{usage}, IPAddresses: ips, KeyUsage: x509.KeyUsageDigitalSignature}
		der, err := x509.CreateCertificate(rand.Reader, tmpl, caCert, &key.PublicKey, caKey)
		if err != nil {
			t.Fatal(err)
		}
		return der, key
	}
	write := func(name, typ string, der []byte) string {
		path := filepath.Join(dir, name)
		if err := os.WriteFile(path, pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der}), 0o600); err != nil {
			t.Fatal(err)
		}
		return path
	}
	p := pki{caFile: write("ca.pem", "CERTIFICATE", caDER), ca: x509.NewCertPool()}
	p.ca.AddCert(caCert)
	serverDER, serverKey := issue(2, x509.ExtKeyUsageServerAuth, []net.IP{net.ParseIP("127.0.0.1")})
	p.certFile = write("server.pem", "CERTIFICATE", serverDER)
	keyDER, _ := x509.MarshalECPrivateKey(serverKey)
	p.keyFile = write("server-key.pem", "EC PRIVATE KEY", keyDER)
	clientDER, clientKey := issue(3, x509.ExtKeyUsageClientAuth, nil)
	p.client = tls.Certificate{Certificate: [][]byte{clientDER}, PrivateKey: clientKey}
	return p
}

// --tls-cert/--tls-key serve HTTPS; with --tls-client-ca a client without a certificate the
// CA signed is refused in the handshake.
func TestServeTLS(t *testing.T) {
	p := newPKI(t)
	tests := []struct {
		name        string
		clientCA    bool
		clientCert  bool
		wantRefusal bool
	}{
		{name: "TLS", clientCA: false, clientCert: false},
		{name: "mutual TLS with a client certificate", clientCA: true, clientCert: true},
		{name: "mutual TLS without a client certificate", clientCA: true, clientCert: false, wantRefusal: true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			a := accessFlags{tlsCert: p.certFile, tlsKey: p.keyFile}
			if tc.clientCA {
				a.tlsClientCA = p.caFile
			}
			listener, err := net.Listen("tcp", "127.0.0.1:0")
			if err != nil {
				t.Fatal(err)
			}
			server := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
				w.WriteHeader(http.StatusTeapot)
			}), ReadHeaderTimeout: 5 * time.Second}
			served := make(chan error, 1)
			go func() { served <- a.serve(server, listener) }()
			defer func() { server.Close(); <-served }()

			cfg := &tls.Config{RootCAs: p.ca, MinVersion: tls.VersionTLS12}
			if tc.clientCert {
				cfg.Certificates = []tls.Certificate{p.client}
			}
			client := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{TLSClientConfig: cfg}}
			res, err := client.Get("https://" + listener.Addr().String() + "/")
			if tc.wantRefusal {
				if err == nil {
					res.Body.Close()
					t.Fatalf("a client without a certificate got %d", res.StatusCode)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			res.Body.Close()
			if res.StatusCode != http.StatusTeapot || res.TLS == nil {
				t.Fatalf("status %d, TLS %v", res.StatusCode, res.TLS != nil)
			}
		})
	}
}

func TestAccessFlagsValidate(t *testing.T) {
	tests := []struct {
		name string
		a    accessFlags
		ok   bool
	}{
		{"defaults", accessFlags{mode: "on", streams: 64}, true},
		{"off", accessFlags{mode: "off", streams: 64}, true},
		{"unknown mode", accessFlags{mode: "maybe", streams: 64}, false},
		{"cert without key", accessFlags{mode: "on", streams: 64, tlsCert: "c.pem"}, false},
		{"client CA without TLS", accessFlags{mode: "on", streams: 64, tlsClientCA: "ca.pem"}, false},
		{"no streams", accessFlags{mode: "on", streams: 0}, false},
		{"rates", accessFlags{mode: "on", streams: 1, rates: "node=100:10,reporting=5"}, true},
		{"bad rate", accessFlags{mode: "on", streams: 1, rates: "node=fast"}, false},
		{"unknown role", accessFlags{mode: "on", streams: 1, rates: "robot=5"}, false},
	}
	for _, tc := range tests {
		if err := tc.a.validate(); (err == nil) != tc.ok {
			t.Errorf("%s: %v", tc.name, err)
		}
	}
}
