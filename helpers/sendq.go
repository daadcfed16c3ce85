package helpers

import (
	"crypto/tls"
	"net"
)

// exclusiveNetConn returns the network connection under conn (a TLS connection's, for
// example), or nil when conn is not one request's alone: an HTTP/2 connection carries several
// requests at once, so its progress says nothing of one of them.
func exclusiveNetConn(conn net.Conn) net.Conn {
	for conn != nil {
		if tc, ok := conn.(*tls.Conn); ok && tc.ConnectionState().NegotiatedProtocol == "h2" {
			return nil
		}
		u, ok := conn.(interface{ NetConn() net.Conn })
		if !ok {
			return conn
		}
		conn = u.NetConn()
	}
	return nil
}
