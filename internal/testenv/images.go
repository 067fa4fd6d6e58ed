package testenv

import (
	"archive/tar"
	"bytes"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"time"
)

// The local stand-ins for the Dockerfile's bases, which a machine without
// access to the registries cannot pull. The Dockerfile takes them as the build
// arguments BUILDER_IMAGE and BASE_IMAGE.
const (
	standInRepository = "localhost/vllm-hpa-test/"
	// BaseStandIn stands in for gcr.io/distroless/static-debian12:nonroot.
	BaseStandIn = standInRepository + "static:nonroot"
)

// distrolessPasswd and distrolessGroup are what distroless static:nonroot holds
// in /etc/passwd and /etc/group, the only files of it a static Go binary needs:
// podman resolves --user nobody (kustomize's and kpt's) and USER nonroot there.
// As printed from the image in
// https://github.com/GoogleContainerTools/distroless/issues/427.
const (
	distrolessPasswd = "root:x:0:0:root:/root:/sbin/nologin\n" +
		"nobody:x:65534:65534:nobody:/nonexistent:/sbin/nologin\n" +
		"nonroot:x:65532:65532:nonroot:/home/nonroot:/sbin/nologin\n"
	distrolessGroup = "root:x:0:\nnobody:x:65534:\ntty:x:5:\nstaff:x:50:\nnonroot:x:65532:\n"
)

// BuilderStandIn is the name of the stand-in for the golang builder image: the
// Go toolchain of this machine, whose version names it.
func BuilderStandIn() (string, error) {
	out, err := exec.Command("go", "env", "GOVERSION").Output()
	if err != nil {
		return "", fmt.Errorf("go env GOVERSION: %w", err)
	}
	return standInRepository + "golang:" + strings.TrimPrefix(strings.TrimSpace(string(out)), "go"), nil
}

// StandIns makes the stand-in images that are not in the tests' storage yet and
// returns the builder's name.
func (p *Podman) StandIns() (builder string, err error) {
	builder, err = BuilderStandIn()
	if err != nil {
		return "", err
	}
	if !p.HasImage(BaseStandIn) {
		if err := p.importImage(BaseStandIn, writeBase, "USER nonroot"); err != nil {
			return "", err
		}
	}
	if !p.HasImage(builder) {
		// The golang image's layout: the toolchain in /usr/local/go, GOPATH /go.
		// Modules come from this machine's module cache, which the build mounts
		// at /goproxy (see Build): nothing is downloaded.
		if err := p.importImage(builder, writeBuilder,
			"ENV PATH=/usr/local/go/bin:/usr/local/bin:/usr/bin:/bin",
			"ENV GOPATH=/go", "ENV HOME=/root", "ENV GOTOOLCHAIN=local",
			"ENV GOPROXY=file:///goproxy",
			"WORKDIR /"); err != nil {
			return "", err
		}
	}
	return builder, nil
}

// importImage makes an image named name from the file tree write puts in a tar
// stream, with Dockerfile instructions changes.
func (p *Podman) importImage(name string, write func(*tar.Writer) error, changes ...string) error {
	pr, pw := io.Pipe()
	go func() {
		tw := tar.NewWriter(pw)
		err := write(tw)
		if err == nil {
			err = tw.Close()
		}
		pw.CloseWithError(err)
	}()
	args := []string{"import"}
	for _, c := range changes {
		args = append(args, "--change", c)
	}
	cmd := p.Command(append(args, "-", name)...)
	cmd.Stdin = pr
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	err := cmd.Run()
	pr.CloseWithError(io.EOF)
	if err != nil {
		return fmt.Errorf("podman import %s: %v\n%s", name, err, stderr.String())
	}
	return nil
}

// writeBase writes distroless static:nonroot's users and directories.
func writeBase(tw *tar.Writer) error {
	for _, d := range []struct {
		name      string
		mode, uid int
	}{{"etc", 0o755, 0}, {"tmp", 0o1777, 0}, {"home", 0o755, 0}, {"home/nonroot", 0o700, 65532}} {
		if err := tw.WriteHeader(&tar.Header{Typeflag: tar.TypeDir, Name: d.name + "/", Mode: int64(d.mode), Uid: d.uid, Gid: d.uid, ModTime: time.Unix(0, 0)}); err != nil {
			return err
		}
	}
	for name, content := range map[string]string{"etc/passwd": distrolessPasswd, "etc/group": distrolessGroup} {
		if err := writeFile(tw, name, 0o644, []byte(content)); err != nil {
			return err
		}
	}
	return nil
}

// writeBuilder writes what the Dockerfile's build stage runs: Go (GOROOT of
// this machine, without its tests and API lists), and the shell and make that
// run `make build`, each with the shared libraries ldd lists for it.
func writeBuilder(tw *tar.Writer) error {
	out, err := exec.Command("go", "env", "GOROOT").Output()
	if err != nil {
		return fmt.Errorf("go env GOROOT: %w", err)
	}
	goroot := strings.TrimSpace(string(out))
	for _, d := range []string{"bin", "usr", "usr/bin", "usr/local", "usr/local/bin", "root", "go"} {
		if err := tw.WriteHeader(&tar.Header{Typeflag: tar.TypeDir, Name: d + "/", Mode: 0o755, ModTime: time.Unix(0, 0)}); err != nil {
			return err
		}
	}
	if err := tw.WriteHeader(&tar.Header{Typeflag: tar.TypeDir, Name: "tmp/", Mode: 0o1777, ModTime: time.Unix(0, 0)}); err != nil {
		return err
	}
	if err := writeTree(tw, goroot, "usr/local/go", []string{"test", "api", "doc", "misc"}); err != nil {
		return err
	}
	written := map[string]bool{}
	for _, prog := range []struct{ name, at string }{{"sh", "bin/sh"}, {"make", "usr/bin/make"}} {
		path, err := exec.LookPath(prog.name)
		if err != nil {
			return fmt.Errorf("the builder stand-in needs %s: %w", prog.name, err)
		}
		libs, err := sharedLibraries(path)
		if err != nil {
			return err
		}
		if err := copyFile(tw, path, prog.at); err != nil {
			return err
		}
		for _, lib := range libs {
			if written[lib] {
				continue
			}
			written[lib] = true
			if err := writeParents(tw, lib, written); err != nil {
				return err
			}
			if err := copyFile(tw, lib, strings.TrimPrefix(lib, "/")); err != nil {
				return err
			}
		}
	}
	return nil
}

// sharedLibraries lists the files a dynamically linked program loads, the
// loader included; none for a static one.
func sharedLibraries(program string) ([]string, error) {
	out, err := exec.Command("ldd", program).CombinedOutput()
	if err != nil {
		if bytes.Contains(out, []byte("not a dynamic executable")) {
			return nil, nil
		}
		return nil, fmt.Errorf("ldd %s: %v: %s", program, err, out)
	}
	if bytes.Contains(out, []byte("statically linked")) {
		return nil, nil
	}
	path := regexp.MustCompile(`(?:=> )?(/\S+) \(0x`)
	var libs []string
	for _, m := range path.FindAllStringSubmatch(string(out), -1) {
		libs = append(libs, m[1])
	}
	return libs, nil
}

// writeTree writes the files under src to dst in the image, without the
// top-level directories skip.
func writeTree(tw *tar.Writer, src, dst string, skip []string) error {
	return filepath.WalkDir(src, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(src, path)
		if err != nil {
			return err
		}
		for _, s := range skip {
			if rel == s {
				return filepath.SkipDir
			}
		}
		name := filepath.ToSlash(filepath.Join(dst, rel))
		info, err := d.Info()
		if err != nil {
			return err
		}
		switch {
		case d.IsDir():
			return tw.WriteHeader(&tar.Header{Typeflag: tar.TypeDir, Name: name + "/", Mode: int64(info.Mode().Perm()), ModTime: info.ModTime()})
		case info.Mode()&fs.ModeSymlink != 0:
			target, err := os.Readlink(path)
			if err != nil {
				return err
			}
			return tw.WriteHeader(&tar.Header{Typeflag: tar.TypeSymlink, Name: name, Linkname: target, ModTime: info.ModTime()})
		case info.Mode().IsRegular():
			return copyFile(tw, path, name)
		}
		return nil
	})
}

// writeParents writes the directories above an absolute path.
func writeParents(tw *tar.Writer, path string, written map[string]bool) error {
	var dirs []string
	for d := filepath.Dir(path); d != "/" && d != "."; d = filepath.Dir(d) {
		dirs = append([]string{strings.TrimPrefix(d, "/")}, dirs...)
	}
	for _, d := range dirs {
		if written[d] || d == "bin" || d == "usr" || d == "usr/bin" {
			continue
		}
		written[d] = true
		if err := tw.WriteHeader(&tar.Header{Typeflag: tar.TypeDir, Name: d + "/", Mode: 0o755, ModTime: time.Unix(0, 0)}); err != nil {
			return err
		}
	}
	return nil
}

// copyFile writes the file at path (following symbolic links) to name.
func copyFile(tw *tar.Writer, path, name string) error {
	b, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	info, err := os.Stat(path)
	if err != nil {
		return err
	}
	return writeFile(tw, name, int64(info.Mode().Perm()), b)
}

func writeFile(tw *tar.Writer, name string, mode int64, b []byte) error {
	if err := tw.WriteHeader(&tar.Header{Typeflag: tar.TypeReg, Name: name, Mode: mode, Size: int64(len(b)), ModTime: time.Unix(0, 0)}); err != nil {
		return err
	}
	_, err := tw.Write(b)
	return err
}

// Build builds the repository's Dockerfile target (the default when "") at root
// as tag, on the stand-in bases, with this machine's Go module cache as the
// module proxy: `podman build` as `make image` runs `docker build`, with the
// bases swapped and no network needed. It returns the build's output.
func (p *Podman) Build(root, target, tag string) (string, error) {
	builder, err := p.StandIns()
	if err != nil {
		return "", err
	}
	out, err := exec.Command("go", "env", "GOMODCACHE").Output()
	if err != nil {
		return "", fmt.Errorf("go env GOMODCACHE: %w", err)
	}
	proxy := filepath.Join(strings.TrimSpace(string(out)), "cache", "download")
	args := []string{"build", "--pull=never",
		"--build-arg", "BUILDER_IMAGE=" + builder,
		"--build-arg", "BASE_IMAGE=" + BaseStandIn,
		"--volume", proxy + ":/goproxy:ro",
		"--tag", tag}
	if target != "" {
		args = append(args, "--target", target)
	}
	cmd := p.Command(append(args, root)...)
	var log bytes.Buffer
	cmd.Stdout, cmd.Stderr = &log, &log
	if err := cmd.Run(); err != nil {
		return log.String(), fmt.Errorf("podman %s: %v\n%s", strings.Join(append(args, root), " "), err, log.String())
	}
	return log.String(), nil
}
