package e2e_test

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"k8s.io/klog/v2"

	"github.com/vllm-hpa/vllm-hpa/e2e/cluster"
	"github.com/vllm-hpa/vllm-hpa/e2e/metricsserver"
	"github.com/vllm-hpa/vllm-hpa/e2e/render"
)

// hpaSyncPeriod is the controller manager's HPA resync; 15s upstream,
// shortened so each scaling step takes seconds.
const hpaSyncPeriod = 5 * time.Second

// suite is the running environment every cluster test shares.
type suite struct {
	ctx         context.Context
	cluster     *cluster.Cluster
	tools       render.Tools
	gauges      *metricsserver.Registry
	metricsPort int
	crdsDir     string
	kccCRDsDir  string
	examplesDir string
	sim         string // vllm-sim binary
	loadgen     string // vllm-loadgen binary
	workDir     string
}

var env *suite

// setupErr says why env is nil.
var setupErr error

func TestMain(m *testing.M) {
	flag.Parse()
	os.Exit(run(m))
}

func run(m *testing.M) int {
	binDir := os.Getenv("VLLMHPA_E2E_BIN")
	if binDir == "" {
		setupErr = fmt.Errorf("VLLMHPA_E2E_BIN is not set; run the suite with e2e/run.sh")
		return m.Run()
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()

	workDir, err := os.MkdirTemp("", "vllm-hpa-e2e-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	testLog := routeKlog(filepath.Join(workDir, "logs"))
	code := 1
	defer func() {
		if code == 0 {
			os.RemoveAll(workDir)
			return
		}
		fmt.Fprintf(os.Stderr, "\nThe run failed; logs are kept in %s\n", filepath.Join(workDir, "logs"))
	}()

	started := time.Now()
	c, err := cluster.Start(ctx, cluster.Options{BinDir: binDir, WorkDir: workDir, HPASyncPeriod: hpaSyncPeriod})
	if err != nil {
		fmt.Fprintf(os.Stderr, "control plane did not start: %v\n", err)
		return code
	}
	defer func() {
		if code != 0 {
			fmt.Fprintf(os.Stderr, "\n%s==> %s <==\n%s\n", c.Tails(40), testLog, cluster.Tail(testLog, 40))
		}
		c.Stop()
	}()
	fmt.Printf("control plane up in %s (logs in %s)\n", time.Since(started).Round(100*time.Millisecond), c.LogDir)

	e := &suite{
		ctx:         ctx,
		cluster:     c,
		gauges:      &metricsserver.Registry{},
		metricsPort: cluster.FreePort(),
		crdsDir:     os.Getenv("VLLMHPA_CRDS_DIR"),
		kccCRDsDir:  os.Getenv("VLLMHPA_KCC_CRDS_DIR"),
		examplesDir: os.Getenv("VLLMHPA_EXAMPLES_DIR"),
		sim:         os.Getenv("VLLMHPA_SIM"),
		loadgen:     os.Getenv("VLLMHPA_LOADGEN"),
		workDir:     workDir,
	}
	if e.tools, err = render.ToolsFromEnv(); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return code
	}
	serverCtx, stopServer := context.WithCancel(ctx)
	server, err := metricsserver.Start(serverCtx, metricsserver.Options{
		Kubeconfig: c.Kubeconfig,
		Port:       e.metricsPort,
		CertDir:    filepath.Join(workDir, "metricsserver"),
		Gauges:     e.gauges,
	})
	if err != nil {
		stopServer()
		fmt.Fprintf(os.Stderr, "metrics server did not start: %v\n", err)
		return code
	}
	defer func() {
		stopServer()
		_ = server.Wait()
	}()

	env = e
	code = m.Run()
	return code
}

// routeKlog sends the logs of the client libraries and the in-process
// metrics server to a file, so test output stays readable.
func routeKlog(dir string) string {
	_ = os.MkdirAll(dir, 0o755)
	path := filepath.Join(dir, "test-process.log")
	fs := flag.NewFlagSet("klog", flag.ContinueOnError)
	klog.InitFlags(fs)
	_ = fs.Parse([]string{"-logtostderr=false", "-alsologtostderr=false", "-stderrthreshold=FATAL", "-log_file=" + path, "-v=2"})
	return path
}

// needCluster returns the shared environment, or skips the test when the
// suite was not started through e2e/run.sh (and fails it when it was).
func needCluster(t *testing.T) *suite {
	t.Helper()
	if env == nil {
		if os.Getenv("VLLMHPA_E2E_REQUIRED") != "" {
			t.Fatalf("no cluster: %v", setupErr)
		}
		t.Skipf("no cluster: %v", setupErr)
	}
	return env
}
