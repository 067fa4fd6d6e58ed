package cluster

import (
	"bufio"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
)

// Listener is one listening TCP socket of a process.
type Listener struct {
	Process string
	PID     int
	Addr    net.IP
	Port    int
}

func (l Listener) String() string {
	return fmt.Sprintf("%s (pid %d) on %s", l.Process, l.PID, net.JoinHostPort(l.Addr.String(), strconv.Itoa(l.Port)))
}

// NonLoopbackListeners returns every listening TCP socket of the given
// processes (name -> pid) that is bound to anything but a loopback address.
// It reads /proc, so it sees what the kernel sees, whatever the flags said.
func NonLoopbackListeners(pids map[string]int) ([]Listener, error) {
	all, err := Listeners(pids)
	if err != nil {
		return nil, err
	}
	var open []Listener
	for _, l := range all {
		if !l.Addr.IsLoopback() {
			open = append(open, l)
		}
	}
	return open, nil
}

// Listeners returns the listening TCP sockets of the given processes.
func Listeners(pids map[string]int) ([]Listener, error) {
	sockets := map[string]Listener{} // inode -> address
	for _, table := range []string{"/proc/net/tcp", "/proc/net/tcp6"} {
		if err := readListening(table, sockets); err != nil {
			return nil, err
		}
	}
	var found []Listener
	for name, pid := range pids {
		fds, err := os.ReadDir(fmt.Sprintf("/proc/%d/fd", pid))
		if err != nil {
			return nil, fmt.Errorf("list sockets of %s (pid %d): %w", name, pid, err)
		}
		for _, fd := range fds {
			target, err := os.Readlink(filepath.Join(fmt.Sprintf("/proc/%d/fd", pid), fd.Name()))
			if err != nil || !strings.HasPrefix(target, "socket:[") {
				continue
			}
			if l, ok := sockets[strings.TrimSuffix(strings.TrimPrefix(target, "socket:["), "]")]; ok {
				l.Process, l.PID = name, pid
				found = append(found, l)
			}
		}
	}
	sort.Slice(found, func(i, j int) bool {
		if found[i].Process != found[j].Process {
			return found[i].Process < found[j].Process
		}
		return found[i].Port < found[j].Port
	})
	return found, nil
}

// readListening adds the LISTEN sockets of one /proc/net table to sockets.
func readListening(path string, sockets map[string]Listener) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	scan := bufio.NewScanner(f)
	scan.Scan() // header
	for scan.Scan() {
		fields := strings.Fields(scan.Text())
		const listen = "0A"
		if len(fields) < 10 || fields[3] != listen {
			continue
		}
		addr, port, err := parseProcAddr(fields[1])
		if err != nil {
			return fmt.Errorf("%s: %w", path, err)
		}
		sockets[fields[9]] = Listener{Addr: addr, Port: port}
	}
	return scan.Err()
}

// parseProcAddr decodes "0100007F:1F90": the address is stored as 32-bit
// words in host (little-endian) byte order, the port in big-endian hex.
func parseProcAddr(s string) (net.IP, int, error) {
	hexAddr, hexPort, ok := strings.Cut(s, ":")
	if !ok {
		return nil, 0, fmt.Errorf("malformed socket address %q", s)
	}
	raw, err := hex.DecodeString(hexAddr)
	if err != nil || (len(raw) != 4 && len(raw) != 16) {
		return nil, 0, fmt.Errorf("malformed socket address %q", s)
	}
	ip := make(net.IP, len(raw))
	for i := 0; i < len(raw); i += 4 {
		binary.BigEndian.PutUint32(ip[i:], binary.LittleEndian.Uint32(raw[i:]))
	}
	port, err := strconv.ParseUint(hexPort, 16, 16)
	if err != nil {
		return nil, 0, fmt.Errorf("malformed socket port %q", s)
	}
	return ip, int(port), nil
}
