package loadgen

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// Token ids of the profile's prompts are drawn from [promptTokenLow,
// promptTokenHigh): below every vocabulary's size (32000 and up for the models
// vLLM serves) and above the special tokens (BOS, EOS, padding) at the start.
const (
	promptTokenLow  = 1000
	promptTokenHigh = 30000
	// maxEventBytes bounds one server-sent event; a chunk of a few tokens is small.
	maxEventBytes = 1 << 20
)

// completionRequest is a streamed /v1/completions request with a token-id
// prompt: the prompt is exactly promptTokens tokens whatever the tokenizer, and
// ignore_eos (a vLLM extension) makes every answer exactly max_tokens long.
type completionRequest struct {
	Model         string        `json:"model"`
	Prompt        []int         `json:"prompt"`
	MaxTokens     int           `json:"max_tokens"`
	Stream        bool          `json:"stream"`
	StreamOptions streamOptions `json:"stream_options"`
	IgnoreEOS     bool          `json:"ignore_eos"`
}

type streamOptions struct {
	IncludeUsage bool `json:"include_usage"`
}

// completionEvent is one event of a streamed completion: text, the closing
// usage, or an error vLLM reports after the stream has started.
type completionEvent struct {
	Choices []struct {
		Text string `json:"text"`
	} `json:"choices"`
	Usage *struct {
		CompletionTokens int `json:"completion_tokens"`
	} `json:"usage"`
	Error *struct {
		Message string `json:"message"`
	} `json:"error"`
}

// streamResult is the timing of one streamed request.
type streamResult struct {
	start, first, last time.Time // sent; first and last token received
	outputTokens       int
	errClass, errBody  string // errClass "" on success
	canceled           bool
}

// ttft is the time to first token.
func (r streamResult) ttft() time.Duration { return r.first.Sub(r.start) }

// tpot is the time per output token after the first, for requests of two tokens or more.
func (r streamResult) tpot() (time.Duration, bool) {
	if r.outputTokens < 2 {
		return 0, false
	}
	return r.last.Sub(r.first) / time.Duration(r.outputTokens-1), true
}

// streamClient sends streamed completions of a fixed shape.
type streamClient struct {
	http                    *http.Client
	endpoint, model         string
	promptTokens, maxTokens int
	timeout                 time.Duration
	clock                   Clock
}

// do sends one request with a fresh random prompt, so that no two prompts
// share a prefix vLLM could serve from its prefix cache, and times its tokens.
func (c *streamClient) do(ctx context.Context, rng *rand.Rand) streamResult {
	prompt := make([]int, c.promptTokens)
	for i := range prompt {
		prompt[i] = promptTokenLow + rng.IntN(promptTokenHigh-promptTokenLow)
	}
	body, err := json.Marshal(completionRequest{Model: c.model, Prompt: prompt, MaxTokens: c.maxTokens,
		Stream: true, StreamOptions: streamOptions{IncludeUsage: true}, IgnoreEOS: true})
	if err != nil {
		return streamResult{errClass: errTransport, errBody: err.Error()}
	}
	reqCtx, cancel := context.WithTimeout(ctx, c.timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(reqCtx, http.MethodPost, c.endpoint, bytes.NewReader(body))
	if err != nil {
		return streamResult{errClass: errTransport, errBody: err.Error()}
	}
	req.Header.Set("Content-Type", "application/json")
	res := streamResult{start: c.clock.Now()}
	fail := func(err error) streamResult {
		switch {
		case ctx.Err() != nil:
			return streamResult{canceled: true}
		case errors.Is(reqCtx.Err(), context.DeadlineExceeded):
			return streamResult{errClass: errTimeout, errBody: fmt.Sprintf("no complete answer within --timeout %s", c.timeout)}
		}
		return streamResult{errClass: errTransport, errBody: err.Error()}
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return fail(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		b, _ := io.ReadAll(io.LimitReader(resp.Body, maxErrorBody))
		return streamResult{errClass: strconv.Itoa(resp.StatusCode), errBody: string(b)}
	}

	chunks, usage, done := 0, -1, false
	scanner := bufio.NewScanner(resp.Body)
	scanner.Buffer(make([]byte, 0, 64<<10), maxEventBytes)
	for !done && scanner.Scan() {
		data, ok := strings.CutPrefix(scanner.Text(), "data:")
		if !ok {
			continue // blank separator lines, comments, event names
		}
		data = strings.TrimSpace(data)
		if data == "[DONE]" {
			done = true
			break
		}
		var ev completionEvent
		if err := json.Unmarshal([]byte(data), &ev); err != nil {
			return streamResult{errClass: errInvalidResponse, errBody: "an event that is not a completion chunk: " + data}
		}
		if ev.Error != nil {
			return streamResult{errClass: errStream, errBody: ev.Error.Message}
		}
		if ev.Usage != nil {
			usage = ev.Usage.CompletionTokens
		}
		if len(ev.Choices) > 0 && ev.Choices[0].Text != "" {
			now := c.clock.Now()
			if chunks == 0 {
				res.first = now
			}
			res.last = now
			chunks++
		}
	}
	if err := scanner.Err(); err != nil {
		return fail(err)
	}
	switch {
	case !done:
		return streamResult{errClass: errStream, errBody: "the stream ended without data: [DONE]"}
	case chunks == 0:
		return streamResult{errClass: errInvalidResponse, errBody: "a stream without any text"}
	case usage < 0:
		// Without a usage event (include_usage unsupported), count one token per text event.
		res.outputTokens = chunks
	default:
		res.outputTokens = usage
	}
	return res
}
