package pulid

import (
	"sort"
	"testing"
	"time"
)

func TestNewSortsByTime(t *testing.T) {
	base := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	var ids []string
	for i := range 50 {
		ids = append(ids, string(NewAt("prd", base.Add(time.Duration(i)*time.Millisecond))))
	}
	if !sort.StringsAreSorted(ids) {
		t.Fatalf("ids created in time order do not sort in time order: %v", ids)
	}
}

func TestNewIsUniqueAndPrefixed(t *testing.T) {
	seen := map[ID]bool{}
	for range 10000 {
		id := New("var")
		if seen[id] {
			t.Fatalf("duplicate id %s", id)
		}
		seen[id] = true
		if id.Prefix() != "var" || len(id) != len("var_")+26 {
			t.Fatalf("malformed id %q", id)
		}
	}
}

func TestPrefixWithoutUnderscore(t *testing.T) {
	if got := ID("nonsense").Prefix(); got != "" {
		t.Fatalf("Prefix() = %q, want empty", got)
	}
}
