package catalog

import (
	"encoding/json"
	"strconv"
	"strings"
	"unicode"

	"github.com/microcosm-cc/bluemonday"

	"github.com/mercantile/mercantile/ent/product"
	"github.com/mercantile/mercantile/internal/apperr"
	"github.com/mercantile/mercantile/internal/pulid"
)

// Limits of the catalog; Shopify's where it has one, so imports never exceed them.
const (
	MaxOptions      = 3
	MaxVariants     = 2048
	MaxTitleLength  = 255
	MaxSKULength    = 64
	MaxOptionValues = 255
	MaxTags         = 250
)

// OptionInput declares one option and its values, in order.
type OptionInput struct {
	Name   string   `json:"name"`
	Values []string `json:"values"`
}

// VariantInput describes a variant to create, or with nil fields, to leave as it is.
type VariantInput struct {
	SKU            *string           `json:"sku"`
	OptionValues   map[string]string `json:"option_values"`
	Price          *int64            `json:"price"`
	CompareAtPrice *int64            `json:"compare_at_price"`
	Barcode        *string           `json:"barcode"`
	WeightGrams    *int              `json:"weight_grams"`
	// ImageID is one of the product's images, shown for this variant; on an update, null
	// unlinks the variant from its image.
	ImageID OptionalID `json:"image_id"`
}

// OptionalID is an id in a change that can also be cleared. It tells an absent field
// (leave the value as it is) from null (clear it), which a *pulid.ID cannot: both decode
// to nil.
type OptionalID struct {
	// Set is true when the field was given, null or not.
	Set bool
	// ID is the id given, nil for null.
	ID *pulid.ID
}

// SetTo returns an OptionalID that was given: id, or null when id is nil.
func SetTo(id *pulid.ID) OptionalID { return OptionalID{Set: true, ID: id} }

// UnmarshalJSON implements json.Unmarshaler. encoding/json calls it only for a field the
// object has, so Set stays false for an absent one.
func (o *OptionalID) UnmarshalJSON(b []byte) error {
	*o = OptionalID{Set: true}
	return json.Unmarshal(b, &o.ID)
}

// ProductInput describes a product to create, or with nil fields, to leave as it is.
type ProductInput struct {
	Title           *string         `json:"title"`
	Handle          *string         `json:"handle"`
	DescriptionHTML *string         `json:"description_html"`
	Vendor          *string         `json:"vendor"`
	ProductType     *string         `json:"product_type"`
	Tags            *[]string       `json:"tags"`
	Status          *product.Status `json:"status"`
	Options         *[]OptionInput  `json:"options"`
	Variants        []VariantInput  `json:"variants"`
}

// descriptionPolicy keeps the formatting a product page needs and drops scripts, event
// handlers and styles: descriptions come from merchants and imports and end up in
// storefront pages.
var descriptionPolicy = bluemonday.UGCPolicy()

// SanitizeHTML returns description HTML that is safe to render in a storefront.
func SanitizeHTML(html string) string {
	return strings.TrimSpace(descriptionPolicy.Sanitize(html))
}

// validSKU reports whether sku is 1-64 printable characters without white space.
func validSKU(sku string) bool {
	if sku == "" || len(sku) > MaxSKULength {
		return false
	}
	for _, r := range sku {
		if unicode.IsSpace(r) || !unicode.IsPrint(r) {
			return false
		}
	}
	return true
}

// checkOptions validates option declarations and returns them trimmed.
func checkOptions(v *apperr.Validation, opts []OptionInput) []OptionInput {
	if len(opts) > MaxOptions {
		v.Add("options", "a product has at most %d options", MaxOptions)
		return nil
	}
	out := make([]OptionInput, 0, len(opts))
	names := map[string]bool{}
	for i, o := range opts {
		field := "options[" + strconv.Itoa(i) + "]"
		name := strings.TrimSpace(o.Name)
		switch {
		case name == "" || len(name) > MaxTitleLength:
			v.Add(field+".name", "must be 1 to %d characters", MaxTitleLength)
		case names[strings.ToLower(name)]:
			v.Add(field+".name", "option %q is declared twice", name)
		}
		names[strings.ToLower(name)] = true
		if len(o.Values) == 0 || len(o.Values) > MaxOptionValues {
			v.Add(field+".values", "must list 1 to %d values", MaxOptionValues)
		}
		seen := map[string]bool{}
		values := make([]string, 0, len(o.Values))
		for _, val := range o.Values {
			val = strings.TrimSpace(val)
			if val == "" || len(val) > MaxTitleLength || seen[val] {
				v.Add(field+".values", "values must be distinct and 1 to %d characters", MaxTitleLength)
				break
			}
			seen[val] = true
			values = append(values, val)
		}
		out = append(out, OptionInput{Name: name, Values: values})
	}
	return out
}

// checkTags trims tags, drops duplicates and validates their count and length.
func checkTags(v *apperr.Validation, tags []string) []string {
	out := make([]string, 0, len(tags))
	seen := map[string]bool{}
	for _, t := range tags {
		t = strings.TrimSpace(t)
		if t == "" || seen[strings.ToLower(t)] {
			continue
		}
		if len(t) > MaxTitleLength {
			v.Add("tags", "each tag must be at most %d characters", MaxTitleLength)
			return nil
		}
		seen[strings.ToLower(t)] = true
		out = append(out, t)
	}
	if len(out) > MaxTags {
		v.Add("tags", "a product has at most %d tags", MaxTags)
	}
	return out
}

// resolveOptionValues maps a variant's option_values onto the product's option columns.
func resolveOptionValues(v *apperr.Validation, field string, opts []OptionInput, values map[string]string) [3]string {
	var cols [3]string
	if len(opts) == 0 {
		if len(values) > 0 {
			v.Add(field+".option_values", "the product has no options")
		}
		return cols
	}
	for name := range values {
		found := false
		for _, o := range opts {
			found = found || strings.EqualFold(o.Name, name)
		}
		if !found {
			v.Add(field+".option_values", "%q is not an option of this product", name)
		}
	}
	for i, o := range opts {
		val, ok := lookupFold(values, o.Name)
		if !ok {
			v.Add(field+".option_values", "a value for %q is required", o.Name)
			continue
		}
		if !contains(o.Values, val) {
			v.Add(field+".option_values", "%q is not a value of option %q", val, o.Name)
			continue
		}
		cols[i] = val
	}
	return cols
}

func lookupFold(m map[string]string, key string) (string, bool) {
	for k, v := range m {
		if strings.EqualFold(k, key) {
			return strings.TrimSpace(v), true
		}
	}
	return "", false
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// variantTitle joins option values as Shopify does; a product without options has the
// one variant "Default Title".
func variantTitle(cols [3]string) string {
	var parts []string
	for _, c := range cols {
		if c != "" {
			parts = append(parts, c)
		}
	}
	if len(parts) == 0 {
		return "Default Title"
	}
	return strings.Join(parts, " / ")
}
