package main

import (
	"bytes"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"text/tabwriter"

	"github.com/kptdev/krm-functions-sdk/go/fn"
	"sigs.k8s.io/kustomize/kyaml/kio/kioutil"
	"sigs.k8s.io/kustomize/kyaml/yaml"
)

const (
	example      = "examples/kustomize-exec/vllm"
	exampleBase  = "examples/workload"
	exampleFnArg = "vllmhpa.yaml"
)

// compareKustomize times kustomize build of the exec example, whose generator
// runs the function, against a copy of the same kustomization in which the
// generated objects are a plain resource, and against one whose generator is the
// no-op function: the first difference is what the generator costs a kustomize
// user, the second splits it into kustomize's own cost of running any exec
// function and the function's share.
func compareKustomize(work, ours, noop string, rounds int, generatorWall, noopWall float64, w io.Writer) error {
	kustomize := filepath.Join(work, "kustomize")
	// The version go.mod pins for go tool kustomize, built once so that go's own
	// start-up is not timed.
	if err := goBuild(kustomize, "sigs.k8s.io/kustomize/kustomize/v5"); err != nil {
		return err
	}
	cfg, err := os.ReadFile(filepath.Join(example, exampleFnArg))
	if err != nil {
		return err
	}
	execPath, err := checkExecPath(cfg, ours)
	if err != nil {
		return err
	}

	dirs := filepath.Join(work, "kustomizations")
	generated, err := generate(work, ours, cfg)
	if err != nil {
		return err
	}
	if err := copyDir(exampleBase, filepath.Join(dirs, "workload")); err != nil {
		return err
	}
	inline := filepath.Join(dirs, "inline")
	if err := writeFiles(inline, map[string][]byte{
		"kustomization.yaml": []byte(kustomizationHeader + "resources:\n- ../workload\n- generated.yaml\n"),
		"generated.yaml":     generated,
	}); err != nil {
		return err
	}
	execNoop := filepath.Join(dirs, "exec-noop")
	noopCfg := strings.Replace(string(cfg), "path: "+execPath, "path: "+noop, 1)
	if noopCfg == string(cfg) {
		return fmt.Errorf("%s/%s: cannot point its exec path %s at the no-op function", example, exampleFnArg, execPath)
	}
	if err := writeFiles(execNoop, map[string][]byte{
		"kustomization.yaml": []byte(kustomizationHeader + "resources:\n- ../workload\ngenerators:\n- " + exampleFnArg + "\n"),
		exampleFnArg:         []byte(noopCfg),
	}); err != nil {
		return err
	}

	build := func(dir string, exec bool) command {
		argv := []string{kustomize, "build"}
		if exec {
			argv = append(argv, "--enable-alpha-plugins", "--enable-exec")
		}
		return command{argv: append(argv, dir)}
	}
	plain, withNoop, withOurs := build(inline, false), build(execNoop, true), build(example, true)
	// The inline and exec builds must print the same objects, or the comparison
	// means nothing.
	var want, got bytes.Buffer
	if _, err := run(plain, &want); err != nil {
		return err
	}
	if _, err := run(withOurs, &got); err != nil {
		return err
	}
	if !bytes.Equal(want.Bytes(), got.Bytes()) {
		return fmt.Errorf("%w: %s", errOutputsDiffer, firstDifference(want.String(), got.String()))
	}

	samples, err := measureAll([]command{plain, withNoop, withOurs}, rounds)
	if err != nil {
		return err
	}
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "kustomize build of "+example+"\twall\tcpu\tpeak RSS\twall vs inline\t")
	for i, name := range []string{"generated objects inlined", "exec generator: the no-op function", "exec generator: vllm-hpa-fn"} {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%.2fx\t\n", name,
			spreadText(walls(samples[i]), seconds), spreadText(cpus(samples[i]), seconds), spreadText(rss(samples[i]), mebibytes),
			summarize(walls(samples[i])).median/summarize(walls(samples[0])).median)
	}
	tw.Flush()
	inlineWall := summarize(walls(samples[0])).median
	noopExec := summarize(walls(samples[1])).median
	oursExec := summarize(walls(samples[2])).median
	fmt.Fprintf(w, "\nthe exec generator adds %s to kustomize build: %s of kustomize running any exec function, %s for vllm-hpa-fn's share;\n"+
		"as processes in generator mode, the no-op function takes %s and vllm-hpa-fn %s (medians of wall time)\n",
		seconds(oursExec-inlineWall), seconds(noopExec-inlineWall), seconds(oursExec-noopExec), seconds(noopWall), seconds(generatorWall))
	return nil
}

const kustomizationHeader = "apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\n"

func spreadText(xs []float64, format func(float64) string) string {
	s := summarize(xs)
	return fmt.Sprintf("%s (%s-%s)", format(s.median), format(s.min), format(s.max))
}

// checkExecPath makes sure kustomize will run the binary being measured, and
// returns the exec path as the example writes it.
func checkExecPath(cfg []byte, ours string) (string, error) {
	obj, err := fn.ParseKubeObject(cfg)
	if err != nil {
		return "", fmt.Errorf("%s/%s: %v", example, exampleFnArg, err)
	}
	spec, err := yaml.Parse(obj.GetAnnotation("config.kubernetes.io/function"))
	if err != nil {
		return "", fmt.Errorf("%s/%s: the config.kubernetes.io/function annotation: %v", example, exampleFnArg, err)
	}
	path, err := spec.Pipe(yaml.Lookup("exec", "path"))
	if err != nil || path == nil {
		return "", fmt.Errorf("%s/%s: the config.kubernetes.io/function annotation has no exec.path", example, exampleFnArg)
	}
	runs, err := filepath.Abs(filepath.Join(example, path.YNode().Value))
	if err != nil {
		return "", err
	}
	if runs != ours {
		return "", fmt.Errorf("kustomize runs %s for %s, not %s; run from the repository root with the default -fn, or pass -kustomize=false", runs, example, ours)
	}
	return path.YNode().Value, nil
}

// generate runs the function as kustomize would for the example's config and
// returns its objects as plain YAML, without the placement annotations that
// kustomize removes from a generator's output.
func generate(work, ours string, cfg []byte) ([]byte, error) {
	var in strings.Builder
	in.WriteString("apiVersion: config.kubernetes.io/v1\nkind: ResourceList\nitems: []\nfunctionConfig:\n")
	for _, line := range strings.SplitAfter(string(cfg), "\n") {
		if line != "" {
			in.WriteString("  " + line)
		}
	}
	input := filepath.Join(work, "in-kustomize-generator.yaml")
	if err := os.WriteFile(input, []byte(in.String()), 0o644); err != nil {
		return nil, err
	}
	var out bytes.Buffer
	if _, err := run(command{argv: []string{ours}, stdin: input}, &out); err != nil {
		return nil, err
	}
	rl, err := fn.ParseResourceList(out.Bytes())
	if err != nil {
		return nil, fmt.Errorf("the function's output: %v", err)
	}
	var docs []string
	for _, obj := range rl.Items {
		for _, a := range []string{kioutil.PathAnnotation, kioutil.IndexAnnotation, kioutil.LegacyPathAnnotation, kioutil.LegacyIndexAnnotation} {
			if err := obj.RemoveAnnotation(a); err != nil {
				return nil, err
			}
		}
		docs = append(docs, obj.String())
	}
	return []byte(strings.Join(docs, "---\n")), nil
}

func copyDir(from, to string) error {
	entries, err := os.ReadDir(from)
	if err != nil {
		return err
	}
	files := map[string][]byte{}
	for _, e := range entries {
		if e.IsDir() {
			continue
		}
		b, err := os.ReadFile(filepath.Join(from, e.Name()))
		if err != nil {
			return err
		}
		files[e.Name()] = b
	}
	return writeFiles(to, files)
}

func writeFiles(dir string, files map[string][]byte) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	for name, b := range files {
		if err := os.WriteFile(filepath.Join(dir, name), b, 0o644); err != nil {
			return err
		}
	}
	return nil
}

// firstDifference names the first line where two outputs part.
func firstDifference(a, b string) string {
	la, lb := strings.Split(a, "\n"), strings.Split(b, "\n")
	for i := range min(len(la), len(lb)) {
		if la[i] != lb[i] {
			return fmt.Sprintf("line %d: inline %q, exec %q", i+1, la[i], lb[i])
		}
	}
	return fmt.Sprintf("one output is a prefix of the other (%d and %d lines)", len(la), len(lb))
}
