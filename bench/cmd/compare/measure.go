package main

import (
	"bytes"
	"fmt"
	"io"
	"os"
	"os/exec"
	"slices"
	"strings"
	"time"
)

// command is one process to time: argv run in dir with stdin read from a file.
type command struct {
	argv  []string
	dir   string
	stdin string
	// check inspects the stdout of the warm-up run, so that a row never times a
	// process that failed or wrote the wrong thing.
	check func(stdout []byte) error
}

// sample is what one run of a process cost.
type sample struct {
	wall time.Duration
	// cpu is user plus system time, which other load on the machine disturbs
	// less than wall time.
	cpu time.Duration
	// peakRSS is the largest resident set of the process or of any child it
	// waited for, in bytes (wait4's ru_maxrss).
	peakRSS int64
	// stderr is how many bytes the process wrote on stderr.
	stderr int
}

// rusagePath is the bench/cmd/rusage binary every command runs under: Linux
// counts a parent's own peak resident set towards a child it starts, and this
// harness holds whole generated packages in memory, so it must not start the
// measured processes itself.
var rusagePath string

// run starts c under rusage, waits for it and returns its cost. stdout receives
// the output; nil sends it to the null device, which costs neither side anything.
func run(c command, stdout *bytes.Buffer) (sample, error) {
	cmd := exec.Command(rusagePath, c.argv...)
	cmd.Dir = c.dir
	if c.stdin != "" {
		in, err := os.Open(c.stdin)
		if err != nil {
			return sample{}, err
		}
		defer in.Close()
		cmd.Stdin = in
	}
	if stdout != nil {
		cmd.Stdout = stdout
	} else {
		null, err := os.OpenFile(os.DevNull, os.O_WRONLY, 0)
		if err != nil {
			return sample{}, err
		}
		defer null.Close()
		cmd.Stdout = null
	}
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	report, reportW, err := os.Pipe()
	if err != nil {
		return sample{}, err
	}
	defer report.Close()
	cmd.ExtraFiles = []*os.File{reportW}
	err = cmd.Start()
	reportW.Close()
	if err != nil {
		return sample{}, err
	}
	line, readErr := io.ReadAll(report)
	if err := cmd.Wait(); err != nil {
		return sample{}, fmt.Errorf("%s: %v\n%s", strings.Join(c.argv, " "), err, stderr.Bytes())
	}
	if readErr != nil {
		return sample{}, readErr
	}
	var wall, cpu, maxRSS int64
	var code int
	if _, err := fmt.Sscan(string(line), &wall, &cpu, &maxRSS, &code); err != nil {
		return sample{}, fmt.Errorf("%s: rusage reported %q: %v", c.argv[0], line, err)
	}
	if code != 0 {
		return sample{}, fmt.Errorf("%s: exit code %d\n%s", strings.Join(c.argv, " "), code, stderr.Bytes())
	}
	// Linux reports ru_maxrss in KiB.
	return sample{wall: time.Duration(wall), cpu: time.Duration(cpu), peakRSS: maxRSS * 1024, stderr: stderr.Len()}, nil
}

// measureAll runs each command once as a discarded warm-up (checking its
// output), then rounds times, each round starting one command later than the
// one before, so that every command runs in every position equally often.
func measureAll(cmds []command, rounds int) ([][]sample, error) {
	for _, c := range cmds {
		var out bytes.Buffer
		if _, err := run(c, &out); err != nil {
			return nil, err
		}
		if c.check != nil {
			if err := c.check(out.Bytes()); err != nil {
				return nil, fmt.Errorf("%s: %w", strings.Join(c.argv, " "), err)
			}
		}
	}
	samples := make([][]sample, len(cmds))
	for r := range rounds {
		for k := range cmds {
			i := (r + k) % len(cmds)
			s, err := run(cmds[i], nil)
			if err != nil {
				return nil, err
			}
			samples[i] = append(samples[i], s)
		}
	}
	return samples, nil
}

// spread is the median and range of a set of measurements.
type spread struct{ median, min, max float64 }

func summarize(xs []float64) spread {
	s := slices.Clone(xs)
	slices.Sort(s)
	n := len(s)
	if n == 0 {
		return spread{}
	}
	m := s[n/2]
	if n%2 == 0 {
		m = (s[n/2-1] + s[n/2]) / 2
	}
	return spread{median: m, min: s[0], max: s[n-1]}
}

func walls(ss []sample) []float64 {
	return project(ss, func(s sample) float64 { return s.wall.Seconds() })
}

func cpus(ss []sample) []float64 {
	return project(ss, func(s sample) float64 { return s.cpu.Seconds() })
}

func rss(ss []sample) []float64 {
	return project(ss, func(s sample) float64 { return float64(s.peakRSS) })
}

func project(ss []sample, f func(sample) float64) []float64 {
	out := make([]float64, len(ss))
	for i, s := range ss {
		out[i] = f(s)
	}
	return out
}
