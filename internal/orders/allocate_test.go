package orders

import (
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/mercantile/mercantile/internal/pulid"
)

func TestAllocate(t *testing.T) {
	house := func(id string, priority int, stock map[pulid.ID]int64) stockAt {
		return stockAt{id: pulid.ID(id), code: id, priority: priority, available: stock}
	}
	tests := []struct {
		name   string
		lines  []want
		houses []stockAt
		want   []split
	}{
		{
			name:   "one warehouse fills all, the higher priority wins",
			lines:  []want{{"A", 2}, {"B", 1}},
			houses: []stockAt{house("W2", 2, map[pulid.ID]int64{"A": 5, "B": 5}), house("W1", 1, map[pulid.ID]int64{"A": 5, "B": 5})},
			want:   []split{{"A", "W1", 2}, {"B", "W1", 1}},
		},
		{
			name:   "a lower priority warehouse that fills all beats a split",
			lines:  []want{{"A", 2}, {"B", 1}},
			houses: []stockAt{house("W1", 1, map[pulid.ID]int64{"A": 2}), house("W2", 2, map[pulid.ID]int64{"B": 1}), house("W3", 3, map[pulid.ID]int64{"A": 9, "B": 9})},
			want:   []split{{"A", "W3", 2}, {"B", "W3", 1}},
		},
		{
			name:   "a line split across warehouses: 2 in A and 2 in B, order of 3",
			lines:  []want{{"A", 3}},
			houses: []stockAt{house("WA", 1, map[pulid.ID]int64{"A": 2}), house("WB", 2, map[pulid.ID]int64{"A": 2})},
			want:   []split{{"A", "WA", 2}, {"A", "WB", 1}},
		},
		{
			name:  "fewest shipments, then priority",
			lines: []want{{"A", 1}, {"B", 1}, {"C", 1}},
			houses: []stockAt{
				house("W1", 1, map[pulid.ID]int64{"A": 1}),
				house("W2", 2, map[pulid.ID]int64{"B": 1}),
				house("W3", 3, map[pulid.ID]int64{"C": 1}),
				house("W4", 9, map[pulid.ID]int64{"B": 1, "C": 1}),
			},
			want: []split{{"A", "W1", 1}, {"B", "W4", 1}, {"C", "W4", 1}},
		},
		{
			name:   "not enough anywhere",
			lines:  []want{{"A", 5}},
			houses: []stockAt{house("W1", 1, map[pulid.ID]int64{"A": 2}), house("W2", 2, map[pulid.ID]int64{"A": 2})},
			want:   nil,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := allocate(tt.lines, tt.houses)
			if diff := cmp.Diff(tt.want, got, cmp.AllowUnexported(split{})); diff != "" {
				t.Fatalf("allocation (-want +got):\n%s", diff)
			}
		})
	}
}

func TestGreedyCoversWhatExactDoes(t *testing.T) {
	var houses []stockAt
	for i := range 15 {
		houses = append(houses, stockAt{id: pulid.ID("W" + string(rune('a'+i))), code: string(rune('a' + i)), priority: i,
			available: map[pulid.ID]int64{"A": int64(i % 3), "B": int64(i % 2)}})
	}
	got := allocate([]want{{"A", 10}, {"B", 5}}, houses)
	totals := map[pulid.ID]int64{}
	for _, s := range got {
		totals[s.variantID] += s.quantity
	}
	if totals["A"] != 10 || totals["B"] != 5 {
		t.Fatalf("greedy allocation %v does not cover the order", got)
	}
}
