// Package cluster runs a real Kubernetes control plane on loopback: etcd,
// kube-apiserver (with its aggregator), kube-controller-manager and KWOK,
// which plays the kubelet for one fake node. There is no scheduler, so pods
// must name the node in spec.nodeName.
package cluster

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"
)

// NodeName is the KWOK node every test pod is pinned to.
const NodeName = "kwok-node-0"

// Options say where the binaries are and how the controllers behave.
type Options struct {
	// BinDir holds etcd, kube-apiserver, kube-controller-manager, kubectl and kwok.
	BinDir string
	// WorkDir receives the PKI, etcd's data and one log file per component.
	WorkDir string
	// HPASyncPeriod is how often the HPA controller re-evaluates
	// (--horizontal-pod-autoscaler-sync-period; the upstream default is 15s).
	HPASyncPeriod time.Duration
}

// Cluster is a running control plane.
type Cluster struct {
	// Kubeconfig is the path of an admin (system:masters) kubeconfig.
	Kubeconfig string
	Config     *rest.Config
	Client     kubernetes.Interface
	LogDir     string

	opts                 Options
	pki                  *pki
	etcdURL              string
	controllerKubeconfig string
	procs                []*process // in start order; stopped in reverse
}

// Start brings the control plane up and returns once a node is Ready and the
// controllers have created the default ServiceAccount. On error everything
// already started is stopped again.
func Start(ctx context.Context, opts Options) (c *Cluster, err error) {
	c = &Cluster{opts: opts, LogDir: filepath.Join(opts.WorkDir, "logs")}
	defer func() {
		if err != nil {
			c.Stop()
			err = fmt.Errorf("%w\n%s", err, c.Tails(15))
		}
	}()
	for _, bin := range []string{"etcd", "kube-apiserver", "kube-controller-manager", "kubectl", "kwok"} {
		if _, err := os.Stat(filepath.Join(opts.BinDir, bin)); err != nil {
			return c, fmt.Errorf("missing control-plane binary %s in %s; build them with e2e/run.sh", bin, opts.BinDir)
		}
	}
	if err := os.MkdirAll(c.LogDir, 0o755); err != nil {
		return c, err
	}
	if c.pki, err = newPKI(filepath.Join(opts.WorkDir, "pki")); err != nil {
		return c, err
	}
	if err := c.startEtcd(ctx); err != nil {
		return c, err
	}
	if err := c.startAPIServer(ctx); err != nil {
		return c, err
	}
	if err := c.startControllerManager(ctx); err != nil {
		return c, err
	}
	if err := c.startKWOK(ctx); err != nil {
		return c, err
	}
	return c, nil
}

func (c *Cluster) bin(name string) string { return filepath.Join(c.opts.BinDir, name) }

func (c *Cluster) start(name string, args ...string) (*process, error) {
	p, err := startProcess(name, c.bin(name), args, c.LogDir)
	if err != nil {
		return nil, err
	}
	c.procs = append(c.procs, p)
	return p, nil
}

func (c *Cluster) startEtcd(ctx context.Context) error {
	client, peer, metrics := freePort(), freePort(), freePort()
	clientURL := "http://127.0.0.1:" + strconv.Itoa(client)
	peerURL := "http://127.0.0.1:" + strconv.Itoa(peer)
	p, err := c.start("etcd",
		"--name=e2e", "--data-dir="+filepath.Join(c.opts.WorkDir, "etcd"),
		"--listen-client-urls="+clientURL, "--advertise-client-urls="+clientURL,
		"--listen-peer-urls="+peerURL, "--initial-advertise-peer-urls="+peerURL,
		"--initial-cluster=e2e="+peerURL,
		"--listen-metrics-urls=http://127.0.0.1:"+strconv.Itoa(metrics),
		// The data is thrown away after the run; fsync only costs time.
		"--unsafe-no-fsync=true")
	if err != nil {
		return err
	}
	c.etcdURL = clientURL
	return waitFor(ctx, 60*time.Second, "etcd /health", p, func(ctx context.Context) error {
		return httpOK(ctx, clientURL+"/health")
	})
}

func (c *Cluster) startAPIServer(ctx context.Context) error {
	port := freePort()
	k := c.pki
	p, err := c.start("kube-apiserver",
		"--etcd-servers="+c.etcdURL,
		"--bind-address=127.0.0.1", "--secure-port="+strconv.Itoa(port), "--advertise-address=127.0.0.1",
		// No kubelets, no kube-proxy: nothing may need the kubernetes Service's endpoints.
		"--endpoint-reconciler-type=none", "--service-cluster-ip-range=10.0.0.0/24",
		"--tls-cert-file="+k.ServingCert, "--tls-private-key-file="+k.ServingKey,
		"--client-ca-file="+k.CACert, "--authorization-mode=RBAC",
		"--service-account-issuer=https://kubernetes.default.svc.cluster.local",
		"--service-account-key-file="+k.ServiceAccountPub, "--service-account-signing-key-file="+k.ServiceAccount,
		// The aggregator proxies custom.metrics.k8s.io with these credentials.
		"--requestheader-client-ca-file="+k.FrontProxyCA, "--requestheader-allowed-names="+frontProxyUser,
		"--requestheader-extra-headers-prefix=X-Remote-Extra-", "--requestheader-group-headers=X-Remote-Group",
		"--requestheader-username-headers=X-Remote-User",
		"--proxy-client-cert-file="+k.FrontProxyClient, "--proxy-client-key-file="+k.FrontProxyKey,
		"--enable-priority-and-fairness=false", "--profiling=false", "--v=1")
	if err != nil {
		return err
	}
	server := "https://127.0.0.1:" + strconv.Itoa(port)
	c.Kubeconfig = filepath.Join(c.opts.WorkDir, "admin.kubeconfig")
	if err := writeKubeconfig(c.Kubeconfig, server, k.CACert, k.AdminCert, k.AdminKey); err != nil {
		return err
	}
	c.controllerKubeconfig = filepath.Join(c.opts.WorkDir, "controller-manager.kubeconfig")
	if err := writeKubeconfig(c.controllerKubeconfig, server, k.CACert, k.ControllerCert, k.ControllerKey); err != nil {
		return err
	}
	if c.Config, err = clientcmd.BuildConfigFromFlags("", c.Kubeconfig); err != nil {
		return err
	}
	c.Config.QPS, c.Config.Burst = 50, 100
	if c.Client, err = kubernetes.NewForConfig(c.Config); err != nil {
		return err
	}
	return waitFor(ctx, 90*time.Second, "kube-apiserver /readyz", p, func(ctx context.Context) error {
		return c.Client.Discovery().RESTClient().Get().AbsPath("/readyz").Do(ctx).Error()
	})
}

func (c *Cluster) startControllerManager(ctx context.Context) error {
	kc := c.controllerKubeconfig
	p, err := c.start("kube-controller-manager",
		"--kubeconfig="+kc, "--authentication-kubeconfig="+kc, "--authorization-kubeconfig="+kc,
		"--bind-address=127.0.0.1", "--secure-port="+strconv.Itoa(freePort()), "--leader-elect=false",
		// Each controller acts as its own ServiceAccount with its bootstrap
		// role, as on a real cluster; the HPA's reads of custom.metrics.k8s.io
		// are authorised through that identity.
		"--use-service-account-credentials=true",
		"--controllers=deployment-controller,replicaset-controller,horizontal-pod-autoscaler-controller,serviceaccount-controller",
		"--horizontal-pod-autoscaler-sync-period="+c.opts.HPASyncPeriod.String(),
		"--root-ca-file="+c.pki.CACert, "--v=2")
	if err != nil {
		return err
	}
	// The ServiceAccount controller creates "default" in every namespace;
	// without it the ServiceAccount admission plugin rejects every pod.
	return waitFor(ctx, 90*time.Second, "kube-controller-manager (ServiceAccount default/default)", p, func(ctx context.Context) error {
		_, err := c.Client.CoreV1().ServiceAccounts("default").Get(ctx, "default", metav1.GetOptions{})
		return err
	})
}

func (c *Cluster) startKWOK(ctx context.Context) error {
	stages := filepath.Join(c.opts.WorkDir, "kwok-stages.yaml")
	if err := os.WriteFile(stages, []byte(kwokStages()), 0o644); err != nil {
		return err
	}
	p, err := c.start("kwok",
		"--kubeconfig="+c.Kubeconfig, "--config="+stages,
		"--manage-nodes-with-annotation-selector=kwok.x-k8s.io/node=fake",
		"--cidr=10.244.0.0/16", "--node-ip=10.1.0.1",
		"--server-address=127.0.0.1:"+strconv.Itoa(freePort()))
	if err != nil {
		return err
	}
	if _, err := c.Client.CoreV1().Nodes().Create(ctx, kwokNode(), metav1.CreateOptions{}); err != nil && !apierrors.IsAlreadyExists(err) {
		return fmt.Errorf("create node %s: %w", NodeName, err)
	}
	return waitFor(ctx, 60*time.Second, "KWOK node "+NodeName+" Ready", p, func(ctx context.Context) error {
		node, err := c.Client.CoreV1().Nodes().Get(ctx, NodeName, metav1.GetOptions{})
		if err != nil {
			return err
		}
		for _, cond := range node.Status.Conditions {
			if cond.Type == corev1.NodeReady && cond.Status == corev1.ConditionTrue {
				return nil
			}
		}
		return errNotReady
	})
}

func kwokNode() *corev1.Node {
	capacity := corev1.ResourceList{
		corev1.ResourceCPU:    resource.MustParse("32"),
		corev1.ResourceMemory: resource.MustParse("256Gi"),
		corev1.ResourcePods:   resource.MustParse("110"),
	}
	return &corev1.Node{
		ObjectMeta: metav1.ObjectMeta{
			Name:        NodeName,
			Annotations: map[string]string{"kwok.x-k8s.io/node": "fake", "node.alpha.kubernetes.io/ttl": "0"},
			Labels:      map[string]string{"type": "kwok", "kubernetes.io/hostname": NodeName},
		},
		Status: corev1.NodeStatus{Capacity: capacity, Allocatable: capacity},
	}
}

// Stop stops the components in reverse start order. The apiserver must be
// gone before etcd stops, or it spends a minute retrying etcd on shutdown.
func (c *Cluster) Stop() {
	for i := len(c.procs) - 1; i >= 0; i-- {
		c.procs[i].stop(10 * time.Second)
	}
}

// Tails returns the last n lines of every component's log.
func (c *Cluster) Tails(n int) string {
	var b strings.Builder
	for _, p := range c.procs {
		fmt.Fprintf(&b, "==> %s <==\n%s\n", p.logPath, Tail(p.logPath, n))
	}
	return b.String()
}

// PIDs returns the process ids of the running components, by name.
func (c *Cluster) PIDs() map[string]int {
	pids := map[string]int{}
	for _, p := range c.procs {
		pids[p.name] = p.pid()
	}
	return pids
}

// Kubectl runs the cluster's kubectl as the admin user.
func (c *Cluster) Kubectl(ctx context.Context, stdin []byte, args ...string) (stdout, stderr []byte, err error) {
	cmd := exec.CommandContext(ctx, c.bin("kubectl"), append([]string{"--kubeconfig=" + c.Kubeconfig}, args...)...)
	var out, errOut bytes.Buffer
	cmd.Stdin, cmd.Stdout, cmd.Stderr = bytes.NewReader(stdin), &out, &errOut
	err = cmd.Run()
	if err != nil {
		err = fmt.Errorf("kubectl %s: %w\n%s", strings.Join(args, " "), err, errOut.String())
	}
	return out.Bytes(), errOut.Bytes(), err
}

func writeKubeconfig(path, server, ca, cert, key string) error {
	cfg := clientcmdapi.NewConfig()
	cfg.Clusters["e2e"] = &clientcmdapi.Cluster{Server: server, CertificateAuthority: ca}
	cfg.AuthInfos["e2e"] = &clientcmdapi.AuthInfo{ClientCertificate: cert, ClientKey: key}
	cfg.Contexts["e2e"] = &clientcmdapi.Context{Cluster: "e2e", AuthInfo: "e2e"}
	cfg.CurrentContext = "e2e"
	return clientcmd.WriteToFile(*cfg, path)
}

// FreePort returns a TCP port on 127.0.0.1 that was free a moment ago.
func FreePort() int { return freePort() }

func freePort() int {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		panic(fmt.Sprintf("no free port on 127.0.0.1: %v", err))
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

func httpOK(ctx context.Context, url string) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("%s: %s", url, resp.Status)
	}
	return nil
}

// waitFor polls check until it succeeds, p exits, or timeout passes.
func waitFor(ctx context.Context, timeout time.Duration, what string, p *process, check func(context.Context) error) error {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	tick := time.NewTicker(200 * time.Millisecond)
	defer tick.Stop()
	var last error
	for {
		if err := p.exited(); err != nil {
			return err
		}
		callCtx, callCancel := context.WithTimeout(ctx, 5*time.Second)
		last = check(callCtx)
		callCancel()
		if last == nil {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("%s not reached within %s: %v", what, timeout, last)
		case <-tick.C:
		}
	}
}
