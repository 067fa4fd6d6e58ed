package loadgen

import (
	"encoding/json"
	"io"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

func TestStreamedCompletionOutcomes(t *testing.T) {
	const chunk = `data: {"choices":[{"text":" tok"}]}` + "\n\n"
	for _, tc := range []struct {
		name, status, body string
		wantClass          string
		wantTokens         int
	}{
		{"usage counts the tokens", "200", chunk + chunk + `data: {"choices":[],"usage":{"completion_tokens":5}}` + "\n\ndata: [DONE]\n\n", "", 5},
		{"without usage, one token per text event", "200", chunk + chunk + chunk + "data: [DONE]\n\n", "", 3},
		{"an error event after the start", "200", chunk + `data: {"error":{"message":"engine died"}}` + "\n\n", errStream, 0},
		{"a stream cut before [DONE]", "200", chunk, errStream, 0},
		{"no text at all", "200", "data: [DONE]\n\n", errInvalidResponse, 0},
		{"an event that is not JSON", "200", "data: {oops\n\n", errInvalidResponse, 0},
		{"an HTTP error", "400", `{"error":{"message":"'max_tokens' or 'max_completion_tokens' is too large"}}`, "400", 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var sent completionRequest
			ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				b, _ := io.ReadAll(r.Body)
				_ = json.Unmarshal(b, &sent)
				if tc.status != "200" {
					w.WriteHeader(http.StatusBadRequest)
				}
				_, _ = w.Write([]byte(tc.body))
			}))
			t.Cleanup(ts.Close)
			c := &streamClient{http: &http.Client{}, endpoint: ts.URL, model: "m", promptTokens: 7, maxTokens: 5,
				timeout: waitLimit, clock: RealClock{}}
			r := c.do(t.Context(), rand.New(rand.NewPCG(1, 1)))
			if r.errClass != tc.wantClass || r.outputTokens != tc.wantTokens {
				t.Errorf("result %+v, want class %q and %d tokens", r, tc.wantClass, tc.wantTokens)
			}
			if len(sent.Prompt) != 7 || sent.MaxTokens != 5 || !sent.Stream || !sent.IgnoreEOS || !sent.StreamOptions.IncludeUsage {
				t.Errorf("request %+v; want 7 token ids, max_tokens 5, stream with usage, ignore_eos", sent)
			}
			for _, id := range sent.Prompt {
				if id < promptTokenLow || id >= promptTokenHigh {
					t.Errorf("prompt token id %d outside [%d, %d)", id, promptTokenLow, promptTokenHigh)
				}
			}
			if tc.wantClass == "400" && !strings.Contains(r.errBody, "too large") {
				t.Errorf("error body %q, want the server's message", r.errBody)
			}
		})
	}
}
