package email

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/riverqueue/river"
	"github.com/sendgrid/rest"
	"github.com/sendgrid/sendgrid-go"
	"github.com/sendgrid/sendgrid-go/helpers/mail"

	"github.com/mercantile/mercantile/ent"
	"github.com/mercantile/mercantile/ent/emailmessage"
	"github.com/mercantile/mercantile/internal/auth/viewer"
	"github.com/mercantile/mercantile/internal/jobs"
)

// Defaults and bounds of sending.
const (
	// DefaultSendGridURL is SendGrid's API base URL.
	DefaultSendGridURL = "https://api.sendgrid.com"
	// MaxAttempts is how often a send job runs before its email is marked failed. With
	// the default backoff (15 s doubling to at most an hour) that spans about four
	// hours, longer than a typical SendGrid incident.
	MaxAttempts = 12
	// DefaultRetryBackoff is the delay before the first retry.
	DefaultRetryBackoff = 15 * time.Second
	// maxRetryDelay caps both the backoff and a Retry-After SendGrid asks for.
	maxRetryDelay = time.Hour
	// httpTimeout bounds one request to SendGrid; jobTimeout leaves time after it to
	// record the outcome.
	httpTimeout = 30 * time.Second
	jobTimeout  = time.Minute
	// maxErrorLen keeps last_error readable and small.
	maxErrorLen = 1000
)

// Config says how emails leave the process.
type Config struct {
	// SendGridAPIKey sends through SendGrid; empty writes each email to the log instead
	// and marks it logged.
	SendGridAPIKey string
	// SendGridAPIURL is SendGrid's base URL (default DefaultSendGridURL); tests point it
	// at a local server.
	SendGridAPIURL string
	// From and FromName are the sender; From is required with SendGridAPIKey.
	From     string
	FromName string
	// Templates maps a kind ("order_confirmation") to a SendGrid dynamic template id
	// ("d-..."). Such emails are sent as template_id and dynamic_template_data (Data's
	// JSON) instead of the bodies rendered here.
	Templates map[string]string
	// RetryBackoff is the delay before the first retry; each later one doubles, up to an
	// hour, with 20% jitter. Default DefaultRetryBackoff.
	RetryBackoff time.Duration
	// HTTPClient talks to SendGrid; nil is a client with a 30 s timeout.
	HTTPClient *http.Client
}

// Service sends the outbox and lists it.
type Service struct {
	client *ent.Client
	cfg    Config
	log    *slog.Logger
	http   *rest.Client
	now    func() time.Time
}

// NewService returns the email service over client.
func NewService(client *ent.Client, cfg Config, logger *slog.Logger) *Service {
	if cfg.SendGridAPIURL == "" {
		cfg.SendGridAPIURL = DefaultSendGridURL
	}
	cfg.SendGridAPIURL = strings.TrimRight(cfg.SendGridAPIURL, "/")
	if cfg.RetryBackoff <= 0 {
		cfg.RetryBackoff = DefaultRetryBackoff
	}
	if cfg.HTTPClient == nil {
		cfg.HTTPClient = &http.Client{Timeout: httpTimeout}
	}
	if logger == nil {
		logger = slog.Default()
	}
	return &Service{client: client, cfg: cfg, log: logger, http: &rest.Client{HTTPClient: cfg.HTTPClient}, now: time.Now}
}

// Worker returns the worker of SendArgs, to register with the job queue.
func (s *Service) Worker() river.Worker[SendArgs] {
	return &sendWorker{svc: s, retries: &jobs.Retries{Base: s.cfg.RetryBackoff, Max: maxRetryDelay}}
}

type sendWorker struct {
	river.WorkerDefaults[SendArgs]
	svc     *Service
	retries *jobs.Retries
}

func (w *sendWorker) Work(ctx context.Context, job *river.Job[SendArgs]) error {
	wait, err := w.svc.send(viewer.MerchantSystemContext(ctx, job.Args.MerchantID), job)
	w.retries.Asked(job.ID, wait)
	return err
}

// NextRetry backs off exponentially, and waits at least as long as a 429 asked.
func (w *sendWorker) NextRetry(job *river.Job[SendArgs]) time.Time {
	return w.retries.Next(job.ID, job.Attempt)
}

// Timeout lets an attempt outlast its HTTP request, so the outcome is always recorded.
func (w *sendWorker) Timeout(*river.Job[SendArgs]) time.Duration { return jobTimeout }

// send sends the row once: a row already settled (sent, logged, failed) is left alone,
// so a job that runs again sends nothing twice. It returns an error for River to retry
// a transient failure, with how long SendGrid asked to wait, if it did.
func (s *Service) send(ctx context.Context, job *river.Job[SendArgs]) (time.Duration, error) {
	m, err := s.client.EmailMessage.Get(ctx, job.Args.MessageID)
	if ent.IsNotFound(err) {
		s.log.WarnContext(ctx, "email: outbox row is gone; nothing to send", "email_id", job.Args.MessageID)
		return 0, nil
	}
	if err != nil {
		return 0, err
	}
	if m.Status != emailmessage.StatusQueued {
		return 0, nil
	}
	// Claim the attempt before sending, and only if no one else has since the read: two
	// runs of one job (a rescued job whose first run still lives) cannot both send, and
	// an attempt that dies mid-request is still counted.
	n, err := s.client.EmailMessage.Update().
		Where(emailmessage.ID(m.ID), emailmessage.StatusEQ(emailmessage.StatusQueued), emailmessage.Attempts(m.Attempts)).
		AddAttempts(1).Save(ctx)
	if err != nil {
		return 0, err
	}
	if n == 0 {
		return 0, fmt.Errorf("email %s: another attempt is in progress", m.ID)
	}
	attempt := m.Attempts + 1
	// The outcome is recorded even when the job's context ends during the request:
	// losing a 202 would send the email again.
	record := context.WithoutCancel(ctx)

	if s.cfg.SendGridAPIKey == "" {
		s.log.InfoContext(ctx, "email not sent (SENDGRID_API_KEY is unset); logged instead",
			"email_id", m.ID, "kind", m.Kind, "to", m.ToAddress, "from", s.cfg.From, "subject", m.Subject, "text", m.TextBody)
		return 0, s.client.EmailMessage.UpdateOneID(m.ID).SetStatus(emailmessage.StatusLogged).SetSentAt(s.now()).
			SetLastError("").Exec(record)
	}

	res := s.post(ctx, m, job.Args.Data)
	switch {
	case res.sent:
		return 0, s.client.EmailMessage.UpdateOneID(m.ID).SetStatus(emailmessage.StatusSent).SetSentAt(s.now()).
			SetProviderMessageID(res.messageID).SetLastError("").Exec(record)
	case res.permanent:
		s.log.ErrorContext(ctx, "email: SendGrid rejected the email; not retrying", "email_id", m.ID, "kind", m.Kind, "reason", res.reason)
		return 0, s.client.EmailMessage.UpdateOneID(m.ID).SetStatus(emailmessage.StatusFailed).
			SetLastError(truncate(res.reason)).Exec(record)
	}
	upd := s.client.EmailMessage.UpdateOneID(m.ID).SetLastError(truncate(res.reason))
	last := job.Attempt >= job.MaxAttempts
	if last {
		upd.SetStatus(emailmessage.StatusFailed).SetLastError(truncate(fmt.Sprintf("gave up after %d attempts: %s", attempt, res.reason)))
	}
	if err := upd.Exec(record); err != nil {
		return 0, err
	}
	sendErr := fmt.Errorf("email %s: attempt %d: %s", m.ID, attempt, res.reason)
	if last {
		return 0, sendErr
	}
	return res.retryAfter, sendErr
}

// result is how SendGrid answered one request.
type result struct {
	sent       bool
	messageID  string
	permanent  bool
	reason     string
	retryAfter time.Duration
}

// post sends m to SendGrid's v3 mail/send. The outbox id goes in custom_args, so
// SendGrid's activity feed and event webhook name the row an email came from.
func (s *Service) post(ctx context.Context, m *ent.EmailMessage, data json.RawMessage) result {
	msg := mail.NewV3Mail()
	msg.SetFrom(mail.NewEmail(s.cfg.FromName, s.cfg.From))
	p := mail.NewPersonalization()
	p.AddTos(mail.NewEmail("", m.ToAddress))
	msg.AddPersonalizations(p)
	msg.AddCategories(string(m.Kind))
	msg.SetCustomArg("email_id", m.ID.String())
	if tid := s.cfg.Templates[string(m.Kind)]; tid != "" {
		var dynamic map[string]any
		if err := json.Unmarshal(data, &dynamic); err != nil {
			return result{permanent: true, reason: "the job's template data is not a JSON object: " + err.Error()}
		}
		msg.SetTemplateID(tid)
		for k, v := range dynamic {
			p.SetDynamicTemplateData(k, v)
		}
	} else {
		msg.Subject = m.Subject
		msg.AddContent(mail.NewContent("text/plain", m.TextBody), mail.NewContent("text/html", m.HTMLBody))
	}
	body, err := json.Marshal(msg)
	if err != nil {
		return result{permanent: true, reason: "encoding the request: " + err.Error()}
	}
	req := sendgrid.GetRequest(s.cfg.SendGridAPIKey, "/v3/mail/send", s.cfg.SendGridAPIURL)
	req.Method = rest.Post
	req.Headers["Content-Type"] = "application/json"
	req.Body = body
	resp, err := s.http.SendWithContext(ctx, req)
	if err != nil {
		return result{reason: "sending to SendGrid: " + err.Error()}
	}
	header := http.Header(resp.Headers)
	status := resp.StatusCode
	reason := fmt.Sprintf("SendGrid answered %d %s", status, http.StatusText(status))
	if msgs := errorMessages(resp.Body); msgs != "" {
		reason += ": " + msgs
	}
	switch {
	case status >= 200 && status < 300:
		return result{sent: true, messageID: header.Get("X-Message-Id")}
	case status == http.StatusTooManyRequests:
		return result{reason: reason, retryAfter: retryAfter(header, s.now())}
	case status >= 500 || status == http.StatusRequestTimeout:
		return result{reason: reason}
	}
	return result{permanent: true, reason: reason}
}

// errorMessages joins the messages of SendGrid's error body,
// {"errors": [{"message", "field", "help"}]}.
func errorMessages(body string) string {
	var parsed struct {
		Errors []struct {
			Message string `json:"message"`
			Field   string `json:"field"`
		} `json:"errors"`
	}
	if json.Unmarshal([]byte(body), &parsed) != nil {
		return ""
	}
	msgs := make([]string, 0, len(parsed.Errors))
	for _, e := range parsed.Errors {
		if e.Field != "" {
			msgs = append(msgs, e.Field+": "+e.Message)
		} else {
			msgs = append(msgs, e.Message)
		}
	}
	return strings.Join(msgs, "; ")
}

// retryAfter reads how long a 429 asks to wait: Retry-After (seconds or an HTTP date),
// else SendGrid's X-RateLimit-Reset (Unix time). Zero when neither says.
func retryAfter(h http.Header, now time.Time) time.Duration {
	var d time.Duration
	if v := h.Get("Retry-After"); v != "" {
		if secs, err := strconv.Atoi(v); err == nil {
			d = time.Duration(secs) * time.Second
		} else if t, err := http.ParseTime(v); err == nil {
			d = t.Sub(now)
		}
	} else if v := h.Get("X-RateLimit-Reset"); v != "" {
		if unix, err := strconv.ParseInt(v, 10, 64); err == nil {
			d = time.Unix(unix, 0).Sub(now)
		}
	}
	return min(max(d, 0), maxRetryDelay)
}

func truncate(s string) string {
	if len(s) <= maxErrorLen {
		return s
	}
	cut := maxErrorLen
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + "…"
}
