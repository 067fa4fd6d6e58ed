package vllmsim

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

const maxBodyBytes = 1 << 20

// Server is one simulated vLLM server. It is an http.Handler.
type Server struct {
	cfg     Config
	engine  *engine
	metrics *metrics
	mux     *http.ServeMux
	ids     atomic.Uint64

	failMu   sync.Mutex
	arrivals int64 // requests that reached the failure decision
}

// New returns a server for cfg, or the error of cfg.Validate.
func New(cfg Config) (*Server, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if cfg.Sleep == nil {
		cfg.Sleep = sleepTimer
	}
	reg := prometheus.NewRegistry()
	s := &Server{cfg: cfg, metrics: newMetrics(reg, cfg.Model), mux: http.NewServeMux()}
	s.engine = newEngine(cfg, func(running, waiting, kvUsed int) {
		s.metrics.setLoad(running, waiting, kvUsed, cfg.KVCacheTokens)
		if cfg.OnSchedule != nil {
			cfg.OnSchedule(running, waiting)
		}
	}, func(tokens int) { s.metrics.generationTokens.Add(float64(tokens)) })

	s.mux.HandleFunc("POST /v1/chat/completions", s.chatCompletions)
	s.mux.HandleFunc("POST /v1/completions", s.completions)
	s.mux.HandleFunc("GET /v1/models", s.models)
	s.mux.HandleFunc("GET /health", func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusOK) })
	s.mux.Handle("GET /metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{}))
	return s, nil
}

func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) { s.mux.ServeHTTP(w, r) }

func (s *Server) chatCompletions(w http.ResponseWriter, r *http.Request) {
	var req chatRequest
	if !decode(w, r, &req) {
		return
	}
	if len(req.Messages) == 0 {
		writeError(w, http.StatusBadRequest, "messages is empty; send at least one {\"role\":\"user\",\"content\":...}")
		return
	}
	promptTokens, err := chatPromptWords(req.Messages)
	if err != nil {
		writeError(w, http.StatusBadRequest, err.Error())
		return
	}
	maxTokens := req.MaxTokens
	if req.MaxCompletionTokens != nil {
		maxTokens = req.MaxCompletionTokens
	}
	n, ok := s.check(w, req.Model, maxTokens, promptTokens)
	if !ok {
		return
	}
	id, created := fmt.Sprintf("chatcmpl-%d", s.ids.Add(1)), time.Now().Unix()
	u := usage{PromptTokens: promptTokens, CompletionTokens: n, TotalTokens: promptTokens + n}
	if !req.Stream {
		if s.run(r.Context(), promptTokens, n, nil) {
			writeJSON(w, http.StatusOK, chatResponse{
				ID: id, Object: "chat.completion", Created: created, Model: s.cfg.Model,
				Choices: []chatChoice{{
					Message:      chatMessage{Role: "assistant", Content: mustJSON(generatedText(0, n))},
					FinishReason: finishedLength,
				}},
				Usage: u,
			})
		}
		return
	}
	sse := startEvents(w)
	chunk := func(delta chatDelta, finish *string) chatChunk {
		return chatChunk{ID: id, Object: "chat.completion.chunk", Created: created, Model: s.cfg.Model,
			Choices: []chatChunkChoice{{Delta: delta, FinishReason: finish}}}
	}
	// vLLM's first event carries the role; every later one new text.
	sse.send(chunk(chatDelta{Role: "assistant"}, nil))
	if !s.run(r.Context(), promptTokens, n, func(from, to int, finished bool) {
		sse.send(chunk(chatDelta{Content: generatedText(from, to)}, finishReason(finished)))
	}) {
		return
	}
	if req.StreamOptions != nil && req.StreamOptions.IncludeUsage {
		sse.send(chatChunk{ID: id, Object: "chat.completion.chunk", Created: created, Model: s.cfg.Model,
			Choices: []chatChunkChoice{}, Usage: &u})
	}
	sse.done()
}

func (s *Server) completions(w http.ResponseWriter, r *http.Request) {
	var req completionRequest
	if !decode(w, r, &req) {
		return
	}
	promptTokens, err := completionPromptTokens(req.Prompt)
	if err != nil {
		writeError(w, http.StatusBadRequest, err.Error())
		return
	}
	n, ok := s.check(w, req.Model, req.MaxTokens, promptTokens)
	if !ok {
		return
	}
	id, created := fmt.Sprintf("cmpl-%d", s.ids.Add(1)), time.Now().Unix()
	u := usage{PromptTokens: promptTokens, CompletionTokens: n, TotalTokens: promptTokens + n}
	if !req.Stream {
		if s.run(r.Context(), promptTokens, n, nil) {
			writeJSON(w, http.StatusOK, completionResponse{
				ID: id, Object: "text_completion", Created: created, Model: s.cfg.Model,
				Choices: []completionChoice{{Text: generatedText(0, n), FinishReason: finishReason(true)}},
				Usage:   u,
			})
		}
		return
	}
	sse := startEvents(w)
	if !s.run(r.Context(), promptTokens, n, func(from, to int, finished bool) {
		sse.send(completionChunk{ID: id, Object: "text_completion", Created: created, Model: s.cfg.Model,
			Choices: []completionChoice{{Text: generatedText(from, to), FinishReason: finishReason(finished)}}})
	}) {
		return
	}
	if req.StreamOptions != nil && req.StreamOptions.IncludeUsage {
		sse.send(completionChunk{ID: id, Object: "text_completion", Created: created, Model: s.cfg.Model,
			Choices: []completionChoice{}, Usage: &u})
	}
	sse.done()
}

func finishReason(finished bool) *string {
	if !finished {
		return nil
	}
	reason := finishedLength
	return &reason
}

// check validates a generation request and fails it on demand; it returns the
// number of tokens to generate. When it returns false the response is written.
func (s *Server) check(w http.ResponseWriter, model string, maxTokens *int, promptTokens int) (int, bool) {
	if model != "" && model != s.cfg.Model {
		writeError(w, http.StatusNotFound, fmt.Sprintf("The model `%s` does not exist; this server serves `%s`.", model, s.cfg.Model))
		return 0, false
	}
	n, msg := s.outputLength(maxTokens, promptTokens)
	if msg != "" {
		writeError(w, http.StatusBadRequest, msg)
		return 0, false
	}
	if s.shouldFail() {
		writeError(w, s.cfg.FailStatus, fmt.Sprintf("simulated failure (--fail-rate %g)", s.cfg.FailRate))
		return 0, false
	}
	return n, true
}

// run passes a request through the API server (its overhead grows with the
// requests running, whose output the same server streams) and the engine,
// handing each batch of new tokens to onTokens (tokens from..to, and whether
// that ends the request) as the engine generates them. It returns false when
// the client left first.
func (s *Server) run(ctx context.Context, promptTokens, n int, onTokens func(from, to int, finished bool)) bool {
	if d := s.cfg.RequestOverhead + s.cfg.RequestOverheadPerSeq*time.Duration(s.engine.runningCount()); d > 0 && sleepTimer(ctx, d) != nil {
		s.metrics.success[finishedAbort].Inc()
		return false
	}
	q := newSeq(promptTokens, n)
	s.engine.submit(q)
	sent := 0
	for {
		select {
		case <-q.wake:
		case <-ctx.Done():
			if s.engine.abort(q) {
				s.metrics.success[finishedAbort].Inc()
				return false
			}
		}
		generated, finished := s.engine.progress(q)
		if sent == 0 && generated > 0 {
			s.metrics.promptTokens.Add(float64(promptTokens))
		}
		if generated > sent && onTokens != nil {
			onTokens(sent, generated, finished)
		}
		sent = generated
		if finished {
			s.metrics.success[finishedLength].Inc()
			return true
		}
	}
}

// events writes server-sent events, as vLLM streams: one "data: JSON" event per
// chunk, then "data: [DONE]".
type events struct {
	w  http.ResponseWriter
	rc *http.ResponseController
}

func startEvents(w http.ResponseWriter) *events {
	w.Header().Set("Content-Type", "text/event-stream")
	w.Header().Set("Cache-Control", "no-cache")
	w.WriteHeader(http.StatusOK)
	e := &events{w: w, rc: http.NewResponseController(w)}
	_ = e.rc.Flush() // the client learns at once that its stream has started
	return e
}

func (e *events) send(v any) {
	b, _ := json.Marshal(v) // chunks are plain structs: they always marshal
	e.write("data: " + string(b) + "\n\n")
}

func (e *events) done() { e.write("data: [DONE]\n\n") }

func (e *events) write(s string) {
	// A client that left shows up as the request's context ending; nothing to do here.
	_, _ = io.WriteString(e.w, s)
	_ = e.rc.Flush()
}

// outputLength is the number of tokens to generate, or the message of vLLM's
// 400 when the request does not fit the context: prompt plus max_tokens may not
// exceed --max-model-len (vllm-project/vllm, vllm/entrypoints/openai/serving_engine.py,
// _validate_input). Checking before anything is allocated is what keeps a
// max_tokens of 500000000000 from costing memory.
func (s *Server) outputLength(maxTokens *int, promptTokens int) (int, string) {
	limit := s.cfg.MaxModelLen
	if promptTokens >= limit {
		return 0, fmt.Sprintf("This model's maximum context length is %d tokens. However, your request has %d input tokens. "+
			"Please reduce the length of the input messages.", limit, promptTokens)
	}
	if maxTokens == nil {
		// vLLM fills the context when max_tokens is absent; the stand-in keeps its default short.
		return min(s.cfg.MaxTokensDefault, limit-promptTokens), ""
	}
	n := *maxTokens
	if n < 1 {
		return 0, fmt.Sprintf("max_tokens must be at least 1, got %d", n)
	}
	if n > limit-promptTokens {
		return 0, fmt.Sprintf("'max_tokens' or 'max_completion_tokens' is too large: %d. This model's maximum context length is "+
			"%d tokens and your request has %d input tokens (%d > %d - %d).", n, limit, promptTokens, n, limit, promptTokens)
	}
	return n, ""
}

// shouldFail spreads failures evenly: of the first n requests, floor(n*FailRate) fail.
// Integer parts-per-million keep the count exact where float products would round.
func (s *Server) shouldFail() bool {
	if s.cfg.FailRate == 0 {
		return false
	}
	const ppm = 1_000_000
	rate := int64(s.cfg.FailRate*ppm + 0.5)
	s.failMu.Lock()
	defer s.failMu.Unlock()
	s.arrivals++
	return s.arrivals*rate/ppm > (s.arrivals-1)*rate/ppm
}

func (s *Server) models(w http.ResponseWriter, _ *http.Request) {
	writeJSON(w, http.StatusOK, modelList{Object: "list", Data: []modelCard{{
		ID: s.cfg.Model, Object: "model", Created: time.Now().Unix(), OwnedBy: "vllm", Root: s.cfg.Model,
	}}})
}

func decode(w http.ResponseWriter, r *http.Request, v any) bool {
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxBodyBytes))
	if err == nil {
		err = json.Unmarshal(body, v)
	}
	if err != nil {
		var tooLarge *http.MaxBytesError
		if errors.As(err, &tooLarge) {
			writeError(w, http.StatusRequestEntityTooLarge, fmt.Sprintf("request body exceeds %d bytes", maxBodyBytes))
			return false
		}
		writeError(w, http.StatusBadRequest, "request body is not valid JSON: "+err.Error())
		return false
	}
	return true
}

func writeError(w http.ResponseWriter, status int, message string) {
	// vLLM names error types after the status: BadRequestError, NotFoundError, InternalServerError.
	typ := strings.ReplaceAll(http.StatusText(status), " ", "")
	if !strings.HasSuffix(typ, "Error") {
		typ += "Error"
	}
	writeJSON(w, status, errorResponse{Error: errorBody{Message: message, Type: typ, Code: status}})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v) // the client may have gone; nothing to do then
}

func mustJSON(s string) json.RawMessage {
	b, _ := json.Marshal(s) // a string always marshals
	return b
}

// Serve runs the server on addr until ctx ends, then shuts down gracefully,
// letting requests in flight finish for up to grace. ready, if set, receives
// the address actually bound (useful with port 0).
func (s *Server) Serve(ctx context.Context, addr string, grace time.Duration, ready func(addr string)) error {
	srv := &http.Server{Addr: addr, Handler: s, ReadHeaderTimeout: 10 * time.Second}
	ln, err := listen(addr)
	if err != nil {
		return err
	}
	if ready != nil {
		ready(ln.Addr().String())
	}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	shutdownCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), grace)
	defer cancel()
	if err := srv.Shutdown(shutdownCtx); err != nil {
		_ = srv.Close()
		return fmt.Errorf("requests still running after the %s shutdown grace period were cut off", grace)
	}
	return nil
}
