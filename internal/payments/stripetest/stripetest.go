// Package stripetest gives tests a Stripe: the stripe-mock binary started on loopback
// behind a proxy that records what was asked of it, an address where nothing listens,
// and events signed the way Stripe signs them. stripe-mock is stateless (each create
// answers fixture data), so tests drive state with the events they build and sign.
package stripetest

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/stripe/stripe-go/v76/webhook"
)

// SecretKey is a test-mode key stripe-mock accepts.
const SecretKey = "sk_test_mercantile"

// startTimeout is how long stripe-mock may take to answer after it starts.
const startTimeout = 30 * time.Second

// Request is one request the proxy passed on to stripe-mock.
type Request struct {
	Method         string
	Path           string
	IdempotencyKey string
	Form           url.Values
}

// Server is a running stripe-mock behind a recording proxy.
type Server struct {
	// URL is the proxy's base URL, for payments.Config.APIURL.
	URL string

	mu       sync.Mutex
	requests []Request
	failNext int
	failure  failure
}

// failure is the answer of a request failed on purpose.
type failure struct {
	status int
	body   string
}

// FailNext makes the next n requests fail with a 503 without reaching stripe-mock, as
// Stripe does when it has an incident. They are still recorded.
func (s *Server) FailNext(n int) {
	s.ErrorNext(n, http.StatusServiceUnavailable, "api_error", "")
}

// ErrorNext makes the next n requests answer status with a Stripe error of errType and
// code (which may be empty), without reaching stripe-mock, which never refuses what is
// well formed: a 5xx is an incident, whose outcome the client cannot know; a 4xx such as
// charge_already_refunded is a refusal. They are still recorded.
func (s *Server) ErrorNext(n, status int, errType, code string) {
	body, err := json.Marshal(map[string]any{"error": map[string]any{
		"type": errType, "code": code, "message": "stripetest: failing on purpose",
	}})
	if err != nil {
		panic(err)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.failNext, s.failure = n, failure{status: status, body: string(body)}
}

// Requests returns what was asked of Stripe so far, in order.
func (s *Server) Requests() []Request {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Request(nil), s.requests...)
}

// Start runs stripe-mock until tb ends. The binary is $STRIPE_MOCK, stripe-mock on PATH,
// or bin/tools/stripe-mock of the module (make tools). Without it the test fails when
// CI=true, and is skipped otherwise.
func Start(tb testing.TB) *Server {
	tb.Helper()
	bin := binary()
	if bin == "" {
		msg := "stripetest: stripe-mock is not installed (make tools, or go install github.com/stripe/stripe-mock@v0.203.0 and put it on PATH)"
		if os.Getenv("CI") == "true" {
			tb.Fatal(msg)
		}
		tb.Skip(msg)
	}
	var target string
	var err error
	// A port picked free can be taken before stripe-mock binds it: try again.
	for attempt := 0; attempt < 3; attempt++ {
		if target, err = run(tb, bin); err == nil {
			break
		}
	}
	if err != nil {
		tb.Fatalf("stripetest: %v", err)
	}
	upstream, _ := url.Parse(target)
	s := &Server{}
	proxy := httputil.NewSingleHostReverseProxy(upstream)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		r.Body = io.NopCloser(bytes.NewReader(body))
		form, _ := url.ParseQuery(string(body))
		s.mu.Lock()
		s.requests = append(s.requests, Request{Method: r.Method, Path: r.URL.Path, IdempotencyKey: r.Header.Get("Idempotency-Key"), Form: form})
		fail, answer := s.failNext > 0, s.failure
		if fail {
			s.failNext--
		}
		s.mu.Unlock()
		if fail {
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(answer.status)
			_, _ = io.WriteString(w, answer.body)
			return
		}
		proxy.ServeHTTP(w, r)
	}))
	tb.Cleanup(srv.Close)
	s.URL = srv.URL
	return s
}

func binary() string {
	if p := os.Getenv("STRIPE_MOCK"); p != "" {
		return p
	}
	if p, err := exec.LookPath("stripe-mock"); err == nil {
		return p
	}
	dir, err := os.Getwd()
	for err == nil {
		if _, statErr := os.Stat(filepath.Join(dir, "go.mod")); statErr == nil {
			p := filepath.Join(dir, "bin", "tools", "stripe-mock")
			if _, statErr := os.Stat(p); statErr == nil {
				return p
			}
			return ""
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			break
		}
		dir = parent
	}
	return ""
}

// run starts stripe-mock on two free loopback ports (it would bind HTTPS on every
// address otherwise) and waits until its HTTP port answers.
func run(tb testing.TB, bin string) (string, error) {
	httpAddr, httpsAddr := freeAddr(tb), freeAddr(tb)
	var out bytes.Buffer
	cmd := exec.Command(bin, "-http-addr", httpAddr, "-https-addr", httpsAddr)
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		return "", fmt.Errorf("starting %s: %w", bin, err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	stop := func() {
		_ = cmd.Process.Kill()
		<-exited
	}
	base := "http://" + httpAddr
	deadline := time.Now().Add(startTimeout)
	for {
		select {
		case err := <-exited:
			return "", fmt.Errorf("stripe-mock exited (%v): %s", err, out.String())
		default:
		}
		req, _ := http.NewRequest("GET", base+"/v1/payment_intents/pi_probe", nil)
		req.Header.Set("Authorization", "Bearer "+SecretKey)
		if resp, err := http.DefaultClient.Do(req); err == nil {
			resp.Body.Close()
			tb.Cleanup(stop)
			return base, nil
		}
		if time.Now().After(deadline) {
			stop()
			return "", errors.New("stripe-mock did not answer within " + startTimeout.String() + ": " + out.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func freeAddr(tb testing.TB) string {
	tb.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatalf("stripetest: %v", err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// ClosedURL is a base URL where nothing listens: Stripe unreachable.
func ClosedURL(tb testing.TB) string {
	tb.Helper()
	return "http://" + freeAddr(tb)
}

// Event builds the JSON of a Stripe event of type typ about object, created at created.
func Event(id, typ string, created time.Time, object any) []byte {
	body, err := json.Marshal(map[string]any{
		"id": id, "object": "event", "api_version": "2023-10-16", "created": created.Unix(),
		"livemode": false, "pending_webhooks": 1, "type": typ,
		"data":    map[string]any{"object": object},
		"request": map[string]any{"id": nil, "idempotency_key": nil},
	})
	if err != nil {
		panic(err)
	}
	return body
}

// Sign returns the Stripe-Signature header of payload signed with secret at time at.
func Sign(payload []byte, secret string, at time.Time) string {
	return webhook.GenerateTestSignedPayload(&webhook.UnsignedPayload{Payload: payload, Secret: secret, Timestamp: at}).Header
}
