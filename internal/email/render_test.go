package email

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/mercantile/mercantile/ent/emailmessage"
	"github.com/mercantile/mercantile/internal/platform/config"
)

func TestFormatMoney(t *testing.T) {
	t.Parallel()
	tests := []struct {
		minor    int64
		currency string
		want     string
	}{
		{0, "USD", "0.00 USD"},
		{5, "USD", "0.05 USD"},
		{1999, "EUR", "19.99 EUR"},
		{123456789, "USD", "1,234,567.89 USD"},
		{-2500, "GBP", "-25.00 GBP"},
		{1500, "JPY", "1,500 JPY"},
		{7, "JPY", "7 JPY"},
		{1234, "KWD", "1.234 KWD"},
		{5, "BHD", "0.005 BHD"},
	}
	for _, tt := range tests {
		if got := formatMoney(tt.minor, tt.currency); got != tt.want {
			t.Errorf("formatMoney(%d, %s) = %q, want %q", tt.minor, tt.currency, got, tt.want)
		}
	}
}

func TestTrackingURL(t *testing.T) {
	t.Parallel()
	tests := []struct{ carrier, number, own, want string }{
		{"UPS", "1Z 999", "", "https://www.ups.com/track?tracknum=1Z+999"},
		{" fedex ", "123", "", "https://www.fedex.com/fedextrack/?trknbr=123"},
		{"UPS", "1Z", "https://track.example/1Z", "https://track.example/1Z"},
		{"Acme Freight", "42", "", ""},
		{"UPS", "", "", ""},
	}
	for _, tt := range tests {
		if got := trackingURL(tt.carrier, tt.number, tt.own); got != tt.want {
			t.Errorf("trackingURL(%q, %q, %q) = %q, want %q", tt.carrier, tt.number, tt.own, got, tt.want)
		}
	}
}

// TestRenderEscapesHTML: customer- and merchant-supplied text cannot inject markup into
// the HTML body, and stays verbatim in the text body.
func TestRenderEscapesHTML(t *testing.T) {
	t.Parallel()
	d := Data{Kind: emailmessage.KindOrderCancelled, MerchantName: "Tom & Jerry's", Order: OrderData{
		Name: "#7", Lines: []LineData{{SKU: "X", Title: `<script>alert(1)</script>`, Quantity: 1, UnitPrice: "1.00 USD", Total: "1.00 USD"}},
		ShippingAddress: []string{"<b>Ada</b>"}, CancelReason: `"><img src=x>`,
	}}
	msg, err := render(&d)
	if err != nil {
		t.Fatal(err)
	}
	for _, bad := range []string{"<script>", "<b>Ada", "<img"} {
		if strings.Contains(msg.html, bad) {
			t.Errorf("html body contains %q:\n%s", bad, msg.html)
		}
	}
	if !strings.Contains(msg.html, "&lt;script&gt;") || !strings.Contains(msg.text, "<script>alert(1)</script>") {
		t.Errorf("html or text body lost the title:\n%s\n%s", msg.html, msg.text)
	}
	if msg.subject != "Tom & Jerry's: Order #7 was cancelled" || d.Subject != msg.subject {
		t.Errorf("subject %q", msg.subject)
	}
}

func TestRetryAfter(t *testing.T) {
	t.Parallel()
	now := time.Date(2025, 5, 1, 12, 0, 0, 0, time.UTC)
	tests := []struct {
		header http.Header
		want   time.Duration
	}{
		{http.Header{"Retry-After": {"30"}}, 30 * time.Second},
		{http.Header{"Retry-After": {now.Add(90 * time.Second).Format(http.TimeFormat)}}, 90 * time.Second},
		{http.Header{"X-Ratelimit-Reset": {"1746100860"}}, time.Minute},
		{http.Header{"Retry-After": {"86400"}}, maxRetryDelay},
		{http.Header{"Retry-After": {"soon"}}, 0},
		{http.Header{}, 0},
	}
	for _, tt := range tests {
		if got := retryAfter(tt.header, now); got != tt.want {
			t.Errorf("retryAfter(%v) = %v, want %v", tt.header, got, tt.want)
		}
	}
}

func TestErrorMessages(t *testing.T) {
	t.Parallel()
	body := `{"errors":[{"message":"The to array is required for all personalization objects, and must have at least one email object with a valid email address.","field":"personalizations.1.to","help":"http://sendgrid.com/docs/API_Reference/Web_API_v3/Mail/errors.html#message.personalizations.to"},{"message":"Bad key","field":null}]}`
	want := "personalizations.1.to: The to array is required for all personalization objects, and must have at least one email object with a valid email address.; Bad key"
	if got := errorMessages(body); got != want {
		t.Errorf("errorMessages = %q", got)
	}
	if got := errorMessages("<html>bad gateway</html>"); got != "" {
		t.Errorf("errorMessages of HTML = %q", got)
	}
}

// TestConfigKnowsEveryKind: every kind has templates here and a SENDGRID_TEMPLATE_
// variable in config.
func TestConfigKnowsEveryKind(t *testing.T) {
	t.Parallel()
	if len(config.EmailKinds) != len(subjects) {
		t.Fatalf("config has %d kinds, templates %d", len(config.EmailKinds), len(subjects))
	}
	for _, kind := range config.EmailKinds {
		if emailmessage.KindValidator(emailmessage.Kind(kind)) != nil || subjects[emailmessage.Kind(kind)] == "" {
			t.Errorf("kind %q is not an outbox kind with templates", kind)
		}
	}
}
