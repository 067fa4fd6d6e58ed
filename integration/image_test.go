package integration_test

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// The images built from the Dockerfile (on local stand-ins for its bases, see
// internal/testenv) and run by podman, as kustomize and kpt run them.

// TestImageKustomizeContainer renders examples/kustomize-container, unchanged,
// with the real kustomize CLI in container mode: kustomize runs the image with
// `docker run --rm -i --network none --user nobody
// --security-opt=no-new-privileges`, here podman's docker.
func TestImageKustomizeContainer(t *testing.T) {
	engine := podman(t)
	fnImage(t)
	out := mustRunTool(t, root, engine.Env, kustomize, "build", "--enable-alpha-plugins", filepath.Join(work, containerExample))
	want := readFile(t, filepath.Join(root, containerExample, "expected.yaml"))
	if out != string(want) {
		t.Errorf("the container run differs from expected.yaml:\n%s", lineDiff(string(want), out))
	}
}

// imageConfig is what `podman image inspect` says of an image's config.
type imageConfig struct {
	User         string
	Entrypoint   []string
	Cmd          []string
	ExposedPorts map[string]struct{}
}

func inspect(t *testing.T, img string) imageConfig {
	t.Helper()
	out, err := podman(t).Run("image", "inspect", "--format", "{{json .Config}}", img)
	if err != nil {
		t.Fatal(err)
	}
	var c imageConfig
	if err := json.Unmarshal([]byte(out), &c); err != nil {
		t.Fatalf("podman image inspect: %v\n%s", err, out)
	}
	return c
}

// TestImageFunction checks the function's image: a non-root user, the binary
// as its only entrypoint, and a run with no network, a read-only root file
// system and kustomize's --user nobody.
func TestImageFunction(t *testing.T) {
	engine := podman(t)
	img := fnImage(t)
	c := inspect(t, img)
	if c.User != "nonroot:nonroot" {
		t.Errorf("the image runs as %q, want nonroot:nonroot", c.User)
	}
	if !slices.Equal(c.Entrypoint, []string{"/usr/local/bin/vllm-hpa-fn"}) || len(c.Cmd) > 0 {
		t.Errorf("entrypoint %q and command %q, want the function's binary alone", c.Entrypoint, c.Cmd)
	}

	in := "apiVersion: config.kubernetes.io/v1\nkind: ResourceList\nitems: []\nfunctionConfig:\n" +
		indent(string(readFile(t, filepath.Join(root, containerExample, "vllmhpa.yaml"))))
	for _, user := range []string{"", "nobody"} {
		args := []string{"run", "--rm", "-i", "--network", "none", "--read-only", "--security-opt=no-new-privileges"}
		if user != "" {
			args = append(args, "--user", user)
		}
		cmd := engine.Command(append(args, img)...)
		cmd.Stdin = strings.NewReader(in)
		var stdout, stderr strings.Builder
		cmd.Stdout, cmd.Stderr = &stdout, &stderr
		if err := cmd.Run(); err != nil {
			t.Fatalf("podman %s: %v\n%s", strings.Join(args, " "), err, stderr.String())
		}
		for _, kind := range []string{"kind: HorizontalPodAutoscaler", "kind: PodMonitoring", "kind: APIService"} {
			if !strings.Contains(stdout.String(), kind) {
				t.Errorf("user %q: the output lacks %s:\n%s", user, kind, stdout.String())
			}
		}
	}

	version, err := engine.Run("run", "--rm", "--network", "none", "--read-only", img, "--version")
	if err != nil {
		t.Fatal(err)
	}
	if want := mustRunTool(t, root, nil, fnBin, "--version"); version != want {
		t.Errorf("the image's --version is %q, the binary's %q", version, want)
	}
}

// TestImageVLLMSim runs the vllm-sim target as a user would try it: read-only,
// as its non-root user, with its port published on 127.0.0.1; it serves
// /metrics and a completion, and stops cleanly.
func TestImageVLLMSim(t *testing.T) {
	engine := podman(t)
	img := vllmSimImage(t)
	c := inspect(t, img)
	if c.User != "nonroot:nonroot" {
		t.Errorf("the image runs as %q, want nonroot:nonroot", c.User)
	}
	if len(c.Entrypoint) == 0 || c.Entrypoint[0] != "/usr/local/bin/vllm-sim" {
		t.Errorf("entrypoint %q, want /usr/local/bin/vllm-sim", c.Entrypoint)
	}
	if _, ok := c.ExposedPorts["8000/tcp"]; !ok {
		t.Errorf("exposed ports %v, want 8000/tcp", c.ExposedPorts)
	}

	name := fmt.Sprintf("vllm-hpa-test-sim-%d", os.Getpid())
	cmd := engine.Command("run", "--rm", "--name", name, "--read-only", "--publish", "127.0.0.1::8000", img, "--time-per-token=1ms", "--model=gemma")
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	stopped := false
	t.Cleanup(func() {
		if !stopped {
			_, _ = engine.Run("rm", "--force", name)
			_ = cmd.Wait()
		}
	})
	// vllm-sim says "serving" once it listens; read its log up to that line.
	log := bufio.NewScanner(stderr)
	var logged []string
	started := false
	for !started && log.Scan() {
		logged = append(logged, log.Text())
		started = strings.Contains(log.Text(), "vllm-sim: serving")
	}
	if !started {
		t.Fatalf("vllm-sim did not start (%v):\n%s", log.Err(), strings.Join(logged, "\n"))
	}
	go func() { _, _ = io.Copy(io.Discard, stderr) }()

	port, err := engine.Run("port", name, "8000/tcp")
	if err != nil {
		t.Fatal(err)
	}
	base := "http://" + strings.TrimSpace(port)
	if !strings.HasPrefix(base, "http://127.0.0.1:") {
		t.Fatalf("port 8000 is published on %s, want 127.0.0.1", base)
	}

	body := httpDo(t, http.MethodPost, base+"/v1/completions", `{"model":"gemma","prompt":"hello there","max_tokens":3}`)
	var completion struct {
		Choices []struct{ Text string }
		Usage   struct {
			CompletionTokens int `json:"completion_tokens"`
		}
	}
	if err := json.Unmarshal([]byte(body), &completion); err != nil || len(completion.Choices) != 1 || completion.Usage.CompletionTokens != 3 {
		t.Errorf("completion %s (%v): want one choice of 3 tokens", body, err)
	}
	metrics := httpDo(t, http.MethodGet, base+"/metrics", "")
	for _, m := range []string{"vllm:num_requests_running", "vllm:num_requests_waiting", "vllm:kv_cache_usage_perc"} {
		if !strings.Contains(metrics, m) {
			t.Errorf("/metrics lacks %s", m)
		}
	}
	// The process's user, named from the image's /etc/passwd.
	user, err := engine.Run("top", name, "user")
	if err != nil {
		t.Fatal(err)
	}
	if fields := strings.Fields(user); len(fields) != 2 || fields[1] != "nonroot" {
		t.Errorf("vllm-sim runs as:\n%s\nwant nonroot", user)
	}

	if _, err := engine.Run("stop", name); err != nil {
		t.Fatal(err)
	}
	stopped = true
	if err := cmd.Wait(); err != nil {
		t.Errorf("vllm-sim did not stop cleanly on SIGTERM: %v", err)
	}
}

func httpDo(t *testing.T, method, url, body string) string {
	t.Helper()
	req, err := http.NewRequest(method, url, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, url, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("%s %s: %s %v\n%s", method, url, resp.Status, err, b)
	}
	return string(b)
}

// indent indents a YAML document by two spaces, to nest it under a key.
func indent(doc string) string {
	var b strings.Builder
	for _, line := range strings.SplitAfter(doc, "\n") {
		if strings.TrimSpace(line) != "" {
			b.WriteString("  ")
		}
		b.WriteString(line)
	}
	return b.String()
}
