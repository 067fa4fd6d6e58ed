package cluster

import "testing"

// The loopback check reads addresses as the kernel prints them in
// /proc/net/tcp and /proc/net/tcp6; a wrong decoding would let a socket on
// all interfaces pass as loopback.
func TestParseProcAddr(t *testing.T) {
	cases := []struct {
		in       string
		addr     string
		port     int
		loopback bool
	}{
		{"0100007F:1F90", "127.0.0.1", 8080, true},
		{"00000000:0050", "0.0.0.0", 80, false},
		{"00000000000000000000000001000000:1F90", "::1", 8080, true},
		{"00000000000000000000000000000000:1F90", "::", 8080, false},
		{"0000000000000000FFFF00000100007F:0016", "127.0.0.1", 22, true},
	}
	for _, c := range cases {
		ip, port, err := parseProcAddr(c.in)
		if err != nil {
			t.Fatalf("%s: %v", c.in, err)
		}
		if ip.String() != c.addr || port != c.port || ip.IsLoopback() != c.loopback {
			t.Errorf("%s = %s:%d (loopback %v), want %s:%d (loopback %v)", c.in, ip, port, ip.IsLoopback(), c.addr, c.port, c.loopback)
		}
	}
}
