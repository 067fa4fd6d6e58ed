package loadgen

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"time"
)

// maxReadBody bounds how much of a response is read: a chat completion is small.
const maxReadBody = 4 << 20

type chatMessage struct {
	Role    string `json:"role"`
	Content string `json:"content"`
}

type chatRequest struct {
	Model     string        `json:"model"`
	Messages  []chatMessage `json:"messages"`
	MaxTokens int           `json:"max_tokens,omitempty"`
}

type chatResponse struct {
	Choices []json.RawMessage `json:"choices"`
	Usage   *struct {
		CompletionTokens int `json:"completion_tokens"`
	} `json:"usage"`
}

// result is the outcome of one request.
type result struct {
	latency      time.Duration
	outputTokens int
	errClass     string // "" on success; an HTTP status or one of the err* classes
	errBody      string
	canceled     bool
}

// chatClient sends one kind of chat-completions request.
type chatClient struct {
	http     *http.Client
	endpoint string
	body     []byte
	timeout  time.Duration
	clock    Clock
}

func newChatClient(cfg Config) (*chatClient, error) {
	body, err := json.Marshal(chatRequest{
		Model:     cfg.Model,
		Messages:  []chatMessage{{Role: "user", Content: cfg.Prompt}},
		MaxTokens: cfg.MaxTokens,
	})
	if err != nil {
		return nil, err
	}
	return &chatClient{
		http:     cfg.Client,
		endpoint: cfg.URL + "/v1/chat/completions",
		body:     body,
		timeout:  cfg.Timeout,
		clock:    cfg.Clock,
	}, nil
}

// do sends one request. ctx ending counts as canceled, not as an error.
func (c *chatClient) do(ctx context.Context) result {
	start := c.clock.Now()
	reqCtx, cancel := context.WithTimeout(ctx, c.timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(reqCtx, http.MethodPost, c.endpoint, bytes.NewReader(c.body))
	if err != nil {
		return result{errClass: errTransport, errBody: err.Error()}
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := c.http.Do(req)
	if err != nil {
		return c.failure(ctx, reqCtx, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxReadBody))
	if err != nil {
		return c.failure(ctx, reqCtx, err)
	}
	latency := c.clock.Now().Sub(start)
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return result{latency: latency, errClass: fmt.Sprint(resp.StatusCode), errBody: string(body)}
	}
	var parsed chatResponse
	invalid := func(why string) result {
		return result{latency: latency, errClass: errInvalidResponse,
			errBody: fmt.Sprintf("status %d %s: %s", resp.StatusCode, why, body)}
	}
	switch err := json.Unmarshal(body, &parsed); {
	case err != nil:
		return invalid("with a body that is not a chat completion (" + err.Error() + ")")
	case len(parsed.Choices) == 0 || parsed.Usage == nil:
		return invalid("without choices and usage")
	case parsed.Usage.CompletionTokens < 0:
		return invalid(fmt.Sprintf("with a negative usage.completion_tokens (%d)", parsed.Usage.CompletionTokens))
	}
	return result{latency: latency, outputTokens: parsed.Usage.CompletionTokens}
}

func (c *chatClient) failure(runCtx, reqCtx context.Context, err error) result {
	switch {
	case runCtx.Err() != nil:
		return result{canceled: true}
	case errors.Is(reqCtx.Err(), context.DeadlineExceeded):
		return result{errClass: errTimeout, errBody: fmt.Sprintf("no answer within --timeout %s", c.timeout)}
	default:
		return result{errClass: errTransport, errBody: err.Error()}
	}
}
