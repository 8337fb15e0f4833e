package config

import (
	"strings"
	"testing"
)

func TestParseEmail(t *testing.T) {
	t.Run("defaults log emails", func(t *testing.T) {
		c, err := parse(lookupFrom(nil))
		if err != nil {
			t.Fatal(err)
		}
		if c.SendGridAPIKey != "" || c.SendGridAPIURL != DefaultSendGridAPIURL || c.EmailFrom != "" || len(c.SendGridTemplates) != 0 {
			t.Fatalf("unexpected email defaults: %+v", c)
		}
	})
	t.Run("SendGrid with templates", func(t *testing.T) {
		c, err := parse(lookupFrom(map[string]string{
			"SENDGRID_API_KEY": "SG.key", "SENDGRID_API_URL": "http://127.0.0.1:9999/", "EMAIL_FROM": "orders@shop.example",
			"EMAIL_FROM_NAME": "Shop", "SENDGRID_TEMPLATE_SHIPMENT_SENT": "d-abc", "SENDGRID_TEMPLATE_REFUND_ISSUED": " d-def ",
		}))
		if err != nil {
			t.Fatal(err)
		}
		if c.SendGridAPIURL != "http://127.0.0.1:9999" || c.EmailFromName != "Shop" ||
			len(c.SendGridTemplates) != 2 || c.SendGridTemplates["shipment_sent"] != "d-abc" || c.SendGridTemplates["refund_issued"] != "d-def" {
			t.Fatalf("unexpected: %+v", c)
		}
	})
	tests := []struct {
		name string
		env  map[string]string
		bad  string
	}{
		{"a key needs a sender", map[string]string{"SENDGRID_API_KEY": "SG.key"}, "EMAIL_FROM"},
		{"the sender is an address", map[string]string{"EMAIL_FROM": "Shop <orders@shop.example>"}, "EMAIL_FROM"},
		{"the URL is absolute", map[string]string{"SENDGRID_API_URL": "api.sendgrid.com"}, "SENDGRID_API_URL"},
		{"templates are dynamic", map[string]string{"SENDGRID_TEMPLATE_ORDER_CONFIRMATION": "legacy-123"}, "SENDGRID_TEMPLATE_ORDER_CONFIRMATION"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := parse(lookupFrom(tt.env))
			if err == nil || !strings.Contains(err.Error(), tt.bad) {
				t.Fatalf("got %v, want an error naming %s", err, tt.bad)
			}
			if key := tt.env["SENDGRID_API_KEY"]; key != "" && strings.Contains(err.Error(), key) {
				t.Fatalf("the error shows the API key: %v", err)
			}
		})
	}
}
