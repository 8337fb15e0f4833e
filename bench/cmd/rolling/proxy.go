package main

// The load balancer: round-robin over the instances whose /readyz answered 200 at the
// last poll. A GET that fails at the transport level before any response is retried
// once on another healthy instance; nothing else is retried.

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httputil"
	"net/url"
	"sync"
	"sync/atomic"
	"time"
)

type transition struct {
	at      time.Time
	healthy bool
}

type backend struct {
	host    string
	healthy atomic.Bool
	mu      sync.Mutex
	history []transition
}

type balancer struct {
	backends []*backend
	next     atomic.Uint64
	proxy    *httputil.ReverseProxy

	mu        sync.Mutex
	retries   int
	retryErrs map[string]int // transport errors of the first attempts that were retried
	proxyErrs map[string]int // errors answered 502 by the proxy
	noBackend int            // requests that found no healthy instance (503)
}

type backendKey struct{}

func newBalancer(insts []*instance) *balancer {
	lb := &balancer{retryErrs: map[string]int{}, proxyErrs: map[string]int{}}
	for _, in := range insts {
		b := &backend{host: in.addr}
		b.healthy.Store(true)
		b.history = append(b.history, transition{time.Now(), true})
		lb.backends = append(lb.backends, b)
	}
	transport := &http.Transport{
		Proxy:               nil,
		MaxIdleConns:        200,
		MaxIdleConnsPerHost: 100,
		IdleConnTimeout:     90 * time.Second,
	}
	lb.proxy = &httputil.ReverseProxy{
		Rewrite: func(pr *httputil.ProxyRequest) {
			b := pr.In.Context().Value(backendKey{}).(*backend)
			pr.SetURL(&url.URL{Scheme: "http", Host: b.host})
			pr.Out.Host = pr.In.Host
		},
		Transport: &retryTransport{lb: lb, base: transport},
		ErrorHandler: func(w http.ResponseWriter, r *http.Request, err error) {
			lb.count(lb.proxyErrs, r.Method+" "+truncate(err.Error()))
			w.Header().Set("Content-Type", "application/problem+json")
			w.WriteHeader(http.StatusBadGateway)
			_ = json.NewEncoder(w).Encode(map[string]string{"code": "proxy_error", "detail": truncate(err.Error())})
		},
	}
	return lb
}

func (lb *balancer) count(m map[string]int, key string) {
	lb.mu.Lock()
	m[key]++
	lb.mu.Unlock()
}

// pick returns the next healthy backend other than not (nil: any), or nil.
func (lb *balancer) pick(not *backend) *backend {
	n := len(lb.backends)
	start := lb.next.Add(1)
	for i := range n {
		b := lb.backends[(int(start)+i)%n]
		if b != not && b.healthy.Load() {
			return b
		}
	}
	return nil
}

func (lb *balancer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	b := lb.pick(nil)
	if b == nil {
		lb.mu.Lock()
		lb.noBackend++
		lb.mu.Unlock()
		w.Header().Set("Content-Type", "application/problem+json")
		w.WriteHeader(http.StatusServiceUnavailable)
		_, _ = w.Write([]byte(`{"code":"no_healthy_backend"}`))
		return
	}
	lb.proxy.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), backendKey{}, b)))
}

// poll marks each backend healthy while its /readyz answers 200, every interval.
func (lb *balancer) poll(ctx context.Context, interval time.Duration) {
	client := &http.Client{Timeout: time.Second, Transport: &http.Transport{DisableKeepAlives: true}}
	for _, b := range lb.backends {
		go func() {
			t := time.NewTicker(interval)
			defer t.Stop()
			for {
				select {
				case <-ctx.Done():
					return
				case <-t.C:
				}
				ok := status(ctx, client, "http://"+b.host+"/readyz") == http.StatusOK
				if ctx.Err() != nil {
					return
				}
				if b.healthy.Swap(ok) != ok {
					b.mu.Lock()
					b.history = append(b.history, transition{time.Now(), ok})
					b.mu.Unlock()
					logf("proxy: %s is now healthy=%v", b.host, ok)
				}
			}
		}()
	}
}

// firstTransition is how long after t backend i first became healthy (or not): -1 if
// it did not.
func (lb *balancer) firstTransition(i int, t time.Time, healthy bool) time.Duration {
	b := lb.backends[i]
	b.mu.Lock()
	defer b.mu.Unlock()
	for _, tr := range b.history {
		if tr.healthy == healthy && !tr.at.Before(t) {
			return tr.at.Sub(t)
		}
	}
	return -1
}

func (lb *balancer) unhealthySince(i int, t time.Time) time.Duration {
	return lb.firstTransition(i, t, false)
}

func (lb *balancer) healthySince(i int, t time.Time) time.Duration {
	return lb.firstTransition(i, t, true)
}

func (lb *balancer) stats() (int, map[string]int, map[string]int, int) {
	lb.mu.Lock()
	defer lb.mu.Unlock()
	return lb.retries, lb.retryErrs, lb.proxyErrs, lb.noBackend
}

// retryTransport sends a GET that got no response at all once more, to another
// healthy backend. POSTs (and any request with a body) are never retried here.
type retryTransport struct {
	lb   *balancer
	base http.RoundTripper
}

func (t *retryTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	resp, err := t.base.RoundTrip(req)
	if err == nil || req.Method != http.MethodGet || req.Body != nil && req.Body != http.NoBody || req.Context().Err() != nil {
		return resp, err
	}
	first := req.Context().Value(backendKey{}).(*backend)
	other := t.lb.pick(first)
	if other == nil {
		return resp, err
	}
	t.lb.mu.Lock()
	t.lb.retries++
	t.lb.retryErrs[truncate(err.Error())]++
	t.lb.mu.Unlock()
	retry := req.Clone(req.Context())
	retry.URL.Host = other.host
	resp, err2 := t.base.RoundTrip(retry)
	if err2 != nil {
		return nil, errors.Join(err, err2)
	}
	return resp, nil
}

func truncate(s string) string {
	if len(s) > 120 {
		return s[:120]
	}
	return s
}
