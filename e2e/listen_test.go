package e2e_test

import (
	"os"
	"testing"

	"github.com/vllm-hpa/vllm-hpa/e2e/cluster"
)

// TestEverythingListensOnLoopbackOnly reads the kernel's socket tables for
// every control-plane process and for this test process (which runs the
// metrics server): each listening socket must be bound to loopback.
func TestEverythingListensOnLoopbackOnly(t *testing.T) {
	e := needCluster(t)
	pids := e.cluster.PIDs()
	pids["e2e test process (metrics server)"] = os.Getpid()
	listeners, err := cluster.Listeners(pids)
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]bool{}
	for _, l := range listeners {
		seen[l.Process] = true
		if !l.Addr.IsLoopback() {
			t.Errorf("%s listens beyond loopback", l)
		} else {
			t.Logf("%s", l)
		}
	}
	// A process with no socket found would mean the check looked in the wrong place.
	for name := range pids {
		if !seen[name] {
			t.Errorf("found no listening socket of %s (pid %d)", name, pids[name])
		}
	}
}
