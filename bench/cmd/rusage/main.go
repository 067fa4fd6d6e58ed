// Command rusage runs a command with the standard streams it was given and
// writes the command's wall time, CPU time and peak resident set size to file
// descriptor 3, as "WALL_NS CPU_NS MAXRSS_KIB EXIT_CODE".
//
// Linux starts a child by vfork and counts the parent's peak resident set
// towards the child's ru_maxrss when the child execs. This program is small, so
// the peak it lends a command is far below any measured one; the comparison
// harness, which holds whole generated packages in memory, would not be.
package main

import (
	"os"
	"os/exec"
	"strconv"
	"syscall"
	"time"
)

func main() {
	if len(os.Args) < 2 {
		os.Stderr.WriteString("usage: rusage COMMAND [ARG...] 3>RESULT\n")
		os.Exit(2)
	}
	report := os.NewFile(3, "report")
	cmd := exec.Command(os.Args[1], os.Args[2:]...)
	cmd.Stdin, cmd.Stdout, cmd.Stderr = os.Stdin, os.Stdout, os.Stderr
	start := time.Now()
	err := cmd.Run()
	wall := time.Since(start)
	code := 0
	if err != nil {
		code = -1
		if exit, ok := err.(*exec.ExitError); ok {
			code = exit.ExitCode()
		} else {
			os.Stderr.WriteString("rusage: " + err.Error() + "\n")
		}
	}
	var cpu, maxrss int64
	// ProcessState is nil when the command never started; code -1 and the
	// message above say why.
	if ru := rusage(cmd.ProcessState); ru != nil {
		cpu = ru.Utime.Nano() + ru.Stime.Nano()
		maxrss = ru.Maxrss
	}
	line := strconv.FormatInt(wall.Nanoseconds(), 10) + " " + strconv.FormatInt(cpu, 10) + " " +
		strconv.FormatInt(maxrss, 10) + " " + strconv.Itoa(code) + "\n"
	if _, err := report.WriteString(line); err != nil {
		os.Exit(3)
	}
}

func rusage(ps *os.ProcessState) *syscall.Rusage {
	if ps == nil {
		return nil
	}
	ru, _ := ps.SysUsage().(*syscall.Rusage)
	return ru
}
