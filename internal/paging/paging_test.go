package paging

import (
	"testing"

	"github.com/mercantile/mercantile/internal/apperr"
	"github.com/mercantile/mercantile/internal/pulid"
)

func TestParse(t *testing.T) {
	id := pulid.New("prd")
	tests := []struct {
		name, limit, after string
		want               Page
		wantErr            bool
	}{
		{name: "defaults", want: Page{Limit: DefaultLimit}},
		{name: "limit and cursor round trip", limit: "10", after: Cursor(id), want: Page{Limit: 10, After: id}},
		{name: "limit zero", limit: "0", wantErr: true},
		{name: "limit too large", limit: "251", wantErr: true},
		{name: "limit not a number", limit: "ten", wantErr: true},
		{name: "cursor not base64", after: "!!", wantErr: true},
		{name: "cursor not an id", after: Cursor("nonsense"), wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Parse(tt.limit, tt.after)
			if tt.wantErr {
				if apperr.CodeOf(err) != apperr.Invalid {
					t.Fatalf("want invalid, got %v", err)
				}
				return
			}
			if err != nil || got != tt.want {
				t.Fatalf("Parse = %+v, %v; want %+v", got, err, tt.want)
			}
		})
	}
}

func TestTrim(t *testing.T) {
	rows, more := Trim([]int{1, 2, 3}, Page{Limit: 2})
	if len(rows) != 2 || !more {
		t.Fatalf("Trim = %v, %v", rows, more)
	}
	rows, more = Trim([]int{1, 2}, Page{Limit: 2})
	if len(rows) != 2 || more {
		t.Fatalf("Trim = %v, %v", rows, more)
	}
}
