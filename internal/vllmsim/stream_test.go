package vllmsim

import (
	"bufio"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
)

// eventReader reads server-sent events ("data: ..." lines) one at a time.
type eventReader struct {
	t *testing.T
	r *bufio.Reader
}

func (e *eventReader) next() string {
	e.t.Helper()
	for {
		line, err := e.r.ReadString('\n')
		if err != nil {
			e.t.Fatalf("the stream ended before the next event: %v", err)
		}
		if data, ok := strings.CutPrefix(strings.TrimRight(line, "\n"), "data: "); ok {
			return data
		}
	}
}

func openStream(t *testing.T, url, body string) *eventReader {
	t.Helper()
	resp, err := http.Post(url, "application/json", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { resp.Body.Close() })
	if resp.StatusCode != http.StatusOK || resp.Header.Get("Content-Type") != "text/event-stream" {
		t.Fatalf("status %d, Content-Type %q; want 200 and text/event-stream", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	return &eventReader{t: t, r: bufio.NewReader(resp.Body)}
}

// Each engine step sends the token it generated at once: the stream is read
// one event per released step, so an answer held back to the end would block.
func TestStreamingSendsEachTokenAsItsStepEnds(t *testing.T) {
	for _, tc := range []struct {
		name, path, body string
		text             func(t *testing.T, event string) (text string, finish *string)
	}{
		{"completions", "/v1/completions",
			`{"prompt":[5,6],"max_tokens":3,"stream":true,"stream_options":{"include_usage":true},"ignore_eos":true}`,
			func(t *testing.T, event string) (string, *string) {
				var c completionChunk
				if err := json.Unmarshal([]byte(event), &c); err != nil || c.Object != "text_completion" || len(c.Choices) != 1 {
					t.Fatalf("event %s is not a completion chunk with one choice", event)
				}
				return c.Choices[0].Text, c.Choices[0].FinishReason
			}},
		{"chat", "/v1/chat/completions",
			`{"messages":[{"role":"user","content":"two words"}],"max_tokens":3,"stream":true,"stream_options":{"include_usage":true}}`,
			func(t *testing.T, event string) (string, *string) {
				var c chatChunk
				if err := json.Unmarshal([]byte(event), &c); err != nil || c.Object != "chat.completion.chunk" || len(c.Choices) != 1 {
					t.Fatalf("event %s is not a chat chunk with one choice", event)
				}
				return c.Choices[0].Delta.Content, c.Choices[0].FinishReason
			}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			g := newGate()
			ts, _ := newTestServer(t, func(c *Config) { c.Sleep = g.sleep })
			events := openStream(t, ts.URL+tc.path, tc.body)
			if tc.name == "chat" {
				if role := events.next(); !strings.Contains(role, `"role":"assistant"`) {
					t.Fatalf("first chat event %s does not carry the role", role)
				}
			}
			for i, want := range []string{"the", " quick", " brown"} {
				g.release <- struct{}{} // step i+1: the prefill, then two decodes
				text, finish := tc.text(t, events.next())
				last := i == 2
				if text != want || (finish != nil) != last || (last && *finish != "length") {
					t.Fatalf("event after step %d: text %q finish %v; want %q, finish_reason length only on the last", i+1, text, finish, want)
				}
			}
			var final struct {
				Choices []json.RawMessage `json:"choices"`
				Usage   *usage            `json:"usage"`
			}
			if err := json.Unmarshal([]byte(events.next()), &final); err != nil || len(final.Choices) != 0 || final.Usage == nil ||
				*final.Usage != (usage{PromptTokens: 2, CompletionTokens: 3, TotalTokens: 5}) {
				t.Fatalf("usage event %+v, want no choices and usage 2 + 3 = 5", final)
			}
			if done := events.next(); done != "[DONE]" {
				t.Fatalf("last event %q, want [DONE]", done)
			}
		})
	}
}
