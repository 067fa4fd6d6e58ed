// Package podsim gives KWOK's fake pods a process: one vllm-sim per running
// pod, each on its own loopback port, started when the pod becomes Ready and
// stopped when it goes away, plus a round-robin front end standing in for
// the pods' Service.
package podsim

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"sync"
	"syscall"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
)

// Options say which pods get a process and what it runs.
type Options struct {
	Client    kubernetes.Interface
	Namespace string
	// Selector is a label selector, e.g. "app=vllm-gemma".
	Selector string
	// Binary is vllm-sim; Args are its flags besides --addr.
	Binary string
	Args   []string
	LogDir string
	// FreePort returns a free port on 127.0.0.1.
	FreePort func() int
}

// Manager keeps one vllm-sim per Ready pod.
type Manager struct {
	opts Options
	mu   sync.Mutex
	sims map[string]*sim // by pod name
}

type sim struct {
	pod   string
	url   string
	cmd   *exec.Cmd
	done  chan struct{}
	ready bool // answered /health
}

// New returns a Manager; call Run to start following pods.
func New(opts Options) *Manager {
	return &Manager{opts: opts, sims: map[string]*sim{}}
}

// Run reconciles processes with pods every half second until ctx ends, then
// stops every process.
func (m *Manager) Run(ctx context.Context) {
	tick := time.NewTicker(500 * time.Millisecond)
	defer tick.Stop()
	defer m.stopAll()
	for {
		m.reconcile(ctx)
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
	}
}

func (m *Manager) reconcile(ctx context.Context) {
	pods, err := m.opts.Client.CoreV1().Pods(m.opts.Namespace).List(ctx, metav1.ListOptions{LabelSelector: m.opts.Selector})
	if err != nil {
		return // the next tick retries
	}
	want := map[string]bool{}
	for _, p := range pods.Items {
		if p.DeletionTimestamp == nil && ready(&p) {
			want[p.Name] = true
		}
	}
	var starting []*sim
	m.mu.Lock()
	for name, s := range m.sims {
		if !want[name] {
			delete(m.sims, name)
			go s.stop()
		}
	}
	for name := range want {
		s, ok := m.sims[name]
		if !ok {
			if s, err = m.start(name); err != nil {
				continue // retried on the next tick
			}
			m.sims[name] = s
		}
		if !s.ready {
			starting = append(starting, s)
		}
	}
	m.mu.Unlock()

	// A pod's process serves once it answers /health, as a readiness probe says.
	for _, s := range starting {
		if healthy(s.url) {
			m.mu.Lock()
			s.ready = true
			m.mu.Unlock()
		}
	}
}

func (m *Manager) start(pod string) (*sim, error) {
	port := m.opts.FreePort()
	addr := "127.0.0.1:" + strconv.Itoa(port)
	log, err := os.Create(filepath.Join(m.opts.LogDir, "vllm-sim-"+pod+".log"))
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(m.opts.Binary, append([]string{"--addr", addr}, m.opts.Args...)...)
	cmd.Stdout, cmd.Stderr = log, log
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		log.Close()
		return nil, fmt.Errorf("start vllm-sim for pod %s: %w", pod, err)
	}
	s := &sim{pod: pod, url: "http://" + addr, cmd: cmd, done: make(chan struct{})}
	go func() {
		_ = cmd.Wait()
		log.Close()
		close(s.done)
	}()
	return s, nil
}

// stop lets requests in flight finish, as a pod's SIGTERM does.
func (s *sim) stop() {
	_ = s.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-s.done:
	case <-time.After(30 * time.Second):
		_ = s.cmd.Process.Kill()
		<-s.done
	}
}

func (m *Manager) stopAll() {
	m.mu.Lock()
	sims := m.sims
	m.sims = map[string]*sim{}
	m.mu.Unlock()
	var wg sync.WaitGroup
	for _, s := range sims {
		wg.Add(1)
		go func() { defer wg.Done(); s.stop() }()
	}
	wg.Wait()
}

// Endpoints returns the base URL of each pod's process that is serving.
func (m *Manager) Endpoints() map[string]string {
	m.mu.Lock()
	defer m.mu.Unlock()
	out := map[string]string{}
	for name, s := range m.sims {
		if s.ready {
			out[name] = s.url
		}
	}
	return out
}

// PIDs returns the process id of each pod's process, by pod name.
func (m *Manager) PIDs() map[string]int {
	m.mu.Lock()
	defer m.mu.Unlock()
	out := map[string]int{}
	for name, s := range m.sims {
		out["vllm-sim "+name] = s.cmd.Process.Pid
	}
	return out
}

func ready(p *corev1.Pod) bool {
	for _, c := range p.Status.Conditions {
		if c.Type == corev1.PodReady {
			return c.Status == corev1.ConditionTrue
		}
	}
	return false
}

var healthClient = &http.Client{Timeout: time.Second}

func healthy(base string) bool {
	resp, err := healthClient.Get(base + "/health")
	if err != nil {
		return false
	}
	resp.Body.Close()
	return resp.StatusCode == http.StatusOK
}

func sortedNames(m map[string]string) []string {
	names := make([]string, 0, len(m))
	for name := range m {
		names = append(names, name)
	}
	sort.Strings(names)
	return names
}
