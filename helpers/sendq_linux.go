//go:build linux

package helpers

import (
	"net"
	"syscall"

	"golang.org/x/sys/unix"
)

// unackedBytes returns how many bytes conn's socket holds that the peer has not acknowledged
// (Linux's SIOCOUTQ), and false when that cannot be read. The number falls while the network
// takes in bytes a request body handed to the socket earlier: progress the body's Reads no
// longer show once the whole body sits in the socket's send buffer (up to a few MB).
func unackedBytes(conn net.Conn) (int, bool) {
	sc, ok := exclusiveNetConn(conn).(syscall.Conn)
	if !ok {
		return 0, false
	}
	raw, err := sc.SyscallConn()
	if err != nil {
		return 0, false
	}
	n, ierr := 0, error(nil)
	if err := raw.Control(func(fd uintptr) { n, ierr = unix.IoctlGetInt(int(fd), unix.SIOCOUTQ) }); err != nil || ierr != nil {
		return 0, false
	}
	return n, true
}
