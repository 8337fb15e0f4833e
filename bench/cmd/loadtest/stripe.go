package main

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"syscall"
	"time"

	"github.com/mercantile/mercantile/bench/internal/scratch"
)

// stripeMockBinary finds stripe-mock: $STRIPE_MOCK, the module's bin/tools (make
// tools), or PATH. Empty when it is not installed.
func stripeMockBinary() string {
	if p := os.Getenv("STRIPE_MOCK"); p != "" {
		return p
	}
	if root, err := moduleRoot(); err == nil {
		if p := filepath.Join(root, "bin", "tools", "stripe-mock"); fileExists(p) {
			return p
		}
	}
	if p, err := exec.LookPath("stripe-mock"); err == nil {
		return p
	}
	return ""
}

func fileExists(p string) bool {
	_, err := os.Stat(p)
	return err == nil
}

// stripeServer starts stripe-mock and a second server that takes payments through it,
// on the database and Redis of primary (so it places orders for the same merchant and
// stock). It returns the second server's base URL, its pid, and a function that stops
// both.
func stripeServer(ctx context.Context, primary *exec.Cmd, outDir string, client *http.Client) (string, int, func(), error) {
	bin := stripeMockBinary()
	if bin == "" {
		return "", 0, nil, errors.New("stripe-mock is not installed (make tools)")
	}
	mockPort, err := scratch.FreePort()
	if err != nil {
		return "", 0, nil, err
	}
	tlsPort, err := scratch.FreePort()
	if err != nil {
		return "", 0, nil, err
	}
	mockURL := "http://127.0.0.1:" + strconv.Itoa(mockPort)
	mock := exec.Command(bin, "-http-addr", "127.0.0.1:"+strconv.Itoa(mockPort), "-https-addr", "127.0.0.1:"+strconv.Itoa(tlsPort))
	mock.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := mock.Start(); err != nil {
		return "", 0, nil, fmt.Errorf("stripe-mock: %w", err)
	}
	stopMock := func() { _ = mock.Process.Kill(); _ = mock.Wait() }
	ready := false
	for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline) && !ready; time.Sleep(200 * time.Millisecond) {
		ready = probe(ctx, client, mockURL+"/v1/charges", nil) != 0
	}
	if !ready {
		stopMock()
		return "", 0, nil, errors.New("stripe-mock did not answer within 30 s")
	}

	port, err := scratch.FreePort()
	if err != nil {
		stopMock()
		return "", 0, nil, err
	}
	addr := "127.0.0.1:" + strconv.Itoa(port)
	logFile, err := os.Create(filepath.Join(outDir, "server-orders-stripe.log"))
	if err != nil {
		stopMock()
		return "", 0, nil, err
	}
	// os/exec keeps the last of duplicate variables, so these override primary's.
	env := append(slices.Clone(primary.Env), "HTTP_ADDR="+addr, "STRIPE_SECRET_KEY=sk_test_mercantilebench",
		"STRIPE_WEBHOOK_SECRET=whsec_mercantile_bench", "STRIPE_API_URL="+mockURL)
	server := exec.Command(primary.Path, "serve")
	server.Env, server.Stdout, server.Stderr = env, logFile, logFile
	server.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := server.Start(); err != nil {
		stopMock()
		_ = logFile.Close()
		return "", 0, nil, err
	}
	exited := make(chan error, 1)
	go func() { exited <- server.Wait() }()
	stop := func() {
		stopServer(server, exited)
		stopMock()
		_ = logFile.Close()
	}
	base := "http://" + addr
	if err := waitHealthy(ctx, client, base, exited); err != nil {
		stop()
		return "", 0, nil, fmt.Errorf("the server with Stripe: %w (see bench/out/server-orders-stripe.log)", err)
	}
	return base, server.Process.Pid, stop, nil
}
