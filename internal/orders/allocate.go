package orders

import (
	"sort"

	"github.com/mercantile/mercantile/internal/pulid"
)

// stockAt is what a warehouse can give: available units per variant.
type stockAt struct {
	id        pulid.ID
	code      string
	priority  int
	available map[pulid.ID]int64
}

// want is one order line to allocate.
type want struct {
	variantID pulid.ID
	quantity  int64
}

// split is part of a line taken from one warehouse.
type split struct {
	variantID   pulid.ID
	warehouseID pulid.ID
	quantity    int64
}

// maxExactWarehouses bounds the exhaustive search for the fewest shipments: 2^12 subsets
// is instant; past that the greedy fallback is used.
const maxExactWarehouses = 12

// allocate splits lines across warehouses: one warehouse that can fill the whole order if
// any (lowest priority, then code), else the smallest set of warehouses that can
// (ties by the sum of priorities, then codes), filling each line from the highest-priority
// warehouse of the set first. It returns nil when even every warehouse together falls
// short.
func allocate(lines []want, houses []stockAt) []split {
	sort.SliceStable(houses, func(i, j int) bool {
		if houses[i].priority != houses[j].priority {
			return houses[i].priority < houses[j].priority
		}
		return houses[i].code < houses[j].code
	})
	if len(houses) <= maxExactWarehouses {
		for size := 1; size <= len(houses); size++ {
			if set := bestSetOfSize(lines, houses, size); set != nil {
				return fill(lines, set)
			}
		}
		return nil
	}
	return greedy(lines, houses)
}

// bestSetOfSize returns the feasible set of size warehouses with the lowest priority sum
// (subsets are visited in lexicographic order of the sorted warehouses, so ties go to
// higher-priority codes), or nil.
func bestSetOfSize(lines []want, houses []stockAt, size int) []stockAt {
	var best []stockAt
	bestCost := 0
	idx := make([]int, size)
	var visit func(start, depth int)
	visit = func(start, depth int) {
		if depth == size {
			set := make([]stockAt, size)
			cost := 0
			for i, k := range idx {
				set[i] = houses[k]
				cost += houses[k].priority
			}
			if (best == nil || cost < bestCost) && covers(lines, set) {
				best, bestCost = set, cost
			}
			return
		}
		for k := start; k <= len(houses)-(size-depth); k++ {
			idx[depth] = k
			visit(k+1, depth+1)
		}
	}
	visit(0, 0)
	return best
}

func covers(lines []want, set []stockAt) bool {
	for _, l := range lines {
		var total int64
		for _, h := range set {
			total += h.available[l.variantID]
		}
		if total < l.quantity {
			return false
		}
	}
	return true
}

// fill takes each line from the set's warehouses in priority order.
func fill(lines []want, set []stockAt) []split {
	var out []split
	for _, l := range lines {
		left := l.quantity
		for _, h := range set {
			take := min(left, h.available[l.variantID])
			if take > 0 {
				out = append(out, split{variantID: l.variantID, warehouseID: h.id, quantity: take})
				left -= take
			}
			if left == 0 {
				break
			}
		}
	}
	return out
}

// greedy adds, one at a time, the warehouse that covers most of what is still missing.
func greedy(lines []want, houses []stockAt) []split {
	var set []stockAt
	used := map[pulid.ID]bool{}
	for !covers(lines, set) {
		bestIdx, bestGain := -1, int64(0)
		for i, h := range houses {
			if used[h.id] {
				continue
			}
			var gain int64
			for _, l := range lines {
				var have int64
				for _, s := range set {
					have += s.available[l.variantID]
				}
				gain += min(max(l.quantity-have, 0), h.available[l.variantID])
			}
			if gain > bestGain {
				bestIdx, bestGain = i, gain
			}
		}
		if bestIdx < 0 {
			return nil
		}
		used[houses[bestIdx].id] = true
		set = append(set, houses[bestIdx])
	}
	return fill(lines, set)
}
