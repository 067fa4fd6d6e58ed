package loadgen

import (
	"fmt"
	"io"
	"os"
	"strings"
	"sync"
)

// console writes to stderr: on a terminal it keeps one live status line at
// the bottom and prints other text above it; elsewhere it prints plain lines.
type console struct {
	mu     sync.Mutex
	w      io.Writer
	live   bool
	status string
}

const clearLine = "\r\033[K"

// setStatus replaces the live status line; without a terminal it prints it as a line.
func (c *console) setStatus(s string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if !c.live {
		fmt.Fprintln(c.w, s)
		return
	}
	c.status = s
	fmt.Fprint(c.w, clearLine+s)
}

// print writes text above the live status line.
func (c *console) print(text string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.live && c.status != "" {
		fmt.Fprint(c.w, clearLine)
	}
	fmt.Fprint(c.w, text)
	if !strings.HasSuffix(text, "\n") {
		fmt.Fprintln(c.w)
	}
	if c.live && c.status != "" {
		fmt.Fprint(c.w, c.status)
	}
}

// close ends the live line so that the last status stays on screen.
func (c *console) close() {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.live && c.status != "" {
		fmt.Fprintln(c.w)
		c.status = ""
	}
}

func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	info, err := f.Stat()
	return err == nil && info.Mode()&os.ModeCharDevice != 0
}
