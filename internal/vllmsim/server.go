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
	sched   *scheduler
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
	s.sched = newScheduler(cfg.MaxNumSeqs, func(running, waiting int) {
		s.metrics.setLoad(running, waiting, cfg.MaxNumSeqs)
		if cfg.OnSchedule != nil {
			cfg.OnSchedule(running, waiting)
		}
	})

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
	n, ok := s.admit(w, r, req.Model, req.Stream, maxTokens, promptTokens)
	if !ok {
		return
	}
	writeJSON(w, http.StatusOK, chatResponse{
		ID:      fmt.Sprintf("chatcmpl-%d", s.ids.Add(1)),
		Object:  "chat.completion",
		Created: time.Now().Unix(),
		Model:   s.cfg.Model,
		Choices: []chatChoice{{
			Message:      chatMessage{Role: "assistant", Content: mustJSON(generatedText(n))},
			FinishReason: finishedLength,
		}},
		Usage: usage{PromptTokens: promptTokens, CompletionTokens: n, TotalTokens: promptTokens + n},
	})
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
	n, ok := s.admit(w, r, req.Model, req.Stream, req.MaxTokens, promptTokens)
	if !ok {
		return
	}
	writeJSON(w, http.StatusOK, completionResponse{
		ID:      fmt.Sprintf("cmpl-%d", s.ids.Add(1)),
		Object:  "text_completion",
		Created: time.Now().Unix(),
		Model:   s.cfg.Model,
		Choices: []completionChoice{{Text: generatedText(n), FinishReason: finishedLength}},
		Usage:   usage{PromptTokens: promptTokens, CompletionTokens: n, TotalTokens: promptTokens + n},
	})
}

// admit checks a generation request, fails it on demand, queues it, holds it
// for its generation time and returns its completion tokens. When it returns
// false the response has been written or the client is gone.
func (s *Server) admit(w http.ResponseWriter, r *http.Request, model string, stream bool, maxTokens *int, promptTokens int) (int, bool) {
	if model != "" && model != s.cfg.Model {
		writeError(w, http.StatusNotFound, fmt.Sprintf("The model `%s` does not exist; this server serves `%s`.", model, s.cfg.Model))
		return 0, false
	}
	if stream {
		writeError(w, http.StatusBadRequest, "stream is not supported by vllm-sim; send \"stream\": false")
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

	ctx := r.Context()
	if err := s.sched.acquire(ctx); err != nil {
		s.metrics.success[finishedAbort].Inc()
		return 0, false
	}
	s.metrics.promptTokens.Add(float64(promptTokens))
	err := s.cfg.Sleep(ctx, time.Duration(n)*s.cfg.TimePerToken)
	s.sched.release()
	if err != nil {
		s.metrics.success[finishedAbort].Inc()
		return 0, false
	}
	s.metrics.generationTokens.Add(float64(n))
	s.metrics.success[finishedLength].Inc()
	return n, true
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
