package main

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// wrkScript cycles every wrk thread through the paths in PATHS_FILE, thread t taking
// offset+t, offset+t+threads, ... so no two threads send the same path at once and an
// uncached scenario repeats none until the list is used up; done prints the run's
// numbers as one JSON line. Latencies are microseconds from wrk's HdrHistogram.
const wrkScript = `
local paths = {}
for line in io.lines(os.getenv("PATHS_FILE")) do paths[#paths + 1] = line end
local count = 0
function setup(thread)
  thread:set("tid", count)
  count = count + 1
end
function init(args)
  offset = tonumber(args[1])
  step = tonumber(args[2])
  i = offset + tid
end
function request()
  local p = paths[(i % #paths) + 1]
  i = i + step
  return wrk.format(nil, p)
end
function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format('\nRESULT {"requests":%d,"duration_us":%d,"connect":%d,"read":%d,"write":%d,"status":%d,"timeout":%d,"p50":%d,"p95":%d,"p99":%d,"max":%d}\n',
    summary.requests, summary.duration, e.connect, e.read, e.write, e.status, e.timeout,
    latency:percentile(50), latency:percentile(95), latency:percentile(99), latency.max))
end
`

// wrkResult is what wrkScript's done prints.
type wrkResult struct {
	Requests   int   `json:"requests"`
	DurationUS int64 `json:"duration_us"`
	Connect    int   `json:"connect"`
	Read       int   `json:"read"`
	Write      int   `json:"write"`
	Status     int   `json:"status"`
	Timeout    int   `json:"timeout"`
	P50        int64 `json:"p50"`
	P95        int64 `json:"p95"`
	P99        int64 `json:"p99"`
	Max        int64 `json:"max"`
}

// canUseWrk reports whether s can run under wrk: every target a GET with the same
// headers, none generated.
func canUseWrk(s scenario) bool {
	if s.gen != nil || len(s.targets) == 0 || s.rate > 0 {
		return false
	}
	for _, t := range s.targets {
		if t.Method != http.MethodGet || t.Body != nil {
			return false
		}
	}
	return true
}

// wrkAttack runs s with wrk (a C load generator: far less CPU per request than vegeta
// in this process, so the shared cores go to the server rather than to measuring it)
// with conns connections for d, the n-th request taking target offset+n. It returns the
// result and the CPU seconds wrk used.
func wrkAttack(ctx context.Context, wrkPath string, s scenario, conns int, d time.Duration, offset int) (result, float64, error) {
	r := result{Name: s.name, Request: s.request, Class: s.class, Conns: conns, Statuses: map[string]int{}, Codes: map[string]int{}}
	base, err := url.Parse(s.targets[0].URL)
	if err != nil {
		return r, 0, err
	}
	dir, err := os.MkdirTemp("", "loadtest-wrk-")
	if err != nil {
		return r, 0, err
	}
	defer os.RemoveAll(dir)
	var paths strings.Builder
	for _, t := range s.targets {
		u, err := url.Parse(t.URL)
		if err != nil {
			return r, 0, err
		}
		paths.WriteString(u.RequestURI() + "\n")
	}
	pathsFile, script := filepath.Join(dir, "paths"), filepath.Join(dir, "script.lua")
	if err := os.WriteFile(pathsFile, []byte(paths.String()), 0o600); err != nil {
		return r, 0, err
	}
	if err := os.WriteFile(script, []byte(wrkScript), 0o600); err != nil {
		return r, 0, err
	}
	threads := min(conns, 2)
	args := []string{"-t", strconv.Itoa(threads), "-c", strconv.Itoa(conns), "-d", fmt.Sprintf("%ds", int(d.Seconds())),
		"--timeout", "30s", "-s", script}
	for name, values := range s.targets[0].Header {
		for _, v := range values {
			args = append(args, "-H", name+": "+v)
		}
	}
	args = append(args, base.Scheme+"://"+base.Host, "--", strconv.Itoa(offset), strconv.Itoa(threads))
	cmd := exec.CommandContext(ctx, wrkPath, args...)
	cmd.Env = append(os.Environ(), "PATHS_FILE="+pathsFile)
	out, err := cmd.CombinedOutput()
	cpu := 0.0
	if cmd.ProcessState != nil {
		cpu = (cmd.ProcessState.UserTime() + cmd.ProcessState.SystemTime()).Seconds()
	}
	if err != nil {
		return r, cpu, fmt.Errorf("wrk: %w: %s", err, out)
	}
	_, line, ok := strings.Cut(string(out), "\nRESULT ")
	if !ok {
		return r, cpu, fmt.Errorf("wrk printed no result: %s", out)
	}
	var w wrkResult
	if err := json.Unmarshal([]byte(strings.TrimSpace(line)), &w); err != nil {
		return r, cpu, fmt.Errorf("wrk's result: %w", err)
	}
	us := func(v int64) time.Duration { return time.Duration(v) * time.Microsecond }
	r.Requests = w.Requests
	r.Duration = us(w.DurationUS)
	r.Errors = w.Connect + w.Read + w.Write + w.Status + w.Timeout
	if r.Duration > 0 {
		r.Throughput = float64(r.Requests-r.Errors) / r.Duration.Seconds()
	}
	r.P50, r.P95, r.P99, r.Max = us(w.P50), us(w.P95), us(w.P99), us(w.Max)
	r.Statuses["2xx"] = w.Requests - w.Status - w.Connect - w.Read - w.Write - w.Timeout
	if w.Status > 0 {
		r.Statuses["4xx/5xx"] = w.Status
	}
	for kind, n := range map[string]int{"connect": w.Connect, "read": w.Read, "write": w.Write, "timeout": w.Timeout} {
		if n > 0 {
			r.Codes[kind] = n
		}
	}
	r.Exhausted = s.once && offset == 0 && r.Requests > len(s.targets)/2
	return r, cpu, nil
}
