package web_test

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
	"strings"
	"testing"
	"time"

	"github.com/kerf-cnc/kerf/jobs"
	"github.com/kerf-cnc/kerf/web"
)

// writeSelfSigned writes a certificate for 127.0.0.1 and its key, and
// returns their paths and a pool that trusts the certificate.
func writeSelfSigned(t *testing.T) (certFile, keyFile string, pool *x509.CertPool) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1),
		Subject:      pkix.Name{CommonName: "kerf test"},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(time.Hour),
		IPAddresses:  []net.IP{net.IPv4(127, 0, 0, 1)},
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	kb, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	certFile, keyFile = filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	if err := os.WriteFile(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kb}), 0o600); err != nil {
		t.Fatal(err)
	}
	pool = x509.NewCertPool()
	pool.AddCert(cert)
	return certFile, keyFile, pool
}

// TestTLSLogin serves TCP over TLS and logs in: the session cookie is
// Secure.
func TestTLSLogin(t *testing.T) {
	certFile, keyFile, pool := writeSelfSigned(t)
	st := mustOpenStore(t)
	h, err := jobs.HashPassword("ada's password", testIterations)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := st.CreateUser(t.Context(), jobs.User{Name: "ada", Role: "viewer", Password: h}); err != nil {
		t.Fatal(err)
	}
	s := &web.Server{Addr: "127.0.0.1:0", Users: st, TLSCertFile: certFile, TLSKeyFile: keyFile, Logger: discardLogger()}
	MustOpenServer(t, s)
	c := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}}
	defer c.CloseIdleConnections()
	base := "https://" + s.TCPAddr().String()
	resp, err := c.Post(base+"/api/v1/auth/login", "application/json", strings.NewReader(`{"username":"ada","password":"ada's password"}`))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	var session *http.Cookie
	for _, ck := range resp.Cookies() {
		if ck.Name == web.SessionCookie {
			session = ck
		}
	}
	if resp.StatusCode != 200 || session == nil || !session.Secure || !session.HttpOnly {
		t.Fatalf("login over TLS: %d, cookie %+v; want a Secure HttpOnly session cookie", resp.StatusCode, session)
	}
	plain := &http.Client{}
	if resp, err := plain.Get("http://" + s.TCPAddr().String() + "/api/v1/openapi.json"); err == nil {
		resp.Body.Close()
		if resp.StatusCode != http.StatusBadRequest {
			t.Errorf("plain HTTP on the TLS listener: %d, want 400", resp.StatusCode)
		}
	}
}
