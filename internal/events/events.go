// Package events carries committed changes to every process: PostgreSQL LISTEN/NOTIFY
// in production (it crosses processes without another service), a local fan-out on the
// embedded default (one process). Delivery is at most once; subscribers that need every
// change must re-read state after they connect.
package events

import (
	"context"
	"errors"
	"log/slog"
	"sync"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
)

// Bus publishes payloads on channels and delivers them to subscribers.
type Bus interface {
	// Publish sends payload to every subscriber of channel, in this and other processes.
	Publish(ctx context.Context, channel string, payload []byte) error
	// Subscribe delivers channel's payloads until cancel is called or ctx ends.
	Subscribe(ctx context.Context, channel string) (<-chan []byte, func())
}

// subscriberBuffer is how many payloads a slow subscriber may lag before it misses some:
// a stuck websocket must not hold up publishers.
const subscriberBuffer = 64

// fanout delivers payloads to the subscribers in this process.
type fanout struct {
	mu   sync.Mutex
	subs map[string]map[chan []byte]struct{}
}

func newFanout() *fanout { return &fanout{subs: map[string]map[chan []byte]struct{}{}} }

func (f *fanout) deliver(channel string, payload []byte) {
	f.mu.Lock()
	defer f.mu.Unlock()
	for ch := range f.subs[channel] {
		select {
		case ch <- payload:
		default:
		}
	}
}

func (f *fanout) subscribe(ctx context.Context, channel string) (<-chan []byte, func()) {
	ch := make(chan []byte, subscriberBuffer)
	f.mu.Lock()
	if f.subs[channel] == nil {
		f.subs[channel] = map[chan []byte]struct{}{}
	}
	f.subs[channel][ch] = struct{}{}
	f.mu.Unlock()
	var once sync.Once
	cancel := func() {
		once.Do(func() {
			f.mu.Lock()
			delete(f.subs[channel], ch)
			f.mu.Unlock()
			close(ch)
		})
	}
	go func() {
		<-ctx.Done()
		cancel()
	}()
	return ch, cancel
}

// Local is the in-process Bus of the embedded default.
type Local struct{ f *fanout }

// NewLocal returns an in-process Bus.
func NewLocal() *Local { return &Local{f: newFanout()} }

// Publish implements Bus.
func (l *Local) Publish(_ context.Context, channel string, payload []byte) error {
	l.f.deliver(channel, payload)
	return nil
}

// Subscribe implements Bus.
func (l *Local) Subscribe(ctx context.Context, channel string) (<-chan []byte, func()) {
	return l.f.subscribe(ctx, channel)
}

// Postgres is a Bus on LISTEN/NOTIFY. One connection per process listens on the
// channels named at construction and fans out locally.
type Postgres struct {
	pool     *pgxpool.Pool
	channels []string
	f        *fanout
	log      *slog.Logger
	ready    chan struct{}
	once     sync.Once
}

// NewPostgres returns a Bus on pool listening on channels. Run must be running for
// subscribers to receive anything.
func NewPostgres(pool *pgxpool.Pool, log *slog.Logger, channels ...string) *Postgres {
	return &Postgres{pool: pool, channels: channels, f: newFanout(), log: log, ready: make(chan struct{})}
}

// Publish implements Bus. NOTIFY payloads are limited to 8000 bytes by PostgreSQL.
func (p *Postgres) Publish(ctx context.Context, channel string, payload []byte) error {
	_, err := p.pool.Exec(ctx, "SELECT pg_notify($1, $2)", channel, string(payload))
	return err
}

// Subscribe implements Bus.
func (p *Postgres) Subscribe(ctx context.Context, channel string) (<-chan []byte, func()) {
	return p.f.subscribe(ctx, channel)
}

// Ready is closed once the listener first holds its LISTEN.
func (p *Postgres) Ready() <-chan struct{} { return p.ready }

// Run listens until ctx ends, reconnecting after failures (a restarted database, a
// terminated backend) with a capped backoff.
func (p *Postgres) Run(ctx context.Context) {
	backoff := 100 * time.Millisecond
	for ctx.Err() == nil {
		err := p.listen(ctx)
		if ctx.Err() != nil {
			return
		}
		p.log.Warn("event listener lost its connection; reconnecting", "err", err, "in", backoff.String())
		select {
		case <-ctx.Done():
			return
		case <-time.After(backoff):
		}
		backoff = min(2*backoff, 5*time.Second)
	}
}

func (p *Postgres) listen(ctx context.Context) error {
	conn, err := p.pool.Acquire(ctx)
	if err != nil {
		return err
	}
	// The connection will have run LISTEN: it must never go back to the pool.
	pc := conn.Hijack()
	defer pc.Close(context.WithoutCancel(ctx))
	for _, ch := range p.channels {
		if _, err := pc.Exec(ctx, `LISTEN "`+ch+`"`); err != nil {
			return err
		}
	}
	p.once.Do(func() { close(p.ready) })
	for {
		n, err := pc.WaitForNotification(ctx)
		if err != nil {
			if errors.Is(err, context.Canceled) {
				return nil
			}
			return err
		}
		p.f.deliver(n.Channel, []byte(n.Payload))
	}
}
