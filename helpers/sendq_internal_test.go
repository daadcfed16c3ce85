package helpers

import (
	"crypto/tls"
	"net"
	"net/http"
	"net/http/httptest"
	"testing"
)

// TestExclusiveNetConnOverTLS: the socket under a TLS connection that carries HTTP/1.1 (one
// request at a time: the API's, over HTTPS) is the request's alone, and its progress is read
// from it; under an HTTP/2 connection (requests multiplexed) it is not.
func TestExclusiveNetConnOverTLS(t *testing.T) {
	ts := httptest.NewUnstartedServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {}))
	ts.EnableHTTP2 = true
	ts.StartTLS()
	defer ts.Close()
	base := ts.Client().Transport.(*http.Transport).TLSClientConfig
	for _, tc := range []struct {
		proto     string
		exclusive bool
	}{{"http/1.1", true}, {"h2", false}} {
		cfg := base.Clone()
		cfg.NextProtos = []string{tc.proto}
		conn, err := tls.Dial("tcp", ts.Listener.Addr().String(), cfg)
		if err != nil {
			t.Fatal(err)
		}
		got := exclusiveNetConn(conn)
		h2 := conn.ConnectionState().NegotiatedProtocol == "h2"
		if _, tcp := got.(*net.TCPConn); tcp != tc.exclusive || h2 == tc.exclusive {
			t.Errorf("%s (negotiated %q): exclusiveNetConn = %T, want the TCP connection: %v", tc.proto, conn.ConnectionState().NegotiatedProtocol, got, tc.exclusive)
		}
		_ = conn.Close()
	}
}
